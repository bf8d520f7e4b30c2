"""Structural properties of periodic frames (PROTOCOLS 6): density, RDFs, PMF, coordination, angles, Qn, MSD.

All functions take ASE Atoms (or lists of them); distances in Å, angles in degrees,
densities in g/cm3, energies in eV, times in fs. Neighbours come from ASE's periodic
neighbour list. Scattering functions live in :mod:`amlip.properties.scattering`, rings in
:mod:`amlip.properties.rings`, pores in :mod:`amlip.properties.porosity`.
"""

from __future__ import annotations

from collections import Counter
from itertools import combinations_with_replacement
from typing import Mapping, Sequence

import numpy as np
from ase import Atoms
from ase.neighborlist import neighbor_list

from amlip.structures.crystals import density_g_cm3


def mean_density(frames: Sequence[Atoms]) -> tuple[float, float]:
    """Mean and standard deviation (g/cm3) of the density over frames."""
    d = np.array([density_g_cm3(a) for a in frames])
    return float(d.mean()), float(d.std())


def glass_tail(frames: Sequence[Atoms], average_last_fraction: float = 0.3) -> list[Atoms]:
    """The frames a structure is measured over: the last ``average_last_fraction`` of the trajectory,
    less any of them sampled before its final protocol stage began.

    Frames carry their stage's name (``info["stage"]``, every MD engine writes it); only the
    unbroken run of frames at the end with the last frame's stage is kept. A fast melt-quench
    (time_scale 0.001: the final 300 K stage is 17 % of the protocol) would otherwise average
    quench frames up to ~1300 K into the "glass" (benchmarks/glass_tail_stage.py). Frames without
    a stage (imported or single-run trajectories) are kept as the plain fraction. Never empty.
    """
    if not frames:
        raise ValueError("the trajectory has no frames to validate")
    n_last = max(1, int(round(len(frames) * average_last_fraction)))
    selected = list(frames[-n_last:])
    final = selected[-1].info.get("stage")
    if final is None:
        return selected
    start = len(selected) - 1
    while start > 0 and selected[start - 1].info.get("stage") == final:
        start -= 1
    return selected[start:]


def density_statistics(trajectories: Sequence[Sequence[Atoms]], average_last_fraction: float = 0.3) -> dict[str, float]:
    """Density (g/cm3) over the end of each trajectory, then over independent glasses (AS: 50 glasses).

    Each trajectory (one glass) is averaged over its :func:`glass_tail` (the last
    ``average_last_fraction`` of frames within its final protocol stage);
    the glass means are then averaged. ``std`` is the sample standard deviation between glasses
    (ddof = 1) and ``sem`` = std / sqrt(n_glasses); with a single glass both are taken over its frames
    (sem then ignores time correlation and is a lower bound).
    """
    if not trajectories or any(len(t) == 0 for t in trajectories):
        raise ValueError("density_statistics needs at least one non-empty trajectory")
    tails = []
    for frames in trajectories:
        tails.append(np.array([density_g_cm3(a) for a in glass_tail(frames, average_last_fraction)]))
    means = np.array([t.mean() for t in tails])
    spread = tails[0] if len(tails) == 1 else means
    std = float(spread.std(ddof=1)) if len(spread) > 1 else float("nan")
    return {
        "mean": float(means.mean()),
        "std": std,
        "sem": std / np.sqrt(len(spread)),
        "n_glasses": len(tails),
        "n_frames_averaged": int(sum(len(t) for t in tails)),
    }


def partial_rdf(frames: Sequence[Atoms], a: str, b: str, r_max: float = 6.0, n_bins: int = 120) -> tuple[np.ndarray, np.ndarray]:
    """Partial radial distribution g_ab(r) averaged over frames; returns (r centres in Å, g).

    Normalised so that g -> 1 for an uncorrelated liquid: the pair count in a shell is divided
    by N_a * rho_b * shell volume (with the self pair excluded when a == b).
    """
    edges = np.linspace(0.0, r_max, n_bins + 1)
    hist = np.zeros(n_bins)
    norm = 0.0
    for atoms in frames:
        symbols = np.array(atoms.get_chemical_symbols())
        i, j, d = neighbor_list("ijd", atoms, r_max)
        mask = (symbols[i] == a) & (symbols[j] == b)
        hist += np.histogram(d[mask], bins=edges)[0]
        n_a = np.sum(symbols == a)
        n_b = np.sum(symbols == b) - (1 if a == b else 0)
        norm += n_a * n_b / atoms.get_volume()
    shell = 4.0 / 3.0 * np.pi * (edges[1:] ** 3 - edges[:-1] ** 3)
    g = hist / (norm * shell) if norm > 0 else hist
    return 0.5 * (edges[1:] + edges[:-1]), g


def all_partial_rdfs(
    frames: Sequence[Atoms], r_max: float, dr: float = 0.01
) -> tuple[np.ndarray, dict[tuple[str, str], np.ndarray]]:
    """Every partial g_ab(r) (a <= b) averaged over frames, on bins of width ``dr`` (Å) up to ``r_max``.

    Same normalisation as :func:`partial_rdf` (g -> 1 for an uncorrelated liquid),
    with one neighbour list per frame for all pairs.
    """
    from ase.neighborlist import neighbor_list

    species = sorted(set(frames[0].get_chemical_symbols()))
    pairs = list(combinations_with_replacement(species, 2))
    edges = np.linspace(0.0, r_max, int(round(r_max / dr)) + 1)
    hist = {p: np.zeros(len(edges) - 1) for p in pairs}
    norm = {p: 0.0 for p in pairs}
    for atoms in frames:
        symbols = np.array(atoms.get_chemical_symbols())
        i, j, d = neighbor_list("ijd", atoms, r_max)
        counts = {s: int(np.sum(symbols == s)) for s in species}
        for a, b in pairs:
            mask = (symbols[i] == a) & (symbols[j] == b)
            hist[(a, b)] += np.histogram(d[mask], bins=edges)[0]
            norm[(a, b)] += counts[a] * (counts[b] - (1 if a == b else 0)) / atoms.get_volume()
    shell = 4.0 / 3.0 * np.pi * (edges[1:] ** 3 - edges[:-1] ** 3)
    partials = {p: hist[p] / (norm[p] * shell) if norm[p] > 0 else hist[p] for p in pairs}
    return 0.5 * (edges[1:] + edges[:-1]), partials


def potential_of_mean_force(g: np.ndarray, temperature_K: float) -> np.ndarray:
    """PMF F(r) = -k_B T (ln g(r) - ln g_max) in eV (ZIF); +inf where g = 0, so F >= 0 with F = 0 at the peak."""
    from ase.units import kB

    g = np.asarray(g, dtype=float)
    if not np.any(g > 0):
        raise ValueError("g(r) is zero everywhere: no pairs within r_max")
    with np.errstate(divide="ignore"):
        return -kB * temperature_K * (np.log(g) - np.log(g.max()))


def mean_squared_displacement(frames: Sequence[Atoms], species: str | None = None, max_lag: int | None = None) -> np.ndarray:
    """MSD (Å^2) against lag in frames, averaged over atoms (of ``species``) and time origins.

    Positions are unwrapped by following each atom's minimum-image step between consecutive
    frames (in fractional coordinates, so NpT cells work), which needs frames closer in time
    than an atom takes to cross half a cell. Returns msd[lag] for lag = 0 .. max_lag.
    """
    if len(frames) < 2:
        raise ValueError("an MSD needs at least two frames")
    mask = np.ones(len(frames[0]), dtype=bool) if species is None else np.array(frames[0].get_chemical_symbols()) == species
    if not mask.any():
        raise ValueError(f"no '{species}' atoms in the frames")
    frac = np.array([a.get_scaled_positions(wrap=False)[mask] for a in frames])
    steps = np.diff(frac, axis=0)
    steps -= np.round(steps)
    cells = np.array([a.cell.array for a in frames])
    cart_steps = np.einsum("tia,tab->tib", steps, cells[1:])
    unwrapped = np.concatenate([np.zeros((1,) + cart_steps.shape[1:]), np.cumsum(cart_steps, axis=0)])
    max_lag = len(frames) - 1 if max_lag is None else min(max_lag, len(frames) - 1)
    msd = np.zeros(max_lag + 1)
    for lag in range(1, max_lag + 1):
        d = unwrapped[lag:] - unwrapped[:-lag]
        msd[lag] = np.mean(np.sum(d**2, axis=-1))
    return msd


def _neighbours(atoms: Atoms, center: str, neighbor: str, cutoff: float) -> dict[int, list[int]]:
    symbols = np.array(atoms.get_chemical_symbols())
    i, j = neighbor_list("ij", atoms, cutoff)
    mask = (symbols[i] == center) & (symbols[j] == neighbor)
    out: dict[int, list[int]] = {int(k): [] for k in np.flatnonzero(symbols == center)}
    for ci, nj in zip(i[mask], j[mask]):
        out[int(ci)].append(int(nj))
    return out


def coordination_counts(atoms: Atoms, center: str, neighbor: str, cutoff: float) -> dict[int, float]:
    """Fraction of ``center`` atoms with each number of ``neighbor`` atoms within ``cutoff`` (Å)."""
    counts = Counter(len(v) for v in _neighbours(atoms, center, neighbor, cutoff).values())
    total = sum(counts.values())
    return {n: c / total for n, c in sorted(counts.items())} if total else {}


def mean_coordination(atoms: Atoms, center: str, neighbor: str, cutoff: float) -> float:
    """Mean number of ``neighbor`` atoms within ``cutoff`` (Å) of each ``center`` atom."""
    nb = _neighbours(atoms, center, neighbor, cutoff)
    if not nb:
        raise ValueError(f"no '{center}' atoms in {atoms.get_chemical_formula()}")
    return float(np.mean([len(v) for v in nb.values()]))


def bond_angles(atoms: Atoms, apex: str, ends: str, cutoff: float) -> np.ndarray:
    """All ends-apex-ends angles (degrees), e.g. Si-O-Si with apex 'O', ends 'Si'."""
    symbols = np.array(atoms.get_chemical_symbols())
    i, j, vec = neighbor_list("ijD", atoms, cutoff)
    mask = (symbols[i] == apex) & (symbols[j] == ends)
    i, vec = i[mask], vec[mask]
    angles = []
    for center in np.unique(i):
        v = vec[i == center]
        for p in range(len(v)):
            for q in range(p + 1, len(v)):
                cos = np.dot(v[p], v[q]) / (np.linalg.norm(v[p]) * np.linalg.norm(v[q]))
                angles.append(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))))
    return np.array(angles)


def angle_distribution(
    frames: Sequence[Atoms], apex: str, ends: str, cutoff: float, n_bins: int = 90
) -> tuple[np.ndarray, np.ndarray]:
    """Normalised bond-angle distribution over frames: (bin centres in degrees, probability density)."""
    angles = np.concatenate([bond_angles(a, apex, ends, cutoff) for a in frames]) if frames else np.array([])
    hist, edges = np.histogram(angles, bins=n_bins, range=(0.0, 180.0), density=len(angles) > 0)
    return 0.5 * (edges[1:] + edges[:-1]), hist


def qn_fractions(atoms: Atoms, cutoff: float = 2.0, former: str = "Si", oxygen: str = "O") -> dict[int, float]:
    """Qn speciation: fraction of ``former`` atoms with n bridging oxygens (n = 0..4).

    An oxygen is bridging when it has two or more ``former`` neighbours within ``cutoff`` (Å).
    """
    o_neigh = _neighbours(atoms, oxygen, former, cutoff)
    bridging = {o for o, formers in o_neigh.items() if len(formers) >= 2}
    si_neigh = _neighbours(atoms, former, oxygen, cutoff)
    if not si_neigh:
        raise ValueError(f"no '{former}' atoms in {atoms.get_chemical_formula()}")
    counts = Counter(sum(1 for o in oxygens if o in bridging) for oxygens in si_neigh.values())
    total = len(si_neigh)
    return {n: counts.get(n, 0) / total for n in range(5)}


def qn_table(frames: Sequence[Atoms], cutoff: float = 2.0, former: str = "Si", oxygen: str = "O"):
    """Qn speciation averaged over frames: DataFrame with n, fraction, std (over frames), percent."""
    import pandas as pd

    if not frames:
        raise ValueError("qn_table needs at least one frame")
    per_frame = np.array([[qn_fractions(a, cutoff, former, oxygen)[n] for n in range(5)] for a in frames])
    mean = per_frame.mean(axis=0)
    return pd.DataFrame(
        {
            "n": np.arange(5),
            "species": [f"Q{n}" for n in range(5)],
            "fraction": mean,
            "std": per_frame.std(axis=0),
            "percent": 100 * mean,
        }
    )


def structure_properties(frames: Sequence[Atoms], settings: dict):
    """Validation tables of a glass trajectory, averaged over its :func:`glass_tail`.

    ``settings`` is the ``validate`` config block (former, oxygen, bond_cutoff_A,
    average_last_fraction, rdf_r_max_A, rdf_bins, reference_density_g_cm3).
    Returns three pandas DataFrames: properties (property, value, unit, reference,
    abs_error, rel_error_percent), the former-oxygen RDF and the former-O-former angle distribution.
    """
    import pandas as pd

    if not frames:
        raise ValueError("the trajectory has no frames to validate")
    former = settings.get("former", "Si")
    oxygen = settings.get("oxygen", "O")
    cutoff = settings.get("bond_cutoff_A", 2.0)
    tail = glass_tail(frames, settings.get("average_last_fraction", 0.3))
    rho, rho_std = mean_density(tail)
    ref = settings.get("reference_density_g_cm3")
    r, g = partial_rdf(tail, former, oxygen, settings.get("rdf_r_max_A", 6.0), settings.get("rdf_bins", 120))
    theta, p_theta = angle_distribution(tail, oxygen, former, cutoff)
    angles = np.concatenate([bond_angles(a, oxygen, former, cutoff) for a in tail])
    qn = {n: np.mean([qn_fractions(a, cutoff, former, oxygen)[n] for a in tail]) for n in range(5)}
    coordination = np.mean([mean_coordination(a, former, oxygen, cutoff) for a in tail])
    rows = [
        {"property": "density", "value": rho, "std": rho_std, "unit": "g/cm3", "reference": ref},
        {
            "property": f"{former}-{oxygen} first peak",
            "value": float(r[np.argmax(g)]),
            "std": np.nan,
            "unit": "A",
            "reference": np.nan,
        },
        {"property": f"{former} coordination", "value": float(coordination), "std": np.nan, "unit": "", "reference": np.nan},
        {
            "property": f"{former}-{oxygen}-{former} mean angle",
            "value": float(angles.mean()) if len(angles) else np.nan,
            "std": float(angles.std()) if len(angles) else np.nan,
            "unit": "deg",
            "reference": np.nan,
        },
    ] + [{"property": f"Q{n}", "value": float(qn[n]), "std": np.nan, "unit": "fraction", "reference": np.nan} for n in range(5)]
    properties = pd.DataFrame(rows)
    properties["abs_error"] = properties.value - properties.reference
    properties["rel_error_percent"] = 100 * properties.abs_error / properties.reference
    properties.insert(0, "n_frames_averaged", len(tail))
    rdf = pd.DataFrame({"r_A": r, f"g_{former}{oxygen}": g})
    angle_table = pd.DataFrame({"angle_deg": theta, "probability_density": p_theta})
    return properties, rdf, angle_table


def tail(frames: Sequence[Atoms], settings: Mapping, max_frames: int | None = None) -> list[Atoms]:
    """The :func:`glass_tail` of the frames (``average_last_fraction``, default 0.3, within the final
    stage), thinned evenly to at most ``max_frames``."""
    selected = glass_tail(frames, settings.get("average_last_fraction", 0.3))
    if max_frames and len(selected) > max_frames:
        selected = [selected[k] for k in np.linspace(0, len(selected) - 1, max_frames).round().astype(int)]
    return selected


def qn_speciation_table(frames: Sequence[Atoms], settings: Mapping):
    """Qn speciation (NS) of ``validate.former`` with bridging ``validate.oxygen`` within ``bond_cutoff_A``."""
    return qn_table(
        tail(frames, settings),
        cutoff=settings.get("bond_cutoff_A", 2.0),
        former=settings.get("former", "Si"),
        oxygen=settings.get("oxygen", "O"),
    )


def pmf_table(frames: Sequence[Atoms], settings: Mapping):
    """Every partial g_ab(r) and its PMF F_ab(r) = -kT (ln g - ln g_max) in eV (ZIF).

    Keys of ``settings['pmf']``: ``temperature_K`` (300, the temperature of the averaged frames),
    ``r_max_A`` (validate.rdf_r_max_A), ``bins`` (validate.rdf_bins). Columns: r_A, g_<a><b>, F_<a><b>_eV.
    """
    import pandas as pd

    opts = settings.get("pmf", {})
    r_max = opts.get("r_max_A", settings.get("rdf_r_max_A", 6.0))
    r, partials = all_partial_rdfs(tail(frames, settings), r_max, r_max / opts.get("bins", settings.get("rdf_bins", 120)))
    table = pd.DataFrame({"r_A": r})
    for (a, b), g in partials.items():
        table[f"g_{a}{b}"] = g
        table[f"F_{a}{b}_eV"] = potential_of_mean_force(g, opts.get("temperature_K", 300.0)) if np.any(g > 0) else np.inf
    return table


def density_table(trajectories: Sequence[Sequence[Atoms]], settings: Mapping, reference_g_cm3: float, source: str):
    """Density of each independent glass and their mean +- std against a reference (AS, NS).

    Each glass is averaged over its last ``average_last_fraction`` of frames (amlip.properties.structure.density_statistics).
    Rows: glass_0 .. glass_{n-1}, then ``mean`` (value = mean over glasses, std = sample std between
    glasses, sem). Every row has reference, abs_error, rel_error_percent and source; ``percent_mae``
    (NS's figure of merit) is the mean |rel_error_percent| over the glasses, on every row.
    """
    import pandas as pd

    from amlip.properties.reference import compare_with_reference, percent_mae

    fraction = settings.get("average_last_fraction", 0.3)
    rows = []
    for k, frames in enumerate(trajectories):
        stats = density_statistics([frames], fraction)
        rows.append(
            {
                "glass": f"glass_{k}",
                "value": stats["mean"],
                "std": stats["std"],
                "sem": stats["sem"],
                "n_frames_averaged": stats["n_frames_averaged"],
            }
        )
    overall = density_statistics(trajectories, fraction)
    rows.append(
        {
            "glass": "mean",
            "value": overall["mean"],
            "std": overall["std"],
            "sem": overall["sem"],
            "n_frames_averaged": overall["n_frames_averaged"],
        }
    )
    table = pd.DataFrame(rows)
    comparison = compare_with_reference(dict(zip(table.glass, table.value)), {g: reference_g_cm3 for g in table.glass})
    table = table.merge(comparison.drop(columns="value").rename(columns={"key": "glass"}), on="glass")
    table["percent_mae"] = percent_mae(comparison[comparison.key != "mean"])
    table["n_glasses"] = overall["n_glasses"]
    table["source"] = source
    return table
