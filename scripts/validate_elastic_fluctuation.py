from _common import chosen_model, setup

model = chosen_model(snakemake)
log = setup(snakemake)

from amlip.io.frames import read_frames
from amlip.md.engines import run_md
from amlip.md.guards import Guards
from amlip.md.protocols import Stage
from amlip.models.loading import load_model
from amlip.plots import plot_elastic_fluctuation
from amlip.properties.mechanics import elastic_fluctuation_tables

s = snakemake.params.settings
glass = read_frames(snakemake.input.trajectory)[-1]
T, dt = s.get("temperature_K", 300.0), s.get("timestep_fs", 1.0)
stages = [
    Stage("equilibrate", "npt_tri", T, T, s.get("equilibration_steps", 300) * dt / 1000.0, dt),
    Stage("production", "npt_tri", T, T, s.get("production_steps", 2000) * dt / 1000.0, dt),
]
log.info(
    "N-sigma-T (fix npt tri, 0 GPa) at %g K of the last glass frame (%d atoms) with %s: %d + %d steps",
    T,
    len(glass),
    model,
    stages[0].n_steps,
    stages[1].n_steps,
)
guard_settings = {k: v for k, v in snakemake.params.guards.items() if k in ("max_T_factor", "min_distance_A", "check_every")}
frames = run_md(
    "lammps",
    glass,
    load_model(model, dtype=snakemake.params.dtype),
    stages,
    sample_every=s.get("sample_every", 10),
    seed=snakemake.params.seed,
    taut_fs=s.get("taut_fs", 100.0),
    taup_fs=s.get("taup_fs", 1000.0),
    guards=Guards(**guard_settings),
)
cells = [f.cell.array for f in frames if f.info["stage"] == "production"]
moduli, tensor, running = elastic_fluctuation_tables(cells, T, s.get("n_blocks", 4))
moduli.to_csv(snakemake.output.table, index=False)
tensor.to_csv(snakemake.output.tensor, index=False)
running.to_csv(snakemake.output.running, index=False)
plot_elastic_fluctuation(running, tensor, snakemake.output.figure)
log.info("strain-fluctuation moduli from %d cells:\n%s", len(cells), moduli.to_string())
