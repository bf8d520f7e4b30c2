"""Import at AIMD scale: stream a long extended-XYZ trajectory of a 272-atom cell.

ZIF-4 had 1,189,836 AIMD frames of 272 atoms; the importer must read them in constant memory
and not much slower than the disk. This script writes a synthetic trajectory of that shape
(positions, forces, energy, stress, lattice; random but format-faithful), then times

- ``raw``: reading the file line by line and doing nothing (the floor any parser pays),
- ``amlip``: :func:`amlip.io.importers.iter_extxyz` with the compiled reader (frames with REF_* keys
  and the level of theory, exactly what ``ase.io.read`` gives),
- ``ase``: ``ase.io.iread`` (only on the first ``--ase-frames`` frames; it is much slower),

and reports frames/s, the ratio to raw (wall time), the CPU seconds of the raw and amlip passes
(all threads: the reader parses the next read in a second thread, so its wall time can be below
its CPU time), the 1-minute load average before and after (the machine may be shared), and the
peak resident memory (VmHWM) after a quarter and after all of the frames (equal numbers mean
memory does not grow with the trajectory).

    python benchmarks/import_scale.py                      # the issue's size: 1.2 M frames (~33 GB)
    python benchmarks/import_scale.py --n-frames 20000     # ~0.55 GB, about a minute here
    python benchmarks/import_scale.py --n-frames 5000 --repeat 3   # best of 3 on a busy machine
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from amlip.io.importers import iter_extxyz  # noqa: E402


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far (VmHWM), MB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def write_trajectory(path: Path, n_frames: int, n_atoms: int = 272, seed: int = 0) -> None:
    """Synthetic extended XYZ in the layout ase.io.write gives labelled frames."""
    rng = np.random.default_rng(seed)
    symbols = np.array(["Zn"] * 16 + ["N"] * 64 + ["C"] * 96 + ["H"] * 96)[:n_atoms]
    base = rng.uniform(0, 15.6, size=(n_atoms, 3))
    lattice = "15.6 0.0 0.0 0.0 15.6 0.0 0.0 0.0 15.6"
    with open(path, "w", buffering=1 << 22) as f:
        for k in range(n_frames):
            pos = base + rng.normal(0, 0.1, size=base.shape)
            frc = rng.normal(0, 1.0, size=base.shape)
            stress = " ".join(f"{v:.8f}" for v in rng.normal(0, 1e-3, 6))
            f.write(f"{n_atoms}\n")
            f.write(
                f'Lattice="{lattice}" Properties=species:S:1:pos:R:3:REF_forces:R:3 '
                f'REF_energy={-1500.0 + rng.normal():.8f} REF_stress="{stress}" md_step={k} pbc="T T T"\n'
            )
            table = np.column_stack([pos, frc])
            lines = [
                f"{s:<2} {a:16.8f}{b:16.8f}{c:16.8f}{d:16.8f}{e:16.8f}{g:16.8f}\n"
                for s, (a, b, c, d, e, g) in zip(symbols, table)
            ]
            f.write("".join(lines))


def time_raw(path: Path) -> tuple[float, float, int]:
    """Wall and CPU seconds of reading the file line by line (text mode) and doing nothing but
    counting the lines, and the line count."""
    start, cpu, lines = time.perf_counter(), time.process_time(), 0
    with open(path, "r", buffering=1 << 20) as f:
        for _ in f:
            lines += 1
    return time.perf_counter() - start, time.process_time() - cpu, lines


def time_amlip(path: Path, n_frames: int) -> tuple[float, float, float, float]:
    """Wall and CPU seconds (all threads) of importing every frame, and the peak RSS (MB) after a
    quarter and after all of them."""
    record = {"code": "synthetic", "functional": "none"}
    start, cpu, quarter_rss, count = time.perf_counter(), time.process_time(), float("nan"), 0
    for atoms in iter_extxyz(path, record, fast=True):
        count += 1
        if count == n_frames // 4:
            quarter_rss = peak_rss_mb()
    assert count == n_frames and "REF_energy" in atoms.info, (count, n_frames)
    return time.perf_counter() - start, time.process_time() - cpu, quarter_rss, peak_rss_mb()


def time_ase(path: Path, n_frames: int) -> float:
    import ase.io

    start = time.perf_counter()
    for k, _ in enumerate(ase.io.iread(path, index=f":{n_frames}", format="extxyz")):
        pass
    return time.perf_counter() - start


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n-frames", type=int, default=1_200_000, help="frames in the synthetic trajectory (ZIF: 1,189,836)")
    parser.add_argument("--n-atoms", type=int, default=272)
    parser.add_argument("--repeat", type=int, default=1, help="alternating raw/amlip passes; the fastest of each counts")
    parser.add_argument("--ase-frames", type=int, default=2000, help="frames read with ase.io.iread for comparison")
    parser.add_argument("--dir", default=None, help="where to write the trajectory (default: a temporary folder)")
    parser.add_argument("--keep", action="store_true", help="keep the trajectory file")
    parser.add_argument("--json", default=None, help="also write the results to this JSON file")
    args = parser.parse_args(argv)

    workdir = Path(args.dir or tempfile.mkdtemp(prefix="import_scale_"))
    path = workdir / "trajectory.extxyz"
    start = time.perf_counter()
    write_trajectory(path, args.n_frames, args.n_atoms)
    size_gb = path.stat().st_size / 1e9
    print(f"wrote {args.n_frames} frames x {args.n_atoms} atoms, {size_gb:.2f} GB in {time.perf_counter() - start:.0f} s")
    rss_before = peak_rss_mb()

    # on a shared machine the load changes between passes: alternate raw and amlip passes and keep
    # the fastest of each, with its CPU time (the memory figures are the process peak over all passes)
    warm = time.perf_counter()
    next(iter_extxyz(path, {"code": "synthetic"}, fast=True))  # loads (or compiles, once per machine) the kernels
    print(f"compiled reader ready in {time.perf_counter() - warm:.1f} s (one-off, not in the timing)", flush=True)
    load_before = os.getloadavg()[0]
    raw, amlip = (float("inf"), 0.0), (float("inf"), 0.0)
    for _ in range(args.repeat):
        seconds, cpu, lines = time_raw(path)
        assert lines == args.n_frames * (args.n_atoms + 2), lines
        raw = min(raw, (seconds, cpu))
        seconds, cpu, quarter_rss, final_rss = time_amlip(path, args.n_frames)
        amlip = min(amlip, (seconds, cpu))
    (raw_s, raw_cpu), (amlip_s, amlip_cpu) = raw, amlip
    n_ase = min(args.ase_frames, args.n_frames)
    ase_s = time_ase(path, n_ase)
    result = {
        "n_frames": args.n_frames,
        "n_atoms": args.n_atoms,
        "file_GB": round(size_gb, 3),
        "raw_frames_per_s": round(args.n_frames / raw_s, 1),
        "amlip_frames_per_s": round(args.n_frames / amlip_s, 1),
        "amlip_over_raw": round(raw_s / amlip_s, 3),
        "raw_cpu_s": round(raw_cpu, 2),
        "amlip_wall_s": round(amlip_s, 2),
        "amlip_cpu_s": round(amlip_cpu, 2),
        "ase_iread_frames_per_s": round(n_ase / ase_s, 1),
        "load_average_1min_before_after": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "peak_rss_MB_before_import": round(rss_before, 1),
        "peak_rss_MB_after_quarter": round(quarter_rss, 1),
        "peak_rss_MB_after_all": round(final_rss, 1),
    }
    for key, value in result.items():
        print(f"{key:28s} {value}")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    if not args.keep:
        path.unlink()
        if not args.dir:
            os.rmdir(workdir)
    return result


if __name__ == "__main__":
    main()
