"""Closed-loop fidelity (amlip.properties.fidelity): measurements of a glass and the MLIP-against-reference table."""

import json
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from ase.io import read

from amlip.properties.fidelity import (
    fidelity_table,
    first_peak,
    mean_curves,
    measure_glass,
    provenance_rows,
    total_variation,
)
from amlip.properties.rings import former_graph, linked_network, network_angles, ring_statistics
from amlip.structures.crystals import build_crystal
from conftest import ROOT

TARGETS = {
    "density_percent": 1.0,
    "peak_position_A": 0.02,
    "peak_height_percent": 10.0,
    "angle_mean_deg": 2.0,
    "coordination": 0.1,
    "qn_percent_points": 3.0,
    "network_angle_deg": 3.0,
    "ring_tvd": 0.1,
    "fq_r_factor": 0.05,
}
SILICA = {
    "average_last_fraction": 1.0,
    "max_frames": 5,
    "rdf": {"r_max_A": 4.5, "dr_A": 0.01, "smooth_A": 0.02},
    "pairs": [],
    "angle_bins": 90,
    "angles": [{"apex": "O", "ends": "Si", "cutoff_A": 2.0}, {"apex": "Si", "ends": "O", "cutoff_A": 2.0}],
    "coordination": [{"center": "Si", "neighbor": "O", "cutoff_A": 2.0}],
    "qn": {"former": "Si", "oxygen": "O", "cutoff_A": 2.0},
    "network": {"nodes": ["Si"], "path": ["O"], "cutoffs_A": [2.0, 2.0], "max_size": 8},
    "fq": {"q_range_inv_A": [1.0, 10.0], "dq_inv_A": 0.1, "scattering_lengths_fm": {}},
    "targets": TARGETS,
}
ZIF_NETWORK = {"nodes": ["Zn"], "path": ["N", "C", "N"], "cutoffs_A": [2.5, 1.6, 1.6, 2.5], "max_size": 8}


@pytest.fixture(scope="module")
def zif4():
    return read(ROOT / "resources/reference/zif4_reaxff/ZIF-4_Lewis2009.cif")


def test_first_peak_finds_a_gaussian_between_bins():
    r = np.arange(0.005, 6.0, 0.01)
    g = 1.0 + 8.0 * np.exp(-0.5 * ((r - 1.6137) / 0.05) ** 2) + 1.5 * np.exp(-0.5 * ((r - 2.63) / 0.1) ** 2)
    position, height = first_peak(r, g, smooth_A=0.0)
    assert position == pytest.approx(1.6137, abs=0.002) and height == pytest.approx(9.0, rel=0.01)
    # smoothing lowers the height, keeps the position
    smoothed = first_peak(r, g, smooth_A=0.02)
    assert smoothed[0] == pytest.approx(1.6137, abs=0.002) and 8.0 < smoothed[1] < 9.0
    assert np.isnan(first_peak(r, np.full_like(r, 0.5))[0])


def test_total_variation_distance():
    assert total_variation([1, 1, 0], [2, 2, 0]) == 0.0
    assert total_variation([1, 0], [0, 1]) == 1.0
    assert total_variation([0.5, 0.5, 0.0], [0.25, 0.5, 0.25]) == pytest.approx(0.25)


def test_linked_network_through_one_oxygen_is_the_former_graph(quartz):
    crystal = build_crystal("alpha_quartz", (2, 2, 2))
    linked = linked_network(crystal, ["Si"], ["O"], [2.0, 2.0])
    assert {k: sorted(v) for k, v in linked.items()} == {
        k: sorted(v) for k, v in former_graph(crystal, ["Si"], ["O"], 2.0).items()
    }
    with pytest.raises(ValueError, match="has 2 bonds"):
        linked_network(crystal, ["Si"], ["O"], [2.0])


def test_zif4_zinc_links_through_imidazolates(zif4):
    """ZIF-4 (cag): every Zn is linked to four Zn through four imidazolates (Zn-N-C2-N-Zn); the Zn...Zn...Zn
    angles spread around the tetrahedral 109.5 degrees; shortest-path Zn rings of 4 and 6 Zn."""
    graph = linked_network(zif4, **{k: ZIF_NETWORK[k] for k in ("nodes", "path", "cutoffs_A")})
    assert len(graph) == 16 and all(len(links) == 4 for links in graph.values())
    angles = network_angles(zif4, graph)
    assert len(angles) == 16 * 6 and 100 < angles.mean() < 115
    rings = ring_statistics(
        [zif4], max_size=8, graph_of=lambda a: linked_network(a, ["Zn"], ["N", "C", "N"], [2.5, 1.6, 1.6, 2.5])
    )
    assert set(rings.ring_size[rings.fraction > 0]) == {4, 6}


def test_measure_alpha_quartz():
    """A crystal as a one-frame 'glass': alpha-quartz density, Si-O bond, angles, Q4 and rings."""
    crystal = build_crystal("alpha_quartz", (2, 2, 2))
    values, curves = measure_glass([crystal], SILICA)
    assert values["density|density"] == pytest.approx(2.65, abs=0.03)
    assert values["peak_position|O-Si"] == pytest.approx(1.61, abs=0.02)
    assert values["peak_position|Si-Si"] == pytest.approx(3.06, abs=0.03)
    assert values["angle_mean|Si-O-Si"] == pytest.approx(143.7, abs=1.0)
    assert values["angle_mean|O-Si-O"] == pytest.approx(109.5, abs=1.0)
    assert values["coordination|Si by O"] == 4.0
    assert values["qn|Q4"] == 100.0 and values["qn|Q3"] == 0.0 and values["qn|Q>4"] == 0.0
    curves = pd.DataFrame(curves)
    assert set(curves.curve) >= {"g O-Si", "angle Si-O-Si", "rings", "F(Q)"}
    rings = curves[curves.curve == "rings"]
    assert rings[rings.y > 0].x.tolist() == [6.0]


def _glasses(frames_of_each, settings=SILICA):
    values, curves = [], []
    for k, frames in enumerate(frames_of_each):
        v, c = measure_glass(frames, settings)
        values += [{"glass": k, "quantity": q, "value": x} for q, x in v.items()]
        curves += [dict(row, glass=k) for row in c]
    return pd.DataFrame(values), pd.DataFrame(curves)


def test_table_of_identical_sides_is_all_within_target_and_a_denser_side_fails_density():
    rattled = []
    for seed in range(2):
        crystal = build_crystal("alpha_quartz", (2, 2, 2))
        crystal.rattle(0.03, seed=seed)
        rattled.append([crystal])
    values, curves = _glasses(rattled)
    same = fidelity_table(values, values, curves, curves, TARGETS)
    checked = same[same.target.notna()]
    assert checked.within_target.all() and np.allclose(checked.difference, 0.0)
    assert set(same.group) >= {"density", "rdf", "angles", "coordination", "qn", "network", "rings", "neutron"}
    # the two rattled crystals differ a little: that is the noise
    assert same.loc[same.property == "O-Si first peak height", "noise"].iloc[0] > 0
    assert 0 < same.loc[same.group == "neutron", "noise"].iloc[0] < 0.2

    squeezed = []
    for frames in rattled:
        atoms = frames[0].copy()
        atoms.set_cell(atoms.cell * 0.98, scale_atoms=True)
        squeezed.append([atoms])
    mlip_values, mlip_curves = _glasses(squeezed)
    table = fidelity_table(
        mlip_values, values, mlip_curves, curves, TARGETS, provenance=[{"group": "provenance", "property": "x"}]
    )
    density = table[table.property == "density"].iloc[0]
    assert density.relative_difference_percent == pytest.approx(100 * (1 / 0.98**3 - 1), rel=1e-3)
    assert not density.within_target
    si_o = table[table.property == "O-Si first peak position"].iloc[0]
    assert si_o.difference == pytest.approx(-0.02 * 1.61, abs=0.005)
    assert table.group.iloc[-1] == "provenance"
    side_by_side = mean_curves(mlip_curves, curves)
    assert list(side_by_side.columns) == ["curve", "x", "mlip", "reference"] and side_by_side.reference.notna().all()


def test_provenance_rows_count_labels_and_iterations():
    summaries = pd.DataFrame(
        {
            "iteration": [0, 1, 2, 3],
            "labelled": [40, 12, 7, 0],
            "failed": [1, 0, 0, 0],
            "n_train": [28, 36, 41, 41],
            "converged": [False, False, True, True],
        }
    )
    rows = {r["property"]: r for r in provenance_rows(summaries)}
    assert rows["reference labels computed"]["mlip_mean"] == 60
    assert rows["training frames"]["mlip_mean"] == 41
    assert rows["iterations with new labels"]["mlip_mean"] == 3
    assert rows["iterations with new labels"]["note"] == "converged at iteration 2"


# ---- the closed loop end to end: config/examples/closed_loop_silica.yaml + config/tests/closed_loop_tiny.yaml ----

CLOSED_LOOP = ["--configfile", "config/examples/closed_loop_silica.yaml", "config/tests/closed_loop_tiny.yaml"]
FIDELITY_TARGETS = [
    "results/fidelity/melt_quench/comparison.csv",
    "results/fidelity/melt_quench/comparison.png",
    "results/validate/verdict.csv",
]


@pytest.fixture(scope="module")
def closed_loop(tmp_path_factory):
    """One tiny closed-loop run (BKS labels, iterations 0 and 1, 2 glasses a side), up to the
    fidelity table and figure; every end-to-end test below reads it."""
    from conftest import copy_workflow, run_snakemake

    work = tmp_path_factory.mktemp("closed_loop")
    env = copy_workflow(work)
    run = run_snakemake(work, env, "--cores", "2", *FIDELITY_TARGETS, *CLOSED_LOOP, timeout=900)
    assert run.returncode == 0, run.stderr[-5000:]
    return work


def _side(work, side):
    return pd.read_csv(work / f"results/fidelity/melt_quench/{side}/values.csv")


@pytest.mark.slow
def test_closed_loop_table_puts_both_sides_side_by_side(closed_loop):
    table = pd.read_csv(closed_loop / "results/fidelity/melt_quench/comparison.csv")
    assert list(table.columns[:8]) == [
        "group", "property", "unit", "mlip_mean", "mlip_std", "reference_mean", "reference_std", "difference",
    ]  # fmt: skip
    assert set(table.group) == {"density", "rdf", "angles", "coordination", "qn", "network", "rings", "neutron", "provenance"}
    # the Qn rows (Q0..Q4 and Q>4) add up to 100 % on each side
    qn = table[table.group == "qn"]
    assert len(qn) == 6 and qn.mlip_mean.sum() == pytest.approx(100.0) and qn.reference_mean.sum() == pytest.approx(100.0)
    mlip, reference = _side(closed_loop, "mlip"), _side(closed_loop, "reference")
    assert sorted(mlip.glass.unique()) == sorted(reference.glass.unique()) == [0, 1]
    # every mean and std is that of the per-glass values of its side; the difference is MLIP minus reference
    for quantity, label in (("density|density", "density"), ("peak_position|O-Si", "O-Si first peak position")):
        row = table[table.property == label].iloc[0]
        m, r = mlip[mlip.quantity == quantity].value, reference[reference.quantity == quantity].value
        assert row.mlip_mean == pytest.approx(m.mean()) and row.reference_mean == pytest.approx(r.mean())
        assert row.mlip_std == pytest.approx(m.std(ddof=1)) and row.reference_std == pytest.approx(r.std(ddof=1))
        assert row.difference == pytest.approx(m.mean() - r.mean())
    # issue 15's CI check: the MLIP's glasses and the reference's agree in density within 10 %
    density = table[table.property == "density"].iloc[0]
    assert abs(density.relative_difference_percent) < 10.0, density.to_dict()
    # the R-factor is that of the two sides' mean F(Q) (curves.csv) over the Q range both cells reach
    curves = pd.read_csv(closed_loop / "results/fidelity/melt_quench/curves.csv")
    fq = curves[(curves.curve == "F(Q)") & curves.mlip.notna() & curves.reference.notna()]
    assert len(fq) > 50 and fq.x.min() >= 0.5
    r_factor = table[table.group == "neutron"].iloc[0].difference
    assert r_factor == pytest.approx(np.sqrt(((fq.mlip - fq.reference) ** 2).sum() / (fq.reference**2).sum()), rel=1e-6)
    assert (closed_loop / "results/fidelity/melt_quench/comparison.png").stat().st_size > 20_000


@pytest.mark.slow
def test_closed_loop_densities_come_from_the_trajectories(closed_loop):
    """values.csv's density of each glass is the mean density of the last average_last_fraction (0.3) of its frames
    that belong to the protocol's final stage (the quench frames in that tail are not glass)."""
    from amlip.io.frames import read_frames
    from amlip.structures.crystals import density_g_cm3

    paths = {
        "mlip": ["results/produce/melt_quench/trajectory.extxyz", "results/produce/melt_quench/glass_1/trajectory.extxyz"],
        "reference": [f"results/reference/melt_quench/glass_{k}/trajectory.extxyz" for k in range(2)],
    }
    for side, files in paths.items():
        values = _side(closed_loop, side)
        for k, path in enumerate(files):
            frames = read_frames(closed_loop / path)
            tail = frames[len(frames) - max(1, round(0.3 * len(frames))) :]
            tail = [a for a in tail if a.info["stage"] == frames[-1].info["stage"]]
            expected = np.mean([density_g_cm3(a) for a in tail])
            measured = values[(values.glass == k) & (values.quantity == "density|density")].value.iloc[0]
            assert measured == pytest.approx(expected, rel=0.02), (side, k)


def _mean_displacement(atoms, start) -> float:
    moved = atoms.positions - start.positions
    moved -= np.round(moved @ np.linalg.inv(start.cell.array)) @ start.cell.array
    return float(np.linalg.norm(moved, axis=1).mean())


@pytest.mark.slow
def test_reference_production_is_the_labeler_on_the_mlip_protocol(closed_loop):
    """The reference's glass k runs the MLIP's protocol (same schedule) from the MLIP's glass-k start, and its
    energies are those of the reference labeler (the BKS labels the MLIP learned)."""
    from amlip.io.frames import read_frames
    from amlip.labelers.registry import make_labeler

    labeler = make_labeler("lammps", {"potential": "bks"})
    mlip_schedule = pd.read_csv(closed_loop / "results/produce/melt_quench/schedule.csv")
    for k in range(2):
        folder = closed_loop / f"results/reference/melt_quench/glass_{k}"
        pd.testing.assert_frame_equal(pd.read_csv(folder / "schedule.csv"), mlip_schedule)
        start = read_frames(closed_loop / f"results/structures/glass_start_{k}.extxyz")[0]
        frames = read_frames(folder / "trajectory.extxyz")
        assert frames[0].get_chemical_symbols() == start.get_chemical_symbols()
        # 10 steps of 1 fs from its own start (a random packing, hot at first): atoms moved 0.1-0.3 Å on
        # average (minimum image), against ~2 Å from the other glass's start
        own, other = (
            _mean_displacement(frames[0], read_frames(closed_loop / f"results/structures/glass_start_{j}.extxyz")[0])
            for j in (k, 1 - k)
        )
        assert own < 0.4 and other > 1.0, (own, other)
        last = frames[-1]
        labelled = labeler.single_point(last.copy())
        assert labelled.info["REF_energy"] / len(last) == pytest.approx(last.info["epot_eV"] / len(last), abs=1e-5)
    # the two glasses started from different packings
    starts = [read_frames(closed_loop / f"results/structures/glass_start_{k}.extxyz")[0] for k in range(2)]
    assert not np.allclose(starts[0].positions, starts[1].positions)


@pytest.mark.slow
def test_closed_loop_provenance_counts_the_labels(closed_loop):
    table = pd.read_csv(closed_loop / "results/fidelity/melt_quench/comparison.csv").set_index("property")
    files = sorted((closed_loop / "results/learn/syn").glob("iter_*/summary.csv"))
    assert [f.parent.name for f in files] == ["iter_0", "iter_1"]
    summaries = pd.concat(pd.read_csv(f) for f in files)
    labelled = sum(len(read(f, index=":")) for f in sorted((closed_loop / "results/label/syn").glob("iter_*/labelled.extxyz")))
    assert table.loc["reference labels computed", "mlip_mean"] == summaries.labelled.sum() + summaries.failed.sum() > 0
    assert table.loc["reference labels computed", "mlip_mean"] >= labelled
    assert table.loc["reference potential", "note"] == "bks" and table.loc["MLIP MD engine", "note"] == "lammps"


def test_closed_loop_verdict_puts_the_reference_glasses_beside_the_fq_rows(closed_loop):
    """The reference's own glasses against the measured F(Q), recomputed here from their trajectories, are in the
    notes of the verdict's F(Q) rows (a failing row then says whether BKS with the same protocol fails it too)."""
    from amlip.io.frames import read_frames
    from amlip.properties.reference import read_mint01
    from amlip.properties.scattering import fq_r_factor, neutron_fq_kspace, peak_position

    frames = []
    for g in range(2):
        trajectory = read_frames(closed_loop / f"results/reference/melt_quench/glass_{g}/trajectory.extxyz")
        tail = trajectory[-max(1, round(len(trajectory) * 0.3)) :]  # validate.average_last_fraction
        frames += [a for a in tail if a.info["stage"] == trajectory[-1].info["stage"]]  # the glass stage
    q, f, _ = neutron_fq_kspace(frames, q_max=16.05, dq=0.05, lengths={})
    q_exp, f_exp, _ = read_mint01(ROOT / "resources/reference/SiO2_NIMROD.mint01")
    r_factor = fq_r_factor(q, f, q_exp, f_exp, max(0.5, q.min()), 16.0)
    verdict = pd.read_csv(closed_loop / "results/validate/verdict.csv").set_index("check")
    same = "the reference potential's own glasses (same protocol): "
    assert verdict.loc["neutron F(Q) R-factor vs experiment", "note"] == f"{same}{r_factor:.3g}"
    assert verdict.loc["first sharp diffraction peak", "note"] == f"{same}{peak_position(q, f, 1.0, 2.2):.3g} 1/Å"
    mlip = pd.read_csv(closed_loop / "results/validate/melt_quench/neutron_fq_summary.csv").iloc[0]
    assert verdict.loc["neutron F(Q) R-factor vs experiment", "value"] == pytest.approx(mlip.r_factor)


def test_zif4_closed_loop_config_plans_the_reaxff_reference(snakemake_copy):
    """config/examples/closed_loop_zif4.yaml: ReaxFF melt-quenches the 272-atom ZIF-4 crystal itself, twice,
    beside the MLIP's two glasses from the same crystal (dry run only)."""
    run = snakemake_copy("-n", *FIDELITY_TARGETS, "--configfile", "config/examples/closed_loop_zif4.yaml")
    assert run.returncode == 0, run.stderr[-3000:]
    out = run.stdout + run.stderr
    assert re.search(r"melt_quench_reference\s+2\n", out) and re.search(r"compare_fidelity\s+1\n", out)
    for k in range(2):
        assert f"results/reference/melt_quench/glass_{k}/trajectory.extxyz" in out
    assert "results/structures/crystal_zif4.extxyz" in out and "crystal_alpha_quartz" not in out
    assert "random_0" not in out
    # the linker-following ZIF analyses (issue 18) run on the crystal and on both sides of the loop
    zif = snakemake_copy("-n", "results/validate/zif/comparison.csv", "--configfile", "config/examples/closed_loop_zif4.yaml")
    assert zif.returncode == 0, zif.stderr[-3000:]
    out = zif.stdout + zif.stderr
    for name in ("crystal", "mlip", "reference"):
        assert f"results/validate/zif/{name}/" in out, name
    assert re.search(r"check_linkers\s+3\n", out) and "results/reference/melt_quench/glass_0/trajectory.extxyz" in out


def test_silica_closed_loop_config_dry_run(snakemake_copy):
    run = snakemake_copy("-n", "--configfile", "config/examples/closed_loop_silica.yaml")
    assert run.returncode == 0, run.stderr[-3000:]
    out = run.stdout + run.stderr
    assert re.search(r"melt_quench_reference\s+4\n", out) and "results/fidelity/melt_quench/comparison.png" in out


@pytest.mark.slow
def test_closed_loop_benchmark_collects_the_run_and_a_random_baseline(closed_loop, tmp_path):
    """benchmarks/closed_loop.py on the tiny loop (resumed: nothing left to run) copies the table and figure,
    counts the reference labels of every iteration, and trains a random-selection baseline on half as many
    labels drawn from the frames the loop labelled or explored, through the same DAG."""
    from conftest import workflow_env

    out = tmp_path / "measured"
    command = [sys.executable, str(ROOT / "benchmarks/closed_loop.py"), "silica", "--workdir", str(closed_loop)]
    command += ["--configfile", "config/tests/closed_loop_tiny.yaml", "--out", str(out), "--random-baseline", "--factors", "0.5"]
    run = subprocess.run(
        command, capture_output=True, text=True, timeout=900, env=workflow_env(tmp_path) | {"PYTHONPATH": str(ROOT)}
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    record = json.loads((out / "run.json").read_text())
    summaries = pd.read_csv(out / "learn_summary.csv")
    assert record["reference_labels"] == summaries.labelled.sum() > 0 and record["iterations"] == 1
    assert (out / "comparison.png").read_bytes() == (closed_loop / "results/fidelity/melt_quench/comparison.png").read_bytes()
    table = pd.read_csv(out / "comparison.csv")
    assert record["targets"] == table[table.group != "provenance"].within_target.notna().sum()
    baseline = pd.read_csv(out / "random_baseline.csv")
    n_random = round(0.5 * record["reference_labels"])
    assert baseline.labels.tolist() == [n_random]
    random_dir = closed_loop.parent / f"{closed_loop.name}_random_{n_random}"
    from amlip.io.frames import read_frames

    labels = read_frames(random_dir / "random_labels.extxyz")
    assert len(labels) == n_random and all(a.info["source"].startswith(("results/label/", "results/explore/")) for a in labels)
    # the baseline learned from those labels alone, without active learning, and made its own glasses
    random_summary = pd.read_csv(random_dir / "results/learn/syn/iter_0/summary.csv")
    assert random_summary.labelled.iloc[0] == n_random and not (random_dir / "results/learn/syn/iter_1").exists()
    random_table = pd.read_csv(random_dir / "results/fidelity/melt_quench/comparison.csv")
    assert random_table.set_index("property").loc["reference labels computed", "mlip_mean"] == n_random
    ratio = record["label_ratio_random_over_al"]
    assert ratio == pytest.approx(0.5, abs=0.05) if baseline.targets_met.iloc[0] >= record["targets_met"] else ratio == "> 0.5"
