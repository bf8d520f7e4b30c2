"""One settings boundary: the schema's defaults are the only defaults, and config.yaml is them."""

import ast
import copy
import re
from pathlib import Path

import pytest
import yaml
from snakemake.utils import validate

from amlip.config import check_config, drop_removed_crystals, main, read_yaml

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
        # whole configs replace config.yaml (--replace-workflow-config); the schema fills the rest
        config = {} if path.read_text().startswith("# Whole config") else copy.deepcopy(CONFIG)
        _update(config, yaml.safe_load(path.read_text()) or {})
        drop_removed_crystals(config)
        validate(config, str(SCHEMA), set_default=True)
        check_config(config, SCHEMA)


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
            "learn.sigma_low_eV_A 0.25 must be below learn.domain_settings.syn.sigma_high_eV_A 0.05",
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
        ({"elements": ["Si"]}, "structures.random.units.SiO2 has O, which elements ['Si'] lacks: add O to elements"),
        ({"elements": ["Si", "O", "Xx"]}, "elements names 'Xx', which is not a chemical symbol"),
        (
            {"structures": {"random": {"units": {"SiO2": 20, "Al2O3": 2}}}},
            "structures.random.units.Al2O3 has Al, which elements ['Si', 'O'] lacks",
        ),
        ({"structures": {"random": {"units": {"MgO": 2}}}}, "structures.random.units.MgO is not a precursor unit"),
        ({"pore": {}}, "pore (its hydroxyls) has H, which elements ['Si', 'O'] lacks"),
        ({"train": {"mtp": {"preset": "mtp16"}}}, "'mtp16' is not one of ['as_mtp16', 'tiny_mtp']"),
        (
            {"train": {"architecture": "mtp", "mtp": {"overrides": {"min_dist_A": 6.0}}}},
            "train.mtp min_dist_A 6.0 must be > 0 and < max_dist_A 5.0",
        ),
        ({"select": {"soap": {"centers": ["Al"]}}}, "select.soap.centers has Al, which elements ['Si', 'O'] lacks"),
        ({"structures": {"crystals": {"x": {"cif": "nowhere.cif"}}}}, "structures.crystals.x.cif nowhere.cif cannot be read"),
        ({"explore": {"classical": {"potential": {"potential": "reaxff"}}}}, "ReaxFF needs ffield and elements"),
        ({"explore": {"classical": {"potential": {"potential": "tersoff"}}}}, "the LAMMPS engine runs bks or reaxff"),
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


def test_the_elements_of_a_cif_crystal_must_be_in_elements(tmp_path):
    from ase.build import bulk

    cif = tmp_path / "rocksalt.cif"
    bulk("NaCl", "rocksalt", a=5.64).write(cif)
    config = copy.deepcopy(CONFIG)
    _update(config, {"structures": {"crystals": {"rocksalt": {"cif": str(cif)}}}})
    validate(config, str(SCHEMA), set_default=True)
    with pytest.raises(ValueError) as error:
        check_config(config, SCHEMA)
    assert "structures.crystals.rocksalt has Cl, which elements ['Si', 'O'] lacks" in str(error.value)
    assert "structures.crystals.rocksalt has Na," in str(error.value)
    config["elements"] += ["Na", "Cl"]
    check_config(config, SCHEMA)


def test_all_cross_field_errors_come_at_once():
    config = copy.deepcopy(CONFIG)
    _update(config, {"produce": {"melt_quench": {"domain": "eq"}}, "aimd": {"structures": ["nowhere"]}})
    validate(config, str(SCHEMA), set_default=True)
    with pytest.raises(ValueError) as error:
        check_config(config)
    assert "produce.melt_quench.domain" in str(error.value) and "aimd.structures" in str(error.value)


@pytest.mark.parametrize(
    "override, message",
    [
        ({"learn": {"n_iterations": 1.0}}, "learn.n_iterations: 1.0 is a real number where an integer is needed (write 1)"),
        ({"label": {"chunk_size": 6.0}}, "label.chunk_size: 6.0 is a real number where an integer is needed (write 6)"),
        (
            {"produce": {"melt_quench": {"time_scale": float("nan")}}},
            "produce.melt_quench.time_scale: nan is not a finite number",
        ),
        (
            {"produce": {"melt_quench": {"timestep_fs": float("inf")}}},
            "produce.melt_quench.timestep_fs: inf is not a finite number",
        ),
        (
            {"explore": {"md": {"temperatures_K": [300, float("inf")]}}},
            "explore.md.temperatures_K[1]: inf is not a finite number",
        ),
        ({"label": {"cp2k": {"kpoints": [2, 2, 2.0]}}}, "label.cp2k.kpoints[2]: 2.0 is a real number where an integer is needed"),
    ],
)
def test_reals_for_integers_and_non_finite_numbers_are_refused_naming_the_key(override, message):
    config = copy.deepcopy(CONFIG)
    _update(config, override)
    validate(config, str(SCHEMA), set_default=True)  # JSON Schema itself lets these through
    with pytest.raises(ValueError, match=re.escape(message)):
        check_config(config, SCHEMA)


@pytest.mark.parametrize(
    "override, message",
    [
        ({"train": {"mace": {"x$(touch pwned)": True}}}, "'x$(touch pwned)' does not match"),
        ({"train": {"finetune": {"flags": {"a b": 1}}}}, "'a b' does not match"),
        ({"train": {"nequip": {"overrides": {"model": {"l;max": 1}}}}}, "'l;max' does not match"),
        ({"device": {"train": "cpu; rm -rf ~"}}, "'cpu; rm -rf ~' is not one of ['auto', 'cpu', 'cuda']"),
    ],
)
def test_the_schema_refuses_flag_names_a_shell_would_run(override, message):
    config = copy.deepcopy(CONFIG)
    _update(config, override)
    with pytest.raises(Exception, match=re.escape(message)):
        validate(config, str(SCHEMA), set_default=True)


def test_a_yaml_syntax_error_names_file_line_and_column(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("learn:\n  n_iterations: 1\n   stop_when_converged: false\n")
    with pytest.raises(
        ValueError, match=re.escape(f"{bad}, line 3, column 23: YAML syntax error: mapping values are not allowed")
    ):
        read_yaml(bad)
    assert main([str(bad)], root=ROOT) == 1
    assert f"{bad}, line 3" in capsys.readouterr().err
    nan = tmp_path / "nan.yaml"
    nan.write_text("produce: {melt_quench: {time_scale: .nan}}\n")
    assert main([str(nan)], root=ROOT) == 1
    assert "produce.melt_quench.time_scale: nan is not a finite number" in capsys.readouterr().err
    assert main([str(ROOT / "config/tests/tiny.yaml")], root=ROOT) == 0


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


def test_no_random_packings_need_a_structure_or_units_for_the_glasses():
    # a whole config (--replace-workflow-config): only the schema fills in
    config = {"structures": {"random": {"n_structures": 0}}, "produce": {"melt_quench": {"units": {}}}}
    validate(config, str(SCHEMA), set_default=True)
    config["aimd"]["structures"] = []
    with pytest.raises(
        ValueError, match=re.escape("structures.random.n_structures is 0, but the glasses start from the random packings")
    ):
        check_config(config, SCHEMA)
    config["produce"]["melt_quench"]["structure"] = "crystal_alpha_quartz"
    check_config(config, SCHEMA)
    config["produce"]["melt_quench"]["structure"] = None
    config["produce"]["melt_quench"]["units"] = {"SiO2": 8}
    check_config(config, SCHEMA)


def test_level_of_theory_changes_name_the_key_and_the_file(tmp_path):
    import json

    from amlip.config import level_of_theory_changes

    config = copy.deepcopy(CONFIG)
    _update(config, {"label": {"backend": "xtb"}, "aimd": {"domains": ["syn"]}})  # the default labels with BKS
    validate(config, str(SCHEMA), set_default=True)
    settings = dict(config["label"]["xtb"])
    e0s = tmp_path / "label/syn/isolated_atoms.json"
    run = tmp_path / "aimd/syn/run_random_0/run.json"
    for path in (e0s, run):
        path.parent.mkdir(parents=True)
        path.write_text(json.dumps({"backend": "xtb", "settings": settings}))
    assert level_of_theory_changes(config, tmp_path) == []
    # run settings are not the level of theory
    _update(config, {"label": {"xtb": {"timeout_s": 5}}})
    assert level_of_theory_changes(config, tmp_path) == []
    _update(config, {"label": {"xtb": {"accuracy": 0.5}}})
    assert level_of_theory_changes(config, tmp_path) == [
        f"label.xtb.accuracy is 0.5, but was 1.0 when {e0s} was computed",
        f"label.xtb.accuracy is 0.5, but was 1.0 when {run} was computed",
    ]
    other = "GFN1-xTB" if settings["method"] == "GFN2-xTB" else "GFN2-xTB"
    _update(config, {"label": {"xtb": {"accuracy": 1.0}}, "aimd": {"settings": {"method": other}}})
    assert level_of_theory_changes(config, tmp_path) == [
        f"aimd.settings.method is '{other}', but was '{settings['method']}' when {run} was computed"
    ]
    config["aimd"]["settings"] = {}
    _update(config, {"label": {"backend": "lammps"}})
    changes = level_of_theory_changes(config, tmp_path)
    assert changes[0] == f"label.backend is lammps, but was xtb when {e0s} was computed"
    # AIMD (xtb) no longer takes the label settings: each is now the preset's, not the config's
    assert changes[1] == f"aimd.settings.accuracy is not set, but was 1.0 when {run} was computed" and len(changes) == 5


def test_a_null_crystal_in_an_overlay_drops_that_default_crystal():
    config = copy.deepcopy(CONFIG)
    _update(config, {"structures": {"crystals": {"alpha_quartz": None, "zif4": {"cif": "x.cif"}}}})
    assert config["structures"]["crystals"]["alpha_quartz"] is None
    drop_removed_crystals(config)
    assert list(config["structures"]["crystals"]) == ["beta_cristobalite", "zif4"]


def test_make_run_installs_only_the_environments_the_config_loads_models_from(tmp_path, capsys):
    """python -m amlip.config --environments: nothing beyond .venv for the default (MACE), nequip for a NequIP
    or Allegro committee, deepmd for a DeePMD committee or an external DeePMD model."""
    root = Path(__file__).resolve().parents[1]
    model = tmp_path / "m.pth"
    model.write_bytes(b"")
    cases = [
        ({}, ""),
        ({"train": {"architecture": "allegro", "nequip": {"preset": "zif_allegro"}}}, "nequip"),
        ({"train": {"architecture": "deepmd"}}, "deepmd"),
        (
            {"train": {"architecture": "nequip"}, "models": {"external": {"dp": {"file": str(model), "architecture": "deepmd"}}}},
            "deepmd nequip",
        ),
    ]
    for override, expected in cases:
        path = tmp_path / "overlay.yaml"
        path.write_text(yaml.safe_dump(override))
        assert main(["--environments", str(path)], root=root) == 0
        assert capsys.readouterr().out.strip() == expected, override
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"train": {"architecture": "schnet"}}))
    assert main(["--environments", str(bad)], root=root) == 1
    assert "schnet" in capsys.readouterr().err
