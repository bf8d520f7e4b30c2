"""AIMD as exploration (rule run_aimd): NVT MD with the reference method, written as labelled frames.

:func:`aimd_frames` runs in-process labelers (xtb, lammps) with Bussi velocity rescaling;
:func:`run_aimd` also drives CP2K (:func:`amlip.labelers.cp2k.run_cp2k_md`) and writes the
manifest :func:`amlip.io.importers.import_sources` reads.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Iterator, Mapping

import numpy as np
from ase import Atoms

from amlip.io.frames import REF_ENERGY, REF_FORCES, REF_STRESS, label_problem
from amlip.io.lot import stamp_level_of_theory
from amlip.labelers.base import RUN_SETTINGS, Labeler, LabelingError, strip_labels
from amlip.labelers.cp2k import run_cp2k_md
from amlip.labelers.registry import make_labeler

log = logging.getLogger(__name__)


def aimd_frames(
    atoms: Atoms,
    labeler: Labeler,
    n_steps: int,
    temperature_K: float,
    *,
    timestep_fs: float,
    thermostat_timecon_fs: float,
    every: int = 1,
    seed: int = 0,
) -> Iterator[Atoms]:
    """NVT AIMD with the labeler's own calculator (in process: xtb, lammps), as labelled frames.

    Velocity rescaling (Bussi CSVR thermostat, time constant ``thermostat_timecon_fs``; ZIF:
    1000 fs, dt 0.5 fs), Maxwell-Boltzmann start at ``temperature_K``. Yields every ``every``-th
    step (step 0 included) with ``REF_*`` from that step's own evaluation, the labeler's level of
    theory and ``md_step``: the frames :func:`amlip.io.frames.write_stream` stores, exactly as an
    imported CP2K trajectory (use :func:`run_cp2k_md` for CP2K). A failure of the calculator (an
    SCF that does not converge, step 0 included) or a label that is not finite stops the run with
    :class:`LabelingError` naming the step; the frames yielded before it are good.
    """
    from ase.md.velocitydistribution import MaxwellBoltzmannDistribution, Stationary

    from amlip.md.integrators import make_integrator

    system = atoms.copy()
    strip_labels(system)
    rng = np.random.default_rng(seed)
    MaxwellBoltzmannDistribution(system, temperature_K=temperature_K, rng=rng)
    Stationary(system)
    calc = labeler.make_calculator(system)
    system.calc = calc
    dyn = make_integrator(system, "csvr", temperature_K, timestep_fs, rng=rng, taut_fs=thermostat_timecon_fs)
    with_stress = labeler.compute_stress and system.pbc.all()
    try:
        for step in range(n_steps + 1):
            try:
                if step:
                    dyn.run(1)
                if step % every:
                    continue
                frame = Atoms(system.numbers, positions=system.positions, cell=system.cell, pbc=system.pbc)
                frame.info[REF_ENERGY] = float(system.get_potential_energy())
                frame.arrays[REF_FORCES] = np.array(system.get_forces())
                if with_stress:
                    frame.info[REF_STRESS] = np.array(system.get_stress(voigt=True))
            except Exception as exc:  # step 0 too: its single point starts the run
                raise LabelingError(f"AIMD step {step} of {n_steps}: {type(exc).__name__}: {exc}") from exc
            problem = label_problem(frame)
            if problem is not None:
                raise LabelingError(f"AIMD step {step} of {n_steps}: non-finite label: {problem}")
            frame.info["md_step"] = step
            frame.info["temperature_K"] = round(float(system.get_temperature()), 2)
            frame.info["scf_converged"] = True
            stamp_level_of_theory(frame, labeler.level_of_theory)
            yield frame
    finally:
        labeler.release(calc)


AIMD_BACKENDS = ("xtb", "cp2k")


def _failure_message(error: Exception, n_kept: int, frames_on_failure: str | os.PathLike | None) -> str:
    """The error of a failed AIMD run, with where its frames went."""
    if frames_on_failure is None or not n_kept:
        return f"{error}; no frames kept"
    return f"{error}; the {n_kept} frames computed before it are in {frames_on_failure}"


def _keep_cp2k_frames(cp2k_dir: Path, atoms: Atoms, record: Mapping, out: str | os.PathLike | None, every: int) -> int:
    """The frames a failed CP2K AIMD run wrote in ``cp2k_dir`` (every ``every``-th, up to the first it
    did not finish) as labelled frames in ``out``; returns how many."""
    from amlip.io.frames import write_stream
    from amlip.io.importers import iter_cp2k_md

    pos = cp2k_dir / "md-pos-1.xyz"
    if out is None or not pos.exists():
        return 0

    def readable():
        frames = iter_cp2k_md(pos, record, ener_path=cp2k_dir / "md-1.ener", cell=np.asarray(atoms.cell))
        try:
            for k, frame in enumerate(frames):
                if k % every == 0:
                    yield frame
        except (ValueError, FileNotFoundError) as error:  # the step CP2K was writing when it stopped
            log.warning("kept the CP2K frames before: %s", error)

    return write_stream(out, readable())


def run_aimd(
    atoms: Atoms,
    directory: str | os.PathLike,
    backend: str,
    settings: Mapping | None = None,
    *,
    n_steps: int,
    temperature_K: float,
    timestep_fs: float,
    thermostat_timecon_fs: float,
    sample_every: int = 1,
    seed: int = 0,
    frames_on_failure: str | os.PathLike | None = None,
    log: logging.Logger | None = None,
) -> dict:
    """Run NVT AIMD from ``atoms`` in ``directory`` as exploration; return the run's manifest.

    ``backend`` ``xtb`` (small runs): :func:`aimd_frames` in process (Bussi velocity rescaling),
    every ``sample_every``-th step streamed to ``trajectory.extxyz`` with its labels.
    ``cp2k``: :func:`run_cp2k_md` (NVT, CSVR velocity rescaling) with ``settings`` (the AIMD
    'low' settings over the CP2K preset); CP2K prints every step, the importer thins.
    The manifest (also written to ``run.json``) names the files, their ``format`` for
    :func:`amlip.io.importers.iter_source`, the level of theory, the cell and ``every``; units are
    K, fs. Progress goes to ``log`` every frame (xtb) or at start and end (cp2k).
    When the run fails, the labelled frames computed before the failure go to the extended-XYZ
    file ``frames_on_failure`` (outside ``directory``, which Snakemake removes when the job
    fails) and :class:`LabelingError` names the step and that file.
    """
    import json

    from amlip.io.frames import write_stream

    log = log or logging.getLogger(__name__)
    if backend not in AIMD_BACKENDS:
        raise KeyError(f"aimd.backend '{backend}' is not one of {list(AIMD_BACKENDS)}")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    settings = dict(settings or {})
    md = dict(n_steps=int(n_steps), temperature_K=float(temperature_K), timestep_fs=float(timestep_fs),
              thermostat_timecon_fs=float(thermostat_timecon_fs))  # fmt: skip
    start = time.perf_counter()
    if frames_on_failure is not None:
        Path(frames_on_failure).unlink(missing_ok=True)  # an earlier failure's frames
    if backend == "xtb":
        labeler = make_labeler(backend, settings)
        done = []

        def progress(frames):
            for frame in frames:
                log.info("AIMD step %d/%d: E = %.4f eV, T = %.0f K, %.1f s", frame.info["md_step"], n_steps,
                         frame.info[REF_ENERGY], frame.info["temperature_K"], time.perf_counter() - start)  # fmt: skip
                done.append(frame.info["md_step"])
                yield frame

        frames = aimd_frames(atoms, labeler, every=int(sample_every), seed=seed, **md)
        try:
            n_frames = write_stream(directory / "trajectory.extxyz", progress(frames), partial=frames_on_failure)
        except Exception as error:
            raise LabelingError(_failure_message(error, len(done), frames_on_failure)) from error
        manifest = {"format": "extxyz", "path": "trajectory.extxyz", "every": 1, "n_frames": n_frames}
    else:
        labeler = make_labeler("cp2k", settings)  # its record; cp2k_shell reports the version
        log.info("CP2K AIMD: %d steps of %.2f fs at %.0f K in %s", n_steps, timestep_fs, temperature_K, directory)
        try:
            run = run_cp2k_md(atoms, directory / "cp2k", settings, seed=int(seed), **md)
            if run["n_scf_not_converged"]:
                raise LabelingError(
                    f"CP2K AIMD in {directory / 'cp2k'}: {run['n_scf_not_converged']} MD steps with 'SCF run NOT converged' "
                    "in md.out; their frames would be wrong labels. Tighten aimd.settings (max_scf, smearing_K, mixing)."
                )
        except Exception as error:
            kept = _keep_cp2k_frames(directory / "cp2k", atoms, labeler.level_of_theory, frames_on_failure, int(sample_every))
            raise LabelingError(_failure_message(error, kept, frames_on_failure)) from error
        paths = {k: str(Path(v).relative_to(directory)) for k, v in run.items() if k.endswith("_path")}
        manifest = {"format": "cp2k", **paths, "every": int(sample_every), "n_frames": n_steps // int(sample_every) + 1}
        log.info("CP2K AIMD done in %.0f s", time.perf_counter() - start)
    manifest.update(
        backend=backend,
        # the settings of the level of theory, which amlip.config.check_level_of_theory compares with the config
        settings={key: value for key, value in settings.items() if key not in RUN_SETTINGS},
        level_of_theory=labeler.level_of_theory,
        lot_hash=labeler.lot_hash,
        cell=np.asarray(atoms.cell).tolist(),
        wall_s=round(time.perf_counter() - start, 2),
        **md,
        sample_every=int(sample_every),
        seed=int(seed),
    )
    (directory / "run.json").write_text(json.dumps(manifest, indent=2))
    return manifest
