from _common import setup

log = setup(snakemake)

from amlip.io.frames import read_frames
from amlip.properties.structure import structure_properties

properties, rdf, angles = structure_properties(read_frames(snakemake.input.trajectory), snakemake.params.settings)
properties.to_csv(snakemake.output.properties, index=False)
rdf.to_csv(snakemake.output.rdf, index=False)
angles.to_csv(snakemake.output.angles, index=False)
log.info("\n%s", properties.to_string())
