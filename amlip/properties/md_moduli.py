"""Elastic moduli of a glass from finite-temperature MD (PROTOCOLS 6): NS strain runs, NS pressure steps, ZIF NVT P(V).

All runs are LAMMPS Nose-Hoover MD (:func:`amlip.md.lammps_engine.run_protocol_lammps`, the model through
``fix external``, D3 as LAMMPS' ``pair_style dispersion/d3``), started from one zero-stress reference:

* reference: ``fix npt aniso 0 0`` (each box length on its own barostat: zero stress on every axis); its
  mean box lengths L0 and volume V0 define every strain below, and it is the zero point of all three
  protocols (strain 0, pressure 0, volume strain 0), so a 0 in a set-point list costs no run;
* NS uniaxial strain: the x length held at L0x (1 + eps) while y and z are barostatted to zero stress
  (``fix npt y 0 0 z 0 0 couple none``); E = d<sigma_xx>/d eps, nu = -d<lateral strain>/d eps, both
  least-squares slopes with an intercept;
* NS pressure steps: ``fix npt iso P P`` at each pressure; K = -1 / (d ln<V>/dP) at the mean pressure
  (:func:`~amlip.properties.mechanics.bulk_modulus_from_pressure_steps`) and K0 of a second-order
  Birch-Murnaghan fit of P(<V>);
* ZIF P(V): ``fix nvt`` at V0 (1 + volume strain), the box scaled isotropically; K0 of a second-order
  Birch-Murnaghan fit of <P>(V).

Units: Å, Å^3, GPa, K, fs; stresses in ASE's sign (positive in tension), kinetic part included.
Averages are over the production samples; their errors are block standard errors (``n_blocks``
consecutive blocks), which keep the time correlation a plain standard error would hide.
"""

from __future__ import annotations

import logging
from typing import Mapping, Sequence

import numpy as np
from ase import Atoms

from amlip.properties.mechanics import birch_murnaghan_pressure, bulk_modulus_from_pressure_steps, fit_birch_murnaghan

log = logging.getLogger(__name__)

#: Columns of the runs table (one row per MD run), the numbers behind every modulus.
RUN_COLUMNS = [
    "protocol",
    "strain_xx",
    "target_pressure_GPa",
    "volume_strain",
    "status",
    "n_samples",
    "T_K",
    "volume_A3",
    "volume_A3_err",
    "lx_A",
    "ly_A",
    "lz_A",
    "sigma_xx_GPa",
    "sigma_xx_GPa_err",
    "lateral_strain",
    "lateral_strain_err",
    "pressure_GPa",
    "pressure_GPa_err",
]


def block_mean(values: Sequence[float], n_blocks: int) -> tuple[float, float]:
    """Mean and block standard error (std of ``n_blocks`` consecutive block means / sqrt(n_blocks)) of a time series."""
    x = np.asarray(values, dtype=float)
    if len(x) < n_blocks:
        raise ValueError(f"{len(x)} samples for {n_blocks} blocks: sample more often or run longer")
    means = [b.mean() for b in np.array_split(x, n_blocks)]
    return float(x.mean()), float(np.std(means, ddof=1) / np.sqrt(n_blocks))


def slope_with_error(x: Sequence[float], y: Sequence[float], y_err: Sequence[float]) -> tuple[float, float, float]:
    """Least-squares slope and intercept of y(x), and the slope's error propagated from the points' errors.

    var(slope) = sum (x_i - <x>)^2 var(y_i) / S_xx^2 (unweighted fit; the errors only set the uncertainty).
    Returns (slope, slope_err, intercept).
    """
    x, y, e = (np.asarray(v, dtype=float) for v in (x, y, y_err))
    if len(x) < 2 or np.ptp(x) == 0:
        raise ValueError(f"a slope needs at least two distinct set points, got {list(x)}")
    dx = x - x.mean()
    sxx = float(dx @ dx)
    slope = float(dx @ y / sxx)
    return slope, float(np.sqrt(dx**2 @ e**2) / sxx), float(y.mean() - slope * x.mean())


def _lengths(frame: Atoms) -> np.ndarray:
    return np.diag(frame.cell.array).copy()


def summarize_run(frames: Sequence[Atoms], reference_lengths_A: np.ndarray | None, n_blocks: int) -> dict:
    """Averages of one MD run's production frames (LAMMPS frames with ``stress_GPa`` and ``T_K`` in their info).

    Lateral strain is the mean of the y and z strains against ``reference_lengths_A`` (the reference run
    itself: None, lateral strain 0 by definition). Returns one row of :data:`RUN_COLUMNS` without the
    set points.
    """
    stress = np.array([f.info["stress_GPa"] for f in frames], dtype=float)
    lengths = np.array([_lengths(f) for f in frames])
    volume = block_mean([f.get_volume() for f in frames], n_blocks)
    sigma_xx = block_mean(stress[:, 0], n_blocks)
    pressure = block_mean(-stress[:, :3].mean(axis=1), n_blocks)
    if reference_lengths_A is None:
        lateral = (0.0, 0.0)
    else:
        lateral = block_mean((lengths[:, 1:] / reference_lengths_A[1:] - 1.0).mean(axis=1), n_blocks)
    mean_lengths = lengths.mean(axis=0)
    return {
        "status": "ok",
        "n_samples": len(frames),
        "T_K": float(np.mean([f.info["T_K"] for f in frames])),
        "volume_A3": volume[0],
        "volume_A3_err": volume[1],
        "lx_A": mean_lengths[0],
        "ly_A": mean_lengths[1],
        "lz_A": mean_lengths[2],
        "sigma_xx_GPa": sigma_xx[0],
        "sigma_xx_GPa_err": sigma_xx[1],
        "lateral_strain": lateral[0],
        "lateral_strain_err": lateral[1],
        "pressure_GPa": pressure[0],
        "pressure_GPa_err": pressure[1],
    }


def _require_orthogonal(atoms: Atoms) -> None:
    cell = atoms.cell.array
    off = cell - np.diag(np.diag(cell))
    if np.abs(off).max() > 1e-6 * np.abs(cell).max():
        raise ValueError(
            "the MD elastic protocols strain the box along its edges and need an orthogonal cell "
            f"(the melt-quench keeps the packing's box); this one has off-diagonal elements {off[off != 0].round(4).tolist()} Å"
        )


def md_moduli_runs(
    atoms: Atoms,
    calculator,
    settings: Mapping,
    *,
    seed: int = 0,
    guards=None,
    dispersion: Mapping | None = None,
    extra_commands: Sequence[str] = (),
):
    """Run the reference and every set point of ``settings`` (``validate.elastic_md``) in LAMMPS; the runs table.

    ``settings``: ``temperature_K``, ``timestep_fs``, ``equilibration_steps`` and ``production_steps``
    (per run), ``sample_every``, ``n_blocks``, ``taut_fs``, ``taup_fs``, ``strains`` (uniaxial strains
    along x), ``pressures_GPa`` and ``volume_strains``. ``calculator`` None with LAMMPS-native
    ``extra_commands`` (a pair style) runs without a model. A run that fails (a guard, a model error) is a
    row with its error in ``status`` and no averages; a failed reference is raised. Returns a DataFrame
    with :data:`RUN_COLUMNS`, the reference first.
    """
    import pandas as pd

    from amlip.md.guards import MDGuardError
    from amlip.md.lammps_engine import run_protocol_lammps
    from amlip.md.protocols import Stage

    _require_orthogonal(atoms)
    T, dt, n_blocks = float(settings["temperature_K"]), float(settings["timestep_fs"]), int(settings["n_blocks"])
    counter = iter(range(1_000_000))

    def run(start: Atoms, ensemble: str, pressure_GPa: float = 0.0) -> list[Atoms]:
        stages = [
            Stage("equilibrate", ensemble, T, T, settings["equilibration_steps"] * dt / 1000.0, dt, pressure_GPa),
            Stage("production", ensemble, T, T, settings["production_steps"] * dt / 1000.0, dt, pressure_GPa),
        ]
        frames = run_protocol_lammps(
            start,
            calculator,
            stages,
            sample_every=settings["sample_every"],
            seed=seed + next(counter),
            taut_fs=settings["taut_fs"],
            taup_fs=settings["taup_fs"],
            guards=guards,
            dispersion=dispersion,
            extra_commands=extra_commands,
        )
        return [f for f in frames if f.info["stage"] == "production"]

    log.info("reference: fix npt aniso at 0 GPa, %g K, %d atoms", T, len(atoms))
    reference = run(atoms, "npt_aniso")
    row0 = summarize_run(reference, None, n_blocks)
    lengths0 = np.array([row0["lx_A"], row0["ly_A"], row0["lz_A"]])
    start = reference[-1].copy()
    start.set_cell(np.diag(lengths0), scale_atoms=True)
    rows = [{"protocol": "reference", "strain_xx": 0.0, "target_pressure_GPa": 0.0, "volume_strain": 0.0} | row0]
    log.info("reference: box %s Å, sigma_xx %.3f GPa, T %.0f K", lengths0.round(3).tolist(), row0["sigma_xx_GPa"], row0["T_K"])

    def attempt(setpoint: dict, factors: Sequence[float], ensemble: str, pressure_GPa: float = 0.0) -> None:
        """One run from the reference box scaled by ``factors`` along x, y, z."""
        row = {"strain_xx": np.nan, "target_pressure_GPa": np.nan, "volume_strain": np.nan} | setpoint
        first = start.copy()
        first.set_cell(np.diag(lengths0 * np.asarray(factors, dtype=float)), scale_atoms=True)
        try:
            row |= summarize_run(run(first, ensemble, pressure_GPa), lengths0, n_blocks)
        except (MDGuardError, RuntimeError) as exc:  # one broken set point must not lose the others
            log.warning("%s failed: %s", setpoint, exc)
            row["status"] = f"failed: {type(exc).__name__}: {exc}"
        else:
            log.info(
                "%s: sigma_xx %.3f GPa, lateral strain %.5f, V %.2f Å^3, P %.3f GPa",
                setpoint, row["sigma_xx_GPa"], row["lateral_strain"], row["volume_A3"], row["pressure_GPa"],
            )  # fmt: skip
        rows.append(row)

    for eps in settings["strains"]:
        if eps != 0:
            attempt({"protocol": "uniaxial", "strain_xx": float(eps)}, [1 + eps, 1, 1], "npt_yz")
    for p in settings["pressures_GPa"]:
        if p != 0:
            attempt({"protocol": "pressure", "target_pressure_GPa": float(p)}, [1, 1, 1], "npt", p)
    for dv in settings["volume_strains"]:
        if dv <= -1:
            raise ValueError(f"validate.elastic_md.volume_strains: {dv} would give a non-positive volume")
        if dv != 0:
            s = (1.0 + dv) ** (1.0 / 3.0)
            attempt({"protocol": "volume", "volume_strain": float(dv)}, [s, s, s], "nvt")
    return pd.DataFrame(rows, columns=RUN_COLUMNS)


def _points(runs, protocol: str):
    """The successful runs of one protocol with the reference as its zero point."""
    return runs[((runs.protocol == protocol) | (runs.protocol == "reference")) & (runs.status == "ok")]


def moduli_from_runs(runs) -> tuple:
    """Young's modulus, Poisson ratio and bulk moduli (GPa) from the runs table of :func:`md_moduli_runs`.

    Returns (moduli: property, value, stderr, unit, method, n_points, status; fits: the runs table with
    the fitted line or curve at each point, ``fit_sigma_xx_GPa``, ``fit_lateral_strain``,
    ``fit_volume_A3`` (ln V linear in P) and ``fit_pressure_GPa`` (NVT Birch-Murnaghan)). Methods: ``uniaxial_md`` (NS: slopes of sigma_xx and of the lateral strain
    against eps_xx), ``pressure_steps_md`` (NS: K at the mean pressure of the steps, from ln V against P),
    ``pressure_steps_bm2`` and ``nvt_pv_bm2`` (K0 at zero pressure, second-order Birch-Murnaghan through
    the NpT steps and the NVT P(V) points, ZIF). A protocol with too few successful points gets a row
    with its reason in ``status`` and a NaN value.
    """
    import pandas as pd

    rows = []
    fits = runs.copy()
    for column in ("fit_sigma_xx_GPa", "fit_lateral_strain", "fit_volume_A3", "fit_pressure_GPa"):
        fits[column] = np.nan

    def add(prop, value, err, unit, method, n, status="ok"):
        rows.append(
            {"property": prop, "value": value, "stderr": err, "unit": unit, "method": method, "n_points": n, "status": status}
        )

    reference = runs[runs.protocol == "reference"].iloc[0]
    add("temperature", reference.T_K, np.nan, "K", "reference", 1)
    add("volume", reference.volume_A3, reference.volume_A3_err, "A3", "reference", 1)

    uni = _points(runs, "uniaxial")
    if uni.strain_xx.nunique() >= 2:
        e, e_err, e0 = slope_with_error(uni.strain_xx, uni.sigma_xx_GPa, uni.sigma_xx_GPa_err)
        n, n_err, n0 = slope_with_error(uni.strain_xx, uni.lateral_strain, uni.lateral_strain_err)
        add("young_modulus", e, e_err, "GPa", "uniaxial_md", len(uni))
        add("poisson_ratio", -n, n_err, "", "uniaxial_md", len(uni))
        fits.loc[uni.index, "fit_sigma_xx_GPa"] = e0 + e * uni.strain_xx
        fits.loc[uni.index, "fit_lateral_strain"] = n0 + n * uni.strain_xx
    else:
        for prop, unit in (("young_modulus", "GPa"), ("poisson_ratio", "")):
            add(prop, np.nan, np.nan, unit, "uniaxial_md", len(uni), "failed: fewer than 2 strains")

    steps = _points(runs, "pressure")
    if steps.target_pressure_GPa.nunique() >= 2:
        k = bulk_modulus_from_pressure_steps(steps.target_pressure_GPa, steps.volume_A3)
        s, s_err, s0 = slope_with_error(steps.target_pressure_GPa, np.log(steps.volume_A3), steps.volume_A3_err / steps.volume_A3)
        add("bulk_modulus", k, k**2 * s_err, "GPa", "pressure_steps_md", len(steps))
        fits.loc[steps.index, "fit_volume_A3"] = np.exp(s0 + s * steps.target_pressure_GPa)
    else:
        add("bulk_modulus", np.nan, np.nan, "GPa", "pressure_steps_md", len(steps), "failed: fewer than 2 pressures")
    for name, points, pressure in (
        ("pressure_steps_bm2", steps, "target_pressure_GPa"),
        ("nvt_pv_bm2", _points(runs, "volume"), "pressure_GPa"),
    ):
        if len(points) < 3:
            add("bulk_modulus", np.nan, np.nan, "GPa", name, len(points), "failed: fewer than 3 points")
            continue
        try:
            bm = fit_birch_murnaghan(points.volume_A3, points[pressure], 2)
        except (RuntimeError, ValueError) as exc:  # scipy's curve_fit gives up on scattered points
            add("bulk_modulus", np.nan, np.nan, "GPa", name, len(points), f"failed: {exc}")
            continue
        add("bulk_modulus", bm["K0_GPa"], bm["K0_GPa_err"], "GPa", name, len(points))
        add("V0", bm["V0_A3"], bm["V0_A3_err"], "A3", name, len(points))
        if name == "nvt_pv_bm2":
            fits.loc[points.index, "fit_pressure_GPa"] = birch_murnaghan_pressure(points.volume_A3, bm["V0_A3"], bm["K0_GPa"])
    return pd.DataFrame(rows), fits
