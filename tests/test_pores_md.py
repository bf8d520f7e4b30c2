"""The pore wall: ASE term against finite differences and against LAMMPS fix wall/region; MD keeps the pore empty."""

import numpy as np
import pytest
from ase import Atoms
from ase.calculators.fd import calculate_numerical_forces, calculate_numerical_stress
from ase.calculators.lj import LennardJones

from amlip.md.ase_engine import run_protocol
from amlip.md.guards import Guards
from amlip.md.protocols import Stage
from amlip.structures.pores import CylinderWall, distance_to_axis, hexagonal_cell, pore_axis_xy


def ring_of_atoms(radius_A=3.0, n=24, seed=0):
    """Ar-like atoms scattered 0.3-1.4 Å outside a 3 Å pore in a 14 Å hexagonal cell."""
    rng = np.random.default_rng(seed)
    cell = hexagonal_cell(14.0, 6.0)
    axis = pore_axis_xy(cell)
    phi = rng.uniform(0, 2 * np.pi, n)
    rho = radius_A + rng.uniform(0.3, 1.4, n)
    pos = np.column_stack([axis[0] + rho * np.cos(phi), axis[1] + rho * np.sin(phi), rng.uniform(0, 6, n)])
    return Atoms(["Si"] * n, positions=pos, cell=cell, pbc=True)


@pytest.mark.parametrize("style", ["lj93", "lj126"])
def test_wall_forces_and_stress_match_finite_differences(style):
    atoms = ring_of_atoms()
    wall = CylinderWall(3.0, epsilon_eV=0.2, sigma_A=1.5, cutoff_A=2.0, style=style)
    atoms.calc = wall.calculator()
    assert atoms.get_potential_energy() != 0.0
    forces = atoms.get_forces()
    assert np.abs(forces).max() > 0.01
    assert forces == pytest.approx(calculate_numerical_forces(atoms, eps=1e-5), rel=1e-5, abs=1e-4)
    stress = atoms.get_stress()
    numeric = calculate_numerical_stress(atoms, eps=1e-6, force_consistent=False)
    assert stress == pytest.approx(numeric, rel=1e-5, abs=1e-7 * np.abs(stress).max())
    # Forces act in the plane; closer than the curve's minimum they push away from the axis.
    rho, delta = distance_to_axis(atoms.positions, atoms.cell.array)
    r_min = (0.4 ** (1 / 6) if style == "lj93" else 2 ** (1 / 6)) * 1.5
    outward = np.einsum("ij,ij->i", forces, delta)
    assert np.all(forces[:, 2] == 0)
    assert np.all(outward[rho - 3.0 < r_min] > 0) and np.all(outward[(rho - 3.0 > r_min) & (rho - 3.0 < 2.0)] < 0)


def test_default_cutoff_makes_the_wall_purely_repulsive():
    wall = CylinderWall(3.0, epsilon_eV=0.1, sigma_A=2.0)
    assert wall.cutoff_A == pytest.approx(0.4 ** (1 / 6) * 2.0)
    r = np.linspace(0.5, wall.cutoff_A - 1e-6, 50)
    energy, de_dr = wall._raw(r)
    assert np.all(de_dr < 0) and np.all(energy - wall._raw(np.array([wall.cutoff_A]))[0] > 0)


def test_atoms_inside_the_pore_are_refused():
    atoms = ring_of_atoms()
    atoms.positions[3, :2] = pore_axis_xy(atoms.cell.array) + [0.5, 0.0]
    with pytest.raises(ValueError, match=r"atoms \[3\] are inside the pore wall"):
        CylinderWall(3.0).energy_forces(atoms)


@pytest.mark.parametrize("style", ["lj93", "lj126"])
def test_wall_matches_lammps_fix_wall_region(style):
    from amlip.labelers.lammps import import_lammps

    lammps = import_lammps()
    atoms = ring_of_atoms(seed=1)
    wall = CylinderWall(3.0, epsilon_eV=0.2, sigma_A=1.5, cutoff_A=2.0, style=style)
    energy, forces, _ = wall.energy_forces(atoms)
    cell = atoms.cell.array
    lmp = lammps.lammps(cmdargs=["-screen", "none", "-log", "none"])
    try:
        lmp.commands_list(
            [
                "units metal",
                "atom_style atomic",
                "boundary p p p",
                f"region box prism 0 {cell[0, 0]} 0 {cell[1, 1]} 0 {cell[2, 2]} {cell[1, 0]} 0 0",
                "create_box 1 box",
                "mass 1 28.0855",
                "pair_style zero 3.0",
                "pair_coeff * *",
            ]
        )
        for p in atoms.positions:
            lmp.command(f"create_atoms 1 single {p[0]:.12f} {p[1]:.12f} {p[2]:.12f} units box")
        lmp.commands_list(wall.lammps_commands(cell) + ["thermo_style custom step pe", "run 0"])
        ids = np.ctypeslib.as_array(lmp.gather_atoms("id", 0, 1))
        lmp_forces = np.ctypeslib.as_array(lmp.gather_atoms("f", 1, 3)).reshape(-1, 3)[np.argsort(ids)]
        lmp_energy = lmp.get_thermo("pe")
    finally:
        lmp.close()
    assert energy > 0.01
    assert lmp_energy == pytest.approx(energy, rel=1e-8)
    assert lmp_forces == pytest.approx(forces, rel=1e-8, abs=1e-8)


def test_lammps_commands_refuse_a_wall_that_reaches_the_next_pore():
    with pytest.raises(ValueError, match="enlarge the cell"):
        CylinderWall(5.5, sigma_A=2.0).lammps_commands(hexagonal_cell(14.0, 6.0))


@pytest.mark.parametrize("with_wall", [True, False])
def test_short_md_with_the_wall_keeps_the_pore_empty(with_wall):
    # A hot ideal gas (LJ with epsilon 0) right at the pore surface: without the wall atoms fly into the pore.
    atoms = ring_of_atoms(radius_A=3.0, n=30)
    lj = LennardJones(sigma=1.0, epsilon=0.0, rc=3.0)
    # The atoms start 0.3-1.4 Å outside the wall, beyond its 0.26 Å range.
    wall = CylinderWall(3.0, epsilon_eV=0.1, sigma_A=0.3).calculator() if with_wall else None
    stages = [Stage("hot", "nvt", 3000, 3000, 0.3, timestep_fs=1.0)]
    frames = run_protocol(
        atoms, lj, stages, sample_every=2, seed=1, friction_per_fs=0.001, wall=wall, guards=Guards(min_distance_A=0.1)
    )
    rho_min = min(distance_to_axis(f.positions, f.cell.array)[0].min() for f in frames)
    if with_wall:
        assert rho_min > 3.0
    else:
        assert rho_min < 3.0
