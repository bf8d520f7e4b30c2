"""Rule remove_water: water molecules that formed in the pore removed (AS: after relaxing, after annealing)."""

import pandas as pd

from _common import setup
from amlip.io.frames import read_frames, write_frames
from amlip.structures.functionalize import count_hydroxyls, remove_water


def main(structure: str, dry: str, counts: str, stage: str, bond_cutoff_A: float, log) -> None:
    """``structure`` without its H2O molecules (O-H and former-O bonds within ``bond_cutoff_A``, Å) into ``dry``."""
    atoms = read_frames(structure)[0]
    without, n_water = remove_water(atoms, bond_cutoff_A=bond_cutoff_A)
    write_frames(dry, [without])
    n_oh = count_hydroxyls(without, bond_cutoff_A=bond_cutoff_A)
    row = {"stage": stage, "n_water_removed": n_water, "atoms_before": len(atoms), "atoms_after": len(without), "n_OH": n_oh}
    pd.DataFrame([row]).to_csv(counts, index=False)
    log.info("%s: %d H2O removed, %d surface OH left", stage, n_water, n_oh)


if __name__ == "__main__":
    o = snakemake.output
    main(snakemake.input.structure, o.structure, o.counts, snakemake.wildcards.stage, **snakemake.params, log=setup(snakemake))
