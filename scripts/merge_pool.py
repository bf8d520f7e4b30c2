"""Rule merge_pool: iteration i's pool from its exploration runs, and runs.csv for the convergence decision."""

import pandas as pd

from _common import setup
from amlip.io.frames import iter_frames, write_frames

RUN_COLUMNS = ["structure", "mode", "iteration", "completed", "stop_reason", "n_frames", "last_step", "density_g_cm3"]


def main(parts: list, pool: str, runs: str, iteration: int, log) -> None:
    """Concatenate the frame files of ``parts`` into ``pool``; their summary CSVs (production runs)
    into ``runs``, or one row per explore.md file."""
    frames, rows = [], []
    for path in parts:
        if path.endswith(".csv"):
            rows += pd.read_csv(path).to_dict("records")
            continue
        these = list(iter_frames(path))
        frames += these
        if "/production/" not in path:  # explore.md: one file for every structure and temperature
            rows.append({"structure": "all", "mode": "md", "iteration": iteration, "completed": True, "n_frames": len(these)})
    write_frames(pool, frames)
    table = pd.DataFrame(rows).reindex(columns=RUN_COLUMNS)
    table.to_csv(runs, index=False)
    log.info("%d frames from %d runs\n%s", len(frames), len(table), table.to_string())


if __name__ == "__main__":
    main(list(snakemake.input), **snakemake.output, iteration=int(snakemake.wildcards.i), log=setup(snakemake))
