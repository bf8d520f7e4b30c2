"""Guards that stop production MD when it leaves the physical regime (temperature runaway, close contacts, lost atoms)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from ase import Atoms


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


def check_guards(atoms: Atoms, stage_max_K: float, guards: Guards, step: int) -> None:
    from ase.neighborlist import neighbor_list

    pos = atoms.get_positions()
    if not np.all(np.isfinite(pos)):
        raise MDGuardError(f"non-finite positions at step {step} (atoms lost)")
    d = neighbor_list("d", atoms, guards.min_distance_A)
    if len(d):
        raise MDGuardError(f"atoms closer than {guards.min_distance_A} Å at step {step} (min {d.min():.2f} Å)")
    temp = atoms.get_temperature()
    if temp > guards.max_T_factor * max(stage_max_K, 100.0):
        raise MDGuardError(f"temperature runaway at step {step}: {temp:.0f} K where the protocol peaks at {stage_max_K:.0f} K")
