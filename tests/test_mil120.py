"""MIL-120 (MIL paper) on a stand-in framework built here (no MIL-120 CIF ships): OH orientation variants,
the OH angle and structure types, CO2 loadings, and the MOF/adsorption rules end to end at tiny scale."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from ase import Atoms

from amlip.properties.mil120 import hydroxyl_table, oh_angle, oh_vectors, structure_types
from amlip.structures.mil120 import OH_PATTERNS, hydroxyl_oxygens, insert_co2, orient_hydroxyls, read_mil120, rods

ROOT = Path(__file__).resolve().parents[1]
SETTINGS = {"metal": "Al", "rod_axis": "y", "reference_axis": "x", "bins": 36, "patterns": OH_PATTERNS}


def stand_in(n_al: int = 8, spacing: float = 2.9, c: float = 0.846) -> Atoms:
    """Two rods of Al along y (at z = 0 and 4 Å, so each rod's neighbours lie along z and the pore along x), two
    mu-OH bridging every Al pair at +-(c, ., c) from the rod axis (Al-O 1.88 Å), without H: the geometry of
    MIL-120's Al-OH rods, not its btec linkers."""
    symbols, positions = [], []
    for z0 in (0.0, 4.0):
        for k in range(n_al):
            symbols += ["Al", "O", "O"]
            y = k * spacing
            positions += [(0.0, y, z0), (c, y + spacing / 2, z0 + c), (-c, y + spacing / 2, z0 - c)]
    return Atoms(symbols, positions=positions, cell=[14.0, n_al * spacing, 8.0], pbc=True)


def test_stand_in_has_two_rods_of_sixteen_hydroxyls():
    framework = stand_in()
    hydroxyls = hydroxyl_oxygens(framework)
    assert len(hydroxyls) == 32 and all(len(metals) == 2 for metals in hydroxyls.values())
    assert [len(r) for r in rods(framework, hydroxyls, (0, 1, 0))] == [16, 16]


@pytest.mark.parametrize("name", sorted(OH_PATTERNS))
def test_orientation_variants_are_recognised(name):
    """Each variant built after its pattern is read back as that structure type on every rod; with 45° tilts the
    free O-H point along x (alpha 0 or 180) and the donors along z (alpha 90) toward the neighbouring rod."""
    atoms = orient_hydroxyls(stand_in(), OH_PATTERNS[name], tilt_deg=45.0)
    assert atoms.get_chemical_formula() == "H32Al16O32" and atoms.info["oh_pattern"] == OH_PATTERNS[name]
    assert structure_types(atoms, SETTINGS) == [name, name]
    angles = sorted(round(oh_angle(v)) for v in oh_vectors(atoms).values())
    assert set(angles) <= {0, 90, 180}
    n_donors = OH_PATTERNS[name].count("D") * 32 // 8
    assert angles.count(90) == n_donors
    # donors point at a hydroxyl O of the other rod: O...O across the H bond is the closest inter-rod contact
    for o, v in oh_vectors(atoms).items():
        if round(oh_angle(v)) == 90:
            assert abs(v[2]) > 0.9 and abs(v[0]) < 0.1


def test_str1_gives_the_papers_one_two_one_ratio():
    """MIL Fig. 8: free (0-45) : donor (45-135) : free (135-180) close to 1 : 2 : 1 in str1 (AAAADDDD)."""
    _, fractions = hydroxyl_table([orient_hydroxyls(stand_in(), OH_PATTERNS["str1"], tilt_deg=45.0)], SETTINGS)
    intervals = fractions[fractions.kind == "interval"].fraction.tolist()
    assert intervals == pytest.approx([0.25, 0.5, 0.25])
    types = fractions[fractions.kind == "structure_type"].set_index("name").fraction
    assert types["str1"] == 1.0 and types["other"] == 0.0


def test_reorienting_replaces_the_hydrogens_and_bad_patterns_fail():
    once = orient_hydroxyls(stand_in(), "AAAADDDD", tilt_deg=45.0)
    twice = orient_hydroxyls(once, "DDDDDDDD", tilt_deg=45.0)
    assert len(twice) == len(once) and structure_types(twice, {**SETTINGS, "patterns": {"allD": "D"}}) == ["allD", "allD"]
    with pytest.raises(ValueError, match="string of A and D"):
        orient_hydroxyls(stand_in(), "AXD")
    with pytest.raises(ValueError, match="no mu-OH"):
        orient_hydroxyls(Atoms("Al2", positions=[(0, 0, 0), (2.9, 0, 0)], cell=[5.8, 6, 6], pbc=True), "A")


def test_co2_loadings_keep_their_distance():
    framework = orient_hydroxyls(stand_in(), "AAAADDDD", tilt_deg=45.0)
    loaded = insert_co2(framework, 4, seed=1, min_distance_A=2.6)
    assert loaded.info["n_co2"] == 4 and loaded.get_chemical_formula() == "C4H32Al16O40"
    guests = loaded[len(framework) :]
    assert np.allclose(np.linalg.norm(guests.positions[1::3] - guests.positions[0::3], axis=1), 1.16)
    from ase.neighborlist import neighbor_list

    i, j, d = neighbor_list("ijd", loaded, 2.6)
    new = np.arange(len(framework), len(loaded))
    assert not np.any(np.isin(i, new) & ~np.isin(j, new))
    with pytest.raises(RuntimeError, match="no room for CO2 number"):
        insert_co2(framework, 200, min_distance_A=2.6, max_tries=50)


def test_read_mil120_checks_the_composition(tmp_path):
    from ase.io import write

    write(tmp_path / "stand_in.cif", stand_in())
    assert len(read_mil120(tmp_path / "stand_in.cif", {"Al": 1, "O": 2})) == 48
    with pytest.raises(ValueError, match=r"not Al4\(OH\)8\(btec\)"):
        read_mil120(tmp_path / "stand_in.cif")
    with pytest.raises(FileNotFoundError, match="MIL-120.cif"):
        read_mil120(tmp_path / "MIL-120.cif")


@pytest.mark.workflow
def test_mil120_and_adsorption_chain_end_to_end(tmp_path):
    """The stand-in CIF through the rules: OH variants and CO2 loadings as starting structures, their OH analysis,
    GCMC with the classical Lennard-Jones in ASE (adsorption.calculator: lj, the CI stand-in for the model) and the
    LAMMPS TraPPE/UFF baseline, both isotherms in one figure; then a dry run of the shipped MIL config."""
    from ase.io import write

    from conftest import copy_workflow, run_snakemake

    env = copy_workflow(tmp_path)
    write(tmp_path / "resources/structures/MIL-120.cif", stand_in())
    overlay = {
        "mil120": {
            "cif": "resources/structures/MIL-120.cif",
            "formula_ratio": {"Al": 1, "O": 2},
            "tilt_deg": 45.0,
            "loadings": [1, 2],
        },
        "adsorption": {
            "host": "results/structures/mil120_str1.extxyz",
            "calculator": "lj",
            "pressures_bar": [0.5, 5.0],
            "temperature_K": 303.0,
            "n_steps": 400,
            "sample_every": 4,
            "classical": {"n_steps": 200, "sample_every": 10, "exchange_every": 5},
        },
    }
    (tmp_path / "mil.yaml").write_text(yaml.safe_dump(overlay))
    targets = [
        "results/validate/mil120/hydroxyls.csv",
        "results/adsorption/isotherms.png",
        "results/structures/mil120_co2_2.extxyz",
    ]
    run = run_snakemake(tmp_path, env, *targets, "--cores", "2", "--configfile", "mil.yaml")
    assert run.returncode == 0, run.stderr[-4000:]
    fractions = pd.read_csv(tmp_path / "results/validate/mil120/hydroxyls.csv")
    types = fractions[fractions.kind == "structure_type"]
    for name in OH_PATTERNS:
        assert types[(types.name_of_frames == name) & (types.name == name)].fraction.tolist() == [1.0]
    isotherms = pd.read_csv(tmp_path / "results/adsorption/isotherms.csv")
    assert len(isotherms) == 4 and isotherms.method.nunique() == 2
    assert (isotherms.n_per_cell >= 0).all()
    ml = isotherms[isotherms.method.str.contains("Lennard-Jones")]
    assert ml.n_per_cell.iloc[1] > ml.n_per_cell.iloc[0]  # more CO2 at 5 bar than at 0.5 bar
    from amlip.io.frames import read_frames

    assert read_frames(tmp_path / "results/structures/mil120_co2_2.extxyz")[0].get_chemical_formula() == "C2H32Al16O36"
    dry = run_snakemake(tmp_path, env, "-n", "--configfile", "config/papers/MIL.yaml", "--replace-workflow-config")
    assert dry.returncode == 0, dry.stderr[-3000:]
    for rule in (
        "build_mil_variant",
        "build_mil_loading",
        "validate_binding",
        "adsorb_ml",
        "adsorb_classical",
        "plot_isotherms",
    ):
        assert f"rule {rule}:" in dry.stdout
