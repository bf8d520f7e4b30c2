"""DeePMD (deepmd-kit, PyTorch backend): the deepmd/npy writer and input JSON (any environment), and a
tiny model trained with the real CLI (dp --pt train, dp --pt freeze) on 30 BKS-labelled quartz frames
(tests/data/sio2_quartz_bks.extxyz), loaded through amlip.models.loading (.venv-deepmd: make test runs
this file there; in .venv the training tests skip)."""

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from amlip.io.frames import REF_ENERGY, REF_FORCES, REF_STRESS, read_frames
from amlip.models.deepmd import (
    LEARNING_CURVE,
    PRESETS,
    deepmd_command,
    deepmd_input,
    deepmd_settings,
    read_learning_curve,
    write_deepmd_input,
    write_deepmd_systems,
)

DATA = Path(__file__).parent / "data" / "sio2_quartz_bks.extxyz"
TYPE_MAP = ["Si", "O"]
needs_deepmd = pytest.mark.skipif(
    importlib.util.find_spec("deepmd") is None,
    reason=f"{sys.executable} cannot import deepmd: run this file with .venv-deepmd/bin/python (make install builds it)",
)


@pytest.fixture(scope="module")
def frames():
    return read_frames(DATA)


def test_systems_group_frames_by_types_and_keep_units(tmp_path, frames):
    small = frames[0].copy()
    del small[[1, 2]]  # two fewer atoms: a second system
    mixed = [frames[0], small, frames[1]]
    paths = write_deepmd_systems(mixed, tmp_path, TYPE_MAP)
    assert [Path(p).name for p in paths] == ["sys_000", "sys_001"]
    sixteen, eighteen = (Path(p) for p in paths)
    types = np.loadtxt(eighteen / "type.raw", dtype=int)
    assert (eighteen / "type_map.raw").read_text().split() == TYPE_MAP
    # atoms ordered by type: 6 Si (type 0) then 12 O (type 1)
    assert types.tolist() == [0] * 6 + [1] * 12
    energy = np.load(eighteen / "set.000" / "energy.npy")
    assert energy.tolist() == [frames[0].info[REF_ENERGY], frames[1].info[REF_ENERGY]]
    force = np.load(eighteen / "set.000" / "force.npy").reshape(2, 18, 3)
    order = np.argsort([TYPE_MAP.index(s) for s in frames[1].get_chemical_symbols()], kind="stable")
    np.testing.assert_array_equal(force[1], frames[1].arrays[REF_FORCES][order])
    # virial = -stress x volume (eV): DeePMD's ASE calculator returns stress = -virial / volume
    virial = np.load(eighteen / "set.000" / "virial.npy").reshape(2, 3, 3)
    stress = frames[0].info[REF_STRESS]
    assert virial[0, 0, 0] == pytest.approx(-stress[0] * frames[0].get_volume())
    assert virial[0, 1, 2] == pytest.approx(-stress[3] * frames[0].get_volume())
    assert np.load(sixteen / "set.000" / "coord.npy").shape == (1, 48)


def test_writer_names_the_frame_of_unknown_elements_and_missing_labels(tmp_path, frames):
    with pytest.raises(KeyError, match=r"frame 1: elements \['O'\] are not in the type map \['Si'\]"):
        write_deepmd_systems([frames[0][:1], frames[1]], tmp_path, ["Si"])
    unlabelled = frames[0].copy()
    del unlabelled.info[REF_ENERGY]
    with pytest.raises(KeyError, match="frame 0: no REF_energy"):
        write_deepmd_systems([unlabelled], tmp_path, TYPE_MAP)


def test_ns_preset_is_the_paper_descriptor_and_overrides_merge():
    ns = PRESETS["ns_deepmd"]
    # NS: Se_e3 three-body embedding, r_cut 7 Å, two hidden layers in embedding and fitting nets, tanh
    assert (ns["descriptor"]["type"], ns["descriptor"]["rcut"]) == ("se_e3", 7.0)
    assert len(ns["descriptor"]["neuron"]) == 2 and len(ns["fitting_net"]["neuron"]) == 2
    assert ns["descriptor"]["activation_function"] == ns["fitting_net"]["activation_function"] == "tanh"
    assert ns["loss"]["start_pref_v"] == ns["loss"]["limit_pref_v"] == 0.0  # energies and forces only
    settings = deepmd_settings("ns_deepmd", {"descriptor": {"rcut": 6.0}, "numb_steps": 10})
    assert settings["descriptor"]["rcut"] == 6.0 and settings["descriptor"]["type"] == "se_e3"
    assert settings["numb_steps"] == 10 and PRESETS["ns_deepmd"]["descriptor"]["rcut"] == 7.0
    with pytest.raises(ValueError, match="unknown train.deepmd.overrides"):
        deepmd_settings("ns_deepmd", {"r_max": 5.0})
    data = deepmd_input(settings, train_systems=["a"], val_systems=["b"], type_map=TYPE_MAP, seed=7)
    assert data["model"]["type_map"] == TYPE_MAP and data["training"]["seed"] == 7
    assert data["model"]["descriptor"]["seed"] == data["model"]["fitting_net"]["seed"] == 7
    assert data["training"]["training_data"]["systems"] == ["a"]


def test_command_trains_then_freezes_in_the_run_directory(tmp_path):
    command = deepmd_command(str(tmp_path / "run"), str(tmp_path / "model.deepmd.pth"), threads=2, device="cpu")
    assert f"cd {tmp_path / 'run'} && DEVICE=cpu DP_INTRA_OP_PARALLELISM_THREADS=2" in command
    assert command.endswith(f"dp --pt freeze -o {tmp_path / 'model.deepmd.pth'}")
    assert "DEVICE=cpu" not in deepmd_command("run", "m.pth", device="auto")
    with pytest.raises(ValueError, match="must end in .pth"):
        deepmd_command("run", "model.pt2")
    warm = deepmd_command("run", "m.pth", init_frozen=str(tmp_path / "previous.pth"))
    assert f"echo warm start from {tmp_path / 'previous.pth'} && " in warm
    assert f"dp --pt train input.json --init-frz-model {tmp_path / 'previous.pth'} && " in warm
    assert "--init-frz-model" not in command


def _train(frames, run_dir: Path, model: Path, init_frozen: Path | None = None, **overrides) -> None:
    """dp --pt train + dp --pt freeze, as train_deepmd runs them, on frames 0-29 (validation 30-35)."""
    settings = deepmd_settings("tiny_deepmd", overrides)
    write_deepmd_input(settings, train_frames=frames[:30], val_frames=frames[30:], type_map=TYPE_MAP, seed=0, run_dir=run_dir)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}", "OMP_NUM_THREADS": "1"}
    command = deepmd_command(str(run_dir), str(model), init_frozen=init_frozen)
    run = subprocess.run(["bash", "-c", command], capture_output=True, text=True, env=env)
    assert run.returncode == 0, run.stderr[-3000:]


@pytest.fixture(scope="module")
def trained(tmp_path_factory, frames):
    """The tiny preset trained 200 steps (~20 s on one core), and the same model after 0 steps (the
    initialised network with deepmd-kit's energy statistics): the untrained baseline."""
    if importlib.util.find_spec("deepmd") is None or shutil.which("dp", path=str(Path(sys.executable).parent)) is None:
        pytest.skip(f"{sys.executable} has no deepmd-kit / dp: run this file with .venv-deepmd/bin/python")
    work = tmp_path_factory.mktemp("deepmd")
    _train(frames, work / "run", work / "model.deepmd.pth")
    _train(frames, work / "baseline", work / "baseline.deepmd.pth", numb_steps=0)
    return work


def _energy_mae_eV_atom(calculator, frames) -> float:
    return float(np.mean([abs(calculator.get_potential_energy(a) - a.info[REF_ENERGY]) / len(a) for a in frames]))


@needs_deepmd
@pytest.mark.slow
def test_training_lowers_the_energy_error_on_the_training_frames(trained, frames):
    from amlip.models.loading import load_model

    after = _energy_mae_eV_atom(load_model(str(trained / "model.deepmd.pth")), frames[:30])
    before = _energy_mae_eV_atom(load_model(str(trained / "baseline.deepmd.pth")), frames[:30])
    # measured: 1.58 eV/atom untrained, 0.071 after 200 steps
    assert after < 0.3 * before, (before, after)
    curve = read_learning_curve(trained / "run" / LEARNING_CURVE)
    assert curve.step.iloc[-1] == 200 and curve.rmse_f_trn.iloc[-1] < curve.rmse_f_trn.iloc[0]
    assert json.loads((trained / "run" / "input.json").read_text())["model"]["descriptor"]["type"] == "se_e3"


@needs_deepmd
@pytest.mark.slow
def test_warm_start_begins_at_the_frozen_model(trained, frames, tmp_path):
    """--init-frz-model: zero steps from the trained member give back its energies; zero steps from scratch do not."""
    from amlip.models.loading import load_model

    _train(frames, tmp_path / "warm", tmp_path / "warm.deepmd.pth", init_frozen=trained / "model.deepmd.pth", numb_steps=0)
    warm, member = (load_model(str(p)) for p in (tmp_path / "warm.deepmd.pth", trained / "model.deepmd.pth"))
    baseline = load_model(str(trained / "baseline.deepmd.pth"))
    for atoms in frames[:3]:
        assert warm.get_potential_energy(atoms) == pytest.approx(member.get_potential_energy(atoms), abs=1e-8)
        assert abs(baseline.get_potential_energy(atoms) - member.get_potential_energy(atoms)) > 1.0


@needs_deepmd
@pytest.mark.slow
def test_frozen_model_forces_and_stress_are_derivatives_of_its_energy(trained, frames):
    from ase.calculators.fd import calculate_numerical_stress

    from amlip.models.loading import load_model

    calculator = load_model(str(trained / "model.deepmd.pth"))
    atoms = frames[31].copy()
    atoms.calc = calculator
    forces, h = atoms.get_forces(), 1e-4
    worst = 0.0
    for index in (0, 5, 6, 17):
        for axis in range(3):
            energies = []
            for sign in (1, -1):
                moved = atoms.copy()
                moved.positions[index, axis] += sign * h
                moved.calc = calculator
                energies.append(moved.get_potential_energy())
            worst = max(worst, abs(-(energies[0] - energies[1]) / (2 * h) - forces[index, axis]))
    # float64 model: central differences agree to ~1e-7 eV/Å (measured 3.5e-7 over all atoms), forces ~1-5 eV/Å
    assert worst < 1e-5 and np.abs(forces).max() > 0.5
    # stress (eV/Å^3) from the virial against central differences of the energy under strain
    np.testing.assert_allclose(atoms.get_stress(), calculate_numerical_stress(atoms, eps=1e-5), atol=1e-6)


@needs_deepmd
@pytest.mark.slow
def test_two_frozen_models_become_a_committee(trained, frames):
    from amlip.models.committee import CommitteeCalculator, committee_force_deviation
    from amlip.models.loading import load_model

    paths = [str(trained / "model.deepmd.pth"), str(trained / "baseline.deepmd.pth")]
    committee = load_model(paths)
    assert isinstance(committee, CommitteeCalculator)
    atoms = frames[32].copy()
    atoms.calc = committee
    forces = atoms.get_forces()
    members = committee.results["forces_comm"]
    assert members.shape == (2, 18, 3)
    np.testing.assert_allclose(forces, members.mean(axis=0))
    assert committee_force_deviation(members) > 0.01
