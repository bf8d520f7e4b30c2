"""One end-to-end run of the real pipeline on config/tests/tiny.yaml, outputs checked by content."""

import math
import re

import numpy as np
import pandas as pd
import pytest

from amlip.io.frames import read_frames
from conftest import copy_workflow, run_snakemake, workflow_env


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    work = tmp_path_factory.mktemp("tiny")
    env = copy_workflow(work)
    run = run_snakemake(work, env, "--cores", "2", "--configfile", "config/tests/tiny.yaml")
    assert run.returncode == 0, run.stderr[-5000:]
    report = run_snakemake(
        work, env, "--cores", "1", "--configfile", "config/tests/tiny.yaml", "--report", "report.html", timeout=300
    )
    assert report.returncode == 0, report.stderr[-3000:]
    return work


@pytest.mark.slow
def test_every_labelled_frame_has_reference_and_level_of_theory(tiny_run):
    files = sorted((tiny_run / "results/label/syn").glob("iter_*/labelled.extxyz"))
    assert [f.parent.name for f in files] == ["iter_0", "iter_1", "iter_2"]
    frames = [a for f in files for a in read_frames(f)]
    assert len(frames) >= 12
    hashes = {a.info["lot_hash"] for a in frames}
    assert len(hashes) == 1
    for a in frames:
        assert np.isfinite(a.info["REF_energy"])
        assert a.arrays["REF_forces"].shape == (len(a), 3)
        assert a.info["REF_stress"].shape == (6,)
        assert "method=GFN1-xTB" in a.info["level_of_theory"]


@pytest.mark.slow
def test_dataset_grows_over_iterations_and_splits_are_disjoint(tiny_run):
    sizes = []
    for i in range(3):
        train = read_frames(tiny_run / f"results/learn/syn/iter_{i}/train.extxyz")
        test = read_frames(tiny_run / f"results/learn/syn/iter_{i}/test.extxyz")
        sizes.append(len(train))
        keys = {(round(a.info["REF_energy"], 8)) for a in train}
        assert not keys & {round(a.info["REF_energy"], 8) for a in test}
    assert sizes[0] < sizes[2]
    summary = pd.concat(pd.read_csv(tiny_run / f"results/learn/syn/iter_{i}/summary.csv") for i in range(3))
    assert list(summary.iteration) == [0, 1, 2]
    assert (summary.picked[1:] <= 3).all()
    # iterations 1 and 2 explored the production protocol (one run from random_0); few-epoch models
    # cannot converge, and reaching the last iteration is not convergence
    last = summary.iloc[-1]
    assert last.decision.startswith("not converged at the last configured iteration 2: ") and not last.converged
    runs = pd.read_csv(tiny_run / "results/explore/syn/iter_2/runs.csv")
    assert list(runs.structure) == ["random_0"] and list(runs["mode"]) == ["production"]
    pool = read_frames(tiny_run / "results/explore/syn/iter_2/pool.extxyz")
    assert len(pool) == runs.n_frames.iloc[0] > 0
    assert all(a.info["explore_mode"] == "production" and "committee_sigma_max" in a.info for a in pool)
    if runs.completed.iloc[0]:  # the density the next decision compares, over the run's last 30 % at 300 K
        tail = pool[-max(1, round(0.3 * len(pool))) :]
        tail = [a for a in tail if a.info["stage"] == pool[-1].info["stage"]]
        assert runs.density_g_cm3.iloc[0] == pytest.approx(np.mean([a.info["density_g_cm3"] for a in tail]))
        assert last.production_density_g_cm3 == pytest.approx(runs.density_g_cm3.iloc[0])


@pytest.mark.slow
def test_band_json_holds_the_committee_sigma_on_its_own_test_frames(tiny_run):
    """Committee 1's sigma_max on iteration 1's test frames, recomputed here member by member, is what
    band.json records; with learn.sigma_low_quantile null the edge iteration 2 used is sigma_low_eV_A."""
    import json

    from amlip.models.committee import committee_force_deviation
    from amlip.models.loading import load_model

    band = json.loads((tiny_run / "results/learn/syn/iter_1/band.json").read_text())
    assert band["quantile"] is None and band["low_eV_A"] == 0.0 and band["high_eV_A"] == 100.0
    test = read_frames(tiny_run / "results/learn/syn/iter_1/test.extxyz")
    members = [load_model(str(tiny_run / f"results/train/syn/iter_1/member_{m}/mace.model")) for m in range(2)]
    expected = []
    for atoms in test:
        forces = []
        for member in members:
            copy = atoms.copy()
            copy.calc = member
            forces.append(copy.get_forces())
        expected.append(committee_force_deviation(np.array(forces)))
    assert band["n_test_frames"] == len(test) > 0
    assert band["test_sigma_max_per_frame_eV_A"] == pytest.approx(expected, rel=1e-6)
    assert min(expected) > 0
    summary = pd.read_csv(tiny_run / "results/learn/syn/iter_2/summary.csv")
    assert summary.sigma_low_eV_A.iloc[0] == 0.0


@pytest.mark.slow
def test_models_and_accuracy_table(tiny_run):
    for m in range(2):
        assert (tiny_run / f"results/train/syn/iter_2/member_{m}/mace.model").stat().st_size > 10_000
    table = pd.read_csv(tiny_run / "results/report/accuracy.csv")
    assert set(table.split) == {"train", "val", "test"}
    assert table.chosen.sum() == 3  # one chosen member, three splits
    assert (table.force_mae_meV_A > 0).all() and np.isfinite(table.energy_rmse_meV_atom).all()
    # the final members' cost per atom per call (ZIF), timed on the first test frame of iteration 2
    first_test = read_frames(tiny_run / "results/learn/syn/iter_2/test.extxyz")[0]
    assert (table.cost_n_atoms == len(first_test)).all()
    assert ((table.cost_us_per_atom_call > 0) & (table.cost_us_per_atom_call < 1e5)).all()
    log = (tiny_run / "logs/train/syn/iter_2/evaluate_0.log").read_text()
    assert f"on {len(first_test)} atoms (20 calls after 2 warm-up)" in log
    earlier = pd.read_csv(tiny_run / "results/train/syn/iter_1/member_0/evaluation.csv")
    assert earlier.cost_us_per_atom_call.isna().all()  # only the final committee is timed
    # the step budget (tiny: 6 from scratch, 3 warm-started) and the warm start from member m of iteration i-1
    n_train = len(read_frames(tiny_run / "results/learn/syn/iter_0/train.extxyz"))
    first = (tiny_run / "logs/train/syn/iter_0/member_1.log").read_text()
    assert f"{n_train} training frames in batches of 4: {max(2, math.ceil(6 / math.ceil(n_train / 4)))} epochs" in first
    assert "from scratch" in first
    second = (tiny_run / "logs/train/syn/iter_1/member_1.log").read_text()
    assert "warm start from results/train/syn/iter_0/member_1/mace.model" in second
    assert "--foundation_model=results/train/syn/iter_0/member_1/mace.model" in second
    fit = pd.read_csv(tiny_run / "results/train/syn/iter_2/member_0/fit.csv")
    final = fit[fit.final]
    assert set(final.split) == {"train", "valid", "test"} and (final.energy_mae_meV_atom > 0).all()
    assert (fit[~fit.final].split == "valid").all() and fit[~fit.final].train_loss.notna().all()
    # few-epoch members do not fit their training set: flagged, and the flag reaches the accuracy table
    assert table.fit_flag.str.startswith("train energy MAE").all()


@pytest.mark.slow
def test_melt_quench_and_the_verdict(tiny_run):
    """The verdict holds every checked property with the numbers of the other outputs and their bands
    (few-epoch models give no physical glass: what is checked is that the verdict says so, and why)."""
    schedule = pd.read_csv(tiny_run / "results/produce/melt_quench/schedule.csv")
    assert list(schedule.name) == ["heat", "melt", "quench_fast", "quench_slow", "quench_to_300", "equilibrate"]
    verdict = pd.read_csv(tiny_run / "results/validate/verdict.csv")
    density = pd.read_csv(tiny_run / "results/validate/melt_quench/density.csv").set_index("glass")
    rows = verdict[verdict.check == "density"].set_index("subject")
    assert list(rows.index) == ["glass 0", "glass 1", "mean of the glasses"]
    assert rows.value.tolist() == pytest.approx(density.value.tolist())
    assert rows.low.tolist() == pytest.approx([0.85 * 2.2] * 3) and rows.high.tolist() == pytest.approx([1.15 * 2.2] * 3)
    assert rows.passed.tolist() == [bool(0.85 * 2.2 <= v <= 1.15 * 2.2) for v in rows.value]
    fq = pd.read_csv(tiny_run / "results/validate/melt_quench/neutron_fq_summary.csv").iloc[0]
    r = verdict[verdict.check == "neutron F(Q) R-factor vs experiment"].iloc[0]
    assert r.value == pytest.approx(fq.r_factor) and r.passed == (fq.r_factor <= 0.5)
    peak = verdict[verdict.check == "first sharp diffraction peak"].iloc[0]
    assert peak.reference == pytest.approx(1.48, abs=0.03) and peak.value == pytest.approx(fq.fsdp_model)
    assert set(verdict[verdict.check == "Si coordination by O"].subject) == {"glass 0", "glass 1"}
    chosen = pd.read_csv(tiny_run / "results/report/accuracy.csv").query("chosen and split == 'test'").iloc[0]
    energy = verdict[verdict.check == "test energy MAE"].iloc[0]
    assert energy.value == pytest.approx(chosen.energy_mae_meV_atom) and energy.passed == (chosen.energy_mae_meV_atom <= 20)
    converged = verdict[verdict.check == "active learning converged"].iloc[0]
    assert not converged.passed and converged.note.startswith("not converged at the last configured iteration 2")
    text = (tiny_run / "results/validate/verdict.txt").read_text().splitlines()
    assert len(text) == len(verdict) + 1
    failed = verdict[~verdict.passed]
    assert text[-1].startswith(f"VERDICT: FAIL, {len(failed)} of {len(verdict)} checks: ")
    assert "FAIL  active learning converged, iteration 2" in "\n".join(text)
    html = (tiny_run / "results/validate/verdict.html").read_text()
    assert html.count("<tr style=") == len(verdict) and html.count("#f8d7da") == len(failed)
    for figure in ("parity", "learning_curve", "density", "rdf", "angles"):
        assert (tiny_run / f"results/report/{figure}.png").stat().st_size > 5000
    assert (tiny_run / "results/validate/melt_quench/neutron_fq.png").stat().st_size > 5000
    report = (tiny_run / "report.html").read_text(errors="replace")
    assert "1. Verdict" in report


@pytest.mark.slow
def test_iteration_0_labelled_set_holds_the_aimd_frames_with_provenance(tiny_run):
    # tiny.yaml: 6 xTB AIMD steps of random_0, every 2nd kept -> md_step 0, 2, 4, 6
    imported = read_frames(tiny_run / "results/aimd/syn/imported.extxyz")
    labelled = read_frames(tiny_run / "results/label/syn/iter_0/labelled.extxyz")
    aimd = [a for a in labelled if "aimd_source" in a.info]
    assert [a.info["md_step"] for a in aimd] == [0, 2, 4, 6] == [a.info["md_step"] for a in imported]
    assert {a.info["aimd_source"] for a in aimd} == {"run_random_0"}
    chunk_hashes = {a.info["lot_hash"] for a in labelled if "aimd_source" not in a.info}
    assert {a.info["lot_hash"] for a in aimd} == chunk_hashes  # one level of theory
    for a in aimd:
        assert np.isfinite(a.info["REF_energy"]) and a.arrays["REF_forces"].shape == (len(a), 3)
        assert 0 < a.info["temperature_K"] < 10000
    # the split saw them: each AIMD frame is in exactly one of train/test/val
    split = [a for s in ("train", "test", "val") for a in read_frames(tiny_run / f"results/select/syn/iter_0/{s}.extxyz")]
    assert sorted(a.info["md_step"] for a in split if "aimd_source" in a.info) == [0, 2, 4, 6]
    run = (tiny_run / "results/aimd/syn/run_random_0/run.json").read_text()
    assert '"backend": "xtb"' in run and '"n_steps": 6' in run
    table = pd.read_csv(tiny_run / "results/aimd/syn/imported.csv")
    assert list(table.md_step) == [0, 2, 4, 6]
    assert (tiny_run / "results/aimd/syn/imported_energy.png").stat().st_size > 5000
    assert (tiny_run / "results/benchmarks/aimd/syn/run_random_0.tsv").exists()


@pytest.mark.slow
def test_density_over_independent_glasses(tiny_run):
    glass_0 = read_frames(tiny_run / "results/produce/melt_quench/trajectory.extxyz")
    glass_1 = read_frames(tiny_run / "results/produce/melt_quench/glass_1/trajectory.extxyz")
    assert len(glass_0[-1]) == len(glass_1[-1]) and not np.allclose(glass_0[-1].positions, glass_1[-1].positions)
    table = pd.read_csv(tiny_run / "results/validate/melt_quench/density.csv").set_index("glass")
    assert list(table.index) == ["glass_0", "glass_1", "mean"]
    assert table.loc["mean", "value"] == pytest.approx(table.loc[["glass_0", "glass_1"], "value"].mean())
    assert table.loc["mean", "std"] == pytest.approx(table.loc[["glass_0", "glass_1"], "value"].std(ddof=1))
    # Glass 0 averaged the same way as validate_structure's density.
    props = pd.read_csv(tiny_run / "results/validate/melt_quench/properties.csv").set_index("property")
    assert table.loc["glass_0", "value"] == pytest.approx(props.loc["density", "value"], rel=1e-6)
    assert (table.reference == 2.2).all() and table.source.str.contains("Pedone").all()
    rel = 100 * (table.value - 2.2) / 2.2
    assert np.allclose(table.rel_error_percent, rel)
    assert table.percent_mae.iloc[0] == pytest.approx(rel[["glass_0", "glass_1"]].abs().mean())
    assert (tiny_run / "results/validate/melt_quench/density.png").stat().st_size > 5000


@pytest.mark.slow
def test_vdos_ir_and_elastic_outputs(tiny_run):
    out = tiny_run / "results/validate/melt_quench"
    assert not (out / "vdos/trajectory.extxyz").exists()  # temp()
    vdos = pd.read_csv(out / "vdos.csv")
    assert np.trapezoid(vdos.vdos, vdos.frequency_cm1) == pytest.approx(1.0, rel=1e-6)
    assert np.allclose(vdos.vdos_O + vdos.vdos_Si, vdos.vdos)
    assert vdos.frequency_cm1.max() > 8000  # velocities every 2 fs: Nyquist 8339 1/cm
    n_atoms = len(read_frames(out / "ir/relaxed.extxyz")[0])
    modes = pd.read_csv(out / "ir_modes.csv")
    assert len(modes) == 3 * n_atoms and (modes.intensity >= 0).all()
    fit = pd.read_json(out / "ir/fit.json", typ="series")
    assert fit["n_snapshots"] == 8 and fit["n_force_components"] == 24 * n_atoms
    spectrum = pd.read_csv(out / "ir.csv")
    assert list(spectrum.frequency_cm1[:3]) == [0.0, 1.0, 2.0] and spectrum.frequency_cm1.max() == 1499.0
    assert np.isfinite(spectrum.intensity).all() and (spectrum.intensity >= 0).all()
    elastic = pd.read_csv(out / "elastic.csv")
    bulk = elastic[elastic.property == "bulk_modulus"]
    assert set(bulk.method) >= {"hill", "birch_murnaghan"} or (elastic.status != "ok").any()
    assert (bulk.reference == 36.9).all() and bulk.source.str.contains("Derived").all()
    tensor = pd.read_csv(out / "elastic_tensor.csv").drop(columns="row").to_numpy()
    assert tensor.shape == (6, 6) and np.allclose(tensor, tensor.T, equal_nan=True)
    for name in ("vdos", "ir", "elastic"):
        assert (out / f"{name}.png").stat().st_size > 5000


@pytest.mark.slow
def test_elastic_fluctuation_outputs(tiny_run):
    """N-sigma-T strain fluctuations with the tiny model: a symmetric finite tensor, Hill values with block errors, a plot."""
    out = tiny_run / "results" / "validate" / "melt_quench"
    moduli = pd.read_csv(out / "elastic_fluctuation.csv").set_index("quantity")
    assert {"K_V", "K_R", "K_H", "G_V", "G_R", "G_H", "E_H", "nu_H"} <= set(moduli.index)
    assert np.isfinite(moduli.value).all() and (moduli.stderr >= 0).all()
    # tiny: 400 production steps sampled every 4, plus the last step
    assert (moduli.n_samples == 101).all() and (moduli.n_blocks == 4).all()
    assert moduli.loc["K_R", "value"] <= moduli.loc["K_H", "value"] + 1e-9 <= moduli.loc["K_V", "value"] + 2e-9
    tensor = pd.read_csv(out / "elastic_fluctuation_tensor.csv").to_numpy()
    assert tensor.shape == (6, 6) and np.isfinite(tensor).all() and np.allclose(tensor, tensor.T, rtol=1e-8, atol=1e-8)
    running = pd.read_csv(out / "elastic_fluctuation_running.csv")
    assert running.n_samples.is_monotonic_increasing and running.n_samples.iloc[-1] == 101
    assert (out / "elastic_fluctuation.png").stat().st_size > 5000


@pytest.mark.slow
def test_report_holds_every_figure_under_its_stage(tiny_run):
    html = (tiny_run / "report.html").read_text(errors="replace")
    for figure in (
        "xray_pdf.png",
        "neutron_sq.png",
        "rings.png",
        "qn.png",
        "pmf.png",
        "pores.png",
        "vdos.png",
        "ir.png",
        "elastic.png",
    ):
        assert figure in html, f"{figure} is not in report.html"
    for category in ("Validation", "Selection", "Learning", "Labels"):
        assert category in html
    assert "imported_energy.png" in html and "glass 0" in html


def dry_run_jobs(work, *configs):
    """The rules a dry run would run (rule all, the target, left out) and the dry run's output."""
    run = run_snakemake(work, workflow_env(work), "-n", "--configfile", "config/tests/tiny.yaml", *configs, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    rules = sorted(set(re.findall(r"^rule (\w+):", run.stdout, flags=re.M)) - {"all"})
    return rules, run.stdout


@pytest.mark.slow
def test_a_changed_setting_reruns_only_the_jobs_that_read_it(tiny_run, tmp_path):
    """Rules pass narrow params: after the tiny run, changing validate.rings.max_size reruns the rings job and
    nothing else (Snakemake reruns a job whose params changed); an unchanged config reruns nothing."""
    assert dry_run_jobs(tiny_run)[0] == []
    rings = tmp_path / "rings.yaml"
    rings.write_text("validate: {rings: {max_size: 10}}\n")
    jobs, out = dry_run_jobs(tiny_run, str(rings))
    assert jobs == ["validate_rings"]
    assert "params" in out.split("Reasons:")[-1]
    xray = tmp_path / "xray.yaml"
    xray.write_text("validate: {xray_pdf: {q_max_inv_A: 20.0}}\n")
    assert dry_run_jobs(tiny_run, str(xray))[0] == ["validate_xray_pdf"]
