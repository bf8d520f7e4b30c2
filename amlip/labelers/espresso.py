"""The ``espresso`` labeler: Quantum ESPRESSO pw.x through ``ase.calculators.espresso.Espresso``.

PBE with Debian's ultrasoft/PAW files for Si, O, H, 60/480 Ry, Γ, Marzari-Vanderbilt smearing.
Every pw.x output is checked for "convergence NOT achieved", QE's error message and "JOB DONE".
"""

from __future__ import annotations

import hashlib
import os
import shlex
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Mapping

import numpy as np
from ase import Atoms

from amlip.labelers.base import ATOM_MULTIPLICITY, Labeler, LabelingError, SCFNotConverged, split_settings, timeout_setting
from amlip.labelers.vasp import vasp_kpoint_mesh

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


def build(settings: Mapping) -> Labeler:
    try:
        from ase.calculators.espresso import Espresso, EspressoProfile
    except ImportError as exc:  # pragma: no cover - ASE always has it
        raise ImportError("label.backend 'espresso' needs ase>=3.23 (ase.calculators.espresso)") from exc
    s, run = split_settings(settings, ESPRESSO_DEFAULTS, "espresso")
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
        if ATOM_MULTIPLICITY.get(symbol, 1 + int(atom.numbers[0]) % 2) > 1:
            atom.set_initial_magnetic_moments([1.0])  # QE <= 7.2: fraction of polarised valence electrons
        return atom

    return Labeler("espresso", record, make, release=release, timeout_s=timeout_setting(run), isolated_atom=isolated)
