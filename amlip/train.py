"""Training and evaluating potentials.

MACE is trained by its own CLI (``mace_run_train``); this module turns config into that
command line, loads trained models as ASE calculators, and computes the error metrics of
AS Table 2 / ZIF Table 1: energy in meV/atom, forces in meV/Å, stress in GPa.
"""

from __future__ import annotations

import json
import shlex
import time
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
from ase import Atoms
from ase.calculators.calculator import Calculator, all_changes
from ase.data import atomic_numbers
from ase.units import GPa

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


# Committee model files by architecture (train.architecture). NequIP and Allegro members are
# compiled by nequip-compile (AOTInductor, ASE target) into the same file name.
MODEL_FILES = {"mace": "mace.model", "nequip": "model.nequip.pt2", "allegro": "model.nequip.pt2"}
# Without compilation (train.nequip.compile: false) the best checkpoint is the member, run eagerly.
UNCOMPILED_NEQUIP_FILE = "model.ckpt"
# Suffixes of files the NequIP framework loads: compiled, checkpoint (eager), packaged (eager).
NEQUIP_SUFFIXES = (".nequip.pt2", ".ckpt", ".nequip.zip")


def model_file(architecture: str, compiled: bool = True) -> str:
    """The committee member's model file name for ``train.architecture`` (mace, nequip, allegro).

    ``compiled=False`` (NequIP/Allegro only) names the copied best checkpoint, run eagerly.
    """
    if architecture not in MODEL_FILES:
        raise ValueError(f"train.architecture is '{architecture}': use one of {sorted(MODEL_FILES)}")
    if architecture != "mace" and not compiled:
        return UNCOMPILED_NEQUIP_FILE
    return MODEL_FILES[architecture]


def model_family(path: str | Path) -> str:
    """``mace`` for ``*.model`` files, ``nequip`` for ``*.nequip.pt2`` / ``*.ckpt`` / ``*.nequip.zip``."""
    name = Path(path).name
    if name.endswith(".model"):
        return "mace"
    if name.endswith(NEQUIP_SUFFIXES):
        return "nequip"
    raise ValueError(f"unknown model file {path}: expected *.model (MACE) or one of {NEQUIP_SUFFIXES} (NequIP/Allegro)")


def _families(model_paths: Sequence[str] | str) -> tuple[list[str], str]:
    paths = [str(model_paths)] if isinstance(model_paths, (str, Path)) else [str(p) for p in model_paths]
    if not paths:
        raise ValueError("no model files given")
    families = {model_family(p) for p in paths}
    if len(families) > 1:
        raise ValueError(f"a committee mixes model families {sorted(families)}: {paths}")
    return paths, families.pop()


def load_model(model_paths: Sequence[str] | str, dtype: str = "float64", device: str = "cpu"):
    """One ASE calculator for a model file or a committee, chosen by the file suffix.

    ``*.model``: MACE (``MACECalculator``; a committee gives the mean and ``forces_comm``).
    ``*.nequip.pt2`` (compiled), ``*.ckpt`` or ``*.nequip.zip`` (eager): NequIP/Allegro through
    ``nequip.integrations.ase``; several files become a :class:`CommitteeCalculator`. ``dtype``
    applies to MACE only (NequIP models carry their own). Energies eV, forces eV/Å, stress eV/Å^3.
    """
    paths, family = _families(model_paths)
    if family == "mace":
        return load_mace(paths, dtype=dtype, device=device)
    from amlip.nequip_backend import load_nequip_calculator

    calculators = [load_nequip_calculator(p, device=device) for p in paths]
    return calculators[0] if len(calculators) == 1 else CommitteeCalculator(calculators)


def needs_nequip_python(model_paths: Sequence[str] | str) -> bool:
    """True when the models are NequIP/Allegro files and this interpreter cannot import nequip."""
    import importlib.util

    _, family = _families(model_paths)
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


class CommitteeCalculator(Calculator):
    """Mean energy, forces and stress of several ASE calculators, with per-member forces.

    ``results['forces_comm']`` has shape (n_models, n_atoms, 3) in eV/Å and
    ``results['energies']`` (n_models,) in eV, as MACE's committee calculator returns them, so
    the exploration MD (:func:`amlip.explore.committee_md`) works with any architecture.
    """

    implemented_properties = ["energy", "free_energy", "forces", "stress"]

    def __init__(self, calculators: Sequence, **kwargs):
        if len(calculators) < 1:
            raise ValueError("CommitteeCalculator needs at least one calculator")
        super().__init__(**kwargs)
        self.calculators = list(calculators)

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        energies, forces, stresses = [], [], []
        want_stress = "stress" in properties and self.atoms.pbc.all()
        for calc in self.calculators:
            a = self.atoms.copy()
            a.calc = calc
            energies.append(a.get_potential_energy())
            forces.append(a.get_forces())
            if want_stress:
                stresses.append(a.get_stress(voigt=True))
        self.results["energies"] = np.array(energies)
        self.results["energy"] = self.results["free_energy"] = float(np.mean(energies))
        self.results["forces_comm"] = np.array(forces)
        self.results["forces"] = self.results["forces_comm"].mean(axis=0)
        if want_stress:
            self.results["stress"] = np.mean(stresses, axis=0)


def cost_per_atom_per_call(calculator, atoms, n_calls: int = 300, warmup: int = 6, properties=("energy", "forces")) -> float:
    """Wall time of one energy + forces call divided by the atom count, in s/atom/call (ZIF).

    The calculator's cache is cleared before every call, so each call really evaluates the
    model; the first ``warmup`` calls (JIT, allocation) are not timed. Works for any ASE
    calculator; ``atoms`` is copied and left untouched.
    """
    if n_calls < 1:
        raise ValueError(f"n_calls must be >= 1, got {n_calls}")
    atoms = atoms.copy()
    atoms.calc = calculator

    def call():
        calculator.reset()
        for name in properties:
            atoms.calc.get_property(name, atoms)

    for _ in range(warmup):
        call()
    start = time.perf_counter()
    for _ in range(n_calls):
        call()
    return (time.perf_counter() - start) / (n_calls * len(atoms))
