"""Is a bad glass the potential's fault or its labeler's? Relabel frames of a run's production with the run's labeler.

A glass far from experiment can come from the MLIP (it does not reproduce its reference where production
goes) or from the reference itself (the labeler's own Hamiltonian prefers that structure). This takes frames
of a finished run's melt-quench trajectory (the melt and the final glass by default), computes them with the
chosen model and with the run's labeler (``label.backend`` with its settings, through the pipeline's labeler
registry, as the relabel path does), and writes per frame: density, Si coordination, the model's force MAE
against the labeler, both pressures and the energy difference per atom (the model's energies are absolute: its per-element
shifts are the labeler's isolated atoms). A labeler pressure of the same sign as the model's on the glass
means the labeler, too, wants that glass at a lower (positive P) or higher (negative P) density.

    python benchmarks/glass_vs_labeler.py RUN_DIR [--frames 40 -1] [--out docs/measured/glass_vs_labeler.csv]

RUN_DIR is the directory holding results/ and config/ of the run (configs: config/config.yaml plus
``--configfile`` overlays, as the run used). Cost: one labeler call per frame (GFN2-xTB on 192 atoms: 2-6
minutes on one busy core).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

EV_A3_IN_GPA = 160.21766208


def main(argv=None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--configfile", nargs="*", default=[], help="the run's overlays, relative to RUN_DIR")
    parser.add_argument("--frames", type=int, nargs="+", default=[40, -1], help="indices into the glass-0 trajectory")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)

    from amlip.config import load_config
    from amlip.io.frames import read_frames
    from amlip.labelers.registry import make_labeler
    from amlip.models.loading import load_model
    from amlip.properties.structure import mean_coordination
    from amlip.structures.crystals import density_g_cm3

    run = args.run_dir.resolve()
    config = load_config([run / path for path in args.configfile], root=run)
    backend = config["label"]["backend"]
    labeler = make_labeler(backend, config["label"][backend])
    choice = json.loads((run / "results/learn/syn/final/choice.json").read_text())
    model = load_model(str(run / choice["model"]), dtype="float64")
    trajectory = read_frames(run / "results/produce/melt_quench/trajectory.extxyz")
    rows = []
    for index in args.frames:
        frame = trajectory[index]
        atoms = frame.copy()
        atoms.calc = model
        f_model, s_model, e_model = atoms.get_forces(), atoms.get_stress(), atoms.get_potential_energy()
        start = time.time()
        labelled = labeler.single_point(frame.copy())
        f_ref, s_ref, e_ref = labelled.arrays["REF_forces"], labelled.info["REF_stress"], labelled.info["REF_energy"]
        rows.append(
            {
                "frame": index if index >= 0 else len(trajectory) + index,
                "stage": frame.info.get("stage"),
                "density_g_cm3": density_g_cm3(frame),
                "si_coordination": mean_coordination(frame, "Si", "O", 2.0),
                "force_mae_eV_A": float(np.abs(f_model - f_ref).mean()),
                "labeler_force_rms_eV_A": float(np.sqrt((f_ref**2).mean())),
                "pressure_model_GPa": float(-np.mean(s_model[:3]) * EV_A3_IN_GPA),
                "pressure_labeler_GPa": float(-np.mean(np.asarray(s_ref)[:3]) * EV_A3_IN_GPA),
                "energy_model_minus_labeler_eV_atom": float((e_model - e_ref) / len(frame)),
                "labeler": f"{backend} {labelled.info.get('level_of_theory', '')}"[:120],
                "labeler_s": round(time.time() - start, 1),
            }
        )
        print(json.dumps(rows[-1]), flush=True)
    table = pd.DataFrame(rows)
    if args.out:
        table.to_csv(args.out, index=False)
    return table


if __name__ == "__main__":
    main()
