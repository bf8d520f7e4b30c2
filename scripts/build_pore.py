from _common import setup

log = setup(snakemake)

from amlip.io.frames import write_frames
from amlip.structures.pores import pore_packing

s = snakemake.params.settings
atoms = pore_packing(
    s["units"],
    s["density_g_cm3"],
    s["radius_A"],
    s["height_A"],
    min_distance_A=s.get("min_distance_A", 1.6),
    seed=snakemake.params.seed,
)
write_frames(snakemake.output[0], [atoms])
log.info(
    "pore cell %s: a = %.2f Å, c = %.2f Å, pore radius %.2f Å, solid density %.3f g/cm3",
    atoms.get_chemical_formula(),
    atoms.cell.lengths()[0],
    atoms.cell.lengths()[2],
    s["radius_A"],
    atoms.info["solid_density_g_cm3"],
)
