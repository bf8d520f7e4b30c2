"""ZIF-4 (ZIF paper, Castel et al., Digital Discovery 3 (2024) 355): the crystal, analyses that follow the linker,
the linker-integrity check, X-ray F(Q) against measured data, the presets, and the rules on a tiny case."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from ase.data import atomic_masses, atomic_numbers

from amlip.properties import linkers, rings, zif
from amlip.structures.crystals import build_crystal, density_g_cm3
from amlip.structures.zif import ZIF4_FORMULA, zif4_crystal

ROOT = Path(__file__).resolve().parents[1]
XRAY = ROOT / "resources" / "reference" / "zif4_xray"
SETTINGS = {
    "metal": "Zn",
    "donor": "N",
    "metal_cutoff_A": 2.5,
    "linker": {"elements": ["C", "H", "N"]},
    "bond_cutoffs_A": {},
    "temperature_K": 300.0,
    "rings": {"max_size": 10},
    "angles": {"bins": 90},
    "rdf": {"r_max_A": 7.5, "bins": 150},
    "pores": {"probe_radius_A": 1.2, "grid_spacing_A": 0.3, "radii": {}},
    "average_last_fraction": 1.0,
}


@pytest.fixture(scope="module")
def crystal():
    return zif4_crystal()


def broken_ring(atoms):
    """A copy with one imidazolate ring opened: the C between its two N moved 1 Å outwards (both C-N bonds > 2.2 Å)."""
    broken = atoms.copy()
    symbols = np.array(atoms.get_chemical_symbols())
    mol = next(m for m in linkers.find_molecules(atoms) if len(m.atoms) == 8)
    pos = dict(zip(mol.atoms, mol.positions(atoms)))
    ring = [a for a in mol.atoms if symbols[a] in ("C", "N")]
    centre = np.mean([pos[a] for a in ring], axis=0)
    n_atoms = [a for a in ring if symbols[a] == "N"]
    c2 = next(a for a in ring if symbols[a] == "C" and all(np.linalg.norm(pos[a] - pos[n]) < 1.6 for n in n_atoms))
    outward = (pos[c2] - centre) / np.linalg.norm(pos[c2] - centre)
    broken.positions[c2] += 1.0 * outward
    return broken, c2


def test_zif4_crystal_is_the_papers_cell(crystal):
    assert len(crystal) == 272 and crystal.symbols.formula.count() == ZIF4_FORMULA
    # Zn16 C96 H96 N64 in 15.4231 x 15.4042 x 18.4379 Å: 1.210 g/cm3 (the paper's MLP crystal: 1.16 at 0 GPa, 300 K)
    mass = sum(n * atomic_masses[atomic_numbers[e]] for e, n in ZIF4_FORMULA.items())
    assert density_g_cm3(crystal) == pytest.approx(mass / 6.02214076e23 / (15.4231 * 15.4042 * 18.4379 * 1e-24), rel=1e-4)
    assert density_g_cm3(crystal) == pytest.approx(1.210, abs=0.002)
    assert len(zif4_crystal((2, 2, 2))) == 2176  # the paper's supercell
    assert len(build_crystal("zif4")) == 272


def test_every_zn_is_four_coordinated_by_n(crystal):
    table = zif.coordination_table([crystal], SETTINGS)
    assert table.coordination.tolist() == [4, "mean"]
    assert table.fraction.tolist() == [1.0, 4.0]
    from ase.neighborlist import neighbor_list

    i, j, d = neighbor_list("ijd", crystal, 2.5)
    symbols = np.array(crystal.get_chemical_symbols())
    zn_n = d[(symbols[i] == "Zn") & (symbols[j] == "N")]
    assert len(zn_n) == 64 and 1.9 < zn_n.min() and zn_n.max() < 2.1


def test_every_imidazolate_is_intact(crystal):
    table = linkers.linker_table(crystal)
    assert len(table) == 32 and table.intact.all()
    assert set(table.formula) == {"C3H3N2"}
    assert (table["n_C-N"] == 4).all() and (table["n_C-C"] == 1).all() and (table["n_C-H"] == 3).all()
    integrity = linkers.linker_integrity([crystal])
    assert integrity.n_intact.tolist() == [32] and integrity.n_broken.tolist() == [0]
    linkers.check_linkers(integrity)  # no error


def test_crystal_zn_rings_are_those_of_its_net(crystal):
    """ZIF-4 has the cag net. The ZIF paper reports the crystal's Zn-Im rings as "perfectly defined 8, 12 and
    16-membered rings" (R.I.N.G.S. primitive rings, searched to 32 members): 4, 6 and 8 Zn. The vertex symbol
    of cag computed here, 4.6.6.6.6.6_2 (point symbol 4.6^5; RCSR, O'Keeffe et al., Acc. Chem. Res. 41 (2008)
    1782), has the 4- and 6-rings as the shortest rings at each angle; the 8-rings are primitive but the
    shortest at no angle. (The RCSR page itself could not be read where this was written: check the symbol there.)"""
    graph, _ = zif.zn_graph(crystal, SETTINGS)
    assert len(graph) == 16 and all(len(links) == 4 for links in graph.values())
    counts = rings.ring_size_counts(graph, 12)
    assert sorted(counts) == [4, 6, 8]
    assert dict(counts) == {4: 4, 6: 16, 8: 32}  # per 272-atom cell
    symbols = {rings.format_vertex_symbol(rings.vertex_symbol(graph, node)) for node in graph}
    assert symbols == {"4.6.6.6.6.6_2"}
    table = zif.ring_table([crystal], SETTINGS)
    present = table[table.rings_per_cell > 0]
    assert present.ring_size_zn_im.tolist() == [8, 12, 16]
    assert present.rings_per_metal.tolist() == [0.25, 1.0, 2.0]
    # the shortest-path rings (Guttman) miss the 8-rings: one ring definition does not fit every net
    assert sorted(rings.ring_size_counts(graph, 12, primitive=False)) == [4, 6]


def test_ring_finder_on_known_nets():
    """dia: only 6-rings, vertex symbol 6_2 at every angle; pcu: point symbol 4^12.6^3
    (Blatov, O'Keeffe and Proserpio, CrystEngComm 12 (2010) 44)."""
    from ase.build import bulk
    from ase.neighborlist import neighbor_list

    def net(atoms, cutoff):
        i, j, s = neighbor_list("ijS", atoms, cutoff)
        graph = {k: [] for k in range(len(atoms))}
        for a, b, shift in zip(i, j, s):
            graph[int(a)].append((int(b), tuple(int(x) for x in shift)))
        return graph

    dia = net(bulk("Si", "diamond", a=5.43, cubic=True), 2.5)
    assert dict(rings.ring_size_counts(dia, 10)) == {6: 16}  # 8 atoms x 12 rings per atom / 6
    assert rings.format_vertex_symbol(rings.vertex_symbol(dia, 0)) == "6_2.6_2.6_2.6_2.6_2.6_2"
    pcu = net(bulk("Po", "sc", a=2.0), 2.1)
    # 3 squares and 4 skew hexagons (the Petrie polygons of the cube, one per body diagonal) per vertex: a skew
    # hexagon has no shortcut, so it is primitive (not strong: it is the sum of three squares, not of two rings)
    assert dict(rings.ring_size_counts(pcu, 8)) == {4: 3, 6: 4}
    symbol = rings.vertex_symbol(pcu, 0)
    assert [size for size, _ in symbol].count(4) == 12 and [size for size, _ in symbol].count(6) == 3


def test_linker_check_fails_on_one_broken_ring(crystal):
    broken, atom = broken_ring(crystal)
    table = linkers.linker_table(broken)
    bad = table[~table.intact]
    assert len(table) == 33 and len(bad) == 2  # the opened chain C2H2N2 and the lost CH
    assert set(bad.formula) == {"C2H2N2", "CH"}
    integrity = linkers.linker_integrity([crystal, broken])
    assert integrity.n_broken.tolist() == [0, 2]
    with pytest.raises(linkers.LinkerIntegrityError, match=r"1 of 2 frames .* broken linkers \(first: frame 1\)"):
        linkers.check_linkers(integrity)
    # one C-N bond broken, the molecule still whole (C3H3N2): the ring opened is caught by its bonds
    opened = crystal.copy()
    symbols = np.array(crystal.get_chemical_symbols())
    mol = next(m for m in linkers.find_molecules(crystal) if atom in m.atoms)
    pos = dict(zip(mol.atoms, mol.positions(crystal)))
    neighbours = {a: {b for bond in mol.bonds if a in bond for b in bond if b != a} for a in mol.atoms}
    c = next(a for a in mol.atoms if symbols[a] == "C" and sum(symbols[b] == "N" for b in neighbours[a]) == 1)
    n = next(b for b in neighbours[c] if symbols[b] == "N")
    h = next(b for b in neighbours[c] if symbols[b] == "H")
    away = (pos[c] - pos[n]) / np.linalg.norm(pos[c] - pos[n])
    opened.positions[[c, h]] += 0.5 * away  # C-N 1.38 -> 1.88 Å, the C-C bond and the C-H stay
    table = linkers.linker_table(opened)
    bad = table[~table.intact]
    assert bad.formula.tolist() == ["C3H3N2"] and bad.reason.tolist() == ["bonds C-N 3 (want 4); no 5-ring"]


def test_angles_rdf_and_pores_of_the_crystal(crystal):
    table, means = zif.angle_table([crystal], SETTINGS)
    mean, std = means["N-Zn-N"]
    assert mean == pytest.approx(109.47, abs=0.5) and std < 5  # Zn(Im)4 tetrahedra
    assert 130 < means["Zn-Im-Zn"][0] < 150  # ZIFs bend M-Im-M near 145°, like Si-O-Si
    assert np.trapezoid(table.P_NZnN, table.angle_deg) == pytest.approx(1.0, abs=1e-6)
    f = table.F_NZnN_kJ_mol.replace(np.inf, np.nan)
    assert f.min() == 0.0 and 100 < table.angle_deg[f.idxmin()] < 120
    rdf = zif.rdf_table([crystal], SETTINGS)
    assert 1.95 < rdf.r_A[rdf.g_ZnN.idxmax()] < 2.05
    zn_zn = rdf[rdf.g_ZnZn > 0].r_A.min()
    assert 5.6 < zn_zn < 6.1  # Zn...Zn across an imidazolate (cag edges 5.87-5.93 Å)
    pores = zif.pore_table([crystal], SETTINGS)
    # 1.2 Å He probe, Bondi radii: 47 cm3/kg; the paper (Zeo++, AIMD crystal at 300 K): 54 cm3/kg
    assert 40 < pores.pore_volume_cm3_kg.iloc[0] < 60
    summary = zif.summary_table([crystal], SETTINGS, pores=pores)
    values = summary.set_index("property").value
    assert values["Zn 4-coordinated fraction"] == 1.0 and values["Zn-N coordination"] == 4.0


def test_measured_xray_files_load():
    from amlip.properties.xray import load_gudrun

    q, f = load_gudrun(XRAY / "ZIF4glassa_403.int01")
    assert len(q) == 935 and q[0] == pytest.approx(0.6125) and q[-1] == pytest.approx(23.96228)
    assert f[0] == pytest.approx(-0.6, abs=0.2)  # F(Q) -> negative at low Q (no small-angle scattering)
    r, d = load_gudrun(XRAY / "ZIF4glassa_403.dofr")
    assert r[0] == 0.0 and r[-1] == pytest.approx(39.98) and len(r) == 2000  # the all-zero last row is dropped
    with pytest.raises(FileNotFoundError, match="nothing.int01"):
        load_gudrun(XRAY / "nothing.int01")


def test_xray_fq_of_the_crystal_against_the_measured_crystal(crystal):
    from amlip.properties.xray import form_factor, xray_comparison

    assert form_factor("Zn", np.array([0.0]))[0] == pytest.approx(30.0, abs=0.02)  # f(0) = Z
    assert form_factor("H", np.array([0.0]))[0] == pytest.approx(1.0, abs=0.001)
    assert form_factor("N", np.array([0.0]))[0] == pytest.approx(7.0, abs=0.01)
    settings = {
        "reference": XRAY / "ZIF4glassa_31.int01",
        "reference_dofr": XRAY / "ZIF4glassa_31.dofr",
        "q_min_inv_A": 1.2,
        "q_max_inv_A": 20.0,
        "r_max_A": None,
        "broadening_A": 0.1,
        "normalisation": "<f^2>",
    }
    fq, dr, summary = xray_comparison([crystal], settings)
    worse = xray_comparison([crystal], {**settings, "normalisation": "<f>^2"})[2]
    # the measured files are normalised by <f^2>: the other normalisation is more than twice as far
    assert summary["r_factor_FQ"] < 0.6 and worse["r_factor_FQ"] > 2 * summary["r_factor_FQ"]
    assert summary["first_peak_model_inv_A"] == pytest.approx(summary["first_peak_measured_inv_A"], abs=0.15)
    # the measured D(r) is not the plain transform of the measured F(Q): 0.21 is the floor of any model
    assert summary["r_factor_Dr_data_self"] == pytest.approx(0.21, abs=0.02)
    assert len(dr) > 100 and set(fq.columns) == {"Q_inv_A", "F_model", "F_measured", "in_window"}


@pytest.mark.slow
def test_xray_normalisation_scale_from_the_crystal_supercell():
    """The measured F(Q) files are normalised by <f^2>: fitted scale 1.04 (vs 0.31 with <f>^2), 2x2x2 cell, g to 15 Å."""
    from amlip.properties.xray import xray_comparison

    settings = {
        "reference": XRAY / "ZIF4glassa_31.int01",
        "reference_dofr": None,
        "q_min_inv_A": 1.2,
        "q_max_inv_A": 20.0,
        "r_max_A": 15.0,
        "broadening_A": 0.1,
    }
    supercell = zif4_crystal((2, 2, 2))
    scales = {}
    for norm in ("<f^2>", "<f>^2"):
        fq = xray_comparison([supercell], {**settings, "normalisation": norm})[0]
        w = fq[fq.in_window]
        scales[norm] = float((w.F_model * w.F_measured).sum() / (w.F_model**2).sum())
    assert scales["<f^2>"] == pytest.approx(1.04, abs=0.05) and scales["<f>^2"] < 0.4


def test_zif_presets_and_example_config():
    from snakemake.utils import validate

    from amlip.config import check_config
    from amlip.labelers.cp2k import CP2K_ZIF, ZIF_AIMD
    from amlip.md.protocols import schedule

    stages = schedule("melt_quench_ZIF")
    assert [s.name for s in stages] == ["prepare", "heat", "melt", "quench", "equilibrate"]
    assert [s.duration_ps for s in stages] == [20.0, 60.0, 50.0, 60.0, 100.0]
    assert max(s.T_end_K for s in stages) == 1500 and {s.ensemble for s in stages} == {"nvt"}
    assert {s.timestep_fs for s in stages} == {0.5} and sum(s.n_steps for s in stages) == 580_000
    assert CP2K_ZIF["cutoff_Ry"] == 600 and CP2K_ZIF["rel_cutoff_Ry"] == 40 and CP2K_ZIF["dispersion"] == "D3"
    assert ZIF_AIMD["temperatures_K"] == (1500.0, 1750.0) and ZIF_AIMD["timestep_fs"] == 0.5
    config = yaml.safe_load((ROOT / "config/papers/ZIF.yaml").read_text())
    assert config["label"]["cp2k"] == CP2K_ZIF
    assert config["explore"]["md"]["temperatures_K"] == [1500, 1750]
    aimd = config["aimd"]
    assert (aimd["timestep_fs"], aimd["thermostat_timecon_fs"]) == (ZIF_AIMD["timestep_fs"], ZIF_AIMD["thermostat_timecon_fs"])
    assert aimd["n_steps"] * aimd["timestep_fs"] / 1000 >= ZIF_AIMD["min_duration_ps"]
    validate(config, str(ROOT / "config/schema.yaml"))  # a whole config: the schema fills the rest
    check_config(config)
    assert config["produce"]["melt_quench"]["structure"] == "crystal_zif4"
    bad = {
        **config,
        "produce": {**config["produce"], "melt_quench": {**config["produce"]["melt_quench"], "structure": "nothing"}},
    }
    with pytest.raises(ValueError, match="produce.melt_quench.structure 'nothing'"):
        check_config(bad)


@pytest.mark.workflow
def test_zif_rules_run_and_fail_on_a_broken_linker(tmp_path, crystal):
    """The ZIF rules on the built crystal and a rattled copy (compare_zif), then a trajectory with a broken ring fails the run."""
    from ase.io import write

    from conftest import copy_workflow, run_snakemake

    env = copy_workflow(tmp_path)
    rng = np.random.default_rng(0)
    frames = []
    for _ in range(3):
        frame = crystal.copy()
        frame.positions += rng.normal(0, 0.05, frame.positions.shape)
        frames.append(frame)
    write(tmp_path / "rattled.extxyz", frames)
    write(tmp_path / "broken.extxyz", [crystal, broken_ring(crystal)[0]])
    overlay = {
        # the crystal joins silica's starting structures: its elements must be known (checked at start-up)
        "elements": ["Si", "O", "Zn", "C", "H", "N"],
        "structures": {"crystals": {"zif4": {"supercell": [1, 1, 1]}}},
        "zif": {
            "trajectories": {"crystal": "results/structures/crystal_zif4.extxyz", "rattled": "rattled.extxyz"},
            "max_frames": 2,
            "average_last_fraction": 1.0,
            "rings": {"max_size": 8},
            "xray": {"broadening_A": {"crystal": 0.1}},
        },
    }
    (tmp_path / "zif.yaml").write_text(yaml.safe_dump(overlay))
    run = run_snakemake(tmp_path, env, "results/validate/zif/comparison.csv", "--cores", "2", "--configfile", "zif.yaml")
    assert run.returncode == 0, run.stderr[-4000:]
    comparison = pd.read_csv(tmp_path / "results/validate/zif/comparison.csv").set_index("property")
    assert list(comparison.columns) == ["crystal", "rattled"]
    assert comparison.loc["Zn-N coordination"].tolist() == [4.0, 4.0]
    assert comparison.loc["X-ray F(Q) R-factor"].between(0.2, 1.5).all()
    rings_csv = pd.read_csv(tmp_path / "results/validate/zif/crystal/rings.csv")
    assert rings_csv[rings_csv.rings_per_cell > 0].ring_size_zn_im.tolist() == [8, 12, 16]
    xray = json.loads((tmp_path / "results/validate/zif/rattled/xray.json").read_text())
    assert xray["broadening_A"] == 0.0 and xray["n_frames"] == 2
    assert (tmp_path / "results/validate/zif/comparison.png").stat().st_size > 10_000

    overlay["zif"]["trajectories"] = {"broken": "broken.extxyz"}
    (tmp_path / "zif.yaml").write_text(yaml.safe_dump(overlay))
    run = run_snakemake(tmp_path, env, "results/validate/zif/comparison.csv", "--cores", "1", "--configfile", "zif.yaml")
    assert run.returncode != 0
    log = (tmp_path / "logs/validate/zif/broken/linkers.log").read_text()
    assert "1 of 2 frames of broken.extxyz have broken linkers (first: frame 1)" in log
    assert not (tmp_path / "results/validate/zif/broken/linkers.csv").exists()


def test_analyses_of_a_hot_reaxff_zif():
    """Three frames of ReaxFF ZIF-4 at 1500 K (tests/data, how they were made in their 'source'): the imidazolates
    stay whole while Zn loses N (mean coordination 2.6: ReaxFF's excessive decoordination, which the ZIF paper
    and Castel & Coudert 2022 report), the Zn network falls apart (no ring up to 10 Zn) and N-Zn-N widens."""
    from amlip.io.frames import read_frames

    frames = read_frames(ROOT / "tests/data/zif4_reaxff_1500K.extxyz")
    hot = {**SETTINGS, "temperature_K": 1500.0}
    assert linkers.linker_integrity(frames).n_broken.tolist() == [0, 0, 0]
    coordination = zif.coordination_table(frames, hot).set_index("coordination").fraction
    assert 2.4 < coordination["mean"] < 2.9 and coordination[4] < 0.1
    assert zif.ring_table(frames, hot).rings_per_cell.sum() == 0
    _, means = zif.angle_table(frames, hot)
    assert means["N-Zn-N"][0] > 112 and means["N-Zn-N"][1] > 15  # wider and broader than the crystal's 109.4 +- 3.2
    assert 135 < means["Zn-Im-Zn"][0] < 150  # the linker itself keeps its shape
    rdf = zif.rdf_table(frames, hot)
    assert 2.0 < rdf.r_A[rdf.g_ZnN.idxmax()] < 2.15
