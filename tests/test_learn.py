import numpy as np
import pandas as pd
import pytest
from ase.calculators.lj import LennardJones

from amlip.learning.choice import choose_member, screen_density
from amlip.learning.loop import calibrated_band, domain_settings, read_band, uncertain_fraction
from amlip.models.committee import committee_force_deviation
from amlip.selection.candidates import band_candidates, select_diverse
from amlip.structures.crystals import build_crystal, density_g_cm3


def test_sigma_max_by_hand():
    # two models; atom 0 disagrees by +-1 eV/A along x, atom 1 agrees
    forces = np.array([[[1.0, 0, 0], [0.3, 0.2, 0.1]], [[-1.0, 0, 0], [0.3, 0.2, 0.1]]])
    assert committee_force_deviation(forces) == pytest.approx(1.0)


def test_sigma_max_three_models():
    # atom 0: x components 0, 3, 6 -> mean 3, squared deviations 9, 0, 9 -> mean 6 -> sqrt(6)
    # atom 1: y components 1, 1, 4 -> mean 2, squared deviations 1, 1, 4 -> mean 2 -> sqrt(2)
    f = np.zeros((3, 2, 3))
    f[:, 0, 0] = [0, 3, 6]
    f[:, 1, 1] = [1, 1, 4]
    assert committee_force_deviation(f) == pytest.approx(np.sqrt(6))


def test_sigma_max_rejects_wrong_shape():
    with pytest.raises(ValueError, match=r"\(n_models, n_atoms, 3\)"):
        committee_force_deviation(np.zeros((2, 5)))


def test_band_is_open_on_both_sides():
    sigmas = [0.01, 0.06, 0.07, 0.2, 0.24, 0.5]
    np.testing.assert_array_equal(band_candidates(sigmas, 0.06, 0.24), [2, 3])
    with pytest.raises(ValueError, match="low <= high, got 0.3 > 0.1"):
        band_candidates(sigmas, 0.3, 0.1)


def test_uncertain_fraction():
    assert uncertain_fraction([0.01, 0.02, 0.03, 0.1], 0.06) == 0.25
    assert uncertain_fraction([], 0.06) is None


def test_calibrated_band_takes_the_test_quantile_above_the_floor_and_caps_at_the_upper_edge():
    sigmas = np.linspace(0.1, 0.5, 21)  # 0.02 eV/Å apart: the 0.95 quantile is 0.48
    band = calibrated_band(sigmas, 0.25, 1.0, 0.95)
    assert band["low_eV_A"] == pytest.approx(0.48) == band["quantile_sigma_eV_A"]
    assert band["n_test_frames"] == 21 and band["test_sigma_median_eV_A"] == pytest.approx(0.3) and not band["capped"]
    assert "0.95 quantile of the committee's sigma_max on its 21 test frames 0.480 eV/Å, floor 0.25" == band["how"]
    # the floor wins over a committee that agrees on its test frames; null quantile or no frames: the fixed edge
    assert calibrated_band(sigmas, 0.6, 1.0, 0.95)["low_eV_A"] == 0.6
    assert calibrated_band(sigmas, 0.25, 1.0, None)["low_eV_A"] == 0.25
    assert calibrated_band([], 0.25, 1.0, 0.95)["how"].startswith("no test frames to calibrate on")
    # a committee that deviates on its own test frames more than the upper edge: an empty band, said so
    capped = calibrated_band(sigmas + 1.0, 0.25, 1.0, 0.95)
    assert capped["low_eV_A"] == 1.0 and capped["capped"] and "capped at the upper edge 1" in capped["how"]
    assert len(band_candidates(np.array([0.5, 1.0, 2.0]), capped["low_eV_A"], capped["high_eV_A"])) == 0
    # the decision says which edge it counted against, and how that edge was found
    from amlip.learning.loop import loop_decision

    decision = loop_decision([0.1, 0.6], band["low_eV_A"], 0.1, 1, 2, band_how=band["how"])["decision"]
    assert decision == (
        "continue: 0.500 of explored frames uncertain (sigma_max above 0.480 eV/Å: 0.95 quantile of the committee's "
        "sigma_max on its 21 test frames 0.480 eV/Å, floor 0.25) >= 0.1"
    )


def test_read_band_names_the_file_and_the_missing_keys(tmp_path):
    path = tmp_path / "band.json"
    path.write_text('{"low_eV_A": 0.3}')
    with pytest.raises(ValueError, match=r"band.json lacks \['high_eV_A', 'how'\]; rerun rule calibrate_band"):
        read_band(path)


def test_loop_decision_stops_once_and_stays_stopped():
    from amlip.learning.loop import loop_decision

    first = loop_decision([], 0.06, 0.05, 0, 3)
    assert not first["stop_loop"] and first["converged_at"] is None and first["decision"].startswith("initial")
    # iteration 1: 1 of 4 frames above 0.06 -> 0.25 >= 0.05, go on
    one = loop_decision([0.01, 0.02, 0.03, 0.1], 0.06, 0.05, 1, 3, previous=first)
    assert one["fraction_uncertain"] == 0.25 and not one["converged"] and not one["stop_loop"]
    # iteration 2: 1 of 25 above -> 0.04 < 0.05: converged, iteration 3 reuses it
    two = loop_decision([0.01] * 24 + [0.1], 0.06, 0.05, 2, 3, previous=one)
    assert two["fraction_uncertain"] == pytest.approx(0.04)
    assert two["converged"] and two["stop_loop"] and two["converged_at"] == 2
    assert "iterations 3..3 reuse this committee" in two["decision"]
    # iteration 3 explored nothing: stopped because of iteration 2, whatever its (empty) pool
    three = loop_decision([], 0.06, 0.05, 3, 3, previous=two)
    assert three["stop_loop"] and three["converged_at"] == 2 and three["fraction_uncertain"] is None
    assert three["decision"].startswith("skipped: converged at iteration 2")


def test_loop_decision_without_stop_and_at_the_last_iteration():
    from amlip.learning.loop import loop_decision

    going_on = loop_decision([0.01] * 99 + [0.1], 0.06, 0.05, 1, 3, stop_when_converged=False)
    assert going_on["converged"] and going_on["converged_at"] == 1 and not going_on["stop_loop"]
    assert "stop_when_converged is false" in going_on["decision"]
    # below the threshold at the last iteration: converged, nothing left to skip
    last = loop_decision([0.01] * 99 + [0.1], 0.06, 0.05, 3, 3)
    assert last["converged_at"] == 3 and not last["stop_loop"]
    # the last iteration reached without the criterion is not convergence (it was recorded as converged)
    end = loop_decision([0.1, 0.2], 0.06, 0.05, 3, 3)
    assert not end["converged"] and end["converged_at"] is None and not end["stop_loop"]
    assert end["decision"] == "not converged at the last configured iteration 3: 1.000 of explored frames uncertain >= 0.05"


def test_production_exploration_converges_only_with_a_completed_run_few_uncertain_frames_and_a_steady_density():
    from amlip.learning.loop import loop_decision

    calm = [0.01] * 99 + [0.2]
    first = loop_decision([0.3], 0.06, 0.05, 0, 4)
    run1 = {"completed": True, "density_g_cm3": 2.30, "stopped": []}
    # iteration 1: no density of an earlier production exploration to compare with
    one = loop_decision(calm, 0.06, 0.05, 1, 4, previous=first, production=run1, density_tolerance=0.02)
    assert not one["converged"] and one["production_density_g_cm3"] == 2.30
    assert one["decision"] == "continue: no density of two successive production explorations to compare"
    # iteration 2: the density moved by 4.3 % and one run stopped on the committee guard
    run2 = {"completed": False, "density_g_cm3": 2.20, "stopped": ["random_1: committee force deviation 2.1 eV/Å at step 700"]}
    two = loop_decision(calm, 0.06, 0.05, 2, 4, previous=one, production=run2, density_tolerance=0.02)
    assert not two["converged"] and two["density_change"] == pytest.approx(0.1 / 2.3)
    assert "production run stopped: random_1: committee force deviation" in two["decision"]
    assert "changed by 4.3 % since iteration 1 >= 2 %" in two["decision"]
    # iteration 3: complete, 1 % uncertain, density within 1 % of iteration 2's: converged and stops the loop
    run3 = {"completed": True, "density_g_cm3": 2.22, "stopped": []}
    three = loop_decision(calm, 0.06, 0.05, 3, 4, previous=two, production=run3, density_tolerance=0.02)
    assert three["converged"] and three["stop_loop"] and three["converged_at"] == 3
    assert three["decision"] == (
        "converged: 0.010 of explored frames uncertain < 0.05; density 2.220 g/cm3 changed by 0.9 % since iteration 2 < 2 %; "
        "iterations 4..4 reuse this committee"
    )
    four = loop_decision([], 0.06, 0.05, 4, 4, previous=three)
    assert four["converged"] and four["production_density_g_cm3"] == 2.22
    # many uncertain frames keep it going even with a steady density
    busy = loop_decision([0.1] * 10, 0.06, 0.05, 3, 4, previous=two, production=run3, density_tolerance=0.02)
    assert not busy["converged"] and busy["decision"].startswith("continue: 1.000 of explored frames uncertain >= 0.05")


def test_density_change_quotes_the_spread_between_runs():
    """runs.csv -> production_outcome: the mean tail density of the completed runs and its standard error;
    the decision quotes the change's standard error (both iterations' errors in quadrature) and says when the
    runs' spread exceeds the tolerance, while the decision itself stays the point estimate."""
    import pandas as pd

    from amlip.learning.loop import loop_decision, production_outcome

    def runs(densities, completed=None):
        completed = completed or [True] * len(densities)
        return pd.DataFrame(
            {
                "structure": [f"random_{k}" for k in range(len(densities))],
                "mode": "production",
                "completed": completed,
                "stop_reason": ["" if c else "committee force deviation" for c in completed],
                "density_g_cm3": densities,
            }
        )

    one = production_outcome(runs([2.52, 2.33]))
    assert one["density_g_cm3"] == pytest.approx(2.425)
    assert one["density_sem_g_cm3"] == pytest.approx(np.std([2.52, 2.33], ddof=1) / np.sqrt(2))
    single = production_outcome(runs([2.40, 9.9], completed=[True, False]))  # the stopped run does not count
    assert single["density_g_cm3"] == 2.40 and single["density_sem_g_cm3"] is None and not single["completed"]

    calm = [0.01] * 99 + [0.2]
    first = loop_decision(calm, 0.06, 0.05, 1, 3, production=one)
    assert first["production_density_sem_g_cm3"] == pytest.approx(0.095)  # two runs: half their difference
    noisy = production_outcome(runs([2.54, 2.44]))
    two = loop_decision(calm, 0.06, 0.05, 2, 3, previous=first, production=noisy, density_tolerance=0.02)
    noise = np.hypot(0.095, 0.05) / 2.425
    assert f"changed by {100 * (2.49 - 2.425) / 2.425:.1f} ± {100 * noise:.1f} % since iteration 1 >= 2 %" in two["decision"]
    assert "the runs' spread exceeds the tolerance" in two["decision"] and not two["converged"]
    # a spread within the tolerance is quoted without the warning; the point estimate decides
    steady = loop_decision(calm, 0.06, 0.05, 2, 3, previous=first | {"production_density_sem_g_cm3": 0.01},
                           production={"completed": True, "stopped": [], "density_g_cm3": 2.43, "density_sem_g_cm3": 0.01},
                           density_tolerance=0.02)  # fmt: skip
    assert steady["converged"] and "changed by 0.2 ± 0.6 % since iteration 1 < 2 %" in steady["decision"]
    assert "spread exceeds" not in steady["decision"]


def test_read_loop_decision_names_the_file(tmp_path):
    from amlip.learning.loop import read_loop_decision

    bad = tmp_path / "decision.json"
    bad.write_text('{"iteration": 1}')
    with pytest.raises(ValueError, match=r"decision.json lacks \['fraction_uncertain', 'production_density_g_cm3'"):
        read_loop_decision(bad)
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="decision.json cannot be read"):
        read_loop_decision(bad)


def _reuse(tmp_path, decision):
    import json
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "scripts" / "reuse_converged_model.py"
    (tmp_path / "decision.json").write_text(json.dumps(decision) if isinstance(decision, dict) else decision)
    previous = tmp_path / "iter_1" / "mace.model"
    previous.parent.mkdir(exist_ok=True)
    previous.write_bytes(b"model bytes \x00\x01")
    out = tmp_path / "iter_2" / "mace.model"
    run = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "decision.json"), str(previous), str(out)], capture_output=True, text=True
    )
    return run, out


def test_reuse_script_copies_only_when_the_loop_stopped(tmp_path):
    run, out = _reuse(tmp_path, {"stop_loop": True, "decision": "converged: 0.010 of frames uncertain"})
    assert run.returncode == 0 and run.stdout.strip() == "reused"
    assert out.read_bytes() == b"model bytes \x00\x01"
    assert "converged: 0.010" in run.stderr
    out.unlink()
    run, out = _reuse(tmp_path, {"stop_loop": False})
    assert run.returncode == 0 and run.stdout.strip() == "train" and not out.exists()
    run, out = _reuse(tmp_path, '{"stop_loop": "yes"}')
    assert run.returncode == 1 and "is 'yes', not true or false" in run.stderr and run.stdout == ""
    run, out = _reuse(tmp_path, "{}")
    assert run.returncode == 1 and "cannot read stop_loop from" in run.stderr and run.stdout == ""


# --- band + diversity pick, per-domain settings, model choice -------------------------------


def test_band_then_soap_kmeans_picks_exactly_one_frame_per_family_inside_the_band():
    # Three structure families x 3 frames; sigma puts family A below the band, family D above
    # it, families B and C (and a stray compressed quartz) inside. Two picks from the band
    # candidates must be one of B and one of C, never A or D.
    rng = np.random.default_rng(0)
    quartz, cristobalite = build_crystal("alpha_quartz"), build_crystal("beta_cristobalite")
    dense = quartz.copy()
    dense.set_cell(dense.cell * 1.25, scale_atoms=True)
    families = {"A": (quartz, 0.01), "B": (cristobalite, 0.5), "C": (dense, 0.4), "D": (quartz, 5.0)}
    frames, sigmas, labels = [], [], []
    for name, (base, sigma) in families.items():
        for _ in range(3):
            a = base.copy()
            a.positions += rng.normal(scale=0.01, size=a.positions.shape)
            frames.append(a)
            sigmas.append(sigma)
            labels.append(name)
    candidates = band_candidates(sigmas, 0.1, 1.0)
    np.testing.assert_array_equal(candidates, [3, 4, 5, 6, 7, 8])
    within, fields = select_diverse(
        [frames[k] for k in candidates], 2, "soap_kmeans", seed=0, soap=dict(r_cut=4.0, n_max=4, l_max=2)
    )
    picked = candidates[within]
    assert sorted(labels[k] for k in picked) == ["B", "C"]
    assert sorted(fields["cluster"]) == [0, 1]


def base_config(**learn):
    return {
        "label": {"backend": "xtb", "xtb": {"method": "GFN1-xTB", "accuracy": 1.0}},
        "explore": {"md": {"temperatures_K": [1000, 3000], "n_steps": 60}},
        "learn": {
            "sigma_low_eV_A": 0.1,
            "sigma_high_eV_A": 1.0,
            "sigma_low_quantile": None,
            "max_new_frames": 12,
            "converged_fraction": 0.05,
            "density_tolerance": 0.02,
            "stop_when_converged": True,
            "domain_settings": {},
            "choose_by": {"property": "none"},
            **learn,
        },
    }


def test_domain_settings_merge_over_the_global_values():
    config = base_config(
        domain_settings={"eq": {"sigma_low_eV_A": 0.05, "md": {"temperatures_K": [300]}, "label": {"accuracy": 0.1}}}
    )
    syn, eq = domain_settings(config, "syn"), domain_settings(config, "eq")
    assert syn["sigma_low_eV_A"] == 0.1 and syn["md"]["temperatures_K"] == [1000, 3000] and syn["label"]["accuracy"] == 1.0
    assert eq["sigma_low_eV_A"] == 0.05 and eq["sigma_high_eV_A"] == 1.0 and eq["max_new_frames"] == 12
    assert eq["md"] == {"temperatures_K": [300], "n_steps": 60}
    assert eq["label"] == {"method": "GFN1-xTB", "accuracy": 0.1}
    assert config["explore"]["md"]["temperatures_K"] == [1000, 3000]  # the global block is untouched


def test_domain_settings_errors_name_the_domain_and_key():
    # the band's order is checked with the other cross-key checks (tests/test_config.py)
    with pytest.raises(ValueError, match=r"domain_settings.eq has unknown keys \['max_frames'\]"):
        domain_settings(base_config(domain_settings={"eq": {"max_frames": 3}}), "eq")


def test_domain_label_settings_give_a_different_lot_hash():
    from amlip.labelers.registry import make_labeler

    config = base_config(domain_settings={"eq": {"label": {"accuracy": 0.1}}})
    syn = make_labeler("xtb", domain_settings(config, "syn")["label"])
    eq = make_labeler("xtb", domain_settings(config, "eq")["label"])
    assert syn.lot_hash != eq.lot_hash


def test_choose_member_by_property_error():
    table = pd.DataFrame(
        {"member": [0, 1, 2], "test_force_mae_meV_A": [100.0, 300.0, 200.0], "property_abs_error": [0.30, 0.05, 0.10]}
    )
    member, reason = choose_member(table)
    assert member == 1 and "lowest property error (0.05)" in reason


def test_choose_member_breaks_property_ties_by_test_force_mae():
    table = pd.DataFrame(
        {"member": [0, 1, 2], "test_force_mae_meV_A": [100.0, 300.0, 200.0], "property_abs_error": [0.30, 0.05, 0.07]}
    )
    member, reason = choose_member(table, tie_tolerance=0.03)
    assert member == 2 and "members [1, 2]" in reason and "200.0 meV/Å" in reason
    member, _ = choose_member(table, tie_tolerance=0.3)
    assert member == 0


def test_choose_member_without_property_and_with_failed_screenings():
    table = pd.DataFrame({"member": [0, 1], "test_force_mae_meV_A": [250.0, 120.0]})
    assert choose_member(table) == (1, "lowest test force MAE (120.0 meV/Å); no property screened")
    table["property_abs_error"] = [0.2, np.nan]  # member 1's screening failed: it cannot win on the property
    assert choose_member(table)[0] == 0
    with pytest.raises(ValueError, match="lacks the columns"):
        choose_member(pd.DataFrame({"member": [0]}))


def test_screen_density_follows_the_model_pressure():
    # LJ with sigma 2.2 Å puts every Si-O pair (1.6 Å) deep in the repulsive wall: the pressure is
    # large and positive, so NpT at zero pressure must expand the cell.
    atoms = build_crystal("alpha_quartz").repeat((2, 2, 1))
    start = density_g_cm3(atoms)
    result = screen_density(
        atoms,
        LennardJones(sigma=2.2, epsilon=0.05, rc=5.0, smooth=True),
        temperature_K=300.0,
        n_steps=100,
        timestep_fs=1.0,
        sample_every=10,
        average_last_fraction=0.5,
        taut_fs=100.0,
        taup_fs=50.0,
    )
    assert result["start"] == pytest.approx(start)
    assert result["mean"] < 0.95 * start
    assert result["n_frames"] == 5
