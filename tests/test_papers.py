"""Systems as a DAG dimension, custom protocol stages, the per-paper whole configs and the NS figure targets."""

import json
import re
import shutil
import time

import numpy as np
import pandas as pd
import pytest
import yaml

from amlip.config import check_config
from amlip.io.frames import read_frames
from amlip.md.protocols import custom_stages, schedule
from amlip.properties.systems import (
    aggregate_samples,
    composition_mol_percent,
    curve_figure_table,
    density_figure_table,
    moduli_figure_table,
    system_table,
)
from amlip.structures.crystals import density_g_cm3
from conftest import ROOT, copy_workflow, run_snakemake

NS_TARGETS = ["fig_ns_density", "fig_ns_qn", "fig_ns_fq", "fig_ns_bad", "fig_ns_pdf", "fig_ns_moduli"]
TINY_NS = ["--configfile", "config/tests/tiny.yaml", "config/tests/tiny_ns.yaml"]


def test_composition_and_aggregation_against_hand_numbers():
    assert composition_mol_percent({"SiO2": 80, "Na2O": 20}) == {"SiO2": 80.0, "Na2O": 20.0}
    values = pd.DataFrame(
        {
            "system": ["A", "A", "A", "B"],
            "sample": [0, 1, 2, 0],
            "quantity": ["density|density"] * 4,
            "value": [2.0, 2.2, np.nan, 2.5],
        }
    )
    summary = aggregate_samples(values).set_index("system")
    assert summary.loc["A", "mean"] == pytest.approx(2.1)
    assert summary.loc["A", "std"] == pytest.approx(np.std([2.0, 2.2], ddof=1))
    assert summary.loc["A", "n_samples"] == 2  # the NaN sample is left out
    assert summary.loc["B", "n_samples"] == 1 and np.isnan(summary.loc["B", "std"])


def test_system_table_compares_with_table_1_and_names_an_unknown_reference():
    summary = pd.DataFrame(
        {
            "system": ["SiO2", "NS20"],
            "quantity": ["density|density"] * 2,
            "mean": [2.0, 2.5],
            "std": [0.1, 0.1],
            "sem": [0.07] * 2,
        }
        | {"n_samples": [2, 2]}
    )
    references = pd.read_csv(ROOT / "resources/reference/glass_densities.csv").set_index("system")
    systems = {
        "SiO2": {"units": {"SiO2": 10}, "reference": "SiO2"},
        "NS20": {"units": {"SiO2": 8, "Na2O": 2}, "reference": "NS20"},
    }
    table = system_table(summary, systems, references)
    assert list(table.Na2O_mol_percent) == [0.0, 20.0]
    assert list(table.reference_density_g_cm3) == [2.200, 2.385]  # NS Table 1
    assert table.density_rel_error_percent.iloc[1] == pytest.approx(100 * (2.5 - 2.385) / 2.385)
    figure = density_figure_table(table, "Na2O")
    assert figure.percent_mae.iloc[0] == pytest.approx((100 * 0.2 / 2.2 + 100 * 0.115 / 2.385) / 2)
    with pytest.raises(KeyError, match="systems.NS20.reference 'NS21'"):
        system_table(summary, systems | {"NS20": {"units": {"SiO2": 8}, "reference": "NS21"}}, references)
    with pytest.raises(KeyError, match=r"no curve \['angle Si-O-Si'\]"):
        curve_figure_table(pd.DataFrame({"system": ["A"], "curve": ["F(Q)"], "x": [1.0], "y": [0.0]}), ["angle Si-O-Si"])


def test_moduli_figure_takes_each_variants_ns_moduli_and_the_reference_error():
    """NS Fig. 7's rows: E and nu from the uniaxial runs, K from the pressure steps (not the Birch-Murnaghan fits),
    at the system's mol % Na2O, with the reference where the moduli table has one."""

    def moduli(e, nu, k, reference_e=np.nan):
        return pd.DataFrame(
            {
                "property": ["young_modulus", "poisson_ratio", "bulk_modulus", "bulk_modulus"],
                "method": ["uniaxial_md", "uniaxial_md", "pressure_steps_md", "pressure_steps_bm2"],
                "value": [e, nu, k, 99.0],
                "stderr": [1.0, 0.01, 2.0, 5.0],
                "status": ["ok"] * 4,
                "reference": [reference_e, np.nan, np.nan, np.nan],
            }
        )

    table = pd.DataFrame({"variant": ["a", "a"], "system": ["SiO2", "NS20"], "Na2O_mol_percent": [0.0, 20.0]})
    tables = {("a", "NS20"): moduli(60.0, 0.25, 40.0), ("a", "SiO2"): moduli(70.0, 0.2, 35.0, reference_e=73.0)}
    figure = moduli_figure_table(tables, table, "Na2O").set_index(["property", "system"])
    assert len(figure) == 6 and 99.0 not in figure.value.to_list()
    assert figure.loc[("bulk_modulus", "NS20"), "value"] == 40.0
    assert figure.loc[("young_modulus", "NS20"), "Na2O_mol_percent"] == 20.0
    assert figure.loc[("young_modulus", "SiO2"), "rel_error_percent"] == pytest.approx(100 * (70.0 - 73.0) / 73.0)
    assert np.isnan(figure.loc[("young_modulus", "NS20"), "rel_error_percent"])
    with pytest.raises(KeyError, match="system 'NS40' of the moduli tables is not in the systems table"):
        moduli_figure_table({("a", "NS40"): moduli(1.0, 0.1, 1.0)}, table, "Na2O")


def test_custom_stages_give_the_preset_schedule_and_refuse_bad_stages():
    ns = [
        {"name": "heat", "ensemble": "npt", "T_start_K": 300, "T_end_K": 2500, "rate_K_per_ps": 5.0},
        {"name": "melt", "ensemble": "npt", "T_start_K": 2500, "T_end_K": 2500, "duration_ps": 50.0},
        {"name": "quench", "ensemble": "npt", "T_start_K": 2500, "T_end_K": 300, "rate_K_per_ps": 5.0},
        {"name": "equilibrate", "ensemble": "npt", "T_start_K": 300, "T_end_K": 300, "duration_ps": 100.0},
    ]
    assert schedule(ns, 0.01, 1.0) == schedule("melt_quench_NS", 0.01, 1.0)
    # a longer preparation is a config change
    longer = schedule([{"name": "prepare", "ensemble": "nvt", "T_start_K": 300, "T_end_K": 300, "duration_ps": 40.0}] + ns)
    assert longer[0].n_steps == 40000 and longer[1].duration_ps == pytest.approx(440.0)
    with pytest.raises(ValueError, match=r"stage 0 \(x\): give exactly one of duration_ps and rate_K_per_ps"):
        custom_stages([{"name": "x", "ensemble": "nvt", "T_start_K": 300, "T_end_K": 400}])


def test_systems_cross_field_errors_name_the_keys():
    config = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    config["systems"] = {
        "NS20": {"units": {"SiO2": 8, "Na2O": 2}, "density_g_cm3": 2.385, "structure": None, "samples": None, "reference": None},
        "X": {"units": {"SiO2": 8}, "density_g_cm3": None, "structure": None, "samples": None, "reference": None},
        "Y": {"units": {"SiO2": 8}, "density_g_cm3": 2.2, "structure": "crystal_zif4", "samples": None, "reference": None},
    }
    with pytest.raises(ValueError) as error:
        check_config(config, ROOT / "config/schema.yaml")
    text = str(error.value)
    assert "systems.NS20.units.Na2O has Na, which elements ['Si', 'O'] lacks" in text
    assert "systems.X.density_g_cm3 is needed with units" in text
    assert "systems.Y gives both units and structure" in text


def job_counts(stdout: str) -> dict[str, int]:
    block = stdout.split("Job stats:")[1].split("total")[0]
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)$", block, re.M)}


@pytest.mark.parametrize("paper", ["NS", "AS", "ZIF", "MIL"])
def test_each_paper_config_dry_runs_to_its_design(snakemake_copy, paper):
    path = f"config/papers/{paper}.yaml"
    config = yaml.safe_load((ROOT / path).read_text())
    if paper == "MIL":  # no MIL-120 CIF ships (resources/structures/README.md): the tests' stand-in
        from ase.io import write
        from test_mil120 import stand_in

        write(snakemake_copy.path / "resources/structures/MIL-120.cif", stand_in())
    start = time.perf_counter()
    run = snakemake_copy("-n", "--configfile", path, "--replace-workflow-config")
    elapsed = time.perf_counter() - start
    assert run.returncode == 0, run.stderr[-3000:]
    assert elapsed < 20, f"{paper} dry run took {elapsed:.1f} s"
    counts = job_counts(run.stdout)
    learn = config["learn"]
    n_domains = len(learn.get("domains", ["syn"]))
    assert (
        counts.get("train_model", 0) + counts.get("train_nequip", 0)
        == config["train"]["n_models"] * (learn["n_iterations"] + 1) * n_domains
    )
    systems = config.get("systems", {})
    n_samples = sum(spec.get("samples", config.get("samples", 1)) for spec in systems.values())
    for rule in ("build_system_packing", "produce_system", "measure_system_sample"):
        assert counts.get(rule, 0) == n_samples
    # the MD elastic protocols (uniaxial strain, pressure steps) belong to the NS paper only: glass 0, and sample 0 of
    # every system with every variant (NS Fig. 7)
    assert counts.get("validate_elastic_md", 0) == (1 if paper == "NS" else 0)
    n_variants = len(config.get("variants") or {"chosen": None})
    assert counts.get("elastic_md_system", 0) == (n_variants * len(systems) if paper == "NS" else 0)
    if paper == "NS":
        assert n_samples == 8 * 50  # NS: 50 glasses of each of the eight Table 1 compositions
        packing = re.search(
            r"rule build_system_packing:\n(?:.+\n)*?\s+output: results/structures/systems/NS22.5/sample_49", run.stdout
        )
        assert packing
    if paper == "AS":
        assert n_samples == 50 + 5 and counts["relabel_chunk"] == 8 and counts["melt_quench_pore"] == 1
    if paper == "ZIF":  # no silica job: the glass melts from the ZIF-4 crystal
        assert "SiO2" not in run.stdout and "quartz" not in run.stdout and "random_0" not in run.stdout


@pytest.fixture(scope="module")
def tiny_ns(tmp_path_factory):
    """The tiny NS run: the chosen model is trained first, then a copy of it saved outside the workflow is an
    external model (a model file the pipeline did not train), and four variants (chosen and external, each
    without and with D3(BJ)) melt-quench both compositions and make the NS figures and the comparison."""
    work = tmp_path_factory.mktemp("tiny_ns")
    env = copy_workflow(work)
    first = run_snakemake(work, env, "--cores", "2", "results/learn/syn/final/choice.json", *TINY_NS)
    assert first.returncode == 0, first.stderr[-5000:]
    chosen = json.loads((work / "results/learn/syn/final/choice.json").read_text())["model"]
    external = tmp_path_factory.mktemp("elsewhere") / "someone_elses.model"
    shutil.copy(work / chosen, external)
    overlay = work / "external.yaml"
    overlay.write_text(
        yaml.safe_dump(
            {
                "models": {"external": {"theirs": {"file": str(external), "architecture": "mace"}}},
                "variants": {
                    "chosen": {"dispersion": {}},
                    "chosen_d3": {"dispersion": {"method": "d3bj", "functional": "pbe"}},
                    "theirs": {"model": "theirs", "dispersion": {}},
                    "theirs_d3": {"model": "theirs", "dispersion": {"method": "d3bj", "functional": "pbe"}},
                },
            }
        )
    )
    targets = [*NS_TARGETS, "results/validate/variants/comparison.csv"]
    run = run_snakemake(work, env, "--cores", "2", *targets, *TINY_NS, str(overlay))
    assert run.returncode == 0, run.stderr[-5000:]
    return work


VARIANTS = ["chosen", "chosen_d3", "theirs", "theirs_d3"]


@pytest.mark.slow
def test_ns_density_figure_from_two_compositions(tiny_ns):
    """Two NS compositions, two glasses each, by one target per figure: the densities are those of the
    trajectories, the composition that of the packings, the reference NS Table 1."""
    figure = pd.read_csv(tiny_ns / "results/papers/NS/density.csv")
    assert sorted(set(figure.variant)) == VARIANTS
    one = figure[figure.variant == "chosen"]
    assert list(one.system) == ["SiO2", "NS33"]
    assert one.Na2O_mol_percent.tolist() == pytest.approx([0.0, 100 / 3])
    assert one.reference_density_g_cm3.tolist() == [2.200, 2.494]
    assert (tiny_ns / "results/papers/NS/density.png").stat().st_size > 10_000
    for row in figure.itertuples():
        densities = []
        for s in range(2):
            start = read_frames(tiny_ns / f"results/structures/systems/{row.system}/sample_{s}.extxyz")[0]
            assert density_g_cm3(start) == pytest.approx(row.reference_density_g_cm3, rel=1e-6)
            frames = read_frames(tiny_ns / f"results/produce/systems/{row.variant}/{row.system}/sample_{s}/trajectory.extxyz")
            assert frames[0].get_chemical_symbols() == start.get_chemical_symbols()  # every variant starts there
            tail = frames[-max(1, round(0.3 * len(frames))) :]
            tail = [a for a in tail if a.info["stage"] == frames[-1].info["stage"]]
            densities.append(np.mean([density_g_cm3(a) for a in tail]))
        assert row.density_g_cm3 == pytest.approx(np.mean(densities), rel=1e-9)
        assert row.density_std_g_cm3 == pytest.approx(np.std(densities, ddof=1), rel=1e-6)
        assert row.rel_error_percent == pytest.approx(
            100 * (row.density_g_cm3 - row.reference_density_g_cm3) / row.reference_density_g_cm3
        )
    ns33 = read_frames(tiny_ns / "results/structures/systems/NS33/sample_1.extxyz")[0].get_chemical_symbols()
    assert (ns33.count("Na"), ns33.count("Si"), ns33.count("O")) == (6, 6, 15)
    # the samples differ (own packing, own seed); the single-composition glass stage did not run
    a, b = (read_frames(tiny_ns / f"results/structures/systems/SiO2/sample_{s}.extxyz")[0] for s in range(2))
    assert not np.allclose(a.positions, b.positions)
    assert not (tiny_ns / "results/produce/melt_quench").exists()


@pytest.mark.slow
def test_four_variants_side_by_side_with_an_external_model(tiny_ns):
    """The external model is the chosen member's file under another path: with the same packing, seed and D3 it
    gives the same glass and the same test errors; D3 changes the trajectory of either."""
    comparison = pd.read_csv(tiny_ns / "results/validate/variants/comparison.csv")
    assert sorted(set(comparison.variant)) == VARIANTS and len(comparison) == 8
    assert set(comparison[comparison.variant.str.startswith("theirs")].model) == {"theirs"}
    assert set(comparison.dispersion) == {"off", "d3bj"}
    by = comparison.set_index(["variant", "system"])
    for system in ("SiO2", "NS33"):
        assert by.loc[("theirs", system), "density|density"] == pytest.approx(
            by.loc[("chosen", system), "density|density"], rel=1e-6
        )
        assert by.loc[("chosen_d3", system), "density|density"] != by.loc[("chosen", system), "density|density"]
    errors = comparison.drop_duplicates("variant").set_index("variant")
    assert errors.loc["theirs", "force_mae_meV_A"] == pytest.approx(errors.loc["chosen", "force_mae_meV_A"], rel=1e-6)
    assert (errors.force_mae_meV_A > 0).all() and (errors.cost_us_per_atom_call > 0).all()
    # the VDOS of sample 0 per variant and system; the external copy gives the chosen model's spectrum
    for variant, system in by.index:
        peaks = pd.read_csv(tiny_ns / f"results/validate/systems/{variant}/{system}/vdos/peaks.csv")
        top = sorted(peaks.astype(float).nlargest(3, "prominence").frequency_cm1) if len(peaks) else [np.nan]
        assert by.loc[(variant, system), "vdos_peak_1_cm1"] == pytest.approx(top[0], nan_ok=True)
    theirs, chosen = by.loc[("theirs", "SiO2")], by.loc[("chosen", "SiO2")]
    assert theirs.vdos_peak_1_cm1 == pytest.approx(chosen.vdos_peak_1_cm1, nan_ok=True)
    spectra = {v: pd.read_csv(tiny_ns / f"results/validate/systems/{v}/SiO2/vdos/vdos.csv").vdos for v in VARIANTS}
    assert np.allclose(spectra["theirs"], spectra["chosen"]) and not np.allclose(spectra["chosen_d3"], spectra["chosen"])
    assert (spectra["chosen"] >= 0).all() and spectra["chosen"].sum() > 0
    choice = json.loads((tiny_ns / "results/models/external/theirs/choice.json").read_text())
    assert choice["model"].endswith("someone_elses.model") and choice["architecture"] == "mace"
    assert (tiny_ns / "results/validate/variants/comparison.png").stat().st_size > 10_000


@pytest.mark.slow
def test_ns_structure_figures(tiny_ns):
    qn = pd.read_csv(tiny_ns / "results/papers/NS/qn.csv")
    assert ((qn[[f"Q{n}" for n in range(5)]].sum(axis=1)) <= 100.0 + 1e-6).all()
    bad = pd.read_csv(tiny_ns / "results/papers/NS/bad.csv")
    assert set(bad.system) == {"SiO2", "NS33"} and set(bad.curve) == {"angle Si-O-Si"}
    for _, part in bad.groupby(["variant", "system"]):  # each a probability density over 0-180 degrees
        assert np.trapezoid(part.y, part.x) == pytest.approx(1.0, abs=0.05)
    fq = pd.read_csv(tiny_ns / "results/papers/NS/fq.csv")
    assert "reference" in set(fq.system)
    model = fq[fq.system != "reference"]
    assert np.isfinite(model.r_factor).all() and (model.r_factor > 0).all()
    samples = pd.read_csv(tiny_ns / "results/validate/systems/samples.csv")
    assert samples.groupby("system")["sample"].nunique().to_dict() == {"NS33": 2, "SiO2": 2}
    assert samples.groupby("variant").size().nunique() == 1  # every variant measured alike


@pytest.mark.slow
def test_ns_moduli_figure_from_md_of_every_system_and_variant(tiny_ns):
    """NS Fig. 7: the MD moduli of sample 0 of each composition with each variant; the figure and the comparison carry
    the values of the per-system tables, the external copy of the chosen model gives its numbers, D3 changes them."""
    figure = pd.read_csv(tiny_ns / "results/papers/NS/moduli.csv")
    assert sorted(set(figure.variant)) == VARIANTS and set(figure.system) == {"SiO2", "NS33"}
    assert set(figure.property) == {"young_modulus", "poisson_ratio", "bulk_modulus"} and len(figure) == 4 * 2 * 3
    comparison = pd.read_csv(tiny_ns / "results/validate/variants/comparison.csv").set_index(["variant", "system"])
    for row in figure.itertuples():
        folder = tiny_ns / f"results/validate/systems/{row.variant}/{row.system}"
        table = pd.read_csv(folder / "elastic_md.csv")
        value = table[(table.property == row.property) & (table.method == row.method)].value.iloc[0]
        assert row.value == pytest.approx(value, nan_ok=True)
        assert comparison.loc[(row.variant, row.system), f"elastic_md|{row.property}"] == pytest.approx(value, nan_ok=True)
        runs = pd.read_csv(folder / "elastic_md_runs.csv")  # reference, two strains, one pressure step
        assert runs.protocol.value_counts().to_dict() == {"uniaxial": 2, "reference": 1, "pressure": 1}
        assert row.Na2O_mol_percent == pytest.approx(0.0 if row.system == "SiO2" else 100 / 3)
    by = figure.set_index(["variant", "system", "property"]).value
    assert np.isfinite(by.loc[("chosen", "SiO2", "young_modulus")])
    # the same model file from the same glass with the same seed: the same modulus to MD round-off (measured 2e-5)
    assert by.loc[("theirs", "SiO2", "young_modulus")] == pytest.approx(by.loc[("chosen", "SiO2", "young_modulus")], rel=1e-3)
    assert by.loc[("chosen_d3", "SiO2", "young_modulus")] != by.loc[("chosen", "SiO2", "young_modulus")]
    silica = figure[(figure.system == "SiO2") & (figure.property == "young_modulus")]
    assert (silica.reference == 73.0).all()  # resources/reference/glass_moduli.csv (fused silica)
    assert figure[figure.system == "NS33"].reference.isna().all()
    assert (tiny_ns / "results/papers/NS/moduli.png").stat().st_size > 10_000


def test_a_missing_external_model_file_stops_the_run_naming_the_key(snakemake_copy, tmp_path):
    overlay = tmp_path / "missing.yaml"
    overlay.write_text(
        yaml.safe_dump(
            {
                "systems": {"SiO2": {"units": {"SiO2": 8}, "density_g_cm3": 2.2}},
                "models": {"external": {"mp0": {"file": str(tmp_path / "mace-mp-0.model"), "architecture": "mace"}}},
                "variants": {"mp0": {"model": "mp0"}, "other": {"model": "nothing"}},
            }
        )
    )
    run = snakemake_copy("-n", "--configfile", str(overlay))
    assert run.returncode != 0
    text = run.stdout + run.stderr
    assert f"models.external.mp0.file {tmp_path / 'mace-mp-0.model'} does not exist" in text
    assert "variants.other.model 'nothing' is neither chosen nor a models.external name ['mp0']" in text
