"""Rule screen_member: one final committee member's property against its reference (AS model choice):
density from short NpT MD, or dehydrogenation energies against the reference labeler's."""

from _common import setup
from amlip.models.handover import use_model_python

use_model_python(snakemake.input.model, snakemake.params.nequip_python)
log = setup(snakemake)

import pandas as pd

from amlip.io.frames import read_frames
from amlip.learning.choice import screen_dehydrogenation, screen_density
from amlip.models.loading import load_model

c = snakemake.params.choose_by
domain = snakemake.wildcards.domain
atoms = read_frames(snakemake.input.structure)[0]
calculator = load_model(snakemake.input.model, dtype=snakemake.params.dtype)
row = {"member": int(snakemake.wildcards.m), "model": snakemake.input.model}
if c["property"] == "density":
    if "reference_g_cm3" not in c:
        raise ValueError(f"the choose_by of domain {domain} screens density but sets no reference_g_cm3")
    density = screen_density(
        atoms,
        calculator,
        temperature_K=c["temperature_K"],
        n_steps=c["n_steps"],
        timestep_fs=c["timestep_fs"],
        sample_every=c["sample_every"],
        average_last_fraction=c["average_last_fraction"],
        taut_fs=c["taut_fs"],
        taup_fs=c["taup_fs"],
        bulk_modulus_GPa=c["bulk_modulus_GPa"],
        seed=snakemake.params.seed,
    )
    row |= {
        "property": "density_g_cm3",
        "value": density["mean"],
        "std": density["std"],
        "start": density["start"],
        "reference": float(c["reference_g_cm3"]),
        "n_frames": density["n_frames"],
    }
    row["abs_error"] = abs(row["value"] - row["reference"])
elif c["property"] == "dehydrogenation":
    errors = screen_dehydrogenation(atoms, calculator, pd.read_csv(snakemake.input.reference), max_sites=c.get("max_sites", 6))
    row |= {
        "property": "dehydrogenation_eV",
        "value": errors["model_mean_eV"],
        "reference": errors["reference_mean_eV"],
        "abs_error": errors["mae_eV"],
        "max_abs_error": errors["max_abs_error_eV"],
        "n_sites": errors["n_sites"],
    }
else:
    raise ValueError(
        f"the choose_by of domain {domain} has property '{c['property']}' with no screening: use density, dehydrogenation or none"
    )
pd.DataFrame([row]).to_csv(snakemake.output[0], index=False)
log.info(
    "member %d: %s %.4f vs reference %.4f, error %.4f",
    row["member"],
    row["property"],
    row["value"],
    row["reference"],
    row["abs_error"],
)
