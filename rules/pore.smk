# Pores (AS, PROTOCOLS 5-6): hexagonal cell with a cylindrical pore along z, melt-quenched with the chosen
# model and a repulsive wall, functionalized, relaxed, dried, annealed, dried again, validated.
# Active only when the config has a `pore:` block (config/examples/pore_silica.yaml); otherwise the
# rules exist but nothing requests them.


rule build_pore:
    output:
        "results/pore/structure.extxyz",
    log:
        "logs/pore/build_pore.log",
    conda:
        "../envs/amlip.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        units=pore_setting("units"),
        density_g_cm3=pore_setting("density_g_cm3"),
        radius_A=pore_setting("radius_A"),
        height_A=pore_setting("height_A"),
        min_distance_A=pore_setting("min_distance_A"),
        seed=config["seed"],
    script:
        "../scripts/build_pore.py"


rule melt_quench_pore:
    input:
        structure="results/pore/structure.extxyz",
        choice=f"results/learn/{PORE_DOMAIN}/final/choice.json",
        models=committee(PORE_DOMAIN, N_ITER),
    output:
        trajectory="results/pore/melt_quench/trajectory.extxyz",
        schedule="results/pore/melt_quench/schedule.csv",
        thermo="results/pore/melt_quench/thermo.csv",
    log:
        "logs/pore/melt_quench_pore.log",
    benchmark:
        "results/benchmarks/pore/melt_quench_pore.tsv"
    conda:
        MODEL_ENV
    threads: 1
    resources:
        mem_mb=4000,
        runtime=240,
        gpu=GPUS["produce"],
    params:
        radius_A=pore_setting("radius_A"),
        wall=pore_setting("wall"),
        md=pore_setting("melt_quench"),
        seed=config["seed"],
        dtype=MODEL_DTYPE,
        model_python=MODEL_PYTHON,
        device=DEVICE["produce"],
    script:
        "../scripts/melt_quench_pore.py"


rule functionalize_pore:
    input:
        trajectory="results/pore/melt_quench/trajectory.extxyz",
    output:
        structure="results/pore/functionalized.extxyz",
        counts="results/pore/functionalized.csv",
    log:
        "logs/pore/functionalize_pore.log",
    conda:
        "../envs/amlip.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        radius_A=pore_setting("radius_A"),
        probe_radius_A=pore_setting("probe_radius_A"),
        bond_cutoff_A=pore_setting("bond_cutoff_A"),
    script:
        "../scripts/functionalize_pore.py"


rule relax_pore:
    input:
        structure="results/pore/functionalized.extxyz",
        choice=f"results/learn/{PORE_DOMAIN}/final/choice.json",
        models=committee(PORE_DOMAIN, N_ITER),
    output:
        structure="results/pore/relaxed.extxyz",
        summary="results/pore/relaxed.csv",
    log:
        "logs/pore/relax_pore.log",
    benchmark:
        "results/benchmarks/pore/relax_pore.tsv"
    conda:
        MODEL_ENV
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
        gpu=GPUS["produce"],
    params:
        radius_A=pore_setting("radius_A"),
        wall=pore_setting("wall"),
        relax=pore_setting("relax"),
        dtype=MODEL_DTYPE,
        model_python=MODEL_PYTHON,
        device=DEVICE["produce"],
    script:
        "../scripts/relax_pore.py"


# Water that formed is removed twice (AS): after the relaxation (before annealing) and after the anneal (before analysis).
rule remove_water:
    input:
        structure="results/pore/{stage}.extxyz",
    output:
        structure="results/pore/{stage}_dry.extxyz",
        counts="results/pore/{stage}_water.csv",
    log:
        "logs/pore/remove_water_{stage}.log",
    wildcard_constraints:
        stage="relaxed|annealed",
    conda:
        "../envs/amlip.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        bond_cutoff_A=pore_setting("bond_cutoff_A"),
    script:
        "../scripts/remove_water.py"


rule anneal_pore:
    input:
        structure="results/pore/relaxed_dry.extxyz",
        choice=f"results/learn/{PORE_DOMAIN}/final/choice.json",
        models=committee(PORE_DOMAIN, N_ITER),
    output:
        trajectory="results/pore/anneal/trajectory.extxyz",
        schedule="results/pore/anneal/schedule.csv",
        thermo="results/pore/anneal/thermo.csv",
        structure="results/pore/annealed.extxyz",
    log:
        "logs/pore/anneal_pore.log",
    benchmark:
        "results/benchmarks/pore/anneal_pore.tsv"
    conda:
        MODEL_ENV
    threads: 1
    resources:
        mem_mb=4000,
        runtime=480,
        gpu=GPUS["produce"],
    params:
        radius_A=pore_setting("radius_A"),
        wall=pore_setting("wall"),
        md=pore_setting("anneal"),
        seed=config["seed"] + 1,
        dtype=MODEL_DTYPE,
        model_python=MODEL_PYTHON,
        device=DEVICE["produce"],
    script:
        "../scripts/anneal_pore.py"


rule validate_pore:
    input:
        structure="results/pore/annealed_dry.extxyz",
        functionalized="results/pore/functionalized.csv",
        water=expand("results/pore/{stage}_water.csv", stage=["relaxed", "annealed"]),
        choice=f"results/learn/{PORE_DOMAIN}/final/choice.json",
        models=committee(PORE_DOMAIN, N_ITER),
    output:
        summary="results/pore/validate/summary.csv",
        water="results/pore/validate/water.csv",
        sites="results/pore/validate/dehydrogenation_sites.csv",
        table="results/pore/validate/dehydrogenation.csv",
        figure=report(
            "results/pore/validate/dehydrogenation.png",
            category="Pores",
            subcategory="pore",
            caption="../report/dehydrogenation.rst",
        ),
    log:
        "logs/pore/validate_pore.log",
    benchmark:
        "results/benchmarks/pore/validate_pore.tsv"
    conda:
        MODEL_ENV
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
        gpu=GPUS["validate"],
    params:
        radius_A=pore_setting("radius_A"),
        validate=pore_setting("validate"),
        dtype=MODEL_DTYPE,
        model_python=MODEL_PYTHON,
        device=DEVICE["validate"],
    script:
        "../scripts/validate_pore.py"
