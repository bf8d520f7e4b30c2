"""Reference labelers behind one factory: energies (eV), forces (eV/Å), stresses (eV/Å^3).

``make_labeler(backend, settings)`` returns a :class:`Labeler`; backends import their
library only when built, so a missing optional code fails with a clear message naming
the backend and what to install. Every labelled frame carries its level of theory.
"""

from __future__ import annotations

import importlib.metadata
import logging
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable, Mapping

import numpy as np
from ase import Atoms

from amlip.io import REF_ENERGY, REF_FORCES, REF_STRESS, level_of_theory_hash, stamp_level_of_theory

log = logging.getLogger(__name__)


class LabelingError(RuntimeError):
    """A single point that did not give a trustworthy result (crash, unconverged SCF)."""


@dataclass
class Labeler:
    """A reference method: a calculator factory plus the record of its level of theory."""

    backend: str
    level_of_theory: dict
    make_calculator: Callable[[], object]
    compute_stress: bool = True
    check: Callable[[object], None] = field(default=lambda calc: None)

    @property
    def lot_hash(self) -> str:
        return level_of_theory_hash(self.level_of_theory)

    def single_point(self, atoms: Atoms) -> Atoms:
        """Label one frame: returns a copy with REF_* keys, level of theory, wall time.

        Raises :class:`LabelingError` when the calculation fails or is not trustworthy.
        """
        labelled = atoms.copy()
        labelled.calc = self.make_calculator()
        start = time.perf_counter()
        try:
            energy = labelled.get_potential_energy()
            forces = labelled.get_forces()
            stress = labelled.get_stress(voigt=True) if self.compute_stress and labelled.pbc.all() else None
            self.check(labelled.calc)
        except LabelingError:
            raise
        except Exception as exc:  # every backend raises its own types; keep the reason
            raise LabelingError(f"{type(exc).__name__}: {exc}".replace("\n", " ")[:300]) from exc
        wall = time.perf_counter() - start
        if not np.isfinite(energy) or not np.all(np.isfinite(forces)):
            raise LabelingError("non-finite energy or forces")
        labelled.calc = None
        labelled.info[REF_ENERGY] = float(energy)
        labelled.arrays[REF_FORCES] = np.asarray(forces, dtype=float)
        if stress is not None:
            labelled.info[REF_STRESS] = np.asarray(stress, dtype=float)
        labelled.info["label_wall_s"] = round(wall, 3)
        labelled.info["scf_converged"] = True
        stamp_level_of_theory(labelled, self.level_of_theory)
        return labelled


def _xtb(settings: Mapping) -> Labeler:
    try:
        from tblite.ase import TBLite
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("label.backend 'xtb' needs tblite: pip install tblite==0.8.0") from exc
    method = settings.get("method", "GFN1-xTB")
    accuracy = float(settings.get("accuracy", 1.0))
    etemp = float(settings.get("electronic_temperature_K", 300.0))
    max_iter = int(settings.get("max_iterations", 250))
    record = {
        "code": "tblite",
        "version": importlib.metadata.version("tblite"),
        "method": method,
        "accuracy": accuracy,
        "electronic_temperature_K": etemp,
        "kpoints": "gamma",
    }

    def make():
        return TBLite(
            method=method,
            accuracy=accuracy,
            electronic_temperature=etemp,
            max_iterations=max_iter,
            verbosity=0,
        )

    return Labeler("xtb", record, make)


BACKENDS: dict[str, Callable[[Mapping], Labeler]] = {"xtb": _xtb}


def make_labeler(backend: str, settings: Mapping | None = None) -> Labeler:
    """Build the labeler named ``backend`` (config key ``label.backend``) from its settings."""
    if backend not in BACKENDS:
        raise KeyError(f"unknown label.backend '{backend}'; available: {sorted(BACKENDS)}")
    return BACKENDS[backend](settings or {})


@dataclass
class LabelOutcome:
    labelled: list[Atoms]
    failed: list[dict]


def label_frames(frames: Iterable[Atoms], labeler: Labeler, first_index: int = 0) -> LabelOutcome:
    """Label frames one by one; failures are kept with their index and reason, never dropped.

    ``first_index`` is the index of the first frame in the parent file, so the failed list
    and the ``frame_index`` info key point back to the frame the user can find.
    """
    frames = list(frames)
    out = LabelOutcome([], [])
    for k, atoms in enumerate(frames):
        index = first_index + k
        try:
            labelled = labeler.single_point(atoms)
        except LabelingError as exc:
            log.warning("frame %d failed: %s", index, exc)
            out.failed.append({"frame_index": index, "formula": atoms.get_chemical_formula(), "reason": str(exc)})
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


def isolated_atom_energies(symbols: Iterable[str], labeler: Labeler) -> dict[str, float]:
    """Energy (eV) of each isolated atom, computed with the same labeler and settings (E0s)."""
    energies = {}
    for symbol in sorted(set(symbols)):
        atom = Atoms(symbol, positions=[(0, 0, 0)], pbc=False)
        energies[symbol] = labeler.single_point(atom).info[REF_ENERGY]
    return energies
