"""NequIP / Allegro backend: config against the ZIF presets, data keys, real training and compile.

The training tests run the real ``nequip-train`` and ``nequip-compile`` CLIs of the nequip
environment (``.venv-nequip``); in an environment without nequip they are skipped.
"""

import csv
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml
from ase.calculators.calculator import Calculator, all_changes
from ase.calculators.lj import LennardJones

from amlip.io.frames import REF_ENERGY, REF_FORCES, REF_STRESS, write_frames
from amlip.models.metrics import cost_per_atom_per_call
from amlip.models.nequip import (
    TINY_ALLEGRO,
    TINY_NEQUIP,
    ZIF_ALLEGRO,
    ZIF_NEQUIP,
    chemical_symbols_in,
    load_nequip_calculator,
    nequip_commands,
    nequip_config,
    write_nequip_config,
)
from amlip.structures.crystals import build_crystal

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
E0S = {"Si": -1.5, "O": -4.25, "H": -0.5}


def pair_potential():
    """A cheap labeler for Si/O: one Lennard-Jones for every pair (not physics, just smooth labels)."""
    return LennardJones(sigma=1.8, epsilon=0.05, rc=4.0, smooth=True)


def labelled_quartz(n_frames, seed=0):
    """Rattled and strained 9-atom alpha-quartz cells labelled with :func:`pair_potential`."""
    rng = np.random.default_rng(seed)
    frames = []
    for _ in range(n_frames):
        atoms = build_crystal("alpha_quartz")
        strain = np.eye(3) + rng.uniform(-0.03, 0.03, (3, 3))
        atoms.set_cell(atoms.cell[:] @ strain, scale_atoms=True)
        atoms.rattle(0.08, seed=int(rng.integers(1 << 30)))
        atoms.calc = pair_potential()
        energy, forces, stress = atoms.get_potential_energy(), atoms.get_forces(), atoms.get_stress()
        atoms.calc = None
        atoms.info[REF_ENERGY] = energy
        atoms.arrays[REF_FORCES] = forces
        atoms.info[REF_STRESS] = stress
        frames.append(atoms)
    return frames


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """Train/val/test extended-XYZ files: 10 / 3 / 3 frames."""
    folder = tmp_path_factory.mktemp("nequip_data")
    frames = labelled_quartz(16)
    files = {}
    for split, part in (("train", frames[:10]), ("val", frames[10:13]), ("test", frames[13:])):
        files[split] = folder / f"{split}.extxyz"
        write_frames(files[split], part)
    return files


def build(settings, tmp_path, model="nequip", seed=3, e0s=E0S, test=True):
    return nequip_config(
        settings,
        train_file=str(tmp_path / "train.extxyz"),
        val_file=str(tmp_path / "val.extxyz"),
        test_file=str(tmp_path / "test.extxyz") if test else None,
        seed=seed,
        work_dir=str(tmp_path / "run"),
        chemical_symbols=["Si", "O"],
        model=model,
        e0s=e0s,
    )


# ---------------------------------------------------------------- config (no nequip needed)


@pytest.mark.parametrize(
    "settings, model, target",
    [(ZIF_NEQUIP, "nequip", "nequip.model.NequIPGNNModel"), (ZIF_ALLEGRO, "allegro", "allegro.model.AllegroModel")],
)
def test_zif_preset_reaches_the_config(tmp_path, settings, model, target):
    config = build(settings, tmp_path, model=model, seed=7)
    module = config["training_module"]
    m = module["model"]
    assert m["_target_"] == target
    assert m["r_max"] == 6.0 and config["data"]["transforms"][1]["r_max"] == 6.0
    assert m["num_layers"] == 5
    assert m["l_max"] == 2
    assert m["parity"] is False
    assert m["seed"] == 7 and config["data"]["seed"] == 7
    assert m["type_names"] == ["Si", "O"]
    assert m["per_type_energy_shifts"] == {"Si": -1.5, "O": -4.25}
    assert module["optimizer"] == {"_target_": "torch.optim.Adam", "lr": 0.005}
    assert module["loss"]["_target_"] == "nequip.train.EnergyForceLoss"
    assert module["loss"]["coeffs"] == {"total_energy": 1.0, "forces": 1.0}
    assert config["data"]["key_mapping"] == {REF_ENERGY: "total_energy", REF_FORCES: "forces", REF_STRESS: "stress"}
    assert config["run"] == ["train", "test"]
    assert config["hydra"]["run"]["dir"] == str((tmp_path / "run").resolve())


def test_config_variants_and_errors(tmp_path):
    config = build({**TINY_NEQUIP, "energy_shifts": "training_mean"}, tmp_path, e0s=None, test=False)
    assert config["training_module"]["model"]["per_type_energy_shifts"] == "${training_data_stats:per_atom_energy_mean}"
    assert config["run"] == ["train"] and "test_file_path" not in config["data"]
    with_stress = nequip_config(
        {**TINY_NEQUIP, "loss_coeffs": {"total_energy": 1.0, "forces": 1.0, "stress": 0.5}},
        train_file="a.extxyz",
        val_file="b.extxyz",
        test_file=None,
        seed=0,
        work_dir=str(tmp_path),
        chemical_symbols=["Si", "O"],
        e0s=E0S,
    )
    assert with_stress["training_module"]["loss"]["_target_"] == "nequip.train.EnergyForceStressLoss"
    with pytest.raises(KeyError, match=r"no isolated-atom energy for \['O'\]"):
        build(TINY_NEQUIP, tmp_path, e0s={"Si": -1.0})
    with pytest.raises(ValueError, match="needs the isolated-atom energies"):
        build(TINY_NEQUIP, tmp_path, e0s=None)
    with pytest.raises(ValueError, match=r"unknown NequIP settings \['learning_rate'\]"):
        build({**TINY_NEQUIP, "learning_rate": 0.01}, tmp_path)
    with pytest.raises(
        ValueError,
        match=r"\['num_scalar_features', 'num_tensor_features', 'radial_chemical_embed'\] do not belong to a 'nequip' model",
    ):
        build(ZIF_ALLEGRO, tmp_path, model="nequip")
    with pytest.raises(ValueError, match="unknown NequIP-framework model 'mace'"):
        build(TINY_NEQUIP, tmp_path, model="mace")
    with pytest.raises(ValueError, match=r"must end in \.nequip\.pt2"):
        write_nequip_config(config, str(tmp_path / "c.yaml"), str(tmp_path / "model.pth"))


def test_written_config_round_trips_and_commands(tmp_path):
    config = build(ZIF_ALLEGRO, tmp_path, model="allegro")
    commands = write_nequip_config(config, str(tmp_path / "cfg" / "member_0.yaml"), str(tmp_path / "m.nequip.pt2"))
    assert yaml.safe_load((tmp_path / "cfg" / "member_0.yaml").read_text()) == config
    assert commands == nequip_commands(
        str(tmp_path / "cfg" / "member_0.yaml"), str(tmp_path / "run"), str(tmp_path / "m.nequip.pt2")
    )
    assert commands[0] == f"nequip-train -cp {(tmp_path / 'cfg').resolve()} -cn member_0"
    assert commands[1] == (
        f"nequip-compile {(tmp_path / 'run' / 'best.ckpt').resolve()} {tmp_path / 'm.nequip.pt2'} "
        '--mode aotinductor --device "cpu" --target ase'  # quoted: device auto puts a shell probe there
    )


def test_module_imports_without_torch_or_nequip():
    code = "import sys, amlip.models.nequip; print(sorted(m for m in ('torch', 'nequip', 'mace', 'e3nn') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


class CountingCalculator(Calculator):
    """Wraps a calculator, counts how often it really computes and sleeps ``delay_s`` each time."""

    implemented_properties = ["energy", "forces"]

    def __init__(self, inner, delay_s):
        super().__init__()
        self.inner, self.delay_s, self.n_calculate = inner, delay_s, 0

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        self.n_calculate += 1
        time.sleep(self.delay_s)
        a = self.atoms.copy()
        a.calc = self.inner
        self.results = {"energy": a.get_potential_energy(), "forces": a.get_forces()}


def test_cost_per_atom_per_call_counts_every_call(quartz):
    calc = CountingCalculator(pair_potential(), delay_s=0.002)
    cost = cost_per_atom_per_call(calc, quartz, n_calls=20, warmup=3)
    # Every call recomputes (no cached results), warm-up included, and none runs faster than
    # its 2 ms sleep: at least 2 ms / 9 atoms per call.
    assert calc.n_calculate == 23
    assert 0.002 / 9 <= cost < 0.1
    assert quartz.calc is None


def test_chemical_symbols_in_orders_by_atomic_number(dataset):
    assert chemical_symbols_in([str(dataset["train"]), str(dataset["val"])]) == ["O", "Si"]


# ---------------------------------------------------------------- nequip itself (nequip env)


def test_extxyz_labels_reach_nequip_data(dataset):
    """Our REF_* keys, through the config's key_mapping, become NequIP's fields unchanged."""
    pytest.importorskip("nequip")
    from ase.stress import voigt_6_to_full_3x3_stress
    from nequip.data.dataset import ASEDataset

    from amlip.io.frames import read_frames

    config = build(TINY_NEQUIP, dataset["train"].parent)
    mapping = config["data"]["key_mapping"]
    data = ASEDataset(file_path=str(dataset["train"]), ase_args={"format": "extxyz"}, key_mapping=mapping)
    frames = read_frames(dataset["train"])
    assert len(data) == len(frames)
    item = data[4]
    assert float(item["total_energy"].reshape(())) == pytest.approx(frames[4].info[REF_ENERGY], rel=1e-6)
    np.testing.assert_allclose(item["forces"].numpy(), frames[4].arrays[REF_FORCES], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(
        item["stress"].numpy()[0], voigt_6_to_full_3x3_stress(frames[4].info[REF_STRESS]), rtol=1e-5, atol=1e-9
    )


def test_zif_presets_build_real_models(tmp_path):
    """The ZIF presets are valid model arguments: 5 layers, r_max 6 Å, isolated-atom shifts in place."""
    pytest.importorskip("allegro")
    from hydra.utils import get_method
    from nequip.utils.global_state import set_global_state

    set_global_state()
    for settings, model, layer_prefix in (
        (ZIF_NEQUIP, "nequip", "model.func.layer"),
        (ZIF_ALLEGRO, "allegro", "model.func.allegro.latents."),
    ):
        block = build(settings, tmp_path, model=model)["training_module"]["model"]
        # stand-ins for the statistics nequip-train computes from the training set
        block.update(avg_num_neighbors=20.0, per_type_energy_scales=1.0)
        net = get_method(block.pop("_target_"))(**block)
        assert net.metadata["r_max"] == "6.0" and net.metadata["type_names"] == "Si O"
        names = {name for name, _ in net.named_modules()}
        layers = {n[len(layer_prefix) :].split(".")[0].split("_")[0] for n in names if n.startswith(layer_prefix)}
        assert len(layers) == 5, (model, sorted(layers))
        shift = next(m for n, m in net.named_modules() if n.endswith("per_type_energy_scale_shift"))
        np.testing.assert_allclose(shift.shifts.detach().numpy().ravel(), [E0S["Si"], E0S["O"]])


def run_commands(commands, log):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    with open(log, "w") as handle:
        for line in commands:
            result = subprocess.run(line, shell=True, env=env, stdout=handle, stderr=subprocess.STDOUT)
            if result.returncode != 0:
                handle.close()
                raise AssertionError(f"`{line}` failed:\n" + Path(log).read_text()[-3000:])


def train(settings, model, dataset, folder):
    """Train for 2 epochs with the real CLI; return the run folder and the compile command."""
    if not (BIN / "nequip-train").exists():
        pytest.skip("nequip-train is not in this environment (use .venv-nequip)")
    # The pair-potential labels have no isolated-atom energies: shift by the training mean.
    config = nequip_config(
        {**settings, "max_epochs": 2, "energy_shifts": "training_mean"},
        train_file=str(dataset["train"]),
        val_file=str(dataset["val"]),
        test_file=str(dataset["test"]),
        seed=11,
        work_dir=str(folder / "run"),
        chemical_symbols=["Si", "O"],
        model=model,
        e0s=None,
    )
    train_line, compile_line = write_nequip_config(config, str(folder / "config.yaml"), str(folder / f"{model}.nequip.pt2"))
    run_commands([train_line], folder / "train.log")
    return folder / "run", compile_line


@pytest.fixture(scope="module", params=[("nequip", TINY_NEQUIP), ("allegro", TINY_ALLEGRO)], ids=["nequip", "allegro"])
def trained(request, dataset, tmp_path_factory):
    model, settings = request.param
    if model == "allegro":
        pytest.importorskip("allegro")
    folder = tmp_path_factory.mktemp(model)
    run_dir, compile_line = train(settings, model, dataset, folder)
    return model, run_dir, compile_line


@pytest.mark.slow
def test_training_writes_checkpoint_and_learning_curve(trained):
    _, run_dir, _ = trained
    assert (run_dir / "best.ckpt").stat().st_size > 0
    with open(run_dir / "metrics.csv") as handle:
        rows = list(csv.DictReader(handle))
    val_epochs = [int(r["epoch"]) for r in rows if r.get("val0_epoch/weighted_sum")]
    assert val_epochs == [0, 1]
    test_rows = [r for r in rows if r.get("test0_epoch/forces_mae")]
    assert len(test_rows) == 1 and float(test_rows[0]["test0_epoch/forces_mae"]) > 0


def strain_energy(atoms, calc, i, eps):
    a = atoms.copy()
    strain = np.eye(3)
    strain[i, i] += eps
    a.set_cell(a.cell[:] @ strain, scale_atoms=True)
    a.calc = calc
    return a.get_potential_energy()


@pytest.mark.slow
def test_checkpoint_calculator_is_consistent(trained, dataset):
    """Energy, forces and stress of the trained model: shapes, -dE/dx and ASE stress sign."""
    from amlip.io.frames import read_frames

    _, run_dir, _ = trained
    atoms = read_frames(dataset["test"])[0]
    calc = load_nequip_calculator(str(run_dir / "best.ckpt"))
    atoms.calc = calc
    energy, forces, stress = atoms.get_potential_energy(), atoms.get_forces(), atoms.get_stress()
    assert np.ndim(energy) == 0 and np.isfinite(energy)
    assert forces.shape == (9, 3) and stress.shape == (6,)
    # Forces are minus the gradient of the energy (central difference, float64 model).
    h, i = 1e-4, 4
    displaced = []
    for sign in (1, -1):
        a = atoms.copy()
        a.positions[i, 0] += sign * h
        a.calc = calc
        displaced.append(a.get_potential_energy())
    assert forces[i, 0] == pytest.approx(-(displaced[0] - displaced[1]) / (2 * h), abs=1e-5)
    # ASE sign: stress_xx = dE/d(strain_xx) / V, the convention of our REF_stress.
    eps = 1e-5
    fd = (strain_energy(atoms, calc, 0, eps) - strain_energy(atoms, calc, 0, -eps)) / (2 * eps * atoms.get_volume())
    assert stress[0] == pytest.approx(fd, rel=1e-4, abs=1e-7)
    # No pair or many-body term may produce a net force on a periodic cell.
    np.testing.assert_allclose(forces.sum(axis=0), 0, atol=1e-8)


@pytest.mark.slow
@pytest.mark.skipif(
    os.environ.get("AMLIP_TEST_NEQUIP_COMPILE", "1") == "0",
    reason="AMLIP_TEST_NEQUIP_COMPILE=0 skips nequip-compile (~40 s per tiny model here, 2-5 min on 2 busy cores)",
)
def test_compiled_model_matches_checkpoint(trained, dataset):
    from amlip.io.frames import read_frames

    _, run_dir, compile_line = trained
    run_commands([compile_line], run_dir.parent / "compile.log")
    compiled = next(run_dir.parent.glob("*.nequip.pt2"))
    atoms = read_frames(dataset["test"])[1]
    atoms.calc = load_nequip_calculator(str(compiled))
    energy, forces, stress = atoms.get_potential_energy(), atoms.get_forces(), atoms.get_stress()
    assert np.ndim(energy) == 0 and forces.shape == (9, 3) and stress.shape == (6,)
    # Compilation must not change the model: the eager checkpoint gives the same numbers.
    eager = atoms.copy()
    eager.calc = load_nequip_calculator(str(run_dir / "best.ckpt"))
    assert eager.get_potential_energy() == pytest.approx(energy, abs=1e-8)
    np.testing.assert_allclose(eager.get_forces(), forces, atol=1e-8)
    np.testing.assert_allclose(eager.get_stress(), stress, atol=1e-10)


@pytest.mark.slow
def test_load_model_by_suffix_gives_nequip_calculator_and_committee(trained, dataset):
    """amlip.models.loading.load_model: a .ckpt loads through nequip; two files become a committee with forces_comm."""
    from amlip.io.frames import read_frames
    from amlip.models.committee import CommitteeCalculator, committee_force_deviation
    from amlip.models.handover import needs_model_python
    from amlip.models.loading import load_model

    _, run_dir, _ = trained
    checkpoint = str(run_dir / "best.ckpt")
    assert not needs_model_python(checkpoint)  # this interpreter has nequip
    atoms = read_frames(dataset["test"])[0]
    single = atoms.copy()
    single.calc = load_model(checkpoint)
    energy, forces, stress = single.get_potential_energy(), single.get_forces(), single.get_stress()
    assert np.ndim(energy) == 0 and forces.shape == (9, 3) and stress.shape == (6,)
    committee = load_model([checkpoint, str(run_dir / "last.ckpt")])
    assert isinstance(committee, CommitteeCalculator)
    committee.calculate(atoms, ["energy", "forces", "stress"])
    assert committee.results["forces_comm"].shape == (2, 9, 3)
    assert committee.results["stress"].shape == (6,)
    np.testing.assert_allclose(committee.results["forces_comm"][0], forces, atol=1e-10)
    np.testing.assert_allclose(committee.results["forces"], committee.results["forces_comm"].mean(axis=0))
    assert committee_force_deviation(committee.results["forces_comm"]) >= 0.0
