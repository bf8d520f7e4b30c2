"""Frames on disk: extended XYZ, read and written with ASE.

Reference labels live under ``REF_energy`` (eV), ``REF_forces`` (eV/Å, per-atom array) and
``REF_stress`` (eV/Å^3, Voigt order xx yy zz yz xz xy, ASE sign convention). Model predictions
use ``<model>_energy`` and friends so that they never overwrite the reference. The level of
theory every label carries is :mod:`amlip.io.lot`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable, Iterator

import ase.io
from ase import Atoms

from amlip.io.extxyz import iter_extxyz_frames

REF_ENERGY = "REF_energy"
REF_FORCES = "REF_forces"
REF_STRESS = "REF_stress"


def read_frames(path: str | os.PathLike) -> list[Atoms]:
    """Read every frame of an extended-XYZ file; an empty file gives an empty list."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"frame file {path} does not exist")
    return list(iter_frames(path))


def iter_frames(path: str | os.PathLike) -> Iterator[Atoms]:
    """Stream frames one at a time, so memory does not grow with the file.

    Frames are those ``ase.io.read`` gives (calculator results on a ``SinglePointCalculator``),
    read by :func:`amlip.io.extxyz.iter_extxyz_frames`: the compiled reader for large files.
    """
    path = Path(path)
    if path.stat().st_size == 0:
        return iter(())
    return iter_extxyz_frames(path)


def count_frames(path: str | os.PathLike) -> int:
    """Number of frames in an extended-XYZ file (each frame parsed, so a broken file fails here)."""
    return sum(1 for _ in iter_frames(path))


def write_frames(path: str | os.PathLike, frames: Iterable[Atoms]) -> int:
    """Write frames to extended XYZ (an empty iterable writes an empty file); return the count."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    frames = list(frames)
    if not frames:
        path.write_text("")
        return 0
    ase.io.write(path, frames, format="extxyz")
    return len(frames)


def write_stream(path: str | os.PathLike, frames: Iterable[Atoms], every: int = 1) -> int:
    """Write every ``every``-th frame of a stream to extended XYZ, one at a time; return the count.

    Unlike :func:`amlip.io.frames.write_frames` this never holds the list, so a 1 M-frame AIMD import
    can be thinned and written in constant memory.
    """
    import ase.io

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with open(path, "w") as f:
        for k, atoms in enumerate(frames):
            if k % every:
                continue
            ase.io.write(f, atoms, format="extxyz")
            count += 1
    return count
