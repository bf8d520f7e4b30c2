"""Moment tensor potentials (motep 0.2.0): the presets, the training input (training.cfg, initial.mtp,
motep.toml), and tiny MTPs trained through motep's Trainer on 30 BKS-labelled quartz frames
(tests/data/sio2_quartz_bks.extxyz), loaded through amlip.models.loading."""

import tomllib
from pathlib import Path

import numpy as np
import pytest

from amlip.io.frames import REF_ENERGY, REF_FORCES, REF_STRESS, read_frames

pytest.importorskip("motep", reason="motep is pinned in requirements.txt: make install")

from amlip.models.mtp import (  # noqa: E402
    INITIAL_FILE,
    PRESETS,
    TRAINING_FILE,
    load_mtp_calculator,
    mtp_settings,
    train_mtp,
    untrained_mtp,
    write_mtp_input,
)

DATA = Path(__file__).parent / "data" / "sio2_quartz_bks.extxyz"
ELEMENTS = ["Si", "O"]


@pytest.fixture(scope="module")
def frames():
    return read_frames(DATA)


def test_as_preset_is_level_16_with_the_papers_608_parameters():
    from motep.potentials.mtp.data import MTPData

    settings = mtp_settings("as_mtp16")
    assert (settings["level"], settings["max_dist_A"], settings["forces_weight"]) == (16, 5.0, 0.01)
    # AS: a level-16 MTP for Al, Si, O and H has 608 fitting coefficients
    data = untrained_mtp(settings, ["Al", "Si", "O", "H"])
    assert isinstance(data, MTPData) and data.alpha_scalar_moments == 92
    assert data.number_of_parameters_optimized == 608
    assert untrained_mtp(settings, ELEMENTS).number_of_parameters_optimized == 92 + 2 + 2 * 2 * 4 * 8


def test_presets_and_overrides_fail_naming_the_key():
    assert mtp_settings("tiny_mtp", {"max_iter": 5})["max_iter"] == 5
    assert PRESETS["tiny_mtp"]["level"] < PRESETS["as_mtp16"]["level"]
    with pytest.raises(ValueError, match=r"train.mtp.preset is 'mtp16': use one of \['as_mtp16', 'tiny_mtp'\]"):
        mtp_settings("mtp16")
    with pytest.raises(ValueError, match=r"unknown train.mtp.overrides \['cutoff'\]"):
        mtp_settings("as_mtp16", {"cutoff": 6.0})
    with pytest.raises(ValueError, match="train.mtp level 15: untrained potentials ship for levels"):
        mtp_settings("as_mtp16", {"level": 15})
    with pytest.raises(ValueError, match="min_dist_A 6.0 must be > 0 and < max_dist_A 5.0"):
        mtp_settings("as_mtp16", {"min_dist_A": 6.0})


def test_input_writer_writes_cfg_untrained_mtp_and_setting(tmp_path, frames):
    from motep.io.mlip.cfg import read_cfg
    from motep.io.mlip.mtp import read_mtp

    settings = mtp_settings("tiny_mtp")
    path = write_mtp_input(settings, train_frames=frames[:3], elements=ELEMENTS, seed=3, run_dir=tmp_path)
    setting = tomllib.loads(path.read_text())
    assert setting["common"] == {"seed": 3, "engine": "cext", "species": [14, 8]}
    assert setting["configurations"]["training"] == [TRAINING_FILE]
    assert setting["potentials"]["initial"] == INITIAL_FILE
    assert setting["loss"] == {"energy_weight": 1.0, "forces_weight": 0.01, "stress_weight": 0.001}
    assert [s["method"] for s in setting["steps"]] == ["LLS", "BFGS", "LLS"]
    assert setting["steps"][1]["kwargs"] == {"jac": True, "options": {"maxiter": settings["max_iter"]}}
    # motep's own setting loader accepts it (BFGS becomes scipy.optimize.minimize)
    from motep.train.setting import load_setting_train

    assert load_setting_train(path).steps[1]["kwargs"]["method"] == "BFGS"
    # training.cfg: MLIP-2 configurations, types 0 = Si, 1 = O; energy, forces and the stress back in eV/Å^3
    images = read_cfg(str(tmp_path / TRAINING_FILE), index=":", species=[14, 8])
    assert len(images) == 3 and images[1].get_chemical_symbols() == frames[1].get_chemical_symbols()
    assert images[1].calc.results["energy"] == pytest.approx(frames[1].info[REF_ENERGY], abs=1e-9)
    np.testing.assert_allclose(images[1].calc.results["forces"], frames[1].arrays[REF_FORCES], atol=1e-5)
    np.testing.assert_allclose(images[1].calc.results["stress"], frames[1].info[REF_STRESS], rtol=1e-4, atol=1e-7)
    # initial.mtp: level 6 basis, the preset's radial basis, species named in the tag
    initial = read_mtp(tmp_path / INITIAL_FILE)
    assert (initial.alpha_scalar_moments, initial.radial_funcs_count) == (5, 2)
    assert (initial.radial_basis.max, initial.radial_basis.size) == (4.0, 6)
    assert initial.potential_tag == "amlip species 14 8" and initial.moment_coeffs is None


def test_writer_names_the_frame_of_unknown_elements_and_missing_labels(tmp_path, frames):
    with pytest.raises(KeyError, match=r"frame 1: elements \['O'\] are not in \['Si'\]"):
        write_mtp_input(
            mtp_settings("tiny_mtp"), train_frames=[frames[0][:1], frames[1]], elements=["Si"], seed=0, run_dir=tmp_path
        )
    unlabelled = frames[0].copy()
    del unlabelled.info[REF_ENERGY]
    with pytest.raises(KeyError, match="frame 0: no REF_energy"):
        write_mtp_input(mtp_settings("tiny_mtp"), train_frames=[unlabelled], elements=ELEMENTS, seed=0, run_dir=tmp_path)


@pytest.fixture(scope="module")
def committee(tmp_path_factory, frames):
    """Two tiny members (seeds 0 and 1) on the first 24 frames; the last 6 are held out."""
    members = []
    for seed in (0, 1):
        run_dir = tmp_path_factory.mktemp(f"mtp_{seed}")
        setting = write_mtp_input(
            mtp_settings("tiny_mtp"), train_frames=frames[:24], elements=ELEMENTS, seed=seed, run_dir=run_dir
        )
        errors = train_mtp(setting, run_dir / "model.mtp")
        members.append((run_dir / "model.mtp", errors))
    return members


@pytest.mark.slow
def test_training_error_decreases_and_the_model_fits(committee):
    for _, errors in committee:
        start, trained = errors["energy_eV_atom"]
        assert trained < 0.05 and trained < start / 10
        start, trained = errors["forces_eV_A"]
        # BKS forces on these frames are ~3 eV/Å (RMS)
        assert trained < 0.8 and trained < start


@pytest.mark.slow
def test_forces_and_stress_are_derivatives_of_the_energy(committee, frames):
    from amlip.models.loading import load_model, model_family

    path = str(committee[0][0])
    assert model_family(path) == "mtp"
    atoms = frames[27].copy()
    atoms.calc = load_model(path)
    forces, stress = atoms.get_forces(), atoms.get_stress()
    h = 1e-4
    for i, k in [(0, 0), (5, 2), (13, 1)]:
        energies = []
        for sign in (1, -1):
            moved = atoms.copy()
            moved.calc = atoms.calc
            moved.positions[i, k] += sign * h
            energies.append(moved.get_potential_energy())
        assert forces[i, k] == pytest.approx(-(energies[0] - energies[1]) / (2 * h), abs=1e-5)
    # stress = (1/V) dE/d(strain), Voigt xx and yz
    eps, volume = 1e-5, atoms.get_volume()
    for voigt, (a, b) in [(0, (0, 0)), (3, (1, 2))]:
        energies = []
        for sign in (1, -1):
            strain = np.eye(3)
            strain[a, b] += sign * eps / (1 if a == b else 2)
            strain[b, a] = strain[a, b]
            strained = atoms.copy()
            strained.set_cell(atoms.cell[:] @ strain, scale_atoms=True)
            strained.calc = atoms.calc
            energies.append(strained.get_potential_energy())
        assert stress[voigt] == pytest.approx((energies[0] - energies[1]) / (2 * eps) / volume, abs=1e-7)


@pytest.mark.slow
def test_two_members_disagree_but_both_fit_held_out_frames(committee, frames):
    from amlip.models.committee import CommitteeCalculator
    from amlip.models.loading import load_model

    held_out = frames[24:]
    predictions = []
    for path, _ in committee:
        calc = load_mtp_calculator(str(path))
        member = []
        for atoms in held_out:
            atoms = atoms.copy()
            atoms.calc = calc
            member.append((atoms.get_potential_energy(), atoms.get_forces()))
        predictions.append(member)
    for member in predictions:
        errors = [abs(e - a.info[REF_ENERGY]) / len(a) for (e, _), a in zip(member, held_out)]
        assert np.mean(errors) < 0.05  # eV/atom
    deviation = max(np.abs(f0 - f1).max() for (_, f0), (_, f1) in zip(*predictions))
    assert 1e-4 < deviation < 2.0  # eV/Å: different seeds, the same data
    both = load_model([str(path) for path, _ in committee])
    assert isinstance(both, CommitteeCalculator)
    atoms = held_out[0].copy()
    atoms.calc = both
    assert atoms.get_potential_energy() == pytest.approx((predictions[0][0][0] + predictions[1][0][0]) / 2)


@pytest.mark.slow
def test_one_calculator_serves_structures_of_different_sizes(committee, frames):
    calc = load_mtp_calculator(str(committee[0][0]))
    small, large = frames[0].copy(), frames[1].repeat((1, 1, 2))
    energies = []
    for atoms in (small, large, small):
        atoms.calc = calc
        energies.append(atoms.get_potential_energy())
    single = frames[1].copy()
    single.calc = load_mtp_calculator(str(committee[0][0]))
    # a periodic repeat: exactly twice the energy of the cell
    assert energies[1] == pytest.approx(2 * single.get_potential_energy(), rel=1e-10)
    assert energies[2] == pytest.approx(energies[0], abs=1e-10)


def test_a_file_without_species_tag_is_refused(tmp_path, committee):
    text = Path(committee[0][0]).read_text().replace("potential_tag = amlip species 14 8", "potential_tag = ")
    (tmp_path / "mlp.mtp").write_text(text)
    with pytest.raises(ValueError, match="has potential_tag '', not 'amlip species Z0 Z1 ...'"):
        load_mtp_calculator(str(tmp_path / "mlp.mtp"))


@pytest.mark.slow
def test_warm_start_begins_at_the_previous_member(tmp_path, committee, frames):
    """Member m of the next iteration starts from member m's coefficients: the start error on the grown set is that
    member's error there (far below a random start), and training from it does not lose the fit."""
    previous = committee[0][0]
    setting = write_mtp_input(mtp_settings("tiny_mtp"), train_frames=frames, elements=ELEMENTS, seed=0, run_dir=tmp_path)
    errors = train_mtp(setting, tmp_path / "model.mtp", start_from=previous)
    calc = load_mtp_calculator(str(previous))
    de = []
    for frame in frames:
        atoms = frame.copy()
        atoms.calc = calc
        de.append((atoms.get_potential_energy() - frame.info[REF_ENERGY]) / len(atoms))
    start, trained = errors["energy_eV_atom"]
    assert start == pytest.approx(float(np.sqrt(np.mean(np.square(de)))), rel=1e-6)
    random_start = committee[0][1]["energy_eV_atom"][0]
    assert start < random_start / 10 and trained < 0.05
    assert errors["forces_eV_A"][1] <= errors["forces_eV_A"][0] * 1.05


def test_warm_start_from_another_preset_is_refused_naming_both_files(tmp_path, committee, frames):
    settings = mtp_settings("tiny_mtp", {"radial_basis_size": 5})
    setting = write_mtp_input(settings, train_frames=frames[:4], elements=ELEMENTS, seed=0, run_dir=tmp_path)
    with pytest.raises(
        ValueError, match=rf"warm start {committee[0][0]} .* does not match the untrained potential .*initial.mtp"
    ):
        train_mtp(setting, tmp_path / "model.mtp", start_from=committee[0][0])
