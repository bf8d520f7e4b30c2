"""An extended-XYZ file as an index: two streaming passes whatever its size.

:func:`scan_extxyz` reads the file once and keeps only byte offsets, atom counts and one energy
per frame (a 1.2 M-frame trajectory needs ~40 MB); :func:`extract_frame_sets` copies chosen
frames into output files in a second pass, adding provenance keys to each comment line.
"""

from __future__ import annotations

import os
import re
from array import array
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from amlip.io.frames import REF_ENERGY


def plain_value(value):
    """numpy scalars as Python scalars, so extxyz writes them as plain numbers."""
    return value.item() if isinstance(value, np.generic) else value


def info_row(info: Mapping[str, object], j: int) -> dict[str, object]:
    """The info of the j-th selected frame: scalars as they are, arrays indexed."""
    return {k: plain_value(v if np.isscalar(v) else v[j]) for k, v in info.items()}


@dataclass
class ExtxyzIndex:
    """What one streaming pass over an extended-XYZ file keeps: per frame the byte range
    ``[start, end)``, the atom count and the energy (eV) read from the comment line."""

    path: str
    start: np.ndarray
    end: np.ndarray
    n_atoms: np.ndarray
    energy: np.ndarray

    def __len__(self) -> int:
        return len(self.start)

    @property
    def energies_per_atom(self) -> np.ndarray:
        """Energy per atom (eV/atom), as :func:`energies_per_atom` gives for the frames in memory."""
        return self.energy / self.n_atoms


def _key_pattern(key: str) -> re.Pattern:
    return re.compile(rb"(?:^|[ \t])" + re.escape(key.encode()) + rb'=(?:"([^"]*)"|(\S+))', re.M)


def _skip_lines(buf: bytes, pos: int, k: int, hint: int) -> int:
    """Position just after the k-th line end at or after ``pos``, or -1 when ``buf`` holds fewer.

    ``hint`` is a guess of the byte length of those k lines (the previous frame's), so a run
    of equal-size frames costs one C-speed ``count`` and one ``rfind`` per frame instead of
    a Python step per line.
    """
    if k == 0:
        return pos
    end = min(pos + hint, len(buf))
    seen = buf.count(b"\n", pos, end)
    while seen < k:  # guessed short: walk forward
        q = buf.find(b"\n", end)
        if q < 0:
            return -1
        seen, end = seen + 1, q + 1
    while seen >= k:  # guessed long (or exact): walk back to the k-th line end
        q = buf.rfind(b"\n", pos, end)
        if seen == k:
            return q + 1
        seen, end = seen - 1, q
    raise AssertionError("unreachable")


def scan_extxyz(path: str | os.PathLike, energy_key: str = REF_ENERGY, chunk_bytes: int = 1 << 24) -> ExtxyzIndex:
    """First pass: byte ranges, atom counts and ``energy_key`` of every frame, without parsing atoms.

    Reads ``chunk_bytes`` at a time and skips atom lines by counting line ends, so memory
    stays at about two chunks (or two frames, if larger) plus 32 bytes per frame however
    large the file. Raises ValueError naming the frame when a header is not an atom count,
    the comment lacks ``energy_key``, or the file ends inside a frame.
    """
    path = str(path)
    pattern = _key_pattern(energy_key)
    starts, ends, natoms, energies = array("q"), array("q"), array("q"), array("d")
    buf, base, pos, hint, at_eof = b"", 0, 0, 0, False
    with open(path, "rb", buffering=0) as f:
        while True:
            while True:  # every complete frame in buf[pos:]
                header_end = buf.find(b"\n", pos)
                if header_end < 0:
                    break
                header = buf[pos:header_end]
                if not header.strip():  # blank separator or trailing blank lines
                    pos = header_end + 1
                    continue
                comment_end = buf.find(b"\n", header_end + 1)
                if comment_end < 0:
                    break
                try:
                    n = int(header)
                except ValueError:
                    raise ValueError(
                        f"{path}: frame {len(starts)} at byte {base + pos} starts with {header[:40]!r}, "
                        "not an atom count; is this an extended-XYZ file?"
                    ) from None
                end = _skip_lines(buf, comment_end + 1, n, hint)
                if end < 0:
                    break
                match = pattern.search(buf, header_end + 1, comment_end)
                if match is None:
                    raise ValueError(f"{path}: frame {len(starts)} has no '{energy_key}=' on its comment line")
                starts.append(base + pos)
                ends.append(base + end)
                natoms.append(n)
                energies.append(float(match.group(1) if match.group(1) is not None else match.group(2)))
                hint = end - comment_end - 1
                pos = end
            if at_eof:
                break
            block = f.read(chunk_bytes)
            rest = buf[pos:]
            if not block:
                at_eof = True
                if rest and not rest.endswith(b"\n"):
                    block = b"\n"  # a last line without line end
            buf, base, pos = rest + block, base + pos, 0
    if buf[pos:].strip():
        raise ValueError(f"{path}: the file ends inside frame {len(starts)}; truncated?")
    size = os.path.getsize(path)  # a last line without line end was counted one byte longer
    return ExtxyzIndex(
        path,
        np.frombuffer(starts, dtype=np.int64).copy(),
        np.minimum(np.frombuffer(ends, dtype=np.int64), size),
        np.frombuffer(natoms, dtype=np.int64).copy(),
        np.frombuffer(energies, dtype=np.float64).copy(),
    )


_SAFE_VALUE = re.compile(r"^[A-Za-z0-9_.+\-]+$")


def _extxyz_value(key: str, value) -> bytes:
    """One ``key=value`` pair as the extxyz reader gives back the same Python value."""
    value = plain_value(value)
    if isinstance(value, bool):
        text = "T" if value else "F"
    elif isinstance(value, (int, float)):
        text = repr(value)
    else:
        text = str(value)
        if not _SAFE_VALUE.match(text):
            raise ValueError(f"provenance {key}={text!r} must be a plain word (letters, digits, _ . + -)")
    return f" {key}={text}".encode()


def _restamp_comment(comment: bytes, row: Mapping[str, object]) -> bytes:
    """The comment line with ``row``'s keys replaced or appended."""
    for key in row:
        comment = _key_pattern(key).sub(b"", comment)
    return comment.rstrip(b"\r") + b"".join(_extxyz_value(k, v) for k, v in row.items())


def extract_frame_sets(
    index: ExtxyzIndex,
    sets: Mapping[str | os.PathLike, tuple[Sequence[int], Mapping[str, object] | None]],
) -> dict[str, int]:
    """Second pass: copy frames of ``index.path`` into several files in one read of the source.

    ``sets`` maps an output path to ``(indices, info)``; ``info`` (from :func:`amlip.selection.provenance.selection_info`,
    arrays aligned with ``indices``) is added to each frame's comment line, replacing keys of
    the same name. Frames are copied byte for byte otherwise and written in file order. A
    frame may go to one output only. Returns the frame count per output.
    """
    n = len(index)
    destination = np.full(n, -1, dtype=np.int64)
    row_of = np.zeros(n, dtype=np.int64)
    outputs = [str(p) for p in sets]
    infos = []
    for d, (out, (indices, info)) in enumerate(sets.items()):
        indices = np.asarray(indices, dtype=np.int64)
        if len(indices) and (indices.min() < 0 or indices.max() >= n):
            raise IndexError(f"{out}: frame indices must lie in 0..{n - 1} of {index.path}")
        if np.any(destination[indices] >= 0) or len(np.unique(indices)) != len(indices):
            raise ValueError(f"{out}: a frame is selected twice; the sets given to extract_frame_sets must be disjoint")
        destination[indices] = d
        row_of[indices] = np.arange(len(indices))
        info = dict(info or {})
        for key, value in info.items():
            if not np.isscalar(value) and len(value) != len(indices):
                raise ValueError(f"{out}: provenance '{key}' has {len(value)} values for {len(indices)} frames")
        infos.append(info)
    counts = {out: 0 for out in outputs}
    handles = []
    try:
        for out in outputs:
            Path(out).parent.mkdir(parents=True, exist_ok=True)
            handles.append(open(out, "wb", buffering=1 << 22))
        fd = os.open(index.path, os.O_RDONLY)
        try:
            for k in np.flatnonzero(destination >= 0):
                d = int(destination[k])
                data = os.pread(fd, int(index.end[k] - index.start[k]), int(index.start[k]))
                first = data.index(b"\n") + 1
                second = data.index(b"\n", first)
                if not data.endswith(b"\n"):
                    data += b"\n"
                row = info_row(infos[d], int(row_of[k]))
                handles[d].write(data[:first] + _restamp_comment(data[first:second], row) + data[second:])
                counts[outputs[d]] += 1
        finally:
            os.close(fd)
    finally:
        for h in handles:
            h.close()
    return counts


def extract_frames(
    index: ExtxyzIndex, indices: Sequence[int], out_path: str | os.PathLike, info: Mapping[str, object] | None = None
) -> int:
    """Second pass for one output: see :func:`extract_frame_sets`. Returns the frame count."""
    return extract_frame_sets(index, {out_path: (indices, info)})[str(out_path)]
