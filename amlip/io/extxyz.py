"""The fast extended-XYZ reader: frames streamed 4 MB at a time, exactly as ``ase.io.read`` gives them.

It handles the layout ASE and most codes write: an atom-count line, a comment of key=value /
key="quoted value" pairs, atom lines "<species> <numbers...>" with only real or integer columns
after the species. The numbers of a whole read are parsed by the compiled loops of
:mod:`amlip.io.extxyz_kernels`; Python handles the comments and builds the Atoms, while a second
thread parses the next read. Any frame outside that layout (exponents beyond the range, > 15
digits, nan, extra columns, string or logical columns, comments with brackets or escapes) is
handed whole to ase.io's reader (:mod:`amlip.io.extxyz_ase`), so the result is always what
ase.io.read gives (calculator results moved to info/arrays).
"""

from __future__ import annotations

import os
import re
from typing import Iterator

import numpy as np
from ase import Atoms

from amlip.io.extxyz_ase import (
    _DEFAULT_PROPERTIES,
    ExtxyzError,
    _ase_frames,
    _frame_from_ase,
    _frame_problem,
    _keys_to_results,
    _line_at,
)
from amlip.io.extxyz_kernels import _SENTINEL, _Z_TABLE, _kernels

# ase.io.extxyz conventions, mirrored (tests compare with ase.io.read)
_ASE_COLUMN_NAMES = {"pos": "positions", "Z": "numbers", "charge": "charges", "species": "symbols"}
_ASE_3X3_KEYS = {"Lattice", "virial", "stress"}
_ASE_UNPROCESSED = {"uid"}
_ASE_BOOLS = {"T": True, "F": False, "true": True, "false": False, "True": True, "False": False, "TRUE": True, "FALSE": False}
_VALUE_TOKENS = re.compile(r"[^\s,]+")
# characters that send a comment to ASE's parser (brackets, escapes, single quotes)
_ODD_COMMENT_CHARS = "{}[]\\'"


_VALUE_CACHE: dict[tuple[str, str], object] = {}


_INT = r"[+-]?\d+"
_FLOAT = r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"
_INT_TOKEN, _FLOAT_TOKEN = re.compile(_INT), re.compile(_FLOAT)
_INT_TOKENS, _FLOAT_TOKENS = re.compile(f"{_INT}(?: {_INT})*"), re.compile(f"{_FLOAT}(?: {_FLOAT})*")


def _numbers(tokens: list[str]):
    """``tokens`` as ASE converts them (np.array of int, else of float), or None if not numbers.
    The regular expressions only pick the conversion ASE's try/except would end with, cheaply."""
    if len(tokens) == 1:
        token = tokens[0]
        if _INT_TOKEN.fullmatch(token) and len(token) < 18:
            return np.array(tokens, dtype=int)
        if _FLOAT_TOKEN.fullmatch(token):
            return np.array(tokens, dtype=float)
    elif tokens:
        joined = " ".join(tokens)
        if _INT_TOKENS.fullmatch(joined) and max(map(len, tokens)) < 18:
            return np.array(tokens, dtype=int)
        if _FLOAT_TOKENS.fullmatch(joined):
            return np.array(tokens, dtype=float)
    else:
        return np.array([], dtype=int)
    try:
        try:
            return np.array(tokens, dtype=int)
        except (ValueError, OverflowError):
            return np.array(tokens, dtype=float)
    except (ValueError, OverflowError):
        return None


def _ase_value(key: str, value: str):
    """An extxyz info value converted as ``ase.io.extxyz.key_val_str_to_dict`` converts it."""
    cached = _VALUE_CACHE.get((key, value))
    if cached is not None:
        return cached.copy() if isinstance(cached, (np.ndarray, list)) else cached
    original = value
    if key.lower() not in _ASE_UNPROCESSED:
        number = _numbers(_VALUE_TOKENS.findall(value))
        if number is not None:
            value = number[0] if len(number) == 1 else number
        if key in _ASE_3X3_KEYS:
            if not isinstance(value, np.ndarray) or value.shape != (9,):
                raise ValueError(f"{key}={original!r} is not 9 numbers")
            value = np.array(value).reshape((3, 3), order="F")
        if isinstance(value, str):
            try:
                flags = [_ASE_BOOLS[part] for part in _VALUE_TOKENS.findall(value)]
                value = flags[0] if len(flags) == 1 else flags
            except KeyError:
                if value.startswith("_JSON "):
                    raise ValueError("JSON values are left to ASE") from None
    if len(_VALUE_CACHE) > 4096:
        _VALUE_CACHE.clear()
    _VALUE_CACHE[(key, original)] = value
    return value.copy() if isinstance(value, (np.ndarray, list)) else value


def _parse_comment_pairs(comment: str) -> tuple[dict, list] | None:
    """The info dict ASE would read from a comment line and the (key, quoted) pairs in order, or
    None when the comment is outside the simple layout: whitespace-separated key=value or
    key="value" pairs, no brackets, escapes, single quotes or empty values."""
    if any(c in comment for c in _ODD_COMMENT_CHARS):
        return None
    parts = comment.strip().split('"')
    if len(parts) % 2 == 0:  # an unclosed quote
        return None
    info, pairs = {}, []
    last = len(parts) - 1
    try:
        for k in range(0, len(parts), 2):
            outside = parts[k]
            if k and outside and not outside[0].isspace():  # "value"next: ASE glues them
                return None
            tokens = outside.split()
            quoted = k < last
            if quoted and (not tokens or outside[-1].isspace()):
                return None
            for j, token in enumerate(tokens):
                key, sep, value = token.partition("=")
                if not key or not sep or "=" in value:
                    return None
                is_quoted = quoted and j == len(tokens) - 1
                if is_quoted:
                    if value or not parts[k + 1]:
                        return None
                    value = parts[k + 1]
                elif not value:
                    return None
                info[key] = _ase_value(key, value)
                pairs.append((key, is_quoted))
    except ValueError:
        return None
    return info, pairs


# The comment lines of one trajectory share their keys and layout; only some values change. The
# first comment is parsed with str methods and turned into a regular expression that matches
# exactly the comments with the same keys in the same order, each quoted the same way, that
# _parse_comment_pairs accepts; later comments are matched by it once and only changed values are
# converted (integers and reals with int()/float(), which is what numpy's string cast calls, runs
# of numbers with ASE's own np.array call).
_QUOTED_VALUE = r'"([^"\\\[\]{}\']+)"'
_PLAIN_VALUE = r'([^\s"=\\\[\]{}\']+)'
_ASCII_FLOAT = re.compile(_FLOAT, re.ASCII)
_NUMBER_CHARS = re.compile(r"[-+0-9.eE ]+", re.ASCII)
_INT_SCALAR = np.dtype(int).type
#: (pattern, keys, plain, [(value string, value, needs a copy)]) of the last simple comment; plain:
#: the key is neither a 3x3 nor an unprocessed key
_TEMPLATE: list = [None]


def _changed_value(key: str, value: str, plain: bool):
    """:func:`_ase_value` for a value that differs from the previous frame's. For a ``plain`` key,
    ASCII numbers are converted directly, and so are runs of them with a real among them, by ASE's
    own conversion of the same tokens (which ASE reaches when its integer conversion fails: a token
    has a '.' or an exponent)."""
    if plain:
        real = "." in value or "e" in value or "E" in value
        if _ASCII_FLOAT.fullmatch(value):
            if real:
                return np.float64(float(value))
            if len(value) < 18:
                return _INT_SCALAR(int(value))
        elif real and _NUMBER_CHARS.fullmatch(value):
            tokens = value.split()
            if len(tokens) > 1:
                try:
                    return np.array(tokens, dtype=float)
                except ValueError:
                    pass
    return _ase_value(key, value)


def _slot(key: str, value: str, plain: bool) -> tuple:
    """(value string, converted value, whether each frame needs its own copy) of a comment value."""
    converted = _changed_value(key, value, plain)
    return value, converted, isinstance(converted, (np.ndarray, list))


def _parse_comment(comment: str) -> dict | None:
    """The info dict ASE would read from a comment line, or None when it is outside the simple
    layout (see :func:`_parse_comment_pairs`)."""
    if _TEMPLATE[0] is not None:
        pattern, keys, plain, last = _TEMPLATE[0]
        match = pattern.fullmatch(comment)
        if match is not None:
            info = {}
            try:
                for k, value in enumerate(match.groups()):
                    string, converted, mutable = last[k]
                    if value != string:
                        string, converted, mutable = last[k] = _slot(keys[k], value, plain[k])  # one store
                    info[keys[k]] = converted.copy() if mutable else converted
            except ValueError:
                return None
            return info
    parsed = _parse_comment_pairs(comment)
    if parsed is None:
        return None
    info, pairs = parsed
    if len(pairs) == len(info):  # no key twice
        pattern = re.compile(
            r"\s*"
            + r"\s+".join(re.escape(key) + "=" + (_QUOTED_VALUE if quoted else _PLAIN_VALUE) for key, quoted in pairs)
            + r"\s*"
        )
        keys = [key for key, _ in pairs]
        plain = [key not in _ASE_3X3_KEYS and key.lower() not in _ASE_UNPROCESSED for key in keys]
        last = [_slot(*slot) for slot in zip(keys, pattern.fullmatch(comment).groups(), plain)]
        _TEMPLATE[0] = (pattern, keys, plain, last)
    return info


_LAYOUTS: dict[str, tuple | None] = {}


def _layout(spec: str) -> tuple | None:
    """(ASE array names, column counts, kinds, integer-column mask, placement) of a Properties value
    whose first column is species and the rest real or integer; None for any other layout. The
    placement tells the kernels where each value column goes (see :func:`amlip.io.extxyz_kernels._parse_atoms_py`)."""
    if spec not in _LAYOUTS:
        fields = spec.split(":")
        layout = None
        if len(fields) % 3 == 0 and fields[:3] == ["species", "S", "1"]:
            columns = [(fields[i], fields[i + 1], fields[i + 2]) for i in range(3, len(fields), 3)]
            names = [_ASE_COLUMN_NAMES.get(name, name) for name, _, _ in columns]
            if (
                all(kind in ("R", "I") and count.isdigit() and int(count) > 0 for _, kind, count in columns)
                and ("positions", "R", "3") in [(n, k, c) for n, (_, k, c) in zip(names, columns)]
                and "numbers" not in names
                and len(set(names)) == len(names)
            ):
                counts = [int(count) for _, _, count in columns]
                is_int = np.concatenate([np.full(c, kind == "I") for (_, kind, _), c in zip(columns, counts)])
                kinds = [kind for _, kind, _ in columns]
                starts = np.cumsum([0] + counts[:-1])
                place = np.array([np.repeat(starts, counts), np.repeat(counts, counts)], dtype=np.int64)
                layout = (names, counts, kinds, is_int, place)
        _LAYOUTS[spec] = layout
    return _LAYOUTS[spec]


def _atoms_builder():
    """A function building Atoms from numbers, positions, cell and pbc without ``Atoms.__init__``'s
    checks (60 µs for 272 atoms, most of the per-frame budget), used only when it gives exactly the
    attributes ``Atoms(...)`` gives in this ASE version."""
    from ase.cell import Cell

    def build(numbers, positions, cell, pbc):
        atoms = Atoms.__new__(Atoms)
        atoms._cellobj = Cell(cell)
        atoms._pbc = pbc
        atoms.arrays = {"numbers": numbers, "positions": positions}
        atoms._celldisp = np.zeros((3, 1))
        atoms._constraints = []
        atoms.info = {}
        atoms._calc = None
        return atoms

    def slow(numbers, positions, cell, pbc):
        return Atoms(numbers=numbers, positions=positions, cell=cell, pbc=pbc)

    args = (np.array([14, 8]), np.array([[0.0, 0, 0], [1.6, 0, 0]]), np.eye(3) * 5.0, np.array([True, False, True]))
    a, b = build(*(x.copy() for x in args)), slow(*(x.copy() for x in args))
    same = (
        vars(a).keys() == vars(b).keys()
        and a == b
        and all(type(getattr(a, k)) is type(getattr(b, k)) for k in vars(b))
        and np.array_equal(a._celldisp, b._celldisp)
    )
    return build if same else slow


_BUILD_ATOMS = None


def _fast_frame(info: dict, layout: tuple, numbers: np.ndarray, values: np.ndarray) -> Atoms:
    """Atoms from a parsed comment (``info`` without Properties) and atom block, as ASE builds them.
    ``numbers`` and ``values`` (the frame's block, grouped by property) are views of the reader's
    reused arrays: each array is copied out of them in one piece."""
    names, counts, kinds, _, _ = layout
    n = len(numbers)
    pbc = info.pop("pbc") if "pbc" in info else "Lattice" in info
    lattice = info.pop("Lattice", None)
    pbc_array = np.zeros(3, dtype=bool)
    pbc_array[:] = pbc
    cell = np.zeros((3, 3)) if lattice is None else np.ascontiguousarray(lattice.T, dtype=float)
    arrays, start = {}, 0
    for name, count, kind in zip(names, counts, kinds):
        block = values[n * start : n * (start + count)]
        block = block.reshape(n, count) if count > 1 else block
        arrays[name] = block.astype(np.intc) if kind == "I" else block.copy()
        start += count
    atoms = _BUILD_ATOMS(numbers.copy(), arrays.pop("positions"), cell, pbc_array)
    atoms.arrays.update(arrays)
    stress = info.get("stress")
    if isinstance(stress, np.ndarray) and stress.shape == (3, 3):  # as ASE's calculator stores it
        info["stress"] = stress[[0, 1, 2, 1, 0, 0], [0, 1, 2, 2, 2, 1]]
    atoms.info = info
    return atoms


class _Chunk:
    """One read of the file and the kernel's output for it: ``data[:end]`` (then :data:`_SENTINEL`),
    the frame table (rows of :func:`amlip.io.extxyz_kernels._parse_frames_py`), the atoms of all its frames stacked in
    ``numbers``/``values``, the layout they were parsed with, and where the kernel stopped."""

    def __init__(self, size: int):
        self.size, self.end, self.layout, self.count, self.status, self.after, self.last = size, 0, None, 0, 1, 0, False
        self.offset = 0  # of data[0] in the file, for the line numbers of errors
        self.data = bytearray(size + 1 + len(_SENTINEL))  # + 1: the final newline a file may lack
        self.array = np.frombuffer(self.data, dtype=np.uint8)
        # a 272-atom frame of %16.8f columns is 27 kB: size / 64 rows hold a read (more on demand)
        self.numbers = np.empty(max(size // 64, 64), dtype=np.int64)
        self.values = np.empty(0)
        self.table = np.empty((max(size // 1024, 16), 7), dtype=np.int64)

    def grow_data(self) -> None:
        """Twice the room for bytes (a frame longer than a read), keeping ``data[:end]``."""
        data = bytearray(2 * self.size + 1 + len(_SENTINEL))
        data[: self.end] = self.data[: self.end]
        self.size, self.data, self.array = 2 * self.size, data, np.frombuffer(data, dtype=np.uint8)

    def parse(self, kernel, layout: tuple) -> None:
        """Run the frame kernel over ``data[:end]`` with ``layout``, growing the output until it fits."""
        self.layout = layout
        while True:
            if len(self.values) != len(self.numbers) * len(layout[3]):
                self.values = np.empty(len(self.numbers) * len(layout[3]))
            self.count, self.status, self.after = kernel(
                self.array, 0, self.end, layout[3], _Z_TABLE, layout[4], self.numbers, self.values, self.table
            )
            if self.status != 3:
                return
            if self.count == len(self.table):
                self.table = np.empty((2 * len(self.table), 7), dtype=np.int64)
            else:
                self.numbers = np.empty(2 * len(self.numbers), dtype=np.int64)


class _FastReader:
    """One pass of the compiled reader over an extended-XYZ file.

    A producer reads the file ``chunk_bytes`` at a time and parses all frames of a read in one
    compiled call, with the layout of the last frame seen (a trajectory keeps its columns); the
    consumer checks each frame's comment and builds the Atoms, parsing a frame again when its
    columns differ. With ``threaded`` the producer runs in a thread, a read ahead (the kernel
    releases the GIL, so it parses the next read while Python builds the frames of this one).
    """

    def __init__(self, path: str, chunk_bytes: int, threaded: bool):
        global _BUILD_ATOMS
        if _BUILD_ATOMS is None:
            _BUILD_ATOMS = _atoms_builder()
        self.parse_frames, self.parse = _kernels()
        self.path, self.chunk_bytes, self.threaded, self.frame = path, chunk_bytes, threaded, 0
        self.layout = _layout(_DEFAULT_PROPERTIES)  # set by the consumer, read by the producer
        self.stopped = False

    def __iter__(self) -> Iterator[Atoms]:
        import queue

        free = queue.SimpleQueue()  # chunks the consumer is done with
        with open(self.path, "rb") as f:
            if not self.threaded:
                free.put(_Chunk(self.chunk_bytes))
                for chunk in self._chunks(f, free):
                    yield from self._frames_of(chunk)
                    free.put(chunk)
                return
            import threading

            for _ in range(3):  # one being consumed, one ready, one being parsed
                free.put(_Chunk(self.chunk_bytes))
            ready = queue.SimpleQueue()
            worker = threading.Thread(target=self._produce, args=(f, free, ready), name="extxyz-reader", daemon=True)
            worker.start()
            try:
                while True:
                    chunk = ready.get()
                    if isinstance(chunk, BaseException):
                        raise chunk
                    yield from self._frames_of(chunk)
                    if chunk.last:
                        return
                    free.put(chunk)
            finally:
                self.stopped = True
                free.put(None)  # wakes the producer if it waits for a chunk
                worker.join()

    def _produce(self, f, free, ready) -> None:
        """The producer thread: filled chunks (or the exception that stopped it) into ``ready``."""
        try:
            for chunk in self._chunks(f, free):
                ready.put(chunk)
        except BaseException as error:  # handed to the consumer, which raises it
            ready.put(error)

    def _chunks(self, f, free) -> Iterator[_Chunk]:
        """Read and parse the file, a chunk from ``free`` at a time; the incomplete frame at the end
        of one read starts the next. The last chunk has ``last`` set (end of file or a bad header)."""
        carry, offset = b"", 0
        while not self.stopped:
            chunk = free.get()
            if chunk is None:
                return
            chunk.end, chunk.last, chunk.offset = 0, False, offset
            while chunk.size <= len(carry):  # an earlier chunk grew for a long frame
                chunk.grow_data()
            chunk.data[: len(carry)] = carry
            chunk.end = len(carry)
            while True:
                read = f.readinto(memoryview(chunk.data)[chunk.end : chunk.size])
                chunk.end += read
                if not read:
                    chunk.last = True
                    if chunk.end and chunk.data[chunk.end - 1] != 10:
                        chunk.data[chunk.end] = 10
                        chunk.end += 1
                chunk.data[chunk.end : chunk.end + len(_SENTINEL)] = _SENTINEL
                chunk.parse(self.parse_frames, self.layout)
                if chunk.count or chunk.last or chunk.status == 2 or chunk.end < chunk.size:
                    break
                chunk.grow_data()  # not even one frame in a full read
            chunk.last = chunk.last or chunk.status == 2
            carry = bytes(chunk.data[chunk.after : chunk.end])
            offset += chunk.after
            yield chunk
            if chunk.last:
                return

    def _frames_of(self, chunk: _Chunk) -> Iterator[Atoms]:
        """The frames of a parsed chunk; at the last one, the errors the file ends with."""
        for header, comment, comment_end, stop, row, n, parsed in chunk.table[: chunk.count].tolist():
            try:
                atoms = self._frame(chunk, header, comment, comment_end, stop, row, n, parsed)
            except Exception as error:
                line = _line_at(self.path, chunk.offset + header)
                text = chunk.data[header:stop].decode(errors="replace")
                line, reason = _frame_problem(text, line) or (line, f"{type(error).__name__}: {error}")
                raise ExtxyzError(self.path, self.frame, line, reason) from error
            yield atoms
            self.frame += 1
        if chunk.status == 2:
            text = bytes(chunk.data[chunk.after : chunk.data.find(b"\n", chunk.after)][:40])
            raise ExtxyzError(
                self.path,
                self.frame,
                _line_at(self.path, chunk.offset + chunk.after),
                f"starts with {text!r}, not an atom count; is this an extended-XYZ file?",
            )
        if chunk.last and chunk.data[chunk.after : chunk.end].strip():
            line = _line_at(self.path, chunk.offset + chunk.after)
            raise ExtxyzError(self.path, self.frame, line, "the file ends inside this frame; truncated?")

    def _frame(self, chunk: _Chunk, header, comment, comment_end, stop, row, n, parsed) -> Atoms:
        """The Atoms of one row of a chunk's frame table."""
        info = _parse_comment(chunk.data[comment:comment_end].decode())
        layout = None if info is None else _layout(info.pop("Properties", _DEFAULT_PROPERTIES))
        numbers, values = chunk.numbers, chunk.values
        if layout is not None and layout is not chunk.layout:  # parsed with other columns: again with its own
            self.layout, row = layout, 0  # and the producer's next reads too
            numbers, values = np.empty(n, dtype=np.int64), np.empty(n * len(layout[3]))
            columns = np.full(1 + 3 * len(layout[3]), -1, dtype=np.int64)
            end = self.parse(
                chunk.array, comment_end + 1, chunk.end, n, 0, layout[3], _Z_TABLE, layout[4], numbers, values, columns
            )
            parsed = end >= 0
        if layout is None or not parsed:
            return _frame_from_ase(chunk.data[header:stop].decode())
        width = len(layout[3])
        return _fast_frame(info, layout, numbers[row : row + n], values[row * width : (row + n) * width])


#: files above this size go to the compiled reader unless the caller chooses (bytes): below it, the
#: reader's one-off compilation (a few seconds per machine, then cached) costs more than it saves
FAST_READER_MIN_BYTES = 16 << 20


def iter_extxyz_frames(
    path: str | os.PathLike,
    fast: bool | None = None,
    *,
    calculator: bool = True,
    chunk_bytes: int = 1 << 22,
    threaded: bool | None = None,
) -> Iterator[Atoms]:
    """Stream the frames of an extended-XYZ file: the one extended-XYZ reader of the package.

    Both engines give ``ase.io.iread``'s frames: ``fast`` the compiled reader (``chunk_bytes``
    read at a time; ``threaded`` parses the next read in a second thread, by default when this
    process may use more than one CPU), else ASE's reader frame by frame; by default the compiled
    one for files above :data:`FAST_READER_MIN_BYTES`. ``calculator``: the standard results
    (energy, forces, stress, ...) on a ``SinglePointCalculator`` as ASE gives them; False moves
    them to ``info``/``arrays`` under their own names (what the importers relabel). Blank lines
    between frames are skipped by both (``ase.io.iread`` would stop at the first). A frame that
    cannot be read raises :class:`amlip.io.extxyz_ase.ExtxyzError` naming the file, the frame's
    index and the line at fault (an atom line with a word for a number or a missing column, a line
    where an atom count should be, the end of a truncated file).
    """
    path = str(path)
    if fast is None:
        fast = os.path.getsize(path) > FAST_READER_MIN_BYTES
    if not fast:
        for atoms in _ase_frames(path):
            if calculator:
                _keys_to_results(atoms)
            yield atoms
        return
    if threaded is None:
        threaded = len(os.sched_getaffinity(0)) > 1 if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1) > 1
    for atoms in _FastReader(path, chunk_bytes, threaded):
        if calculator:
            _keys_to_results(atoms)
        yield atoms
