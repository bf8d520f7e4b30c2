"""Validation tables and figures of a produced glass trajectory (rules/validate.smk).

Each ``*_table`` function takes the frames of a trajectory and the ``validate`` config block,
averages over the last ``average_last_fraction`` of the frames and returns a pandas DataFrame;
:func:`plot_columns` and :func:`plot_bars` draw it. Settings of one property sit in a sub-block
(``xray_pdf``, ``neutron_sq``, ``rings``); a missing key takes the default named in the
function's docstring.
"""

from __future__ import annotations

import logging
from typing import Mapping, Sequence

import numpy as np
from ase import Atoms

log = logging.getLogger(__name__)


def tail(frames: Sequence[Atoms], settings: Mapping, max_frames: int | None = None) -> list[Atoms]:
    """The last ``average_last_fraction`` (default 0.3) of the frames, thinned evenly to at most ``max_frames``."""
    if not frames:
        raise ValueError("the trajectory has no frames to validate")
    n_last = max(1, int(round(len(frames) * settings.get("average_last_fraction", 0.3))))
    selected = list(frames[-n_last:])
    if max_frames and len(selected) > max_frames:
        selected = [selected[k] for k in np.linspace(0, len(selected) - 1, max_frames).round().astype(int)]
    return selected


def xray_pdf_table(frames: Sequence[Atoms], settings: Mapping):
    """X-ray-weighted G(r) and weighted element partials (AS), from ``settings['xray_pdf']``.

    Keys: ``q_max_inv_A`` (25), ``r_max_A`` (10; clipped to half the shortest cell height, beyond
    which a glass would see its own periodic images), ``dr_A`` (0.01), ``lorch`` (true).
    """
    from amlip.scattering import _half_cell, xray_pdf

    opts = settings.get("xray_pdf", {})
    selected = tail(frames, settings)
    r_max = float(opts.get("r_max_A", 10.0))
    half = _half_cell(selected[0])
    if r_max > half:
        log.warning("xray_pdf.r_max_A=%.2f exceeds half the cell (%.2f Å): clipped", r_max, half)
        r_max = half
    return xray_pdf(selected, q_max=opts.get("q_max_inv_A", 25.0), r_max=r_max, dr=opts.get("dr_A", 0.01), lorch=opts.get("lorch", True))


def neutron_sq_table(frames: Sequence[Atoms], settings: Mapping):
    """Neutron S(Q) and Faber-Ziman partials (NS), from ``settings['neutron_sq']``.

    Keys: ``q_max_inv_A`` (20), ``dq_inv_A`` (0.02), ``scattering_lengths_fm`` (extra or
    overriding coherent lengths, fm). Below Q ~ 2 pi / L (L the cell edge) S(Q) is not meaningful.
    """
    from amlip.scattering import neutron_structure_factor

    opts = settings.get("neutron_sq", {})
    return neutron_structure_factor(
        tail(frames, settings),
        q_max=opts.get("q_max_inv_A", 20.0),
        dq=opts.get("dq_inv_A", 0.02),
        lengths=opts.get("scattering_lengths_fm"),
    )


def ring_table(frames: Sequence[Atoms], settings: Mapping):
    """Shortest-path ring statistics (ZIF), from ``settings['rings']``.

    Keys: ``formers`` ([validate.former]), ``bridges`` ([validate.oxygen]), ``cutoff_A``
    (validate.bond_cutoff_A), ``max_size`` (12), ``max_frames`` (5: rings are costly).
    """
    from amlip.rings import ring_statistics

    opts = settings.get("rings", {})
    return ring_statistics(
        tail(frames, settings, opts.get("max_frames", 5)),
        formers=opts.get("formers", [settings.get("former", "Si")]),
        bridges=opts.get("bridges", [settings.get("oxygen", "O")]),
        cutoff=opts.get("cutoff_A", settings.get("bond_cutoff_A", 2.0)),
        max_size=opts.get("max_size", 12),
    )


def qn_speciation_table(frames: Sequence[Atoms], settings: Mapping):
    """Qn speciation (NS) of ``validate.former`` with bridging ``validate.oxygen`` within ``bond_cutoff_A``."""
    from amlip.analysis import qn_table

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

    from amlip.analysis import potential_of_mean_force
    from amlip.scattering import all_partial_rdfs

    opts = settings.get("pmf", {})
    r_max = opts.get("r_max_A", settings.get("rdf_r_max_A", 6.0))
    r, partials = all_partial_rdfs(tail(frames, settings), r_max, r_max / opts.get("bins", settings.get("rdf_bins", 120)))
    table = pd.DataFrame({"r_A": r})
    for (a, b), g in partials.items():
        table[f"g_{a}{b}"] = g
        table[f"F_{a}{b}_eV"] = potential_of_mean_force(g, opts.get("temperature_K", 300.0)) if np.any(g > 0) else np.inf
    return table


def pore_table(frames: Sequence[Atoms], settings: Mapping):
    """Pore volume and accessible surface per frame with a probe (ZIF: 1.2 Å He), from ``settings['pores']``.

    Keys: ``probe_radius_A`` (1.2), ``grid_spacing_A`` (0.2), ``radii`` (per element, Å; default
    van der Waals), ``max_frames`` (10), ``engine`` (``grid``, numpy; or ``zeo``, pyzeo).
    """
    import pandas as pd

    from amlip.pores import accessible_surface_area, pore_volume_grid, zeo_pore_properties

    opts = settings.get("pores", {})
    probe = opts.get("probe_radius_A", 1.2)
    engine = opts.get("engine", "grid")
    if engine not in ("grid", "zeo"):
        raise ValueError(f"validate.pores.engine must be 'grid' or 'zeo', not '{engine}'")
    rows = []
    for k, atoms in enumerate(tail(frames, settings, opts.get("max_frames", 10))):
        if engine == "zeo":
            zeo = zeo_pore_properties(atoms, probe, radii=opts.get("radii"))
            row = {"pore_volume_A3": zeo["pore_volume_A3"], "accessible_surface_A2": zeo["accessible_surface_A2"]}
        else:
            grid = pore_volume_grid(atoms, probe, opts.get("grid_spacing_A", 0.2), opts.get("radii"))
            row = {"pore_volume_A3": grid["pore_volume_A3"], "accessible_surface_A2": accessible_surface_area(atoms, probe, radii=opts.get("radii"))}
        row["pore_fraction"] = row["pore_volume_A3"] / atoms.get_volume()
        rows.append({"frame": k, "probe_radius_A": probe, **row})
    return pd.DataFrame(rows)


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


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
