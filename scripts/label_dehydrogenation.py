"""Rule label_dehydrogenation: reference dehydrogenation energies of the screening structure (AS model choice)."""

from _common import setup

log = setup(snakemake)

import json

from amlip.io.frames import REF_ENERGY, read_frames
from amlip.labelers.registry import make_labeler
from amlip.properties.energetics import dehydrogenation_energies

labeler = make_labeler(snakemake.params.backend, snakemake.params.settings)
record = json.loads(open(snakemake.input.e0s).read())
if record["lot_hash"] != labeler.lot_hash:
    raise ValueError(
        f"{snakemake.input.e0s} is at level {record['lot_hash']}, the labeler at {labeler.lot_hash}: relabel the isolated atoms"
    )
if "H" not in record["energies_eV"]:
    raise ValueError(f"{snakemake.input.e0s} has no E(H): add H to config elements for learn.choose_by.property dehydrogenation")
atoms = read_frames(snakemake.input.structure)[0]
table = dehydrogenation_energies(
    atoms,
    energy=lambda frame: labeler.single_point(frame).info[REF_ENERGY],
    max_sites=snakemake.params.choose_by.get("max_sites", 6),
    e_h=record["energies_eV"]["H"],
)
table["lot_hash"] = labeler.lot_hash
table.to_csv(snakemake.output[0], index=False)
log.info("reference dehydrogenation energies (%s):\n%s", labeler.lot_hash, table.to_string())
