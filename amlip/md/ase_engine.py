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


def committee_sigma(atoms: Atoms, model, committee: Sequence | None) -> float | None:
    """sigma_max (eV/Å) of the current step: from the forces of every member the driving ``model``
    already computed (a committee calculator's ``forces_comm``: no extra call), else by evaluating
    each calculator of ``committee`` on a copy of ``atoms``; None without either."""
    from amlip.models.committee import committee_force_deviation

    forces = model.results.get("forces_comm") if model is not None else None
    if forces is not None and len(forces) < 2:  # a single model: no deviation to read
        forces = None
    if forces is None and committee:
        forces = []
        for member in committee:
            copy = atoms.copy()
            copy.calc = member
            forces.append(copy.get_forces())
    return None if forces is None else committee_force_deviation(np.asarray(forces))


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
    model=None,
    committee: Sequence | None = None,
    committee_sigma_max_eV_A: float | None = None,
    committee_every: int = 50,
) -> list[Atoms]:
    """Run the stages one after another on ``atoms`` with ``calculator``.

    The thermostat and barostat settings (:func:`amlip.md.integrators.make_integrator`) come from
    the run's config block; those a stage's ensemble needs must be given.
    ``wall`` is an optional extra ASE calculator summed with the model (e.g. the pore wall,
    :meth:`amlip.structures.pores.CylinderWall.calculator`); frame energies then include it.

    The committee force deviation sigma_max (eV/Å) is recorded on every sampled frame
    (info ``committee_sigma_max``) when ``model`` (the ML part of ``calculator``, before a wall or
    D3 is added) is a committee calculator, and checked every ``committee_every`` steps against
    ``committee_sigma_max_eV_A`` (with ``committee``, a list of member calculators, when the driving
    model is a single member). The guards (:func:`amlip.md.guards.check_guards`) run every
    ``guards.check_every`` steps and at the last step of every stage, so a run cannot end in a
    state they refuse.

    Returns the sampled frames, each with info ``step``, ``time_ps``, ``stage``,
    ``target_T_K``, ``T_K``, ``density_g_cm3`` and ``epot_eV``. Progress (step, T, density,
    ETA) goes to the logger. A guard violation raises :class:`MDGuardError`; the frames
    sampled so far are attached as ``exc.frames`` so the caller can save them.
    """
    from ase.md.velocitydistribution import MaxwellBoltzmannDistribution, Stationary

    from amlip.models.committee import SIGMA_KEY

    guards = guards or Guards()
    if committee_sigma_max_eV_A is not None and committee is None and model is None:
        raise ValueError("a committee guard needs the committee: pass model (a committee calculator) or committee")
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
    free_sigma = model is not None and committee is None

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
            step = done + 1
            sample = step % sample_every == 0 or step == total
            audit = committee_sigma_max_eV_A is not None and (step % committee_every == 0 or free_sigma)
            sigma = None
            try:
                dyn.run(1)
                if step % guards.check_every == 0 or k == stage.n_steps - 1:
                    check_guards(atoms, peak_K, guards, step)
                if audit or (sample and free_sigma):
                    sigma = committee_sigma(atoms, model, committee)
                if audit and sigma is not None and sigma > committee_sigma_max_eV_A:
                    raise MDGuardError(
                        f"committee force deviation {sigma:.3f} eV/Å above {committee_sigma_max_eV_A} eV/Å at step {step} "
                        f"(stage {stage.name}, {atoms.get_temperature():.0f} K): the model is extrapolating"
                    )
            except MDGuardError as exc:
                exc.frames = frames
                exc.step = step
                raise
            done = step
            t_ps += stage.timestep_fs / 1000.0
            if sample:
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
                if sigma is not None:
                    frame.info[SIGMA_KEY] = sigma
                frames.append(frame)
            now = time.perf_counter()
            if now - last_report > progress_every_s or done == total:
                last_report = now
                eta = (now - started) / done * (total - done)
                log.info(
                    "step %d/%d stage %s T=%.0f K (target %.0f) density=%.3f g/cm3%s ETA %.0f s",
                    done,
                    total,
                    stage.name,
                    atoms.get_temperature(),
                    target,
                    density_g_cm3(atoms),
                    f" sigma_max={sigma:.3f} eV/Å" if sigma is not None else "",
                    eta,
                )
    return frames
