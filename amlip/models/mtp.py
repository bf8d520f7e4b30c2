"""Moment tensor potentials (MTP) through motep 0.2.0: training input, training, ASE calculator.

motep (PyPI ``motep``, MIT; numpy, scipy and ase only, so it lives in the main environment) trains
MTPs in the file formats of MLIP-2 (Shapeev's ``mlp``): configurations in the ``.cfg`` format and
potentials in the ``.mtp`` format. A user starts it with a TOML setting (``motep train motep.toml``:
``[common]`` seed, engine and species, ``[configurations]`` training files, ``[potentials]`` initial
and final ``.mtp``, ``[loss]`` weights, ``[[steps]]`` optimisers) or with its Python API
(``motep.train.Trainer``). This module writes that setting, the ``training.cfg`` and the untrained
``initial.mtp`` of the chosen level, trains through the API and loads the trained potential as
``motep.calculator.MTP``.

Why the API and not ``motep train``: motep 0.2.0's CLI writes ``final.mtp`` in its new layout with
``radial_coeffs`` before ``radial_funcs_count``, which its own ``read_mtp`` cannot read back
(``KeyError: 'radial_funcs_count'``; fixed upstream after 0.2.0 by writing the MLIP-2 layout by
default). :func:`train_mtp` runs the same steps as ``motep train`` (the setting, the images, the
``Trainer``) and writes the MLIP-2 layout (``write_mtp(..., legacy=True)``), which both motep and
``mlp`` read: on a cluster with MLIP-2 the same ``training.cfg`` and ``initial.mtp`` could be trained
by ``mlp train initial.mtp training.cfg`` instead.

Untrained potentials: an MTP's level fixes its moment-tensor basis (``alpha_*`` tables of MLIP-2's
untrained potentials). motep ships none; ``resources/mtp/<level>.mtp`` are copies of the files in
motep's test data (see ``resources/mtp/README.md``). The radial basis (Chebyshev, ``min_dist_A`` to
the cutoff ``max_dist_A``, ``radial_basis_size`` functions) is set from the preset.

Species: an ``.mtp`` file numbers its species 0, 1, ...; the atomic number of each is written into
the file's free ``potential_tag`` (``amlip species 14 8``), so that a model file loads alone.

Units: ``REF_energy`` eV, ``REF_forces`` eV/Å, ``REF_stress`` eV/Å^3 (Voigt, ASE sign); the ``.cfg``
holds ``PlusStress`` = -stress x volume (eV), MLIP-2's virial, written by motep's ``write_cfg``.
"""

from __future__ import annotations

import copy
import logging
import os
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from amlip.io.frames import REF_ENERGY, REF_FORCES, REF_STRESS
from amlip.models.presets import checked_overrides

log = logging.getLogger(__name__)

#: Untrained potentials of each level (MLIP-2 moment-tensor bases), ``<level>.mtp``.
UNTRAINED_DIR = Path(__file__).resolve().parents[2] / "resources" / "mtp"
LEVELS = (2, 4, 6, 8, 10, 12, 14, 16)
#: File names in the member's run directory.
SETTING_FILE = "motep.toml"
TRAINING_FILE = "training.cfg"
INITIAL_FILE = "initial.mtp"
#: The tag that names the species of a trained file (atomic numbers), in its ``potential_tag``.
SPECIES_TAG = "amlip species"

# motep's loss weights (motep.loss.LossSetting defaults, the same as mlp train's): energy 1 per atom,
# forces 0.01 Å^2, stress 0.001 per atom times volume.
# AS (level-16 MTPs for Al, Si, O, H: 608 parameters, cutoff 5 Å, force weight 0.01 Å^2): level 16,
# max_dist 5 Å and the force weight are the paper's; radial_basis_size 8 follows from its 608
# parameters (92 moment + 4 species + 4 x 4 species pairs x 4 radial functions x 8 basis functions);
# min_dist 0.5 Å is that of the shipped untrained files; the energy and stress weights are motep's
# (and mlp's) defaults. The optimiser: least squares for the linear coefficients, then BFGS on all
# with analytical gradients, then least squares again (motep's example recipe, without its Level2MTP
# start, whose stress block is wrong in 0.2.0); 1000 BFGS iterations is mlp train's default max-iter.
AS_MTP16 = {
    "level": 16,
    "min_dist_A": 0.5,
    "max_dist_A": 5.0,
    "radial_basis_size": 8,
    "energy_weight": 1.0,
    "forces_weight": 0.01,
    "stress_weight": 0.001,
    "max_iter": 1000,
    "engine": "cext",
}
# Tiny CPU preset for tests and CI: level 6 (5 moments, 2 radial functions), a 4 Å cutoff and 6 radial
# basis functions, 60 BFGS iterations (seconds on one core).
TINY_MTP = {
    **AS_MTP16,
    "level": 6,
    "max_dist_A": 4.0,
    "radial_basis_size": 6,
    "max_iter": 60,
}
PRESETS = {"as_mtp16": AS_MTP16, "tiny_mtp": TINY_MTP}
SETTINGS_KEYS = frozenset(AS_MTP16)
ENGINES = ("cext", "numpy", "numba")


def mtp_settings(preset: str, overrides: Mapping | None = None) -> dict:
    """A preset of :data:`PRESETS` with ``overrides`` (keys of :data:`SETTINGS_KEYS`) on top."""
    overrides = checked_overrides("mtp", preset, PRESETS, overrides, SETTINGS_KEYS)
    settings = {**copy.deepcopy(PRESETS[preset]), **overrides}
    check_settings(settings)
    return settings


def check_settings(settings: Mapping) -> None:
    """ValueError naming the ``train.mtp`` key when the level, radial basis or engine cannot be used."""
    if settings["level"] not in LEVELS:
        raise ValueError(f"train.mtp level {settings['level']}: untrained potentials ship for levels {list(LEVELS)}")
    if not 0 < settings["min_dist_A"] < settings["max_dist_A"]:
        raise ValueError(f"train.mtp min_dist_A {settings['min_dist_A']} must be > 0 and < max_dist_A {settings['max_dist_A']}")
    if settings["engine"] not in ENGINES:
        raise ValueError(f"train.mtp engine '{settings['engine']}': use one of {list(ENGINES)}")


def atomic_numbers(elements: Sequence[str]) -> list[int]:
    """Atomic numbers of ``elements`` (config key ``elements``): MTP species 0, 1, ... in that order."""
    from ase.data import atomic_numbers as numbers

    return [numbers[s] for s in elements]


def labelled_images(frames: Sequence, elements: Sequence[str]) -> list:
    """Copies of labelled frames with their ``REF_*`` labels as calculator results (what motep fits).

    KeyError naming the frame when an element is not in ``elements`` or energy/forces are missing.
    """
    from ase.calculators.singlepoint import SinglePointCalculator

    images = []
    for k, atoms in enumerate(frames):
        unknown = sorted(set(atoms.get_chemical_symbols()) - set(elements))
        if unknown:
            raise KeyError(f"frame {k}: elements {unknown} are not in {list(elements)} (config key elements)")
        if REF_ENERGY not in atoms.info or REF_FORCES not in atoms.arrays:
            raise KeyError(f"frame {k}: no {REF_ENERGY} / {REF_FORCES} labels")
        image = atoms.copy()
        results = {"energy": float(atoms.info[REF_ENERGY]), "forces": np.asarray(atoms.arrays[REF_FORCES], dtype=float)}
        if REF_STRESS in atoms.info and atoms.cell.rank == 3:
            results["stress"] = np.asarray(atoms.info[REF_STRESS], dtype=float)
        image.calc = SinglePointCalculator(image, **results)
        images.append(image)
    return images


def untrained_mtp(settings: Mapping, elements: Sequence[str]):
    """The untrained ``MTPData`` of ``settings['level']`` for ``elements``, radial basis from ``settings``."""
    from motep.io.mlip.mtp import read_mtp

    check_settings(settings)
    data = read_mtp(UNTRAINED_DIR / f"{int(settings['level']):02d}.mtp")
    data.species = atomic_numbers(elements)
    data.radial_basis.min = float(settings["min_dist_A"])
    data.radial_basis.max = float(settings["max_dist_A"])
    data.radial_basis.size = int(settings["radial_basis_size"])
    data.potential_tag = species_tag(data.species)
    return data


def species_tag(numbers: Sequence[int]) -> str:
    """``potential_tag`` text naming the species' atomic numbers, e.g. ``amlip species 14 8``."""
    return " ".join([SPECIES_TAG, *(str(int(z)) for z in numbers)])


def tagged_species(tag: str, path: str | Path) -> list[int]:
    """The atomic numbers in a ``potential_tag`` written by :func:`species_tag`; ValueError otherwise."""
    if not tag.startswith(SPECIES_TAG):
        raise ValueError(
            f"MTP file {path} has potential_tag '{tag}', not '{SPECIES_TAG} Z0 Z1 ...': set it to the atomic "
            "numbers of species 0, 1, ... (e.g. a potential trained by mlp)"
        )
    return [int(z) for z in tag[len(SPECIES_TAG) :].split()]


def mtp_setting(settings: Mapping, elements: Sequence[str], seed: int) -> dict:
    """The ``motep train`` TOML setting (as a dict) for files in the run directory.

    ``seed`` draws the random initial radial coefficients (members of a committee differ by seed only).
    """
    check_settings(settings)
    linear = ["species_coeffs", "moment_coeffs"]
    return {
        "common": {"seed": int(seed), "engine": settings["engine"], "species": atomic_numbers(elements)},
        "configurations": {"training": [TRAINING_FILE]},
        "potentials": {"initial": INITIAL_FILE, "final": "final.mtp"},
        "loss": {key: float(settings[key]) for key in ("energy_weight", "forces_weight", "stress_weight")},
        "steps": [
            {"method": "LLS", "optimized": linear},
            {
                "method": "BFGS",
                "optimized": ["species_coeffs", "moment_coeffs", "radial_coeffs"],
                "kwargs": {"jac": True, "options": {"maxiter": int(settings["max_iter"])}},
            },
            {"method": "LLS", "optimized": linear},
        ],
    }


def _toml(value) -> str:
    """A TOML value of the types :func:`mtp_setting` uses."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"no TOML for {value!r}")


def setting_toml(setting: Mapping) -> str:
    """The TOML text of a :func:`mtp_setting` dict (tables, then one ``[[steps]]`` table per step)."""
    lines = []
    for table in ("common", "configurations", "potentials", "loss"):
        lines.append(f"[{table}]")
        lines += [f"{key} = {_toml(value)}" for key, value in setting[table].items()]
        lines.append("")
    for step in setting["steps"]:
        lines.append("[[steps]]")
        lines += [f"{key} = {_toml(value)}" for key, value in step.items()]
        lines.append("")
    return "\n".join(lines)


def write_mtp_input(
    settings: Mapping, *, train_frames: Sequence, elements: Sequence[str], seed: int, run_dir: str | Path
) -> Path:
    """Write ``training.cfg`` (MLIP-2 format), the untrained ``initial.mtp`` and ``motep.toml`` into
    ``run_dir``; return the setting's path."""
    from motep.io.mlip.cfg import write_cfg
    from motep.io.mlip.mtp import write_mtp

    if not train_frames:
        raise ValueError(f"no training frames for the MTP in {run_dir}")
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    numbers = atomic_numbers(elements)
    write_cfg(str(run_dir / TRAINING_FILE), labelled_images(train_frames, elements), species=numbers, key_energy="energy")
    write_mtp(run_dir / INITIAL_FILE, untrained_mtp(settings, elements), legacy=True)
    path = run_dir / SETTING_FILE
    path.write_text(setting_toml(mtp_setting(settings, elements, seed)))
    return path


def train_mtp(setting_file: str | Path, model_file: str | Path, start_from: str | Path | None = None) -> dict:
    """Train as ``motep train <setting_file>`` does (paths relative to its directory, where motep also
    writes ``intermediate_<step>.mtp``) and write the trained potential to ``model_file`` in the
    MLIP-2 layout. Returns the training-set RMSEs of the start and of the trained potential:
    ``{"energy_eV_atom": (start, trained), "forces_eV_A": (start, trained)}``.

    ``start_from`` (a trained ``.mtp``, e.g. member m of the previous active-learning iteration) is the warm
    start: the optimiser steps begin at its coefficients instead of the setting's random ``initial.mtp``. It
    must have the initial potential's level, species and radial basis (a ValueError names both files)."""
    from motep.io.mlip.mtp import read_mtp, write_mtp
    from motep.io.utils import read_images
    from motep.parallel import world
    from motep.train import Trainer
    from motep.train.setting import load_setting_train

    setting_file, model_file = Path(setting_file).resolve(), Path(model_file).resolve()
    start_from = Path(start_from).resolve() if start_from is not None else None  # before the chdir below
    cwd = os.getcwd()
    os.chdir(setting_file.parent)
    try:
        setting = load_setting_train(setting_file)
        images = read_images(setting.configurations.training, species=setting.common.species, comm=world)
        data = read_mtp(setting.potentials.initial)
        data.species = setting.common.species
        if start_from is not None:
            data = _warm_start(data, start_from, setting_file.parent / setting.potentials.initial)
        # the random start drawn here as Trainer would (it fills only missing coefficients); the rng is
        # given, since Trainer(seed=0) would draw a random seed (``seed or ...``)
        rng = np.random.default_rng(setting.common.seed)
        data.initialize(rng)
        before = _rmse(data, images, setting.common.engine)
        trainer = Trainer(
            data,
            rng=rng,
            engine=setting.common.engine,
            loss=setting.loss,
            steps=setting.steps,
            update_mindist=setting.update_mindist,
            comm=world,
        )
        trainer.train(images)
        after = _rmse(data, images, setting.common.engine)
    finally:
        os.chdir(cwd)
    write_mtp(model_file, data, legacy=True)
    errors = {key: (before[key], after[key]) for key in before}
    log.info("training-set RMSE before -> after: %s", errors)
    return errors


def _warm_start(initial, path: Path, initial_path: Path):
    """The trained potential at ``path`` as the start of a training whose untrained potential is ``initial``;
    ValueError naming both files when its level, species or radial basis differ (another train.mtp preset)."""
    from motep.io.mlip.mtp import read_mtp

    data = read_mtp(path)
    data.species = tagged_species(data.potential_tag, path)
    basis = ("max", "size")  # min may move with motep's update_mindist
    mine = (data.alpha_scalar_moments, list(data.species), *(getattr(data.radial_basis, k) for k in basis))
    theirs = (initial.alpha_scalar_moments, list(initial.species), *(getattr(initial.radial_basis, k) for k in basis))
    if mine != theirs:
        raise ValueError(
            f"warm start {path} (moments, species, radial max/size {mine}) does not match the untrained "
            f"potential {initial_path} {theirs}: train.mtp changed since that member was trained; rerun from iteration 0"
        )
    return data


def mtp_calculator(data, engine: str = "cext"):
    """``motep.calculator.MTP`` of the potential ``data`` that can also be handed structures of another size.

    motep 0.2.0 sizes its neighbour list to the first structure it computes ("ValueError: Wrong number of
    cutoff radii: 24 != 18" on the next of another size): the list is rebuilt whenever the atoms change.
    """
    from ase.calculators.calculator import all_changes
    from motep.calculator import MTP

    class ResizableMTP(MTP):
        def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
            if "numbers" in system_changes:
                self.engine.neighbor_list = None
            super().calculate(atoms, list(properties), system_changes)

    return ResizableMTP(data, engine=engine)


def _rmse(data, images: Sequence, engine: str) -> dict:
    """Energy (eV/atom) and force (eV/Å) RMSE of the potential ``data`` on the labelled ``images``."""
    calc = mtp_calculator(copy.deepcopy(data), engine=engine)
    de, df = [], []
    for image in images:
        atoms = image.copy()
        atoms.calc = calc
        de.append((atoms.get_potential_energy() - image.calc.results["energy"]) / len(atoms))
        df.append((atoms.get_forces() - image.calc.results["forces"]).ravel())
    return {
        "energy_eV_atom": float(np.sqrt(np.mean(np.square(de)))),
        "forces_eV_A": float(np.sqrt(np.mean(np.square(np.concatenate(df))))),
    }


def load_mtp_calculator(model_path: str, device: str = "cpu", engine: str = "cext"):
    """An ASE calculator (``motep.calculator.MTP``: energy eV, forces eV/Å, stress eV/Å^3) for a trained
    ``.mtp`` file, its species from the file's ``potential_tag``. motep's engines run on the CPU: a
    ``device`` of ``cuda`` is logged and the CPU used."""
    if device != "cpu":
        log.info("MTP %s runs on the CPU (motep's %s engine), not on %s", model_path, engine, device)
    path = Path(model_path)
    if not path.exists():
        raise FileNotFoundError(f"MTP model file {path} does not exist")
    try:
        from motep.io.mlip.mtp import read_mtp
    except ImportError as exc:
        raise ImportError("MTP models need motep 0.2.0 (requirements.txt, envs/mtp.yaml): make install") from exc
    data = read_mtp(path)
    data.species = tagged_species(data.potential_tag, path)
    return mtp_calculator(data, engine=engine)
