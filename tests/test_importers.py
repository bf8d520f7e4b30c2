"""Streaming importers: extended XYZ, CP2K MD output, VASP OUTCAR / vasprun.xml."""

import re
import shutil
import types
from itertools import islice
from pathlib import Path

import ase.io
import numpy as np
import pytest
from ase.calculators.singlepoint import SinglePointCalculator
from ase.units import Bohr, GPa, Hartree, bar

from amlip.io.extxyz import iter_extxyz_frames
from amlip.io.frames import REF_ENERGY, REF_FORCES, REF_STRESS, read_frames, write_frames, write_stream
from amlip.io.importers import import_sources, iter_cp2k_md, iter_extxyz, iter_vasp
from amlip.io.lot import LevelOfTheoryError, level_of_theory_hash
from amlip.structures.crystals import build_crystal

DATA = Path(__file__).parent / "data"
AIMD = {"code": "cp2k", "version": "2023.1", "functional": "PBE", "basis": "SZV-MOLOPT-SR-GTH", "cutoff_Ry": 150.0}
VASP = {"code": "vasp", "functional": "r2SCAN-D4", "encut_eV": 800.0}


def _frames(n=4, seed=0):
    rng = np.random.default_rng(seed)
    frames = []
    for k in range(n):
        atoms = build_crystal("alpha_quartz")
        atoms.rattle(0.05, seed=k)
        stress = rng.normal(size=6) * 1e-3
        atoms.calc = SinglePointCalculator(atoms, energy=-30.0 - k, forces=rng.normal(size=(9, 3)), stress=stress)
        frames.append(atoms)
    return frames


def _same_frame(fast, slow, where):
    """Atoms equal as ase.io.read builds them: arrays (dtype and bits), cell, pbc, info."""
    assert type(fast) is type(slow) and vars(fast).keys() == vars(slow).keys(), where
    assert fast.arrays.keys() == slow.arrays.keys(), where
    for key in slow.arrays:
        assert fast.arrays[key].dtype == slow.arrays[key].dtype, (where, key)
        assert fast.arrays[key].shape == slow.arrays[key].shape, (where, key)
        assert np.array_equal(fast.arrays[key], slow.arrays[key], equal_nan=fast.arrays[key].dtype.kind == "f"), (where, key)
    assert np.array_equal(fast.cell.array, slow.cell.array) and np.array_equal(fast.pbc, slow.pbc), where
    assert fast.info.keys() == slow.info.keys(), (where, fast.info.keys(), slow.info.keys())
    for key, value in slow.info.items():
        assert type(fast.info[key]) is type(value), (where, key, type(fast.info[key]), type(value))
        assert np.array_equal(fast.info[key], value), (where, key, fast.info[key], value)
    assert fast.calc is None and slow.calc is None


# Files in layouts seen in the wild; each must read exactly as ase.io.read reads it.
ODD_FILES = {
    # free format, tabs, lower-case and upper-case species, exponents, signs, integer column; an
    # empty quoted value (ASE glues the next pair onto it) sends this frame to ASE, the next not
    "free_format": (
        '3\nLattice="5.0 0.0 0.0 0.0 5.5 0.0 0.1 0.0 6.0" Properties=species:S:1:pos:R:3:REF_forces:R:3:tag:I:1 '
        'REF_energy=-12.5 md_step=7 uid=00123 label=hello flag=T empty="" mixed="1 2.5" pbc="T T F"\n'
        "si\t0 0 0  1.0e-3 -2E+2 .5 3\n  O  1.6 -0.0 +0.25   -1E-3 0 5. -2\nCA 1 2 3 4 5 6 0\n"
        '3\nLattice="5.0 0.0 0.0 0.0 5.5 0.0 0.1 0.0 6.0" Properties=species:S:1:pos:R:3:REF_forces:R:3:tag:I:1 '
        'REF_energy=-12.5 md_step=7 uid=00123 label=hello flag=T mixed="1 2.5" pbc="T T F"\n'
        "si\t0 0 0  1.0e-3 -2E+2 .5 3\n  O  1.6 -0.0 +0.25   -1E-3 0 5. -2\nCA 1 2 3 4 5 6 0\n"
    ),
    # no Lattice (free molecule), default Properties, windows line ends
    "molecule_crlf": "2\r\nREF_energy=-1.0\r\nH 0.0 0.0 0.0\r\nH 0.0 0.0 0.74\r\n",
    # > 15 significant digits, nan, many-digit exponents: the frame goes to ASE, the next one does not
    "precision": (
        "1\nProperties=species:S:1:pos:R:3:REF_forces:R:3 REF_energy=-1.2345678901234567\n"
        "H 0.12345678901234567 1e-300 2.5e30 nan 1 -inf\n"
        "1\nProperties=species:S:1:pos:R:3:REF_forces:R:3 REF_energy=-2\nH 1 2 3 4 5 6\n"
    ),
    # string and logical columns, brackets and escapes in the comment: ASE reads those frames
    "strings": (
        '2\nProperties=species:S:1:pos:R:3:move_mask:L:1:name:S:1 REF_energy=1 note="a [b] c" list=[1,2,3]\n'
        "Si 0 0 0 T first\nO 1 1 1 F second\n"
        '1\nProperties=species:S:1:pos:R:3 REF_energy=2.0 REF_stress="1 2 3 4 5 6" stress="1 0 0 0 2 0 0 0 3"\nX 0 0 0\n'
    ),
    # extra columns beyond Properties (ASE ignores them)
    "extra_columns": "1\nProperties=species:S:1:pos:R:3 REF_energy=0.5\nNa 0.5 0.5 0.5 9 9\n",
    # an integer beyond int32 (ASE's integer columns are int32: it must decide)
    "big_int": "1\nProperties=species:S:1:pos:R:3:n:I:1 REF_energy=0.5\nNa 0.5 0.5 0.5 2147483647\n",
}
#: frames of each file that the fast reader must hand to ASE (the rest it parses itself)
TO_ASE = {"free_format": 1, "molecule_crlf": 0, "precision": 1, "strings": 1, "extra_columns": 1, "big_int": 0}


@pytest.mark.parametrize("name", sorted(ODD_FILES))
def test_fast_reader_equals_ase_read_on_odd_files(tmp_path, name, monkeypatch):
    import amlip.io.extxyz

    path = tmp_path / f"{name}.extxyz"
    path.write_bytes(ODD_FILES[name].encode())
    slow = list(iter_extxyz_frames(str(path), fast=False, calculator=False))
    handed, to_ase = [], amlip.io.extxyz._frame_from_ase
    monkeypatch.setattr(amlip.io.extxyz, "_frame_from_ase", lambda text: handed.append(text) or to_ase(text))
    fast = list(iter_extxyz_frames(str(path), fast=True, calculator=False))
    assert len(fast) == len(slow) > 0
    assert len(handed) == TO_ASE[name]
    for k, (a, b) in enumerate(zip(fast, slow)):
        _same_frame(a, b, f"{name} frame {k}")


def test_fast_reader_equals_ase_read_on_written_frames(tmp_path, quartz):
    from amlip.labelers.registry import make_labeler

    # frames written by ase.io.write (as the labelers do): %16.8f columns, labels, level of theory
    labelled = make_labeler("xtb", {}).single_point(quartz)
    rng = np.random.default_rng(3)
    frames = []
    for k in range(5):
        atoms = labelled.copy()
        atoms.positions += rng.normal(0, 0.1, atoms.positions.shape) * 10.0 ** rng.integers(-8, 4)
        atoms.arrays["REF_forces"] = rng.normal(0, 1, (len(atoms), 3)) * 10.0 ** rng.integers(-9, 6)
        atoms.info["REF_energy"] = float(rng.normal()) * 10.0 ** rng.integers(-5, 8)
        atoms.info["md_step"] = k
        frames.append(atoms)
    path = tmp_path / "labelled.extxyz"
    write_frames(path, frames)
    reference = ase.io.read(path, index=":", format="extxyz")
    fast = list(iter_extxyz_frames(str(path), fast=True, calculator=False))
    assert len(fast) == 5
    for k, (a, b) in enumerate(zip(fast, reference)):
        assert b.calc is None  # REF_* keys stay in info/arrays in ASE too
        _same_frame(a, b, f"frame {k}")
    # and the shipped fixture files
    for shipped in sorted(DATA.rglob("*.xyz")):
        try:
            slow = list(iter_extxyz_frames(str(shipped), fast=False, calculator=False))
        except Exception:
            continue
        for k, (a, b) in enumerate(zip(iter_extxyz_frames(str(shipped), fast=True, calculator=False), slow, strict=True)):
            _same_frame(a, b, f"{shipped.name} frame {k}")


def test_extxyz_round_trip_from_ase_calculator_keys(tmp_path):
    frames = _frames()
    path = tmp_path / "aimd.extxyz"
    ase.io.write(path, frames, format="extxyz")
    stream = iter_extxyz(path, AIMD, fast=True)
    assert isinstance(stream, types.GeneratorType)
    imported = list(stream)
    reference = list(iter_extxyz(path, AIMD, fast=False))  # ASE's reader
    assert len(imported) == 4
    for original, fast, slow in zip(frames, imported, reference):
        assert fast.get_chemical_symbols() == original.get_chemical_symbols()
        assert np.array_equal(fast.positions, slow.positions)
        assert np.allclose(fast.positions, original.positions, atol=1e-8)  # %16.8f on disk
        assert np.array_equal(fast.arrays[REF_FORCES], slow.arrays[REF_FORCES])
        assert np.allclose(fast.arrays[REF_FORCES], original.get_forces(), atol=1e-8)
        assert fast.info[REF_ENERGY] == original.get_potential_energy()
        assert np.allclose(fast.info[REF_STRESS], original.get_stress(), atol=1e-8)
        assert np.allclose(fast.cell, original.cell) and fast.pbc.all()
        assert fast.info["lot_hash"] == level_of_theory_hash(AIMD)
        assert "energy" not in fast.info and "forces" not in fast.arrays  # moved, not copied


@pytest.mark.parametrize("threaded", [False, True])
def test_extxyz_chunk_boundaries_and_free_format(tmp_path, threaded):
    path = tmp_path / "hand.extxyz"
    path.write_text(
        '2\nLattice="5 0 0 0 5 0 0 0 5" Properties=species:S:1:pos:R:3:forces:R:3 energy=-1.5 pbc="T T T"\n'
        "Si 0 0 0 1.0e-3 0 0\n  O  1.6 0.0 0.0   -1E-3 0 0\n"
        "\n"
        "1\nProperties=species:S:1:pos:R:3:forces:R:3 energy=-0.25\nH 0.1 0.2 0.3 0.5 -0.5 0.25\n"
    )
    frames = list(iter_extxyz(path, AIMD, fast=True))
    assert [a.info[REF_ENERGY] for a in frames] == [-1.5, -0.25]
    assert frames[0].arrays[REF_FORCES][:, 0].tolist() == [1e-3, -1e-3]
    assert frames[1].positions.tolist() == [[0.1, 0.2, 0.3]] and not frames[1].pbc.any()
    big = tmp_path / "big.extxyz"
    ase.io.write(big, _frames(6), format="extxyz")
    expected = [a.positions.tolist() for a in ase.io.iread(big, index=":")]
    for chunk_bytes in range(300, 3000, 53):  # read boundaries at every place in a line and a frame
        assert [
            a.positions.tolist()
            for a in iter_extxyz_frames(str(big), fast=True, calculator=False, chunk_bytes=chunk_bytes, threaded=threaded)
        ] == expected, chunk_bytes


def test_extxyz_streams_and_names_bad_frames(tmp_path):
    path = tmp_path / "truncated.extxyz"
    ase.io.write(path, _frames(3), format="extxyz")
    text = path.read_text()
    path.write_text(text[: len(text) - 200])
    first = next(islice(iter_extxyz(path, AIMD, fast=True), 1))  # frames before the damage still come
    assert first.info[REF_ENERGY] == -30.0
    for fast, reason in ((True, "the file ends inside this frame"), (False, "the header says 9 atoms but the file ends after")):
        with pytest.raises(ValueError, match=f"truncated.extxyz: frame 2, line 23: {reason}"):
            list(iter_extxyz(path, AIMD, fast=fast))
    plain = tmp_path / "plain.extxyz"
    plain.write_text('1\nProperties=species:S:1:pos:R:3 pbc="F F F"\nH 0 0 0\n')
    with pytest.raises(ValueError, match="frame 0 has no energy"):
        list(iter_extxyz(plain, AIMD, fast=True))


@pytest.mark.parametrize("threaded", [False, True])
def test_fast_reader_names_a_frame_that_is_not_one(tmp_path, threaded):
    """A line where an atom count should be stops the stream after the frames before it, in
    either thread, whether the bad line starts a read or not."""
    path = tmp_path / "broken.extxyz"
    ase.io.write(path, _frames(3), format="extxyz")
    path.write_text(path.read_text() + "this is not a frame\n" * 50)
    for chunk_bytes in (1 << 22, 512):
        frames = iter_extxyz_frames(str(path), fast=True, calculator=False, chunk_bytes=chunk_bytes, threaded=threaded)
        assert [a.info["energy"] for a in islice(frames, 3)] == [-30.0, -31.0, -32.0]
        with pytest.raises(ValueError, match="frame 3, line 34: starts with b'this is not a frame', not an atom count"):
            next(frames)


def test_extxyz_refuses_a_second_level_of_theory(tmp_path, quartz):
    from amlip.labelers.registry import make_labeler

    labelled = make_labeler("xtb", {}).single_point(quartz)
    path = tmp_path / "labelled.extxyz"
    write_frames(path, [labelled])
    with pytest.raises(LevelOfTheoryError, match="import it with its own level of theory"):
        list(iter_extxyz(path, AIMD, fast=True))
    same = make_labeler("xtb", {}).level_of_theory
    (again,) = iter_extxyz(path, same)
    assert again.info[REF_ENERGY] == labelled.info[REF_ENERGY]


def test_cp2k_md_import_converts_units():
    folder = DATA / "cp2k_md"
    frames = list(
        iter_cp2k_md(
            folder / "md-pos-1.xyz",
            AIMD,
            ener_path=folder / "md-1.ener",
            cell_path=folder / "md-1.cell",
            stress_path=folder / "md-1.stress",
            vel_path=folder / "md-vel-1.xyz",
        )
    )
    assert [a.info["md_step"] for a in frames] == [0, 1, 2, 3]
    assert frames[0].get_chemical_symbols() == ["O", "H", "H"]
    assert frames[0].positions[1].tolist() == [3.0, 3.863239, 2.9018455]
    assert frames[3].info[REF_ENERGY] == pytest.approx(-17.146555820 * Hartree, abs=1e-8)
    assert frames[0].arrays[REF_FORCES][0, 2] == pytest.approx(0.1278742447 * Hartree / Bohr)
    assert np.allclose(frames[2].cell, np.diag([6.0, 6.2, 6.4]))
    # MD stress minus the kinetic term = the static stress of a separate CP2K single point at
    # the step-0 geometry (same settings): 12588.93, 33320.20, 16772.14 bar, no shear
    static = -frames[0].info[REF_STRESS] / bar
    assert static == pytest.approx([12588.9268, 33320.1997, 16772.1357, 0, 0, 0], abs=0.1)
    with pytest.raises(ValueError, match="needs vel_path"):
        next(iter_cp2k_md(folder / "md-pos-1.xyz", AIMD, cell=np.eye(3) * 6, stress_path=folder / "md-1.stress"))
    with pytest.raises(ValueError, match="needs the cell"):
        next(iter_cp2k_md(folder / "md-pos-1.xyz", AIMD))
    # without the .ener file the energy of the xyz comment is used (same number)
    comment = list(iter_cp2k_md(folder / "md-pos-1.xyz", AIMD, cell=np.diag([6.0, 6.2, 6.4])))
    assert [a.info[REF_ENERGY] for a in comment] == pytest.approx([a.info[REF_ENERGY] for a in frames], abs=1e-8)


@pytest.mark.parametrize("name", ["OUTCAR", "vasprun.xml"])
def test_vasp_import_reads_every_ionic_step(name):
    frames = list(iter_vasp(DATA / "vasp" / name, VASP))
    assert len(frames) == 2 and frames[0].get_chemical_symbols() == ["Si", "O", "O"]
    assert [a.info[REF_ENERGY] for a in frames] == [-23.45678, -23.40]  # force-consistent free energies
    assert np.allclose(frames[1].positions, [[3, 3, 3], [4.56, 3, 3], [1.44, 3, 3]], atol=1e-12)
    assert frames[0].arrays[REF_FORCES][1].tolist() == [-1.234567, 0, 0]
    # VASP kB, XX YY ZZ XY YZ ZX -> ASE eV/Å^3, xx yy zz yz xz xy, opposite sign
    assert frames[0].info[REF_STRESS] == pytest.approx(
        -0.1 * GPa * np.array([-12.34567, -11.22222, -10.11111, 0.23456, 0.12345, 0.34567])
    )
    assert frames[0].info["lot_hash"] == level_of_theory_hash(VASP)


def test_write_stream_thins_without_a_list(tmp_path):
    src = tmp_path / "src.extxyz"
    ase.io.write(src, _frames(5), format="extxyz")
    out = tmp_path / "thin.extxyz"
    assert write_stream(out, iter_extxyz(src, AIMD), every=2) == 3
    back = read_frames(out)
    assert [a.info[REF_ENERGY] for a in back] == [-30.0, -32.0, -34.0]


def test_fast_reader_reuses_comment_layout_with_changing_values(tmp_path, monkeypatch):
    import amlip.io.extxyz

    """Frames with the same keys (the comment is matched by a cached pattern) whose values change
    kind from frame to frame read exactly as ase.io.read reads them."""
    values = [
        ('"5 0 0 0 5 0 0 0 5"', "-1.5", '"1 2 3 4 5 6"', "3", "a"),
        ('"5 0 0 0 5 0 0 0 5"', "-2", '"1.5 2 3 4 5 6"', "4", "T"),  # energy int, stress reals
        ('"6 0 0 0 6 0 0 0 6"', "1e3", '"1 2 3 4 5 6"', "99999999999999999999", "F"),  # int beyond int64
        ('"6 0 0 0 6 0 0 0 6"', "-1E-3", '"1,2,3,4,5,6"', "-7", "T T"),  # commas: ASE splits on them
        ('"6 0 0 0 6 0 0 0 6"', "+.25", '" 1 2  3 4 5 6"', "+8", "x=y"),  # = inside a plain value: to ASE
        ('"6 0 0 0 6 0 0 0 6"', "0.125", '"1 2 3 4 5 6 "', "9", '"q r"'),  # another quoting: new pattern
    ]
    text = ""
    for lattice, energy, stress, step, tag in values:
        text += (f"1\nLattice={lattice} Properties=species:S:1:pos:R:3:forces:R:3 energy={energy} "
                 f"REF_stress={stress} md_step={step} tag={tag} pbc=\"T T T\"\nSi 0.5 0.5 0.5 1 2 3\n")  # fmt: skip
    path = tmp_path / "changing.extxyz"
    path.write_text(text)
    slow = list(iter_extxyz_frames(str(path), fast=False, calculator=False))
    parsed, full_parse = [], amlip.io.extxyz._parse_comment_pairs
    monkeypatch.setattr(amlip.io.extxyz, "_TEMPLATE", [None])
    monkeypatch.setattr(amlip.io.extxyz, "_parse_comment_pairs", lambda comment: parsed.append(comment) or full_parse(comment))
    fast = list(iter_extxyz_frames(str(path), fast=True, calculator=False))
    assert len(fast) == len(slow) == len(values)
    assert (
        len(parsed) == 4
    )  # frames 0, 3 and 4 (a bare key, "=" in a value: to ASE), 5 (new quoting); 1-2 match the cached pattern
    for k, (a, b) in enumerate(zip(fast, slow)):
        _same_frame(a, b, f"frame {k}")
    assert type(fast[1].info["energy"]) is np.int64 and type(fast[2].info["energy"]) is np.float64


def _fixed_width_file() -> str:
    """Atom lines as ASE writes them (%16.8f after a %-2s species) with lines that break the
    fixed-width shape in every place the compiled reader's fixed-column path checks."""
    rng = np.random.default_rng(7)
    odd = {
        3: "Si  1234567.12345678     -0.00000000      +1.50000000      .50000000      -12.00000000    0.00000001",
        5: "O      -12345678.1234567  2.00000000      3.00000000      4.00000000      5.00000000      6.00000000",
        7: "O       1.00000000\t      2.00000000      3.00000000      4.00000000      5.00000000      6.00000000",
        9: "zn      1.00000000      2.00000000      3.00000000      4.00000000      5.00000000      6.00000000   ",
        11: "H       1.00000000e-05  2.00000000      3.00000000      4.00000000      5.00000000      6.00000000",
        13: "H       1.000000000     2.00000000      3.00000000      4.00000000      5.00000000      6.00000000",
        14: "H       2.000000000     2.00000000      3.00000000      4.00000000      5.00000000      6.00000000",
        15: "H      12345678.1234567 2.00000000      3.00000000      4.00000000      5.00000000      6.00000000",
        17: "H       1.00000000      2.00000000      3.00000000      4.00000000      5.00000000      6.00000000\r",
        19: "CA      1.2345678       2.00000000      3.00000000      4.00000000      5.00000000     66.0000000",
    }
    text = ""
    for frame in range(3):
        lines = []
        for i in range(24):
            if frame == 1 and i in odd:
                lines.append(odd[i])
                continue
            if frame == 2 and i == 12:  # a token in the blanks, the line as long as the one before
                lines.append(lines[-1][:20] + "7" + lines[-1][21:])
                continue
            if frame == 0 and i in (9, 10):  # trailing blanks, then a column more in their place
                lines.append(lines[-1] + "   " if i == 9 else lines[-2] + "  7")
                continue
            values = rng.normal(0, 10.0 ** rng.integers(-3, 4), 6)
            lines.append(f"{['Si', 'O', 'H', 'Zn'][i % 4]:<2} " + " ".join(f"{v:16.8f}" for v in values))
        text += f'24\nProperties=species:S:1:pos:R:3:forces:R:3 energy={-frame - 0.5} pbc="F F F"\n' + "\n".join(lines) + "\n"
    return text


@pytest.mark.parametrize("threaded", [False, True])
def test_fast_reader_fixed_width_lines_equal_ase_read(tmp_path, monkeypatch, threaded):
    """Lines read by the fixed-column path (their shape taken from the previous line) and lines
    that break that shape (overflowing, tab, trailing blanks, exponent, more decimals, no integer
    digit, other species case, CR) read exactly as ase.io.read reads them, at any read boundary."""
    import amlip.io.extxyz

    path = tmp_path / "fixed.extxyz"
    path.write_bytes(_fixed_width_file().encode())
    slow = list(iter_extxyz_frames(str(path), fast=False, calculator=False))
    handed, to_ase = [], amlip.io.extxyz._frame_from_ase
    monkeypatch.setattr(amlip.io.extxyz, "_frame_from_ase", lambda text: handed.append(text) or to_ase(text))
    for chunk_bytes in (1 << 22, 4000, 2999, 1500):
        fast = list(iter_extxyz_frames(str(path), fast=True, calculator=False, chunk_bytes=chunk_bytes, threaded=threaded))
        assert len(fast) == len(slow) == 3
        for k, (a, b) in enumerate(zip(fast, slow)):
            _same_frame(a, b, f"frame {k}, reads of {chunk_bytes} bytes")
    # all within the compiled reader's layout but frames 0 and 2 (a line with a column more: ASE decides)
    assert [text.split()[2] for text in handed] == ["energy=-0.5", "energy=-2.5"] * 4
    assert slow[1].positions[3, 0] == 1234567.12345678 and np.signbit(slow[1].positions[3, 1])


@pytest.mark.parametrize("threaded", [False, True])
def test_fast_reader_columns_change_between_frames(tmp_path, threaded):
    """Frames whose Properties change inside one read (parsed first with the previous frame's
    columns, then again with their own) read exactly as ase.io.read reads them."""
    layouts = [
        ("pos:R:3", "{:16.8f}" * 3),
        ("pos:R:3:forces:R:3", "{:16.8f}" * 6),
        ("pos:R:3:tag:I:1:forces:R:3", "{:16.8f}" * 3 + "{:8d}" + "{:16.8f}" * 3),
        ("forces:R:3:pos:R:3", "{:16.8f}" * 6),
    ]
    rng = np.random.default_rng(11)
    text = ""
    for frame, which in enumerate([0, 0, 1, 1, 2, 3, 1, 0, 2]):
        spec, fmt = layouts[which]
        text += f'3\nProperties=species:S:1:{spec} energy={frame}.5 pbc="F F F"\n'
        for symbol in ("Si", "O", "H"):
            values = list(rng.normal(size=fmt.count("f")))
            if "I" in spec:
                values.insert(3, int(rng.integers(-5, 5)))
            text += f"{symbol:<2} " + fmt.format(*values) + "\n"
    path = tmp_path / "columns.extxyz"
    path.write_text(text)
    slow = list(iter_extxyz_frames(str(path), fast=False, calculator=False))
    fast = list(iter_extxyz_frames(str(path), fast=True, calculator=False, chunk_bytes=1 << 22, threaded=threaded))
    assert len(fast) == len(slow) == 9
    for k, (a, b) in enumerate(zip(fast, slow)):
        _same_frame(a, b, f"frame {k}")
    assert fast[4].arrays["tag"].dtype == np.int32 and fast[5].arrays["forces"].flags.c_contiguous


def test_fast_reader_converts_changing_number_runs_as_ase(tmp_path):
    """Comment values matched by the cached pattern and converted without ASE's parser: runs of
    numbers with and without reals, exponents, a trailing blank, inf, as ase.io.read converts them."""
    runs = ["1.5 2 3 4 5 6", "1 2 3 4 5 6", "1e3 2 3 4 5 6", "1. .5 3 4 5 6", "1.5 ", "1.5 inf 3 4 5 6",
            "-0.0 +2.5E-3 3 4 5 6", "7 8"]  # fmt: skip
    text = "".join(f"1\nProperties=species:S:1:pos:R:3 energy=-{k}.25 run=\"{run}\" pbc=\"F F F\"\nH 0 0 0\n"
                   for k, run in enumerate(runs))  # fmt: skip
    path = tmp_path / "runs.extxyz"
    path.write_text(text)
    slow = list(iter_extxyz_frames(str(path), fast=False, calculator=False))
    fast = list(iter_extxyz_frames(str(path), fast=True, calculator=False))
    assert len(fast) == len(slow) == len(runs)
    for k, (a, b) in enumerate(zip(fast, slow)):
        _same_frame(a, b, f"frame {k}: {runs[k]!r}")
    assert fast[1].info["run"].dtype.kind == "i" and type(fast[4].info["run"]) is np.float64


def _damaged(tmp_path, name, damage):
    """Three quartz frames (9 atoms: frame k's header is line 11 k + 1) written by ASE, then damaged
    by ``damage(lines)`` (a list of lines without their ends)."""
    path = tmp_path / f"{name}.extxyz"
    ase.io.write(path, _frames(3), format="extxyz")
    lines = path.read_text().splitlines()
    damage(lines)
    path.write_text("\n".join(lines) + "\n")
    return path


def _replace_column(lines, row, column, text):
    tokens = lines[row].split()
    tokens[column] = text
    lines[row] = " ".join(tokens)


DAMAGE = {
    # frame 1, atom 2 (line 15): a word for a number
    "word": (lambda lines: _replace_column(lines, 14, 2, "abc"), 1, 15, "could not convert string to float: 'abc'"),
    # frame 2, atom 4 (line 27): a force column missing
    "column": (lambda lines: lines.__setitem__(26, " ".join(lines[26].split()[:-1])), 2, 27, "could not assign tuple"),
    # frame 1 says 7 atoms: frame 2 then starts at an atom line (line 21)
    "count": (lambda lines: lines.__setitem__(11, "7"), 2, 21, "not an atom count"),
    # the file stops two atom lines into frame 2 (header line 23)
    "truncated": (lambda lines: lines.__delitem__(slice(26, None)), 2, 23, "ends"),
}


@pytest.mark.parametrize("fast", [False, True], ids=["ase", "compiled"])
@pytest.mark.parametrize("case", sorted(DAMAGE))
def test_every_reader_error_names_the_file_the_frame_and_the_line(tmp_path, case, fast):
    damage, frame, line, reason = DAMAGE[case]
    path = _damaged(tmp_path, case, damage)
    frames = iter_extxyz_frames(str(path), fast=fast)
    with pytest.raises(ValueError) as error:
        for _ in frames:
            pass
    assert str(error.value).startswith(f"{path}: frame {frame}, line {line}: ")
    assert reason in str(error.value)


def test_both_readers_skip_blank_lines_between_frames(tmp_path):
    # ase.io.iread stops at the first blank line: two of three frames would vanish without a word
    path = _damaged(tmp_path, "blank", lambda lines: lines.insert(11, ""))
    for fast in (False, True):
        assert [a.get_potential_energy() for a in iter_extxyz_frames(str(path), fast=fast)] == [-30.0, -31.0, -32.0]


def test_cp2k_and_vasp_reader_errors_name_the_file_and_where(tmp_path):
    pos = tmp_path / "md-pos-1.xyz"
    lines = (DATA / "cp2k_md/md-pos-1.xyz").read_text().splitlines()
    n = int(lines[0])
    _replace_column(lines, n + 5, 1, "abc")  # frame 1 (header on line n + 3), atom 1
    pos.write_text("\n".join(lines) + "\n")
    shutil.copy(DATA / "cp2k_md/md-frc-1.xyz", tmp_path / "md-frc-1.xyz")
    with pytest.raises(ValueError, match=re.escape(f"{pos}: frame 1, line {n + 6}: could not convert string to float")):
        list(iter_cp2k_md(pos, AIMD, cell=np.eye(3) * 6.0, ener_path=DATA / "cp2k_md/md-1.ener"))
    ener = tmp_path / "md-1.ener"
    ener.write_text((DATA / "cp2k_md/md-1.ener").read_text().replace("0.000000", "x.000000", 1))
    bad_line = next(k for k, text in enumerate(ener.read_text().splitlines(), 1) if "x.000000" in text)
    with pytest.raises(ValueError, match=re.escape(f"{ener}, line {bad_line}: could not convert string to float")):
        list(iter_cp2k_md(DATA / "cp2k_md/md-pos-1.xyz", AIMD, cell=np.eye(3) * 6.0, ener_path=ener))
    xml = tmp_path / "vasprun.xml"
    text = (DATA / "vasp/vasprun.xml").read_text()
    xml.write_text(text[: text.index("<calculation>", text.index("<calculation>") + 1) + 200])
    with pytest.raises(ValueError, match=re.escape(f"{xml}: ionic step 1: ParseError")):
        list(iter_vasp(xml, VASP))


def _with_labels(tmp_path, name, edit):
    """Three labelled quartz frames written by ASE with ``edit(frames)`` applied first."""
    frames = _frames(3)
    edit(frames)
    path = tmp_path / f"{name}.extxyz"
    ase.io.write(path, frames, format="extxyz")
    return path


@pytest.mark.parametrize("fast", [False, True], ids=["ase", "compiled"])
def test_a_label_that_is_not_finite_is_refused_at_import_naming_the_file_and_frame(tmp_path, fast):
    def nan_force(frames):
        frames[2].calc.results["forces"][4, 1] = np.nan

    def inf_stress(frames):
        frames[1].calc.results["stress"][3] = np.inf

    path = _with_labels(tmp_path, "nan", nan_force)
    with pytest.raises(ValueError, match=re.escape(f"{path}: frame 2: REF_forces[4, 1] is nan; every label entering a data set")):
        list(iter_extxyz(path, AIMD, fast=fast))
    path = _with_labels(tmp_path, "inf", inf_stress)
    with pytest.raises(ValueError, match=re.escape(f"{path}: frame 1: REF_stress[3] is inf")):
        list(iter_extxyz(path, AIMD, fast=fast))


def test_a_failed_import_leaves_nothing_at_the_output_and_an_empty_source_is_refused(tmp_path):
    good = _with_labels(tmp_path, "good", lambda frames: None)
    bad = _with_labels(tmp_path, "bad", lambda frames: frames[1].calc.results.__setitem__("energy", np.nan))
    out = tmp_path / "out" / "imported.extxyz"
    sources = [{"format": "extxyz", "path": str(p), "level_of_theory": AIMD} for p in (good, bad)]
    with pytest.raises(ValueError, match=re.escape(f"{bad}: frame 1: REF_energy is nan")):
        import_sources([], sources, None, out)
    assert not out.exists() and list(out.parent.iterdir()) == []  # three frames were written before the error
    empty = tmp_path / "empty.extxyz"
    empty.write_text("")
    with pytest.raises(ValueError, match=re.escape(f"import source import_1: {empty} has no frames")):
        import_sources([], sources[:1] + [{**sources[0], "path": str(empty)}], None, out)
    assert not out.exists()
    table = import_sources([], sources[:1], None, out)
    assert len(table) == len(read_frames(out)) == 3
