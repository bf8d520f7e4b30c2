"""The checks across config keys, run once at start-up after the schema (rules/common.smk).

``config/schema.yaml`` checks each key alone (type, range, unknown keys) and fills the defaults;
:func:`check_config` checks what one key means for another (a domain that must be learned, a
structure that must exist, a band whose edges must be ordered) and raises one ValueError that
names every offending key, before any job runs.
"""

from __future__ import annotations

from typing import Mapping

#: Names of the starting structures besides random_<k> and crystal_<name> (with a ``pore:`` block).
HYDROXYLATED_PORE = "hydroxylated_pore"


def drop_removed_crystals(config: dict) -> None:
    """Remove the crystals a --configfile overlay set to null (in place, before the schema check): overlays
    merge into the defaults key by key, so null is how one drops a default crystal (ZIF-4 without silica)."""
    crystals = config["structures"]["crystals"]
    config["structures"]["crystals"] = {name: settings for name, settings in crystals.items() if settings is not None}


def starting_structure_names(config: Mapping) -> list[str]:
    """Names of the starting structures under results/structures/: random_<k>, crystal_<name>, and
    hydroxylated_pore with a ``pore:`` block."""
    names = [f"random_{k}" for k in range(config["structures"]["random"]["n_structures"])]
    names += [f"crystal_{name}" for name in config["structures"]["crystals"]]
    if config.get("pore"):
        names.append(HYDROXYLATED_PORE)
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


def config_errors(config: Mapping) -> list[str]:
    """Every cross-key problem of a schema-validated config, each naming its keys."""
    from amlip.structures.crystals import CRYSTALS

    errors = []
    learn, domains = config["learn"], config["learn"]["domains"]
    structures = starting_structure_names(config)

    classical = config["explore"]["classical"]["potential"]
    if classical:
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
        if config["label"]["backend"] == "lammps" and kind == config["label"]["lammps"]["potential"]:
            # closed loop (rules/fidelity.smk): the reference's own melt-quench must not become the training data
            errors.append(
                f"explore.classical.potential is {kind}, the reference labeler itself (label.backend lammps): its runs of "
                "the production protocol would be the closed loop's training data; set explore.classical.potential to null"
            )

    architecture, preset = config["train"]["architecture"], config["train"]["nequip"]["preset"]
    if architecture != "mace" and not preset.endswith(architecture):
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

    vdos = config["validate"]["vdos"]
    steps = vdos["sample_every_fs"] / vdos["timestep_fs"]
    if steps < 1 or abs(steps - round(steps)) > 1e-9:
        errors.append(
            f"validate.vdos.sample_every_fs {vdos['sample_every_fs']} must be a whole multiple of validate.vdos.timestep_fs {vdos['timestep_fs']}"
        )
    return errors


def check_config(config: Mapping) -> None:
    """Raise one ValueError listing every :func:`config_errors` of ``config`` (nothing when it is consistent)."""
    errors = config_errors(config)
    if errors:
        raise ValueError("config errors:\n  - " + "\n  - ".join(errors))
