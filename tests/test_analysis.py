import numpy as np
import pytest
from ase import Atoms

from amlip.analysis import (
    angle_distribution,
    bond_angles,
    coordination_counts,
    density_g_cm3,
    mean_coordination,
    partial_rdf,
    qn_fractions,
    structure_properties,
)
from amlip.structures import build_crystal


def test_quartz_known_structure(quartz):
    assert density_g_cm3(quartz) == pytest.approx(2.65, abs=0.005)
    assert mean_coordination(quartz, "Si", "O", 2.0) == 4.0
    assert qn_fractions(quartz) == {0: 0.0, 1: 0.0, 2: 0.0, 3: 0.0, 4: 1.0}
    angles = bond_angles(quartz, "O", "Si", 2.0)
    assert len(angles) == 6  # one Si-O-Si angle per oxygen
    assert angles.mean() == pytest.approx(143.7, abs=0.5)


def test_quartz_rdf_first_peak_at_si_o_bond(quartz):
    r, g = partial_rdf([quartz.repeat((2, 2, 2))], "Si", "O", r_max=4.0, n_bins=200)
    assert r[np.argmax(g)] == pytest.approx(1.61, abs=0.02)
    assert g[r < 1.4].sum() == 0.0


def test_rdf_of_ideal_gas_tends_to_one():
    rng = np.random.default_rng(0)
    atoms = Atoms("Ar2000", positions=rng.random((2000, 3)) * 30.0, cell=[30.0] * 3, pbc=True)
    r, g = partial_rdf([atoms], "Ar", "Ar", r_max=8.0, n_bins=16)
    assert np.mean(g[4:]) == pytest.approx(1.0, abs=0.05)


def test_qn_after_removing_one_bridging_oxygen():
    atoms = build_crystal("alpha_quartz", (2, 2, 2))
    o_index = next(i for i, s in enumerate(atoms.get_chemical_symbols()) if s == "O")
    del atoms[o_index]
    qn = qn_fractions(atoms)
    assert qn[3] == pytest.approx(2 / 24)
    assert qn[4] == pytest.approx(22 / 24)
    counts = coordination_counts(atoms, "Si", "O", 2.0)
    assert counts == {3: pytest.approx(2 / 24), 4: pytest.approx(22 / 24)}


def test_angle_distribution_is_normalised(quartz):
    theta, p = angle_distribution([quartz], "O", "Si", 2.0, n_bins=180)
    assert np.sum(p) * (theta[1] - theta[0]) == pytest.approx(1.0)
    assert theta[np.argmax(p)] == pytest.approx(143.5, abs=1.0)


def test_structure_properties_table(quartz):
    settings = {"reference_density_g_cm3": 2.2, "average_last_fraction": 1.0}
    props, rdf, angles = structure_properties([quartz.repeat((2, 2, 2))] * 3, settings)
    row = props.set_index("property").loc["density"]
    assert row.value == pytest.approx(2.6486, abs=1e-3)
    assert row.rel_error_percent == pytest.approx(100 * (row.value - 2.2) / 2.2)
    assert props.set_index("property").loc["Q4"].value == 1.0
    assert list(rdf.columns) == ["r_A", "g_SiO"]
