"""Label efficiency of committee active learning against random selection (MIL, PROTOCOLS 2-4).

One fixed pool of frames is labelled up front by a fast reference (BKS silica through LAMMPS),
so both strategies draw from the same labelled frames: "labelling" a frame only reveals its
stored labels. Active learning starts from a seed set, trains a MACE committee, predicts the
unlabelled pool, and adds the frames with the largest committee force deviation sigma_max
(optionally thinned by SOAP k-means among the top candidates, MIL); random selection adds the
same number of frames drawn uniformly. Both train member 0 with the same seed and settings, and
are scored by its force MAE on an independent held-out set (:func:`run_label_efficiency`).
:func:`labels_to_reach` turns the two learning curves into the labels each strategy needs for
one target force MAE (log-log interpolation between rounds).

Units: forces eV/Å (MAE in meV/Å), energies eV (MAE in meV/atom), densities g/cm3, K, fs.
"""

from __future__ import annotations

import logging
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
from ase import Atoms

from amlip.io.frames import write_frames
from amlip.models.committee import SIGMA_KEY, committee_force_deviation
from amlip.models.mace import mace_cli_args
from amlip.models.metrics import error_metrics
from amlip.selection.candidates import select_diverse
from amlip.selection.split import random_selection

log = logging.getLogger(__name__)

#: active-learning pick methods: the largest sigma_max, or SOAP k-means among the largest ones
AL_METHODS = ("top_sigma", "top_sigma_soap")


@dataclass(frozen=True)
class MDCondition:
    """One state point of the reference MD: density (g/cm3) and thermostat temperature (K)."""

    density_g_cm3: float
    temperature_K: float


def reference_md_frames(
    labeler,
    conditions: Sequence[MDCondition],
    n_units: int,
    n_frames: int | Mapping[float, int],
    every: int,
    equilibration_steps: int,
    timestep_fs: float = 1.0,
    thermostat_timecon_fs: float = 50.0,
    seed: int = 0,
) -> list[Atoms]:
    """Labelled frames from reference MD at every condition, ``n_frames`` per condition.

    ``n_frames`` is one count for every condition or a mapping {temperature_K: count}, which
    gives a pool as exploration makes it: long near-equilibrium runs, short hot excursions
    (a condition whose temperature is missing from the mapping is an error). Each condition
    starts from its own random packing of ``n_units`` SiO2 units at its density (seed
    ``seed + k``), runs ``equilibration_steps`` of CSVR NVT that are thrown away (the
    packing releases several eV/atom), then keeps every ``every``-th step. Frames carry
    ``md_density_g_cm3`` and ``md_temperature_K``.
    """
    from amlip.labelers.aimd import aimd_frames
    from amlip.structures.packing import random_packing

    frames: list[Atoms] = []
    for k, condition in enumerate(conditions):
        count = frames_per_condition(n_frames, condition.temperature_K)
        if count == 0:
            continue
        start = random_packing({"SiO2": n_units}, condition.density_g_cm3, seed=seed + k)
        t0 = time.perf_counter()
        trajectory = aimd_frames(
            start,
            labeler,
            n_steps=equilibration_steps + count * every,
            temperature_K=condition.temperature_K,
            timestep_fs=timestep_fs,
            thermostat_timecon_fs=thermostat_timecon_fs,
            every=every,
            seed=seed + k,
        )
        kept = [f for f in trajectory if f.info["md_step"] > equilibration_steps]
        for frame in kept:
            frame.info["md_density_g_cm3"] = condition.density_g_cm3
            frame.info["md_temperature_K"] = condition.temperature_K
        frames.extend(kept)
        log.info(
            "reference MD %.2f g/cm3, %g K (seed %d): %d frames in %.1f s",
            condition.density_g_cm3,
            condition.temperature_K,
            seed + k,
            len(kept),
            time.perf_counter() - t0,
        )
    return frames


def frames_per_condition(n_frames: int | Mapping[float, int], temperature_K: float) -> int:
    """Frames to keep at one temperature: ``n_frames`` itself, or its entry for ``temperature_K``."""
    if not isinstance(n_frames, Mapping):
        return int(n_frames)
    for temperature, count in n_frames.items():
        if np.isclose(float(temperature), temperature_K):
            return int(count)
    raise ValueError(f"no frame count for {temperature_K:g} K in the pool composition {dict(n_frames)}")


def label_schedule(n_seed: int, n_rounds: int, growth: float = 2.0) -> list[int]:
    """Labels after each round: ``n_seed`` then multiplied by ``growth`` (rounded), strictly increasing."""
    if n_seed < 1 or n_rounds < 1 or growth <= 1.0:
        raise ValueError(f"label schedule needs n_seed >= 1, n_rounds >= 1, growth > 1; got {n_seed}, {n_rounds}, {growth}")
    counts = [int(n_seed)]
    for _ in range(n_rounds - 1):
        counts.append(max(counts[-1] + 1, int(round(counts[-1] * growth))))
    return counts


def top_sigma(sigmas: Sequence[float], n_select: int) -> np.ndarray:
    """Indices of the ``n_select`` largest sigma_max (ties: lowest index first), largest first."""
    sigmas = np.asarray(sigmas, dtype=float)
    if not np.all(np.isfinite(sigmas)):
        bad = np.flatnonzero(~np.isfinite(sigmas))
        raise ValueError(f"sigma_max is not finite for frames {bad[:10].tolist()}: the committee blew up")
    order = np.argsort(-sigmas, kind="stable")
    return order[: max(0, min(n_select, len(sigmas)))]


def pick_active(
    frames: Sequence[Atoms],
    sigmas: Sequence[float],
    n_select: int,
    method: str = "top_sigma",
    candidate_factor: float = 3.0,
    soap: Mapping | None = None,
    seed: int = 0,
) -> np.ndarray:
    """The active-learning pick: indices into ``frames`` (the unlabelled pool), sorted.

    ``top_sigma`` takes the ``n_select`` frames of largest sigma_max; ``top_sigma_soap`` takes
    the ``candidate_factor * n_select`` largest and keeps ``n_select`` of them by SOAP k-means
    (MIL's diversity pick), so that one batch does not spend its labels on near-copies.
    """
    if method not in AL_METHODS:
        raise ValueError(f"unknown active-learning method '{method}'; use one of {', '.join(AL_METHODS)}")
    if len(sigmas) != len(frames):
        raise ValueError(f"{len(sigmas)} sigma values for {len(frames)} pool frames")
    if method == "top_sigma":
        return np.sort(top_sigma(sigmas, n_select))
    candidates = top_sigma(sigmas, int(np.ceil(candidate_factor * n_select)))
    picked, _ = select_diverse([frames[i] for i in candidates], n_select, "soap_kmeans", seed=seed, soap=soap)
    return np.sort(candidates[picked])


def mace_committee_forces(model_paths: Sequence[str], frames: Sequence[Atoms], dtype: str = "float32", batch_size: int = 32):
    """Energies (eV, shape (n_models, n_frames)) and per-frame forces (list of (n_models, n_atoms, 3), eV/Å).

    Batched evaluation as ``mace_eval_configs`` does it (one forward pass per batch, no stress):
    ~10x faster than one ASE calculator call per small frame.
    """
    import torch
    from mace import data
    from mace.tools import torch_geometric, torch_tools, utils

    torch_tools.set_default_dtype(dtype)
    configs = [data.config_from_atoms(a) for a in frames]
    energies = np.zeros((len(model_paths), len(frames)))
    forces = [np.zeros((len(model_paths), len(a), 3)) for a in frames]
    for m, path in enumerate(model_paths):
        model = torch.load(f=str(path), map_location="cpu")
        for p in model.parameters():
            p.requires_grad = False
        z_table = utils.AtomicNumberTable([int(z) for z in model.atomic_numbers])
        heads = getattr(model, "heads", None)
        dataset = [data.AtomicData.from_config(c, z_table=z_table, cutoff=float(model.r_max), heads=heads) for c in configs]
        loader = torch_geometric.dataloader.DataLoader(dataset=dataset, batch_size=batch_size, shuffle=False, drop_last=False)
        start = 0
        for batch in loader:
            out = model(batch.to_dict(), compute_stress=False)
            e = torch_tools.to_numpy(out["energy"])
            f = np.split(torch_tools.to_numpy(out["forces"]), batch.ptr[1:-1].numpy())
            energies[m, start : start + len(e)] = e
            for j, fj in enumerate(f):
                forces[start + j][m] = fj
            start += len(e)
    return energies, forces


def committee_sigmas(model_paths: Sequence[str], frames: Sequence[Atoms], dtype: str = "float32") -> np.ndarray:
    """sigma_max (eV/Å) of a committee on every frame (:func:`amlip.models.committee.committee_force_deviation`)."""
    _, forces = mace_committee_forces(model_paths, frames, dtype)
    sigmas = np.array([committee_force_deviation(f) for f in forces])
    for atoms, sigma in zip(frames, sigmas):
        atoms.info[SIGMA_KEY] = float(sigma)
    return sigmas


def test_errors(model_path: str, frames: Sequence[Atoms], dtype: str = "float32", prefix: str = "bench") -> dict[str, float]:
    """Energy (meV/atom) and force (meV/Å) MAE/RMSE of one model on labelled frames (:func:`amlip.models.metrics.error_metrics`),
    plus the force MAE of the frames of each MD temperature (``force_mae_<T>K_meV_A``) where frames carry ``md_temperature_K``."""
    energies, forces = mace_committee_forces([model_path], frames, dtype)
    scored = []
    for k, atoms in enumerate(frames):
        a = atoms.copy()
        a.info[f"{prefix}_energy"] = float(energies[0, k])
        a.arrays[f"{prefix}_forces"] = forces[k][0]
        scored.append(a)
    errors = error_metrics(scored, prefix)
    temperatures = sorted({a.info["md_temperature_K"] for a in scored if "md_temperature_K" in a.info})
    for t in temperatures:
        part = [a for a in scored if a.info.get("md_temperature_K") == t]
        errors[f"force_mae_{t:g}K_meV_A"] = error_metrics(part, prefix)["force_mae_meV_A"]
    return errors


def temperature_counts(frames: Sequence[Atoms]) -> str:
    """ "300K:12 3000K:4": how many of ``frames`` come from each MD temperature (``md_temperature_K``)."""
    counts: dict[float, int] = {}
    for a in frames:
        t = a.info.get("md_temperature_K", np.nan)
        counts[t] = counts.get(t, 0) + 1
    return " ".join(f"{t:g}K:{n}" for t, n in sorted(counts.items()))


def epochs_for(n_frames: int, settings: Mapping, min_steps: int = 0) -> int:
    """Epochs that give at least ``min_steps`` optimiser steps on ``n_frames`` frames.

    An epoch is ceil(n_frames / batch_size) steps, so a fixed epoch count gives an 8-frame set
    1/32 of the updates of a 256-frame one; with ``min_steps`` small sets are trained as long,
    so a learning curve measures the data, not the training length. Never fewer than
    ``settings['max_num_epochs']``.
    """
    steps_per_epoch = int(np.ceil(n_frames / int(settings.get("batch_size", 4))))
    return max(int(settings["max_num_epochs"]), int(np.ceil(min_steps / max(steps_per_epoch, 1))))


def train_mace(
    frames: Sequence[Atoms],
    valid_file: str | os.PathLike,
    settings: Mapping,
    work_dir: str | os.PathLike,
    seed: int,
    executable: str = "mace_run_train",
    min_steps: int = 0,
) -> Path:
    """Train one MACE model with ``mace_run_train`` on ``frames``; returns the model file.

    ``settings`` are ``train.mace``-style flags; the epoch count is :func:`epochs_for`
    (``min_steps`` optimiser steps at least, patience as long). BKS has no meaningful
    isolated-atom energy (bare ions), so E0s come from ``settings`` (``E0s: average`` fits them
    to the training set). The CLI's output goes to ``work_dir/train.log``; a failure raises with
    its last lines.
    """
    work_dir = Path(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    train_file = work_dir / "train.extxyz"
    write_frames(train_file, frames)
    epochs = epochs_for(len(frames), settings, min_steps)
    settings = {**settings, "max_num_epochs": epochs, "patience": max(int(settings.get("patience", 0)), epochs)}
    args = mace_cli_args(
        settings,
        name="model",
        train_file=str(train_file),
        valid_file=str(valid_file),
        test_file=str(valid_file),
        e0s_file=str(work_dir / "no_isolated_atom_energies.json"),  # absent: E0s from settings
        work_dir=str(work_dir),
        seed=seed,
    )
    log_path = work_dir / "train.log"
    env = dict(os.environ, OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"))
    with open(log_path, "w") as out:
        done = subprocess.run(f"{executable} {args}", shell=True, stdout=out, stderr=subprocess.STDOUT, env=env)
    model = work_dir / "model.model"
    if done.returncode != 0 or not model.exists():
        tail = "".join(log_path.read_text().splitlines(keepends=True)[-15:])
        raise RuntimeError(f"mace_run_train failed in {work_dir} (exit {done.returncode}); end of {log_path}:\n{tail}")
    return model


def labels_to_reach(labels: Sequence[float], maes: Sequence[float], target: float) -> float:
    """Labels at which a learning curve first reaches ``target`` (same unit as ``maes``).

    Interpolates log(MAE) against log(labels) between the last round above the target and the
    first round at or below it (a round exactly at the target gives its own labels). Returns the
    first round's labels if it already meets the target (an upper bound), NaN if no round does.
    """
    labels = np.asarray(labels, dtype=float)
    maes = np.asarray(maes, dtype=float)
    if len(labels) != len(maes) or not len(labels):
        raise ValueError(f"labels and maes must be non-empty and equally long, got {len(labels)} and {len(maes)}")
    below = np.flatnonzero(maes <= target)
    if not len(below):
        return float("nan")
    j = int(below[0])
    if j == 0 or maes[j] == target:
        return float(labels[j])
    x0, x1 = np.log(labels[j - 1]), np.log(labels[j])
    y0, y1 = np.log(maes[j - 1]), np.log(maes[j])
    return float(np.exp(x0 + (np.log(target) - y0) * (x1 - x0) / (y1 - y0)))


def run_label_efficiency(
    pool: Sequence[Atoms],
    test: Sequence[Atoms],
    valid_file: str | os.PathLike,
    schedule: Sequence[int],
    settings: Mapping,
    work_dir: str | os.PathLike,
    n_models: int = 2,
    al_method: str = "top_sigma",
    candidate_factor: float = 3.0,
    soap: Mapping | None = None,
    seed: int = 0,
    dtype: str = "float32",
    random_extra: Sequence[int] = (),
    min_steps: int = 0,
) -> list[dict]:
    """Active learning and random selection on one labelled pool; one row per strategy and round.

    Both start from the same random seed set of ``schedule[0]`` pool frames and grow to
    ``schedule[r]`` labels after round r; random selection then goes on to the label counts in
    ``random_extra`` (so that its curve can reach the error active learning ends at). Member 0
    (seed ``seed``) is trained on each data set with the same ``settings`` (at least
    ``min_steps`` optimiser steps, :func:`epochs_for`) and scored on ``test``; active learning
    also trains members 1..n_models-1 (seeds ``seed + m``) to compute sigma_max on the
    unlabelled pool, except after its last round. Round 0 is one shared model. Rows: strategy,
    round, n_labels, n_new, force/energy MAE and RMSE (and the force MAE per test temperature),
    the mean sigma_max of the picked frames and of the pool, the temperatures of the picked
    frames and of the whole labelled set, wall time.
    """
    if n_models < 2:
        raise ValueError(f"active learning needs a committee of at least 2 models, got n_models={n_models}")
    counts = list(schedule) + list(random_extra)
    if counts != sorted(set(counts)) or counts[-1] > len(pool):
        raise ValueError(
            f"label counts {list(schedule)} then {list(random_extra)} (random only) must increase strictly "
            f"and stay within the pool of {len(pool)} frames"
        )
    work_dir = Path(work_dir)
    seed_set = random_selection(len(pool), schedule[0], seed)
    labelled = {"active": list(seed_set), "random": list(seed_set)}
    plan = [(n, ("active", "random")) for n in schedule] + [(n, ("random",)) for n in random_extra]
    last_active = len(schedule) - 1
    rows: list[dict] = []
    shared_model = None
    for r, (n_labels, strategies) in enumerate(plan):
        for strategy in strategies:
            t0 = time.perf_counter()
            extra: dict[str, object] = {
                "picked_sigma_mean_eV_A": np.nan,
                "pool_sigma_mean_eV_A": np.nan,
                "picked_temperatures_K": "",
            }
            if r > 0:
                taken = set(labelled[strategy])
                free = np.array([i for i in range(len(pool)) if i not in taken])
                n_new = n_labels - len(taken)
                if strategy == "active":
                    committee = [work_dir / "active" / f"round_{r - 1}" / f"member_{m}" / "model.model" for m in range(n_models)]
                    if r == 1:
                        committee[0] = shared_model
                    free_frames = [pool[i] for i in free]
                    sigmas = committee_sigmas(committee, free_frames, dtype)
                    chosen = pick_active(free_frames, sigmas, n_new, al_method, candidate_factor, soap, seed + r)
                    extra["picked_sigma_mean_eV_A"] = float(sigmas[chosen].mean())
                    extra["pool_sigma_mean_eV_A"] = float(sigmas.mean())
                else:
                    chosen = random_selection(len(free), n_new, seed + 1000 + r)
                new = free[chosen]
                extra["picked_temperatures_K"] = temperature_counts([pool[i] for i in new])
                labelled[strategy].extend(int(i) for i in new)
            frames = [pool[i] for i in labelled[strategy]]
            run_dir = work_dir / strategy / f"round_{r}"
            if r == 0 and shared_model is not None:
                model = shared_model
            else:
                model = train_mace(frames, valid_file, settings, run_dir / "member_0", seed, min_steps=min_steps)
            if r == 0:
                shared_model = model
            if strategy == "active" and r < last_active:
                for m in range(1, n_models):
                    train_mace(frames, valid_file, settings, run_dir / f"member_{m}", seed + m, min_steps=min_steps)
            errors = test_errors(str(model), test, dtype)
            per_temperature = {k: v for k, v in errors.items() if k.startswith("force_mae_") and k.endswith("K_meV_A")}
            rows.append(
                {
                    "strategy": strategy,
                    "round": r,
                    "n_labels": len(labelled[strategy]),
                    "n_new": len(labelled[strategy]) - (counts[r - 1] if r else 0),
                    "epochs": epochs_for(len(frames), settings, min_steps),
                    "force_mae_meV_A": errors["force_mae_meV_A"],
                    "force_rmse_meV_A": errors["force_rmse_meV_A"],
                    "energy_mae_meV_atom": errors["energy_mae_meV_atom"],
                    "n_test": errors["n_frames"],
                    **per_temperature,
                    **extra,
                    "labelled_temperatures_K": temperature_counts(frames),
                    "wall_s": round(time.perf_counter() - t0, 1),
                }
            )
            log.info(
                "%s round %d: %d labels (%s), test force MAE %.1f meV/Å (%.0f s)",
                strategy,
                r,
                rows[-1]["n_labels"],
                rows[-1]["labelled_temperatures_K"],
                rows[-1]["force_mae_meV_A"],
                rows[-1]["wall_s"],
            )
    return rows


def efficiency_ratio(table, target_meV_A: float | None = None) -> dict[str, float]:
    """Labels each strategy needs for one held-out force MAE, and their ratio random / active.

    ``table`` has the rows of :func:`run_label_efficiency`. The default target is the larger of
    the two final MAEs: the lowest error both curves reach, so neither number is extrapolated.
    Returns target_force_mae_meV_A, labels_active, labels_random, ratio_random_over_active (NaN
    where a curve never reaches the target).
    """
    curves = {s: table[table.strategy == s].sort_values("n_labels") for s in ("active", "random")}
    if any(c.empty for c in curves.values()):
        raise ValueError("efficiency_ratio needs rows of both strategies, active and random")
    if target_meV_A is None:
        target_meV_A = max(float(c.force_mae_meV_A.iloc[-1]) for c in curves.values())
    n = {s: labels_to_reach(c.n_labels, c.force_mae_meV_A, target_meV_A) for s, c in curves.items()}
    ratio = n["random"] / n["active"] if np.isfinite(n["active"]) and np.isfinite(n["random"]) else float("nan")
    return {
        "target_force_mae_meV_A": float(target_meV_A),
        "labels_active": n["active"],
        "labels_random": n["random"],
        "ratio_random_over_active": ratio,
    }
