"""Exploration: generate unlabelled candidate frames.

Iteration 0 perturbs the starting structures (rattle, strain, volume scaling); later
iterations run MD with the current committee (:func:`committee_md`).
"""

from __future__ import annotations

import logging
from typing import Sequence

import numpy as np
from ase import Atoms

from amlip.md.integrators import make_integrator

log = logging.getLogger(__name__)


def perturb(
    structures: Sequence[Atoms],
    n_per_structure: int,
    rattle_std_A: float = 0.05,
    max_strain: float = 0.03,
    scale_range: tuple[float, float] = (0.95, 1.05),
    seed: int = 0,
) -> list[Atoms]:
    """Rattled, strained and volume-scaled copies of each structure.

    Each copy gets a random isotropic linear scale in ``scale_range``, a random symmetric
    strain with components up to ``max_strain``, and Gaussian displacements of
    ``rattle_std_A`` (Å) per Cartesian component. Info ``source`` and ``perturbation`` say how.
    """
    rng = np.random.default_rng(seed)
    frames = []
    for s_index, base in enumerate(structures):
        for k in range(n_per_structure):
            atoms = base.copy()
            scale = rng.uniform(*scale_range)
            eps = rng.uniform(-max_strain, max_strain, size=(3, 3))
            eps = 0.5 * (eps + eps.T)
            deform = scale * (np.eye(3) + eps)
            atoms.set_cell(atoms.cell.array @ deform, scale_atoms=True)
            atoms.positions += rng.normal(scale=rattle_std_A, size=atoms.positions.shape)
            atoms.wrap()
            atoms.info["source"] = base.info.get("source", f"structure_{s_index}")
            atoms.info["perturbation"] = f"scale={scale:.4f};strain_max={np.abs(eps).max():.4f};rattle={rattle_std_A}"
            frames.append(atoms)
    return frames


def committee_md(
    structures: Sequence[Atoms],
    calculator,
    temperatures_K: Sequence[float],
    n_steps: int,
    sample_every: int,
    *,
    timestep_fs: float,
    ensemble: str,
    friction_per_fs: float | None = None,
    taut_fs: float | None = None,
    taup_fs: float | None = None,
    seed: int = 0,
) -> list[Atoms]:
    """MD with the committee's mean forces from each structure at each temperature.

    ``ensemble`` is ``nvt`` (Langevin, ``friction_per_fs``) or ``npt`` (Langevin-Hoover at zero
    pressure, ``taut_fs``/``taup_fs``, so that the committee meets the
    densities it would produce and is corrected there): the ``explore.md`` settings. Sampled frames
    carry ``committee_sigma_max`` (eV/Å), ``md_temperature_K`` and ``source``. A trajectory that
    blows up (non-finite forces) ends early and keeps what it sampled.
    """
    from ase.md.velocitydistribution import MaxwellBoltzmannDistribution

    if ensemble not in ("nvt", "npt"):
        raise ValueError(f"explore.md.ensemble must be 'nvt' or 'npt', got '{ensemble}'")

    from amlip.models.committee import SIGMA_KEY, committee_force_deviation

    rng = np.random.default_rng(seed)
    frames: list[Atoms] = []
    for s_index, start in enumerate(structures):
        for temperature in temperatures_K:
            atoms = start.copy()
            atoms.calc = calculator
            MaxwellBoltzmannDistribution(atoms, temperature_K=temperature, rng=rng)
            dyn = make_integrator(
                atoms,
                ensemble,
                temperature,
                timestep_fs,
                rng=rng,
                friction_per_fs=friction_per_fs,
                taut_fs=taut_fs,
                taup_fs=taup_fs,
            )
            for step in range(sample_every, n_steps + 1, sample_every):
                dyn.run(sample_every)
                forces = calculator.results.get("forces_comm")
                if forces is None:
                    forces = calculator.results["forces"][None]
                if not np.all(np.isfinite(forces)):
                    log.warning("MD from structure %d at %s K blew up at step %d", s_index, temperature, step)
                    break
                frame = atoms.copy()
                frame.calc = None
                frame.info.update(
                    source=f"{start.info.get('source', s_index)}:md{temperature:g}K",
                    md_temperature_K=float(temperature),
                    md_step=step,
                )
                frame.info[SIGMA_KEY] = committee_force_deviation(forces)
                frames.append(frame)
            log.info("explored structure %d at %g K: %d frames", s_index, temperature, len(frames))
    return frames
