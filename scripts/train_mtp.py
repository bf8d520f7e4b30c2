"""Rule train_mtp: one MTP committee member trained by motep (its Trainer, the steps of motep.toml).

After a converged iteration (learn.stop_when_converged) the member is copied from the previous
iteration instead of trained; otherwise member m of iteration i >= 1 starts from member m of iteration
i - 1 when train.budget.warm_start is on.
"""

import shutil

from _common import setup
from amlip.learning.loop import read_loop_decision
from amlip.models.mtp import train_mtp


def main(
    setting: str,
    model: str,
    *,
    log,
    warm_start: bool = False,
    previous_model: str | None = None,
    previous_decision: str | None = None,
) -> None:
    """Train the member described by ``setting`` (motep.toml) into ``model`` (.mtp), from ``previous_model`` with
    ``warm_start``, or copy ``previous_model`` when the loop stopped."""
    if previous_decision is not None:
        decision = read_loop_decision(previous_decision)
        if decision["stop_loop"]:
            shutil.copyfile(previous_model, model)
            log.info("member copied from %s: %s", previous_model, decision["decision"])
            return
    start_from = previous_model if warm_start and previous_model else None
    log.info("training %s", f"from {start_from} (warm start)" if start_from else "from the random start of initial.mtp")
    errors = train_mtp(setting, model, start_from=start_from)
    start = "the warm start" if start_from else "the random start"
    for key, (before, trained) in errors.items():
        log.info("training-set RMSE %s: %.4g at %s, %.4g trained", key, before, start, trained)


if __name__ == "__main__":
    i = snakemake.input
    previous = {k: i[k] for k in ("previous_model", "previous_decision") if k in i.keys()}
    main(i.setting, snakemake.output.model, log=setup(snakemake), warm_start=snakemake.params.warm_start, **previous)
