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


def plot_elastic_md(fits, path: str) -> None:
    """Four panels of the MD moduli runs (``fits``, :func:`amlip.properties.md_moduli.moduli_from_runs`): axial
    stress and lateral strain against the uniaxial strain (NS), volume against pressure of the NpT steps (NS),
    pressure against volume of the NVT runs (ZIF), each point with its block error and its fit."""
    plt = _pyplot()
    fig, axes = plt.subplots(2, 2, figsize=(9, 7))
    ok = fits[fits.status == "ok"]
    strain = "uniaxial strain $\\epsilon_{xx}$"
    panels = [
        (axes[0, 0], "uniaxial", "strain_xx", "sigma_xx_GPa", "fit_sigma_xx_GPa", strain, "$\\sigma_{xx}$ (GPa)"),
        (axes[0, 1], "uniaxial", "strain_xx", "lateral_strain", "fit_lateral_strain", strain, "mean lateral strain"),
        (axes[1, 0], "pressure", "target_pressure_GPa", "volume_A3", "fit_volume_A3", "pressure (GPa)", "volume (Å$^3$)"),
        (axes[1, 1], "volume", "volume_A3", "pressure_GPa", "fit_pressure_GPa", "volume (Å$^3$)", "pressure (GPa)"),
    ]
    for ax, protocol, x, y, fit, xlabel, ylabel in panels:
        points = ok[(ok.protocol == protocol) | (ok.protocol == "reference")].sort_values(x)
        ax.errorbar(points[x], points[y], yerr=points[f"{y}_err"] if f"{y}_err" in points else None, fmt="o", label="MD average")
        if points[fit].notna().any():
            ax.plot(points[x], points[fit], "-", label="fit")
            ax.legend(fontsize=8)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
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


def plot_fidelity(curves, table, path: str) -> None:
    """The closed loop's two sides overlaid (rule compare_fidelity): partial RDFs (offset by 2 per pair), neutron
    F(Q), bond-angle and ring-size distributions, MLIP dashed over reference solid; ``curves`` has columns
    curve, x, mlip, reference (mean over each side's glasses), ``table`` the comparison (R-factor, TVD, targets)."""
    plt = _pyplot()
    fig, axes = plt.subplots(2, 2, figsize=(10.0, 7.5))
    rdf, fq, angles, rings = axes.ravel()
    names = list(dict.fromkeys(curves.curve))
    for k, name in enumerate(n for n in names if n.startswith("g ")):
        part = curves[curves.curve == name]
        line = rdf.plot(part.x, part.reference + 2 * k, "-", lw=1.0, label=name[2:])[0]
        rdf.plot(part.x, part.mlip + 2 * k, "--", lw=1.0, color=line.get_color())
    rdf.set_xlabel("r (Å)")
    rdf.set_ylabel("g(r) + 2k")
    rdf.legend(frameon=False, fontsize=7, ncol=2)
    part = curves[curves.curve == "F(Q)"]
    fq.plot(part.x, part.reference, "k-", lw=1.0, label="reference")
    fq.plot(part.x, part.mlip, "C3--", lw=1.0, label="MLIP")
    fq.set_xlabel("Q (1/Å)")
    fq.set_ylabel("F(Q) (barn/sr/atom)")
    r_factor = table.loc[table.group == "neutron", "difference"]
    fq.set_title(f"R-factor {r_factor.iloc[0]:.3f}" if len(r_factor) else "", fontsize=9)
    fq.legend(frameon=False, fontsize=8)
    for name in (n for n in names if n.startswith("angle ")):
        part = curves[curves.curve == name]
        line = angles.plot(part.x, part.reference, "-", lw=1.0, label=name[6:])[0]
        angles.plot(part.x, part.mlip, "--", lw=1.0, color=line.get_color())
    angles.set_xlabel("angle (degrees)")
    angles.set_ylabel("probability density")
    angles.legend(frameon=False, fontsize=7)
    part = curves[curves.curve == "rings"]
    if len(part):
        rings.bar(part.x - 0.2, part.reference, width=0.4, color="0.4", label="reference")
        rings.bar(part.x + 0.2, part.mlip, width=0.4, color="C3", label="MLIP")
        tvd = table.loc[table.group == "rings", "difference"]
        rings.set_title(f"total variation distance {tvd.iloc[0]:.3f}" if len(tvd) else "", fontsize=9)
        rings.legend(frameon=False, fontsize=8)
    rings.set_xlabel("ring size (network nodes)")
    rings.set_ylabel("rings per node")
    checked = table[table.target.notna()]
    fig.suptitle(
        f"MLIP (dashed) against its reference (solid): {int(checked.within_target.sum())} of {len(checked)} targets met",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
