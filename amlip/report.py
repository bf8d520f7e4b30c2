"""Tables and figures of the report. Every figure function also returns the numbers it plots."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
from ase import Atoms
from ase.units import GPa

from amlip.io.frames import REF_ENERGY, REF_FORCES, REF_STRESS

METRIC_COLUMNS = [
    "energy_mae_meV_atom",
    "energy_rmse_meV_atom",
    "force_mae_meV_A",
    "force_rmse_meV_A",
    "stress_mae_GPa",
    "stress_rmse_GPa",
]


def accuracy_table(evaluations: pd.DataFrame, chosen: dict[str, int]) -> pd.DataFrame:
    """AS Table 2 / ZIF Table 1 layout: one row per domain, member and split, the chosen member
    marked, with the member's cost per atom per call (µs, ZIF) where it was timed and ``fit_flag``,
    why the member does not fit its own training set (empty when it does; ``train.fit_bounds``)."""
    table = evaluations[evaluations.split.isin(["train", "val", "test"])].copy()
    table["chosen"] = [chosen.get(d) == m for d, m in zip(table.domain, table.member)]
    cost = [c for c in ("cost_us_per_atom_call", "cost_n_atoms") if c in table]
    if "fit_flag" in table:
        table["fit_flag"] = table.fit_flag.fillna("")
    flag = ["fit_flag"] if "fit_flag" in table else []
    cols = ["domain", "iteration", "member", "chosen", "split", "n_frames"] + METRIC_COLUMNS + cost + flag
    return table[cols].sort_values(["domain", "member", "split"]).reset_index(drop=True)


def to_markdown(table: pd.DataFrame) -> str:
    """A plain Markdown table (no optional dependency)."""
    header = "| " + " | ".join(table.columns) + " |"
    rule = "|" + "|".join("---" for _ in table.columns) + "|"
    rows = []
    for _, row in table.iterrows():
        cells = [f"{v:.3f}" if isinstance(v, float) else str(v) for v in row]
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join([header, rule] + rows) + "\n"


def parity_data(frames: Sequence[Atoms], prefix: str) -> dict[str, pd.DataFrame]:
    """Reference vs prediction: energy per atom (eV/atom), force components (eV/Å), stress (GPa)."""
    energy = pd.DataFrame(
        {
            "reference": [a.info[REF_ENERGY] / len(a) for a in frames],
            "predicted": [a.info[f"{prefix}_energy"] / len(a) for a in frames],
        }
    )
    force = pd.DataFrame(
        {
            "reference": np.concatenate([a.arrays[REF_FORCES].ravel() for a in frames]) if frames else [],
            "predicted": np.concatenate([a.arrays[f"{prefix}_forces"].ravel() for a in frames]) if frames else [],
        }
    )
    with_stress = [a for a in frames if REF_STRESS in a.info and f"{prefix}_stress" in a.info]
    stress = pd.DataFrame(
        {
            "reference": np.concatenate([np.asarray(a.info[REF_STRESS]) / GPa for a in with_stress]) if with_stress else [],
            "predicted": np.concatenate([np.asarray(a.info[f"{prefix}_stress"]) / GPa for a in with_stress])
            if with_stress
            else [],
        }
    )
    return {"energy (eV/atom)": energy, "force (eV/Å)": force, "stress (GPa)": stress}


def learning_curve(summaries: pd.DataFrame, evaluations: pd.DataFrame) -> pd.DataFrame:
    """Per domain and iteration: training labels so far and the committee's mean/min error on the final test set."""
    final = evaluations[evaluations.split == "final_test"]
    grouped = final.groupby(["domain", "iteration"]).agg(
        force_mae_meV_A=("force_mae_meV_A", "mean"),
        force_mae_min_meV_A=("force_mae_meV_A", "min"),
        energy_mae_meV_atom=("energy_mae_meV_atom", "mean"),
    )
    return (
        summaries.set_index(["domain", "iteration"])[["n_train", "labelled", "fraction_uncertain", "decision"]]
        .join(grouped)
        .reset_index()
    )
