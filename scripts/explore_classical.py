"""Rule explore_classical: the production protocol run with a classical LAMMPS potential from one random packing."""

from _common import setup
from amlip.io.frames import read_frames, write_frames
from amlip.learning.explore import classical_exploration
from amlip.md.guards import Guards
from amlip.md.protocols import schedule


def main(structure: str, output: str, potential: dict, n_frames: int, md: dict, seed: int, log) -> None:
    """``n_frames`` frames of the ``md`` protocol (produce.melt_quench keys) run with ``potential`` (explore.classical)."""
    stages = schedule(md["protocol"], md["time_scale"], md["timestep_fs"])
    guards = {key: md["guards"][key] for key in ("max_T_factor", "min_distance_A", "check_every")}
    log.info(
        "%s x%g (%d steps) with the classical potential %s",
        md["protocol"],
        md["time_scale"],
        sum(s.n_steps for s in stages),
        potential,
    )
    frames = classical_exploration(
        read_frames(structure)[0],
        potential,
        stages,
        n_frames=n_frames,
        seed=seed,
        taut_fs=md["taut_fs"],
        taup_fs=md["taup_fs"],
        guards=Guards(**guards),
    )
    name = f"classical:{potential['potential']}"
    for atoms in frames:
        atoms.info.update(iteration=0, source=f"{atoms.info.get('source', structure)}:{name}")
    write_frames(output, frames)
    log.info(
        "%d frames from %.0f to %.0f K, %.2f-%.2f g/cm3",
        len(frames),
        min(a.info["T_K"] for a in frames),
        max(a.info["T_K"] for a in frames),
        min(a.info["density_g_cm3"] for a in frames),
        max(a.info["density_g_cm3"] for a in frames),
    )


if __name__ == "__main__":
    main(snakemake.input.structure, snakemake.output[0], **snakemake.params, log=setup(snakemake))
