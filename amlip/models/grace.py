"""GRACE potentials (tensorpotential, TensorFlow backend): training data, gracemaker input, CLI command, ASE calculator.

gracemaker trains from an ``input.yaml`` (top-level ``seed``, ``cutoff``, and the sections ``data``,
``potential``, ``fit``; the template is ``tensorpotential/resources/input_template.yaml``) on extended
XYZ files whose energies, forces and stresses are ASE calculator results (``energy=``, ``forces``,
``stress=``). Run as ``gracemaker input.yaml`` in a run directory it writes ``seed/<seed>/`` with the
checkpoints, ``train_metrics.yaml``/``test_metrics.yaml`` (one line per epoch) and, after loading the
best checkpoint on the test set, the TensorFlow SavedModel ``seed/<seed>/final_model/`` that
``tensorpotential.calculator.TPCalculator`` runs in ASE. The pipeline keeps one file per member: the
SavedModel directory packed as ``model.grace.tar`` (``tar``, uncompressed), unpacked again to a
temporary directory when loaded.

Nothing here imports tensorflow or tensorpotential at module level (the writer runs in any
environment); the loader fails with an install hint only when used. tensorpotential lives in its own
environment (``requirements-grace.txt``, ``envs/grace.yaml``): its metadata asks for
``tensorflow[and-cuda]`` on Linux, which the CPU install replaces by ``tensorflow-cpu``.

Units: ``REF_energy`` (eV) becomes ``energy``, ``REF_forces`` (eV/Å) ``forces`` and ``REF_stress``
(eV/Å^3, Voigt, ASE sign) ``stress``, gracemaker's default ``stress_units: eV/A3`` (it fits the
virial -stress x volume).
"""

from __future__ import annotations

import copy
import shlex
from pathlib import Path
from typing import Mapping, Sequence

from amlip.io.frames import REF_ENERGY, REF_FORCES, REF_STRESS
from amlip.models.presets import checked_overrides

# Optimiser and loss shared by the paper-size presets: the values gracemaker's input wizard
# (``gracemaker -t``, tensorpotential.cli.wizard._WizardState) writes for a fit from scratch: Huber
# loss (delta 0.01) with weights energy 16, forces 32 and, when stresses are fitted, stress 128;
# Adam at learning rate 0.008 with an EMA of the weights (momentum 0.99) and gradient clipping at
# norm 1, cosine decay to lr/12; batch 32 (test batch 4 x 32); 10,000 gradient updates in all
# (gracemaker turns them into epochs, at least 10). Mixed precision (float32 parameters, float64
# geometry) is the wizard's default too.
FIT = {
    "loss": {
        "energy": {"weight": 16, "type": "huber", "delta": 0.01},
        "forces": {"weight": 32, "type": "huber", "delta": 0.01},
        "stress": {"weight": 128, "type": "huber", "delta": 0.01},
    },
    "optimizer": "Adam",
    "opt_params": {"learning_rate": 0.008, "use_ema": True, "ema_momentum": 0.99, "weight_decay": None, "clipnorm": 1.0},
    "scheduler": "cosine_decay",
    "scheduler_params": {"minimum_learning_rate": 0.008 / 12},
    "target_total_updates": 10_000,
    "batch_size": 32,
    "test_batch_size": 128,
    "jit_compile": True,
    "checkpoint_freq": 10,
    "progressbar": False,
    "train_shuffle": True,
}

# GRACE-1L and GRACE-2L (Bochkarev, Lysogorskiy, Drautz, Phys. Rev. X 14, 021036 (2024)) as
# tensorpotential 0.6.2.1 builds them: its presets GRACE_1LAYER_latest (the package's default
# preset) and GRACE_2LAYER_latest at the "medium" complexity (the wizard's default), i.e. the
# keyword arguments of their ``settings["medium"]`` (the cutoff of 6 Å is that entry's ``rcut``).
# ``scale: True`` (the wizard's: forces scaled by their RMS) and ``shift: True`` (ours, not the
# wizard's: per-element energy shifts by least squares on the training set, so that the network
# fits energies relative to them; the references here are absolute energies, reference_energy 0).
GRACE_1L = {
    "cutoff": 6.0,
    "potential": {
        "preset": "GRACE_1LAYER_latest",
        "kwargs": {"lmax": 4, "n_rad_max": 32, "prod_func_n_max": 64, "max_order": 4, "n_mlp_dens": 12, "n_rad_base": 8},
        "scale": True,
        "shift": True,
        "param_dtype": "float32",
    },
    "fit": FIT,
}
GRACE_2L = {
    "cutoff": 6.0,
    "potential": {
        "preset": "GRACE_2LAYER_latest",
        "kwargs": {
            "lmax": [4, 3],
            "max_order": 4,
            "indicator_lmax": 1,
            "n_rad_max": [42, 32],
            "prod_func_n_max": [42, 64],
            "n_mlp_dens": 16,
            "n_rad_base": 10,
        },
        "scale": True,
        "shift": True,
        "param_dtype": "float32",
    },
    "fit": FIT,
}
# Tiny CPU preset for tests and CI: the 1-layer architecture with a handful of radial functions and
# channels (cutoff 4 Å), 30 epochs at a higher learning rate (seconds of training after ~15 s of
# start-up and XLA compilation on one core). float64 parameters, so that forces can be checked
# against finite differences of the energy.
TINY_GRACE = {
    "cutoff": 4.0,
    "potential": {
        "preset": "GRACE_1LAYER_latest",
        "kwargs": {
            "lmax": 2,
            "n_rad_max": 8,
            "prod_func_n_max": 8,
            "max_order": 2,
            "n_mlp_dens": 4,
            "n_rad_base": 4,
            "embedding_size": 8,
        },
        "scale": True,
        "shift": True,
        "param_dtype": "float64",
    },
    "fit": {
        **FIT,
        "opt_params": {**FIT["opt_params"], "learning_rate": 0.02},
        "scheduler_params": {"minimum_learning_rate": 0.002},
        "target_total_updates": None,
        "maxiter": 30,
        "batch_size": 4,
        "test_batch_size": 8,
    },
}

PRESETS = {"grace_1l": GRACE_1L, "grace_2l": GRACE_2L, "tiny_grace": TINY_GRACE}
SETTINGS_KEYS = frozenset(GRACE_1L)
# The member's packed SavedModel (model_file('grace')) and what gracemaker writes in its run directory.
MODEL_SUFFIX = ".grace.tar"
SAVED_MODEL = "final_model"
# gracemaker's checkpoints (seed/<seed>/checkpoints/checkpoint.best_test_loss.*: final_model holds those weights)
# and where a warm start unpacks the previous member's model.yaml and checkpoints.
CHECKPOINTS = "checkpoints"
BEST_CHECKPOINT = "checkpoint.best_test_loss"
WARM_DIR = "warm_start"


def _merge(base: dict, overrides: Mapping) -> dict:
    """``base`` with ``overrides`` merged in, dicts key by key at every depth; a None value removes the key."""
    merged = copy.deepcopy(base)
    for key, value in overrides.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _drop_none(block: dict) -> dict:
    """``block`` without its None values (a preset's way of leaving a gracemaker key unset)."""
    return {k: (_drop_none(v) if isinstance(v, dict) else v) for k, v in block.items() if v is not None}


def grace_settings(preset: str, overrides: Mapping | None = None) -> dict:
    """A preset of :data:`PRESETS` with ``overrides`` (train.grace.overrides) on top.

    The keys are ``cutoff`` (Å), ``potential`` and ``fit`` (gracemaker's sections of those names);
    dicts merge key by key at every depth and a null removes a key, e.g. ``{fit: {maxiter: 5}}`` or
    ``{fit: {loss: {stress: null}}}`` (no stress term).
    """
    overrides = checked_overrides("grace", preset, PRESETS, overrides, SETTINGS_KEYS)
    return _merge(PRESETS[preset], overrides)


def grace_frames(frames: Sequence, with_stress: bool, name: str) -> list:
    """Labelled frames as gracemaker reads them: bare atoms (numbers, positions, cell, pbc) whose
    calculator results are the reference energy (eV), forces (eV/Å) and, with ``with_stress``, the
    stress (eV/Å^3; non-periodic frames get none, gracemaker gives them zero stress weight)."""
    import numpy as np
    from ase import Atoms
    from ase.calculators.singlepoint import SinglePointCalculator

    if not frames:
        raise ValueError(f"no frames in the {name} set")
    out = []
    for k, atoms in enumerate(frames):
        where = f"{name} frame {k}"
        if REF_ENERGY not in atoms.info or REF_FORCES not in atoms.arrays:
            raise KeyError(f"{where}: no {REF_ENERGY} / {REF_FORCES} labels")
        bare = Atoms(numbers=atoms.numbers, positions=atoms.positions, cell=atoms.cell, pbc=atoms.pbc)
        results = {"energy": float(atoms.info[REF_ENERGY]), "forces": np.asarray(atoms.arrays[REF_FORCES], dtype=float)}
        if with_stress and atoms.pbc.all():
            if REF_STRESS not in atoms.info:
                raise KeyError(
                    f"{where} is periodic but has no {REF_STRESS}: gracemaker fits stress on every periodic frame; "
                    "label stresses or set train.grace.overrides: {fit: {loss: {stress: null}}}"
                )
            results["stress"] = np.asarray(atoms.info[REF_STRESS], dtype=float)
        bare.calc = SinglePointCalculator(bare, **results)
        out.append(bare)
    return out


def grace_input(settings: Mapping, *, train_file: str, test_file: str, elements: Sequence[str], seed: int) -> dict:
    """A complete gracemaker ``input.yaml`` as a dict.

    ``settings`` is a preset such as :data:`GRACE_1L` (``cutoff`` in Å, ``potential`` with the
    tensorpotential ``preset`` and its ``kwargs``, ``scale``, ``shift``, ``param_dtype``; ``fit``
    with ``loss``, optimiser, scheduler, ``maxiter`` or ``target_total_updates``, batch sizes).
    ``train_file``/``test_file`` are extended XYZ files of :func:`grace_frames` (paths relative to
    the run directory or absolute); the test set picks the best checkpoint. ``elements`` fixes
    the model's element map (config key ``elements``); ``seed`` seeds initialisation and batch
    order, so committee members differ by seed only. Energies are absolute (``reference_energy: 0``).
    """
    unknown = set(settings) - SETTINGS_KEYS
    if unknown:
        raise ValueError(f"unknown GRACE settings {sorted(unknown)}: the keys are {sorted(SETTINGS_KEYS)}")
    return {
        "seed": int(seed),
        "cutoff": float(settings["cutoff"]),
        "data": {"filename": str(train_file), "test_filename": str(test_file), "reference_energy": 0, "save_dataset": False},
        "potential": {"elements": list(elements), **_drop_none(copy.deepcopy(dict(settings["potential"])))},
        "fit": _drop_none(copy.deepcopy(dict(settings["fit"]))),
    }


def write_grace_input(
    settings: Mapping,
    *,
    train_frames: Sequence,
    val_frames: Sequence,
    elements: Sequence[str],
    seed: int,
    run_dir: str | Path,
) -> Path:
    """Write ``<run_dir>/train.extxyz``, ``<run_dir>/test.extxyz`` (the validation split) and
    ``<run_dir>/input.yaml``; return the input's path. Stresses are written when the loss has a
    stress term."""
    import yaml
    from ase.io import write

    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    with_stress = "stress" in settings["fit"]["loss"] and settings["fit"]["loss"]["stress"] is not None
    write(run_dir / "train.extxyz", grace_frames(train_frames, with_stress, "training"), format="extxyz")
    write(run_dir / "test.extxyz", grace_frames(val_frames, with_stress, "validation"), format="extxyz")
    data = grace_input(settings, train_file="train.extxyz", test_file="test.extxyz", elements=elements, seed=seed)
    path = run_dir / "input.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def grace_command(
    run_dir: str, model_file: str, *, seed: int, threads: int = 1, device: str = "cpu", init_from: str | None = None
) -> str:
    """The shell line that trains (``gracemaker input.yaml``) in ``run_dir`` and packs what it writes in
    ``seed/<seed>``: the SavedModel (``final_model``, what the calculator loads), ``model.yaml`` and the
    ``checkpoints`` (what a warm start loads) into ``model_file`` (``*.grace.tar``).

    Paths only, so a Snakemake params function can call it before the input exists; a previous
    run's ``seed/`` is removed first (gracemaker would append to its log). ``threads`` bounds
    TensorFlow's intra- and inter-op thread pools (otherwise all cores of the node). ``device``
    (``device.train``): ``cpu`` hides the GPUs from TensorFlow; ``auto`` and ``cuda`` let it take
    the GPU it sees. ``init_from`` (a packed member, e.g. member m of the previous active-learning
    iteration) is the warm start: its model.yaml and best-test checkpoint are unpacked into
    ``warm_start/`` and gracemaker starts from them (``-p``, ``-cn``) with its epoch and step counters reset,
    so the fit's ``maxiter`` epochs and learning-rate schedule run again from those weights.
    """
    from amlip.models.device import check_setting

    if not str(model_file).endswith(MODEL_SUFFIX):
        raise ValueError(f"GRACE model file {model_file} must end in {MODEL_SUFFIX} (the packed SavedModel)")
    run_dir, model = Path(run_dir).resolve(), Path(model_file).resolve()
    pools = f"TF_NUM_INTRAOP_THREADS={int(threads)} TF_NUM_INTEROP_THREADS={int(threads)}"
    if check_setting(device, "device.train") == "cpu":
        pools = f"CUDA_VISIBLE_DEVICES=-1 {pools}"
    output = f"seed/{int(seed)}"
    warm, flags = "", ""
    if init_from:
        previous = shlex.quote(str(Path(init_from).resolve()))
        warm = (
            f"rm -rf {WARM_DIR} && mkdir {WARM_DIR} && {{ tar -xf {previous} -C {WARM_DIR} model.yaml {CHECKPOINTS} || "
            f"{{ echo 'warm start: {previous} has no model.yaml and {CHECKPOINTS}/ (packed before warm starts): "
            "retrain that member or set train.budget.warm_start: false' >&2; exit 1; }; } && "
        )
        flags = f" -p {WARM_DIR}/model.yaml -cn {WARM_DIR}/{CHECKPOINTS}/{BEST_CHECKPOINT} --reset-epoch-and-step"
    return (
        f"cd {shlex.quote(str(run_dir))} && rm -rf seed && {warm}{pools} gracemaker input.yaml{flags} && "
        f"tar -cf {shlex.quote(str(model))} -C {output} {SAVED_MODEL} model.yaml {CHECKPOINTS}"
    )


def read_learning_curve(run_dir: str | Path, seed: int):
    """gracemaker's per-epoch metrics of ``<run_dir>/seed/<seed>``: a DataFrame with ``epoch``, the
    training set's ``mae/depa`` (eV/atom), ``mae/f_comp`` (eV/Å) etc., and the test set's as ``test_*``."""
    import pandas as pd
    import yaml

    output = Path(run_dir) / "seed" / str(int(seed))
    train = pd.DataFrame(yaml.safe_load((output / "train_metrics.yaml").read_text()))
    test_path = output / "test_metrics.yaml"
    if not test_path.exists():
        return train
    test = pd.DataFrame(yaml.safe_load(test_path.read_text())).add_prefix("test_").rename(columns={"test_epoch": "epoch"})
    return train.merge(test[[c for c in test.columns if c == "epoch" or c not in train.columns]], on="epoch", how="left")


def _unpack(path: Path) -> str:
    """The SavedModel directory of a packed GRACE model, unpacked into a temporary directory removed at exit."""
    import atexit
    import shutil
    import tarfile
    import tempfile

    target = Path(tempfile.mkdtemp(prefix="grace-model-"))
    atexit.register(shutil.rmtree, target, ignore_errors=True)
    with tarfile.open(path) as archive:
        archive.extractall(target, filter="data")
    found = sorted(p.parent for p in target.rglob("saved_model.pb"))
    if len(found) != 1:
        raise ValueError(f"{path} holds {len(found)} SavedModels (saved_model.pb), expected one: pack seed/<seed>/{SAVED_MODEL}")
    return str(found[0])


def load_grace_calculator(model_path: str, device: str = "cpu"):
    """An ASE calculator (energy eV, forces eV/Å, stress eV/Å^3) for a packed GRACE model (``*.grace.tar``):
    ``tensorpotential.calculator.TPCalculator`` on the unpacked SavedModel.

    ``device`` is ``cpu`` or ``cuda`` (resolved). TensorFlow picks its devices when first imported:
    ``cpu`` hides the GPUs from it then (``CUDA_VISIBLE_DEVICES=-1``). Its thread pools follow
    ``OMP_NUM_THREADS`` unless ``TF_NUM_INTRAOP_THREADS`` / ``TF_NUM_INTEROP_THREADS`` are set.
    """
    import os

    path = Path(model_path)
    if not path.is_file():
        raise FileNotFoundError(f"GRACE model file {path} does not exist")
    if device == "cpu":
        os.environ["CUDA_VISIBLE_DEVICES"] = "-1"
    if "OMP_NUM_THREADS" in os.environ:
        for key in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS"):
            os.environ.setdefault(key, os.environ["OMP_NUM_THREADS"])
    try:
        from tensorpotential.calculator import TPCalculator
    except ImportError as exc:
        raise ImportError(
            "GRACE models need the grace environment (requirements-grace.txt, envs/grace.yaml): "
            "tensorpotential 0.6.2.1 on tensorflow-cpu 2.20.0 (make install)"
        ) from exc
    return TPCalculator(_unpack(path))
