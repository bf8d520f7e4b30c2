"""The checks across config keys, run once at start-up after the schema (rules/common.smk).

``config/schema.yaml`` checks each key alone (type, range, unknown keys) and fills the defaults;
:func:`check_config` adds what JSON Schema lets through (1.0 for an integer, .inf and .nan for a
number) and checks what one key means for another (a domain that must be learned, a structure
that must exist, a band whose edges must be ordered), and raises one ValueError that names every
offending key, before any job runs.

``python -m amlip.config [CONFIGFILE ...]`` runs the same checks on config/config.yaml with the
given files on top, as ``snakemake --configfile`` would merge them; a YAML syntax error names the
file, line and column (Snakemake's own message names neither).
"""

from __future__ import annotations

import math
import os
import sys
from typing import Mapping, Sequence

#: Names of the starting structures besides random_<k> and crystal_<name> (with a ``pore:`` block).
HYDROXYLATED_PORE = "hydroxylated_pore"


def drop_removed_crystals(config: dict) -> None:
    """Remove the crystals a --configfile overlay set to null (in place, before the schema check): overlays
    merge into the defaults key by key, so null is how one drops a default crystal (ZIF-4 without silica)."""
    crystals = config["structures"]["crystals"]
    config["structures"]["crystals"] = {name: settings for name, settings in crystals.items() if settings is not None}


def starting_structure_names(config: Mapping) -> list[str]:
    """Names of the starting structures under results/structures/: random_<k>, crystal_<name>,
    hydroxylated_pore with a ``pore:`` block, and the MIL-120 variants and CO2 loadings with a ``mil120:`` block."""
    names = [f"random_{k}" for k in range(config["structures"]["random"]["n_structures"])]
    names += [f"crystal_{name}" for name in config["structures"]["crystals"]]
    if config.get("pore"):
        names.append(HYDROXYLATED_PORE)
    if config.get("mil120"):
        names += [f"mil120_{v}" for v in config["mil120"]["variants"]]
        names += [f"mil120_co2_{n}" for n in config["mil120"]["loadings"]]
    return names


def choose_by_of(config: Mapping, domain: str) -> Mapping:
    """A domain's model choice: learn.domain_settings.<domain>.choose_by, else learn.choose_by."""
    own = config["learn"]["domain_settings"].get(domain) or {}
    return own.get("choose_by") or config["learn"]["choose_by"]


def screen_structure_name(choose_by: Mapping) -> str:
    """The structure a model choice screens on: its ``structure``, else random_0 for density and
    hydroxylated_pore for dehydrogenation."""
    if choose_by.get("structure"):
        return choose_by["structure"]
    return HYDROXYLATED_PORE if choose_by["property"] == "dehydrogenation" else "random_0"


def _crystal_symbols(key: str, name: str, cif: str | None, errors: list[str]) -> set[str]:
    """The elements of crystal ``name`` (built in, or read from ``cif``); a problem goes to ``errors``."""
    from amlip.structures.crystals import CRYSTALS

    if not cif:
        return set(CRYSTALS[name]().get_chemical_symbols()) if name in CRYSTALS else set()
    try:
        import ase.io

        return set(ase.io.read(cif).get_chemical_symbols())
    except Exception as error:  # a missing file, an unknown symbol, a broken CIF: all named the same way
        errors.append(f"{key}.cif {cif} cannot be read: {type(error).__name__}: {error}")
        return set()


def element_errors(config: Mapping) -> list[str]:
    """Elements the run would meet too late: a symbol of ``elements`` that is no element, and an
    element of a starting structure (precursor units, crystals and CIFs, the pore and its H) or
    of select.soap.centers that ``elements`` lacks; each names its key and the element."""
    from ase.data import chemical_symbols

    from amlip.structures.packing import PRECURSOR_UNITS

    errors = []
    elements = config["elements"]
    for symbol in elements:
        if symbol not in chemical_symbols[1:]:
            errors.append(f"elements names '{symbol}', which is not a chemical symbol")
    needed: dict[str, set[str]] = {}
    # the random packings are built only when there are any (ZIF and MIL glasses start from a structure)
    units = (
        [("structures.random.units", config["structures"]["random"]["units"])]
        if config["structures"]["random"]["n_structures"]
        else []
    )
    if config["produce"]["melt_quench"]["units"] and not config["produce"]["melt_quench"]["structure"]:
        units.append(("produce.melt_quench.units", config["produce"]["melt_quench"]["units"]))
    for name, spec in config.get("systems", {}).items():
        if spec.get("units") and not spec.get("structure"):
            units.append((f"systems.{name}.units", spec["units"]))
    pore = config.get("pore")
    if pore:
        units.append(("pore.units", pore["units"]))
        needed["pore (its hydroxyls)"] = {"H"}
        crystal = pore["starting_cell"]["crystal"]
        needed["pore.starting_cell.crystal"] = _crystal_symbols("pore.starting_cell", crystal, None, errors)
    for key, counts in units:
        for unit in counts:
            if unit not in PRECURSOR_UNITS:
                errors.append(f"{key}.{unit} is not a precursor unit {sorted(PRECURSOR_UNITS)}")
            else:
                needed[f"{key}.{unit}"] = set(PRECURSOR_UNITS[unit][0])
    for name, settings in config["structures"]["crystals"].items():
        needed[f"structures.crystals.{name}"] = _crystal_symbols(f"structures.crystals.{name}", name, settings.get("cif"), errors)
    if "centers" in config["select"]["soap"]:
        needed["select.soap.centers"] = set(config["select"]["soap"]["centers"])
    for key, symbols in needed.items():
        for symbol in sorted(symbols - set(elements)):
            errors.append(f"{key} has {symbol}, which elements {list(elements)} lacks: add {symbol} to elements")
    return errors


def variant_errors(config: Mapping) -> list[str]:
    """variants name a model that exists (chosen or a models.external name); every external model file exists
    and its suffix is of its architecture. Nothing is downloaded: a missing file is an error naming the key."""
    errors = []
    external = config.get("models", {}).get("external", {})
    if external:  # amlip.models.loading costs ~0.6 s of imports: only when there is a file to check
        from amlip.models.loading import model_family
    for name, spec in external.items():
        key = f"models.external.{name}"
        if not os.path.isfile(spec["file"]):
            errors.append(f"{key}.file {spec['file']} does not exist (nothing is downloaded: give a local model file)")
            continue
        try:
            family = model_family(spec["file"])
        except ValueError as exc:
            errors.append(f"{key}.file: {exc}")
            continue
        if family != spec["architecture"]:
            errors.append(f"{key}.architecture is {spec['architecture']} but {spec['file']} is a {family} model file")
    for name, spec in config.get("variants", {}).items():
        if spec["model"] != "chosen" and spec["model"] not in external:
            errors.append(
                f"variants.{name}.model '{spec['model']}' is neither chosen nor a models.external name {sorted(external)}"
            )
    return errors


def system_errors(config: Mapping) -> list[str]:
    """The systems block: each system has units with a density or a structure (not both), and a custom
    protocol stage has exactly one of duration_ps and rate_K_per_ps."""
    from amlip.md.protocols import custom_stages

    errors = []
    for name, spec in config.get("systems", {}).items():
        key = f"systems.{name}"
        if spec.get("structure") and spec.get("units"):
            errors.append(f"{key} gives both units and structure: a sample starts from one of them")
        elif not spec.get("structure") and not spec.get("units"):
            errors.append(f"{key} needs units (with density_g_cm3) or a structure")
        elif spec.get("units") and not spec.get("density_g_cm3"):
            errors.append(f"{key}.density_g_cm3 is needed with units (the packing's density)")
    errors += variant_errors(config)
    protocol = config["produce"]["melt_quench"]["protocol"]
    if not isinstance(protocol, str):
        try:
            custom_stages(protocol)
        except (ValueError, KeyError) as exc:
            errors.append(f"produce.melt_quench.protocol: {exc}")
    return errors


def config_errors(config: Mapping) -> list[str]:
    """Every cross-key problem of a schema-validated config, each naming its keys."""
    from amlip.structures.crystals import CRYSTALS

    errors = element_errors(config)
    learn, domains = config["learn"], config["learn"]["domains"]
    structures = starting_structure_names(config)

    classical = config["explore"]["classical"]["potential"]
    if classical and config["structures"]["random"]["n_structures"]:
        from amlip.structures.packing import PRECURSOR_UNITS

        packed = {
            el for unit in config["structures"]["random"]["units"] if unit in PRECURSOR_UNITS for el in PRECURSOR_UNITS[unit][0]
        }
        kind = classical.get("potential", "bks")
        if kind == "reaxff":
            if not classical.get("ffield") or not classical.get("elements"):
                errors.append(f"explore.classical.potential {dict(classical)}: ReaxFF needs ffield and elements")
            elif packed - set(classical["elements"]):
                errors.append(
                    f"explore.classical.potential.elements {classical['elements']} do not cover "
                    f"{sorted(packed - set(classical['elements']))} of the random packings (structures.random.units)"
                )
        elif kind != "bks":
            errors.append(
                f"explore.classical.potential {dict(classical)}: the LAMMPS engine runs bks or reaxff (use {{}} to turn it off)"
            )
        elif packed - {"Si", "O"}:
            errors.append(
                f"explore.classical.potential is BKS, which covers Si and O only, but the random packings "
                f"(structures.random.units) hold {sorted(packed - {'Si', 'O'})}: set explore.classical.potential to {{}}"
            )
        # The reference labeler itself may sample the production protocol (the default: BKS labels, BKS melt-quench
        # frames in iteration 0, as AS's AIMD frames): the closed-loop comparison (rules/fidelity.smk) then measures
        # the fit and the MD, not the exploration; config/examples/closed_loop_silica.yaml turns it off for that.

    melt_quench = config["produce"]["melt_quench"]
    if config["structures"]["random"]["n_structures"] == 0 and not melt_quench["structure"] and not melt_quench["units"]:
        errors.append(
            "structures.random.n_structures is 0, but the glasses start from the random packings: "
            "set produce.melt_quench.structure (a starting structure) or produce.melt_quench.units (a packing per glass)"
        )

    if config["train"]["architecture"] == "mtp":
        from amlip.models.mtp import mtp_settings

        try:
            mtp_settings(config["train"]["mtp"]["preset"], config["train"]["mtp"]["overrides"])
        except ValueError as exc:
            errors.append(str(exc))
    architecture, preset = config["train"]["architecture"], config["train"]["nequip"]["preset"]
    if architecture in ("nequip", "allegro") and not preset.endswith(architecture):
        errors.append(
            f"train.architecture is {architecture} but train.nequip.preset is {preset}: use zif_{architecture} or tiny_{architecture}"
        )
    for key, domain in (("produce.melt_quench.domain", config["produce"]["melt_quench"]["domain"]),) + (
        (("pore.domain", config["pore"]["domain"]),) if config.get("pore") else ()
    ):
        if domain not in domains:
            errors.append(f"{key} '{domain}' is not in learn.domains {domains}")
    for name, settings in config["structures"]["crystals"].items():
        if name not in CRYSTALS and not settings.get("cif"):
            errors.append(f"structures.crystals.{name} is not a built-in crystal {sorted(CRYSTALS)}: give it a cif")
    if config.get("pore") and config["pore"]["starting_cell"]["crystal"] not in CRYSTALS:
        errors.append(
            f"pore.starting_cell.crystal '{config['pore']['starting_cell']['crystal']}' is not a built-in crystal {sorted(CRYSTALS)}"
        )

    mil = config.get("mil120")
    unknown = sorted(set(mil["variants"]) - set(mil["patterns"])) if mil else []
    if unknown:
        errors.append(f"mil120.variants {unknown} are not among mil120.patterns {sorted(mil['patterns'])}")

    start = config["produce"]["melt_quench"]["structure"]
    if start and start not in structures:
        errors.append(f"produce.melt_quench.structure '{start}' is not among the starting structures {structures}")

    start = config["produce"]["melt_quench"]["structure"]
    if start and start not in structures:
        errors.append(f"produce.melt_quench.structure '{start}' is not among the starting structures {structures}")

    aimd = config["aimd"]
    for key, names, known in (("aimd.domains", aimd["domains"], domains), ("aimd.structures", aimd["structures"], structures)):
        unknown = sorted(set(names) - set(known))
        if unknown:
            errors.append(f"config {key} names {unknown}, not among {known}")

    if learn["sigma_low_eV_A"] >= learn["sigma_high_eV_A"]:
        errors.append(
            f"learn.sigma_low_eV_A {learn['sigma_low_eV_A']} must be below learn.sigma_high_eV_A {learn['sigma_high_eV_A']}"
        )
    for domain, own in learn["domain_settings"].items():
        if not {"sigma_low_eV_A", "sigma_high_eV_A"} & set(own):
            continue
        (low_key, low), (high_key, high) = (
            (f"learn.domain_settings.{domain}.{k}", own[k]) if k in own else (f"learn.{k}", learn[k])
            for k in ("sigma_low_eV_A", "sigma_high_eV_A")
        )
        if low >= high:
            errors.append(f"{low_key} {low} must be below {high_key} {high}")

    for domain in domains:
        own = (learn["domain_settings"].get(domain) or {}).get("choose_by")
        key, choose_by = (f"learn.domain_settings.{domain}.choose_by", own) if own else ("learn.choose_by", learn["choose_by"])
        if choose_by["property"] == "none":
            continue
        structure = screen_structure_name(choose_by)
        if structure not in structures:
            hint = " (hydroxylated_pore needs a pore: block)" if structure == HYDROXYLATED_PORE else ""
            errors.append(f"{key} screens on structure '{structure}', not among {structures}{hint}")
        if choose_by["property"] == "density" and "reference_g_cm3" not in choose_by:
            errors.append(f"{key}.property is density but {key}.reference_g_cm3 is not set")
        if choose_by["property"] == "dehydrogenation" and "H" not in config["elements"]:
            errors.append(f"{key}.property is dehydrogenation but elements {config['elements']} lack H")

    errors += system_errors(config)

    vdos = config["validate"]["vdos"]
    steps = vdos["sample_every_fs"] / vdos["timestep_fs"]
    if steps < 1 or abs(steps - round(steps)) > 1e-9:
        errors.append(
            f"validate.vdos.sample_every_fs {vdos['sample_every_fs']} must be a whole multiple of validate.vdos.timestep_fs {vdos['timestep_fs']}"
        )
    return errors


def _label_setting_keys(config: Mapping, domain: str) -> dict[str, tuple[str, object]]:
    """{setting: (config key, value)} of the settings that make up a domain's level of theory:
    label.<backend>.<setting>, or learn.domain_settings.<domain>.label.<setting> where that is set;
    the run settings (command, timeout_s, workdir, keep_workdir) left out."""
    from amlip.labelers.base import RUN_SETTINGS

    backend = config["label"]["backend"]
    own = (config["learn"]["domain_settings"].get(domain) or {}).get("label") or {}
    keys = {name: (f"label.{backend}.{name}", value) for name, value in config["label"][backend].items()}
    keys.update({name: (f"learn.domain_settings.{domain}.label.{name}", value) for name, value in own.items()})
    return {name: key for name, key in keys.items() if name not in RUN_SETTINGS}


def _aimd_setting_keys(config: Mapping, domain: str) -> dict[str, tuple[str, object]]:
    """As :func:`_label_setting_keys` for a domain's AIMD runs: aimd.settings over the domain's label
    settings when aimd.backend is label.backend."""
    from amlip.labelers.base import RUN_SETTINGS

    same = config["aimd"]["backend"] == config["label"]["backend"]
    keys = _label_setting_keys(config, domain) if same else {}
    keys.update(
        {name: (f"aimd.settings.{name}", v) for name, v in config["aimd"]["settings"].items() if name not in RUN_SETTINGS}
    )
    return keys


def _record_changes(path: str, record: Mapping, backend_key: str, backend: str, keys: Mapping, block: str) -> list[str]:
    """The keys whose values differ from those ``record`` (a JSON file's backend and settings) was made
    with; ``keys`` as :func:`_label_setting_keys` gives them, ``block`` the key of a setting no longer set."""
    if record["backend"] != backend:
        return [f"{backend_key} is {backend}, but was {record['backend']} when {path} was computed"]
    changes = []
    recorded = record["settings"]
    for name in sorted(set(recorded) | set(keys)):
        key, now = keys.get(name, (f"{block}.{name}", None))
        if name not in recorded or name not in keys or recorded[name] != now:
            now = repr(now) if name in keys else "not set"
            then = repr(recorded[name]) if name in recorded else "not set"
            changes.append(f"{key} is {now}, but was {then} when {path} was computed")
    return changes


def level_of_theory_changes(config: Mapping, results: str | os.PathLike = "results") -> list[str]:
    """Settings of the labels under ``results`` that the config now changes, each naming its key:
    per domain, those its isolated-atom energies (label/<domain>/isolated_atoms.json, computed with
    the settings of the domain's chunks) and its AIMD runs (aimd/<domain>/run_*/run.json) were
    computed with. Labels are protected outputs: a change would rerun every one of them at another
    level of theory (and as root, rewrite the read-only files). Run settings are never a change.
    Files without a settings record (older runs) are skipped."""
    import json
    from pathlib import Path

    changes = []
    for domain in config["learn"]["domains"]:
        e0s = Path(results, "label", domain, "isolated_atoms.json")
        label = config["label"]["backend"]
        records = [(e0s, "label.backend", label, _label_setting_keys(config, domain), f"label.{label}")]
        if domain in config["aimd"]["domains"]:
            for structure in config["aimd"]["structures"]:
                run = Path(results, "aimd", domain, f"run_{structure}", "run.json")
                keys = _aimd_setting_keys(config, domain)
                records.append((run, "aimd.backend", config["aimd"]["backend"], keys, "aimd.settings"))
        for path, backend_key, backend, keys, block in records:
            record = json.loads(path.read_text()) if path.exists() else {}
            if "settings" in record:
                changes += _record_changes(str(path), record, backend_key, backend, keys, block)
    return changes


def check_level_of_theory(config: Mapping, results: str | os.PathLike = "results") -> None:
    """Raise ValueError naming every :func:`level_of_theory_changes` and what to do about them."""
    changes = level_of_theory_changes(config, results)
    if changes:
        raise ValueError(
            "the config changes the level of theory of existing labels:\n  - "
            + "\n  - ".join(changes)
            + "\nLabels are protected: restore the key(s) to keep them, or move the labels away (results/label/<domain>, "
            "results/aimd/<domain>; make clean removes all results) to compute them again at the new settings."
        )


def _key(path: Sequence) -> str:
    """A config key as the docs write it: learn.n_iterations, explore.md.temperatures_K[1]."""
    key = ""
    for part in path:
        key += f"[{part}]" if isinstance(part, int) else (f".{part}" if key else str(part))
    return key


def _strict_validator(schema: Mapping):
    """A JSON Schema validator whose integers are ints (JSON Schema counts 1.0 as one) and whose
    numbers are finite (.inf and .nan pass every minimum and maximum)."""
    from jsonschema import Draft202012Validator, validators

    checker = Draft202012Validator.TYPE_CHECKER.redefine_many(
        {
            "integer": lambda _, value: isinstance(value, int) and not isinstance(value, bool),
            "number": lambda _, value: isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value),
        }
    )
    return validators.extend(Draft202012Validator, type_checker=checker)(schema)


def _type_message(error) -> str:
    """What is wrong with a value the strict validator refused, naming its key."""
    for inner in [error, *(error.context or [])]:
        value = inner.instance
        if inner.validator == "type" and isinstance(value, float) and not math.isfinite(value):
            return f"{_key(inner.absolute_path)}: {value} is not a finite number"
        if inner.validator == "type" and isinstance(value, float) and "integer" in inner.validator_value:
            return f"{_key(inner.absolute_path)}: {value} is a real number where an integer is needed (write {int(value)})"
    return f"{_key(error.absolute_path)}: {error.message}"


def strict_type_errors(config: Mapping, schema: Mapping | str | os.PathLike) -> list[str]:
    """Values of a schema-validated ``config`` that JSON Schema lets through but the pipeline cannot
    use: a real number for an integer key (``n_iterations: 1.0``) and a non-finite number (``.inf``,
    ``.nan``). ``schema``: the schema or its YAML file."""
    if not isinstance(schema, Mapping):
        schema = read_yaml(schema)
    return [_type_message(error) for error in _strict_validator(schema).iter_errors(config)]


def check_config(config: Mapping, schema: Mapping | str | os.PathLike | None = None) -> None:
    """Raise one ValueError listing every problem of ``config`` (nothing when it is consistent):
    with ``schema``, the :func:`strict_type_errors` first (the cross-key checks need the types
    right), then every :func:`config_errors`."""
    errors = strict_type_errors(config, schema) if schema is not None else []
    if not errors:
        errors = config_errors(config)
    if errors:
        raise ValueError("config errors:\n  - " + "\n  - ".join(errors))


def read_yaml(path: str | os.PathLike) -> dict:
    """A YAML file as a dict; a syntax error raises ValueError naming the file, line and column."""
    import yaml

    with open(path, encoding="utf-8") as fh:
        try:
            data = yaml.safe_load(fh)
        except yaml.MarkedYAMLError as error:
            mark = error.problem_mark or error.context_mark
            where = f"{path}, line {mark.line + 1}, column {mark.column + 1}" if mark else str(path)
            raise ValueError(f"{where}: YAML syntax error: {error.problem or error.context}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a config file is a mapping of keys, not a {type(data).__name__}")
    return data


def merge_config(base: dict, override: Mapping) -> dict:
    """``override`` merged into ``base`` key by key, nested mappings included (Snakemake's merge of
    --configfile files over the workflow's config); returns ``base``."""
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            merge_config(base[key], value)
        else:
            base[key] = value
    return base


def load_config(overlays: Sequence[str | os.PathLike], root: str | os.PathLike = ".") -> dict:
    """config/config.yaml under ``root`` with ``overlays`` merged on top in order (as Snakemake's
    --configfile), checked against config/schema.yaml with its defaults filled in."""
    from snakemake.utils import validate

    config = read_yaml(os.path.join(root, "config", "config.yaml"))
    for path in overlays:
        merge_config(config, read_yaml(path))
    validate(config, os.path.join(root, "config", "schema.yaml"), set_default=True)
    return config


#: The virtual environment (``.venv-<name>``, Makefile) each architecture needs beside ``.venv``.
ARCHITECTURE_ENVIRONMENTS = {"nequip": "nequip", "allegro": "nequip", "deepmd": "deepmd", "grace": "grace"}


def environments_needed(config: Mapping) -> list[str]:
    """The extra virtual environments a run of ``config`` loads models from: the committee's architecture
    (globally and per domain) and every external model's. NequIP members trained on request beside a MACE
    committee (``train.nequip``) are not part of the run and need nothing here."""
    architectures = {config["train"]["architecture"]}
    architectures |= {model["architecture"] for model in config.get("models", {}).get("external", {}).values()}
    return sorted({ARCHITECTURE_ENVIRONMENTS[a] for a in architectures if a in ARCHITECTURE_ENVIRONMENTS})


def main(argv: Sequence[str], root: str | os.PathLike = ".") -> int:
    """Check config/config.yaml under ``root`` with the files ``argv`` on top: syntax, schema (with its
    defaults filled), strict types and cross-key checks. Prints what is wrong; returns the exit status.
    With ``--environments`` first, print only the extra virtual environments the run needs (one line,
    space separated: ``make run`` installs those and no others)."""
    environments = bool(argv) and argv[0] == "--environments"
    argv = argv[1:] if environments else argv
    try:
        config = load_config(argv, root)
        check_config(config, os.path.join(root, "config", "schema.yaml"))
    except Exception as error:  # every kind of config error is reported the same way
        print(error, file=sys.stderr)
        return 1
    if environments:
        print(" ".join(environments_needed(config)))
    else:
        print(f"config OK: config/config.yaml{''.join(' + ' + p for p in argv)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
