import numpy as np
import pytest
from ase import Atoms

from amlip.properties.structure import (
    angle_distribution,
    bond_angles,
    coordination_counts,
    density_statistics,
    glass_tail,
    mean_coordination,
    mean_squared_displacement,
    partial_rdf,
    potential_of_mean_force,
    qn_fractions,
    qn_table,
    structure_properties,
)
from amlip.structures.crystals import build_crystal, density_g_cm3


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
    atoms = Atoms("Ar1000", positions=rng.random((1000, 3)) * 25.0, cell=[25.0] * 3, pbc=True)
    r, g = partial_rdf([atoms], "Ar", "Ar", r_max=6.0, n_bins=12)
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


def test_qn_of_a_chain_silicate_is_all_q2(chain_silicate):
    assert mean_coordination(chain_silicate, "Si", "O", 2.0) == 4.0
    assert qn_fractions(chain_silicate) == {0: 0.0, 1: 0.0, 2: 1.0, 3: 0.0, 4: 0.0}
    # Cutting the chain: removing one bridging O leaves two Q1 end groups.
    broken = chain_silicate.copy()
    del broken[1]
    table = qn_table([chain_silicate, broken]).set_index("species")
    assert table.loc["Q2", "fraction"] == pytest.approx(0.5)
    assert table.loc["Q1", "percent"] == pytest.approx(50.0)
    assert table.loc["Q1", "std"] == pytest.approx(0.5)


def test_n_zn_n_angles_of_a_tetrahedron_with_a_2_5_A_cutoff():
    tetra = np.array([[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]]) / np.sqrt(3)
    positions = [(5, 5, 5)] + [tuple(5 + 2.0 * v) for v in tetra] + [(5 + 2.7, 5, 5)]
    atoms = Atoms("ZnN4N", positions=positions, cell=[12] * 3, pbc=True)
    angles = bond_angles(atoms, "Zn", "N", 2.5)
    assert len(angles) == 6  # the N at 2.7 Å is outside the ZIF cutoff
    assert angles == pytest.approx(np.full(6, 109.47), abs=0.01)
    assert mean_coordination(atoms, "Zn", "N", 2.5) == 4.0


def test_density_statistics_over_glasses(quartz):
    def scaled(factor):
        atoms = quartz.copy()
        atoms.set_cell(atoms.cell * factor ** (-1 / 3), scale_atoms=True)
        return atoms

    rho = density_g_cm3(quartz)
    # Two glasses; only the last half of each is averaged (the first frames are far off).
    glass_a = [scaled(0.5), scaled(1.0), scaled(1.0)]
    glass_b = [scaled(0.5), scaled(1.1), scaled(1.1)]
    stats = density_statistics([glass_a, glass_b], average_last_fraction=0.5)
    means = np.array([rho, 1.1 * rho])
    assert stats["mean"] == pytest.approx(means.mean())
    assert stats["std"] == pytest.approx(means.std(ddof=1))
    assert stats["sem"] == pytest.approx(means.std(ddof=1) / np.sqrt(2))
    assert stats["n_glasses"] == 2


def test_glass_tail_keeps_only_the_final_stage_of_the_averaged_fraction(quartz):
    """A melt-quench whose last 30 % reaches back into the quench: the quench frames (hot, less dense) are dropped,
    so the density is the glass's; a trajectory without stage names keeps the plain fraction."""

    def frame(stage, factor, step):
        atoms = quartz.copy()
        atoms.set_cell(atoms.cell * factor ** (-1 / 3), scale_atoms=True)
        atoms.info.update(stage=stage, step=step)
        return atoms

    stages = ["melt"] * 4 + ["quench"] * 3 + ["glass"] * 3  # the tail (3 of 10 frames) is the glass ...
    frames = [frame(s, 0.8 if s != "glass" else 1.0, k) for k, s in enumerate(stages)]
    assert [a.info["step"] for a in glass_tail(frames, 0.3)] == [7, 8, 9]
    assert [a.info["step"] for a in glass_tail(frames, 0.5)] == [7, 8, 9]  # ... and so is a 50 % tail's
    stats = density_statistics([frames], 0.5)
    assert stats["mean"] == pytest.approx(density_g_cm3(quartz)) and stats["n_frames_averaged"] == 3
    # only the unbroken run at the end: an earlier stage of the same name is not the final one
    repeated = [frame(s, 1.0, k) for k, s in enumerate(["anneal", "quench", "anneal", "anneal"])]
    assert [a.info["step"] for a in glass_tail(repeated, 1.0)] == [2, 3]
    for a in frames:
        del a.info["stage"]
    assert [a.info["step"] for a in glass_tail(frames, 0.5)] == [5, 6, 7, 8, 9]
    with pytest.raises(ValueError, match="no frames"):
        glass_tail([], 0.3)


def test_pmf_is_zero_at_the_peak_and_kT_ln_ratio_elsewhere():
    g = np.array([0.0, 0.5, 4.0, 1.0])
    f = potential_of_mean_force(g, 300.0)
    kt = 8.617333e-5 * 300.0
    assert f[2] == 0.0 and np.isinf(f[0])
    assert f[1] == pytest.approx(kt * np.log(8.0), rel=1e-6)
    assert f[3] == pytest.approx(kt * np.log(4.0), rel=1e-6)


def test_msd_unwraps_atoms_crossing_the_cell():
    frames = []
    for t in range(10):  # one atom moves 0.9 Å per frame along x through a 4 Å box, one sits still
        atoms = Atoms("ArNe", positions=[(0.5 + 0.9 * t, 1, 1), (2, 2, 2)], cell=[4.0] * 3, pbc=True)
        atoms.wrap()
        frames.append(atoms)
    msd = mean_squared_displacement(frames, species="Ar")
    assert msd == pytest.approx((0.9 * np.arange(10)) ** 2)
    assert mean_squared_displacement(frames)[3] == pytest.approx((0.9 * 3) ** 2 / 2)
