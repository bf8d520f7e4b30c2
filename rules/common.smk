# Config validation, wildcard constraints and input functions shared by every stage.
import math

from snakemake.utils import validate

from amlip.nequip_backend import PRESETS as NEQUIP_PRESETS
from amlip.nequip_backend import nequip_commands
from amlip.train import mace_cli_args


validate(config, "../config/schema.yaml")


report: "../report/workflow.rst"


DOMAINS = config["learn"]["domains"]
N_ITER = config["learn"]["n_iterations"]
N_MODELS = config["train"]["n_models"]
CRYSTALS = list(config["structures"]["crystals"])
N_RANDOM = config["structures"]["random"].get("n_structures", 1)
BACKEND = config["label"]["backend"]
# Per-chunk job size of each labeler (runtime in minutes); DFT codes get a node's worth of cores.
LABEL_RESOURCES = {
    "xtb": dict(threads=1, mem_mb=2000, runtime=60),
    "lammps": dict(threads=1, mem_mb=2000, runtime=30),
    "cp2k": dict(threads=16, mem_mb=32000, runtime=1440),
    "vasp": dict(threads=32, mem_mb=64000, runtime=1440),
}
PRODUCE_DOMAIN = config["produce"]["melt_quench"].get("domain", "syn")
if PRODUCE_DOMAIN not in DOMAINS:
    raise ValueError(
        f"config produce.melt_quench.domain='{PRODUCE_DOMAIN}' is not in learn.domains={DOMAINS}"
    )


wildcard_constraints:
    domain="|".join(DOMAINS),
    i=r"\d+",
    m=r"\d+",
    c=r"\d+",
    k=r"\d+",
    name=r"[A-Za-z0-9_]+",
    split="train|test|val",


def starting_structures(wildcards=None):
    """Every starting structure: random packings and crystals."""
    return expand("results/structures/random_{k}.extxyz", k=range(N_RANDOM)) + expand(
        "results/structures/crystal_{name}.extxyz", name=CRYSTALS
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


def max_frames(i):
    """Upper bound on the frames labelled in iteration i (fixes the number of chunks)."""
    if int(i) == 0:
        return (N_RANDOM + len(CRYSTALS)) * config["explore"]["initial"]["n_per_structure"]
    return config["learn"]["max_new_frames"]


def label_chunks(wildcards):
    n = math.ceil(max_frames(wildcards.i) / config["label"]["chunk_size"])
    return expand(
        "results/label/{domain}/iter_{i}/chunk_{c}.extxyz",
        domain=wildcards.domain,
        i=wildcards.i,
        c=range(n),
    )


def failed_chunks(wildcards):
    return [p.replace(".extxyz", "_failed.csv") for p in label_chunks(wildcards)]


def committee(domain, i):
    """Model files of the committee of iteration i."""
    return expand(
        "results/train/{domain}/iter_{i}/member_{m}/mace.model", domain=domain, i=i, m=range(N_MODELS)
    )


def previous_committee(wildcards):
    return committee(wildcards.domain, int(wildcards.i) - 1)


def previous_dataset(wildcards):
    """The data set of iteration i-1 (nothing for iteration 0)."""
    i = int(wildcards.i)
    if i == 0:
        return {}
    return {
        f"previous_{s}": f"results/learn/{wildcards.domain}/iter_{i - 1}/{s}.extxyz"
        for s in ("train", "test", "val")
    }


def final_test(wildcards):
    return f"results/learn/{wildcards.domain}/iter_{N_ITER}/test.extxyz"


def evaluations(domain, i):
    return expand(
        "results/train/{domain}/iter_{i}/member_{m}/evaluation.csv", domain=domain, i=i, m=range(N_MODELS)
    )


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
        analysis=["xray_pdf", "neutron_sq", "rings", "qn", "pmf", "pores"],
        ext=["csv", "png"],
    )
    return targets


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
    return " && ".join(
        nequip_commands(
            input.config,
            os.path.join(member, "nequip", "run"),
            output.model,
            device=config["train"]["nequip"].get("device", "cpu"),
        )
    )
