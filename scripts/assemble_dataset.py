from _common import setup

log = setup(snakemake)

from amlip.io.frames import iter_frames, write_frames
from amlip.io.lot import e0s_reference, merge_labelled

# every frame must share the level of theory of the isolated-atom energies it will be trained with
reference = e0s_reference(snakemake.input.e0s)
for split in ("train", "test", "val"):
    sources = {}
    previous = f"previous_{split}"
    if previous in snakemake.input.keys():
        sources[snakemake.input[previous]] = list(iter_frames(snakemake.input[previous]))
    sources[snakemake.input[split]] = list(iter_frames(snakemake.input[split]))
    n = write_frames(snakemake.output[split], merge_labelled(sources, reference))
    log.info("%s: %d frames", split, n)
