"""Rule build_pore: a hexagonal cell with a cylindrical pore along z, packed with precursors outside it (AS)."""

from _common import setup
from amlip.io.frames import write_frames
from amlip.structures.pores import pore_packing


def main(output: str, units: dict, density_g_cm3: float, radius_A: float, height_A: float, min_distance_A: float, seed: int, log):
    """``units`` packed at ``density_g_cm3`` (solid part, g/cm3) outside a pore of ``radius_A`` in a cell ``height_A`` high (Å)."""
    atoms = pore_packing(units, density_g_cm3, radius_A, height_A, min_distance_A=min_distance_A, seed=seed)
    write_frames(output, [atoms])
    a, _, c = atoms.cell.lengths()
    solid = atoms.info["solid_density_g_cm3"]
    log.info(
        "pore cell %s: a = %.2f Å, c = %.2f Å, pore radius %.2f Å, solid density %.3f g/cm3",
        atoms.get_chemical_formula(),
        a,
        c,
        radius_A,
        solid,
    )


if __name__ == "__main__":
    main(snakemake.output[0], **snakemake.params, log=setup(snakemake))
