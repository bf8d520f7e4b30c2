"""Rule validate_vdos: total and partial VDOS from the velocity autocorrelation, with its peaks (NS)."""

from _common import setup
from amlip.io.frames import read_frames
from amlip.plots import plot_columns
from amlip.properties.vibrations import spectrum_peaks, vdos_table


def main(trajectory: str, table: str, peaks: str, figure: str, sample_every_fs: float, plot_max_cm1: float, log) -> None:
    """The VDOS (per 1/cm) of the NVE frames sampled every ``sample_every_fs``; the figure up to ``plot_max_cm1``."""
    frames = read_frames(trajectory)
    data = vdos_table(frames, sample_every_fs)
    data.to_csv(table, index=False)
    maxima = spectrum_peaks(data.frequency_cm1, data.vdos)
    maxima.to_csv(peaks, index=False)
    partials = [c for c in data.columns if c.startswith("vdos_")]
    shown = data[data.frequency_cm1 <= plot_max_cm1]
    plot_columns(shown, "frequency_cm1", ["vdos"] + partials, "wavenumber (1/cm)", "VDOS (per 1/cm)", figure)
    log.info("VDOS of %d frames; peaks (1/cm): %s", len(frames), ", ".join(f"{f:.0f}" for f in maxima.frequency_cm1))


if __name__ == "__main__":
    main(snakemake.input.trajectory, **snakemake.output, **snakemake.params, log=setup(snakemake))
