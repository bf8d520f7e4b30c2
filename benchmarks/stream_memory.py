"""Memory of the data-handling rules against the number of frames: flat, not growing with the data set.

ZIF-4's data set had 1.19 M labelled frames; rules ``merge_labels``, ``assemble_dataset`` and
``evaluate_model`` must handle it in constant memory. This script writes synthetic labelled
extended-XYZ sets of small frames (the layout and comment keys ``ase.io.write`` gives labelled frames,
level of theory included) at several sizes, then runs, each in a fresh process so that the peak
resident memory (``ru_maxrss``) belongs to that run alone:

- ``merge``: ``scripts/merge_labels.py``'s ``main`` on four chunks, a failed list (one frame) and
  200 AIMD frames,
- ``assemble``: ``scripts/assemble_dataset.py``'s ``main`` (previous iteration's train set plus the new
  one, half the frames each; test and val small),
- ``evaluate``: what ``scripts/evaluate_model.py`` does per split (:func:`amlip.models.metrics.iter_predicted`,
  :class:`amlip.models.metrics.ErrorSums`, the predictions written as they come) with a spring
  calculator standing in for the model,
- ``read_all``: the frames read into one list, as the three rules did before they streamed (for contrast).

Every file is read by the compiled reader, as at paper scale (:func:`amlip.io.frames.iter_frames` picks it
above 16 MB), so its fixed cost is the same at every size. It prints per size and task the wall time, the throughput (MB of input per s) and the peak RSS, then
the ratio of peak RSS at the largest size to that at the smallest.

    python benchmarks/stream_memory.py                           # 2k, 20k and 100k frames of 8 atoms
    python benchmarks/stream_memory.py --sizes 1000 5000 --tasks merge read_all
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import runpy
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from ase.calculators.calculator import Calculator, all_changes

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from amlip.io.lot import level_of_theory_hash, level_of_theory_string  # noqa: E402

RECORD = {"code": "tblite", "method": "GFN1-xTB", "accuracy": 1.0}
TASKS = ("merge", "assemble", "evaluate", "read_all")


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, MB (``ru_maxrss`` is in kB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def write_labelled(path: Path, first: int, n_frames: int, n_atoms: int, seed: int) -> None:
    """``n_frames`` synthetic labelled frames (``frame_index`` from ``first``) of ``n_atoms`` Si/O atoms in a
    10 Å cell, in ase.io.write's extended-XYZ layout: random but format-faithful, written without ASE (fast)."""
    rng = np.random.default_rng(seed)
    symbols = (["Si", "O", "O"] * n_atoms)[:n_atoms]
    base = rng.uniform(0, 10.0, size=(n_atoms, 3))
    lot, lot_hash = level_of_theory_string(RECORD), level_of_theory_hash(RECORD)
    lattice = "10.0 0.0 0.0 0.0 10.0 0.0 0.0 0.0 10.0"
    atom_lines = "".join(f"{s:<2} " + "%16.8f" * 6 + "\n" for s in symbols)
    with open(path, "w", buffering=1 << 22) as f:
        for k in range(first, first + n_frames):
            table = np.column_stack([base + rng.normal(0, 0.1, size=base.shape), rng.normal(0, 1.0, size=base.shape)])
            stress = " ".join(repr(float(v)) for v in rng.normal(0, 1e-3, 6))
            f.write(
                f'{n_atoms}\nLattice="{lattice}" Properties=species:S:1:pos:R:3:REF_forces:R:3 '
                f'REF_energy={float(-5.0 * n_atoms + rng.normal())!r} REF_stress="{stress}" frame_index={k} '
                f'level_of_theory={lot} lot_hash={lot_hash} pbc="T T T"\n'
            )
            f.write(atom_lines % tuple(table.ravel()))


def copy_frames(index, first: int, last: int, path: Path) -> None:
    """Frames ``[first, last)`` of an indexed file (:func:`amlip.io.extxyz_index.scan_extxyz`) copied byte for byte to ``path``."""
    with open(index.path, "rb") as source, open(path, "wb") as out:
        if last > first:
            source.seek(int(index.start[first]))
            out.write(source.read(int(index.end[last - 1] - index.start[first])))


def make_set(directory: Path, n_frames: int, n_atoms: int) -> None:
    """The files of one size: the labelled frames (frame_index 0..n-1), four label chunks of them (frame n-1
    failed), 200 AIMD frames, previous and new train sets (halves of the frames), small test/val sets, the E0s."""
    from amlip.io.extxyz_index import scan_extxyz

    directory.mkdir(parents=True, exist_ok=True)
    frames = directory / "frames.extxyz"
    write_labelled(frames, 0, n_frames, n_atoms, seed=0)
    index = scan_extxyz(frames)
    bounds = np.linspace(0, n_frames - 1, 5).astype(int)
    for c in range(4):
        copy_frames(index, bounds[c], bounds[c + 1], directory / f"chunk_{c}.extxyz")
    (directory / "chunk_failed.csv").write_text(
        f"frame_index,formula,error,reason,wall_s,lot_hash\n{n_frames - 1},Si,scf,x,0.1,\n"
    )
    copy_frames(index, n_frames // 2, n_frames, directory / "train.extxyz")
    copy_frames(index, 0, n_frames // 2, directory / "previous_train.extxyz")
    for name, n, seed in (("aimd", 200, 1), ("test", 20, 2), ("val", 20, 3), ("previous_test", 10, 4), ("previous_val", 10, 5)):
        write_labelled(directory / f"{name}.extxyz", 0, n, n_atoms, seed=seed)
    e0s = {"energies_eV": {"Si": -1.0, "O": -2.0}, "level_of_theory": RECORD, "lot_hash": level_of_theory_hash(RECORD)}
    (directory / "isolated_atoms.json").write_text(json.dumps(e0s))


class _Springs(Calculator):
    """A stand-in for the model: every atom on a spring to the cell centre (energy eV, forces eV/Å, no stress)."""

    implemented_properties = ["energy", "forces", "stress"]

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        displacement = self.atoms.positions - self.atoms.cell.sum(axis=0) / 2
        self.results = {
            "energy": 0.05 * float(np.sum(displacement**2)),
            "forces": -0.1 * displacement,
            "stress": np.zeros(6),
        }


def script_main(name: str):
    """``main`` of ``scripts/<name>.py``, loaded as Snakemake would run it."""
    sys.path.insert(0, str(ROOT / "scripts"))
    return runpy.run_path(str(ROOT / "scripts" / f"{name}.py"))["main"]


def run_task(task: str, directory: Path) -> tuple[float, float, float]:
    """Run one task on the files of ``directory`` (see :func:`make_set`); returns (input MB, wall s, peak RSS MB),
    both taken before the check of the evaluation's output."""
    d = directory
    chunks = sorted(d.glob("chunk_?.extxyz"))
    sets = {p.stem: p for p in d.glob("*.extxyz")}
    out = d / f"out_{task}"
    out.mkdir(exist_ok=True)
    log = logging.getLogger(task)
    start = time.perf_counter()
    if task == "merge":
        inputs = [*chunks, d / "frames.extxyz", d / "aimd.extxyz"]
        script_main("merge_labels")(
            [str(p) for p in chunks], [str(d / "chunk_failed.csv")], str(d / "frames.extxyz"), [str(d / "aimd.extxyz")],
            str(out / "labelled.extxyz"), str(out / "failed.csv"), str(out / "report.csv"), 0.2, log,
        )  # fmt: skip
    elif task == "assemble":
        names = ("train", "test", "val")
        inputs = [sets[n] for n in names] + [sets[f"previous_{n}"] for n in names]
        script_main("assemble_dataset")(
            {n: str(sets[n]) for n in names}, {n: str(sets[f"previous_{n}"]) for n in names}, str(d / "isolated_atoms.json"),
            {n: str(out / f"{n}.extxyz") for n in names}, log,
        )  # fmt: skip
    elif task == "evaluate":
        from amlip.io.extxyz_index import scan_extxyz
        from amlip.io.frames import iter_frames, write_stream
        from amlip.models.metrics import ErrorSums, iter_predicted

        inputs = [d / "frames.extxyz"]
        errors = ErrorSums("model")
        write_stream(out / "predictions.extxyz", errors.scored(iter_predicted(iter_frames(inputs[0]), _Springs(), "model")))
    elif task == "read_all":
        from amlip.io.frames import read_frames

        inputs = [d / "frames.extxyz"]
        if not read_frames(inputs[0]):
            raise RuntimeError(f"{inputs[0]} holds no frames")
    else:
        raise ValueError(f"task {task!r}: one of {TASKS}")
    wall, peak = time.perf_counter() - start, peak_rss_mb()
    if task == "evaluate" and errors.metrics()["n_frames"] != len(scan_extxyz(out / "predictions.extxyz")):
        raise RuntimeError("the predictions file does not hold every scored frame")
    return sum(p.stat().st_size for p in inputs) / 1e6, wall, peak


def child(task: str, directory: str) -> None:
    """One task in this (fresh) process; prints a JSON line with the input size, wall time and peak RSS.

    Every file is read by the compiled reader, which :func:`amlip.io.frames.iter_frames` picks for files
    above 16 MB (all files at paper scale): its fixed cost (the compiled kernels, three 4 MB reads)
    would otherwise appear as growth between a small set read by ASE's reader and a large one."""
    import amlip.io.extxyz

    amlip.io.extxyz.FAST_READER_MIN_BYTES = 0
    size_mb, wall, peak = run_task(task, Path(directory))
    print(json.dumps({"input_mb": size_mb, "wall_s": wall, "peak_rss_mb": peak}))


def run(sizes: list[int], tasks: list[str], n_atoms: int, workdir: str | None) -> None:
    """Generate each size, run each task in its own process, print the table and the memory ratios."""
    rows = []
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        for n in sizes:
            directory = Path(tmp) / f"n{n}"
            start = time.perf_counter()
            make_set(directory, n, n_atoms)
            print(f"# {n} frames of {n_atoms} atoms written in {time.perf_counter() - start:.1f} s", flush=True)
            for task in tasks:
                command = [sys.executable, __file__, "--child", task, str(directory)]
                done = subprocess.run(command, capture_output=True, text=True, env=os.environ | {"OMP_NUM_THREADS": "1"})
                if done.returncode:
                    raise RuntimeError(f"{task} on {n} frames failed:\n{done.stderr[-3000:]}")
                rows.append({"n_frames": n, "task": task, **json.loads(done.stdout.strip().splitlines()[-1])})
                r = rows[-1]
                print(
                    f"{n:>8d} {task:<9} input {r['input_mb']:8.1f} MB  wall {r['wall_s']:7.1f} s  "
                    f"{r['input_mb'] / r['wall_s']:6.2f} MB/s  peak RSS {r['peak_rss_mb']:7.1f} MB",
                    flush=True,
                )
    small, large = min(sizes), max(sizes)
    print(f"\npeak RSS at {large} frames / at {small} frames ({large / small:g}x the frames):")
    for task in tasks:
        peak = {r["n_frames"]: r["peak_rss_mb"] for r in rows if r["task"] == task}
        print(f"  {task:<9} {peak[large]:7.1f} / {peak[small]:7.1f} MB = {peak[large] / peak[small]:.2f}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 20000, 100000], help="frame counts")
    parser.add_argument("--tasks", nargs="+", default=list(TASKS), choices=TASKS)
    parser.add_argument("--n-atoms", type=int, default=8, help="atoms per frame")
    parser.add_argument("--workdir", default=None, help="where the synthetic files go (a temporary folder in it)")
    parser.add_argument("--child", nargs=2, metavar=("TASK", "DIR"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(*args.child)
    else:
        run(args.sizes, args.tasks, args.n_atoms, args.workdir)


if __name__ == "__main__":
    main()
