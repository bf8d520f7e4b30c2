"""Start-up shared by the pipeline scripts: the repository on sys.path, logging into the rule's log.

Snakemake puts scripts/ on sys.path for every script, so ``from _common import setup`` works in
every environment, including per-rule conda envs that do not have amlip installed.
"""

import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def setup(snakemake) -> logging.Logger:
    """Log INFO and above to the rule's log file (and uncaught errors too); return the rule's logger."""
    handlers = [logging.StreamHandler(sys.stderr)]
    if snakemake.log:
        handlers.append(logging.FileHandler(snakemake.log[0], mode="w"))
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        handlers=handlers,
        force=True,
    )
    logging.captureWarnings(True)
    logger = logging.getLogger(snakemake.rule)

    def excepthook(kind, value, tb):
        logger.error("%s failed", snakemake.rule, exc_info=(kind, value, tb))

    sys.excepthook = excepthook
    return logger


def chosen_model(snakemake) -> str:
    """The chosen member's model file (``input.choice``, a choice.json), after handing the process
    over to the NequIP or DeePMD interpreter when that model needs it (:func:`amlip.models.handover.use_model_python`).
    Call it before :func:`setup`, so that a handed-over job opens its log once."""
    import json

    from amlip.models.handover import use_model_python

    with open(snakemake.input.choice) as fh:
        model = json.load(fh)["model"]
    use_model_python(model, snakemake.params.model_python)
    return model
