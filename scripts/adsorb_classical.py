"""Rule adsorb_classical: the classical TraPPE/UFF baseline isotherm (LAMMPS fix gcmc) with q_st from fluctuations."""

import pandas as pd

from _common import setup
from amlip.io.frames import read_frames
from amlip.md.gcmc import FORCE_FIELD, run_gcmc
from amlip.properties.adsorption import isotherm_row


def main(host: str, isotherm: str, pressures_bar, temperature_K, classical: dict, seed: int, log) -> None:
    """One LAMMPS MD-GCMC run per pressure in the last frame of ``host``; U is LAMMPS' potential energy of the frozen host with guests."""
    atoms = read_frames(host)[-1]
    rows = []
    for k, pressure in enumerate(pressures_bar):
        run = run_gcmc(
            atoms, pressure, temperature_K, classical["n_steps"], classical["sample_every"], seed + k, classical["exchange_every"]
        )
        samples = {
            **run,
            "counts": run["counts"][len(run["counts"]) // 2 :],
            "energies_eV": run["energies_eV"][len(run["energies_eV"]) // 2 :],
        }
        rows.append(isotherm_row(samples, float(atoms.get_masses().sum()), f"GCMC, {FORCE_FIELD}"))
    pd.DataFrame(rows).to_csv(isotherm, index=False)
    log.info("\n%s", pd.DataFrame(rows).to_string())


if __name__ == "__main__":
    p = snakemake.params
    main(
        snakemake.input.host,
        snakemake.output.isotherm,
        p.pressures_bar,
        p.temperature_K,
        p.classical,
        p.seed,
        log=setup(snakemake),
    )
