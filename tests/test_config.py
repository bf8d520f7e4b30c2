"""One settings boundary: the schema's defaults are the only defaults, and config.yaml is them."""

import ast
import copy
import re
from pathlib import Path

import pytest
import yaml
from snakemake.utils import validate

from amlip.config import check_config, drop_removed_crystals

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "config" / "schema.yaml"
CONFIG = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())


def schema_defaults() -> dict:
    """What Snakemake's validate() fills into an empty config: every default of the schema."""
    config = {}
    validate(config, str(SCHEMA), set_default=True)
    return config


def differences(a, b, path=""):
    """Keys where two nested configs differ, as dotted paths."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for key in sorted(set(a) | set(b)):
            where = f"{path}.{key}" if path else str(key)
            if key not in a:
                out.append(f"{where} (only in config.yaml)")
            elif key not in b:
                out.append(f"{where} (only in the schema)")
            else:
                out += differences(a[key], b[key], where)
        return out
    return [] if a == b else [f"{path}: schema {a!r}, config.yaml {b!r}"]


def leaves(config, path=""):
    """Dotted paths of the values of a nested config."""
    if isinstance(config, dict) and config:
        return [leaf for key, value in config.items() for leaf in leaves(value, f"{path}.{key}" if path else str(key))]
    return [path]


def properties(schema: dict, path: str = ""):
    """Every (dotted path, property schema) of the JSON schema, through objects, maps and $defs."""
    for key, sub in schema.get("properties", {}).items():
        where = f"{path}.{key}" if path else key
        yield where, sub
        yield from properties(sub, where)
    for pattern, sub in schema.get("patternProperties", {}).items():
        yield from properties(sub, f"{path}.<{pattern}>")
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict):
        yield from properties(extra, f"{path}.<name>")
    if isinstance(schema.get("items"), dict):
        yield from properties(schema["items"], f"{path}[]")
    for key, sub in schema.get("$defs", {}).items():
        yield from properties(sub, f"$defs.{key}")


def test_config_yaml_is_the_schema_defaults_key_by_key():
    defaults = schema_defaults()
    assert len(leaves(defaults)) > 200, "validate() filled almost nothing: is every block given a default?"
    assert differences(defaults, CONFIG) == []


def test_every_schema_property_is_described():
    schema = yaml.safe_load(SCHEMA.read_text())
    found = list(properties(schema))
    assert len(found) > 200
    missing = [path for path, sub in found if "description" not in sub]
    assert missing == []
    # an unquoted comma in a flow mapping ({..., description: a, b}) cuts the description short
    broken = [path for path, sub in found if any(value is None and key != "default" for key, value in sub.items())]
    assert broken == []


def test_a_changed_default_is_caught():
    changed = copy.deepcopy(CONFIG)
    changed["validate"]["rings"]["max_size"] = 10
    assert differences(schema_defaults(), changed) == ["validate.rings.max_size: schema 12, config.yaml 10"]


def test_shipped_configs_pass_the_cross_field_checks():
    for path in sorted((ROOT / "config").rglob("*.yaml")):
        if path.name == "schema.yaml":
            continue
        config = copy.deepcopy(CONFIG)
        _update(config, yaml.safe_load(path.read_text()) or {})
        drop_removed_crystals(config)
        validate(config, str(SCHEMA), set_default=True)
        check_config(config)


def _update(base: dict, override: dict) -> None:
    """Snakemake's merge of --configfile files: nested dicts updated key by key."""
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _update(base[key], value)
        else:
            base[key] = value


@pytest.mark.parametrize(
    "override, message",
    [
        ({"train": {"architecture": "allegro"}}, "train.architecture is allegro but train.nequip.preset is zif_nequip"),
        ({"produce": {"melt_quench": {"domain": "eq"}}}, "produce.melt_quench.domain 'eq' is not in learn.domains ['syn']"),
        ({"pore": {"domain": "eq"}}, "pore.domain 'eq' is not in learn.domains ['syn']"),
        ({"aimd": {"structures": ["nowhere"]}}, "aimd.structures names ['nowhere']"),
        ({"aimd": {"domains": ["eq"]}}, "aimd.domains names ['eq']"),
        ({"learn": {"sigma_low_eV_A": 2.0}}, "learn.sigma_low_eV_A 2.0 must be below learn.sigma_high_eV_A 1.0"),
        (
            {"learn": {"domain_settings": {"syn": {"sigma_high_eV_A": 0.05}}}},
            "learn.sigma_low_eV_A 0.1 must be below learn.domain_settings.syn.sigma_high_eV_A 0.05",
        ),
        (
            {"learn": {"choose_by": {"property": "density"}}},
            "learn.choose_by.property is density but learn.choose_by.reference_g_cm3",
        ),
        ({"learn": {"choose_by": {"property": "dehydrogenation"}}}, "learn.choose_by screens on structure 'hydroxylated_pore'"),
        ({"label": {"relabel": {"x": {"frames": "a.extxyz", "backend": "dft9000"}}}}, "dft9000"),
        (
            {"elements": ["Si", "O", "Na"], "structures": {"random": {"units": {"SiO2": 20, "Na2O": 5}}}},
            "explore.classical.potential is BKS, which covers Si and O only, but the random packings (structures.random.units) "
            "hold ['Na']: set explore.classical.potential to {}",
        ),
        ({"explore": {"classical": {"potential": {"potential": "reaxff"}}}}, "ReaxFF needs ffield and elements"),
        ({"explore": {"classical": {"potential": {"potential": "tersoff"}}}}, "the LAMMPS engine runs bks or reaxff"),
        (
            {"label": {"backend": "lammps"}},
            "explore.classical.potential is bks, the reference labeler itself (label.backend lammps)",
        ),
    ],
)
def test_cross_field_errors_name_the_keys(override, message):
    config = copy.deepcopy(CONFIG)
    _update(config, override)
    try:
        validate(config, str(SCHEMA), set_default=True)
    except Exception as error:  # the schema already refuses it
        assert message in str(error)
        return
    with pytest.raises(ValueError, match=re.escape(message)):
        check_config(config)


def test_all_cross_field_errors_come_at_once():
    config = copy.deepcopy(CONFIG)
    _update(config, {"produce": {"melt_quench": {"domain": "eq"}}, "aimd": {"structures": ["nowhere"]}})
    validate(config, str(SCHEMA), set_default=True)
    with pytest.raises(ValueError) as error:
        check_config(config)
    assert "produce.melt_quench.domain" in str(error.value) and "aimd.structures" in str(error.value)


def test_labeler_presets_in_code_equal_the_schema_defaults():
    """The labelers keep their presets for library use; the pipeline's defaults (schema) must be the same numbers."""
    from amlip.labelers.base import RUN_SETTINGS
    from amlip.labelers.cp2k import CP2K_DEFAULTS
    from amlip.labelers.espresso import ESPRESSO_DEFAULTS
    from amlip.labelers.lammps import LAMMPS_DEFAULTS
    from amlip.labelers.vasp import VASP_DEFAULTS
    from amlip.labelers.xtb import XTB_DEFAULTS

    label = schema_defaults()["label"]
    presets = {
        "xtb": XTB_DEFAULTS,
        "cp2k": CP2K_DEFAULTS,
        "vasp": VASP_DEFAULTS,
        "lammps": LAMMPS_DEFAULTS,
        "espresso": ESPRESSO_DEFAULTS,
    }
    for backend, preset in presets.items():
        physics = {key: value for key, value in label[backend].items() if key not in RUN_SETTINGS}
        assert physics == preset, backend


LITERAL_GET = re.compile(r"""\.get\(\s*[^(),]+,\s*(?:-?\d|["'\[{(]|True\b|False\b|None\b)""")


def literal_get_calls(path: Path, root: Path = ROOT) -> list[str]:
    """`.get(key, <literal>)` calls of a script (AST) or rule file (text, comments left out), as 'file:line'."""
    if path.suffix == ".py":
        found = []
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "get"
                and len(node.args) > 1
            ):
                default = node.args[1]
                if isinstance(default, (ast.Constant, ast.List, ast.Dict, ast.Tuple, ast.Set)) or (
                    isinstance(default, ast.UnaryOp) and isinstance(default.operand, ast.Constant)
                ):
                    found.append(f"{path.relative_to(root)}:{node.lineno}")
        return found
    lines = path.read_text().splitlines()
    return [f"{path.relative_to(root)}:{k}" for k, line in enumerate(lines, 1) if LITERAL_GET.search(line.split("#")[0])]


def test_no_get_with_a_literal_default_in_scripts_or_rules():
    """Defaults live in the schema only: rules and scripts read the validated config as it is."""
    files = sorted((ROOT / "scripts").glob("*.py")) + sorted((ROOT / "rules").glob("*.smk")) + [ROOT / "Snakefile"]
    assert len(files) > 50
    assert [hit for path in files for hit in literal_get_calls(path)] == []


def test_the_literal_get_finder_finds_them(tmp_path):
    script, rules = tmp_path / "s.py", tmp_path / "r.smk"
    script.write_text('a = s.get("x", 1.0)\nb = s.get("x")\nc = s.get("y", [300])\nd = s.get("z", other)\n')
    rules.write_text('    params:\n        x=config["a"].get("b", {}),\n        y=config["a"].get("b"),  # .get("c", 1)\n')
    assert literal_get_calls(script, tmp_path) == ["s.py:1", "s.py:3"]
    assert literal_get_calls(rules, tmp_path) == ["r.smk:2"]


def test_a_null_crystal_in_an_overlay_drops_that_default_crystal():
    config = copy.deepcopy(CONFIG)
    _update(config, {"structures": {"crystals": {"alpha_quartz": None, "zif4": {"cif": "x.cif"}}}})
    assert config["structures"]["crystals"]["alpha_quartz"] is None
    drop_removed_crystals(config)
    assert list(config["structures"]["crystals"]) == ["beta_cristobalite", "zif4"]
