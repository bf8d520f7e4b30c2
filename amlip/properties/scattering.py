"""Scattering functions of periodic frames (PROTOCOLS 6): X-ray PDF (AS) and neutron S(Q) (NS).

Everything is built from the partial radial distribution functions g_ab(r) with
Faber-Ziman weights

    w_ab = c_a c_b f_a f_b / (sum_a c_a f_a)^2      (ordered pairs, so a != b counts twice)

where c_a is the atomic fraction and f_a the scattering power: the coherent neutron
scattering length b_a (fm) for neutrons, the atomic number Z_a (the X-ray form factor at
Q = 0) for X-rays. Using f(0) = Z for all Q is the usual approximation for X-ray-weighted
PDFs of oxides; it keeps the weights Q-independent, so total = sum of weighted partials.

Conventions (Keen, J. Appl. Cryst. 34 (2001) 172):
    S_ab(Q) - 1 = 4 pi rho0 / Q * int r (g_ab(r) - 1) sin(Q r) dr
    S(Q) - 1    = sum_ab w_ab (S_ab(Q) - 1)
    G(r)        = 4 pi rho0 r (g(r) - 1) = (2/pi) int Q (S(Q) - 1) M(Q) sin(Q r) dQ

with rho0 the number density (1/Å^3), r in Å, Q in 1/Å. The finite Q range of an instrument
(Qmax) is imposed by back-transforming S(Q) on [0, Qmax], optionally with the Lorch
modification function M(Q) = sin(pi Q / Qmax) / (pi Q / Qmax) that trades resolution for
smaller termination ripples (AS compares with Lorch-modified experimental PDFs).

:func:`xray_pdf_pdffit2` computes the same X-ray G(r) with diffpy.pdffit2 (the real-space
engine of diffpy-cmi, which AS used) as an optional cross-check; it needs
``apt-get install libgsl-dev`` before ``pip install diffpy.pdffit2==1.5.2``.
"""

from __future__ import annotations

import logging
from itertools import combinations_with_replacement
from typing import Mapping, Sequence

import numpy as np
from ase import Atoms
from ase.data import atomic_numbers

from amlip.properties.structure import all_partial_rdfs, tail

log = logging.getLogger(__name__)


def xray_pdf_table(frames: Sequence[Atoms], settings: Mapping):
    """X-ray-weighted G(r) and weighted element partials (AS), from ``settings['xray_pdf']``.

    Keys: ``q_max_inv_A`` (25), ``r_max_A`` (10; clipped to half the shortest cell height, beyond
    which a glass would see its own periodic images), ``dr_A`` (0.01), ``lorch`` (true).
    """
    opts = settings.get("xray_pdf", {})
    selected = tail(frames, settings)
    r_max = float(opts.get("r_max_A", 10.0))
    half = _half_cell(selected[0])
    if r_max > half:
        log.warning("xray_pdf.r_max_A=%.2f exceeds half the cell (%.2f Å): clipped", r_max, half)
        r_max = half
    return xray_pdf(
        selected, q_max=opts.get("q_max_inv_A", 25.0), r_max=r_max, dr=opts.get("dr_A", 0.01), lorch=opts.get("lorch", True)
    )


def neutron_sq_table(frames: Sequence[Atoms], settings: Mapping):
    """Neutron S(Q) and Faber-Ziman partials (NS), from ``settings['neutron_sq']``.

    Keys: ``q_max_inv_A`` (20), ``dq_inv_A`` (0.02), ``scattering_lengths_fm`` (extra or
    overriding coherent lengths, fm). Below Q ~ 2 pi / L (L the cell edge) S(Q) is not meaningful.
    """
    opts = settings.get("neutron_sq", {})
    return neutron_structure_factor(
        tail(frames, settings),
        q_max=opts.get("q_max_inv_A", 20.0),
        dq=opts.get("dq_inv_A", 0.02),
        lengths=opts.get("scattering_lengths_fm"),
    )


# Coherent neutron scattering lengths in fm (Sears, Neutron News 3 (1992) 26); NS, ZIF elements.
NEUTRON_B_FM: dict[str, float] = {
    "H": -3.7390,
    "Li": -1.90,
    "C": 6.6460,
    "N": 9.36,
    "O": 5.803,
    "Na": 3.63,
    "Mg": 5.375,
    "Al": 3.449,
    "Si": 4.1491,
    "K": 3.67,
    "Ca": 4.70,
    "Zn": 5.680,
}


def scattering_powers(species: Sequence[str], radiation: str, lengths: Mapping[str, float] | None = None) -> dict[str, float]:
    """Scattering power per element: neutron b (fm) or X-ray Z (electrons).

    ``radiation`` is ``"neutron"`` or ``"xray"``; ``lengths`` overrides or extends the tables.
    """
    table: dict[str, float]
    if radiation == "neutron":
        table = dict(NEUTRON_B_FM)
    elif radiation == "xray":
        table = {s: float(atomic_numbers[s]) for s in species}
    else:
        raise ValueError(f"radiation must be 'neutron' or 'xray', not '{radiation}'")
    table.update(lengths or {})
    missing = [s for s in species if s not in table]
    if missing:
        raise KeyError(f"no {radiation} scattering length for {missing}: pass them in 'lengths' (fm)")
    return {s: float(table[s]) for s in species}


def composition(frames: Sequence[Atoms]) -> tuple[dict[str, float], float]:
    """Atomic fractions c_a and mean number density rho0 (1/Å^3) over frames."""
    symbols = frames[0].get_chemical_symbols()
    species = sorted(set(symbols))
    conc = {s: symbols.count(s) / len(symbols) for s in species}
    rho0 = float(np.mean([len(a) / a.get_volume() for a in frames]))
    return conc, rho0


def faber_ziman_weights(conc: Mapping[str, float], powers: Mapping[str, float]) -> dict[tuple[str, str], float]:
    """Weights w_ab of the unordered pairs (a <= b alphabetically), cross terms doubled; they sum to 1."""
    mean_f = sum(conc[s] * powers[s] for s in conc)
    if mean_f == 0:
        raise ValueError("the mean scattering length is zero: S(Q) is undefined for this composition")
    weights = {}
    for a, b in combinations_with_replacement(sorted(conc), 2):
        w = conc[a] * conc[b] * powers[a] * powers[b] / mean_f**2
        weights[(a, b)] = w if a == b else 2 * w
    return weights


def _sine_transform(x: np.ndarray, y: np.ndarray, k: np.ndarray) -> np.ndarray:
    """int y(x) sin(k x) dx by the trapezoid rule, for every k."""
    return np.trapezoid(y[None, :] * np.sin(np.outer(k, x)), x, axis=1)


def partial_structure_factors(
    r: np.ndarray,
    partials: Mapping[tuple[str, str], np.ndarray],
    rho0: float,
    q: np.ndarray,
    window: bool = True,
) -> dict[tuple[str, str], np.ndarray]:
    """Faber-Ziman partial S_ab(Q) from g_ab(r) (Å, 1/Å^3, 1/Å).

    ``window`` multiplies g - 1 by sin(pi r / R) / (pi r / R), R = max(r), which damps the
    ripples that the cut-off of g(r) at R would otherwise put into S(Q).
    """
    q = np.asarray(q, dtype=float)
    safe_q = np.where(q > 0, q, 1e-8)
    damp = np.sinc(r / r[-1]) if window else np.ones_like(r)
    out = {}
    for pair, g in partials.items():
        out[pair] = 1.0 + 4 * np.pi * rho0 / safe_q * _sine_transform(r, r * (g - 1.0) * damp, safe_q)
    return out


def total_structure_factor(
    partial_sq: Mapping[tuple[str, str], np.ndarray], weights: Mapping[tuple[str, str], float]
) -> np.ndarray:
    """S(Q) = 1 + sum_ab w_ab (S_ab(Q) - 1)."""
    return 1.0 + sum(weights[p] * (s - 1.0) for p, s in partial_sq.items())


def neutron_structure_factor(
    frames: Sequence[Atoms],
    q_max: float = 20.0,
    dq: float = 0.02,
    r_max: float | None = None,
    dr: float = 0.01,
    lengths: Mapping[str, float] | None = None,
):
    """Neutron total S(Q) and weighted and unweighted partials S_ab(Q) (NS, Faber-Ziman).

    ``r_max`` (Å) defaults to just under half the shortest cell height; below Q ~ 2 pi / r_max
    the result is not meaningful. Returns a pandas DataFrame with ``Q_inv_A``, ``S_total`` and the
    unweighted partials ``S_<a><b>``; the weights w_ab are in ``DataFrame.attrs['weights']``.
    """
    import pandas as pd

    r_max = r_max or _half_cell(frames[0])
    conc, rho0 = composition(frames)
    weights = faber_ziman_weights(conc, scattering_powers(list(conc), "neutron", lengths))
    r, partials = all_partial_rdfs(frames, r_max, dr)
    q = np.arange(dq, q_max + dq / 2, dq)
    s_ab = partial_structure_factors(r, partials, rho0, q)
    table = pd.DataFrame({"Q_inv_A": q, "S_total": total_structure_factor(s_ab, weights)})
    for (a, b), s in s_ab.items():
        table[f"S_{a}{b}"] = s
    table.attrs["weights"] = {f"{a}{b}": w for (a, b), w in weights.items()}
    return table


def reduced_pdf_from_sq(q: np.ndarray, s: np.ndarray, r: np.ndarray, lorch: bool = True) -> np.ndarray:
    """G(r) = (2/pi) int_0^Qmax Q (S(Q) - 1) M(Q) sin(Q r) dQ, Qmax = max(q); Lorch M or M = 1."""
    m = np.sinc(q / q[-1]) if lorch else np.ones_like(q)
    return 2.0 / np.pi * _sine_transform(q, q * (s - 1.0) * m, r)


def _half_cell(atoms: Atoms) -> float:
    """Just under half the shortest distance between opposite cell faces (Å): the largest r without self-images."""
    cell = atoms.cell.array
    volume = abs(np.linalg.det(cell))
    heights = [volume / np.linalg.norm(np.cross(cell[(i + 1) % 3], cell[(i + 2) % 3])) for i in range(3)]
    return 0.999 * min(heights) / 2


def xray_pdf(
    frames: Sequence[Atoms],
    q_max: float = 25.0,
    r_max: float = 10.0,
    dr: float = 0.01,
    dq: float = 0.01,
    lorch: bool = True,
):
    """X-ray-weighted total reduced PDF G(r) (1/Å^2) with finite Qmax and its element partials (AS).

    Pairs are counted up to ``r_max`` (Å) with periodic images (so ``r_max`` may exceed half
    the cell; crystals then give their full PDF). Each weighted partial w_ab G_ab(r) is
    terminated at ``q_max`` (1/Å) the same way, so the partials add up to the total.
    Returns a DataFrame with ``r_A``, ``G_total``, ``G_<a><b>`` (weighted partials),
    ``g_total`` (the X-ray-weighted g(r), no Qmax termination); weights in ``.attrs['weights']``.
    """
    import pandas as pd

    conc, rho0 = composition(frames)
    weights = faber_ziman_weights(conc, scattering_powers(list(conc), "xray"))
    # Count pairs a bit beyond r_max so the Qmax convolution near r_max sees real data.
    r_count = r_max + 2.0
    r_fine, partials = all_partial_rdfs(frames, r_count, dr)
    q = np.arange(dq, q_max + dq / 2, dq)
    s_ab = partial_structure_factors(r_fine, partials, rho0, q, window=False)
    keep = r_fine <= r_max
    r = r_fine[keep]
    table = pd.DataFrame({"r_A": r})
    total = np.zeros_like(r)
    for (a, b), s in s_ab.items():
        g_ab = weights[(a, b)] * reduced_pdf_from_sq(q, s, r, lorch)
        table[f"G_{a}{b}"] = g_ab
        total += g_ab
    table.insert(1, "G_total", total)
    table["g_total"] = 1.0 + sum(weights[p] * (g[keep] - 1.0) for p, g in partials.items())
    table.attrs["weights"] = {f"{a}{b}": w for (a, b), w in weights.items()}
    return table


def xray_pdf_pdffit2(
    atoms: Atoms, q_max: float = 25.0, r_max: float = 10.0, dr: float = 0.01, uiso: float = 0.001, qdamp: float = 0.0
):
    """X-ray G(r) (1/Å^2) of one periodic frame computed by diffpy.pdffit2; returns (r in Å, G).

    ``uiso`` (Å^2) is the isotropic displacement given to every atom (AS: a tiny value, so the
    broadening comes from the disorder of the structure). Needs the optional package
    diffpy.pdffit2 (``apt-get install libgsl-dev``, then ``pip install diffpy.pdffit2==1.5.2``).
    """
    try:
        from diffpy.pdffit2 import PdfFit, redirect_stdout
        from diffpy.structure import Atom, Lattice, Structure
    except ImportError as err:
        raise ImportError(
            "xray_pdf_pdffit2 needs diffpy.pdffit2: apt-get install libgsl-dev && pip install diffpy.pdffit2==1.5.2 "
            "(or use amlip.properties.scattering.xray_pdf, the numpy implementation)"
        ) from err
    import os

    redirect_stdout(open(os.devnull, "w"))
    lattice = Lattice(*atoms.cell.cellpar())
    frac = atoms.get_scaled_positions(wrap=True)
    structure = Structure([Atom(s, xyz, Uisoequiv=uiso) for s, xyz in zip(atoms.get_chemical_symbols(), frac)], lattice=lattice)
    pf = PdfFit()
    pf.add_structure(structure)
    pf.alloc("X", q_max, qdamp, dr, r_max, int(round((r_max - dr) / dr)) + 1)
    pf.calc()
    return np.array(pf.getR()), np.array(pf.getpdf_fit())


def first_peak_positions(r: np.ndarray, y: np.ndarray, min_height: float = 0.0, min_separation: float = 0.2) -> np.ndarray:
    """Positions (Å) of the local maxima of y(r) above ``min_height``, at least ``min_separation`` apart."""
    from scipy.signal import find_peaks

    distance = max(1, int(round(min_separation / (r[1] - r[0]))))
    idx, _ = find_peaks(y, height=min_height, distance=distance)
    return r[idx]


def neutron_fq_kspace(
    frames: Sequence[Atoms],
    q_max: float = 16.0,
    dq: float = 0.05,
    lengths: Mapping[str, float] | None = None,
    max_vectors: int = 200_000,
    seed: int = 0,
):
    """Neutron F(Q) in barns/sr/atom on the reciprocal lattice of each periodic frame (Faber-Ziman).

    F(k) = (1/N) |sum_j b_j exp(i k.r_j)|^2 - sum_a c_a b_a^2 = sum_ab c_a c_b b_a b_b (S_ab(k) - 1)
    for every reciprocal-lattice vector k of the cell (0 < |k| <= ``q_max``, one of each +-k pair),
    averaged over the vectors in bins of ``dq`` (1/Å) and over the frames: exact for the periodic
    model at every Q its cell allows, with no real-space cut-off (the g(r) route stops at half the
    cell, which in a 72-atom cell washes out the first sharp diffraction peak). Cells with more
    than ``max_vectors`` vectors keep every vector below 4 1/Å and a random subset (``seed``) above.
    Returns (Q bin centres in 1/Å, F(Q) in barns, number of vectors per bin), empty bins dropped.
    """
    species = sorted({s for a in frames for s in a.get_chemical_symbols()})
    powers = scattering_powers(species, "neutron", lengths)  # fm
    rng = np.random.default_rng(seed)
    edges = np.arange(0.0, q_max + dq, dq)
    total = np.zeros(len(edges) - 1)
    counts = np.zeros(len(edges) - 1)
    for atoms in frames:
        if not atoms.pbc.all():
            raise ValueError("neutron_fq_kspace needs periodic frames")
        reciprocal = 2 * np.pi * np.linalg.inv(atoms.cell.array).T  # rows b_i, 1/Å
        n_max = np.ceil(q_max / np.linalg.norm(reciprocal, axis=1)).astype(int)
        grid = np.mgrid[-n_max[0] : n_max[0] + 1, -n_max[1] : n_max[1] + 1, 0 : n_max[2] + 1].reshape(3, -1).T
        half = (grid[:, 2] > 0) | ((grid[:, 2] == 0) & ((grid[:, 1] > 0) | ((grid[:, 1] == 0) & (grid[:, 0] > 0))))
        k = grid[half] @ reciprocal
        q = np.linalg.norm(k, axis=1)
        keep = q <= q_max
        k, q = k[keep], q[keep]
        if len(q) > max_vectors:
            low = q < 4.0
            take = np.flatnonzero(~low)
            take = rng.choice(take, size=max(0, max_vectors - int(low.sum())), replace=False)
            chosen = np.concatenate([np.flatnonzero(low), take])
            k, q = k[chosen], q[chosen]
        b = np.array([powers[s] for s in atoms.get_chemical_symbols()])
        self_term = float(np.mean(b**2))
        positions = atoms.get_positions()
        amplitude = np.empty(len(k))
        for start in range(0, len(k), 20_000):
            phase = positions @ k[start : start + 20_000].T
            amplitude[start : start + 20_000] = ((b @ np.cos(phase)) ** 2 + (b @ np.sin(phase)) ** 2) / len(atoms) - self_term
        index = np.minimum(np.digitize(q, edges) - 1, len(total) - 1)
        total += np.bincount(index, weights=amplitude, minlength=len(total))
        counts += np.bincount(index, minlength=len(total))
    centres = 0.5 * (edges[1:] + edges[:-1])
    filled = counts > 0
    return centres[filled], total[filled] / counts[filled] / 100.0, counts[filled]  # fm^2 -> barns


def fq_r_factor(
    q_model: np.ndarray, f_model: np.ndarray, q_exp: np.ndarray, f_exp: np.ndarray, q_min: float, q_max: float
) -> float:
    """R = sqrt( sum (F_model - F_exp)^2 / sum F_exp^2 ) over the experimental points in [q_min, q_max] (1/Å),
    the model interpolated onto them."""
    inside = (q_exp >= q_min) & (q_exp <= q_max)
    if not inside.any():
        raise ValueError(f"no experimental point between {q_min} and {q_max} 1/Å")
    if q_model.min() > q_exp[inside].min() or q_model.max() < q_exp[inside].max():
        raise ValueError(
            f"the model F(Q) covers {q_model.min():.2f}-{q_model.max():.2f} 1/Å, not the whole {q_min}-{q_max} 1/Å range"
        )
    model = np.interp(q_exp[inside], q_model, f_model)
    return float(np.sqrt(np.sum((model - f_exp[inside]) ** 2) / np.sum(f_exp[inside] ** 2)))


def peak_position(q: np.ndarray, f: np.ndarray, q_min: float, q_max: float, smooth_inv_A: float = 0.05) -> float:
    """Q (1/Å) of the maximum of f in [q_min, q_max] after a Gaussian smoothing of width ``smooth_inv_A``
    (the first sharp diffraction peak of a glass: the binned model F(Q) of a small cell is noisy)."""
    from scipy.ndimage import gaussian_filter1d

    step = float(np.median(np.diff(q)))
    smooth = gaussian_filter1d(f, smooth_inv_A / step) if smooth_inv_A > 0 else f
    inside = (q >= q_min) & (q <= q_max)
    if not inside.any():
        raise ValueError(f"no Q point between {q_min} and {q_max} 1/Å")
    return float(q[inside][np.argmax(smooth[inside])])
