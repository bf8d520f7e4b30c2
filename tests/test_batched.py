"""The batched engine (amlip.md.batched): ASE's Langevin-Hoover BAOAB for a batch, TorchSim's batched MACE,
one model call per step, per-glass frames as the ASE engine writes them, and the rules around it."""

import logging
import runpy
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from ase import Atoms, units
from ase.build import bulk
from ase.calculators.emt import EMT
from ase.stress import voigt_6_to_full_3x3_stress

from amlip.md.guards import Guards, MDGuardError
from amlip.md.protocols import Stage
from conftest import small_mace

torch = pytest.importorskip("torch")

from amlip.md.batched import BatchedMACE, LangevinHooverBatch, barostat_mass, check_batched, run_protocol_batched  # noqa: E402


class EMTBatch:
    """EMT for each system of a batch, with BatchedMACE's call signature (a reference for the integrator)."""

    def __init__(self):
        self.n_calls, self.systems = 0, {}

    def __call__(self, positions, cell, numbers, system_idx, masses):
        energies, forces, stresses = [], [], []
        for b in range(int(system_idx.max()) + 1):
            mask = (system_idx == b).numpy()
            if b not in self.systems:  # one calculator per system keeps its neighbour list between steps
                self.systems[b] = Atoms(numbers=numbers.numpy()[mask], pbc=True)
                self.systems[b].calc = EMT()
            atoms = self.systems[b]
            atoms.set_cell(cell[b].numpy())
            atoms.set_positions(positions.numpy()[mask])
            energies.append(atoms.get_potential_energy())
            forces.append(atoms.get_forces())
            stresses.append(voigt_6_to_full_3x3_stress(atoms.get_stress()))
        self.n_calls += 1
        return torch.tensor(energies), torch.tensor(np.concatenate(forces)), torch.tensor(np.array(stresses))


def copper(seed: int, repeat=(2, 2, 2)) -> Atoms:
    atoms = bulk("Cu", "fcc", a=3.7, cubic=True).repeat(repeat)  # stretched: the barostat has work to do
    atoms.rattle(0.05, seed=seed)
    rng = np.random.default_rng(seed)
    atoms.set_velocities(rng.normal(0.0, 0.02, (len(atoms), 3)))
    return atoms


def test_the_batch_integrator_is_ases_langevin_hoover_baoab():
    """Without noise (NpH), each system of the batch follows ASE's LangevinBAOAB step by step; one call per step."""
    from ase.md.langevinbaoab import LangevinBAOAB

    systems = [copper(1), copper(2, (2, 2, 3))]
    dt, taup_fs, pressure_GPa, n_steps = 2.0 * units.fs, 100.0, 1.0, 25
    model = EMTBatch()
    dyn = LangevinHooverBatch(model, systems, "cpu", seed=0)
    mass = torch.tensor(barostat_mass([len(a) for a in systems], taup_fs))
    barostat = {"mass": mass, "gamma": 0.0, "stress": -pressure_GPa * units.GPa}
    for _ in range(n_steps):
        dyn.step(dt, 300.0, 0.0, barostat)
    assert model.n_calls == n_steps + 1  # the first forces, then one call per step
    for b, start in enumerate(systems):
        atoms = start.copy()
        atoms.calc = EMT()
        with pytest.warns(UserWarning, match="heuristic P_mass"):
            ase_dyn = LangevinBAOAB(
                atoms, dt, externalstress=-pressure_GPa * units.GPa, hydrostatic=True, P_tau=taup_fs * units.fs, rng=0
            )
        ase_dyn.run(n_steps)
        mine = dyn.atoms(b)
        assert abs(atoms.get_volume() - start.get_volume()) > 0.5  # the cell moved
        np.testing.assert_allclose(mine.cell.array, atoms.cell.array, atol=1e-9)
        np.testing.assert_allclose(mine.positions, atoms.positions, atol=1e-9)
        np.testing.assert_allclose(mine.get_velocities(), atoms.get_velocities(), atol=1e-9)


def test_the_thermostat_and_barostat_reach_their_targets():
    """Langevin NpT of two copper cells at 0 GPa: 300 K on average, and the stretched cells (a = 3.70 Å) shrink to
    EMT's zero-pressure lattice constant at 300 K (3.59 Å at 0 K, ~0.5 % more at 300 K); NVT keeps the cell."""
    systems = [copper(3), copper(4)]
    dyn = LangevinHooverBatch(EMTBatch(), systems, "cpu", seed=5)
    volume0 = dyn.volume().clone()
    for _ in range(30):
        dyn.step(2.0 * units.fs, 300.0, 1.0 / (20.0 * units.fs))
    assert torch.equal(dyn.volume(), volume0)
    barostat = {"mass": torch.tensor(barostat_mass([32, 32], 200.0)), "gamma": 1.0 / (200.0 * units.fs), "stress": 0.0}
    temperatures, lattice = [], []
    for k in range(250):
        dyn.step(2.0 * units.fs, 300.0, 1.0 / (20.0 * units.fs), barostat)
        if k >= 100:
            temperatures.append(dyn.temperature_K().numpy())
            lattice.append((dyn.volume().numpy() / 8) ** (1 / 3))
    assert np.mean(temperatures) == pytest.approx(300.0, abs=30.0)
    np.testing.assert_allclose(np.mean(lattice, axis=0), 3.59 * 1.005, rtol=0.005)


@pytest.fixture(scope="module")
def mace_file(tmp_path_factory):
    """A small untrained MACE (Si, O) saved as mace_run_train saves models (the tests that use it need TorchSim)."""
    pytest.importorskip("torch_sim")
    pytest.importorskip("mace.modules")

    model = small_mace()
    path = tmp_path_factory.mktemp("model") / "mace.model"
    torch.save(model.double(), path)
    return str(path)


def silica(seed: int, supercell=(1, 1, 1)) -> Atoms:
    from amlip.structures.crystals import build_crystal

    atoms = build_crystal("alpha_quartz", list(supercell))
    atoms.rattle(0.05, seed=seed)
    return atoms


def test_batched_mace_gives_the_mace_calculators_numbers(mace_file):
    from amlip.models.mace import load_mace

    systems = [silica(1), silica(2, (1, 1, 2))]
    systems[0].positions[0] += systems[0].cell[0]  # an atom outside its cell: the same physics
    model = BatchedMACE(mace_file, device="cpu", dtype="float64")
    dyn = LangevinHooverBatch(model, systems, "cpu", seed=0)
    start = 0
    for b, atoms in enumerate(systems):
        atoms.calc = load_mace(mace_file, dtype="float64")
        n = len(atoms)
        assert float(dyn.energy[b]) == pytest.approx(atoms.get_potential_energy(), abs=1e-8)
        np.testing.assert_allclose(dyn.forces[start : start + n].numpy(), atoms.get_forces(), atol=1e-8)
        np.testing.assert_allclose(dyn.stress[b].numpy(), voigt_6_to_full_3x3_stress(atoms.get_stress()), atol=1e-9)
        start += n


def test_run_protocol_batched_gives_each_glass_its_frames_in_one_call_per_step(mace_file):
    stages = [Stage("heat", "nvt", 300, 600, 0.006, 1.0), Stage("quench", "npt", 600, 300, 0.006, 1.0)]
    systems = [silica(1), silica(2, (1, 1, 2))]
    model = BatchedMACE(mace_file, device="cpu", dtype="float32")
    frames = run_protocol_batched(
        systems,
        model,
        stages,
        sample_every=4,
        seeds=[0, 1],
        friction_per_fs=0.01,
        taut_fs=20.0,
        taup_fs=200.0,
        guards=Guards(max_T_factor=1000.0, min_distance_A=0.05),
    )
    assert model.n_calls == 12 + 1
    assert [len(f) for f in frames] == [3, 3]  # steps 4, 8 and the last, 12
    for glass, start in zip(frames, systems):
        assert [a.info["step"] for a in glass] == [4, 8, 12]
        assert [a.info["stage"] for a in glass] == ["heat", "quench", "quench"]
        assert len(glass[-1]) == len(start) and glass[-1].get_chemical_formula() == start.get_chemical_formula()
        assert glass[0].info["target_T_K"] == pytest.approx(500.0)
        assert glass[0].get_volume() == pytest.approx(start.get_volume())  # NVT: fixed cell
        assert glass[-1].get_volume() != pytest.approx(start.get_volume(), rel=1e-6)  # NpT: the barostat moves it
        assert all(np.isfinite(a.info["epot_eV"]) and a.info["T_K"] > 0 for a in glass)
    with pytest.raises(MDGuardError, match="glass 0 of the batch: atoms closer than 1.5 Å") as caught:
        run_protocol_batched(
            systems,
            model,
            stages,
            sample_every=1,
            seeds=[0, 1],
            friction_per_fs=0.01,
            taut_fs=20.0,
            taup_fs=200.0,
            guards=Guards(min_distance_A=1.5, check_every=2),
        )
    assert caught.value.step == 2 and [len(f) for f in caught.value.frames_per_system] == [1, 1]


def test_the_engine_factory_runs_one_glass_in_the_batched_engine(mace_file):
    from amlip.md.engines import run_md

    frames = run_md(
        "batched",
        silica(3),
        BatchedMACE(mace_file, device="cpu", dtype="float64"),
        [Stage("hold", "npt", 300, 300, 0.004, 1.0)],
        sample_every=2,
        seed=7,
        taut_fs=20.0,
        taup_fs=200.0,
        friction_per_fs=0.01,
        guards=Guards(max_T_factor=1000.0, min_distance_A=0.05),
    )
    assert [a.info["step"] for a in frames] == [2, 4]
    with pytest.raises(ValueError, match="the batched engine runs neither D3 nor the committee guard"):
        run_md(
            "batched",
            silica(3),
            None,
            [Stage("hold", "npt", 300, 300, 0.004, 1.0)],
            sample_every=2,
            seed=7,
            taut_fs=20.0,
            taup_fs=200.0,
            guards=Guards(),
            dispersion={"method": "d3bj", "functional": "pbe"},
        )


def test_the_batched_engine_refuses_what_it_cannot_run():
    config = {
        "train": {"architecture": "allegro"},
        "produce": {
            "dispersion": {"method": "d3bj"},
            "melt_quench": {"engine": "batched", "guards": {"max_sigma_eV_A": 0.5}},
        },
    }
    with pytest.raises(ValueError, match="architecture is allegro.*D3 runs in the ase and lammps.*committee guard"):
        check_batched(config)
    config["produce"]["melt_quench"]["engine"] = "ase"
    check_batched(config)


def test_melt_quench_glasses_writes_each_glass_as_the_per_glass_rules_do(mace_file, tmp_path, monkeypatch):
    import pandas as pd

    from amlip.io.frames import read_frames, write_frames
    from amlip.md.outputs import THERMO_KEYS

    root = Path(__file__).resolve().parents[1]
    monkeypatch.syspath_prepend(str(root / "scripts"))
    main = runpy.run_path(str(root / "scripts" / "melt_quench_glasses.py"))["main"]
    structures = []
    for g in range(3):
        structures.append(str(tmp_path / f"start_{g}.extxyz"))
        write_frames(structures[-1], [silica(g)])
    folders = [tmp_path, tmp_path / "glass_1", tmp_path / "glass_2"]
    for folder in folders[1:]:
        folder.mkdir()
    outputs = SimpleNamespace(
        **{
            key: [str(f / name) for f in folders]
            for key, name in [("trajectory", "trajectory.extxyz"), ("schedule", "schedule.csv"), ("thermo", "thermo.csv")]
        }
    )
    md = {
        "protocol": "melt_quench_AS",
        "time_scale": 0.00002,
        "timestep_fs": 1.0,
        "sample_every": 5,
        "friction_per_fs": 0.01,
        "taut_fs": 20.0,
        "taup_fs": 200.0,
        "guards": {"max_T_factor": 1000.0, "min_distance_A": 0.05, "check_every": 10, "max_sigma_eV_A": None, "sigma_every": 50},
        "engine": "batched",
    }
    main(mace_file, structures, outputs, md, 2, [0, 1, 2], "float32", "auto", logging.getLogger("test"))
    for g in range(3):
        frames = read_frames(outputs.trajectory[g])
        thermo = pd.read_csv(outputs.thermo[g])
        assert list(thermo.columns) == list(THERMO_KEYS) and len(thermo) == len(frames) > 0
        assert pd.read_csv(outputs.schedule[g])["name"].tolist()[0] == "heat"
        assert frames[-1].get_chemical_formula() == "O6Si3"
