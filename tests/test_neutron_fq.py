"""The neutron F(Q) of periodic cells on their reciprocal lattice, and its comparison with measured silica."""

import numpy as np
import pytest
from ase import Atoms

from amlip.properties.reference import read_mint01
from amlip.properties.scattering import NEUTRON_B_FM, fq_r_factor, neutron_fq_kspace, peak_position

NIMROD = "resources/reference/SiO2_NIMROD.mint01"


def test_simple_cubic_crystal_by_hand():
    """3x3x3 simple cubic Si (a = 3 Å): the |k| = 2 pi / a bin holds 15 vectors of the supercell's
    reciprocal lattice (half space), 3 Bragg vectors with F = (N - 1) b^2 and 12 others with
    F = -b^2 (sum_j exp(i k r_j) = 0), so the bin's mean is (3 * 26 - 12) / 15 b^2 = 4.4 b^2."""
    a = 3.0
    grid = np.array([(i, j, k) for i in range(3) for j in range(3) for k in range(3)], float) * a
    crystal = Atoms(["Si"] * 27, positions=grid, cell=[3 * a] * 3, pbc=True)
    q, f, n = neutron_fq_kspace([crystal], q_max=3.0, dq=0.05)
    at = np.argmin(abs(q - 2 * np.pi / a))
    assert n[at] == 15
    assert f[at] == pytest.approx(4.4 * NEUTRON_B_FM["Si"] ** 2 / 100, rel=1e-9)
    # the bins below the next Bragg length (2 pi sqrt(2) / a = 2.96 1/Å) hold none: F = -b^2 exactly
    others = np.delete(f, at)[np.delete(q, at) < 2.9]
    assert np.allclose(others, -(NEUTRON_B_FM["Si"] ** 2) / 100)


def test_ideal_gas_has_no_structure():
    rng = np.random.default_rng(3)
    gas = [Atoms(["Si", "O", "O"] * 100, positions=rng.uniform(0, 15, (300, 3)), cell=[15] * 3, pbc=True) for _ in range(3)]
    q, f, _ = neutron_fq_kspace(gas, q_max=8.0, dq=0.1)
    assert abs(f[q > 2].mean()) < 0.005  # barns; the FSDP of silica is 0.12
    assert np.sqrt(np.mean(f[q > 2] ** 2)) < 0.03  # noise only


def test_r_factor_and_peak_position_by_hand():
    q = np.linspace(0.5, 16, 311)
    f = np.exp(-((q - 1.5) ** 2) / 0.02)
    assert fq_r_factor(q, f, q, f, 0.5, 16) == 0.0
    assert fq_r_factor(q, 1.1 * f, q, f, 0.5, 16) == pytest.approx(0.1)
    assert peak_position(q, f, 1.0, 2.2) == pytest.approx(1.5, abs=0.03)
    with pytest.raises(ValueError, match="not the whole 0.1-16 1/Å range"):
        fq_r_factor(q, f, np.linspace(0.1, 16, 50), np.ones(50), 0.1, 16)


def test_measured_silica_file_and_its_first_sharp_diffraction_peak(root):
    q, f, err = read_mint01(root / NIMROD)
    assert q[0] == pytest.approx(0.025) and q[-1] == pytest.approx(49.925) and len(q) == 999
    assert f[0] == pytest.approx(-0.2555595)  # F(Q -> 0) -> -<b>^2 ~ -0.25 b measured (README)
    assert peak_position(q, f, 1.0, 2.2) == pytest.approx(1.48, abs=0.03)  # the README's FSDP
    assert f[np.argmin(abs(q - 1.475))] == pytest.approx(0.121, abs=0.005)


def test_read_mint01_names_a_bad_line(tmp_path):
    bad = tmp_path / "x.mint01"
    bad.write_text("# header\n  0.1 0.2 0.3\n  0.2 zero 0.1\n")
    with pytest.raises(ValueError, match="x.mint01 line 3"):
        read_mint01(bad)
