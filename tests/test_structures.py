import numpy as np
import pytest

from amlip.analysis import mean_coordination
from amlip.structures import build_crystal, density_g_cm3, random_packing
from amlip.explore import perturb


def test_alpha_quartz_density_and_bonds(quartz):
    assert len(quartz) == 9
    assert density_g_cm3(quartz) == pytest.approx(2.65, abs=0.005)
    assert mean_coordination(quartz, "Si", "O", 2.0) == 4.0
    assert mean_coordination(quartz, "O", "Si", 2.0) == 2.0


def test_beta_cristobalite_bond_length():
    atoms = build_crystal("beta_cristobalite")
    assert len(atoms) == 24
    d = atoms.get_distance(0, [i for i, s in enumerate(atoms.get_chemical_symbols()) if s == "O"][0], mic=True)
    si_o = min(atoms.get_distances(0, range(8, 24), mic=True))
    assert si_o == pytest.approx(7.16 * np.sqrt(3) / 8, rel=1e-6)
    assert d >= si_o


def test_supercell_and_unknown_crystal():
    assert len(build_crystal("alpha_quartz", (2, 2, 2))) == 72
    with pytest.raises(KeyError, match="unknown crystal 'coesite'"):
        build_crystal("coesite")


def test_random_packing_density_and_distances():
    atoms = random_packing({"SiO2": 24}, 2.20, min_distance_A=1.6, seed=3)
    assert len(atoms) == 72
    assert density_g_cm3(atoms) == pytest.approx(2.20, rel=1e-10)
    unit = atoms.arrays["unit_id"]
    d = atoms.get_all_distances(mic=True)
    other_unit = unit[:, None] != unit[None, :]
    assert d[other_unit].min() >= 1.6
    assert atoms.get_chemical_formula() == "O48Si24"


def test_random_packing_errors():
    with pytest.raises(KeyError, match="unknown precursor unit 'SiO3'"):
        random_packing({"SiO3": 2}, 2.2)
    with pytest.raises(RuntimeError, match="could not place unit SiO2"):
        random_packing({"SiO2": 24}, 6.0, min_distance_A=2.5, max_attempts=200)


def test_perturb_changes_cells_within_bounds(quartz):
    frames = perturb([quartz], 5, rattle_std_A=0.0, max_strain=0.0, scale_range=(0.9, 1.1), seed=1)
    assert len(frames) == 5
    ratios = [f.get_volume() / quartz.get_volume() for f in frames]
    assert all(0.9**3 <= r <= 1.1**3 for r in ratios)
    assert len(set(np.round(ratios, 8))) == 5
