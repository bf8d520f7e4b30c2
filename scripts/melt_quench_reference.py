"""Rule melt_quench_reference: the production melt-quench run with the classical reference itself (closed loop)."""

import pandas as pd

from _common import setup
from amlip.io.frames import read_frames
from amlip.md.engines import run_md
from amlip.md.guards import Guards, MDGuardError
from amlip.md.outputs import keep_frames_before_guard, write_md_outputs
from amlip.md.protocols import schedule, schedule_table


def main(structure: str, outputs, md: dict, potential: dict, seed: int, log) -> None:
    """The ``md`` protocol (produce.melt_quench: preset, time scale, thermostat and barostat, guards) from
    ``structure`` with the LAMMPS-native ``potential`` (the reference labeler's label.lammps settings)
    and MD seed ``seed``: trajectory, schedule and thermo table in ``outputs``, as rule melt_quench writes them."""
    stages = schedule(md["protocol"], md["time_scale"], md["timestep_fs"])
    pd.DataFrame(schedule_table(stages)).to_csv(outputs.schedule, index=False)
    log.info(
        "reference melt-quench %s x%g (%d steps) with %s in LAMMPS, seed %d",
        md["protocol"], md["time_scale"], sum(st.n_steps for st in stages), potential["potential"], seed,
    )  # fmt: skip
    guards = {key: md["guards"][key] for key in ("max_T_factor", "min_distance_A", "check_every")}
    try:
        frames = run_md(
            "lammps",
            read_frames(structure)[0],
            None,
            stages,
            sample_every=md["sample_every"],
            seed=seed,
            taut_fs=md["taut_fs"],
            taup_fs=md["taup_fs"],
            guards=Guards(**guards),
            potential=potential,
        )
    except MDGuardError as exc:
        raise keep_frames_before_guard(exc, outputs.trajectory) from exc
    write_md_outputs(frames, outputs.trajectory, outputs.thermo)
    log.info("wrote %d frames; final density %.3f g/cm3", len(frames), frames[-1].info["density_g_cm3"])


if __name__ == "__main__":
    p = snakemake.params
    main(snakemake.input.structure, snakemake.output, p.md, p.potential, p.seed, setup(snakemake))
