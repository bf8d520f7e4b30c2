"""Reference data and errors against it (PROTOCOLS 6): experimental densities, %MAE, errors per model.

Reference tables ship under ``resources/reference/`` as CSV with a ``source`` column naming
the paper. Errors: abs_error = value - reference, rel_error_percent = 100 abs_error / reference,
%MAE = mean of |rel_error_percent| (the figure of merit of NS for densities).
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping

import numpy as np

REFERENCE_DIR = Path(__file__).resolve().parents[2] / "resources" / "reference"


def load_reference_densities(path: str | Path | None = None):
    """Experimental glass densities (g/cm3) indexed by system name (SiO2, NS10, ..., NS50, silica_AS)."""
    import pandas as pd

    path = Path(path) if path else REFERENCE_DIR / "glass_densities.csv"
    if not path.exists():
        raise FileNotFoundError(f"reference density table {path} does not exist")
    table = pd.read_csv(path)
    missing = {"system", "density_g_cm3", "source"} - set(table.columns)
    if missing:
        raise ValueError(f"{path} lacks the columns {sorted(missing)}")
    return table.set_index("system")


def compare_with_reference(values: Mapping[str, float], reference: Mapping[str, float]):
    """Absolute and relative errors of ``values`` against ``reference`` for the keys they share.

    Returns a DataFrame (key, value, reference, abs_error, rel_error_percent); raises KeyError
    naming keys of ``values`` that have no reference.
    """
    import pandas as pd

    missing = [k for k in values if k not in reference]
    if missing:
        raise KeyError(f"no reference value for {missing}; known: {sorted(reference)}")
    table = pd.DataFrame({"key": list(values), "value": [float(values[k]) for k in values]})
    table["reference"] = [float(reference[k]) for k in values]
    table["abs_error"] = table.value - table.reference
    table["rel_error_percent"] = 100 * table.abs_error / table.reference
    return table


def percent_mae(comparison) -> float:
    """%MAE: mean absolute relative error in percent of a :func:`compare_with_reference` table (NS)."""
    return float(np.mean(np.abs(comparison.rel_error_percent)))


def property_errors(values_by_member: Mapping[str, Mapping[str, float]], reference: Mapping[str, float]):
    """Per-member, per-property errors, so that a model can be chosen by a property (AS).

    ``values_by_member`` maps a committee member (e.g. ``member_0``) to {property: value};
    ``reference`` maps property to its reference value. Returns a long DataFrame with member,
    property, value, reference, abs_error, rel_error_percent, sorted by member then property.
    Rank members with ``table.groupby('member').rel_error_percent.apply(lambda e: e.abs().mean())``.
    """
    import pandas as pd

    frames = []
    for member, values in values_by_member.items():
        table = compare_with_reference(values, reference).rename(columns={"key": "property"})
        table.insert(0, "member", member)
        frames.append(table)
    if not frames:
        raise ValueError("no members to compare")
    return pd.concat(frames, ignore_index=True).sort_values(["member", "property"], ignore_index=True)


def best_member(errors, properties: list[str] | None = None) -> str:
    """The member with the lowest mean |rel_error_percent| over ``properties`` (all by default)."""
    table = errors if properties is None else errors[errors.property.isin(properties)]
    if table.empty:
        raise ValueError(f"no errors for properties {properties}")
    return str(table.groupby("member").rel_error_percent.apply(lambda e: e.abs().mean()).idxmin())


def load_reference_moduli(system: str, path: str | Path | None = None) -> dict[str, tuple[float, str]]:
    """Experimental elastic moduli of a glass: {property: (value, source)} (GPa; Poisson ratio dimensionless).

    Reads ``resources/reference/glass_moduli.csv`` (columns system, property, value, unit, source);
    an unknown ``system`` gives an empty dict (nothing to compare with).
    """
    import pandas as pd

    path = Path(path) if path else REFERENCE_DIR / "glass_moduli.csv"
    if not path.exists():
        raise FileNotFoundError(f"reference moduli table {path} does not exist")
    table = pd.read_csv(path)
    missing = {"system", "property", "value", "source"} - set(table.columns)
    if missing:
        raise ValueError(f"{path} lacks the columns {sorted(missing)}")
    rows = table[table.system == system]
    return {r.property: (float(r.value), str(r.source)) for r in rows.itertuples()}


def read_mint01(path: str | Path):
    """A Gudrun ``.mint01`` file (measured F(Q), e.g. resources/reference/SiO2_NIMROD.mint01).

    Returns (Q in 1/Å, F(Q) in barns/sr/atom, error) with the padding dropped (Q = 0 and trailing
    all-zero lines). Header lines start with ``#``. A malformed line is a ValueError naming the
    file and line number.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"measured F(Q) file {path} does not exist")
    rows = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        fields = line.split()
        try:
            values = [float(x) for x in fields]
        except ValueError as error:
            raise ValueError(f"{path} line {number}: {error}") from error
        if len(values) != 3:
            raise ValueError(f"{path} line {number}: expected Q, F(Q), error, got {len(values)} columns")
        rows.append(values)
    data = np.array(rows)
    keep = (data[:, 0] > 0) & np.any(data[:, 1:] != 0, axis=1)
    if not keep.any():
        raise ValueError(f"{path} holds no data lines")
    data = data[keep]
    return data[:, 0], data[:, 1], data[:, 2]
