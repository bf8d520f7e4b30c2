"""MACE: the ``mace_run_train`` command line from config, the training budget, the fit table of a
training run, and trained models as ASE calculators."""

from __future__ import annotations

import json
import math
import re
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


#: What a key of train.mace / train.finetune.flags must look like to become a ``--flag`` (as the schema's
#: propertyNames pattern says).
FLAG_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


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
    max_num_epochs: int | None = None,
    warm_start_from: str | None = None,
    device: str = "cpu",
    enable_cueq: bool = False,
) -> str:
    """The argument string for ``mace_run_train`` (quoted for a shell).

    ``settings`` is the ``train.mace`` config block (hyper-parameters under their MACE
    flag names; ``true`` adds a bare switch, ``false`` leaves it out). Keys, files, seeds
    and directories come from the pipeline. ``finetune`` (the ``train.finetune`` block) with
    a ``foundation_model`` file switches to fine-tuning: the foundation's architecture is
    kept, ``replay_file`` becomes the replay (pre-training head) set, and its ``flags``
    (default: the MIL two-stage preset) override ``settings``. ``max_num_epochs`` comes from the
    training budget (:func:`epochs_for_budget`); ``warm_start_from`` (a MACE model file, member m
    of the previous iteration) starts the weights from that model (MACE's naive fine-tuning: its
    architecture, new data, no replay head). ``device`` is the resolved torch device of the job
    (:func:`amlip.models.device.resolve_device`); ``enable_cueq`` trains with cuEquivariance kernels (MACE
    saves the model with e3nn kernels, so it loads anywhere).
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
        "device": device,
    }
    if enable_cueq:
        args["enable_cueq"] = "True"
    if e0s is not None:
        args["E0s"] = e0s_argument(e0s)
    args.update(settings)
    if max_num_epochs is not None:
        args["max_num_epochs"] = int(max_num_epochs)
    if warm_start_from is not None:
        args["foundation_model"] = warm_start_from
        args["multiheads_finetuning"] = "False"
    if finetune and finetune.get("foundation_model"):
        args["foundation_model"] = finetune["foundation_model"]
        if finetune.get("replay_file"):
            args["pt_train_file"] = finetune["replay_file"]
        args.update(finetune.get("flags", MIL_FINETUNE_FLAGS))
    parts = []
    for key, value in args.items():
        # The string goes to a shell: a key is a flag name or refused, and quoted like the value.
        if not FLAG_NAME.fullmatch(str(key)):
            raise ValueError(
                f"mace_run_train flag {str(key)!r} (a key of train.mace or train.finetune.flags) is not a flag name: "
                "use letters, digits and _ only"
            )
        # YAML true/false are switches (store_true flags such as --save_cpu); flags that take a
        # boolean value (--plot, --compute_stress) are written as strings "True"/"False" in config.
        if value is True:
            parts.append(shlex.quote(f"--{key}"))
        elif value is not False:
            parts.append(shlex.quote(f"--{key}") + "=" + shlex.quote(str(value)))
    return " ".join(parts)


def load_mace(model_paths: Sequence[str] | str, dtype: str = "float64", device: str = "cpu", enable_cueq: bool = False):
    """A MACE ASE calculator for one model or a committee (mean prediction, ``forces_comm``) on ``device``
    (cpu, cuda), with cuEquivariance kernels when ``enable_cueq``."""
    try:
        from mace.calculators import MACECalculator
    except ImportError as exc:  # pragma: no cover
        raise ImportError("MACE models need mace-torch: pip install mace-torch==0.3.16") from exc
    if isinstance(model_paths, (str, Path)):
        model_paths = [model_paths]
    return MACECalculator(model_paths=[str(p) for p in model_paths], device=device, default_dtype=dtype, enable_cueq=enable_cueq)


def epochs_for_budget(n_frames: int, batch_size: int, steps: int, min_epochs: int) -> int:
    """Epochs that give at least ``steps`` optimiser steps on ``n_frames`` training frames.

    A fixed epoch count gives a small data set few updates (8 frames in batches of 4: 2 steps an
    epoch); the budget is in optimiser steps, as the label-efficiency benchmark needed, with a
    floor of ``min_epochs`` (the stage-two switch and early stopping count in epochs).
    """
    if n_frames < 1:
        raise ValueError("no training frames: the data set of this iteration is empty")
    if batch_size < 1 or steps < 1 or min_epochs < 1:
        raise ValueError(f"batch_size {batch_size}, steps {steps} and min_epochs {min_epochs} must be >= 1")
    per_epoch = math.ceil(n_frames / batch_size)
    return max(min_epochs, math.ceil(steps / per_epoch))


def trained_model_file(work_dir: str | Path, name: str) -> Path:
    """The model ``mace_run_train`` finished with: the stage-two (SWA) model when stage two ran, else stage one."""
    work_dir = Path(work_dir)
    for candidate in (work_dir / f"{name}_stagetwo.model", work_dir / f"{name}.model"):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"mace_run_train wrote no {name}.model in {work_dir}: see its log")


# meV/Å^3 -> GPa (MACE reports stress errors in meV/Å^3)
MEV_PER_A3_IN_GPA = 0.1602176634


def fit_table(results_file: str | Path, log_text: str, start_stage_two: int | None = None):
    """The fit of one training run as a table (one row per evaluation).

    ``results_file`` is MACE's ``results/<name>_train.txt`` (JSON lines: ``opt`` rows with the
    training loss of each optimiser step, ``eval`` rows with the validation errors every
    ``eval_interval`` epochs); ``log_text`` its log, whose final error tables give the train,
    valid and test errors of each saved model (stage one and, with ``swa``, stage two).
    Columns: ``epoch``, ``stage`` (one/two), ``split`` (valid per epoch; train/valid/test for
    the final rows, ``final`` true), ``train_loss`` (mean over the epoch's steps),
    ``energy_mae_meV_atom``, ``force_mae_meV_A``, ``stress_mae_GPa``.
    """
    import pandas as pd

    losses: dict[int, list[float]] = {}
    evals = []
    for number, line in enumerate(Path(results_file).read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as error:
            raise ValueError(f"{results_file} line {number} is not JSON: {error}") from error
        if row.get("mode") == "opt" and row.get("epoch") is not None:
            losses.setdefault(int(row["epoch"]), []).append(float(row["loss"]))
        elif row.get("mode") == "eval" and row.get("epoch") is not None:
            evals.append(row)
    rows = []
    for row in evals:
        epoch = int(row["epoch"])
        rows.append(
            {
                "epoch": epoch,
                "stage": "two" if start_stage_two is not None and epoch >= start_stage_two else "one",
                "split": "valid",
                "final": False,
                "train_loss": float(sum(losses[epoch]) / len(losses[epoch])) if epoch in losses else float("nan"),
                "energy_mae_meV_atom": 1000.0 * float(row["mae_e_per_atom"]),
                "force_mae_meV_A": 1000.0 * float(row["mae_f"]),
                "stress_mae_GPa": 1000.0 * MEV_PER_A3_IN_GPA * float(row["mae_stress"]) if "mae_stress" in row else float("nan"),
            }
        )
    rows += final_error_rows(log_text)
    return pd.DataFrame(
        rows,
        columns=["epoch", "stage", "split", "final", "train_loss", "energy_mae_meV_atom", "force_mae_meV_A", "stress_mae_GPa"],
    )


_STAGE = re.compile(r"Loaded Stage (one|two) model from epoch (\d+)")
_ROW = re.compile(
    r"^\|\s*(train|valid|Default)_\S*\s*\|\s*([-\d.naninf]+)\s*\|\s*([-\d.naninf]+)\s*\|\s*[-\d.naninf]+\s*\|\s*([-\d.naninf]+)\s*\|"
)


def final_error_rows(log_text: str) -> list[dict]:
    """Train/valid/test MAE rows of MACE's final error tables (``error_table: PerAtomMAEstressvirials``), per saved model."""
    rows, stage, epoch = [], None, None
    for line in log_text.splitlines():
        match = _STAGE.search(line)
        if match:
            stage, epoch = match.group(1), int(match.group(2))
            continue
        text = line.split("INFO:", 1)[-1].strip()
        match = _ROW.match(text)
        if match and stage is not None:
            split = {"train": "train", "valid": "valid", "Default": "test"}[match.group(1)]
            rows.append(
                {
                    "epoch": epoch,
                    "stage": stage,
                    "split": split,
                    "final": True,
                    "train_loss": float("nan"),
                    "energy_mae_meV_atom": float(match.group(2)),
                    "force_mae_meV_A": float(match.group(3)),
                    "stress_mae_GPa": MEV_PER_A3_IN_GPA * float(match.group(4)),
                }
            )
    return rows
