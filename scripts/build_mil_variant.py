"""Rule build_mil_variant: one OH orientation variant of MIL-120 from the user's CIF."""

from _common import setup
from amlip.io.frames import write_frames
from amlip.properties.mil120 import AXES
from amlip.structures.mil120 import orient_hydroxyls, read_mil120


def main(cif: str, output: str, settings: dict, variant: str, log) -> None:
    """The framework of ``cif`` with its mu-OH hydrogens placed after the pattern of ``variant``."""
    framework = read_mil120(cif, settings["formula_ratio"])
    pattern = settings["patterns"][variant]
    atoms = orient_hydroxyls(
        framework, pattern, AXES[settings["rod_axis"]], settings["metal"], settings["oh_length_A"], settings["tilt_deg"]
    )
    atoms.info["source"] = f"mil120:{variant}"
    write_frames(output, [atoms])
    log.info("MIL-120 %s (%s): %s", variant, pattern, atoms.get_chemical_formula())


if __name__ == "__main__":
    main(snakemake.input.cif, snakemake.output[0], snakemake.params.settings, snakemake.wildcards.variant, setup(snakemake))
