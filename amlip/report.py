"""Tables and figures of the report. Every figure function also returns the numbers it plots."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
from ase import Atoms
from ase.units import GPa

from amlip.io import REF_ENERGY, REF_FORCES, REF_STRESS


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


METRIC_COLUMNS = [
    "energy_mae_meV_atom",
    "energy_rmse_meV_atom",
    "force_mae_meV_A",
    "force_rmse_meV_A",
    "stress_mae_GPa",
    "stress_rmse_GPa",
]


def accuracy_table(evaluations: pd.DataFrame, chosen: dict[str, int]) -> pd.DataFrame:
    """AS Table 2 / ZIF Table 1 layout: one row per domain, member and split, the chosen member
    marked, with the member's cost per atom per call (µs, ZIF) where it was timed."""
    table = evaluations[evaluations.split.isin(["train", "val", "test"])].copy()
    table["chosen"] = [chosen.get(d) == m for d, m in zip(table.domain, table.member)]
    cost = [c for c in ("cost_us_per_atom_call", "cost_n_atoms") if c in table]
    cols = ["domain", "iteration", "member", "chosen", "split", "n_frames"] + METRIC_COLUMNS + cost
    return table[cols].sort_values(["domain", "member", "split"]).reset_index(drop=True)


def to_markdown(table: pd.DataFrame) -> str:
    """A plain Markdown table (no optional dependency)."""
    header = "| " + " | ".join(table.columns) + " |"
    rule = "|" + "|".join("---" for _ in table.columns) + "|"
    rows = []
    for _, row in table.iterrows():
        cells = [f"{v:.3f}" if isinstance(v, float) else str(v) for v in row]
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join([header, rule] + rows) + "\n"


def parity_data(frames: Sequence[Atoms], prefix: str) -> dict[str, pd.DataFrame]:
    """Reference vs prediction: energy per atom (eV/atom), force components (eV/Å), stress (GPa)."""
    energy = pd.DataFrame(
        {
            "reference": [a.info[REF_ENERGY] / len(a) for a in frames],
            "predicted": [a.info[f"{prefix}_energy"] / len(a) for a in frames],
        }
    )
    force = pd.DataFrame(
        {
            "reference": np.concatenate([a.arrays[REF_FORCES].ravel() for a in frames]) if frames else [],
            "predicted": np.concatenate([a.arrays[f"{prefix}_forces"].ravel() for a in frames]) if frames else [],
        }
    )
    with_stress = [a for a in frames if REF_STRESS in a.info and f"{prefix}_stress" in a.info]
    stress = pd.DataFrame(
        {
            "reference": np.concatenate([np.asarray(a.info[REF_STRESS]) / GPa for a in with_stress]) if with_stress else [],
            "predicted": np.concatenate([np.asarray(a.info[f"{prefix}_stress"]) / GPa for a in with_stress]) if with_stress else [],
        }
    )
    return {"energy (eV/atom)": energy, "force (eV/Å)": force, "stress (GPa)": stress}


def plot_parity(data: dict[str, pd.DataFrame], path: str, title: str = "") -> None:
    """Three parity panels with the MAE in each."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(data), figsize=(4 * len(data), 4))
    for ax, (label, df) in zip(np.atleast_1d(axes), data.items()):
        if len(df):
            ax.scatter(df.reference, df.predicted, s=6, alpha=0.6)
            lo = float(min(df.reference.min(), df.predicted.min()))
            hi = float(max(df.reference.max(), df.predicted.max()))
            ax.plot([lo, hi], [lo, hi], "k--", lw=0.8)
            ax.set_title(f"MAE {np.mean(np.abs(df.predicted - df.reference)):.3g}")
        ax.set_xlabel(f"reference {label}")
        ax.set_ylabel(f"model {label}")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def learning_curve(summaries: pd.DataFrame, evaluations: pd.DataFrame) -> pd.DataFrame:
    """Per domain and iteration: training labels so far and the committee's mean/min error on the final test set."""
    final = evaluations[evaluations.split == "final_test"]
    grouped = final.groupby(["domain", "iteration"]).agg(
        force_mae_meV_A=("force_mae_meV_A", "mean"),
        force_mae_min_meV_A=("force_mae_meV_A", "min"),
        energy_mae_meV_atom=("energy_mae_meV_atom", "mean"),
    )
    return summaries.set_index(["domain", "iteration"])[["n_train", "labelled", "fraction_uncertain", "decision"]].join(grouped).reset_index()


def plot_learning_curve(curve: pd.DataFrame, path: str) -> None:
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.8))
    for domain, df in curve.groupby("domain"):
        axes[0].plot(df.n_train, df.force_mae_meV_A, "o-", label=f"{domain} committee mean")
        axes[0].plot(df.n_train, df.force_mae_min_meV_A, "s--", label=f"{domain} best member")
        (line,) = axes[1].plot(df.iteration, df.energy_mae_meV_atom, "o-", label=domain)
        # the first converged iteration; later ones reuse its committee (learn.stop_when_converged)
        converged = df[df.decision.astype(str).str.startswith("converged")]
        if len(converged):
            k = int(converged.iteration.iloc[0])
            axes[1].axvline(k, ls=":", color=line.get_color(), label=f"{domain} converged at {k}")
    axes[0].set_xlabel("training frames")
    axes[0].set_ylabel("force MAE on final test set (meV/Å)")
    axes[1].set_xlabel("active-learning iteration")
    axes[1].set_ylabel("energy MAE on final test set (meV/atom)")
    for ax in axes:
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_density_trace(thermo: pd.DataFrame, properties: pd.DataFrame, reference: float, path: str) -> None:
    """Density and temperature along the melt-quench, with the reference and the averaged window."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(thermo.time_ps, thermo.density_g_cm3, label="model")
    ax.axhline(reference, color="k", ls="--", label=f"experiment {reference} g/cm3")
    n = int(properties.n_frames_averaged.iloc[0])
    ax.axvspan(thermo.time_ps.iloc[-n], thermo.time_ps.iloc[-1], color="0.9", label="averaged")
    rho = properties.set_index("property").loc["density"]
    ax.set_title(f"density {rho.value:.3f} ± {rho['std']:.3f} g/cm3 (error {rho.rel_error_percent:+.1f} %)")
    ax.set_xlabel("time (ps)")
    ax.set_ylabel("density (g/cm3)")
    twin = ax.twinx()
    twin.plot(thermo.time_ps, thermo.target_T_K, color="tab:red", lw=0.8, alpha=0.6)
    twin.set_ylabel("target temperature (K)", color="tab:red")
    ax.legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_xy(df: pd.DataFrame, x: str, y: str, xlabel: str, ylabel: str, path: str) -> None:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(df[x], df[y])
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_level_comparison(frames: Sequence[Atoms], table: pd.DataFrame, summary: pd.DataFrame, path: str, title: str = "") -> None:
    """Parity of two levels of theory on the same frames (``table`` and ``summary`` from
    :func:`amlip.labelers.compare_levels`, row k of ``table`` for ``frames[k]``): energy per atom
    (old shifted by the mean offset) and force components, old against new."""
    from amlip.labelers import previous_label_prefix

    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(9, 4))
    for _, row in summary.iterrows():
        prefix = previous_label_prefix(row.old_lot_hash)
        rows = table[(table.old_lot_hash == row.old_lot_hash) & (table.new_lot_hash == row.new_lot_hash)]
        group = [frames[k] for k in rows.index]
        old = rows.old_energy_eV_atom + row.energy_offset_eV_atom
        new = rows.new_energy_eV_atom
        label = f"{row.old_lot_hash} -> {row.new_lot_hash}"
        axes[0].plot(old, new, "o", ms=4, label=f"{label}: MAE {row.energy_mae_meV_atom:.1f} meV/atom")
        f_old = np.concatenate([a.arrays[f"{prefix}_forces"].ravel() for a in group if f"{prefix}_forces" in a.arrays] or [np.zeros(0)])
        f_new = np.concatenate([a.arrays[REF_FORCES].ravel() for a in group if f"{prefix}_forces" in a.arrays] or [np.zeros(0)])
        axes[1].plot(f_old, f_new, ".", ms=2, alpha=0.5, label=f"{label}: MAE {row.force_mae_meV_A:.0f} meV/Å")
    axes[0].set_xlabel("old level: energy + mean offset (eV/atom)")
    axes[0].set_ylabel("new level: energy (eV/atom)")
    axes[1].set_xlabel("old level: force component (eV/Å)")
    axes[1].set_ylabel("new level: force component (eV/Å)")
    for ax in axes:
        lo, hi = min(ax.get_xlim()[0], ax.get_ylim()[0]), max(ax.get_xlim()[1], ax.get_ylim()[1])
        ax.plot([lo, hi], [lo, hi], "k-", lw=0.6)
        ax.set_xlim(lo, hi)
        ax.set_ylim(lo, hi)
        ax.legend(fontsize=7)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
