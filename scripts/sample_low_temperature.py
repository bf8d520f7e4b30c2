from _common import chosen_model, setup

model = chosen_model(snakemake)
log = setup(snakemake)

from amlip.io.frames import read_frames, write_frames
from amlip.models.loading import load_model
from amlip.properties.vibrations import sample_low_temperature

s = snakemake.params.settings
glass = read_frames(snakemake.input.trajectory)[-1]
log.info("relax and sample the last glass frame (%d atoms) at %s K with %s", len(glass), s.get("temperature_K", 20.0), model)
relaxed, snapshots = sample_low_temperature(
    glass,
    load_model(model, dtype=snakemake.params.dtype),
    temperature_K=s.get("temperature_K", 20.0),
    n_snapshots=s.get("n_snapshots", 200),
    equilibrate_fs=s.get("equilibrate_fs", 500.0),
    every_fs=s.get("every_fs", 20.0),
    timestep_fs=s.get("timestep_fs", 1.0),
    friction_per_fs=s.get("friction_per_fs", 0.01),
    relax_fmax=s.get("relax_fmax_eV_A", 0.01),
    relax_steps=s.get("relax_steps", 500),
    seed=snakemake.params.seed,
)
if not relaxed.info["relax_converged"]:
    log.warning("relaxation stopped at max |F| = %.3f eV/Å (relax_fmax_eV_A not reached)", relaxed.info["relax_fmax_eV_A"])
write_frames(snakemake.output.relaxed, [relaxed])
write_frames(snakemake.output.snapshots, snapshots)
log.info("wrote %d snapshots", len(snapshots))
