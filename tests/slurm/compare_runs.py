"""Compare the results/ trees of two runs of the same config (e.g. SLURM vs. local).

What must agree exactly (structures, the iteration-0 pool and its labels, isolated-atom
energies, the number of frames in every data set) fails the comparison when it differs;
everything after the first training is reported as identical / numerically equal / different,
because MACE training is not promised to be bitwise reproducible. Benchmarks (timings) are
skipped. Prints one line per check and exits 1 when a required check fails.

Usage: python compare_runs.py RUN_A RUN_B
"""

import hashlib
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from ase.io import read

# Deterministic parts of the DAG: seeded structure builders, seeded perturbations, tblite.
REQUIRED = [
    "results/structures/*.extxyz",
    "results/explore/*/iter_0/pool.extxyz",
    "results/label/*/iter_0/chunk_*.extxyz",
    "results/label/*/iter_0/labelled.extxyz",
    "results/label/*/isolated_atoms.json",
]
SKIP = ("results/benchmarks/",)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def frames_equal(a: Path, b: Path, atol: float = 1e-8) -> tuple[bool, str]:
    """Same frame count, species, positions, cell and REF_* labels within atol."""
    fa, fb = read(a, index=":"), read(b, index=":")
    if len(fa) != len(fb):
        return False, f"{len(fa)} vs {len(fb)} frames"
    worst = 0.0
    for k, (x, y) in enumerate(zip(fa, fb)):
        if x.get_chemical_symbols() != y.get_chemical_symbols():
            return False, f"frame {k}: different species"
        pairs = [(x.positions, y.positions), (x.cell.array, y.cell.array)]
        for key in ("REF_energy", "REF_stress"):
            if key in x.info or key in y.info:
                if key not in x.info or key not in y.info:
                    return False, f"frame {k}: {key} in one run only"
                pairs.append((np.atleast_1d(x.info[key]), np.atleast_1d(y.info[key])))
        if "REF_forces" in x.arrays or "REF_forces" in y.arrays:
            if "REF_forces" not in x.arrays or "REF_forces" not in y.arrays:
                return False, f"frame {k}: REF_forces in one run only"
            pairs.append((x.arrays["REF_forces"], y.arrays["REF_forces"]))
        for p, q in pairs:
            worst = max(worst, float(np.max(np.abs(np.asarray(p, float) - np.asarray(q, float)))))
    return worst <= atol, f"{len(fa)} frames, max |diff| {worst:.2e}"


def csv_equal(a: Path, b: Path, rtol: float = 1e-6) -> tuple[bool, str]:
    ta, tb = pd.read_csv(a), pd.read_csv(b)
    if list(ta.columns) != list(tb.columns) or ta.shape != tb.shape:
        return False, f"shape {ta.shape} vs {tb.shape}"
    num = ta.select_dtypes("number").columns
    same_text = ta.drop(columns=num).astype(str).equals(tb.drop(columns=num).astype(str))
    close = np.allclose(ta[num].to_numpy(float), tb[num].to_numpy(float), rtol=rtol, equal_nan=True)
    return same_text and close, f"{ta.shape[0]} rows"


def compare_file(a: Path, b: Path) -> tuple[str, str]:
    """('identical' | 'equal' | 'different', detail) for one pair of files."""
    if digest(a) == digest(b):
        return "identical", ""
    try:
        if a.suffix == ".extxyz":
            ok, detail = frames_equal(a, b)
        elif a.suffix == ".csv":
            ok, detail = csv_equal(a, b)
        else:
            return "different", "bytes differ"
    except Exception as error:  # a file one reader cannot parse is simply reported
        return "different", f"{type(error).__name__}: {error}"
    return ("equal" if ok else "different"), detail


def main(run_a: Path, run_b: Path) -> int:
    def files(root):
        return {
            p.relative_to(root).as_posix()
            for p in (root / "results").rglob("*")
            if p.is_file() and not p.relative_to(root).as_posix().startswith(SKIP)
        }

    in_a, in_b = files(run_a), files(run_b)
    failures = 0
    for only, where in ((in_a - in_b, run_a), (in_b - in_a, run_b)):
        for rel in sorted(only):
            print(f"FAIL only in {where}: {rel}")
            failures += 1
    required = {p.relative_to(run_a).as_posix() for pattern in REQUIRED for p in run_a.glob(pattern)}
    if not required:
        print("FAIL no deterministic outputs found to compare")
        failures += 1
    counts = {"identical": 0, "equal": 0, "different": 0}
    for rel in sorted(in_a & in_b):
        verdict, detail = compare_file(run_a / rel, run_b / rel)
        counts[verdict] += 1
        if rel in required:
            ok = verdict != "different"
            failures += not ok
            print(f"{'ok  ' if ok else 'FAIL'} deterministic {rel}: {verdict} {detail}".rstrip())
        elif verdict == "different":
            print(f"info differs (not required to match) {rel}: {detail}")
    for split in sorted(run_a.glob("results/learn/*/iter_*/*.extxyz")):
        rel = split.relative_to(run_a)
        n_a, n_b = len(read(split, index=":")), len(read(run_b / rel, index=":"))
        ok = n_a == n_b
        failures += not ok
        print(f"{'ok  ' if ok else 'FAIL'} data set size {rel}: {n_a} vs {n_b}")
    models = sorted(p.relative_to(run_a).as_posix() for p in run_a.glob("results/train/*/iter_*/member_*/mace.model"))
    same = [m for m in models if (run_b / m).exists() and digest(run_a / m) == digest(run_b / m)]
    print(f"info MACE models byte-identical in both runs: {len(same)} of {len(models)}")
    print(
        f"files compared: {sum(counts.values())} ({counts['identical']} identical bytes, "
        f"{counts['equal']} numerically equal, {counts['different']} different)"
    )
    return 1 if failures else 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2])))
