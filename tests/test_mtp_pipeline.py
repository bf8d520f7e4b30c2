"""End to end with an MTP committee: the active-learning loop of config/tests/tiny_mtp.yaml, every member
written and trained by motep (level 6), the MD, evaluation and choice jobs in the main environment."""

import re
import tomllib

import pytest

from conftest import check_committee_loop, copy_workflow, run_snakemake

pytest.importorskip("motep", reason="motep is pinned in requirements.txt: make install")


@pytest.fixture(scope="module")
def mtp_loop(tmp_path_factory):
    work = tmp_path_factory.mktemp("mtp_loop")
    env = copy_workflow(work)
    targets = ["results/learn/syn/final/choice.json", "results/learn/syn/iter_1/summary.csv"]
    run = run_snakemake(work, env, "--cores", "2", "--configfile", "config/tests/tiny_mtp.yaml", "--", *targets, timeout=1500)
    assert run.returncode == 0, run.stderr[-5000:]
    return work


@pytest.mark.slow
def test_every_member_is_trained_by_motep(mtp_loop):
    from motep.io.mlip.mtp import read_mtp

    first_start = {}
    for i in range(2):
        for m in range(2):
            model = read_mtp(mtp_loop / f"results/train/syn/iter_{i}/member_{m}/model.mtp")
            assert model.potential_tag == "amlip species 14 8" and model.alpha_scalar_moments == 5
            log = (mtp_loop / f"logs/train/syn/iter_{i}/member_{m}_mtp.log").read_text()
            begin = "the random start" if i == 0 else "the warm start"  # iteration 1 starts from member m of 0
            start, trained = re.search(rf"training-set RMSE energy_eV_atom: (\S+) at {begin}, (\S+) trained", log).groups()
            if i == 0:
                assert float(trained) < float(start) / 10
                first_start[m] = float(start)
            else:
                assert f"from results/train/syn/iter_0/member_{m}/model.mtp (warm start)" in log
                assert float(start) < first_start[m] / 10 and float(trained) < first_start[m] / 10
            assert (mtp_loop / f"results/benchmarks/train/syn/iter_{i}/member_{m}_mtp.tsv").exists()
    settings = [tomllib.loads((mtp_loop / f"results/train/syn/iter_1/member_{m}/mtp/motep.toml").read_text()) for m in range(2)]
    assert [s["common"]["seed"] for s in settings] == [0, 1]
    assert settings[0]["common"]["species"] == [14, 8]


@pytest.mark.slow
def test_mtp_committee_explores_and_is_evaluated_and_chosen(mtp_loop):
    check_committee_loop(mtp_loop, "model.mtp", "mtp")
