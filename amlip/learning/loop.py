"""The unrolled active-learning loop (MIL, PROTOCOLS 3): per-domain settings, convergence and the loop decision."""

from __future__ import annotations

import json
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
    sigma_low_eV_A: float
    fraction_above_band: float
    fraction_uncertain: float
    labelled: int
    failed: int
    n_train: int
    n_test: int
    n_val: int
    test_energy_mae_meV_atom: float
    test_force_mae_meV_A: float
    production_density_g_cm3: float | None
    converged: bool
    decision: str

    def as_dict(self) -> dict:
        return asdict(self)


def uncertain_fraction(sigmas: Sequence[float], low_eV_A: float) -> float | None:
    """Fraction of explored frames whose sigma_max lies above the band's lower edge (None without frames)."""
    sigmas = np.asarray(sigmas, dtype=float)
    return float((sigmas > low_eV_A).mean()) if len(sigmas) else None


def calibrated_band(test_sigmas: Sequence[float], floor_eV_A: float, high_eV_A: float, quantile: float | None) -> dict:
    """The committee band used by the next iteration (``band.json``), calibrated on held-out frames.

    ``test_sigmas`` are the sigma_max (eV/Å) of a committee on its own test frames: labelled frames of
    the distribution it was trained on, seen by no member. A frame explored later is uncertain only
    when the committee deviates on it more than on those (DP-GEN's advice: the lower trust level just
    above the model deviation of the training data): the lower edge is the larger of ``floor_eV_A``
    (learn.sigma_low_eV_A) and the ``quantile`` of ``test_sigmas``; ``quantile`` None keeps the fixed
    floor. An edge at or above ``high_eV_A`` is capped there (an empty band: every frame either
    certain or unphysical, and ``capped`` says so). Returns the edges, the test statistics and ``how``.
    """
    sigmas = np.asarray(test_sigmas, dtype=float)
    stats = {
        "n_test_frames": int(len(sigmas)),
        "test_sigma_median_eV_A": float(np.median(sigmas)) if len(sigmas) else None,
        "test_sigma_max_eV_A": float(sigmas.max()) if len(sigmas) else None,
    }
    quantile_sigma = float(np.quantile(sigmas, quantile)) if quantile is not None and len(sigmas) else None
    if quantile is None:
        low, how = float(floor_eV_A), f"fixed learn.sigma_low_eV_A {floor_eV_A:g} eV/Å"
    elif quantile_sigma is None:
        low, how = float(floor_eV_A), f"no test frames to calibrate on: learn.sigma_low_eV_A {floor_eV_A:g} eV/Å"
    else:
        low = max(float(floor_eV_A), quantile_sigma)
        how = (
            f"{quantile:g} quantile of the committee's sigma_max on its {len(sigmas)} test frames "
            f"{quantile_sigma:.3f} eV/Å, floor {floor_eV_A:g}"
        )
    capped = low >= high_eV_A
    if capped:
        how += f"; capped at the upper edge {high_eV_A:g} eV/Å (the committee deviates on its own test frames)"
        low = float(high_eV_A)
    return {
        "low_eV_A": low,
        "high_eV_A": float(high_eV_A),
        "floor_eV_A": float(floor_eV_A),
        "quantile": quantile,
        "quantile_sigma_eV_A": quantile_sigma,
        "capped": bool(capped),
        **stats,
        "how": how,
    }


def read_band(path) -> dict:
    """A committee's ``band.json`` (:func:`calibrated_band`), checked for its edges."""
    with open(path) as fh:
        band = json.load(fh)
    missing = [k for k in ("low_eV_A", "high_eV_A", "how") if k not in band]
    if missing:
        raise ValueError(f"committee band {path} lacks {missing}; rerun rule calibrate_band for it")
    return band


#: Keys of an iteration's ``decision.json`` (:func:`loop_decision`).
DECISION_KEYS = (
    "iteration",
    "fraction_uncertain",
    "production_density_g_cm3",
    "density_change",
    "converged",
    "stop_loop",
    "converged_at",
    "decision",
)


def loop_decision(
    sigmas: Sequence[float],
    low_eV_A: float,
    threshold: float,
    iteration: int,
    max_iterations: int,
    previous: dict | None = None,
    stop_when_converged: bool = True,
    production: dict | None = None,
    density_tolerance: float = 0.02,
    band_how: str | None = None,
) -> dict:
    """Iteration i's convergence decision and whether the iterations after it run (``decision.json``).

    ``sigmas`` are the sigma_max of iteration i's explored pool (committee i-1). Without
    production-protocol exploration (``production`` None) the loop converges at i when the
    fraction above ``low_eV_A`` is below ``threshold`` (MIL). When iteration i explored the
    production protocol itself (``production``: ``completed``, true when every run reached the
    protocol's end, ``density_g_cm3``, the mean density over the runs' last part, and
    ``stopped``, the reasons of runs a guard stopped), it converges only when all of these hold:
    every run completed, the fraction is below ``threshold``, and the density changed by less
    than ``density_tolerance`` (relative) since the previous iteration's production exploration.
    With ``density_sem_g_cm3`` in both iterations (two or more runs each) the decision quotes the
    change's standard error and says when it exceeds the tolerance (the criterion cannot then
    resolve a change of that size; the decision itself stays the point estimate against the tolerance).

    With ``stop_when_converged`` (and i before the last iteration) ``stop_loop`` is true and
    iterations i+1 ... ``max_iterations`` explore nothing, label nothing and copy the models of
    iteration i. A ``previous`` decision with ``stop_loop`` carries over. Reaching the last
    configured iteration without the criterion is written as *not converged*. ``band_how`` (band.json's
    ``how``) says in the fraction's clause how ``low_eV_A`` was found.
    """
    if previous is not None and previous["stop_loop"]:
        k = previous["converged_at"]
        return dict(
            iteration=iteration,
            fraction_uncertain=None,
            production_density_g_cm3=previous["production_density_g_cm3"],
            production_density_sem_g_cm3=previous.get("production_density_sem_g_cm3"),
            density_change=None,
            converged=True,
            stop_loop=True,
            converged_at=k,
            decision=f"skipped: converged at iteration {k} (learn.stop_when_converged); nothing explored, labelled or trained",
        )
    if iteration == 0:
        return dict(
            iteration=0,
            fraction_uncertain=None,
            production_density_g_cm3=None,
            production_density_sem_g_cm3=None,
            density_change=None,
            converged=False,
            stop_loop=False,
            converged_at=None,
            decision="initial data set (no committee yet)",
        )
    fraction = uncertain_fraction(sigmas, low_eV_A)
    met, missed = [], []
    edge = f" (sigma_max above {low_eV_A:.3f} eV/Å: {band_how})" if band_how else ""
    if fraction is None:
        missed.append("no explored frames")
    elif fraction < threshold:
        met.append(f"{fraction:.3f} of explored frames uncertain{edge} < {threshold}")
    else:
        missed.append(f"{fraction:.3f} of explored frames uncertain{edge} >= {threshold}")
    density = change = sem = None
    if production is not None:
        density, sem = production["density_g_cm3"], production.get("density_sem_g_cm3")
        if not production["completed"]:
            missed.append("production run stopped: " + "; ".join(production["stopped"]))
        before = previous["production_density_g_cm3"] if previous is not None else None
        if density is None or before is None:
            missed.append("no density of two successive production explorations to compare")
        else:
            change = abs(density - before) / before
            sems = (sem, previous.get("production_density_sem_g_cm3"))
            noise = np.hypot(*sems) / before if None not in sems else None
            spread = f" ± {100 * noise:.1f}" if noise is not None else ""
            text = f"density {density:.3f} g/cm3 changed by {100 * change:.1f}{spread} % since iteration {iteration - 1}"
            text += f" < {100 * density_tolerance:g} %" if change < density_tolerance else f" >= {100 * density_tolerance:g} %"
            if noise is not None and noise >= density_tolerance:
                # the criterion cannot resolve a change of the tolerance's size: say so, and how to resolve it
                text += " (the runs' spread exceeds the tolerance: more starting structures or larger cells resolve it)"
            (met if change < density_tolerance else missed).append(text)
    converged = not missed
    stop = converged and stop_when_converged and iteration < max_iterations
    if converged:
        text = "converged: " + "; ".join(met)
        if stop:
            text += f"; iterations {iteration + 1}..{max_iterations} reuse this committee"
        elif iteration < max_iterations:
            text += "; the loop goes on (learn.stop_when_converged is false)"
    elif iteration >= max_iterations:
        text = f"not converged at the last configured iteration {max_iterations}: " + "; ".join(missed)
    else:
        text = "continue: " + "; ".join(missed)
    return dict(
        iteration=iteration,
        fraction_uncertain=fraction,
        production_density_g_cm3=density,
        production_density_sem_g_cm3=sem,
        density_change=change,
        converged=converged,
        stop_loop=stop,
        converged_at=iteration if converged else None,
        decision=text,
    )


def production_outcome(runs) -> dict | None:
    """What an iteration's production-protocol exploration gave, from its runs.csv table (rule
    merge_pool): None when it ran no production protocol; else ``completed`` (every run reached the
    protocol's end), ``stopped`` (the reasons of those that did not), ``density_g_cm3``, the
    mean over the completed runs of their tail density (None without a completed run), and
    ``density_sem_g_cm3``, its standard error from the spread between runs (None below two runs)."""
    production = runs[runs["mode"] == "production"]
    if production.empty or (production.stop_reason == "loop stopped").all():
        return None
    done = production[production.completed.astype(bool)]
    stopped = [f"{row.structure}: {row.stop_reason}" for row in production.itertuples() if not bool(row.completed)]
    densities = done.density_g_cm3.dropna()
    return {
        "completed": not stopped,
        "stopped": stopped,
        "density_g_cm3": float(densities.mean()) if len(densities) else None,
        "density_sem_g_cm3": float(densities.std(ddof=1) / np.sqrt(len(densities))) if len(densities) > 1 else None,
    }


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
DOMAIN_LEARN_KEYS = (
    "sigma_low_eV_A",
    "sigma_low_quantile",
    "sigma_high_eV_A",
    "max_new_frames",
    "converged_fraction",
    "density_tolerance",
    "stop_when_converged",
)


def domain_settings(config: dict, domain: str) -> dict:
    """Active-learning settings of one domain (AS: syn and eq are learned separately).

    ``learn.domain_settings.<domain>`` is merged over the global defaults: the band
    (``sigma_low_eV_A``, ``sigma_high_eV_A``, eV/Å), ``max_new_frames``, ``converged_fraction``,
    ``density_tolerance``, ``stop_when_converged``;
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
