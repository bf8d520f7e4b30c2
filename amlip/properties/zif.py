"""ZIF validation tables (ZIF paper, Castel et al., Digital Discovery 3 (2024) 355): the analyses follow the linker.

Each function takes frames (a glass trajectory or a crystal) and the ``zif`` config block and returns
pandas DataFrames:

- :func:`coordination_table`: Zn-N coordination numbers (cutoff 2.5 Å, the paper's, from the Zn-N PMF);
- :func:`ring_table`: primitive rings of the Zn-Im-Zn network (Zn nodes; a Zn-Im ring has twice as
  many members, the paper's counting: 8/12/16 in the crystal = 4/6/8 Zn);
- :func:`angle_table`: N-Zn-N, Zn-Im-Zn (at the imidazolate ring centroid) and Zn...Zn...Zn
  (network) angle distributions with their angular PMF;
- :func:`rdf_table`: Zn-N and Zn-Zn partial RDFs with their PMF F(r) = -kT (ln g - ln g_max);
- :func:`pore_table`: total pore volume (accessible + pockets) with the paper's 1.2 Å He probe, in
  cm3/kg as the paper reports it (crystal 54, MLP glass 61, AIMD glass 68 cm3/kg with Zeo++);
- :func:`summary_table`: one row per property for reports and comparisons.

Angular PMF: F(theta) = -kT ln[P(theta) / sin(theta)] shifted to zero at its minimum (kJ/mol).
Dividing by sin(theta) removes the Jacobian of random directions, so a flat F means no angular
preference, the analogue of g(r) for distances (our choice: the paper does not state it).
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
from ase import Atoms
from ase.units import kB, kJ, mol

from amlip.properties.linkers import metal_graph, metal_linker_angles, metal_links, network_angles
from amlip.properties.rings import primitive_rings
from amlip.properties.structure import bond_angles, partial_rdf, tail

EV_TO_KJ_MOL = 1.0 / (kJ / mol)


def _links(atoms: Atoms, s: Mapping):
    return metal_links(
        atoms,
        metal=s["metal"],
        donor=s["donor"],
        metal_cutoff_A=s["metal_cutoff_A"],
        cutoffs=s["bond_cutoffs_A"],
        elements=s["linker"]["elements"],
    )


def zn_graph(atoms: Atoms, s: Mapping):
    """The periodic Zn-Zn graph through linkers ({Zn: [(Zn, image shift), ...]}) and its links."""
    links = _links(atoms, s)
    metals = [i for i, sym in enumerate(atoms.get_chemical_symbols()) if sym == s["metal"]]
    return metal_graph(links, metals), links


def coordination_table(frames: Sequence[Atoms], s: Mapping):
    """Fraction of metals with each number of donor neighbours within ``metal_cutoff_A``, averaged over frames; ``mean`` row last."""
    import pandas as pd

    from amlip.properties.structure import coordination_counts, mean_coordination

    per_frame = [coordination_counts(a, s["metal"], s["donor"], s["metal_cutoff_A"]) for a in frames]
    numbers = sorted({n for counts in per_frame for n in counts})
    rows = [{"coordination": n, "fraction": float(np.mean([c.get(n, 0.0) for c in per_frame]))} for n in numbers]
    mean = float(np.mean([mean_coordination(a, s["metal"], s["donor"], s["metal_cutoff_A"]) for a in frames]))
    rows.append({"coordination": "mean", "fraction": mean})
    return pd.DataFrame(rows)


def ring_table(frames: Sequence[Atoms], s: Mapping):
    """Primitive ring statistics of the Zn-Im-Zn network averaged over frames.

    Columns: ``ring_size`` (Zn per ring), ``ring_size_zn_im`` (Zn + Im members, the paper's
    counting), ``rings_per_cell`` (per frame), ``rings_per_metal`` and ``fraction`` of all rings.
    Sizes up to ``rings.max_size`` Zn (the paper searched to 32 Zn-Im members = 16 Zn).
    """
    import pandas as pd

    max_size = int(s["rings"]["max_size"])
    counts = np.zeros(max_size + 1)
    n_metals = 0
    for atoms in frames:
        graph, _ = zn_graph(atoms, s)
        n_metals += len(graph)
        for ring in primitive_rings(graph, max_size):
            counts[len(ring)] += 1
    if n_metals == 0:
        raise ValueError(f"no {s['metal']} atoms in the frames")
    sizes = np.arange(3, max_size + 1)
    n = counts[3:]
    return pd.DataFrame(
        {
            "ring_size": sizes,
            "ring_size_zn_im": 2 * sizes,
            "rings_per_cell": n / len(frames),
            "rings_per_metal": n / n_metals,
            "fraction": n / n.sum() if n.sum() else np.zeros_like(n),
        }
    )


def angular_pmf(theta_deg: np.ndarray, p: np.ndarray, temperature_K: float) -> np.ndarray:
    """F(theta) = -kT ln[P(theta) / sin(theta)] in kJ/mol, zero at its minimum; +inf where P = 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        w = p / np.sin(np.radians(theta_deg))
        f = -kB * temperature_K * np.log(w) * EV_TO_KJ_MOL
    finite = np.isfinite(f)
    return f - f[finite].min() if finite.any() else f


def _distribution(angles: np.ndarray, bins: int) -> tuple[np.ndarray, np.ndarray]:
    hist, edges = np.histogram(angles, bins=bins, range=(0.0, 180.0), density=len(angles) > 0)
    return 0.5 * (edges[1:] + edges[:-1]), hist


def angle_table(frames: Sequence[Atoms], s: Mapping):
    """Distributions (probability density per degree) and angular PMFs (kJ/mol) of N-Zn-N, Zn-Im-Zn and Zn...Zn...Zn.

    Returns (table, means): the table has ``angle_deg`` and ``P_<name>``, ``F_<name>_kJ_mol`` per angle;
    ``means`` maps each name to (mean, std) in degrees.
    """
    import pandas as pd

    metal, donor = s["metal"], s["donor"]
    found = {f"{donor}-{metal}-{donor}": [], f"{metal}-Im-{metal}": [], f"{metal}-{metal}-{metal}": []}
    for atoms in frames:
        graph, links = zn_graph(atoms, s)
        found[f"{donor}-{metal}-{donor}"].append(bond_angles(atoms, metal, donor, s["metal_cutoff_A"]))
        found[f"{metal}-Im-{metal}"].append(metal_linker_angles(atoms, links))
        found[f"{metal}-{metal}-{metal}"].append(network_angles(atoms, graph))
    table, means = None, {}
    for name, parts in found.items():
        angles = np.concatenate(parts) if parts else np.array([])
        theta, p = _distribution(angles, int(s["angles"]["bins"]))
        if table is None:
            table = pd.DataFrame({"angle_deg": theta})
        key = name.replace("-", "")
        table[f"P_{key}"] = p
        table[f"F_{key}_kJ_mol"] = angular_pmf(theta, p, s["temperature_K"]) if len(angles) else np.nan
        means[name] = (float(angles.mean()), float(angles.std())) if len(angles) else (np.nan, np.nan)
    return table, means


def rdf_table(frames: Sequence[Atoms], s: Mapping):
    """Zn-N and Zn-Zn partial g(r) and their PMF F(r) = -kT (ln g - ln g_max) in kJ/mol (ZIF Fig. 4, 6)."""
    import pandas as pd

    from amlip.properties.structure import potential_of_mean_force

    metal, donor = s["metal"], s["donor"]
    table = None
    for a, b in ((metal, donor), (metal, metal)):
        r, g = partial_rdf(frames, a, b, s["rdf"]["r_max_A"], s["rdf"]["bins"])
        if table is None:
            table = pd.DataFrame({"r_A": r})
        table[f"g_{a}{b}"] = g
        table[f"F_{a}{b}_kJ_mol"] = potential_of_mean_force(g, s["temperature_K"]) * EV_TO_KJ_MOL if g.any() else np.inf
    return table


def pore_table(frames: Sequence[Atoms], s: Mapping):
    """Total pore volume per frame with a probe (ZIF: He, 1.2 Å): Å^3, fraction of the cell and cm3/kg."""
    import pandas as pd

    from amlip.properties.porosity import pore_volume_grid

    opts = s["pores"]
    rows = []
    for k, atoms in enumerate(frames):
        grid = pore_volume_grid(atoms, opts["probe_radius_A"], opts["grid_spacing_A"], opts["radii"] or None)
        rows.append(
            {
                "frame": k,
                "probe_radius_A": opts["probe_radius_A"],
                "pore_volume_A3": grid["pore_volume_A3"],
                "pore_fraction": grid["pore_fraction"],
                "pore_volume_cm3_kg": 1000.0 * grid["pore_volume_cm3_g"],
            }
        )
    return pd.DataFrame(rows)


def summary_table(frames: Sequence[Atoms], s: Mapping, coordination=None, angle_means=None, rdf=None, pores=None):
    """One row per property (value, std, unit): density, Zn-N coordination, 4-coordinated fraction,
    Zn-N and Zn-Zn first peaks, mean angles, pore volume; tables already computed may be passed in."""
    import pandas as pd

    from amlip.properties.structure import mean_density

    metal, donor = s["metal"], s["donor"]
    coordination = coordination_table(frames, s) if coordination is None else coordination
    angle_means = angle_table(frames, s)[1] if angle_means is None else angle_means
    rdf = rdf_table(frames, s) if rdf is None else rdf
    rho, rho_std = mean_density(frames)
    four = coordination[coordination.coordination.astype(str) == "4"].fraction
    rows = [
        ("density", rho, rho_std, "g/cm3"),
        (f"{metal}-{donor} coordination", float(coordination.fraction.iloc[-1]), np.nan, ""),
        (f"{metal} 4-coordinated fraction", float(four.iloc[0]) if len(four) else 0.0, np.nan, "fraction"),
        (f"{metal}-{donor} first peak", float(rdf.r_A[np.argmax(rdf[f"g_{metal}{donor}"])]), np.nan, "A"),
        (f"{metal}-{metal} first peak", float(rdf.r_A[np.argmax(rdf[f"g_{metal}{metal}"])]), np.nan, "A"),
    ]
    rows += [(f"{name} mean angle", mean, std, "deg") for name, (mean, std) in angle_means.items()]
    if pores is not None:
        rows.append(("pore volume", float(pores.pore_volume_cm3_kg.mean()), float(pores.pore_volume_cm3_kg.std()), "cm3/kg"))
    table = pd.DataFrame(rows, columns=["property", "value", "std", "unit"])
    table.insert(0, "n_frames", len(frames))
    return table


def validation_frames(frames: Sequence[Atoms], s: Mapping, max_frames: int | None = None) -> list[Atoms]:
    """The averaged tail of a trajectory (``average_last_fraction``), thinned to ``max_frames``."""
    return tail(frames, {"average_last_fraction": s["average_last_fraction"]}, max_frames)
