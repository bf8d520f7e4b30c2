from _common import chosen_model, setup

model = chosen_model(snakemake)
log = setup(snakemake)

import pandas as pd

from amlip.io.frames import read_frames
from amlip.models.loading import load_model
from amlip.plots import plot_dehydrogenation
from amlip.properties.energetics import dehydrogenation_by_site, dehydrogenation_energies, pore_summary

s = snakemake.params.settings
v = s.get("validate", {})
atoms = read_frames(snakemake.input.structure)[0]
water = pd.concat([pd.read_csv(f) for f in snakemake.input.water], ignore_index=True)
water.to_csv(snakemake.output.water, index=False)
summary = pore_summary(atoms, s["radius_A"], v.get("probe_radius_A", 1.2), v.get("grid_spacing_A", 0.2))
summary["n_water_removed"] = int(water.n_water_removed.sum())
summary |= {f"functionalize_{k}": val for k, val in pd.read_csv(snakemake.input.functionalized).iloc[0].items()}
sites = dehydrogenation_energies(atoms, load_model(model, dtype=snakemake.params.dtype), max_sites=v.get("max_sites"))
sites.to_csv(snakemake.output.sites, index=False)
table = dehydrogenation_by_site(sites.site, sites.E_pore_OH_eV, sites.E_pore_O_star_eV, sites.E_H_eV.iloc[0])
table.to_csv(snakemake.output.table, index=False)
pd.DataFrame([summary]).to_csv(snakemake.output.summary, index=False)
plot_dehydrogenation(table, summary, snakemake.output.figure)
log.info("pore: %s\n%s", summary, table.to_string())
