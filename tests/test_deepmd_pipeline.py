"""End to end with a DeePMD committee: the active-learning loop of config/tests/tiny_deepmd.yaml, every
member trained by dp --pt train and frozen by dp --pt freeze, the MD, evaluation and choice jobs of the
main environment handed over to .venv-deepmd."""

import json

import pytest

from conftest import ROOT, check_committee_loop, copy_workflow, run_snakemake

DEEPMD_VENV = ROOT / ".venv-deepmd"


@pytest.fixture(scope="module")
def deepmd_loop(tmp_path_factory):
    if not (DEEPMD_VENV / "bin" / "dp").exists():
        pytest.skip(f"{DEEPMD_VENV} has no dp: run make install")
    work = tmp_path_factory.mktemp("deepmd_loop")
    env = copy_workflow(work)
    env["PATH"] += f":{DEEPMD_VENV / 'bin'}"  # as the Makefile does: only dp comes from it
    (work / ".venv-deepmd").symlink_to(DEEPMD_VENV)
    targets = ["results/learn/syn/final/choice.json", "results/learn/syn/iter_1/summary.csv"]
    run = run_snakemake(work, env, "--cores", "2", "--configfile", "config/tests/tiny_deepmd.yaml", "--", *targets, timeout=1500)
    assert run.returncode == 0, run.stderr[-5000:]
    return work


@pytest.mark.slow
def test_every_member_is_trained_and_frozen_by_the_dp_cli(deepmd_loop):
    for i in range(2):
        for m in range(2):
            assert (deepmd_loop / f"results/train/syn/iter_{i}/member_{m}/model.deepmd.pth").stat().st_size > 10_000
            log = (deepmd_loop / f"logs/train/syn/iter_{i}/member_{m}_deepmd.log").read_text()
            assert "Saved frozen model to" in log and f"member_{m}/model.deepmd.pth" in log
            curve = (deepmd_loop / f"results/train/syn/iter_{i}/member_{m}/deepmd/lcurve.out").read_text().split("\n")
            assert curve[-2].split()[0] == "200"
            # iteration 1 starts from member m of iteration 0 (dp --pt train --init-frz-model; test_deepmd.py shows
            # that zero steps from a frozen member give back its energies)
            previous = deepmd_loop / f"results/train/syn/iter_0/member_{m}/model.deepmd.pth"
            assert (f"warm start from {previous}" in log) == (i == 1)
    inputs = [json.loads((deepmd_loop / f"results/train/syn/iter_1/member_{m}/deepmd/input.json").read_text()) for m in range(2)]
    assert [data["training"]["seed"] for data in inputs] == [0, 1]
    assert inputs[0]["model"]["type_map"] == ["Si", "O"]


@pytest.mark.slow
def test_deepmd_committee_explores_and_is_evaluated_and_chosen(deepmd_loop):
    check_committee_loop(deepmd_loop, "model.deepmd.pth", "deepmd")
