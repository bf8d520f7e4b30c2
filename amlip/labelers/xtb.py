"""The ``xtb`` labeler: GFN1/GFN2-xTB through tblite, in process."""

from __future__ import annotations

import importlib.metadata
from typing import Mapping

from ase import Atoms

from amlip.labelers.base import Labeler, split_settings, timeout_setting

#: The xtb settings and their defaults (config/schema.yaml label.xtb holds the same).
XTB_DEFAULTS = {"method": "GFN2-xTB", "accuracy": 1.0, "electronic_temperature_K": 300.0, "max_iterations": 250}


def build(settings: Mapping) -> Labeler:
    """The xtb labeler for ``label.xtb`` settings (merged over :data:`XTB_DEFAULTS`)."""
    try:
        from tblite.ase import TBLite
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("label.backend 'xtb' needs tblite: pip install tblite==0.8.0") from exc
    s, run = split_settings(settings, XTB_DEFAULTS, "xtb")
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
