"""Frames on disk: extended XYZ, read and written with ASE.

Reference labels live under ``REF_energy`` (eV), ``REF_forces`` (eV/Å, per-atom array) and
``REF_stress`` (eV/Å^3, Voigt order xx yy zz yz xz xy, ASE sign convention). Model predictions
use ``<model>_energy`` and friends so that they never overwrite the reference. The level of
theory every label carries is :mod:`amlip.io.lot`.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator

import ase.io
import numpy as np
from ase import Atoms

from amlip.io.extxyz import iter_extxyz_frames

REF_ENERGY = "REF_energy"
REF_FORCES = "REF_forces"
REF_STRESS = "REF_stress"


def label_problem(atoms: Atoms) -> str | None:
    """What makes a frame's reference labels unusable, e.g. ``REF_forces[3, 1] is nan``: the first
    value of ``REF_energy``, ``REF_stress`` or ``REF_forces`` that is not a finite number; None
    when every label present is finite."""
    for key, value in ((REF_ENERGY, atoms.info.get(REF_ENERGY)), (REF_STRESS, atoms.info.get(REF_STRESS)),
                       (REF_FORCES, atoms.arrays.get(REF_FORCES))):  # fmt: skip
        if value is None:
            continue
        try:
            values = np.asarray(value, dtype=float)
        except (TypeError, ValueError):
            return f"{key} {value!r} is not a number"
        bad = np.argwhere(~np.isfinite(values))
        if len(bad):
            at = tuple(int(k) for k in bad[0])
            return f"{key}{list(at) if at else ''} is {values[at]}"
    return None


def check_labels(atoms: Atoms, where: str) -> None:
    """Refuse a frame whose reference labels are not all finite (a NaN force would train a model to
    NaN): ValueError naming ``where`` (the file and the frame's index in it) and the value."""
    problem = label_problem(atoms)
    if problem is not None:
        raise ValueError(f"{where}: {problem}; every label entering a data set must be finite: fix or drop the frame")


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


@contextmanager
def _written_then_renamed(path: Path, partial: Path | None = None) -> Iterator[Path]:
    """A temporary name beside ``path`` to write to, renamed to ``path`` when the block ends well: a
    reader never finds half a file at ``path``. On an error the temporary file is removed, or
    renamed to ``partial`` when given (what was written before the error)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        yield temporary
    except BaseException:
        if partial is not None and temporary.exists():
            partial.parent.mkdir(parents=True, exist_ok=True)
            os.replace(temporary, partial)
        else:
            temporary.unlink(missing_ok=True)
        raise
    os.replace(temporary, path)


def write_frames(path: str | os.PathLike, frames: Iterable[Atoms]) -> int:
    """Write frames to extended XYZ (an empty iterable writes an empty file); return the count. The
    file appears at ``path`` only when complete (written under a temporary name, then renamed)."""
    frames = list(frames)
    with _written_then_renamed(Path(path)) as temporary:
        if frames:
            ase.io.write(temporary, frames, format="extxyz")
        else:
            temporary.write_text("")
    return len(frames)


def write_stream(
    path: str | os.PathLike, frames: Iterable[Atoms], every: int = 1, partial: str | os.PathLike | None = None
) -> int:
    """Write every ``every``-th frame of a stream to extended XYZ, one at a time; return the count.

    Unlike :func:`amlip.io.frames.write_frames` this never holds the list, so a 1 M-frame AIMD import
    can be thinned and written in constant memory. The file appears at ``path`` only when the stream
    has ended well; when the stream raises, ``path`` is left as it was and the frames written
    before the error go to ``partial`` (or nowhere).
    """
    count = 0
    with _written_then_renamed(Path(path), None if partial is None else Path(partial)) as temporary:
        with open(temporary, "w") as f:
            for k, atoms in enumerate(frames):
                if k % every:
                    continue
                ase.io.write(f, atoms, format="extxyz")
                count += 1
    return count
