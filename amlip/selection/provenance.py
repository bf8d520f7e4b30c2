"""The provenance record every selected frame carries: why it was chosen (``selection_*`` and ``split_*`` info keys)."""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
from ase import Atoms

from amlip.io.extxyz_index import info_row


def selection_info(
    method: str,
    iteration: int | None = None,
    *,
    prefix: str = "selection",
    bin: Sequence[int] | int | None = None,
    cluster: Sequence[int] | int | None = None,
    rank: Sequence[int] | int | None = None,
    **extra,
) -> dict[str, object]:
    """Info keys recording why frames were chosen; values are scalars or per-frame arrays.

    Gives ``{prefix}_method``, ``{prefix}_iteration`` and ``{prefix}_bin`` (flat-histogram
    bin), ``{prefix}_cluster`` (k-means cluster) or ``{prefix}_rank`` (farthest-point order)
    where given; ``extra`` keys (``split``, ``pool_index``, ``committee_sigma_max``) are kept
    as named. The active-learning pick uses ``prefix="selection"``, the train/test/validation
    split ``prefix="split"``, so the split never hides why a frame was labelled. None values
    are left out.
    """
    info: dict[str, object] = {f"{prefix}_method": method}
    for name, value in (("iteration", iteration), ("bin", bin), ("cluster", cluster), ("rank", rank)):
        if value is not None:
            info[f"{prefix}_{name}"] = value
    info.update({k: v for k, v in extra.items() if v is not None})
    return info


def stamp_selection(frames: Sequence[Atoms], info: Mapping[str, object]) -> None:
    """Write :func:`selection_info` into ``atoms.info`` of each frame (arrays aligned with ``frames``)."""
    for key, value in info.items():
        if not np.isscalar(value) and len(value) != len(frames):
            raise ValueError(f"provenance '{key}' has {len(value)} values for {len(frames)} frames")
    for j, atoms in enumerate(frames):
        atoms.info.update(info_row(info, j))
