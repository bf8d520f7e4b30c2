"""Rule validate_structure: density, former-O RDF, coordination, angles and Qn of the glass (averaged tail)."""

from _common import setup
from amlip.io.frames import read_frames
from amlip.properties.structure import structure_properties


def main(trajectory: str, properties: str, rdf: str, angles: str, settings: dict, log) -> None:
    """The property table, RDF and angle distribution of ``trajectory`` (``settings``: the validate keys read)."""
    table, rdf_table, angle_table = structure_properties(read_frames(trajectory), settings)
    table.to_csv(properties, index=False)
    rdf_table.to_csv(rdf, index=False)
    angle_table.to_csv(angles, index=False)
    log.info("\n%s", table.to_string())


if __name__ == "__main__":
    main(snakemake.input.trajectory, **snakemake.output, **snakemake.params, log=setup(snakemake))
