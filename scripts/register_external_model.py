"""Rule register_external_model: an external model file (models.external) as a choice.json like a chosen member's."""

import json

from _common import setup
from amlip.models.loading import model_family


def main(model: str, choice: str, settings: dict, log) -> None:
    """Write ``choice`` naming ``model`` with its architecture (``settings``: the models.external entry)."""
    family = model_family(model)
    if family != settings["architecture"]:
        raise ValueError(f"models.external: {model} is a {family} model file, not {settings['architecture']}")
    with open(choice, "w") as fh:
        json.dump({"model": model, "architecture": family, "dtype": settings["dtype"], "source": "models.external"}, fh, indent=1)
    log.info("external %s model %s", family, model)


if __name__ == "__main__":
    main(snakemake.input.model, snakemake.output.choice, snakemake.params.settings, log=setup(snakemake))
