"""SOAP + k-means (MIL) over a paper-size pool: 100,000 structures, in batches and in parallel.

Structures are made on the fly (strained, rattled alpha-quartz supercells, default 2x2x2 =
72 atoms) and never held all at once: amlip.selection.soap.soap_descriptors describes them
--batch-size at a time with --n-jobs DScribe worker processes into one float32 matrix
(100k x 684 features = 270 MB at MIL's r_cut 6 Å, n_max 9, l_max 3); kmeans_closest then
clusters it (MiniBatchKMeans above 20,000 frames) and farthest-point sampling picks the same
number for comparison. The single-core DScribe rate is measured in the same run on the first
--serial-sample structures, so the printed parallel ratio compares like with like.

    python benchmarks/soap_kmeans_scale.py                                  # paper scale
    python benchmarks/soap_kmeans_scale.py --n-structures 2000 --n-select 50
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from itertools import islice
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from amlip.selection.soap import farthest_point_sampling, kmeans_closest, soap_descriptors  # noqa: E402
from amlip.structures.crystals import build_crystal  # noqa: E402


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (MB; Linux reports kB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def structures(n: int, supercell, seed: int):
    """``n`` distorted alpha-quartz cells, one at a time: random strain up to ±6 % per cell
    vector component and rattles of 0.02-0.3 Å, so the pool is a continuum with structure."""
    base = build_crystal("alpha_quartz", supercell)
    rng = np.random.default_rng(seed)
    for _ in range(n):
        a = base.copy()
        a.set_cell(a.cell @ (np.eye(3) + rng.uniform(-0.06, 0.06, size=(3, 3))), scale_atoms=True)
        a.positions += rng.normal(scale=rng.uniform(0.02, 0.3), size=a.positions.shape)
        yield a


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n-structures", type=int, default=100_000, help="pool size (default 100,000)")
    parser.add_argument("--n-select", type=int, default=800, help="clusters = frames kept (MIL: 800)")
    parser.add_argument("--supercell", type=int, nargs=3, default=[2, 2, 2], help="alpha-quartz supercell (2 2 2 = 72 atoms)")
    parser.add_argument("--n-jobs", type=int, default=os.cpu_count(), help="DScribe worker processes (default: all cores)")
    parser.add_argument("--batch-size", type=int, default=2000, help="structures per SOAP batch")
    parser.add_argument("--serial-sample", type=int, default=200, help="structures for the single-core reference rate")
    parser.add_argument("--r-cut", type=float, default=6.0)
    parser.add_argument("--n-max", type=int, default=9)
    parser.add_argument("--l-max", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    soap = dict(r_cut=args.r_cut, n_max=args.n_max, l_max=args.l_max, species=["O", "Si"])
    n = args.n_structures

    sample = list(islice(structures(n, args.supercell, args.seed), min(args.serial_sample, n)))
    t0 = time.perf_counter()
    reference = soap_descriptors(sample, n_jobs=1, **soap)
    rate_1 = len(sample) / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    for _ in structures(len(sample), args.supercell, args.seed):
        pass
    make_s = (time.perf_counter() - t0) / len(sample)

    t0 = time.perf_counter()
    features = soap_descriptors(
        structures(n, args.supercell, args.seed), n_jobs=args.n_jobs, batch_size=args.batch_size, dtype=np.float32, **soap
    )
    t_soap = time.perf_counter() - t0
    rate_p = n / t_soap
    same = np.allclose(features[: len(sample)], reference, rtol=1e-4, atol=1e-5 * np.abs(reference).max())

    t0 = time.perf_counter()
    picked, _ = kmeans_closest(features, args.n_select, seed=args.seed)
    t_kmeans = time.perf_counter() - t0
    t0 = time.perf_counter()
    fps = farthest_point_sampling(features, args.n_select, seed=args.seed)
    t_fps = time.perf_counter() - t0

    print(
        f"{n} structures of {len(sample[0])} atoms, SOAP r_cut {args.r_cut} Å, n_max {args.n_max}, l_max {args.l_max}: {features.shape[1]} features, {features.nbytes / 1e6:.0f} MB as float32"
    )
    print(
        f"DScribe single core: {rate_1:.1f} structures/s ({len(sample)} structures; making a structure takes {make_s * 1e3:.2f} ms)"
    )
    print(
        f"batched, n_jobs={args.n_jobs}, batch {args.batch_size}: {rate_p:.1f} structures/s in {t_soap:.1f} s, ratio to single core {rate_p / rate_1:.2f}"
    )
    print(f"batched rows equal the single-core ones: {same}")
    print(
        f"k-means ({'MiniBatchKMeans' if n > 20_000 else 'KMeans'}) into {args.n_select}: {len(picked)} frames picked in {t_kmeans:.1f} s"
    )
    print(f"farthest-point sampling of {len(fps)}: {t_fps:.1f} s")
    print(f"peak RSS (this process; DScribe workers not included): {peak_rss_mb():.0f} MB")
    if not same:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
