from _common import setup

log = setup(snakemake)

from amlip.io.frames import write_frames
from amlip.structures.crystals import density_g_cm3
from amlip.structures.packing import random_packing

s = snakemake.params.settings
atoms = random_packing(s["units"], s["density_g_cm3"], s.get("min_distance_A", 1.6), seed=snakemake.params.seed)
write_frames(snakemake.output[0], [atoms])
log.info("%s: %d atoms, %.4f g/cm3", atoms.get_chemical_formula(), len(atoms), density_g_cm3(atoms))
