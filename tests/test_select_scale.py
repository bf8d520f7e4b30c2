"""The paper-scale paths on small inputs: two-pass streaming flat histogram, batched SOAP,
and the benchmark scripts at toy sizes."""

import importlib.util

import numpy as np
import pytest
from ase import Atoms

from amlip.io.extxyz_index import extract_frame_sets, extract_frames, scan_extxyz
from amlip.io.frames import read_frames, write_frames
from amlip.selection.provenance import selection_info
from amlip.selection.soap import soap_descriptors
from amlip.selection.split import energies_per_atom, flat_histogram_assign, flat_histogram_split
from amlip.structures.crystals import build_crystal


def trajectory(n=120, seed=0):
    """Frames of different sizes with skewed energies and forces, as an MD trajectory."""
    rng = np.random.default_rng(seed)
    frames = []
    for k in range(n):
        n_atoms = int(rng.integers(1, 7))
        a = Atoms("Si" * n_atoms, positions=rng.random((n_atoms, 3)) * 5, cell=[5, 5, 5], pbc=True)
        a.info["REF_energy"] = float(n_atoms * (-5 + rng.gamma(1.2)))
        a.info["step"] = k
        a.arrays["REF_forces"] = rng.normal(size=(n_atoms, 3))
        frames.append(a)
    return frames


@pytest.fixture
def traj_file(tmp_path):
    path = tmp_path / "traj.extxyz"
    write_frames(path, trajectory())
    return path


@pytest.mark.parametrize("chunk_bytes", [1, 97, 1 << 20])
def test_scan_gives_the_energies_per_atom_of_the_frames(traj_file, chunk_bytes):
    frames = read_frames(traj_file)
    index = scan_extxyz(traj_file, chunk_bytes=chunk_bytes)
    assert len(index) == len(frames)
    np.testing.assert_array_equal(index.n_atoms, [len(a) for a in frames])
    np.testing.assert_array_equal(index.energies_per_atom, energies_per_atom(frames))
    assert index.end[-1] == traj_file.stat().st_size


def test_scan_copes_with_blank_lines_and_a_missing_last_line_end(tmp_path, traj_file):
    text = traj_file.read_text()
    odd = tmp_path / "odd.extxyz"
    odd.write_text(text.rstrip("\n"))
    assert len(scan_extxyz(odd, chunk_bytes=64)) == 120
    odd.write_text(text + "\n\n")
    assert len(scan_extxyz(odd, chunk_bytes=64)) == 120
    odd.write_text("")
    assert len(scan_extxyz(odd)) == 0


def test_scan_errors_name_the_frame(tmp_path, traj_file):
    lines = traj_file.read_text().splitlines(keepends=True)
    bad = tmp_path / "bad.extxyz"
    bad.write_text("".join(lines[:-1]))
    with pytest.raises(ValueError, match="ends inside frame 119"):
        scan_extxyz(bad)
    with pytest.raises(ValueError, match="frame 0 has no 'DFT_energy='"):
        scan_extxyz(traj_file, energy_key="DFT_energy")
    bad.write_text("hello\n" + "".join(lines))
    with pytest.raises(ValueError, match="frame 0 .* not an atom count"):
        scan_extxyz(bad)


def test_two_pass_selection_equals_the_in_memory_one_and_writes_those_frames(tmp_path, traj_file):
    frames = read_frames(traj_file)
    expected = flat_histogram_split(energies_per_atom(frames), 30, 10, seed=4)
    index = scan_extxyz(traj_file, chunk_bytes=256)
    split = flat_histogram_assign(index.energies_per_atom, 30, 10, seed=4)
    for got, want in zip((split.train, split.test, split.val), expected):
        np.testing.assert_array_equal(got, want)
    assert len(split.train) < 30  # skewed energies leave empty bins
    out = {name: tmp_path / f"{name}.extxyz" for name in ("train", "test", "val")}
    counts = extract_frame_sets(
        index,
        {
            out["train"]: (split.train, selection_info("flat_histogram", 3, prefix="split", bin=split.train_bins, split="train")),
            out["test"]: (split.test, selection_info("flat_histogram", 3, prefix="split", bin=split.test_bins, split="test")),
            out["val"]: (split.val, selection_info("flat_histogram", 3, prefix="split", split="val")),
        },
    )
    assert counts == {str(out["train"]): len(split.train), str(out["test"]): len(split.test), str(out["val"]): len(split.val)}
    for name, indices in (("train", split.train), ("test", split.test), ("val", split.val)):
        written = read_frames(out[name])
        assert [a.info["step"] for a in written] == indices.tolist()
        for a, k in zip(written, indices):
            np.testing.assert_array_equal(a.positions, frames[k].positions)
            np.testing.assert_array_equal(a.arrays["REF_forces"], frames[k].arrays["REF_forces"])
            assert a.info["REF_energy"] == frames[k].info["REF_energy"]
            assert a.info["split"] == name and a.info["split_iteration"] == 3
    train = read_frames(out["train"])
    assert [a.info["split_bin"] for a in train] == split.train_bins.tolist()


def test_extraction_replaces_old_provenance_and_refuses_overlaps(tmp_path, traj_file):
    index = scan_extxyz(traj_file)
    once, twice = tmp_path / "once.extxyz", tmp_path / "twice.extxyz"
    extract_frames(index, [5, 7], once, {"split": "train"})
    extract_frames(scan_extxyz(once), [0, 1], twice, {"split": "test"})
    assert [a.info["split"] for a in read_frames(twice)] == ["test", "test"]
    assert "split=train" not in twice.read_text()
    with pytest.raises(ValueError, match="selected twice"):
        extract_frame_sets(index, {tmp_path / "a.extxyz": ([1, 2], None), tmp_path / "b.extxyz": ([2], None)})
    with pytest.raises(ValueError, match="plain word"):
        extract_frames(index, [1], tmp_path / "c.extxyz", {"split_method": "flat histogram"})


def test_batched_streamed_soap_equals_one_batch():
    base = build_crystal("alpha_quartz")
    rng = np.random.default_rng(0)
    frames = []
    for _ in range(7):
        a = base.copy()
        a.positions += rng.normal(scale=0.1, size=a.positions.shape)
        frames.append(a)
    soap = dict(r_cut=4.0, n_max=3, l_max=2, species=["O", "Si"])
    whole = soap_descriptors(frames, **soap)
    batched = soap_descriptors(iter(frames), batch_size=3, dtype=np.float32, **soap)
    assert batched.dtype == np.float32 and batched.shape == whole.shape == (7, whole.shape[1])
    np.testing.assert_allclose(batched, whole, rtol=1e-5, atol=1e-6 * np.abs(whole).max())
    with pytest.raises(ValueError, match="species="):
        soap_descriptors(iter(frames), r_cut=4.0, n_max=3, l_max=2)


def load_benchmark(root, name):
    spec = importlib.util.spec_from_file_location(name, root / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_flat_histogram_benchmark_runs_at_toy_size(root, tmp_path, capsys):
    bench = load_benchmark(root, "flat_histogram_scale")
    bench.main(
        ["--n-frames", "300", "--n-atoms", "6", "--n-train", "40", "--n-test", "10", "--with-val", "--workdir", str(tmp_path)]
    )
    out = capsys.readouterr().out
    assert "extracted train frames are the selected ones: True" in out
    assert "frames/s" in out and "peak RSS" in out
    assert list(tmp_path.iterdir()) == []  # cleaned up


def test_soap_benchmark_runs_at_toy_size(root, capsys):
    bench = load_benchmark(root, "soap_kmeans_scale")
    bench.main(
        [
            "--n-structures",
            "12",
            "--n-select",
            "3",
            "--serial-sample",
            "4",
            "--batch-size",
            "5",
            "--n-jobs",
            "1",
            "--supercell",
            "1",
            "1",
            "1",
            "--r-cut",
            "3.5",
            "--n-max",
            "2",
            "--l-max",
            "1",
        ]
    )
    out = capsys.readouterr().out
    assert "batched rows equal the single-core ones: True" in out
    assert "3 frames picked" in out
