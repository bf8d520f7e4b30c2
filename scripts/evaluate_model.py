"""Rule evaluate_model: E/F/S errors of one member (MACE or NequIP/Allegro) on every split; for
the final committee also the cost per atom per call (ZIF) on the first test frame."""

import numpy as np
import pandas as pd

from _common import setup
from amlip.io.frames import iter_frames, write_stream
from amlip.models.handover import use_model_python
from amlip.models.loading import load_model, model_family
from amlip.models.metrics import ErrorSums, cost_per_atom_per_call, fit_flag, iter_predicted


def main(
    model: str,
    splits: dict,
    table: str,
    predictions: str,
    domain: str,
    iteration: int,
    member: int,
    dtype: str,
    device: str,
    cost: dict,
    fit_bounds: dict,
    log,
):
    """Errors of ``model`` on ``splits`` (train, val, test, final_test files) into ``table``, its test predictions
    into ``predictions``, the model on ``device`` (device.train); ``cost`` (n_calls, warmup; empty: not timed) adds the
    cost per atom per call (µs) on that device;
    ``fit_flag`` says why the member does not fit its training set (``train.fit_bounds``), empty when it does.
    Frames are streamed, predicted, scored (:class:`amlip.models.metrics.ErrorSums`) and, for the test split,
    written one at a time: memory does not grow with their number."""
    calculator = load_model(model, dtype=dtype, device=device)
    prefix = f"{model_family(model)}{member}"
    rows = []
    for split, path in splits.items():
        errors = ErrorSums(prefix)
        scored = errors.scored(iter_predicted(iter_frames(path), calculator, prefix))
        if split == "test":
            write_stream(predictions, scored)
        else:
            for _ in scored:
                pass
        rows.append({"split": split} | errors.metrics())
    result = pd.DataFrame(rows)
    flag = fit_flag(next(row for row in rows if row["split"] == "train"), fit_bounds)
    if flag:
        log.warning("member %d of iteration %d does not fit its training set: %s", member, iteration, flag)
    result["fit_flag"] = flag
    result.insert(0, "member", member)
    result.insert(0, "iteration", iteration)
    result.insert(0, "domain", domain)
    frame = next(iter_frames(splits["test"]), None) if cost else None
    if frame is not None:
        seconds = cost_per_atom_per_call(calculator, frame, n_calls=cost["n_calls"], warmup=cost["warmup"])
        log.info(
            "cost %.1f µs/atom/call on %d atoms (%d calls after %d warm-up)",
            seconds * 1e6,
            len(frame),
            cost["n_calls"],
            cost["warmup"],
        )
        result["cost_us_per_atom_call"], result["cost_n_atoms"] = seconds * 1e6, len(frame)
    else:
        result["cost_us_per_atom_call"], result["cost_n_atoms"] = np.nan, 0
    result.to_csv(table, index=False)
    log.info("\n%s", result.to_string())


if __name__ == "__main__":
    i, p, w = snakemake.input, snakemake.params, snakemake.wildcards
    use_model_python(i.model, p.model_python)
    splits = {split: i[split] for split in ("train", "val", "test", "final_test")}
    main(
        i.model,
        splits,
        **snakemake.output,
        domain=w.domain,
        iteration=int(w.i),
        member=int(w.m),
        dtype=p.dtype,
        device=p.device,
        cost=p.cost,
        fit_bounds=p.fit_bounds,
        log=setup(snakemake),
    )
