"""Every figure the pipeline draws, with matplotlib (Agg backend, PNG).

Functions take the table the caller also writes beside the figure (the numbers behind it, a
CSV), so a figure never holds a number the tables do not. Grouped by stage: selection (energy
histogram, SOAP map), labels (level comparison), active learning (parity, learning curve),
validation (profiles, bars, density, elastic), pores (dehydrogenation), benchmarks (label
efficiency).
"""

from __future__ import annotations

import os
from typing import Sequence

import numpy as np
import pandas as pd
from ase import Atoms

from amlip.io.frames import REF_FORCES


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_energy_selection(table, path: str | os.PathLike, title: str | None = None) -> None:
    """Step histograms of the fraction of each set per energy bin: pool vs random vs flat
    histogram (ZIF Fig. 3a); a flat-histogram set is flat where the pool is peaked."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.0, 3.6))
    if len(table) == 0:
        ax.text(0.5, 0.5, "no labelled frames", ha="center", va="center", transform=ax.transAxes)
    else:
        edges = np.append(table["bin_low_eV_atom"].to_numpy(), table["bin_high_eV_atom"].to_numpy()[-1:])
        for name in table.columns[2:]:
            counts = table[name].to_numpy(dtype=float)
            fraction = counts / counts.sum() if counts.sum() else counts
            style = dict(fill=True, color="0.82") if name == "pool" else dict(linewidth=1.6)
            ax.stairs(fraction, edges, label=f"{name} ({int(counts.sum())})", **style)
        ax.legend(frameon=False)
    ax.set_xlabel("energy (eV/atom)")
    ax.set_ylabel("fraction of frames per bin")
    if title:
        ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=150)
    plt.close(fig)


def plot_soap_map(
    coords: np.ndarray,
    picked: Sequence[bool],
    path: str | os.PathLike,
    color: Sequence[float] | None = None,
    color_label: str = "",
    method: str = "pca",
    title: str | None = None,
) -> None:
    """Every frame as a dot in the 2-D SOAP map (coloured by ``color`` when given), the
    selected frames as open red circles (MIL's t-SNE figure)."""
    plt = _pyplot()
    coords = np.asarray(coords)
    picked = np.asarray(picked, dtype=bool)
    fig, ax = plt.subplots(figsize=(5.0, 4.2))
    if color is not None:
        dots = ax.scatter(coords[:, 0], coords[:, 1], c=color, s=8, cmap="viridis", label="pool")
        fig.colorbar(dots, ax=ax, label=color_label)
    else:
        ax.scatter(coords[:, 0], coords[:, 1], s=8, color="0.6", label="pool")
    ax.scatter(
        coords[picked, 0],
        coords[picked, 1],
        s=60,
        facecolors="none",
        edgecolors="red",
        linewidths=1.4,
        label=f"selected ({int(picked.sum())})",
    )
    axis = "PC" if method == "pca" else "t-SNE "
    ax.set_xlabel(f"{axis}1")
    ax.set_ylabel(f"{axis}2")
    ax.legend(frameon=False, loc="best")
    if title:
        ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=150)
    plt.close(fig)


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


def plot_level_comparison(
    frames: Sequence[Atoms], table: pd.DataFrame, summary: pd.DataFrame, path: str, title: str = ""
) -> None:
    """Parity of two levels of theory on the same frames (``table`` and ``summary`` from
    :func:`amlip.labelers.compare.compare_levels`, row k of ``table`` for ``frames[k]``): energy per atom
    (old shifted by the mean offset) and force components, old against new."""
    from amlip.labelers.base import previous_label_prefix

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
        f_old = np.concatenate(
            [a.arrays[f"{prefix}_forces"].ravel() for a in group if f"{prefix}_forces" in a.arrays] or [np.zeros(0)]
        )
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


def plot_columns(table, x: str, columns: Sequence[str], xlabel: str, ylabel: str, path: str, offset: float = 0.0) -> None:
    """Line plot of ``columns`` against ``x``, each shifted down by ``offset`` from the previous (stacked partials)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4.5))
    for k, column in enumerate(columns):
        ax.plot(table[x], table[column] - k * offset, label=column, lw=1.5 if k == 0 else 1.0)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_bars(table, x: str, y: str, xlabel: str, ylabel: str, path: str, yerr: str | None = None) -> None:
    """Bar chart of ``y`` against the categories ``x`` (ring sizes, Qn species)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    positions = np.arange(len(table))
    ax.bar(positions, table[y], yerr=table[yerr] if yerr else None, capsize=3)
    ax.set_xticks(positions, [str(v) for v in table[x]])
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_density(table, reference: float, path: str) -> None:
    """Density of each glass (points, with its std over frames), their mean +- std (band) and the reference line."""
    plt = _pyplot()
    glasses = table[table.glass != "mean"]
    mean = table[table.glass == "mean"].iloc[0]
    fig, ax = plt.subplots(figsize=(6, 4))
    positions = np.arange(len(glasses))
    ax.errorbar(
        positions,
        glasses.value,
        yerr=glasses["std"].fillna(0),
        fmt="o",
        capsize=4,
        color="tab:blue",
        label="glass (std over its frames)",
    )
    ax.axhspan(mean.value - np.nan_to_num(mean["std"]), mean.value + np.nan_to_num(mean["std"]), color="tab:blue", alpha=0.15)
    ax.axhline(mean.value, color="tab:blue", lw=1.5, label=f"mean {mean.value:.3f} g/cm3")
    ax.axhline(reference, color="k", ls="--", label=f"reference {reference:.3f} g/cm3")
    ax.set_xticks(positions, list(glasses.glass))
    ax.set_xlim(-0.5, len(glasses) - 0.5)
    ax.set_ylabel("density (g/cm3)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_elastic(pv, uniaxial, path: str) -> None:
    """Two panels: P(V) with its Birch-Murnaghan fit, and axial stress against strain per axis."""
    plt = _pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 4))
    if len(pv):
        left.plot(pv.volume_A3, pv.pressure_GPa, "o", label="relaxed")
        if "fit_GPa" in pv:
            left.plot(pv.volume_A3, pv.fit_GPa, "-", label="Birch-Murnaghan (2nd order)")
        left.legend(fontsize=8)
    left.set_xlabel("volume (Å$^3$)")
    left.set_ylabel("pressure (GPa)")
    for axis, group in uniaxial.groupby("axis"):
        right.plot(group.strain, group.axial_stress_GPa, "o-", label="xyz"[int(axis)])
    if len(uniaxial):
        right.legend(title="axis", fontsize=8)
    right.set_xlabel("uniaxial strain")
    right.set_ylabel("axial stress (GPa)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_elastic_fluctuation(running, tensor, path: str) -> None:
    """Two panels: running Hill K and G against the number of sampled cells, and the tensor C (GPa) as a heat map."""
    plt = _pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.plot(running.n_samples, running.K_H, "o-", label="K (Hill)")
    left.plot(running.n_samples, running.G_H, "s-", label="G (Hill)")
    left.set_xlabel("sampled cells")
    left.set_ylabel("modulus (GPa)")
    left.legend(fontsize=8)
    values = tensor.to_numpy()
    limit = float(np.nanmax(np.abs(values))) or 1.0
    image = right.imshow(values, cmap="RdBu_r", vmin=-limit, vmax=limit)
    labels = ["xx", "yy", "zz", "yz", "xz", "xy"]
    right.set_xticks(range(6), labels)
    right.set_yticks(range(6), labels)
    for i in range(6):
        for j in range(6):
            right.text(j, i, f"{values[i, j]:.0f}", ha="center", va="center", fontsize=7)
    fig.colorbar(image, ax=right, label="C (GPa)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_dehydrogenation(table, summary: dict, path: str) -> None:
    """Bar chart of the mean dehydrogenation energy per site type (error bars: std), OH density in the title."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    positions = np.arange(len(table))
    ax.bar(positions, table.mean_eV, yerr=table.std_eV.fillna(0.0), capsize=3)
    ax.set_xticks(positions, [f"{s}\n(n={n})" for s, n in zip(table.site, table["count"])])
    ax.set_ylabel("dehydrogenation energy (eV)")
    ax.set_title(
        f"{summary['OH_per_nm2']:.2f} OH/nm$^2$ (cylinder wall), {summary['OH_per_nm2_accessible']:.2f} (accessible surface)",
        fontsize=9,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_label_efficiency(table, path: str | os.PathLike, target_meV_A: float | None = None, title: str | None = None) -> None:
    """Held-out force MAE against labels for both strategies (log-log), with the target line; a
    second panel shows the force MAE per test temperature (``force_mae_<T>K_meV_A`` columns)."""
    plt = _pyplot()
    per_t = [c for c in table.columns if c.startswith("force_mae_") and c.endswith("K_meV_A")]
    fig, axes = plt.subplots(1, 2 if per_t else 1, figsize=(11 if per_t else 5.5, 4), squeeze=False)
    ax = axes[0, 0]
    styles = {"active": "o-", "random": "s--"}
    for strategy, style in styles.items():
        part = table[table["strategy"] == strategy]
        ax.plot(part["n_labels"], part["force_mae_meV_A"], style, label=strategy)
    if target_meV_A is not None and np.isfinite(target_meV_A):
        ax.axhline(target_meV_A, color="grey", lw=0.8, ls=":", label=f"target {target_meV_A:.0f} meV/Å")
    ax.set_ylabel("held-out force MAE (meV/Å)")
    ax.legend()
    if per_t:
        ax_t = axes[0, 1]
        for k, column in enumerate(per_t):
            for strategy, style in styles.items():
                part = table[table["strategy"] == strategy]
                label = f"{strategy}, {column[len('force_mae_') : -len('_meV_A')]}"
                ax_t.plot(
                    part["n_labels"], part[column], style, color=f"C{k}", label=label, alpha=1.0 if strategy == "active" else 0.6
                )
        ax_t.set_ylabel("force MAE by test temperature (meV/Å)")
        ax_t.legend(fontsize=7)
    for a in axes.ravel():
        a.set_xscale("log")
        a.set_yscale("log")
        a.set_xlabel("labelled frames")
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=150)
    plt.close(fig)


def plot_imported_energies(table, path: str) -> None:
    """Reference energy per atom (eV/atom) along each imported AIMD run or trajectory (rule import_aimd)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for name, rows in table.groupby("aimd_source", sort=False):
        ax.plot(rows["aimd_frame"], rows["energy_eV_atom"], marker=".", label=name)
    ax.set_xlabel("frame of the source")
    ax.set_ylabel("reference energy (eV/atom)")
    if len(table):
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_gcmc_loading(table, temperature_K: float, force_field: str, path: str) -> None:
    """CO2 loading (mmol/g) against pressure (bar) from MD-GCMC, error bars from the block SEM (rule adsorb_gcmc)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(4.5, 3.5))
    yerr = table["n_co2_sem"] / table["n_co2_per_cell"].clip(lower=1e-12) * table["loading_mmol_g"]
    ax.errorbar(table["pressure_bar"], table["loading_mmol_g"], yerr=yerr, marker="o")
    ax.set_xlabel("CO2 pressure (bar)")
    ax.set_ylabel("loading (mmol/g)")
    ax.set_title(f"CO2 at {temperature_K:g} K ({force_field} force field)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=150)
    plt.close(fig)


def plot_fq_comparison(table, summary: dict, path: str) -> None:
    """Model neutron F(Q) (mean of the glasses, on their reciprocal lattices) over the measured one,
    the first sharp diffraction peaks marked; full range and a zoom on Q < 4 1/Å."""
    plt = _pyplot()
    fig, (full, zoom) = plt.subplots(1, 2, figsize=(9.0, 3.6), gridspec_kw={"width_ratios": [2, 1]})
    for ax in (full, zoom):
        ax.plot(table.Q_inv_A, table.F_experiment_barn, "k-", lw=1.2, label="experiment")
        ax.plot(table.Q_inv_A, table.F_model_barn, "C0-", lw=0.9, label="model")
        ax.axvline(summary["fsdp_experiment"], color="k", ls=":", lw=0.8)
        ax.axvline(summary["fsdp_model"], color="C0", ls=":", lw=0.8)
        ax.set_xlabel("Q (1/Å)")
    full.set_ylabel("F(Q) (barn/sr/atom)")
    full.set_title(f"R-factor {summary['r_factor']:.3f}", fontsize=9)
    zoom.set_xlim(0.5, 4.0)
    zoom.set_title(f"FSDP {summary['fsdp_model']:.2f} vs {summary['fsdp_experiment']:.2f} 1/Å", fontsize=9)
    full.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_zif(rdf, angles, rings, path: str, title: str = "") -> None:
    """ZIF analyses of one trajectory (ZIF Fig. 4, 6-8): Zn-N / Zn-Zn RDFs with the Zn-N PMF, the
    N-Zn-N / Zn-Im-Zn angle distributions with the N-Zn-N angular PMF, and the Zn-Im ring sizes."""
    plt = _pyplot()
    fig, axes = plt.subplots(2, 2, figsize=(10, 7))
    g_cols = [c for c in rdf.columns if c.startswith("g_")]
    for c in g_cols:
        axes[0, 0].plot(rdf.r_A, rdf[c], label=c[2:])
    axes[0, 0].set(xlabel="r (Å)", ylabel="g(r)")
    axes[0, 0].legend(fontsize=8)
    f_col = [c for c in rdf.columns if c.startswith("F_")][0]
    axes[0, 1].plot(rdf.r_A, rdf[f_col].replace(np.inf, np.nan), color="C3")
    axes[0, 1].set(xlabel="r (Å)", ylabel=f"PMF {f_col[2:-7]} (kJ/mol)")
    for c in [c for c in angles.columns if c.startswith("P_")]:
        axes[1, 0].plot(angles.angle_deg, angles[c], label=c[2:])
    axes[1, 0].set(xlabel="angle (deg)", ylabel="probability density (1/deg)")
    axes[1, 0].legend(fontsize=8)
    ax2 = axes[1, 0].twinx()
    f_angle = [c for c in angles.columns if c.startswith("F_")][0]
    ax2.plot(angles.angle_deg, angles[f_angle].replace(np.inf, np.nan), "k--", lw=0.8)
    ax2.set_ylabel(f"angular PMF {f_angle[2:-7]} (kJ/mol)")
    axes[1, 1].bar(rings.ring_size_zn_im, rings.rings_per_metal, width=1.5)
    axes[1, 1].set(xlabel="Zn-Im ring size (members)", ylabel="rings per Zn")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_xray(fq, dr, summary: dict, path: str) -> None:
    """Model and measured X-ray F(Q) (R-factor window shaded) and, when measured, D(r)."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2 if dr is not None else 1, figsize=(11 if dr is not None else 6, 4), squeeze=False)
    ax = axes[0, 0]
    ax.plot(fq.Q_inv_A, fq.F_measured, "k", lw=1, label="measured")
    ax.plot(fq.Q_inv_A, fq.F_model, "C0", lw=1, label=f"model (R = {summary['r_factor_FQ']:.2f})")
    lo, hi = summary["q_window_inv_A"]
    ax.axvspan(lo, hi, color="0.9", zorder=0)
    ax.set(xlabel="Q (1/Å)", ylabel="F(Q)")
    ax.legend(fontsize=8)
    if dr is not None:
        ax = axes[0, 1]
        ax.plot(dr.r_A, dr.D_measured, "k", lw=1, label="measured")
        ax.plot(dr.r_A, dr.D_from_measured_FQ, "0.6", lw=1, label="transform of measured F(Q)")
        ax.plot(dr.r_A, dr.D_model, "C0", lw=1, label=f"model (R = {summary['r_factor_Dr']:.2f})")
        ax.set(xlabel="r (Å)", ylabel="D(r)")
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_zif_comparison(tables: dict, path: str) -> None:
    """Every analysed trajectory overlaid: Zn-N RDF, N-Zn-N angle, Zn-Im ring sizes and X-ray F(Q).

    ``tables`` maps a trajectory name to {"rdf", "angles", "rings", "fq"} DataFrames.
    """
    plt = _pyplot()
    fig, axes = plt.subplots(2, 2, figsize=(10, 7))
    width = 1.6 / max(1, len(tables))
    for k, (name, t) in enumerate(tables.items()):
        g_col = [c for c in t["rdf"].columns if c.startswith("g_")][0]
        axes[0, 0].plot(t["rdf"].r_A, t["rdf"][g_col], label=name)
        p_col = [c for c in t["angles"].columns if c.startswith("P_")][0]
        axes[0, 1].plot(t["angles"].angle_deg, t["angles"][p_col], label=name)
        axes[1, 0].bar(
            t["rings"].ring_size_zn_im + (k - (len(tables) - 1) / 2) * width, t["rings"].rings_per_metal, width=width, label=name
        )
        axes[1, 1].plot(t["fq"].Q_inv_A, t["fq"].F_model, label=name, lw=1)
    if tables:
        fq = next(iter(tables.values()))["fq"]
        axes[1, 1].plot(fq.Q_inv_A, fq.F_measured, "k", lw=1, label="measured")
    axes[0, 0].set(xlabel="r (Å)", ylabel=f"g {g_col[2:]}" if tables else "g(r)")
    axes[0, 1].set(xlabel="angle (deg)", ylabel=f"P {p_col[2:]} (1/deg)" if tables else "P")
    axes[1, 0].set(xlabel="Zn-Im ring size (members)", ylabel="rings per Zn")
    axes[1, 1].set(xlabel="Q (1/Å)", ylabel="X-ray F(Q)")
    for ax in axes.flat:
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_hydroxyls(distribution, fractions, path: str) -> None:
    """MIL Fig. 8/10: the OH angle alpha distribution per set of frames and the fractions of structure types."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for name, group in distribution.groupby("name", sort=False):
        axes[0].plot(group.alpha_deg, group.probability_density, label=name)
    for edge in (45, 135):
        axes[0].axvline(edge, color="0.6", lw=0.8, ls="--")
    axes[0].set(xlabel="alpha (deg)", ylabel="probability density (1/deg)")
    axes[0].legend(fontsize=7)
    types = fractions[fractions.kind == "structure_type"]
    names = list(dict.fromkeys(types.name_of_frames))
    kinds = list(dict.fromkeys(types.name))
    width = 0.8 / max(1, len(names))
    for k, name in enumerate(names):
        rows = types[types.name_of_frames == name].set_index("name").reindex(kinds)
        axes[1].bar(np.arange(len(kinds)) + k * width, rows.fraction, width=width, label=name)
    axes[1].set_xticks(np.arange(len(kinds)) + width * (len(names) - 1) / 2, kinds)
    axes[1].set(xlabel="structure type of a rod", ylabel="fraction")
    axes[1].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_binding(table, path: str) -> None:
    """CO2 binding energies: model against reference labeler (MIL Table 1), with the identity line."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    ref, model = table.E_b_reference_kJ_mol, table.E_b_model_kJ_mol
    ax.scatter(ref, model)
    lo, hi = float(min(ref.min(), model.min())) - 5, float(max(ref.max(), model.max())) + 5
    ax.plot([lo, hi], [lo, hi], "k--", lw=0.8)
    mae = float((model - ref).abs().mean())
    ax.set(xlabel="E_b reference (kJ/mol)", ylabel="E_b model (kJ/mol)", title=f"MAE {mae:.1f} kJ/mol")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_isotherms(table, path: str) -> None:
    """Loading and isosteric heat against pressure, one line per method (ML-driven GCMC and the classical baseline)."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for method, group in table.groupby("method", sort=False):
        label = method if len(method) < 60 else method[:57] + "..."
        axes[0].errorbar(
            group.pressure_bar,
            group.loading_mmol_g,
            yerr=group.n_sem * group.loading_mmol_g / group.n_per_cell.where(group.n_per_cell > 0),
            marker="o",
            capsize=3,
            label=label,
        )
        axes[1].errorbar(group.pressure_bar, group.q_st_kJ_mol, yerr=group.q_st_sem_kJ_mol, marker="o", capsize=3, label=label)
    axes[0].set(xlabel="pressure (bar)", ylabel="CO2 loading (mmol/g)")
    axes[1].set(xlabel="pressure (bar)", ylabel="isosteric heat q_st (kJ/mol)")
    for ax in axes:
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
