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


def vdos_table(frames: Sequence[Atoms], sample_every_fs: float):
    """Total VDOS and one partial per element (NS) of NVE frames with momenta every ``sample_every_fs`` fs.

    Columns: frequency_THz, frequency_cm1, vdos (unit area over 1/cm), vdos_<element> (on the same
    scale, each element's share of the mass-weighted power, so the partials add up to ``vdos``).
    """
    from amlip.vibrations import vdos_from_frames

    table = vdos_from_frames(frames, sample_every_fs)
    symbols = np.array(frames[0].get_chemical_symbols())
    masses = frames[0].get_masses()
    v = np.array([a.get_velocities() for a in frames])
    # Partials on the scale of the total: each element's share of the mass-weighted power, over the total area.
    for element in sorted(set(symbols)):
        mask = symbols == element
        table[f"vdos_{element}"] = _unnormalised_vdos(v[:, mask], masses[mask])
    total = sum(table[f"vdos_{e}"] for e in sorted(set(symbols)))
    area = np.trapezoid(total, table.frequency_cm1)
    for element in sorted(set(symbols)):
        table[f"vdos_{element}"] = table[f"vdos_{element}"] / area if area > 0 else 0.0
    return table


def _unnormalised_vdos(v: np.ndarray, masses: np.ndarray) -> np.ndarray:
    """Mass-weighted power spectrum of velocities (n_frames, n_atoms, 3) with the Hann window of vacf_spectrum."""
    w = np.hanning(v.shape[0])
    return np.einsum("fia,i->f", np.abs(np.fft.rfft(v * w[:, None, None], axis=0)) ** 2, masses)


def density_table(trajectories: Sequence[Sequence[Atoms]], settings: Mapping, reference_g_cm3: float, source: str):
    """Density of each independent glass and their mean +- std against a reference (AS, NS).

    Each glass is averaged over its last ``average_last_fraction`` of frames (amlip.analysis.density_statistics).
    Rows: glass_0 .. glass_{n-1}, then ``mean`` (value = mean over glasses, std = sample std between
    glasses, sem). Every row has reference, abs_error, rel_error_percent and source; ``percent_mae``
    (NS's figure of merit) is the mean |rel_error_percent| over the glasses, on every row.
    """
    import pandas as pd

    from amlip.analysis import density_statistics
    from amlip.reference import compare_with_reference, percent_mae

    fraction = settings.get("average_last_fraction", 0.3)
    rows = []
    for k, frames in enumerate(trajectories):
        stats = density_statistics([frames], fraction)
        rows.append({"glass": f"glass_{k}", "value": stats["mean"], "std": stats["std"], "sem": stats["sem"], "n_frames_averaged": stats["n_frames_averaged"]})
    overall = density_statistics(trajectories, fraction)
    rows.append({"glass": "mean", "value": overall["mean"], "std": overall["std"], "sem": overall["sem"], "n_frames_averaged": overall["n_frames_averaged"]})
    table = pd.DataFrame(rows)
    comparison = compare_with_reference(dict(zip(table.glass, table.value)), {g: reference_g_cm3 for g in table.glass})
    table = table.merge(comparison.drop(columns="value").rename(columns={"key": "glass"}), on="glass")
    table["percent_mae"] = percent_mae(comparison[comparison.key != "mean"])
    table["n_glasses"] = overall["n_glasses"]
    table["source"] = source
    return table


def _attempt(name: str, status: dict, function, *args, **kwargs):
    """Run one elastic method; on failure log it, record the error in ``status[name]`` and return None."""
    import time

    started = time.perf_counter()
    try:
        result = function(*args, **kwargs)
    except Exception as exc:  # a tiny or broken model must not stop the other methods
        log.warning("%s failed after %.0f s: %s", name, time.perf_counter() - started, exc)
        status[name] = f"failed: {type(exc).__name__}: {exc}"
        return None
    log.info("%s done in %.0f s", name, time.perf_counter() - started)
    status[name] = "ok"
    return result


def elastic_tables(atoms: Atoms, calculator, settings: Mapping):
    """Elastic moduli of a glass at 0 K by three routes, each recorded even when it fails (ZIF, NS).

    ``settings`` is ``validate.elastic``: ``relax_cell`` (true: relax atoms and cell to zero stress
    first, at most ``relax_steps``, 500), ``fmax_eV_A`` (1e-3), ``max_steps`` (500 per relaxation at fixed cell), ``strain`` (0.005, finite-strain
    tensor), ``uniaxial_strains`` ([-0.03 .. 0.03], NS 1-3 %), ``uniaxial_axes`` ([0, 1, 2]),
    ``lateral_tol_GPa`` (0.01), ``max_newton_steps`` (20, lateral relaxation), ``volume_strains`` ([-0.03 .. 0.03]) for the Birch-Murnaghan P(V)
    fit (2nd order, ZIF). Returns (moduli: property, value, unit, method, status; tensor: 6x6 C in
    GPa; pv: volume_A3, pressure_GPa, fit_GPa; uniaxial: axis, strain, axial_stress_GPa,
    lateral_strain). A method that fails (e.g. lateral stresses that do not relax with an unphysical
    model) gets a row with its error in ``status``; a non-positive-definite tensor is reported
    (``positive_definite`` = 0), not fatal.
    """
    import pandas as pd
    from ase.filters import FrechetCellFilter
    from ase.optimize import FIRE

    from amlip.mechanics import (
        birch_murnaghan_pressure,
        elastic_tensor_finite_strain,
        fit_birch_murnaghan,
        hill_averages,
        pressure_volume_curve,
        stress_GPa,
        uniaxial_moduli,
    )

    fmax = settings.get("fmax_eV_A", 1e-3)
    steps = settings.get("max_steps", 500)
    status: dict[str, str] = {}
    glass = atoms.copy()
    glass.calc = calculator
    rows = []
    if settings.get("relax_cell", True):
        converged = _attempt("relax", status, FIRE(FrechetCellFilter(glass), logfile=None).run, fmax=fmax, steps=settings.get("relax_steps", 500))
        rows.append({"property": "relax_converged", "value": float(bool(converged)), "unit": "", "method": "relaxed"})
    rows.append({"property": "volume", "value": glass.get_volume(), "unit": "A3", "method": "relaxed"})
    stress = _attempt("stress", status, stress_GPa, glass)
    if stress is not None:
        rows.append({"property": "pressure", "value": float(-stress[:3].mean()), "unit": "GPa", "method": "relaxed"})
    c = _attempt("tensor", status, elastic_tensor_finite_strain, glass, calculator, settings.get("strain", 0.005), True, fmax, steps)
    if c is not None and not np.all(np.isfinite(c)):
        status["tensor"] = "failed: non-finite stresses"
        c = None
    tensor = pd.DataFrame(np.full((6, 6), np.nan) if c is None else c, columns=[f"C{k + 1}" for k in range(6)])
    tensor.insert(0, "row", [f"C{k + 1}" for k in range(6)])
    if c is not None:
        eig = np.linalg.eigvalsh(c)
        rows.append({"property": "positive_definite", "value": float(eig.min() > 0), "unit": "", "method": "finite_strain"})
        rows.append({"property": "min_eigenvalue", "value": float(eig.min()), "unit": "GPa", "method": "finite_strain"})
        hill = _attempt("hill", status, hill_averages, c)
        if hill:
            names = {"K_H": ("bulk_modulus", "GPa"), "G_H": ("shear_modulus", "GPa"), "E_H": ("young_modulus", "GPa"), "nu_H": ("poisson_ratio", "")}
            for key, value in hill.items():
                prop, unit = names.get(key, (key, "" if key.startswith("nu") else "GPa"))
                rows.append({"property": prop, "value": float(value), "unit": unit, "method": "hill" if key in names else "voigt_reuss"})
    uniaxial_rows = []
    for axis in settings.get("uniaxial_axes", [0, 1, 2]):
        result = _attempt(
            f"uniaxial_{axis}", status, uniaxial_moduli, glass, calculator,
            settings.get("uniaxial_strains", [-0.03, -0.02, -0.01, 0.01, 0.02, 0.03]), axis, True, fmax,
            settings.get("lateral_tol_GPa", 0.01), steps, settings.get("max_newton_steps", 20),
        )
        if result:
            for eps, sig, lat in zip(result["strains"], result["axial_stress_GPa"], result["lateral_strain"]):
                uniaxial_rows.append({"axis": axis, "strain": eps, "axial_stress_GPa": sig, "lateral_strain": lat})
            rows.append({"property": "young_modulus", "value": result["E_GPa"], "unit": "GPa", "method": f"uniaxial_{'xyz'[axis]}"})
            rows.append({"property": "poisson_ratio", "value": result["poisson_ratio"], "unit": "", "method": f"uniaxial_{'xyz'[axis]}"})
    uniaxial = pd.DataFrame(uniaxial_rows, columns=["axis", "strain", "axial_stress_GPa", "lateral_strain"])
    for prop in ("young_modulus", "poisson_ratio"):
        values = [r["value"] for r in rows if r["property"] == prop and r["method"].startswith("uniaxial_")]
        if values:
            rows.append({"property": prop, "value": float(np.mean(values)), "unit": "GPa" if prop == "young_modulus" else "", "method": "uniaxial"})
    pv = _attempt("pv", status, pressure_volume_curve, glass, calculator, settings.get("volume_strains", [-0.03, -0.02, -0.01, 0.0, 0.01, 0.02, 0.03]), True, fmax, steps)
    if pv is None:
        pv = pd.DataFrame(columns=["volume_strain", "volume_A3", "pressure_GPa"])
    else:
        bm = _attempt("birch_murnaghan", status, fit_birch_murnaghan, pv.volume_A3, pv.pressure_GPa, 2)
        if bm:
            pv["fit_GPa"] = birch_murnaghan_pressure(pv.volume_A3, bm["V0_A3"], bm["K0_GPa"])
            rows.append({"property": "bulk_modulus", "value": float(bm["K0_GPa"]), "unit": "GPa", "method": "birch_murnaghan"})
            rows.append({"property": "bulk_modulus_err", "value": float(bm["K0_GPa_err"]), "unit": "GPa", "method": "birch_murnaghan"})
            rows.append({"property": "V0", "value": float(bm["V0_A3"]), "unit": "A3", "method": "birch_murnaghan"})
    rows += [{"property": name, "value": np.nan, "unit": "", "method": name, "status": msg} for name, msg in status.items() if msg != "ok"]
    moduli = pd.DataFrame(rows)
    moduli["status"] = moduli["status"].fillna("ok") if "status" in moduli else "ok"
    return moduli, tensor, pv, uniaxial


def compare_moduli(moduli, reference: Mapping[str, tuple[float, str]]):
    """Add reference, abs_error, rel_error_percent and source to the rows of ``moduli`` whose property has a reference value."""
    table = moduli.copy()
    table["reference"] = [reference[p][0] if p in reference else np.nan for p in table.property]
    table["abs_error"] = table.value - table.reference
    table["rel_error_percent"] = 100 * table.abs_error / table.reference
    table["source"] = [reference[p][1] if p in reference else "" for p in table.property]
    return table


def ir_tables(ideal: Atoms, fc2: np.ndarray, charges, fwhm_cm1: float = 30.0, max_cm1: float = 1500.0, n_peaks: int = 5):
    """IR modes, broadened spectrum and its main peaks (AS), from force constants and Born charges.

    Returns (modes: frequency_cm1, intensity, imaginary; spectrum: frequency_cm1, intensity on a
    1 1/cm grid up to ``max_cm1``; peaks: frequency_cm1, intensity, prominence). Imaginary modes
    (negative frequencies, phonopy's convention) stay in ``modes`` and are left out of the spectrum.
    """
    from amlip.vibrations import ir_spectrum, spectrum_peaks

    modes, spectrum = ir_spectrum(ideal, fc2, charges, fwhm_cm1, np.arange(0.0, max_cm1, 1.0))
    modes["imaginary"] = modes.frequency_cm1 < -1.0
    return modes, spectrum, spectrum_peaks(spectrum.frequency_cm1, spectrum.intensity, n_peaks)


def elastic_fluctuation_tables(cells, temperature_K: float, n_blocks: int = 4):
    """Tables of the strain-fluctuation elastic tensor (ZIF) from N-sigma-T cells (Å).

    Returns (moduli: quantity, value, stderr, unit, n_samples, n_blocks for K/G/E (GPa) and nu in
    Voigt, Reuss and Hill forms; tensor: 6x6 C in GPa, Voigt order, columns C1..C6; running: K_H, G_H
    against the number of cells).
    """
    import pandas as pd

    from amlip.mechanics import fluctuation_moduli

    c, hill, errors, running = fluctuation_moduli(cells, temperature_K, n_blocks)
    moduli = pd.DataFrame(
        [
            {"quantity": k, "value": v, "stderr": errors[k], "unit": "" if k == "nu_H" else "GPa", "n_samples": len(cells), "n_blocks": n_blocks}
            for k, v in hill.items()
        ]
    )
    tensor = pd.DataFrame(c, columns=[f"C{k + 1}" for k in range(6)])
    return moduli, tensor, running


