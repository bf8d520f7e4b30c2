"""NequIP and Allegro potentials: training config, CLI commands, ASE calculators.

NequIP 0.19 trains from a Hydra config (sections ``run``, ``data``, ``trainer``,
``training_module``) with its own CLI, ``nequip-train``; ``nequip-compile --mode aotinductor
--target ase`` turns the best checkpoint into a ``.nequip.pt2`` file for ASE. This module builds
that config as a plain dict (dumped to YAML), returns the command lines for a Snakemake
``shell:`` rule, and loads the results as ASE calculators.

NequIP needs e3nn 0.6 while mace-torch pins e3nn 0.4.4, so the two live in separate
environments (``envs/nequip.yaml``). Nothing here imports nequip or torch at module level: the
config builder runs in any environment, and the loaders fail with an install hint only when used.

Reference labels are read straight from our extended XYZ: ``REF_energy`` (eV) becomes NequIP's
``total_energy``, ``REF_forces`` (eV/Å) ``forces`` and ``REF_stress`` (eV/Å^3, Voigt, ASE sign)
``stress``. NequIP turns a 6-vector into the 3x3 tensor itself and uses the ASE sign (its ASE
calculator returns the model stress without a flip), so no stress transform is needed.
"""

from __future__ import annotations

import copy
import json
import shlex
from pathlib import Path
from typing import Mapping, Sequence

from amlip.io.frames import REF_ENERGY, REF_FORCES, REF_STRESS

ARCHITECTURES = {
    "nequip": "nequip.model.NequIPGNNModel",
    "allegro": "allegro.model.AllegroModel",
}
CHECKPOINT_NAME = "best"
# Lightning logs this key after every validation epoch; checkpointing and early stopping watch it.
MONITOR = "val0_epoch/weighted_sum"

# ZIF training settings shared by both architectures: Adam at lr 0.005, energy + force loss
# (stress did not help); batch size, epochs, patience and EMA are NequIP-style defaults.
_ZIF_TRAINING = {
    "model_dtype": "float32",
    "lr": 0.005,
    "loss_coeffs": {"total_energy": 1.0, "forces": 1.0},
    "batch_size": 5,
    "max_epochs": 1000,
    "patience": 50,
    "ema_decay": 0.999,
    "energy_shifts": "isolated_atoms",
}

# ZIF (NequIP on ZIF-4): r_cut 6 Å (4-6 tried), 5 interaction layers, l_max 2, no odd parity,
# Adam at lr 0.005, loss on energy and forces only (adding stress did not help).
# Feature sizes, batch size, epochs and patience are not given there: NequIP's defaults.
ZIF_NEQUIP = {
    "r_max": 6.0,
    "model": {
        "num_layers": 5,
        "l_max": 2,
        "parity": False,
        "num_features": 32,
        "radial_mlp_depth": 2,
        "radial_mlp_width": 64,
        "num_bessels": 8,
        "polynomial_cutoff_p": 6,
    },
    **_ZIF_TRAINING,
}

# ZIF: Allegro with the same hyper-parameters (5 layers, l_max 2, no odd parity, r_cut 6 Å).
ZIF_ALLEGRO = {
    "r_max": 6.0,
    "model": {
        "num_layers": 5,
        "l_max": 2,
        "parity": False,
        "num_scalar_features": 64,
        "num_tensor_features": 16,
        "radial_chemical_embed": {
            "_target_": "allegro.nn.TwoBodyBesselScalarEmbed",
            "num_bessels": 8,
            "polynomial_cutoff_p": 6,
        },
        "allegro_mlp_hidden_layers_depth": 2,
        "allegro_mlp_hidden_layers_width": 64,
        "readout_mlp_hidden_layers_depth": 1,
        "readout_mlp_hidden_layers_width": 32,
    },
    **_ZIF_TRAINING,
}

# Tiny CPU presets for tests and the default pipeline: seconds per epoch on one core. float64
# so that forces can be checked against finite differences of the energy.
TINY_NEQUIP = {
    "r_max": 4.0,
    "model": {"num_layers": 2, "l_max": 1, "parity": False, "num_features": 4, "radial_mlp_depth": 1, "radial_mlp_width": 8},
    "model_dtype": "float64",
    "lr": 0.005,
    "loss_coeffs": {"total_energy": 1.0, "forces": 1.0},
    "batch_size": 5,
    "max_epochs": 3,
    "patience": 10,
    "ema_decay": 0.99,
    "energy_shifts": "isolated_atoms",
}
TINY_ALLEGRO = {
    "r_max": 4.0,
    "model": {
        "num_layers": 1,
        "l_max": 1,
        "parity": False,
        "num_scalar_features": 8,
        "num_tensor_features": 2,
        "radial_chemical_embed": {"_target_": "allegro.nn.TwoBodyBesselScalarEmbed", "num_bessels": 4},
        "allegro_mlp_hidden_layers_depth": 1,
        "allegro_mlp_hidden_layers_width": 8,
        "readout_mlp_hidden_layers_depth": 1,
        "readout_mlp_hidden_layers_width": 8,
    },
    "model_dtype": "float64",
    "lr": 0.005,
    "loss_coeffs": {"total_energy": 1.0, "forces": 1.0},
    "batch_size": 5,
    "max_epochs": 3,
    "patience": 10,
    "ema_decay": 0.99,
    "energy_shifts": "isolated_atoms",
}

PRESETS = {
    "zif_nequip": ZIF_NEQUIP,
    "zif_allegro": ZIF_ALLEGRO,
    "tiny_nequip": TINY_NEQUIP,
    "tiny_allegro": TINY_ALLEGRO,
}

_LOSS_FIELDS = ("total_energy", "forces", "stress")
SETTINGS_KEYS = frozenset(ZIF_NEQUIP)
# Model keywords only one architecture knows: settings of the other one fail here, not mid-run.
_ARCHITECTURE_ONLY = {
    "nequip": {"num_features", "radial_mlp_depth", "radial_mlp_width", "type_embed_num_features"},
    "allegro": {"radial_chemical_embed", "num_scalar_features", "num_tensor_features"},
}


def energy_shifts(mode: str, chemical_symbols: Sequence[str], e0s: Mapping[str, float] | None) -> dict[str, float] | str:
    """Per-type energy shifts (eV) for the model.

    ``mode`` ``isolated_atoms``: the isolated-atom energies ``e0s`` ({symbol: eV}), one for every
    symbol of the data; ``training_mean``: NequIP's mean per-atom energy of the training set.
    """
    if mode == "training_mean":
        return "${training_data_stats:per_atom_energy_mean}"
    if mode != "isolated_atoms":
        raise ValueError(f"energy_shifts is '{mode}': use 'isolated_atoms' or 'training_mean'")
    if e0s is None:
        raise ValueError("energy_shifts 'isolated_atoms' needs the isolated-atom energies (e0s); or set 'training_mean'")
    missing = [s for s in chemical_symbols if s not in e0s]
    if missing:
        raise KeyError(
            f"no isolated-atom energy for {missing} (have {sorted(e0s)}): label the isolated atoms "
            "of every element in the data, or set energy_shifts: training_mean"
        )
    return {s: float(e0s[s]) for s in chemical_symbols}


def nequip_config(
    settings: Mapping,
    *,
    train_file: str,
    val_file: str,
    test_file: str | None,
    seed: int,
    work_dir: str,
    chemical_symbols: Sequence[str],
    model: str = "nequip",
    e0s: Mapping[str, float] | None = None,
    device: str = "cpu",
) -> dict:
    """A complete ``nequip-train`` config (Hydra) as a dict, ready to dump as YAML.

    ``settings`` is a preset such as :data:`ZIF_NEQUIP` (``r_max`` in Å, ``model`` keyword
    arguments of the architecture, ``lr``, ``loss_coeffs`` over total_energy/forces/stress,
    ``batch_size``, ``max_epochs``, early-stopping ``patience`` in epochs, ``ema_decay``,
    ``model_dtype``, ``energy_shifts``: ``isolated_atoms`` from ``e0s`` {symbol: eV}, the
    default, or ``training_mean``). ``model`` picks the architecture (``nequip`` or ``allegro``); ``seed``
    seeds the model and the data order, so committee members differ by seed only. Files are
    extended XYZ with REF_* labels; ``test_file=None`` skips the test run. Checkpoints,
    ``metrics.csv`` and Hydra's logs go to ``work_dir``; the best model (lowest validation
    weighted sum) is ``<work_dir>/best.ckpt``. ``device`` (``device.train``: auto, cpu, cuda) picks
    Lightning's accelerator.
    """
    from amlip.models.device import check_setting

    if model not in ARCHITECTURES:
        raise ValueError(f"unknown NequIP-framework model '{model}': use one of {sorted(ARCHITECTURES)}")
    unknown = set(settings) - SETTINGS_KEYS
    if unknown:
        raise ValueError(f"unknown NequIP settings {sorted(unknown)}: the keys are {sorted(SETTINGS_KEYS)}")
    foreign = set(settings["model"]) & set().union(*(v for k, v in _ARCHITECTURE_ONLY.items() if k != model))
    if foreign:
        raise ValueError(f"model settings {sorted(foreign)} do not belong to a '{model}' model: use the {model} preset")
    unknown = set(settings.get("loss_coeffs", {})) - set(_LOSS_FIELDS)
    if unknown:
        raise ValueError(f"loss_coeffs has unknown fields {sorted(unknown)}: use {list(_LOSS_FIELDS)}")
    symbols = list(dict.fromkeys(chemical_symbols))
    work_dir = str(Path(work_dir).resolve())
    r_max = float(settings["r_max"])
    loss_coeffs = dict(settings.get("loss_coeffs", {"total_energy": 1.0, "forces": 1.0}))
    with_stress = bool(loss_coeffs.get("stress"))
    loss_target = "nequip.train.EnergyForceStressLoss" if with_stress else "nequip.train.EnergyForceLoss"
    if not with_stress:
        loss_coeffs.pop("stress", None)

    metric_coeffs = {"per_atom_energy_mae": 1.0, "forces_mae": 1.0}
    metrics = {"_target_": "nequip.train.EnergyForceMetrics", "coeffs": metric_coeffs}

    dataloader = {"_target_": "torch.utils.data.DataLoader", "batch_size": int(settings.get("batch_size", 5))}
    transforms = [
        {
            "_target_": "nequip.data.transforms.ChemicalSpeciesToAtomTypeMapper",
            "model_type_names": symbols,
            "chemical_species_to_atom_type_map": {s: s for s in symbols},
        },
        {"_target_": "nequip.data.transforms.NeighborListTransform", "r_max": r_max},
        # Isolated molecules or gas-phase frames carry no stress; NaN keeps batches collatable.
        {"_target_": "nequip.data.transforms.AddNaNStressTransform"},
    ]
    data = {
        "_target_": "nequip.data.datamodule.ASEDataModule",
        "seed": int(seed),
        "train_file_path": str(Path(train_file).resolve()),
        "val_file_path": str(Path(val_file).resolve()),
        "transforms": transforms,
        "ase_args": {"format": "extxyz"},
        "key_mapping": {REF_ENERGY: "total_energy", REF_FORCES: "forces", REF_STRESS: "stress"},
        "train_dataloader": {**dataloader, "shuffle": True},
        "val_dataloader": dataloader,
        "test_dataloader": dataloader,
        "stats_manager": {"_target_": "nequip.data.CommonDataStatisticsManager", "type_names": symbols},
    }
    if test_file is not None:
        data["test_file_path"] = str(Path(test_file).resolve())

    model_kwargs = copy.deepcopy(dict(settings["model"]))
    model_block = {
        "_target_": ARCHITECTURES[model],
        "seed": int(seed),
        "model_dtype": settings.get("model_dtype", "float32"),
        "type_names": symbols,
        "r_max": r_max,
        **model_kwargs,
        "avg_num_neighbors": "${training_data_stats:num_neighbors_mean}",
        "per_type_energy_shifts": energy_shifts(settings.get("energy_shifts", "isolated_atoms"), symbols, e0s),
        "per_type_energy_scales": "${training_data_stats:forces_rms}",
    }

    trainer = {
        "_target_": "lightning.Trainer",
        # Lightning's "auto" takes the GPU the job has, like device: auto
        "accelerator": {"cpu": "cpu", "cuda": "gpu", "auto": "auto"}[check_setting(device, "device.train")],
        "devices": 1,
        "max_epochs": int(settings.get("max_epochs", 100)),
        "check_val_every_n_epoch": 1,
        "log_every_n_steps": 1,
        "enable_progress_bar": False,
        "logger": {"_target_": "lightning.pytorch.loggers.CSVLogger", "save_dir": work_dir, "name": "", "version": ""},
        "callbacks": [
            {
                "_target_": "lightning.pytorch.callbacks.ModelCheckpoint",
                "monitor": MONITOR,
                "dirpath": work_dir,
                "filename": CHECKPOINT_NAME,
                "save_top_k": 1,
                "save_last": True,
            },
            {
                "_target_": "lightning.pytorch.callbacks.EarlyStopping",
                "monitor": MONITOR,
                "patience": int(settings.get("patience", 50)),
                "min_delta": 0.0,
            },
        ],
    }

    return {
        "run": ["train", "test"] if test_file is not None else ["train"],
        "hydra": {"run": {"dir": work_dir}},
        "data": data,
        "trainer": trainer,
        "training_module": {
            "_target_": "nequip.train.EMALightningModule",
            "ema_decay": float(settings.get("ema_decay", 0.999)),
            "loss": {"_target_": loss_target, "per_atom_energy": True, "coeffs": loss_coeffs},
            "val_metrics": metrics,
            "test_metrics": metrics,
            "optimizer": {"_target_": "torch.optim.Adam", "lr": float(settings["lr"])},
            "model": model_block,
        },
    }


def nequip_commands(config_file: str, work_dir: str, compiled_file: str, *, device: str = "cpu") -> list[str]:
    """Shell lines that train (``nequip-train``) and compile (``nequip-compile``) one model.

    ``config_file`` is the YAML written by :func:`write_nequip_config` for ``work_dir`` (where
    the checkpoint ``best.ckpt`` lands); ``compiled_file`` must end in ``.nequip.pt2``
    (AOTInductor for ASE; TorchScript is refused by torch >= 2.10). Paths only, no file is read,
    so a Snakemake params function can call this before the config exists. ``device`` (``device.train``)
    is the compile target; ``auto`` is resolved by the shell of the job (torch's view of its GPUs).
    """
    from amlip.models.device import SHELL_PROBE, check_setting

    target = SHELL_PROBE if check_setting(device, "device.train") == "auto" else device
    if not str(compiled_file).endswith(".nequip.pt2"):
        raise ValueError(f"compiled model file {compiled_file} must end in .nequip.pt2 (nequip-compile --mode aotinductor)")
    config_file = Path(config_file).resolve()
    if config_file.suffix != ".yaml":
        raise ValueError(f"NequIP config file {config_file} must end in .yaml (Hydra looks for NAME.yaml)")
    checkpoint = Path(work_dir).resolve() / f"{CHECKPOINT_NAME}.ckpt"
    return [
        f"nequip-train -cp {shlex.quote(str(config_file.parent))} -cn {shlex.quote(config_file.stem)}",
        f"nequip-compile {shlex.quote(str(checkpoint))} {shlex.quote(str(compiled_file))} "
        f'--mode aotinductor --device "{target}" --target ase',
    ]


def write_nequip_config(config: Mapping, config_file: str, compiled_file: str, *, device: str = "cpu") -> list[str]:
    """Write ``config`` (from :func:`nequip_config`) as YAML to ``config_file``; return :func:`nequip_commands`."""
    import yaml

    commands = nequip_commands(config_file, config["hydra"]["run"]["dir"], compiled_file, device=device)
    path = Path(config_file)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(dict(config), sort_keys=False))
    return commands


def chemical_symbols_in(paths: Sequence[str]) -> list[str]:
    """The elements present in extended-XYZ files, ordered by atomic number."""
    from ase.data import atomic_numbers

    from amlip.io.frames import iter_frames

    symbols = set()
    for path in paths:
        for atoms in iter_frames(path):
            symbols.update(atoms.get_chemical_symbols())
    return sorted(symbols, key=atomic_numbers.__getitem__)


def read_e0s(path: str) -> dict[str, float]:
    """Isolated-atom energies {symbol: eV} from ``results/label/{domain}/isolated_atoms.json``."""
    return {s: float(e) for s, e in json.loads(Path(path).read_text())["energies_eV"].items()}


def load_nequip_calculator(model_path: str, device: str = "cpu"):
    """An ASE calculator (energy eV, forces eV/Å, stress eV/Å^3) for a NequIP or Allegro model.

    ``model_path`` is a compiled ``.nequip.pt2`` (``nequip-compile --target ase``), or a
    ``.ckpt`` / ``.nequip.zip`` run eagerly (slower; for checks and when compiling fails).
    """
    try:
        from nequip.integrations.ase import NequIPCalculator
    except ImportError as exc:
        raise ImportError(
            "NequIP/Allegro models need the nequip environment (envs/nequip.yaml): "
            "pip install torch==2.13.0 nequip==0.19.1 nequip-allegro==0.8.3"
        ) from exc
    path = Path(model_path)
    if not path.exists():
        raise FileNotFoundError(f"NequIP model file {path} does not exist")
    # Our configs name every atom type after its element (nequip_config), so the identity map is right.
    if path.name.endswith(".nequip.pt2"):
        return NequIPCalculator.from_compiled_model(str(path), device=device, chemical_species_to_atom_type_map=True)
    if path.suffix == ".ckpt" or path.name.endswith(".nequip.zip"):
        # nequip 0.19 has no public loader for checkpoints into ASE; this is the one
        # from_compiled_model shares.
        return NequIPCalculator._from_saved_model(str(path), device=device, chemical_species_to_atom_type_map=True)
    raise ValueError(f"unknown NequIP model file {path}: expected .nequip.pt2, .ckpt or .nequip.zip")
