"""Closed-loop fidelity benchmark (issue 15): the whole pipeline against a reference it can afford to run.

One command per case runs the full DAG of ``config/examples/closed_loop_<case>.yaml`` (labels from the
classical reference, committee active learning, training, production) through Snakemake in a copy of
this repository, and the reference's own melt-quench of the same starting structures with the same seeds
(rules/fidelity.smk). It writes to ``benchmarks/measured/closed_loop_<case>/``:

- ``comparison.csv`` / ``comparison.md`` / ``comparison.png``: MLIP and reference side by side (mean +- std
  over glasses), difference, noise, issue-15 target and whether it is met;
- ``learn_summary.csv``: every iteration's explored, picked and labelled frames, test errors, convergence;
- ``run.json``: commit, command, cores, wall time, reference labels used, targets met.

With ``--random-baseline`` it then asks how many labels a *random* selection of the same explored frames
needs for the same fidelity: for each size (the active-learning run's label count times ``--factors``) it
draws that many frames at random from everything the active-learning run labelled or explored (its
iteration-0 labels and every iteration's exploration pool), labels them with the same reference, and runs
the same DAG with ``learn.n_iterations: 0`` on those labels alone (imported through ``aimd.import``), the
same training budget, production, reference glasses and comparison. ``random_baseline.csv`` has one row
per size (labels, targets met, density difference); ``run.json`` gets the ratio: the smallest random
label count that meets at least as many targets as active learning, over active learning's count (a
lower bound ``> max factor`` when none does).

    python benchmarks/closed_loop.py silica [--cores 2] [--workdir /tmp/amlip_closed_loop_silica]
    python benchmarks/closed_loop.py silica --random-baseline --factors 1 2 4
    python benchmarks/closed_loop.py zif4

A workdir that exists is resumed (Snakemake reruns what is missing). Silica at the issue's scale (192-atom
glasses, 4 a side, time_scale 0.01) is hours on 2 cores; see benchmarks/measured/README.md for what ran.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGETS = ["results/fidelity/melt_quench/comparison.csv", "results/fidelity/melt_quench/comparison.png"]
FIDELITY_FILES = ["comparison.csv", "comparison.md", "comparison.png"]


def copy_repository(workdir: Path) -> None:
    """The repository's tracked and not-ignored files (the working tree as it is) into ``workdir``."""
    files = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout.split()
    for name in files:
        source = ROOT / name
        if source.is_file():
            target = workdir / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)


def snakemake(workdir: Path, configfiles: list[str], cores: int, log: Path) -> float:
    """Run the fidelity targets in ``workdir``; progress lines go to the terminal, everything to ``log``."""
    command = ["snakemake", "--cores", str(cores), *TARGETS, "--configfile", *configfiles]
    start = time.time()
    print("+ (cd", workdir, "&&", " ".join(command) + ")", flush=True)
    with open(log, "a") as out:
        process = subprocess.Popen(command, cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for line in process.stdout:
            out.write(line)
            if "steps (" in line or line.startswith(("Error", "rule ")):
                print("  ", line.rstrip(), flush=True)
        if process.wait():
            raise SystemExit(f"snakemake failed in {workdir} (rc {process.returncode}); see {log}")
    return time.time() - start


def learn_summary(workdir: Path, domain: str) -> pd.DataFrame:
    """Every iteration's learn summary of ``domain`` (results/learn/<domain>/iter_<i>/summary.csv)."""
    paths = sorted((workdir / "results" / "learn" / domain).glob("iter_*/summary.csv"), key=lambda p: int(p.parent.name[5:]))
    return pd.concat([pd.read_csv(p) for p in paths], ignore_index=True)


def fidelity_score(table: pd.DataFrame) -> dict:
    """Targets met and missed in a comparison table, and the density difference in percent."""
    rows = table[table.within_target.notna() & (table.group != "provenance")]
    met = rows.within_target.astype(str).str.lower().eq("true")
    density = table[table.property == "density"].iloc[0]
    return {
        "targets": int(len(rows)),
        "targets_met": int(met.sum()),
        "missed": sorted(rows[~met].property.tolist()),
        "density_difference_percent": float(density.relative_difference_percent),
    }


def explored_frames(workdir: Path, domain: str) -> list:
    """Everything the active-learning run labelled at iteration 0 or explored at any iteration (no labels kept)."""
    from ase.io import iread

    paths = [workdir / f"results/label/{domain}/iter_0/labelled.extxyz"]
    paths += sorted((workdir / "results" / "explore" / domain).glob("iter_*/pool.extxyz"))
    frames = []
    for path in paths:
        for atoms in iread(path, ":"):
            clean = atoms.copy()
            clean.info = {"source": f"{path.relative_to(workdir)}:{len(frames)}"}
            clean.arrays = {k: v for k, v in clean.arrays.items() if k in ("numbers", "positions")}
            frames.append(clean)
    return frames


def label_reference(frames: list, config: dict) -> list:
    """Label ``frames`` with the config's reference (label.lammps) through the pipeline's own labeler."""
    from amlip.labelers.base import label_frames
    from amlip.labelers.registry import make_labeler

    outcome = label_frames(frames, make_labeler("lammps", config["label"]["lammps"]))
    if outcome.failed:
        raise SystemExit(f"the reference failed on {len(outcome.failed)} frames: {outcome.failed[:3]}")
    return outcome.labelled


def random_baseline(workdir: Path, configfiles: list[str], config: dict, n_al: int, factors, cores: int, seed: int, log: Path):
    """One Snakemake run per size on random labels of the active-learning run's frames; rows of the result table."""
    from amlip.io.frames import write_frames

    domain = config["produce"]["melt_quench"].get("domain", "syn")
    pool = explored_frames(workdir, domain)
    rng = np.random.default_rng(seed)
    rows = []
    for factor in factors:
        n = min(int(round(factor * n_al)), len(pool))
        run_dir = workdir.parent / f"{workdir.name}_random_{n}"
        if not run_dir.exists():
            run_dir.mkdir(parents=True)
            copy_repository(run_dir)
        labelled = run_dir / "random_labels.extxyz"
        if not labelled.exists():
            picks = rng.choice(len(pool), size=n, replace=False)
            print(f"random baseline: labelling {n} of {len(pool)} explored frames", flush=True)
            write_frames(labelled, label_reference([pool[i] for i in sorted(picks)], config))
        overlay = {
            # no packings or crystals to perturb and label: the random labels are all the model sees
            "structures": {"random": {"n_structures": 0}, "crystals": {name: None for name in config["structures"]["crystals"]}},
            "aimd": {
                "domains": [domain],
                "structures": [],
                "import": [{"format": "extxyz", "path": str(labelled), "level_of_theory": "label"}],
            },
            "learn": {"n_iterations": 0},
        }
        (run_dir / "random_overlay.yaml").write_text(yaml.safe_dump(overlay))
        wall = snakemake(run_dir, [*configfiles, "random_overlay.yaml"], cores, log)
        table = pd.read_csv(run_dir / "results/fidelity/melt_quench/comparison.csv")
        rows.append({"factor": factor, "labels": n, "wall_s": round(wall), **fidelity_score(table)})
    return pd.DataFrame(rows)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("case", choices=["silica", "zif4"])
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--workdir", type=Path, default=None, help="default /tmp/amlip_closed_loop_<case>")
    parser.add_argument("--configfile", action="append", default=[], help="extra config overlays after the case's")
    parser.add_argument("--out", type=Path, default=None, help="default benchmarks/measured/closed_loop_<case>")
    parser.add_argument("--random-baseline", action="store_true")
    parser.add_argument("--factors", type=float, nargs="+", default=[1.0, 2.0])
    args = parser.parse_args(argv)

    workdir = (args.workdir or Path(f"/tmp/amlip_closed_loop_{args.case}")).resolve()
    out = (args.out or ROOT / "benchmarks" / "measured" / f"closed_loop_{args.case}").resolve()
    out.mkdir(parents=True, exist_ok=True)
    case_config = f"config/examples/closed_loop_{args.case}.yaml"
    configfiles = [case_config, *args.configfile]
    if not workdir.exists():
        workdir.mkdir(parents=True)
        copy_repository(workdir)
    log = out / "snakemake.log"
    wall = snakemake(workdir, configfiles, args.cores, log)

    from amlip.config import load_config

    config = load_config([workdir / c for c in configfiles], root=workdir)
    domain = config["produce"]["melt_quench"].get("domain", "syn")
    fidelity = workdir / "results" / "fidelity" / "melt_quench"
    for name in FIDELITY_FILES:
        shutil.copy2(fidelity / name, out / name)
    summary = learn_summary(workdir, domain)
    summary.to_csv(out / "learn_summary.csv", index=False)
    table = pd.read_csv(fidelity / "comparison.csv")
    n_labels = int(summary.labelled.fillna(0).sum())
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    record = {
        "case": args.case,
        "commit": commit,
        "command": "python benchmarks/closed_loop.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "configfiles": configfiles,
        "cores": args.cores,
        "wall_s": round(wall),
        "reference_labels": n_labels,
        "iterations": int(summary.iteration.max()),
        "converged": bool(summary.converged.astype(str).str.lower().eq("true").iloc[-1]),
        **fidelity_score(table),
    }
    if args.random_baseline:
        baseline = random_baseline(workdir, configfiles, config, n_labels, args.factors, args.cores, config["seed"], log)
        baseline.to_csv(out / "random_baseline.csv", index=False)
        enough = baseline[baseline.targets_met >= record["targets_met"]]
        record["random_baseline"] = baseline.to_dict(orient="records")
        record["label_ratio_random_over_al"] = (
            float(enough.labels.min() / n_labels) if len(enough) else f"> {max(args.factors):g}"
        )
    (out / "run.json").write_text(json.dumps(record, indent=1) + "\n")
    print(json.dumps(record, indent=1))
    return record


if __name__ == "__main__":
    main()
