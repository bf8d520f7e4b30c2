# Config validation, wildcard constraints and input functions shared by every stage.
import math
import shlex
from types import SimpleNamespace

from snakemake.utils import validate

from amlip.config import (
    check_config,
    check_level_of_theory,
    drop_removed_crystals,
    screen_structure_name,
    starting_structure_names,
)
from amlip.labelers.base import RUN_SETTINGS
from amlip.learning.loop import domain_settings
from amlip.md.batched import check_batched
from amlip.models.deepmd import deepmd_command, deepmd_settings
from amlip.models.device import check_devices, gpus_for
from amlip.models.grace import grace_command, grace_settings
from amlip.models.loading import model_file
from amlip.models.mtp import mtp_settings
from amlip.models.nequip import PRESETS as NEQUIP_PRESETS
from amlip.models.nequip import nequip_commands

# The schema checks every key and fills every default (the only defaults there are); check_config
# what JSON Schema lets through (1.0 for an integer, .inf/.nan for a number) and the relations
# between keys. Both before any job.
# A crystal set to null in a --configfile overlay drops that default crystal (the overlay merges into the
# defaults key by key: ZIF-4 runs without silica crystals).
drop_removed_crystals(config)
validate(config, "../config/schema.yaml")
check_config(config, os.path.join(workflow.basedir, "config", "schema.yaml"))
# Labels are protected: a config that changes the settings existing labels were computed with stops
# here, naming the keys (Snakemake would rerun them all, and as root rewrite the read-only files).
check_level_of_theory(config)
check_devices(config)
check_batched(config)


report: "../report/workflow.rst"


DOMAINS = config["learn"]["domains"]
N_ITER = config["learn"]["n_iterations"]
N_MODELS = config["train"]["n_models"]
CRYSTALS = list(config["structures"]["crystals"])
N_RANDOM = config["structures"]["random"]["n_structures"]
BACKEND = config["label"]["backend"]
# Committee architecture: model file name, the env its scripts need, the NequIP, DeePMD and GRACE
# interpreters for local runs (amlip.models.handover).
ARCHITECTURE = config["train"]["architecture"]
MODEL_FILE = model_file(ARCHITECTURE, compiled=config["train"]["nequip"]["compile"])
NEQUIP_FAMILY = ARCHITECTURE in ("nequip", "allegro")
# What train_nequip writes: the committee file, or a compiled model on request beside a MACE or DeePMD committee.
NEQUIP_MEMBER_FILE = MODEL_FILE if NEQUIP_FAMILY else "model.nequip.pt2"
MACE_ENV = "../envs/mace_gpu.yaml" if config["device"]["cuequivariance_env"] else "../envs/mace.yaml"
MODEL_ENV = {
    "mace": MACE_ENV,
    "nequip": "../envs/nequip.yaml",
    "allegro": "../envs/nequip.yaml",
    "deepmd": "../envs/deepmd.yaml",
    "mtp": "../envs/mtp.yaml",
    "grace": "../envs/grace.yaml",
}[ARCHITECTURE]
MODEL_PYTHON = {family: config["train"][family]["python"] for family in ("nequip", "deepmd", "grace")}
# train.grace.preset with its overrides, resolved at start-up: a wrong override stops the run naming the key.
GRACE_SETTINGS = grace_settings(config["train"]["grace"]["preset"], config["train"]["grace"]["overrides"])
# Active-learning settings per domain (learn.domain_settings over the global values).
DOMAIN_SETTINGS = {d: domain_settings(config, d) for d in DOMAINS}
COST = config["train"]["cost"]
# Per-chunk job size of each labeler (runtime in minutes); DFT codes get a node's worth of cores.
LABEL_RESOURCES = {
    "xtb": dict(threads=1, mem_mb=2000, runtime=60),
    "lammps": dict(threads=1, mem_mb=2000, runtime=30),
    "cp2k": dict(threads=16, mem_mb=32000, runtime=1440),
    "vasp": dict(threads=32, mem_mb=64000, runtime=1440),
    "espresso": dict(threads=16, mem_mb=32000, runtime=1440),
}
PRODUCE_DOMAIN = config["produce"]["melt_quench"]["domain"]
# The pore protocol (rules/pore.smk) with a `pore:` block, else off (the pore rules are then never
# requested; their model paths name the produce domain).
PORE = config.get("pore")
PORE_DOMAIN = PORE["domain"] if PORE else PRODUCE_DOMAIN
# ZIF analyses, MIL-120 structures and analyses, ML-driven adsorption (rules/mof.smk): on with their blocks.
ZIF = config.get("zif")
MIL = config.get("mil120")
ADSORPTION = config.get("adsorption")
VDOS, IR = config["validate"]["vdos"], config["validate"]["ir"]
# The VDOS MD settings (validate.vdos) of rules md_vdos and md_vdos_system.
VDOS_MD = {key: VDOS[key] for key in ("temperature_K", "nvt_ps", "nve_ps", "timestep_fs", "sample_every_fs", "friction_per_fs")}
# How a glass is measured (validate.fidelity without its targets): the closed-loop glasses and every system sample.
MEASURE_SETTINGS = {key: value for key, value in config["validate"]["fidelity"].items() if key != "targets"} | {
    "average_last_fraction": config["validate"]["average_last_fraction"]
}
# The dtype every MD job runs the chosen model in (MACE; NequIP models keep their own).
MODEL_DTYPE = config["train"]["mace"]["default_dtype"]
# Each rule family's device setting (auto, cpu, cuda; resolved inside the job) and the GPUs its jobs ask for.
DEVICE = config["device"]
GPUS = {family: gpus_for(DEVICE[family]) for family in ("train", "explore", "produce", "validate")}


def scaled_by_input(floor, per_input_mb):
    """A resource callable: ``floor`` (the value for a small data set) plus ``per_input_mb`` per MiB of
    the job's input files, rounded up: the run time of the rules that stream frames (merge_labels,
    assemble_dataset, evaluate_model), whose memory is flat in the number of frames
    (benchmarks/measured/stream_memory.txt).

    Only input files that exist count, not Snakemake's ``input.size_mb``: that is <TBD> until every
    input exists, and a group job (label_chunk + merge_labels in profiles/slurm) drops a <TBD>
    resource from its total, so the merge would get no time at all; here it gets the share of the
    inputs present at submission (the frames to label). A job run on its own is evaluated again
    when all its input exists, so it gets the whole size."""

    def resource(wildcards, input):
        size_mb = sum(os.path.getsize(path) for path in input if os.path.exists(path)) / 2**20
        return math.ceil(floor + per_input_mb * size_mb)

    return resource


wildcard_constraints:
    domain="|".join(DOMAINS),
    i=r"\d+",
    m=r"\d+",
    c=r"\d+",
    k=r"\d+",
    crystal=r"[A-Za-z0-9_]+",
    structure=r"[A-Za-z0-9_]+",
    relabel_set=r"[A-Za-z0-9_]+",
    split="train|test|val",
    zif_name=r"[A-Za-z0-9_]+",
    system=r"[A-Za-z0-9_.]+",
    variant=r"[A-Za-z0-9_]+",
    s=r"\d+",


# The keys of produce.melt_quench a melt-quench job reads (domain and n_glasses shape the DAG, not a job);
# the production-protocol exploration (rule explore_production) and the classical exploration read them too.
MELT_QUENCH_KEYS = ("protocol", "time_scale", "timestep_fs", "sample_every", "friction_per_fs", "taut_fs", "taup_fs")
MELT_QUENCH_KEYS += ("guards", "engine")
MELT_QUENCH = {key: config["produce"]["melt_quench"][key] for key in MELT_QUENCH_KEYS}
# Engine batched with a device that may be a GPU: every glass in one job (rule melt_quench_glasses).
BATCH_GLASSES = MELT_QUENCH["engine"] == "batched" and GPUS["produce"] == 1
# The random packings: production starts from them, and so do the classical and production-protocol explorations.
RANDOM_STRUCTURES = [f"random_{k}" for k in range(config["structures"]["random"]["n_structures"])]
CLASSICAL = config["explore"]["classical"]
PRODUCTION_EXPLORATION = config["explore"]["production"]


def explores_production(domain, i):
    """Whether iteration i of a domain explores the production protocol: the domain that produces the
    glasses (produce.melt_quench.domain), from explore.production.from_iteration on."""
    first = PRODUCTION_EXPLORATION["from_iteration"]
    return domain == config["produce"]["melt_quench"]["domain"] and first is not None and int(i) >= first


def pool_parts(wildcards):
    """What iteration i >= 1 explored: one production-protocol run per random packing (frames and a
    one-row summary each), or the explore.md runs of every starting structure."""
    if explores_production(wildcards.domain, wildcards.i):
        parts = expand(
            "results/explore/{domain}/iter_{i}/production/{structure}.{ext}",
            domain=wildcards.domain,
            i=wildcards.i,
            structure=RANDOM_STRUCTURES,
            ext=["extxyz", "csv"],
        )
    else:
        parts = [f"results/explore/{wildcards.domain}/iter_{wildcards.i}/md.extxyz"]
    return parts


def exploration_runs(wildcards):
    """Iteration i's runs.csv (rule merge_pool; nothing for iteration 0)."""
    if int(wildcards.i) == 0:
        return {}
    return {"runs": f"results/explore/{wildcards.domain}/iter_{wildcards.i}/runs.csv"}


GLASS_UNITS = config["produce"]["melt_quench"]["units"]
GLASS_STRUCTURE = config["produce"]["melt_quench"]["structure"]


def glass_start(g):
    """What glass g melt-quenches: produce.melt_quench.structure (ZIF: the crystal), else its own packing
    (produce.melt_quench.units), else random_{g mod n_structures}."""
    if GLASS_STRUCTURE:
        return f"results/structures/{GLASS_STRUCTURE}.extxyz"
    if GLASS_UNITS:
        return f"results/structures/glass_start_{g}.extxyz"
    return f"results/structures/random_{g % N_RANDOM}.extxyz"


# Systems as a DAG dimension (rules/systems.smk): name -> units at a density, or a structure; samples each.
SYSTEMS = config["systems"]


# Variants over the systems: a model (chosen or models.external) with its D3; {} = one variant, chosen.
EXTERNAL = config["models"]["external"]
VARIANTS = config["variants"] or {"chosen": {"model": "chosen", "dispersion": None}}


def variant_model(wildcards):
    """The choice.json and model files of a variant: the production domain's chosen committee member, or an
    external model registered by rule register_external_model."""
    model = VARIANTS[wildcards.variant]["model"]
    if model == "chosen":
        return {"choice": f"results/learn/{PRODUCE_DOMAIN}/final/choice.json", "models": committee(PRODUCE_DOMAIN, N_ITER)}
    return {"choice": f"results/models/external/{model}/choice.json", "models": [EXTERNAL[model]["file"]]}


def variant_dispersion(wildcards):
    """A variant's D3 settings (its dispersion, else produce.dispersion)."""
    dispersion = VARIANTS[wildcards.variant]["dispersion"]
    return config["produce"]["dispersion"] if dispersion is None else dispersion


def variant_dtype(wildcards):
    """The dtype a variant's MACE model runs in (train.mace.default_dtype, or the external model's dtype)."""
    model = VARIANTS[wildcards.variant]["model"]
    return MODEL_DTYPE if model == "chosen" else EXTERNAL[model]["dtype"]


def system_samples(name):
    """The number of samples of system ``name`` (its samples key, else the top-level samples)."""
    return SYSTEMS[name]["samples"] or config["samples"]


def system_samples_list():
    """Every (variant, system, sample), variants and systems in config order."""
    return [(v, name, s) for v in VARIANTS for name in SYSTEMS for s in range(system_samples(name))]


def system_files(pattern):
    """``pattern`` (with {variant}, {system} and {s}) for every variant and every sample of every system."""
    return [pattern.format(variant=v, system=name, s=s) for v, name, s in system_samples_list()]


def system_seed(wildcards, offset):
    """Seed of sample s of a system: seed + offset + 1000 * (the system's position in `systems`) + s."""
    return config["seed"] + offset + 1000 * list(SYSTEMS).index(wildcards.system) + int(wildcards.s)


# (variant, system) pairs whose sample 0 gets a VDOS, when validate.analyses has vdos.
SYSTEM_VDOS = [(v, name) for v in VARIANTS for name in SYSTEMS] if "vdos" in config["validate"]["analyses"] else []


# (variant, system) pairs whose sample 0 gets the MD elastic moduli, when validate.analyses has elastic_md (NS Fig. 7).
SYSTEM_MODULI = [(v, name) for v in VARIANTS for name in SYSTEMS] if "elastic_md" in config["validate"]["analyses"] else []


def system_moduli_tables():
    """The MD moduli tables of :data:`SYSTEM_MODULI`, in its order."""
    return [f"results/validate/systems/{v}/{name}/elastic_md.csv" for v, name in SYSTEM_MODULI]


def system_moduli_settings(wildcards):
    """validate.elastic_md for a system: its reference row is the system's reference (else its name)."""
    return {**config["validate"]["elastic_md"], "reference_system": SYSTEMS[wildcards.system]["reference"] or wildcards.system}


def system_vdos_peaks():
    """The VDOS peak tables of :data:`SYSTEM_VDOS`, in its order."""
    return [f"results/validate/systems/{v}/{name}/vdos/peaks.csv" for v, name in SYSTEM_VDOS]


def system_start(wildcards):
    """What sample s of a system melt-quenches: the system's structure, else its own packing."""
    structure = SYSTEMS[wildcards.system]["structure"]
    if structure:
        return f"results/structures/{structure}.extxyz"
    return f"results/structures/systems/{wildcards.system}/sample_{wildcards.s}.extxyz"


def classical_frames(wildcards):
    """The classical-potential frames of the production protocol that join iteration 0 (explore.classical)."""
    if not CLASSICAL["potential"]:
        return []
    return expand("results/explore/classical/{structure}.extxyz", structure=RANDOM_STRUCTURES)


def starting_structures(wildcards=None):
    """Every starting structure: random packings and crystals (and a hydroxylated pore cell with a `pore:` block)."""
    return expand("results/structures/{structure}.extxyz", structure=starting_structure_names(config))


def crystal_cif(wildcards):
    """The CIF behind a crystal, when the config names one (else the crystal is built in code)."""
    cif = config["structures"]["crystals"][wildcards.crystal].get("cif")
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
        return n_structures * len(md["temperatures_K"]) * (md["n_steps"] // md["sample_every"])
    if int(i) == 0:
        return (
            n_structures * config["explore"]["initial"]["n_per_structure"] + len(classical_frames(None)) * CLASSICAL["n_frames"]
        )
    return DOMAIN_SETTINGS[domain]["max_new_frames"]


RELABEL = config["label"]["relabel"]


def level_settings(settings):
    """A labeler's settings that make up its level of theory (all but the run settings): a job that
    gets them reruns when one changes."""
    return {key: value for key, value in settings.items() if key not in RUN_SETTINGS}


def run_settings(settings):
    """A labeler's run settings (amlip.labelers.base.RUN_SETTINGS: command, timeout_s, workdir,
    keep_workdir) as a param Snakemake hands to the job without recording it: a SimpleNamespace is
    not among the types its params rerun trigger compares, so changing one reruns no label, isolated
    atom or AIMD job (the scripts merge vars() of it over the level settings)."""
    return SimpleNamespace(**{key: value for key, value in settings.items() if key in RUN_SETTINGS})


def relabel_spec(relabel_set):
    """label.relabel.<relabel_set> with its backend (label.backend unless it names one), settings
    merged over that backend's label block, and n_chunks."""
    if relabel_set not in RELABEL:
        raise ValueError(f"results/relabel/{relabel_set}/ needs a label.relabel.{relabel_set} block (have {sorted(RELABEL)})")
    spec = RELABEL[relabel_set]
    backend = spec["backend"] if "backend" in spec else BACKEND
    return {
        "frames": spec["frames"],
        "backend": backend,
        "settings": {**config["label"][backend], **spec["settings"]},
        "n_chunks": spec["n_chunks"],
    }


def relabel_chunks(wildcards, pattern="results/relabel/{relabel_set}/chunk_{c}.extxyz"):
    """The chunk files of a relabel set (``pattern``: the labelled frames, or their failed lists)."""
    return expand(pattern, relabel_set=wildcards.relabel_set, c=range(relabel_spec(wildcards.relabel_set)["n_chunks"]))


def relabel_failed(wildcards):
    return relabel_chunks(wildcards, "results/relabel/{relabel_set}/chunk_{c}_failed.csv")


def relabel_resource(key):
    """A relabel_chunk job's threads, mem_mb or runtime: those of its backend's label jobs."""
    return lambda wildcards: LABEL_RESOURCES[relabel_spec(wildcards.relabel_set)["backend"]][key]


def label_settings(wildcards):
    """The label backend's level settings for a domain (learn.domain_settings.<domain>.label on top)."""
    return level_settings(DOMAIN_SETTINGS[wildcards.domain]["label"])


def label_run_settings(wildcards):
    """The label backend's run settings for a domain, untracked (:func:`run_settings`)."""
    return run_settings(DOMAIN_SETTINGS[wildcards.domain]["label"])


def label_chunks(wildcards, pattern="results/label/{domain}/iter_{i}/chunk_{c}.extxyz"):
    """The chunk files of iteration i (``pattern``: the labelled frames, or their failed lists)."""
    n = math.ceil(max_frames(wildcards.i, wildcards.domain) / config["label"]["chunk_size"])
    return expand(pattern, domain=wildcards.domain, i=wildcards.i, c=range(n))


def failed_chunks(wildcards):
    return label_chunks(wildcards, "results/label/{domain}/iter_{i}/chunk_{c}_failed.csv")


def committee(domain, i):
    """Model files of the committee of iteration i (file name by train.architecture)."""
    return expand("results/train/{domain}/iter_{i}/member_{m}/{model}", domain=domain, i=i, m=range(N_MODELS), model=MODEL_FILE)


def previous_committee(wildcards):
    return committee(wildcards.domain, int(wildcards.i) - 1)


def previous_band(wildcards):
    """The committee band iteration i works with: iteration i-1's band.json (nothing for iteration 0)."""
    i = int(wildcards.i)
    return {} if i == 0 else {"band": f"results/learn/{wildcards.domain}/iter_{i - 1}/band.json"}


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


def previous_member(wildcards, name, fit=None):
    """Member m of iteration i-1 (file ``name``, and its fit table ``fit`` when given) and its
    decision: the warm start of member m, or the copy of a stopped loop."""
    i = int(wildcards.i)
    if i == 0:
        return {}
    member = f"results/train/{wildcards.domain}/iter_{i - 1}/member_{wildcards.m}"
    files = {"previous_decision": previous_decision(wildcards)["decision"], "previous_model": f"{member}/{name}"}
    if fit is not None:
        files["previous_fit"] = f"{member}/{fit}"
    return files


def final_test(wildcards):
    return f"results/learn/{wildcards.domain}/iter_{N_ITER}/test.extxyz"


def evaluations(domain, i):
    return expand("results/train/{domain}/iter_{i}/member_{m}/evaluation.csv", domain=domain, i=i, m=range(N_MODELS))


def choose_by(domain):
    """A domain's model choice (learn.domain_settings.<domain>.choose_by, else learn.choose_by)."""
    return DOMAIN_SETTINGS[domain]["choose_by"]


def screenings(wildcards):
    """Per-member property screenings of the final committee when the domain's choose_by names a property."""
    if choose_by(wildcards.domain)["property"] == "none":
        return []
    return expand("results/learn/{domain}/final/screen_member_{m}.csv", domain=wildcards.domain, m=range(N_MODELS))


def screen_structure(wildcards):
    """The screening structure under results/structures/ (amlip.config.screen_structure_name)."""
    return f"results/structures/{screen_structure_name(choose_by(wildcards.domain))}.extxyz"


def screen_reference(wildcards):
    """The reference labeler's dehydrogenation energies when the domain chooses its model by them."""
    if choose_by(wildcards.domain)["property"] != "dehydrogenation":
        return {}
    return {"reference": f"results/learn/{wildcards.domain}/final/dehydrogenation_reference.csv"}


# The keys of choose_by that screening a member reads, per property.
SCREENING_KEYS = {
    "density": ("property", "reference_g_cm3", "temperature_K", "n_steps", "timestep_fs", "sample_every", "average_last_fraction")
    + ("taut_fs", "taup_fs"),
    "dehydrogenation": ("property", "max_sites"),
}


def screening_settings(wildcards):
    """The choose_by settings a screen_member job of the domain reads (its property's keys only)."""
    c = choose_by(wildcards.domain)
    return {key: c[key] for key in SCREENING_KEYS[c["property"]]}


def final_targets():
    targets = ["results/report/run_summary.json"]
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
        "results/validate/melt_quench/{analysis}.{ext}", analysis=config["validate"]["analyses"], ext=["csv", "png"]
    )
    if NEUTRON["experiment"]:
        targets += ["results/validate/melt_quench/neutron_fq.csv", "results/validate/melt_quench/neutron_fq.png"]
    targets += ["results/validate/verdict.csv"]
    if config["validate"]["strict"]:
        targets += ["results/validate/verdict.ok"]
    if PORE:
        targets += ["results/pore/validate/summary.csv", "results/pore/validate/dehydrogenation.png"]
    if ZIF:
        targets += ["results/validate/zif/comparison.csv", "results/validate/zif/comparison.png"]
    if MIL:
        targets += ["results/validate/mil120/hydroxyls.png", "results/validate/mil120/co2_binding.csv"]
    if ADSORPTION:
        targets += ["results/adsorption/isotherms.csv", "results/adsorption/isotherms.png"]
    if CLOSED_LOOP:
        targets += ["results/fidelity/melt_quench/comparison.csv", "results/fidelity/melt_quench/comparison.png"]
    targets += expand("results/relabel/{relabel_set}/summary.csv", relabel_set=list(RELABEL))
    if SYSTEMS:
        targets += ["results/validate/systems/table.csv", "results/validate/systems/properties_vs_composition.png"]
        targets += ["results/validate/variants/comparison.csv", "results/validate/variants/comparison.png"]
    return targets


NEUTRON = config["validate"]["neutron_sq"]


def fq_comparison(wildcards=None):
    """The neutron F(Q) comparison summary when validate.neutron_sq.experiment names a measured F(Q); with a
    closed loop also the reference's glasses against the same experiment (the verdict shows both)."""
    if not NEUTRON["experiment"]:
        return {}
    files = {"fq": "results/validate/melt_quench/neutron_fq_summary.csv"}
    if CLOSED_LOOP:
        files["fq_reference"] = "results/fidelity/melt_quench/reference/neutron_fq_summary.csv"
    return files


def glass_trajectories(wildcards=None):
    """Trajectories of the produce.melt_quench.n_glasses independent glasses: glass 0 at the top level, glass k >= 1 in glass_{k}/."""
    n = config["produce"]["melt_quench"]["n_glasses"]
    return ["results/produce/melt_quench/trajectory.extxyz"] + expand(
        "results/produce/melt_quench/glass_{g}/trajectory.extxyz", g=range(1, n)
    )


def glass_outputs(name):
    """File ``name`` (trajectory.extxyz, schedule.csv, thermo.csv) of every glass: glass 0 in results/produce/melt_quench/,
    glass k >= 1 in its glass_{k}/ (rules melt_quench, melt_quench_glass and melt_quench_glasses write them alike)."""
    n = config["produce"]["melt_quench"]["n_glasses"]
    return expand("results/produce/melt_quench/{name}", name=name) + expand(
        "results/produce/melt_quench/glass_{g}/{name}", g=range(1, n), name=name
    )


# Closed-loop fidelity (rules/fidelity.smk): a classical reference labeler can run the production protocol itself.
CLOSED_LOOP = BACKEND == "lammps"


def reference_trajectories(wildcards=None):
    """Trajectories of the reference's own glasses: glass k (0 .. n_glasses - 1) in results/reference/melt_quench/glass_{k}/."""
    n = config["produce"]["melt_quench"]["n_glasses"]
    return expand("results/reference/melt_quench/glass_{g}/trajectory.extxyz", g=range(n))


def fidelity_trajectories(wildcards):
    """The glasses one side of the fidelity comparison measures: the MLIP's (produce) or the reference's."""
    return glass_trajectories() if wildcards.side == "mlip" else reference_trajectories()


def finetune_inputs(wildcards):
    """The foundation model and replay set when fine-tuning (train.finetune), else nothing."""
    finetune = config["train"]["finetune"]
    if not finetune["foundation_model"]:
        return {}
    files = {"foundation_model": finetune["foundation_model"]}
    if finetune["replay_file"]:
        files["replay"] = finetune["replay_file"]
    return files


def nequip_settings(wildcards):
    """train.nequip.preset (zif_nequip, zif_allegro, tiny_nequip, tiny_allegro) with train.nequip.overrides on top."""
    block = config["train"]["nequip"]
    return {**NEQUIP_PRESETS[block["preset"]], **block["overrides"]}


def nequip_command_line(wildcards, input, output):
    """nequip-train followed by nequip-compile (AOTInductor, ASE target) for one member."""
    member = os.path.dirname(output.model)
    run_dir = os.path.join(member, "nequip", "run")
    compiled = os.path.join(member, "model.nequip.pt2")
    train, compile_ = nequip_commands(input.config, run_dir, compiled, device=DEVICE["train"])
    if output.model == compiled:
        return f"{train} && {compile_}"
    # train.nequip.compile: false: the best checkpoint is the member (eager ASE calculator).
    return f"{train} && cp {shlex.quote(os.path.join(run_dir, 'best.ckpt'))} {shlex.quote(output.model)}"


def deepmd_train_settings(wildcards):
    """train.deepmd.preset (ns_deepmd, tiny_deepmd) with train.deepmd.overrides on top."""
    block = config["train"]["deepmd"]
    return deepmd_settings(block["preset"], block["overrides"])


def mtp_train_settings(wildcards):
    """train.mtp.preset (as_mtp16, tiny_mtp) with train.mtp.overrides on top."""
    block = config["train"]["mtp"]
    return mtp_settings(block["preset"], block["overrides"])


def deepmd_command_line(wildcards, input, output, threads):
    """dp --pt train in the member's run directory (from member m of iteration i-1 with train.budget.warm_start),
    then dp --pt freeze to the member's model file."""
    warm = config["train"]["budget"]["warm_start"] and "previous_model" in input.keys()
    return deepmd_command(
        os.path.dirname(input.input),
        output.model,
        threads=threads,
        device=DEVICE["train"],
        init_frozen=input.previous_model if warm else None,
    )


def grace_command_line(wildcards, input, output, threads):
    """gracemaker in the member's run directory (from member m of iteration i-1 with train.budget.warm_start), then
    its SavedModel, model.yaml and checkpoints packed into the member's model file."""
    seed = config["seed"] + int(wildcards.m)
    warm = config["train"]["budget"]["warm_start"] and "previous_model" in input.keys()
    return grace_command(
        os.path.dirname(input.input),
        output.model,
        seed=seed,
        threads=threads,
        device=DEVICE["train"],
        init_from=input.previous_model if warm else None,
    )


# AIMD as exploration (rules/aimd.smk): its frames join iteration 0 of the domains in aimd.domains.
AIMD = config["aimd"]
AIMD_BACKEND = AIMD["backend"]


def all_aimd_settings(wildcards):
    """AIMD labeler settings: aimd.settings over the domain's label settings when the backends agree."""
    base = DOMAIN_SETTINGS[wildcards.domain]["label"] if AIMD_BACKEND == BACKEND else {}
    return {**base, **AIMD["settings"]}


def aimd_settings(wildcards):
    """The AIMD labeler's level settings (:func:`all_aimd_settings`)."""
    return level_settings(all_aimd_settings(wildcards))


def aimd_run_settings(wildcards):
    """The AIMD labeler's run settings, untracked (:func:`run_settings`)."""
    return run_settings(all_aimd_settings(wildcards))


def aimd_import_files(wildcards):
    """The files of aimd.import (tracked as inputs so a changed trajectory reruns the import)."""
    return [v for source in AIMD["import"] for k, v in source.items() if k == "path" or k.endswith("_path")]


def aimd_frames_of(wildcards):
    """Imported AIMD frames for iteration 0 of a domain in aimd.domains, else nothing."""
    if int(wildcards.i) == 0 and wildcards.domain in AIMD["domains"]:
        return [f"results/aimd/{wildcards.domain}/imported.extxyz"]
    return []


def pore_setting(key):
    """A key of the pore block as a param function (evaluated only when a pore job runs)."""
    return lambda wildcards: PORE[key]


def validate_keys(*keys):
    """The keys of the validate block a job reads, as the settings dict of its table function: changing
    another key reruns nothing of this job."""
    return {key: config["validate"][key] for key in keys}


def zif_trajectory(wildcards):
    """The file behind a zif.trajectories name."""
    if wildcards.zif_name not in ZIF["trajectories"]:
        raise ValueError(f"results/validate/zif/{wildcards.zif_name}/ needs zif.trajectories.{wildcards.zif_name}")
    return ZIF["trajectories"][wildcards.zif_name]


def zif_keys(*keys):
    """The keys of the zif block a job reads (narrow params: changing another key reruns nothing of the job)."""
    return lambda wildcards: {key: ZIF[key] for key in keys}


def mil_frameworks(wildcards=None):
    """The MIL-120 variants' structure files (mil120.variants)."""
    return expand("results/structures/mil120_{variant}.extxyz", variant=MIL["variants"])


def mil_binding_model(wildcards):
    """The chosen final model of mil120.binding.domain and its committee files."""
    domain = MIL["binding"]["domain"]
    return {"choice": f"results/learn/{domain}/final/choice.json", "models": committee(domain, N_ITER)}


def adsorption_inputs(wildcards):
    """The GCMC host, and the chosen model of adsorption.domain when adsorption.calculator is model."""
    files = {"host": ADSORPTION["host"]}
    if ADSORPTION["calculator"] == "model":
        domain = ADSORPTION["domain"]
        files |= {"choice": f"results/learn/{domain}/final/choice.json", "models": committee(domain, N_ITER)}
    return files
