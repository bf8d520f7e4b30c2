"""MACE multihead replay fine-tuning from a foundation model the test trains itself (MIL preset)."""

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from amlip.io.frames import write_frames
from amlip.labelers.base import isolated_atom_energies, label_frames
from amlip.labelers.registry import make_labeler
from amlip.learning.explore import perturb
from amlip.models.mace import MIL_FINETUNE_FLAGS, load_mace, mace_cli_args
from amlip.structures.crystals import build_crystal

MACE_RUN_TRAIN = str(Path(sys.executable).with_name("mace_run_train"))
SMALL = {
    "model": "MACE",
    "num_channels": 8,
    "max_L": 0,
    "num_interactions": 1,
    "r_max": 4.0,
    "max_num_epochs": 2,
    "batch_size": 2,
    "default_dtype": "float32",
    "save_cpu": True,
    "plot": "False",
    "num_workers": 0,
}


def _train(args: str, log: Path, cwd: Path) -> None:
    with open(log, "w") as fh:
        run = subprocess.run(
            [MACE_RUN_TRAIN, *shlex.split(args)],
            cwd=cwd,
            stdout=fh,
            stderr=subprocess.STDOUT,
            env=os.environ | {"OMP_NUM_THREADS": "1"},
            timeout=600,
        )
    assert run.returncode == 0, log.read_text()[-3000:]


def test_mil_preset_numbers():
    assert MIL_FINETUNE_FLAGS["forces_weight"] / MIL_FINETUNE_FLAGS["energy_weight"] == 100
    assert MIL_FINETUNE_FLAGS["stage_two_energy_weight"] / MIL_FINETUNE_FLAGS["stage_two_forces_weight"] == 10
    assert MIL_FINETUNE_FLAGS["stage_two_lr"] == 1e-4 and MIL_FINETUNE_FLAGS["batch_size"] == 8
    assert MIL_FINETUNE_FLAGS["weight_decay"] == 5e-7 and MIL_FINETUNE_FLAGS["patience"] == 10


@pytest.mark.slow
def test_multihead_replay_finetuning_from_own_foundation(tmp_path):
    labeler = make_labeler("xtb", {})
    frames = label_frames(perturb([build_crystal("alpha_quartz")], 12, seed=0), labeler).labelled
    write_frames(tmp_path / "replay.extxyz", frames[:6])
    write_frames(tmp_path / "train.extxyz", frames[6:9])
    write_frames(tmp_path / "val.extxyz", frames[9:11])
    write_frames(tmp_path / "test.extxyz", frames[11:])
    (tmp_path / "e0s.json").write_text(json.dumps({"energies_eV": isolated_atom_energies(["Si", "O"], labeler)}))
    files = dict(valid_file="val.extxyz", test_file="test.extxyz", e0s_file=str(tmp_path / "e0s.json"))

    _train(
        mace_cli_args(SMALL, name="mace", train_file="replay.extxyz", work_dir="foundation", seed=0, **files),
        tmp_path / "foundation.log",
        tmp_path,
    )
    finetune = {"foundation_model": "foundation/mace.model", "replay_file": "replay.extxyz"}
    args = mace_cli_args(
        {k: SMALL[k] for k in ("max_num_epochs", "default_dtype", "save_cpu", "plot", "num_workers")},
        name="mace",
        train_file="train.extxyz",
        work_dir="finetuned",
        seed=1,
        finetune=finetune,
        **files,
    )
    assert "--forces_weight=100.0" in args and "--stage_two_lr=0.0001" in args
    _train(args, tmp_path / "finetune.log", tmp_path)

    log = (tmp_path / "finetune.log").read_text()
    assert "Using foundation model foundation/mace.model" in log
    assert "pt_head" in log  # the replay head trained beside the new one
    calc = load_mace(tmp_path / "finetuned" / "mace.model", dtype="float32")
    atoms = frames[11].copy()
    atoms.calc = calc
    assert np.isfinite(atoms.get_potential_energy())
    assert atoms.get_forces().shape == (9, 3) and atoms.get_stress().shape == (6,)
