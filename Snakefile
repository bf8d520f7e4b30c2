# amlip: from reference calculations to machine-learned potentials for amorphous materials,
# and from the potentials to validated structures. See README.md.
from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


include: "rules/common.smk"
include: "rules/structures.smk"
include: "rules/explore.smk"
include: "rules/label.smk"
include: "rules/aimd.smk"
include: "rules/select.smk"
include: "rules/train.smk"
include: "rules/learn.smk"
include: "rules/produce.smk"
include: "rules/systems.smk"
include: "rules/papers.smk"
include: "rules/pore.smk"
include: "rules/mof.smk"
include: "rules/validate.smk"
include: "rules/fidelity.smk"
include: "rules/report.smk"


rule all:
    default_target: True
    input:
        final_targets(),
