"""Figures of the systems dimension (rules/systems.smk) and the paper figures built on it (rules/papers.smk)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from amlip.plots import _pyplot
from amlip.properties.systems import DENSITY, composition_axis

# Panels of the property-vs-composition figure: (quantity prefix or name, y label); Qn fractions share one panel.
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
    xlabel, x = composition_axis(table)
    fig, axes = plt.subplots(2, 2, figsize=(9.0, 7.0))
    for ax, (key, ylabel) in zip(axes.ravel(), PANELS):
        columns = [c for c in table.columns if (c == key or (key.endswith("|") and c.startswith(key))) and not c.endswith(" std")]
        for k, column in enumerate(columns):
            label = column.split("|", 1)[1] if "|" in column else column
            std = table.get(f"{column} std")
            ax.errorbar(x, table[column], yerr=std, fmt="o-", ms=4, capsize=2, color=f"C{k}", label=label)
        if key == DENSITY and "reference_density_g_cm3" in table:
            ax.plot(x, table.reference_density_g_cm3, "ks", mfc="none", ms=6, label="reference")
        ax.set_xlabel(xlabel.replace("_mol_percent", " (mol %)"))
        ax.set_ylabel(ylabel)
        if columns:
            ax.legend(frameon=False, fontsize=7)
    n = ", ".join(f"{s} ({k})" for s, k in zip(table.system, table.n_samples))
    fig.suptitle(f"mean ± std over samples: {n}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_density_vs_composition(figure: pd.DataFrame, column: str, path: str, title: str) -> None:
    """Density against composition with the experiment overlaid (NS Fig. 1 with Table 1); the %MAE in the title."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.0, 3.8))
    ax.errorbar(figure[column], figure.density_g_cm3, yerr=figure.density_std_g_cm3, fmt="o-", capsize=3, label="model")
    if "reference_density_g_cm3" in figure:
        ax.plot(figure[column], figure.reference_density_g_cm3, "ks--", mfc="none", label="experiment")
        mae = figure.percent_mae.iloc[0]
        title += f"  (%MAE {mae:.2f})" if np.isfinite(mae) else ""
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
        for k, (system, data) in enumerate(part.groupby("system", sort=False)):
            if system == "reference":
                ax.plot(data.x, data.y, "k-", lw=1.2, label="experiment")
                continue
            line = ax.plot(data.x, data.y, "-", lw=1.0, color=f"C{k}", label=system)[0]
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
    for n in range(5):
        if f"Q{n}" in figure and figure[f"Q{n}"].abs().sum() > 0:
            ax.errorbar(figure[column], figure[f"Q{n}"], yerr=figure[f"Q{n} std"], fmt="o-", capsize=2, label=f"Q{n}")
    ax.set_xlabel(column.replace("_mol_percent", " (mol %)"))
    ax.set_ylabel("Si[Qn] (%)")
    ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
