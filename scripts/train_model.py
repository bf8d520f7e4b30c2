"""Rule train_model: one MACE committee member, trained by mace_run_train within a budget of
optimiser steps, warm-started from member m of the previous iteration, with its fit table.

After a converged iteration (learn.stop_when_converged) the member and its fit table are copied
from the previous iteration instead of trained.
"""

import os
import shlex
import shutil
import subprocess
from pathlib import Path

from _common import setup
from amlip.io.frames import count_frames
from amlip.learning.loop import read_loop_decision
from amlip.models.device import resolve_device, use_cueq
from amlip.models.mace import epochs_for_budget, fit_table, mace_cli_args, trained_model_file

RUN_NAME = "mace_run"


def main(
    train: str,
    val: str,
    test: str,
    e0s: str,
    model: str,
    fit: str,
    *,
    settings: dict,
    budget: dict,
    finetune: dict,
    seed: int,
    device: str,
    threads: int,
    log_file: str,
    log,
    previous_model: str | None = None,
    previous_fit: str | None = None,
    previous_decision: str | None = None,
) -> None:
    """Train into ``model`` (a MACE file) and write ``fit`` (:func:`amlip.models.mace.fit_table`).

    ``budget`` is ``train.budget``: ``steps`` optimiser steps from scratch, ``warm_start_steps``
    when ``warm_start`` and a ``previous_model`` exist (iterations >= 1, not when fine-tuning a
    foundation model), at least ``min_epochs``. mace_run_train runs in ``<member>/mace_run/``
    with its output appended to the rule's log; the final model (stage two when ``swa``) is copied. ``device``
    (device.train: auto, cpu, cuda) is resolved here, in the job: training uses the GPU the job got, with
    cuEquivariance kernels when they are installed.
    """
    if previous_decision is not None:
        decision = read_loop_decision(previous_decision)
        if decision["stop_loop"]:
            shutil.copyfile(previous_model, model)
            shutil.copyfile(previous_fit, fit)
            log.info("member copied from %s: %s", previous_model, decision["decision"])
            return
    n_train = count_frames(train)
    warm = bool(budget["warm_start"] and previous_model and not finetune["foundation_model"])
    steps = budget["warm_start_steps"] if warm else budget["steps"]
    epochs = epochs_for_budget(n_train, int(settings["batch_size"]), steps, budget["min_epochs"])
    device = resolve_device(device)
    work_dir = Path(model).parent / RUN_NAME
    if work_dir.exists():  # a rerun after a failure: MACE would resume from old checkpoints
        shutil.rmtree(work_dir)
    args = mace_cli_args(
        settings,
        name=RUN_NAME,
        train_file=train,
        valid_file=val,
        test_file=test,
        e0s_file=e0s,
        work_dir=str(work_dir),
        seed=seed,
        finetune=finetune,
        max_num_epochs=epochs,
        warm_start_from=previous_model if warm else None,
        device=device,
        enable_cueq=use_cueq(device),
    )
    log.info(
        "%d training frames in batches of %s: %d epochs for >= %d optimiser steps (%s) on %s",
        n_train,
        settings["batch_size"],
        epochs,
        steps,
        f"warm start from {previous_model}" if warm else "from scratch",
        device,
    )
    command = ["mace_run_train", *shlex.split(args)]
    log.info("%s", shlex.join(command))
    env = os.environ | {"OMP_NUM_THREADS": str(threads)}
    with open(log_file, "a") as out:
        result = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, env=env)
    if result.returncode != 0:
        raise RuntimeError(f"mace_run_train exited with {result.returncode}: its output is in {log_file}")
    final = trained_model_file(work_dir, RUN_NAME)
    shutil.copyfile(final, model)
    results = sorted((work_dir / "results").glob(f"{RUN_NAME}*_train.txt"))
    start_two = (epochs // 4 * 3 if "start_swa" not in settings else int(settings["start_swa"])) if settings.get("swa") else None
    table = fit_table(results[-1], Path(log_file).read_text(), start_stage_two=start_two)
    table.to_csv(fit, index=False)
    last = table[table.final & (table.split == "train")].tail(1)
    if len(last):
        log.info(
            "model %s: train E %.1f meV/atom, F %.0f meV/Å (MACE's final error table)",
            final.name,
            last.energy_mae_meV_atom.iloc[0],
            last.force_mae_meV_A.iloc[0],
        )


if __name__ == "__main__":
    i, p = snakemake.input, snakemake.params
    previous = {k: i[k] for k in ("previous_model", "previous_fit", "previous_decision") if k in i.keys()}
    main(
        i.train,
        i.val,
        i.test,
        i.e0s,
        **snakemake.output,
        settings=p.settings,
        budget=p.budget,
        finetune=p.finetune,
        seed=p.seed,
        device=p.device,
        threads=snakemake.threads,
        log_file=snakemake.log[0],
        log=setup(snakemake),
        **previous,
    )
