import numpy as np
import pytest
from ase import Atoms

from amlip.io.frames import read_frames, write_frames
from amlip.plots import plot_energy_selection, plot_soap_map
from amlip.selection.candidates import select_diverse
from amlip.selection.provenance import selection_info, stamp_selection
from amlip.selection.soap import farthest_point_sampling, kmeans_closest, soap_descriptors, soap_fps, soap_kmeans, soap_map_table
from amlip.selection.split import (
    energies_per_atom,
    energy_selection_table,
    flat_histogram_assign,
    flat_histogram_split,
    max_force_filter,
    max_force_norms,
    random_selection,
    random_split,
    split_extxyz,
)
from amlip.structures.crystals import build_crystal


def test_flat_histogram_uniform_energies_fill_every_bin():
    energies = np.arange(100) / 100.0
    train, test, val = flat_histogram_split(energies, 10, 5, seed=0)
    assert len(train) == 10 and len(test) == 5 and len(val) == 85
    # one frame per tenth of the energy range
    assert sorted(np.floor(energies[train] * 10).astype(int)) == list(range(10))


def test_flat_histogram_empty_bins_give_fewer_frames():
    energies = np.concatenate([np.linspace(0.0, 0.05, 50), np.linspace(0.95, 1.0, 50)])
    train, test, val = flat_histogram_split(energies, 10, 4, seed=1)
    assert len(train) == 2  # only the first and the last of 10 bins hold frames
    assert len(test) == 2
    assert len(val) == 96


def test_flat_histogram_partitions_and_is_reproducible():
    rng = np.random.default_rng(7)
    energies = rng.normal(size=500)
    a = flat_histogram_split(energies, 50, 20, seed=3)
    b = flat_histogram_split(energies, 50, 20, seed=3)
    c = flat_histogram_split(energies, 50, 20, seed=4)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a[0], c[0])
    train, test, val = a
    everything = np.concatenate([train, test, val])
    assert len(everything) == 500 and len(np.unique(everything)) == 500
    assert len(train) <= 50 and len(test) <= 20


def test_random_split_counts():
    train, test, val = random_split(10, 6, 3, seed=0)
    assert (len(train), len(test), len(val)) == (6, 3, 1)
    assert len(np.unique(np.concatenate([train, test, val]))) == 10


def test_max_force_filter_drops_frames_above_bound():
    frames = []
    for fmax in (0.5, 2.0, 1.0, 3.5):
        a = Atoms("H2", positions=[[0, 0, 0], [0, 0, 1]])
        a.arrays["REF_forces"] = np.array([[fmax, 0, 0], [0, 0, 0.1]])
        frames.append(a)
    np.testing.assert_array_equal(max_force_filter(frames, 1.0), [0, 2])


def test_kmeans_closest_one_per_group():
    rng = np.random.default_rng(0)
    centres = np.array([[0, 0], [10, 0], [0, 10]])
    features = np.concatenate([c + 0.1 * rng.normal(size=(20, 2)) for c in centres])
    picked, _ = kmeans_closest(features, 3, seed=0)
    assert sorted(p // 20 for p in picked) == [0, 1, 2]


def test_soap_kmeans_picks_one_frame_per_structure_family():
    families = [
        build_crystal("alpha_quartz"),
        build_crystal("beta_cristobalite"),
        build_crystal("alpha_quartz").repeat((1, 1, 1)),
    ]
    families[2].set_cell(families[2].cell * 1.25, scale_atoms=True)  # expanded quartz: a third family
    rng = np.random.default_rng(1)
    frames = []
    for base in families:
        for _ in range(4):
            a = base.copy()
            a.positions += rng.normal(scale=0.01, size=a.positions.shape)
            frames.append(a)
    picked = soap_kmeans(frames, 3, r_cut=4.0, n_max=4, l_max=2, seed=0)
    assert sorted(p // 4 for p in picked) == [0, 1, 2]


def test_flat_histogram_bins_are_the_energy_bins_frames_came_from():
    energies = np.arange(100) / 100.0
    split = flat_histogram_assign(energies, 10, 5, seed=2)
    np.testing.assert_array_equal(split.train_bins, np.floor(energies[split.train] * 10).astype(int))
    assert len(split.test_bins) == len(split.test) == 5
    parts = np.concatenate([split.train, split.test, split.val])
    assert sorted(parts) == list(range(100))


def test_flat_histogram_refuses_nan_energies_naming_the_frame():
    with pytest.raises(ValueError, match=r"\[2\]"):
        flat_histogram_split([0.0, 1.0, np.nan, 2.0], 2, 1)


def test_random_selection_is_distinct_and_capped():
    picked = random_selection(50, 20, seed=1)
    assert len(np.unique(picked)) == 20 and picked.max() < 50
    np.testing.assert_array_equal(picked, random_selection(50, 20, seed=1))
    assert len(random_selection(5, 20)) == 5


def test_max_force_norms_by_hand():
    a = Atoms("H2", positions=[[0, 0, 0], [0, 0, 1]])
    a.arrays["REF_forces"] = np.array([[3.0, 4.0, 0.0], [0.0, 0.0, 1.0]])
    np.testing.assert_allclose(max_force_norms([a]), [5.0])
    np.testing.assert_array_equal(max_force_filter([a], 5.0), [0])
    assert len(max_force_filter([a], 4.99)) == 0


def test_kmeans_closest_minibatch_one_per_group():
    rng = np.random.default_rng(0)
    centres = np.array([[0, 0], [10, 0], [0, 10], [10, 10]])
    features = np.concatenate([c + 0.1 * rng.normal(size=(50, 2)) for c in centres])
    picked, clusters = kmeans_closest(features, 4, seed=0, minibatch=True)
    assert sorted(p // 50 for p in picked) == [0, 1, 2, 3]
    assert sorted(clusters) == [0, 1, 2, 3]


def test_farthest_point_sampling_one_per_group_and_ranked():
    rng = np.random.default_rng(3)
    centres = np.array([[0, 0], [10, 0], [0, 10]])
    features = np.concatenate([c + 0.1 * rng.normal(size=(20, 2)) for c in centres])
    order = farthest_point_sampling(features, 3, seed=5)
    assert sorted(p // 20 for p in order) == [0, 1, 2]
    # a 4th pick cannot repeat one and the order is reproducible
    four = farthest_point_sampling(features, 4, seed=5)
    assert len(set(four)) == 4
    np.testing.assert_array_equal(four[:3], order)


def families_of_silica(n_per_family=4):
    families = [build_crystal("alpha_quartz"), build_crystal("beta_cristobalite"), build_crystal("alpha_quartz")]
    families[2].set_cell(families[2].cell * 1.25, scale_atoms=True)
    rng = np.random.default_rng(1)
    frames = []
    for base in families:
        for _ in range(n_per_family):
            a = base.copy()
            a.positions += rng.normal(scale=0.01, size=a.positions.shape)
            frames.append(a)
    return frames


SMALL_SOAP = dict(r_cut=4.0, n_max=4, l_max=2)


def test_soap_fps_picks_one_frame_per_structure_family():
    picked = soap_fps(families_of_silica(), 3, seed=0, **SMALL_SOAP)
    assert sorted(p // 4 for p in picked) == [0, 1, 2]


def test_soap_centres_restrict_the_environments():
    frames = families_of_silica(1)
    every = soap_descriptors(frames, **SMALL_SOAP)
    si_only = soap_descriptors(frames, centers=["Si"], **SMALL_SOAP)
    assert every.shape == si_only.shape
    assert not np.allclose(every, si_only)
    with pytest.raises(ValueError, match="no atoms of the SOAP centres"):
        soap_descriptors(frames, centers=["Na"], species=["Na", "O", "Si"], **SMALL_SOAP)


@pytest.mark.parametrize("method, field", [("soap_kmeans", "cluster"), ("soap_fps", "rank"), ("random", None)])
def test_select_diverse_returns_provenance_fields(method, field):
    picked, fields = select_diverse(families_of_silica(), 3, method, seed=0, soap=SMALL_SOAP)
    assert len(picked) == 3 and list(picked) == sorted(picked)
    if field is None:
        assert fields == {}
    else:
        assert sorted(fields[field]) == [0, 1, 2]
    if method != "random":
        assert sorted(p // 4 for p in picked) == [0, 1, 2]


def test_select_diverse_names_the_config_key_for_an_unknown_method():
    with pytest.raises(ValueError, match="select.method"):
        select_diverse(families_of_silica(1), 2, "kmedoids")


def test_stamp_selection_writes_every_key_and_survives_extxyz(tmp_path):
    frames = [Atoms("H", positions=[[0, 0, 0]]) for _ in range(3)]
    info = selection_info(
        "committee_band+soap_kmeans",
        2,
        cluster=np.array([4, 0, 7]),
        pool_index=np.array([10, 11, 12]),
        committee_sigma_max=np.array([0.1, 0.2, 0.3]),
    )
    assert set(info) == {"selection_method", "selection_iteration", "selection_cluster", "pool_index", "committee_sigma_max"}
    stamp_selection(frames, info)
    write_frames(tmp_path / "p.extxyz", frames)
    back = read_frames(tmp_path / "p.extxyz")
    assert [a.info["selection_cluster"] for a in back] == [4, 0, 7]
    assert [a.info["selection_method"] for a in back] == ["committee_band+soap_kmeans"] * 3
    assert [a.info["selection_iteration"] for a in back] == [2, 2, 2]
    np.testing.assert_allclose([a.info["committee_sigma_max"] for a in back], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="2 values for 3 frames"):
        stamp_selection(frames, {"selection_bin": [1, 2]})


def labelled_frames(n=40, seed=0):
    rng = np.random.default_rng(seed)
    frames = []
    for k in range(n):
        a = Atoms("SiO2", positions=rng.random((3, 3)) * 3, cell=[4, 4, 4], pbc=True)
        a.info["REF_energy"] = float(-20 + rng.gamma(1.5))
        a.info["selection_method"] = "committee_band+soap_kmeans"
        a.arrays["REF_forces"] = rng.normal(size=(3, 3)) * (0.5 if k % 4 else 5.0)
        frames.append(a)
    return frames


def test_split_extxyz_writes_the_flat_histogram_split_with_provenance(tmp_path):
    write_frames(tmp_path / "labelled.extxyz", labelled_frames())
    frames = read_frames(tmp_path / "labelled.extxyz")  # as written: extxyz rounds the forces
    outputs = {s: tmp_path / f"{s}.extxyz" for s in ("train", "test", "val")}
    table = split_extxyz(tmp_path / "labelled.extxyz", outputs, 0.5, 0.25, seed=3, iteration=1)
    train, test, val = flat_histogram_split(energies_per_atom(frames), 20, 10, seed=3)
    for name, expected in (("train", train), ("test", test), ("val", val)):
        np.testing.assert_array_equal(table.frame_index[table.split == name], expected)
        written = read_frames(outputs[name])
        assert len(written) == len(expected)
        for atoms, k in zip(written, expected):
            assert atoms.info["REF_energy"] == frames[k].info["REF_energy"]
            np.testing.assert_array_equal(atoms.arrays["REF_forces"], frames[k].arrays["REF_forces"])
            assert atoms.info["split"] == name and atoms.info["split_method"] == "flat_histogram"
            assert atoms.info["split_iteration"] == 1
            # the active-learning provenance is kept, not overwritten
            assert atoms.info["selection_method"] == "committee_band+soap_kmeans"
            assert ("split_bin" in atoms.info) == (name != "val")
    assert (table.bin[table.split == "val"] == -1).all()


def test_random_split_gives_exactly_the_requested_fractions(tmp_path):
    """40 frames, 0.7 / 0.15: 28 train, 6 test, 6 validation, as random_split draws them (the flat
    histogram of gamma-distributed energies leaves bins empty and gives fewer training frames)."""
    write_frames(tmp_path / "labelled.extxyz", labelled_frames())
    outputs = {s: tmp_path / f"{s}.extxyz" for s in ("train", "test", "val")}
    table = split_extxyz(tmp_path / "labelled.extxyz", outputs, 0.7, 0.15, seed=3, iteration=2, method="random")
    train, test, val = random_split(40, 28, 6, seed=3)
    for name, expected in (("train", train), ("test", test), ("val", val)):
        np.testing.assert_array_equal(table.frame_index[table.split == name], expected)
        written = read_frames(outputs[name])
        assert len(written) == len(expected)
        assert all(a.info["split_method"] == "random" and "split_bin" not in a.info for a in written)
    flat = split_extxyz(tmp_path / "labelled.extxyz", outputs, 0.7, 0.15, seed=3)
    assert (flat.split == "train").sum() < 28
    with pytest.raises(ValueError, match="select.split_method 'kmeans'"):
        split_extxyz(tmp_path / "labelled.extxyz", outputs, 0.7, 0.15, method="kmeans")


def test_split_extxyz_force_filter_drops_exactly_the_frames_above_the_bound(tmp_path):
    write_frames(tmp_path / "labelled.extxyz", labelled_frames())
    frames = read_frames(tmp_path / "labelled.extxyz")
    outputs = {s: tmp_path / f"{s}.extxyz" for s in ("train", "test", "val")}
    table = split_extxyz(tmp_path / "labelled.extxyz", outputs, 0.5, 0.25, seed=3, max_force_eV_A=3.0)
    fmax = max_force_norms(frames)
    np.testing.assert_array_equal(table.frame_index[table.split == "dropped"], np.flatnonzero(fmax > 3.0))
    np.testing.assert_allclose(table.max_force_eV_A, fmax)
    kept = sum(len(read_frames(p)) for p in outputs.values())
    assert kept == int((fmax <= 3.0).sum()) and kept < len(frames)


def test_energy_selection_plot_writes_png_and_counts(tmp_path):
    frames = labelled_frames(60)
    write_frames(tmp_path / "labelled.extxyz", frames)
    outputs = {s: tmp_path / f"{s}.extxyz" for s in ("train", "test", "val")}
    split = split_extxyz(tmp_path / "labelled.extxyz", outputs, 0.3, 0.1, seed=0)
    table = energy_selection_table(tmp_path / "labelled.extxyz", split, seed=0, n_bins=10)
    assert table.pool.sum() == 60
    assert table.flat_histogram.sum() == table.random.sum() == (split.split == "train").sum()
    # gamma-distributed energies crowd the low bins; the flat histogram reaches the hot tail
    upper = table.bin_low_eV_atom >= table.bin_low_eV_atom.median()
    assert table.flat_histogram[upper].sum() / table.flat_histogram.sum() > table.pool[upper].sum() / table.pool.sum()
    plot_energy_selection(table, tmp_path / "e.png")
    assert (tmp_path / "e.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="rerun the split"):
        energy_selection_table(tmp_path / "labelled.extxyz", split.iloc[:10], seed=0)


def test_soap_map_marks_the_picked_frames_and_writes_png(tmp_path):
    pool = families_of_silica(3)
    for k, a in enumerate(pool):
        a.info["committee_sigma_max"] = 0.01 * k
    picked = [pool[k].copy() for k in (1, 4, 8)]
    for k, a in zip((1, 4, 8), picked):
        a.info["pool_index"] = k
    table = soap_map_table(pool, picked, "pca", soap=SMALL_SOAP)
    assert list(np.flatnonzero(table.picked)) == [1, 4, 8]
    np.testing.assert_allclose(table.sigma_max_eV_A, 0.01 * np.arange(9))
    # three families -> PCA separates them: frames of one family sit together
    spread_within = max(np.ptp(table.x[3 * f : 3 * f + 3]) for f in range(3))
    assert spread_within < 0.1 * np.ptp(table.x)
    plot_soap_map(table[["x", "y"]].to_numpy(), table.picked, tmp_path / "m.png", color=table.sigma_max_eV_A)
    assert (tmp_path / "m.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(KeyError, match="pool_index"):
        soap_map_table(pool, [pool[0]], "pca", soap=SMALL_SOAP)


def test_split_and_plots_of_an_empty_iteration(tmp_path):
    write_frames(tmp_path / "labelled.extxyz", [])
    outputs = {s: tmp_path / f"{s}.extxyz" for s in ("train", "test", "val")}
    split = split_extxyz(tmp_path / "labelled.extxyz", outputs, 0.7, 0.15)
    assert len(split) == 0 and all(p.read_text() == "" for p in outputs.values())
    plot_energy_selection(energy_selection_table(tmp_path / "labelled.extxyz", split), tmp_path / "e.png")
    assert (tmp_path / "e.png").stat().st_size > 0
