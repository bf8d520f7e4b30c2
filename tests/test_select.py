import numpy as np
import pytest
from ase import Atoms

from amlip.select import flat_histogram_split, kmeans_closest, max_force_filter, random_split, soap_kmeans
from amlip.structures import build_crystal


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
    families = [build_crystal("alpha_quartz"), build_crystal("beta_cristobalite"), build_crystal("alpha_quartz").repeat((1, 1, 1))]
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
