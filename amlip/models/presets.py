"""The check every architecture's ``train.<block>.preset`` / ``overrides`` pair goes through (DeePMD, GRACE, MTP)."""

from __future__ import annotations

from typing import Mapping


def checked_overrides(block: str, preset: str, presets: Mapping, overrides: Mapping | None, keys) -> dict:
    """``overrides`` as a dict, after ValueErrors naming ``train.<block>``: a preset not in ``presets``, or an
    override key not in ``keys``."""
    if preset not in presets:
        raise ValueError(f"train.{block}.preset is '{preset}': use one of {sorted(presets)}")
    overrides = dict(overrides or {})
    unknown = set(overrides) - set(keys)
    if unknown:
        raise ValueError(f"unknown train.{block}.overrides {sorted(unknown)}: the keys are {sorted(keys)}")
    return overrides
