"""Elastic properties (PROTOCOLS 6): equations of state (ZIF, NS), uniaxial strain (NS), strain fluctuations (ZIF).

Units: volumes in Å^3, pressures and moduli in GPa, strains dimensionless (Voigt order
xx yy zz yz xz xy with engineering shears), temperatures in K. Stresses follow ASE: positive
in tension, pressure P = -trace(stress) / 3.
"""

from __future__ import annotations

import logging
from typing import Mapping, Sequence

import numpy as np
from ase import Atoms, units

log = logging.getLogger(__name__)


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

    fmax = settings.get("fmax_eV_A", 1e-3)
    steps = settings.get("max_steps", 500)
    status: dict[str, str] = {}
    glass = atoms.copy()
    glass.calc = calculator
    rows = []
    if settings.get("relax_cell", True):
        converged = _attempt(
            "relax", status, FIRE(FrechetCellFilter(glass), logfile=None).run, fmax=fmax, steps=settings.get("relax_steps", 500)
        )
        rows.append({"property": "relax_converged", "value": float(bool(converged)), "unit": "", "method": "relaxed"})
    rows.append({"property": "volume", "value": glass.get_volume(), "unit": "A3", "method": "relaxed"})
    stress = _attempt("stress", status, stress_GPa, glass)
    if stress is not None:
        rows.append({"property": "pressure", "value": float(-stress[:3].mean()), "unit": "GPa", "method": "relaxed"})
    c = _attempt(
        "tensor", status, elastic_tensor_finite_strain, glass, calculator, settings.get("strain", 0.005), True, fmax, steps
    )
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
            names = {
                "K_H": ("bulk_modulus", "GPa"),
                "G_H": ("shear_modulus", "GPa"),
                "E_H": ("young_modulus", "GPa"),
                "nu_H": ("poisson_ratio", ""),
            }
            for key, value in hill.items():
                prop, unit = names.get(key, (key, "" if key.startswith("nu") else "GPa"))
                rows.append(
                    {"property": prop, "value": float(value), "unit": unit, "method": "hill" if key in names else "voigt_reuss"}
                )
    uniaxial_rows = []
    for axis in settings.get("uniaxial_axes", [0, 1, 2]):
        result = _attempt(
            f"uniaxial_{axis}",
            status,
            uniaxial_moduli,
            glass,
            calculator,
            settings.get("uniaxial_strains", [-0.03, -0.02, -0.01, 0.01, 0.02, 0.03]),
            axis,
            True,
            fmax,
            settings.get("lateral_tol_GPa", 0.01),
            steps,
            settings.get("max_newton_steps", 20),
        )
        if result:
            for eps, sig, lat in zip(result["strains"], result["axial_stress_GPa"], result["lateral_strain"]):
                uniaxial_rows.append({"axis": axis, "strain": eps, "axial_stress_GPa": sig, "lateral_strain": lat})
            rows.append(
                {"property": "young_modulus", "value": result["E_GPa"], "unit": "GPa", "method": f"uniaxial_{'xyz'[axis]}"}
            )
            rows.append(
                {"property": "poisson_ratio", "value": result["poisson_ratio"], "unit": "", "method": f"uniaxial_{'xyz'[axis]}"}
            )
    uniaxial = pd.DataFrame(uniaxial_rows, columns=["axis", "strain", "axial_stress_GPa", "lateral_strain"])
    for prop in ("young_modulus", "poisson_ratio"):
        values = [r["value"] for r in rows if r["property"] == prop and r["method"].startswith("uniaxial_")]
        if values:
            rows.append(
                {
                    "property": prop,
                    "value": float(np.mean(values)),
                    "unit": "GPa" if prop == "young_modulus" else "",
                    "method": "uniaxial",
                }
            )
    pv = _attempt(
        "pv",
        status,
        pressure_volume_curve,
        glass,
        calculator,
        settings.get("volume_strains", [-0.03, -0.02, -0.01, 0.0, 0.01, 0.02, 0.03]),
        True,
        fmax,
        steps,
    )
    if pv is None:
        pv = pd.DataFrame(columns=["volume_strain", "volume_A3", "pressure_GPa"])
    else:
        bm = _attempt("birch_murnaghan", status, fit_birch_murnaghan, pv.volume_A3, pv.pressure_GPa, 2)
        if bm:
            pv["fit_GPa"] = birch_murnaghan_pressure(pv.volume_A3, bm["V0_A3"], bm["K0_GPa"])
            rows.append({"property": "bulk_modulus", "value": float(bm["K0_GPa"]), "unit": "GPa", "method": "birch_murnaghan"})
            rows.append(
                {"property": "bulk_modulus_err", "value": float(bm["K0_GPa_err"]), "unit": "GPa", "method": "birch_murnaghan"}
            )
            rows.append({"property": "V0", "value": float(bm["V0_A3"]), "unit": "A3", "method": "birch_murnaghan"})
    rows += [
        {"property": name, "value": np.nan, "unit": "", "method": name, "status": msg}
        for name, msg in status.items()
        if msg != "ok"
    ]
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


def elastic_fluctuation_tables(cells, temperature_K: float, n_blocks: int = 4):
    """Tables of the strain-fluctuation elastic tensor (ZIF) from N-sigma-T cells (Å).

    Returns (moduli: quantity, value, stderr, unit, n_samples, n_blocks for K/G/E (GPa) and nu in
    Voigt, Reuss and Hill forms; tensor: 6x6 C in GPa, Voigt order, columns C1..C6; running: K_H, G_H
    against the number of cells).
    """
    import pandas as pd

    c, hill, errors, running = fluctuation_moduli(cells, temperature_K, n_blocks)
    moduli = pd.DataFrame(
        [
            {
                "quantity": k,
                "value": v,
                "stderr": errors[k],
                "unit": "" if k == "nu_H" else "GPa",
                "n_samples": len(cells),
                "n_blocks": n_blocks,
            }
            for k, v in hill.items()
        ]
    )
    tensor = pd.DataFrame(c, columns=[f"C{k + 1}" for k in range(6)])
    return moduli, tensor, running


BOLTZMANN_EV_K = units.kB
EV_A3_TO_GPA = 1.0 / units.GPa


def birch_murnaghan_pressure(volume, v0: float, k0: float, k0_prime: float = 4.0):
    """Third-order Birch-Murnaghan P(V) in the units of ``k0``; ``k0_prime = 4`` is the second-order form.

    P = 3 K0 / 2 (x^7 - x^5) [1 + 3/4 (K0' - 4)(x^2 - 1)],  x = (V0 / V)^(1/3).
    """
    x = (v0 / np.asarray(volume, dtype=float)) ** (1.0 / 3.0)
    return 1.5 * k0 * (x**7 - x**5) * (1.0 + 0.75 * (k0_prime - 4.0) * (x**2 - 1.0))


def fit_birch_murnaghan(volumes: Sequence[float], pressures_GPa: Sequence[float], order: int = 2) -> dict[str, float]:
    """Fit Birch-Murnaghan to P(V) data (ZIF: second order, K0' = 4 fixed).

    Returns V0 (Å^3), K0 (GPa), K0' and the one-sigma errors of the fitted ones (``*_err``).
    """
    from scipy.optimize import curve_fit

    v = np.asarray(volumes, dtype=float)
    p = np.asarray(pressures_GPa, dtype=float)
    if len(v) < order + 1:
        raise ValueError(f"a Birch-Murnaghan fit of order {order} needs at least {order + 1} (V, P) points, got {len(v)}")
    slope = np.polyfit(v, p, 1)[0]
    v0_guess = float(v[np.argmin(np.abs(p))])
    k0_guess = float(-v0_guess * slope) if slope < 0 else 10.0
    if order == 2:
        popt, pcov = curve_fit(lambda vol, v0, k0: birch_murnaghan_pressure(vol, v0, k0), v, p, p0=[v0_guess, k0_guess])
        popt, perr = np.append(popt, 4.0), np.append(np.sqrt(np.diag(pcov)), 0.0)
    elif order == 3:
        popt, pcov = curve_fit(birch_murnaghan_pressure, v, p, p0=[v0_guess, k0_guess, 4.0])
        perr = np.sqrt(np.diag(pcov))
    else:
        raise ValueError(f"order must be 2 or 3, not {order}")
    return {
        "V0_A3": popt[0],
        "K0_GPa": popt[1],
        "K0_prime": popt[2],
        "V0_A3_err": perr[0],
        "K0_GPa_err": perr[1],
        "K0_prime_err": perr[2],
    }


def bulk_modulus_from_pressure_steps(pressures_GPa: Sequence[float], volumes: Sequence[float]) -> float:
    """Bulk modulus K = -V dP/dV (GPa) from volumes at a few pressures (NS: 0-5 GPa steps).

    A straight line through ln V against P gives K = -1 / (d ln V / dP) at the mean pressure.
    """
    slope = np.polyfit(np.asarray(pressures_GPa, dtype=float), np.log(np.asarray(volumes, dtype=float)), 1)[0]
    return float(-1.0 / slope)


def volumes_under_pressure(
    atoms: Atoms, calculator, pressures_GPa: Sequence[float] = (0, 1, 2, 3, 4, 5), fmax: float = 1e-4
) -> np.ndarray:
    """Equilibrium volume (Å^3) at each hydrostatic pressure (GPa), relaxing cell and atoms at 0 K.

    The zero-temperature analogue of NS's 0-5 GPa NpT steps; feed the result to
    :func:`bulk_modulus_from_pressure_steps` or :func:`fit_birch_murnaghan`.
    """
    from ase.filters import FrechetCellFilter
    from ase.optimize import BFGS

    volumes = []
    for p in pressures_GPa:
        relaxed = atoms.copy()
        relaxed.calc = calculator
        BFGS(FrechetCellFilter(relaxed, scalar_pressure=p / EV_A3_TO_GPA), logfile=None).run(fmax=fmax, steps=1000)
        volumes.append(relaxed.get_volume())
    return np.array(volumes)


def stress_GPa(atoms: Atoms) -> np.ndarray:
    """Voigt stress (GPa, ASE sign: positive in tension) of atoms with a calculator."""
    return atoms.get_stress(voigt=True) * EV_A3_TO_GPA


def _strained(atoms: Atoms, strain: np.ndarray) -> Atoms:
    """A copy with cell and positions deformed by the symmetric strain matrix (3, 3)."""
    out = atoms.copy()
    out.calc = atoms.calc
    out.set_cell(atoms.cell.array @ (np.eye(3) + strain), scale_atoms=True)
    return out


def _relaxed_stress(atoms: Atoms, relax_atoms: bool, fmax: float, max_steps: int = 500) -> np.ndarray:
    if relax_atoms:
        from ase.optimize import FIRE

        FIRE(atoms, logfile=None).run(fmax=fmax, steps=max_steps)
    return stress_GPa(atoms)


def _voigt_to_matrix(e: np.ndarray) -> np.ndarray:
    """Voigt strain (engineering shears) to the symmetric 3x3 strain matrix."""
    return np.array([[e[0], e[5] / 2, e[4] / 2], [e[5] / 2, e[1], e[3] / 2], [e[4] / 2, e[3] / 2, e[2]]])


def elastic_tensor_finite_strain(
    atoms: Atoms, calculator, strain: float = 0.005, relax_atoms: bool = False, fmax: float = 1e-3, max_steps: int = 500
) -> np.ndarray:
    """Zero-temperature elastic tensor C (6x6, GPa) by central differences of the stress.

    Each of the six Voigt strains is applied as +/- ``strain``; with ``relax_atoms`` the atoms
    relax at fixed cell (FIRE to ``fmax`` eV/Å, at most ``max_steps``; needed for glasses and for
    crystals with internal degrees of freedom).
    """
    c = np.zeros((6, 6))
    base = atoms.copy()
    base.calc = calculator
    for k in range(6):
        e = np.zeros(6)
        e[k] = strain
        plus = _relaxed_stress(_strained(base, _voigt_to_matrix(e)), relax_atoms, fmax, max_steps)
        minus = _relaxed_stress(_strained(base, _voigt_to_matrix(-e)), relax_atoms, fmax, max_steps)
        c[:, k] = (plus - minus) / (2 * strain)
    return 0.5 * (c + c.T)


def uniaxial_moduli(
    atoms: Atoms,
    calculator,
    strains: Sequence[float] = (-0.03, -0.02, -0.01, 0.01, 0.02, 0.03),
    axis: int = 0,
    relax_atoms: bool = False,
    fmax: float = 1e-3,
    tol_GPa: float = 1e-3,
    max_steps: int = 500,
    max_iterations: int = 20,
) -> dict[str, float]:
    """Young's modulus (GPa) and Poisson ratio from uniaxial strain along ``axis`` (NS: 1-3 %).

    At every strain the two lateral cell lengths are relaxed until the lateral stresses vanish
    (Newton steps with a finite-difference Jacobian), the zero-temperature analogue of NS's NpT
    runs with the strained direction fixed. E is the slope of axial stress against strain
    (least squares through zero stress at zero strain, after subtracting the unstrained stress);
    nu = -(mean lateral strain) / strain, fitted the same way. Tension and compression together
    cancel the quadratic term. Relaxations stop after ``max_steps`` FIRE steps, the Newton loop after
    ``max_iterations`` (RuntimeError). Returns E_GPa, poisson_ratio, and the per-strain data.
    """
    base = atoms.copy()
    base.calc = calculator
    lateral_axes = [a for a in range(3) if a != axis]
    stress0 = _relaxed_stress(_strained(base, np.zeros((3, 3))), relax_atoms, fmax, max_steps)

    def lateral_stress(eps_axial: float, lateral: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        e = np.zeros((3, 3))
        e[axis, axis] = eps_axial
        e[lateral_axes[0], lateral_axes[0]], e[lateral_axes[1], lateral_axes[1]] = lateral
        s = _relaxed_stress(_strained(base, e), relax_atoms, fmax, max_steps) - stress0
        return s[lateral_axes], s

    sigma, lateral_strain = [], []
    for eps in strains:
        lat = np.zeros(2)
        for _ in range(max_iterations):
            residual, full = lateral_stress(eps, lat)
            if np.abs(residual).max() < tol_GPa:
                break
            jac = np.zeros((2, 2))
            h = 1e-4
            for q in range(2):
                d = np.zeros(2)
                d[q] = h
                jac[:, q] = (lateral_stress(eps, lat + d)[0] - residual) / h
            lat = lat - np.linalg.solve(jac, residual)
        else:
            raise RuntimeError(
                f"lateral stresses did not relax below {tol_GPa} GPa at strain {eps} in {max_iterations} Newton steps"
            )
        sigma.append(full[axis])
        lateral_strain.append(lat.mean())
    eps_arr = np.asarray(strains, dtype=float)
    young = float(eps_arr @ np.asarray(sigma) / (eps_arr @ eps_arr))
    nu = float(-(eps_arr @ np.asarray(lateral_strain)) / (eps_arr @ eps_arr))
    return {
        "E_GPa": young,
        "poisson_ratio": nu,
        "strains": list(eps_arr),
        "axial_stress_GPa": sigma,
        "lateral_strain": lateral_strain,
    }


def pressure_volume_curve(
    atoms: Atoms,
    calculator,
    volume_strains: Sequence[float] = (-0.03, -0.02, -0.01, 0.0, 0.01, 0.02, 0.03),
    relax_atoms: bool = True,
    fmax: float = 1e-3,
    max_steps: int = 500,
):
    """Pressure (GPa) at fixed volumes V = V_ref (1 + volume_strain), atoms relaxed at each (0 K analogue of ZIF's NVT P(V) runs).

    The cell is scaled isotropically. Returns a DataFrame (volume_strain, volume_A3, pressure_GPa)
    to feed to :func:`fit_birch_murnaghan`.
    """
    import pandas as pd

    base = atoms.copy()
    base.calc = calculator
    rows = []
    for dv in volume_strains:
        if dv <= -1:
            raise ValueError(f"volume strain {dv} would give a non-positive volume")
        scale = (1.0 + dv) ** (1.0 / 3.0) - 1.0
        strained = _strained(base, scale * np.eye(3))
        stress = _relaxed_stress(strained, relax_atoms, fmax, max_steps)
        rows.append({"volume_strain": float(dv), "volume_A3": strained.get_volume(), "pressure_GPa": float(-stress[:3].mean())})
    return pd.DataFrame(rows)


def cubic_moduli(c: np.ndarray) -> dict[str, float]:
    """Young's modulus and Poisson ratio along [100] of a cubic crystal from C11, C12 (GPa).

    E = (C11 - C12)(C11 + 2 C12) / (C11 + C12), nu = C12 / (C11 + C12).
    """
    c11, c12 = c[0, 0], c[0, 1]
    return {"E_GPa": (c11 - c12) * (c11 + 2 * c12) / (c11 + c12), "poisson_ratio": c12 / (c11 + c12)}


def strains_from_cells(cells: Sequence[np.ndarray], reference_cell: np.ndarray | None = None) -> np.ndarray:
    """Green-Lagrange strains (Voigt, engineering shears) of cells (rows = lattice vectors) against a reference (default: mean cell)."""
    h = np.asarray(cells, dtype=float)
    h0 = h.mean(axis=0) if reference_cell is None else np.asarray(reference_cell, dtype=float)
    # Rows are lattice vectors: h = h0 F^T, so F^T = h0^-1 h.
    ft = np.linalg.solve(h0[None], h)
    f = np.transpose(ft, (0, 2, 1))
    e = 0.5 * (np.einsum("nki,nkj->nij", f, f) - np.eye(3))
    return np.stack([e[:, 0, 0], e[:, 1, 1], e[:, 2, 2], 2 * e[:, 1, 2], 2 * e[:, 0, 2], 2 * e[:, 0, 1]], axis=1)


def elastic_tensor_from_fluctuations(
    cells: Sequence[np.ndarray], temperature_K: float, reference_cell: np.ndarray | None = None
) -> np.ndarray:
    """Elastic tensor C (6x6, GPa) from cell fluctuations in N-sigma-T MD (ZIF).

    Strain-fluctuation formula (Parrinello and Rahman, J. Chem. Phys. 76 (1982) 2662):
    C = k_B T / <V> <d e d e^T>^-1 with e the Voigt strains of the sampled cells.
    Needs many uncorrelated samples: the error of C falls as 1 / sqrt(n_samples).
    """
    h = np.asarray(cells, dtype=float)
    if len(h) < 20:
        raise ValueError(f"strain fluctuations need many cells (got {len(h)}); sample a longer N-sigma-T run")
    e = strains_from_cells(h, reference_cell)
    cov = np.cov(e, rowvar=False)
    volume = float(np.mean(np.abs(np.linalg.det(h))))
    return BOLTZMANN_EV_K * temperature_K / volume * np.linalg.inv(cov) * EV_A3_TO_GPA


def hill_averages(c: np.ndarray) -> dict[str, float]:
    """Voigt, Reuss and Hill bulk and shear moduli (GPa), Hill Young's modulus and Poisson ratio."""
    c = np.asarray(c, dtype=float)
    s = np.linalg.inv(c)
    k_v = (c[0, 0] + c[1, 1] + c[2, 2] + 2 * (c[0, 1] + c[1, 2] + c[0, 2])) / 9
    g_v = (c[0, 0] + c[1, 1] + c[2, 2] - (c[0, 1] + c[1, 2] + c[0, 2]) + 3 * (c[3, 3] + c[4, 4] + c[5, 5])) / 15
    k_r = 1 / (s[0, 0] + s[1, 1] + s[2, 2] + 2 * (s[0, 1] + s[1, 2] + s[0, 2]))
    g_r = 15 / (4 * (s[0, 0] + s[1, 1] + s[2, 2]) - 4 * (s[0, 1] + s[1, 2] + s[0, 2]) + 3 * (s[3, 3] + s[4, 4] + s[5, 5]))
    k_h, g_h = (k_v + k_r) / 2, (g_v + g_r) / 2
    return {
        "K_V": k_v,
        "K_R": k_r,
        "K_H": k_h,
        "G_V": g_v,
        "G_R": g_r,
        "G_H": g_h,
        "E_H": 9 * k_h * g_h / (3 * k_h + g_h),
        "nu_H": (3 * k_h - 2 * g_h) / (2 * (3 * k_h + g_h)),
    }


def fluctuation_moduli(cells: Sequence[np.ndarray], temperature_K: float, n_blocks: int = 4, n_running: int = 10):
    """Elastic tensor (6x6, GPa), Hill averages, block uncertainties and running averages from N-sigma-T cells (ZIF).

    The cells (rows = lattice vectors, Å) are cut into ``n_blocks`` consecutive blocks; the uncertainty
    of each Hill quantity is the standard error over the blocks' own estimates (std / sqrt(n_blocks)),
    which includes the time correlation the plain covariance would hide. ``running`` holds K_H and G_H
    from the first n cells for ``n_running`` growing n (convergence plot). Returns
    (tensor, hill: {name: value}, errors: {name: standard error}, running: DataFrame n_samples, K_H, G_H).
    """
    import pandas as pd

    h = np.asarray(cells, dtype=float)
    if len(h) < 20 * n_blocks:
        raise ValueError(
            f"{len(h)} cells for {n_blocks} blocks: each block needs at least 20; sample more cells or use fewer blocks"
        )
    tensor = elastic_tensor_from_fluctuations(h, temperature_K)
    hill = hill_averages(tensor)
    blocks = [hill_averages(elastic_tensor_from_fluctuations(b, temperature_K)) for b in np.array_split(h, n_blocks)]
    errors = {k: float(np.std([b[k] for b in blocks], ddof=1) / np.sqrt(n_blocks)) for k in hill}
    sizes = np.unique(np.linspace(20, len(h), n_running).astype(int))
    rows = []
    for n in sizes:
        running = hill_averages(elastic_tensor_from_fluctuations(h[:n], temperature_K))
        rows.append({"n_samples": int(n), "K_H": running["K_H"], "G_H": running["G_H"]})
    return tensor, {k: float(v) for k, v in hill.items()}, errors, pd.DataFrame(rows)
