"""Rule measure_glasses: every glass of one side of the closed loop (MLIP or reference) measured alike."""

import pandas as pd

from _common import setup
from amlip.io.frames import read_frames
from amlip.properties.fidelity import measure_glass


def main(trajectories: list, values: str, curves: str, settings: dict, log) -> None:
    """Scalars (glass, quantity, value) and curves (glass, curve, x, y) of each trajectory in ``trajectories``
    (glass k = the k-th file), measured by :func:`amlip.properties.fidelity.measure_glass` with ``settings``."""
    scalar_rows, curve_rows = [], []
    for k, path in enumerate(trajectories):
        scalars, glass_curves = measure_glass(read_frames(path), settings)
        scalar_rows += [{"glass": k, "quantity": q, "value": v} for q, v in scalars.items()]
        curve_rows += [{"glass": k, **row} for row in glass_curves]
        log.info("glass %d (%s): density %.4f g/cm3", k, path, scalars["density|density"])
    pd.DataFrame(scalar_rows).to_csv(values, index=False)
    pd.DataFrame(curve_rows).to_csv(curves, index=False)


if __name__ == "__main__":
    main(snakemake.input.trajectories, **snakemake.output, **snakemake.params, log=setup(snakemake))
