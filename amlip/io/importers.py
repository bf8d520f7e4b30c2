"""Import reference data (AIMD trajectories, DFT single points) as streams of labelled frames.

Every importer is a generator: it yields one :class:`ase.Atoms` at a time with ``REF_energy``
(eV), ``REF_forces`` (eV/Å), ``REF_stress`` (eV/Å^3, Voigt, ASE sign) when the source has it,
and the ``level_of_theory``/``lot_hash`` of the record the caller supplies — the files do not
say reliably which functional, cutoff or k-points made them, so the caller must. Memory stays
at one frame (plus a read buffer) however long the trajectory (ZIF: 1.19 M frames).

Formats:

- extended XYZ (:func:`iter_extxyz`): a compiled (numba) reader for the common layout, 4 MB
  read at a time, exactly the frames ``ase.io.read`` gives (other frames are handed to ASE's
  reader); ``fast=False`` uses ASE's reader throughout. benchmarks/import_scale.py measures it.
- :func:`iter_source` / :func:`import_sources`: one config entry (``aimd.import``) or AIMD run
  (``amlip.labelers.aimd.run_aimd``) as a stream with provenance (``aimd_source``, ``aimd_frame``).
- CP2K MD output (:func:`iter_cp2k_md`): ``<project>-pos-1.xyz`` (Å), ``-frc-1.xyz``
  (hartree/bohr), ``-1.ener`` (potential energy in hartree), optional ``-1.cell`` (Å)
  and ``-1.stress`` (bar).
- VASP (:func:`iter_vasp`): ``OUTCAR`` through ``ase.io.iread`` (streams), ``vasprun.xml``
  through an ``iterparse`` loop that frees each ionic step (``ase.io.iread`` would keep the
  whole XML tree).

Frames that already carry a ``lot_hash`` different from the caller's record are refused, and so
are frames with a label that is not finite; both errors name the source file and the frame's
index in it.
"""

from __future__ import annotations

import logging
import os
import re
from itertools import islice
from pathlib import Path
from typing import Iterable, Iterator, Mapping

import numpy as np
from ase import Atoms
from ase.units import Bohr, Hartree, _aut, bar, fs

from amlip.io.extxyz import iter_extxyz_frames
from amlip.io.frames import REF_ENERGY, REF_FORCES, REF_STRESS, check_labels, write_stream
from amlip.io.lot import LOT_HASH_KEY, LOT_KEY, LevelOfTheoryError, level_of_theory_hash, level_of_theory_string

log = logging.getLogger(__name__)


#: Source keys tried, in order, for each reference quantity when the caller names none.
DEFAULT_KEYS = {
    "energy": (REF_ENERGY, "energy", "free_energy", "dft_energy", "Energy"),
    "forces": (REF_FORCES, "forces", "force", "dft_forces"),
    "stress": (REF_STRESS, "stress", "dft_stress"),
}


def _stress_voigt(value, volume: float | None = None, virial: bool = False) -> np.ndarray:
    """A stress given as 6 (Voigt) or 9 (3x3) numbers as Voigt xx yy zz yz xz xy (eV/Å^3).

    ``virial=True`` converts a virial (eV) to stress: sigma = -virial / volume.
    """
    value = np.asarray(value, dtype=float).ravel()
    if value.size == 9:
        value = value.reshape(3, 3)[[0, 1, 2, 1, 0, 0], [0, 1, 2, 2, 2, 1]]
    elif value.size != 6:
        raise ValueError(f"stress/virial with {value.size} components; expected 6 or 9")
    return -value / volume if virial else value


def _finish(atoms: Atoms, record: Mapping, lot_hash: str, where: str) -> Atoms:
    """Stamp the caller's level of theory; refuse a frame that already carries another one, and a
    frame whose labels are not all finite. ``where`` names the frame in the error: the source file
    and the frame's index in it."""
    check_labels(atoms, where)
    old = atoms.info.get(LOT_HASH_KEY)
    if old is not None and old != lot_hash:
        raise LevelOfTheoryError(
            f"{where} is labelled {old} ({atoms.info.get(LOT_KEY, '?')}) but the "
            f"import says {lot_hash} ({record}); import it with its own level of theory"
        )
    atoms.info[LOT_KEY] = _lot_string(record)
    atoms.info[LOT_HASH_KEY] = lot_hash
    return atoms


_LOT_STRINGS: dict[int, tuple[Mapping, str, dict]] = {}


def _lot_string(record: Mapping) -> str:
    """level_of_theory_string of a record, computed once per record object of a stream."""
    cached = _LOT_STRINGS.get(id(record))
    if cached is None or cached[0] is not record or cached[2] != dict(record):
        cached = (record, level_of_theory_string(record), dict(record))
        _LOT_STRINGS.clear()
        _LOT_STRINGS[id(record)] = cached
    return cached[1]


def _check_record(level_of_theory: Mapping) -> str:
    if not level_of_theory or "code" not in level_of_theory:
        raise ValueError("importers need a level_of_theory record with at least 'code' (and functional, cutoffs, ...)")
    return level_of_theory_hash(level_of_theory)


def _pick(mapping: Mapping, keys: Iterable[str]):
    for key in keys:
        if key in mapping:
            return key
    return None


def iter_extxyz(
    path: str | os.PathLike,
    level_of_theory: Mapping,
    energy_key: str | None = None,
    forces_key: str | None = None,
    stress_key: str | None = None,
    virial_key: str | None = None,
    fast: bool | None = None,
) -> Iterator[Atoms]:
    """Stream an extended-XYZ file as labelled frames.

    ``energy_key`` (eV), ``forces_key`` (eV/Å, per atom), ``stress_key`` (eV/Å^3, 6 or 9 values,
    ASE sign) or ``virial_key`` (eV, 9 values) name the source quantities; when left out the
    first present of :data:`DEFAULT_KEYS` is used. The values are moved to ``REF_*`` (the source
    keys disappear, so a frame never carries one quantity twice). Raises ValueError naming the
    frame when a frame has no energy or forces. ``fast``: the compiled reader (True), ASE's (False);
    by default the compiled one for files above 16 MB (below, its one-off compilation of a few
    seconds per machine costs more than it saves). Both give the same frames. The compiled reader
    parses the next 4 MB in a second thread when the process may use more than one CPU.
    """
    path = str(path)
    lot_hash = _check_record(level_of_theory)
    frames = iter_extxyz_frames(path, fast, calculator=False)
    for index, atoms in enumerate(frames):
        where = f"{path}: frame {index}"
        e_key = energy_key or _pick(atoms.info, DEFAULT_KEYS["energy"])
        f_key = forces_key or _pick(atoms.arrays, DEFAULT_KEYS["forces"])
        if e_key not in atoms.info or f_key not in atoms.arrays:
            raise ValueError(
                f"{where} has no energy ({energy_key or DEFAULT_KEYS['energy']}) or forces "
                f"({forces_key or DEFAULT_KEYS['forces']}); name them with energy_key/forces_key"
            )
        energy = float(atoms.info.pop(e_key))
        forces = np.asarray(atoms.arrays.pop(f_key), dtype=float)
        stress = None
        if virial_key and virial_key in atoms.info:
            stress = _stress_voigt(atoms.info.pop(virial_key), atoms.get_volume(), virial=True)
        else:
            s_key = stress_key or _pick(atoms.info, DEFAULT_KEYS["stress"])
            if s_key is not None and s_key in atoms.info:
                stress = _stress_voigt(atoms.info.pop(s_key))
        atoms.info[REF_ENERGY] = energy
        atoms.arrays[REF_FORCES] = forces
        if stress is not None:
            atoms.info[REF_STRESS] = stress
        yield _finish(atoms, level_of_theory, lot_hash, where)


_CP2K_STEP = re.compile(r"i\s*=\s*(\d+)")
_CP2K_E = re.compile(r"E\s*=\s*(\S+)")


def _xyz_line_error(lines: list[str]) -> tuple[int, str]:
    """(index, reason) of the first of a CP2K frame's atom lines that is not "<symbol> x y z"."""
    for k, line in enumerate(lines):
        tokens = line.split()
        try:
            if len(tokens) != 4:
                raise ValueError(f"{len(tokens)} columns, not 4")
            [float(t) for t in tokens[1:]]
        except ValueError as error:
            return k, f"{error} in {line.strip()[:80]!r}"
    return 0, "unreadable atom lines"


def _iter_xyz_blocks(path: str) -> Iterator[tuple[int, float | None, list[str], np.ndarray]]:
    """(step, energy in hartree or None, symbols, 3 columns) per frame of a CP2K xyz file. A frame
    that cannot be read raises ValueError naming the file, the frame and the line."""
    with open(path, "r", buffering=1 << 20) as f:
        frame, row = 0, 0  # row: lines read so far
        for header in f:
            row += 1
            if not header.strip():
                continue
            where = f"{path}: frame {frame}, line {row}"
            try:
                n = int(header)
            except ValueError:
                raise ValueError(f"{where}: {header.strip()[:40]!r} is not an atom count") from None
            comment = f.readline()
            step = _CP2K_STEP.search(comment)
            energy = _CP2K_E.search(comment)
            lines = list(islice(f, n))
            if len(lines) < n:
                raise ValueError(f"{where}: the file ends inside the frame of step {step.group(1) if step else '?'}")
            try:
                table = np.array("".join(lines).split(), dtype=object).reshape(n, 4)
                values = table[:, 1:].astype(str).astype(float)
            except ValueError:
                k, reason = _xyz_line_error(lines)
                raise ValueError(f"{path}: frame {frame}, line {row + 2 + k}: {reason}") from None
            yield (
                int(step.group(1)) if step else -1,
                float(energy.group(1)) if energy else None,
                table[:, 0].astype(str),
                values,
            )
            frame, row = frame + 1, row + 1 + n


def _iter_table(path: str | None) -> Iterator[np.ndarray]:
    """Rows of a whitespace table (CP2K .ener/.cell/.stress), comments (#) skipped; a row that is not
    numbers raises ValueError naming the file and the line."""
    if path is None:
        return
    with open(path) as f:
        for row, line in enumerate(f, 1):
            if line.lstrip().startswith("#") or not line.strip():
                continue
            try:
                yield np.array(line.split(), dtype=float)
            except ValueError as error:
                raise ValueError(f"{path}, line {row}: {error} in {line.strip()[:80]!r}") from None


def _rows_at(rows: Iterator[np.ndarray], step: int, name: str) -> np.ndarray:
    """Advance ``rows`` (sorted by step in column 0) to ``step``; CP2K may print them more often."""
    for row in rows:
        if int(row[0]) == step:
            return row
        if int(row[0]) > step:
            break
    raise ValueError(f"{name} has no row for MD step {step}; were the files written with the same print frequency?")


#: bohr per atomic unit of time in ASE velocity units (Å per ASE time unit).
_AU_VELOCITY = Bohr / (_aut * 1e15 * fs)


def _block_at(blocks: Iterator, step: int, name: str) -> np.ndarray:
    for b_step, _, _, values in blocks:
        if b_step == step:
            return values
        if b_step > step:
            break
    raise ValueError(f"{name} has no frame for MD step {step}")


def iter_cp2k_md(
    pos_path: str | os.PathLike,
    level_of_theory: Mapping,
    frc_path: str | os.PathLike | None = None,
    ener_path: str | os.PathLike | None = None,
    cell: np.ndarray | None = None,
    cell_path: str | os.PathLike | None = None,
    stress_path: str | os.PathLike | None = None,
    vel_path: str | os.PathLike | None = None,
) -> Iterator[Atoms]:
    """Stream a CP2K MD run as labelled frames, matched by MD step number.

    ``pos_path`` ``<project>-pos-1.xyz`` (Å); ``frc_path`` ``<project>-frc-1.xyz`` (hartree/bohr ->
    eV/Å; defaults to the sibling of ``pos_path``); ``ener_path`` ``<project>-1.ener`` (column 5,
    potential energy in hartree -> eV; without it the ``E =`` of the xyz comment is used).
    The cell (Å) comes from ``cell`` (NVT: constant 3x3) or ``cell_path`` (``-1.cell``: step, time,
    9 components); ``stress_path`` (``-1.stress``, bar, CP2K's pressure sign) gives ``REF_stress``.
    The MD stress of CP2K includes the kinetic term sum_i m_i v_i (x) v_i / V; a label must be the
    static (virial) stress of the positions, so ``vel_path`` (``-vel-1.xyz``, bohr per atomic time
    unit) is required with ``stress_path`` and the kinetic term is removed.
    CP2K prints ``E`` in the xyz comment and the .ener potential energy to 1e-10 hartree.
    """
    pos_path = str(pos_path)
    lot_hash = _check_record(level_of_theory)
    if frc_path is None:
        frc_path = pos_path.replace("-pos-", "-frc-")
    if not Path(frc_path).exists():
        raise FileNotFoundError(f"CP2K forces file {frc_path} not found (MOTION/PRINT/FORCES in the MD input)")
    if cell is None and cell_path is None:
        raise ValueError("iter_cp2k_md needs the cell: cell= (3x3 Å, NVT) or cell_path= (<project>-1.cell)")
    if stress_path and not vel_path:
        raise ValueError("iter_cp2k_md: stress_path needs vel_path (<project>-vel-1.xyz) to remove the kinetic stress")
    velocities = _iter_xyz_blocks(str(vel_path)) if vel_path else None
    energies = _iter_table(str(ener_path) if ener_path else None)
    cells = _iter_table(str(cell_path) if cell_path else None)
    stresses = _iter_table(str(stress_path) if stress_path else None)
    forces_iter = _iter_xyz_blocks(str(frc_path))
    for step, e_comment, symbols, positions in _iter_xyz_blocks(pos_path):
        where = f"{pos_path}: MD step {step}"
        for f_step, _, f_symbols, forces in forces_iter:
            if f_step >= step:
                break
        else:
            raise ValueError(f"{frc_path} has no forces for MD step {step}")
        if f_step != step or list(f_symbols) != list(symbols):
            raise ValueError(f"{where}: the forces file has step {f_step} / different atoms here")
        if ener_path:
            energy = _rows_at(energies, step, str(ener_path))[4]
        elif e_comment is not None:
            energy = e_comment
        else:
            raise ValueError(f"{where}: no energy (give ener_path, the -1.ener file)")
        box = np.asarray(cell, dtype=float) if cell_path is None else _rows_at(cells, step, str(cell_path))[2:11].reshape(3, 3)
        atoms = Atoms(symbols=list(symbols), positions=positions, cell=box, pbc=True)
        atoms.info[REF_ENERGY] = float(energy) * Hartree
        atoms.arrays[REF_FORCES] = forces * (Hartree / Bohr)
        if stress_path:
            pressure = _rows_at(stresses, step, str(stress_path))[2:11].reshape(3, 3) * bar
            v = _block_at(velocities, step, str(vel_path)) * _AU_VELOCITY
            kinetic = np.einsum("i,ia,ib->ab", atoms.get_masses(), v, v) / atoms.get_volume()
            atoms.info[REF_STRESS] = _stress_voigt(-(pressure - kinetic))
        atoms.info["md_step"] = step
        yield _finish(atoms, level_of_theory, lot_hash, where)


def _iter_vasprun(path: str) -> Iterator[Atoms]:
    """ionic steps of vasprun.xml, one at a time; each step's XML is freed after use."""
    import xml.etree.ElementTree as ET

    from ase.io.vasp import atoms_from_step

    symbols, cell, scaled, parameters, root, depth = None, None, None, {}, None, 0
    for event, elem in ET.iterparse(path, events=("start", "end")):
        if event == "start":
            if root is None:
                root = elem
            depth += 1
            continue
        depth -= 1
        if elem.tag == "atominfo":
            symbols = [entry[0].text.strip() for entry in elem.find("array[@name='atoms']/set")]
        elif elem.tag == "parameters":
            for par in elem.iter():
                if par.tag == "i" and par.attrib.get("name", "").upper() == "PSTRESS":
                    parameters["pstress"] = float(par.text)
        elif elem.tag == "structure" and elem.attrib.get("name") == "initialpos":
            cell = np.array([v.text.split() for v in elem.find("crystal/varray[@name='basis']")], dtype=float)
            scaled = np.array([v.text.split() for v in elem.find("varray[@name='positions']")], dtype=float)
        elif elem.tag == "calculation" and depth == 1:
            initial = Atoms(symbols, cell=cell, scaled_positions=scaled, pbc=True)
            atoms = atoms_from_step(
                elem, ibz_kpts=np.zeros((0, 3)), kpt_weights=[], parameters=parameters, atoms=initial, natoms=len(symbols)
            )
            root.remove(elem)
            yield atoms


def iter_vasp(path: str | os.PathLike, level_of_theory: Mapping) -> Iterator[Atoms]:
    """Stream the ionic steps of a VASP ``OUTCAR`` or ``vasprun.xml`` as labelled frames.

    Energies are the force-consistent free energy (eV), forces eV/Å, stress eV/Å^3 (ASE sign,
    from VASP's kB), all read with ASE's parsers.
    """
    import ase.io

    path = str(path)
    lot_hash = _check_record(level_of_theory)
    if path.endswith(".xml"):
        frames = _iter_vasprun(path)
    else:
        frames = ase.io.iread(path, index=":", format="vasp-out")
    index = -1
    while True:
        index += 1
        try:
            atoms = next(frames)
        except StopIteration:
            return
        except Exception as error:  # ASE's and ElementTree's parsers name neither the file nor the step
            raise ValueError(f"{path}: ionic step {index}: {type(error).__name__}: {error}") from error
        results = atoms.calc.results
        labelled = Atoms(atoms.numbers, positions=atoms.positions, cell=atoms.cell, pbc=atoms.pbc)
        labelled.info[REF_ENERGY] = float(results.get("free_energy", results["energy"]))
        labelled.arrays[REF_FORCES] = np.asarray(results["forces"], dtype=float)
        if results.get("stress") is not None:
            labelled.info[REF_STRESS] = np.asarray(results["stress"], dtype=float)
        labelled.info["md_step"] = index
        yield _finish(labelled, level_of_theory, lot_hash, f"{path}: ionic step {index}")


#: formats :func:`iter_source` reads, and the keys each source mapping may carry besides them
SOURCE_FORMATS = ("extxyz", "cp2k", "vasp")


def iter_source(
    source: Mapping, level_of_theory: Mapping, base: str | os.PathLike = ".", name: str | None = None
) -> Iterator[Atoms]:
    """Stream one trajectory source as labelled frames with provenance.

    ``source``: ``format`` (extxyz, cp2k, vasp), ``path`` (extxyz, vasp) or ``pos_path`` and the
    other :func:`iter_cp2k_md` paths (cp2k, with ``cell`` 3x3 Å), optional ``every`` (keep every
    n-th frame) and the extxyz ``energy_key``/``forces_key``/``stress_key``/``virial_key``;
    relative paths are under ``base``. Every frame gets ``aimd_source`` (``name`` or the path)
    and ``aimd_frame`` (its index in the source) besides the importer's keys. A source without
    frames (an empty file) raises ValueError naming it.
    """
    fmt = source.get("format")
    if fmt not in SOURCE_FORMATS:
        raise ValueError(f"import source {name or source}: format {fmt!r} is not one of {list(SOURCE_FORMATS)}")
    base = Path(base)

    def where(key: str) -> str:
        if not source.get(key):
            raise ValueError(f"import source {name or source}: format {fmt} needs '{key}'")
        return str(base / source[key])

    if fmt == "extxyz":
        keys = {k: source[k] for k in ("energy_key", "forces_key", "stress_key", "virial_key") if source.get(k)}
        frames = iter_extxyz(where("path"), level_of_theory, **keys)
    elif fmt == "vasp":
        frames = iter_vasp(where("path"), level_of_theory)
    else:
        paths = {k: str(base / v) for k, v in source.items() if k.endswith("_path") and v and k != "pos_path"}
        cell = source.get("cell")
        frames = iter_cp2k_md(where("pos_path"), level_of_theory, cell=None if cell is None else np.asarray(cell, float), **paths)
    label = name or str(source.get("path") or source.get("pos_path"))
    every = int(source.get("every", 1))
    if every < 1:
        raise ValueError(f"import source {label}: every={every} must be >= 1")
    index = -1
    for index, atoms in enumerate(frames):
        if index % every:
            continue
        atoms.info["aimd_source"] = label
        atoms.info["aimd_frame"] = index
        yield atoms
    if index < 0:
        raise ValueError(
            f"import source {label}: {where('path' if fmt != 'cp2k' else 'pos_path')} has no frames; "
            "an empty file is a mistake (a wrong path, a run that wrote nothing): fix the path or remove the source"
        )


def import_sources(runs: Iterable[str | os.PathLike], sources: Iterable[Mapping], label_record,
                   out_path: str | os.PathLike, log=None):  # fmt: skip
    """Stream AIMD runs and user trajectories into one extended-XYZ file; return a per-frame table.

    ``runs`` are :func:`amlip.labelers.aimd.run_aimd` folders (their ``run.json`` says format, files and
    level of theory). ``sources`` are config entries (``aimd.import``): :func:`iter_source` keys
    plus ``level_of_theory`` (a record, or ``"label"`` for ``label_record``, the chunk labels'
    record or a function returning it: the user vouches that the file was computed with exactly
    those settings).
    Frames are written one at a time (memory flat in the trajectory length), under a temporary name
    renamed to ``out_path`` at the end: a failed import leaves no partial file there. The table has
    one row per frame: aimd_source, aimd_frame, md_step, n_atoms, energy_eV_atom, lot_hash.
    """
    import json

    import pandas as pd

    rows: list[tuple] = []
    streams = []
    for run in runs:
        manifest = json.loads((Path(run) / "run.json").read_text())
        streams.append((manifest, manifest["level_of_theory"], run, Path(run).name))
    for k, source in enumerate(sources):
        record = source.get("level_of_theory")
        if record == "label":
            record = label_record() if callable(label_record) else label_record
        if not isinstance(record, Mapping):
            raise ValueError(f"aimd.import[{k}] ({source.get('path') or source.get('pos_path')}): level_of_theory must be "
                             "'label' or a record such as {code: cp2k, functional: PBE, cutoff_Ry: 400}")  # fmt: skip
        streams.append((source, record, ".", f"import_{k}"))

    def frames():
        for source, record, base, name in streams:
            count = 0
            for atoms in iter_source(source, record, base, name):
                rows.append((name, atoms.info["aimd_frame"], atoms.info.get("md_step", -1), len(atoms),
                             atoms.info[REF_ENERGY] / len(atoms), atoms.info[LOT_HASH_KEY]))  # fmt: skip
                count += 1
                if log is not None and count % 1000 == 0:
                    log.info("%s: %d frames", name, count)
                yield atoms
            if log is not None:
                log.info("%s: %d frames at %s", name, count, level_of_theory_hash(record))

    write_stream(out_path, frames())
    return pd.DataFrame(rows, columns=["aimd_source", "aimd_frame", "md_step", "n_atoms", "energy_eV_atom", "lot_hash"])
