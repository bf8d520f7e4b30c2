import json
import shlex

import numpy as np
import pytest
from ase import Atoms
from ase.units import GPa

from amlip.train import e0s_argument, error_metrics, mace_cli_args


def test_e0s_argument_uses_atomic_numbers():
    assert e0s_argument({"Si": -44.5, "O": -118.25}) == "{8: -118.2500000000, 14: -44.5000000000}"


def test_mace_cli_args(tmp_path):
    e0s = tmp_path / "e0s.json"
    e0s.write_text(json.dumps({"energies_eV": {"O": -1.0}}))
    text = mace_cli_args(
        {"max_num_epochs": 3, "save_cpu": True, "swa": False, "plot": "False"},
        name="mace", train_file="t.xyz", valid_file="v.xyz", test_file="s.xyz",
        e0s_file=str(e0s), work_dir="out dir", seed=7,
    )
    args = shlex.split(text)
    assert "--save_cpu" in args and not any(a.startswith("--swa") for a in args)
    assert "--max_num_epochs=3" in args and "--seed=7" in args and "--plot=False" in args
    assert "--work_dir=out dir" in args
    assert "--E0s={8: -1.0000000000}" in args
    assert "--energy_key=REF_energy" in args and "--stress_key=REF_stress" in args


def test_error_metrics_by_hand():
    a = Atoms("H2", positions=[[0, 0, 0], [0, 0, 1]], cell=[5, 5, 5], pbc=True)
    a.info.update(REF_energy=1.0, m_energy=1.2, REF_stress=np.zeros(6), m_stress=np.full(6, 2 * GPa))
    a.arrays["REF_forces"] = np.zeros((2, 3))
    a.arrays["m_forces"] = np.array([[0.3, 0, 0], [0, 0, -0.3]])
    m = error_metrics([a], "m")
    assert m["energy_mae_meV_atom"] == pytest.approx(100.0)
    assert m["force_mae_meV_A"] == pytest.approx(100.0)  # two of six components off by 300 meV/A
    assert m["force_rmse_meV_A"] == pytest.approx(np.sqrt(2 * 300**2 / 6))
    assert m["stress_mae_GPa"] == pytest.approx(2.0)
