"""Model choice (AS): each final member screened by a property (density, dehydrogenation), test force MAE as tie-break."""

from __future__ import annotations

import numpy as np
from ase import Atoms


def choose_member(table, tie_tolerance: float = 0.0) -> tuple[int, str]:
    """The committee member to keep (AS: model choice by a property, training error as tie-break).

    ``table`` (a DataFrame) has one row per member with ``member`` and
    ``test_force_mae_meV_A``, and optionally ``property_abs_error`` (|value - reference| of the
    screened property, e.g. g/cm3; NaN where a member's screening failed). Members whose
    property error lies within ``tie_tolerance`` of the best one tie and are separated by the
    lower test force MAE. Without property errors the lowest test force MAE wins. Returns the
    member index and the reason, in words, with the numbers behind it.
    """
    import pandas as pd

    if table.empty:
        raise ValueError("choose_member: no committee members to choose from")
    missing = {"member", "test_force_mae_meV_A"} - set(table.columns)
    if missing:
        raise ValueError(f"choose_member: the table lacks the columns {sorted(missing)}")
    if "property_abs_error" not in table or table.property_abs_error.isna().all():
        best = table.loc[table.test_force_mae_meV_A.idxmin()]
        return int(best.member), f"lowest test force MAE ({best.test_force_mae_meV_A:.1f} meV/Å); no property screened"
    screened = table[pd.notna(table.property_abs_error)]
    best_error = screened.property_abs_error.min()
    tied = screened[screened.property_abs_error <= best_error + tie_tolerance]
    best = tied.loc[tied.test_force_mae_meV_A.idxmin()]
    if len(tied) == 1:
        reason = f"lowest property error ({best.property_abs_error:.4g})"
    else:
        reason = (
            f"property errors of members {sorted(int(m) for m in tied.member)} within {tie_tolerance:g} of the best "
            f"({best_error:.4g}); lowest test force MAE among them ({best.test_force_mae_meV_A:.1f} meV/Å)"
        )
    return int(best.member), reason


def screen_dehydrogenation(atoms: Atoms, calculator, reference, max_sites: int | None = None) -> dict[str, float]:
    """Dehydrogenation energies of one model against the reference labeler's (AS eq model choice).

    ``reference`` is the per-site table :func:`amlip.properties.energetics.dehydrogenation_energies` gave
    with the reference labeler on ``atoms`` (same ``max_sites``, hence the same hydroxyls); the
    model uses the reference E(H) (AS: E(H) from the reference code). Returns
    :func:`amlip.properties.energetics.dehydrogenation_errors` (eV).
    """
    from amlip.properties.energetics import dehydrogenation_energies, dehydrogenation_errors

    model = dehydrogenation_energies(atoms, calculator, max_sites=max_sites, e_h=float(reference.E_H_eV.iloc[0]))
    return dehydrogenation_errors(reference, model)


def screen_density(
    atoms: Atoms,
    calculator,
    *,
    temperature_K: float,
    n_steps: int,
    timestep_fs: float,
    sample_every: int,
    average_last_fraction: float,
    taut_fs: float,
    taup_fs: float,
    seed: int = 0,
) -> dict[str, float]:
    """Density (g/cm3) of one model from a short NpT run (Langevin-Hoover, zero pressure) (AS choice).

    Starts from ``atoms`` with Maxwell-Boltzmann velocities at ``temperature_K``; the density is
    averaged over the last ``average_last_fraction`` of the frames sampled every
    ``sample_every`` steps. Returns mean, std, the start density and the number of frames
    averaged. A screening, not an equilibrated glass: it ranks members by how far their
    pressure drives the cell from the reference density.
    """
    from ase.md.velocitydistribution import MaxwellBoltzmannDistribution

    from amlip.md.integrators import make_integrator
    from amlip.structures.crystals import density_g_cm3

    atoms = atoms.copy()
    atoms.calc = calculator
    MaxwellBoltzmannDistribution(atoms, temperature_K=temperature_K, rng=np.random.default_rng(seed))
    dyn = make_integrator(atoms, "npt", temperature_K, timestep_fs, taut_fs=taut_fs, taup_fs=taup_fs)
    start = density_g_cm3(atoms)
    densities = []
    for _ in range(sample_every, n_steps + 1, sample_every):
        dyn.run(sample_every)
        if not np.all(np.isfinite(atoms.get_forces())):
            raise RuntimeError(f"density screening blew up at step {dyn.nsteps}: non-finite forces")
        densities.append(density_g_cm3(atoms))
    if not densities:
        raise ValueError(f"n_steps {n_steps} < sample_every {sample_every}: no frame to average")
    tail = np.array(densities[-max(1, int(round(len(densities) * average_last_fraction))) :])
    return {"mean": float(tail.mean()), "std": float(tail.std()), "start": float(start), "n_frames": len(tail)}
