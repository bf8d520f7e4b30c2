"""The MD engines behind one factory: a protocol run with ASE or with LAMMPS (``produce.melt_quench.engine``).

Both take the same stages (:mod:`amlip.md.protocols`), guards and D3 settings and return the
same frames (info ``step``, ``time_ps``, ``stage``, ``target_T_K``, ``T_K``, ``density_g_cm3``,
``epot_eV``). ``ase``: Langevin (NVT) and Langevin-Hoover (NpT) through
:func:`amlip.md.integrators.make_integrator`; ``lammps``: Nose-Hoover ``fix nvt``/``fix npt``
with the model's forces through ``fix external`` (:mod:`amlip.md.lammps_engine`). Both have the
committee guard. ``batched``: the glasses of one job in one model call per step (:mod:`amlip.md.batched`;
here one glass, its ``calculator`` a :class:`amlip.md.batched.BatchedMACE`). The engine module is imported when used.
"""

from __future__ import annotations

from typing import Mapping, Sequence

ENGINES = ("ase", "lammps", "batched")


def run_md(
    engine: str,
    atoms,
    calculator,
    stages: Sequence,
    *,
    sample_every: int,
    seed: int,
    taut_fs: float,
    taup_fs: float,
    guards,
    friction_per_fs: float | None = None,
    dispersion: Mapping | None = None,
    committee: Sequence | None = None,
    committee_sigma_max_eV_A: float | None = None,
    committee_every: int = 50,
    potential: Mapping | None = None,
) -> list:
    """Run ``stages`` from ``atoms`` with ``calculator`` in ``engine`` (``ase``, ``lammps`` or ``batched``); return the sampled frames.

    ``taut_fs``/``taup_fs`` are the thermostat and barostat times of either engine (fs);
    ``friction_per_fs`` (NVT) is needed by ``ase`` only.
    ``dispersion`` is ``produce.dispersion`` (empty or without ``method``: off). A committee of
    calculators with ``committee_sigma_max_eV_A`` stops the run when the force deviation exceeds
    it (either engine; in ``ase`` a committee ``calculator`` gives it at no extra cost). A guard violation raises :class:`amlip.md.guards.MDGuardError` with the
    frames so far as ``exc.frames``. ``potential`` (a ``label.lammps`` block, ``calculator`` None) runs that
    classical potential natively in ``lammps`` (the closed loop's reference production).
    """
    if engine == "lammps":
        from amlip.md.lammps_engine import run_protocol_lammps

        return run_protocol_lammps(
            atoms,
            calculator,
            stages,
            sample_every=sample_every,
            seed=seed,
            taut_fs=taut_fs,
            taup_fs=taup_fs,
            guards=guards,
            dispersion=dispersion,
            committee=committee,
            committee_sigma_max_eV_A=committee_sigma_max_eV_A,
            committee_every=committee_every,
            potential=potential,
        )
    if potential is not None:
        raise ValueError(f"a classical LAMMPS potential ({dict(potential)}) runs in the lammps engine, not in '{engine}'")
    if engine == "ase":
        from amlip.md.ase_engine import run_protocol
        from amlip.md.dispersion import with_dispersion

        return run_protocol(
            atoms,
            with_dispersion(calculator, dispersion),
            stages,
            sample_every=sample_every,
            seed=seed,
            friction_per_fs=friction_per_fs,
            taut_fs=taut_fs,
            taup_fs=taup_fs,
            guards=guards,
            model=calculator,
            committee=committee,
            committee_sigma_max_eV_A=committee_sigma_max_eV_A,
            committee_every=committee_every,
        )
    if engine == "batched":
        from amlip.md.batched import run_protocol_batched

        if dispersion and dispersion.get("method") or committee is not None:
            raise ValueError("the batched engine runs neither D3 nor the committee guard: use engine ase or lammps")
        return run_protocol_batched(
            [atoms],
            calculator,
            stages,
            sample_every=sample_every,
            seeds=[seed],
            friction_per_fs=friction_per_fs,
            taut_fs=taut_fs,
            taup_fs=taup_fs,
            guards=guards,
        )[0]
    raise ValueError(f"produce.melt_quench.engine '{engine}': use one of {list(ENGINES)}")
