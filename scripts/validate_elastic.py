"""Rule validate_elastic: 0 K elastic moduli of the last glass frame (finite strain + Hill, uniaxial, P(V)) against experiment."""

from _common import chosen_model, setup
from amlip.io.frames import read_frames
from amlip.md.dispersion import with_dispersion
from amlip.models.loading import load_model
from amlip.plots import plot_elastic
from amlip.properties.mechanics import compare_moduli, elastic_tables
from amlip.properties.reference import load_reference_moduli


def main(
    model: str, trajectory: str, reference: str, outputs, settings: dict, dtype: str, device: str, log, dispersion=None
) -> None:
    """The moduli (GPa) of the last frame of ``trajectory`` with ``model`` (``settings``: validate.elastic), compared
    with the ``reference`` table's row ``settings['reference_system']``."""
    glass = read_frames(trajectory)[-1]
    log.info("0 K elastic moduli of the last glass frame (%d atoms) with %s", len(glass), model)
    moduli, tensor, pv, uniaxial = elastic_tables(
        glass, with_dispersion(load_model(model, dtype=dtype, device=device), dispersion), settings
    )
    moduli = compare_moduli(moduli, load_reference_moduli(settings["reference_system"], reference))
    moduli.to_csv(outputs.table, index=False)
    tensor.to_csv(outputs.tensor, index=False)
    pv.to_csv(outputs.pv, index=False)
    uniaxial.to_csv(outputs.uniaxial, index=False)
    plot_elastic(pv, uniaxial, outputs.figure)
    log.info("\n%s", moduli[["property", "value", "unit", "method", "reference", "rel_error_percent", "status"]].to_string())


if __name__ == "__main__":
    i, p = snakemake.input, snakemake.params
    model = chosen_model(snakemake)
    main(model, i.trajectory, i.reference, snakemake.output, p.settings, p.dtype, p.device, setup(snakemake), p.dispersion)
