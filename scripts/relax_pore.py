"""Rule relax_pore: fixed-cell relaxation of the functionalized pore with the chosen model and the wall (AS)."""

import pandas as pd

from _common import chosen_model, setup
from amlip.io.frames import read_frames, write_frames
from amlip.md.pore import relax_pore
from amlip.models.loading import load_model
from amlip.structures.pores import pore_wall


def main(model: str, structure: str, outputs, radius_A: float, wall: dict, relax: dict, dtype: str, device: str, log) -> None:
    """``structure`` relaxed with ``model`` and the pore wall (``relax``: optimizer, fmax_eV_A, max_steps)."""
    atoms = read_frames(structure)[0]
    cylinder = pore_wall(atoms, radius_A, **wall)
    relaxed, summary = relax_pore(atoms, load_model(model, dtype=dtype, device=device), wall=cylinder.calculator(), **relax)
    write_frames(outputs.structure, [relaxed])
    pd.DataFrame([summary | {"wall_radius_A": cylinder.radius_A}]).to_csv(outputs.summary, index=False)


if __name__ == "__main__":
    p = snakemake.params
    model = chosen_model(snakemake)
    main(model, snakemake.input.structure, snakemake.output, p.radius_A, p.wall, p.relax, p.dtype, p.device, setup(snakemake))
