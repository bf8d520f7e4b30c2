"""Rule calibrate_band: the committee band of the next iteration, from the committee's sigma_max on its own test frames."""

import json

from _common import setup
from amlip.io.frames import iter_frames
from amlip.learning.loop import calibrated_band
from amlip.md.ase_engine import committee_sigma
from amlip.models.handover import use_model_python
from amlip.models.loading import load_model


def main(models: list, test: str, output: str, floor: float, high: float, quantile, dtype: str, device: str, log) -> None:
    """sigma_max (eV/Å) of the committee ``models`` on every frame of ``test``, and the band edges from them
    (:func:`amlip.learning.loop.calibrated_band`) into ``output``."""
    committee = load_model(list(models), dtype=dtype, device=device)
    sigmas = []
    for atoms in iter_frames(test):
        atoms.calc = committee
        atoms.get_forces()
        sigma = committee_sigma(atoms, committee, None)
        if sigma is not None:  # a single model has no deviation
            sigmas.append(sigma)
    band = calibrated_band(sigmas, floor, high, quantile) | {"test_sigma_max_per_frame_eV_A": sigmas}
    with open(output, "w") as fh:
        json.dump(band, fh, indent=1)
    log.info("band (%.3f, %.3f) eV/Å: %s", band["low_eV_A"], band["high_eV_A"], band["how"])


if __name__ == "__main__":
    i, p = snakemake.input, snakemake.params
    use_model_python(list(i.models), p.model_python)
    main(list(i.models), i.test, snakemake.output[0], p.floor, p.high, p.quantile, p.dtype, p.device, setup(snakemake))
