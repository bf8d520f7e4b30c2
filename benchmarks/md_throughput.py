"""MD throughput of every engine: a bare model call, an NVT step and an NpT step, and their ratios.

For each engine (``ase``: amlip.md.ase_engine.run_protocol; ``lammps``: run_protocol_lammps, the model through
``fix external``; ``batched``: amlip.md.batched.run_protocol_batched on ``--glasses`` copies) it times

- the bare call: energy, forces and stress of the cell from the model alone (for ``batched``: one call on the batch),
- an NVT step and an NpT step of the engine's production integrators (the protocol stages the pipeline runs),

and prints time per step, model calls per step, µs per atom-step and the ratios step / bare call (targets on the
CPU: NVT <= 1.1, NpT <= 1.15). ``--d3`` adds the cost of D3(BJ) on top of the model for ase and lammps
(target <= 1.2 at 128 channels; benchmarks/d3_overhead.py has the variants). On the CPU the times are CPU time of
this process (robust on a shared machine); on CUDA wall time after a synchronisation, and the GPU memory peak.

    python benchmarks/md_throughput.py                                   # default model (16 ch, L=0), 243 atoms, CPU
    python benchmarks/md_throughput.py --channels 128 --max-L 1 --supercell 6 6 6 --device cuda --glasses 8
    python benchmarks/md_throughput.py --model results/train/syn/iter_2/member_0/mace.model --csv out.csv

Without ``--model`` an untrained MACE with the hyper-parameters of config/schema.yaml train.mace (or
``--channels``/``--max-L``) is built: the cost of a call does not depend on the weights.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from amlip.md.guards import Guards  # noqa: E402
from amlip.md.protocols import Stage  # noqa: E402
from amlip.structures.crystals import build_crystal  # noqa: E402

# timing only: an untrained model may heat the cell, which must not stop the clock
NO_GUARDS = Guards(max_T_factor=1e9, min_distance_A=0.0, check_every=10**9)
D3 = {"method": "d3bj", "functional": "pbe"}
COUPLING = {"friction_per_fs": 0.01, "taut_fs": 20.0, "taup_fs": 200.0}


def default_model_file(folder: Path, channels: int | None, max_L: int | None, dtype: str) -> tuple[str, str]:
    """An untrained MACE for Si and O with train.mace's defaults (schema), channels and max_L optionally replaced;
    returns its file and a one-line description."""
    import importlib

    import torch
    import yaml
    from mace import modules

    o3 = importlib.import_module("e3nn.o3")  # after mace, which lets torch load e3nn's constants

    schema = yaml.safe_load((Path(__file__).resolve().parents[1] / "config" / "schema.yaml").read_text())
    mace = schema["properties"]["train"]["properties"]["mace"]["default"]
    channels = channels or mace["num_channels"]
    max_L = mace["max_L"] if max_L is None else max_L
    hidden = " + ".join(f"{channels}x{ell}{'e' if ell % 2 == 0 else 'o'}" for ell in range(max_L + 1))
    torch.manual_seed(0)
    model = modules.ScaleShiftMACE(
        r_max=mace["r_max"],
        num_bessel=mace["num_radial_basis"],
        num_polynomial_cutoff=5,
        max_ell=3,
        interaction_cls=modules.interaction_classes["RealAgnosticResidualInteractionBlock"],
        interaction_cls_first=modules.interaction_classes["RealAgnosticResidualInteractionBlock"],
        num_interactions=mace["num_interactions"],
        num_elements=2,
        hidden_irreps=o3.Irreps(hidden),
        MLP_irreps=o3.Irreps("16x0e"),
        atomic_energies=np.array([-4.9, -1.0]),
        avg_num_neighbors=30.0,
        atomic_numbers=[8, 14],
        correlation=mace["correlation"],
        gate=torch.nn.functional.silu,
        pair_repulsion=bool(mace["pair_repulsion"]),
        atomic_inter_scale=1.0,
        atomic_inter_shift=0.0,
    )
    path = folder / "mace.model"
    torch.save(model.to(getattr(torch, dtype)), path)
    return str(path), f"untrained MACE {hidden}, {mace['num_interactions']} interactions, r_max {mace['r_max']} Å"


class Clock:
    """CPU time of this process on the CPU; wall time after torch.cuda.synchronize() on CUDA."""

    def __init__(self, device: str):
        self.cuda = device == "cuda"

    def now(self) -> float:
        if self.cuda:
            import torch

            torch.cuda.synchronize()
            return time.perf_counter()
        return time.process_time()


def count_calls(calculator):
    """Wrap ``calculator.calculate`` so that ``calculator.n_calls`` counts the model evaluations."""
    original = calculator.calculate
    calculator.n_calls = 0

    def calculate(*args, **kwargs):
        calculator.n_calls += 1
        return original(*args, **kwargs)

    calculator.calculate = calculate
    return calculator


def bare_call_s(calculator, atoms, n_calls: int, clock: Clock) -> float:
    """Seconds per energy + forces + stress call on moving positions (no result is reused)."""
    atoms = atoms.copy()
    atoms.calc = calculator
    rng = np.random.default_rng(0)
    start = atoms.positions.copy()
    for _ in range(5):  # warm-up (allocation, JIT)
        atoms.positions = start + rng.normal(0.0, 0.01, start.shape)
        atoms.get_forces(), atoms.get_stress()
    t0 = clock.now()
    for _ in range(n_calls):
        atoms.positions = start + rng.normal(0.0, 0.01, start.shape)
        atoms.get_potential_energy(), atoms.get_forces(), atoms.get_stress()
    return (clock.now() - t0) / n_calls


def per_step(run, n_steps: int, clock: Clock, counter) -> tuple[float, float]:
    """(seconds, model calls) per MD step: the difference of a run of 2 + n_steps steps and one of 2 steps (after
    a warm-up run), so that what a run costs once (start-up, first forces, LAMMPS set-up) is not counted."""
    run(2)
    costs = []
    for steps in (2, 2 + n_steps):
        calls, t0 = counter(), clock.now()
        run(steps)
        costs.append((clock.now() - t0, counter() - calls))
    return (costs[1][0] - costs[0][0]) / n_steps, (costs[1][1] - costs[0][1]) / n_steps


def engine_step_s(engine: str, atoms, calculator, ensemble: str, n_steps: int, clock: Clock, dispersion=None):
    """(seconds, model calls) per step of ``ensemble`` in ``engine`` (amlip.md.engines.run_md)."""
    from amlip.md.engines import run_md

    def run(steps):
        stage = [Stage("bench", ensemble, 300, 300, steps / 1000.0, 1.0)]
        run_md(engine, atoms, calculator, stage, sample_every=steps, seed=0, guards=NO_GUARDS, dispersion=dispersion, **COUPLING)

    return per_step(run, n_steps, clock, lambda: calculator.n_calls)


def batched_rows(model_file, atoms, glasses, args, clock):
    """Bare call, NVT and NpT step of the batched engine on ``glasses`` rattled copies of ``atoms``."""
    from amlip.md.batched import LangevinHooverBatch, load_batched_model, run_protocol_batched

    model = load_batched_model(model_file, args.dtype, args.device)
    systems = []
    for g in range(glasses):
        copy = atoms.copy()
        copy.rattle(0.01, seed=g)
        systems.append(copy)
    dyn = LangevinHooverBatch(model, systems, str(model.device), seed=0)
    for _ in range(5):
        dyn._evaluate()
    t0 = clock.now()
    for _ in range(args.calls):
        dyn.positions = dyn.positions + 1e-4
        dyn._evaluate()
    rows = {"bare": ((clock.now() - t0) / args.calls, 1.0)}
    for ensemble in ("nvt", "npt"):

        def run(steps):
            stage = [Stage("bench", ensemble, 300, 300, steps / 1000.0, 1.0)]
            run_protocol_batched(
                systems, model, stage, sample_every=steps, seeds=list(range(glasses)), guards=NO_GUARDS, **COUPLING
            )

        rows[ensemble] = per_step(run, args.steps, clock, lambda: model.n_calls)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="MACE .model file (default: an untrained model with train.mace's defaults)")
    parser.add_argument("--channels", type=int, help="channels of the untrained model (default: train.mace num_channels, 16)")
    parser.add_argument("--max-L", type=int, help="max_L of the untrained model (default: train.mace max_L, 0)")
    parser.add_argument("--supercell", type=int, nargs=3, default=[3, 3, 3], help="alpha-quartz supercell (3 3 3 = 243 atoms)")
    parser.add_argument("--device", default="cpu", help="auto, cpu or cuda (amlip.models.device)")
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--steps", type=int, default=20, help="timed MD steps per ensemble")
    parser.add_argument("--calls", type=int, default=20, help="timed bare calls")
    parser.add_argument("--engines", nargs="+", default=["ase", "lammps", "batched"], choices=["ase", "lammps", "batched"])
    parser.add_argument("--glasses", type=int, default=4, help="systems of the batched engine")
    parser.add_argument("--d3", action="store_true", help="also time D3(BJ) on top of the model (ase, lammps)")
    parser.add_argument("--csv", help="write the table here (e.g. benchmarks/measured/md_throughput_<machine>.csv)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    import pandas as pd

    from amlip.models.device import resolve_device
    from amlip.models.loading import load_model

    args.device = resolve_device(args.device)
    clock = Clock(args.device)
    atoms = build_crystal("alpha_quartz", args.supercell)
    atoms.rattle(0.02, seed=0)
    n = len(atoms)
    with tempfile.TemporaryDirectory(prefix="amlip_bench_") as tmp:
        if args.model:
            model_file, described = args.model, args.model
        else:
            model_file, described = default_model_file(Path(tmp), args.channels, args.max_L, args.dtype)
        print(f"{n} atoms (alpha-quartz {args.supercell}), {described}, {args.dtype} on {args.device}")
        print(
            f"times: {'wall' if clock.cuda else 'CPU'} time; a step is (run of {args.steps + 2} steps - run of 2 steps) / {args.steps}"
        )
        rows = []
        for engine in args.engines:
            if engine == "batched":
                batch = batched_rows(model_file, atoms, args.glasses, args, clock)
                atoms_per_call = n * args.glasses
            else:
                calculator = count_calls(load_model(model_file, dtype=args.dtype, device=args.device))
                batch = {"bare": (bare_call_s(calculator, atoms, args.calls, clock), 1.0)}
                for ensemble in ("nvt", "npt"):
                    batch[ensemble] = engine_step_s(engine, atoms, calculator, ensemble, args.steps, clock)
                if args.d3:
                    batch["nvt+d3"] = engine_step_s(engine, atoms, calculator, "nvt", args.steps, clock, D3)
                atoms_per_call = n
            bare = batch["bare"][0]
            for what, (seconds, calls) in batch.items():
                reference = batch["nvt"][0] if what == "nvt+d3" else bare
                rows.append(
                    {
                        "engine": engine,
                        "what": what,
                        "systems": args.glasses if engine == "batched" else 1,
                        "atoms": atoms_per_call,
                        "ms": seconds * 1e3,
                        "calls_per_step": calls,
                        "us_per_atom_step": seconds / atoms_per_call * 1e6,
                        "ratio": seconds / reference,
                        "ratio_of": "nvt" if what == "nvt+d3" else "bare",
                    }
                )
        if args.device == "cuda":
            import torch

            most = max(row["atoms"] for row in rows)  # the largest call of the run sets the peak
            print(f"GPU memory peak: {torch.cuda.max_memory_allocated() / most / 1024:.1f} kB per atom of a {most}-atom call")
    table = pd.DataFrame(rows)
    targets = {"nvt": 1.1, "npt": 1.15, "nvt+d3": 1.2}
    table["target"] = table["what"].map(targets)
    print(table.to_string(index=False, float_format=lambda x: f"{x:.3g}"))
    where = "CUDA (wall time)" if clock.cuda else "the CPU (CPU time of this process; no GPU involved)"
    cost = table.set_index(["engine", "what"])["us_per_atom_step"]
    for ensemble in ("nvt", "npt"):
        if ("batched", ensemble) in cost.index and ("ase", ensemble) in cost.index:
            speedup = cost["ase", ensemble] / cost["batched", ensemble]
            print(
                f"{ensemble}: batched ({args.glasses} systems per call) / ase (one system) = {speedup:.2f}x the atom-steps "
                f"per second ({cost['batched', ensemble]:.3g} vs {cost['ase', ensemble]:.3g} µs per atom-step)"
            )
    print(f"all figures measured in this run on {where}")
    if args.csv:
        table.assign(device=args.device, dtype=args.dtype, model=described).to_csv(args.csv, index=False)


if __name__ == "__main__":
    main()
