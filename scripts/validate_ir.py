"""Rule validate_ir: IR spectrum from the force constants, phonopy modes at Gamma and Born charges (AS)."""

import json

import numpy as np

from _common import setup
from amlip.io.frames import read_frames
from amlip.plots import plot_columns
from amlip.properties.vibrations import born_charges_from_vasp, ir_tables


def main(relaxed, force_constants, info, outputs, born_charges, born_file, born_mapping, fwhm_cm1, max_cm1, log) -> None:
    """Modes, spectrum (Lorentzian ``fwhm_cm1`` up to ``max_cm1``, 1/cm) and peaks of ``relaxed``; Born charges per
    element (e) or, with ``born_file``, from a VASP LEPSILON run mapped ``born_mapping``."""
    ideal = read_frames(relaxed)[0]
    fc2 = np.load(force_constants)
    with open(info) as fh:
        fit = json.load(fh)
    charges = born_charges
    if born_file:
        charges, _ = born_charges_from_vasp(born_file, ideal, born_mapping)
        mean_z = {sym: float(np.trace(charges[i]) / 3) for i, sym in enumerate(ideal.get_chemical_symbols())}
        log.info(
            "Born charges from %s (%s; validate.ir.born_charges ignored); mean trace/3 per species: %s",
            born_file,
            born_mapping,
            mean_z,
        )
    modes, spectrum, peaks = ir_tables(ideal, fc2, charges, fwhm_cm1, max_cm1)
    modes.to_csv(outputs.modes, index=False)
    spectrum.to_csv(outputs.table, index=False)
    peaks.to_csv(outputs.peaks, index=False)
    plot_columns(
        spectrum, "frequency_cm1", ["intensity"], "wavenumber (1/cm)", "IR intensity (e$^2$/amu per 1/cm)", outputs.figure
    )
    n_imag = int(modes.imaginary.sum())
    if n_imag:
        log.warning("%d imaginary modes (of %d) left out of the spectrum; fit R2 = %.3f", n_imag, len(modes), fit["r2_test"])
    log.info("IR peaks (1/cm): %s", ", ".join(f"{f:.0f}" for f in peaks.frequency_cm1))


if __name__ == "__main__":
    main(**snakemake.input, outputs=snakemake.output, **snakemake.params, log=setup(snakemake))
