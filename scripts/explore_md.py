"""Rules explore_md and sample_equilibrium: MD with a committee (or the chosen syn model), frames with sigma_max."""

import json

from _common import setup
from amlip.models.handover import use_model_python

# explore_md of an iteration after a converged one (learn.stop_when_converged): an empty pool,
# so that nothing is picked, labelled or trained; the committee is copied forward.
if "decision" in snakemake.input.keys():
    from amlip.learning.loop import read_loop_decision

    previous = read_loop_decision(snakemake.input.decision)
    if previous["stop_loop"]:
        log = setup(snakemake)
        from amlip.io.frames import write_frames

        write_frames(snakemake.output[0], [])
        log.info("no MD: %s says %s", snakemake.input.decision, previous["decision"])
        raise SystemExit(0)

# sample_equilibrium (AS eq domain) runs the chosen member of the final syn committee only.
models = (
    [json.load(open(snakemake.input.choice))["model"]] if "choice" in snakemake.input.keys() else list(snakemake.input.models)
)
use_model_python(models, snakemake.params.nequip_python)
log = setup(snakemake)

from amlip.io.frames import read_frames, write_frames
from amlip.learning.explore import committee_md
from amlip.models.loading import load_model

s = snakemake.params.settings
structures = [read_frames(path)[0] for path in snakemake.input.structures]
log.info("MD with %s at %s K", models, s.get("temperatures_K", [300]))
calculator = load_model(models, dtype="float64")
frames = committee_md(
    structures,
    calculator,
    s.get("temperatures_K", [300]),
    n_steps=s.get("n_steps", 200),
    sample_every=s.get("sample_every", 10),
    timestep_fs=s["timestep_fs"],
    ensemble=s["ensemble"],
    friction_per_fs=s["friction_per_fs"],
    taut_fs=s["taut_fs"],
    taup_fs=s["taup_fs"],
    bulk_modulus_GPa=s["bulk_modulus_GPa"],
    seed=snakemake.params.seed,
)
iteration = int(snakemake.wildcards.get("i", 0))
for atoms in frames:
    atoms.info["iteration"] = iteration
    atoms.info["explore_model"] = ",".join(models)
write_frames(snakemake.output[0], frames)
log.info("explored %d frames", len(frames))
