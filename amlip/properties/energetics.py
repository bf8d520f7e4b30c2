"""Reaction and adsorption energetics (PROTOCOLS 6): dehydrogenation by OH site (AS), heat of adsorption (MIL).

Energies in eV (per cell), temperatures in K, areas in Å^2; heats of adsorption also in kJ/mol.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
from ase import Atoms, units
from ase.neighborlist import neighbor_list

from amlip.structures.functionalize import surface_oh_density

EV_TO_KJ_MOL = units.eV / (units.kJ / units.mol)


def classify_oh_sites(atoms: Atoms, formers: Sequence[str] = ("Si", "Al"), oh_cutoff: float = 1.2, to_cutoff: float = 2.0):
    """Every hydroxyl of a structure with its site type (AS).

    An OH is an H within ``oh_cutoff`` (Å) of an O; the O's formers (T atoms within ``to_cutoff``)
    give the type: ``single Si`` / ``single Al`` (one T, the only OH on it), ``geminal Si`` /
    ``geminal Al`` (one T that carries two or more OH), ``bridging Si-Si``, ``bridging Si-Al``,
    ``bridging Al-Al`` (two T, named in the order of ``formers``); an O with no T (an OH radical or
    water fragment left by MD) is ``O without former``, three or more T ``<n>-coordinated O``.
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
        elif not ts:
            site = "O without former"
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


def hydrogen_atom_energy(calculator, box_A: float = 20.0) -> float:
    """E(H) in eV: a single H atom alone in a periodic ``box_A`` cube (for an ML potential, its H reference)."""
    atom = Atoms("H", positions=[[box_A / 2] * 3], cell=[box_A] * 3, pbc=True)
    atom.calc = calculator
    return float(atom.get_potential_energy())


def dehydrogenation_energies(
    atoms: Atoms,
    calculator=None,
    formers: Sequence[str] = ("Si", "Al"),
    max_sites: int | None = None,
    e_h: float | None = None,
    energy: Callable[[Atoms], float] | None = None,
):
    """Dehydrogenation energy of every hydroxyl of a pore cell by single points (AS, unrelaxed O*).

    E(pore-OH) is the energy of ``atoms``; E(pore-O*) that of the same cell without the OH's H;
    E(H) :func:`hydrogen_atom_energy` unless ``e_h`` is given. All with ``calculator`` (eV), or
    with ``energy(atoms) -> eV`` instead (e.g. a reference labeler's single point).
    ``max_sites`` keeps that many hydroxyls, evenly spread over the list (all by default).
    Returns the per-site table of :func:`classify_oh_sites` with ``E_dehydrogenation_eV`` added.
    """
    if energy is None:
        if calculator is None:
            raise ValueError("dehydrogenation_energies needs a calculator or an energy function")

        def energy(frame: Atoms) -> float:
            frame = frame.copy()
            frame.calc = calculator
            return float(frame.get_potential_energy())

    sites = classify_oh_sites(atoms, formers)
    if sites.empty:
        raise ValueError(f"no hydroxyl in the structure ({atoms.get_chemical_formula()}): nothing to dehydrogenate")
    if max_sites and len(sites) > max_sites:
        sites = sites.iloc[np.linspace(0, len(sites) - 1, max_sites).round().astype(int)].reset_index(drop=True)
    e_oh = energy(atoms)
    if e_h is None:
        if calculator is None:
            raise ValueError("dehydrogenation_energies with an energy function needs e_h (eV)")
        e_h = hydrogen_atom_energy(calculator)
    e_o_star = []
    for h in sites.h_index:
        radical = atoms.copy()
        del radical[int(h)]
        e_o_star.append(energy(radical))
    sites["E_pore_OH_eV"] = e_oh
    sites["E_pore_O_star_eV"] = e_o_star
    sites["E_H_eV"] = float(e_h)
    sites["E_dehydrogenation_eV"] = dehydrogenation_energy(e_oh, np.array(e_o_star), float(e_h))
    return sites


def dehydrogenation_errors(reference, model) -> dict[str, float]:
    """A model's dehydrogenation energies against the reference's, site by site (AS model choice).

    Both tables come from :func:`dehydrogenation_energies` on the same structure; sites are
    matched by ``h_index`` (a site missing from ``model`` is an error). Returns the mean
    reference and model energies, the MAE and the largest absolute error over sites (eV), and
    the site count.
    """
    ref = reference.set_index("h_index").E_dehydrogenation_eV
    mod = model.set_index("h_index").E_dehydrogenation_eV
    missing = sorted(set(ref.index) - set(mod.index))
    if missing:
        raise ValueError(f"the model's dehydrogenation table lacks the hydroxyls with H index {missing}")
    diff = (mod.reindex(ref.index) - ref).abs()
    return {
        "reference_mean_eV": float(ref.mean()),
        "model_mean_eV": float(mod.reindex(ref.index).mean()),
        "mae_eV": float(diff.mean()),
        "max_abs_error_eV": float(diff.max()),
        "n_sites": int(len(ref)),
    }


def pore_summary(
    atoms: Atoms,
    pore_radius_A: float,
    probe_radius_A: float = 1.2,
    grid_spacing_A: float = 0.2,
    formers: Sequence[str] = ("Si", "Al"),
) -> dict:
    """Surface OH density and pore volume of a functionalized pore cell (AS validation).

    OH per nm^2 over the nominal cylinder wall 2 pi R c (:func:`amlip.structures.functionalize.oh_density_per_nm2`)
    and over the probe-accessible surface (:func:`amlip.properties.porosity.accessible_surface_area`), and the
    probe-centre pore volume (:func:`amlip.properties.porosity.pore_volume_grid`, Å^3, fraction, cm3/g).
    """
    from amlip.properties.porosity import accessible_surface_area, pore_volume_grid
    from amlip.structures.functionalize import oh_density_per_nm2

    nominal = oh_density_per_nm2(atoms, pore_radius_A, formers)
    area = accessible_surface_area(atoms, probe_radius_A)
    volume = pore_volume_grid(atoms, probe_radius_A, grid_spacing_A)
    return {
        "formula": atoms.get_chemical_formula(),
        "n_atoms": len(atoms),
        **nominal,
        "accessible_surface_A2": area,
        "OH_per_nm2_accessible": surface_oh_density(nominal["n_OH"], area) if area > 0 else float("nan"),
        **volume,
    }
