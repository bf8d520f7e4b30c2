"""Rules explore_md and sample_equilibrium: MD with a committee (or the chosen syn model), frames with sigma_max."""

import json

from _common import setup
from amlip.io.frames import read_frames, write_frames
from amlip.learning.explore import committee_md
from amlip.learning.loop import read_loop_decision
from amlip.models.device import md_dtype, resolve_device
from amlip.models.handover import use_model_python
from amlip.models.loading import load_model


def models_to_run(models: list, choice: str | None) -> list:
    """The committee's model files, or only the chosen member of the final syn committee (sample_equilibrium, AS eq domain)."""
    if choice is None:
        return list(models)
    with open(choice) as fh:
        return [json.load(fh)["model"]]


def main(
    structures: list,
    models: list,
    output: str,
    md: dict,
    seed: int,
    iteration: int,
    device: str,
    log,
    decision: str | None = None,
) -> None:
    """MD (the ``explore.md`` settings ``md``) from every structure with ``models``, frames with the committee's sigma_max.

    The committee runs on ``device`` (device.explore), in float64 on the CPU and float32 on CUDA
    (:func:`amlip.models.device.md_dtype`).

    After a converged iteration (``decision`` stops the loop, learn.stop_when_converged) the pool
    is empty, so that nothing is picked, labelled or trained; the committee is copied forward.
    """
    if decision is not None and read_loop_decision(decision)["stop_loop"]:
        write_frames(output, [])
        log.info("no MD: %s says %s", decision, read_loop_decision(decision)["decision"])
        return
    starts = [read_frames(path)[0] for path in structures]
    device = resolve_device(device)
    log.info("MD with %s at %s K on %s", models, md["temperatures_K"], device)
    frames = committee_md(starts, load_model(models, dtype=md_dtype(device), device=device), **md, seed=seed)
    for atoms in frames:
        atoms.info["iteration"] = iteration
        atoms.info["explore_model"] = ",".join(models)
    write_frames(output, frames)
    log.info("explored %d frames", len(frames))


if __name__ == "__main__":
    inputs, params = snakemake.input, snakemake.params
    models = models_to_run(inputs.models, inputs.choice if "choice" in inputs.keys() else None)
    decision = inputs.decision if "decision" in inputs.keys() else None
    # a stopped loop runs no model: no hand-over to the NequIP interpreter
    if decision is None or not read_loop_decision(decision)["stop_loop"]:
        use_model_python(models, params.model_python)
    main(
        list(inputs.structures),
        models,
        snakemake.output[0],
        params.md,
        params.seed,
        params.iteration,
        params.device,
        setup(snakemake),
        decision,
    )
