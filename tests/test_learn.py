import numpy as np
import pytest

from amlip.learn import band_candidates, committee_force_deviation, convergence_decision


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
    with pytest.raises(ValueError, match="low < high"):
        band_candidates(sigmas, 0.3, 0.1)


def test_convergence_decision():
    frac, done, why = convergence_decision([0.01, 0.02, 0.03, 0.1], 0.06, 0.5, 1, 3)
    assert frac == 0.25 and done and why.startswith("converged")
    frac, done, why = convergence_decision([0.1, 0.2], 0.06, 0.5, 1, 3)
    assert frac == 1.0 and not done
    frac, done, why = convergence_decision([0.1, 0.2], 0.06, 0.5, 3, 3)
    assert done and "last configured iteration" in why
