"""What every production MD job writes: the trajectory, its thermo table, and the frames sampled before a guard stopped it."""

from __future__ import annotations

from typing import Sequence

from ase import Atoms

from amlip.md.guards import MDGuardError

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
