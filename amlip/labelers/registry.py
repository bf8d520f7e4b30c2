"""The labeler factory: ``make_labeler(backend, settings)`` (config ``label.backend``, settings under ``label.<backend>``).

Each backend lives in its own module and imports its library (or looks for its binary) only
when built, so a missing optional code fails with a clear message naming the backend and what
to install: ``xtb`` (tblite, in process), ``cp2k`` (Quickstep, MIL preset), ``vasp`` (AS
presets), ``lammps`` (BKS / ReaxFF classical references), ``espresso`` (Quantum ESPRESSO pw.x).
"""

from __future__ import annotations

import importlib
from typing import Mapping

from amlip.labelers.base import Labeler

#: Backend name -> module whose ``build(settings)`` makes the labeler (imported when used).
BACKENDS: dict[str, str] = {name: f"amlip.labelers.{name}" for name in ("xtb", "cp2k", "vasp", "lammps", "espresso")}


def make_labeler(backend: str, settings: Mapping | None = None) -> Labeler:
    """Build the labeler named ``backend`` (config key ``label.backend``) from its settings."""
    if backend not in BACKENDS:
        raise KeyError(f"unknown label.backend '{backend}'; available: {sorted(BACKENDS)}")
    return importlib.import_module(BACKENDS[backend]).build(settings or {})
