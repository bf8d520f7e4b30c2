"""Rule choose_model: the final member to keep, by property error (AS) or test force MAE, with the reason."""

import json

import pandas as pd

from _common import setup
from amlip.learning.choice import choose_member
from amlip.models.loading import model_family


def main(evaluations: list, models: list, screenings: list, choice_file: str, table_file: str, tie_tolerance: float, log) -> None:
    """The member of the final committee (``models``) with the lowest property error of its ``screenings`` (errors
    within ``tie_tolerance`` tie), else the lowest test force MAE of its ``evaluations``; choice.json and the table."""
    evaluation = pd.concat([pd.read_csv(f) for f in evaluations])
    test = evaluation[evaluation.split == "test"].set_index("member")
    train = evaluation[evaluation.split == "train"].set_index("member")
    table = pd.DataFrame(
        {
            "member": test.index.astype(int),
            "model": [models[int(m)] for m in test.index],
            "test_force_mae_meV_A": test.force_mae_meV_A.values,
            "test_energy_mae_meV_atom": test.energy_mae_meV_atom.values,
            "train_force_mae_meV_A": train.force_mae_meV_A.reindex(test.index).values,
        }
    )
    prop = None
    if screenings:
        screening = pd.concat([pd.read_csv(f) for f in screenings]).set_index("member")
        prop = str(screening.property.iloc[0])
        table["property"] = prop
        table["property_value"] = screening.value.reindex(table.member).values
        table["property_reference"] = screening.reference.reindex(table.member).values
        table["property_abs_error"] = screening.abs_error.reindex(table.member).values
    best, reason = choose_member(table, tie_tolerance=tie_tolerance)
    table["chosen"] = table.member == best
    table.to_csv(table_file, index=False)
    row = table.set_index("member").loc[best]
    model = models[best]
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
    with open(choice_file, "w") as fh:
        json.dump(choice, fh, indent=2)
    log.info("chose member %d (%s)\n%s", best, reason, table.to_string())


if __name__ == "__main__":
    i, o = snakemake.input, snakemake.output
    main(i.evaluations, i.models, i.screenings, o.choice, o.table, **snakemake.params, log=setup(snakemake))
