"""The ASE engine: a protocol run with ASE MD (Langevin for NVT, Langevin thermostat + Langevin-Hoover barostat for NpT)."""

from __future__ import annotations

import logging
import time
from typing import Sequence

import numpy as np
from ase import Atoms

from amlip.md.guards import Guards, MDGuardError, check_guards
from amlip.md.integrators import make_integrator
from amlip.md.protocols import Stage
from amlip.structures.crystals import density_g_cm3

log = logging.getLogger(__name__)


def run_protocol(
    atoms: Atoms,
    calculator,
    stages: Sequence[Stage],
    sample_every: int = 10,
    seed: int = 0,
    friction_per_fs: float | None = None,
    taut_fs: float | None = None,
    taup_fs: float | None = None,
    guards: Guards | None = None,
    progress_every_s: float = 10.0,
    wall=None,
) -> list[Atoms]:
    """Run the stages one after another on ``atoms`` with ``calculator``.

    The thermostat and barostat settings (:func:`amlip.md.integrators.make_integrator`) come from
    the run's config block; those a stage's ensemble needs must be given.
    ``wall`` is an optional extra ASE calculator summed with the model (e.g. the pore wall,
    :meth:`amlip.structures.pores.CylinderWall.calculator`); frame energies then include it.

    Returns the sampled frames, each with info ``step``, ``time_ps``, ``stage``,
    ``target_T_K``, ``T_K``, ``density_g_cm3`` and ``epot_eV``. Progress (step, T, density,
    ETA) goes to the logger. A guard violation raises :class:`MDGuardError`; the frames
    sampled so far are attached as ``exc.frames`` so the caller can save them.
    """
    from ase.md.velocitydistribution import MaxwellBoltzmannDistribution, Stationary

    guards = guards or Guards()
    atoms = atoms.copy()
    if wall is not None:
        from ase.calculators.mixing import SumCalculator

        calculator = SumCalculator([calculator, wall])
    atoms.calc = calculator
    rng = np.random.default_rng(seed)
    MaxwellBoltzmannDistribution(atoms, temperature_K=stages[0].T_start_K, rng=rng)
    Stationary(atoms)
    frames: list[Atoms] = []
    total = sum(s.n_steps for s in stages)
    done, t_ps = 0, 0.0
    started = last_report = time.perf_counter()

    previous_peak_K = 0.0
    for stage in stages:
        peak_K = max(stage.T_start_K, stage.T_end_K, previous_peak_K)
        previous_peak_K = max(stage.T_start_K, stage.T_end_K)
        if stage.ensemble not in ("nvt", "npt"):
            raise ValueError(f"stage {stage.name}: ensemble must be 'nvt' or 'npt', got '{stage.ensemble}'")
        dyn = make_integrator(
            atoms,
            stage.ensemble,
            stage.T_start_K,
            stage.timestep_fs,
            rng=rng,
            friction_per_fs=friction_per_fs,
            taut_fs=taut_fs,
            taup_fs=taup_fs,
            pressure_GPa=stage.pressure_GPa,
        )
        for k in range(stage.n_steps):
            frac = (k + 1) / stage.n_steps
            target = stage.T_start_K + frac * (stage.T_end_K - stage.T_start_K)
            dyn.set_temperature(temperature_K=target)
            try:
                dyn.run(1)
                if (done + 1) % guards.check_every == 0:
                    check_guards(atoms, peak_K, guards, done + 1)
            except MDGuardError as exc:
                exc.frames = frames
                raise
            done += 1
            t_ps += stage.timestep_fs / 1000.0
            if done % sample_every == 0 or done == total:
                frame = atoms.copy()
                frame.calc = None
                frame.info.update(
                    step=done,
                    time_ps=round(t_ps, 6),
                    stage=stage.name,
                    target_T_K=round(target, 3),
                    T_K=float(atoms.get_temperature()),
                    density_g_cm3=density_g_cm3(atoms),
                    epot_eV=float(atoms.get_potential_energy()),
                )
                frames.append(frame)
            now = time.perf_counter()
            if now - last_report > progress_every_s or done == total:
                last_report = now
                eta = (now - started) / done * (total - done)
                log.info(
                    "step %d/%d stage %s T=%.0f K (target %.0f) density=%.3f g/cm3 ETA %.0f s",
                    done,
                    total,
                    stage.name,
                    atoms.get_temperature(),
                    target,
                    density_g_cm3(atoms),
                    eta,
                )
    return frames
