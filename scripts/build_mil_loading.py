"""Rule build_mil_loading: MIL-120 with n CO2 per cell (a starting structure of the loading n)."""

from _common import setup
from amlip.io.frames import read_frames, write_frames
from amlip.structures.mil120 import insert_co2


def main(framework: str, output: str, n: int, min_distance_A: float, seed: int, log) -> None:
    """``n`` CO2 inserted at random (at least ``min_distance_A`` from any atom) into the last frame of ``framework``."""
    atoms = insert_co2(read_frames(framework)[-1], n, seed, min_distance_A)
    atoms.info["source"] = f"mil120:co2_{n}"
    write_frames(output, [atoms])
    log.info("%d CO2 in %s: %s", n, framework, atoms.get_chemical_formula())


if __name__ == "__main__":
    p = snakemake.params
    main(snakemake.input[0], snakemake.output[0], int(snakemake.wildcards.n), p.min_distance_A, p.seed, setup(snakemake))
