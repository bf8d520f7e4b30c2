"""DeePMD potentials (deepmd-kit, PyTorch backend): training data, input JSON, CLI commands, ASE calculator.

DeePMD-kit trains from an input JSON (sections ``model``, ``learning_rate``, ``loss``,
``training``) on data in its own ``deepmd/npy`` format with its CLI: ``dp --pt train input.json``
in a run directory, then ``dp --pt freeze -o model.pth`` writes the TorchScript model that
``deepmd.calculator.DP`` runs in ASE. This module writes both inputs from our extended XYZ
(numpy only: the data writer runs in any environment), returns the command line for a Snakemake
``shell:`` rule and loads the frozen model.

The PyPI wheel of deepmd-kit 3.2.0 carries PyTorch ops built for torch 2.11, which refuse to
load on our torch 2.13; deepmd-kit is therefore built from its sdist against the installed torch
in its own environment (``requirements-deepmd.txt``, ``envs/deepmd.yaml``). Nothing here imports
deepmd or torch at module level; the loader fails with an install hint only when used.

Units: ``REF_energy`` (eV) becomes ``energy.npy``, ``REF_forces`` (eV/Å) ``force.npy``, and
``REF_stress`` (eV/Å^3, Voigt, ASE sign) the virial ``virial.npy`` = -stress x volume (eV, 3x3),
the convention of DeePMD's ASE calculator (stress = -virial / volume).
"""

from __future__ import annotations

import copy
import json
import shlex
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from amlip.io.frames import REF_ENERGY, REF_FORCES, REF_STRESS
from amlip.models.presets import checked_overrides

# NS (Bertani et al. 2024, as summarised in the NS MACE/DeePMD-D3 paper): the "Se_e3" angular
# (three-body) embedding descriptor, cutoff 7 Å, an embedding net of two hidden layers and a
# fitting net of two hidden layers, tanh activations, trained on energies and forces. The paper
# gives no layer widths, sel, smoothing radius, learning rate or number of steps: the widths are
# deepmd-kit's defaults cut to two layers (se_e3 embedding [10, 20, 40] -> [10, 20], fitting
# [240, 240, 240] -> [240, 240]), sel is counted from the data (``auto``: max neighbours x 1.1),
# rcut_smth, the learning-rate schedule and the loss prefactors are deepmd-kit's defaults, and
# numb_steps that of deepmd-kit's bulk examples (1e6).
# Energy and force loss with deepmd-kit's default prefactors (forces first, energies last; no virial), both presets.
LOSS = {
    "start_pref_e": 0.02,
    "limit_pref_e": 1.0,
    "start_pref_f": 1000.0,
    "limit_pref_f": 1.0,
    "start_pref_v": 0.0,
    "limit_pref_v": 0.0,
}
NS_DEEPMD = {
    "descriptor": {
        "type": "se_e3",
        "rcut": 7.0,
        "rcut_smth": 0.5,
        "sel": "auto",
        "neuron": [10, 20],
        "activation_function": "tanh",
    },
    "fitting_net": {"neuron": [240, 240], "activation_function": "tanh", "resnet_dt": True},
    "precision": "float64",
    "learning_rate": {"type": "exp", "start_lr": 1.0e-3, "stop_lr": 3.51e-8, "decay_steps": 5000},
    "loss": LOSS,
    "numb_steps": 1_000_000,
    "batch_size": "auto",
    "disp_freq": 1000,
    "save_freq": 10000,
}

# Tiny CPU preset for tests and CI: the NS descriptor type with a 4 Å cutoff and a handful of
# neurons, 200 steps with a fast decay (seconds on one core). float64, so that forces can be
# checked against finite differences of the energy.
TINY_DEEPMD = {
    "descriptor": {
        "type": "se_e3",
        "rcut": 4.0,
        "rcut_smth": 0.5,
        "sel": "auto",
        "neuron": [4, 8],
        "activation_function": "tanh",
    },
    "fitting_net": {"neuron": [16, 16], "activation_function": "tanh", "resnet_dt": True},
    "precision": "float64",
    "learning_rate": {"type": "exp", "start_lr": 5.0e-3, "stop_lr": 1.0e-4, "decay_steps": 20},
    "loss": LOSS,
    "numb_steps": 200,
    "batch_size": "auto",
    "disp_freq": 20,
    "save_freq": 200,
}

PRESETS = {"ns_deepmd": NS_DEEPMD, "tiny_deepmd": TINY_DEEPMD}
SETTINGS_KEYS = frozenset(NS_DEEPMD)
# The run directory's checkpoint prefix and learning curve (dp train writes them in its working directory).
CHECKPOINT = "model.ckpt"
LEARNING_CURVE = "lcurve.out"


def deepmd_settings(preset: str, overrides: Mapping | None = None) -> dict:
    """A preset of :data:`PRESETS` with ``overrides`` on top; dict-valued keys (``descriptor``,
    ``fitting_net``, ``learning_rate``, ``loss``) merge key by key, the others replace."""
    overrides = checked_overrides("deepmd", preset, PRESETS, overrides, SETTINGS_KEYS)
    settings = copy.deepcopy(PRESETS[preset])
    for key, value in overrides.items():
        settings[key] = {**settings[key], **value} if isinstance(settings[key], dict) else copy.deepcopy(value)
    return settings


def _frame_arrays(atoms, type_map: Sequence[str], where: str) -> dict:
    """One frame as DeePMD arrays, atoms ordered by type (stable): types, coord (Å), box (Å),
    energy (eV), force (eV/Å) and virial (eV, None without ``REF_stress``)."""
    index = {s: k for k, s in enumerate(type_map)}
    unknown = sorted(set(atoms.get_chemical_symbols()) - set(index))
    if unknown:
        raise KeyError(f"{where}: elements {unknown} are not in the type map {list(type_map)} (config key elements)")
    if not atoms.pbc.all():
        raise ValueError(f"{where}: DeePMD data here are periodic bulk frames; this one has pbc {atoms.pbc.tolist()}")
    if REF_ENERGY not in atoms.info or REF_FORCES not in atoms.arrays:
        raise KeyError(f"{where}: no {REF_ENERGY} / {REF_FORCES} labels")
    types = np.array([index[s] for s in atoms.get_chemical_symbols()])
    order = np.argsort(types, kind="stable")
    virial = None
    if REF_STRESS in atoms.info:
        from ase.stress import voigt_6_to_full_3x3_stress

        virial = -voigt_6_to_full_3x3_stress(np.asarray(atoms.info[REF_STRESS], dtype=float)) * atoms.get_volume()
    return {
        "types": types[order],
        "coord": atoms.positions[order].reshape(-1),
        "box": np.asarray(atoms.cell[:]).reshape(-1),
        "energy": float(atoms.info[REF_ENERGY]),
        "force": np.asarray(atoms.arrays[REF_FORCES], dtype=float)[order].reshape(-1),
        "virial": None if virial is None else virial.reshape(-1),
    }


def write_deepmd_systems(frames: Sequence, directory: str | Path, type_map: Sequence[str]) -> list[str]:
    """Write labelled periodic frames as DeePMD ``deepmd/npy`` systems under ``directory``; return their paths.

    Frames with the same atom types (after ordering atoms by type) form one system
    ``sys_<k>/`` with ``type.raw``, ``type_map.raw`` and ``set.000/{coord,box,energy,force}.npy``
    (Å, eV, eV/Å), plus ``virial.npy`` (eV) when every frame of the system has ``REF_stress``.
    ``type_map`` is the model's element list (config key ``elements``), the same for every set.
    """
    if not frames:
        raise ValueError(f"no frames to write to {directory}")
    groups: dict[tuple, list[dict]] = {}
    for k, atoms in enumerate(frames):
        arrays = _frame_arrays(atoms, type_map, f"frame {k}")
        groups.setdefault(tuple(arrays["types"]), []).append(arrays)
    directory = Path(directory)
    paths = []
    for n, (types, group) in enumerate(sorted(groups.items(), key=lambda item: (len(item[0]), item[0]))):
        system = directory / f"sys_{n:03d}"
        (system / "set.000").mkdir(parents=True, exist_ok=True)
        (system / "type.raw").write_text("\n".join(str(t) for t in types) + "\n")
        (system / "type_map.raw").write_text("\n".join(type_map) + "\n")
        for key in ("coord", "box", "energy", "force"):
            np.save(system / "set.000" / f"{key}.npy", np.array([g[key] for g in group]))
        if all(g["virial"] is not None for g in group):
            np.save(system / "set.000" / "virial.npy", np.array([g["virial"] for g in group]))
        paths.append(str(system.resolve()))
    return paths


def deepmd_input(
    settings: Mapping,
    *,
    train_systems: Sequence[str],
    val_systems: Sequence[str],
    type_map: Sequence[str],
    seed: int,
) -> dict:
    """A complete ``dp --pt train`` input (the JSON) as a dict.

    ``settings`` is a preset such as :data:`NS_DEEPMD` (``descriptor`` and ``fitting_net`` blocks of
    deepmd-kit, ``precision`` of both, ``learning_rate``, ``loss`` prefactors over energy, force and
    virial, ``numb_steps``, ``batch_size``, ``disp_freq`` and ``save_freq`` in steps). ``seed`` seeds
    the descriptor, the fitting net and the batch order, so committee members differ by seed only.
    ``train_systems``/``val_systems`` are ``deepmd/npy`` systems (:func:`write_deepmd_systems`);
    ``type_map`` the element of each atom type.
    """
    unknown = set(settings) - SETTINGS_KEYS
    if unknown:
        raise ValueError(f"unknown DeePMD settings {sorted(unknown)}: the keys are {sorted(SETTINGS_KEYS)}")
    seed = int(seed)
    precision = settings["precision"]
    return {
        "model": {
            "type_map": list(type_map),
            "descriptor": {**copy.deepcopy(dict(settings["descriptor"])), "precision": precision, "seed": seed},
            "fitting_net": {**copy.deepcopy(dict(settings["fitting_net"])), "precision": precision, "seed": seed},
        },
        "learning_rate": dict(settings["learning_rate"]),
        "loss": {"type": "ener", **settings["loss"]},
        "training": {
            "training_data": {"systems": list(train_systems), "batch_size": settings["batch_size"]},
            "validation_data": {"systems": list(val_systems), "batch_size": settings["batch_size"], "numb_btch": 1},
            "numb_steps": int(settings["numb_steps"]),
            "seed": seed,
            "disp_file": LEARNING_CURVE,
            "disp_freq": int(settings["disp_freq"]),
            "save_freq": int(settings["save_freq"]),
            "save_ckpt": CHECKPOINT,
        },
    }


def deepmd_command(
    run_dir: str, frozen_file: str, *, threads: int = 1, device: str = "cpu", init_frozen: str | None = None
) -> str:
    """The shell line that trains (``dp --pt train input.json``) in ``run_dir`` and freezes the
    last checkpoint to ``frozen_file`` (``dp --pt freeze``, TorchScript for ``deepmd.calculator.DP``).
    ``init_frozen`` (a frozen ``.pth``, e.g. member m of the previous active-learning iteration) is the
    warm start: ``dp --pt train --init-frz-model`` begins at its weights (the line says so first, in the log).

    Paths only, so a Snakemake params function can call it before the input exists. ``threads``
    bounds DeePMD's intra- and inter-op thread pools (otherwise all cores of the node). ``device``
    (``device.train``): ``cpu`` sets DeePMD's ``DEVICE=cpu``; ``auto`` and ``cuda`` let it take the
    GPU it sees.
    """
    from amlip.models.device import check_setting

    if not str(frozen_file).endswith(".pth"):
        raise ValueError(f"frozen DeePMD model {frozen_file} must end in .pth (the PyTorch backend's suffix)")
    run_dir, frozen = Path(run_dir).resolve(), Path(frozen_file).resolve()
    pools = f"DP_INTRA_OP_PARALLELISM_THREADS={int(threads)} DP_INTER_OP_PARALLELISM_THREADS={int(threads)}"
    if check_setting(device, "device.train") == "cpu":
        pools = f"DEVICE=cpu {pools}"
    init = say = ""
    if init_frozen:
        previous = shlex.quote(str(Path(init_frozen).resolve()))
        init, say = f" --init-frz-model {previous}", f"echo warm start from {previous} && "
    return (
        f"cd {shlex.quote(str(run_dir))} && {say}{pools} dp --pt train input.json{init} && "
        f"{pools} dp --pt freeze -o {shlex.quote(str(frozen))}"
    )


def write_deepmd_input(
    settings: Mapping,
    *,
    train_frames: Sequence,
    val_frames: Sequence,
    type_map: Sequence[str],
    seed: int,
    run_dir: str | Path,
) -> Path:
    """Write the training and validation sets (``<run_dir>/data/{train,val}``) and ``<run_dir>/input.json``; return the JSON's path."""
    run_dir = Path(run_dir)
    data = deepmd_input(
        settings,
        train_systems=write_deepmd_systems(train_frames, run_dir / "data" / "train", type_map),
        val_systems=write_deepmd_systems(val_frames, run_dir / "data" / "val", type_map),
        type_map=type_map,
        seed=seed,
    )
    path = run_dir / "input.json"
    path.write_text(json.dumps(data, indent=2) + "\n")
    return path


def read_learning_curve(path: str | Path):
    """DeePMD's ``lcurve.out`` as a DataFrame (step, rmse_*_val, rmse_*_trn in eV/atom and eV/Å, lr)."""
    import pandas as pd

    lines = Path(path).read_text().splitlines()
    header = lines[0].lstrip("#").split()
    rows = [line.split() for line in lines[1:] if line.strip() and not line.startswith("#")]
    return pd.DataFrame(rows, columns=header).astype(float)


def load_deepmd_calculator(model_path: str, device: str = "cpu"):
    """An ASE calculator (energy eV, forces eV/Å, stress eV/Å^3) for a frozen DeePMD model (``.pth``).

    ``device`` is ``cpu`` or ``cuda`` (resolved); DeePMD picks its torch device when it is first
    imported, from the ``DEVICE`` environment variable (``cpu``) or the GPUs it sees.
    """
    import os

    path = Path(model_path)
    if not path.exists():
        raise FileNotFoundError(f"DeePMD model file {path} does not exist")
    if device == "cpu":
        os.environ["DEVICE"] = "cpu"
    try:
        from deepmd.calculator import DP
    except ImportError as exc:
        raise ImportError(
            "DeePMD models need the deepmd environment (requirements-deepmd.txt, envs/deepmd.yaml): "
            "deepmd-kit 3.2.0 built against torch 2.13.0 (make install)"
        ) from exc
    return DP(str(path))
