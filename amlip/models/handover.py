"""Handing a job over to the NequIP interpreter (MACE's e3nn 0.4.4 and NequIP's e3nn 0.6 live in two venvs)."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from amlip.models.loading import model_families


def needs_nequip_python(model_paths: Sequence[str] | str) -> bool:
    """True when the models are NequIP/Allegro files and this interpreter cannot import nequip."""
    import importlib.util

    _, family = model_families(model_paths)
    return family == "nequip" and importlib.util.find_spec("nequip") is None


def use_model_python(model_paths: Sequence[str] | str, nequip_python: str | None) -> None:
    """Re-run the current script under ``nequip_python`` when the models need nequip and this
    interpreter lacks it (MACE and NequIP need different e3nn, so they live in two venvs).

    Snakemake runs a ``script:`` with its own interpreter unless ``--sdm conda`` activates the
    rule's env; locally the NequIP scripts come here first and hand over to ``.venv-nequip``
    (``train.nequip.python``). The process is replaced (``os.execv``), so the rule sees one job.
    """
    import os
    import sys

    if not needs_nequip_python(model_paths):
        return
    if os.environ.get("AMLIP_REEXEC"):
        raise ImportError(f"{sys.executable} (train.nequip.python) cannot import nequip: install requirements-nequip.txt there")
    if not nequip_python or not Path(nequip_python).exists():
        raise ImportError(
            f"NequIP/Allegro models {model_paths} need the nequip environment: set train.nequip.python "
            f"(now {nequip_python!r}) to its interpreter, or run with --sdm conda (envs/nequip.yaml)"
        )
    os.environ["AMLIP_REEXEC"] = "1"
    os.execv(nequip_python, [nequip_python, *sys.argv])
