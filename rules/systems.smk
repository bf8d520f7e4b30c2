# Systems as a DAG dimension (the `systems:` block; off when it is empty): every system's samples are
# built, melt-quenched by every variant (`variants:` a model, chosen or external, with or without D3; default
# one, the chosen model) with produce.melt_quench, measured one by one like the closed-loop glasses
# (validate.fidelity) and aggregated per variant and system (mean +- std over samples). All variants start
# sample s of a system from the same packing with the same MD seed.
# results/structures/systems/<system>/sample_<s>.extxyz -> results/produce/systems/<variant>/<system>/sample_<s>/
# -> results/validate/systems/<variant>/<system>/sample_<s>/ -> results/validate/systems/{summary,table,curves}.csv
# -> results/validate/variants/comparison.{csv,png} (with each variant's errors on the final test set).


# A system's random packing for sample s (its units at its density); seed + 20000 + 1000 * (the system's
# position in `systems`) + s keeps it apart from random_<k> and glass_start_<g>.
rule build_system_packing:
    output:
        "results/structures/systems/{system}/sample_{s}.extxyz",
    log:
        "logs/structures/systems/{system}/sample_{s}.log",
    conda:
        "../envs/amlip.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        units=lambda wildcards: SYSTEMS[wildcards.system]["units"],
        density_g_cm3=lambda wildcards: SYSTEMS[wildcards.system]["density_g_cm3"],
        min_distance_A=config["structures"]["random"]["min_distance_A"],
        pair_min_distance_A=config["structures"]["random"]["pair_min_distance_A"],
        seed=lambda wildcards: system_seed(wildcards, 20000),
    script:
        "../scripts/build_random_structure.py"


# An external model (models.external) as a choice.json like the chosen member's: production and validation
# load it the same way. The file is an input: a changed file reruns what used it.
rule register_external_model:
    input:
        model=lambda wildcards: EXTERNAL[wildcards.name]["file"],
    output:
        choice="results/models/external/{name}/choice.json",
    log:
        "logs/models/external/{name}.log",
    wildcard_constraints:
        name=r"[A-Za-z0-9_]+",
    conda:
        "../envs/amlip.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        settings=lambda wildcards: EXTERNAL[wildcards.name],
    script:
        "../scripts/register_external_model.py"


# Sample s of a system with a variant's model and D3, MD seed seed + 1000 * index + s (the same for every variant).
rule produce_system:
    input:
        unpack(variant_model),
        structure=system_start,
    output:
        trajectory="results/produce/systems/{variant}/{system}/sample_{s}/trajectory.extxyz",
        schedule="results/produce/systems/{variant}/{system}/sample_{s}/schedule.csv",
        thermo="results/produce/systems/{variant}/{system}/sample_{s}/thermo.csv",
    log:
        "logs/produce/systems/{variant}/{system}/sample_{s}.log",
    benchmark:
        "results/benchmarks/produce/systems/{variant}/{system}/sample_{s}.tsv"
    conda:
        MODEL_ENV
    threads: 1
    resources:
        mem_mb=4000,
        runtime=240,
        gpu=GPUS["produce"],
    params:
        md=MELT_QUENCH,
        seed=lambda wildcards: system_seed(wildcards, 0),
        dtype=variant_dtype,
        dispersion=variant_dispersion,
        model_python=MODEL_PYTHON,
        device=DEVICE["produce"],
    script:
        "../scripts/melt_quench.py"


# One sample measured (density over the tail, partial RDF peaks, angles, coordination, Qn, rings, F(Q)).
rule measure_system_sample:
    input:
        trajectories=["results/produce/systems/{variant}/{system}/sample_{s}/trajectory.extxyz"],
    output:
        values="results/validate/systems/{variant}/{system}/sample_{s}/values.csv",
        curves="results/validate/systems/{variant}/{system}/sample_{s}/curves.csv",
    log:
        "logs/validate/systems/{variant}/{system}/sample_{s}.log",
    conda:
        "../envs/amlip.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        settings=MEASURE_SETTINGS,
    script:
        "../scripts/measure_glasses.py"


# Every system aggregated: per-sample values, per-system mean +- std (long: summary.csv; one row per system with
# composition and reference density: table.csv), sample-averaged curves, the property-vs-composition figure.
rule summarize_systems:
    input:
        values=system_files("results/validate/systems/{variant}/{system}/sample_{s}/values.csv"),
        curves=system_files("results/validate/systems/{variant}/{system}/sample_{s}/curves.csv"),
        reference="resources/reference/glass_densities.csv",
    output:
        samples="results/validate/systems/samples.csv",
        summary="results/validate/systems/summary.csv",
        table="results/validate/systems/table.csv",
        curves="results/validate/systems/curves.csv",
        png=report(
            "results/validate/systems/properties_vs_composition.png",
            category="Validation",
            subcategory="Systems",
            caption="../report/systems.rst",
        ),
    log:
        "logs/validate/summarize_systems.log",
    conda:
        "../envs/amlip.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        samples=system_samples_list(),
        systems=SYSTEMS,
    script:
        "../scripts/summarize_systems.py"


# A variant's model on the production domain's final test set (E/F/S errors) and its cost per atom per call on the
# first test frame (the model alone: D3 is not part of the fitted labels).
rule evaluate_variant:
    input:
        unpack(variant_model),
        test=f"results/learn/{PRODUCE_DOMAIN}/iter_{N_ITER}/test.extxyz",
    output:
        table="results/validate/variants/{variant}/evaluation.csv",
    log:
        "logs/validate/variants/{variant}_evaluation.log",
    conda:
        MODEL_ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
        gpu=GPUS["validate"],
    params:
        dtype=variant_dtype,
        device=DEVICE["validate"],
        cost=COST,
        model_python=MODEL_PYTHON,
    script:
        "../scripts/evaluate_variant.py"


# VDOS of sample 0 of every system with every variant (model and D3), when validate.analyses has vdos (NS Fig. 6):
# the validate.vdos MD (Langevin NVT, then NVE) from the last glass frame, then the VDOS and its peaks.
rule md_vdos_system:
    input:
        unpack(variant_model),
        trajectory="results/produce/systems/{variant}/{system}/sample_0/trajectory.extxyz",
    output:
        trajectory=temp("results/validate/systems/{variant}/{system}/vdos/trajectory.extxyz"),
    log:
        "logs/validate/systems/{variant}/{system}/md_vdos.log",
    benchmark:
        "results/benchmarks/validate/systems/{variant}/{system}/md_vdos.tsv"
    conda:
        MODEL_ENV
    threads: 1
    resources:
        mem_mb=4000,
        runtime=120,
        gpu=GPUS["validate"],
    params:
        dispersion=variant_dispersion,
        md=VDOS_MD,
        seed=config["seed"],
        dtype=variant_dtype,
        model_python=MODEL_PYTHON,
        device=DEVICE["validate"],
    script:
        "../scripts/md_vdos.py"


rule vdos_system:
    input:
        trajectory="results/validate/systems/{variant}/{system}/vdos/trajectory.extxyz",
    output:
        table="results/validate/systems/{variant}/{system}/vdos/vdos.csv",
        peaks="results/validate/systems/{variant}/{system}/vdos/peaks.csv",
        figure=report(
            "results/validate/systems/{variant}/{system}/vdos/vdos.png",
            category="Validation",
            subcategory="Systems",
            caption="../report/vdos.rst",
        ),
    log:
        "logs/validate/systems/{variant}/{system}/vdos.log",
    conda:
        "../envs/amlip.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=15,
    params:
        sample_every_fs=VDOS["sample_every_fs"],
        plot_max_cm1=VDOS["plot_max_cm1"],
    script:
        "../scripts/validate_vdos.py"


# MD elastic moduli of sample 0 of every system with every variant (model and D3), when validate.analyses has
# elastic_md (NS Fig. 7): the validate.elastic_md runs (NS uniaxial strain for E and nu, pressure steps for K,
# ZIF NVT P(V)) from the last glass frame, compared with the system's reference row of glass_moduli.csv.
rule elastic_md_system:
    input:
        unpack(variant_model),
        trajectory="results/produce/systems/{variant}/{system}/sample_0/trajectory.extxyz",
        reference="resources/reference/glass_moduli.csv",
    output:
        table="results/validate/systems/{variant}/{system}/elastic_md.csv",
        runs="results/validate/systems/{variant}/{system}/elastic_md_runs.csv",
        figure=report(
            "results/validate/systems/{variant}/{system}/elastic_md.png",
            category="Validation",
            subcategory="Systems",
            caption="../report/elastic_md_system.rst",
        ),
    log:
        "logs/validate/systems/{variant}/{system}/elastic_md.log",
    benchmark:
        "results/benchmarks/validate/systems/{variant}/{system}/elastic_md.tsv"
    conda:
        MODEL_ENV
    threads: 1
    resources:
        mem_mb=4000,
        runtime=240,
        gpu=GPUS["validate"],
    params:
        dispersion=variant_dispersion,
        settings=system_moduli_settings,
        guards={key: MELT_QUENCH["guards"][key] for key in ("max_T_factor", "min_distance_A", "check_every")},
        seed=config["seed"],
        dtype=variant_dtype,
        model_python=MODEL_PYTHON,
        device=DEVICE["validate"],
    script:
        "../scripts/validate_elastic_md.py"


# The variants side by side (NS: MACE, MACE+D3, DeePMD, DeePMD+D3): per variant and system the density with its
# reference error, the first-peak positions, Qn and coordination, the VDOS peaks, with the variant's E/F/S errors and cost.
rule compare_variants:
    input:
        table="results/validate/systems/table.csv",
        evaluations=expand("results/validate/variants/{variant}/evaluation.csv", variant=list(VARIANTS)),
        vdos_peaks=system_vdos_peaks(),
        moduli=system_moduli_tables(),
    output:
        csv="results/validate/variants/comparison.csv",
        png=report(
            "results/validate/variants/comparison.png",
            category="Validation",
            subcategory="Variants",
            caption="../report/variants.rst",
        ),
    log:
        "logs/validate/compare_variants.log",
    conda:
        "../envs/amlip.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        variants=VARIANTS,
        vdos_keys=SYSTEM_VDOS,
        moduli_keys=SYSTEM_MODULI,
    script:
        "../scripts/compare_variants.py"
