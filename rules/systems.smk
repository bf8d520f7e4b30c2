# Systems as a DAG dimension (the `systems:` block; off when it is empty): every system's samples are
# built, melt-quenched with the production domain's chosen model (produce.melt_quench), measured one by one
# like the closed-loop glasses (validate.fidelity) and aggregated per system (mean +- std over samples).
# results/structures/systems/<system>/sample_<s>.extxyz -> results/produce/systems/<system>/sample_<s>/
# -> results/validate/systems/<system>/sample_<s>/ -> results/validate/systems/{summary,table,curves}.csv.


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
        seed=lambda wildcards: system_seed(wildcards, 20000),
    script:
        "../scripts/build_random_structure.py"


# Sample s of a system with the chosen final model of the production domain, MD seed seed + 1000 * index + s.
rule produce_system:
    input:
        structure=system_start,
        choice=f"results/learn/{PRODUCE_DOMAIN}/final/choice.json",
        models=committee(PRODUCE_DOMAIN, N_ITER),
    output:
        trajectory="results/produce/systems/{system}/sample_{s}/trajectory.extxyz",
        schedule="results/produce/systems/{system}/sample_{s}/schedule.csv",
        thermo="results/produce/systems/{system}/sample_{s}/thermo.csv",
    log:
        "logs/produce/systems/{system}/sample_{s}.log",
    benchmark:
        "results/benchmarks/produce/systems/{system}/sample_{s}.tsv"
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
        dtype=MODEL_DTYPE,
        dispersion=config["produce"]["dispersion"],
        model_python=MODEL_PYTHON,
        device=DEVICE["produce"],
    script:
        "../scripts/melt_quench.py"


# One sample measured (density over the tail, partial RDF peaks, angles, coordination, Qn, rings, F(Q)).
rule measure_system_sample:
    input:
        trajectories=["results/produce/systems/{system}/sample_{s}/trajectory.extxyz"],
    output:
        values="results/validate/systems/{system}/sample_{s}/values.csv",
        curves="results/validate/systems/{system}/sample_{s}/curves.csv",
    log:
        "logs/validate/systems/{system}/sample_{s}.log",
    conda:
        "../envs/amlip.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        settings={key: value for key, value in config["validate"]["fidelity"].items() if key != "targets"}
        | {"average_last_fraction": config["validate"]["average_last_fraction"]},
    script:
        "../scripts/measure_glasses.py"


# Every system aggregated: per-sample values, per-system mean +- std (long: summary.csv; one row per system with
# composition and reference density: table.csv), sample-averaged curves, the property-vs-composition figure.
rule summarize_systems:
    input:
        values=system_files("results/validate/systems/{system}/sample_{s}/values.csv"),
        curves=system_files("results/validate/systems/{system}/sample_{s}/curves.csv"),
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
