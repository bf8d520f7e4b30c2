"""MACE: the ``mace_run_train`` command line from config, and trained models as ASE calculators."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Mapping, Sequence

from ase.data import atomic_numbers

from amlip.io.frames import REF_ENERGY, REF_FORCES, REF_STRESS


def e0s_argument(e0s: Mapping[str, float]) -> str:
    """MACE's ``--E0s`` dictionary, keyed by atomic number, from {symbol: energy in eV}."""
    return "{" + ", ".join(f"{atomic_numbers[s]}: {e:.10f}" for s, e in sorted(e0s.items())) + "}"


# MIL fine-tuning of MACE-MP-0b2: multihead replay, stage 1 energy:force 1:100, stage 2 10:1 at
# lr 1e-4, batch 8, weight decay 5e-7, early stopping with patience 10.
MIL_FINETUNE_FLAGS = {
    "multiheads_finetuning": "True",
    "energy_weight": 1.0,
    "forces_weight": 100.0,
    "stage_two": True,
    "stage_two_energy_weight": 10.0,
    "stage_two_forces_weight": 1.0,
    "stage_two_lr": 1e-4,
    "batch_size": 8,
    "weight_decay": 5e-7,
    "patience": 10,
}


def mace_cli_args(
    settings: Mapping,
    *,
    name: str,
    train_file: str,
    valid_file: str,
    test_file: str,
    e0s_file: str,
    work_dir: str,
    seed: int,
    finetune: Mapping | None = None,
) -> str:
    """The argument string for ``mace_run_train`` (quoted for a shell).

    ``settings`` is the ``train.mace`` config block (hyper-parameters under their MACE
    flag names; ``true`` adds a bare switch, ``false`` leaves it out). Keys, files, seeds
    and directories come from the pipeline. ``finetune`` (the ``train.finetune`` block) with
    a ``foundation_model`` file switches to fine-tuning: the foundation's architecture is
    kept, ``replay_file`` becomes the replay (pre-training head) set, and its ``flags``
    (default: the MIL two-stage preset) override ``settings``.
    """
    e0s = json.loads(Path(e0s_file).read_text())["energies_eV"] if Path(e0s_file).exists() else None
    args: dict[str, object] = {
        "name": name,
        "seed": seed,
        "train_file": train_file,
        "valid_file": valid_file,
        "test_file": test_file,
        "work_dir": work_dir,
        "model_dir": work_dir,
        "energy_key": REF_ENERGY,
        "forces_key": REF_FORCES,
        "stress_key": REF_STRESS,
        "device": "cpu",
    }
    if e0s is not None:
        args["E0s"] = e0s_argument(e0s)
    args.update(settings)
    if finetune and finetune.get("foundation_model"):
        args["foundation_model"] = finetune["foundation_model"]
        if finetune.get("replay_file"):
            args["pt_train_file"] = finetune["replay_file"]
        args.update(finetune.get("flags", MIL_FINETUNE_FLAGS))
    parts = []
    for key, value in args.items():
        # YAML true/false are switches (store_true flags such as --save_cpu); flags that take a
        # boolean value (--plot, --compute_stress) are written as strings "True"/"False" in config.
        if value is True:
            parts.append(f"--{key}")
        elif value is not False:
            parts.append(f"--{key}={shlex.quote(str(value))}")
    return " ".join(parts)


def load_mace(model_paths: Sequence[str] | str, dtype: str = "float64", device: str = "cpu"):
    """A MACE ASE calculator for one model or a committee (mean prediction, ``forces_comm``)."""
    try:
        from mace.calculators import MACECalculator
    except ImportError as exc:  # pragma: no cover
        raise ImportError("MACE models need mace-torch: pip install mace-torch==0.3.16") from exc
    if isinstance(model_paths, (str, Path)):
        model_paths = [model_paths]
    return MACECalculator(model_paths=[str(p) for p in model_paths], device=device, default_dtype=dtype)
