"""End to end: once an iteration converges, the later ones explore, label and train nothing and
copy its committee (learn.stop_when_converged, rule decide_iteration)."""

import json

import pandas as pd
import pytest
import yaml

from amlip.io.frames import read_frames
from conftest import copy_workflow, run_snakemake

TARGETS = [
    "results/learn/syn/iter_2/summary.csv",
    "results/select/syn/iter_2/soap_map.png",
    "results/select/syn/iter_2/energy_selection.png",
    "results/report/learning_curve.png",
    "results/learn/syn/final/choice.json",
]


@pytest.fixture(scope="module")
def stopped_run(tmp_path_factory):
    work = tmp_path_factory.mktemp("stop")
    env = copy_workflow(work)
    # a band above every sigma_max of the tiny committee: 0 of the explored frames are uncertain,
    # so iteration 1 converges and iteration 2 (the last) is skipped. Exploration by explore.md only
    # (the MIL loop): with production-in-the-loop exploration convergence also needs the densities
    # of two successive production explorations, so iteration 2 would be the first that can converge.
    stop = {"learn": {"sigma_low_eV_A": 50.0, "sigma_high_eV_A": 100.0}, "explore": {"production": {"from_iteration": None}}}
    (work / "stop.yaml").write_text(yaml.safe_dump(stop))
    run = run_snakemake(work, env, "--cores", "2", "--configfile", "config/tests/tiny.yaml", "stop.yaml", "--", *TARGETS)
    assert run.returncode == 0, run.stderr[-5000:]
    return work


@pytest.mark.slow
def test_decisions_stop_after_the_converged_iteration(stopped_run):
    decisions = [json.loads((stopped_run / f"results/learn/syn/iter_{i}/decision.json").read_text()) for i in range(3)]
    assert [d["stop_loop"] for d in decisions] == [False, True, True]
    assert decisions[1]["fraction_uncertain"] == 0.0 and decisions[1]["converged_at"] == 1
    assert decisions[1]["decision"].endswith("iterations 2..2 reuse this committee")
    assert decisions[2]["converged_at"] == 1 and decisions[2]["decision"].startswith("skipped: converged at iteration 1")
    summary = pd.read_csv(stopped_run / "results/learn/syn/iter_2/summary.csv").iloc[0]
    assert (summary.explored, summary.picked, summary.labelled) == (0, 0, 0)
    assert summary.decision.startswith("skipped: converged at iteration 1")


@pytest.mark.slow
def test_skipped_iteration_runs_no_md_labels_nothing_and_keeps_the_data_set(stopped_run):
    assert (stopped_run / "results/explore/syn/iter_2/pool.extxyz").stat().st_size == 0
    assert (
        "no MD: results/learn/syn/iter_1/decision.json says converged"
        in (stopped_run / "logs/explore/syn/iter_2.log").read_text()
    )
    assert read_frames(stopped_run / "results/label/syn/iter_2/labelled.extxyz") == []
    for split in ("train", "test", "val"):
        before = read_frames(stopped_run / f"results/learn/syn/iter_1/{split}.extxyz")
        after = read_frames(stopped_run / f"results/learn/syn/iter_2/{split}.extxyz")
        assert [a.info["REF_energy"] for a in after] == [a.info["REF_energy"] for a in before]
    assert len(read_frames(stopped_run / "results/learn/syn/iter_2/train.extxyz")) > 0


@pytest.mark.slow
def test_skipped_iteration_copies_each_member_instead_of_training(stopped_run):
    for m in range(2):
        before = stopped_run / f"results/train/syn/iter_1/member_{m}/mace.model"
        after = stopped_run / f"results/train/syn/iter_2/member_{m}/mace.model"
        assert after.read_bytes() == before.read_bytes()
        log = (stopped_run / f"logs/train/syn/iter_2/member_{m}.log").read_text()
        assert f"member copied from results/train/syn/iter_1/member_{m}/mace.model: converged: " in log
        assert "iterations 2..2 reuse this committee" in log
        # iteration 1 itself was trained: mace_run_train's log, not a copy
        assert "member copied" not in (stopped_run / f"logs/train/syn/iter_1/member_{m}.log").read_text()
    choice = json.loads((stopped_run / "results/learn/syn/final/choice.json").read_text())
    assert choice["model"].startswith("results/train/syn/iter_2/member_")
    curve = pd.read_csv(stopped_run / "results/report/learning_curve.csv")
    assert curve.force_mae_meV_A.iloc[2] == pytest.approx(curve.force_mae_meV_A.iloc[1])
