"""ML-driven adsorption (MIL): GCMC with any ASE calculator, the isosteric heat from fluctuations, binding energies."""

import numpy as np
import pytest
from ase import Atoms, units
from ase.calculators.calculator import Calculator, all_changes

from amlip.md.gcmc_ml import GUEST_BOX_A, PairLJ, ideal_gas_number, run_gcmc_ase
from amlip.properties.adsorption import binding_energy, binding_table, calculator_energy, isosteric_heat, isotherm_row

KJ_MOL = units.mol / units.kJ


class Well(Calculator):
    """Ideal gas with a constant well: every C (one per CO2) in the slab x < phi L of the host cell is at -eps (eV).
    A guest alone in its own box (the gas phase) is at 0."""

    implemented_properties = ["energy"]

    def __init__(self, eps: float, phi: float):
        super().__init__()
        self.eps, self.phi = eps, phi

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        if np.allclose(self.atoms.cell.lengths(), GUEST_BOX_A):
            self.results["energy"] = 0.0
            return
        carbons = self.atoms.get_scaled_positions()[np.array(self.atoms.get_chemical_symbols()) == "C"]
        self.results["energy"] = -self.eps * float(np.sum(carbons[:, 0] < self.phi))


def analytic(eps: float, phi: float, n_ig: float, temperature_K: float) -> tuple[float, float]:
    """<N> and q_st (kJ/mol) of the ideal gas with a well of depth eps over a fraction phi of the box."""
    kt = units.kB * temperature_K
    inside, outside = n_ig * phi * np.exp(eps / kt), n_ig * (1 - phi)
    return inside + outside, (kt + eps * inside / (inside + outside)) * KJ_MOL


@pytest.mark.parametrize("eps, phi", [(0.05, 1.0), (0.06, 0.5)], ids=["well_everywhere", "well_in_half"])
def test_gcmc_recovers_the_ideal_gas_in_a_well(eps, phi):
    temperature = 300.0
    host = Atoms(cell=[25.0] * 3, pbc=True)  # empty box: only the well acts
    pressure = ideal_gas_number(1.0, 1.0, temperature) ** -1 / host.get_volume()  # N_ig = 1 molecule in the cell
    run = run_gcmc_ase(host, Well(eps, phi), temperature, pressure, 16000, sample_every=4, seed=3, equilibration_fraction=0.1)
    assert run["n_ig"] == pytest.approx(1.0)
    n_expected, q_expected = analytic(eps, phi, run["n_ig"], temperature)
    row = isotherm_row(run, 0.0, "well")
    assert row["q_st_kJ_mol"] == pytest.approx(q_expected, rel=0.02)  # the 2 %
    assert row["n_per_cell"] == pytest.approx(n_expected, rel=0.05)
    assert 0.3 < run["acceptance"]["insert"] < 1.0 and 0.3 < run["acceptance"]["delete"] < 1.0
    # MIL's heat of adsorption per guest, <U>/<N> - RT, is -q_st when every guest is in the well
    if phi == 1.0:
        assert row["q_st_kJ_mol"] == pytest.approx((eps + units.kB * temperature) * KJ_MOL, rel=1e-9)
        u_per_n = np.mean(run["energies_eV"]) / np.mean(run["counts"])
        assert u_per_n == pytest.approx(-eps)


def test_isosteric_heat_of_synthetic_samples():
    rng = np.random.default_rng(0)
    n = rng.poisson(5.0, 200_000).astype(float)
    u = -0.1 * n + rng.normal(0, 0.01, n.size)  # every guest at -0.1 eV, noise uncorrelated with N
    assert isosteric_heat(n, u, 300.0) == pytest.approx((0.1 + units.kB * 300.0) * KJ_MOL, rel=2e-3)
    assert np.isnan(isosteric_heat([2, 2, 2], [0.0, 0.1, 0.2], 300.0))


def stand_in_host():
    """A small Al-O framework (two Al-OH rods along y) with room for CO2 along x."""
    symbols, positions = [], []
    for z0 in (0.0, 4.0):
        for k in range(4):
            symbols += ["Al", "O", "O"]
            positions += [(0.0, 2.9 * k, z0), (0.846, 2.9 * k + 1.45, z0 + 0.846), (-0.846, 2.9 * k + 1.45, z0 - 0.846)]
    return Atoms(symbols, positions=positions, cell=[14.0, 11.6, 8.0], pbc=True)


def test_pair_lj_matches_lammps_lj_cut(tmp_path):
    """PairLJ (UFF host, TraPPE C and O, Lorentz-Berthelot, 10 Å cutoff) against LAMMPS pair lj/cut with mix arithmetic:
    the host-guest interaction E(host + guests) - E(host) (the frozen host's own ~3000 eV repulsion cancels)."""
    from ase.io import write

    from amlip.md.gcmc import KCAL_MOL_TO_EV, TRAPPE_CO2, UFF
    from amlip.md.lammps_engine import open_lammps

    species = ["Al", "O", "C"]  # TraPPE O for every O, as PairLJ does

    def lammps_energy(atoms, name):
        write(tmp_path / name, atoms, format="lammps-data", specorder=species, atom_style="atomic")
        lmp = open_lammps()
        try:
            lmp.commands_list(["units metal", "atom_style atomic", f"read_data {tmp_path / name}", "pair_style lj/cut 10.0"])
            lmp.command("pair_modify mix arithmetic")
            for t, s in enumerate(species, start=1):
                eps, sigma = (TRAPPE_CO2[s][0], TRAPPE_CO2[s][1]) if s in TRAPPE_CO2 else (UFF[s][0] * KCAL_MOL_TO_EV, UFF[s][1])
                lmp.commands_list([f"mass {t} 1.0", f"pair_coeff {t} {t} {eps:.12f} {sigma:.8f}"])
            lmp.command("run 0")
            return lmp.get_thermo("pe")
        finally:
            lmp.close()

    host = stand_in_host()
    loaded = host + Atoms("COO", positions=[(7, 5, 4), (7, 8.5, 1), (10, 2, 6)])
    ours = calculator_energy(PairLJ(10.0))
    interaction = ours(loaded) - ours(host)
    assert interaction == pytest.approx(lammps_energy(loaded, "loaded") - lammps_energy(host, "host"), abs=1e-6)
    assert -0.5 < interaction < -0.01  # attraction of three guest atoms in the pore, eV


def test_binding_energy_is_the_host_guest_interaction():
    host = stand_in_host()
    co2 = Atoms("CO2", positions=[(7, 5, 2), (8.16, 5, 2), (5.84, 5, 2)])
    energy = calculator_energy(PairLJ(10.0))
    e_b = binding_energy(host + co2, 3, energy)
    # independent: the host-guest LJ pairs plus the guest's pairs with its own periodic images (the 8 Å cell height is
    # below the 10 Å cutoff), every image within the cutoff
    from ase.neighborlist import neighbor_list

    loaded = host + co2
    i, j, d = neighbor_list("ijd", loaded, 10.0)
    guest = np.arange(len(host), len(loaded))
    mask = np.isin(i, guest) & ~np.isin(j, guest)
    params = {s: PairLJ.parameters_of(s) for s in set(loaded.get_chemical_symbols())}
    sym = loaded.get_chemical_symbols()
    host_guest = 0.0
    guest_guest_images = 0.0
    for a, b, r in zip(i, j, d):
        ea, sa = params[sym[a]]
        eb, sb = params[sym[b]]
        e = 4 * np.sqrt(ea * eb) * ((0.5 * (sa + sb) / r) ** 12 - (0.5 * (sa + sb) / r) ** 6)
        if a in guest and b not in guest:
            host_guest += e
        elif a in guest and b in guest and r > 2.4:  # the guest and its own periodic images
            guest_guest_images += e / 2
    assert mask.any()
    assert e_b == pytest.approx((host_guest + guest_guest_images) * KJ_MOL, abs=1e-6)
    assert e_b < 0  # CO2 is attracted by the framework
    table = binding_table({"site": host + co2}, {"reference": energy, "model": lambda a: energy(a) * 1.1})
    assert table.error_kJ_mol.iloc[0] == pytest.approx(0.1 * table.E_b_reference_kJ_mol.iloc[0], rel=1e-9)
