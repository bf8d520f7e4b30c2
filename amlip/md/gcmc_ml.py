"""Grand-canonical Monte Carlo of rigid CO2 with energies from any ASE calculator (MIL: the trained potential).

:mod:`amlip.md.gcmc` runs LAMMPS ``fix gcmc`` with the classical TraPPE/UFF model (the baseline); here
every move is accepted on the energy a calculator gives for the whole system, so the trained MACE
model (or any other potential that knows C and O) decides the adsorption. Moves (Frenkel and Smit,
Understanding Molecular Simulation, ch. 5.6): insertion and deletion (together ``p_exchange``),
translation within ``max_translation_A`` and rotation about the molecule's centre, each guest rigid
(C-O 1.16 Å). With an ideal-gas reservoir at fugacity f (= pressure below 1 bar, as MIL) and
N_ig = f V / kT ideal-gas molecules in the cell:

    insertion  acc = min(1, N_ig / (N + 1) exp(-dU / kT))
    deletion   acc = min(1, N / N_ig exp(-dU / kT))

dU is the change of the interaction energy U = E(host + guests) - E(host) - N E(guest), with E(host)
the frozen host alone and E(guest) one guest alone in a 20 Å box (intramolecular energy cancels).
The host stays frozen: MIL's MD-GCMC moves the framework between exchanges, which this sampler does
not (a frozen-host GCMC with the ML energies). :class:`PairLJ` is the classical host-guest model
(UFF host, TraPPE CO2 Lennard-Jones, Lorentz-Berthelot, no charges) as an ASE calculator: the
cheap calculator the tests and the tiny chain run this sampler with.
"""

from __future__ import annotations

import logging
from typing import Sequence

import numpy as np
from ase import Atoms, units
from ase.calculators.calculator import Calculator, all_changes

from amlip.md.gcmc import KCAL_MOL_TO_EV, TRAPPE_CO2, UFF

log = logging.getLogger(__name__)

CO2_TEMPLATE = np.array([[0.0, 0.0, 0.0], [1.16, 0.0, 0.0], [-1.16, 0.0, 0.0]])
GUEST_BOX_A = 20.0


def ideal_gas_number(pressure_bar: float, volume_A3: float, temperature_K: float) -> float:
    """N_ig = f V / kT: ideal-gas molecules of fugacity ``pressure_bar`` in ``volume_A3`` at ``temperature_K``."""
    return pressure_bar * 1e5 * volume_A3 * 1e-30 / (units.kB * temperature_K * units._e)


def random_rotation(rng: np.random.Generator) -> np.ndarray:
    """A uniformly random rotation matrix (from a random unit quaternion)."""
    q = rng.normal(size=4)
    a, b, c, d = q / np.linalg.norm(q)
    return np.array(
        [
            [a * a + b * b - c * c - d * d, 2 * (b * c - a * d), 2 * (b * d + a * c)],
            [2 * (b * c + a * d), a * a - b * b + c * c - d * d, 2 * (c * d - a * b)],
            [2 * (b * d - a * c), 2 * (c * d + a * b), a * a - b * b - c * c + d * d],
        ]
    )


class PairLJ(Calculator):
    """Lennard-Jones energy (eV) of every pair within ``cutoff_A`` under periodic boundaries: UFF for
    host elements, TraPPE for the C and O of CO2 (so host C/O take TraPPE too), Lorentz-Berthelot mixing."""

    implemented_properties = ["energy"]

    def __init__(self, cutoff_A: float = 10.0, **kwargs):
        super().__init__(**kwargs)
        self.cutoff_A = float(cutoff_A)

    @staticmethod
    def parameters_of(symbol: str) -> tuple[float, float]:
        """(epsilon eV, sigma Å) of an element: TraPPE for C and O, else UFF."""
        if symbol in TRAPPE_CO2:
            eps, sigma, _ = TRAPPE_CO2[symbol]
            return eps, sigma
        if symbol not in UFF:
            raise KeyError(f"no UFF parameters for {symbol} in amlip.md.gcmc.UFF; add them")
        eps, sigma = UFF[symbol]
        return eps * KCAL_MOL_TO_EV, sigma

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        try:  # matscipy's C neighbour list is ~30x faster than ASE's for a 10 Å cutoff in a small cell
            from matscipy.neighbours import neighbour_list as neighbor_list
        except ImportError:
            from ase.neighborlist import neighbor_list

        super().calculate(atoms, properties, system_changes)
        symbols = self.atoms.get_chemical_symbols()
        params = {s: self.parameters_of(s) for s in set(symbols)}
        eps = np.array([params[s][0] for s in symbols])
        sigma = np.array([params[s][1] for s in symbols])
        # every pair appears twice (i-j and j-i, an atom and its own image too): half the sum
        i, j, d = neighbor_list("ijd", self.atoms, self.cutoff_A)
        e = np.sqrt(eps[i] * eps[j])
        s6 = (0.5 * (sigma[i] + sigma[j]) / d) ** 6
        self.results["energy"] = float(0.5 * np.sum(4 * e * (s6 * s6 - s6)))


class GCMC:
    """Frozen-host GCMC of rigid CO2 with energies from ``calculator`` (see the module docstring).

    ``rng`` drives every random choice; the state is the host plus the guests' atom positions.
    """

    def __init__(
        self,
        host: Atoms,
        calculator,
        temperature_K: float,
        pressure_bar: float,
        rng: np.random.Generator,
        p_exchange: float = 0.5,
        max_translation_A: float = 1.0,
    ):
        self.host, self.calc, self.rng = host.copy(), calculator, rng
        self.beta = 1.0 / (units.kB * temperature_K)
        self.n_ig = ideal_gas_number(pressure_bar, host.get_volume(), temperature_K)
        self.p_exchange, self.max_translation_A = p_exchange, max_translation_A
        self.e_host = self._energy(self.host.copy())
        guest = Atoms("CO2", positions=CO2_TEMPLATE + GUEST_BOX_A / 2, cell=[GUEST_BOX_A] * 3, pbc=host.pbc)
        self.e_guest = self._energy(guest)
        self.guests: list[np.ndarray] = []
        self.u = 0.0  # interaction energy of the current state, eV
        self.accepted = {"insert": 0, "delete": 0, "translate": 0, "rotate": 0}
        self.attempted = dict.fromkeys(self.accepted, 0)

    def _energy(self, atoms: Atoms) -> float:
        atoms.calc = self.calc
        return float(atoms.get_potential_energy())

    def system(self, guests: Sequence[np.ndarray] | None = None) -> Atoms:
        """Host plus guests (the current ones by default) as a new Atoms."""
        guests = self.guests if guests is None else guests
        symbols = self.host.get_chemical_symbols() + ["C", "O", "O"] * len(guests)
        positions = np.vstack([self.host.positions, *guests]) if guests else self.host.positions.copy()
        return Atoms(symbols, positions=positions, cell=self.host.cell, pbc=self.host.pbc)

    def interaction(self, guests: Sequence[np.ndarray]) -> float:
        """U = E(host + guests) - E(host) - N E(guest), eV."""
        if not guests:
            return 0.0
        return self._energy(self.system(guests)) - self.e_host - len(guests) * self.e_guest

    def _new_guest(self) -> np.ndarray:
        centre = self.rng.random(3) @ self.host.cell.array
        return centre + CO2_TEMPLATE @ random_rotation(self.rng).T

    def step(self) -> None:
        """One Monte Carlo move (exchange, translation or rotation), accepted by Metropolis."""
        n = len(self.guests)
        r = self.rng.random()
        if r < self.p_exchange:
            if self.rng.random() < 0.5:
                move, trial = "insert", self.guests + [self._new_guest()]
            elif n:
                k = self.rng.integers(n)
                move, trial = "delete", self.guests[:k] + self.guests[k + 1 :]
            else:
                self.attempted["delete"] += 1
                return
        elif n:
            k = self.rng.integers(n)
            g = self.guests[k]
            if r < self.p_exchange + (1 - self.p_exchange) / 2:
                move, moved = "translate", g + self.rng.uniform(-1, 1, 3) * self.max_translation_A
            else:
                centre = g[0]
                move, moved = "rotate", centre + (g - centre) @ random_rotation(self.rng).T
            trial = self.guests[:k] + [moved] + self.guests[k + 1 :]
        else:
            return
        self.attempted[move] += 1
        u_new = self.interaction(trial)
        log_factor = 0.0
        if move == "insert":
            log_factor = np.log(self.n_ig / (n + 1))
        elif move == "delete":
            log_factor = np.log(n / self.n_ig)
        if np.log(self.rng.random()) < log_factor - self.beta * (u_new - self.u):
            self.guests, self.u = trial, u_new
            self.accepted[move] += 1


def run_gcmc_ase(
    host: Atoms,
    calculator,
    temperature_K: float,
    pressure_bar: float,
    n_steps: int,
    sample_every: int = 10,
    seed: int = 0,
    equilibration_fraction: float = 0.5,
    p_exchange: float = 0.5,
    max_translation_A: float = 1.0,
) -> dict:
    """One GCMC run; samples of the guest count N and the interaction energy U (eV) after equilibration.

    Returns ``counts``, ``energies_eV`` (U per sample), ``n_ig`` (ideal-gas molecules in the cell),
    the acceptance ratio per move and the last configuration (``final``: host + guests).
    """
    sampler = GCMC(host, calculator, temperature_K, pressure_bar, np.random.default_rng(seed), p_exchange, max_translation_A)
    counts, energies = [], []
    start = int(n_steps * equilibration_fraction)
    for step in range(n_steps):
        sampler.step()
        if step >= start and (step - start) % sample_every == 0:
            counts.append(len(sampler.guests))
            energies.append(sampler.u)
    acceptance = {
        m: sampler.accepted[m] / sampler.attempted[m] if sampler.attempted[m] else float("nan") for m in sampler.accepted
    }
    log.info(
        "GCMC %.3g bar, %g K: <N> = %.3f (N_ig %.3f), acceptance %s",
        pressure_bar,
        temperature_K,
        np.mean(counts),
        sampler.n_ig,
        acceptance,
    )
    return {
        "pressure_bar": pressure_bar,
        "temperature_K": temperature_K,
        "counts": np.array(counts, dtype=float),
        "energies_eV": np.array(energies, dtype=float),
        "n_ig": sampler.n_ig,
        "acceptance": acceptance,
        "final": sampler.system(),
    }
