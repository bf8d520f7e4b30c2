"""End to end with a GRACE committee: the active-learning loop of config/tests/tiny_grace.yaml, every member
trained by gracemaker and packed, the MD, evaluation and choice jobs of the main environment handed over to
.venv-grace; and a wrong override refused at start-up (the dry run of tiny.yaml with a GRACE committee is in
test_workflow.py, beside DeePMD and MTP)."""

import json
import re
import tarfile

import pytest

from conftest import ROOT, check_committee_loop, copy_workflow, run_snakemake

GRACE_VENV = ROOT / ".venv-grace"


def test_a_wrong_grace_override_stops_the_run_naming_the_key(snakemake_copy, tmp_path):
    override = tmp_path / "grace.yaml"
    override.write_text("train: {architecture: grace, grace: {preset: grace_3l}}\n")
    result = snakemake_copy("-n", "--configfile", "config/tests/tiny.yaml", str(override))
    message = result.stdout + result.stderr
    assert result.returncode != 0 and "'grace_3l' is not one of ['grace_1l', 'grace_2l', 'tiny_grace']" in message
    assert "['train']['grace']['preset']" in message
    override.write_text("train: {architecture: grace, grace: {overrides: {epochs: 3}}}\n")
    result = snakemake_copy("-n", "--configfile", "config/tests/tiny.yaml", str(override))
    message = result.stdout + result.stderr
    assert result.returncode != 0 and "'epochs' was unexpected" in message and "['train']['grace']['overrides']" in message


@pytest.fixture(scope="module")
def grace_loop(tmp_path_factory):
    if not (GRACE_VENV / "bin" / "gracemaker").exists():
        pytest.skip(f"{GRACE_VENV} has no gracemaker: run make install")
    work = tmp_path_factory.mktemp("grace_loop")
    env = copy_workflow(work)
    env["PATH"] += f":{GRACE_VENV / 'bin'}"  # as the Makefile does: only gracemaker comes from it
    (work / ".venv-grace").symlink_to(GRACE_VENV)
    targets = ["results/learn/syn/final/choice.json", "results/learn/syn/iter_1/summary.csv"]
    run = run_snakemake(work, env, "--cores", "2", "--configfile", "config/tests/tiny_grace.yaml", "--", *targets, timeout=1500)
    assert run.returncode == 0, run.stderr[-5000:]
    return work


@pytest.mark.slow
def test_every_member_is_trained_by_gracemaker_and_packed(grace_loop):
    for i in range(2):
        for m in range(2):
            model = grace_loop / f"results/train/syn/iter_{i}/member_{m}/model.grace.tar"
            with tarfile.open(model) as archive:
                names = archive.getnames()
            assert {"final_model/saved_model.pb", "model.yaml", "checkpoints/checkpoint.best_test_loss.index"} <= set(names)
            log = (grace_loop / f"logs/train/syn/iter_{i}/member_{m}_grace.log").read_text()
            assert "Iteration #30/30" in log and "Saving model to `final_model`" in log
            # iteration 1 starts from member m of iteration 0, unpacked from its model.grace.tar
            warm = "Loaded checkpoint from warm_start/checkpoints/checkpoint.best_test_loss" in log
            assert warm == (i == 1) and ("Reset epochs (30 -> 0)" in log) == (i == 1)
    inputs = [(grace_loop / f"results/train/syn/iter_1/member_{m}/grace/input.yaml").read_text() for m in range(2)]
    assert [re.search(r"^seed: (\d+)$", text, re.M).group(1) for text in inputs] == ["0", "1"]
    choice = json.loads((grace_loop / "results/learn/syn/final/choice.json").read_text())
    assert choice["model"].endswith("model.grace.tar")


@pytest.mark.slow
def test_grace_committee_explores_and_is_evaluated_and_chosen(grace_loop):
    check_committee_loop(grace_loop, "model.grace.tar", "grace")
