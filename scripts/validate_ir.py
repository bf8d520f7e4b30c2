from _common import setup

log = setup(snakemake)

import json

import numpy as np

from amlip.io.frames import read_frames
from amlip.plots import plot_columns
from amlip.properties.vibrations import ir_tables

s = snakemake.params.settings
ideal = read_frames(snakemake.input.relaxed)[0]
fc2 = np.load(snakemake.input.force_constants)
fit = json.load(open(snakemake.input.info))
charges = s.get("born_charges", {})
if s.get("born_file"):
    from amlip.properties.vibrations import born_charges_from_vasp

    mapping = s.get("born_mapping", "per_atom")
    charges, epsilon = born_charges_from_vasp(s["born_file"], ideal, mapping)
    mean_z = {sym: float(np.trace(charges[i]) / 3) for i, sym in enumerate(ideal.get_chemical_symbols())}
    log.info(
        "Born charges from %s (%s; validate.ir.born_charges ignored); mean trace/3 per species: %s",
        s["born_file"],
        mapping,
        mean_z,
    )
modes, spectrum, peaks = ir_tables(ideal, fc2, charges, s.get("fwhm_cm1", 30.0), s.get("max_cm1", 1500.0))
modes.to_csv(snakemake.output.modes, index=False)
spectrum.to_csv(snakemake.output.table, index=False)
peaks.to_csv(snakemake.output.peaks, index=False)
plot_columns(
    spectrum, "frequency_cm1", ["intensity"], "wavenumber (1/cm)", "IR intensity (e$^2$/amu per 1/cm)", snakemake.output.figure
)
n_imag = int(modes.imaginary.sum())
if n_imag:
    log.warning("%d imaginary modes (of %d) left out of the spectrum; fit R2 = %.3f", n_imag, len(modes), fit["r2_test"])
log.info("IR peaks (1/cm): %s", ", ".join(f"{f:.0f}" for f in peaks.frequency_cm1))
