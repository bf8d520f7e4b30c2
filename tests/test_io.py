import numpy as np
import pytest
from ase import Atoms

from amlip.io.frames import read_frames, write_frames
from amlip.io.lot import (
    LevelOfTheoryError,
    e0s_reference,
    level_of_theory_hash,
    merge_labelled,
    parse_level_of_theory,
    stamp_level_of_theory,
)


def _frame(record):
    atoms = Atoms("H2", positions=[[0, 0, 0], [0, 0, 0.74]], cell=[5, 5, 5], pbc=True)
    atoms.info["REF_energy"] = -1.0
    atoms.arrays["REF_forces"] = np.zeros((2, 3))
    stamp_level_of_theory(atoms, record)
    return atoms


def test_level_of_theory_roundtrip_through_extxyz(tmp_path):
    record = {"code": "tblite", "method": "GFN1-xTB", "kpoints": "gamma"}
    path = tmp_path / "f.extxyz"
    write_frames(path, [_frame(record)])
    back = read_frames(path)[0]
    assert parse_level_of_theory(back.info["level_of_theory"]) == record
    assert len(back.info["lot_hash"]) == 10


def test_merge_refuses_mixed_levels_and_names_both():
    a = {"a.extxyz": [_frame({"code": "tblite", "method": "GFN1-xTB"})]}
    b = {"b.extxyz": [_frame({"code": "tblite", "method": "GFN2-xTB"})]}
    with pytest.raises(LevelOfTheoryError) as err:
        merge_labelled(a | b)
    text = str(err.value)
    assert "GFN1-xTB" in text and "GFN2-xTB" in text and "b.extxyz" in text and "a.extxyz" in text


def test_merge_accepts_one_level():
    record = {"code": "tblite", "method": "GFN1-xTB"}
    merged = merge_labelled({"a": [_frame(record)], "b": [_frame(record), _frame(record)]})
    assert len(merged) == 3


def test_merge_refuses_frames_of_another_level_than_the_e0s(tmp_path):
    """A domain's data set must share the level of theory of the E0s it is trained with (eq labels at 'high')."""
    import json

    low, high = {"code": "vasp", "accuracy": "low"}, {"code": "vasp", "accuracy": "high"}
    e0s = tmp_path / "isolated_atoms.json"
    e0s.write_text(json.dumps({"energies_eV": {"H": -1.1}, "level_of_theory": high, "lot_hash": level_of_theory_hash(high)}))
    reference = e0s_reference(e0s)
    assert len(merge_labelled({"train.extxyz": [_frame(high)] * 2}, reference)) == 2
    with pytest.raises(LevelOfTheoryError) as err:
        merge_labelled({"train.extxyz": [_frame(high), _frame(low)]}, reference)
    text = str(err.value)
    assert f"the isolated-atom energies {e0s} is {level_of_theory_hash(high)} (accuracy=high;code=vasp)" in text
    assert f"frame 1 of train.extxyz is {level_of_theory_hash(low)}" in text


def test_merge_refuses_unlabelled_frame():
    with pytest.raises(LevelOfTheoryError, match="frame 0 of raw.extxyz has no 'lot_hash'"):
        merge_labelled({"raw.extxyz": [Atoms("H")]})


def test_empty_file_roundtrip(tmp_path):
    path = tmp_path / "empty.extxyz"
    assert write_frames(path, []) == 0
    assert read_frames(path) == []


def test_both_engines_of_the_one_reader_give_ase_frames_with_their_calculator(tmp_path):
    """read_frames' frames whatever the engine: calculator results (energy, forces, stress) where ASE puts them."""
    import ase.io
    from ase.calculators.singlepoint import SinglePointCalculator

    from amlip.io.extxyz import iter_extxyz_frames

    rng = np.random.default_rng(0)
    frames = []
    for k in range(3):
        atoms = Atoms("SiO2", positions=rng.uniform(0, 5, (3, 3)), cell=[5, 5, 5], pbc=True)
        atoms.calc = SinglePointCalculator(atoms, energy=-1.5 * k, forces=rng.normal(size=(3, 3)), stress=rng.normal(size=6))
        atoms.info["REF_energy"] = 0.25 * k
        atoms.arrays["REF_forces"] = rng.normal(size=(3, 3))
        frames.append(atoms)
    path = tmp_path / "f.extxyz"
    ase.io.write(path, frames, format="extxyz")
    expected = ase.io.read(path, index=":", format="extxyz")
    for fast in (False, True):
        got = list(iter_extxyz_frames(path, fast=fast))
        assert len(got) == 3
        for a, b in zip(got, expected):
            assert a.calc is not None and a.get_potential_energy() == b.get_potential_energy()
            np.testing.assert_array_equal(a.get_forces(), b.get_forces())
            np.testing.assert_array_equal(a.get_stress(), b.get_stress())
            assert a.info == b.info and sorted(a.arrays) == sorted(b.arrays) == ["REF_forces", "numbers", "positions"]
        keys = list(iter_extxyz_frames(path, fast=fast, calculator=False))
        assert keys[1].calc is None and keys[1].info["energy"] == -1.5 and keys[1].arrays["forces"].shape == (3, 3)
    assert read_frames(tmp_path / "f.extxyz")[2].get_potential_energy() == -3.0


def test_merge_refuses_a_label_that_is_not_finite_naming_the_file_frame_and_origin(tmp_path):
    record = {"code": "x", "method": "a"}
    good = [_frame(record) for _ in range(3)]
    bad = [_frame(record) for _ in range(3)]
    bad[2].arrays["REF_forces"][1, 2] = np.nan
    bad[2].info.update(aimd_source="import_0", aimd_frame=40)
    with pytest.raises(ValueError) as error:
        merge_labelled({"chunk_0.extxyz": good, "imported.extxyz": bad})
    assert str(error.value).startswith(
        "frame 2 of imported.extxyz (aimd_source import_0, aimd_frame 40): REF_forces[1, 2] is nan; every label"
    )
    # through a file and back (the merge reads what the chunks wrote)
    good[1].info["REF_energy"] = np.inf
    path = tmp_path / "chunk_1.extxyz"
    write_frames(path, good)
    with pytest.raises(ValueError, match=f"frame 1 of {path}: REF_energy is inf"):
        merge_labelled({str(path): read_frames(path)})


def test_writes_appear_whole_or_not_at_all(tmp_path):
    from amlip.io.frames import write_stream

    def frames_then_error():
        yield _frame({"code": "x"})
        yield _frame({"code": "x"})
        raise RuntimeError("step 2 failed")

    out, partial = tmp_path / "run" / "trajectory.extxyz", tmp_path / "logs" / "partial.extxyz"
    with pytest.raises(RuntimeError, match="step 2 failed"):
        write_stream(out, frames_then_error(), partial=partial)
    assert not out.exists() and list(out.parent.iterdir()) == []
    assert [a.info["REF_energy"] for a in read_frames(partial)] == [-1.0, -1.0]
    with pytest.raises(RuntimeError):
        write_stream(out, frames_then_error())
    assert list(out.parent.iterdir()) == []
    assert write_stream(out, [_frame({"code": "x"})] * 3, every=2) == 2 and len(read_frames(out)) == 2


def test_the_data_set_refuses_an_element_without_an_isolated_atom_energy(tmp_path):
    import json

    from amlip.io.lot import e0s_elements

    record = {"code": "x", "method": "a"}
    e0s = tmp_path / "isolated_atoms.json"
    e0s.write_text(json.dumps({"energies_eV": {"H": -13.6}, "level_of_theory": record, "lot_hash": level_of_theory_hash(record)}))
    water = _frame(record)
    water.symbols[1] = "O"
    water.info["aimd_source"] = "import_0"
    frames = {"train.extxyz": [_frame(record), water]}
    with pytest.raises(ValueError) as error:
        merge_labelled(frames, e0s_reference(e0s), e0s_elements(e0s))
    assert str(error.value) == (
        f"frame 1 of train.extxyz (aimd_source import_0) has ['O'], which the isolated-atom energies {e0s} lacks (['H']): "
        "add ['O'] to the config's elements"
    )
    assert len(merge_labelled({"train.extxyz": frames["train.extxyz"][:1]}, e0s_reference(e0s), ["H"])) == 1
