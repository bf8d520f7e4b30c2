from _common import setup

log = setup(snakemake)

import json

import numpy as np

from amlip.io import read_frames
from amlip.validation import ir_tables, plot_columns

s = snakemake.params.settings
ideal = read_frames(snakemake.input.relaxed)[0]
fc2 = np.load(snakemake.input.force_constants)
fit = json.load(open(snakemake.input.info))
modes, spectrum, peaks = ir_tables(ideal, fc2, s.get("born_charges", {}), s.get("fwhm_cm1", 30.0), s.get("max_cm1", 1500.0))
modes.to_csv(snakemake.output.modes, index=False)
spectrum.to_csv(snakemake.output.table, index=False)
peaks.to_csv(snakemake.output.peaks, index=False)
plot_columns(spectrum, "frequency_cm1", ["intensity"], "wavenumber (1/cm)", "IR intensity (e$^2$/amu per 1/cm)", snakemake.output.figure)
n_imag = int(modes.imaginary.sum())
if n_imag:
    log.warning("%d imaginary modes (of %d) left out of the spectrum; fit R2 = %.3f", n_imag, len(modes), fit["r2_test"])
log.info("IR peaks (1/cm): %s", ", ".join(f"{f:.0f}" for f in peaks.frequency_cm1))
