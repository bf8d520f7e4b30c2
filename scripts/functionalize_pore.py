"""Rule functionalize_pore: the quenched pore saturated and its accessible bridging O hydroxylated (AS)."""

import pandas as pd

from _common import setup
from amlip.io.frames import read_frames, write_frames
from amlip.structures.functionalize import functionalize


def main(trajectory: str, structure: str, counts: str, radius_A: float, probe_radius_A: float, bond_cutoff_A: float, log) -> None:
    """The last frame of ``trajectory`` functionalized (pore ``radius_A``, probe ``probe_radius_A``, bonds ``bond_cutoff_A``, Å)."""
    quenched = read_frames(trajectory)[-1]
    out, added = functionalize(quenched, pore_radius_A=radius_A, probe_radius_A=probe_radius_A, bond_cutoff_A=bond_cutoff_A)
    out.info["pore_radius_A"] = radius_A
    write_frames(structure, [out])
    pd.DataFrame([added]).to_csv(counts, index=False)
    log.info("functionalized %s -> %s: %s", quenched.get_chemical_formula(), out.get_chemical_formula(), added)


if __name__ == "__main__":
    main(**snakemake.input, **snakemake.output, **snakemake.params, log=setup(snakemake))
