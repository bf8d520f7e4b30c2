"""Where the models run: the ``device`` block of the config (per rule family), resolved inside each job.

``device.<family>`` is ``auto``, ``cpu`` or ``cuda`` for the families ``train``, ``explore``, ``produce``
and ``validate`` (:data:`FAMILIES`). ``auto`` is resolved by the job, not by Snakemake: a job on a GPU
node gets CUDA, the same config on a laptop gets the CPU. The rules ask SLURM for a GPU
(``resources: gpu``) exactly where the setting may use one (:func:`gpus_for`), so the profile and the
config cannot disagree. On CUDA, MACE uses NVIDIA's cuEquivariance kernels when ``cuequivariance-torch``
is installed (``requirements-gpu.txt``, ``envs/mace_gpu.yaml``) and says so in the log when it is not.
Nothing here imports torch at module level.
"""

from __future__ import annotations

import logging
from typing import Mapping

log = logging.getLogger(__name__)

#: The settings of ``device.<family>``.
SETTINGS = ("auto", "cpu", "cuda")
#: Rule families with a device setting, and the rules that run a model in each (the schema describes them).
FAMILIES = {
    "train": ("train_model", "train_nequip", "train_deepmd", "train_grace", "evaluate_model", "calibrate_band"),
    "explore": ("explore_md", "explore_production", "sample_equilibrium", "screen_member"),
    "produce": (
        "melt_quench",
        "melt_quench_glass",
        "melt_quench_glasses",
        "produce_system",
        "melt_quench_pore",
        "relax_pore",
        "anneal_pore",
    ),
    "validate": (
        "md_vdos",
        "evaluate_variant",
        "md_vdos_system",
        "sample_low_temperature",
        "validate_elastic",
        "validate_elastic_fluctuation",
        "validate_elastic_md",
        "elastic_md_system",
        "validate_pore",
        "validate_binding",
        "adsorb_ml",
    ),
}

# A shell expression that prints the device torch sees in the job (for CLI tools that take cpu|cuda).
SHELL_PROBE = '$(python -c \'import torch; print("cuda" if torch.cuda.is_available() else "cpu")\')'


def check_setting(setting: str, key: str = "device") -> str:
    """``setting`` when it is one of :data:`SETTINGS`, else a ValueError naming ``key``."""
    if setting not in SETTINGS:
        raise ValueError(f"{key} is '{setting}': use one of {list(SETTINGS)}")
    return setting


def gpus_for(setting: str) -> int:
    """GPUs a job with this setting asks the scheduler for: 1 for ``cuda`` and ``auto``, 0 for ``cpu``."""
    return 0 if check_setting(setting) == "cpu" else 1


def cuda_available() -> bool:
    """Whether torch sees a CUDA device in this process; in an environment without torch (GRACE's),
    whether TensorFlow sees a GPU."""
    import importlib.util

    if importlib.util.find_spec("torch") is None and importlib.util.find_spec("tensorflow") is not None:
        import tensorflow as tf

        return bool(tf.config.list_physical_devices("GPU"))
    import torch

    return bool(torch.cuda.is_available())


def resolve_device(setting: str) -> str:
    """The torch device of a job: ``cpu`` or ``cuda`` (``auto``: ``cuda`` when torch sees a GPU, else ``cpu``).

    ``cuda`` without a GPU is a RuntimeError that says where the setting comes from.
    """
    if check_setting(setting) == "cpu":
        return "cpu"
    available = cuda_available()
    if setting == "auto":
        return "cuda" if available else "cpu"
    if not available:
        raise RuntimeError(
            "device 'cuda' was asked for but torch sees no GPU in this job: run it on a GPU node "
            "(the rule asks for resources gpu=1), or set the family's device to auto or cpu"
        )
    return "cuda"


def cueq_available() -> bool:
    """Whether NVIDIA's cuEquivariance kernels for torch (``cuequivariance_torch``) can be imported."""
    import importlib.util

    return importlib.util.find_spec("cuequivariance_torch") is not None


def use_cueq(device: str) -> bool:
    """Whether MACE should use cuEquivariance on ``device`` (a resolved device): on CUDA when installed.

    On CUDA without the package it logs the fallback once per call: MACE then runs its e3nn kernels.
    """
    if device != "cuda":
        return False
    if cueq_available():
        log.info("MACE on cuda with cuEquivariance kernels (cuequivariance_torch found)")
        return True
    log.warning(
        "MACE on cuda without cuEquivariance: cuequivariance_torch is not installed, so MACE runs its e3nn "
        "kernels (slower). Install it with: pip install -r requirements-gpu.txt (or use envs/mace_gpu.yaml)"
    )
    return False


def md_dtype(device: str) -> str:
    """The precision of committee MD that has no physics reason for float64: float32 on CUDA, float64 on the CPU.

    On a GPU float64 costs several times the time and twice the memory (a 128-channel MACE at 36,864 atoms
    did not fit an H200 in float64); the committee deviation does not need it.
    """
    return "float32" if device == "cuda" else "float64"


def check_devices(config: Mapping) -> None:
    """Cross-key check at start-up: compiled NequIP/Allegro members run on the device they were compiled for.

    ``nequip-compile`` (AOTInductor) builds for one device (the training job's), so with
    ``train.architecture`` nequip/allegro and ``train.nequip.compile`` every family needs the same setting.
    """
    devices = config["device"]
    for family in FAMILIES:
        check_setting(devices[family], f"device.{family}")
    if config["train"]["architecture"] in ("nequip", "allegro") and config["train"]["nequip"]["compile"]:
        settings = {family: devices[family] for family in FAMILIES}
        if len(set(settings.values())) > 1:
            raise ValueError(
                f"device {settings}: compiled NequIP/Allegro members run only on the device they were compiled "
                "for (device.train); give every family the same setting, or set train.nequip.compile: false"
            )
