"""Rule explore_initial: iteration 0's pool, perturbed copies of every starting structure and the classical-potential frames."""

from _common import setup
from amlip.io.frames import read_frames, write_frames
from amlip.learning.explore import perturb


def main(
    structures: list,
    classical: list,
    output: str,
    n_per_structure: int,
    rattle_std_A: float,
    max_strain: float,
    scale_range: list,
    seed: int,
    log,
):
    """``n_per_structure`` rattled (Å), strained and volume-scaled copies of each structure file, then the
    frames of the ``classical`` files (rule explore_classical)."""
    starts = [read_frames(path)[0] for path in structures]
    frames = perturb(
        starts, n_per_structure, rattle_std_A=rattle_std_A, max_strain=max_strain, scale_range=tuple(scale_range), seed=seed
    )
    for atoms in frames:
        atoms.info["iteration"] = 0
    n_perturbed = len(frames)
    for path in classical:
        frames += read_frames(path)
    write_frames(output, frames)
    log.info(
        "%d perturbed frames from %d structures, %d classical-potential frames",
        n_perturbed,
        len(starts),
        len(frames) - n_perturbed,
    )


if __name__ == "__main__":
    i = snakemake.input
    main(list(i.structures), list(i.classical), snakemake.output[0], **snakemake.params, log=setup(snakemake))
