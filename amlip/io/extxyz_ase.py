"""ASE's extended-XYZ reader one frame at a time, and where a frame that cannot be read goes wrong.

The reader of :func:`amlip.io.extxyz.iter_extxyz_frames` below its size threshold, and the
compiled reader's fallback for frames outside its layout: each frame's text goes to
``ase.io.extxyz.read_xyz`` alone, so an error belongs to one frame, and :class:`ExtxyzError`
names the file, the frame's index and the line at fault (counted from 1).
"""

from __future__ import annotations

import io
from typing import Iterator

import numpy as np
from ase import Atoms

#: the columns of a frame whose comment has no Properties (ASE's default)
_DEFAULT_PROPERTIES = "species:S:1:pos:R:3"


class ExtxyzError(ValueError):
    """An extended-XYZ frame that cannot be read; the message names the file, the frame (its index
    in the file) and, where known, the line (counted from 1)."""

    def __init__(self, path: str, frame: int, line: int | None, reason: str):
        self.path, self.frame, self.line = path, frame, line
        super().__init__(f"{path}: frame {frame}{f', line {line}' if line else ''}: {reason}")


def _bad_atom_line(comment: str, atom_lines: list[str]) -> int | None:
    """Index in ``atom_lines`` of the first line that does not fit the Properties of ``comment``
    (fewer columns, a column that is not a number where R or I says one), or None."""
    from ase.io.extxyz import key_val_str_to_dict

    try:
        fields = str(key_val_str_to_dict(comment).get("Properties", _DEFAULT_PROPERTIES)).split(":")
        columns = [(fields[i + 1], int(fields[i + 2])) for i in range(0, len(fields) - 2, 3)]
    except (ValueError, IndexError):
        return None
    parse = {"R": float, "I": int}
    for k, line in enumerate(atom_lines):
        tokens, start = line.split(), 0
        for kind, count in columns:
            values = tokens[start : start + count]
            try:
                if len(values) < count:
                    raise ValueError
                for value in values if kind in parse else ():
                    parse[kind](value)
            except ValueError:
                return k
            start += count
    return None


def _frame_problem(text: str, first_line: int) -> tuple[int, str] | None:
    """(line, reason) of why ase.io's reader cannot read the one frame ``text`` whose header is line
    ``first_line`` of its file, or None when it can. The line is the atom line at fault where one
    is (a missing column, a word for a number), else the comment line or the header."""
    lines = text.splitlines()
    try:
        _frame_from_ase(text)
    except Exception as error:
        reason = f"{type(error).__name__}: {error}"
        try:
            n_atoms = int(lines[0])
        except (ValueError, IndexError):
            return first_line, f"{lines[0][:40]!r} is not an atom count"
        if len(lines) < n_atoms + 2:
            return first_line, f"the header says {n_atoms} atoms but the file ends after {max(len(lines) - 2, 0)} atom lines"
        bad = _bad_atom_line(lines[1], lines[2 : 2 + n_atoms])
        if bad is not None:
            return first_line + 2 + bad, f"{reason} in {lines[2 + bad].strip()[:80]!r}"
        return first_line + 1, f"{reason} (comment line {lines[1][:80]!r})"
    return None


def _ase_frames(path: str) -> Iterator[Atoms]:
    """The frames of an extended-XYZ file, each read by ase.io's reader (:func:`_frame_from_ase`) from
    its own text: blank lines between frames are skipped (``ase.io.iread`` stops at the first one),
    and a frame that cannot be read raises :class:`ExtxyzError` with its index and line."""
    with open(path) as fh:
        row, frame = 0, 0  # row: lines read so far
        while True:
            header = fh.readline()
            row += 1
            if not header:
                return
            if not header.strip():
                continue
            first = row
            try:
                n_atoms = int(header)
            except ValueError:
                hint = " (does the atom count of the frame before match its atom lines?)" if frame else ""
                raise ExtxyzError(path, frame, first, f"{header.strip()[:40]!r} is not an atom count{hint}") from None
            lines = [header] + [fh.readline() for _ in range(n_atoms + 1)]
            row += n_atoms + 1
            while True:  # ASE's old VEC lines after the atoms
                mark = fh.tell()
                line = fh.readline()
                if not line.lstrip().startswith("VEC"):
                    fh.seek(mark)
                    break
                lines.append(line)
                row += 1
            text = "".join(lines)
            try:
                atoms = _frame_from_ase(text)
            except Exception as error:
                line, reason = _frame_problem(text, first) or (first, f"{type(error).__name__}: {error}")
                raise ExtxyzError(path, frame, line, reason) from error
            yield atoms
            frame += 1


def _line_at(path: str, offset: int) -> int:
    """The line (from 1) of byte ``offset`` of a file: one count of newlines before it, 16 MB at a time."""
    line, done = 1, 0
    with open(path, "rb") as fh:
        while done < offset:
            block = fh.read(min(1 << 24, offset - done))
            if not block:
                break
            line += block.count(b"\n")
            done += len(block)
    return line


def _frame_from_ase(text: str) -> Atoms:
    """One frame through ase.io's extxyz reader, calculator results moved to info/arrays."""
    from ase.io.extxyz import read_xyz

    atoms = next(read_xyz(io.StringIO(text), 0))  # what ase.io.read gives, without its dispatch per frame
    _results_to_keys(atoms)
    return atoms


def _keys_to_results(atoms: Atoms) -> None:
    """The inverse of :func:`_results_to_keys`: standard results onto a SinglePointCalculator, as ASE's reader puts them."""
    from ase.calculators.calculator import all_properties
    from ase.calculators.singlepoint import SinglePointCalculator

    results = {key: atoms.arrays.pop(key) for key in [k for k in atoms.arrays if k in all_properties]}
    results |= {key: atoms.info.pop(key) for key in [k for k in atoms.info if k in all_properties]}
    if results:
        atoms.calc = SinglePointCalculator(atoms, **results)


def _results_to_keys(atoms: Atoms) -> None:
    if atoms.calc is not None:  # ASE moves energy/forces/stress into a SinglePointCalculator
        for key, value in atoms.calc.results.items():
            (atoms.arrays if np.ndim(value) == 2 and len(value) == len(atoms) else atoms.info)[key] = value
        atoms.calc = None
