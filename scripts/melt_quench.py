from _common import chosen_model, setup

model = chosen_model(snakemake)
log = setup(snakemake)

import pandas as pd

from amlip.io.frames import read_frames
from amlip.md.dispersion import d3_settings
from amlip.md.engines import run_md
from amlip.md.guards import Guards, MDGuardError
from amlip.md.outputs import keep_frames_before_guard, write_md_outputs
from amlip.md.protocols import schedule, schedule_table
from amlip.models.loading import load_model

s = snakemake.params.settings
dispersion = d3_settings(getattr(snakemake.params, "dispersion", None))
engine = s.get("engine", "ase")
stages = schedule(s["protocol"], s.get("time_scale", 1.0), s.get("timestep_fs"))
pd.DataFrame(schedule_table(stages)).to_csv(snakemake.output.schedule, index=False)
log.info(
    "melt-quench %s x%g (%d steps) with %s, engine %s%s",
    s["protocol"],
    s.get("time_scale", 1.0),
    sum(st.n_steps for st in stages),
    model,
    engine,
    f", D3 {dispersion}" if dispersion else "",
)
calculator = load_model(model, dtype=snakemake.params.dtype)
start = read_frames(snakemake.input.structure)[0]
guard_settings = dict(s.get("guards", {}))
max_sigma = guard_settings.pop("max_sigma_eV_A", None)
sigma_every = guard_settings.pop("sigma_every", 50)
guards = Guards(**guard_settings)
# the committee guard (engine lammps) needs every member of the final committee
committee = [load_model(m, dtype=snakemake.params.dtype) for m in snakemake.input.models] if max_sigma else None
try:
    frames = run_md(
        engine,
        start,
        calculator,
        stages,
        sample_every=s["sample_every"],
        seed=snakemake.params.seed,
        friction_per_fs=s["friction_per_fs"],
        taut_fs=s["taut_fs"],
        taup_fs=s["taup_fs"],
        bulk_modulus_GPa=s["bulk_modulus_GPa"],
        guards=guards,
        dispersion=dispersion,
        committee=committee,
        committee_sigma_max_eV_A=max_sigma,
        committee_every=sigma_every,
    )
except MDGuardError as exc:
    raise keep_frames_before_guard(exc, snakemake.output.trajectory) from exc
write_md_outputs(frames, snakemake.output.trajectory, snakemake.output.thermo)
log.info("wrote %d frames; final density %.3f g/cm3", len(frames), frames[-1].info["density_g_cm3"])
