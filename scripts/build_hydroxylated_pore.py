from _common import setup

log = setup(snakemake)

from amlip.io.frames import write_frames
from amlip.structures.crystals import build_crystal
from amlip.structures.functionalize import functionalize
from amlip.structures.pores import carve_pore

s = snakemake.params.settings
radius = s.get("radius_A", 3.5)
pore = carve_pore(build_crystal(s.get("crystal", "alpha_quartz"), s.get("supercell", [3, 3, 1])), radius)
atoms, counts = functionalize(pore, pore_radius_A=radius, probe_radius_A=snakemake.params.probe_radius_A)
atoms.info.update(source="hydroxylated_pore", pore_radius_A=float(radius))
write_frames(snakemake.output[0], [atoms])
log.info("hydroxylated pore %s (%d atoms): %s", atoms.get_chemical_formula(), len(atoms), counts)
