import numpy as np
import pytest

from amlip.labelers import isolated_atom_energies, label_frames, make_labeler
from amlip.structures import random_packing


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
        plus, minus = atoms.copy(), atoms.copy()
        plus.positions[0, axis] += h
        minus.positions[0, axis] -= h
        fd = -(gfn1.single_point(plus).info["REF_energy"] - gfn1.single_point(minus).info["REF_energy"]) / (2 * h)
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
