"""Handing a job over to the interpreter of a model family that cannot share the main environment:
NequIP/Allegro (e3nn 0.6 against MACE's 0.4.4), DeePMD (deepmd-kit built against our torch) and GRACE
(tensorpotential on TensorFlow)."""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

from amlip.models.loading import model_families

# The package each family's models need, and the environment file that provides it.
FAMILY_PACKAGES = {"nequip": "nequip", "deepmd": "deepmd", "grace": "tensorpotential"}
FAMILY_ENVS = {
    "nequip": "envs/nequip.yaml (requirements-nequip.txt)",
    "deepmd": "envs/deepmd.yaml (requirements-deepmd.txt)",
    "grace": "envs/grace.yaml (requirements-grace.txt)",
}


def needs_model_python(model_paths: Sequence[str] | str) -> bool:
    """True when the models are NequIP/Allegro, DeePMD or GRACE files and this interpreter cannot import their package."""
    import importlib.util

    _, family = model_families(model_paths)
    return family in FAMILY_PACKAGES and importlib.util.find_spec(FAMILY_PACKAGES[family]) is None


def use_model_python(model_paths: Sequence[str] | str, model_python: Mapping[str, str | None]) -> None:
    """Re-run the current script under ``model_python[family]`` when the models need a package this
    interpreter lacks (``model_python``: {"nequip": train.nequip.python, "deepmd": train.deepmd.python}).

    Snakemake runs a ``script:`` with its own interpreter unless ``--sdm conda`` activates the
    rule's env; locally the scripts that load models come here first and hand over to
    ``.venv-nequip`` or ``.venv-deepmd``. The process is replaced (``os.execv``), so the rule sees one job.
    """
    import os
    import sys

    if not needs_model_python(model_paths):
        return
    _, family = model_families(model_paths)
    package, key = FAMILY_PACKAGES[family], f"train.{family}.python"
    if os.environ.get("AMLIP_REEXEC"):
        raise ImportError(f"{sys.executable} ({key}) cannot import {package}: install {FAMILY_ENVS[family]} there")
    python = model_python.get(family)
    if not python or not Path(python).exists():
        raise ImportError(
            f"{family} models {model_paths} need the {package} environment: set {key} "
            f"(now {python!r}) to its interpreter, or run with --sdm conda ({FAMILY_ENVS[family]})"
        )
    os.environ["AMLIP_REEXEC"] = "1"
    os.execv(python, [python, *sys.argv])
