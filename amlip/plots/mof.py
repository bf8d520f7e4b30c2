"""Figures of the MOF analyses (ZIF-4, MIL-120, adsorption): one function per figure, each writing a PNG."""

from __future__ import annotations

import numpy as np

from amlip.plots import _pyplot


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
