"""GRACE (tensorpotential, TensorFlow backend): the gracemaker input writer, presets and command line (any
environment), and a tiny model trained with the real CLI (gracemaker) on 30 BKS-labelled quartz frames
(tests/data/sio2_quartz_bks.extxyz), loaded through amlip.models.loading (.venv-grace: make test runs
this file there; in .venv the training tests skip)."""

import importlib.util
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest
import yaml

from amlip.io.frames import REF_ENERGY, REF_FORCES, REF_STRESS, read_frames
from amlip.models.grace import (
    PRESETS,
    SAVED_MODEL,
    grace_command,
    grace_input,
    grace_settings,
    read_learning_curve,
    write_grace_input,
)
from amlip.models.loading import model_family, model_file

DATA = Path(__file__).parent / "data" / "sio2_quartz_bks.extxyz"
ELEMENTS = ["Si", "O"]
needs_grace = pytest.mark.skipif(
    importlib.util.find_spec("tensorpotential") is None,
    reason=f"{sys.executable} cannot import tensorpotential: run this file with .venv-grace/bin/python (make install)",
)


@pytest.fixture(scope="module")
def frames():
    return read_frames(DATA)


def test_writer_puts_reference_labels_where_gracemaker_reads_them(tmp_path, frames):
    from ase.io import read

    path = write_grace_input(
        grace_settings("tiny_grace"), train_frames=frames[:3], val_frames=frames[3:5], elements=ELEMENTS, seed=4, run_dir=tmp_path
    )
    data = yaml.safe_load(path.read_text())
    assert data["data"] == {
        "filename": "train.extxyz",
        "test_filename": "test.extxyz",
        "reference_energy": 0,
        "save_dataset": False,
    }
    assert data["seed"] == 4 and data["potential"]["elements"] == ELEMENTS
    # gracemaker's extxyz reader takes energy, forces and stress from the calculator results (ase.io extxyz keys)
    train, test = read(tmp_path / "train.extxyz", ":"), read(tmp_path / "test.extxyz", ":")
    assert (len(train), len(test)) == (3, 2)
    assert train[1].get_potential_energy() == pytest.approx(frames[1].info[REF_ENERGY])
    np.testing.assert_allclose(train[1].get_forces(), frames[1].arrays[REF_FORCES])
    # eV/Å^3, Voigt, ASE sign: gracemaker's default stress_units eV/A3
    np.testing.assert_allclose(test[0].get_stress(), frames[3].info[REF_STRESS])
    assert not any(key.startswith("REF_") for key in train[0].info)


def test_writer_names_the_frame_without_labels_or_stress(tmp_path, frames):
    unlabelled = frames[1].copy()
    del unlabelled.info[REF_ENERGY]
    with pytest.raises(KeyError, match="training frame 1: no REF_energy"):
        write_grace_input(
            grace_settings("tiny_grace"),
            train_frames=[frames[0], unlabelled],
            val_frames=frames[2:3],
            elements=ELEMENTS,
            seed=0,
            run_dir=tmp_path,
        )
    unstressed = frames[2].copy()
    del unstressed.info[REF_STRESS]
    with pytest.raises(KeyError, match=r"validation frame 0 is periodic but has no REF_stress.*stress: null"):
        write_grace_input(
            grace_settings("tiny_grace"),
            train_frames=frames[:2],
            val_frames=[unstressed],
            elements=ELEMENTS,
            seed=0,
            run_dir=tmp_path,
        )
    # without a stress term, stresses are neither needed nor written
    settings = grace_settings("tiny_grace", {"fit": {"loss": {"stress": None}}})
    path = write_grace_input(
        settings, train_frames=frames[:2], val_frames=[unstressed], elements=ELEMENTS, seed=0, run_dir=tmp_path
    )
    assert "stress" not in yaml.safe_load(path.read_text())["fit"]["loss"]
    assert "stress=" not in (tmp_path / "train.extxyz").read_text()


def test_presets_are_the_tensorpotential_grace_1l_and_2l_medium_models():
    one, two = PRESETS["grace_1l"], PRESETS["grace_2l"]
    assert (one["potential"]["preset"], two["potential"]["preset"]) == ("GRACE_1LAYER_latest", "GRACE_2LAYER_latest")
    assert one["cutoff"] == two["cutoff"] == 6.0
    # tensorpotential 0.6.2.1 settings["medium"] of each preset
    assert one["potential"]["kwargs"] == {
        "lmax": 4,
        "n_rad_max": 32,
        "prod_func_n_max": 64,
        "max_order": 4,
        "n_mlp_dens": 12,
        "n_rad_base": 8,
    }
    assert two["potential"]["kwargs"]["lmax"] == [4, 3] and two["potential"]["kwargs"]["prod_func_n_max"] == [42, 64]
    # gracemaker's wizard: Huber loss, E/F/S weights 16/32/128, Adam lr 0.008, 10,000 updates
    assert [one["fit"]["loss"][k]["weight"] for k in ("energy", "forces", "stress")] == [16, 32, 128]
    assert one["fit"]["opt_params"]["learning_rate"] == 0.008 and one["fit"]["target_total_updates"] == 10_000
    tiny = grace_input(PRESETS["tiny_grace"], train_file="a.extxyz", test_file="b.extxyz", elements=ELEMENTS, seed=1)
    # the tiny preset runs a fixed number of epochs: gracemaker would turn target_total_updates into >= 10 epochs
    assert tiny["fit"]["maxiter"] == 30 and "target_total_updates" not in tiny["fit"]
    assert tiny["potential"]["param_dtype"] == "float64"


def test_overrides_merge_at_every_depth_and_null_removes():
    settings = grace_settings("grace_1l", {"cutoff": 5.0, "potential": {"kwargs": {"lmax": 3}}, "fit": {"maxiter": 5}})
    assert settings["cutoff"] == 5.0 and settings["potential"]["kwargs"]["lmax"] == 3
    assert settings["potential"]["kwargs"]["n_rad_max"] == 32 and settings["fit"]["loss"]["energy"]["weight"] == 16
    assert PRESETS["grace_1l"]["potential"]["kwargs"]["lmax"] == 4  # the preset is untouched
    assert "stress" not in grace_settings("grace_1l", {"fit": {"loss": {"stress": None}}})["fit"]["loss"]
    with pytest.raises(ValueError, match=r"unknown train.grace.overrides \['r_max'\]"):
        grace_settings("grace_1l", {"r_max": 5.0})
    with pytest.raises(
        ValueError, match=r"train.grace.preset is 'grace_3l': use one of \['grace_1l', 'grace_2l', 'tiny_grace'\]"
    ):
        grace_settings("grace_3l")


def test_command_trains_then_packs_the_saved_model(tmp_path):
    command = grace_command(str(tmp_path / "run"), str(tmp_path / "model.grace.tar"), seed=7, threads=2, device="cpu")
    assert command.startswith(f"cd {tmp_path / 'run'} && rm -rf seed && CUDA_VISIBLE_DEVICES=-1 TF_NUM_INTRAOP_THREADS=2")
    packed = f"tar -cf {tmp_path / 'model.grace.tar'} -C seed/7 {SAVED_MODEL} model.yaml checkpoints"
    assert command.endswith(f"gracemaker input.yaml && {packed}")
    assert "warm_start" not in command and "--reset-epoch-and-step" not in command
    warm = grace_command("run", "m.grace.tar", seed=0, init_from=str(tmp_path / "previous.grace.tar"))
    assert f"tar -xf {tmp_path / 'previous.grace.tar'} -C warm_start model.yaml checkpoints" in warm
    assert (
        "gracemaker input.yaml -p warm_start/model.yaml -cn warm_start/checkpoints/checkpoint.best_test_loss "
        "--reset-epoch-and-step && "
    ) in warm
    assert "CUDA_VISIBLE_DEVICES" not in grace_command("run", "m.grace.tar", seed=0, device="auto")
    with pytest.raises(ValueError, match=r"must end in \.grace\.tar"):
        grace_command("run", "final_model", seed=0)
    assert model_file("grace") == "model.grace.tar" and model_family("x/model.grace.tar") == "grace"


def _train(frames, run_dir: Path, model: Path, seed: int = 0, init_from: Path | None = None, **fit):
    """gracemaker + tar, as train_grace runs them, on frames 0-29 (test set 30-35); the finished process."""
    settings = grace_settings("tiny_grace", {"fit": fit} if fit else None)
    write_grace_input(settings, train_frames=frames[:30], val_frames=frames[30:], elements=ELEMENTS, seed=seed, run_dir=run_dir)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}", "OMP_NUM_THREADS": "1"}
    command = grace_command(str(run_dir), str(model), seed=seed, init_from=init_from)
    run = subprocess.run(["bash", "-c", command], capture_output=True, text=True, env=env)
    assert run.returncode == 0, run.stderr[-3000:]
    return run


@pytest.fixture(scope="module")
def trained(tmp_path_factory, frames):
    """The tiny preset trained 30 epochs (~45 s on one core, most of it start-up and XLA compilation), and a
    second member of another seed trained 2 epochs (a committee of two different models)."""
    if (
        importlib.util.find_spec("tensorpotential") is None
        or shutil.which("gracemaker", path=str(Path(sys.executable).parent)) is None
    ):
        pytest.skip(f"{sys.executable} has no tensorpotential / gracemaker: run this file with .venv-grace/bin/python")
    work = tmp_path_factory.mktemp("grace")
    _train(frames, work / "run", work / "model.grace.tar")
    _train(frames, work / "short", work / "short.grace.tar", seed=1, maxiter=2)
    return work


def _force_mae_eV_A(calculator, frames) -> float:
    errors = []
    for atoms in frames:
        atoms = atoms.copy()
        atoms.calc = calculator
        errors.append(np.abs(atoms.get_forces() - atoms.arrays[REF_FORCES]).mean())
    return float(np.mean(errors))


@needs_grace
@pytest.mark.slow
def test_training_lowers_the_force_error_on_the_training_frames(trained, frames):
    from amlip.models.loading import load_model

    curve = read_learning_curve(trained / "run", seed=0)
    assert curve.epoch.tolist() == list(range(1, 31))
    # measured: train force MAE 2.85 eV/Å after the first epoch, 0.31 after 30
    assert curve["mae/f_comp"].iloc[-1] < 0.3 * curve["mae/f_comp"].iloc[0], curve["mae/f_comp"].tolist()
    assert "test_mae/f_comp" in curve.columns
    after = _force_mae_eV_A(load_model(str(trained / "model.grace.tar")), frames[:30])
    before = _force_mae_eV_A(load_model(str(trained / "short.grace.tar")), frames[:30])
    assert after < 0.5 * before, (before, after)
    with tarfile.open(trained / "model.grace.tar") as archive:
        assert f"{SAVED_MODEL}/saved_model.pb" in archive.getnames()


@needs_grace
@pytest.mark.slow
def test_model_forces_and_stress_are_derivatives_of_its_energy(trained, frames):
    from ase.calculators.fd import calculate_numerical_forces, calculate_numerical_stress

    from amlip.models.loading import load_model

    atoms = frames[31].copy()
    atoms.calc = load_model(str(trained / "model.grace.tar"))
    forces = atoms.get_forces()
    numerical = calculate_numerical_forces(atoms, eps=1e-4)
    # float64 parameters: central differences agree to ~1e-8 eV/Å, forces ~1-5 eV/Å
    assert np.abs(numerical - forces).max() < 1e-5 and np.abs(forces).max() > 0.5
    # stress (eV/Å^3) against central differences of the energy under strain
    np.testing.assert_allclose(atoms.get_stress(), calculate_numerical_stress(atoms, eps=1e-5), atol=1e-6)


@needs_grace
@pytest.mark.slow
def test_warm_start_begins_at_the_packed_member(trained, frames, tmp_path):
    """The packed member carries model.yaml and its best-test checkpoint; a warm start loads them, resets the epoch
    counter and begins near the member's fit: its first epoch's force error is far below that of a fresh start."""
    from amlip.models.grace import read_learning_curve

    run = _train(frames, tmp_path / "warm", tmp_path / "warm.grace.tar", init_from=trained / "model.grace.tar", maxiter=1)
    log = (tmp_path / "warm" / "seed" / "0" / "log.txt").read_text()
    assert "Loaded checkpoint from warm_start/checkpoints/checkpoint.best_test_loss" in log, run.stdout[-2000:]
    assert "Reset epochs (30 -> 0)" in log
    warm = read_learning_curve(tmp_path / "warm", 0)
    fresh = read_learning_curve(trained / "run", 0)
    assert len(warm) == 1 and warm["mae/f_comp"].iloc[0] < 0.7 * fresh["mae/f_comp"].iloc[0], (warm, fresh.head(2))


@needs_grace
@pytest.mark.slow
def test_two_models_become_a_committee(trained, frames):
    from amlip.models.committee import CommitteeCalculator, committee_force_deviation
    from amlip.models.loading import load_model

    committee = load_model([str(trained / "model.grace.tar"), str(trained / "short.grace.tar")])
    assert isinstance(committee, CommitteeCalculator)
    atoms = frames[32].copy()
    atoms.calc = committee
    forces = atoms.get_forces()
    members = committee.results["forces_comm"]
    assert members.shape == (2, 18, 3)
    np.testing.assert_allclose(forces, members.mean(axis=0))
    assert committee_force_deviation(members) > 0.01


def test_grace_models_without_tensorpotential_name_the_interpreter(monkeypatch):
    from amlip.models.handover import needs_model_python, use_model_python

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "tensorpotential" else real(name, *a))
    monkeypatch.delenv("AMLIP_REEXEC", raising=False)
    assert needs_model_python(["m/model.grace.tar", "n/model.grace.tar"])
    with pytest.raises(ImportError, match=r"train.grace.python \(now '/nonexistent/python'\).*envs/grace.yaml"):
        use_model_python(["m/model.grace.tar"], {"grace": "/nonexistent/python"})
