"""Rule validate_binding: CO2 binding energies of MIL-120 variants, chosen model against the reference labeler (MIL Table 1)."""

from _common import chosen_model, setup
from amlip.io.frames import REF_ENERGY, read_frames
from amlip.labelers.registry import make_labeler
from amlip.models.loading import load_model
from amlip.plots.mof import plot_binding
from amlip.properties.adsorption import binding_table, calculator_energy
from amlip.structures.mil120 import insert_co2


def main(
    model: str,
    frameworks: list[str],
    names: list[str],
    table: str,
    figure: str,
    backend,
    settings,
    n_sites,
    min_distance_A,
    seed,
    dtype,
    device,
    log,
) -> None:
    """E_b of ``n_sites`` random single-CO2 placements per framework by the labeler and the model."""
    labeler = make_labeler(backend, settings)
    structures = {}
    for name, path in zip(names, frameworks):
        host = read_frames(path)[-1]
        for k in range(n_sites):
            structures[f"{name}_site_{k}"] = insert_co2(host, 1, seed + k, min_distance_A)
    energies = {
        "reference": lambda atoms: labeler.single_point(atoms).info[REF_ENERGY],
        "model": calculator_energy(load_model(model, dtype=dtype, device=device)),
    }
    data = binding_table(structures, energies)
    data["lot_hash"] = labeler.lot_hash
    data.to_csv(table, index=False)
    plot_binding(data, figure)
    log.info("CO2 binding energies (kJ/mol), reference %s:\n%s", labeler.lot_hash, data.to_string())


if __name__ == "__main__":
    model = chosen_model(snakemake)
    p = snakemake.params
    main(model, list(snakemake.input.frameworks), p.names, **snakemake.output, backend=p.backend, settings=p.settings,
         n_sites=p.n_sites, min_distance_A=p.min_distance_A, seed=p.seed, dtype=p.dtype, device=p.device, log=setup(snakemake))  # fmt: skip
