"""Rule md_vdos: Langevin NVT then NVE MD of the last glass frame with the chosen model, velocities sampled (NS)."""

from _common import chosen_model, setup
from amlip.io.frames import read_frames, write_frames
from amlip.md.dispersion import with_dispersion
from amlip.models.loading import load_model
from amlip.properties.vibrations import run_vdos_md


def main(model: str, trajectory: str, output: str, md: dict, seed: int, dtype: str, device: str, log, dispersion=None) -> None:
    """The NVE frames of the VDOS run (``md``: the validate.vdos MD keys) from the last frame of ``trajectory``."""
    glass = read_frames(trajectory)[-1]
    log.info("VDOS MD of the last glass frame (%d atoms) with %s: %s", len(glass), model, md)
    frames = run_vdos_md(glass, with_dispersion(load_model(model, dtype=dtype, device=device), dispersion), **md, seed=seed)
    write_frames(output, frames)
    drift = frames[-1].info["etot_eV"] - frames[0].info["etot_eV"]
    log.info("wrote %d NVE frames; total-energy drift %.4f eV over the NVE run", len(frames), drift)


if __name__ == "__main__":
    p = snakemake.params
    model = chosen_model(snakemake)
    main(
        model,
        snakemake.input.trajectory,
        snakemake.output.trajectory,
        p.md,
        p.seed,
        p.dtype,
        p.device,
        setup(snakemake),
        p.dispersion,
    )
