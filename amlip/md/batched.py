"""The batched engine: many independent glasses advanced together, one batched model call per MD step.

Built for a GPU: the glasses of ``produce.melt_quench.n_glasses`` share one device and each step
evaluates all of them in one MACE call through TorchSim (``torch-sim-atomistic``: batched states,
MACE on a batch of systems, neighbour lists per system: vesin on the CPU, TorchSim's torch
neighbour list on the device on CUDA). The integrator is the one of the ASE engine's NpT, the
Langevin thermostat + Langevin-Hoover isotropic barostat of :class:`ase.md.langevinbaoab.LangevinBAOAB`
(Leimkuhler & Matthews 2013; Quigley & Probert 2004), written for a batch in torch: one force +
stress evaluation per step for NpT and NVT alike (TorchSim 0.3's own NpT integrators evaluate the
model twice per step). NVT stages are the same BAOAB without the barostat, with the friction of
the config (``friction_per_fs``); NpT stages use ``taut_fs`` and ``taup_fs``.

The stages, guards and the frames each glass returns are those of :func:`amlip.md.ase_engine.run_protocol`,
so a glass's trajectory, schedule and thermo table are written the same way. Not supported here (an
error that says so): D3 dispersion, the committee guard, NequIP/Allegro models, walls.
Units: positions Å, energies eV, masses amu, ASE time units inside (``ase.units.fs``).
"""

from __future__ import annotations

import logging
import time
from typing import Mapping, Sequence

import numpy as np
from ase import Atoms, units

from amlip.md.guards import Guards, MDGuardError, check_guards
from amlip.md.protocols import Stage
from amlip.structures.crystals import density_g_cm3

log = logging.getLogger(__name__)

# ASE's heuristic barostat mass (LangevinBAOAB._set_barostat_mass): fluctuation period ~ P_tau / 4
_P_MASS_C = 1.66 * units.fs


def check_batched(config: Mapping) -> None:
    """Start-up check of ``produce.melt_quench.engine: batched``: what the engine cannot do, named by key."""
    if config["produce"]["melt_quench"]["engine"] != "batched":
        return
    problems = []
    if config["train"]["architecture"] != "mace":
        problems.append(f"train.architecture is {config['train']['architecture']}: the batched engine runs MACE models")
    if (config["produce"]["dispersion"] or {}).get("method"):
        problems.append("produce.dispersion is on: D3 runs in the ase and lammps engines only")
    if config["produce"]["melt_quench"]["guards"]["max_sigma_eV_A"] is not None:
        problems.append(
            "produce.melt_quench.guards.max_sigma_eV_A is set: the committee guard runs in the ase and lammps engines"
        )
    if problems:
        raise ValueError("produce.melt_quench.engine batched: " + "; ".join(problems))


class BatchedMACE:
    """A MACE model file as a batched force field: energies (eV), forces (eV/Å) and stresses (eV/Å^3, ASE sign)
    of several periodic systems in one call, on ``device`` in ``dtype`` (TorchSim's ``MaceModel``).

    ``n_calls`` counts the calls. With ``enable_cueq`` (CUDA) MACE runs NVIDIA's cuEquivariance kernels.
    """

    def __init__(self, model_path: str, device: str = "cpu", dtype: str = "float32", enable_cueq: bool = False):
        try:
            import torch
            from torch_sim.models.mace import MaceModel
            from torch_sim.neighbors import standard_nl, vesin_nl_ts
        except ImportError as exc:  # pragma: no cover
            raise ImportError("the batched engine needs TorchSim: pip install torch-sim-atomistic==0.3.0") from exc
        self.torch = torch
        self.device = torch.device(device)
        self.dtype = getattr(torch, dtype)
        model = torch.load(str(model_path), map_location=self.device, weights_only=False)
        for parameter in model.parameters():
            parameter.requires_grad = False
        # on the GPU the neighbour list stays on the device; vesin (C++) is the fast one on the CPU
        neighbours = standard_nl if self.device.type == "cuda" else vesin_nl_ts
        self.model = MaceModel(
            model, device=self.device, dtype=self.dtype, neighbor_list_fn=neighbours, compute_stress=True, enable_cueq=enable_cueq
        )
        self.n_calls = 0

    def __call__(self, positions, cell, numbers, system_idx, masses):
        """Energies [B], forces [N, 3] and stresses [B, 3, 3] (float64 tensors) for positions [N, 3] and row-vector
        cells [B, 3, 3] of the systems in ``system_idx``."""
        from torch_sim.state import SimState

        state = SimState(
            positions=positions.to(self.dtype, copy=True),  # MACE sets requires_grad on the tensor it gets
            masses=masses.to(self.dtype),
            cell=cell.transpose(1, 2).to(self.dtype),  # TorchSim keeps column vectors
            pbc=True,
            atomic_numbers=numbers,
            system_idx=system_idx,
        )
        out = self.model(state)
        self.n_calls += 1
        f64 = self.torch.float64
        return tuple(out[key].detach().to(f64) for key in ("energy", "forces", "stress"))


def load_batched_model(model_path: str, dtype: str, device: str) -> BatchedMACE:
    """The chosen MACE model file as a :class:`BatchedMACE` on ``device`` (a ``device.produce`` setting, resolved
    here: auto = CUDA when torch sees a GPU), with cuEquivariance on CUDA when installed."""
    from amlip.models.device import resolve_device, use_cueq
    from amlip.models.loading import model_family

    if model_family(model_path) != "mace":
        raise ValueError(f"{model_path}: the batched engine runs MACE models (*.model); use engine ase or lammps")
    device = resolve_device(device)
    return BatchedMACE(model_path, device=device, dtype=dtype, enable_cueq=use_cueq(device))


class LangevinHooverBatch:
    """BAOAB Langevin dynamics of a batch of periodic systems, with a Langevin-Hoover isotropic barostat per system.

    The torch port of :class:`ase.md.langevinbaoab.LangevinBAOAB` (``hydrostatic=True``): positions [N, 3] (Å),
    velocities [N, 3] (Å per ASE time unit), row-vector cells [B, 3, 3]; ``model`` is a :class:`BatchedMACE`
    (or anything with its call signature). One model call per :meth:`step`.
    """

    def __init__(self, model, atoms_list: Sequence[Atoms], device: str, seed: int):
        import torch

        self.torch, self.model = torch, model
        dev = torch.device(device)
        f64 = torch.float64
        self.n = torch.tensor([len(a) for a in atoms_list], device=dev)
        self.system_idx = torch.repeat_interleave(torch.arange(len(atoms_list), device=dev), self.n)
        self.numbers = torch.tensor(np.concatenate([a.numbers for a in atoms_list]), device=dev)
        self.masses = torch.tensor(np.concatenate([a.get_masses() for a in atoms_list]), device=dev, dtype=f64)
        self.positions = torch.tensor(np.concatenate([a.positions for a in atoms_list]), device=dev, dtype=f64)
        self.velocities = torch.tensor(np.concatenate([a.get_velocities() for a in atoms_list]), device=dev, dtype=f64)
        self.cell = torch.tensor(np.stack([a.cell.array for a in atoms_list]), device=dev, dtype=f64)
        self.ndof = 3.0 * self.n.to(f64)
        self.p_eps = torch.zeros(len(atoms_list), device=dev, dtype=f64)
        self.force_eps = None
        self.generator = torch.Generator(device=dev).manual_seed(int(seed))
        self.energy = self.forces = self.stress = None
        self._evaluate()

    # -- per-system helpers ---------------------------------------------------------------------
    def volume(self):
        return self.torch.linalg.det(self.cell)

    def kinetic_energy(self):
        """Kinetic energy per system, eV."""
        per_atom = 0.5 * self.masses * (self.velocities**2).sum(dim=1)
        return self.torch.zeros_like(self.p_eps).index_add_(0, self.system_idx, per_atom)

    def temperature_K(self):
        """Instantaneous temperature per system (3N degrees of freedom, as ASE)."""
        return 2.0 * self.kinetic_energy() / (self.ndof * units.kB)

    def _evaluate(self):
        self.energy, self.forces, self.stress = self.model(self.positions, self.cell, self.numbers, self.system_idx, self.masses)

    def _scale_cells(self, factor):
        """Scale cell b and its atoms by factor[b] (isotropic: the fractional coordinates stay)."""
        self.cell = self.cell * factor[:, None, None]
        self.positions = self.positions * factor[self.system_idx][:, None]

    def _noise(self, shape):
        return self.torch.randn(shape, generator=self.generator, device=self.positions.device, dtype=self.positions.dtype)

    def start_stage(self) -> None:
        """A new stage starts with the barostat at rest (as a new ASE integrator per stage)."""
        self.p_eps = self.torch.zeros_like(self.p_eps)
        self.force_eps = None

    def step(self, dt: float, temperature_K: float, gamma: float, barostat: Mapping | None = None) -> None:
        """One BAOAB step of length ``dt`` (ASE time) at ``temperature_K`` with friction ``gamma`` (1/ASE time).

        ``barostat`` (NpT): ``mass`` [B] (eV (ASE time)^2), ``gamma`` (1/ASE time) and ``stress`` (external stress,
        eV/Å^3, the negative of the pressure); None: fixed cells (NVT).
        """
        torch = self.torch
        accel = self.forces / self.masses[:, None]
        kT = units.kB * temperature_K
        if barostat is not None:
            mass = barostat["mass"]
            if self.force_eps is None:
                self.force_eps = self._force_eps(barostat["stress"])
            self.p_eps = self.p_eps + 0.5 * dt * self.force_eps
        self.velocities = self.velocities + 0.5 * dt * accel
        if barostat is not None:
            self._scale_cells(torch.exp(0.5 * dt * self.p_eps / mass))  # V' = V exp(3 dt/2 p_eps / W)
        self.positions = self.positions + 0.5 * dt * self.velocities
        drag = gamma + ((1.0 + 3.0 / self.ndof) * self.p_eps / mass if barostat is not None else 0.0 * self.p_eps)
        self.velocities = self.velocities * torch.exp(-drag * dt)[self.system_idx][:, None]
        if gamma > 0:
            amplitude = np.sqrt(kT * (1.0 - np.exp(-2.0 * gamma * dt)))
            self.velocities = self.velocities + amplitude * self._noise(self.velocities.shape) / torch.sqrt(self.masses)[:, None]
        if barostat is not None and barostat["gamma"] > 0:
            bg = barostat["gamma"]
            self.p_eps = self.p_eps * np.exp(-bg * dt) + np.sqrt(kT * (1.0 - np.exp(-2.0 * bg * dt))) * torch.sqrt(
                mass
            ) * self._noise(self.p_eps.shape)
        self.positions = self.positions + 0.5 * dt * self.velocities
        if barostat is not None:
            self._scale_cells(torch.exp(0.5 * dt * self.p_eps / mass))
        self._evaluate()
        if barostat is not None:  # from the kinetic energy before the last half kick, as ASE
            self.force_eps = self._force_eps(barostat["stress"])
        self.velocities = self.velocities + 0.5 * dt * self.forces / self.masses[:, None]
        if barostat is not None:
            self.p_eps = self.p_eps + 0.5 * dt * self.force_eps

    def _force_eps(self, external_stress: float):
        """The barostat force per system (ASE's ``force_eps``, hydrostatic): from the stress of the last call."""
        volume = self.volume()
        ke = self.kinetic_energy()
        trace_virial = -volume * self.stress.diagonal(dim1=1, dim2=2).sum(dim=1)
        x = (2.0 * ke + trace_virial) / (3.0 * volume)
        return 3.0 * volume * (x + external_stress) + (3.0 / self.ndof) * 2.0 * ke

    def atoms(self, b: int) -> Atoms:
        """System b as ASE atoms with its velocities (host copy)."""
        return self.all_atoms()[b]

    def all_atoms(self) -> list[Atoms]:
        """Every system as ASE atoms with its velocities: one host copy of the batch, then split."""
        ends = np.cumsum(self.n.cpu().numpy())[:-1]
        numbers, positions, velocities, cells = (
            t.cpu().numpy() for t in (self.numbers, self.positions, self.velocities, self.cell)
        )
        systems = []
        for b, (z, r, v) in enumerate(zip(*(np.split(a, ends) for a in (numbers, positions, velocities)))):
            atoms = Atoms(numbers=z, positions=r, cell=cells[b], pbc=True)
            atoms.set_velocities(v)
            systems.append(atoms)
        return systems


def barostat_mass(n_atoms: np.ndarray, taup_fs: float) -> np.ndarray:
    """ASE's heuristic Langevin-Hoover barostat mass (eV (ASE time)^2) for systems of ``n_atoms`` at ``taup_fs``."""
    return ((taup_fs * units.fs / 4.0) / _P_MASS_C * np.asarray(n_atoms, dtype=float) ** (1.0 / 6.0)) ** 2


def run_protocol_batched(
    atoms_list: Sequence[Atoms],
    model,
    stages: Sequence[Stage],
    *,
    sample_every: int,
    seeds: Sequence[int],
    friction_per_fs: float | None,
    taut_fs: float | None,
    taup_fs: float | None,
    guards: Guards | None = None,
    progress_every_s: float = 10.0,
) -> list[list[Atoms]]:
    """Run ``stages`` on every system of ``atoms_list`` at once with ``model`` (a :class:`BatchedMACE`), on its device.

    System k starts from Maxwell-Boltzmann velocities at the first stage's temperature drawn with
    ``seeds[k]`` (as the ASE engine with that seed); the thermostat noise of the batch comes from
    ``seeds[0]``. NVT stages need ``friction_per_fs``, NpT stages ``taut_fs`` and ``taup_fs``.
    The guards run on every system every ``guards.check_every`` steps and at the last step of every
    stage. Returns one frame list per system, with the info keys of :func:`amlip.md.ase_engine.run_protocol`.
    A guard violation in any system stops the batch: :class:`MDGuardError` names the system, with
    ``exc.frames_per_system`` (the frames so far of every system) and ``exc.system``.
    """
    import torch
    from ase.md.velocitydistribution import MaxwellBoltzmannDistribution, Stationary

    guards = guards or Guards()
    if len(seeds) != len(atoms_list):
        raise ValueError(f"{len(atoms_list)} systems but {len(seeds)} seeds")
    starts = []
    for atoms, seed in zip(atoms_list, seeds):
        atoms = atoms.copy()
        MaxwellBoltzmannDistribution(atoms, temperature_K=stages[0].T_start_K, rng=np.random.default_rng(seed))
        Stationary(atoms)
        starts.append(atoms)
    for stage in stages:
        if stage.ensemble not in ("nvt", "npt"):
            raise ValueError(f"stage {stage.name}: ensemble must be 'nvt' or 'npt', got '{stage.ensemble}'")
        needs = {"nvt": {"friction_per_fs": friction_per_fs}, "npt": {"taut_fs": taut_fs, "taup_fs": taup_fs}}[stage.ensemble]
        missing = [name for name, value in needs.items() if value is None]
        if missing:
            raise ValueError(
                f"stage {stage.name} ({stage.ensemble}) needs {missing}: pass them from the config block of this run"
            )
    dyn = LangevinHooverBatch(model, starts, getattr(model, "device", "cpu"), seeds[0])
    n_systems = len(starts)
    mass = torch.tensor(barostat_mass([len(a) for a in starts], taup_fs), device=dyn.positions.device) if taup_fs else None
    frames: list[list[Atoms]] = [[] for _ in starts]
    total = sum(s.n_steps for s in stages)
    done, t_ps, previous_peak_K = 0, 0.0, 0.0
    started = last_report = time.perf_counter()
    for stage in stages:
        peak_K = max(stage.T_start_K, stage.T_end_K, previous_peak_K)
        previous_peak_K = max(stage.T_start_K, stage.T_end_K)
        dt = stage.timestep_fs * units.fs
        dyn.start_stage()
        if stage.ensemble == "npt":
            gamma = 1.0 / (taut_fs * units.fs)
            barostat = {"mass": mass, "gamma": 1.0 / (taup_fs * units.fs), "stress": -stage.pressure_GPa * units.GPa}
        else:
            gamma, barostat = friction_per_fs / units.fs, None
        for k in range(stage.n_steps):
            target = stage.T_start_K + (k + 1) / stage.n_steps * (stage.T_end_K - stage.T_start_K)
            dyn.step(dt, target, gamma, barostat)
            done += 1
            t_ps += stage.timestep_fs / 1000.0
            sample = done % sample_every == 0 or done == total
            check = done % guards.check_every == 0 or k == stage.n_steps - 1
            if not (sample or check):
                continue
            temperatures = dyn.temperature_K().cpu().numpy()
            energies = dyn.energy.cpu().numpy()
            for b, atoms in enumerate(dyn.all_atoms()):
                if check:
                    try:
                        check_guards(atoms, peak_K, guards, done)
                    except MDGuardError as exc:
                        error = MDGuardError(f"glass {b} of the batch: {exc}")
                        error.frames_per_system, error.system, error.step = frames, b, done
                        raise error from exc
                if sample:
                    atoms.info.update(
                        step=done,
                        time_ps=round(t_ps, 6),
                        stage=stage.name,
                        target_T_K=round(target, 3),
                        T_K=float(temperatures[b]),
                        density_g_cm3=density_g_cm3(atoms),
                        epot_eV=float(energies[b]),
                    )
                    frames[b].append(atoms)
            now = time.perf_counter()
            if now - last_report > progress_every_s or done == total:
                last_report = now
                eta = (now - started) / done * (total - done)
                log.info(
                    "step %d/%d stage %s, %d systems: T %.0f-%.0f K (target %.0f) ETA %.0f s",
                    done, total, stage.name, n_systems, temperatures.min(), temperatures.max(), target, eta,
                )  # fmt: skip
    return frames
