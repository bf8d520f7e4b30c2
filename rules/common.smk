# Config validation, wildcard constraints and input functions shared by every stage.
import math
import shlex

from snakemake.utils import validate

from amlip.models.nequip import PRESETS as NEQUIP_PRESETS
from amlip.models.nequip import nequip_commands
from amlip.learning.loop import domain_settings
from amlip.models.mace import mace_cli_args
from amlip.models.loading import model_file

validate(config, "../config/schema.yaml")


report: "../report/workflow.rst"


DOMAINS = config["learn"]["domains"]
N_ITER = config["learn"]["n_iterations"]
N_MODELS = config["train"]["n_models"]
CRYSTALS = list(config["structures"]["crystals"])
N_RANDOM = config["structures"]["random"].get("n_structures", 1)
BACKEND = config["label"]["backend"]
# Committee architecture: model file name, the env its scripts need, the NequIP interpreter for local runs.
ARCHITECTURE = config["train"]["architecture"]
MODEL_FILE = model_file(ARCHITECTURE, compiled=config["train"]["nequip"].get("compile", True))
# What train_nequip writes: the committee file, or a compiled model on request beside a MACE committee.
NEQUIP_MEMBER_FILE = MODEL_FILE if ARCHITECTURE != "mace" else "model.nequip.pt2"
if ARCHITECTURE != "mace" and not config["train"]["nequip"]["preset"].endswith(ARCHITECTURE):
    raise ValueError(
        f"train.architecture is {ARCHITECTURE} but train.nequip.preset is {config['train']['nequip']['preset']}: "
        f"use zif_{ARCHITECTURE} or tiny_{ARCHITECTURE}"
    )
MODEL_ENV = "../envs/mace.yaml" if ARCHITECTURE == "mace" else "../envs/nequip.yaml"
NEQUIP_PYTHON = config["train"]["nequip"].get("python", ".venv-nequip/bin/python")
# Active-learning settings per domain (learn.domain_settings over the global values).
DOMAIN_SETTINGS = {d: domain_settings(config, d) for d in DOMAINS}
COST = {"n_calls": 300, "warmup": 6, **(config["train"].get("cost") or {})}
# Per-chunk job size of each labeler (runtime in minutes); DFT codes get a node's worth of cores.
LABEL_RESOURCES = {
    "xtb": dict(threads=1, mem_mb=2000, runtime=60),
    "lammps": dict(threads=1, mem_mb=2000, runtime=30),
    "cp2k": dict(threads=16, mem_mb=32000, runtime=1440),
    "vasp": dict(threads=32, mem_mb=64000, runtime=1440),
    "espresso": dict(threads=16, mem_mb=32000, runtime=1440),
}
PRODUCE_DOMAIN = config["produce"]["melt_quench"].get("domain", "syn")
if PRODUCE_DOMAIN not in DOMAINS:
    raise ValueError(f"config produce.melt_quench.domain='{PRODUCE_DOMAIN}' is not in learn.domains={DOMAINS}")


wildcard_constraints:
    domain="|".join(DOMAINS),
    i=r"\d+",
    m=r"\d+",
    c=r"\d+",
    k=r"\d+",
    name=r"[A-Za-z0-9_]+",
    split="train|test|val",


def starting_structures(wildcards=None):
    """Every starting structure: random packings and crystals (and a hydroxylated pore cell with a `pore:` block)."""
    return (
        expand("results/structures/random_{k}.extxyz", k=range(N_RANDOM))
        + expand("results/structures/crystal_{name}.extxyz", name=CRYSTALS)
        + (["results/structures/hydroxylated_pore.extxyz"] if config.get("pore") else [])
    )


def crystal_cif(wildcards):
    """The CIF behind a crystal, when the config names one (else the crystal is built in code)."""
    cif = config["structures"]["crystals"][wildcards.name].get("cif")
    return [cif] if cif else []


def frames_to_label(wildcards):
    """Iteration 0 labels the whole initial pool; later iterations the active-learning pick."""
    if int(wildcards.i) == 0:
        return f"results/explore/{wildcards.domain}/iter_0/pool.extxyz"
    return f"results/select/{wildcards.domain}/iter_{wildcards.i}/picked.extxyz"


def eq_from_syn():
    """The eq domain's first pool is MD with the final syn model (AS) when both domains run."""
    return "syn" in DOMAINS and "eq" in DOMAINS


def max_frames(i, domain="syn"):
    """Upper bound on the frames labelled in iteration i of a domain (fixes the number of chunks)."""
    n_structures = len(starting_structures())
    if int(i) == 0 and domain == "eq" and eq_from_syn():
        md = DOMAIN_SETTINGS["eq"]["md"]
        return n_structures * len(md.get("temperatures_K", [300])) * (md.get("n_steps", 200) // md.get("sample_every", 10))
    if int(i) == 0:
        return n_structures * config["explore"]["initial"]["n_per_structure"]
    return DOMAIN_SETTINGS[domain]["max_new_frames"]


RELABEL = config["label"].get("relabel") or {}


def relabel_spec(name):
    """label.relabel.<name> with its backend (default label.backend), settings merged over that
    backend's label block, and n_chunks."""
    if name not in RELABEL:
        raise ValueError(f"results/relabel/{name}/ needs a label.relabel.{name} block (have {sorted(RELABEL)})")
    spec = RELABEL[name]
    backend = spec.get("backend", BACKEND)
    return {
        "frames": spec["frames"],
        "backend": backend,
        "settings": {**config["label"].get(backend, {}), **spec.get("settings", {})},
        "n_chunks": spec.get("n_chunks", 1),
    }


def relabel_chunks(wildcards):
    return expand(
        "results/relabel/{name}/chunk_{c}.extxyz", name=wildcards.name, c=range(relabel_spec(wildcards.name)["n_chunks"])
    )


def relabel_resource(key):
    """A relabel_chunk job's threads, mem_mb or runtime: those of its backend's label jobs."""
    return lambda wildcards: LABEL_RESOURCES[relabel_spec(wildcards.name)["backend"]][key]


def label_settings(wildcards):
    """The label backend's settings for a domain (learn.domain_settings.<domain>.label on top)."""
    return DOMAIN_SETTINGS[wildcards.domain]["label"]


def label_chunks(wildcards):
    n = math.ceil(max_frames(wildcards.i, wildcards.domain) / config["label"]["chunk_size"])
    return expand(
        "results/label/{domain}/iter_{i}/chunk_{c}.extxyz",
        domain=wildcards.domain,
        i=wildcards.i,
        c=range(n),
    )


def failed_chunks(wildcards):
    return [p.replace(".extxyz", "_failed.csv") for p in label_chunks(wildcards)]


def committee(domain, i):
    """Model files of the committee of iteration i (file name by train.architecture)."""
    return expand("results/train/{domain}/iter_{i}/member_{m}/{model}", domain=domain, i=i, m=range(N_MODELS), model=MODEL_FILE)


def previous_committee(wildcards):
    return committee(wildcards.domain, int(wildcards.i) - 1)


def previous_dataset(wildcards):
    """The data set of iteration i-1 (nothing for iteration 0)."""
    i = int(wildcards.i)
    if i == 0:
        return {}
    return {f"previous_{s}": f"results/learn/{wildcards.domain}/iter_{i - 1}/{s}.extxyz" for s in ("train", "test", "val")}


def previous_decision(wildcards):
    """Iteration i-1's decision.json (nothing for iteration 0): whether iteration i runs at all."""
    i = int(wildcards.i)
    return {} if i == 0 else {"decision": f"results/learn/{wildcards.domain}/iter_{i - 1}/decision.json"}


def reuse_command(wildcards, input, output):
    """The command a training job runs first. For i >= 1 (inputs from :func:`previous_member`) it
    copies member m of iteration i-1 to the output and prints 'reused' when iteration i-1's
    decision stops the loop, else prints 'train'. scripts/reuse_converged_model.py uses the
    standard library only, so the python of any rule's environment runs it."""
    if "previous_decision" not in input.keys():
        return "echo train"
    script = os.path.join(workflow.basedir, "scripts", "reuse_converged_model.py")
    return " ".join(shlex.quote(str(a)) for a in ("python", script, input.previous_decision, input.previous_model, output.model))


def previous_member(wildcards, name):
    """Member m of iteration i-1 (file ``name``) and its decision, for the copy of a stopped loop."""
    i = int(wildcards.i)
    if i == 0:
        return {}
    return {
        "previous_decision": previous_decision(wildcards)["decision"],
        "previous_model": f"results/train/{wildcards.domain}/iter_{i - 1}/member_{wildcards.m}/{name}",
    }


def final_test(wildcards):
    return f"results/learn/{wildcards.domain}/iter_{N_ITER}/test.extxyz"


def evaluations(domain, i):
    return expand("results/train/{domain}/iter_{i}/member_{m}/evaluation.csv", domain=domain, i=i, m=range(N_MODELS))


def choose_by(domain):
    """A domain's model choice (learn.domain_settings.<domain>.choose_by, else learn.choose_by)."""
    return DOMAIN_SETTINGS[domain]["choose_by"]


def screenings(wildcards):
    """Per-member property screenings of the final committee when the domain's choose_by names a property."""
    if choose_by(wildcards.domain).get("property", "none") == "none":
        return []
    return expand("results/learn/{domain}/final/screen_member_{m}.csv", domain=wildcards.domain, m=range(N_MODELS))


def screen_structure_name(domain):
    """The screening structure under results/structures/: choose_by.structure, else random_0 for
    density and hydroxylated_pore for dehydrogenation."""
    c = choose_by(domain)
    return c.get("structure", "hydroxylated_pore" if c.get("property") == "dehydrogenation" else "random_0")


def screen_structure(wildcards):
    return f"results/structures/{screen_structure_name(wildcards.domain)}.extxyz"


def screen_reference(wildcards):
    """The reference labeler's dehydrogenation energies when the domain chooses its model by them."""
    if choose_by(wildcards.domain).get("property") != "dehydrogenation":
        return {}
    return {"reference": f"results/learn/{wildcards.domain}/final/dehydrogenation_reference.csv"}


for _domain in DOMAINS:
    _c = choose_by(_domain)
    if _c.get("property", "none") == "none":
        continue
    _known = [os.path.basename(p)[: -len(".extxyz")] for p in starting_structures()]
    if screen_structure_name(_domain) not in _known:
        raise ValueError(
            f"the choose_by of domain {_domain} screens on structure '{screen_structure_name(_domain)}', not among {_known}"
            + (" (hydroxylated_pore needs a pore: block)" if screen_structure_name(_domain) == "hydroxylated_pore" else "")
        )
    if _c["property"] == "dehydrogenation" and "H" not in config["elements"]:
        raise ValueError(f"the choose_by of domain {_domain} is dehydrogenation but config elements {config['elements']} lack H")


def final_targets():
    targets = []
    for d in DOMAINS:
        targets += expand("results/learn/{domain}/iter_{i}/summary.csv", domain=d, i=range(N_ITER + 1))
        targets += expand("results/select/{domain}/iter_{i}/energy_selection.png", domain=d, i=range(N_ITER + 1))
        targets += expand("results/select/{domain}/iter_{i}/soap_map.png", domain=d, i=range(1, N_ITER + 1))
    targets += [
        "results/report/accuracy.csv",
        "results/report/parity.png",
        "results/report/learning_curve.png",
        "results/report/density.png",
        "results/report/rdf.png",
        "results/report/angles.png",
    ]
    targets += expand(
        "results/validate/melt_quench/{analysis}.{ext}",
        analysis=[
            "xray_pdf",
            "neutron_sq",
            "rings",
            "qn",
            "pmf",
            "pores",
            "density",
            "vdos",
            "ir",
            "elastic",
            "elastic_fluctuation",
        ],
        ext=["csv", "png"],
    )
    if config.get("pore"):
        targets += ["results/pore/validate/summary.csv", "results/pore/validate/dehydrogenation.png"]
    targets += expand("results/relabel/{name}/summary.csv", name=list(RELABEL))
    return targets


def glass_trajectories(wildcards=None):
    """Trajectories of the produce.melt_quench.n_glasses independent glasses: glass 0 at the top level, glass k >= 1 in glass_{k}/."""
    n = config["produce"]["melt_quench"].get("n_glasses", 1)
    return ["results/produce/melt_quench/trajectory.extxyz"] + expand(
        "results/produce/melt_quench/glass_{g}/trajectory.extxyz", g=range(1, n)
    )


def mace_arguments(wildcards, input, output):
    """mace_run_train flags for one committee member (E0s read from the isolated-atom labels)."""
    return mace_cli_args(
        config["train"]["mace"],
        name="mace",
        train_file=input.train,
        valid_file=input.val,
        test_file=input.test,
        e0s_file=input.e0s,
        work_dir=os.path.dirname(output.model),
        seed=config["seed"] + int(wildcards.m),
        finetune=config["train"].get("finetune"),
    )


def finetune_inputs(wildcards):
    """The foundation model and replay set when fine-tuning (train.finetune), else nothing."""
    finetune = config["train"].get("finetune") or {}
    if not finetune.get("foundation_model"):
        return {}
    files = {"foundation_model": finetune["foundation_model"]}
    if finetune.get("replay_file"):
        files["replay"] = finetune["replay_file"]
    return files


def nequip_settings(wildcards):
    """train.nequip.preset (zif_nequip, zif_allegro, tiny_nequip, tiny_allegro) with train.nequip.overrides on top."""
    block = config["train"]["nequip"]
    return {**NEQUIP_PRESETS[block["preset"]], **block.get("overrides", {})}


def nequip_command_line(wildcards, input, output):
    """nequip-train followed by nequip-compile (AOTInductor, ASE target) for one member."""
    member = os.path.dirname(output.model)
    run_dir = os.path.join(member, "nequip", "run")
    compiled = os.path.join(member, "model.nequip.pt2")
    train, compile_ = nequip_commands(input.config, run_dir, compiled, device=config["train"]["nequip"].get("device", "cpu"))
    if output.model == compiled:
        return f"{train} && {compile_}"
    # train.nequip.compile: false: the best checkpoint is the member (eager ASE calculator).
    return f"{train} && cp {os.path.join(run_dir, 'best.ckpt')} {output.model}"


# AIMD as exploration (rules/aimd.smk): its frames join iteration 0 of the domains in aimd.domains.
AIMD = {"domains": [], "backend": BACKEND, "settings": {}, "structures": [], "import": [], **(config.get("aimd") or {})}
AIMD_BACKEND = AIMD["backend"]
for _key, _names, _known in (("domains", AIMD["domains"], DOMAINS), ("structures", AIMD["structures"], None)):
    _known = _known or [os.path.basename(p)[: -len(".extxyz")] for p in starting_structures()]
    if set(_names) - set(_known):
        raise ValueError(f"config aimd.{_key} names {sorted(set(_names) - set(_known))}, not among {_known}")


def aimd_settings(wildcards):
    """AIMD labeler settings: aimd.settings over the domain's label settings when the backends agree."""
    base = label_settings(wildcards) if AIMD_BACKEND == BACKEND else {}
    return {**base, **AIMD["settings"]}


def aimd_import_files(wildcards):
    """The files of aimd.import (tracked as inputs so a changed trajectory reruns the import)."""
    return [v for source in AIMD["import"] for k, v in source.items() if k == "path" or k.endswith("_path")]


def aimd_frames_of(wildcards):
    """Imported AIMD frames for iteration 0 of a domain in aimd.domains, else nothing."""
    if int(wildcards.i) == 0 and wildcards.domain in AIMD["domains"]:
        return [f"results/aimd/{wildcards.domain}/imported.extxyz"]
    return []
