"""Rule train_mtp: one MTP committee member trained by motep (its Trainer, the steps of motep.toml).

After a converged iteration (learn.stop_when_converged) the member is copied from the previous
iteration instead of trained.
"""

import shutil

from _common import setup
from amlip.learning.loop import read_loop_decision
from amlip.models.mtp import train_mtp


def main(setting: str, model: str, *, log, previous_model: str | None = None, previous_decision: str | None = None) -> None:
    """Train the member described by ``setting`` (motep.toml) into ``model`` (.mtp), or copy ``previous_model``."""
    if previous_decision is not None:
        decision = read_loop_decision(previous_decision)
        if decision["stop_loop"]:
            shutil.copyfile(previous_model, model)
            log.info("member copied from %s: %s", previous_model, decision["decision"])
            return
    errors = train_mtp(setting, model)
    for key, (start, trained) in errors.items():
        log.info("training-set RMSE %s: %.4g at the random start, %.4g trained", key, start, trained)


if __name__ == "__main__":
    i = snakemake.input
    previous = {k: i[k] for k in ("previous_model", "previous_decision") if k in i.keys()}
    main(i.setting, snakemake.output.model, log=setup(snakemake), **previous)
