import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from ase import Atoms

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
SHIPPED = ["Snakefile", "rules", "scripts", "config", "envs", "report", "resources", "amlip", "profiles"]


def workflow_env(work: Path) -> dict:
    """The environment Snakemake runs in for a copy of the workflow in ``work``."""
    return {
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "OMP_NUM_THREADS": "1",
        "MPLBACKEND": "Agg",
        "HOME": str(work),
    }


def copy_workflow(work: Path) -> dict:
    """Copy what a user's checkout holds into ``work``; return the environment to run Snakemake in."""
    for name in SHIPPED:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, work / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(src, work / name)
    return workflow_env(work)


def run_snakemake(work: Path, env: dict, *args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    return subprocess.run([SNAKEMAKE, *args], cwd=work, capture_output=True, text=True, timeout=timeout, env=env)


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def snakemake_copy(tmp_path_factory):
    """Snakemake in a copy of the shipped workflow, never in the repository (where ``make run`` leaves
    results/ and .snakemake/): ``snakemake_copy("-n", ...)`` returns the finished process. One copy
    per session, for dry runs and other runs that write nothing the next test would see."""
    work = tmp_path_factory.mktemp("workflow")
    env = copy_workflow(work)

    def run(*args: str, timeout: int = 300) -> subprocess.CompletedProcess:
        return run_snakemake(work, env, *args, timeout=timeout)

    run.path = work
    return run


def pytest_collection_modifyitems(items):
    """Tests that run Snakemake (dry runs in a copy) are ``workflow`` tests: ``make test-fast`` leaves them out."""
    for item in items:
        if "snakemake_copy" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.workflow)


@pytest.fixture
def quartz():
    from amlip.structures.crystals import build_crystal

    return build_crystal("alpha_quartz")


@pytest.fixture
def chain_silicate():
    """A periodic metasilicate chain along x: every Si has 2 bridging and 2 non-bridging O (Q2)."""
    symbols, positions = [], []
    for x in (0.0, 3.1):
        symbols += ["Si", "O", "O", "O"]
        positions += [(x, 5, 5), (x + 1.55, 5.3, 5), (x, 4.2, 6.35), (x, 4.2, 3.65)]
    return Atoms(symbols, positions=positions, cell=[6.2, 10, 10], pbc=True)


def finite_difference_force(labeler, atoms, index: int, axis: int, h: float) -> float:
    """-dE/dx (eV/Å) of atom ``index`` along ``axis`` by central differences of the labeler's energy."""
    plus, minus = atoms.copy(), atoms.copy()
    plus.positions[index, axis] += h
    minus.positions[index, axis] -= h
    return -(labeler.single_point(plus).info["REF_energy"] - labeler.single_point(minus).info["REF_energy"]) / (2 * h)


def small_mace(hidden_irreps: str = "8x0e"):
    """A small untrained ScaleShiftMACE for O and Si (seed 0), the model the MACE tests save and load;
    the callers skip first when torch or mace is missing."""
    import torch
    from e3nn import o3
    from mace import modules

    torch.manual_seed(0)
    return modules.ScaleShiftMACE(
        r_max=4.0,
        num_bessel=4,
        num_polynomial_cutoff=5,
        max_ell=2,
        interaction_cls=modules.interaction_classes["RealAgnosticResidualInteractionBlock"],
        interaction_cls_first=modules.interaction_classes["RealAgnosticResidualInteractionBlock"],
        num_interactions=2,
        num_elements=2,
        hidden_irreps=o3.Irreps(hidden_irreps),
        MLP_irreps=o3.Irreps("8x0e"),
        atomic_energies=np.array([-4.0, -1.5]),
        avg_num_neighbors=10.0,
        atomic_numbers=[8, 14],
        correlation=2,
        gate=torch.nn.functional.silu,
        atomic_inter_scale=1.0,
        atomic_inter_shift=0.0,
    )


def check_committee_loop(work: Path, model_name: str, family: str) -> None:
    """What a tiny two-iteration loop with a committee of ``family`` members (file ``model_name``) must show: the
    members explored iteration 1 with a positive, finite sigma_max on each of its 12 frames, 3 frames were picked
    and labelled, member 0 was evaluated with a cost per atom per call, and the chosen model is a member of iteration 1."""
    import json
    import math

    import pandas as pd

    from amlip.io.frames import read_frames
    from amlip.models.committee import SIGMA_KEY

    log = (work / "logs/explore/syn/iter_1.log").read_text()
    assert f"results/train/syn/iter_0/member_1/{model_name}" in log
    pool = read_frames(work / "results/explore/syn/iter_1/pool.extxyz")
    sigmas = [a.info[SIGMA_KEY] for a in pool]
    # two differently seeded members disagree somewhere: a positive, finite deviation on every frame
    assert len(pool) == 12 and all(math.isfinite(s) and s > 0 for s in sigmas)
    summary = pd.read_csv(work / "results/learn/syn/iter_1/summary.csv").iloc[0]
    assert (summary.picked, summary.labelled) == (3, 3)
    table = pd.read_csv(work / "results/train/syn/iter_1/member_0/evaluation.csv")
    assert set(table.split) >= {"train", "val", "test"}
    assert (table.force_mae_meV_A > 0).all() and table.force_mae_meV_A.notna().all()
    assert (table.cost_us_per_atom_call > 0).all()
    choice = json.loads((work / "results/learn/syn/final/choice.json").read_text())
    assert choice["architecture_family"] == family
    assert choice["model"] in {f"results/train/syn/iter_1/member_{m}/{model_name}" for m in range(2)}
