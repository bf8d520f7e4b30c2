"""Rule melt_quench_glasses: every glass of produce.melt_quench.n_glasses in one job with the batched engine,
glasses_per_batch of them in one model call per MD step; each glass's files as melt_quench / melt_quench_glass write them."""

import pandas as pd

from _common import chosen_model, setup
from amlip.io.frames import read_frames
from amlip.md.batched import load_batched_model, run_protocol_batched
from amlip.md.guards import Guards, MDGuardError
from amlip.md.outputs import keep_frames_before_guard, write_md_outputs
from amlip.md.protocols import schedule, schedule_table


def main(
    model: str, structures: list, outputs, md: dict, glasses_per_batch: int, seeds: list, dtype: str, device: str, log
) -> None:
    """The ``md`` protocol (produce.melt_quench) from each of ``structures`` (glass g from ``structures[g]`` with seed
    ``seeds[g]``) with ``model`` on ``device`` (device.produce), ``glasses_per_batch`` glasses at a time; glass g's
    trajectory, schedule and thermo table are ``outputs.trajectory[g]``, ``outputs.schedule[g]``, ``outputs.thermo[g]``.
    A guard stops the job; every glass of that round keeps its frames in ``<trajectory>.failed.extxyz``."""
    stages = schedule(md["protocol"], md["time_scale"], md["timestep_fs"])
    guards = Guards(**{key: md["guards"][key] for key in ("max_T_factor", "min_distance_A", "check_every")})
    batched = load_batched_model(model, dtype, device)
    n = len(structures)
    log.info(
        "melt-quench %s x%g (%d steps) of %d glasses with %s on %s, %d per model call",
        md["protocol"], md["time_scale"], sum(st.n_steps for st in stages), n, model, batched.device, glasses_per_batch,
    )  # fmt: skip
    for first in range(0, n, glasses_per_batch):
        glasses = list(range(first, min(n, first + glasses_per_batch)))
        starts = [read_frames(structures[g])[0] for g in glasses]
        try:
            frames = run_protocol_batched(
                starts,
                batched,
                stages,
                sample_every=md["sample_every"],
                seeds=[seeds[g] for g in glasses],
                friction_per_fs=md["friction_per_fs"],
                taut_fs=md["taut_fs"],
                taup_fs=md["taup_fs"],
                guards=guards,
            )
        except MDGuardError as exc:
            for g, kept in zip(glasses, exc.frames_per_system):
                stopped = MDGuardError(str(exc))
                stopped.frames = kept
                log.error("%s", keep_frames_before_guard(stopped, outputs.trajectory[g]))
            raise
        for g, glass_frames in zip(glasses, frames):
            pd.DataFrame(schedule_table(stages)).to_csv(outputs.schedule[g], index=False)
            write_md_outputs(glass_frames, outputs.trajectory[g], outputs.thermo[g])
            log.info(
                "glass %d: %d frames, final density %.3f g/cm3", g, len(glass_frames), glass_frames[-1].info["density_g_cm3"]
            )
    log.info("%d model calls for %d glasses", batched.n_calls, n)


if __name__ == "__main__":
    i, p = snakemake.input, snakemake.params
    main(
        chosen_model(snakemake),
        list(i.structures),
        snakemake.output,
        p.md,
        p.glasses_per_batch,
        p.seeds,
        p.dtype,
        p.device,
        setup(snakemake),
    )
