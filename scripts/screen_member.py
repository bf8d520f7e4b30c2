"""Rule screen_member: one final committee member's property against its reference (AS model choice):
density from short NpT MD, or dehydrogenation energies against the reference labeler's."""

import pandas as pd

from _common import setup
from amlip.io.frames import read_frames
from amlip.learning.choice import screen_dehydrogenation, screen_density
from amlip.md.dispersion import with_dispersion
from amlip.models.handover import use_model_python
from amlip.models.loading import load_model


def main(
    model: str,
    structure: str,
    output: str,
    member: int,
    screening: dict,
    dtype: str,
    device: str,
    seed: int,
    log,
    reference=None,
    dispersion=None,
):
    """The property of ``screening`` (density: g/cm3 from NpT MD; dehydrogenation: eV against the ``reference``
    labeler's table) of ``model`` on ``structure``, as one row with the error."""
    atoms = read_frames(structure)[0]
    calculator = load_model(model, dtype=dtype, device=device)
    row = {"member": member, "model": model}
    if screening["property"] == "density":
        md = {k: v for k, v in screening.items() if k not in ("property", "reference_g_cm3")}
        # with production's D3 (produce.dispersion): the density the member is chosen by is the one it will give
        density = screen_density(atoms, with_dispersion(calculator, dispersion), **md, seed=seed)
        row |= {"property": "density_g_cm3", "value": density["mean"], "std": density["std"], "start": density["start"]}
        row |= {"reference": float(screening["reference_g_cm3"]), "n_frames": density["n_frames"]}
        row["abs_error"] = abs(row["value"] - row["reference"])
    else:
        errors = screen_dehydrogenation(atoms, calculator, pd.read_csv(reference), max_sites=screening["max_sites"])
        row |= {"property": "dehydrogenation_eV", "value": errors["model_mean_eV"], "reference": errors["reference_mean_eV"]}
        row |= {"abs_error": errors["mae_eV"], "max_abs_error": errors["max_abs_error_eV"], "n_sites": errors["n_sites"]}
    pd.DataFrame([row]).to_csv(output, index=False)
    log.info(
        "member %d: %s %.4f vs reference %.4f, error %.4f",
        member,
        row["property"],
        row["value"],
        row["reference"],
        row["abs_error"],
    )


if __name__ == "__main__":
    i, p = snakemake.input, snakemake.params
    use_model_python(i.model, p.model_python)
    reference = i.reference if "reference" in i.keys() else None
    member = int(snakemake.wildcards.m)
    main(
        i.model,
        i.structure,
        snakemake.output[0],
        member,
        p.screening,
        p.dtype,
        p.device,
        p.seed,
        setup(snakemake),
        reference,
        p.dispersion,
    )
