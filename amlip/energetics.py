"""Reaction and adsorption energetics (PROTOCOLS 6): dehydrogenation by OH site (AS), heat of adsorption (MIL).

Energies in eV (per cell), temperatures in K, areas in Å^2; heats of adsorption also in kJ/mol.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from ase import Atoms, units
from ase.neighborlist import neighbor_list

EV_TO_KJ_MOL = units.eV / (units.kJ / units.mol)


def classify_oh_sites(atoms: Atoms, formers: Sequence[str] = ("Si", "Al"), oh_cutoff: float = 1.2, to_cutoff: float = 2.0):
    """Every hydroxyl of a structure with its site type (AS).

    An OH is an H within ``oh_cutoff`` (Å) of an O; the O's formers (T atoms within ``to_cutoff``)
    give the type: ``single Si`` / ``single Al`` (one T, the only OH on it), ``geminal Si`` /
    ``geminal Al`` (one T that carries two or more OH), ``bridging Si-Si``, ``bridging Si-Al``,
    ``bridging Al-Al`` (two T, named in the order of ``formers``).
    Returns a DataFrame with h_index, o_index, t_indices and site.
    """
    import pandas as pd

    symbols = np.array(atoms.get_chemical_symbols())
    i, j, d = neighbor_list("ijd", atoms, max(oh_cutoff, to_cutoff))
    hydroxyls = {}
    for h, o, dist in zip(i, j, d):
        if symbols[h] == "H" and symbols[o] == "O" and dist < oh_cutoff:
            if h not in hydroxyls or dist < hydroxyls[h][1]:
                hydroxyls[h] = (o, dist)
    t_of_o: dict[int, list[int]] = {}
    for o, t, dist in zip(i, j, d):
        if symbols[o] == "O" and symbols[t] in formers and dist < to_cutoff:
            t_of_o.setdefault(int(o), []).append(int(t))
    oh_per_t: dict[int, int] = {}
    for o, _ in hydroxyls.values():
        for t in set(t_of_o.get(int(o), [])):
            oh_per_t[t] = oh_per_t.get(t, 0) + 1
    order = {s: k for k, s in enumerate(formers)}
    rows = []
    for h, (o, _) in sorted(hydroxyls.items()):
        ts = sorted(set(t_of_o.get(int(o), [])), key=lambda t: (order[symbols[t]], t))
        if len(ts) == 1:
            kind = "geminal" if oh_per_t[ts[0]] >= 2 else "single"
            site = f"{kind} {symbols[ts[0]]}"
        elif len(ts) == 2:
            site = "bridging " + "-".join(symbols[t] for t in ts)
        else:
            site = f"{len(ts)}-coordinated O"
        rows.append({"h_index": int(h), "o_index": int(o), "t_indices": " ".join(map(str, ts)), "site": site})
    return pd.DataFrame(rows, columns=["h_index", "o_index", "t_indices", "site"])


def dehydrogenation_energy(e_oh: float | np.ndarray, e_o_star: float | np.ndarray, e_h: float) -> float | np.ndarray:
    """E_dehydrogenation = E(pore-O*) + E(H) - E(pore-OH) in eV (AS; E(H) from the reference code)."""
    return np.asarray(e_o_star) + e_h - np.asarray(e_oh)


def dehydrogenation_by_site(sites: Sequence[str], e_oh: Sequence[float], e_o_star: Sequence[float], e_h: float):
    """Mean, std and count of dehydrogenation energies (eV) per site type (AS)."""
    import pandas as pd

    table = pd.DataFrame({"site": list(sites), "E_dehydrogenation_eV": dehydrogenation_energy(e_oh, e_o_star, e_h)})
    grouped = table.groupby("site").E_dehydrogenation_eV
    return pd.DataFrame({"mean_eV": grouped.mean(), "std_eV": grouped.std(ddof=1), "count": grouped.size()}).reset_index()


def surface_oh_density(n_oh: int, surface_area_A2: float) -> float:
    """Surface OH density in OH per nm^2 (1 nm^2 = 100 Å^2)."""
    if surface_area_A2 <= 0:
        raise ValueError(f"surface area must be positive, got {surface_area_A2} Å^2")
    return 100.0 * n_oh / surface_area_A2


def heat_of_adsorption(
    e_host_guest: Sequence[float], e_host: Sequence[float], e_guest: Sequence[float], temperature_K: float, n_guests: int = 1
) -> dict[str, float]:
    """Heat of adsorption Q = <E(host+guest)> - <E(host)> - <E(guest)> - RT per guest (MIL).

    Energies are total energies (eV) of MD samples: host with ``n_guests`` molecules, empty host,
    one isolated guest. Negative Q means exothermic adsorption. Returns eV and kJ/mol.
    """
    interaction = (np.mean(e_host_guest) - np.mean(e_host) - n_guests * np.mean(e_guest)) / n_guests
    q_ev = float(interaction - units.kB * temperature_K)
    return {"Q_eV": q_ev, "Q_kJ_mol": q_ev * EV_TO_KJ_MOL}
