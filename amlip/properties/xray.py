"""X-ray total scattering F(Q) and D(r) of a structure with Q-dependent form factors, and its comparison with measured data.

The measured ZIF-4 data (Gaillac et al., Nature Mater. 16 (2017) 1149; resources/reference/zif4_xray/)
are GudrunX ``.int01`` (F(Q)) and ``.dofr`` (D(r)) files. We compute the same functions of a model:

    F(Q) = sum_ab c_a c_b f_a(Q) f_b(Q) [S_ab(Q) - 1] / N(Q)
    D(r) = (2/pi) int_Qmin^Qmax Q F(Q) sin(Q r) dQ       (on the measured Q grid, no modification function)

with S_ab(Q) - 1 = 4 pi rho0 / Q int r (g_ab(r) - 1) sin(Q r) W(r) dr (Faber-Ziman partials,
:mod:`amlip.properties.scattering`, W a sinc window against the truncation of g at r_max) and
f_a(Q) the Cromer-Mann atomic form factors (International Tables for Crystallography Vol. C,
Table 6.1.1.4). The normalisation N(Q) is ``<f^2>`` = sum_a c_a f_a(Q)^2 by default, or ``<f>^2`` =
(sum_a c_a f_a(Q))^2. The data's README does not state it; we measured it: the F(Q) of the
static ZIF-4 crystal (2x2x2 cell, g(r) to 15 Å, 0.1 Å broadening) against the 31 °C data fits with
a scale factor of 1.04 with <f^2> and 0.43 with <f>^2 over 1.2-20 1/Å, so the files are
normalised by <f^2> (tests/test_zif.py keeps that check).

Agreement is the R-factor R = sqrt(sum (F_model - F_exp)^2 / sum F_exp^2) over a Q window (as
issue 21 defines it for silica). The measured D(r) is not exactly the plain transform of the
measured F(Q) (R = 0.21 between them over 0.8-20 Å, a modification function we do not know), which
bounds how well any model can match D(r); :func:`xray_comparison` reports both.
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
from ase import Atoms

from amlip.properties.structure import all_partial_rdfs

#: Cromer-Mann coefficients (a1..a4, b1..b4 in Å^2, c): f(s) = sum a_i exp(-b_i s^2) + c, s = Q / (4 pi).
#: International Tables for Crystallography Vol. C, Table 6.1.1.4 (neutral atoms).
CROMER_MANN: dict[str, tuple[tuple[float, ...], tuple[float, ...], float]] = {
    "H": ((0.489918, 0.262003, 0.196767, 0.049879), (20.6593, 7.74039, 49.5519, 2.20159), 0.001305),
    "C": ((2.31000, 1.02000, 1.58860, 0.865000), (20.8439, 10.2075, 0.568700, 51.6512), 0.215600),
    "N": ((12.2126, 3.13220, 2.01250, 1.16630), (0.005700, 9.89330, 28.9975, 0.582600), -11.5290),
    "O": ((3.04850, 2.28680, 1.54630, 0.867000), (13.2771, 5.70110, 0.323900, 32.9089), 0.250800),
    "Na": ((4.76260, 3.17360, 1.26740, 1.11280), (3.28500, 8.84220, 0.313600, 129.424), 0.676000),
    "Al": ((6.42020, 1.90020, 1.59360, 1.96460), (3.03870, 0.742600, 31.5472, 85.0886), 1.11510),
    "Si": ((6.29150, 3.03530, 1.98910, 1.54100), (2.43860, 32.3337, 0.678500, 81.6937), 1.14070),
    "Zn": ((14.0743, 7.03180, 5.16520, 2.41000), (3.26550, 0.233300, 10.3163, 58.7097), 1.30410),
}
NORMALISATIONS = ("<f^2>", "<f>^2")


def form_factor(symbol: str, q: np.ndarray) -> np.ndarray:
    """X-ray atomic form factor f(Q) in electrons of a neutral atom (Q in 1/Å)."""
    if symbol not in CROMER_MANN:
        raise KeyError(f"no Cromer-Mann coefficients for {symbol} in amlip.properties.xray.CROMER_MANN; add them")
    a, b, c = CROMER_MANN[symbol]
    s2 = (np.asarray(q, dtype=float) / (4 * np.pi)) ** 2
    return c + sum(ai * np.exp(-bi * s2) for ai, bi in zip(a, b))


def xray_fq(
    frames: Sequence[Atoms],
    q: np.ndarray,
    r_max: float,
    dr: float = 0.01,
    broadening_A: float = 0.0,
    normalisation: str = "<f^2>",
) -> np.ndarray:
    """X-ray F(Q) of the frames on the grid ``q`` (1/Å) from partial g(r) up to ``r_max`` (Å).

    ``broadening_A``: Gaussian width (Å) given to every pair distance, for static structures (a
    crystal from a CIF) that lack thermal motion; 0 for MD frames. Pairs beyond half the cell are
    periodic images: fine for a crystal, an artefact for a glass (keep ``r_max`` below half the cell).
    """
    from scipy.ndimage import gaussian_filter1d

    if normalisation not in NORMALISATIONS:
        raise ValueError(f"normalisation '{normalisation}' is not one of {NORMALISATIONS}")
    q = np.asarray(q, dtype=float)
    symbols = frames[0].get_chemical_symbols()
    species = sorted(set(symbols))
    conc = {s: symbols.count(s) / len(symbols) for s in species}
    rho0 = float(np.mean([len(a) / a.get_volume() for a in frames]))
    f = {s: form_factor(s, q) for s in species}
    norm = sum(conc[s] * f[s] ** 2 for s in species) if normalisation == "<f^2>" else sum(conc[s] * f[s] for s in species) ** 2
    r, partials = all_partial_rdfs(frames, r_max, dr)
    window = np.sinc(r / r_max)
    safe_q = np.where(q > 0, q, 1e-8)
    kernel = np.sin(np.outer(safe_q, r))
    total = np.zeros_like(q)
    for (a, b), g in partials.items():
        if broadening_A > 0:
            # broaden the pair-distance distribution (g r^2), not g itself
            g = gaussian_filter1d(g * r**2, broadening_A / dr, mode="constant") / np.maximum(r**2, 1e-12)
        s_ab = 4 * np.pi * rho0 / safe_q * np.trapezoid(r * (g - 1.0) * window * kernel, r, axis=1)
        total += (1 if a == b else 2) * conc[a] * conc[b] * f[a] * f[b] * s_ab
    return total / norm


def dr_from_fq(q: np.ndarray, fq: np.ndarray, r: np.ndarray) -> np.ndarray:
    """D(r) = (2/pi) int Q F(Q) sin(Q r) dQ over the given Q grid (no modification function)."""
    return 2.0 / np.pi * np.trapezoid(q * fq * np.sin(np.outer(r, q)), q, axis=1)


def load_gudrun(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """A GudrunX ``.int01`` (Q, F(Q)) or ``.dofr`` (r, D(r)) file: '#' header lines, columns x, y, error.

    Returns (x, y); the trailing all-zero row GudrunX writes past the last point is dropped.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"measured scattering file {path} does not exist")
    data = np.loadtxt(path, comments="#", ndmin=2)
    if data.shape[1] < 2:
        raise ValueError(f"{path}: expected columns x, y[, error], found {data.shape[1]}")
    x, y = data[:, 0], data[:, 1]
    keep = ~((y == 0) & (np.arange(len(y)) == len(y) - 1))
    return x[keep], y[keep]


def half_cell_A(atoms: Atoms) -> float:
    """Just under half the shortest distance between opposite cell faces (Å): the largest r without self-images."""
    cell = atoms.cell.array
    volume = abs(np.linalg.det(cell))
    return 0.999 * min(volume / np.linalg.norm(np.cross(cell[(i + 1) % 3], cell[(i + 2) % 3])) for i in range(3)) / 2


def r_factor(model: np.ndarray, measured: np.ndarray) -> float:
    """R = sqrt(sum (model - measured)^2 / sum measured^2)."""
    return float(np.sqrt(np.sum((model - measured) ** 2) / np.sum(measured**2)))


def xray_comparison(frames: Sequence[Atoms], settings: Mapping):
    """F(Q) and D(r) of the frames against the measured files of ``settings`` (the ``zif.xray`` block).

    Keys: ``reference`` (.int01), ``reference_dofr`` (.dofr or null), ``q_min_inv_A``/``q_max_inv_A``
    (R-factor window), ``r_max_A`` (null: just under half the shortest cell height), ``broadening_A``,
    ``normalisation``. Returns (fq table, dr table or None, summary dict with the R-factors and the
    first-peak positions of model and measurement).
    """
    import pandas as pd

    from amlip.properties.scattering import first_peak_positions

    q, f_exp = load_gudrun(settings["reference"])
    r_max = settings["r_max_A"] or half_cell_A(frames[0])
    f_model = xray_fq(frames, q, r_max, broadening_A=settings["broadening_A"], normalisation=settings["normalisation"])
    window = (q >= settings["q_min_inv_A"]) & (q <= settings["q_max_inv_A"])
    fq = pd.DataFrame({"Q_inv_A": q, "F_model": f_model, "F_measured": f_exp, "in_window": window})
    peaks_model = first_peak_positions(q[window], f_model[window], min_height=0.0)
    peaks_exp = first_peak_positions(q[window], f_exp[window], min_height=0.0)
    summary = {
        "r_factor_FQ": r_factor(f_model[window], f_exp[window]),
        "q_window_inv_A": [float(settings["q_min_inv_A"]), float(settings["q_max_inv_A"])],
        "first_peak_model_inv_A": float(peaks_model[0]) if len(peaks_model) else float("nan"),
        "first_peak_measured_inv_A": float(peaks_exp[0]) if len(peaks_exp) else float("nan"),
        "r_max_A": float(r_max),
        "normalisation": settings["normalisation"],
        "reference": str(settings["reference"]),
    }
    dr = None
    if settings.get("reference_dofr"):
        r, d_exp = load_gudrun(settings["reference_dofr"])
        keep = (r >= 0.8) & (r <= 20.0)
        d_model = dr_from_fq(q, f_model, r[keep])
        d_data = dr_from_fq(q, f_exp, r[keep])
        dr = pd.DataFrame({"r_A": r[keep], "D_model": d_model, "D_measured": d_exp[keep], "D_from_measured_FQ": d_data})
        summary["r_factor_Dr"] = r_factor(d_model, d_exp[keep])
        summary["r_factor_Dr_data_self"] = r_factor(d_data, d_exp[keep])
    return fq, dr, summary
