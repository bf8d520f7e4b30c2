"""Model files by architecture and the one loader: ``load_model`` picks MACE, NequIP/Allegro, DeePMD, MTP or GRACE by the file suffix."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from amlip.models.committee import CommitteeCalculator
from amlip.models.mace import load_mace

# Committee model files by architecture (train.architecture). NequIP and Allegro members are
# compiled by nequip-compile (AOTInductor, ASE target) into the same file name.
# DeePMD members are frozen by dp --pt freeze (TorchScript, the PyTorch backend's .pth).
MODEL_FILES = {
    "mace": "mace.model",
    "nequip": "model.nequip.pt2",
    "allegro": "model.nequip.pt2",
    "deepmd": "model.deepmd.pth",
    # MTP members: MLIP-2 .mtp files trained by motep (amlip.models.mtp).
    "mtp": "model.mtp",
    # GRACE members: gracemaker's SavedModel directory packed into one file (amlip.models.grace).
    "grace": "model.grace.tar",
}
# Without compilation (train.nequip.compile: false) the best checkpoint is the member, run eagerly.
UNCOMPILED_NEQUIP_FILE = "model.ckpt"
# Suffixes of files the NequIP framework loads: compiled, checkpoint (eager), packaged (eager).
NEQUIP_SUFFIXES = (".nequip.pt2", ".ckpt", ".nequip.zip")


def model_file(architecture: str, compiled: bool = True) -> str:
    """The committee member's model file name for ``train.architecture`` (mace, nequip, allegro, deepmd, mtp, grace).

    ``compiled=False`` (NequIP/Allegro only) names the copied best checkpoint, run eagerly.
    """
    if architecture not in MODEL_FILES:
        raise ValueError(f"train.architecture is '{architecture}': use one of {sorted(MODEL_FILES)}")
    if architecture in ("nequip", "allegro") and not compiled:
        return UNCOMPILED_NEQUIP_FILE
    return MODEL_FILES[architecture]


def model_family(path: str | Path) -> str:
    """``mace`` for ``*.model`` files, ``nequip`` for ``*.nequip.pt2`` / ``*.ckpt`` / ``*.nequip.zip``,
    ``deepmd`` for ``*.pth`` (a frozen DeePMD model), ``mtp`` for ``*.mtp`` (a moment tensor potential), ``grace`` for
    ``*.grace.tar`` (a packed GRACE SavedModel)."""
    name = Path(path).name
    if name.endswith(".model"):
        return "mace"
    if name.endswith(NEQUIP_SUFFIXES):
        return "nequip"
    if name.endswith(".pth"):
        return "deepmd"
    if name.endswith(".mtp"):
        return "mtp"
    if name.endswith(".grace.tar"):
        return "grace"
    raise ValueError(
        f"unknown model file {path}: expected *.model (MACE), one of {NEQUIP_SUFFIXES} (NequIP/Allegro), *.pth (DeePMD), "
        "*.mtp (MTP) or *.grace.tar (GRACE)"
    )


def model_families(model_paths: Sequence[str] | str) -> tuple[list[str], str]:
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
    ``nequip.integrations.ase``; ``*.pth``: a frozen DeePMD model through ``deepmd.calculator.DP``;
    ``*.mtp``: a moment tensor potential through ``motep.calculator.MTP`` (CPU only, whatever ``device``).
    ``*.grace.tar``: a GRACE SavedModel through ``tensorpotential.calculator.TPCalculator``.
    Several NequIP, DeePMD, MTP or GRACE files become a :class:`CommitteeCalculator`. ``dtype`` applies to MACE
    only (the others carry their own). ``device`` is a ``device.<family>`` setting
    (auto, cpu, cuda; :func:`amlip.models.device.resolve_device`); MACE on CUDA uses cuEquivariance when
    installed. Energies eV, forces eV/Å, stress eV/Å^3.
    """
    from amlip.models.device import resolve_device, use_cueq

    paths, family = model_families(model_paths)
    device = resolve_device(device)
    if family == "mace":
        return load_mace(paths, dtype=dtype, device=device, enable_cueq=use_cueq(device))
    if family == "mtp":
        from amlip.models.mtp import load_mtp_calculator as load
    elif family == "deepmd":
        from amlip.models.deepmd import load_deepmd_calculator as load
    elif family == "grace":
        from amlip.models.grace import load_grace_calculator as load
    else:
        from amlip.models.nequip import load_nequip_calculator as load

    calculators = [load(p, device=device) for p in paths]
    return calculators[0] if len(calculators) == 1 else CommitteeCalculator(calculators)
