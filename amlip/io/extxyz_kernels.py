"""Compiled (numba) loops of the fast extended-XYZ reader (:mod:`amlip.io.extxyz`).

One call parses every frame of a read of the file (4 MB): lines with fixed-width columns (ASE's
%16.8f) by a path that takes each column's place from the previous line and checks every byte
in 8-byte words, other lines by a byte loop. Values are exact: an integer mantissa below 2^53
times or divided by an exact power of ten <= 1e22 is one correctly rounded IEEE operation, which
is what float() gives. The loops release the GIL, so a second thread can parse the next read.
numba is imported only when :func:`_kernels` first compiles them (then cached on disk).
"""

from __future__ import annotations

import numpy as np
from ase.data import atomic_numbers

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
