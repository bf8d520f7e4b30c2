"""Rule build_hydroxylated_pore: a carved crystal pore, saturated and hydroxylated (a starting structure with H)."""

from _common import setup
from amlip.io.frames import write_frames
from amlip.structures.crystals import build_crystal
from amlip.structures.functionalize import functionalize
from amlip.structures.pores import carve_pore


def main(output: str, crystal: str, supercell: list, radius_A: float, probe_radius_A: float, log) -> None:
    """A pore of ``radius_A`` (Å) carved along z of a ``crystal`` supercell, functionalized with a ``probe_radius_A`` probe."""
    pore = carve_pore(build_crystal(crystal, supercell), radius_A)
    atoms, counts = functionalize(pore, pore_radius_A=radius_A, probe_radius_A=probe_radius_A)
    atoms.info.update(source="hydroxylated_pore", pore_radius_A=float(radius_A))
    write_frames(output, [atoms])
    log.info("hydroxylated pore %s (%d atoms): %s", atoms.get_chemical_formula(), len(atoms), counts)


if __name__ == "__main__":
    main(snakemake.output[0], **snakemake.params, log=setup(snakemake))
