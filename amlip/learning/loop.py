"""The unrolled active-learning loop (MIL, PROTOCOLS 3): per-domain settings, convergence and the loop decision."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Sequence

import numpy as np


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
            iteration=iteration,
            fraction_uncertain=None,
            converged=True,
            stop_loop=True,
            converged_at=k,
            decision=f"skipped: converged at iteration {k} (learn.stop_when_converged); nothing explored, labelled or trained",
        )
    if iteration == 0:
        return dict(
            iteration=0,
            fraction_uncertain=None,
            converged=False,
            stop_loop=False,
            converged_at=None,
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
        iteration=iteration,
        fraction_uncertain=fraction if len(sigmas) else None,
        converged=converged,
        stop_loop=stop,
        converged_at=iteration if below else None,
        decision=text,
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
    energies). ``config`` is validated by the schema (every default filled) and checked by
    :func:`amlip.config.check_config` (the band edges are ordered). Returns a flat dict of the
    band keys plus ``md``, ``label`` and ``choose_by`` dicts.
    """
    learn = config["learn"]
    override = dict(learn["domain_settings"].get(domain) or {})
    backend = config["label"]["backend"]
    settings = {key: learn[key] for key in DOMAIN_LEARN_KEYS}
    settings["md"] = {**config["explore"]["md"], **override.pop("md", {})}
    settings["label"] = {**config["label"][backend], **override.pop("label", {})}
    settings["choose_by"] = dict(override.pop("choose_by", None) or learn["choose_by"])
    unknown = set(override) - set(DOMAIN_LEARN_KEYS)
    if unknown:
        raise ValueError(
            f"learn.domain_settings.{domain} has unknown keys {sorted(unknown)}: use {list(DOMAIN_LEARN_KEYS)}, md, label, choose_by"
        )
    settings.update(override)
    return settings
