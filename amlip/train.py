"""Training and evaluating potentials.

MACE is trained by its own CLI (``mace_run_train``); this module turns config into that
command line, loads trained models as ASE calculators, and computes the error metrics of
AS Table 2 / ZIF Table 1: energy in meV/atom, forces in meV/Å, stress in GPa.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
from ase import Atoms
from ase.data import atomic_numbers
from ase.units import GPa

from amlip.io import REF_ENERGY, REF_FORCES, REF_STRESS

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


def predict(frames: Sequence[Atoms], calculator, prefix: str) -> None:
    """Store a model's energy (eV), forces (eV/Å) and stress (eV/Å^3) as ``<prefix>_*`` keys."""
    for atoms in frames:
        a = atoms.copy()
        a.calc = calculator
        atoms.info[f"{prefix}_energy"] = float(a.get_potential_energy())
        atoms.arrays[f"{prefix}_forces"] = np.array(a.get_forces())
        if atoms.pbc.all():
            atoms.info[f"{prefix}_stress"] = np.array(a.get_stress(voigt=True))


def error_metrics(frames: Sequence[Atoms], prefix: str) -> dict[str, float]:
    """MAE and RMSE of a model against the reference, over frames.

    Energies in meV/atom, force components in meV/Å, stress components in GPa
    (NaN where no frame has a stress). Keys: ``energy_mae_meV_atom`` etc.
    """
    if not frames:
        nan = float("nan")
        return {f"{q}_{m}_{u}": nan for q, u in (("energy", "meV_atom"), ("force", "meV_A"), ("stress", "GPa")) for m in ("mae", "rmse")} | {"n_frames": 0}
    de = np.array([(a.info[f"{prefix}_energy"] - a.info[REF_ENERGY]) / len(a) for a in frames]) * 1000
    df = np.concatenate([(a.arrays[f"{prefix}_forces"] - a.arrays[REF_FORCES]).ravel() for a in frames]) * 1000
    ds = [
        (np.asarray(a.info[f"{prefix}_stress"]) - np.asarray(a.info[REF_STRESS])) / GPa
        for a in frames
        if REF_STRESS in a.info and f"{prefix}_stress" in a.info
    ]
    ds = np.concatenate(ds) if ds else np.array([np.nan])

    def mae(x):
        return float(np.mean(np.abs(x)))

    def rmse(x):
        return float(np.sqrt(np.mean(x**2)))

    return {
        "n_frames": len(frames),
        "energy_mae_meV_atom": mae(de),
        "energy_rmse_meV_atom": rmse(de),
        "force_mae_meV_A": mae(df),
        "force_rmse_meV_A": rmse(df),
        "stress_mae_GPa": mae(ds),
        "stress_rmse_GPa": rmse(ds),
    }
