"""The one builder of ASE MD integrators: every MD run of the package gets its dynamics here.

Coupling constants have no defaults in the code: each caller passes those of its config block
(``produce.melt_quench``, ``explore.md``, ``learn.choose_by``, ``validate.vdos``, ``validate.ir``,
``aimd``, ``pore.melt_quench``/``pore.anneal``), so one setting means one thing everywhere.
Every integrator makes one model call (energy, forces and stress together) per step: NpT uses
the Langevin-Hoover barostat integrated with BAOAB, which reads the stress of the same call
as the forces (ASE's Berendsen NpT evaluated the model twice per step). Units: K, fs, 1/fs, GPa.
"""

from __future__ import annotations

ENSEMBLES = ("nvt", "npt", "nve", "csvr")

# The settings each ensemble needs besides temperature and time step.
_NEEDS = {"nvt": ("friction_per_fs",), "npt": ("taut_fs", "taup_fs"), "nve": (), "csvr": ("taut_fs",)}


def make_integrator(
    atoms,
    ensemble: str,
    temperature_K: float,
    timestep_fs: float,
    *,
    rng=None,
    friction_per_fs: float | None = None,
    taut_fs: float | None = None,
    taup_fs: float | None = None,
    pressure_GPa: float = 0.0,
):
    """An ASE dynamics object for ``atoms`` (which carry their calculator).

    ``nvt``: Langevin thermostat (``friction_per_fs``); ``npt``: Langevin thermostat on the
    atoms (time ``taut_fs``) and a Langevin-Hoover isotropic barostat (cell fluctuation time
    ``taup_fs``) at ``pressure_GPa``, integrated by BAOAB (Leimkuhler & Matthews 2013; Quigley &
    Probert 2004) with one force + stress evaluation per step; ``nve``: velocity Verlet;
    ``csvr``: Bussi stochastic velocity rescaling (``taut_fs``). ``rng`` (a numpy Generator)
    drives the stochastic thermostats; without one they draw from a fixed seed, so a run is
    repeatable. A setting the ensemble needs but was not given is a ValueError that names it.
    """
    import numpy as np
    from ase import units

    if ensemble not in _NEEDS:
        raise ValueError(f"MD ensemble must be one of {list(ENSEMBLES)}, got '{ensemble}'")
    given = {"friction_per_fs": friction_per_fs, "taut_fs": taut_fs, "taup_fs": taup_fs}
    missing = [name for name in _NEEDS[ensemble] if given[name] is None]
    if missing:
        raise ValueError(f"{ensemble} MD needs {missing}: pass them from the config block of this run")
    rng = rng if rng is not None else np.random.default_rng(0)
    dt = timestep_fs * units.fs
    if ensemble == "nvt":
        from ase.md.langevin import Langevin

        return Langevin(atoms, dt, temperature_K=temperature_K, friction=friction_per_fs / units.fs, rng=rng)
    if ensemble == "npt":
        from ase.md.langevinbaoab import LangevinBAOAB

        # ASE's external stress is the negative of the pressure (eV/Å^3)
        return LangevinBAOAB(
            atoms,
            dt,
            temperature_K=temperature_K,
            externalstress=-pressure_GPa * units.GPa,
            hydrostatic=True,
            T_tau=taut_fs * units.fs,
            P_tau=taup_fs * units.fs,
            rng=rng,
        )
    if ensemble == "csvr":
        from ase.md.bussi import Bussi

        return Bussi(atoms, dt, temperature_K=temperature_K, taut=taut_fs * units.fs, rng=rng)
    from ase.md.verlet import VelocityVerlet

    return VelocityVerlet(atoms, dt)
