"""Functionalization on constructed cases with known answers: saturation, bridging O split, water removal."""

import numpy as np
import pytest
from ase import Atoms

from amlip.structures.crystals import build_crystal
from amlip.structures.functionalize import (
    O_H_A,
    T_O_A,
    accessible_oxygens,
    bonds,
    find_water,
    functionalize,
    hydroxylate_bridging,
    oh_density_per_nm2,
    remove_water,
    saturate,
)
from amlip.structures.pores import carve_pore

TETRA = np.array([[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]]) / np.sqrt(3)


def si_with_three_o():
    pos = [[10, 10, 10]] + [list(10 + 1.62 * v) for v in TETRA[:3]]
    return Atoms("SiO3", positions=pos, cell=[20, 20, 20], pbc=True)


def test_three_fold_si_gets_one_oh_at_the_free_tetrahedral_site():
    atoms = si_with_three_o()
    out, counts = saturate(atoms)
    # The 3 dangling O each get an H, the Si one OH.
    assert counts == {"oh_on_formers": 1, "h_on_oxygens": 3}
    assert out.get_chemical_formula() == "H4O4Si"
    new_o = 4
    assert out.get_distance(0, new_o) == pytest.approx(T_O_A)
    assert np.dot(out.positions[new_o] - out.positions[0], TETRA[3]) / T_O_A == pytest.approx(1.0, abs=0.05)
    _, o_of_t, h_of_o = bonds(out)
    assert len(o_of_t[0]) == 4 and all(len(h) == 1 for h in h_of_o.values())
    h = h_of_o[new_o][0]
    assert out.get_distance(new_o, h) == pytest.approx(O_H_A)
    assert out.get_angle(0, new_o, h) == pytest.approx(118.0, abs=0.5)


def disiloxane():
    """H3Si-O-SiH3 stand-in: two SiO4 tetrahedra sharing an O (Si-O-Si 180 deg), terminal O capped by H."""
    si1, si2 = np.array([10.0, 10, 10]), np.array([13.2, 10, 10])
    bridge = (si1 + si2) / 2
    axis = np.array([1.0, 0, 0])
    # Tetrahedral directions with one along +x (towards the bridge) for si1 and -x for si2.
    others = [
        np.array([-1 / 3, np.sqrt(8) / 3 * np.cos(a), np.sqrt(8) / 3 * np.sin(a)]) for a in (0, 2 * np.pi / 3, 4 * np.pi / 3)
    ]
    pos, symbols = [si1, si2, bridge], ["Si", "Si", "O"]
    for centre, sign in ((si1, 1), (si2, -1)):
        for v in others:
            pos.append(centre + 1.6 * sign * v * np.array([1, 1, 1]))
            symbols.append("O")
    assert np.allclose(np.dot(pos[3] - si1, axis) / 1.6, -1 / 3)
    return Atoms(symbols, positions=pos, cell=[24, 24, 24], pbc=True)


def test_accessible_bridging_o_is_split_into_two_silanols():
    atoms, _ = saturate(disiloxane())
    # The six terminal OH shield the bridge from a 1.4 Å probe; a 1.0 Å probe reaches it.
    assert 2 not in accessible_oxygens(atoms, probe_radius_A=1.4)[0]
    found, probes = accessible_oxygens(atoms, probe_radius_A=1.0)
    assert 2 in found
    out, n = hydroxylate_bridging(atoms, [2], probes)
    assert n == 1
    assert len(out) == len(atoms) + 3
    assert out.get_chemical_formula() == "H8O8Si2"
    t_of_o, o_of_t, h_of_o = bonds(out)
    # The old bridge now sits on one Si with an H; the other Si has a new O with an H; no shared O.
    assert len(t_of_o[2]) == 1 and len(h_of_o[2]) == 1
    assert all(len(ts) == 1 for ts in t_of_o.values())
    assert len(o_of_t[0]) == 4 and len(o_of_t[1]) == 4
    for o, hs in h_of_o.items():
        assert out.get_distance(o, hs[0], mic=True) == pytest.approx(O_H_A)
    d = out.get_all_distances(mic=True)
    oxygens = [k for k, s in enumerate(out.get_chemical_symbols()) if s == "O"]
    o_o = d[np.ix_(oxygens, oxygens)][np.triu_indices(len(oxygens), 1)]
    # No O-O clash (tetrahedral O-O is 2.6 Å; the geometric split leaves > 2.1 Å before relaxation).
    assert o_o.min() > 2.1


def test_buried_oxygen_of_quartz_is_not_accessible():
    quartz = build_crystal("alpha_quartz", (2, 2, 2))
    assert len(accessible_oxygens(quartz, probe_radius_A=1.4)[0]) == 0


def test_one_water_molecule_in_a_pore_is_removed():
    pore = carve_pore(build_crystal("alpha_quartz", (3, 3, 1)), 3.5)
    atoms, _ = saturate(pore)
    n_before = len(atoms)
    axis = 0.5 * (atoms.cell[0] + atoms.cell[1])
    water = Atoms("OH2", positions=[[0, 0, 0], [0.76, 0.59, 0], [-0.76, 0.59, 0]])
    water.positions += [axis[0], axis[1], 2.0]
    atoms += water
    assert find_water(atoms) == [(n_before, n_before + 1, n_before + 2)]
    out, n = remove_water(atoms)
    assert n == 1 and len(out) == n_before
    assert out.get_chemical_formula() == atoms[:n_before].get_chemical_formula()
    # Silanols (O with one H and a Si) are not water.
    assert find_water(out) == []


def test_functionalized_quartz_pore_oh_density():
    pore = carve_pore(build_crystal("alpha_quartz", (3, 3, 2)), 3.5)
    out, counts = functionalize(pore, pore_radius_A=3.5, probe_radius_A=1.4)
    assert counts["h_on_oxygens"] == 16
    assert counts["n_OH"] == 16 + 2 * counts["bridging_split"]
    density = oh_density_per_nm2(out, 3.5)
    assert density["pore_area_A2"] == pytest.approx(2 * np.pi * 3.5 * out.cell[2, 2])
    assert density["OH_per_nm2"] == pytest.approx(100 * counts["n_OH"] / density["pore_area_A2"])
    assert find_water(out) == []
    assert out.get_all_distances(mic=True)[np.triu_indices(len(out), 1)].min() >= O_H_A - 1e-6


# Glue of the pore DAG (rules/pore.smk): wall placement, relaxation, MD, dehydrogenation, summary.


def test_pore_wall_sits_one_cutoff_inside_the_surface():
    from amlip.structures.pores import distance_to_axis, pore_packing, pore_wall

    packing = pore_packing({"SiO2": 16}, 2.2, radius_A=3.0, height_A=8.0, seed=0)
    wall = pore_wall(packing, 3.0, sigma_A=1.5)
    assert wall.cutoff_A == pytest.approx(0.4 ** (1 / 6) * 1.5)
    assert wall.radius_A == pytest.approx(3.0 - wall.cutoff_A)
    # No atom of the packing feels the wall at the start.
    assert wall.energy_forces(packing)[0] == 0.0
    # An OH pointing into the pore moves the surface inwards.
    out, _ = functionalize(carve_pore(build_crystal("alpha_quartz", (3, 3, 1)), 3.5), pore_radius_A=3.5)
    rho_min = distance_to_axis(out.positions, out.cell.array)[0].min()
    assert rho_min < 3.5
    assert pore_wall(out, 3.5, sigma_A=1.0).radius_A == pytest.approx(rho_min - 0.4 ** (1 / 6))
    with pytest.raises(ValueError, match=r"no room for the pore wall.*pore.wall.sigma_A"):
        pore_wall(out, 3.5, sigma_A=4.0)


def lj_pair_outside_a_pore():
    """Two LJ atoms 1.5 Å apart, 4.5 Å from the axis of a 3 Å pore (14 Å hexagonal cell), and one atom in the wall's range."""
    from amlip.structures.pores import hexagonal_cell, pore_axis_xy

    cell = hexagonal_cell(14.0, 10.0)
    x, y = pore_axis_xy(cell)
    return Atoms("Ar3", positions=[[x + 4.5, y, 2.0], [x + 4.5, y, 3.5], [x, y + 3.05, 7.0]], cell=cell, pbc=True)


def test_relax_pore_reaches_the_lj_minimum_with_the_wall_on():
    from ase.calculators.lj import LennardJones

    from amlip.md.pore import relax_pore
    from amlip.structures.pores import CylinderWall, distance_to_axis

    atoms = lj_pair_outside_a_pore()
    wall = CylinderWall(2.5, epsilon_eV=0.1, sigma_A=1.0, cutoff_A=1.0)
    lj = LennardJones(sigma=1.0, epsilon=0.5, rc=2.5)
    relaxed, summary = relax_pore(atoms, lj, wall=wall.calculator(), fmax_eV_A=1e-4, max_steps=2000)
    assert summary["converged"] and summary["fmax_eV_A"] < 1e-4
    assert summary["energy_eV"] < summary["energy_start_eV"]
    # The pair ends at the LJ minimum 2^(1/6) sigma; the third atom (alone: it feels only the wall, cut
    # beyond its minimum here) at the LJ 9-3 minimum (2/5)^(1/6) sigma from the wall surface.
    assert relaxed.get_distance(0, 1, mic=True) == pytest.approx(2 ** (1 / 6), abs=1e-3)
    assert distance_to_axis(relaxed.positions[2:], relaxed.cell.array)[0][0] == pytest.approx(2.5 + 0.4 ** (1 / 6), abs=1e-3)
    assert relaxed.calc is None
    with pytest.raises(ValueError, match="pore.relax.optimizer 'SD'"):
        relax_pore(atoms, lj, optimizer="SD")


def test_pore_md_runs_a_preset_with_the_wall_and_keeps_the_pore_empty():
    from ase.calculators.lj import LennardJones

    from amlip.md.pore import pore_md
    from amlip.structures.pores import distance_to_axis, pore_packing

    packing = pore_packing({"SiO2": 16}, 2.2, radius_A=3.0, height_A=8.0, seed=1)
    # An ideal gas (LJ with epsilon 0) at melt temperatures: only the wall holds the atoms out of the pore.
    md = {
        "protocol": "melt_quench_AS",
        "time_scale": 2e-5,
        "timestep_fs": None,
        "sample_every": 1,
        "friction_per_fs": 0.01,
        "taut_fs": 100.0,
        "taup_fs": 1000.0,
        "guards": {"min_distance_A": 0.05, "max_T_factor": 100.0},
    }
    frames, stages = pore_md(
        packing, LennardJones(sigma=1.0, epsilon=0.0, rc=2.0), radius_A=3.0, wall={"sigma_A": 1.5}, **md, seed=0
    )
    assert [s.name for s in stages] == ["heat", "melt", "quench_fast", "quench_slow", "quench_to_300", "equilibrate"]
    assert len(frames) == sum(s.n_steps for s in stages)
    wall_radius = 3.0 - 0.4 ** (1 / 6) * 1.5
    assert min(distance_to_axis(f.positions, f.cell.array)[0].min() for f in frames) > wall_radius


def test_dehydrogenation_energies_match_a_pair_sum():
    from ase.calculators.lj import LennardJones
    from ase.neighborlist import neighbor_list

    from amlip.properties.energetics import dehydrogenation_by_site, dehydrogenation_energies

    atoms, _ = functionalize(carve_pore(build_crystal("alpha_quartz", (3, 3, 1)), 3.5), pore_radius_A=3.5)
    lj = LennardJones(sigma=1.2, epsilon=0.05, rc=3.0)
    sites = dehydrogenation_energies(atoms, lj)
    assert len(sites) == 8 and set(sites.site) == {"single Si"}
    # A pair potential: removing H costs minus its pair energies (shifted LJ; E(H alone) = 0).
    i, j, d = neighbor_list("ijd", atoms, 3.0)

    def phi(r):
        return 4 * 0.05 * ((1.2 / r) ** 12 - (1.2 / r) ** 6) - 4 * 0.05 * ((1.2 / 3.0) ** 12 - (1.2 / 3.0) ** 6)

    expected = [-phi(d[i == h]).sum() for h in sites.h_index]
    assert sites.E_H_eV.iloc[0] == pytest.approx(0.0, abs=1e-12)
    assert sites.E_dehydrogenation_eV.to_numpy() == pytest.approx(expected, rel=1e-8)
    table = dehydrogenation_by_site(sites.site, sites.E_pore_OH_eV, sites.E_pore_O_star_eV, sites.E_H_eV.iloc[0])
    assert table["count"].tolist() == [8] and table.mean_eV.iloc[0] == pytest.approx(np.mean(expected))
    assert len(dehydrogenation_energies(atoms, lj, max_sites=3)) == 3
    with pytest.raises(ValueError, match="no hydroxyl"):
        dehydrogenation_energies(build_crystal("alpha_quartz"), lj)


def test_model_choice_by_dehydrogenation_scales_with_the_pair_energy():
    """AS eq choice: a model whose pair energies are 1.2x the reference's errs by 0.2 |E_deh| per site."""
    from ase.calculators.lj import LennardJones

    from amlip.learning.choice import screen_dehydrogenation
    from amlip.properties.energetics import dehydrogenation_energies, dehydrogenation_errors

    atoms, _ = functionalize(carve_pore(build_crystal("alpha_quartz", (3, 3, 1)), 3.5), pore_radius_A=3.5)
    reference_lj = LennardJones(sigma=1.2, epsilon=0.05, rc=3.0)

    def reference_energy(frame):  # a labeler's single point, as rule label_dehydrogenation calls it
        frame = frame.copy()
        frame.calc = reference_lj
        return float(frame.get_potential_energy())

    reference = dehydrogenation_energies(atoms, energy=reference_energy, max_sites=4, e_h=0.0)
    # the O-H bond (0.97 Å) sits inside this LJ's repulsive core (sigma 1.2 Å): removing H releases energy
    assert len(reference) == 4 and (reference.E_dehydrogenation_eV < -1.0).all()
    errors = screen_dehydrogenation(atoms, LennardJones(sigma=1.2, epsilon=0.06, rc=3.0), reference, max_sites=4)
    expected = 0.2 * reference.E_dehydrogenation_eV.abs()
    assert errors["n_sites"] == 4
    assert errors["mae_eV"] == pytest.approx(expected.mean(), rel=1e-8)
    assert errors["max_abs_error_eV"] == pytest.approx(expected.max(), rel=1e-8)
    assert errors["model_mean_eV"] == pytest.approx(1.2 * errors["reference_mean_eV"], rel=1e-8)
    assert screen_dehydrogenation(atoms, reference_lj, reference, max_sites=4)["mae_eV"] == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(ValueError, match="lacks the hydroxyls with H index"):
        dehydrogenation_errors(reference, reference.iloc[:2])
    with pytest.raises(ValueError, match="needs e_h"):
        dehydrogenation_energies(atoms, energy=reference_energy)


def test_pore_summary_oh_density_and_pore_volume(tmp_path):
    from amlip.plots import plot_dehydrogenation
    from amlip.properties.energetics import pore_summary
    from amlip.properties.porosity import pore_volume_grid

    atoms, counts = functionalize(carve_pore(build_crystal("alpha_quartz", (3, 3, 1)), 3.5), pore_radius_A=3.5)
    summary = pore_summary(atoms, 3.5, probe_radius_A=1.2, grid_spacing_A=0.3)
    assert summary["n_OH"] == counts["n_OH"] == 8
    assert summary["OH_per_nm2"] == pytest.approx(100 * 8 / (2 * np.pi * 3.5 * atoms.cell[2, 2]))
    assert summary["OH_per_nm2_accessible"] == pytest.approx(100 * 8 / summary["accessible_surface_A2"])
    assert summary["pore_volume_A3"] == pytest.approx(pore_volume_grid(atoms, 1.2, 0.3)["pore_volume_A3"])
    # The probe centre fits only in the pore: less than the cylinder, but not nothing.
    assert 0 < summary["pore_volume_A3"] < np.pi * 3.5**2 * atoms.cell[2, 2]
    import pandas as pd

    table = pd.DataFrame({"site": ["single Si"], "mean_eV": [4.8], "std_eV": [0.2], "count": [8]})
    plot_dehydrogenation(table, summary, tmp_path / "d.png")
    assert (tmp_path / "d.png").stat().st_size > 1000
