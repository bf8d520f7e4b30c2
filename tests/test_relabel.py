"""Relabeling at a second level of theory as a pipeline path (label.relabel): the split into
chunks, the accounting, the comparison of two levels by hand, and a real GFN1 -> GFN2 run."""

import numpy as np
import pandas as pd
import pytest
import yaml
from ase import Atoms
from ase.units import GPa

from amlip.io.frames import read_frames
from amlip.labelers.accounting import check_accounted, chunk_bounds
from amlip.labelers.compare import compare_levels
from amlip.labelers.registry import make_labeler
from conftest import copy_workflow, run_snakemake


def test_chunk_bounds_cover_every_frame_once():
    assert [chunk_bounds(22, 2, c) for c in range(2)] == [(0, 11), (11, 22)]
    assert [chunk_bounds(5, 3, c) for c in range(3)] == [(0, 1), (1, 3), (3, 5)]
    assert [chunk_bounds(1, 3, c) for c in range(3)] == [(0, 0), (0, 0), (0, 1)]
    with pytest.raises(ValueError, match="chunk 3 of 3"):
        chunk_bounds(5, 3, 3)


def test_check_accounted_names_missing_and_duplicated_frames():
    frames = [Atoms("H", info={"frame_index": i}) for i in (0, 1, 1)]
    with pytest.raises(
        RuntimeError, match=r"set.extxyz has 4 frames but the chunks hold 4: missing frame_index \[2\], duplicated \[1\]"
    ):
        check_accounted(4, frames, [3], "set.extxyz")
    check_accounted(3, frames[:2], [2], "set.extxyz")


def _relabelled(old_energy, new_energy, shift_force, shift_stress_GPa):
    atoms = Atoms("SiO", positions=[[0, 0, 0], [1.6, 0, 0]], cell=[5, 5, 5], pbc=True)
    rng = np.random.default_rng(len(str(old_energy)))
    old_f = rng.normal(size=(2, 3))
    atoms.info.update(REF_energy=new_energy, lot_hash="new0000000", lotold000000_energy=old_energy)
    atoms.arrays["REF_forces"] = old_f + shift_force
    atoms.arrays["lotold000000_forces"] = old_f
    atoms.info["lotold000000_stress"] = np.zeros(6)
    atoms.info["REF_stress"] = np.full(6, shift_stress_GPa * GPa)
    return atoms


def test_compare_levels_by_hand():
    # 2-atom frames; new - old per atom: (+2.02/2 = 1.01) and (+1.98/2 = 0.99): offset 1.0 eV/atom,
    # +-10 meV/atom about it; forces shifted by 0.1 eV/A on every component; stress by 1 GPa
    frames = [_relabelled(-10.0, -7.98, 0.1, 1.0), _relabelled(-12.0, -10.02, 0.1, 1.0)]
    table, summary = compare_levels(frames)
    assert list(table.old_energy_eV_atom) == [-5.0, -6.0]
    assert table.new_energy_eV_atom.tolist() == pytest.approx([-3.99, -5.01])
    assert table.force_mae_meV_A.tolist() == pytest.approx([100.0, 100.0])
    row = summary.iloc[0]
    assert (row.old_lot_hash, row.new_lot_hash, row.n_frames) == ("old000000", "new0000000", 2)
    assert row.energy_offset_eV_atom == pytest.approx(1.0)
    assert row.energy_mae_meV_atom == pytest.approx(10.0) and row.energy_rmse_meV_atom == pytest.approx(10.0)
    assert row.force_mae_meV_A == pytest.approx(100.0) and row.force_rmse_meV_A == pytest.approx(100.0)
    assert row.stress_mae_GPa == pytest.approx(1.0)


def test_compare_levels_removes_a_shift_per_element_across_compositions():
    # levels differing by exactly +1 eV per Si and +3 eV per O: Si2 (+1/atom), SiO (+2/atom),
    # O2 (+3/atom). One mean offset (2 eV/atom) would leave 667 meV/atom MAE; per-element offsets leave 0.
    def frame(symbols, old, error_eV_atom=0.0):
        atoms = Atoms(symbols, positions=[[0, 0, 0], [1.6, 0, 0]], cell=[5, 5, 5], pbc=True)
        shift = sum(1.0 if s == "Si" else 3.0 for s in atoms.get_chemical_symbols()) + 2 * error_eV_atom
        atoms.info.update(REF_energy=old + shift, lot_hash="new0000000", lotold000000_energy=old)
        return atoms

    _, summary = compare_levels([frame("Si2", -9.0), frame("SiO", -11.0), frame("O2", -8.0)])
    row = summary.iloc[0]
    assert row.n_compositions == 3 and row.energy_offset_eV_atom == pytest.approx(2.0)
    assert row.energy_mae_meV_atom == pytest.approx(0.0, abs=1e-9)
    # a +30 meV/atom error e on SiO alone: the fit moves both offsets by e/3, leaving residuals
    # -e/3, 2e/3, -e/3 (by the normal equations), MAE 4e/9
    _, summary = compare_levels([frame("Si2", -9.0), frame("SiO", -11.0, 0.03), frame("O2", -8.0)])
    assert summary.iloc[0].energy_mae_meV_atom == pytest.approx(4 * 30.0 / 9)


def test_compare_levels_needs_the_old_labels():
    atoms = _relabelled(-10.0, -8.0, 0.0, 0.0)
    del atoms.info["lotold000000_energy"]
    with pytest.raises(
        ValueError, match=r"frame 0 .* exactly one lot<hash>_energy from relabel\(keep_previous=True\), found \[\]"
    ):
        compare_levels([atoms])


@pytest.fixture(scope="module")
def relabel_run(tmp_path_factory):
    work = tmp_path_factory.mktemp("relabel")
    env = copy_workflow(work)
    spec = {"frames": "results/label/syn/iter_0/labelled.extxyz", "settings": {"method": "GFN2-xTB"}, "n_chunks": 2}
    (work / "relabel.yaml").write_text(yaml.safe_dump({"label": {"relabel": {"gfn2": spec}}}))
    run = run_snakemake(
        work,
        env,
        "--cores",
        "2",
        "--configfile",
        "config/tests/tiny.yaml",
        "relabel.yaml",
        "--",
        "results/relabel/gfn2/summary.csv",
    )
    assert run.returncode == 0, run.stderr[-5000:]
    return work, env


@pytest.mark.slow
def test_relabel_rule_gives_gfn2_labels_beside_the_gfn1_ones(relabel_run):
    work, _ = relabel_run
    source = read_frames(work / "results/label/syn/iter_0/labelled.extxyz")
    relabelled = read_frames(work / "results/relabel/gfn2/labelled.extxyz")
    assert len(relabelled) == len(source) > 10
    old_hash = source[0].info["lot_hash"]
    gfn2 = make_labeler("xtb", {"method": "GFN2-xTB"})
    assert {a.info["lot_hash"] for a in relabelled} == {gfn2.lot_hash} != {old_hash}
    for before, after in zip(source, relabelled):
        np.testing.assert_allclose(after.positions, before.positions)
        assert after.info[f"lot{old_hash}_energy"] == pytest.approx(before.info["REF_energy"], abs=1e-8)
        np.testing.assert_allclose(after.arrays[f"lot{old_hash}_forces"], before.arrays["REF_forces"], atol=1e-8)
    # the new labels are GFN2's: an independent single point on the last frame (chunk 1)
    independent = gfn2.single_point(source[-1])
    assert relabelled[-1].info["REF_energy"] == pytest.approx(independent.info["REF_energy"], abs=1e-6)
    np.testing.assert_allclose(relabelled[-1].arrays["REF_forces"], independent.arrays["REF_forces"], atol=1e-6)
    # two chunk jobs, contiguous halves
    n = len(source)
    half = n // 2  # amlip.labelers.accounting.chunk_bounds: [0, n // 2) and [n // 2, n)
    assert f"frames 0..{half - 1} of {n}" in (work / "logs/relabel/gfn2/chunk_0.log").read_text()
    assert f"frames {half}..{n - 1} of {n}" in (work / "logs/relabel/gfn2/chunk_1.log").read_text()


@pytest.mark.slow
def test_relabel_summary_matches_the_files_and_has_a_plot(relabel_run):
    work, _ = relabel_run
    relabelled = read_frames(work / "results/relabel/gfn2/labelled.extxyz")
    old_hash = read_frames(work / "results/label/syn/iter_0/labelled.extxyz")[0].info["lot_hash"]
    diffs = np.concatenate([(a.arrays["REF_forces"] - a.arrays[f"lot{old_hash}_forces"]).ravel() for a in relabelled])
    summary = pd.read_csv(work / "results/relabel/gfn2/summary.csv").iloc[0]
    assert summary.n_frames == len(relabelled)
    assert summary.force_mae_meV_A == pytest.approx(1000 * np.abs(diffs).mean())
    per_atom = np.array([(a.info["REF_energy"] - a.info[f"lot{old_hash}_energy"]) / len(a) for a in relabelled])
    assert summary.energy_offset_eV_atom == pytest.approx(per_atom.mean())
    assert len(pd.read_csv(work / "results/relabel/gfn2/comparison.csv")) == len(relabelled)
    assert (work / "results/relabel/gfn2/parity.png").stat().st_size > 10_000
    assert pd.read_csv(work / "results/relabel/gfn2/failed.csv").empty


@pytest.mark.slow
def test_relabel_at_the_same_level_is_refused_naming_the_file(relabel_run):
    work, env = relabel_run
    spec = {"frames": "results/label/syn/iter_0/labelled.extxyz", "settings": {"method": "GFN1-xTB"}}
    (work / "same.yaml").write_text(yaml.safe_dump({"label": {"relabel": {"same": spec}}}))
    run = run_snakemake(
        work, env, "--cores", "1", "--configfile", "config/tests/tiny.yaml", "same.yaml", "--", "results/relabel/same/summary.csv"
    )
    assert run.returncode != 0
    log = (work / "logs/relabel/same/chunk_0.log").read_text()
    assert "label.relabel.same: results/label/syn/iter_0/labelled.extxyz: frame 0 is already labelled at" in log
    assert not (work / "results/relabel/same/chunk_0.extxyz").exists()


def test_vasp_relabel_jobs_get_the_vasp_resources_in_a_dry_run(snakemake_copy, tmp_path):
    import re

    spec = {
        "frames": "results/learn/syn/iter_2/test.extxyz",
        "backend": "vasp",
        "settings": {"functional": "vdW-DF-cx"},
        "n_chunks": 3,
    }
    (tmp_path / "vasp.yaml").write_text(yaml.safe_dump({"label": {"relabel": {"cx": spec}}}))
    run = snakemake_copy(
        "-n", "--cores", "64", "--configfile", str(tmp_path / "vasp.yaml"), "--", "results/relabel/cx/summary.csv"
    )
    assert run.returncode == 0, run.stderr[-3000:]
    jobs = [j for j in re.split(r"\n(?=rule |localrule )", run.stdout) if j.startswith("rule relabel_chunk")]
    assert sorted(re.search(r"chunk_(\d)\.extxyz", j).group(1) for j in jobs) == ["0", "1", "2"]
    assert all("threads: 32" in j and "runtime=1440" in j and "mem_mb=64000" in j for j in jobs)
    # the relabelled set is the final test set of the learning loop: the whole loop comes before it
    assert "rule assemble_dataset" in run.stdout
