"""Rule adsorb_ml: CO2 isotherm by GCMC with the energies of a potential (MIL: the trained model), q_st from fluctuations."""

import pandas as pd

from _common import chosen_model, setup
from amlip.io.frames import read_frames, write_frames
from amlip.md.gcmc_ml import PairLJ, run_gcmc_ase
from amlip.properties.adsorption import isotherm_row


def main(
    host: str, isotherm: str, snapshots: str, model: str | None, settings: dict, seed: int, dtype: str, device: str, log
) -> None:
    """One GCMC run per pressure of ``settings`` in the last frame of ``host``; the isotherm table and the last configurations."""
    from amlip.models.loading import load_model

    atoms = read_frames(host)[-1]
    calculator = load_model(model, dtype=dtype, device=device) if model else PairLJ()
    method = f"GCMC, {'model ' + model if model else 'Lennard-Jones UFF/TraPPE (ASE)'}"
    rows, finals = [], []
    for k, pressure in enumerate(settings["pressures_bar"]):
        run = run_gcmc_ase(
            atoms, calculator, settings["temperature_K"], pressure, settings["n_steps"], settings["sample_every"], seed + k,
            settings["equilibration_fraction"], settings["p_exchange"], settings["max_translation_A"],
        )  # fmt: skip
        rows.append(
            isotherm_row(run, float(atoms.get_masses().sum()), method)
            | {f"acceptance_{m}": v for m, v in run["acceptance"].items()}
        )
        final = run["final"]
        final.info.update(pressure_bar=pressure, n_co2=int(run["counts"][-1]) if len(run["counts"]) else 0)
        finals.append(final)
    pd.DataFrame(rows).to_csv(isotherm, index=False)
    write_frames(snapshots, finals)
    log.info("\n%s", pd.DataFrame(rows).to_string())


if __name__ == "__main__":
    model = chosen_model(snakemake) if "choice" in snakemake.input.keys() else None
    p = snakemake.params
    main(
        snakemake.input.host,
        **snakemake.output,
        model=model,
        settings=p.settings,
        seed=p.seed,
        dtype=p.dtype,
        device=p.device,
        log=setup(snakemake),
    )
