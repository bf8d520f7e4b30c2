"""Rule choose_model: the final member to keep, by property error (AS) or test force MAE, with the reason."""

from _common import setup

log = setup(snakemake)

import json

import pandas as pd

from amlip.learning.choice import choose_member
from amlip.models.loading import model_family

evaluation = pd.concat([pd.read_csv(f) for f in snakemake.input.evaluations])
test = evaluation[evaluation.split == "test"].set_index("member")
train = evaluation[evaluation.split == "train"].set_index("member")
table = pd.DataFrame(
    {
        "member": test.index.astype(int),
        "model": [snakemake.input.models[int(m)] for m in test.index],
        "test_force_mae_meV_A": test.force_mae_meV_A.values,
        "test_energy_mae_meV_atom": test.energy_mae_meV_atom.values,
        "train_force_mae_meV_A": train.force_mae_meV_A.reindex(test.index).values,
    }
)
prop = None
if snakemake.input.screenings:
    screening = pd.concat([pd.read_csv(f) for f in snakemake.input.screenings]).set_index("member")
    prop = str(screening.property.iloc[0])
    table["property"] = prop
    table["property_value"] = screening.value.reindex(table.member).values
    table["property_reference"] = screening.reference.reindex(table.member).values
    table["property_abs_error"] = screening.abs_error.reindex(table.member).values
best, reason = choose_member(table, tie_tolerance=snakemake.params.tie_tolerance)
table["chosen"] = table.member == best
table.to_csv(snakemake.output.table, index=False)
row = table.set_index("member").loc[best]
model = snakemake.input.models[best]
choice = {
    "member": best,
    "model": model,
    "architecture_family": model_family(model),
    "prediction_prefix": f"{model_family(model)}{best}",
    "criterion": f"lowest |{prop} error|, tie-break test force MAE" if prop else "lowest test force MAE",
    "reason": reason,
    "test_force_mae_meV_A": float(row.test_force_mae_meV_A),
    "test_energy_mae_meV_atom": float(row.test_energy_mae_meV_atom),
    "property": prop,
    "property_abs_error": float(row.property_abs_error) if prop else None,
    "members": table.to_dict(orient="records"),
}
with open(snakemake.output.choice, "w") as fh:
    json.dump(choice, fh, indent=2)
log.info("chose member %d (%s)\n%s", best, reason, table.to_string())
