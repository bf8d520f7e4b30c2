"""Which frames does the verdict measure? The tail of a fast melt-quench reaches back into the quench.

The validators average a glass over the last ``validate.average_last_fraction`` (0.3) of its sampled frames. With
the laptop default's time_scale 0.001 the AS protocol's final 300 K stage is 250 of 1490 steps (17 %), so that
tail also holds ~20 frames of the 3000 -> 300 K ramp, up to ~1300 K. This measures every glass of a finished
default run (the MLIP glasses and, in a closed loop, the reference's own) twice: over the tail as the validators
take it, and over the tail frames of the protocol's last stage only (the glass at its final temperature):
frames, mean temperature, density, Si coordination by O (2.0 Å), shortest Si-O distance, and the neutron F(Q)
of each set's pooled frames against measured vitreous silica (R over 0.5-16 1/Å, FSDP in 1.0-2.2 1/Å, dQ 0.05,
as rule compare_neutron_fq).

    python benchmarks/glass_tail_stage.py RUN_DIR [--fraction 0.3] [--out benchmarks/measured/glass_tail_stage.csv]

Since 9f270ba the validators take the second set (amlip.properties.structure.glass_tail); this script keeps both
to show the difference on any run.

RUN_DIR is a repository copy where `make run` finished (results/produce/melt_quench/..., results/reference/...).
Measured: benchmarks/measured/glass_tail_stage.csv (fresh clone of 691afb1, default run; ~1 min on one core).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from amlip.io.frames import read_frames  # noqa: E402
from amlip.properties.reference import read_mint01  # noqa: E402
from amlip.properties.scattering import fq_r_factor, neutron_fq_kspace, peak_position  # noqa: E402
from amlip.properties.structure import glass_tail  # noqa: E402
from amlip.properties.verdict import glass_checks  # noqa: E402
from amlip.structures.crystals import density_g_cm3  # noqa: E402


def glass_sets(run: Path) -> dict[str, list[Path]]:
    """The MLIP glasses (glass 0 in results/produce/melt_quench/, glass k in glass_k/) and the reference's own."""
    produce = run / "results/produce/melt_quench"
    mlip = [produce / "trajectory.extxyz", *sorted(produce.glob("glass_*/trajectory.extxyz"))]
    sets = {"mlip": [p for p in mlip if p.exists()]}
    reference = sorted((run / "results/reference/melt_quench").glob("glass_*/trajectory.extxyz"))
    if reference:
        sets["reference"] = reference
    return sets


def main(run: Path, fraction: float, out: Path) -> pd.DataFrame:
    q_exp, f_exp, _ = read_mint01(ROOT / "resources/reference/SiO2_NIMROD.mint01")
    rows = []
    for name, paths in glass_sets(run).items():
        for frames_of in ("tail", "tail, last stage only"):
            pooled = []
            for k, path in enumerate(paths):
                trajectory = read_frames(path)
                if frames_of == "tail":  # the tail as the validators took it before 9f270ba
                    tail = trajectory[-max(1, int(round(len(trajectory) * fraction))) :]
                else:
                    tail = glass_tail(trajectory, fraction)
                pooled += tail
                checks = glass_checks(tail, "Si", "O", 2.0)
                rows.append(
                    {
                        "glasses": name,
                        "glass": k,
                        "frames": frames_of,
                        "n_frames": len(tail),
                        "stages": " ".join(dict.fromkeys(str(f.info.get("stage")) for f in tail)),
                        "mean_T_K": float(np.mean([f.info["T_K"] for f in tail])),
                        "max_T_K": float(np.max([f.info["T_K"] for f in tail])),
                        "density_g_cm3": float(np.mean([density_g_cm3(f) for f in tail])),
                        "si_coordination": checks["coordination"],
                        "shortest_si_o_A": checks["shortest_bond_A"],
                    }
                )
            q, f, _ = neutron_fq_kspace(pooled, q_max=16.05, dq=0.05, lengths={})
            rows.append(
                {
                    "glasses": name,
                    "glass": "pooled",
                    "frames": frames_of,
                    "n_frames": len(pooled),
                    "fq_r_factor": fq_r_factor(q, f, q_exp, f_exp, max(0.5, q.min()), 16.0),
                    "fsdp_inv_A": peak_position(q, f, 1.0, 2.2),
                    "fsdp_experiment_inv_A": peak_position(q_exp, f_exp, 1.0, 2.2),
                }
            )
    table = pd.DataFrame(rows)
    out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(out, index=False)
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    return table


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--fraction", type=float, default=0.3, help="validate.average_last_fraction of the run")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/measured/glass_tail_stage.csv")
    args = parser.parse_args()
    main(args.run, args.fraction, args.out)
