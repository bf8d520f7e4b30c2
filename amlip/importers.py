"""Import reference data (AIMD trajectories, DFT single points) as streams of labelled frames.

Every importer is a generator: it yields one :class:`ase.Atoms` at a time with ``REF_energy``
(eV), ``REF_forces`` (eV/Å), ``REF_stress`` (eV/Å^3, Voigt, ASE sign) when the source has it,
and the ``level_of_theory``/``lot_hash`` of the record the caller supplies — the files do not
say reliably which functional, cutoff or k-points made them, so the caller must. Memory stays
at one frame (plus a read buffer) however long the trajectory (ZIF: 1.19 M frames).

Formats:

- extended XYZ (:func:`iter_extxyz`): reads 256 kB at a time and parses the numbers of all
  atom lines with numpy (fixed-width ``%16.8f`` columns vectorised by column, free format by
  token); species and info values as ASE writes them. About 3x ``ase.io.iread`` on 272-atom
  frames (benchmarks/import_scale.py); ``fast=False`` uses ASE's reader instead.
- CP2K MD output (:func:`iter_cp2k_md`): ``<project>-pos-1.xyz`` (Å), ``-frc-1.xyz``
  (hartree/bohr), ``-1.ener`` (potential energy in hartree), optional ``-1.cell`` (Å)
  and ``-1.stress`` (bar).
- VASP (:func:`iter_vasp`): ``OUTCAR`` through ``ase.io.iread`` (streams), ``vasprun.xml``
  through an ``iterparse`` loop that frees each ionic step (``ase.io.iread`` would keep the
  whole XML tree).

Frames that already carry a ``lot_hash`` different from the caller's record are refused.
"""

from __future__ import annotations

import io
import os
import re
from itertools import islice
from pathlib import Path
from typing import Iterable, Iterator, Mapping, TextIO

import numpy as np
from ase import Atoms
from ase.data import atomic_numbers
from ase.units import Bohr, Hartree, _aut, bar, fs

from amlip.io import (
    LOT_HASH_KEY,
    LOT_KEY,
    REF_ENERGY,
    REF_FORCES,
    REF_STRESS,
    LevelOfTheoryError,
    level_of_theory_hash,
    stamp_level_of_theory,
)

#: Source keys tried, in order, for each reference quantity when the caller names none.
DEFAULT_KEYS = {
    "energy": (REF_ENERGY, "energy", "free_energy", "dft_energy", "Energy"),
    "forces": (REF_FORCES, "forces", "force", "dft_forces"),
    "stress": (REF_STRESS, "stress", "dft_stress"),
}


def _stress_voigt(value, volume: float | None = None, virial: bool = False) -> np.ndarray:
    """A stress given as 6 (Voigt) or 9 (3x3) numbers as Voigt xx yy zz yz xz xy (eV/Å^3).

    ``virial=True`` converts a virial (eV) to stress: sigma = -virial / volume.
    """
    value = np.asarray(value, dtype=float).ravel()
    if value.size == 9:
        value = value.reshape(3, 3)[[0, 1, 2, 1, 0, 0], [0, 1, 2, 2, 2, 1]]
    elif value.size != 6:
        raise ValueError(f"stress/virial with {value.size} components; expected 6 or 9")
    return -value / volume if virial else value


def _finish(atoms: Atoms, record: Mapping, lot_hash: str, where: str) -> Atoms:
    old = atoms.info.get(LOT_HASH_KEY)
    if old is not None and old != lot_hash:
        raise LevelOfTheoryError(
            f"{where} is labelled {old} ({atoms.info.get(LOT_KEY, '?')}) but the import says "
            f"{lot_hash} ({record}); import it with its own level of theory"
        )
    stamp_level_of_theory(atoms, record)
    return atoms


def _check_record(level_of_theory: Mapping) -> str:
    if not level_of_theory or "code" not in level_of_theory:
        raise ValueError("importers need a level_of_theory record with at least 'code' (and functional, cutoffs, ...)")
    return level_of_theory_hash(level_of_theory)


# --------------------------------------------------------------------------------------- extxyz

_KEY_VALUE = re.compile(r'([A-Za-z_][\w:\-]*)=(?:"([^"]*)"|(\S+))')
_TYPES = {"S": str, "R": float, "I": int, "L": bool}


def _parse_value(text: str, quoted: bool):
    """An extxyz info value: bool (T/F), int, float, array of numbers (quoted), else string."""
    if text in ("T", "True"):
        return True
    if text in ("F", "False"):
        return False
    parts = text.split()
    if quoted and len(parts) > 1:
        try:
            return np.array([int(p) for p in parts])
        except ValueError:
            try:
                return np.array([float(p) for p in parts])
            except ValueError:
                if all(p in ("T", "F") for p in parts):
                    return np.array([p == "T" for p in parts])
                return text
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text


_PROPERTY_CACHE: dict[str, list[tuple[str, str, int]]] = {}


def _properties(spec: str) -> list[tuple[str, str, int]]:
    columns = _PROPERTY_CACHE.get(spec)
    if columns is None:
        fields = spec.split(":")
        if len(fields) % 3:
            raise ValueError(f"malformed Properties={spec}")
        columns = [(fields[i], fields[i + 1], int(fields[i + 2])) for i in range(0, len(fields), 3)]
        _PROPERTY_CACHE[spec] = columns
    return columns


def _symbols_to_numbers(symbols: np.ndarray) -> np.ndarray:
    unique, inverse = np.unique(symbols, return_inverse=True)
    try:
        table = np.array([atomic_numbers[s.decode() if isinstance(s, bytes) else str(s)] for s in unique])
    except KeyError as exc:
        raise ValueError(f"unknown chemical symbol {exc}") from None
    return table[inverse]


def _read_extxyz_frame(f: TextIO, header: str, path: str, frame: int) -> Atoms:
    try:
        n = int(header)
    except ValueError:
        raise ValueError(f"{path}: frame {frame} starts with {header.strip()[:40]!r}, not an atom count") from None
    comment = f.readline()
    info = {}
    for match in _KEY_VALUE.finditer(comment):
        key, quoted, bare = match.groups()
        info[key] = _parse_value(quoted if quoted is not None else bare, quoted is not None)
    lines = list(islice(f, n))
    if len(lines) < n:
        raise ValueError(f"{path}: the file ends inside frame {frame} ({len(lines)} of {n} atom lines)")
    columns = _properties(info.pop("Properties", "species:S:1:pos:R:3"))
    width = sum(c[2] for c in columns)
    tokens = "".join(lines).split()
    if len(tokens) != n * width:
        raise ValueError(f"{path}: frame {frame} has {len(tokens)} values in its atom lines, Properties says {n * width}")
    table = np.array(tokens, dtype=object).reshape(n, width)
    arrays, col = {}, 0
    for name, kind, count in columns:
        block = table[:, col : col + count]
        col += count
        if kind == "R":
            values = block.astype(str).astype(float)
        elif kind == "I":
            values = block.astype(str).astype(int)
        elif kind == "L":
            values = block == "T"
        else:
            values = block.astype(str)
        arrays[name] = values[:, 0] if count == 1 else values
    lattice = info.pop("Lattice", None)
    pbc = info.pop("pbc", lattice is not None)
    if isinstance(pbc, np.ndarray):
        pbc = pbc.astype(bool)
    if "species" in arrays:
        numbers = _symbols_to_numbers(arrays.pop("species"))
    elif "Z" in arrays:
        numbers = arrays.pop("Z")
    else:
        raise ValueError(f"{path}: frame {frame} has neither species nor Z column")
    atoms = Atoms(
        numbers=numbers,
        positions=arrays.pop("pos"),
        cell=None if lattice is None else np.asarray(lattice, dtype=float).reshape(3, 3),
        pbc=pbc,
    )
    for name, values in arrays.items():
        atoms.arrays[name] = values
    atoms.info.update(info)
    return atoms


_POW10 = 10.0 ** np.arange(-30, 31)
_SPACE = 32
# bytes that may appear in the numeric part of atom lines: digits . - + space tab newline CR
_NUMERIC_BYTES = np.zeros(256, dtype=bool)
_NUMERIC_BYTES[[ord(c) for c in "0123456789.-+ \t\n\r"]] = True
_DIGIT_VALUE = np.zeros(256)
_DIGIT_VALUE[48:58] = np.arange(10)


def parse_decimals(text: np.ndarray) -> np.ndarray | None:
    """All whitespace-separated decimal numbers (no exponent) in a uint8 array, vectorised.

    Each number is its integer mantissa (digits, summed exactly in float64 while below 2^53)
    divided once by a power of ten, so it is the correctly rounded double that ``float()`` gives
    for up to 15-16 significant digits (``%16.8f`` of ASE, ``%20.10f`` of CP2K below 1e5).
    Returns None when the bytes hold anything else (exponents, nan, letters): the caller then
    parses with ``float``.
    """
    if not _NUMERIC_BYTES[text].all():
        return None
    is_digit = (text >= 48) & (text <= 57)
    is_token = is_digit | (text == 46) | (text == 45) | (text == 43)
    starts = is_token.copy()
    starts[1:] &= ~is_token[:-1]
    token = np.cumsum(starts, dtype=np.int32) - 1
    n_tokens = int(token[-1]) + 1 if len(token) else 0
    digits = np.flatnonzero(is_digit)
    d_token = token[digits]
    n_digits = np.bincount(d_token, minlength=n_tokens)
    if n_digits.max(initial=0) > 17 or (n_digits == 0).any():
        return None
    first = np.cumsum(n_digits) - n_digits
    power = n_digits[d_token] - 1 - (np.arange(len(digits), dtype=np.int32) - first[d_token])
    mantissa = np.bincount(d_token, weights=(text[digits] - 48) * _POW10[power + 30], minlength=n_tokens)
    dots = np.flatnonzero(text == 46)
    dot_at = np.full(n_tokens, np.iinfo(np.int64).max)
    dot_at[token[dots]] = dots
    decimals = np.bincount(d_token, weights=digits > dot_at[d_token], minlength=n_tokens).astype(np.int64)
    values = mantissa / _POW10[decimals + 30]
    values[token[np.flatnonzero(text == 45)]] *= -1
    return values


def _split_frames(buf: bytes, line_starts: np.ndarray, line_ends: np.ndarray) -> tuple[list[tuple[int, int]], int]:
    """(first line index, atom count) of every complete frame in ``buf``; index of the first unused line."""
    frames, i, n_lines = [], 0, len(line_ends)
    while i < n_lines:
        header = buf[line_starts[i] : line_ends[i]]
        if not header.strip():
            i += 1
            continue
        try:
            n = int(header)
        except ValueError:
            raise ValueError(f"line {header[:40]!r} is not an atom count; is this an extended-XYZ file?") from None
        if i + 1 + n >= n_lines:
            break
        frames.append((i, n))
        i += 2 + n
    return frames, i


def _parse_comment(comment: str) -> dict:
    info = {}
    for match in _KEY_VALUE.finditer(comment):
        key, quoted, bare = match.groups()
        info[key] = _parse_value(quoted if quoted is not None else bare, quoted is not None)
    return info


def _species_numbers(work: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Atomic numbers from the first token of each atom line (1-3 letters); blanks them in ``work``."""
    pos = starts.copy()
    for _ in range(16):  # leading blanks
        blank = (work[pos] == _SPACE) | (work[pos] == 9)
        if not blank.any():
            break
        pos[blank] += 1
    letters = [work[pos].astype(np.int64)]
    for k in (1, 2):
        c = work[pos + k].astype(np.int64)
        letters.append(np.where(((c >= 65) & (c <= 90)) | ((c >= 97) & (c <= 122)), c, 0) * (letters[-1] > 0))
    code = letters[0] * 65536 + letters[1] * 256 + letters[2]
    unique, inverse = np.unique(code, return_inverse=True)
    table = []
    for c in unique:
        symbol = bytes(int(b) for b in (c >> 16, (c >> 8) & 255, c & 255) if b).decode()
        if symbol not in atomic_numbers:
            raise ValueError(f"unknown chemical symbol {symbol!r}")
        table.append(atomic_numbers[symbol])
    for k in range(3):
        hit = letters[k] > 0
        work[pos[hit] + k] = _SPACE
    return np.asarray(table)[inverse]


_FIXED_LAYOUTS: dict[bytes, tuple | None] = {}


def _fixed_layout(row: np.ndarray) -> tuple | None:
    """Column layout of a fixed-width atom line of right-aligned decimals (``%16.8f``): token
    region starts, decimals per token, and the power of ten of every byte; None if not such a line."""
    filled = row != _SPACE
    ends = np.flatnonzero(filled & np.r_[~filled[1:], True])
    dots = np.flatnonzero(row == 46)
    if len(ends) == 0 or len(dots) != len(ends):
        return None
    starts = np.r_[0, ends[:-1] + 1]
    if not ((dots > starts) & (dots < ends)).all():
        return None
    token = np.searchsorted(ends, np.arange(len(row)))
    if (token >= len(ends)).any():
        return None
    j = np.arange(len(row))
    exponent = ends[token] - j - (j < dots[token])
    weights = _POW10[np.clip(exponent, -30, 30) + 30]
    return starts, ends, dots, (ends - dots), weights, token


def _parse_fixed(block: np.ndarray) -> np.ndarray | None:
    """Numbers of n equal-length atom lines (n x L bytes, species blanked), vectorised by column.

    Every line must have its decimal points and last digits in the same columns as the first
    (what ``%W.Pf`` formats give); the result is then exact (integer mantissa below 2^53 divided
    once by 10^P). None when the block does not have that shape.
    """
    key = bytes(np.where(block[0] == _SPACE, 0, 1).astype(np.uint8))
    if key not in _FIXED_LAYOUTS:
        _FIXED_LAYOUTS[key] = _fixed_layout(block[0])
    layout = _FIXED_LAYOUTS[key]
    if layout is None:
        return None
    starts, ends, dots, decimals, weights, token = layout
    n = len(block)
    if block.max() > 57 or block.min() < _SPACE:  # letters (exponents, nan) or control bytes
        return None
    if np.count_nonzero(block == 46) != n * len(dots) or not (block[:, dots] == 46).all():
        return None
    last = block[:, ends]
    if not ((last >= 48) & (last <= 57)).all():
        return None
    mantissa = np.add.reduceat(_DIGIT_VALUE[block] * weights, starts, axis=1)
    if np.abs(mantissa).max() >= 2.0**53:
        return None
    values = mantissa / _POW10[decimals + 30]
    rows, cols = np.divmod(np.flatnonzero(block == 45), block.shape[1])
    values[rows, token[cols]] *= -1
    return values


def _parse_atom_numbers(region: np.ndarray, n: int, width: int) -> np.ndarray | None:
    """The n x width numbers of one frame's atom lines (bytes, species blanked, newline-ended)."""
    length = len(region) // n
    if length * n == len(region) and (region[length - 1 :: length] == 10).all():
        values = _parse_fixed(region.reshape(n, length)[:, : length - 1])
        if values is not None and values.shape == (n, width):
            return values
    values = parse_decimals(region)
    if values is None:  # exponents, nan or other text: the slow, general conversion
        values = np.array(region.tobytes().split(), dtype=float)
    return values.reshape(n, width) if values.size == n * width else None


def _frames_from_buffer(buf: bytes, frames, line_starts, line_ends, path: str, first_frame: int) -> Iterator[Atoms]:
    """Build the frames of one read buffer; species of all of them are decoded at once."""
    work = np.frombuffer(buf, dtype=np.uint8).copy()
    layouts, atom_starts = [], []
    for k, (i, n) in enumerate(frames):
        info = _parse_comment(buf[line_starts[i + 1] : line_ends[i + 1]].decode())
        columns = _properties(info.pop("Properties", "species:S:1:pos:R:3"))
        simple = columns[0][:2] == ("species", "S") and all(kind in "RI" for _, kind, _ in columns[1:])
        layouts.append((info, columns, simple))
        if simple:
            atom_starts.append(line_starts[i + 2 : i + 2 + n])
    numbers_all = _species_numbers(work, np.concatenate(atom_starts)) if atom_starts else None
    a_at = 0
    for k, ((i, n), (info, columns, simple)) in enumerate(zip(frames, layouts)):
        if not simple:  # rare layouts (string or logical columns): the per-frame parser
            stream = io.StringIO(buf[line_starts[i] : line_ends[i + 1 + n] + 1].decode())
            yield _read_extxyz_frame(stream, stream.readline(), path, first_frame + k)
            continue
        width = sum(c[2] for c in columns[1:])
        table = _parse_atom_numbers(work[line_starts[i + 2] : line_ends[i + 1 + n] + 1], n, width)
        if table is None:
            raise ValueError(f"{path}: frame {first_frame + k}: its atom lines do not hold the {n} x {width} numbers Properties says")
        numbers = numbers_all[a_at : a_at + n]
        a_at += n
        lattice = info.pop("Lattice", None)
        pbc = info.pop("pbc", lattice is not None)
        arrays, col = {}, 0
        for name, kind, count in columns[1:]:
            block = table[:, col : col + count]
            col += count
            if kind == "I":
                block = block.astype(np.int64)
            arrays[name] = block[:, 0].copy() if count == 1 else block.copy()
        atoms = Atoms(
            numbers=numbers,
            positions=arrays.pop("pos"),
            cell=None if lattice is None else np.asarray(lattice, dtype=float).reshape(3, 3),
            pbc=np.asarray(pbc, dtype=bool) if isinstance(pbc, np.ndarray) else pbc,
        )
        atoms.arrays.update(arrays)
        atoms.info.update(info)
        yield atoms


def _iter_extxyz_fast(path: str, chunk_bytes: int = 1 << 18) -> Iterator[Atoms]:
    """Stream frames, reading ``chunk_bytes`` at a time and parsing each buffer's frames together."""
    with open(path, "rb", buffering=0) as f:
        carry, frame, at_eof = b"", 0, False
        while not at_eof:
            block = f.read(chunk_bytes)
            at_eof = not block
            buf = carry + block
            if at_eof and buf and not buf.endswith(b"\n"):
                buf += b"\n"
            if not buf:
                break
            line_ends = np.flatnonzero(np.frombuffer(buf, dtype=np.uint8) == 10)
            line_starts = np.concatenate([[0], line_ends[:-1] + 1])
            frames, used = _split_frames(buf, line_starts, line_ends)
            if frames:
                yield from _frames_from_buffer(buf, frames, line_starts, line_ends, path, frame)
                frame += len(frames)
            # keep the unused lines and the partial line after the last newline
            carry = buf[line_starts[used] :] if used < len(line_ends) else buf[line_ends[-1] + 1 if len(line_ends) else 0 :]
        if carry.strip():
            raise ValueError(f"{path}: the file ends inside frame {frame}; truncated?")


def _iter_extxyz_ase(path: str) -> Iterator[Atoms]:
    import ase.io

    for atoms in ase.io.iread(path, index=":", format="extxyz"):
        if atoms.calc is not None:  # ASE moves energy/forces/stress into a SinglePointCalculator
            for key, value in atoms.calc.results.items():
                (atoms.arrays if np.ndim(value) == 2 and len(value) == len(atoms) else atoms.info)[key] = value
            atoms.calc = None
        yield atoms


def _pick(mapping: Mapping, keys: Iterable[str]):
    for key in keys:
        if key in mapping:
            return key
    return None


def iter_extxyz(
    path: str | os.PathLike,
    level_of_theory: Mapping,
    energy_key: str | None = None,
    forces_key: str | None = None,
    stress_key: str | None = None,
    virial_key: str | None = None,
    fast: bool = True,
) -> Iterator[Atoms]:
    """Stream an extended-XYZ file as labelled frames.

    ``energy_key`` (eV), ``forces_key`` (eV/Å, per atom), ``stress_key`` (eV/Å^3, 6 or 9 values,
    ASE sign) or ``virial_key`` (eV, 9 values) name the source quantities; when left out the
    first present of :data:`DEFAULT_KEYS` is used. The values are moved to ``REF_*`` (the source
    keys disappear, so a frame never carries one quantity twice). Raises ValueError naming the
    frame when a frame has no energy or forces.
    """
    path = str(path)
    lot_hash = _check_record(level_of_theory)
    frames = _iter_extxyz_fast(path) if fast else _iter_extxyz_ase(path)
    for index, atoms in enumerate(frames):
        where = f"{path}: frame {index}"
        e_key = energy_key or _pick(atoms.info, DEFAULT_KEYS["energy"])
        f_key = forces_key or _pick(atoms.arrays, DEFAULT_KEYS["forces"])
        if e_key not in atoms.info or f_key not in atoms.arrays:
            raise ValueError(
                f"{where} has no energy ({energy_key or DEFAULT_KEYS['energy']}) or forces "
                f"({forces_key or DEFAULT_KEYS['forces']}); name them with energy_key/forces_key"
            )
        energy = float(atoms.info.pop(e_key))
        forces = np.asarray(atoms.arrays.pop(f_key), dtype=float)
        stress = None
        if virial_key and virial_key in atoms.info:
            stress = _stress_voigt(atoms.info.pop(virial_key), atoms.get_volume(), virial=True)
        else:
            s_key = stress_key or _pick(atoms.info, DEFAULT_KEYS["stress"])
            if s_key is not None and s_key in atoms.info:
                stress = _stress_voigt(atoms.info.pop(s_key))
        atoms.info[REF_ENERGY] = energy
        atoms.arrays[REF_FORCES] = forces
        if stress is not None:
            atoms.info[REF_STRESS] = stress
        yield _finish(atoms, level_of_theory, lot_hash, where)


# ----------------------------------------------------------------------------------------- CP2K

_CP2K_STEP = re.compile(r"i\s*=\s*(\d+)")
_CP2K_E = re.compile(r"E\s*=\s*(\S+)")


def _iter_xyz_blocks(path: str) -> Iterator[tuple[int, float | None, list[str], np.ndarray]]:
    """(step, energy in hartree or None, symbols, 3 columns) per frame of a CP2K xyz file."""
    with open(path, "r", buffering=1 << 20) as f:
        for header in f:
            if not header.strip():
                continue
            n = int(header)
            comment = f.readline()
            step = _CP2K_STEP.search(comment)
            energy = _CP2K_E.search(comment)
            lines = list(islice(f, n))
            if len(lines) < n:
                raise ValueError(f"{path}: ends inside the frame of step {step.group(1) if step else '?'}")
            table = np.array("".join(lines).split(), dtype=object).reshape(n, 4)
            yield (
                int(step.group(1)) if step else -1,
                float(energy.group(1)) if energy else None,
                table[:, 0].astype(str),
                table[:, 1:].astype(str).astype(float),
            )


def _iter_table(path: str | None) -> Iterator[np.ndarray]:
    """Rows of a whitespace table (CP2K .ener/.cell/.stress), comments (#) skipped."""
    if path is None:
        return
    with open(path) as f:
        for line in f:
            if line.lstrip().startswith("#") or not line.strip():
                continue
            yield np.array(line.split(), dtype=float)


def _rows_at(rows: Iterator[np.ndarray], step: int, name: str) -> np.ndarray:
    """Advance ``rows`` (sorted by step in column 0) to ``step``; CP2K may print them more often."""
    for row in rows:
        if int(row[0]) == step:
            return row
        if int(row[0]) > step:
            break
    raise ValueError(f"{name} has no row for MD step {step}; were the files written with the same print frequency?")


#: bohr per atomic unit of time in ASE velocity units (Å per ASE time unit).
_AU_VELOCITY = Bohr / (_aut * 1e15 * fs)


def _block_at(blocks: Iterator, step: int, name: str) -> np.ndarray:
    for b_step, _, _, values in blocks:
        if b_step == step:
            return values
        if b_step > step:
            break
    raise ValueError(f"{name} has no frame for MD step {step}")


def iter_cp2k_md(
    pos_path: str | os.PathLike,
    level_of_theory: Mapping,
    frc_path: str | os.PathLike | None = None,
    ener_path: str | os.PathLike | None = None,
    cell: np.ndarray | None = None,
    cell_path: str | os.PathLike | None = None,
    stress_path: str | os.PathLike | None = None,
    vel_path: str | os.PathLike | None = None,
) -> Iterator[Atoms]:
    """Stream a CP2K MD run as labelled frames, matched by MD step number.

    ``pos_path`` ``<project>-pos-1.xyz`` (Å); ``frc_path`` ``<project>-frc-1.xyz`` (hartree/bohr ->
    eV/Å; defaults to the sibling of ``pos_path``); ``ener_path`` ``<project>-1.ener`` (column 5,
    potential energy in hartree -> eV; without it the ``E =`` of the xyz comment is used).
    The cell (Å) comes from ``cell`` (NVT: constant 3x3) or ``cell_path`` (``-1.cell``: step, time,
    9 components); ``stress_path`` (``-1.stress``, bar, CP2K's pressure sign) gives ``REF_stress``.
    The MD stress of CP2K includes the kinetic term sum_i m_i v_i (x) v_i / V; a label must be the
    static (virial) stress of the positions, so ``vel_path`` (``-vel-1.xyz``, bohr per atomic time
    unit) is required with ``stress_path`` and the kinetic term is removed.
    CP2K prints ``E`` in the xyz comment and the .ener potential energy to 1e-10 hartree.
    """
    pos_path = str(pos_path)
    lot_hash = _check_record(level_of_theory)
    if frc_path is None:
        frc_path = pos_path.replace("-pos-", "-frc-")
    if not Path(frc_path).exists():
        raise FileNotFoundError(f"CP2K forces file {frc_path} not found (MOTION/PRINT/FORCES in the MD input)")
    if cell is None and cell_path is None:
        raise ValueError("iter_cp2k_md needs the cell: cell= (3x3 Å, NVT) or cell_path= (<project>-1.cell)")
    if stress_path and not vel_path:
        raise ValueError("iter_cp2k_md: stress_path needs vel_path (<project>-vel-1.xyz) to remove the kinetic stress")
    velocities = _iter_xyz_blocks(str(vel_path)) if vel_path else None
    energies = _iter_table(str(ener_path) if ener_path else None)
    cells = _iter_table(str(cell_path) if cell_path else None)
    stresses = _iter_table(str(stress_path) if stress_path else None)
    forces_iter = _iter_xyz_blocks(str(frc_path))
    for step, e_comment, symbols, positions in _iter_xyz_blocks(pos_path):
        where = f"{pos_path}: MD step {step}"
        for f_step, _, f_symbols, forces in forces_iter:
            if f_step >= step:
                break
        else:
            raise ValueError(f"{frc_path} has no forces for MD step {step}")
        if f_step != step or list(f_symbols) != list(symbols):
            raise ValueError(f"{where}: the forces file has step {f_step} / different atoms here")
        if ener_path:
            energy = _rows_at(energies, step, str(ener_path))[4]
        elif e_comment is not None:
            energy = e_comment
        else:
            raise ValueError(f"{where}: no energy (give ener_path, the -1.ener file)")
        box = np.asarray(cell, dtype=float) if cell_path is None else _rows_at(cells, step, str(cell_path))[2:11].reshape(3, 3)
        atoms = Atoms(symbols=list(symbols), positions=positions, cell=box, pbc=True)
        atoms.info[REF_ENERGY] = float(energy) * Hartree
        atoms.arrays[REF_FORCES] = forces * (Hartree / Bohr)
        if stress_path:
            pressure = _rows_at(stresses, step, str(stress_path))[2:11].reshape(3, 3) * bar
            v = _block_at(velocities, step, str(vel_path)) * _AU_VELOCITY
            kinetic = np.einsum("i,ia,ib->ab", atoms.get_masses(), v, v) / atoms.get_volume()
            atoms.info[REF_STRESS] = _stress_voigt(-(pressure - kinetic))
        atoms.info["md_step"] = step
        yield _finish(atoms, level_of_theory, lot_hash, where)


# ----------------------------------------------------------------------------------------- VASP


def _iter_vasprun(path: str) -> Iterator[Atoms]:
    """ionic steps of vasprun.xml, one at a time; each step's XML is freed after use."""
    import xml.etree.ElementTree as ET

    from ase.io.vasp import atoms_from_step

    symbols, cell, scaled, parameters, root, depth = None, None, None, {}, None, 0
    for event, elem in ET.iterparse(path, events=("start", "end")):
        if event == "start":
            if root is None:
                root = elem
            depth += 1
            continue
        depth -= 1
        if elem.tag == "atominfo":
            symbols = [entry[0].text.strip() for entry in elem.find("array[@name='atoms']/set")]
        elif elem.tag == "parameters":
            for par in elem.iter():
                if par.tag == "i" and par.attrib.get("name", "").upper() == "PSTRESS":
                    parameters["pstress"] = float(par.text)
        elif elem.tag == "structure" and elem.attrib.get("name") == "initialpos":
            cell = np.array([v.text.split() for v in elem.find("crystal/varray[@name='basis']")], dtype=float)
            scaled = np.array([v.text.split() for v in elem.find("varray[@name='positions']")], dtype=float)
        elif elem.tag == "calculation" and depth == 1:
            initial = Atoms(symbols, cell=cell, scaled_positions=scaled, pbc=True)
            atoms = atoms_from_step(
                elem, ibz_kpts=np.zeros((0, 3)), kpt_weights=[], parameters=parameters, atoms=initial, natoms=len(symbols)
            )
            root.remove(elem)
            yield atoms


def iter_vasp(path: str | os.PathLike, level_of_theory: Mapping) -> Iterator[Atoms]:
    """Stream the ionic steps of a VASP ``OUTCAR`` or ``vasprun.xml`` as labelled frames.

    Energies are the force-consistent free energy (eV), forces eV/Å, stress eV/Å^3 (ASE sign,
    from VASP's kB), all read with ASE's parsers.
    """
    import ase.io

    path = str(path)
    lot_hash = _check_record(level_of_theory)
    if path.endswith(".xml"):
        frames = _iter_vasprun(path)
    else:
        frames = ase.io.iread(path, index=":", format="vasp-out")
    for index, atoms in enumerate(frames):
        results = atoms.calc.results
        labelled = Atoms(atoms.numbers, positions=atoms.positions, cell=atoms.cell, pbc=atoms.pbc)
        labelled.info[REF_ENERGY] = float(results.get("free_energy", results["energy"]))
        labelled.arrays[REF_FORCES] = np.asarray(results["forces"], dtype=float)
        if results.get("stress") is not None:
            labelled.info[REF_STRESS] = np.asarray(results["stress"], dtype=float)
        labelled.info["md_step"] = index
        yield _finish(labelled, level_of_theory, lot_hash, f"{path}: ionic step {index}")


# --------------------------------------------------------------------------------------- writing


def write_stream(path: str | os.PathLike, frames: Iterable[Atoms], every: int = 1) -> int:
    """Write every ``every``-th frame of a stream to extended XYZ, one at a time; return the count.

    Unlike :func:`amlip.io.write_frames` this never holds the list, so a 1 M-frame AIMD import
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
