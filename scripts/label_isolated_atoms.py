from _common import setup

log = setup(snakemake)

import json

from amlip.labelers.base import isolated_atom_energies
from amlip.labelers.registry import make_labeler

labeler = make_labeler(snakemake.params.backend, snakemake.params.settings)
energies = isolated_atom_energies(snakemake.params.elements, labeler)
record = {"energies_eV": energies, "level_of_theory": labeler.level_of_theory, "lot_hash": labeler.lot_hash}
with open(snakemake.output[0], "w") as fh:
    json.dump(record, fh, indent=2)
log.info("isolated-atom energies: %s", energies)
