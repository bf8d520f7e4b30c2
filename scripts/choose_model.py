from _common import setup

log = setup(snakemake)

import json

import pandas as pd

evaluation = pd.concat([pd.read_csv(f) for f in snakemake.input.evaluations])
test = evaluation[evaluation.split == "test"].set_index("member")
best = int(test.force_mae_meV_A.idxmin())
choice = {
    "member": best,
    "model": snakemake.input.models[best],
    "criterion": "lowest test force MAE",
    "test_force_mae_meV_A": test.force_mae_meV_A.to_dict(),
    "test_energy_mae_meV_atom": test.energy_mae_meV_atom.to_dict(),
}
with open(snakemake.output[0], "w") as fh:
    json.dump(choice, fh, indent=2)
log.info("chose member %d: %s", best, choice)
