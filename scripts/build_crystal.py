"""Rule build_crystal: a crystal from its space group (or its CIF), as a supercell."""

from _common import setup
from amlip.io.frames import write_frames
from amlip.structures.crystals import build_crystal, density_g_cm3


def main(cif: list, output: str, crystal: str, supercell: list, log) -> None:
    """Crystal ``crystal`` repeated ``supercell`` times, from ``cif`` when one is given."""
    atoms = build_crystal(crystal, supercell, cif=cif[0] if cif else None)
    write_frames(output, [atoms])
    log.info("%s %s: %d atoms, %.4f g/cm3", crystal, atoms.get_chemical_formula(), len(atoms), density_g_cm3(atoms))


if __name__ == "__main__":
    main(snakemake.input.cif, snakemake.output[0], snakemake.wildcards.crystal, **snakemake.params, log=setup(snakemake))
