"""One end-to-end run of the real pipeline on config/tests/tiny.yaml, outputs checked by content."""

import math
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from amlip.io import read_frames

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
SHIPPED = ["Snakefile", "rules", "scripts", "config", "envs", "report", "resources", "amlip"]


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    work = tmp_path_factory.mktemp("tiny")
    for name in SHIPPED:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, work / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(src, work / name)
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg", "HOME": str(work)}
    run = subprocess.run(
        [SNAKEMAKE, "--cores", "2", "--configfile", "config/tests/tiny.yaml"],
        cwd=work, capture_output=True, text=True, timeout=900, env=env,
    )
    assert run.returncode == 0, run.stderr[-5000:]
    report = subprocess.run(
        [SNAKEMAKE, "--cores", "1", "--configfile", "config/tests/tiny.yaml", "--report", "report.html"],
        cwd=work, capture_output=True, text=True, timeout=300, env=env,
    )
    assert report.returncode == 0, report.stderr[-3000:]
    return work


@pytest.mark.slow
def test_every_labelled_frame_has_reference_and_level_of_theory(tiny_run):
    files = sorted((tiny_run / "results/label/syn").glob("iter_*/labelled.extxyz"))
    assert [f.parent.name for f in files] == ["iter_0", "iter_1", "iter_2"]
    frames = [a for f in files for a in read_frames(f)]
    assert len(frames) >= 12
    hashes = {a.info["lot_hash"] for a in frames}
    assert len(hashes) == 1
    for a in frames:
        assert np.isfinite(a.info["REF_energy"])
        assert a.arrays["REF_forces"].shape == (len(a), 3)
        assert a.info["REF_stress"].shape == (6,)
        assert "method=GFN1-xTB" in a.info["level_of_theory"]


@pytest.mark.slow
def test_dataset_grows_over_iterations_and_splits_are_disjoint(tiny_run):
    sizes = []
    for i in range(3):
        train = read_frames(tiny_run / f"results/learn/syn/iter_{i}/train.extxyz")
        test = read_frames(tiny_run / f"results/learn/syn/iter_{i}/test.extxyz")
        sizes.append(len(train))
        keys = {(round(a.info["REF_energy"], 8)) for a in train}
        assert not keys & {round(a.info["REF_energy"], 8) for a in test}
    assert sizes[0] < sizes[2]
    summary = pd.concat(pd.read_csv(tiny_run / f"results/learn/syn/iter_{i}/summary.csv") for i in range(3))
    assert list(summary.iteration) == [0, 1, 2]
    assert (summary.picked[1:] <= 3).all()
    assert summary.decision.iloc[-1].startswith(("converged", "stopped"))


@pytest.mark.slow
def test_models_and_accuracy_table(tiny_run):
    for m in range(2):
        assert (tiny_run / f"results/train/syn/iter_2/member_{m}/mace.model").stat().st_size > 10_000
    table = pd.read_csv(tiny_run / "results/report/accuracy.csv")
    assert set(table.split) == {"train", "val", "test"}
    assert table.chosen.sum() == 3  # one chosen member, three splits
    assert (table.force_mae_meV_A > 0).all() and np.isfinite(table.energy_rmse_meV_atom).all()


@pytest.mark.slow
def test_melt_quench_and_validation_are_physical(tiny_run):
    schedule = pd.read_csv(tiny_run / "results/produce/melt_quench/schedule.csv")
    assert list(schedule.name) == ["heat", "melt", "quench_fast", "quench_slow", "quench_to_300", "equilibrate"]
    props = pd.read_csv(tiny_run / "results/validate/melt_quench/properties.csv").set_index("property")
    density = props.loc["density", "value"]
    assert math.isfinite(density) and 0.5 < density < 6.0
    assert props.loc["density", "reference"] == 2.2
    for figure in ("parity", "learning_curve", "density", "rdf", "angles"):
        assert (tiny_run / f"results/report/{figure}.png").stat().st_size > 5000
    assert (tiny_run / "report.html").stat().st_size > 10_000
