# Pores (AS, PROTOCOLS 5-6): hexagonal cell with a cylindrical pore along z, melt-quenched with the chosen
# model and a repulsive wall, functionalized, relaxed, dried, annealed, dried again, validated.
# Active only when the config has a `pore:` block (config/examples/pore_silica.yaml); otherwise the
# rules exist but nothing requests them.

PORE = config.get("pore") or {}
PORE_DOMAIN = PORE.get("domain", "syn")
if PORE and PORE_DOMAIN not in DOMAINS:
    raise ValueError(f"config pore.domain='{PORE_DOMAIN}' is not in learn.domains={DOMAINS}")
PORE_DTYPE = config["train"]["mace"].get("default_dtype", "float64")


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
        settings=PORE,
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
        gpu=0,
    params:
        settings=PORE,
        md=PORE.get("melt_quench", {}),
        seed=config["seed"],
        dtype=PORE_DTYPE,
        nequip_python=NEQUIP_PYTHON,
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
        settings=PORE,
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
        gpu=0,
    params:
        settings=PORE,
        dtype=PORE_DTYPE,
        nequip_python=NEQUIP_PYTHON,
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
        settings=PORE,
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
        gpu=0,
    params:
        settings=PORE,
        md=PORE.get("anneal", {}),
        seed=config["seed"] + 1,
        dtype=PORE_DTYPE,
        nequip_python=NEQUIP_PYTHON,
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
        figure="results/pore/validate/dehydrogenation.png",
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
        gpu=0,
    params:
        settings=PORE,
        dtype=PORE_DTYPE,
        nequip_python=NEQUIP_PYTHON,
    script:
        "../scripts/validate_pore.py"
