"""The helpers of the SLURM CI run (tests/slurm/), checked without a cluster.

The run itself (a real slurmctld/slurmd/slurmdbd) is tests/slurm/run_slurm_ci.sh, called by
.ci/run after `make test`.
"""

import importlib.util
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def load(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "tests" / "slurm" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_ci_profile_keeps_the_repository_profile_but_asks_for_no_gpu():
    repo = yaml.safe_load((ROOT / "profiles" / "slurm" / "config.yaml").read_text())
    ci = load("make_profile").ci_profile(repo, account="amlip_ci", cores=2, max_mem_mb=4000)
    assert ci["executor"] == "slurm"
    assert ci["groups"] == repo["groups"]
    assert ci["default-resources"]["slurm_account"] == "amlip_ci"
    assert ci["cores"] == 2
    gpu_rules = [rule for rule, res in repo["set-resources"].items() if res.get("slurm_partition") == "gpu"]
    assert "train_model" in gpu_rules and "melt_quench" in gpu_rules
    for rule in gpu_rules:
        assert ci["set-resources"][rule]["gpu"] == 0  # over the rule's own gpu (config device auto: 1)
        assert ci["set-resources"][rule]["slurm_partition"] == "gpu"
    assert all(res.get("mem_mb", 0) <= 4000 for res in ci["set-resources"].values())
    # the input is not modified, and the repository profile leaves the GPU count to the rules
    assert "gpu" not in repo["set-resources"]["train_model"]
    assert repo["default-resources"]["gpu"] == 0


LOG = """\
SLURM run ID: 1234-abcd
rule build_crystal:
    output: results/structures/crystal_alpha_quartz.extxyz
    jobid: 4
    wildcards: name=alpha_quartz
    resources: tmpdir=<TBD>, mem_mb=1000, mem=1 GB, slurm_partition=cpu, slurm_account=amlip_ci, runtime=5, cpus_per_task=1
Job 4 has been submitted with SLURM jobid 2 (log: x/2.log).
[Sun Nov 22 00:54:30 2026] Group job label (jobs in lexicogr. order):

    rule label_chunk:
        jobid: 7
        resources: tmpdir=<TBD>, mem_mb=2000, slurm_partition=cpu, runtime=60, cpus_per_task=1

    rule label_chunk:
        jobid: 8
        resources: tmpdir=<TBD>, mem_mb=2000, slurm_partition=cpu, runtime=60, cpus_per_task=1

    rule merge_labels:
        jobid: 6
        resources: tmpdir=<TBD>, mem_mb=2000, slurm_partition=cpu, runtime=5, cpus_per_task=1
Job 22d95a18-e1bf-52c1-b90b-72c3eabe3865 has been submitted with SLURM jobid 6 (log: y/6.log).
"""


def test_log_parser_finds_single_and_group_submissions():
    check = load("check_sacct")
    submissions, run_ids = check.parse_log(LOG)
    assert run_ids == ["1234-abcd"]
    assert [s["slurm_id"] for s in submissions] == ["2", "6"]
    single, group = submissions
    assert single["group"] is None
    assert single["members"][0][0] == "build_crystal"
    assert single["members"][0][1]["mem_mb"] == "1000"
    assert group["group"] == "label"
    assert [rule for rule, _ in group["members"]] == ["label_chunk", "label_chunk", "merge_labels"]


def test_sacct_time_limits_in_minutes():
    minutes = load("check_sacct").minutes
    assert minutes("00:05:00") == 5
    assert minutes("02:05:00") == 125
    assert minutes("1-00:00:00") == 1440
    assert minutes("00:00:30") == 1


def test_log_parser_matches_a_group_submitted_after_another_job():
    """Snakemake may print another job between a group's members and the group's submission."""
    log = LOG.replace(
        "Job 22d95a18",
        "rule plot_selection:\n    jobid: 43\n    resources: mem_mb=4000, runtime=30\n"
        "Job 43 has been submitted with SLURM jobid 5 (log: z/5.log).\nJob 22d95a18",
    )
    submissions, _ = load("check_sacct").parse_log(log)
    assert [(s["slurm_id"], s["group"]) for s in submissions] == [("2", None), ("5", None), ("6", "label")]
    assert [rule for rule, _ in submissions[2]["members"]] == ["label_chunk", "label_chunk", "merge_labels"]
    assert submissions[1]["members"][0][0] == "plot_selection"
