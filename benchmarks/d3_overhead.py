"""Cost of D3(BJ) dispersion on top of a MACE model: time per MD step with and without D3, same model and cell.

NS saw 4.2x with a torch D3 and 1.1x with C++ D3 in LAMMPS; the target here is <= 1.2x. Measures
both engines: LAMMPS (model through fix external + LAMMPS' C++ pair_style dispersion/d3) and ASE
(model + the dftd3 Python API, simple-dftd3 in Fortran), and prints ms/step and the ratios.

    python benchmarks/d3_overhead.py --model results/train/syn/iter_2/member_0/mace.model [--supercell 3 3 2] [--steps 40]

Without --model the chosen model of results/learn/syn/final/choice.json is used.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from amlip.md.ase_engine import run_protocol  # noqa: E402
from amlip.md.dispersion import with_dispersion  # noqa: E402
from amlip.md.guards import Guards  # noqa: E402
from amlip.md.lammps_engine import run_protocol_lammps  # noqa: E402
from amlip.md.protocols import Stage  # noqa: E402
from amlip.models.mace import load_mace  # noqa: E402
from amlip.structures.crystals import build_crystal  # noqa: E402

D3 = {"method": "d3bj", "functional": "pbe"}
# timing only: a smoke-test model may heat the cell, which must not stop the clock
NO_GUARDS = Guards(max_T_factor=1e9, min_distance_A=0.0, check_every=10**9)


def ms_per_step(engine: str, atoms, calculator, n_steps: int, dispersion) -> float:
    """CPU time per MD step (ms, this process; robust on a shared machine) of a 300 K NVT run, after a 5-step warm-up."""
    stage = [Stage("bench", "nvt", 300, 300, n_steps / 1000.0, 1.0)]
    warm = [Stage("warm", "nvt", 300, 300, 0.005, 1.0)]
    if engine == "lammps":
        run_protocol_lammps(atoms, calculator, warm, taut_fs=100.0, dispersion=dispersion, guards=NO_GUARDS)
        start = time.process_time()
        run_protocol_lammps(
            atoms, calculator, stage, sample_every=n_steps, taut_fs=100.0, dispersion=dispersion, guards=NO_GUARDS
        )
    else:
        calc = with_dispersion(calculator, dispersion)
        run_protocol(atoms, calc, warm, friction_per_fs=0.01, guards=NO_GUARDS)
        start = time.process_time()
        run_protocol(atoms, calc, stage, sample_every=n_steps, friction_per_fs=0.01, guards=NO_GUARDS)
    return (time.process_time() - start) / n_steps * 1000.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="MACE .model file (default: the chosen model in results/learn/syn/final/choice.json)")
    parser.add_argument("--supercell", type=int, nargs=3, default=[2, 2, 2], help="alpha-quartz supercell (2 2 2 = 72 atoms)")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--dtype", default="float64")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    model = args.model
    if model is None:
        choice = Path("results/learn/syn/final/choice.json")
        if not choice.exists():
            sys.exit("no --model given and no results/learn/syn/final/choice.json: train a model first or pass --model")
        model = json.loads(choice.read_text())["model"]
    atoms = build_crystal("alpha_quartz", args.supercell)
    atoms.rattle(0.02, seed=0)
    calculator = load_mace(model, dtype=args.dtype)
    print(f"{len(atoms)} atoms, {args.steps} steps, model {model} ({args.dtype}), D3 {D3}")
    rows = {}
    cases = [
        ("lammps", "dispersion/d3 (C++ in LAMMPS)", D3),
        ("lammps", "dftd3 API in the callback", D3 | {"implementation": "dftd3"}),
        ("ase", "dftd3 API", D3),
    ]
    for engine, label, dispersion in cases:
        if engine not in rows:
            rows[engine] = ms_per_step(engine, atoms, calculator, args.steps, None)
        d3 = ms_per_step(engine, atoms, calculator, args.steps, dispersion)
        print(
            f"{engine:6s} + {label:30s} model {rows[engine]:7.1f} CPU ms/step, model + D3 {d3:7.1f}: ratio {d3 / rows[engine]:.2f} (target <= 1.2)"
        )
    print(f"engine cost lammps/ase without D3: {rows['lammps'] / rows['ase']:.2f}")


if __name__ == "__main__":
    main()
