from _common import setup

log = setup(snakemake)

import json

import pandas as pd

from amlip.io import read_frames, write_frames
from amlip.md import Guards, MDGuardError, run_protocol, schedule, schedule_table
from amlip.train import load_mace

s = snakemake.params.settings
stages = schedule(s["protocol"], s.get("time_scale", 1.0), s.get("timestep_fs"))
pd.DataFrame(schedule_table(stages)).to_csv(snakemake.output.schedule, index=False)
choice = json.load(open(snakemake.input.choice))
log.info("melt-quench %s x%g (%d steps) with %s", s["protocol"], s.get("time_scale", 1.0), sum(st.n_steps for st in stages), choice["model"])
calculator = load_mace(choice["model"], dtype=snakemake.params.dtype)
start = read_frames(snakemake.input.structure)[0]
try:
    frames = run_protocol(
        start,
        calculator,
        stages,
        sample_every=s.get("sample_every", 10),
        seed=snakemake.params.seed,
        friction_per_fs=s.get("friction_per_fs", 0.01),
        taut_fs=s.get("taut_fs", 100.0),
        taup_fs=s.get("taup_fs", 1000.0),
        bulk_modulus_GPa=s.get("bulk_modulus_GPa", 40.0),
        guards=Guards(**s.get("guards", {})),
    )
except MDGuardError as exc:
    keep = snakemake.output.trajectory.replace(".extxyz", ".failed.extxyz")
    write_frames(keep, exc.frames)
    raise MDGuardError(f"{exc}; the {len(exc.frames)} frames sampled before are in {keep}") from exc
write_frames(snakemake.output.trajectory, frames)
keys = ["step", "time_ps", "stage", "target_T_K", "T_K", "density_g_cm3", "epot_eV"]
pd.DataFrame([{k: a.info[k] for k in keys} for a in frames]).to_csv(snakemake.output.thermo, index=False)
log.info("wrote %d frames; final density %.3f g/cm3", len(frames), frames[-1].info["density_g_cm3"])
