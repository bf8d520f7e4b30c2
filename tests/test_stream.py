"""Paper-scale data handling on tiny inputs: merge_labels, assemble_dataset and evaluate_model stream
their frames and give what the plain in-memory way gives (``ase.io.read`` of every frame), refusals
included; the memory benchmark at toy size."""

import importlib.util
import json
import logging
import runpy
import sys
from pathlib import Path

import ase.io
import numpy as np
import pandas as pd
import pytest
from ase import Atoms
from ase.calculators.lj import LennardJones
from ase.units import GPa

from amlip.io.lot import (
    LevelOfTheoryError,
    e0s_elements,
    e0s_reference,
    level_of_theory_hash,
    merge_labelled,
    stamp_level_of_theory,
)
from amlip.labelers.accounting import check_indices_accounted
from amlip.models.metrics import ErrorSums, error_metrics

ROOT = Path(__file__).resolve().parents[1]
GFN1 = {"code": "tblite", "method": "GFN1-xTB"}
GFN2 = {"code": "tblite", "method": "GFN2-xTB"}
LOG = logging.getLogger("test")


def labelled(n, record=GFN1, first=0, seed=0, symbols="SiO2"):
    """``n`` labelled frames (REF_energy, REF_forces, REF_stress, frame_index from ``first``) at ``record``."""
    rng = np.random.default_rng(seed)
    frames = []
    for k in range(first, first + n):
        atoms = Atoms(symbols, positions=rng.uniform(0, 4, (len(Atoms(symbols)), 3)), cell=[4, 4, 4], pbc=True)
        atoms.info.update(REF_energy=float(rng.normal(-10, 1)), REF_stress=rng.normal(0, 0.01, 6), frame_index=k)
        atoms.arrays["REF_forces"] = rng.normal(size=(len(atoms), 3))
        stamp_level_of_theory(atoms, record)
        frames.append(atoms)
    return frames


def write(path, frames):
    ase.io.write(path, frames, format="extxyz")
    return str(path)


def read_all(path):
    """The in-memory reference: every frame of a file as ase.io.read gives it."""
    return ase.io.read(path, index=":", format="extxyz")


def script(name):
    """``main`` of ``scripts/<name>.py`` as Snakemake runs it."""
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        return runpy.run_path(str(ROOT / "scripts" / f"{name}.py"))["main"]
    finally:
        sys.path.remove(str(ROOT / "scripts"))


@pytest.fixture
def label_set(tmp_path):
    """Frames 0-5 to label: chunk 0 holds 0-2, chunk 1 holds 3-4, frame 5 failed; two AIMD frames."""
    frames = labelled(6)
    failed = tmp_path / "chunk_failed.csv"
    failed.write_text("frame_index,formula,error,reason,wall_s,lot_hash\n5,SiO2,scf,unconverged,1.5,\n")
    return {
        "frames": write(tmp_path / "pool.extxyz", frames),
        "chunks": [write(tmp_path / "chunk_0.extxyz", frames[:3]), write(tmp_path / "chunk_1.extxyz", frames[3:5])],
        "failed": [str(failed)],
        "aimd": write(tmp_path / "aimd.extxyz", labelled(2, seed=1)),
    }


def merge(tmp_path, s, aimd):
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    paths = {name: str(out / name) for name in ("labelled.extxyz", "failed.csv", "report.csv")}
    script("merge_labels")(s["chunks"], s["failed"], s["frames"], aimd, *paths.values(), 0.2, LOG)
    return paths


def test_merge_labels_writes_what_the_in_memory_merge_writes(tmp_path, label_set):
    paths = merge(tmp_path, label_set, [label_set["aimd"]])
    reference = tmp_path / "reference.extxyz"
    ase.io.write(reference, [a for p in [*label_set["chunks"], label_set["aimd"]] for a in read_all(p)], format="extxyz")
    assert Path(paths["labelled.extxyz"]).read_bytes() == reference.read_bytes()
    assert [a.info["frame_index"] for a in read_all(paths["labelled.extxyz"])] == [0, 1, 2, 3, 4, 0, 1]
    assert pd.read_csv(paths["failed.csv"]).frame_index.tolist() == [5]
    assert Path(paths["report.csv"]).read_text() == Path(paths["failed.csv"]).read_text()


def test_merge_labels_refusals_name_what_the_in_memory_merge_names(tmp_path, label_set):
    # AIMD frames at another level of theory: the in-memory guard's message, and no output
    other = write(tmp_path / "aimd_gfn2.extxyz", labelled(2, GFN2, seed=2))
    with pytest.raises(LevelOfTheoryError) as streamed:
        merge(tmp_path, label_set, [other])
    with pytest.raises(LevelOfTheoryError) as in_memory:
        merge_labelled({p: read_all(p) for p in [*label_set["chunks"], other]})
    assert str(streamed.value) == str(in_memory.value)
    assert f"frame 0 of {label_set['chunks'][0]} is {level_of_theory_hash(GFN1)}" in str(streamed.value)
    assert f"frame 0 of {other} is {level_of_theory_hash(GFN2)} (code=tblite;method=GFN2-xTB)" in str(streamed.value)
    assert not (tmp_path / "out" / "labelled.extxyz").exists()
    # a frame neither labelled nor failed
    label_set["chunks"] = label_set["chunks"][:1]
    with pytest.raises(RuntimeError, match=r"pool.extxyz has 6 frames but the chunks hold 4: missing frame_index \[3, 4\]"):
        merge(tmp_path, label_set, [])
    assert list((tmp_path / "out").iterdir()) == []


def test_frame_index_accounting_by_arrays():
    check_indices_accounted(4, np.array([0, 2, 1]), pd.Series([3]), "set.extxyz")
    with pytest.raises(RuntimeError, match=r"has 4 frames but the chunks hold 4: missing frame_index \[3\], duplicated \[1\]"):
        check_indices_accounted(4, [0, 1, 1], [2], "set.extxyz")
    with pytest.raises(RuntimeError, match=r"has 2 frames but the chunks hold 3: missing frame_index \[\], duplicated \[\]"):
        check_indices_accounted(2, [0, 1, 7], [], "set.extxyz")


@pytest.fixture
def e0s(tmp_path):
    path = tmp_path / "isolated_atoms.json"
    path.write_text(
        json.dumps({"energies_eV": {"O": -2.0, "Si": -1.0}, "level_of_theory": GFN1, "lot_hash": level_of_theory_hash(GFN1)})
    )
    return str(path)


def test_assemble_dataset_writes_what_the_in_memory_merge_writes(tmp_path, e0s):
    new = {
        s: write(tmp_path / f"{s}.extxyz", labelled(n, seed=k))
        for k, (s, n) in enumerate((("train", 4), ("test", 2), ("val", 0)))
    }
    previous = {
        s: write(tmp_path / f"previous_{s}.extxyz", labelled(3, seed=10 + k)) for k, s in enumerate(("train", "test", "val"))
    }
    outputs = {s: str(tmp_path / "out" / f"{s}.extxyz") for s in ("train", "test", "val")}
    script("assemble_dataset")(new, previous, e0s, outputs, LOG)
    for split in ("train", "test", "val"):
        frames = read_all(previous[split]) + (read_all(new[split]) if split != "val" else [])
        ase.io.write(tmp_path / "reference.extxyz", frames, format="extxyz")
        assert Path(outputs[split]).read_bytes() == (tmp_path / "reference.extxyz").read_bytes(), split
    # iteration 0 (no previous set)
    script("assemble_dataset")(new, {}, e0s, outputs, LOG)
    assert Path(outputs["train"]).read_bytes() == Path(new["train"]).read_bytes()


def test_assemble_dataset_refusals_name_the_frame_and_file(tmp_path, e0s):
    outputs = {s: str(tmp_path / "out" / f"{s}.extxyz") for s in ("train", "test", "val")}
    new = {s: write(tmp_path / f"{s}.extxyz", labelled(2)) for s in ("train", "test", "val")}
    new["train"] = write(tmp_path / "mixed.extxyz", labelled(1) + labelled(1, GFN2))
    with pytest.raises(LevelOfTheoryError) as streamed:
        script("assemble_dataset")(new, {}, e0s, outputs, LOG)
    with pytest.raises(LevelOfTheoryError) as in_memory:
        merge_labelled({new["train"]: read_all(new["train"])}, e0s_reference(e0s), e0s_elements(e0s))
    assert str(streamed.value) == str(in_memory.value)
    assert str(streamed.value).startswith(
        f"refusing to mix levels of theory in one data set: the isolated-atom energies {e0s} is {level_of_theory_hash(GFN1)}"
    )
    assert f"frame 1 of {new['train']} is {level_of_theory_hash(GFN2)}" in str(streamed.value)
    assert not Path(outputs["train"]).exists()
    new["train"] = write(tmp_path / "water.extxyz", labelled(2) + labelled(1, symbols="H2O"))
    with pytest.raises(ValueError, match=r"^frame 2 of .*water.extxyz \(frame_index 0\) has \['H'\], which the isolated-atom"):
        script("assemble_dataset")(new, {}, e0s, outputs, LOG)


def in_memory_errors(frames, prefix):
    """The error metrics as evaluate_model computed them with every frame in memory (one concatenated array each)."""
    de = np.array([(a.info[f"{prefix}_energy"] - a.info["REF_energy"]) / len(a) for a in frames]) * 1000
    df = np.concatenate([(a.arrays[f"{prefix}_forces"] - a.arrays["REF_forces"]).ravel() for a in frames]) * 1000
    ds = np.concatenate([(a.info[f"{prefix}_stress"] - a.info["REF_stress"]) / GPa for a in frames])
    return {f"{q}_{m}": f(x) for q, x in (("energy", de), ("force", df), ("stress", ds))
            for m, f in (("mae", lambda x: np.mean(np.abs(x))), ("rmse", lambda x: np.sqrt(np.mean(x**2))))}  # fmt: skip


def test_evaluate_model_streams_the_in_memory_errors_and_predictions(tmp_path):
    splits = {s: write(tmp_path / f"{s}.extxyz", labelled(n, seed=k)) for k, (s, n) in enumerate((("train", 5), ("val", 3), ("test", 4), ("final_test", 2)))}  # fmt: skip
    main = script("evaluate_model")
    calculator = LennardJones(sigma=1.5, epsilon=0.01, rc=3.0)
    main.__globals__["load_model"] = lambda model, dtype, device: calculator
    out = {"table": str(tmp_path / "evaluation.csv"), "predictions": str(tmp_path / "test_predictions.extxyz")}
    main("member_0/mace.model", splits, **out, domain="syn", iteration=1, member=0, dtype="float64", device="cpu",
         cost={"n_calls": 2, "warmup": 1}, fit_bounds={"energy_meV_atom": 1e9, "force_meV_A": 1e9}, log=LOG)  # fmt: skip
    table = pd.read_csv(out["table"]).set_index("split")
    for split, path in splits.items():
        frames = read_all(path)
        for atoms in frames:  # the in-memory way: predict on copies, keys under mace0_*
            a = atoms.copy()
            a.calc = calculator
            atoms.info["mace0_energy"] = float(a.get_potential_energy())
            atoms.arrays["mace0_forces"] = np.array(a.get_forces())
            atoms.info["mace0_stress"] = np.array(a.get_stress(voigt=True))
        reference = in_memory_errors(frames, "mace0")
        row = table.loc[split]
        assert row.n_frames == len(frames)
        for key, unit in (("energy", "meV_atom"), ("force", "meV_A"), ("stress", "GPa")):
            for m in ("mae", "rmse"):
                assert row[f"{key}_{m}_{unit}"] == pytest.approx(reference[f"{key}_{m}"], rel=1e-12, abs=1e-12)
        if split == "test":
            ase.io.write(tmp_path / "reference.extxyz", frames, format="extxyz")
            assert Path(out["predictions"]).read_bytes() == (tmp_path / "reference.extxyz").read_bytes()
    assert (table.cost_n_atoms == 3).all() and (table.cost_us_per_atom_call > 0).all()
    assert table.fit_flag.isna().all()


def test_error_sums_of_no_frames_and_frames_without_stress():
    assert all(np.isnan(v) for k, v in error_metrics([], "m").items() if k != "n_frames")
    a = Atoms("H2", positions=[[0, 0, 0], [0, 0, 1]])
    a.info.update(REF_energy=1.0, m_energy=1.3)
    a.arrays.update(REF_forces=np.zeros((2, 3)), m_forces=np.full((2, 3), 0.1))
    sums = ErrorSums("m")
    assert list(sums.scored([a, a])) == [a, a]
    m = sums.metrics()
    assert (
        m["n_frames"] == 2 and m["energy_mae_meV_atom"] == pytest.approx(150.0) and m["force_rmse_meV_A"] == pytest.approx(100.0)
    )
    assert np.isnan(m["stress_mae_GPa"]) and np.isnan(m["stress_rmse_GPa"])


def test_stream_memory_benchmark_runs_at_toy_size(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("stream_memory", ROOT / "benchmarks" / "stream_memory.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    bench.main(["--sizes", "10", "30", "--tasks", "merge", "assemble", "evaluate", "--workdir", str(tmp_path)])
    out = capsys.readouterr().out
    assert out.count("peak RSS") == 7  # six runs and the summary
    assert "peak RSS at 30 frames / at 10 frames (3x the frames)" in out and "  evaluate " in out
    assert list(tmp_path.iterdir()) == []
