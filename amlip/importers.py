"""Import reference data (AIMD trajectories, DFT single points) as streams of labelled frames.

Every importer is a generator: it yields one :class:`ase.Atoms` at a time with ``REF_energy``
(eV), ``REF_forces`` (eV/Å), ``REF_stress`` (eV/Å^3, Voigt, ASE sign) when the source has it,
and the ``level_of_theory``/``lot_hash`` of the record the caller supplies — the files do not
say reliably which functional, cutoff or k-points made them, so the caller must. Memory stays
at one frame (plus a read buffer) however long the trajectory (ZIF: 1.19 M frames).

Formats:

- extended XYZ (:func:`iter_extxyz`): a compiled (numba) reader for the common layout, 4 MB
  read at a time, exactly the frames ``ase.io.read`` gives (other frames are handed to ASE's
  reader); ``fast=False`` uses ASE's reader throughout. benchmarks/import_scale.py measures it.
- :func:`iter_source` / :func:`import_sources`: one config entry (``aimd.import``) or AIMD run
  (``amlip.labelers.run_aimd``) as a stream with provenance (``aimd_source``, ``aimd_frame``).
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
from typing import Iterable, Iterator, Mapping

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
    level_of_theory_string,
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


def _finish(atoms: Atoms, record: Mapping, lot_hash: str, where) -> Atoms:
    """Stamp the caller's level of theory; refuse a frame that already carries another one.
    ``where`` (text, or a function giving it) names the frame in the error."""
    old = atoms.info.get(LOT_HASH_KEY)
    if old is not None and old != lot_hash:
        raise LevelOfTheoryError(
            f"{where() if callable(where) else where} is labelled {old} ({atoms.info.get(LOT_KEY, '?')}) but the "
            f"import says {lot_hash} ({record}); import it with its own level of theory"
        )
    atoms.info[LOT_KEY] = _lot_string(record)
    atoms.info[LOT_HASH_KEY] = lot_hash
    return atoms


_LOT_STRINGS: dict[int, tuple[Mapping, str, dict]] = {}


def _lot_string(record: Mapping) -> str:
    """level_of_theory_string of a record, computed once per record object of a stream."""
    cached = _LOT_STRINGS.get(id(record))
    if cached is None or cached[0] is not record or cached[2] != dict(record):
        cached = (record, level_of_theory_string(record), dict(record))
        _LOT_STRINGS.clear()
        _LOT_STRINGS[id(record)] = cached
    return cached[1]


def _check_record(level_of_theory: Mapping) -> str:
    if not level_of_theory or "code" not in level_of_theory:
        raise ValueError("importers need a level_of_theory record with at least 'code' (and functional, cutoffs, ...)")
    return level_of_theory_hash(level_of_theory)


# --------------------------------------------------------------------------------------- extxyz
#
# The fast reader handles the layout ASE and most codes write: an atom-count line, a comment of
# key=value / key="quoted value" pairs, atom lines "<species> <numbers...>" with only real or
# integer columns after the species. Numbers are converted by compiled (numba) loops over the
# bytes, one call per read of the file (4 MB): lines with fixed-width columns (ASE's %16.8f) by a
# path that takes each column's place from the previous line and checks it, other lines by a byte
# loop. Values are exact: an integer mantissa below 2^53 times or divided by an exact power of
# ten <= 1e22 is one correctly rounded IEEE operation, which is what float() gives. Any frame
# outside that (exponents beyond the range, > 15 digits, nan, extra columns, string or logical
# columns, unusual comments with brackets or escapes) is handed whole to ase.io's reader, so the
# result is always what ase.io.read gives. Python handles the comments and builds the Atoms,
# while a second thread parses the next read (the loops release the GIL).

# ase.io.extxyz conventions, mirrored (tests compare with ase.io.read)
_ASE_COLUMN_NAMES = {"pos": "positions", "Z": "numbers", "charge": "charges", "species": "symbols"}
_ASE_3X3_KEYS = {"Lattice", "virial", "stress"}
_ASE_UNPROCESSED = {"uid"}
_ASE_BOOLS = {"T": True, "F": False, "true": True, "false": False, "True": True, "False": False, "TRUE": True, "FALSE": False}
_VALUE_TOKENS = re.compile(r"[^\s,]+")
# characters that send a comment to ASE's parser (brackets, escapes, single quotes)
_ODD_COMMENT_CHARS = "{}[]\\'"

#: atomic number of a capitalised 1-2 letter symbol, indexed by 256 * first byte + second byte (0 if
#: one letter); -1 for anything that is not an element (ASE's "X" is 0).
_Z_TABLE = np.full(65536, -1, dtype=np.int64)
for _symbol, _z in atomic_numbers.items():
    if len(_symbol) <= 2:
        _Z_TABLE[256 * ord(_symbol[0]) + (ord(_symbol[1]) if len(_symbol) == 2 else 0)] = _z

_EXACT_POW10 = np.array([10.0**k for k in range(23)])
_INT_POW10 = np.array([10**k for k in range(9)], dtype=np.int64)
# Words of eight bytes (SWAR, "SIMD within a register"): eight characters tested or converted in a
# few integer operations, without a branch per character.
_HIGH_NIBBLES, _LOW_NIBBLES = np.uint64(0xF0F0F0F0F0F0F0F0), np.uint64(0x0F0F0F0F0F0F0F0F)
_SIXES, _THREES = np.uint64(0x0606060606060606), np.uint64(0x3333333333333333)
_BYTE_PAIRS, _WORD_PAIRS = np.uint64(0x00FF00FF00FF00FF), np.uint64(0x0000FFFF0000FFFF)
_SPACES, _ALL_BITS = np.uint64(0x2020202020202020), np.uint64(0xFFFFFFFFFFFFFFFF)
#: bytes after the end of the data in a read buffer; the compiled loops read up to eight bytes ahead
_SENTINEL = b"\n" * 8
#: lines starting before this offset of the buffer are parsed by the general loop (the fixed-column
#: path reads up to 16 bytes before a number)
_FIXED_MIN_OFFSET = 16


def _njit(function, inline: bool = False):
    """numba.njit(cache=True), imported lazily so that only the fast reader needs numba.
    ``inline``: compiled into each caller (numba's IR inlining); only for helpers that numba then
    compiles without reference counting (a call that passes an array costs two atomic operations
    per array, more than a helper's own work)."""
    import numba

    return numba.njit(cache=True, nogil=True, inline="always" if inline else "never")(function)


def _intrinsics():
    """Two numba intrinsics: ``load8(buf, pos)``, the bytes ``buf[pos:pos + 8]`` as one little-endian
    64-bit word read by one unaligned load (LLVM does not reliably merge eight byte loads, and numba
    adds a negative-index test to each), and ``leading_zero_bytes(word)``, the number of zero bytes
    above the highest nonzero one (8 for 0): one instruction (lzcnt)."""
    from llvmlite import ir
    from numba import types
    from numba.extending import intrinsic

    @intrinsic
    def load8(typingctx, buf, pos):
        def codegen(context, builder, signature, args):
            array = context.make_array(signature.args[0])(context, builder, args[0])
            address = builder.gep(array.data, [args[1]])
            return builder.load(builder.bitcast(address, ir.IntType(64).as_pointer()), align=1)

        return types.uint64(buf, pos), codegen

    @intrinsic
    def leading_zero_bytes(typingctx, word):
        def codegen(context, builder, signature, args):
            bits = builder.ctlz(args[0], ir.Constant(ir.IntType(1), 0))
            return builder.lshr(bits, ir.Constant(ir.IntType(64), 3))

        return types.int64(word), codegen

    return load8, leading_zero_bytes


def _non_digits_py(word):
    """A word whose bytes are zero where the bytes of ``word`` are ASCII digits. A byte >= 0xFA
    carries into the next one and may mark that digit as a non-digit, never the reverse."""
    return ((word & _HIGH_NIBBLES) | (((word + _SIXES) & _HIGH_NIBBLES) >> np.uint64(4))) ^ _THREES


def _digits_value_py(word):
    """The integer written by the eight ASCII digits of ``word`` (first byte most significant);
    bytes that are zero count as zeros. Pairs, then quadruples, then octets: three multiplications."""
    v = ((word & _LOW_NIBBLES) * np.uint64(2561)) >> np.uint64(8)
    v = ((v & _BYTE_PAIRS) * np.uint64(6553601)) >> np.uint64(16)
    v = ((v & _WORD_PAIRS) * np.uint64(42949672960001)) >> np.uint64(32)
    return np.int64(v)


def _species_py(buf, pos, z_table):
    """The atomic number of the species token after the blanks at ``buf[pos:]`` (one or two letters
    in any case, as ASE reads them; -1 when it is not an element or not followed by a blank) and the
    offset after it. Written with one exit and few branches: numba inlines it without reference counting."""
    while buf[pos] == 32 or buf[pos] == 9:
        pos += 1
    first = np.int64(buf[pos]) & ~32  # upper case
    second = np.int64(buf[pos + 1]) | 32  # lower case
    two = 97 <= second <= 122
    z = z_table[256 * first + (second if two else 0)]
    pos += 2 if two else 1
    blank = buf[pos] == 32 or buf[pos] == 9
    return z if blank and 65 <= first <= 90 else -1, pos


def _fixed_lines_py(buf, pos, end, row, n, first, z_table, place, numbers, values, columns):
    """Parse atom lines ``row``.. of a frame from ``buf[pos:]`` (see :func:`_parse_atoms_py`) while each
    line has the shape :func:`_free_lines_py` recorded in ``columns`` (line length; per column the offsets
    of the token's end and decimal point from the line start, its fraction digits): fixed-width
    columns such as ASE's %16.8f. Every byte is still checked; only the searching is saved, so the
    columns of a line do not wait for each other and the processor works on several at once. Values
    are exact: an integer mantissa below 10^15 divided by an exact power of ten. Indices are unsigned
    where numba would otherwise test each for a negative value. Returns (next row, its line's offset)."""
    width, length = place.shape[1], columns[0]
    base = first * width + place[0] * (n - 1) + np.arange(width)  # where column j of atom 0 goes
    while row < n:
        start = pos
        if start < _FIXED_MIN_OFFSET or start + length > end or buf[start + length - 1] != 10:
            break
        z, previous = _SPECIES(buf, start, z_table)
        ok, j = z >= 0, 0
        while ok and j < width:
            token_end, dot, fraction = start + columns[1 + 3 * j], start + columns[2 + 3 * j], columns[3 + 3 * j]
            low = _LOAD8(buf, token_end - 8)  # the fraction digits are its last bytes
            high = _LOAD8(buf, dot - 8)  # the integer digits, a sign and blanks are its last bytes
            digits = _LEADING_ZERO_BYTES(_NON_DIGITS(high))
            k = min(digits, 7)
            sign = (high >> np.uint64(8 * (7 - k))) & np.uint64(255)
            token = dot - k - ((sign == 45) | (sign == 43))
            # blanks before the token, counted from it backwards over two words: must reach the last
            # token (a tab or anything else between two tokens sends the line to the general loop)
            blanks = _LEADING_ZERO_BYTES(_LOAD8(buf, token - 8) ^ _SPACES)
            if blanks == 8:
                blanks += _LEADING_ZERO_BYTES(_LOAD8(buf, token - 16) ^ _SPACES)
            fraction_mask = _ALL_BITS << np.uint64(8 * (8 - fraction))  # fraction: 1-8 digits
            ok = (  # without branches; the byte after the token is checked with the next blanks or the line end
                (digits < 8)
                & (previous < token)
                & (token <= previous + blanks)
                & (buf[np.uint64(dot)] == 46)
                & (_NON_DIGITS(low) & fraction_mask == 0)
            )
            integer = _DIGITS_VALUE(high & ((_ALL_BITS << np.uint64(8 * (7 - k))) << np.uint64(8)))
            mantissa = integer * _INT_POW10[np.uint64(fraction)] + _DIGITS_VALUE(low & fraction_mask)
            value = mantissa / _EXACT_POW10[np.uint64(fraction)]
            values[np.uint64(base[j] + row * place[1, j])] = -value if sign == 45 else value
            previous = token_end
            j += 1
        while ok and previous < start + length - 1:  # blanks after the last column
            ok = buf[previous] == 32 or buf[previous] == 9 or buf[previous] == 13
            previous += 1
        if not ok:
            break
        numbers[first + row] = z
        row += 1
        pos = start + length
    return row, pos


def _free_lines_py(buf, pos, end, row, n, first, is_int, z_table, place, numbers, values, columns):
    """Parse atom lines ``row``.. "<species> <number> ..." of a frame, with any spacing, from
    ``buf[pos:]`` (see :func:`_parse_atoms_py`), the numbers as float() (int() in integer columns)
    reads them, until a line has the shape :func:`_fixed_lines_py` handles: it is recorded in
    ``columns`` (else columns[0] = -1). Returns (next row, its line's offset); offset -2
    when a line is outside the fast layout or the buffer ends first.

    Values are exact: an integer mantissa below 2^53 times or divided by an exact power of ten
    <= 1e22 is one correctly rounded IEEE operation, which is what float() gives."""
    width = len(is_int)
    while row < n:
        start = pos
        z, pos = _SPECIES(buf, pos, z_table)
        if z < 0:
            return row, -2
        fixed = True
        for j in range(width):
            c = np.int64(buf[pos])
            while c == 32 or c == 9:
                pos += 1
                c = np.int64(buf[pos])
            negative = c == 45
            if c == 45 or c == 43:
                pos += 1
            begin = pos
            mantissa = np.int64(0)
            d = np.int64(buf[pos]) - 48
            while 0 <= d <= 9:
                mantissa = 10 * mantissa + d
                pos += 1
                d = np.int64(buf[pos]) - 48
            decimals, dot = 0, pos
            if d == -2:  # '.'
                if is_int[j]:
                    return row, -2
                pos += 1
                word = _LOAD8(buf, pos)
                if _NON_DIGITS(word) == 0:  # eight fraction digits at once (%16.8f)
                    mantissa = mantissa * 100000000 + _DIGITS_VALUE(word)
                    pos += 8
                d = np.int64(buf[pos]) - 48
                while 0 <= d <= 9:
                    mantissa = 10 * mantissa + d
                    pos += 1
                    d = np.int64(buf[pos]) - 48
                decimals = pos - dot - 1
                n_chars = pos - begin - 1
            else:
                n_chars = pos - begin
            fixed = fixed and 1 <= decimals <= 8 and dot - begin <= 7
            if n_chars == 0 or n_chars > 18 or mantissa >= 9007199254740992:
                return row, -2
            if is_int[j] and mantissa > 2147483647:  # ASE's integer columns are int32
                return row, -2
            exponent = 0
            if d == 53 or d == 21:  # e, E
                if is_int[j]:
                    return row, -2
                fixed = False
                pos += 1
                c = np.int64(buf[pos])
                exp_negative = c == 45
                if c == 45 or c == 43:
                    pos += 1
                exp_begin = pos
                d = np.int64(buf[pos]) - 48
                while 0 <= d <= 9 and pos - exp_begin < 4:
                    exponent = 10 * exponent + d
                    pos += 1
                    d = np.int64(buf[pos]) - 48
                if pos == exp_begin:
                    return row, -2
                if exp_negative:
                    exponent = -exponent
            c = d + 48
            if not (c == 32 or c == 9 or c == 10 or c == 13) or pos >= end:
                return row, -2
            power = exponent - decimals
            if mantissa == 0 or power == 0:
                value = np.float64(mantissa)
            elif power > 0:
                if power > 22:
                    return row, -2
                value = mantissa * _EXACT_POW10[power]
            else:
                if power < -22:
                    return row, -2
                value = mantissa / _EXACT_POW10[-power]
            values[first * width + place[0, j] * (n - 1) + j + row * place[1, j]] = -value if negative else value
            columns[1 + 3 * j], columns[2 + 3 * j], columns[3 + 3 * j] = pos - start, dot - start, decimals
        c = np.int64(buf[pos])
        while c == 32 or c == 9 or c == 13:
            pos += 1
            c = np.int64(buf[pos])
        if c != 10 or pos >= end:  # more columns than Properties says (ASE ignores them): ASE decides
            return row, -2
        pos += 1
        numbers[first + row] = z
        row += 1
        columns[0] = pos - start if fixed else -1
        if fixed:
            break
    return row, pos


def _parse_atoms_py(buf, pos, end, n, first, is_int, z_table, place, numbers, values, columns):
    """Parse n atom lines from ``buf[pos:end]``: atomic numbers to ``numbers[first:first + n]``, the
    values to ``values[first * width:]`` (width = len(is_int)) grouped by property, each group's
    (n, c) block contiguous so that each array is one copy: value j of atom i at n * s + i * c + j - s
    for a group of c columns from column s (``place[0, j]`` = s, ``place[1, j]`` = c).
    Runs of fixed-width lines go to :func:`_fixed_lines_py`, the others to :func:`_free_lines_py`
    (``columns``: the shape of the last line, carried from frame to frame). Returns the offset after
    the last line, or -2 when the lines are outside the fast layout or the buffer ends first (the
    caller tells the two apart with :func:`_skip_lines_py` and then asks ASE's reader).
    ``buf`` must hold eight newlines from ``end`` on (a sentinel)."""
    row = 0
    while row < n:
        if columns[0] > 0:
            row, pos = _FIXED_LINES(buf, pos, end, row, n, first, z_table, place, numbers, values, columns)
        if row < n:
            row, pos = _FREE_LINES(buf, pos, end, row, n, first, is_int, z_table, place, numbers, values, columns)
            if pos < 0:
                return -2
    return pos


def _frame_header_py(buf, pos, end):
    """The next frame's header in ``buf[pos:end]``: (status, atom count, header start, comment start,
    comment end). Status 0: found; 1: the buffer ends first; 2: the line is not an atom count.
    Blank lines before the header are skipped."""
    while True:
        start = pos
        while pos < end and (buf[pos] == 32 or buf[pos] == 9 or buf[pos] == 13):
            pos += 1
        if pos >= end:
            return 1, 0, start, 0, 0
        if buf[pos] != 10:
            break
        pos += 1
    header = pos
    n, digits = 0, 0
    while pos < end and 48 <= buf[pos] <= 57:
        n = 10 * n + (np.int64(buf[pos]) - 48)
        digits += 1
        pos += 1
    while pos < end and (buf[pos] == 32 or buf[pos] == 9 or buf[pos] == 13):
        pos += 1
    if pos >= end:
        return 1, 0, header, 0, 0
    if buf[pos] != 10 or digits == 0 or digits > 12:
        return 2, 0, header, 0, 0
    comment = pos + 1
    pos = comment
    while pos < end and buf[pos] != 10:
        pos += 1
    if pos >= end:
        return 1, 0, header, 0, 0
    return 0, n, header, comment, pos


def _skip_lines_py(buf, pos, end, n):
    """Offset after the next n lines from ``pos``, or -1 when the buffer ends first."""
    lines = 0
    while lines < n:
        if pos >= end:
            return -1
        if buf[pos] == 10:
            lines += 1
        pos += 1
    return pos


def _parse_frames_py(buf, pos, end, is_int, z_table, place, numbers, values, frames):
    """Parse the frames from ``buf[pos:end]`` on with one column layout ``is_int`` (the layout of the
    previous frame: the caller checks each comment's Properties), atoms stacked in ``numbers`` and
    ``values`` (see :func:`_parse_atoms_py`). Row f of ``frames`` gets frame f's header, comment
    start and end, end offset, first atom row, atom count, and 1 if parsed (0: outside the fast
    layout; ASE reads it). One call per read of the file: Python is not entered per frame.
    Returns (frames found, status, offset where to go on): status 1: the buffer ends inside the
    next frame; 2: the line at the offset is not an atom count; 3: the output arrays are full."""
    count, row = 0, 0
    columns = np.full(1 + 3 * len(is_int), -1, dtype=np.int64)
    while count < len(frames):
        status, n, header, comment, comment_end = _HEADER(buf, pos, end)
        if status != 0:
            return count, status, header
        if row + n > len(numbers):
            return count, 3, header
        stop = _PARSE(buf, comment_end + 1, end, n, row, is_int, z_table, place, numbers, values, columns)
        parsed = stop >= 0
        if not parsed:
            stop = _SKIP(buf, comment_end + 1, end, n)
            if stop < 0:
                return count, 1, header
        frames[count, 0], frames[count, 1], frames[count, 2], frames[count, 3] = header, comment, comment_end, stop
        frames[count, 4], frames[count, 5], frames[count, 6] = row, n, parsed
        count += 1
        row += n
        pos = stop
    return count, 3, pos


_PARSE_FRAMES = None
_LOAD8 = _LEADING_ZERO_BYTES = _NON_DIGITS = _DIGITS_VALUE = _SPECIES = None
_FIXED_LINES = _FREE_LINES = _HEADER = _SKIP = _PARSE = None


def _kernels():
    """The compiled loops (compiled once per machine, then loaded from numba's disk cache): parse
    frames, parse one frame's atoms. Each is bound to its global name before its callers compile."""
    global _LOAD8, _LEADING_ZERO_BYTES, _NON_DIGITS, _DIGITS_VALUE, _SPECIES
    global _FIXED_LINES, _FREE_LINES, _HEADER, _SKIP, _PARSE, _PARSE_FRAMES
    if _PARSE_FRAMES is None:
        _LOAD8, _LEADING_ZERO_BYTES = _intrinsics()
        _NON_DIGITS, _DIGITS_VALUE = _njit(_non_digits_py, inline=True), _njit(_digits_value_py, inline=True)
        _SPECIES = _njit(_species_py, inline=True)
        _FIXED_LINES, _FREE_LINES = _njit(_fixed_lines_py), _njit(_free_lines_py)
        _HEADER, _SKIP, _PARSE = _njit(_frame_header_py), _njit(_skip_lines_py), _njit(_parse_atoms_py)
        _PARSE_FRAMES = _njit(_parse_frames_py)
    return _PARSE_FRAMES, _PARSE


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
            r"\s*" + r"\s+".join(re.escape(key) + "=" + (_QUOTED_VALUE if quoted else _PLAIN_VALUE) for key, quoted in pairs) + r"\s*"
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
    placement tells the kernels where each value column goes (see :func:`_parse_atoms_py`)."""
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
    same = vars(a).keys() == vars(b).keys() and a == b and all(
        type(getattr(a, k)) is type(getattr(b, k)) for k in vars(b)
    ) and np.array_equal(a._celldisp, b._celldisp)
    return build if same else slow


_BUILD_ATOMS = None


def _frame_from_ase(text: str) -> Atoms:
    """One frame through ase.io's extxyz reader, calculator results moved to info/arrays."""
    import ase.io

    atoms = ase.io.read(io.StringIO(text), index=0, format="extxyz")
    _results_to_keys(atoms)
    return atoms


def _results_to_keys(atoms: Atoms) -> None:
    if atoms.calc is not None:  # ASE moves energy/forces/stress into a SinglePointCalculator
        for key, value in atoms.calc.results.items():
            (atoms.arrays if np.ndim(value) == 2 and len(value) == len(atoms) else atoms.info)[key] = value
        atoms.calc = None


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
    the frame table (rows of :func:`_parse_frames_py`), the atoms of all its frames stacked in
    ``numbers``/``values``, the layout they were parsed with, and where the kernel stopped."""

    def __init__(self, size: int):
        self.size, self.end, self.layout, self.count, self.status, self.after, self.last = size, 0, None, 0, 1, 0, False
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


_DEFAULT_PROPERTIES = "species:S:1:pos:R:3"


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
        carry = b""
        while not self.stopped:
            chunk = free.get()
            if chunk is None:
                return
            chunk.end, chunk.last = 0, False
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
            yield chunk
            if chunk.last:
                return

    def _frames_of(self, chunk: _Chunk) -> Iterator[Atoms]:
        """The frames of a parsed chunk; at the last one, the errors the file ends with."""
        for header, comment, comment_end, stop, row, n, parsed in chunk.table[: chunk.count].tolist():
            yield self._frame(chunk, header, comment, comment_end, stop, row, n, parsed)
            self.frame += 1
        if chunk.status == 2:
            line = bytes(chunk.data[chunk.after : chunk.data.find(b"\n", chunk.after)][:40])
            raise ValueError(f"{self.path}: frame {self.frame} starts with {line!r}, not an atom count; is this an extended-XYZ file?")
        if chunk.last and chunk.data[chunk.after : chunk.end].strip():
            raise ValueError(f"{self.path}: the file ends inside frame {self.frame}; truncated?")

    def _frame(self, chunk: _Chunk, header, comment, comment_end, stop, row, n, parsed) -> Atoms:
        """The Atoms of one row of a chunk's frame table."""
        info = _parse_comment(chunk.data[comment:comment_end].decode())
        layout = None if info is None else _layout(info.pop("Properties", _DEFAULT_PROPERTIES))
        numbers, values = chunk.numbers, chunk.values
        if layout is not None and layout is not chunk.layout:  # parsed with other columns: again with its own
            self.layout, row = layout, 0  # and the producer's next reads too
            numbers, values = np.empty(n, dtype=np.int64), np.empty(n * len(layout[3]))
            columns = np.full(1 + 3 * len(layout[3]), -1, dtype=np.int64)
            end = self.parse(chunk.array, comment_end + 1, chunk.end, n, 0, layout[3], _Z_TABLE, layout[4], numbers, values, columns)
            parsed = end >= 0
        if layout is None or not parsed:
            return _frame_from_ase(chunk.data[header:stop].decode())
        width = len(layout[3])
        return _fast_frame(info, layout, numbers[row : row + n], values[row * width : (row + n) * width])


def _iter_extxyz_fast(path: str, chunk_bytes: int = 1 << 22, threaded: bool | None = None) -> Iterator[Atoms]:
    """Stream the frames of an extended-XYZ file, ``chunk_bytes`` read at a time.

    Equal to ``ase.io.iread`` frame by frame (calculator results moved to info/arrays); blank
    lines between frames are skipped. ``threaded``: parse the next read in a second thread
    (default: when this process may use more than one CPU).
    """
    if threaded is None:
        threaded = len(os.sched_getaffinity(0)) > 1 if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1) > 1
    yield from _FastReader(path, chunk_bytes, threaded)


def _iter_extxyz_ase(path: str) -> Iterator[Atoms]:
    import ase.io

    for atoms in ase.io.iread(path, index=":", format="extxyz"):
        _results_to_keys(atoms)
        yield atoms


#: files above this size go to the compiled reader when iter_extxyz is not told (bytes)
FAST_READER_MIN_BYTES = 16 << 20


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
    fast: bool | None = None,
) -> Iterator[Atoms]:
    """Stream an extended-XYZ file as labelled frames.

    ``energy_key`` (eV), ``forces_key`` (eV/Å, per atom), ``stress_key`` (eV/Å^3, 6 or 9 values,
    ASE sign) or ``virial_key`` (eV, 9 values) name the source quantities; when left out the
    first present of :data:`DEFAULT_KEYS` is used. The values are moved to ``REF_*`` (the source
    keys disappear, so a frame never carries one quantity twice). Raises ValueError naming the
    frame when a frame has no energy or forces. ``fast``: the compiled reader (True), ASE's (False);
    by default the compiled one for files above 16 MB (below, its one-off compilation of a few
    seconds per machine costs more than it saves). Both give the same frames. The compiled reader
    parses the next 4 MB in a second thread when the process may use more than one CPU.
    """
    path = str(path)
    lot_hash = _check_record(level_of_theory)
    if fast is None:
        fast = os.path.getsize(path) > FAST_READER_MIN_BYTES
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


# ------------------------------------------------------------------------------------- sources

#: formats :func:`iter_source` reads, and the keys each source mapping may carry besides them
SOURCE_FORMATS = ("extxyz", "cp2k", "vasp")


def iter_source(source: Mapping, level_of_theory: Mapping, base: str | os.PathLike = ".", name: str | None = None) -> Iterator[Atoms]:
    """Stream one trajectory source as labelled frames with provenance.

    ``source``: ``format`` (extxyz, cp2k, vasp), ``path`` (extxyz, vasp) or ``pos_path`` and the
    other :func:`iter_cp2k_md` paths (cp2k, with ``cell`` 3x3 Å), optional ``every`` (keep every
    n-th frame) and the extxyz ``energy_key``/``forces_key``/``stress_key``/``virial_key``;
    relative paths are under ``base``. Every frame gets ``aimd_source`` (``name`` or the path)
    and ``aimd_frame`` (its index in the source) besides the importer's keys.
    """
    fmt = source.get("format")
    if fmt not in SOURCE_FORMATS:
        raise ValueError(f"import source {name or source}: format {fmt!r} is not one of {list(SOURCE_FORMATS)}")
    base = Path(base)

    def where(key: str) -> str:
        if not source.get(key):
            raise ValueError(f"import source {name or source}: format {fmt} needs '{key}'")
        return str(base / source[key])

    if fmt == "extxyz":
        keys = {k: source[k] for k in ("energy_key", "forces_key", "stress_key", "virial_key") if source.get(k)}
        frames = iter_extxyz(where("path"), level_of_theory, **keys)
    elif fmt == "vasp":
        frames = iter_vasp(where("path"), level_of_theory)
    else:
        paths = {k: str(base / v) for k, v in source.items() if k.endswith("_path") and v and k != "pos_path"}
        cell = source.get("cell")
        frames = iter_cp2k_md(where("pos_path"), level_of_theory, cell=None if cell is None else np.asarray(cell, float), **paths)
    label = name or str(source.get("path") or source.get("pos_path"))
    every = int(source.get("every", 1))
    if every < 1:
        raise ValueError(f"import source {label}: every={every} must be >= 1")
    for index, atoms in enumerate(frames):
        if index % every:
            continue
        atoms.info["aimd_source"] = label
        atoms.info["aimd_frame"] = index
        yield atoms


def import_sources(runs: Iterable[str | os.PathLike], sources: Iterable[Mapping], label_record,
                   out_path: str | os.PathLike, log=None):  # fmt: skip
    """Stream AIMD runs and user trajectories into one extended-XYZ file; return a per-frame table.

    ``runs`` are :func:`amlip.labelers.run_aimd` folders (their ``run.json`` says format, files and
    level of theory). ``sources`` are config entries (``aimd.import``): :func:`iter_source` keys
    plus ``level_of_theory`` (a record, or ``"label"`` for ``label_record``, the chunk labels'
    record or a function returning it: the user vouches that the file was computed with exactly
    those settings).
    Frames are written one at a time (memory flat in the trajectory length); the table has one
    row per frame: aimd_source, aimd_frame, md_step, n_atoms, energy_eV_atom, lot_hash.
    """
    import json

    import pandas as pd

    rows: list[tuple] = []
    streams = []
    for run in runs:
        manifest = json.loads((Path(run) / "run.json").read_text())
        streams.append((manifest, manifest["level_of_theory"], run, Path(run).name))
    for k, source in enumerate(sources):
        record = source.get("level_of_theory")
        if record == "label":
            record = label_record() if callable(label_record) else label_record
        if not isinstance(record, Mapping):
            raise ValueError(f"aimd.import[{k}] ({source.get('path') or source.get('pos_path')}): level_of_theory must be "
                             "'label' or a record such as {code: cp2k, functional: PBE, cutoff_Ry: 400}")  # fmt: skip
        streams.append((source, record, ".", f"import_{k}"))

    def frames():
        for source, record, base, name in streams:
            count = 0
            for atoms in iter_source(source, record, base, name):
                rows.append((name, atoms.info["aimd_frame"], atoms.info.get("md_step", -1), len(atoms),
                             atoms.info[REF_ENERGY] / len(atoms), atoms.info[LOT_HASH_KEY]))  # fmt: skip
                count += 1
                if log is not None and count % 1000 == 0:
                    log.info("%s: %d frames", name, count)
                yield atoms
            if log is not None:
                log.info("%s: %d frames at %s", name, count, level_of_theory_hash(record))

    write_stream(out_path, frames())
    return pd.DataFrame(rows, columns=["aimd_source", "aimd_frame", "md_step", "n_atoms", "energy_eV_atom", "lot_hash"])


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
