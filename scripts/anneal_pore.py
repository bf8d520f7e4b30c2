"""Rule anneal_pore: NpT anneal of the relaxed, dried pore with the chosen model and the wall (AS anneal_AS)."""

import pandas as pd

from _common import chosen_model, setup
from amlip.io.frames import read_frames, write_frames
from amlip.md.guards import MDGuardError
from amlip.md.outputs import keep_frames_before_guard, write_md_outputs
from amlip.md.pore import pore_md
from amlip.md.protocols import schedule_table
from amlip.models.loading import load_model


def main(
    model: str, structure: str, outputs, radius_A: float, wall: dict, md: dict, seed: int, dtype: str, device: str, log
) -> None:
    """The ``md`` preset (pore.anneal) from ``structure``; trajectory, schedule, thermo and the final frame."""
    start = read_frames(structure)[0]
    try:
        frames, stages = pore_md(
            start, load_model(model, dtype=dtype, device=device), radius_A=radius_A, wall=wall, **md, seed=seed
        )
    except MDGuardError as exc:
        raise keep_frames_before_guard(exc, outputs.trajectory) from exc
    pd.DataFrame(schedule_table(stages)).to_csv(outputs.schedule, index=False)
    write_md_outputs(frames, outputs.trajectory, outputs.thermo)
    log.info("pore anneal with %s: %d frames; final density %.3f g/cm3", model, len(frames), frames[-1].info["density_g_cm3"])
    final = frames[-1].copy()
    final.info = {"source": "anneal_pore", "pore_radius_A": radius_A}
    write_frames(outputs.structure, [final])


if __name__ == "__main__":
    p = snakemake.params
    model = chosen_model(snakemake)
    main(
        model, snakemake.input.structure, snakemake.output, p.radius_A, p.wall, p.md, p.seed, p.dtype, p.device, setup(snakemake)
    )
