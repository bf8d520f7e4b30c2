"""The ZIF-4 crystal (ZIF paper): the 272-atom cell of Lewis et al. (CrystEngComm 2009), shipped as a CIF.

``resources/structures/ZIF-4_Lewis2009.cif`` (source in its header and in resources/structures/README.md)
holds Zn16 C96 H96 N64 in a P1 setting of the orthorhombic cell, a = 15.42, b = 15.40, c = 18.44 Å:
Zn(Im)2 with every Zn tetrahedrally bound to four imidazolate N, the cag net (Castel et al.,
Digital Discovery 3 (2024) 355 simulate this cell and its 2x2x2 supercell, 2176 atoms).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Sequence

from ase import Atoms

ZIF4_CIF = Path(__file__).resolve().parents[2] / "resources" / "structures" / "ZIF-4_Lewis2009.cif"
#: Composition of one ZIF-4 cell.
ZIF4_FORMULA = {"Zn": 16, "C": 96, "H": 96, "N": 64}


def read_cif(path: str | Path) -> Atoms:
    """A crystal from a CIF (P1 or with symmetry), without ASE's warning about triclinic P1 settings."""
    import ase.io

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"CIF {path} does not exist")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        atoms = ase.io.read(path, format="cif")
    atoms.info.pop("spacegroup", None)
    return atoms


def zif4_crystal(supercell: Sequence[int] = (1, 1, 1), cif: str | Path = ZIF4_CIF) -> Atoms:
    """The ZIF-4 crystal (272 atoms per cell) repeated ``supercell`` times (ZIF: 2x2x2 = 2176 atoms).

    Raises ValueError when the CIF does not hold Zn16 C96 H96 N64 per cell (a wrong or partial file).
    """
    from collections import Counter

    atoms = read_cif(cif)
    found = dict(Counter(atoms.get_chemical_symbols()))
    if found != ZIF4_FORMULA:
        raise ValueError(f"{cif} holds {found}, not the ZIF-4 cell {ZIF4_FORMULA}")
    atoms.wrap()
    return atoms.repeat(tuple(int(n) for n in supercell))
