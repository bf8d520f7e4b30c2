"""Check, with sacct, that a Snakemake run went through SLURM as the profile asked.

Reads the Snakemake log of a `--profile` run (rule blocks with their `jobid:` and `resources:`,
"Group job ..." headers, "Job X has been submitted with SLURM jobid N" lines) and the
accounting database (`sacct`), and checks:

- every submitted SLURM job is in sacct, COMPLETED, named after the run ID of the executor
  plugin, charged to the profile's account;
- a single-rule job carries the rule in its comment (`rule_<name>[_wildcards_...]`) and gets
  the partition, memory, CPUs and time limit Snakemake printed for it;
- the rules the profile sends to the "gpu" partition ran there, on CPUs (no GRES);
- label chunks never ran as jobs of their own: each iteration's chunks and merge are one
  group job, fewer SLURM jobs than chunks, none wider than the node.

Prints one line per check and a sacct excerpt; exits 1 when a check fails.

Usage: python check_sacct.py SNAKEMAKE_LOG --account NAME --cores N
"""

import argparse
import re
import subprocess
import sys
from collections import Counter, defaultdict

FIELDS = "JobIDRaw,JobName,Comment,State,Partition,Account,ReqMem,ReqCPUS,Timelimit,Elapsed,ReqTRES"
# the tiny config explores by the production protocol from iteration 1 on (explore.production): explore_production
GPU_RULES = ("train_model", "explore_production", "melt_quench")


def parse_log(text: str):
    """Submissions in a Snakemake log: a list of dicts (slurm_id, group, members).

    A group job is printed as a "Group job <name>" header followed by its member rule blocks,
    indented; its "Job <uuid> has been submitted" line may come after other jobs' blocks, so
    group headers wait in a queue until a submission line names no single job.
    """
    singles = {}  # snakemake jobid -> (rule, resources) of jobs outside groups
    groups = []  # [name, members] of group jobs not yet submitted, oldest first
    collecting = None  # the group whose member blocks are being printed
    submissions = []
    rule = jobid = None
    in_group = False
    for line in text.splitlines():
        stripped = line.strip()
        if m := re.search(r"Group job (\w+) \(jobs in lexicogr\. order\):", line):
            collecting = [m.group(1), []]
            groups.append(collecting)
        elif m := re.match(r"(\s*)rule (\w+):$", line):
            rule, jobid, in_group = m.group(2), None, bool(m.group(1))
            if not in_group:
                collecting = None
        elif m := re.match(r"jobid: (\S+)$", stripped):
            jobid = m.group(1)
        elif stripped.startswith("resources:") and rule and jobid is not None:
            items = (item.split("=", 1) for item in stripped[len("resources:") :].split(", ") if "=" in item)
            block = (rule, {k.strip(): v.strip() for k, v in items})
            if in_group and collecting is not None:
                collecting[1].append(block)
            else:
                singles[jobid] = block
            rule = jobid = None
        elif m := re.search(r"^Job (\S+) has been submitted with SLURM jobid (\d+)", stripped):
            if m.group(1) in singles:
                submissions.append({"slurm_id": m.group(2), "group": None, "members": [singles[m.group(1)]]})
            elif groups:
                name, members = groups.pop(0)
                if collecting is not None and collecting[0] == name and collecting[1] is members:
                    collecting = None
                submissions.append({"slurm_id": m.group(2), "group": name, "members": members})
    run_ids = re.findall(r"SLURM run ID: (\S+)", text)
    return submissions, run_ids


def sacct_rows():
    out = subprocess.run(
        ["sacct", "-X", "-a", "--parsable2", "--noheader", "-S", "2000-01-01T00:00:00", f"--format={FIELDS}"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    names = FIELDS.split(",")
    return {row[0]: dict(zip(names, row)) for row in (line.split("|") for line in out.splitlines()) if row[0]}


def minutes(limit: str) -> int:
    """sacct Timelimit ([D-]HH:MM:SS) in minutes."""
    days, _, clock = limit.rpartition("-")
    h, m, s = (int(x) for x in clock.split(":"))
    return (int(days) if days else 0) * 1440 + h * 60 + m + (s > 0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("log")
    parser.add_argument("--account", required=True)
    parser.add_argument("--cores", type=int, required=True)
    args = parser.parse_args()
    submissions, run_ids = parse_log(open(args.log).read())
    rows = sacct_rows()
    results = []

    def check(ok, what):
        results.append(bool(ok))
        print(f"{'ok  ' if ok else 'FAIL'} {what}")

    check(submissions, f"{len(submissions)} SLURM submissions found in the Snakemake log")
    check(len(set(run_ids)) >= 1, f"executor run ID(s): {', '.join(sorted(set(run_ids)))}")
    missing = [s["slurm_id"] for s in submissions if s["slurm_id"] not in rows]
    check(not missing, f"every submitted job is in sacct (missing: {missing or 'none'})")
    states = Counter(rows[s["slurm_id"]]["State"] for s in submissions if s["slurm_id"] in rows)
    check(set(states) == {"COMPLETED"}, f"job states {dict(states)}")
    check(
        all(rows[s["slurm_id"]]["JobName"] in run_ids for s in submissions if s["slurm_id"] in rows),
        "every job is named after the run ID (the plugin's sacct --name filter)",
    )
    check(
        all(rows[s["slurm_id"]]["Account"] == args.account for s in submissions if s["slurm_id"] in rows),
        f"every job charged to account {args.account}",
    )

    bad = []
    per_rule = defaultdict(list)
    for s in submissions:
        row = rows.get(s["slurm_id"])
        if row is None or s["group"]:
            continue
        rule, res = s["members"][0]
        per_rule[rule].append(row)
        expected = {
            "Comment": f"rule_{rule}",
            "Partition": res.get("slurm_partition"),
            "ReqMem": f"{res.get('mem_mb')}M",
            "ReqCPUS": res.get("cpus_per_task", "1"),
            "Timelimit": int(res.get("runtime", 0)),
        }
        got = {
            "Comment": row["Comment"][: len(expected["Comment"])],
            "Partition": row["Partition"],
            "ReqMem": row["ReqMem"],
            "ReqCPUS": row["ReqCPUS"],
            "Timelimit": minutes(row["Timelimit"]),
        }
        if got != expected:
            bad.append(f"job {s['slurm_id']} ({rule}): expected {expected}, sacct {got}")
    check(
        not bad,
        "single-rule jobs: comment names the rule; partition, mem, CPUs, time limit "
        "as Snakemake requested" + ("".join(f"\n     {b}" for b in bad)),
    )
    for rule in GPU_RULES:
        jobs = per_rule.get(rule, [])
        check(
            jobs and all(r["Partition"] == "gpu" and "gres/gpu" not in r["ReqTRES"] for r in jobs),
            f"{rule}: {len(jobs)} job(s) in partition gpu without a GPU request "
            f"({', '.join(sorted({r['ReqTRES'] for r in jobs})) or '-'})",
        )

    groups = [s for s in submissions if s["group"]]
    chunks = [m for s in groups for m in s["members"] if m[0] == "label_chunk"]
    alone = [s for s in submissions if not s["group"] and s["members"][0][0] in ("label_chunk", "merge_labels")]
    check(groups and not alone, f"label_chunk/merge_labels only in group jobs ({len(groups)} group jobs, {len(alone)} alone)")
    check(0 < len(groups) < len(chunks), f"{len(chunks)} label chunks ran in {len(groups)} SLURM jobs")
    for s in groups:
        row = rows.get(s["slurm_id"], {})
        rules = Counter(rule for rule, _ in s["members"])
        check(
            row and int(row["ReqCPUS"]) <= args.cores and row["Comment"].startswith(f"rule_{s['group']}"),
            f"group job {s['slurm_id']} ({dict(rules)}): comment {row.get('Comment')!r}, "
            f"{row.get('ReqCPUS')} CPUs, {row.get('ReqMem')}, limit {row.get('Timelimit')}, "
            f"ran {row.get('Elapsed')}",
        )

    print("\nsacct excerpt (JobIDRaw|Comment|State|Partition|Account|ReqMem|ReqCPUS|Timelimit|Elapsed):")
    for s in submissions:
        row = rows.get(s["slurm_id"])
        if row:
            print(
                "  "
                + "|".join(
                    row[k]
                    for k in ("JobIDRaw", "Comment", "State", "Partition", "Account", "ReqMem", "ReqCPUS", "Timelimit", "Elapsed")
                )
            )
    failed = results.count(False)
    print(f"sacct checks: {len(results) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
