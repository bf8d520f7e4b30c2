"""Rule assemble_dataset: iteration i's data set, iteration i-1's plus the new split labels, one level of theory."""

from _common import setup
from amlip.io.lot import e0s_elements, e0s_reference, merge_labelled_files


def main(new: dict, previous: dict, e0s: str, outputs, log) -> None:
    """``previous`` (split -> file of iteration i-1, empty for iteration 0) and ``new`` (split -> the split's new
    frames) merged into ``outputs``; every frame must share the level of theory of the isolated-atom energies ``e0s``
    and be made of their elements. Frames are streamed file to file: memory does not grow with their number."""
    reference, elements = e0s_reference(e0s), e0s_elements(e0s)
    for split in ("train", "test", "val"):
        sources = ([previous[split]] if split in previous else []) + [new[split]]
        n = merge_labelled_files(outputs[split], sources, reference, elements)
        log.info("%s: %d frames", split, n)


if __name__ == "__main__":
    i = snakemake.input
    previous = {split: i[f"previous_{split}"] for split in ("train", "test", "val") if f"previous_{split}" in i.keys()}
    main({split: i[split] for split in ("train", "test", "val")}, previous, i.e0s, snakemake.output, setup(snakemake))
