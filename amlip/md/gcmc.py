"""GCMC adsorption of CO2 (MIL, PROTOCOLS 5): LAMMPS ``fix gcmc`` with a rigid TraPPE CO2 template.

Every ``exchange_every`` steps (MIL: 5) one insertion/deletion attempt and ``mc_moves`` rigid
translation/rotation moves of the guests; the chemical potential comes from ``pressure`` with fugacity
coefficient 1 (ideal gas, below 1 bar), mu = kT ln(phi P Lambda^3 / kT), which
``fix gcmc ... pressure P fugacity_coeff 1`` computes itself.

Departures from MIL, measured in this LAMMPS (22Jul2025) and stated here rather than hidden:

- guests move by MC, not MD: with ``fix rigid/nvt/small`` (the ``rigid`` keyword) the empty-box count
  comes out 2.2x PV/kT, and ``fix shake`` (the ``shake`` keyword) stops with "Shake atoms missing" after a
  deletion; MC-only exchanges give N = PV/kT (tests/test_lammps_engine.py).
- the force field is **classical**, labelled as such in every output: TraPPE CO2 (Potoff & Siepmann
  2001: C-O 1.16 Å, C eps/k 27 K sigma 2.80 Å q +0.70 e, O eps/k 79 K sigma 3.05 Å q -0.35 e, PPPM) in
  a frozen host with UFF Lennard-Jones parameters (Rappé et al. 1992), no host charges, Lorentz-Berthelot
  mixing. ``fix gcmc full_energy`` does add ``fix external`` energies (it calls post_force and reads the
  pe compute; tested), so a host-guest ML model could drive the exchanges, but the MACE models trained
  here know only the host elements.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Sequence

import numpy as np
from ase import Atoms, units
from ase.data import atomic_masses, atomic_numbers

log = logging.getLogger(__name__)


FORCE_FIELD = "classical: TraPPE CO2 + UFF Lennard-Jones frozen host (not the ML model)"
K_TO_EV = units.kB
# UFF (Rappé 1992): epsilon (kcal/mol), sigma = x_i / 2^(1/6) (Å).
UFF = {
    "H": (0.044, 2.571),
    "C": (0.105, 3.431),
    "N": (0.069, 3.261),
    "O": (0.060, 3.118),
    "Na": (0.030, 2.658),
    "Al": (0.505, 4.008),
    "Si": (0.402, 3.826),
    "Zn": (0.124, 2.462),
    "Zr": (0.069, 2.783),
    "Cu": (0.005, 3.114),
}
KCAL_MOL_TO_EV = units.kcal / units.mol
TRAPPE_CO2 = {"C": (27.0 * K_TO_EV, 2.80, 0.70), "O": (79.0 * K_TO_EV, 3.05, -0.35)}
CO2_MASS = atomic_masses[6] + 2 * atomic_masses[8]


def co2_molecule_file(path: str | Path, c_type: int, o_type: int) -> Path:
    """LAMMPS molecule template of TraPPE CO2 (C-O 1.16 Å, linear) with the given atom types."""
    path = Path(path)
    path.write_text(
        "# TraPPE CO2\n\n3 atoms\n2 bonds\n1 angles\n\nCoords\n\n1 0.0 0.0 0.0\n2 -1.16 0.0 0.0\n3 1.16 0.0 0.0\n\n"
        f"Types\n\n1 {c_type}\n2 {o_type}\n3 {o_type}\n\nCharges\n\n1 0.70\n2 -0.35\n3 -0.35\n\n"
        "Bonds\n\n1 1 1 2\n2 1 1 3\n\nAngles\n\n1 1 2 1 3\n\n"
        "Special Bond Counts\n\n1 2 0 0\n2 1 1 0\n3 1 1 0\n\nSpecial Bonds\n\n1 2 3\n2 1 3\n3 1 2\n\n"
        # SHAKE cluster type 1: two bonds and the angle of a 3-atom molecule, C first
        "Shake Flags\n\n1 1\n2 1\n3 1\n\nShake Atoms\n\n1 1 2 3\n2 1 2 3\n3 1 2 3\n\n"
        "Shake Bond Types\n\n1 1 1 1\n2 1 1 1\n3 1 1 1\n"
    )
    return path


def _host_data(host: Atoms, path: Path, host_species: Sequence[str]) -> None:
    """Data file (atom_style full) of the host with room for CO2 types, bonds and angles."""
    from ase.io import write

    n_types = len(host_species) + 2
    if len(host):
        write(str(path), host, format="lammps-data", specorder=list(host_species), atom_style="full", units="metal")
        text = path.read_text()
        text = text.replace(
            f"{len(host_species)} atom types",
            f"{n_types} atom types\n1 bond types\n1 angle types\n2 extra bond per atom\n1 extra angle per atom\n2 extra special per atom",
        )
        path.write_text(text)
    else:
        cell = host.cell.array
        path.write_text(
            "empty box for CO2\n\n0 atoms\n"
            f"{n_types} atom types\n1 bond types\n1 angle types\n2 extra bond per atom\n1 extra angle per atom\n2 extra special per atom\n\n"
            f"0 {cell[0, 0]:.8f} xlo xhi\n0 {cell[1, 1]:.8f} ylo yhi\n0 {cell[2, 2]:.8f} zlo zhi\n"
        )


def gcmc_commands(
    host: Atoms,
    data_file: str,
    mol_file: str,
    pressure_bar: float,
    temperature_K: float,
    seed: int,
    exchange_every: int = 5,
    timestep_fs: float = 1.0,
    cutoff_A: float = 10.0,
    mc_moves: int = 5,
) -> list[str]:
    """LAMMPS commands of an MD-GCMC run of CO2 in ``host`` (frozen) at ``pressure_bar`` and ``temperature_K``."""
    species = sorted(set(host.get_chemical_symbols()), key=lambda s: atomic_numbers[s])
    missing = [s for s in species if s not in UFF]
    if missing:
        raise KeyError(f"no UFF parameters for {missing} in amlip.md.gcmc.UFF; add them")
    c_type, o_type = len(species) + 1, len(species) + 2
    cmds = ["units metal", "atom_style full", "boundary p p p", f"read_data {data_file}"]
    for i, s in enumerate(species + ["C", "O"]):
        cmds.append(f"mass {i + 1} {atomic_masses[atomic_numbers[s]]:.6f}")
    cmds += [f"pair_style lj/cut/coul/long {cutoff_A}", "pair_modify mix arithmetic tail yes"]
    for i, s in enumerate(species):
        eps, sigma = UFF[s]
        cmds.append(f"pair_coeff {i + 1} {i + 1} {eps * KCAL_MOL_TO_EV:.8f} {sigma:.4f}")
    for t, s in ((c_type, "C"), (o_type, "O")):
        eps, sigma, _ = TRAPPE_CO2[s]
        cmds.append(f"pair_coeff {t} {t} {eps:.8f} {sigma:.4f}")
    cmds += [
        "bond_style harmonic",
        "bond_coeff 1 0.0 1.16",
        "angle_style harmonic",
        "angle_coeff 1 0.0 180.0",
        "kspace_style pppm 1.0e-4",
        # the box may start without charges (no guests yet): fix the Ewald splitting instead of estimating it
        f"kspace_modify gewald {3.0 / cutoff_A:.4f}",
        f"molecule co2 {mol_file}",
        "group host type " + " ".join(str(i + 1) for i in range(len(species))) if species else "group host empty",
        f"group co2 type {c_type} {o_type}",
        "neigh_modify exclude group host host every 1 delay 0 check yes" if species else "neigh_modify every 1 delay 0 check yes",
        f"timestep {timestep_fs / 1000.0:g}",
        # one exchange attempt and mc_moves rigid translations/rotations every exchange_every steps; fugacity = pressure
        f"fix exchange co2 gcmc {exchange_every} 1 {mc_moves} 0 {int(seed) % 900_000_000 + 1} {temperature_K:g} 0.0 1.0 mol co2 "
        f"maxangle 30 pressure {pressure_bar:g} fugacity_coeff 1 full_energy group co2",
        "compute_modify thermo_temp dynamic/dof yes",
        "variable n_co2 equal count(co2)/3",
        "thermo_style custom step temp pe v_n_co2 atoms",
    ]
    return cmds


def run_gcmc(
    host: Atoms,
    pressure_bar: float,
    temperature_K: float,
    n_steps: int,
    sample_every: int = 50,
    seed: int = 0,
    exchange_every: int = 5,
    equilibration_fraction: float = 0.5,
    cutoff_A: float = 10.0,
) -> dict:
    """One MD-GCMC run; returns mean CO2 count, its standard error, mean energy and the samples.

    ``host`` may be empty (an orthorhombic box with no atoms) for the ideal-gas check. Samples of the
    first ``equilibration_fraction`` of the run are dropped.
    """
    from amlip.md.lammps_engine import open_lammps

    species = sorted(set(host.get_chemical_symbols()), key=lambda s: atomic_numbers[s])
    with tempfile.TemporaryDirectory(prefix="amlip_gcmc_") as tmp:
        data, mol = Path(tmp) / "host.data", Path(tmp) / "co2.mol"
        _host_data(host, data, species)
        co2_molecule_file(mol, len(species) + 1, len(species) + 2)
        lmp = open_lammps()
        try:
            lmp.commands_list(
                gcmc_commands(host, str(data), str(mol), pressure_bar, temperature_K, seed, exchange_every, cutoff_A=cutoff_A)
            )
            counts, energies = [], []
            for step in range(0, n_steps, sample_every):
                lmp.command(f"run {sample_every} {'pre yes' if step == 0 else 'pre no'} post no")
                counts.append(lmp.extract_variable("n_co2"))
                energies.append(lmp.get_thermo("pe"))
        finally:
            lmp.close()
    keep = slice(int(len(counts) * equilibration_fraction), None)
    n = np.array(counts[keep], dtype=float)
    e = np.array(energies[keep], dtype=float)
    # samples are correlated: standard error from 4 blocks
    blocks = np.array([b.mean() for b in np.array_split(n, 4) if len(b)])
    return {
        "pressure_bar": pressure_bar,
        "temperature_K": temperature_K,
        "n_co2_mean": float(n.mean()),
        "n_co2_sem": float(blocks.std(ddof=1) / np.sqrt(len(blocks))) if len(blocks) > 1 else float("nan"),
        "energy_mean_eV": float(e.mean()),
        "n_samples": len(n),
        "counts": counts,
        "energies_eV": energies,
    }


def ideal_gas_molecules(pressure_bar: float, volume_A3: float, temperature_K: float) -> float:
    """N = PV/kT for an ideal gas (bar, Å^3, K)."""
    return pressure_bar * 1e5 * volume_A3 * 1e-30 / (units.kB * temperature_K * units._e)


def loading_curve(
    host: Atoms,
    pressures_bar: Sequence[float],
    temperature_K: float,
    n_steps: int,
    sample_every: int = 50,
    seed: int = 0,
    exchange_every: int = 5,
) -> list[dict]:
    """Loading (molecules per cell and mmol/g of host) at each pressure; rows for a CSV."""
    from amlip.properties.energetics import heat_of_adsorption

    host_mass_g_mol = float(host.get_masses().sum())
    rows = []
    for k, p in enumerate(pressures_bar):
        r = run_gcmc(host, p, temperature_K, n_steps, sample_every, seed + k, exchange_every)
        # frozen host, rigid guests: the potential energy is host-guest + guest-guest interaction only
        q = heat_of_adsorption(
            r["energies_eV"][len(r["energies_eV"]) // 2 :], [0.0], [0.0], temperature_K, max(r["n_co2_mean"], 1e-9)
        )
        rows.append(
            {
                "pressure_bar": p,
                "temperature_K": temperature_K,
                "n_co2_per_cell": r["n_co2_mean"],
                "n_co2_sem": r["n_co2_sem"],
                "loading_mmol_g": r["n_co2_mean"] / host_mass_g_mol * 1000.0 if host_mass_g_mol else float("nan"),
                "heat_of_adsorption_kJ_mol": q["Q_kJ_mol"] if r["n_co2_mean"] > 0 else float("nan"),
                "force_field": FORCE_FIELD,
            }
        )
        log.info("GCMC %.3g bar: %.2f +- %.2f CO2 per cell", p, r["n_co2_mean"], r["n_co2_sem"])
    return rows
