"""Two levels of theory on the same frames compared (rule merge_relabel; AS compares functionals)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

import numpy as np
from ase import Atoms

from amlip.io.frames import REF_ENERGY, REF_FORCES, REF_STRESS
from amlip.io.lot import LOT_HASH_KEY
from amlip.labelers.base import previous_label_prefix

if TYPE_CHECKING:
    import pandas as pd

#: Columns of the per-frame comparison of two levels of theory (:func:`compare_levels`).
COMPARISON_COLUMNS = [
    "frame_index",
    "formula",
    "n_atoms",
    "old_lot_hash",
    "new_lot_hash",
    "old_energy_eV_atom",
    "new_energy_eV_atom",
    "force_mae_meV_A",
    "force_rmse_meV_A",
    "stress_mae_GPa",
]


def compare_levels(frames: Sequence[Atoms]) -> tuple["pd.DataFrame", "pd.DataFrame"]:
    """Per-frame and per-level-pair differences between the labels of relabelled frames.

    Each frame (output of :func:`amlip.labelers.base.relabel` with ``keep_previous``) has the new level in
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
            frame_index=int(atoms.info.get("frame_index", k)),
            formula=atoms.get_chemical_formula(),
            n_atoms=n,
            old_lot_hash=old,
            new_lot_hash=new,
            old_energy_eV_atom=float(atoms.info[f"{prefix}_energy"]) / n,
            new_energy_eV_atom=float(atoms.info[REF_ENERGY]) / n,
            force_mae_meV_A=np.nan,
            force_rmse_meV_A=np.nan,
            stress_mae_GPa=np.nan,
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
        summary.append(
            dict(
                old_lot_hash=old,
                new_lot_hash=new,
                n_frames=len(group),
                energy_offset_eV_atom=float(diff.mean()),
                n_compositions=len(group.formula.unique()),
                energy_mae_meV_atom=float(np.abs(centred).mean()),
                energy_rmse_meV_atom=float(np.sqrt((centred**2).mean())),
                force_mae_meV_A=float(np.abs(d).mean()),
                force_rmse_meV_A=float(np.sqrt((d**2).mean())),
                stress_mae_GPa=float(group.stress_mae_GPa.mean()),
            )
        )
    return table, pd.DataFrame(summary)
