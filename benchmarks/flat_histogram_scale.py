"""Flat-histogram selection (ZIF) over a paper-size trajectory, in two passes.

Writes a synthetic extended-XYZ trajectory (default: 1,200,000 frames of a 272-atom SiO2-like
cell with positions and REF_forces, ~26 KB per frame, so ~31 GB on disk; --no-forces halves
it, --n-atoms shrinks it), then

  pass 1  amlip.io.extxyz_index.scan_extxyz: byte offsets, atom counts, REF_energy per frame;
  select  amlip.selection.split.flat_histogram_assign on the energies per atom;
  pass 2  amlip.io.extxyz_index.extract_frame_sets: train and test frames copied to their own files
          (--with-val also writes the validation set, i.e. nearly the whole file again),

and prints frames/s of each pass, the peak resident memory of the process and a check that
the extracted frames are the selected ones. The written file is evicted from the page cache
before pass 1 (posix_fadvise), so pass 1 reads from disk as it would at full size.

    python benchmarks/flat_histogram_scale.py                     # paper scale, ~31 GB of disk
    python benchmarks/flat_histogram_scale.py --n-frames 50000    # ~1.3 GB, a minute
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import ase.io  # noqa: E402

from amlip.io.extxyz_index import extract_frame_sets, scan_extxyz  # noqa: E402
from amlip.selection.provenance import selection_info  # noqa: E402
from amlip.selection.split import flat_histogram_assign  # noqa: E402


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (MB; Linux reports kB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def atom_blocks(n_atoms: int, box_A: float, forces: bool, n_blocks: int, rng) -> list[str]:
    """Pre-formatted atom lines of ``n_blocks`` rattled configurations (Si:O = 1:2), reused
    round-robin so that writing is limited by the disk, not by float formatting."""
    symbols = np.array(["Si" if k % 3 == 0 else "O" for k in range(n_atoms)])
    grid = np.ceil(n_atoms ** (1 / 3)).astype(int)
    sites = np.stack(np.meshgrid(*[np.arange(grid)] * 3, indexing="ij"), -1).reshape(-1, 3)[:n_atoms]
    base = (sites + 0.5) * box_A / grid
    blocks = []
    for _ in range(n_blocks):
        pos = base + rng.normal(scale=0.1, size=base.shape)
        cols = [pos] + ([rng.normal(scale=1.0, size=base.shape)] if forces else [])
        values = np.concatenate(cols, axis=1)
        fmt = "%-2s" + " %15.8f" * values.shape[1] + "\n"
        blocks.append("".join(fmt % (s, *row) for s, row in zip(symbols, values)))
    return blocks


def write_trajectory(path: Path, n_frames: int, n_atoms: int, forces: bool, seed: int, block_frames: int = 2000) -> float:
    """Write the synthetic trajectory; return its size in GB.

    Energies per atom follow a skewed distribution (most frames near -7.9 eV/atom, a long
    hot tail) like an MD trajectory, so the flat histogram meets sparse and empty bins.
    """
    rng = np.random.default_rng(seed)
    box = (n_atoms / 0.066) ** (1 / 3)  # ~2.2 g/cm3 silica: 0.066 atoms per Å^3
    blocks = atom_blocks(n_atoms, box, forces, 16, rng)
    props = "species:S:1:pos:R:3" + (":REF_forces:R:3" if forces else "")
    head = f'{n_atoms}\nLattice="{box:.6f} 0.0 0.0 0.0 {box:.6f} 0.0 0.0 0.0 {box:.6f}" Properties={props} '
    with open(path, "w", buffering=1 << 24) as f:
        for first in range(0, n_frames, block_frames):
            k = np.arange(first, min(first + block_frames, n_frames))
            e_atom = -7.9 + 0.01 * rng.gamma(1.5, 1.0, size=len(k)) + 0.002 * rng.normal(size=len(k))
            f.write(
                "".join(
                    f'{head}REF_energy={e * n_atoms:.8f} frame={i} pbc="T T T"\n{blocks[i % 16]}'
                    for i, e in zip(k.tolist(), e_atom.tolist())
                )
            )
        f.flush()
        os.fsync(f.fileno())
        os.posix_fadvise(f.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
    return path.stat().st_size / 1e9


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n-frames", type=int, default=1_200_000, help="frames in the trajectory (ZIF: 1.2 M)")
    parser.add_argument("--n-atoms", type=int, default=272, help="atoms per frame (default 272)")
    parser.add_argument("--no-forces", action="store_true", help="positions only: half the disk")
    parser.add_argument("--n-train", type=int, default=1000, help="train frames requested (ZIF 1000 or 2500)")
    parser.add_argument("--n-test", type=int, default=100, help="test frames requested (ZIF 100 or 200)")
    parser.add_argument("--with-val", action="store_true", help="also write the validation set (nearly the whole file)")
    parser.add_argument("--workdir", type=Path, default=None, help="where the trajectory goes (default: a temporary folder)")
    parser.add_argument("--keep", action="store_true", help="keep the files")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="flat_hist_", dir=args.workdir))
    traj = work / "trajectory.extxyz"
    try:
        t0 = time.perf_counter()
        size_gb = write_trajectory(traj, args.n_frames, args.n_atoms, not args.no_forces, args.seed)
        t_write = time.perf_counter() - t0
        print(
            f"wrote {args.n_frames} frames x {args.n_atoms} atoms: {size_gb:.2f} GB in {t_write:.1f} s ({size_gb / t_write * 1e3:.0f} MB/s)"
        )
        rss_after_write = peak_rss_mb()

        t0 = time.perf_counter()
        index = scan_extxyz(traj)
        t_scan = time.perf_counter() - t0
        assert len(index) == args.n_frames, (len(index), args.n_frames)

        t0 = time.perf_counter()
        split = flat_histogram_assign(index.energies_per_atom, args.n_train, args.n_test, seed=args.seed)
        t_select = time.perf_counter() - t0

        sets = {
            work / "train.extxyz": (
                split.train,
                selection_info("flat_histogram", 0, prefix="split", bin=split.train_bins, split="train"),
            ),
            work / "test.extxyz": (
                split.test,
                selection_info("flat_histogram", 0, prefix="split", bin=split.test_bins, split="test"),
            ),
        }
        if args.with_val:
            sets[work / "val.extxyz"] = (split.val, selection_info("flat_histogram", 0, prefix="split", split="val"))
        n_out = sum(len(ix) for ix, _ in sets.values())
        t0 = time.perf_counter()
        extract_frame_sets(index, sets)
        t_extract = time.perf_counter() - t0

        train = ase.io.read(work / "train.extxyz", ":")
        ok = [a.info["frame"] for a in train] == split.train.tolist() and np.allclose(
            [a.info["REF_energy"] / len(a) for a in train], index.energies_per_atom[split.train]
        )
        print(
            f"pass 1 (scan energies): {t_scan:.1f} s, {args.n_frames / t_scan:,.0f} frames/s, {size_gb / t_scan * 1e3:.0f} MB/s"
        )
        print(
            f"flat histogram: {len(split.train)} train / {len(split.test)} test of {args.n_train}/{args.n_test} requested, {len(split.val)} validation, {t_select:.2f} s"
        )
        print(f"pass 2 (extract {n_out} frames): {t_extract:.1f} s, {n_out / t_extract:,.0f} frames/s")
        print(
            f"total selection: {t_scan + t_select + t_extract:.1f} s, {args.n_frames / (t_scan + t_select + t_extract):,.0f} frames/s"
        )
        print(
            f"peak RSS: {peak_rss_mb():.0f} MB (after writing the file: {rss_after_write:.0f} MB); index {sum(a.nbytes for a in (index.start, index.end, index.n_atoms, index.energy)) / 1e6:.1f} MB"
        )
        print(f"extracted train frames are the selected ones: {ok}")
        if not ok:
            raise SystemExit(1)
    finally:
        if not args.keep:
            for p in work.iterdir():
                p.unlink()
            work.rmdir()


if __name__ == "__main__":
    main()
