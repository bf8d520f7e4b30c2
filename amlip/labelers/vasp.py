"""The ``vasp`` labeler: VASP with the AS presets, inputs written here, ``vasprun.xml`` read with ASE.

r2SCAN-D4 or vdW-DF-cx, KSPACING 0.52 1/Å, Gaussian smearing, at "high" (single points that
enter training) or "low" (AIMD exploration) accuracy. VASP runs from ``label.vasp.command`` or
``$ASE_VASP_COMMAND`` / ``$VASP_COMMAND``.
"""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Mapping

import numpy as np
from ase import Atoms

from amlip.labelers.base import ATOM_MULTIPLICITY, Labeler, SCFNotConverged, split_settings, timeout_setting

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


def build(settings: Mapping) -> Labeler:
    from ase.calculators.calculator import Calculator, all_changes

    s, run = split_settings(settings, VASP_DEFAULTS, "vasp")
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
                tags["MAGMOM"] = ATOM_MULTIPLICITY.get(self.atoms[0].symbol, 1) - 1
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

    labeler = Labeler("vasp", record, make, check=check, release=release, timeout_s=timeout_setting(run), isolated_atom=isolated)
    labeler.incar = incar
    return labeler
