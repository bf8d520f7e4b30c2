"""Closed-loop fidelity: the MLIP's glasses against the glasses its own classical reference makes.

With a classical labeler (BKS, ReaxFF) the reference can run the production protocol itself, from
the same starting structures with the same seeds (rules/fidelity.smk). Each glass, MLIP or
reference, is measured the same way (:func:`measure_glass`): density over the tail of its
trajectory; the first peak (position, height) of every partial RDF; mean and width of bond-angle
distributions; coordination numbers; Qn speciation (silicates); rings and node...node...node
angles of the network (Si-O-Si, or Zn-Im-Zn in ZIFs); the neutron F(Q) on the reciprocal lattice
of the cell. :func:`fidelity_table` then puts MLIP and reference side by side (mean and sample std
over glasses), with the difference, the difference glass-to-glass scatter alone would give
(``noise``) and the issue's targets. Curves come back as long tables (``curve``, ``x``, ``y``).

Distances in Å, angles in degrees, densities in g/cm3, Q in 1/Å, F(Q) in barns/sr/atom.
"""

from __future__ import annotations

from itertools import combinations_with_replacement
from typing import Mapping, Sequence

import numpy as np
from ase import Atoms

from amlip.properties.rings import linked_network, network_angles, ring_statistics
from amlip.properties.scattering import fq_r_factor, neutron_fq_kspace
from amlip.properties.structure import all_partial_rdfs, bond_angles, mean_coordination, qn_fractions, tail
from amlip.structures.crystals import density_g_cm3

#: Which target (validate.fidelity.targets) checks a property kind, and whether it is relative (percent).
TARGETS = {
    "density": ("density_percent", True),
    "peak_position": ("peak_position_A", False),
    "peak_height": ("peak_height_percent", True),
    "angle_mean": ("angle_mean_deg", False),
    "coordination": ("coordination", False),
    "qn": ("qn_percent_points", False),
    "network_angle_mean": ("network_angle_deg", False),
    "ring_tvd": ("ring_tvd", False),
    "fq_r_factor": ("fq_r_factor", False),
}


def first_peak(r: np.ndarray, g: np.ndarray, smooth_A: float = 0.02) -> tuple[float, float]:
    """Position (Å) and height of the first peak of g(r): the first local maximum above 1 of g smoothed
    by a Gaussian of ``smooth_A``, refined by a parabola through it and its two neighbours (sub-bin
    positions: the targets ask for 0.02 Å). (nan, nan) when g never exceeds 1."""
    from scipy.ndimage import gaussian_filter1d

    dr = float(r[1] - r[0])
    smooth = gaussian_filter1d(np.asarray(g, dtype=float), smooth_A / dr) if smooth_A > 0 else np.asarray(g, dtype=float)
    above = np.flatnonzero(smooth > 1.0)
    if len(above) == 0:
        return float("nan"), float("nan")
    k = int(above[0])
    while k + 1 < len(smooth) and smooth[k + 1] >= smooth[k]:
        k += 1
    if 0 < k < len(smooth) - 1:
        y0, y1, y2 = smooth[k - 1 : k + 2]
        curvature = y0 - 2 * y1 + y2
        offset = 0.5 * (y0 - y2) / curvature if curvature < 0 else 0.0
        return float(r[k] + offset * dr), float(y1 - 0.25 * (y0 - y2) * offset)
    return float(r[k]), float(smooth[k])


def total_variation(p: Sequence[float], q: Sequence[float]) -> float:
    """Total variation distance 0.5 sum |p - q| of two distributions (each normalised to 1 first; 0 if either is empty)."""
    p, q = np.asarray(p, dtype=float), np.asarray(q, dtype=float)
    if p.sum() <= 0 or q.sum() <= 0:
        return float("nan")
    return float(0.5 * np.abs(p / p.sum() - q / q.sum()).sum())


def pairs_of(frames: Sequence[Atoms], pairs: Sequence[Sequence[str]]) -> list[tuple[str, str]]:
    """The element pairs (a <= b alphabetically) whose RDFs are compared: ``pairs``, or every pair present."""
    if pairs:
        return [tuple(sorted(p)) for p in pairs]
    return list(combinations_with_replacement(sorted(set(frames[0].get_chemical_symbols())), 2))


def measure_glass(frames: Sequence[Atoms], settings: Mapping) -> tuple[dict[str, float], list[dict]]:
    """Scalars and curves of one glass trajectory (``settings``: validate.fidelity with validate's
    ``average_last_fraction``).

    The density is averaged over the whole tail (the last ``average_last_fraction`` of the frames);
    everything else over ``max_frames`` of them spread evenly. Returns ({quantity: value}, curve rows
    {curve, x, y}); quantities are named ``<kind>|<label>`` (kinds: :data:`TARGETS` plus
    ``angle_width``).
    """
    everything = tail(frames, settings)
    selected = tail(frames, settings, settings["max_frames"])
    values = {"density|density": float(np.mean([density_g_cm3(a) for a in everything]))}
    curves: list[dict] = []

    rdf = settings["rdf"]
    r, partials = all_partial_rdfs(selected, rdf["r_max_A"], rdf["dr_A"])
    for a, b in pairs_of(selected, settings["pairs"]):
        g = partials[(a, b)]
        position, height = first_peak(r, g, rdf["smooth_A"])
        values[f"peak_position|{a}-{b}"], values[f"peak_height|{a}-{b}"] = position, height
        curves += [{"curve": f"g {a}-{b}", "x": x, "y": y} for x, y in zip(r, g)]

    edges = np.linspace(0.0, 180.0, settings["angle_bins"] + 1)
    for angle in settings["angles"]:
        label = f"{angle['ends']}-{angle['apex']}-{angle['ends']}"
        theta = np.concatenate([bond_angles(a, angle["apex"], angle["ends"], angle["cutoff_A"]) for a in selected])
        values[f"angle_mean|{label}"] = float(theta.mean()) if len(theta) else float("nan")
        values[f"angle_width|{label}"] = float(theta.std()) if len(theta) else float("nan")
        density = np.histogram(theta, bins=edges, density=len(theta) > 0)[0]
        curves += [{"curve": f"angle {label}", "x": x, "y": y} for x, y in zip(0.5 * (edges[1:] + edges[:-1]), density)]

    for c in settings["coordination"]:
        values[f"coordination|{c['center']} by {c['neighbor']}"] = float(
            np.mean([mean_coordination(a, c["center"], c["neighbor"], c["cutoff_A"]) for a in selected])
        )

    qn = settings["qn"]
    if qn:
        fractions = np.mean(
            [[qn_fractions(a, qn["cutoff_A"], qn["former"], qn["oxygen"])[n] for n in range(5)] for a in selected], 0
        )
        values.update({f"qn|Q{n}": 100.0 * float(f) for n, f in enumerate(fractions)})
        # formers with more than 4 bridging oxygens (over-coordinated, hot or collapsed glasses): the rest to 100 %
        values["qn|Q>4"] = max(0.0, 100.0 - 100.0 * float(fractions.sum()))

    network = settings["network"]
    if network:

        def graph_of(atoms):
            return linked_network(atoms, network["nodes"], network["path"], network["cutoffs_A"])

        rings = ring_statistics(selected, max_size=network["max_size"], graph_of=graph_of)
        curves += [{"curve": "rings", "x": float(s), "y": float(f)} for s, f in zip(rings.ring_size, rings.rings_per_former)]
        theta = np.concatenate([network_angles(a, graph_of(a)) for a in selected])
        node = network["nodes"][0]
        values[f"network_angle_mean|{node}...{node}...{node}"] = float(theta.mean()) if len(theta) else float("nan")
        values[f"angle_width|{node}...{node}...{node}"] = float(theta.std()) if len(theta) else float("nan")

    fq = settings["fq"]
    q_lo, q_hi = fq["q_range_inv_A"]
    q, f, _ = neutron_fq_kspace(selected, q_max=q_hi + fq["dq_inv_A"], dq=fq["dq_inv_A"], lengths=fq["scattering_lengths_fm"])
    grid = np.round(np.arange(q_lo, q_hi + 1e-9, fq["dq_inv_A"]), 9)
    # below the cell's smallest reciprocal vector there is no F(Q): nan there, not an extrapolated constant
    y = np.where((grid >= q.min()) & (grid <= q.max()), np.interp(grid, q, f), np.nan)
    curves += [{"curve": "F(Q)", "x": x, "y": v} for x, v in zip(grid, y)]
    return values, curves


def _kind(quantity: str) -> tuple[str, str]:
    kind, label = quantity.split("|", 1)
    return kind, label


GROUPS = {
    "density": "density",
    "peak_position": "rdf",
    "peak_height": "rdf",
    "angle_mean": "angles",
    "angle_width": "angles",
    "coordination": "coordination",
    "qn": "qn",
    "network_angle_mean": "network",
}
UNITS = {
    "density": "g/cm3",
    "peak_position": "A",
    "peak_height": "",
    "angle_mean": "deg",
    "angle_width": "deg",
    "coordination": "",
    "qn": "%",
    "network_angle_mean": "deg",
}
NAMES = {
    "density": "density",
    "peak_position": "{} first peak position",
    "peak_height": "{} first peak height",
    "angle_mean": "{} angle mean",
    "angle_width": "{} angle width (std)",
    "coordination": "coordination of {}",
    "qn": "{}",
    "network_angle_mean": "{} network angle mean",
}


def _std(x: np.ndarray) -> float:
    return float(np.std(x, ddof=1)) if len(x) > 1 else float("nan")


def _curve(curves, name: str, glass: int | None = None):
    rows = curves[curves.curve == name]
    if glass is not None:
        rows = rows[rows.glass == glass]
    mean = rows.groupby("x", sort=True).y.mean()
    return mean.index.to_numpy(), mean.to_numpy()


def _halves(curves, name: str, glasses: Sequence[int]):
    """The mean curve of the first and of the second half of ``glasses`` (for the noise of a curve metric)."""
    half = len(glasses) // 2
    first = curves[(curves.curve == name) & curves.glass.isin(glasses[:half])]
    second = curves[(curves.curve == name) & curves.glass.isin(glasses[half:])]
    a, b = first.groupby("x").y.mean(), second.groupby("x").y.mean()
    return a.index.to_numpy(), a.to_numpy(), b.to_numpy()


def fidelity_table(
    mlip_values, reference_values, mlip_curves, reference_curves, targets: Mapping, provenance: Sequence[dict] = ()
):
    """MLIP against reference, one row per property (DataFrame).

    ``*_values``: long tables (glass, quantity, value) of :func:`measure_glass` over the glasses of each
    side; ``*_curves``: (glass, curve, x, y). Columns: group, property, unit, mlip_mean, mlip_std,
    reference_mean, reference_std (sample std over glasses), difference (MLIP - reference; for the
    ring-size distribution the total variation distance, for F(Q) the R-factor of the MLIP's against
    the reference's), relative_difference_percent, noise (what glass-to-glass scatter alone gives: the
    reference's std x sqrt(1/n_mlip + 1/n_reference) for a mean; for the distance and the R-factor the
    same metric between the two halves of the reference glasses, which hold half as many glasses
    each: an upper bound), target (validate.fidelity.targets; percent when relative), within_target.
    ``provenance`` rows (group provenance: labels, iterations) are appended as they are.
    """
    import pandas as pd

    rows = []
    n_mlip, n_ref = mlip_values.glass.nunique(), reference_values.glass.nunique()
    for quantity in dict.fromkeys(reference_values.quantity):
        kind, label = _kind(quantity)
        m = mlip_values[mlip_values.quantity == quantity].value.to_numpy(dtype=float)
        r = reference_values[reference_values.quantity == quantity].value.to_numpy(dtype=float)
        row = {
            "group": GROUPS[kind],
            "property": NAMES[kind].format(label),
            "unit": UNITS[kind],
            "mlip_mean": float(np.mean(m)) if len(m) else float("nan"),
            "mlip_std": _std(m),
            "reference_mean": float(np.mean(r)),
            "reference_std": _std(r),
        }
        row["difference"] = row["mlip_mean"] - row["reference_mean"]
        row["relative_difference_percent"] = (
            100.0 * row["difference"] / row["reference_mean"] if row["reference_mean"] else np.nan
        )
        row["noise"] = row["reference_std"] * np.sqrt(1.0 / max(n_mlip, 1) + 1.0 / n_ref)
        rows.append(_check(row, kind, targets))

    ref_glasses = sorted(reference_curves.glass.unique())
    if (reference_curves.curve == "rings").any():
        p, q = _curve(mlip_curves, "rings")[1], _curve(reference_curves, "rings")[1]
        _, first, second = _halves(reference_curves, "rings", ref_glasses)
        row = {"group": "rings", "property": "ring-size distribution (total variation distance)", "unit": ""}
        row |= {"difference": total_variation(p, q), "noise": total_variation(first, second) if len(ref_glasses) > 1 else np.nan}
        rows.append(_check(row, "ring_tvd", targets))
    q, f_ref = _curve(reference_curves, "F(Q)")
    q_mlip, f_mlip = _curve(mlip_curves, "F(Q)")
    row = {"group": "neutron", "property": "neutron F(Q) R-factor (MLIP against reference)", "unit": ""}
    row["difference"] = overlap_r_factor(q_mlip, f_mlip, q, f_ref)
    if len(ref_glasses) > 1:
        q_half, first, second = _halves(reference_curves, "F(Q)", ref_glasses)
        row["noise"] = overlap_r_factor(q_half, first, q_half, second)
    rows.append(_check(row, "fq_r_factor", targets))
    table = pd.DataFrame(rows + [dict(p) for p in provenance])
    columns = ["group", "property", "unit", "mlip_mean", "mlip_std", "reference_mean", "reference_std", "difference"]
    columns += ["relative_difference_percent", "noise", "target", "within_target", "note"]
    return table.reindex(columns=columns)


def overlap_r_factor(q_model, f_model, q_ref, f_ref) -> float:
    """:func:`fq_r_factor` of two curves over the Q range both cover (F(Q) is nan below a cell's smallest
    reciprocal vector; NpT cells differ in size)."""
    model, ref = np.isfinite(f_model), np.isfinite(f_ref)
    q_model, f_model, q_ref, f_ref = q_model[model], f_model[model], q_ref[ref], f_ref[ref]
    return fq_r_factor(q_model, f_model, q_ref, f_ref, max(q_model.min(), q_ref.min()), min(q_model.max(), q_ref.max()))


def _check(row: dict, kind: str, targets: Mapping) -> dict:
    """``row`` with its target and whether the difference is within it (relative targets in percent)."""
    if kind not in TARGETS or TARGETS[kind][0] not in targets:
        return row | {"target": np.nan, "within_target": None}
    key, relative = TARGETS[kind]
    value = abs(row["relative_difference_percent"] if relative else row["difference"])
    return row | {"target": float(targets[key]), "within_target": bool(value <= targets[key]) if np.isfinite(value) else False}


def mean_curves(mlip_curves, reference_curves):
    """The mean curve of each side over its glasses, side by side: (curve, x, mlip, reference)."""
    import pandas as pd

    m = mlip_curves.groupby(["curve", "x"]).y.mean().rename("mlip")
    r = reference_curves.groupby(["curve", "x"]).y.mean().rename("reference")
    return pd.concat([m, r], axis=1).reset_index()


def provenance_rows(summaries) -> list[dict]:
    """Rows saying what produced the MLIP, from the learn summaries (one per iteration, summary.csv):
    reference labels computed (over every iteration, failures included), training frames of the last
    iteration, iterations that labelled anything, and whether active learning converged."""
    labelled = summaries.labelled.sum() + summaries.failed.sum()
    active = summaries[summaries.labelled > 0]
    last = summaries.sort_values("iteration").iloc[-1]
    converged = summaries[summaries.converged.astype(bool)]
    note = f"converged at iteration {int(converged.iteration.min())}" if len(converged) else "not converged"
    rows = [
        ("reference labels computed", labelled, "every iteration's label jobs (failed ones included)"),
        ("training frames", last.n_train, f"train split of iteration {int(last.iteration)}"),
        ("iterations with new labels", len(active), note),
    ]
    return [
        {"group": "provenance", "property": name, "unit": "", "mlip_mean": float(value), "note": text}
        for name, value, text in rows
    ]
