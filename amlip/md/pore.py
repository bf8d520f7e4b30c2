"""MD and relaxation of a pore with its repulsive wall (AS, PROTOCOLS 5): melt-quench, anneal, fixed-cell relaxation."""

from __future__ import annotations

import logging

import numpy as np
from ase import Atoms

from amlip.structures.pores import pore_wall

log = logging.getLogger(__name__)


def relax_pore(atoms: Atoms, calculator, wall=None, fmax_eV_A: float = 0.05, max_steps: int = 500, optimizer: str = "FIRE") -> tuple[Atoms, dict]:
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
        optimizer, e_start, summary["energy_eV"], summary["steps"], summary["fmax_eV_A"], "converged" if converged else "NOT converged",
    )
    out = relaxed.copy()
    out.calc = None
    return out, summary


def pore_md(atoms: Atoms, calculator, pore: dict, md: dict, seed: int = 0) -> tuple[list[Atoms], list]:
    """Run an MD preset on a pore cell with the model and the pore wall (AS melt-quench or anneal).

    ``pore`` is the config's ``pore`` block (radius_A, wall), ``md`` its ``melt_quench`` or
    ``anneal`` sub-block (protocol, time_scale, timestep_fs, sample_every, friction_per_fs,
    taut_fs, taup_fs, bulk_modulus_GPa, guards). The wall comes from :func:`pore_wall` on the
    starting structure. Returns the sampled frames (:func:`amlip.md.ase_engine.run_protocol`) and the stages.
    A guard violation raises :class:`amlip.md.guards.MDGuardError` with the frames so far as ``exc.frames``.
    """
    from amlip.md.ase_engine import run_protocol
    from amlip.md.guards import Guards
    from amlip.md.protocols import schedule

    wall = pore_wall(atoms, pore["radius_A"], **(pore.get("wall") or {}))
    stages = schedule(md.get("protocol", "melt_quench_AS"), md.get("time_scale", 1.0), md.get("timestep_fs"))
    log.info("%s x%g (%d steps) on %s with the wall at %.2f Å", md.get("protocol"), md.get("time_scale", 1.0), sum(s.n_steps for s in stages), atoms.get_chemical_formula(), wall.radius_A)
    frames = run_protocol(
        atoms,
        calculator,
        stages,
        sample_every=md.get("sample_every", 10),
        seed=seed,
        friction_per_fs=md.get("friction_per_fs", 0.01),
        taut_fs=md.get("taut_fs", 100.0),
        taup_fs=md.get("taup_fs", 1000.0),
        bulk_modulus_GPa=md.get("bulk_modulus_GPa", 40.0),
        guards=Guards(**(md.get("guards") or {})),
        wall=wall.calculator(),
    )
    return frames, stages
