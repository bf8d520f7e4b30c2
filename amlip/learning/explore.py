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


def production_exploration(
    start: Atoms,
    calculator,
    stages: Sequence,
    *,
    sample_every: int,
    seed: int,
    friction_per_fs: float,
    taut_fs: float,
    taup_fs: float,
    guards,
    stop_sigma_eV_A: float,
    average_last_fraction: float,
) -> tuple[list[Atoms], dict]:
    """The production protocol itself (the melt-quench ``stages``) with the committee ``calculator``.

    Every sampled frame carries ``committee_sigma_max`` (read from the committee's own forces, no
    extra call); the run stops when sigma_max exceeds ``stop_sigma_eV_A`` or a guard fires, and
    keeps what it sampled (the frames before a failure are the ones to label). Returns the frames
    and a summary: ``completed``, ``stop_reason``, ``n_frames``, ``last_step`` and
    ``density_g_cm3``, the mean density over the last ``average_last_fraction`` of the frames of a
    completed run, within its final stage (None otherwise; amlip.properties.structure.glass_tail),
    the production property the convergence decision compares.
    """
    from amlip.md.engines import run_md
    from amlip.md.guards import MDGuardError
    from amlip.properties.structure import glass_tail

    try:
        frames = run_md(
            "ase",
            start,
            calculator,
            stages,
            sample_every=sample_every,
            seed=seed,
            friction_per_fs=friction_per_fs,
            taut_fs=taut_fs,
            taup_fs=taup_fs,
            guards=guards,
            committee_sigma_max_eV_A=stop_sigma_eV_A,
            committee_every=1,
        )
        completed, reason = True, ""
    except MDGuardError as error:
        frames, completed, reason = error.frames, False, str(error)
        log.warning("production exploration stopped: %s (%d frames kept)", reason, len(frames))
    density = None
    if completed and frames:
        density = float(np.mean([a.info["density_g_cm3"] for a in glass_tail(frames, average_last_fraction)]))
    for atoms in frames:
        atoms.info["explore_mode"] = "production"
    summary = {
        "completed": completed,
        "stop_reason": reason,
        "n_frames": len(frames),
        "last_step": int(frames[-1].info["step"]) if frames else 0,
        "density_g_cm3": density,
    }
    return frames, summary


def classical_exploration(
    start: Atoms, potential: dict, stages: Sequence, *, n_frames: int, seed: int, taut_fs: float, taup_fs: float, guards
) -> list[Atoms]:
    """``n_frames`` frames spread evenly over the production protocol (``stages``) run with a
    classical LAMMPS ``potential`` (a ``label.lammps`` block, e.g. BKS): cheap, physical
    configurations of the melt, the quench and the glass before any model exists. The frames carry
    positions and cell only (their labels come from the reference labeler); info ``explore_mode``
    is ``classical``.
    """
    from amlip.md.lammps_engine import run_protocol_lammps

    total = sum(stage.n_steps for stage in stages)
    frames = run_protocol_lammps(
        start,
        None,
        stages,
        sample_every=max(1, total // n_frames),
        seed=seed,
        taut_fs=taut_fs,
        taup_fs=taup_fs,
        guards=guards,
        potential=potential,
    )
    for atoms in frames:
        for key in ("epot_eV", "press_GPa"):  # the classical potential's: never mistaken for labels
            atoms.info.pop(key, None)
        atoms.info["explore_mode"] = "classical"
    return frames[-n_frames:]
