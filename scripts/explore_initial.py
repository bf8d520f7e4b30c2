from _common import setup

log = setup(snakemake)

from amlip.io.frames import read_frames, write_frames
from amlip.learning.explore import perturb

s = snakemake.params.settings
structures = [read_frames(path)[0] for path in snakemake.input]
frames = perturb(
    structures,
    s.get("n_per_structure", 10),
    rattle_std_A=s.get("rattle_std_A", 0.05),
    max_strain=s.get("max_strain", 0.03),
    scale_range=tuple(s.get("scale_range", (0.95, 1.05))),
    seed=snakemake.params.seed,
)
for atoms in frames:
    atoms.info["iteration"] = 0
write_frames(snakemake.output[0], frames)
log.info("%d perturbed frames from %d structures", len(frames), len(structures))
