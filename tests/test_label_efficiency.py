"""Label-efficiency benchmark (issue 5): the selection step, the log-log read-off, and a --quick run."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from ase import Atoms

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from amlip.models.committee import committee_force_deviation
from label_efficiency_loop import (
    efficiency_ratio,
    epochs_for,
    frames_per_condition,
    label_schedule,
    labels_to_reach,
    pick_active,
    temperature_counts,
    top_sigma,
)


def _committee_case(n_frames=12, n_atoms=6, seed=3):
    """Frames whose 2-member committee disagrees by a known amount on one atom.

    Member 1 = member 0 + d on atom 0 along x, so sigma_max = d / 2 exactly."""
    rng = np.random.default_rng(seed)
    deltas = rng.permutation(np.linspace(0.05, 1.2, n_frames))
    frames, sigmas = [], []
    for k, d in enumerate(deltas):
        base = rng.normal(size=(n_atoms, 3))
        other = base.copy()
        other[0, 0] += d
        sigmas.append(committee_force_deviation(np.stack([base, other])))
        positions = rng.uniform(0, 8, size=(n_atoms, 3))
        frames.append(Atoms("Si2O4", positions=positions, cell=[8, 8, 8], pbc=True))
    return frames, np.array(sigmas), deltas


def test_active_pick_is_the_top_sigma_frames():
    frames, sigmas, deltas = _committee_case()
    np.testing.assert_allclose(sigmas, deltas / 2, rtol=1e-12)
    expected = np.sort(np.argsort(deltas)[-4:])
    np.testing.assert_array_equal(pick_active(frames, sigmas, 4, "top_sigma"), expected)
    # SOAP k-means among exactly n candidates keeps them all
    np.testing.assert_array_equal(pick_active(frames, sigmas, 4, "top_sigma_soap", candidate_factor=1.0), expected)
    # with 3x candidates the pick is a subset of the 12 largest, still 4 frames
    wide = pick_active(frames, sigmas, 4, "top_sigma_soap", candidate_factor=3.0, soap={"r_cut": 3.0, "n_max": 2, "l_max": 1})
    assert len(wide) == 4 and set(wide) <= set(np.argsort(deltas)[-12:])


def test_top_sigma_order_ties_and_errors():
    np.testing.assert_array_equal(top_sigma([0.1, 0.5, 0.5, 0.2], 3), [1, 2, 3])
    with pytest.raises(ValueError, match=r"not finite for frames \[2\]"):
        top_sigma([0.1, 0.2, np.nan], 1)
    with pytest.raises(ValueError, match="unknown active-learning method 'band'"):
        pick_active([], [], 1, "band")


def test_labels_to_reach_interpolates_in_log_space():
    # MAE ~ labels^-1 between 10 and 100 labels: MAE 31.62 at 31.62 labels
    assert labels_to_reach([10, 100, 1000], [100.0, 10.0, 5.0], 10**1.5) == pytest.approx(10**1.5)
    assert np.isnan(labels_to_reach([10, 100], [100.0, 50.0], 20.0))
    assert labels_to_reach([10, 100], [5.0, 4.0], 20.0) == 10.0
    assert labels_to_reach([4, 8], [2096.879272, 2043.022016], 2043.022016) == 8.0  # exactly at the target
    assert label_schedule(8, 5) == [8, 16, 32, 64, 128]
    assert label_schedule(3, 3, 1.2) == [3, 4, 5]


def test_efficiency_ratio_reads_both_curves_at_the_lowest_common_error():
    table = pd.DataFrame(
        {
            "strategy": ["active"] * 3 + ["random"] * 4,
            "n_labels": [8, 16, 32, 8, 16, 32, 64],
            # active: MAE ~ 800 * (8/n); random reaches active's final 200 meV/Å only at 64 labels
            "force_mae_meV_A": [800.0, 400.0, 200.0, 800.0, 600.0, 400.0, 200.0],
        }
    )
    figures = efficiency_ratio(table)
    assert figures["target_force_mae_meV_A"] == 200.0  # max(200, 200)
    assert figures["labels_active"] == 32.0 and figures["labels_random"] == 64.0
    assert figures["ratio_random_over_active"] == 2.0
    # a target between rounds is interpolated in log-log: active reaches 283 meV/Å at 8 * 2**1.5 = 22.6 labels
    assert efficiency_ratio(table, 800 / 2**1.5)["labels_active"] == pytest.approx(8 * 2**1.5)
    # a target random never reaches gives NaN, not a number
    assert np.isnan(efficiency_ratio(table, 100.0)["ratio_random_over_active"])
    with pytest.raises(ValueError, match="both strategies"):
        efficiency_ratio(table[table.strategy == "active"])


def test_pool_composition_and_training_length():
    assert frames_per_condition(150, 3000.0) == 150
    assert frames_per_condition({300: 600, 3000.0: 40}, 300.0) == 600
    with pytest.raises(ValueError, match="no frame count for 1500 K"):
        frames_per_condition({300: 600, 3000: 40}, 1500.0)
    settings = {"max_num_epochs": 30, "batch_size": 4}
    assert epochs_for(8, settings, min_steps=600) == 300  # 2 steps per epoch
    assert epochs_for(256, settings, min_steps=600) == 30  # 64 steps per epoch: 30 epochs are 1920 steps
    assert epochs_for(9, settings, min_steps=0) == 30
    frames = [Atoms("Si", info={"md_temperature_K": t}) for t in (3000.0, 300.0, 300.0)]
    assert temperature_counts(frames) == "300K:2 3000K:1"


@pytest.mark.slow
def test_quick_benchmark_run(tmp_path, root):
    env = dict(os.environ, OMP_NUM_THREADS="1", PATH=f"{root / '.venv' / 'bin'}{os.pathsep}{os.environ['PATH']}")
    done = subprocess.run(
        [
            sys.executable,
            str(root / "benchmarks" / "label_efficiency.py"),
            "--quick",
            "--out",
            str(tmp_path),
            "--work-dir",
            str(tmp_path / "work"),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=root,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    table = pd.read_csv(tmp_path / "label_efficiency.csv")
    for column in (
        "strategy",
        "round",
        "n_labels",
        "n_new",
        "force_mae_meV_A",
        "energy_mae_meV_atom",
        "picked_sigma_mean_eV_A",
        "wall_s",
    ):
        assert column in table.columns
    active = table[table.strategy == "active"].sort_values("round")
    random = table[table.strategy == "random"].sort_values("round")
    # random selection runs one round past active learning (--random-extra-rounds 1 in --quick)
    assert list(active["round"]) == [0, 1] and list(random["round"]) == [0, 1, 2]
    assert list(active.n_labels) == [4, 8] and list(random.n_labels) == [4, 8, 16]
    # the quick pool is 24 frames at 300 K and 6 at 3000 K; every labelled set is counted by temperature
    counts = [sum(int(c.split(":")[1]) for c in row.split()) for row in table.labelled_temperatures_K]
    assert counts == list(table.n_labels)
    assert {"force_mae_300K_meV_A", "force_mae_3000K_meV_A"} <= set(table.columns)
    summary = pd.read_csv(tmp_path / "label_efficiency_summary.csv").iloc[0]
    assert summary.n_pool == 30 and summary.pool_composition == "300K:24 3000K:6"
    assert summary.target_force_mae_meV_A == pytest.approx(max(active.force_mae_meV_A.iloc[-1], random.force_mae_meV_A.iloc[-1]))
    # round 0 is one shared model on the common seed set
    assert active.force_mae_meV_A.iloc[0] == pytest.approx(random.force_mae_meV_A.iloc[0], rel=1e-6)
    assert np.all((table.force_mae_meV_A > 0) & np.isfinite(table.force_mae_meV_A))
    # active learning picked frames with a committee deviation above the pool's mean
    assert active.picked_sigma_mean_eV_A.iloc[1] >= active.pool_sigma_mean_eV_A.iloc[1]
    assert summary.ratio_random_over_active == pytest.approx(summary.labels_random / summary.labels_active)
    assert summary.n_test == 10  # 5 per condition, balanced over 300 and 3000 K
    assert (tmp_path / "label_efficiency.png").stat().st_size > 10_000
    assert "label-efficiency ratio random/active =" in done.stdout
    # the training data of active round 1 are the seed set plus 4 new pool frames
    from amlip.io.frames import read_frames

    assert len(read_frames(tmp_path / "work" / "active" / "round_1" / "member_0" / "train.extxyz")) == 8


@pytest.mark.parametrize("pool", ["exploration_pool", "balanced_pool"])
def test_measured_ratio_follows_from_its_table(root, pool):
    """The ratios of docs/benchmarks.md come from benchmarks/measured/: recomputing them from the learning curves gives the summary."""
    measured = root / "benchmarks" / "measured"
    table = pd.read_csv(measured / f"label_efficiency_{pool}.csv")
    summary = pd.read_csv(measured / f"label_efficiency_{pool}_summary.csv").iloc[0]
    figures = efficiency_ratio(table)
    for key in ("target_force_mae_meV_A", "labels_active", "labels_random", "ratio_random_over_active"):
        assert figures[key] == pytest.approx(summary[key], rel=1e-9), key
    assert list(table[table.strategy == "random"].n_labels) == [8, 16, 32, 64, 128, 256, 512]
