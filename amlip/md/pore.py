"""MD and relaxation of a pore with its repulsive wall (AS, PROTOCOLS 5): melt-quench, anneal, fixed-cell relaxation."""

from __future__ import annotations

import logging
from typing import Mapping

import numpy as np
from ase import Atoms

from amlip.structures.pores import pore_wall

log = logging.getLogger(__name__)


def relax_pore(
    atoms: Atoms, calculator, wall=None, fmax_eV_A: float = 0.05, max_steps: int = 500, optimizer: str = "FIRE"
) -> tuple[Atoms, dict]:
    """Relax positions at fixed cell with ``calculator`` (plus the ``wall`` calculator when given).

    The geometric hydroxylation leaves O-O contacts near 2 Å; this relaxation (AS: with the syn
    potential) removes them before MD. ``optimizer`` is an ASE optimizer name (FIRE, BFGS, LBFGS).
    Returns the relaxed copy (no calculator) and ``{"converged", "steps", "fmax_eV_A",
    "energy_start_eV", "energy_eV"}`` (energies include the wall; eV, eV/Å).
    """
    import ase.optimize

    if not hasattr(ase.optimize, optimizer):
        raise ValueError(f"pore.relax.optimizer '{optimizer}' is not an ASE optimizer (FIRE, BFGS, LBFGS)")
    relaxed = atoms.copy()
    if wall is not None:
        from ase.calculators.mixing import SumCalculator

        calculator = SumCalculator([calculator, wall])
    relaxed.calc = calculator
    e_start = float(relaxed.get_potential_energy())
    opt = getattr(ase.optimize, optimizer)(relaxed, logfile=None)
    converged = bool(opt.run(fmax=fmax_eV_A, steps=max_steps))
    summary = {
        "converged": converged,
        "steps": int(opt.nsteps),
        "fmax_eV_A": float(np.linalg.norm(relaxed.get_forces(), axis=1).max()),
        "energy_start_eV": e_start,
        "energy_eV": float(relaxed.get_potential_energy()),
    }
    log.info(
        "relaxation (%s): E %.3f -> %.3f eV in %d steps, max force %.3f eV/Å (%s)",
        optimizer,
        e_start,
        summary["energy_eV"],
        summary["steps"],
        summary["fmax_eV_A"],
        "converged" if converged else "NOT converged",
    )
    out = relaxed.copy()
    out.calc = None
    return out, summary


def pore_md(
    atoms: Atoms,
    calculator,
    *,
    radius_A: float,
    wall: Mapping,
    protocol: str,
    time_scale: float,
    timestep_fs: float | None,
    sample_every: int,
    friction_per_fs: float,
    taut_fs: float,
    taup_fs: float,
    guards: Mapping,
    seed: int = 0,
) -> tuple[list[Atoms], list]:
    """Run an MD preset on a pore cell with the model and the pore wall (AS melt-quench or anneal).

    ``radius_A`` and ``wall`` (style, epsilon_eV, sigma_A, cutoff_A) are the config's ``pore``
    block; the other settings its ``melt_quench`` or ``anneal`` sub-block: the preset
    ``protocol`` scaled by ``time_scale`` (``timestep_fs`` None keeps the preset's), the
    thermostat and barostat of :func:`amlip.md.integrators.make_integrator` and the
    :class:`amlip.md.guards.Guards` bounds. The wall comes from :func:`pore_wall` on the starting
    structure. Returns the sampled frames (:func:`amlip.md.ase_engine.run_protocol`) and the stages.
    A guard violation raises :class:`amlip.md.guards.MDGuardError` with the frames so far as ``exc.frames``.
    """
    from amlip.md.ase_engine import run_protocol
    from amlip.md.guards import Guards
    from amlip.md.protocols import schedule

    cylinder = pore_wall(atoms, radius_A, **wall)
    stages = schedule(protocol, time_scale, timestep_fs)
    n_steps = sum(s.n_steps for s in stages)
    log.info(
        "%s x%g (%d steps) on %s with the wall at %.2f Å",
        protocol,
        time_scale,
        n_steps,
        atoms.get_chemical_formula(),
        cylinder.radius_A,
    )
    frames = run_protocol(
        atoms,
        calculator,
        stages,
        sample_every=sample_every,
        seed=seed,
        friction_per_fs=friction_per_fs,
        taut_fs=taut_fs,
        taup_fs=taup_fs,
        guards=Guards(**guards),
        wall=cylinder.calculator(),
    )
    return frames, stages
