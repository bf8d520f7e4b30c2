# Stage 2: exploration. Iteration 0 perturbs the starting structures; iteration i >= 1 runs MD
# with the committee of iteration i-1 and records its force deviation on every frame.


rule explore_initial:
    input:
        starting_structures,
    output:
        "results/explore/{domain}/iter_0/pool.extxyz",
    log:
        "logs/explore/{domain}/iter_0.log",
    params:
        settings=config["explore"]["initial"],
        seed=config["seed"],
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../envs/amlip.yaml"
    script:
        "../scripts/explore_initial.py"


rule explore_md:
    input:
        structures=starting_structures,
        models=previous_committee,
    output:
        "results/explore/{domain}/iter_{i}/pool.extxyz",
    wildcard_constraints:
        i=r"[1-9]\d*",
    log:
        "logs/explore/{domain}/iter_{i}.log",
    benchmark:
        "results/benchmarks/explore/{domain}/iter_{i}.tsv"
    params:
        settings=config["explore"]["md"],
        seed=lambda wildcards: config["seed"] + 1000 * int(wildcards.i),
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
    conda:
        "../envs/mace.yaml"
    script:
        "../scripts/explore_md.py"
