from _common import setup

log = setup(snakemake)

from amlip.io import iter_frames, merge_labelled, write_frames

for split in ("train", "test", "val"):
    sources = {}
    previous = f"previous_{split}"
    if previous in snakemake.input.keys():
        sources[snakemake.input[previous]] = list(iter_frames(snakemake.input[previous]))
    sources[snakemake.input[split]] = list(iter_frames(snakemake.input[split]))
    n = write_frames(snakemake.output[split], merge_labelled(sources))
    log.info("%s: %d frames", split, n)
