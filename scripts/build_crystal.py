from _common import setup

log = setup(snakemake)

from amlip.io.frames import write_frames
from amlip.structures.crystals import build_crystal, density_g_cm3

cif = snakemake.input.cif[0] if snakemake.input.cif else None
atoms = build_crystal(snakemake.wildcards.name, snakemake.params.supercell, cif=cif)
write_frames(snakemake.output[0], [atoms])
log.info("%s %s: %d atoms, %.4f g/cm3", snakemake.wildcards.name, atoms.get_chemical_formula(), len(atoms), density_g_cm3(atoms))
