"""AIMD as exploration: run (xTB in process, CP2K when installed), import through the streaming
importers, merge into iteration 0 under the level-of-theory guard, config validation."""

import json
import logging
import runpy
import shutil
import sys
from pathlib import Path

import ase.io
import numpy as np
import pytest
from ase.build import molecule
from ase.calculators.lj import LennardJones
from ase.units import Hartree

from amlip.io.frames import REF_ENERGY, REF_FORCES, read_frames
from amlip.io.importers import import_sources, iter_source
from amlip.io.lot import LevelOfTheoryError, level_of_theory_hash
from amlip.labelers.aimd import run_aimd
from amlip.labelers.cp2k import cp2k_command
from amlip.labelers.registry import make_labeler

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
XTB = {"method": "GFN1-xTB", "accuracy": 1.0, "electronic_temperature_K": 300.0, "max_iterations": 250}


def test_xtb_aimd_frames_are_labels_of_their_own_positions(tmp_path, quartz):
    manifest = run_aimd(quartz, tmp_path / "run", "xtb", XTB, n_steps=4, temperature_K=600.0, timestep_fs=1.0,
                        thermostat_timecon_fs=100.0, sample_every=2, seed=3)  # fmt: skip
    assert manifest["format"] == "extxyz" and manifest["n_frames"] == 3
    assert json.loads((tmp_path / "run" / "run.json").read_text())["lot_hash"] == make_labeler("xtb", XTB).lot_hash
    table = import_sources([tmp_path / "run"], [], None, tmp_path / "imported.extxyz")
    frames = read_frames(tmp_path / "imported.extxyz")
    assert [a.info["md_step"] for a in frames] == [0, 2, 4] == list(table.md_step)
    assert {a.info["aimd_source"] for a in frames} == {"run"}
    assert not np.allclose(frames[0].positions, frames[2].positions)  # the atoms moved
    # every label is what a separate single point at that frame's positions gives (within the SCF
    # tolerance: the MD restarts each SCF from the previous step's density; a frame off by one step
    # differs by tens of meV)
    labeler = make_labeler("xtb", XTB)
    for frame in (frames[0], frames[2]):
        again = labeler.single_point(frame)
        assert frame.info[REF_ENERGY] == pytest.approx(again.info[REF_ENERGY], abs=2e-4)
        assert np.allclose(frame.arrays[REF_FORCES], again.arrays[REF_FORCES], atol=2e-3)
        assert frame.info["lot_hash"] == labeler.lot_hash
    assert table.energy_eV_atom.iloc[1] == pytest.approx(frames[1].info[REF_ENERGY] / 9)


def test_user_imports_thin_stamp_and_name_their_errors(tmp_path):
    cp2k = {"format": "cp2k", "pos_path": str(DATA / "cp2k_md/md-pos-1.xyz"), "ener_path": str(DATA / "cp2k_md/md-1.ener"),
            "cell": np.diag([6.0, 6.2, 6.4]).tolist(), "every": 2,
            "level_of_theory": {"code": "cp2k", "functional": "PBE", "cutoff_Ry": 150.0}}  # fmt: skip
    record = {"code": "tblite", "method": "GFN1-xTB"}
    table = import_sources([], [cp2k], lambda: record, tmp_path / "out.extxyz")
    frames = read_frames(tmp_path / "out.extxyz")
    assert [a.info["md_step"] for a in frames] == [0, 2] and list(table.aimd_frame) == [0, 2]
    assert frames[1].info[REF_ENERGY] == pytest.approx(np.loadtxt(DATA / "cp2k_md/md-1.ener")[2, 4] * Hartree, abs=1e-8)
    assert frames[0].info["lot_hash"] == level_of_theory_hash(cp2k["level_of_theory"])
    # 'label' means the chunk labels' record
    ase.io.write(tmp_path / "mine.extxyz", frames, format="extxyz")
    mine = {"format": "extxyz", "path": str(tmp_path / "mine.extxyz"), "level_of_theory": "label"}
    with pytest.raises(LevelOfTheoryError, match="import it with its own level of theory"):
        import_sources([], [mine], lambda: record, tmp_path / "mixed.extxyz")
    with pytest.raises(ValueError, match=r"aimd.import\[0\].*level_of_theory must be 'label' or a record"):
        import_sources([], [{**mine, "level_of_theory": None}], record, tmp_path / "x.extxyz")
    with pytest.raises(ValueError, match="format 'lammps' is not one of"):
        next(iter_source({"format": "lammps", "path": "x"}, record))
    with pytest.raises(ValueError, match="format cp2k needs 'pos_path'"):
        next(iter_source({"format": "cp2k"}, record))


def _merge(tmp_path, chunks, aimd):
    """Run scripts/merge_labels.py as Snakemake would, on frame lists written to files."""
    tmp_path.mkdir()
    paths = {}
    for name, frames in {**chunks, "pool": [a for f in chunks.values() for a in f], "aimd": aimd}.items():
        paths[name] = tmp_path / f"{name}.extxyz"
        ase.io.write(paths[name], frames, format="extxyz")
    failed = tmp_path / "chunk_failed.csv"
    failed.write_text("frame_index,formula,error,reason,wall_s,lot_hash\n")
    out = {
        "labelled": str(tmp_path / "labelled.extxyz"),
        "failed": str(tmp_path / "failed.csv"),
        "report": str(tmp_path / "report.csv"),
    }
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        main = runpy.run_path(str(ROOT / "scripts/merge_labels.py"))["main"]
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    chunk_files = [str(paths[c]) for c in chunks]
    main(
        chunk_files,
        [str(failed)],
        str(paths["pool"]),
        [str(paths["aimd"])],
        out["labelled"],
        out["failed"],
        out["report"],
        0.2,
        logging.getLogger("test"),
    )
    return read_frames(out["labelled"])


def test_merge_takes_matching_aimd_frames_and_refuses_others(tmp_path, quartz):
    labeler = make_labeler("xtb", XTB)
    chunk = [labeler.single_point(quartz)]
    chunk[0].info["frame_index"] = 0
    aimd = [labeler.single_point(quartz)]
    aimd[0].info["aimd_source"] = "run_quartz"
    merged = _merge(tmp_path / "ok", {"chunk_0": chunk}, aimd)
    assert [a.info.get("aimd_source") for a in merged] == [None, "run_quartz"]
    # AIMD at 'low' settings (another tblite accuracy): refused, both records named
    low = make_labeler("xtb", {**XTB, "accuracy": 3.0})
    other = [low.single_point(quartz)]
    with pytest.raises(LevelOfTheoryError) as error:
        _merge(tmp_path / "bad", {"chunk_0": chunk}, other)
    message = str(error.value)
    assert "refusing to mix levels of theory" in message
    assert labeler.lot_hash in message and low.lot_hash in message
    assert "accuracy=1.0" in message and "accuracy=3.0" in message and "aimd.extxyz" in message


@pytest.mark.skipif(cp2k_command() is None or shutil.which("cp2k") is None, reason="CP2K not installed (apt-get install cp2k)")
def test_cp2k_aimd_runs_and_imports(tmp_path):
    water = molecule("H2O", cell=[6.0, 6.2, 6.4], pbc=True)
    water.center()
    settings = {"cutoff_Ry": 150, "rel_cutoff_Ry": 30, "eps_scf": 1e-5, "basis_set": "SZV-MOLOPT-SR-GTH", "smearing_K": 0,
                "mixing": None, "dispersion": "none"}  # fmt: skip
    manifest = run_aimd(water, tmp_path / "run", "cp2k", settings, n_steps=2, temperature_K=300.0, timestep_fs=0.5,
                        thermostat_timecon_fs=1000.0, sample_every=1)  # fmt: skip
    assert manifest["format"] == "cp2k" and manifest["level_of_theory"]["code"] == "cp2k"
    assert manifest["level_of_theory"]["cutoff_Ry"] == 150.0
    table = import_sources([tmp_path / "run"], [], None, tmp_path / "imported.extxyz")
    frames = read_frames(tmp_path / "imported.extxyz")
    assert [a.info["md_step"] for a in frames] == [0, 1, 2] == list(table.md_step)
    ener = np.loadtxt(tmp_path / "run" / manifest["ener_path"])
    assert [a.info[REF_ENERGY] for a in frames] == pytest.approx(ener[:, 4] * Hartree, abs=1e-6)
    assert np.allclose(frames[0].positions, water.positions, atol=1e-6)
    assert frames[0].info["lot_hash"] == manifest["lot_hash"]


def _dry_run(snakemake_copy, tmp_path, override: str):
    config = tmp_path / "override.yaml"
    config.write_text(override)
    return snakemake_copy("-n", "--configfile", str(config))


@pytest.mark.parametrize(
    "override, expected",
    [
        ("aimd: {backend: vasp}\n", "aimd"),
        ("aimd: {structures: [nowhere]}\n", "config aimd.structures names ['nowhere']"),
        ("aimd: {import: [{format: extxyz, path: x.extxyz}]}\n", "level_of_theory"),
    ],
)
def test_bad_aimd_config_fails_before_any_job(snakemake_copy, tmp_path, override, expected):
    result = _dry_run(snakemake_copy, tmp_path, override)
    assert result.returncode != 0
    assert expected in result.stdout + result.stderr


def test_dry_run_wires_aimd_into_iteration_0(snakemake_copy, tmp_path):
    # AIMD with the xTB labeler (the default labels with BKS and has no AIMD)
    result = _dry_run(
        snakemake_copy, tmp_path, "label: {backend: xtb}\naimd: {domains: [syn], structures: [random_0, crystal_alpha_quartz]}\n"
    )
    assert result.returncode == 0, result.stderr[-2000:]
    out = result.stdout
    assert "results/aimd/syn/run_crystal_alpha_quartz" in out and "results/aimd/syn/run_random_0" in out
    merge = [block for block in out.split("\n\n") if "rule merge_labels:" in block and "iter_0" in block]
    assert merge and "results/aimd/syn/imported.extxyz" in merge[0]
    off = _dry_run(snakemake_copy, tmp_path, "label: {backend: xtb}\naimd: {domains: []}\n")
    assert off.returncode == 0 and "run_aimd" not in off.stdout


class _FailingLJ(LennardJones):
    """Lennard-Jones forces until calculation ``fail_at`` (counted from 0), which raises instead."""

    def __init__(self, fail_at, **kwargs):
        super().__init__(**kwargs)
        self.fail_at, self.calls = fail_at, 0

    def calculate(self, *args, **kwargs):
        if self.calls == self.fail_at:
            raise RuntimeError("SCF run NOT converged")
        self.calls += 1
        super().calculate(*args, **kwargs)


def _failing_labeler(fail_at):
    from amlip.labelers.base import Labeler

    return Labeler("xtb", {"code": "lj"}, lambda atoms: _FailingLJ(fail_at, sigma=2.0, epsilon=0.01, rc=5.0))


def test_an_aimd_failure_names_its_step_and_keeps_the_frames_before_it(tmp_path, quartz, monkeypatch):
    import amlip.labelers.aimd as aimd
    from amlip.labelers.base import LabelingError

    md = dict(n_steps=6, temperature_K=300.0, timestep_fs=0.5, thermostat_timecon_fs=100.0)
    # the single point of step 0 starts the run: its failure names step 0
    with pytest.raises(LabelingError, match="AIMD step 0 of 6: RuntimeError: SCF run NOT converged"):
        list(aimd.aimd_frames(quartz, _failing_labeler(0), **md))
    # the 4th calculation is step 3: steps 0-2 were computed and are kept outside the run folder
    monkeypatch.setattr(aimd, "make_labeler", lambda backend, settings: _failing_labeler(3))
    kept = tmp_path / "logs" / "run_quartz.frames_before_failure.extxyz"
    with pytest.raises(LabelingError) as error:
        aimd.run_aimd(quartz, tmp_path / "run", "xtb", {}, sample_every=1, frames_on_failure=kept, **md)
    assert str(error.value).startswith("AIMD step 3 of 6: RuntimeError: SCF run NOT converged")
    assert str(error.value).endswith(f"the 3 frames computed before it are in {kept}")
    frames = read_frames(kept)
    assert [a.info["md_step"] for a in frames] == [0, 1, 2] and all(np.isfinite(a.info[REF_ENERGY]) for a in frames)
    assert not (tmp_path / "run" / "trajectory.extxyz").exists()
    # a rerun that succeeds leaves no stale frames behind
    monkeypatch.setattr(aimd, "make_labeler", lambda backend, settings: _failing_labeler(100))
    aimd.run_aimd(quartz, tmp_path / "run", "xtb", {}, sample_every=2, frames_on_failure=kept, **md)
    assert not kept.exists() and len(read_frames(tmp_path / "run" / "trajectory.extxyz")) == 4


def test_a_failed_cp2k_aimd_keeps_the_frames_cp2k_wrote(tmp_path, quartz, monkeypatch):
    import amlip.labelers.aimd as aimd
    from amlip.labelers.base import LabelingError

    def crashing_cp2k(atoms, directory, settings, **md):
        """CP2K killed while writing step 3: its last frame in md-pos-1.xyz is cut short."""
        shutil.copytree(DATA / "cp2k_md", directory)
        pos = directory / "md-pos-1.xyz"
        pos.write_text("".join(pos.read_text().splitlines(keepends=True)[:-2]))
        raise RuntimeError(f"CP2K MD in {directory} failed (exit 1)")

    monkeypatch.setattr(aimd, "make_labeler", lambda backend, settings: _failing_labeler(100))
    monkeypatch.setattr(aimd, "run_cp2k_md", crashing_cp2k)
    kept = tmp_path / "kept.extxyz"
    with pytest.raises(LabelingError, match=f"CP2K MD in .* failed \\(exit 1\\); the 3 frames computed before it are in {kept}"):
        aimd.run_aimd(quartz, tmp_path / "run", "cp2k", {}, n_steps=4, temperature_K=300.0, timestep_fs=0.5,
                      thermostat_timecon_fs=100.0, sample_every=1, frames_on_failure=kept)  # fmt: skip
    frames = read_frames(kept)
    assert [a.info["md_step"] for a in frames] == [0, 1, 2]
    energies = np.loadtxt(DATA / "cp2k_md/md-1.ener")[:3, 4] * Hartree
    assert [a.info[REF_ENERGY] for a in frames] == pytest.approx(energies, abs=1e-8)


def test_an_isolated_atom_failure_names_the_element(quartz):
    from amlip.labelers.base import LabelingError, isolated_atom_energies

    with pytest.raises(
        LabelingError, match="isolated-atom energy \\(E0\\) of element O at xtb .* failed: SCFNotConverged: RuntimeError: SCF"
    ):
        isolated_atom_energies(["Si", "O"], _failing_labeler(0))
    with pytest.raises(LabelingError, match="E0\\) of element Xx at xtb .* failed: KeyError"):
        isolated_atom_energies(["Xx"], make_labeler("xtb", XTB))
