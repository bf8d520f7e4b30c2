from _common import setup

log = setup(snakemake)

from amlip.explore import committee_md
from amlip.io import read_frames, write_frames
from amlip.train import load_mace

s = snakemake.params.settings
structures = [read_frames(path)[0] for path in snakemake.input.structures]
calculator = load_mace(list(snakemake.input.models), dtype="float64")
frames = committee_md(
    structures,
    calculator,
    s.get("temperatures_K", [300]),
    n_steps=s.get("n_steps", 200),
    sample_every=s.get("sample_every", 10),
    timestep_fs=s.get("timestep_fs", 1.0),
    friction_per_fs=s.get("friction_per_fs", 0.01),
    seed=snakemake.params.seed,
    ensemble=s.get("ensemble", "nvt"),
)
for atoms in frames:
    atoms.info["iteration"] = int(snakemake.wildcards.i)
write_frames(snakemake.output[0], frames)
log.info("explored %d frames", len(frames))
