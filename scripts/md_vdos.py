from _common import chosen_model, setup

model = chosen_model(snakemake)
log = setup(snakemake)

from amlip.io.frames import read_frames, write_frames
from amlip.models.loading import load_model
from amlip.properties.vibrations import run_vdos_md

s = snakemake.params.settings
glass = read_frames(snakemake.input.trajectory)[-1]
log.info("VDOS MD of the last glass frame (%d atoms) with %s: %s", len(glass), model, s)
frames = run_vdos_md(
    glass,
    load_model(model, dtype=snakemake.params.dtype),
    temperature_K=s.get("temperature_K", 300.0),
    nvt_ps=s.get("nvt_ps", 0.5),
    nve_ps=s.get("nve_ps", 1.5),
    timestep_fs=s.get("timestep_fs", 1.0),
    sample_every_fs=s.get("sample_every_fs", 5.0),
    friction_per_fs=s.get("friction_per_fs", 0.01),
    seed=snakemake.params.seed,
)
write_frames(snakemake.output.trajectory, frames)
drift = frames[-1].info["etot_eV"] - frames[0].info["etot_eV"]
log.info("wrote %d NVE frames; total-energy drift %.4f eV over the NVE run", len(frames), drift)
