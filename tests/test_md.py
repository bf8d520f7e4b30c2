import numpy as np
import pytest
from ase.build import bulk
from ase.calculators.emt import EMT

from amlip.md.ase_engine import run_protocol
from amlip.md.guards import Guards, MDGuardError
from amlip.md.outputs import THERMO_KEYS, keep_frames_before_guard, write_md_outputs
from amlip.md.protocols import PRESETS, Stage, schedule, schedule_table


def test_as_melt_quench_preset_numbers():
    stages = {s.name: s for s in PRESETS["melt_quench_AS"]}
    assert stages["heat"].duration_ps == pytest.approx(4700 / 23.5)
    assert stages["melt"].duration_ps == 200.0 and stages["melt"].T_start_K == 5000
    assert stages["quench_fast"].duration_ps == pytest.approx(100.0)
    assert stages["quench_slow"].ensemble == "npt" and stages["quench_slow"].duration_ps == pytest.approx(200.0)
    assert stages["equilibrate"].duration_ps == 250.0 and stages["equilibrate"].T_end_K == 300


def test_time_scale_shrinks_every_stage_and_keeps_temperatures():
    full = schedule("melt_quench_NS")
    small = schedule("melt_quench_NS", time_scale=0.01)
    for a, b in zip(full, small):
        assert b.duration_ps == pytest.approx(0.01 * a.duration_ps)
        assert (a.T_start_K, a.T_end_K) == (b.T_start_K, b.T_end_K)
    rows = schedule_table(small)
    assert rows[1]["first_step"] == rows[0]["n_steps"]
    assert rows[0]["rate_K_per_ps"] == pytest.approx(500.0)


def test_zif_preset_time_step():
    assert all(s.timestep_fs == 0.5 for s in schedule("melt_quench_ZIF"))
    with pytest.raises(KeyError, match="unknown MD protocol 'melt_quench_XYZ'"):
        schedule("melt_quench_XYZ")


def test_stage_temperatures_follow_the_ramp():
    atoms = bulk("Cu", cubic=True).repeat((2, 2, 2))
    stages = [Stage("heat", "nvt", 100, 500, 0.1, 1.0), Stage("hold", "npt", 500, 500, 0.05, 1.0)]
    frames = run_protocol(atoms, EMT(), stages, sample_every=10, seed=0, friction_per_fs=0.05, taut_fs=100.0, taup_fs=1000.0)
    assert len(frames) == 15
    targets = [f.info["target_T_K"] for f in frames]
    np.testing.assert_allclose(targets[:10], 100 + 400 * np.arange(1, 11) / 10)
    assert all(f.info["stage"] == "hold" for f in frames[10:])
    assert frames[-1].info["step"] == 150
    assert 8.0 < frames[-1].info["density_g_cm3"] < 10.0  # copper, 8.96 g/cm3 at 0 K


def test_guard_stops_collapsing_atoms_and_keeps_frames():
    atoms = bulk("Cu", cubic=True).repeat((2, 2, 2))
    atoms.positions[1] = atoms.positions[0] + [0.3, 0, 0]
    with pytest.raises(MDGuardError, match="closer than 0.6") as err:
        run_protocol(
            atoms,
            EMT(),
            [Stage("hold", "nvt", 300, 300, 0.05)],
            guards=Guards(check_every=1),
            sample_every=1,
            friction_per_fs=0.01,
        )
    assert err.value.frames == []


def test_guard_frames_and_thermo_table_are_written(tmp_path):
    import pandas as pd

    from amlip.io.frames import read_frames

    atoms = bulk("Cu", "fcc", a=3.6, cubic=True)
    frames = run_protocol(atoms, EMT(), [Stage("hold", "nvt", 300, 300, 0.01)], sample_every=2, seed=1, friction_per_fs=0.01)
    trajectory, thermo = tmp_path / "trajectory.extxyz", tmp_path / "thermo.csv"
    write_md_outputs(frames, str(trajectory), str(thermo))
    table = pd.read_csv(thermo)
    assert list(table.columns) == list(THERMO_KEYS)
    assert table["step"].tolist() == [a.info["step"] for a in read_frames(trajectory)] == [2, 4, 6, 8, 10]

    exc = MDGuardError("temperature runaway at step 12")
    exc.frames = frames[:3]
    error = keep_frames_before_guard(exc, str(trajectory))
    kept = tmp_path / "trajectory.failed.extxyz"
    assert str(error) == f"temperature runaway at step 12; the 3 frames sampled before are in {kept}"
    assert [a.info["step"] for a in read_frames(kept)] == [2, 4, 6]


def test_integrator_needs_the_settings_of_its_ensemble_and_uses_them():
    from ase import units

    from amlip.md.integrators import make_integrator

    atoms = bulk("Cu", cubic=True)
    atoms.calc = EMT()
    with pytest.raises(ValueError, match=r"npt MD needs \['taup_fs'\]"):
        make_integrator(atoms, "npt", 300.0, 1.0, taut_fs=100.0)
    with pytest.raises(ValueError, match="ensemble must be one of"):
        make_integrator(atoms, "nph", 300.0, 1.0)
    npt = make_integrator(atoms, "npt", 300.0, 2.0, taut_fs=50.0, taup_fs=500.0, pressure_GPa=1.0)
    assert npt.dt == pytest.approx(2.0 * units.fs) and npt.P_tau == pytest.approx(500.0 * units.fs)
    assert npt.T_tau == pytest.approx(50.0 * units.fs) and npt.externalstress == pytest.approx(-1.0 * units.GPa)
    assert npt.hydrostatic
    nvt = make_integrator(atoms, "nvt", 300.0, 1.0, friction_per_fs=0.02, rng=np.random.default_rng(0))
    assert nvt.fr == pytest.approx(0.02 / units.fs)
    atoms.set_momenta(np.full((len(atoms), 3), 0.1))  # Bussi refuses atoms at rest
    csvr = make_integrator(atoms, "csvr", 300.0, 1.0, taut_fs=100.0, rng=np.random.default_rng(0))
    assert type(csvr).__name__ == "Bussi" and csvr.taut == pytest.approx(100.0 * units.fs)
    assert type(make_integrator(atoms, "nve", 300.0, 1.0)).__name__ == "VelocityVerlet"


def test_engine_factory_runs_either_engine_and_refuses_what_one_cannot_do():
    from amlip.md.engines import run_md

    atoms = bulk("Cu", cubic=True).repeat((2, 2, 2))
    stages = [Stage("hold", "nvt", 300, 300, 0.02, 1.0)]
    kw = dict(sample_every=5, seed=0, taut_fs=100.0, taup_fs=1000.0, guards=Guards(), friction_per_fs=0.01)
    frames = run_md("ase", atoms, EMT(), stages, **kw)
    assert [f.info["step"] for f in frames] == [5, 10, 15, 20] and frames[-1].info["stage"] == "hold"
    with pytest.raises(ValueError, match=r"engine 'gromacs': use one of \['ase', 'lammps', 'batched'\]"):
        run_md("gromacs", atoms, EMT(), stages, **kw)


class CountingEMT(EMT):
    """EMT that counts its evaluations (each computes energy, forces and stress together)."""

    calls = 0

    def calculate(self, *args, **kwargs):
        CountingEMT.calls += 1
        super().calculate(*args, **kwargs)


def test_npt_makes_one_model_call_per_step_and_reaches_the_equilibrium_density():
    """The barostat reads the stress of the same call as the forces (Berendsen made two calls a step).

    Cu with EMT, compressed by 3 % in length, relaxes at 300 K and zero pressure to the density of
    its own zero-pressure lattice (EMT Cu: a = 3.59 Å at 0 K, ~0.5 % more at 300 K).
    """
    from ase.filters import FrechetCellFilter
    from ase.optimize import BFGS

    from amlip.md.integrators import make_integrator
    from amlip.structures.crystals import density_g_cm3

    relaxed = bulk("Cu", cubic=True)
    relaxed.calc = EMT()
    BFGS(FrechetCellFilter(relaxed), logfile=None).run(fmax=1e-4)
    rho0 = density_g_cm3(relaxed)
    atoms = relaxed.repeat((3, 3, 3))
    atoms.set_cell(atoms.cell * 0.97, scale_atoms=True)
    atoms.calc = CountingEMT()
    rng = np.random.default_rng(1)
    from ase.md.velocitydistribution import MaxwellBoltzmannDistribution

    MaxwellBoltzmannDistribution(atoms, temperature_K=300, rng=rng)
    dyn = make_integrator(atoms, "npt", 300.0, 2.0, rng=rng, taut_fs=100.0, taup_fs=200.0)
    CountingEMT.calls = 0
    dyn.run(10)
    assert CountingEMT.calls <= 11
    densities = []
    for _ in range(40):
        dyn.run(25)
        densities.append(density_g_cm3(atoms))
    assert np.mean(densities[20:]) == pytest.approx(rho0 * 0.985, rel=0.015)
    assert density_g_cm3(relaxed.repeat((3, 3, 3))) * 0.97**-3 > 1.08 * np.mean(densities[20:])  # it expanded


def test_a_short_blown_up_run_fails_at_its_last_step():
    """8 steps of 40 fs (fewer than check_every) heat Cu to ~1e7 K: the run must not end green (it did)."""
    from amlip.md.engines import run_md

    atoms = bulk("Cu", cubic=True).repeat((2, 2, 2))
    stages = [Stage("hold", "nvt", 300, 300, 0.32, 40.0)]
    kw = dict(sample_every=5, seed=0, taut_fs=100.0, taup_fs=1000.0, friction_per_fs=0.01)
    with pytest.raises(MDGuardError, match="at step 8") as error:
        run_md("ase", atoms, EMT(), stages, guards=Guards(max_T_factor=3.0, min_distance_A=0.6, check_every=10), **kw)
    assert [f.info["step"] for f in error.value.frames] == [5]


@pytest.mark.parametrize("engine", ["ase", "lammps"])
def test_guards_run_at_the_end_of_every_stage(engine):
    """Two stages of 6 steps, guards every 100 steps and a bound of 30 K: checked first at step 6, the end of stage one."""
    from amlip.md.engines import run_md

    atoms = bulk("Cu", cubic=True).repeat((2, 2, 2))
    stages = [Stage("one", "nvt", 300, 300, 0.006, 1.0), Stage("two", "nvt", 300, 300, 0.006, 1.0)]
    kw = dict(sample_every=4, seed=0, taut_fs=100.0, taup_fs=1000.0, friction_per_fs=0.01)
    with pytest.raises(MDGuardError, match="temperature runaway at step 6: .* K where the protocol peaks at 300 K") as error:
        run_md(engine, atoms, EMT(), stages, guards=Guards(max_T_factor=0.1, min_distance_A=0.6, check_every=100), **kw)
    assert [f.info["step"] for f in error.value.frames] == [4]


def test_committee_guard_in_the_ase_engine_stops_and_keeps_the_frames_with_their_sigma():
    """Two members that disagree (EMT and a Lennard-Jones Cu): sigma_max is recorded on every frame
    at no extra model call, and the run stops when it exceeds the bound."""
    from ase.calculators.lj import LennardJones

    from amlip.md.engines import run_md
    from amlip.models.committee import SIGMA_KEY, CommitteeCalculator, committee_force_deviation

    atoms = bulk("Cu", cubic=True).repeat((2, 2, 2))
    atoms.rattle(0.05, seed=1)
    lj = LennardJones(sigma=2.3, epsilon=0.4, rc=5.0, smooth=True)
    members = [EMT(), lj]
    committee = CommitteeCalculator(members)
    stages = [Stage("hold", "nvt", 600, 600, 0.03, 1.0)]
    kw = dict(sample_every=5, seed=0, taut_fs=100.0, taup_fs=1000.0, friction_per_fs=0.01, guards=Guards())
    frames = run_md("ase", atoms, committee, stages, **kw)
    assert len(frames) == 6 and all(SIGMA_KEY in f.info for f in frames)
    last = frames[-1].copy()
    forces = []
    for member in members:
        last.calc = member
        forces.append(last.get_forces())
    assert frames[-1].info[SIGMA_KEY] == pytest.approx(committee_force_deviation(np.array(forces)), rel=1e-6)
    bound = 0.5 * min(f.info[SIGMA_KEY] for f in frames)
    with pytest.raises(MDGuardError, match=f"committee force deviation .* above {bound} eV/Å at step 1 ") as error:
        run_md("ase", atoms, committee, stages, committee_sigma_max_eV_A=bound, **kw)
    assert error.value.frames == []
    # a single driving model audited by the members every committee_every steps
    with pytest.raises(MDGuardError, match="at step 10 "):
        run_md("ase", atoms, EMT(), stages, committee=members, committee_sigma_max_eV_A=bound, committee_every=10, **kw)
