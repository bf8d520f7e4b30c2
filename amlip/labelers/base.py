"""Reference labelers: the :class:`Labeler` a backend builds, and labeling frames with it.

A labeler gives energies (eV), forces (eV/Å) and stresses (eV/Å^3) of one frame at a time.
Every labelled frame carries its level of theory, the wall time of its single point and
whether its SCF converged. Settings that do not change the numbers (``command``,
``timeout_s``, ``workdir``, ``keep_workdir``) are kept out of the level-of-theory record;
everything else is in it, and an unknown setting is refused. ``timeout_s`` sends a frame that
runs longer to the failed list.

Labelled frames are never labelled again by :func:`label_frames`; :func:`relabel` is the one
path to a second level of theory (AS compares two functionals on the same configurations).
Backends are built by :func:`amlip.labelers.registry.make_labeler`.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator, Mapping, Sequence

import numpy as np
from ase import Atoms

from amlip.io.frames import REF_ENERGY, REF_FORCES, REF_STRESS, label_problem
from amlip.io.lot import LOT_HASH_KEY, LOT_KEY, level_of_theory_hash, stamp_level_of_theory

log = logging.getLogger(__name__)


#: info/array keys a labelled frame gets from :meth:`Labeler.single_point`.
LABEL_KEYS = (REF_ENERGY, REF_FORCES, REF_STRESS, LOT_KEY, LOT_HASH_KEY, "label_wall_s", "scf_converged")

#: Settings that say how or where a code runs, not what it computes: not in the level of theory.
RUN_SETTINGS = ("command", "timeout_s", "workdir", "keep_workdir")

# Ground-state spin multiplicities of free atoms, for isolated-atom (E0) single points.
ATOM_MULTIPLICITY = {"H": 2, "Li": 2, "C": 3, "N": 4, "O": 3, "F": 2, "Na": 2, "Mg": 1, "Al": 2, "Si": 3, "P": 4, "Zn": 1}


class LabelingError(RuntimeError):
    """A single point that did not give a trustworthy result (crash, unconverged SCF, timeout)."""


class SCFNotConverged(LabelingError):
    """The electronic self-consistency loop stopped before reaching its threshold."""


class LabelTimeout(LabelingError):
    """The single point ran longer than the backend's ``timeout_s``."""


@contextmanager
def _deadline(seconds: float | None) -> Iterator[dict]:
    """Raise :class:`LabelTimeout` in the main thread after ``seconds`` (SIGALRM).

    A code run as a child process (CP2K shell, VASP) is interrupted while Python waits on it;
    an in-process C extension (tblite, LAMMPS) only when it returns, so the caller also
    compares the wall time with the limit afterwards.
    """
    state = {"fired": False}
    usable = seconds and hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if not usable:
        yield state
        return

    def on_alarm(signum, frame):
        state["fired"] = True  # a calculator may wrap the exception in its own type
        raise LabelTimeout(f"no result after {seconds:g} s (timeout_s)")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, float(seconds))
    try:
        yield state
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _isolated_atom(symbol: str) -> Atoms:
    return Atoms(symbol, positions=[(0, 0, 0)], pbc=False)


@dataclass
class Labeler:
    """A reference method: a calculator factory plus the record of its level of theory.

    ``make_calculator(atoms)`` builds a fresh calculator for one frame; ``check(calc)`` raises
    :class:`LabelingError` when a finished calculation is not trustworthy; ``release(calc)``
    frees what the calculator holds (child process, scratch directory) whatever happened.
    ``isolated_atom(symbol)`` gives the frame whose energy is that element's E0.
    """

    backend: str
    level_of_theory: dict
    make_calculator: Callable[[Atoms], object]
    compute_stress: bool = True
    check: Callable[[object], None] = field(default=lambda calc: None)
    release: Callable[[object], None] = field(default=lambda calc: None)
    timeout_s: float | None = None
    isolated_atom: Callable[[str], Atoms] = field(default=_isolated_atom)

    @property
    def lot_hash(self) -> str:
        return level_of_theory_hash(self.level_of_theory)

    def single_point(self, atoms: Atoms) -> Atoms:
        """Label one frame: returns a copy with REF_* keys, level of theory, wall time.

        Labels the input already carries are not copied over, so a stale ``REF_stress`` of
        another level of theory can never survive next to new energies.
        Raises :class:`LabelingError` (or its subclasses) when the calculation fails or is not
        trustworthy.
        """
        labelled = atoms.copy()
        strip_labels(labelled)
        start = time.perf_counter()
        calc = None
        deadline = {"fired": False}
        try:
            with _deadline(self.timeout_s) as deadline:
                calc = self.make_calculator(labelled)
                labelled.calc = calc
                energy = labelled.get_potential_energy()
                forces = labelled.get_forces()
                stress = labelled.get_stress(voigt=True) if self.compute_stress and labelled.pbc.all() else None
                self.check(calc)
        except LabelingError:
            raise
        except Exception as exc:  # every backend raises its own types; keep the reason
            reason = f"{type(exc).__name__}: {exc}".replace("\n", " ")[:300]
            if deadline["fired"]:
                kind = LabelTimeout
            elif "not converged" in reason.lower():
                kind = SCFNotConverged
            else:
                kind = LabelingError
            raise kind(reason) from exc
        finally:
            labelled.calc = None
            if calc is not None:
                self.release(calc)
        wall = time.perf_counter() - start
        if self.timeout_s and wall > self.timeout_s:
            raise LabelTimeout(f"took {wall:.1f} s, more than timeout_s={self.timeout_s:g}")
        labelled.info[REF_ENERGY] = float(energy)
        labelled.arrays[REF_FORCES] = np.asarray(forces, dtype=float)
        if stress is not None:
            labelled.info[REF_STRESS] = np.asarray(stress, dtype=float)
        problem = label_problem(labelled)
        if problem is not None:
            raise LabelingError(f"non-finite label: {problem}")
        labelled.info["label_wall_s"] = round(wall, 3)
        labelled.info["scf_converged"] = True
        stamp_level_of_theory(labelled, self.level_of_theory)
        return labelled


def strip_labels(atoms: Atoms) -> None:
    """Remove reference labels and their level-of-theory record from ``atoms`` in place."""
    for key in LABEL_KEYS:
        atoms.info.pop(key, None)
        if key in atoms.arrays:
            del atoms.arrays[key]


def split_settings(settings: Mapping, defaults: Mapping, backend: str) -> tuple[dict, dict]:
    """Merge ``settings`` over ``defaults``; return (physics settings, run settings).

    Unknown keys are refused, naming the config key, so a typo never silently falls back
    to a default that then gets stamped as the level of theory.
    """
    unknown = sorted(set(settings) - set(defaults) - set(RUN_SETTINGS))
    if unknown:
        raise KeyError(f"label.{backend}: unknown setting(s) {unknown}; known: {sorted(set(defaults) | set(RUN_SETTINGS))}")
    merged = {**defaults, **settings}
    run = {k: merged.pop(k) for k in RUN_SETTINGS if k in merged}
    return merged, run


def timeout_setting(run: Mapping) -> float | None:
    value = run.get("timeout_s")
    return float(value) if value else None


@dataclass
class LabelOutcome:
    labelled: list[Atoms]
    failed: list[dict]


#: Columns of the failed-frames table (one row per frame that could not be labelled).
FAILED_COLUMNS = ["frame_index", "formula", "error", "reason", "wall_s", "lot_hash"]


def _failure(index: int, atoms: Atoms, exc: LabelingError, wall: float, labeler: Labeler) -> dict:
    return {
        "frame_index": index,
        "formula": atoms.get_chemical_formula(),
        "error": type(exc).__name__,
        "reason": str(exc),
        "wall_s": round(wall, 3),
        "lot_hash": labeler.lot_hash,
    }


def label_frames(frames: Iterable[Atoms], labeler: Labeler, first_index: int = 0) -> LabelOutcome:
    """Label frames one by one; failures are kept with their index and reason, never dropped.

    ``first_index`` is the index of the first frame in the parent file, so the failed list
    and the ``frame_index`` info key point back to the frame the user can find. Frames that
    already carry reference labels are refused: labeling them again would silently replace
    one level of theory by another; use :func:`relabel` for that.
    """
    frames = list(frames)
    for k, atoms in enumerate(frames):
        if REF_ENERGY in atoms.info or REF_FORCES in atoms.arrays:
            raise ValueError(
                f"frame {first_index + k} already has reference labels ({atoms.info.get(LOT_KEY, 'level of theory unknown')}); "
                "use amlip.labelers.base.relabel to label it at a second level of theory"
            )
    return _label(frames, labeler, first_index)


def _label(frames: Sequence[Atoms], labeler: Labeler, first_index: int) -> LabelOutcome:
    out = LabelOutcome([], [])
    for k, atoms in enumerate(frames):
        index = first_index + k
        start = time.perf_counter()
        try:
            labelled = labeler.single_point(atoms)
        except LabelingError as exc:
            log.warning("frame %d failed: %s", index, exc)
            out.failed.append(_failure(index, atoms, exc, time.perf_counter() - start, labeler))
            continue
        labelled.info["frame_index"] = index
        out.labelled.append(labelled)
        log.info(
            "labelled frame %d (%d/%d) E=%.4f eV in %.1f s",
            index,
            k + 1,
            len(frames),
            labelled.info[REF_ENERGY],
            labelled.info["label_wall_s"],
        )
    return out


def previous_label_prefix(lot_hash: str) -> str:
    """Key prefix under which :func:`relabel` keeps labels of level of theory ``lot_hash``."""
    return f"lot{lot_hash}"


def relabel(frames: Iterable[Atoms], labeler: Labeler, keep_previous: bool = True, first_index: int = 0) -> LabelOutcome:
    """Label already-labelled frames at a second level of theory (AS compares two functionals).

    Each input frame must carry ``REF_energy`` and ``lot_hash`` of a level of theory other than
    ``labeler``'s (same level: refused, nothing would change). The new labels become
    ``REF_*`` with the new ``level_of_theory``/``lot_hash``. With ``keep_previous`` the old
    labels move to ``lot<hash>_energy``, ``lot<hash>_forces``, ``lot<hash>_stress`` and
    ``lot<hash>_level_of_theory`` — the ``<model>_energy`` naming of predictions, so the
    parity and error tools compare the two levels directly — otherwise they are dropped.
    Frames that fail keep their old labels untouched and go to the failed list.
    """
    frames = list(frames)
    for k, atoms in enumerate(frames):
        old = atoms.info.get(LOT_HASH_KEY)
        if REF_ENERGY not in atoms.info or old is None:
            raise ValueError(f"frame {first_index + k} has no reference labels with a lot_hash: use label_frames")
        if old == labeler.lot_hash:
            raise ValueError(f"frame {first_index + k} is already labelled at {old} ({labeler.level_of_theory})")
    outcome = _label(frames, labeler, first_index)
    by_index = {first_index + k: atoms for k, atoms in enumerate(frames)}
    for labelled in outcome.labelled:
        if not keep_previous:
            continue
        source = by_index[labelled.info["frame_index"]]
        prefix = previous_label_prefix(source.info[LOT_HASH_KEY])
        labelled.info[f"{prefix}_energy"] = source.info[REF_ENERGY]
        if REF_FORCES in source.arrays:
            labelled.arrays[f"{prefix}_forces"] = source.arrays[REF_FORCES].copy()
        if REF_STRESS in source.info:
            labelled.info[f"{prefix}_stress"] = np.asarray(source.info[REF_STRESS]).copy()
        labelled.info[f"{prefix}_level_of_theory"] = source.info.get(LOT_KEY, "unknown")
    return outcome


def isolated_atom_energies(symbols: Iterable[str], labeler: Labeler) -> dict[str, float]:
    """Energy (eV) of each isolated atom, computed with the same labeler and settings (E0s). A failure
    raises :class:`LabelingError` naming the element (which of the config's elements to look at)."""
    energies = {}
    for symbol in sorted(set(symbols)):
        try:
            energies[symbol] = labeler.single_point(labeler.isolated_atom(symbol)).info[REF_ENERGY]
        except Exception as exc:  # a backend's own error type, or an unknown symbol
            raise LabelingError(
                f"isolated-atom energy (E0) of element {symbol} at {labeler.backend} {labeler.lot_hash} failed: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
    return energies
