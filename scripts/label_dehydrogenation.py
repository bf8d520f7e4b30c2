"""Rule label_dehydrogenation: reference dehydrogenation energies of the screening structure (AS model choice)."""

import json

from _common import setup
from amlip.io.frames import REF_ENERGY, read_frames
from amlip.labelers.registry import make_labeler
from amlip.properties.energetics import dehydrogenation_energies


def main(structure: str, e0s: str, output: str, backend: str, settings: dict, run_settings, max_sites: int, log) -> None:
    """E(O*) + E(H) - E(OH) (eV) of up to ``max_sites`` hydroxyls of ``structure`` by the reference labeler
    (``settings``, with ``run_settings``: a namespace of command, timeout_s, ...), E(H) from the isolated-atom
    energies ``e0s`` (same level of theory, or refused)."""
    labeler = make_labeler(backend, {**settings, **vars(run_settings)})
    with open(e0s) as fh:
        record = json.load(fh)
    if record["lot_hash"] != labeler.lot_hash:
        raise ValueError(f"{e0s} is at level {record['lot_hash']}, the labeler at {labeler.lot_hash}: relabel the isolated atoms")
    if "H" not in record["energies_eV"]:
        raise ValueError(f"{e0s} has no E(H): add H to config elements for learn.choose_by.property dehydrogenation")
    table = dehydrogenation_energies(
        read_frames(structure)[0],
        energy=lambda frame: labeler.single_point(frame).info[REF_ENERGY],
        max_sites=max_sites,
        e_h=record["energies_eV"]["H"],
    )
    table["lot_hash"] = labeler.lot_hash
    table.to_csv(output, index=False)
    log.info("reference dehydrogenation energies (%s):\n%s", labeler.lot_hash, table.to_string())


if __name__ == "__main__":
    main(**snakemake.input, output=snakemake.output[0], **snakemake.params, log=setup(snakemake))
