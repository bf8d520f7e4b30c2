"""Rule validate_pore: the final functionalized pore (AS): OH per nm2, dehydrogenation energies by site type, pore volume."""

import pandas as pd

from _common import chosen_model, setup
from amlip.io.frames import read_frames
from amlip.models.loading import load_model
from amlip.plots import plot_dehydrogenation
from amlip.properties.energetics import dehydrogenation_by_site, dehydrogenation_energies, pore_summary


def main(
    model: str,
    structure: str,
    functionalized: str,
    water: list,
    outputs,
    radius_A: float,
    validate: dict,
    dtype: str,
    device: str,
    log,
) -> None:
    """The pore summary of ``structure`` (probe and grid of ``validate``), the water removed, the functionalization
    counts, and the dehydrogenation energies of up to ``validate['max_sites']`` hydroxyls with ``model``."""
    atoms = read_frames(structure)[0]
    removed = pd.concat([pd.read_csv(f) for f in water], ignore_index=True)
    removed.to_csv(outputs.water, index=False)
    summary = pore_summary(atoms, radius_A, validate["probe_radius_A"], validate["grid_spacing_A"])
    summary["n_water_removed"] = int(removed.n_water_removed.sum())
    summary |= {f"functionalize_{k}": val for k, val in pd.read_csv(functionalized).iloc[0].items()}
    sites = dehydrogenation_energies(atoms, load_model(model, dtype=dtype, device=device), max_sites=validate["max_sites"])
    sites.to_csv(outputs.sites, index=False)
    table = dehydrogenation_by_site(sites.site, sites.E_pore_OH_eV, sites.E_pore_O_star_eV, sites.E_H_eV.iloc[0])
    table.to_csv(outputs.table, index=False)
    pd.DataFrame([summary]).to_csv(outputs.summary, index=False)
    plot_dehydrogenation(table, summary, outputs.figure)
    log.info("pore: %s\n%s", summary, table.to_string())


if __name__ == "__main__":
    i, p = snakemake.input, snakemake.params
    model = chosen_model(snakemake)
    main(
        model,
        i.structure,
        i.functionalized,
        i.water,
        snakemake.output,
        p.radius_A,
        p.validate,
        p.dtype,
        p.device,
        setup(snakemake),
    )
