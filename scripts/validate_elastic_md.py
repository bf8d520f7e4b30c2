"""Rule validate_elastic_md: E, nu and K of the glass from MD at temperature (NS strain runs and pressure steps, ZIF NVT P(V))."""

from _common import chosen_model, setup
from amlip.io.frames import read_frames
from amlip.md.dispersion import d3_settings
from amlip.md.guards import Guards
from amlip.models.loading import load_model
from amlip.plots import plot_elastic_md
from amlip.properties.md_moduli import md_moduli_runs, moduli_from_runs
from amlip.properties.mechanics import compare_moduli
from amlip.properties.reference import load_reference_moduli


def main(
    model: str,
    trajectory: str,
    reference: str,
    outputs,
    settings: dict,
    guards: dict,
    seed: int,
    dtype: str,
    device: str,
    log,
    dispersion=None,
) -> None:
    """The MD runs of ``settings`` (validate.elastic_md) from the last frame of ``trajectory`` with ``model`` in
    LAMMPS; the moduli (GPa) compared with the ``reference`` table's row ``settings['reference_system']``, the
    per-run averages and the figure."""
    glass = read_frames(trajectory)[-1]
    n_runs = 1 + sum(1 for key in ("strains", "pressures_GPa", "volume_strains") for v in settings[key] if v != 0)
    log.info(
        "MD elastic moduli at %g K of the last glass frame (%d atoms) with %s: %d runs of %d + %d steps",
        settings["temperature_K"], len(glass), model, n_runs, settings["equilibration_steps"], settings["production_steps"],
    )  # fmt: skip
    runs = md_moduli_runs(
        glass,
        load_model(model, dtype=dtype, device=device),
        settings,
        seed=seed,
        guards=Guards(**guards),
        dispersion=d3_settings(dispersion),  # LAMMPS pair_style dispersion/d3 (or dftd3) as in the melt-quench
    )
    moduli, fits = moduli_from_runs(runs)
    moduli = compare_moduli(moduli, load_reference_moduli(settings["reference_system"], reference))
    moduli.to_csv(outputs.table, index=False)
    fits.to_csv(outputs.runs, index=False)
    plot_elastic_md(fits, outputs.figure)
    log.info(
        "\n%s", moduli[["property", "value", "stderr", "unit", "method", "reference", "rel_error_percent", "status"]].to_string()
    )


if __name__ == "__main__":
    i, p = snakemake.input, snakemake.params
    model = chosen_model(snakemake)
    main(
        model,
        i.trajectory,
        i.reference,
        snakemake.output,
        p.settings,
        p.guards,
        p.seed,
        p.dtype,
        p.device,
        setup(snakemake),
        p.dispersion,
    )
