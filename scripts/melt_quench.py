"""Rules melt_quench and melt_quench_glass: a melt-quench of a random packing with the chosen final model."""

import pandas as pd

from _common import chosen_model, setup
from amlip.io.frames import read_frames
from amlip.md.dispersion import d3_settings
from amlip.md.engines import run_md
from amlip.md.guards import Guards, MDGuardError
from amlip.md.outputs import keep_frames_before_guard, write_md_outputs
from amlip.md.protocols import schedule, schedule_table
from amlip.models.loading import load_model


def main(
    model: str, structure: str, models: list, outputs, md: dict, seed: int, dtype: str, device: str, dispersion: dict, log
) -> None:
    """The ``md`` protocol (produce.melt_quench: preset, time scale, thermostat and barostat, guards, engine) from
    ``structure`` with ``model`` on ``device`` (device.produce; D3 ``dispersion`` when on); the trajectory, schedule and
    thermo table in ``outputs``.

    The committee guard (``guards.max_sigma_eV_A``, engine lammps) loads every member of ``models``.
    """
    d3 = d3_settings(dispersion)
    stages = schedule(md["protocol"], md["time_scale"], md["timestep_fs"])
    pd.DataFrame(schedule_table(stages)).to_csv(outputs.schedule, index=False)
    n_steps = sum(st.n_steps for st in stages)
    log.info(
        "melt-quench %s x%g (%d steps) with %s, engine %s%s",
        md["protocol"], md["time_scale"], n_steps, model, md["engine"], f", D3 {d3}" if d3 else "",
    )  # fmt: skip
    guards = dict(md["guards"])
    max_sigma, sigma_every = guards.pop("max_sigma_eV_A"), guards.pop("sigma_every")
    committee = [load_model(m, dtype=dtype, device=device) for m in models] if max_sigma else None
    if md["engine"] == "batched":  # one glass of the batched engine (device.produce cpu: one glass per job)
        from amlip.md.batched import load_batched_model

        calculator = load_batched_model(model, dtype, device)
    else:
        calculator = load_model(model, dtype=dtype, device=device)
    try:
        frames = run_md(
            md["engine"],
            read_frames(structure)[0],
            calculator,
            stages,
            sample_every=md["sample_every"],
            seed=seed,
            friction_per_fs=md["friction_per_fs"],
            taut_fs=md["taut_fs"],
            taup_fs=md["taup_fs"],
            guards=Guards(**guards),
            dispersion=d3,
            committee=committee,
            committee_sigma_max_eV_A=max_sigma,
            committee_every=sigma_every,
        )
    except MDGuardError as exc:
        raise keep_frames_before_guard(exc, outputs.trajectory) from exc
    write_md_outputs(frames, outputs.trajectory, outputs.thermo)
    log.info("wrote %d frames; final density %.3f g/cm3", len(frames), frames[-1].info["density_g_cm3"])


if __name__ == "__main__":
    i, p = snakemake.input, snakemake.params
    model = chosen_model(snakemake)
    main(model, i.structure, i.models, snakemake.output, p.md, p.seed, p.dtype, p.device, p.dispersion, setup(snakemake))
