"""The level-of-theory record every label carries, and the guard against mixing levels.

The level of theory is stored on every labelled frame as two info keys: ``level_of_theory``
(a ``key=value;...`` string, sorted by key) and ``lot_hash`` (the first 10 hex digits of its
SHA-1). Frames with different hashes must never meet in one training set;
:func:`merge_labelled` refuses (:func:`iter_labelled` on streams of any length).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Collection, Iterable, Iterator, Mapping

from ase import Atoms

from amlip.io.frames import check_labels, iter_frames, write_stream

LOT_KEY = "level_of_theory"
LOT_HASH_KEY = "lot_hash"


class LevelOfTheoryError(ValueError):
    """Raised when frames of different levels of theory would be mixed."""


def level_of_theory_string(record: Mapping[str, object]) -> str:
    """Canonical ``key=value;...`` form of a level-of-theory record (keys sorted)."""
    for key, value in record.items():
        text = f"{key}{value}"
        if any(c in text for c in ";=\"'\n"):
            raise ValueError(f"level-of-theory entry {key}={value!r} may not contain ; = or quotes")
    return ";".join(f"{k}={record[k]}" for k in sorted(record))


def level_of_theory_hash(record: Mapping[str, object]) -> str:
    """Short, stable hash (10 hex digits) of a level-of-theory record."""
    return hashlib.sha1(level_of_theory_string(record).encode()).hexdigest()[:10]


def parse_level_of_theory(text: str) -> dict[str, str]:
    """Inverse of :func:`level_of_theory_string`."""
    return dict(item.split("=", 1) for item in text.split(";") if item)


def stamp_level_of_theory(atoms: Atoms, record: Mapping[str, object]) -> None:
    """Write the level-of-theory string and hash into ``atoms.info``."""
    atoms.info[LOT_KEY] = level_of_theory_string(record)
    atoms.info[LOT_HASH_KEY] = level_of_theory_hash(record)


#: info keys that say where a frame came from before it reached the file being merged
PROVENANCE_KEYS = ("aimd_source", "aimd_frame", "frame_index")


def _frame_name(name: str, index: int, atoms: Atoms) -> str:
    """Frame ``index`` of ``name``, with the provenance keys it carries (its AIMD source, its pool index)."""
    origin = ", ".join(f"{key} {atoms.info[key]}" for key in PROVENANCE_KEYS if key in atoms.info)
    return f"frame {index} of {name}" + (f" ({origin})" if origin else "")


def iter_labelled(
    sources: Mapping[str, Iterable[Atoms]] | Iterable[tuple[str, Iterable[Atoms]]],
    reference: tuple[str, str, str] | None = None,
    elements: Collection[str] | None = None,
) -> Iterator[Atoms]:
    """The frames of ``sources`` one at a time, each checked as :func:`merge_labelled` checks it:
    memory stays flat however many frames the sources hold when they are streams
    (:func:`amlip.io.frames.iter_frames`).

    ``sources`` is a mapping name -> frames, or (name, frames) pairs that may themselves be
    produced lazily (a check between two sources runs when the first is exhausted). Raises on the
    first frame at fault, after yielding the frames before it.
    """
    first: tuple[str, int | str, str, str] | None = None
    if reference is not None:
        first = (reference[0], "-", reference[1], reference[2])
    allowed = None if elements is None else set(elements)
    for name, frames in sources.items() if isinstance(sources, Mapping) else sources:
        for index, atoms in enumerate(frames):
            check_labels(atoms, _frame_name(name, index, atoms))
            if allowed is not None and not set(atoms.symbols) <= allowed:
                unknown = sorted(set(atoms.symbols) - allowed)
                raise ValueError(
                    f"{_frame_name(name, index, atoms)} has {unknown}, which {reference[0] if reference else 'the data set'} "
                    f"lacks ({sorted(elements)}): add {unknown} to the config's elements"
                )
            lot_hash = atoms.info.get(LOT_HASH_KEY)
            if lot_hash is None:
                raise LevelOfTheoryError(
                    f"frame {index} of {name} has no '{LOT_HASH_KEY}': it was not labelled by amlip.labelers.registry"
                )
            if first is None:
                first = (name, index, lot_hash, atoms.info.get(LOT_KEY, "?"))
            elif lot_hash != first[2]:
                raise LevelOfTheoryError(
                    "refusing to mix levels of theory in one data set: "
                    f"{'frame ' + str(first[1]) + ' of ' if first[1] != '-' else ''}{first[0]} is {first[2]} ({first[3]}) but "
                    f"frame {index} of {name} is {lot_hash} ({atoms.info.get(LOT_KEY, '?')}). "
                    "Relabel one set at the other's level of theory."
                )
            yield atoms


def merge_labelled(
    sources: Mapping[str, Iterable[Atoms]],
    reference: tuple[str, str, str] | None = None,
    elements: Collection[str] | None = None,
) -> list[Atoms]:
    """Concatenate labelled frame lists, refusing any mix of levels of theory and any label that is
    not finite.

    ``sources`` maps a name (usually the file) to its frames. Every frame must
    carry ``lot_hash``; the error names the file, the frame index and both levels.
    ``reference`` = (name, lot_hash, level-of-theory string) is a level every frame must
    match, e.g. that of the isolated-atom energies the data set will be trained with;
    ``elements`` (those energies' elements) the elements every frame must be made of.
    :func:`iter_labelled` does the same checks on streams, without the list.
    """
    return list(iter_labelled(sources, reference, elements))


def merge_labelled_files(
    out_path: str | os.PathLike,
    paths: Iterable[str | os.PathLike],
    reference: tuple[str, str, str] | None = None,
    elements: Collection[str] | None = None,
) -> int:
    """:func:`merge_labelled` from files to a file, frame by frame: the frames of ``paths`` (in order)
    checked and written to ``out_path`` in constant memory; returns the frame count. On a refused
    frame nothing appears at ``out_path`` (:func:`amlip.io.frames.write_stream`)."""
    return write_stream(out_path, iter_labelled(((str(p), iter_frames(p)) for p in paths), reference, elements))


def e0s_elements(path: str | os.PathLike) -> list[str]:
    """The elements of an isolated-atom energy file written by rule label_isolated_atoms."""
    import json

    return sorted(json.loads(Path(path).read_text())["energies_eV"])


def e0s_reference(path: str | os.PathLike) -> tuple[str, str, str]:
    """(name, lot_hash, level-of-theory string) of an isolated-atom energy file written by
    rule label_isolated_atoms, for :func:`merge_labelled`'s ``reference``."""
    import json

    record = json.loads(Path(path).read_text())
    return f"the isolated-atom energies {path}", record["lot_hash"], level_of_theory_string(record["level_of_theory"])
