"""D3 (produce.dispersion) wherever the model runs MD for a property (NS): VDOS, IR snapshots, elastic moduli,
strain fluctuations and the density screening, not only in the melt-quench."""

import importlib.util
import re
import sys

import pytest

from conftest import ROOT, small_mace

RULES = {
    "md_vdos": "validate",
    "md_vdos_system": "systems",
    "sample_low_temperature": "validate",
    "validate_elastic": "validate",
    "validate_elastic_fluctuation": "validate",
    "validate_elastic_md": "validate",
    "screen_member": "learn",
}


@pytest.mark.parametrize("rule", sorted(RULES))
def test_property_md_rules_pass_production_d3_to_their_model(rule):
    text = (ROOT / f"rules/{RULES[rule]}.smk").read_text()
    block = re.split(r"^(?=rule )", text, flags=re.M)
    block = next(b for b in block if b.startswith(f"rule {rule}:"))
    # production's D3, or the variant's (which falls back to it: rules/common.smk variant_dispersion)
    assert 'dispersion=config["produce"]["dispersion"]' in block or "dispersion=variant_dispersion" in block
    script = (ROOT / re.search(r'"\.\./(scripts/\w+\.py)"', block).group(1)).read_text()
    assert "p.dispersion" in script and re.search(r"with_dispersion\(|dispersion=d3_settings\(dispersion\)", script)


def test_the_vdos_run_feels_d3(tmp_path):
    """The VDOS MD of one quartz cell with a MACE model, without and with D3(BJ): the NVE energies differ by the
    D3 energy of the start (same seed, same structure), which is negative."""
    pytest.importorskip("mace")
    pytest.importorskip("dftd3")
    import torch

    from amlip.io.frames import read_frames, write_frames
    from amlip.md.dispersion import dftd3_calculator
    from amlip.structures.crystals import build_crystal

    sys.path.insert(0, str(ROOT / "scripts"))
    spec = importlib.util.spec_from_file_location("md_vdos", ROOT / "scripts/md_vdos.py")
    md_vdos = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(md_vdos)
    model = tmp_path / "small.model"
    torch.save(small_mace().double(), model)
    quartz = build_crystal("alpha_quartz", (1, 1, 1))
    write_frames(tmp_path / "glass.extxyz", [quartz])
    md = {"temperature_K": 300.0, "nvt_ps": 0.005, "nve_ps": 0.01, "timestep_fs": 1.0, "sample_every_fs": 2.0}
    md["friction_per_fs"] = 0.01
    d3 = {"method": "d3bj", "functional": "pbe"}
    energies = {}
    for name, dispersion in (("off", {}), ("d3", d3)):
        out = tmp_path / f"vdos_{name}.extxyz"
        md_vdos.main(str(model), str(tmp_path / "glass.extxyz"), str(out), md, 0, "float64", "cpu", _Log(), dispersion)
        energies[name] = read_frames(out)[0].info["etot_eV"]
    atoms = quartz.copy()
    atoms.calc = dftd3_calculator(d3)
    e_d3 = atoms.get_potential_energy()
    assert e_d3 < 0
    assert energies["d3"] - energies["off"] == pytest.approx(e_d3, abs=0.05 * abs(e_d3))


class _Log:
    def info(self, *args):
        pass
