"""The verdict of a run: every checked property against its acceptance band, pass or fail.

A run that finishes is not a run that worked: a glass can come out 2.5 times too dense from a
model that does not fit its own training set. The verdict puts the numbers a user must look at
in one table (``results/validate/verdict.csv``), at the top of the report and on the last lines
of ``make run``: each glass's density, former coordination and shortest former-oxygen distance;
the neutron F(Q) against the measured one (R-factor, first sharp diffraction peak); the chosen
member's test errors and its fit of its own training set; whether active learning converged.
"""

from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np
from ase import Atoms

#: Columns of the verdict table.
VERDICT_COLUMNS = ("check", "subject", "value", "unit", "reference", "low", "high", "passed", "note")


def glass_checks(frames: Sequence[Atoms], former: str, oxygen: str, cutoff_A: float) -> dict:
    """Mean coordination of ``former`` by ``oxygen`` within ``cutoff_A`` (Å) and the shortest
    former-oxygen distance (Å) over ``frames``."""
    from ase.neighborlist import neighbor_list

    from amlip.properties.structure import mean_coordination

    shortest = math.inf
    for atoms in frames:
        symbols = np.array(atoms.get_chemical_symbols())
        i, j, d = neighbor_list("ijd", atoms, max(cutoff_A, 3.0))
        pair = (symbols[i] == former) & (symbols[j] == oxygen)
        if pair.any():
            shortest = min(shortest, float(d[pair].min()))
    return {
        "coordination": float(np.mean([mean_coordination(a, former, oxygen, cutoff_A) for a in frames])),
        "shortest_bond_A": shortest,
    }


def _row(check, subject, value, unit, reference=np.nan, low=np.nan, high=np.nan, passed=None, note="") -> dict:
    if passed is None:
        passed = bool(np.isfinite(value)) and not (value < low) and not (value > high)
    return dict(
        check=check,
        subject=subject,
        value=value,
        unit=unit,
        reference=reference,
        low=low,
        high=high,
        passed=bool(passed),
        note=note,
    )


def verdict_table(
    densities,
    glasses: Mapping[str, dict],
    bands: Mapping,
    reference_density_g_cm3: float,
    former: str,
    oxygen: str,
    fq: Mapping | None,
    member: Mapping,
    decision: Mapping,
    fq_reference: Mapping | None = None,
):
    """The verdict as a DataFrame (:data:`VERDICT_COLUMNS`), one row per check.

    ``densities`` is rule validate_density's table (rows ``glass`` 0, 1, ... and ``mean``, column
    ``value`` in g/cm3); ``glasses`` maps a glass name to :func:`glass_checks`; ``bands`` is
    ``validate.verdict``; ``fq`` the neutron F(Q) comparison (``r_factor``, ``fsdp_model``,
    ``fsdp_experiment``; None without a measured F(Q)); ``member`` the chosen member's test errors
    (``member``, ``test_energy_mae_meV_atom``, ``test_force_mae_meV_A``, ``fit_flag``); ``decision``
    the last iteration's decision.json; ``fq_reference`` the same F(Q) comparison of a closed loop's reference
    glasses (same protocol), whose R-factor and peak go into the notes of the F(Q) rows.
    """
    import pandas as pd

    rows = []
    tol = bands["density_tolerance"]
    low, high = reference_density_g_cm3 * (1 - tol), reference_density_g_cm3 * (1 + tol)
    for row in densities.itertuples():
        subject = "mean of the glasses" if str(row.glass) == "mean" else str(row.glass).replace("_", " ")
        rows.append(_row("density", subject, float(row.value), "g/cm3", reference_density_g_cm3, low, high))
    c_low, c_high = bands["coordination_range"]
    for name, checks in glasses.items():
        rows.append(_row(f"{former} coordination by {oxygen}", name, checks["coordination"], "", 4.0, c_low, c_high))
        rows.append(
            _row(
                f"shortest {former}-{oxygen} distance", name, checks["shortest_bond_A"], "Å", low=bands["min_bond_A"], high=np.inf
            )
        )
    if fq is not None:
        ref = fq_reference or {}
        same = "the reference potential's own glasses (same protocol): "
        rows.append(
            _row(
                "neutron F(Q) R-factor vs experiment",
                "mean of the glasses",
                fq["r_factor"],
                "",
                0.0,
                0.0,
                bands["fq_r_factor_max"],
                note=f"{same}{ref['r_factor']:.3g}" if ref else "",
            )
        )
        exp, tol_q = fq["fsdp_experiment"], bands["fsdp_tolerance_inv_A"]
        rows.append(
            _row(
                "first sharp diffraction peak",
                "mean of the glasses",
                fq["fsdp_model"],
                "1/Å",
                exp,
                exp - tol_q,
                exp + tol_q,
                note=f"{same}{ref['fsdp_model']:.3g} 1/Å" if ref else "",
            )
        )
    who = f"member {member['member']}"
    rows.append(
        _row("test energy MAE", who, member["test_energy_mae_meV_atom"], "meV/atom", low=0.0, high=bands["test_energy_meV_atom"])
    )
    rows.append(_row("test force MAE", who, member["test_force_mae_meV_A"], "meV/Å", low=0.0, high=bands["test_force_meV_A"]))
    flag = member["fit_flag"] if isinstance(member["fit_flag"], str) else ""
    rows.append(_row("fits its training set", who, np.nan, "", passed=not flag, note=flag or "within train.fit_bounds"))
    converged = bool(decision["converged"])
    rows.append(
        _row(
            "active learning converged",
            f"iteration {decision['iteration']}",
            np.nan,
            "",
            passed=converged or not bands["require_converged"],
            note=decision["decision"],
        )
    )
    return pd.DataFrame(rows, columns=list(VERDICT_COLUMNS))


def _number(x: float) -> str:
    if not np.isfinite(x):
        return ""
    return f"{x:.3g}" if abs(x) < 100 else f"{x:.0f}"


def verdict_lines(table) -> list[str]:
    """The verdict as text: one line per check (PASS/FAIL, check, subject, value, band) and a last line
    that says whether every check passed, naming the failed ones."""
    lines = []
    for row in table.itertuples():
        band = ""
        if np.isfinite(row.low) or np.isfinite(row.high):
            band = f"[{_number(row.low)}, {_number(row.high)}]" if np.isfinite(row.high) else f">= {_number(row.low)}"
        value = f"{_number(row.value)} {row.unit}".strip()
        measured = f": {value} {band}".rstrip() if value or band else ""
        note = f" ({row.note})" if isinstance(row.note, str) and row.note and not row.passed else ""
        lines.append(f"{'PASS' if row.passed else 'FAIL'}  {row.check}, {row.subject}{measured}{note}")
    failed = table[~table.passed.astype(bool)]
    if failed.empty:
        lines.append(f"VERDICT: PASS, all {len(table)} checks")
    else:
        names = "; ".join(f"{r.check} ({r.subject})" for r in failed.itertuples())
        lines.append(f"VERDICT: FAIL, {len(failed)} of {len(table)} checks: {names}")
    return lines


def verdict_html(table) -> str:
    """The verdict as an HTML table, passed rows green and failed rows red (the first page of the report)."""
    head = "".join(f"<th>{c}</th>" for c in ("", "check", "subject", "value", "unit", "reference", "band", "note"))
    body = []
    for row in table.itertuples():
        colour = "#d4edda" if row.passed else "#f8d7da"
        band = (
            f"{_number(row.low)} – {_number(row.high)}"
            if np.isfinite(row.high)
            else (f"≥ {_number(row.low)}" if np.isfinite(row.low) else "")
        )
        cells = [
            "PASS" if row.passed else "FAIL",
            row.check,
            row.subject,
            _number(row.value),
            row.unit,
            _number(row.reference),
            band,
            row.note,
        ]
        body.append(f'<tr style="background:{colour}">' + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>\n"
