"""MD protocols (PROTOCOLS 5) as stage schedules, and a local engine that runs them with ASE.

A protocol is a list of :class:`Stage` (ensemble, start and end temperature in K, duration
in ps, time step in fs). Presets hold the papers' numbers; ``time_scale`` shrinks every
duration by one factor for tests and small runs (ramps then run faster in K/ps). The
local engine is ASE MD: Langevin for NVT, Berendsen barostat + thermostat for NpT.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, replace
from typing import Sequence

import numpy as np
from ase import Atoms, units

from amlip.structures import density_g_cm3

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Stage:
    """One MD stage: linear temperature ramp from ``T_start_K`` to ``T_end_K`` over ``duration_ps``."""

    name: str
    ensemble: str  # "nvt" or "npt"
    T_start_K: float
    T_end_K: float
    duration_ps: float
    timestep_fs: float = 1.0
    pressure_GPa: float = 0.0

    @property
    def n_steps(self) -> int:
        return max(1, int(round(self.duration_ps * 1000.0 / self.timestep_fs)))


def _ramp(name, ensemble, t0, t1, rate_K_per_ps, timestep_fs=1.0):
    return Stage(name, ensemble, t0, t1, abs(t1 - t0) / rate_K_per_ps, timestep_fs)


# AS (aluminosilicates): heat 23.5 K/ps, 200 ps at 5000 K, 10 K/ps to 4000 K, NpT 5 K/ps to
# 3000 K, 250 ps at 300 K. The paper gives no 3000 -> 300 K step; we quench NpT at 5 K/ps.
PRESETS: dict[str, list[Stage]] = {
    "melt_quench_AS": [
        _ramp("heat", "nvt", 300, 5000, 23.5),
        Stage("melt", "nvt", 5000, 5000, 200.0),
        _ramp("quench_fast", "nvt", 5000, 4000, 10.0),
        _ramp("quench_slow", "npt", 4000, 3000, 5.0),
        _ramp("quench_to_300", "npt", 3000, 300, 5.0),
        Stage("equilibrate", "npt", 300, 300, 250.0),
    ],
    # NS (sodium silicates): NpT Nose-Hoover, dt 1 fs, 5 K/ps both ways, 50 ps at 2500 K, 100 ps at 300 K.
    "melt_quench_NS": [
        _ramp("heat", "npt", 300, 2500, 5.0),
        Stage("melt", "npt", 2500, 2500, 50.0),
        _ramp("quench", "npt", 2500, 300, 5.0),
        Stage("equilibrate", "npt", 300, 300, 100.0),
    ],
    # ZIF: NVT from the crystal, 20 K/ps to 1500 K, 50 ps plateau, dt 0.5 fs (0.25 fs above 1500 K).
    "melt_quench_ZIF": [
        _ramp("heat", "nvt", 300, 1500, 20.0, 0.5),
        Stage("melt", "nvt", 1500, 1500, 50.0, 0.5),
        _ramp("quench", "nvt", 1500, 300, 20.0, 0.5),
    ],
    # AS annealing of functionalised pores, NpT: 5 K/ps to 820 K, 2 ns, back at 5 K/ps, 300 ps at 320 K.
    "anneal_AS": [
        _ramp("heat", "npt", 300, 820, 5.0),
        Stage("anneal", "npt", 820, 820, 2000.0),
        _ramp("cool", "npt", 820, 300, 5.0),
        Stage("equilibrate", "npt", 320, 320, 300.0),
    ],
}


def schedule(preset: str, time_scale: float = 1.0, timestep_fs: float | None = None) -> list[Stage]:
    """The stages of a preset with every duration multiplied by ``time_scale``."""
    if preset not in PRESETS:
        raise KeyError(f"unknown MD protocol '{preset}'; presets: {sorted(PRESETS)}")
    if time_scale <= 0:
        raise ValueError(f"time_scale must be positive, got {time_scale}")
    stages = []
    for stage in PRESETS[preset]:
        dt = timestep_fs or stage.timestep_fs
        stages.append(replace(stage, duration_ps=stage.duration_ps * time_scale, timestep_fs=dt))
    return stages


def schedule_table(stages: Sequence[Stage]) -> list[dict]:
    """Rows describing each stage (for the CSV written beside the trajectory)."""
    rows, start = [], 0
    for s in stages:
        rate = (s.T_end_K - s.T_start_K) / s.duration_ps if s.duration_ps else 0.0
        rows.append(asdict(s) | {"n_steps": s.n_steps, "first_step": start, "rate_K_per_ps": rate})
        start += s.n_steps
    return rows


class MDGuardError(RuntimeError):
    """Production MD left the physical regime; the last good frame has been written."""


@dataclass
class Guards:
    """Bounds that stop a run.

    Temperature above ``max_T_factor`` times the hottest target of the current or the previous
    stage (a random packing releases heat while it is heated, and after a fast quench the
    thermostat needs time to catch up, so the instantaneous target is too strict), or two atoms
    closer than ``min_distance_A``.
    """

    max_T_factor: float = 3.0
    min_distance_A: float = 0.6
    check_every: int = 10


def _check(atoms: Atoms, stage_max_K: float, guards: Guards, step: int) -> None:
    from ase.neighborlist import neighbor_list

    pos = atoms.get_positions()
    if not np.all(np.isfinite(pos)):
        raise MDGuardError(f"non-finite positions at step {step} (atoms lost)")
    d = neighbor_list("d", atoms, guards.min_distance_A)
    if len(d):
        raise MDGuardError(f"atoms closer than {guards.min_distance_A} Å at step {step} (min {d.min():.2f} Å)")
    temp = atoms.get_temperature()
    if temp > guards.max_T_factor * max(stage_max_K, 100.0):
        raise MDGuardError(
            f"temperature runaway at step {step}: {temp:.0f} K where the protocol peaks at {stage_max_K:.0f} K"
        )


def run_protocol(
    atoms: Atoms,
    calculator,
    stages: Sequence[Stage],
    sample_every: int = 10,
    seed: int = 0,
    friction_per_fs: float = 0.01,
    taut_fs: float = 100.0,
    taup_fs: float = 1000.0,
    bulk_modulus_GPa: float = 40.0,
    guards: Guards | None = None,
    progress_every_s: float = 10.0,
    wall=None,
) -> list[Atoms]:
    """Run the stages one after another on ``atoms`` with ``calculator``.

    ``wall`` is an optional extra ASE calculator summed with the model (e.g. the pore wall,
    :meth:`amlip.pores.CylinderWall.calculator`); frame energies then include it.

    Returns the sampled frames, each with info ``step``, ``time_ps``, ``stage``,
    ``target_T_K``, ``T_K``, ``density_g_cm3`` and ``epot_eV``. Progress (step, T, density,
    ETA) goes to the logger. A guard violation raises :class:`MDGuardError`; the frames
    sampled so far are attached as ``exc.frames`` so the caller can save them.
    """
    from ase.md.langevin import Langevin
    from ase.md.nptberendsen import NPTBerendsen
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
        dt = stage.timestep_fs * units.fs
        if stage.ensemble == "nvt":
            dyn = Langevin(atoms, dt, temperature_K=stage.T_start_K, friction=friction_per_fs / units.fs, rng=rng)
        elif stage.ensemble == "npt":
            dyn = NPTBerendsen(
                atoms,
                dt,
                temperature_K=stage.T_start_K,
                pressure_au=stage.pressure_GPa * units.GPa,
                taut=taut_fs * units.fs,
                taup=taup_fs * units.fs,
                compressibility_au=1.0 / (bulk_modulus_GPa * units.GPa),
            )
        else:
            raise ValueError(f"stage {stage.name}: ensemble must be 'nvt' or 'npt', got '{stage.ensemble}'")
        for k in range(stage.n_steps):
            frac = (k + 1) / stage.n_steps
            target = stage.T_start_K + frac * (stage.T_end_K - stage.T_start_K)
            dyn.set_temperature(temperature_K=target)
            try:
                dyn.run(1)
                if (done + 1) % guards.check_every == 0:
                    _check(atoms, peak_K, guards, done + 1)
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
                    done, total, stage.name, atoms.get_temperature(), target, density_g_cm3(atoms), eta,
                )
    return frames


# Per-frame keys of the thermo table written beside every production trajectory.
THERMO_KEYS = ("step", "time_ps", "stage", "target_T_K", "T_K", "density_g_cm3", "epot_eV")


def keep_frames_before_guard(exc: MDGuardError, trajectory_path: str) -> MDGuardError:
    """Write the frames sampled before a guard stopped the run to ``<trajectory>.failed.extxyz``.

    Returns the error to raise, its message naming the file, so no sampled frame is lost.
    """
    from amlip.io.frames import write_frames

    keep = str(trajectory_path).replace(".extxyz", ".failed.extxyz")
    write_frames(keep, exc.frames)
    return MDGuardError(f"{exc}; the {len(exc.frames)} frames sampled before are in {keep}")


def write_md_outputs(frames: Sequence[Atoms], trajectory_path: str, thermo_path: str) -> None:
    """The sampled frames as extended XYZ and their :data:`THERMO_KEYS` as a CSV table."""
    import pandas as pd

    from amlip.io.frames import write_frames

    write_frames(trajectory_path, frames)
    pd.DataFrame([{k: a.info[k] for k in THERMO_KEYS} for a in frames]).to_csv(thermo_path, index=False)
