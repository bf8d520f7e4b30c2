"""Device selection (config device.<family>: auto, cpu, cuda): resolved in the job, reaching every MACE/NequIP
command and loader, and the GPUs the rules ask the scheduler for."""

import ast
import copy
import logging
import re
import runpy
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from amlip.models import device as dev
from conftest import small_mace

ROOT = Path(__file__).resolve().parents[1]


def test_settings_resolve_in_the_job_and_auto_is_the_cpu_here(monkeypatch):
    pytest.importorskip("torch")
    assert dev.cuda_available() is False  # this machine: no GPU
    assert dev.resolve_device("auto") == "cpu"
    assert dev.resolve_device("cpu") == "cpu"
    with pytest.raises(RuntimeError, match="torch sees no GPU in this job"):
        dev.resolve_device("cuda")
    with pytest.raises(ValueError, match="device.produce is 'gpu': use one of"):
        dev.check_setting("gpu", "device.produce")
    monkeypatch.setattr(dev, "cuda_available", lambda: True)
    assert dev.resolve_device("auto") == "cuda"
    assert dev.resolve_device("cuda") == "cuda"
    assert dev.resolve_device("cpu") == "cpu"


def test_gpus_follow_the_setting_and_float32_on_cuda():
    assert [dev.gpus_for(s) for s in ("auto", "cuda", "cpu")] == [1, 1, 0]
    assert dev.md_dtype("cuda") == "float32" and dev.md_dtype("cpu") == "float64"


def test_cuequivariance_when_installed_with_a_fallback_message(monkeypatch, caplog):
    assert dev.use_cueq("cpu") is False
    monkeypatch.setattr(dev, "cueq_available", lambda: False)
    with caplog.at_level(logging.WARNING):
        assert dev.use_cueq("cuda") is False
    assert "cuequivariance_torch is not installed" in caplog.text
    assert "pip install -r requirements-gpu.txt" in caplog.text
    monkeypatch.setattr(dev, "cueq_available", lambda: True)
    assert dev.use_cueq("cuda") is True


def test_the_optional_gpu_environment_pins_cuequivariance():
    pins = (ROOT / "requirements-gpu.txt").read_text()
    assert re.search(r"^cuequivariance-torch==\d", pins, re.M)
    env = yaml.safe_load((ROOT / "envs" / "mace_gpu.yaml").read_text())
    pip = next(d for d in env["dependencies"] if isinstance(d, dict))["pip"]
    assert any(p.startswith("cuequivariance-torch==") for p in pip)
    assert any(p.startswith("mace-torch==0.3.16") for p in pip)


def test_mace_command_gets_the_device_and_cuequivariance(tmp_path):
    from amlip.models.mace import mace_cli_args

    common = dict(
        name="m", train_file="t", valid_file="v", test_file="s", e0s_file=str(tmp_path / "no.json"), work_dir="w", seed=0
    )
    assert "--device=cpu" in shlex.split(mace_cli_args({}, **common))
    args = shlex.split(mace_cli_args({"default_dtype": "float32"}, **common, device="cuda", enable_cueq=True))
    assert "--device=cuda" in args and "--enable_cueq=True" in args and "--default_dtype=float32" in args


def _run_train_script(monkeypatch, tmp_path, device):
    """scripts/train_model.py's main with mace_run_train replaced by a stub that records the command."""
    seen = {}

    def fake_run(command, **kwargs):
        seen["command"] = command
        return subprocess.CompletedProcess(command, 1)

    monkeypatch.setattr(subprocess, "run", fake_run)
    monkeypatch.syspath_prepend(str(ROOT / "scripts"))
    main = runpy.run_path(str(ROOT / "scripts" / "train_model.py"))["main"]
    frames = tmp_path / "train.extxyz"
    frames.write_text("1\nProperties=species:S:1:pos:R:3\nSi 0 0 0\n")
    with pytest.raises(RuntimeError, match="mace_run_train exited with 1"):
        main(
            str(frames),
            str(frames),
            str(frames),
            str(tmp_path / "e0s.json"),
            str(tmp_path / "member" / "mace.model"),
            str(tmp_path / "member" / "fit.csv"),
            settings={"batch_size": 4},
            budget={"steps": 8, "warm_start": False, "warm_start_steps": 4, "min_epochs": 1},
            finetune={"foundation_model": None},
            seed=0,
            device=device,
            threads=1,
            log_file=str(tmp_path / "train.log"),
            log=logging.getLogger("test"),
        )
    return seen["command"]


def test_training_job_resolves_auto_and_passes_the_device(monkeypatch, tmp_path):
    pytest.importorskip("torch")
    (tmp_path / "member").mkdir()
    command = _run_train_script(monkeypatch, tmp_path, "auto")
    assert command[0] == "mace_run_train" and "--device=cpu" in command and "--enable_cueq=True" not in command
    monkeypatch.setattr(dev, "cuda_available", lambda: True)
    monkeypatch.setattr(dev, "cueq_available", lambda: True)
    command = _run_train_script(monkeypatch, tmp_path, "auto")
    assert "--device=cuda" in command and "--enable_cueq=True" in command


def test_load_model_resolves_the_device_for_mace_and_nequip(monkeypatch):
    pytest.importorskip("torch")
    import amlip.models.loading as loading
    import amlip.models.nequip as nequip

    calls = []
    monkeypatch.setattr(loading, "load_mace", lambda paths, **kw: calls.append(("mace", kw)) or "mace")
    monkeypatch.setattr(nequip, "load_nequip_calculator", lambda path, **kw: calls.append(("nequip", kw)) or "nequip")
    assert loading.load_model("a/mace.model", dtype="float32", device="auto") == "mace"
    assert calls[-1] == ("mace", {"dtype": "float32", "device": "cpu", "enable_cueq": False})
    loading.load_model("a/model.nequip.pt2", device="auto")
    assert calls[-1] == ("nequip", {"device": "cpu"})
    with pytest.raises(RuntimeError, match="torch sees no GPU"):
        loading.load_model("a/mace.model", device="cuda")
    monkeypatch.setattr(dev, "cuda_available", lambda: True)
    monkeypatch.setattr(dev, "cueq_available", lambda: False)
    loading.load_model("a/mace.model", device="auto")
    assert calls[-1][1]["device"] == "cuda" and calls[-1][1]["enable_cueq"] is False
    loading.load_model("a/model.nequip.pt2", device="cuda")
    assert calls[-1] == ("nequip", {"device": "cuda"})


def test_nequip_accelerator_and_compile_target_follow_the_setting(tmp_path):
    from amlip.models.nequip import TINY_NEQUIP, nequip_commands, nequip_config

    common = dict(train_file="t", val_file="v", test_file=None, seed=0, work_dir=str(tmp_path), chemical_symbols=["Si"])
    accelerators = {
        d: nequip_config(TINY_NEQUIP, **common, e0s={"Si": -1.0}, device=d)["trainer"]["accelerator"] for d in dev.SETTINGS
    }
    assert accelerators == {"auto": "auto", "cpu": "cpu", "cuda": "gpu"}
    compile_cpu = nequip_commands(str(tmp_path / "c.yaml"), str(tmp_path), str(tmp_path / "m.nequip.pt2"), device="cpu")[1]
    assert '--device "cpu"' in compile_cpu
    # auto: the job's shell asks torch; a stub nequip-compile prints what it got (cpu on this machine)
    compile_auto = nequip_commands(str(tmp_path / "c.yaml"), str(tmp_path), str(tmp_path / "m.nequip.pt2"), device="auto")[1]
    python_dir = str(Path(sys.executable).parent)
    out = subprocess.run(
        ["bash", "-c", f'export PATH="{python_dir}:$PATH"; nequip-compile() {{ echo "$@"; }}; {compile_auto}'],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "--device cpu --target ase" in out.stdout


def test_compiled_nequip_members_need_one_device_for_every_family():
    config = {
        "device": {"train": "cuda", "explore": "cuda", "produce": "auto", "validate": "cuda"},
        "train": {"architecture": "nequip", "nequip": {"compile": True}},
    }
    with pytest.raises(ValueError, match="compiled NequIP/Allegro members run only on the device"):
        dev.check_devices(config)
    eager = copy.deepcopy(config)
    eager["train"]["nequip"]["compile"] = False
    dev.check_devices(eager)
    mace = copy.deepcopy(config)
    mace["train"]["architecture"] = "mace"
    dev.check_devices(mace)


def _script_calls(path: Path, name: str):
    return [
        node
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) == name
    ]


def test_every_script_that_loads_a_model_passes_a_device_and_its_rule_a_family():
    loaders = {}
    for path in sorted((ROOT / "scripts").glob("*.py")):
        calls = _script_calls(path, "load_model")
        if calls:
            loaders[path.stem] = calls
            for call in calls:
                assert "device" in {k.arg for k in call.keywords}, f"{path.name} line {call.lineno}: load_model without device"
    family_rules = {rule for rules in dev.FAMILIES.values() for rule in rules}
    rules_text = "\n".join(p.read_text() for p in sorted((ROOT / "rules").glob("*.smk")))
    for family, rules in dev.FAMILIES.items():
        for rule in rules:
            block = re.search(rf"rule {rule}:\n(.*?)(?=\n\s*rule |\Z)", rules_text, re.S)
            assert block, f"rule {rule} of device.{family} not found"
            assert f'gpu=GPUS["{family}"]' in block.group(1), f"rule {rule}: resources gpu does not follow device.{family}"
            if rule not in ("train_nequip", "train_deepmd", "train_grace"):  # shell rules: the device is in their command line
                assert f'device=DEVICE["{family}"]' in block.group(1), f"rule {rule}: no device param"
    scripts_of = dict(re.findall(r"rule (\w+):.*?\.\./scripts/(\w+)\.py", rules_text, re.S))
    for rule, script in scripts_of.items():
        if script in loaders:
            assert rule in family_rules, f"rule {rule} runs {script}.py (loads a model) but is in no device family"


def _gpus_per_rule(log: str) -> dict[str, set[int]]:
    """gpu=N of every job in a dry-run log, per rule (a job without gpu counts as 0)."""
    gpus, rule = {}, None
    for line in log.splitlines():
        match = re.match(r"\s*(?:local)?rule (\w+):", line)
        if match:
            rule = match.group(1)
        elif rule and line.strip().startswith("resources:"):
            found = re.search(r"\bgpu=(\d+)", line)
            gpus.setdefault(rule, set()).add(int(found.group(1)) if found else 0)
            rule = None
    return gpus


@pytest.mark.parametrize(
    "devices",
    [None, {"train": "cpu", "explore": "cuda", "produce": "auto", "validate": "cpu"}],
    ids=["default-auto", "mixed"],
)
def test_slurm_dry_run_asks_for_a_gpu_exactly_where_the_config_device_may_use_one(snakemake_copy, tmp_path, devices):
    args = ["-n", "--profile", "profiles/slurm", "--configfile", "config/config.yaml"]
    settings = dict.fromkeys(dev.FAMILIES, "auto")
    if devices:
        override = tmp_path / "devices.yaml"
        override.write_text(yaml.safe_dump({"device": devices}))
        args.append(str(override))
        settings = devices
    result = snakemake_copy(*args)
    assert result.returncode == 0, result.stderr[-3000:]
    gpus = _gpus_per_rule(result.stdout + result.stderr)
    family_of = {rule: family for family, rules in dev.FAMILIES.items() for rule in rules}
    assert {"train_model", "evaluate_model", "explore_production", "melt_quench", "md_vdos"} <= set(gpus)
    for rule, seen in gpus.items():
        expected = dev.gpus_for(settings[family_of[rule]]) if rule in family_of else 0
        assert seen == {expected}, f"rule {rule}: gpu={seen}, expected {expected} (device {settings.get(family_of.get(rule))})"


def test_the_slurm_profile_sends_every_rule_of_a_device_family_to_the_gpu_partition():
    """A rule whose resources ask for a GPU (its family on auto or cuda) must not land on the CPU partition: sbatch
    refuses --gpus there ('Invalid generic resource (gres) specification', calibrate_band in the CI cluster)."""
    profile = yaml.safe_load((ROOT / "profiles/slurm/config.yaml").read_text())
    on_gpu = {rule for rule, res in profile["set-resources"].items() if res.get("slurm_partition") == "gpu"}
    missing = sorted(rule for rules in dev.FAMILIES.values() for rule in rules if rule not in on_gpu)
    assert not missing, f"profiles/slurm/config.yaml: no slurm_partition gpu for {missing}"


def test_cuequivariance_kernels_give_maces_own_numbers(tmp_path):
    """With cuequivariance-torch installed (requirements-gpu.txt), MACE's cuEquivariance path (here its CPU
    fallback) gives the energies and forces of the e3nn kernels: the pins of the GPU extras fit mace-torch 0.3.16."""
    pytest.importorskip("cuequivariance_torch")
    pytest.importorskip("mace.modules")  # before e3nn: importing mace lets torch load e3nn's constants
    import numpy as np
    import torch

    from amlip.models.mace import load_mace
    from amlip.structures.crystals import build_crystal

    model = small_mace("8x0e+8x1o")
    torch.save(model.double(), tmp_path / "mace.model")
    atoms = build_crystal("alpha_quartz")
    atoms.rattle(0.05, seed=1)
    results = []
    for cueq in (False, True):
        atoms.calc = load_mace(str(tmp_path / "mace.model"), dtype="float64", enable_cueq=cueq)
        results.append((atoms.get_potential_energy(), atoms.get_forces(), atoms.get_stress()))
    assert results[1][0] == pytest.approx(results[0][0], abs=1e-9)
    np.testing.assert_allclose(results[1][1], results[0][1], atol=1e-9)
    np.testing.assert_allclose(results[1][2], results[0][2], atol=1e-9)


@pytest.mark.parametrize("produce", ["auto", "cpu"])
def test_batched_engine_runs_every_glass_in_one_gpu_job_and_one_glass_per_job_on_the_cpu(snakemake_copy, tmp_path, produce):
    override = tmp_path / "batched.yaml"
    override.write_text(
        yaml.safe_dump({"device": {"produce": produce}, "produce": {"melt_quench": {"engine": "batched", "n_glasses": 3}}})
    )
    result = snakemake_copy("-n", "--profile", "profiles/slurm", "--configfile", "config/config.yaml", str(override))
    assert result.returncode == 0, result.stderr[-3000:]
    log = result.stdout + result.stderr
    jobs = {
        rule: len(re.findall(rf"^rule {rule}:$", log, re.M))
        for rule in ("melt_quench", "melt_quench_glass", "melt_quench_glasses")
    }
    gpus = _gpus_per_rule(log)
    if produce == "auto":
        assert jobs == {"melt_quench": 0, "melt_quench_glass": 0, "melt_quench_glasses": 1}
        assert gpus["melt_quench_glasses"] == {1}
        job = log[log.index("rule melt_quench_glasses:") :].split("\n\n")[0]
        assert "results/produce/melt_quench/trajectory.extxyz" in job and "glass_2/thermo.csv" in job
    else:
        assert jobs == {"melt_quench": 1, "melt_quench_glass": 2, "melt_quench_glasses": 0}
        assert gpus["melt_quench"] == gpus["melt_quench_glass"] == {0}
