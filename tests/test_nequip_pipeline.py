"""End to end with a NequIP committee compiled by nequip-compile --mode aotinductor: the
active-learning loop of config/tests/tiny_nequip.yaml with train.nequip.compile: true, in which
the MD, evaluation and choice jobs of the main environment hand over to .venv-nequip (~3 min)."""

import pytest
import yaml

from conftest import ROOT, check_committee_loop, copy_workflow, run_snakemake

NEQUIP_VENV = ROOT / ".venv-nequip"


@pytest.fixture(scope="module")
def compiled_loop(tmp_path_factory):
    if not (NEQUIP_VENV / "bin" / "nequip-compile").exists():
        pytest.skip(f"{NEQUIP_VENV} has no nequip-compile: run make install")
    work = tmp_path_factory.mktemp("nequip_loop")
    env = copy_workflow(work)
    env["PATH"] += f":{NEQUIP_VENV / 'bin'}"  # as the Makefile does: only nequip-train/-compile come from it
    (work / ".venv-nequip").symlink_to(NEQUIP_VENV)
    (work / "compile.yaml").write_text(yaml.safe_dump({"train": {"nequip": {"compile": True}}}))
    targets = ["results/learn/syn/final/choice.json", "results/learn/syn/iter_1/summary.csv"]
    run = run_snakemake(
        work, env, "--cores", "2", "--configfile", "config/tests/tiny_nequip.yaml", "compile.yaml", "--", *targets, timeout=1500
    )
    assert run.returncode == 0, run.stderr[-5000:]
    return work


@pytest.mark.slow
def test_every_member_is_an_aotinductor_model(compiled_loop):
    for i in range(2):
        for m in range(2):
            model = compiled_loop / f"results/train/syn/iter_{i}/member_{m}/model.nequip.pt2"
            assert model.stat().st_size > 100_000
            log = (compiled_loop / f"logs/train/syn/iter_{i}/member_{m}_nequip.log").read_text()
            assert f"Exported model saved to results/train/syn/iter_{i}/member_{m}/model.nequip.pt2" in log


@pytest.mark.slow
def test_compiled_committee_explores_and_is_evaluated_and_chosen(compiled_loop):
    check_committee_loop(compiled_loop, "model.nequip.pt2", "nequip")
