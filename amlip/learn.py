"""Committee active learning (MIL, PROTOCOLS 3): force deviation, the uncertainty band, convergence."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Sequence

import numpy as np
from ase import Atoms


@dataclass
class IterationSummary:
    """One row of the per-iteration active-learning summary (``summary.csv``)."""

    domain: str
    iteration: int
    explored: int
    candidates: int
    picked: int
    fraction_above_band: float
    fraction_uncertain: float
    labelled: int
    failed: int
    n_train: int
    n_test: int
    n_val: int
    test_energy_mae_meV_atom: float
    test_force_mae_meV_A: float
    converged: bool
    decision: str

    def as_dict(self) -> dict:
        return asdict(self)


def convergence_decision(
    sigmas: Sequence[float], low_eV_A: float, threshold: float, iteration: int, max_iterations: int
) -> tuple[float, bool, str]:
    """Fraction of explored frames above ``low`` and whether the loop may stop.

    The loop converges once the fraction of uncertain frames (sigma_max above the lower band
    edge) is below ``threshold``, or at the configured last iteration.
    """
    sigmas = np.asarray(sigmas, dtype=float)
    fraction = float((sigmas > low_eV_A).mean()) if len(sigmas) else 0.0
    if len(sigmas) and fraction < threshold:
        return fraction, True, f"converged: {fraction:.3f} of frames uncertain < threshold {threshold}"
    if iteration >= max_iterations:
        return fraction, True, f"stopped at the last configured iteration {max_iterations}"
    return fraction, False, f"continue: {fraction:.3f} of frames uncertain >= threshold {threshold}"


#: Keys of an iteration's ``decision.json`` (:func:`loop_decision`).
DECISION_KEYS = ("iteration", "fraction_uncertain", "converged", "stop_loop", "converged_at", "decision")


def loop_decision(
    sigmas: Sequence[float],
    low_eV_A: float,
    threshold: float,
    iteration: int,
    max_iterations: int,
    previous: dict | None = None,
    stop_when_converged: bool = True,
) -> dict:
    """Iteration i's convergence decision and whether the iterations after it run (``decision.json``).

    ``sigmas`` are the sigma_max of iteration i's explored pool (committee i-1). The loop
    converges at i when the fraction above ``low_eV_A`` is below ``threshold``; with
    ``stop_when_converged`` (and i before the last iteration) ``stop_loop`` is then true and
    iterations i+1 ... ``max_iterations`` explore nothing, label nothing and copy the models of
    iteration i instead of training. A ``previous`` decision (of i-1) with ``stop_loop`` carries
    over unchanged but for the text. Reaching the last iteration is recorded as ``converged``
    (the loop ends there) but not as ``converged_at``.
    """
    if previous is not None and previous["stop_loop"]:
        k = previous["converged_at"]
        return dict(
            iteration=iteration, fraction_uncertain=None, converged=True, stop_loop=True, converged_at=k,
            decision=f"skipped: converged at iteration {k} (learn.stop_when_converged); nothing explored, labelled or trained",
        )
    if iteration == 0:
        return dict(
            iteration=0, fraction_uncertain=None, converged=False, stop_loop=False, converged_at=None,
            decision="initial data set (no committee yet)",
        )
    sigmas = np.asarray(sigmas, dtype=float)
    fraction, converged, text = convergence_decision(sigmas, low_eV_A, threshold, iteration, max_iterations)
    below = bool(len(sigmas)) and fraction < threshold
    stop = below and stop_when_converged and iteration < max_iterations
    if stop:
        text += f"; iterations {iteration + 1}..{max_iterations} reuse this committee"
    elif below and iteration < max_iterations:
        text += "; the loop goes on (learn.stop_when_converged is false)"
    return dict(
        iteration=iteration, fraction_uncertain=fraction if len(sigmas) else None, converged=converged,
        stop_loop=stop, converged_at=iteration if below else None, decision=text,
    )


def read_loop_decision(path) -> dict:
    """A ``decision.json`` written by rule decide_iteration, checked for its keys (the error names the file)."""
    import json

    try:
        with open(path) as fh:
            decision = json.load(fh)
    except (OSError, ValueError) as error:
        raise ValueError(f"active-learning decision {path} cannot be read: {error}") from error
    missing = [k for k in DECISION_KEYS if k not in decision]
    if missing:
        raise ValueError(f"active-learning decision {path} lacks {missing}; rerun rule decide_iteration for it")
    return decision


# Keys of learn.domain_settings.<domain> that replace the global learn.* values of that domain.
DOMAIN_LEARN_KEYS = ("sigma_low_eV_A", "sigma_high_eV_A", "max_new_frames", "converged_fraction", "stop_when_converged")


def domain_settings(config: dict, domain: str) -> dict:
    """Active-learning settings of one domain (AS: syn and eq are learned separately).

    ``learn.domain_settings.<domain>`` is merged over the global defaults: the band
    (``sigma_low_eV_A``, ``sigma_high_eV_A``, eV/Å), ``max_new_frames``, ``converged_fraction``,
    ``stop_when_converged``;
    ``md`` over ``explore.md`` (temperatures_K, n_steps, ...); ``label`` over the label
    backend's settings block (e.g. VASP ``accuracy: high``, a tighter xTB ``accuracy``), which
    changes the level of theory and hence the ``lot_hash`` of that domain's frames;
    ``choose_by`` replaces ``learn.choose_by`` whole (AS: syn by density, eq by dehydrogenation
    energies). Returns a flat dict of the band keys plus ``md``, ``label`` and ``choose_by`` dicts.
    """
    learn = config["learn"]
    override = dict((learn.get("domain_settings") or {}).get(domain) or {})
    backend = config["label"]["backend"]
    settings = {key: learn[key] for key in DOMAIN_LEARN_KEYS if key != "stop_when_converged"}
    settings["stop_when_converged"] = bool(learn.get("stop_when_converged", True))
    settings["md"] = {**config["explore"]["md"], **override.pop("md", {})}
    settings["label"] = {**config["label"].get(backend, {}), **override.pop("label", {})}
    settings["choose_by"] = dict(override.pop("choose_by", None) or learn.get("choose_by") or {"property": "none"})
    unknown = set(override) - set(DOMAIN_LEARN_KEYS)
    if unknown:
        raise ValueError(
            f"learn.domain_settings.{domain} has unknown keys {sorted(unknown)}: use {list(DOMAIN_LEARN_KEYS)}, md, label, choose_by"
        )
    settings.update(override)
    if settings["sigma_low_eV_A"] >= settings["sigma_high_eV_A"]:
        raise ValueError(
            f"learn band of domain {domain}: sigma_low_eV_A {settings['sigma_low_eV_A']} must be below "
            f"sigma_high_eV_A {settings['sigma_high_eV_A']}"
        )
    return settings


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

    ``reference`` is the per-site table :func:`amlip.energetics.dehydrogenation_energies` gave
    with the reference labeler on ``atoms`` (same ``max_sites``, hence the same hydroxyls); the
    model uses the reference E(H) (AS: E(H) from the reference code). Returns
    :func:`amlip.energetics.dehydrogenation_errors` (eV).
    """
    from amlip.energetics import dehydrogenation_energies, dehydrogenation_errors

    model = dehydrogenation_energies(atoms, calculator, max_sites=max_sites, e_h=float(reference.E_H_eV.iloc[0]))
    return dehydrogenation_errors(reference, model)


def screen_density(
    atoms: Atoms,
    calculator,
    temperature_K: float = 300.0,
    n_steps: int = 500,
    timestep_fs: float = 1.0,
    sample_every: int = 10,
    average_last_fraction: float = 0.5,
    taut_fs: float = 100.0,
    taup_fs: float = 200.0,
    bulk_modulus_GPa: float = 40.0,
    seed: int = 0,
) -> dict[str, float]:
    """Density (g/cm3) of one model from a short NpT run (Berendsen, zero pressure) (AS choice).

    Starts from ``atoms`` with Maxwell-Boltzmann velocities at ``temperature_K``; the density is
    averaged over the last ``average_last_fraction`` of the frames sampled every
    ``sample_every`` steps. Returns mean, std, the start density and the number of frames
    averaged. A screening, not an equilibrated glass: it ranks members by how far their
    pressure drives the cell from the reference density.
    """
    from ase import units
    from ase.md.nptberendsen import NPTBerendsen
    from ase.md.velocitydistribution import MaxwellBoltzmannDistribution

    from amlip.structures import density_g_cm3

    atoms = atoms.copy()
    atoms.calc = calculator
    MaxwellBoltzmannDistribution(atoms, temperature_K=temperature_K, rng=np.random.default_rng(seed))
    dyn = NPTBerendsen(
        atoms,
        timestep_fs * units.fs,
        temperature_K=temperature_K,
        pressure_au=0.0,
        taut=taut_fs * units.fs,
        taup=taup_fs * units.fs,
        compressibility_au=1.0 / (bulk_modulus_GPa * units.GPa),
    )
    start = density_g_cm3(atoms)
    densities = []
    for _ in range(sample_every, n_steps + 1, sample_every):
        dyn.run(sample_every)
        if not np.all(np.isfinite(atoms.get_forces())):
            raise RuntimeError(f"density screening blew up at step {dyn.nsteps}: non-finite forces")
        densities.append(density_g_cm3(atoms))
    if not densities:
        raise ValueError(f"n_steps {n_steps} < sample_every {sample_every}: no frame to average")
    tail = np.array(densities[-max(1, int(round(len(densities) * average_last_fraction))):])
    return {"mean": float(tail.mean()), "std": float(tail.std()), "start": float(start), "n_frames": len(tail)}
