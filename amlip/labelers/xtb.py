"""The ``xtb`` labeler: GFN1/GFN2-xTB through tblite, in process."""

from __future__ import annotations

import importlib.metadata
from typing import Mapping

from ase import Atoms

from amlip.labelers.base import Labeler, split_settings, timeout_setting


def build(settings: Mapping) -> Labeler:
    try:
        from tblite.ase import TBLite
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("label.backend 'xtb' needs tblite: pip install tblite==0.8.0") from exc
    defaults = {"method": "GFN1-xTB", "accuracy": 1.0, "electronic_temperature_K": 300.0, "max_iterations": 250}
    s, run = split_settings(settings, defaults, "xtb")
    record = {
        "code": "tblite",
        "version": importlib.metadata.version("tblite"),
        "method": s["method"],
        "accuracy": float(s["accuracy"]),
        "electronic_temperature_K": float(s["electronic_temperature_K"]),
        "kpoints": "gamma",
    }

    def make(atoms: Atoms):
        return TBLite(
            method=s["method"],
            accuracy=float(s["accuracy"]),
            electronic_temperature=float(s["electronic_temperature_K"]),
            max_iterations=int(s["max_iterations"]),
            verbosity=0,
        )

    return Labeler("xtb", record, make, timeout_s=timeout_setting(run))
