"""Rule build_random_structure: a random precursor packing (AS) in a cubic box at the target density."""

from _common import setup
from amlip.io.frames import write_frames
from amlip.structures.crystals import density_g_cm3 as density_of
from amlip.structures.packing import random_packing


def main(
    output: str, units: dict, density_g_cm3: float, min_distance_A: float, pair_min_distance_A: dict, seed: int, log
) -> None:
    """``units`` precursor counts packed at ``density_g_cm3`` (g/cm3), no two units closer than ``min_distance_A`` (Å),
    then spread until the element pairs of ``pair_min_distance_A`` are at least that far apart."""
    atoms = random_packing(units, density_g_cm3, min_distance_A, seed=seed, pair_min_distance_A=pair_min_distance_A)
    write_frames(output, [atoms])
    log.info("%s: %d atoms, %.4f g/cm3", atoms.get_chemical_formula(), len(atoms), density_of(atoms))


if __name__ == "__main__":
    main(snakemake.output[0], **snakemake.params, log=setup(snakemake))
