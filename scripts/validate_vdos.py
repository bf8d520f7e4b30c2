from _common import setup

log = setup(snakemake)

from amlip.io.frames import read_frames
from amlip.plots import plot_columns
from amlip.properties.vibrations import spectrum_peaks, vdos_table

frames = read_frames(snakemake.input.trajectory)
table = vdos_table(frames, snakemake.params.settings.get("sample_every_fs", 5.0))
table.to_csv(snakemake.output.table, index=False)
peaks = spectrum_peaks(table.frequency_cm1, table.vdos)
peaks.to_csv(snakemake.output.peaks, index=False)
partials = [c for c in table.columns if c.startswith("vdos_")]
shown = table[table.frequency_cm1 <= snakemake.params.settings.get("plot_max_cm1", 1500.0)]
plot_columns(shown, "frequency_cm1", ["vdos"] + partials, "wavenumber (1/cm)", "VDOS (per 1/cm)", snakemake.output.figure)
log.info("VDOS of %d frames; peaks (1/cm): %s", len(frames), ", ".join(f"{f:.0f}" for f in peaks.frequency_cm1))
