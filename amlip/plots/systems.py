"""Figures of the systems dimension (rules/systems.smk) and the paper figures built on it (rules/papers.smk)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from amlip.plots import _pyplot
from amlip.properties.systems import DENSITY, NS_MODULI, composition_axis

# Panels of the property-vs-composition figure: (quantity prefix or name, y label); Qn fractions share one panel.
LINES = ("-", "--", ":", "-.")
PANELS = (
    (DENSITY, "density (g/cm³)"),
    ("coordination|", "coordination number"),
    ("angle_mean|", "mean bond angle (degrees)"),
    ("qn|", "Qn (%)"),
)


def plot_properties_vs_composition(table: pd.DataFrame, path: str) -> None:
    """Every system's mean +- std over samples against composition (NS Figs. 1-5, AS Fig. 3a): density with the
    reference where one is given, coordination numbers, mean bond angles and the Qn distribution."""
    plt = _pyplot()
    variants = list(dict.fromkeys(table.variant)) if "variant" in table else [None]
    fig, axes = plt.subplots(2, 2, figsize=(9.0, 7.0))
    for ax, (key, ylabel) in zip(axes.ravel(), PANELS):
        columns = [c for c in table.columns if (c == key or (key.endswith("|") and c.startswith(key))) and not c.endswith(" std")]
        for j, variant in enumerate(variants):
            part = table if variant is None else table[table.variant == variant]
            xlabel, x = composition_axis(part)
            for k, column in enumerate(columns):
                label = column.split("|", 1)[1] if "|" in column else column
                label = label if len(variants) == 1 else f"{variant}: {label}"
                std = part.get(f"{column} std")
                ax.errorbar(x, part[column], yerr=std, fmt="o" + LINES[j % 4], ms=4, capsize=2, color=f"C{k}", label=label)
            if key == DENSITY and "reference_density_g_cm3" in part and j == 0:
                ax.plot(x, part.reference_density_g_cm3, "ks", mfc="none", ms=6, label="reference")
        ax.set_xlabel(xlabel.replace("_mol_percent", " (mol %)"))
        ax.set_ylabel(ylabel)
        if columns:
            ax.legend(frameon=False, fontsize=7)
    n = ", ".join(dict.fromkeys(f"{s} ({k})" for s, k in zip(table.system, table.n_samples)))
    fig.suptitle(f"mean ± std over samples: {n}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_density_vs_composition(figure: pd.DataFrame, column: str, path: str, title: str) -> None:
    """Density against composition with the experiment overlaid (NS Fig. 1 with Table 1); the %MAE in the title."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 4.0))
    for variant, part in figure.groupby("variant", sort=False):
        label = variant
        if "percent_mae" in part and np.isfinite(part.percent_mae.iloc[0]):
            label += f" (%MAE {part.percent_mae.iloc[0]:.2f})"
        ax.errorbar(part[column], part.density_g_cm3, yerr=part.density_std_g_cm3, fmt="o-", capsize=3, label=label)
    if "reference_density_g_cm3" in figure:
        first = figure[figure.variant == figure.variant.iloc[0]]
        ax.plot(first[column], first.reference_density_g_cm3, "ks--", mfc="none", label="experiment")
    ax.set_xlabel(column.replace("_mol_percent", " (mol %)"))
    ax.set_ylabel("density (g/cm³)")
    ax.set_title(title, fontsize=9)
    ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_system_curves(curves: pd.DataFrame, names: list[str], path: str, xlabel: str, ylabel: str, title: str = "") -> None:
    """Sample-averaged curves (rule summarize_systems: system, curve, x, y, y_std) of every system, one panel per
    curve name in ``names`` (e.g. the partial RDFs of NS Fig. 3, the Si-O-Si angle of Fig. 4); a band is +- std
    over samples. A ``reference`` system in ``curves`` (an experiment) is drawn in black."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(names), figsize=(4.0 * len(names), 3.5), squeeze=False)
    for ax, name in zip(axes[0], names):
        part = curves[curves.curve == name]
        keys = ["variant", "system"] if "variant" in part else ["system"]
        for k, (key, data) in enumerate(part.groupby(keys, sort=False, dropna=False)):
            key = key if isinstance(key, tuple) else (key,)
            if key[-1] == "reference":
                ax.plot(data.x, data.y, "k-", lw=1.2, label="experiment")
                continue
            label = " ".join(str(v) for v in key if isinstance(v, str))
            line = ax.plot(data.x, data.y, "-", lw=1.0, color=f"C{k}", label=label)[0]
            if data.y_std.notna().any():
                ax.fill_between(data.x, data.y - data.y_std, data.y + data.y_std, color=line.get_color(), alpha=0.2, lw=0)
        ax.set_title(name, fontsize=9)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.legend(frameon=False, fontsize=7)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_qn_vs_composition(figure: pd.DataFrame, column: str, path: str) -> None:
    """Qn speciation (%) against composition, one line per n (NS Fig. 5), +- std over samples."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.0, 3.8))
    variants = list(dict.fromkeys(figure.variant))
    for j, variant in enumerate(variants):
        part = figure[figure.variant == variant]
        for n in range(5):
            if f"Q{n}" in part and part[f"Q{n}"].abs().sum() > 0:
                label = f"Q{n}" if len(variants) == 1 else f"{variant}: Q{n}"
                ax.errorbar(
                    part[column],
                    part[f"Q{n}"],
                    yerr=part[f"Q{n} std"],
                    fmt="o" + LINES[j % 4],
                    color=f"C{n}",
                    capsize=2,
                    label=label,
                )
    ax.set_xlabel(column.replace("_mol_percent", " (mol %)"))
    ax.set_ylabel("Si[Qn] (%)")
    ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_variant_comparison(comparison: pd.DataFrame, path: str) -> None:
    """Variants side by side (rule compare_variants): density against composition with the reference, and per
    variant the force error on the final test set and the cost per atom per call."""
    plt = _pyplot()
    fig, (dens, force, cost) = plt.subplots(1, 3, figsize=(12.0, 3.8))
    for k, (variant, part) in enumerate(comparison.groupby("variant", sort=False)):
        std = part.get(f"{DENSITY} std")
        dens.errorbar(range(len(part)), part[DENSITY], yerr=std, fmt="o-", capsize=2, color=f"C{k}", label=variant)
        dens.set_xticks(range(len(part)), part.system, rotation=45, fontsize=7)
        if k == 0 and "reference_density_g_cm3" in part:
            dens.plot(range(len(part)), part.reference_density_g_cm3, "ks", mfc="none", label="reference")
    dens.set_ylabel("density (g/cm³)")
    dens.legend(frameon=False, fontsize=7)
    per_variant = comparison.drop_duplicates("variant")
    force.bar(per_variant.variant, per_variant.force_mae_meV_A, color=[f"C{k}" for k in range(len(per_variant))])
    force.set_ylabel("force MAE on the test set (meV/Å)")
    if "cost_us_per_atom_call" in per_variant:
        cost.bar(per_variant.variant, per_variant.cost_us_per_atom_call, color=[f"C{k}" for k in range(len(per_variant))])
    cost.set_ylabel("cost (µs/atom/call)")
    for ax in (force, cost):
        ax.tick_params(axis="x", rotation=45, labelsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_moduli_vs_composition(figure: pd.DataFrame, column: str, path: str, title: str) -> None:
    """Young's modulus, Poisson ratio and bulk modulus against composition (NS Fig. 7, rows of
    :func:`amlip.properties.systems.moduli_figure_table`): one line per variant with the block standard error,
    the reference values (experiment) as open black squares where the moduli table has them."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(NS_MODULI), figsize=(4.0 * len(NS_MODULI), 3.6))
    for ax, (prop, _, label, unit) in zip(axes, NS_MODULI):
        part = figure[figure.property == prop]
        for k, (variant, rows) in enumerate(part.groupby("variant", sort=False)):
            ax.errorbar(rows[column], rows.value, yerr=rows.stderr, fmt="o-", capsize=3, color=f"C{k}", label=variant)
        reference = part.drop_duplicates("system").dropna(subset=["reference"])
        if len(reference):
            ax.plot(reference[column], reference.reference, "ks", mfc="none", ms=7, label="experiment")
        ax.set_xlabel(column.replace("_mol_percent", " (mol %)"))
        ax.set_ylabel(f"{label} ({unit})" if unit else label)
        ax.legend(frameon=False, fontsize=7)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
