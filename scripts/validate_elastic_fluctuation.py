"""Rule validate_elastic_fluctuation: elastic tensor from cell fluctuations in N-sigma-T MD (ZIF; LAMMPS fix npt tri)."""

from _common import chosen_model, setup
from amlip.io.frames import read_frames
from amlip.md.dispersion import d3_settings
from amlip.md.engines import run_md
from amlip.md.guards import Guards
from amlip.md.protocols import Stage
from amlip.models.loading import load_model
from amlip.plots import plot_elastic_fluctuation
from amlip.properties.mechanics import elastic_fluctuation_tables


def main(
    model: str, trajectory: str, outputs, settings: dict, guards: dict, seed: int, dtype: str, device: str, log, dispersion=None
) -> None:
    """N-sigma-T MD (``settings``: validate.elastic_fluctuation) of the last frame of ``trajectory``; moduli (GPa)
    with block errors, the tensor and the running estimate."""
    glass = read_frames(trajectory)[-1]
    T, dt = settings["temperature_K"], settings["timestep_fs"]
    stages = [
        Stage("equilibrate", "npt_tri", T, T, settings["equilibration_steps"] * dt / 1000.0, dt),
        Stage("production", "npt_tri", T, T, settings["production_steps"] * dt / 1000.0, dt),
    ]
    log.info(
        "N-sigma-T (fix npt tri, 0 GPa) at %g K of the last glass frame (%d atoms) with %s: %d + %d steps",
        T, len(glass), model, stages[0].n_steps, stages[1].n_steps,
    )  # fmt: skip
    frames = run_md(
        "lammps",
        glass,
        load_model(model, dtype=dtype, device=device),
        stages,
        sample_every=settings["sample_every"],
        seed=seed,
        taut_fs=settings["taut_fs"],
        taup_fs=settings["taup_fs"],
        guards=Guards(**guards),
        dispersion=d3_settings(dispersion),  # LAMMPS pair_style dispersion/d3 (or dftd3) as in the melt-quench
    )
    cells = [f.cell.array for f in frames if f.info["stage"] == "production"]
    moduli, tensor, running = elastic_fluctuation_tables(cells, T, settings["n_blocks"])
    moduli.to_csv(outputs.table, index=False)
    tensor.to_csv(outputs.tensor, index=False)
    running.to_csv(outputs.running, index=False)
    plot_elastic_fluctuation(running, tensor, outputs.figure)
    log.info("strain-fluctuation moduli from %d cells:\n%s", len(cells), moduli.to_string())


if __name__ == "__main__":
    p = snakemake.params
    model = chosen_model(snakemake)
    main(
        model,
        snakemake.input.trajectory,
        snakemake.output,
        p.settings,
        p.guards,
        p.seed,
        p.dtype,
        p.device,
        setup(snakemake),
        p.dispersion,
    )
