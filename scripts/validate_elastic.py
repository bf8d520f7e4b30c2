from _common import chosen_model, setup

model = chosen_model(snakemake)
log = setup(snakemake)

from amlip.io.frames import read_frames
from amlip.models.loading import load_model
from amlip.plots import plot_elastic
from amlip.properties.mechanics import compare_moduli, elastic_tables
from amlip.properties.reference import load_reference_moduli

s = snakemake.params.settings
glass = read_frames(snakemake.input.trajectory)[-1]
log.info("0 K elastic moduli of the last glass frame (%d atoms) with %s", len(glass), model)
moduli, tensor, pv, uniaxial = elastic_tables(glass, load_model(model, dtype=snakemake.params.dtype), s)
reference = load_reference_moduli(s.get("reference_system", "SiO2"), snakemake.input.reference)
moduli = compare_moduli(moduli, reference)
moduli.to_csv(snakemake.output.table, index=False)
tensor.to_csv(snakemake.output.tensor, index=False)
pv.to_csv(snakemake.output.pv, index=False)
uniaxial.to_csv(snakemake.output.uniaxial, index=False)
plot_elastic(pv, uniaxial, snakemake.output.figure)
log.info("\n%s", moduli[["property", "value", "unit", "method", "reference", "rel_error_percent", "status"]].to_string())
