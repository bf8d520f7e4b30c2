"""The ``cp2k`` labeler and CP2K AIMD: Quickstep through ``ase.calculators.cp2k.CP2K``.

Single points use the ``cp2k_shell`` protocol with the MIL preset by default: PBE-D3,
DZVP-MOLOPT-SR-GTH, GTH-PBE, 600 Ry / rel. 50 Ry, 4 grids, Γ point. The CP2K output of every
single point is checked for "SCF run NOT converged", because CP2K returns an energy and forces
from an unconverged SCF without any error. :func:`run_cp2k_md` runs NVT AIMD (CSVR) with the
same electronic structure and prints what :func:`amlip.io.importers.iter_cp2k_md` reads.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Mapping

from ase import Atoms
from ase.units import Rydberg

from amlip.labelers.base import ATOM_MULTIPLICITY, RUN_SETTINGS, Labeler, SCFNotConverged, split_settings, timeout_setting

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
    lines = [
        "&FORCE_EVAL",
        " &DFT",
        "  &MGRID",
        f"   NGRIDS {int(s['ngrids'])}",
        f"   REL_CUTOFF [Ry] {float(s['rel_cutoff_Ry'])}",
        "  &END MGRID",
    ]
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


def build(settings: Mapping) -> Labeler:
    try:
        from ase.calculators.cp2k import CP2K
    except ImportError as exc:  # pragma: no cover - ASE always has it
        raise ImportError("label.backend 'cp2k' needs ase>=3.23 (ase.calculators.cp2k)") from exc
    s, run = split_settings(settings, CP2K_DEFAULTS, "cp2k")
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
            spin = {"uks": True, "multiplicity": ATOM_MULTIPLICITY.get(atoms[0].symbol, 1 + n_electrons % 2)}
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

    return Labeler("cp2k", record, make, check=check, release=release, timeout_s=timeout_setting(run), isolated_atom=isolated)


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

    s, _ = split_settings(settings or {}, CP2K_DEFAULTS, "cp2k")
    periodic = bool(atoms.pbc.all())
    root = parse_input(cp2k_input(s))
    # CP2K aborts on SEED 0 ("First seed = 0"): pipeline seeds start at 0, so shift by one
    for line in (f"PROJECT {project}", "RUN_TYPE MD", "PRINT_LEVEL LOW", f"SEED {int(seed) + 1}"):
        root.add_keyword("GLOBAL", line)
    md = "MOTION/MD"
    for line in (
        "ENSEMBLE NVT",
        f"STEPS {int(n_steps)}",
        f"TIMESTEP {float(timestep_fs)}",
        f"TEMPERATURE {float(temperature_K)}",
    ):
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


#: ZIF preset (Castel et al. 2024, "following the protocol established in earlier work": the CP2K input
#: of Gaillac et al., Nature Mater. 2017, fxcoudert/citable-data folder 091): PBE-D3, GTH pseudopotentials,
#: 600 Ry / rel. 40 Ry on 4 grids, EPS_SCF 1e-5, MAX_SCF 200, Pulay mixing 0.5, no smearing. That input gives
#: C, H, N the DZVP-GTH-PBE basis and Zn DZVP-MOLOPT-SR-GTH, minimises with OT/DIIS and gives H the mass of
#: deuterium; the labeler takes one basis family (DZVP-MOLOPT-SR-GTH for every element) and diagonalises.
CP2K_ZIF = {
    **CP2K_DEFAULTS,
    "cutoff_Ry": 600.0,
    "rel_cutoff_Ry": 40.0,
    "ngrids": 4,
    "eps_scf": 1e-5,
    "max_scf": 200,
    "smearing_K": 0.0,
    "mixing": "PULAY_MIXING",
    "mixing_alpha": 0.5,
    "added_mos": 0,
}
#: ZIF AIMD as exploration: liquids at 1500 and 1750 K, NVT with CSVR (1000 fs), dt 0.5 fs, > 50 ps each.
ZIF_AIMD = {"temperatures_K": (1500.0, 1750.0), "timestep_fs": 0.5, "thermostat_timecon_fs": 1000.0, "min_duration_ps": 50.0}
