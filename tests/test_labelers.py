import numpy as np
import pytest

from amlip.labelers.base import isolated_atom_energies, label_frames
from amlip.labelers.registry import make_labeler
from amlip.structures.packing import random_packing
from conftest import finite_difference_force


@pytest.fixture(scope="module")
def gfn1():
    return make_labeler("xtb", {"method": "GFN1-xTB"})


def test_tblite_single_point_shapes_and_record(quartz, gfn1):
    labelled = gfn1.single_point(quartz)
    assert labelled.arrays["REF_forces"].shape == (9, 3)
    assert labelled.info["REF_stress"].shape == (6,)
    # quartz is bound relative to free atoms by a few eV per atom
    e0 = isolated_atom_energies(["Si", "O"], gfn1)
    cohesive = (labelled.info["REF_energy"] - 3 * e0["Si"] - 6 * e0["O"]) / 9
    assert -12.0 < cohesive < -3.0
    assert "method=GFN1-xTB" in labelled.info["level_of_theory"]
    assert labelled.info["lot_hash"] == gfn1.lot_hash
    assert labelled.info["scf_converged"] is True


def test_tblite_forces_match_finite_difference(quartz, gfn1):
    atoms = quartz.copy()
    atoms.positions[0] += [0.05, -0.03, 0.02]  # off the symmetric minimum
    force = gfn1.single_point(atoms).arrays["REF_forces"][0]
    h = 1e-3
    for axis in range(3):
        fd = finite_difference_force(gfn1, atoms, 0, axis, h)
        assert force[axis] == pytest.approx(fd, abs=5e-3)


def test_tblite_stress_matches_volume_derivative(quartz, gfn1):
    stress = gfn1.single_point(quartz).info["REF_stress"]
    pressure = -stress[:3].mean()
    s = 1.002
    big, small = quartz.copy(), quartz.copy()
    big.set_cell(quartz.cell * s, scale_atoms=True)
    small.set_cell(quartz.cell / s, scale_atoms=True)
    de = gfn1.single_point(big).info["REF_energy"] - gfn1.single_point(small).info["REF_energy"]
    dv = big.get_volume() - small.get_volume()
    assert pressure == pytest.approx(-de / dv, rel=0.03)


def test_unconverged_scf_is_recorded_not_lost(quartz):
    frames = [quartz, random_packing({"SiO2": 8}, 2.2, seed=1)]
    outcome = label_frames(frames, make_labeler("xtb", {"max_iterations": 2}), first_index=10)
    assert len(outcome.labelled) + len(outcome.failed) == 2
    assert outcome.failed, "two SCF cycles cannot converge a random packing"
    assert outcome.failed[-1]["frame_index"] == 11
    assert "SCF not converged" in outcome.failed[-1]["reason"]


def test_unknown_backend_names_the_key():
    with pytest.raises(KeyError, match="unknown label.backend 'vasp6'"):
        make_labeler("vasp6", {})


def test_level_of_theory_differs_between_methods():
    assert make_labeler("xtb", {"method": "GFN1-xTB"}).lot_hash != make_labeler("xtb", {"method": "GFN2-xTB"}).lot_hash


def test_failed_record_names_error_type_and_level(gfn1):
    from amlip.labelers.base import FAILED_COLUMNS

    packing = random_packing({"SiO2": 8}, 2.2, seed=1)
    outcome = label_frames([packing], make_labeler("xtb", {"max_iterations": 2}), first_index=3)
    (failed,) = outcome.failed
    assert list(failed) == FAILED_COLUMNS
    assert failed["error"] == "SCFNotConverged" and failed["frame_index"] == 3 and failed["wall_s"] >= 0


def test_timeout_sends_the_frame_to_the_failed_list(quartz):
    # tblite cannot be interrupted inside its C code: the limit is applied when it returns
    outcome = label_frames([quartz], make_labeler("xtb", {"timeout_s": 1e-3}))
    assert outcome.labelled == [] and outcome.failed[0]["error"] == "LabelTimeout"
    assert "timeout_s" in outcome.failed[0]["reason"]
    # the limit is a run setting: it does not change the level of theory
    assert make_labeler("xtb", {"timeout_s": 5}).lot_hash == make_labeler("xtb", {}).lot_hash


def test_labelled_frames_are_refused_by_label_frames(quartz, gfn1):
    labelled = gfn1.single_point(quartz)
    with pytest.raises(ValueError, match="frame 7 already has reference labels.*relabel"):
        label_frames([labelled], gfn1, first_index=7)


def test_relabel_keeps_the_first_level_under_its_hash(quartz, gfn1):
    from amlip.io.lot import LevelOfTheoryError, merge_labelled
    from amlip.labelers.base import relabel

    gfn2 = make_labeler("xtb", {"method": "GFN2-xTB"})
    first = label_frames([quartz], gfn1).labelled
    outcome = relabel(first, gfn2)
    (second,) = outcome.labelled
    prefix = f"lot{gfn1.lot_hash}"
    assert second.info["lot_hash"] == gfn2.lot_hash and "method=GFN2-xTB" in second.info["level_of_theory"]
    assert second.info["REF_energy"] == pytest.approx(gfn2.single_point(quartz).info["REF_energy"])
    assert second.info[f"{prefix}_energy"] == first[0].info["REF_energy"]
    assert np.array_equal(second.arrays[f"{prefix}_forces"], first[0].arrays["REF_forces"])
    assert np.array_equal(second.info[f"{prefix}_stress"], first[0].info["REF_stress"])
    assert "method=GFN1-xTB" in second.info[f"{prefix}_level_of_theory"]
    assert "REF_energy" in first[0].info and first[0].info["lot_hash"] == gfn1.lot_hash  # input untouched
    with pytest.raises(LevelOfTheoryError):
        merge_labelled({"gfn1.extxyz": first, "gfn2.extxyz": [second]})
    with pytest.raises(ValueError, match="already labelled at"):
        relabel([second], gfn2)
    dropped = relabel(first, gfn2, keep_previous=False).labelled[0]
    assert not any(key.startswith("lot") and key != "lot_hash" for key in list(dropped.info) + list(dropped.arrays))


def test_relabel_never_leaves_a_stale_stress(gfn1):
    from ase.build import molecule

    from amlip.labelers.base import relabel

    water = molecule("H2O")  # not periodic: no stress at the new level
    water.info.update({"REF_energy": -1.0, "REF_stress": np.ones(6), "lot_hash": "0123456789", "level_of_theory": "code=old"})
    water.arrays["REF_forces"] = np.zeros((3, 3))
    (new,) = relabel([water], gfn1).labelled
    assert "REF_stress" not in new.info and np.array_equal(new.info["lot0123456789_stress"], np.ones(6))


def test_unknown_xtb_setting_is_refused():
    with pytest.raises(KeyError, match=r"label.xtb: unknown setting\(s\) \['methd'\]"):
        make_labeler("xtb", {"methd": "GFN2-xTB"})


def test_xtb_aimd_frames_carry_their_own_labels(quartz, gfn1):
    from amlip.labelers.aimd import aimd_frames

    frames = list(
        aimd_frames(quartz, gfn1, n_steps=4, temperature_K=300.0, timestep_fs=0.5, thermostat_timecon_fs=1000.0, every=2, seed=1)
    )
    assert [a.info["md_step"] for a in frames] == [0, 2, 4]
    assert all(a.info["lot_hash"] == gfn1.lot_hash for a in frames)
    assert not np.allclose(frames[0].positions, frames[-1].positions)
    # each frame's label is the single point of its own geometry
    again = gfn1.single_point(frames[-1])
    assert frames[-1].info["REF_energy"] == pytest.approx(again.info["REF_energy"], abs=1e-6)
    assert np.allclose(frames[-1].arrays["REF_forces"], again.arrays["REF_forces"], atol=1e-4)  # SCF restart


def _fixed_labeler(**results):
    """A labeler whose single point gives -1 eV, zero forces and stress, or ``results`` instead."""
    from ase.calculators.singlepoint import SinglePointCalculator

    from amlip.labelers.base import Labeler

    def make(atoms):
        return SinglePointCalculator(
            atoms, **{"energy": -1.0, "forces": np.zeros((len(atoms), 3)), "stress": np.zeros(6), **results}
        )

    return Labeler("fixed", {"code": "fixed"}, make)


def test_a_label_that_is_not_finite_sends_the_frame_to_the_failed_list(quartz):
    stress = np.zeros(6)
    stress[4] = np.nan
    outcome = label_frames([quartz, quartz], _fixed_labeler(stress=stress), first_index=5)
    assert outcome.labelled == [] and [f["frame_index"] for f in outcome.failed] == [5, 6]
    assert outcome.failed[0]["reason"] == "non-finite label: REF_stress[4] is nan"
    forces = np.zeros((len(quartz), 3))
    forces[2, 0] = np.inf
    (failed,) = label_frames([quartz], _fixed_labeler(forces=forces)).failed
    assert failed["reason"] == "non-finite label: REF_forces[2, 0] is inf"
    assert len(label_frames([quartz], _fixed_labeler()).labelled) == 1
