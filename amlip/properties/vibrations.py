"""Vibrations (PROTOCOLS 6): VDOS from the velocity autocorrelation (NS) and IR spectra (AS).

Units: time in fs, frequencies in THz and 1/cm, force constants in eV/Å^2, masses in amu,
Born effective charges in e. 1 THz = 33.35641 1/cm.

IR route of AS: effective harmonic force constants fitted with hiphive (cutoff 4 Å) on
snapshots of low-temperature MD (20 K, Langevin), normal modes with phonopy at Γ of the
simulation cell, mode intensities from Born effective charges, and a 30 1/cm linewidth.
hiphive (``pip install hiphive==1.5``) and phonopy (``pip install phonopy==4.8.6``) are
optional and imported only when used. Born charges come per species from config (e.g. Si +3.2,
O -1.6, placeholders until DFPT values are available) or per atom from a DFT output.
"""

from __future__ import annotations

import logging
from typing import Mapping, Sequence

import numpy as np
from ase import Atoms

log = logging.getLogger(__name__)


def vdos_table(frames: Sequence[Atoms], sample_every_fs: float):
    """Total VDOS and one partial per element (NS) of NVE frames with momenta every ``sample_every_fs`` fs.

    Columns: frequency_THz, frequency_cm1, vdos (unit area over 1/cm), vdos_<element> (on the same
    scale, each element's share of the mass-weighted power, so the partials add up to ``vdos``).
    """
    table = vdos_from_frames(frames, sample_every_fs)
    symbols = np.array(frames[0].get_chemical_symbols())
    masses = frames[0].get_masses()
    v = np.array([a.get_velocities() for a in frames])
    # Partials on the scale of the total: each element's share of the mass-weighted power, over the total area.
    for element in sorted(set(symbols)):
        mask = symbols == element
        table[f"vdos_{element}"] = _unnormalised_vdos(v[:, mask], masses[mask])
    total = sum(table[f"vdos_{e}"] for e in sorted(set(symbols)))
    area = np.trapezoid(total, table.frequency_cm1)
    for element in sorted(set(symbols)):
        table[f"vdos_{element}"] = table[f"vdos_{element}"] / area if area > 0 else 0.0
    return table


def _unnormalised_vdos(v: np.ndarray, masses: np.ndarray) -> np.ndarray:
    """Mass-weighted power spectrum of velocities (n_frames, n_atoms, 3) with the Hann window of vacf_spectrum."""
    w = np.hanning(v.shape[0])
    return np.einsum("fia,i->f", np.abs(np.fft.rfft(v * w[:, None, None], axis=0)) ** 2, masses)


def ir_tables(ideal: Atoms, fc2: np.ndarray, charges, fwhm_cm1: float = 30.0, max_cm1: float = 1500.0, n_peaks: int = 5):
    """IR modes, broadened spectrum and its main peaks (AS), from force constants and Born charges.

    Returns (modes: frequency_cm1, intensity, imaginary; spectrum: frequency_cm1, intensity on a
    1 1/cm grid up to ``max_cm1``; peaks: frequency_cm1, intensity, prominence). Imaginary modes
    (negative frequencies, phonopy's convention) stay in ``modes`` and are left out of the spectrum.
    """
    modes, spectrum = ir_spectrum(ideal, fc2, charges, fwhm_cm1, np.arange(0.0, max_cm1, 1.0))
    modes["imaginary"] = modes.frequency_cm1 < -1.0
    return modes, spectrum, spectrum_peaks(spectrum.frequency_cm1, spectrum.intensity, n_peaks)


THZ_TO_CM1 = 33.35641
# sqrt(eV / Å^2 / amu) / (2 pi) in THz: the frequency of a force-constant eigenvalue.
EV_A2_AMU_TO_THZ = 15.633302


def vacf_spectrum(velocities: np.ndarray, timestep_fs: float, masses: Sequence[float] | None = None, window: bool = True):
    """Vibrational density of states from the mass-weighted velocity autocorrelation.

    ``velocities`` has shape (n_frames, n_atoms, 3) in any unit, one frame every ``timestep_fs``.
    By the Wiener-Khinchin theorem the Fourier transform of the VACF is the power spectrum
    of the velocities, computed here with a Hann window (``window``) against leakage.
    Returns (frequency in THz, frequency in 1/cm, VDOS normalised to unit area over 1/cm).
    """
    v = np.asarray(velocities, dtype=float)
    if v.ndim != 3 or v.shape[0] < 4:
        raise ValueError(f"velocities must have shape (n_frames >= 4, n_atoms, 3), not {v.shape}")
    m = np.ones(v.shape[1]) if masses is None else np.asarray(masses, dtype=float)
    w = np.hanning(v.shape[0]) if window else np.ones(v.shape[0])
    spectrum = np.abs(np.fft.rfft(v * w[:, None, None], axis=0)) ** 2
    dos = np.einsum("fia,i->f", spectrum, m)
    freq_thz = np.fft.rfftfreq(v.shape[0], d=timestep_fs) * 1000.0
    freq_cm = freq_thz * THZ_TO_CM1
    area = np.trapezoid(dos, freq_cm)
    return freq_thz, freq_cm, dos / area if area > 0 else dos


def vdos_from_frames(frames: Sequence[Atoms], timestep_fs: float, species: str | None = None):
    """VDOS of a trajectory whose frames carry velocities, every ``timestep_fs`` fs.

    ``species`` restricts it to one element (partial VDOS). Returns a DataFrame with
    ``frequency_THz``, ``frequency_cm1`` and ``vdos`` (per 1/cm).
    """
    import pandas as pd

    if any(a.get_velocities() is None for a in frames):
        raise ValueError("every frame needs velocities (write the MD trajectory with momenta)")
    mask = np.ones(len(frames[0]), dtype=bool)
    if species:
        mask = np.array(frames[0].get_chemical_symbols()) == species
        if not mask.any():
            raise ValueError(f"no '{species}' atoms in the trajectory")
    v = np.array([a.get_velocities()[mask] for a in frames])
    thz, cm, dos = vacf_spectrum(v, timestep_fs, frames[0].get_masses()[mask])
    return pd.DataFrame({"frequency_THz": thz, "frequency_cm1": cm, "vdos": dos})


def shift_off_cell_boundary(atoms: Atoms) -> np.ndarray:
    """Cartesian shift (Å) that moves every atom away from the cell faces.

    hiphive fails with ``ValueError: (0, n) is not in list`` when an atom sits on a cell
    boundary (FACTS): shift the ideal structure and every snapshot by this vector and wrap.
    Per axis the shift puts the cell face in the middle of the widest gap between atoms.
    """
    frac = atoms.get_scaled_positions(wrap=True)
    shift = np.zeros(3)
    for axis in range(3):
        x = np.sort(frac[:, axis])
        gaps = np.diff(np.concatenate([x, [x[0] + 1.0]]))
        k = int(np.argmax(gaps))
        middle = x[k] + gaps[k] / 2
        shift[axis] = 1.0 - middle % 1.0
    return shift @ atoms.cell.array


def fit_force_constants(
    ideal: Atoms, snapshots: Sequence[Atoms], cutoff: float = 4.0, fit_method: str = "least-squares", seed: int = 0
):
    """Second-order force constants (eV/Å^2, shape (N, N, 3, 3)) fitted with hiphive on MD snapshots.

    ``ideal`` is the reference structure (the relaxed glass; for crystals a supercell built with
    phonopy, not ``Atoms.repeat``, FACTS); each snapshot has the same atoms in the same order and
    forces (a calculator or ``REF_forces``). Returns (fc2, fit info dict with the R^2 test score).
    """
    try:
        from hiphive import ClusterSpace, ForceConstantPotential, StructureContainer
        from hiphive.utilities import prepare_structures
        from trainstation import Optimizer
    except ImportError as err:
        raise ImportError("fit_force_constants needs hiphive: pip install hiphive==1.5") from err
    from ase.calculators.singlepoint import SinglePointCalculator

    shift = shift_off_cell_boundary(ideal)
    reference = ideal.copy()
    reference.positions += shift
    reference.wrap()
    prepared = []
    for k, snap in enumerate(snapshots):
        if len(snap) != len(ideal):
            raise ValueError(f"snapshot {k} has {len(snap)} atoms, the ideal structure {len(ideal)}")
        forces = snap.arrays["REF_forces"] if "REF_forces" in snap.arrays else snap.get_forces()
        moved = snap.copy()
        moved.positions += shift
        moved.wrap()
        moved.calc = SinglePointCalculator(moved, forces=forces)
        prepared.append(moved)
    cs = ClusterSpace(reference, [cutoff])
    sc = StructureContainer(cs)
    # the snapshots come from MD of the ideal structure's atoms in its order: no permutation to search
    # for (hiphive's search fails with "Duplicates in permutation" once an atom moved far)
    for s in prepare_structures(prepared, reference, check_permutation=False):
        sc.add_structure(s)
    opt = Optimizer(sc.get_fit_data(), fit_method=fit_method, seed=seed)
    opt.train()
    fcp = ForceConstantPotential(cs, opt.parameters)
    fc2 = fcp.get_force_constants(reference).get_fc_array(order=2)
    info = {
        "n_parameters": int(cs.n_dofs),
        "rmse_test_eV_A": float(opt.rmse_test),
        "r2_test": float(opt.summary.get("R2_test", np.nan)),
    }
    return fc2, info


def gamma_modes(atoms: Atoms, fc2: np.ndarray):
    """Normal modes at Γ of the cell with phonopy: (frequencies in THz, shape 3N; eigenvectors (3N, 3N), column k = mode k).

    Eigenvectors are those of the dynamical matrix (mass-weighted), component 3 i + alpha.
    Imaginary modes come back as negative frequencies (phonopy's convention).
    """
    try:
        from phonopy import Phonopy
        from phonopy.structure.atoms import PhonopyAtoms
    except ImportError as err:
        raise ImportError("gamma_modes needs phonopy: pip install phonopy==4.8.6") from err
    unit = PhonopyAtoms(
        symbols=atoms.get_chemical_symbols(),
        cell=atoms.cell.array,
        scaled_positions=atoms.get_scaled_positions(wrap=True),
        masses=atoms.get_masses(),
    )
    phonon = Phonopy(unit, supercell_matrix=np.eye(3, dtype=int), primitive_matrix="P")
    phonon.force_constants = fc2
    phonon.run_qpoints([[0.0, 0.0, 0.0]], with_eigenvectors=True)
    result = phonon.get_qpoints_dict()
    return np.asarray(result["frequencies"][0]), np.asarray(result["eigenvectors"][0])


def harmonic_modes(masses: Sequence[float], fc2: np.ndarray):
    """The same as :func:`gamma_modes` by direct diagonalisation (numpy only): (THz, eigenvectors)."""
    m = np.asarray(masses, dtype=float)
    n = len(m)
    phi = np.transpose(fc2, (0, 2, 1, 3)).reshape(3 * n, 3 * n)
    inv_sqrt_m = np.repeat(1 / np.sqrt(m), 3)
    dyn = phi * np.outer(inv_sqrt_m, inv_sqrt_m)
    w2, vec = np.linalg.eigh(0.5 * (dyn + dyn.T))
    return np.sign(w2) * np.sqrt(np.abs(w2)) * EV_A2_AMU_TO_THZ, vec


def born_charges(atoms: Atoms, charges: Mapping[str, float] | np.ndarray) -> np.ndarray:
    """Born effective charge tensors (N, 3, 3) in e: per-species scalars (isotropic) or an (N, 3, 3) array."""
    if isinstance(charges, Mapping):
        missing = sorted(set(atoms.get_chemical_symbols()) - set(charges))
        if missing:
            raise KeyError(f"no Born effective charge for {missing}: add them to the config (validate.ir.born_charges)")
        z = np.array([charges[s] for s in atoms.get_chemical_symbols()], dtype=float)
        tensors = z[:, None, None] * np.eye(3)[None]
    else:
        tensors = np.asarray(charges, dtype=float)
    if tensors.shape != (len(atoms), 3, 3):
        raise ValueError(f"Born charges must have shape ({len(atoms)}, 3, 3), not {tensors.shape}")
    if abs(tensors.sum(axis=0)).max() > 0.05 * len(atoms):
        raise ValueError("Born effective charges violate the acoustic sum rule (sum over atoms is far from 0)")
    return tensors


def born_charges_from_vasp(path: str, atoms: Atoms, mapping: str = "per_atom") -> tuple[np.ndarray, np.ndarray]:
    """Born effective charges (N, 3, 3, e) for ``atoms`` from a VASP DFPT run (LEPSILON = .TRUE.) read by phonopy.

    ``path`` is a ``vasprun.xml`` (phonopy's ``VasprunxmlExpat``, which also gives the DFT cell's
    species) or an ``OUTCAR`` with its ``POSCAR`` in the same folder (phonopy's ``get_born_OUTCAR``
    without symmetry reduction). ``mapping``: ``per_atom`` uses the tensors atom by atom and needs the
    DFT cell to be this structure (same atom count and species order); ``per_species`` averages the
    tensors of each element and gives every atom its element's average, after which the acoustic sum
    rule is restored by subtracting the mean tensor (amorphous cells differ from the DFT cell).
    Returns (charges, dielectric tensor epsilon_inf 3x3).
    """
    import os

    key = "validate.ir.born_file"
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{key}: no file {path} (a vasprun.xml or OUTCAR of a VASP LEPSILON run)")
    try:
        if os.path.basename(path).startswith("OUTCAR"):
            from phonopy.interface.vasp import get_born_OUTCAR, read_vasp

            poscar = os.path.join(os.path.dirname(path), "POSCAR")
            if not os.path.isfile(poscar):
                raise FileNotFoundError(f"{key}: {path} needs the POSCAR of the same run beside it ({poscar} is missing)")
            symbols = read_vasp(poscar).symbols
            borns, epsilon, _ = get_born_OUTCAR(poscar, path, is_symmetry=False)
        else:
            from phonopy.interface.vasp import VasprunxmlExpat

            with open(path, "rb") as handle:
                vasprun = VasprunxmlExpat(handle)
                vasprun.parse()
            symbols, borns, epsilon = vasprun.cell.symbols, vasprun.born, vasprun.epsilon
    except FileNotFoundError:
        raise
    except Exception as exc:
        raise ValueError(f"{key}: phonopy could not read Born charges from {path}: {exc}") from exc
    borns = np.asarray(borns, dtype=float)
    symbols = [str(s).strip() for s in symbols]
    if borns.shape != (len(symbols), 3, 3):
        raise ValueError(
            f"{key}: {path} holds Born charges of shape {borns.shape} for {len(symbols)} atoms (is it a LEPSILON run?)"
        )
    own = atoms.get_chemical_symbols()
    if mapping == "per_atom":
        if len(symbols) != len(atoms) or symbols != own:
            raise ValueError(
                f"{key}: {path} has {len(symbols)} atoms ({''.join(sorted(set(symbols)))}) but the structure has {len(atoms)} "
                f"({atoms.get_chemical_formula()}) or another species order; per-atom charges need the same cell: "
                "set validate.ir.born_mapping: per_species to use per-element averages"
            )
        return borns, np.asarray(epsilon, dtype=float)
    if mapping != "per_species":
        raise ValueError(f"validate.ir.born_mapping '{mapping}': use per_atom or per_species")
    missing = sorted(set(own) - set(symbols))
    if missing:
        raise ValueError(f"{key}: {path} has no atoms of {missing}, present in the structure")
    table = np.array(symbols)
    average = {s: borns[table == s].mean(axis=0) for s in set(own)}
    tensors = np.array([average[s] for s in own])
    return tensors - tensors.mean(axis=0), np.asarray(epsilon, dtype=float)


def ir_intensities(masses: Sequence[float], eigenvectors: np.ndarray, zstar: np.ndarray) -> np.ndarray:
    """IR intensity of every mode, I_k = sum_a |sum_(i,b) Z*_(i,ab) e_k(i b) / sqrt(m_i)|^2 in e^2/amu."""
    m = np.asarray(masses, dtype=float)
    n = len(m)
    e = np.asarray(eigenvectors).reshape(n, 3, -1) / np.sqrt(m)[:, None, None]
    dipole = np.einsum("iab,ibk->ak", zstar, e)
    return np.sum(np.abs(dipole) ** 2, axis=0)


def broadened_spectrum(
    centres_cm1: np.ndarray, weights: np.ndarray, grid_cm1: np.ndarray, fwhm_cm1: float = 30.0, shape: str = "lorentzian"
) -> np.ndarray:
    """Sum of unit-area Lorentzian or Gaussian peaks of full width ``fwhm_cm1`` at ``centres_cm1``."""
    x = grid_cm1[:, None] - np.asarray(centres_cm1)[None, :]
    if shape == "lorentzian":
        gamma = fwhm_cm1 / 2
        peaks = gamma / np.pi / (x**2 + gamma**2)
    elif shape == "gaussian":
        sigma = fwhm_cm1 / (2 * np.sqrt(2 * np.log(2)))
        peaks = np.exp(-0.5 * (x / sigma) ** 2) / (sigma * np.sqrt(2 * np.pi))
    else:
        raise ValueError(f"shape must be 'lorentzian' or 'gaussian', not '{shape}'")
    return peaks @ np.asarray(weights)


def ir_spectrum(
    atoms: Atoms, fc2: np.ndarray, charges, fwhm_cm1: float = 30.0, grid_cm1: np.ndarray | None = None, use_phonopy: bool = True
):
    """IR spectrum of a structure from its force constants and Born charges (AS).

    Returns (modes DataFrame: frequency_cm1, intensity; spectrum DataFrame: frequency_cm1, intensity).
    Modes below 1 1/cm (translations) and imaginary modes are left out of the spectrum.
    """
    import pandas as pd

    thz, vec = gamma_modes(atoms, fc2) if use_phonopy else harmonic_modes(atoms.get_masses(), fc2)
    intensity = ir_intensities(atoms.get_masses(), vec, born_charges(atoms, charges))
    modes = pd.DataFrame({"frequency_cm1": thz * THZ_TO_CM1, "intensity": intensity})
    grid = np.arange(0.0, 1500.0, 1.0) if grid_cm1 is None else grid_cm1
    real = modes.frequency_cm1 > 1.0
    spectrum = broadened_spectrum(modes.frequency_cm1[real].values, modes.intensity[real].values, grid, fwhm_cm1)
    return modes, pd.DataFrame({"frequency_cm1": grid, "intensity": spectrum})


def run_vdos_md(
    atoms: Atoms,
    calculator,
    temperature_K: float = 300.0,
    nvt_ps: float = 0.5,
    nve_ps: float = 1.5,
    timestep_fs: float = 1.0,
    sample_every_fs: float = 5.0,
    *,
    friction_per_fs: float,
    seed: int = 0,
    progress_every_s: float = 10.0,
) -> list[Atoms]:
    """MD for a VDOS (NS): Langevin NVT at ``temperature_K``, then NVE with velocities sampled.

    NS runs 50 ps at 300 K with dt 0.1 fs and samples every 10 fs; the NVE part keeps the
    thermostat from damping the velocity autocorrelation. Returns the NVE frames (positions and
    momenta, info ``time_fs``, ``T_K``, ``epot_eV``, ``etot_eV``) every ``sample_every_fs``,
    which must be a whole number of time steps.
    """
    import logging
    import time

    from ase.md.velocitydistribution import MaxwellBoltzmannDistribution, Stationary

    from amlip.md.integrators import make_integrator

    log = logging.getLogger(__name__)
    every = sample_every_fs / timestep_fs
    if every < 1 or abs(every - round(every)) > 1e-9:
        raise ValueError(f"sample_every_fs={sample_every_fs} must be a whole multiple of timestep_fs={timestep_fs}")
    every = int(round(every))
    n_nvt = int(round(nvt_ps * 1000.0 / timestep_fs))
    n_nve = int(round(nve_ps * 1000.0 / timestep_fs))
    if n_nve // every < 4:
        raise ValueError(f"nve_ps={nve_ps} gives fewer than 4 samples every {sample_every_fs} fs: lengthen it")
    md = atoms.copy()
    md.calc = calculator
    rng = np.random.default_rng(seed)
    MaxwellBoltzmannDistribution(md, temperature_K=temperature_K, rng=rng)
    Stationary(md)
    started = last = time.perf_counter()
    if n_nvt:
        make_integrator(md, "nvt", temperature_K, timestep_fs, rng=rng, friction_per_fs=friction_per_fs).run(n_nvt)
        log.info(
            "NVT %d steps at %.0f K done (T=%.0f K, %.0f s)",
            n_nvt,
            temperature_K,
            md.get_temperature(),
            time.perf_counter() - started,
        )
    frames: list[Atoms] = []
    dyn = make_integrator(md, "nve", temperature_K, timestep_fs)
    for step in range(1, n_nve + 1):
        dyn.run(1)
        if step % every == 0:
            frame = md.copy()
            frame.calc = None
            epot = float(md.get_potential_energy())
            frame.info.update(
                time_fs=step * timestep_fs,
                T_K=float(md.get_temperature()),
                epot_eV=epot,
                etot_eV=epot + float(md.get_kinetic_energy()),
            )
            frames.append(frame)
        now = time.perf_counter()
        if now - last > progress_every_s:
            last = now
            log.info(
                "NVE step %d/%d T=%.0f K ETA %.0f s",
                step,
                n_nve,
                md.get_temperature(),
                (now - started) / (n_nvt + step) * (n_nve - step),
            )
    return frames


def spectrum_peaks(
    frequency_cm1,
    intensity,
    n_peaks: int = 5,
    min_separation_cm1: float = 50.0,
    min_cm1: float = 20.0,
    min_prominence_fraction: float = 0.01,
):
    """The ``n_peaks`` most prominent maxima of a spectrum above ``min_cm1`` (1/cm), at least ``min_separation_cm1`` apart.

    Maxima less prominent than ``min_prominence_fraction`` of the highest intensity are noise and left out.

    Returns a DataFrame (frequency_cm1, intensity, prominence) sorted by frequency.
    """
    import pandas as pd
    from scipy.signal import find_peaks

    x = np.asarray(frequency_cm1, dtype=float)
    y = np.asarray(intensity, dtype=float)
    keep = x >= min_cm1
    x, y = x[keep], y[keep]
    if len(x) < 3 or not np.any(y > 0):
        return pd.DataFrame({"frequency_cm1": [], "intensity": [], "prominence": []})
    step = float(np.median(np.diff(x)))
    idx, props = find_peaks(
        y, distance=max(1, int(round(min_separation_cm1 / step))), prominence=min_prominence_fraction * y.max()
    )
    order = np.argsort(props["prominences"])[::-1][:n_peaks]
    table = pd.DataFrame({"frequency_cm1": x[idx[order]], "intensity": y[idx[order]], "prominence": props["prominences"][order]})
    return table.sort_values("frequency_cm1", ignore_index=True)


def sample_low_temperature(
    atoms: Atoms,
    calculator,
    temperature_K: float = 20.0,
    n_snapshots: int = 200,
    equilibrate_fs: float = 500.0,
    every_fs: float = 20.0,
    timestep_fs: float = 1.0,
    *,
    friction_per_fs: float,
    relax_fmax: float = 0.01,
    relax_steps: int = 500,
    seed: int = 0,
):
    """Relaxed structure and force snapshots from low-temperature Langevin MD (AS: 20 K, friction 0.01 1/fs).

    The atoms are relaxed at fixed cell (FIRE, ``relax_fmax`` eV/Å, at most ``relax_steps``),
    equilibrated for ``equilibrate_fs`` and sampled every ``every_fs``. Returns (relaxed Atoms with
    info ``relax_fmax_eV_A`` and ``relax_converged``, list of snapshots with ``forces`` from the
    calculator, as a SinglePointCalculator). The relaxed structure is the ideal structure of
    :func:`fit_force_constants`.
    """
    from ase.calculators.singlepoint import SinglePointCalculator
    from ase.md.velocitydistribution import MaxwellBoltzmannDistribution
    from ase.optimize import FIRE

    from amlip.md.integrators import make_integrator

    ideal = atoms.copy()
    ideal.calc = calculator
    converged = bool(FIRE(ideal, logfile=None).run(fmax=relax_fmax, steps=relax_steps))
    fmax = float(np.linalg.norm(ideal.get_forces(), axis=1).max())
    md = ideal.copy()
    md.calc = calculator
    rng = np.random.default_rng(seed)
    MaxwellBoltzmannDistribution(md, temperature_K=temperature_K, rng=rng)
    dyn = make_integrator(md, "nvt", temperature_K, timestep_fs, rng=rng, friction_per_fs=friction_per_fs)
    dyn.run(int(round(equilibrate_fs / timestep_fs)))
    every = max(1, int(round(every_fs / timestep_fs)))
    snapshots = []
    for k in range(n_snapshots):
        dyn.run(every)
        snap = md.copy()
        snap.calc = SinglePointCalculator(snap, forces=md.get_forces(), energy=float(md.get_potential_energy()))
        snap.info.update(snapshot=k, T_K=float(md.get_temperature()))
        snapshots.append(snap)
    relaxed = ideal.copy()
    relaxed.calc = None
    relaxed.info.update(relax_fmax_eV_A=fmax, relax_converged=converged)
    return relaxed, snapshots
