"""MD protocols (PROTOCOLS 5) as stage schedules, with the papers' presets.

A protocol is a list of :class:`Stage` (ensemble, start and end temperature in K, duration in
ps, time step in fs). Presets hold the papers' numbers; ``time_scale`` shrinks every duration
by one factor for tests and small runs (ramps then run faster in K/ps).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Mapping, Sequence


@dataclass(frozen=True)
class Stage:
    """One MD stage: linear temperature ramp from ``T_start_K`` to ``T_end_K`` over ``duration_ps``."""

    name: str
    ensemble: str  # "nvt" or "npt"
    T_start_K: float
    T_end_K: float
    duration_ps: float
    timestep_fs: float = 1.0
    pressure_GPa: float = 0.0

    @property
    def n_steps(self) -> int:
        return max(1, int(round(self.duration_ps * 1000.0 / self.timestep_fs)))


def _ramp(name, ensemble, t0, t1, rate_K_per_ps, timestep_fs=1.0):
    return Stage(name, ensemble, t0, t1, abs(t1 - t0) / rate_K_per_ps, timestep_fs)


# AS (aluminosilicates): heat 23.5 K/ps, 200 ps at 5000 K, 10 K/ps to 4000 K, NpT 5 K/ps to
# 3000 K, 250 ps at 300 K. The paper gives no 3000 -> 300 K step; we quench NpT at 5 K/ps.
PRESETS: dict[str, list[Stage]] = {
    "melt_quench_AS": [
        _ramp("heat", "nvt", 300, 5000, 23.5),
        Stage("melt", "nvt", 5000, 5000, 200.0),
        _ramp("quench_fast", "nvt", 5000, 4000, 10.0),
        _ramp("quench_slow", "npt", 4000, 3000, 5.0),
        _ramp("quench_to_300", "npt", 3000, 300, 5.0),
        Stage("equilibrate", "npt", 300, 300, 250.0),
    ],
    # NS (sodium silicates): NpT Nose-Hoover, dt 1 fs, 5 K/ps both ways, 50 ps at 2500 K, 100 ps at 300 K.
    "melt_quench_NS": [
        _ramp("heat", "npt", 300, 2500, 5.0),
        Stage("melt", "npt", 2500, 2500, 50.0),
        _ramp("quench", "npt", 2500, 300, 5.0),
        Stage("equilibrate", "npt", 300, 300, 100.0),
    ],
    # ZIF (Castel et al. 2024, Fig. 5), all NVT from the crystal, dt 0.5 fs: preparation at 300 K (20 ps:
    # 80,000 steps of 0.25 fs in the paper's LAMMPS input, reference/zif4/castel2024_lmp_input.in), heat at
    # 20 K/ps to Tmax = 1500 K, a 50 ps plateau there (what made the MLP glass melt), quench at 20 K/ps, and
    # 100 ps of equilibration at 300 K over which the glass is analysed. The paper uses 0.25 fs only above
    # 1500 K, which this schedule never reaches.
    "melt_quench_ZIF": [
        Stage("prepare", "nvt", 300, 300, 20.0, 0.5),
        _ramp("heat", "nvt", 300, 1500, 20.0, 0.5),
        Stage("melt", "nvt", 1500, 1500, 50.0, 0.5),
        _ramp("quench", "nvt", 1500, 300, 20.0, 0.5),
        Stage("equilibrate", "nvt", 300, 300, 100.0, 0.5),
    ],
    # MIL: NVT MD of the framework at 303 K (the isotherm's temperature), 0.5 fs; the paper's OH statistics
    # (Fig. 8B) come from 0.1 ns of such a run.
    "md_303K_MIL": [Stage("equilibrate", "nvt", 303, 303, 100.0, 0.5)],
    # AS annealing of functionalised pores, NpT: 5 K/ps to 820 K, 2 ns, back at 5 K/ps, 300 ps at 320 K.
    "anneal_AS": [
        _ramp("heat", "npt", 300, 820, 5.0),
        Stage("anneal", "npt", 820, 820, 2000.0),
        _ramp("cool", "npt", 820, 300, 5.0),
        Stage("equilibrate", "npt", 320, 320, 300.0),
    ],
}


def custom_stages(stages: Sequence[Mapping]) -> list[Stage]:
    """Stages given in a config (produce.melt_quench.protocol as a list): each a mapping with name, ensemble,
    T_start_K, T_end_K, exactly one of duration_ps and rate_K_per_ps, and optional timestep_fs, pressure_GPa."""
    result = []
    for k, spec in enumerate(stages):
        where = f"protocol stage {k} ({spec.get('name', '?')})"
        if ("duration_ps" in spec) == ("rate_K_per_ps" in spec):
            raise ValueError(f"{where}: give exactly one of duration_ps and rate_K_per_ps")
        if spec["ensemble"] not in ("nvt", "npt"):
            raise ValueError(f"{where}: ensemble '{spec['ensemble']}' is neither nvt nor npt")
        t0, t1 = float(spec["T_start_K"]), float(spec["T_end_K"])
        if "rate_K_per_ps" in spec:
            if t0 == t1:
                raise ValueError(f"{where}: rate_K_per_ps needs T_start_K != T_end_K (give duration_ps for a plateau)")
            duration = abs(t1 - t0) / float(spec["rate_K_per_ps"])
        else:
            duration = float(spec["duration_ps"])
        result.append(
            Stage(
                spec["name"],
                spec["ensemble"],
                t0,
                t1,
                duration,
                float(spec.get("timestep_fs", 1.0)),
                float(spec.get("pressure_GPa", 0.0)),
            )
        )
    return result


def schedule(preset: str | Sequence[Mapping], time_scale: float = 1.0, timestep_fs: float | None = None) -> list[Stage]:
    """The stages of a preset (a name in :data:`PRESETS`, or a list of stage mappings, :func:`custom_stages`)
    with every duration multiplied by ``time_scale``."""
    if isinstance(preset, str) and preset not in PRESETS:
        raise KeyError(f"unknown MD protocol '{preset}'; presets: {sorted(PRESETS)}")
    if time_scale <= 0:
        raise ValueError(f"time_scale must be positive, got {time_scale}")
    stages = []
    for stage in PRESETS[preset] if isinstance(preset, str) else custom_stages(preset):
        dt = timestep_fs or stage.timestep_fs
        stages.append(replace(stage, duration_ps=stage.duration_ps * time_scale, timestep_fs=dt))
    return stages


def schedule_table(stages: Sequence[Stage]) -> list[dict]:
    """Rows describing each stage (for the CSV written beside the trajectory)."""
    rows, start = [], 0
    for s in stages:
        rate = (s.T_end_K - s.T_start_K) / s.duration_ps if s.duration_ps else 0.0
        rows.append(asdict(s) | {"n_steps": s.n_steps, "first_step": start, "rate_K_per_ps": rate})
        start += s.n_steps
    return rows
