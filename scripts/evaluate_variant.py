"""Rule evaluate_variant: a variant's model on the final test set (E/F/S errors) and its cost per atom per call."""

import pandas as pd

from _common import chosen_model, setup
from amlip.io.frames import iter_frames
from amlip.models.loading import load_model
from amlip.models.metrics import cost_per_atom_per_call, error_metrics, iter_predicted


def main(model: str, test: str, table: str, variant: str, dtype: str, device: str, cost: dict, log) -> None:
    """Errors of ``model`` on the labelled frames of ``test`` (streamed) and, when ``cost`` has n_calls, the cost per
    atom per call in µs on its first frame; one row into ``table``."""
    calculator = load_model(model, dtype=dtype, device=device)
    row = {"variant": variant, "model_file": model} | error_metrics(
        iter_predicted(iter_frames(test), calculator, "variant"), "variant"
    )
    frame = next(iter_frames(test), None)
    if frame is not None and cost["n_calls"]:
        seconds = cost_per_atom_per_call(calculator, frame, n_calls=cost["n_calls"], warmup=cost["warmup"])
        row |= {"cost_us_per_atom_call": seconds * 1e6, "cost_n_atoms": len(frame)}
    pd.DataFrame([row]).to_csv(table, index=False)
    log.info("%s", row)


if __name__ == "__main__":
    model = chosen_model(snakemake)
    p = snakemake.params
    main(
        model,
        snakemake.input.test,
        snakemake.output.table,
        snakemake.wildcards.variant,
        p.dtype,
        p.device,
        p.cost,
        log=setup(snakemake),
    )
