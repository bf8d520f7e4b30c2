"""Systems as a DAG dimension (rules/systems.smk): per-sample measurements aggregated per system.

Each sample of a system is measured like a closed-loop glass (:func:`amlip.properties.fidelity.measure_glass`:
quantities named ``<kind>|<label>``, curves ``{curve, x, y}``). This module turns the per-sample tables into
the per-system ones the papers show: mean +- std over samples (NS: 50 glasses per composition, AS: 50 density
glasses), curves averaged over samples (where the papers average, e.g. PDFs), composition in mol % of the
precursor units, and the density against a reference table (relative error; NS's %MAE over systems).
"""

from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd

DENSITY = "density|density"


def composition_mol_percent(units: Mapping[str, int]) -> dict[str, float]:
    """Mole percent of each precursor unit (oxide formula units: 20 Na2O + 80 SiO2 -> Na2O 20 %, SiO2 80 %)."""
    total = sum(units.values())
    if total <= 0:
        return {}
    return {unit: 100.0 * count / total for unit, count in units.items()}


def _keys(table: pd.DataFrame) -> list[str]:
    """The grouping columns: variant (when the table has one) and system."""
    return (["variant"] if "variant" in table.columns else []) + ["system"]


def aggregate_samples(values: pd.DataFrame) -> pd.DataFrame:
    """Per-sample rows ([variant,] system, sample, quantity, value) -> per [variant,] system and quantity: mean,
    std (sample std, ddof 1; NaN for one sample), sem and n_samples. NaN values (a quantity a sample lacks) are
    left out."""
    missing = {"system", "sample", "quantity", "value"} - set(values.columns)
    if missing:
        raise ValueError(f"per-sample values lack the columns {sorted(missing)}")
    keys = _keys(values)
    rows = []
    for group_key, group in values.groupby(keys + ["quantity"], sort=False):
        *ids, quantity = group_key
        v = group["value"].to_numpy(float)
        v = v[np.isfinite(v)]
        n = len(v)
        std = float(np.std(v, ddof=1)) if n > 1 else float("nan")
        rows.append(
            dict(zip(keys, ids))
            | {
                "quantity": quantity,
                "mean": float(np.mean(v)) if n else float("nan"),
                "std": std,
                "sem": std / np.sqrt(n) if n > 1 else float("nan"),
                "n_samples": n,
            }
        )
    return pd.DataFrame(rows)


def average_curves(curves: pd.DataFrame) -> pd.DataFrame:
    """Per-sample curves ([variant,] system, sample, curve, x, y) -> per [variant,] system and curve on the common x:
    mean and std of y."""
    grouped = curves.groupby(_keys(curves) + ["curve", "x"], sort=False)["y"]
    table = grouped.agg(["mean", "std", "count"]).reset_index()
    return table.rename(columns={"mean": "y", "std": "y_std", "count": "n_samples"})


def system_table(summary: pd.DataFrame, systems: Mapping[str, Mapping], references: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per [variant and] system (in the order of ``systems``): composition (mol % of every unit met in any system),
    n_samples, <quantity> and <quantity> std columns, and with ``references`` (glass_densities.csv indexed by
    system) the reference density, its source and the relative error of the mean density in %."""
    all_units = list(dict.fromkeys(u for spec in systems.values() for u in (spec.get("units") or {})))
    variants = list(dict.fromkeys(summary.variant)) if "variant" in summary.columns else [None]
    rows = []
    for variant, (name, spec) in ((v, item) for v in variants for item in systems.items()):
        part = summary[(summary.system == name) & ((summary.variant == variant) if variant is not None else True)]
        if part.empty:
            raise ValueError(f"systems.{name}: no measured sample of variant {variant} in the per-system summary")
        mol = composition_mol_percent(spec.get("units") or {})
        row: dict = {} if variant is None else {"variant": variant}
        row |= {"system": name, **{f"{u}_mol_percent": mol.get(u, 0.0) for u in all_units}}
        row["n_samples"] = int(part.n_samples.max())
        for q in part.itertuples():
            row[q.quantity] = q.mean
            row[f"{q.quantity} std"] = q.std
        ref_name = spec.get("reference")
        if ref_name:
            if references is None or ref_name not in references.index:
                raise KeyError(f"systems.{name}.reference '{ref_name}' is not a system of the reference density table")
            ref = float(references.loc[ref_name, "density_g_cm3"])
            row["reference_density_g_cm3"] = ref
            row["density_rel_error_percent"] = 100.0 * (row[DENSITY] - ref) / ref
            row["reference_source"] = references.loc[ref_name, "source"]
        rows.append(row)
    return pd.DataFrame(rows)


def composition_axis(table: pd.DataFrame, unit: str | None = None) -> tuple[str, np.ndarray]:
    """The x column of a property-vs-composition plot: ``<unit>_mol_percent`` (default: the first unit column
    other than SiO2; with none, the SiO2 one)."""
    columns = [c for c in table.columns if c.endswith("_mol_percent")]
    if unit:
        column = f"{unit}_mol_percent"
        if column not in columns:
            raise KeyError(f"no system has the unit {unit} (composition columns {columns})")
    else:
        others = [c for c in columns if c != "SiO2_mol_percent"]
        column = (others or columns or [None])[0]
    if column is None:
        return "system index", np.arange(len(table), dtype=float)
    return column, table[column].to_numpy(float)


def density_figure_table(table: pd.DataFrame, unit: str = "Na2O") -> pd.DataFrame:
    """The density-vs-composition figure's data (NS Fig. 1): system, mol % of ``unit``, density mean +- std, the
    reference and its relative error; ``percent_mae`` is the mean |relative error| over the systems with a
    reference (NS's figure of merit, e.g. MACE %MAE 7.48 without D3, 1.42 with)."""
    column, x = composition_axis(table, unit)
    out = pd.DataFrame(
        {
            "variant": table.variant if "variant" in table else "chosen",
            "system": table.system,
            column: x,
            "density_g_cm3": table[DENSITY],
            "density_std_g_cm3": table[f"{DENSITY} std"],
            "n_samples": table.n_samples,
        }
    )
    if "reference_density_g_cm3" in table:
        out["reference_density_g_cm3"] = table.reference_density_g_cm3
        out["rel_error_percent"] = table.density_rel_error_percent
        # per variant: the mean |relative error| over its systems with a reference
        out["percent_mae"] = out.groupby("variant")["rel_error_percent"].transform(lambda e: e.abs().mean())
    return out.sort_values(["variant", column], kind="stable").reset_index(drop=True)


def qn_figure_table(table: pd.DataFrame, unit: str = "Na2O") -> pd.DataFrame:
    """The Qn-vs-composition figure's data (NS Fig. 5): system, mol % of ``unit``, Q0..Q4 in % with their std."""
    column, x = composition_axis(table, unit)
    out = pd.DataFrame(
        {
            "variant": table.variant if "variant" in table else "chosen",
            "system": table.system,
            column: x,
            "n_samples": table.n_samples,
        }
    )
    for n in range(5):
        out[f"Q{n}"] = table.get(f"qn|Q{n}", np.nan)
        out[f"Q{n} std"] = table.get(f"qn|Q{n} std", np.nan)
    return out.sort_values(["variant", column], kind="stable").reset_index(drop=True)


# The moduli of NS Fig. 7 (rule validate_elastic_md / elastic_md_system rows): (property, method, label, unit).
NS_MODULI = (
    ("young_modulus", "uniaxial_md", "Young's modulus", "GPa"),
    ("poisson_ratio", "uniaxial_md", "Poisson ratio", ""),
    ("bulk_modulus", "pressure_steps_md", "bulk modulus", "GPa"),
)


def ns_modulus(moduli: pd.DataFrame, prop: str, method: str):
    """The row of an MD moduli table for ``prop`` by ``method`` (an entry of :data:`NS_MODULI`); None without one."""
    match = moduli[(moduli.property == prop) & (moduli.method == method)]
    return match.iloc[0] if len(match) else None


def moduli_figure_table(moduli: Mapping[tuple[str, str], pd.DataFrame], table: pd.DataFrame, unit: str = "Na2O") -> pd.DataFrame:
    """The moduli-vs-composition figure's data (NS Fig. 7): one row per variant, system and modulus of
    :data:`NS_MODULI` (Young's modulus and Poisson ratio from the uniaxial strain runs, the bulk modulus from the
    pressure steps), with its block standard error, the run's status, the mol % of ``unit`` of the system (from
    the systems' ``table``) and the reference with its relative error where the moduli table has one.

    ``moduli``: {(variant, system): the MD moduli table of that variant's sample 0 of the system
    (:func:`amlip.properties.md_moduli.moduli_from_runs` + :func:`amlip.properties.mechanics.compare_moduli`)}.
    A system missing from ``table`` is a KeyError naming it."""
    column, x = composition_axis(table, unit)
    where = dict(zip(table.system, x))
    rows = []
    for (variant, system), values in moduli.items():
        if system not in where:
            raise KeyError(f"system '{system}' of the moduli tables is not in the systems table ({sorted(where)})")
        for prop, method, label, prop_unit in NS_MODULI:
            row = ns_modulus(values, prop, method)
            reference = float(row.reference) if row is not None and "reference" in values and pd.notna(row.reference) else np.nan
            value = float(row.value) if row is not None else np.nan
            rows.append(
                {
                    "variant": variant,
                    "system": system,
                    column: where[system],
                    "property": prop,
                    "label": label,
                    "method": method,
                    "value": value,
                    "stderr": float(row.stderr) if row is not None else np.nan,
                    "unit": prop_unit,
                    "status": str(row.status) if row is not None else "missing",
                    "reference": reference,
                    "rel_error_percent": 100.0 * (value - reference) / reference if np.isfinite(reference) else np.nan,
                }
            )
    out = pd.DataFrame(rows)
    return out.sort_values(["property", "variant", column], kind="stable").reset_index(drop=True)


def curve_figure_table(curves: pd.DataFrame, names: list[str], systems: list[str] | None = None) -> pd.DataFrame:
    """The curves ``names`` of ``systems`` (all when None) from the sample-averaged curves; a missing name or
    system is an error naming it (e.g. no Si-O-Si angle without validate.fidelity.angles giving it)."""
    known = set(curves.curve)
    missing = [n for n in names if n not in known]
    if missing:
        raise KeyError(f"no curve {missing} in the systems' curves (have {sorted(known)}): see validate.fidelity")
    if systems:
        absent = sorted(set(systems) - set(curves.system))
        if absent:
            raise KeyError(f"no system {absent} in the systems' curves (have {sorted(set(curves.system))})")
    part = curves[curves.curve.isin(names) & (curves.system.isin(systems) if systems else True)]
    return part.reset_index(drop=True)


def variant_comparison(
    table: pd.DataFrame,
    evaluations: pd.DataFrame,
    variants: Mapping[str, Mapping],
    vdos_peaks: Mapping | None = None,
    moduli: Mapping | None = None,
) -> pd.DataFrame:
    """The variants side by side (NS: MACE vs MACE+D3 vs DeePMD vs DeePMD+D3): per variant and system the density
    (mean, std, relative error against the reference), first-peak positions, coordination numbers and Qn from the
    per-system ``table``, with the variant's model and D3 and its test-set errors and cost per atom per call
    (``evaluations``: one row per variant); with ``vdos_peaks`` ({(variant, system): spectrum_peaks table}) the
    VDOS peak positions of sample 0, ``vdos_peak_k_cm1`` for the three most prominent in order of frequency; with
    ``moduli`` ({(variant, system): MD moduli table}) the moduli of NS Fig. 7 of sample 0 (:data:`NS_MODULI`),
    ``elastic_md|<property>`` in GPa (Poisson ratio dimensionless)."""
    keep = ["variant", "system", DENSITY, f"{DENSITY} std", "reference_density_g_cm3", "density_rel_error_percent"]
    keep += [c for c in table.columns if c.startswith(("peak_position|", "coordination|", "qn|")) and not c.endswith(" std")]
    out = table[[c for c in keep if c in table.columns]].copy()
    out.insert(1, "model", [variants[v]["model"] for v in out.variant])
    out.insert(2, "dispersion", [_dispersion_label(variants[v]["dispersion"]) for v in out.variant])
    for (variant, system), peaks in (vdos_peaks or {}).items():
        # an empty table (no peak above the noise) reads back without dtypes
        top = [] if peaks.empty else peaks.astype(float).nlargest(3, "prominence").frequency_cm1.sort_values().to_list()
        at = (out.variant == variant) & (out.system == system)
        for k in range(3):
            out.loc[at, f"vdos_peak_{k + 1}_cm1"] = top[k] if k < len(top) else np.nan
    for (variant, system), values in (moduli or {}).items():
        at = (out.variant == variant) & (out.system == system)
        for prop, method, _, _ in NS_MODULI:
            row = ns_modulus(values, prop, method)
            out.loc[at, f"elastic_md|{prop}"] = float(row.value) if row is not None else np.nan
    columns = ["variant", "energy_mae_meV_atom", "force_mae_meV_A", "stress_mae_GPa", "cost_us_per_atom_call", "n_frames"]
    return out.merge(evaluations[[c for c in columns if c in evaluations.columns]], on="variant", how="left")


def _dispersion_label(dispersion) -> str:
    """D3 of a variant as a table entry: the method (d3bj ...), 'off', or 'produce.dispersion' when inherited."""
    if dispersion is None:
        return "produce.dispersion"
    return dispersion.get("method") or "off"
