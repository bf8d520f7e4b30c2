"""Bad input through the real workflow (issue 20), each case in its own copy of it: what a failed job
points to is still there, an imported NaN stops at the import, an AIMD failure names its step, and a
run-only label setting reruns nothing while a level-of-theory setting stops with its key."""

import ase.io
import numpy as np
import pandas as pd
import pytest
from ase.calculators.singlepoint import SinglePointCalculator

from amlip.io.frames import read_frames
from amlip.structures.crystals import build_crystal
from conftest import copy_workflow, run_snakemake

pytestmark = pytest.mark.workflow

TINY = "config/tests/tiny.yaml"


@pytest.fixture
def workflow(tmp_path):
    """Snakemake in a fresh copy of the workflow: ``workflow(target, *config_lines)`` runs ``target``
    with config/tests/tiny.yaml and an override file of ``config_lines``; ``workflow.path`` is the copy."""
    env = copy_workflow(tmp_path)

    def run(target, *overrides, dry=False):
        (tmp_path / "override.yaml").write_text("\n".join(overrides or ["{}"]) + "\n")
        args = [target, "--cores", "2", "--configfile", TINY, "override.yaml"] + (["-n"] if dry else [])
        return run_snakemake(tmp_path, env, *args, timeout=600)

    run.path = tmp_path
    return run


def test_the_failed_list_a_stopped_merge_names_is_still_there(workflow):
    # one SCF iteration converges nothing: every frame fails and the merge stops
    run = workflow("results/label/syn/iter_0/labelled.extxyz", "label: {xtb: {max_iterations: 1}}", "aimd: {domains: []}")
    assert run.returncode != 0
    report = "logs/label/syn/iter_0/failed.csv"
    n = len(read_frames(workflow.path / "results/explore/syn/iter_0/pool.extxyz"))
    assert n > 0
    assert f"{n} of {n} frames failed to label (100% > label.max_failed_fraction=0.2); see {report}" in run.stderr
    failed = pd.read_csv(workflow.path / report)
    assert sorted(failed.frame_index) == list(range(n)) and set(failed.error) == {"SCFNotConverged"}
    assert not (workflow.path / "results/label/syn/iter_0/failed.csv").exists()  # the output went with the job


def test_an_imported_nan_force_stops_the_import_naming_file_and_frame(workflow):
    frames = []
    for k in range(3):
        atoms = build_crystal("alpha_quartz")
        forces = np.zeros((len(atoms), 3))
        if k == 2:
            forces[5, 1] = np.nan
        atoms.calc = SinglePointCalculator(atoms, energy=-30.0 - k, forces=forces)
        frames.append(atoms)
    ase.io.write(workflow.path / "aimd.extxyz", frames, format="extxyz")
    source = "{format: extxyz, path: aimd.extxyz, level_of_theory: label}"
    run = workflow("results/aimd/syn/imported.extxyz", f"aimd: {{structures: [], import: [{source}]}}")
    assert run.returncode != 0
    assert "aimd.extxyz: frame 2: REF_forces[5, 1] is nan; every label entering a data set must be finite" in run.stderr
    assert not (workflow.path / "results/aimd/syn/imported.extxyz").exists()
    # the same file without the NaN imports
    frames[2].calc.results["forces"][5, 1] = 0.0
    ase.io.write(workflow.path / "aimd.extxyz", frames, format="extxyz")
    run = workflow("results/aimd/syn/imported.extxyz", f"aimd: {{structures: [], import: [{source}]}}")
    assert run.returncode == 0, run.stderr[-3000:]
    assert len(read_frames(workflow.path / "results/aimd/syn/imported.extxyz")) == 3


def test_an_aimd_failure_at_step_0_names_the_step(workflow):
    run = workflow("results/aimd/syn/run_random_0", "aimd: {settings: {max_iterations: 1}}")
    assert run.returncode != 0
    log = (workflow.path / "logs/aimd/syn/run_random_0.log").read_text()
    assert "AIMD step 0 of 6: " in log and "no frames kept" in log


def test_a_run_setting_reruns_no_label_and_a_level_setting_stops_naming_its_key(workflow):
    target = "results/label/syn/isolated_atoms.json"
    assert workflow(target).returncode == 0
    again = workflow(target, "label: {xtb: {timeout_s: 30}}", dry=True)
    assert again.returncode == 0 and "Nothing to be done" in again.stdout + again.stderr
    changed = workflow(target, "label: {xtb: {accuracy: 0.5}}", dry=True)
    assert changed.returncode != 0
    assert f"label.xtb.accuracy is 0.5, but was 1.0 when {target} was computed" in changed.stdout + changed.stderr
    domain = workflow(target, "learn: {domain_settings: {syn: {label: {method: GFN2-xTB}}}}", dry=True)
    assert "learn.domain_settings.syn.label.method is 'GFN2-xTB', but" in domain.stdout + domain.stderr
