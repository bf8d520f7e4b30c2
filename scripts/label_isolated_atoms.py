"""Rule label_isolated_atoms: the energy of each isolated atom (E0s) at a domain's level of theory."""

import json

from _common import setup
from amlip.labelers.base import isolated_atom_energies
from amlip.labelers.registry import make_labeler


def main(output: str, backend: str, settings: dict, run_settings, elements: list, log) -> None:
    """E0 (eV) of every element with ``backend`` (``settings``, with ``run_settings``: a namespace of command,
    timeout_s, ...), with the level-of-theory record and the settings (which amlip.config.check_level_of_theory
    compares with the config at start-up), as JSON."""
    labeler = make_labeler(backend, {**settings, **vars(run_settings)})
    energies = isolated_atom_energies(elements, labeler)
    record = {
        "energies_eV": energies,
        "level_of_theory": labeler.level_of_theory,
        "lot_hash": labeler.lot_hash,
        "backend": backend,
        "settings": settings,
    }
    with open(output, "w") as fh:
        json.dump(record, fh, indent=2)
    log.info("isolated-atom energies: %s", energies)


if __name__ == "__main__":
    main(snakemake.output[0], **snakemake.params, log=setup(snakemake))
