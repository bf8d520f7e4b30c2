import json
import re
import shlex
import subprocess

import numpy as np
import pytest
from ase import Atoms
from ase.calculators.lj import LennardJones
from ase.units import GPa

from amlip.models.committee import CommitteeCalculator, committee_force_deviation
from amlip.models.handover import needs_model_python, use_model_python
from amlip.models.loading import load_model, model_family, model_file
from amlip.models.mace import e0s_argument, mace_cli_args
from amlip.models.metrics import error_metrics
from amlip.structures.crystals import build_crystal
from conftest import small_mace


def test_e0s_argument_uses_atomic_numbers():
    assert e0s_argument({"Si": -44.5, "O": -118.25}) == "{8: -118.2500000000, 14: -44.5000000000}"


def test_mace_cli_args(tmp_path):
    e0s = tmp_path / "e0s.json"
    e0s.write_text(json.dumps({"energies_eV": {"O": -1.0}}))
    text = mace_cli_args(
        {"max_num_epochs": 3, "save_cpu": True, "swa": False, "plot": "False"},
        name="mace",
        train_file="t.xyz",
        valid_file="v.xyz",
        test_file="s.xyz",
        e0s_file=str(e0s),
        work_dir="out dir",
        seed=7,
    )
    args = shlex.split(text)
    assert "--save_cpu" in args and not any(a.startswith("--swa") for a in args)
    assert "--max_num_epochs=3" in args and "--seed=7" in args and "--plot=False" in args
    assert "--work_dir=out dir" in args
    assert "--E0s={8: -1.0000000000}" in args
    assert "--energy_key=REF_energy" in args and "--stress_key=REF_stress" in args


def test_mace_cli_args_refuse_a_key_that_is_not_a_flag_name_and_quote_the_rest(tmp_path):
    common = dict(name="mace", train_file="t.xyz", valid_file="v.xyz", test_file="s.xyz", e0s_file=str(tmp_path / "none.json"),
                  work_dir="w", seed=0)  # fmt: skip
    hostile = {"x$(touch pwned)": True}
    with pytest.raises(ValueError, match=re.escape("mace_run_train flag 'x$(touch pwned)' (a key of train.mace")):
        mace_cli_args(hostile, **common)
    with pytest.raises(ValueError, match="'lr;rm' .* is not a flag name"):
        mace_cli_args({}, **common, finetune={"foundation_model": "f.model", "flags": {"lr;rm": 1}})
    # a value is one word for the shell whatever it holds: the command runs nothing
    text = mace_cli_args({"loss": "$(touch pwned); echo"}, **common)
    out = subprocess.run(["bash", "-c", f"printf '%s\\n' {text}"], cwd=tmp_path, capture_output=True, text=True).stdout
    assert "--loss=$(touch pwned); echo" in out.splitlines() and not (tmp_path / "pwned").exists()


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


# --- one loader for every architecture, keyed by the model file suffix ------------------------


def test_model_file_and_family_by_suffix():
    assert model_file("mace") == "mace.model"
    assert model_file("nequip") == model_file("allegro") == "model.nequip.pt2"
    assert model_file("deepmd") == model_file("deepmd", compiled=False) == "model.deepmd.pth"
    assert model_family("results/x/mace.model") == "mace"
    assert model_family("results/x/model.deepmd.pth") == model_family("graph.pth") == "deepmd"
    for name in ("model.nequip.pt2", "run/best.ckpt", "m.nequip.zip"):
        assert model_family(name) == "nequip"
    with pytest.raises(ValueError, match="train.architecture is 'schnet'"):
        model_file("schnet")
    with pytest.raises(ValueError, match=r"unknown model file m.pt"):
        model_family("m.pt")
    with pytest.raises(ValueError, match="mixes model families"):
        load_model(["a/mace.model", "b/model.nequip.pt2"])
    with pytest.raises(ValueError, match="mixes model families"):
        load_model(["a/model.deepmd.pth", "b/model.nequip.pt2"])


def test_nequip_and_deepmd_models_without_their_package_name_the_interpreter(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    missing = {"nequip", "deepmd"}
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name in missing else real(name, *a))
    monkeypatch.delenv("AMLIP_REEXEC", raising=False)
    assert needs_model_python("m/model.nequip.pt2") and needs_model_python("m/model.deepmd.pth")
    assert not needs_model_python("m/mace.model")
    use_model_python("m/mace.model", {})  # MACE: stays in this interpreter
    pythons = {"nequip": "/nonexistent/python", "deepmd": "/nonexistent/python"}
    with pytest.raises(ImportError, match="train.nequip.python"):
        use_model_python(["m/model.nequip.pt2"], pythons)
    with pytest.raises(ImportError, match=r"train.deepmd.python .*envs/deepmd.yaml"):
        use_model_python(["m/model.deepmd.pth", "n/model.deepmd.pth"], pythons)


def test_committee_calculator_means_and_member_forces():
    atoms = build_crystal("alpha_quartz")
    atoms.rattle(0.05, seed=1)
    members = [LennardJones(sigma=s, epsilon=0.05, rc=4.0, smooth=True) for s in (1.6, 1.8)]
    committee = CommitteeCalculator(members)
    committee.calculate(atoms, ["energy", "forces", "stress"])
    expected = []
    for calc in members:
        a = atoms.copy()
        a.calc = calc
        expected.append((a.get_potential_energy(), a.get_forces(), a.get_stress()))
    r = committee.results
    assert r["forces_comm"].shape == (2, len(atoms), 3) and r["stress"].shape == (6,)
    assert r["energy"] == pytest.approx(np.mean([e for e, _, _ in expected]))
    np.testing.assert_allclose(r["forces"], (expected[0][1] + expected[1][1]) / 2)
    np.testing.assert_allclose(r["stress"], (expected[0][2] + expected[1][2]) / 2)
    # sigma_max by hand: with two members every deviation is half their difference
    half = (expected[0][1] - expected[1][1]) / 2
    assert committee_force_deviation(r["forces_comm"]) == pytest.approx(np.linalg.norm(half, axis=1).max())


@pytest.fixture(scope="module")
def mace_model_file(tmp_path_factory):
    """A small untrained MACE (Si, O) saved the way mace_run_train saves models (torch.save)."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("mace.modules")

    model = small_mace()
    paths = []
    for m in range(2):
        for p in model.parameters():
            p.data += 0.01 * torch.randn_like(p)  # two different members
        path = tmp_path_factory.mktemp(f"member_{m}") / "mace.model"
        torch.save(model.double(), path)
        paths.append(str(path))
    return paths


def test_load_model_mace_by_suffix_shapes_and_committee(mace_model_file):
    atoms = build_crystal("alpha_quartz")
    atoms.rattle(0.05, seed=2)
    single = atoms.copy()
    single.calc = load_model(mace_model_file[0])
    energy, forces, stress = single.get_potential_energy(), single.get_forces(), single.get_stress()
    assert np.ndim(energy) == 0 and np.isfinite(energy)
    assert forces.shape == (9, 3) and stress.shape == (6,)
    # isolated-atom shifts reach the energy: 3 Si x -1.5 + 6 O x -4.0 plus the interaction part
    assert abs(energy - (3 * -1.5 + 6 * -4.0)) < 5.0
    calc = load_model(mace_model_file)
    calc.calculate(atoms, ["energy", "forces"])
    assert calc.results["forces_comm"].shape == (2, 9, 3)
    np.testing.assert_allclose(calc.results["forces_comm"][0], forces, atol=1e-8)


# --- the training budget, warm start and fit table -------------------------------------------


def test_epochs_follow_the_step_budget_with_a_floor():
    from amlip.models.mace import epochs_for_budget

    assert epochs_for_budget(56, 4, 800, 10) == 58  # 14 batches an epoch: ceil(800 / 14)
    assert epochs_for_budget(8, 4, 800, 10) == 400  # 2 steps an epoch
    assert epochs_for_budget(5000, 4, 800, 10) == 10  # the floor
    with pytest.raises(ValueError, match="no training frames"):
        epochs_for_budget(0, 4, 800, 10)


def test_warm_start_names_the_previous_member_and_the_budget_sets_the_epochs(tmp_path):
    args = shlex.split(
        mace_cli_args(
            {"batch_size": 4},
            name="mace_run",
            train_file="t.xyz",
            valid_file="v.xyz",
            test_file="s.xyz",
            e0s_file=str(tmp_path / "none.json"),
            work_dir="w",
            seed=1,
            max_num_epochs=58,
            warm_start_from="results/train/syn/iter_0/member_1/mace.model",
        )
    )
    assert "--max_num_epochs=58" in args
    assert "--foundation_model=results/train/syn/iter_0/member_1/mace.model" in args
    assert "--multiheads_finetuning=False" in args


def test_trained_model_file_prefers_stage_two(tmp_path):
    from amlip.models.mace import trained_model_file

    with pytest.raises(FileNotFoundError, match="wrote no mace_run.model"):
        trained_model_file(tmp_path, "mace_run")
    (tmp_path / "mace_run.model").write_text("one")
    assert trained_model_file(tmp_path, "mace_run").name == "mace_run.model"
    (tmp_path / "mace_run_stagetwo.model").write_text("two")
    assert trained_model_file(tmp_path, "mace_run").name == "mace_run_stagetwo.model"


MACE_LOG = """2026-12-04 15:33:40.854 INFO: Loaded Stage one model from epoch 40 for evaluation
2026-12-04 15:33:41.694 INFO: Error-table on TRAIN and VALID:
+---------------+--------------------+-----------------+------------------+--------------------------------------+
|  config_type  | MAE E / meV / atom | MAE F / meV / A | relative F MAE % | MAE Stress (Virials) / meV / A (A^3) |
+---------------+--------------------+-----------------+------------------+--------------------------------------+
| train_Default |         105.9      |        176.5    |         9.67     |                    1.6               |
| valid_Default |          94.6      |        159.6    |        10.05     |                    1.2               |
+---------------+--------------------+-----------------+------------------+--------------------------------------+
2026-12-04 15:33:43.830 INFO: Error-table on TEST:
| Default_Default |          94.9      |        167.3    |        11.07     |                    1.7               |
2026-12-04 15:33:44.170 INFO: Loaded Stage two model from epoch 55 for evaluation
| train_Default |          16.7      |        166.5    |         9.13     |                    2.3               |
| valid_Default |          10.6      |        148.7    |         9.37     |                    2.1               |
| Default_Default |          11.7      |        157.4    |        10.41     |                    2.7               |
"""


def test_fit_table_reads_the_epochs_and_the_final_error_tables(tmp_path):
    from amlip.models.mace import MEV_PER_A3_IN_GPA, fit_table

    rows = [
        {"loss": 4.0, "mode": "opt", "epoch": 0},
        {"loss": 2.0, "mode": "opt", "epoch": 0},
        {"loss": 9.0, "mae_e_per_atom": 0.2, "mae_f": 1.5, "mae_stress": 0.01, "mode": "eval", "epoch": None},
        {"loss": 1.0, "mae_e_per_atom": 0.1, "mae_f": 0.5, "mae_stress": 0.002, "mode": "eval", "epoch": 0},
        {"loss": 0.5, "mode": "opt", "epoch": 1},
        {"loss": 0.4, "mae_e_per_atom": 0.01, "mae_f": 0.25, "mae_stress": 0.001, "mode": "eval", "epoch": 1},
    ]
    results = tmp_path / "mace_run_run-0_train.txt"
    results.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    table = fit_table(results, MACE_LOG, start_stage_two=1)
    per_epoch = table[~table.final]
    assert list(per_epoch.epoch) == [0, 1] and list(per_epoch.stage) == ["one", "two"]
    assert per_epoch.train_loss.tolist() == pytest.approx([3.0, 0.5])
    assert per_epoch.energy_mae_meV_atom.tolist() == pytest.approx([100.0, 10.0])
    assert per_epoch.force_mae_meV_A.tolist() == pytest.approx([500.0, 250.0])
    assert per_epoch.stress_mae_GPa.iloc[0] == pytest.approx(2.0 * MEV_PER_A3_IN_GPA)
    final = table[table.final]
    assert list(zip(final.stage, final.split)) == [(s, k) for s in ("one", "two") for k in ("train", "valid", "test")]
    two_train = final[(final.stage == "two") & (final.split == "train")].iloc[0]
    assert (two_train.epoch, two_train.energy_mae_meV_atom, two_train.force_mae_meV_A) == (55, 16.7, 166.5)
    assert final[final.split == "test"].energy_mae_meV_atom.tolist() == [94.9, 11.7]
    results.write_text("not json\n")
    with pytest.raises(ValueError, match="line 1 is not JSON"):
        fit_table(results, MACE_LOG)


def test_fit_flag_names_each_bound_the_training_error_exceeds():
    from amlip.models.metrics import fit_flag

    bounds = {"energy_meV_atom": 25.0, "force_meV_A": 400.0}
    assert fit_flag({"energy_mae_meV_atom": 12.0, "force_mae_meV_A": 150.0}, bounds) == ""
    assert fit_flag({"energy_mae_meV_atom": 477.3, "force_mae_meV_A": 684.0}, bounds) == (
        "train energy MAE 477.3 > 25 meV/atom; train force MAE 684 > 400 meV/Å"
    )
