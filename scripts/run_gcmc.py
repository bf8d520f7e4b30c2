"""Rule adsorb_gcmc: CO2 loading against pressure by MD-GCMC in a host structure (MIL; classical force field)."""

import pandas as pd

from _common import setup
from amlip.io.frames import read_frames
from amlip.md.gcmc import FORCE_FIELD, loading_curve
from amlip.plots import plot_gcmc_loading


def main(host: str, csv: str, png: str, pressures_bar, temperature_K, n_steps, sample_every, exchange_every, seed, log) -> None:
    """Loading (mmol/g) of the last frame of ``host`` at every pressure (bar) and ``temperature_K``, table and figure."""
    atoms = read_frames(host)[-1]
    log.info(
        "MD-GCMC of CO2 in %s (%d atoms) at %s bar, %g K; force field %s",
        host,
        len(atoms),
        pressures_bar,
        temperature_K,
        FORCE_FIELD,
    )
    rows = loading_curve(
        atoms, pressures_bar, temperature_K, n_steps, sample_every=sample_every, seed=seed, exchange_every=exchange_every
    )
    table = pd.DataFrame(rows)
    table.to_csv(csv, index=False)
    plot_gcmc_loading(table, temperature_K, FORCE_FIELD.split(":")[0], png)
    log.info("loading %s mmol/g", [round(v, 4) for v in table["loading_mmol_g"]])


if __name__ == "__main__":
    main(**snakemake.input, **snakemake.output, **snakemake.params, log=setup(snakemake))
