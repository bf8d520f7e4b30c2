"""Rule validate_verdict: every checked property of the run against its band (results/validate/verdict.csv)."""

import json
from pathlib import Path

import pandas as pd

from _common import setup
from amlip.io.frames import read_frames
from amlip.learning.loop import read_loop_decision
from amlip.properties.structure import glass_tail
from amlip.properties.verdict import glass_checks, verdict_html, verdict_lines, verdict_table


def main(
    trajectories: list,
    density: str,
    choice: str,
    evaluations: list,
    decision: str,
    table: str,
    html: str,
    text: str,
    *,
    bands: dict,
    reference_density_g_cm3: float,
    former: str,
    oxygen: str,
    bond_cutoff_A: float,
    average_last_fraction: float,
    log,
    fq: str | None = None,
    fq_reference: str | None = None,
) -> None:
    """The verdict from the glass ``trajectories`` (their last ``average_last_fraction`` within the final stage), the density table,
    the F(Q) comparison summary ``fq``, the chosen member (``choice``, its row of ``evaluations``) and the
    last ``decision``; written as CSV (``table``), coloured HTML (the report's first page) and text."""
    glasses = {}
    for k, path in enumerate(trajectories):
        frames = read_frames(path)
        glasses[f"glass {k}"] = glass_checks(glass_tail(frames, average_last_fraction), former, oxygen, bond_cutoff_A)
    with open(choice) as fh:
        chosen = json.load(fh)
    member_dir = Path(chosen["model"]).parent
    evaluation = next(pd.read_csv(p) for p in evaluations if Path(p).parent == member_dir)
    test = evaluation[evaluation.split == "test"].iloc[0]
    member = {
        "member": int(test.member),
        "test_energy_mae_meV_atom": float(test.energy_mae_meV_atom),
        "test_force_mae_meV_A": float(test.force_mae_meV_A),
        "fit_flag": test.fit_flag,
    }
    result = verdict_table(
        pd.read_csv(density),
        glasses,
        bands,
        reference_density_g_cm3,
        former,
        oxygen,
        pd.read_csv(fq).iloc[0].to_dict() if fq is not None else None,
        member,
        read_loop_decision(decision),
        pd.read_csv(fq_reference).iloc[0].to_dict() if fq_reference is not None else None,
    )
    result.to_csv(table, index=False)
    Path(html).write_text(verdict_html(result))
    lines = verdict_lines(result)
    Path(text).write_text("\n".join(lines) + "\n")
    log.info("\n%s", "\n".join(lines))


if __name__ == "__main__":
    i, o = snakemake.input, snakemake.output
    main(
        list(i.trajectories),
        i.density,
        i.choice,
        list(i.evaluations),
        i.decision,
        o.table,
        o.html,
        o.text,
        **snakemake.params,
        log=setup(snakemake),
        fq=i.fq if "fq" in i.keys() else None,
        fq_reference=i.fq_reference if "fq_reference" in i.keys() else None,
    )
