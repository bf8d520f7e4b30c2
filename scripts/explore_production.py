"""Rule explore_production: the production protocol with the committee of iteration i-1 from one random packing."""

import pandas as pd

from _common import setup
from amlip.io.frames import read_frames, write_frames
from amlip.learning.explore import production_exploration
from amlip.learning.loop import read_loop_decision
from amlip.md.guards import Guards
from amlip.md.protocols import schedule
from amlip.models.handover import use_model_python
from amlip.models.loading import load_model


def main(
    structure: str,
    models: list,
    frames_out: str,
    summary_out: str,
    *,
    name: str,
    md: dict,
    sample_every: int,
    stop_sigma_eV_A: float,
    average_last_fraction: float,
    seed: int,
    iteration: int,
    device: str,
    log,
    decision: str | None = None,
) -> None:
    """The ``md`` protocol (produce.melt_quench keys) from ``structure`` with the committee ``models``:
    frames with sigma_max in ``frames_out``, one summary row in ``summary_out``; the committee runs on ``device``
    (device.explore). After a decision that
    stopped the loop: no MD, an empty pool and a row that says so."""
    row = {"structure": name, "mode": "production", "iteration": iteration}
    if decision is not None and read_loop_decision(decision)["stop_loop"]:
        write_frames(frames_out, [])
        pd.DataFrame([row | {"completed": True, "stop_reason": "loop stopped", "n_frames": 0, "last_step": 0}]).to_csv(
            summary_out, index=False
        )
        log.info("no MD: %s stopped the loop", decision)
        return
    stages = schedule(md["protocol"], md["time_scale"], md["timestep_fs"])
    guards = {key: md["guards"][key] for key in ("max_T_factor", "min_distance_A", "check_every")}
    log.info(
        "%s x%g (%d steps) with the committee %s, stop above sigma_max %g eV/Å",
        md["protocol"],
        md["time_scale"],
        sum(s.n_steps for s in stages),
        models,
        stop_sigma_eV_A,
    )
    frames, summary = production_exploration(
        read_frames(structure)[0],
        load_model(models, dtype="float32", device=device),
        stages,
        sample_every=sample_every,
        seed=seed,
        friction_per_fs=md["friction_per_fs"],
        taut_fs=md["taut_fs"],
        taup_fs=md["taup_fs"],
        guards=Guards(**guards),
        stop_sigma_eV_A=stop_sigma_eV_A,
        average_last_fraction=average_last_fraction,
    )
    for atoms in frames:
        atoms.info.update(iteration=iteration, explore_model=",".join(models), source=f"{name}:production")
    write_frames(frames_out, frames)
    pd.DataFrame([row | summary]).to_csv(summary_out, index=False)
    log.info("%s", summary)


if __name__ == "__main__":
    i, p, o = snakemake.input, snakemake.params, snakemake.output
    decision = i.decision if "decision" in i.keys() else None
    if decision is None or not read_loop_decision(decision)["stop_loop"]:
        use_model_python(list(i.models), p.model_python)
    main(
        i.structure,
        list(i.models),
        o.frames,
        o.summary,
        name=snakemake.wildcards.structure,
        md=p.md,
        sample_every=p.sample_every,
        stop_sigma_eV_A=p.stop_sigma_eV_A,
        average_last_fraction=p.average_last_fraction,
        seed=p.seed,
        iteration=p.iteration,
        device=p.device,
        log=setup(snakemake),
        decision=decision,
    )
