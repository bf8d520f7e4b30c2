"""The README's default-run table is rendered from a run's outputs, never typed."""

import json

import numpy as np
import pandas as pd
import pytest

from amlip.report import README_END, README_START, add_cpu_time, readme_block, replace_readme_block, run_summary
from conftest import ROOT


def small_run():
    verdict = pd.DataFrame(
        [
            dict(check="density", subject="glass 0", value=2.31, unit="g/cm3", reference=2.2, low=1.87, high=2.53, passed=True, note=""),
            dict(check="shortest Si-O distance", subject="glass 0", value=1.52, unit="Å", reference=np.nan, low=1.4, high=np.inf, passed=True, note=""),
            dict(check="active learning converged", subject="iteration 2", value=np.nan, unit="", reference=np.nan, low=np.nan, high=np.nan, passed=False, note="not converged"),
        ]
    )  # fmt: skip
    summaries = pd.DataFrame(
        {"domain": ["syn"] * 3, "iteration": [0, 1, 2], "labelled": [60, 12, 10], "converged": [False, False, False]}
    )
    accuracy = pd.DataFrame(
        {
            "domain": ["syn"] * 4,
            "member": [0, 0, 1, 1],
            "chosen": [True, True, False, False],
            "split": ["train", "test", "train", "test"],
            "energy_mae_meV_atom": [9.0, 11.5, 8.0, 12.0],
            "force_mae_meV_A": [150.0, 171.0, 140.0, 180.0],
            "stress_mae_GPa": [0.5, 0.6, 0.5, 0.7],
        }
    )
    benchmarks = [pd.DataFrame({"cpu_time": [60.0]}), pd.DataFrame({"cpu_time": [120.0]})]
    return add_cpu_time(run_summary(verdict, summaries, accuracy, {"r_factor": 0.31}), benchmarks)


def test_run_summary_and_its_readme_block():
    summary = small_run()
    assert (summary["passed"], summary["n_checks"]) == (2, 3)
    assert summary["labels"] == {"syn": 82} and summary["iterations"] == {"syn": 2} and summary["converged"] == {"syn": False}
    assert summary["chosen_test_errors"] == [
        {"domain": "syn", "member": 0, "energy_mae_meV_atom": 11.5, "force_mae_meV_A": 171.0, "stress_mae_GPa": 0.6}
    ]
    assert summary["cpu_minutes"] == pytest.approx(3.0)
    block = readme_block(json.loads(json.dumps(summary)))  # as kept in docs/measured/default_run.json
    lines = block.splitlines()
    assert lines[0] == README_START and lines[-1] == README_END
    assert "| density | glass 0 | 2.31 g/cm3 | 1.87–2.53 | pass |" in lines
    assert "| shortest Si-O distance | glass 0 | 1.52 Å | ≥ 1.4 | pass |" in lines
    assert "| active learning converged | iteration 2 |  |  | **fail** |" in lines
    assert "2 of 3 checks pass; syn: 82 labels, 2 iterations; 3 CPU-minutes over 2 benchmarked jobs." in lines
    timed = readme_block(summary | {"wall_minutes": 31.6, "commit": "abc1234"})
    assert (
        "2 of 3 checks pass; syn: 82 labels, 2 iterations; 3 CPU-minutes over 2 benchmarked jobs, 32 minutes of wall time (commit abc1234)."
        in timed
    )


def test_replace_readme_block_keeps_the_rest_and_refuses_a_readme_without_markers():
    text = f"# title\n\n{README_START}\nold\n{README_END}\n\nmore\n"
    assert (
        replace_readme_block(text, f"{README_START}\nnew\n{README_END}")
        == f"# title\n\n{README_START}\nnew\n{README_END}\n\nmore\n"
    )
    with pytest.raises(ValueError, match="the README has no generated block"):
        replace_readme_block("# title\n", "x")


def test_the_readme_table_is_the_kept_run_summary_rendered():
    kept = ROOT / "docs/measured/default_run.json"
    if not kept.exists():
        pytest.skip("no default run kept yet (python -m amlip.report readme after make run)")
    readme = (ROOT / "README.md").read_text()
    block = readme[readme.index(README_START) : readme.index(README_END) + len(README_END)]
    assert block == readme_block(json.loads(kept.read_text()))


def test_the_readme_is_short_names_the_two_commands_and_ci_runs_its_test_command():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 150
    assert "make run " in readme and "make test " in readme
    assert "make test\n" in (ROOT / ".ci/run").read_text()
    for doc in ("docs/stages.md", "docs/environments.md", "docs/slurm.md", "docs/benchmarks.md", "config/README.md"):
        assert doc in readme and (ROOT / doc).exists()
