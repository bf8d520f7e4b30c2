# Stage 7: production MD with the final model: melt-quench of a random precursor packing.


rule melt_quench:
    input:
        structure="results/structures/random_0.extxyz",
        choice=f"results/learn/{PRODUCE_DOMAIN}/final/choice.json",
        models=committee(PRODUCE_DOMAIN, N_ITER),
    output:
        trajectory="results/produce/melt_quench/trajectory.extxyz",
        schedule="results/produce/melt_quench/schedule.csv",
        thermo="results/produce/melt_quench/thermo.csv",
    log:
        "logs/produce/melt_quench.log",
    benchmark:
        "results/benchmarks/produce/melt_quench.tsv"
    params:
        settings=config["produce"]["melt_quench"],
        seed=config["seed"],
        dtype=config["train"]["mace"].get("default_dtype", "float64"),
    threads: 1
    resources:
        mem_mb=4000,
        runtime=240,
        gpu=0,
    conda:
        "../envs/mace.yaml"
    script:
        "../scripts/melt_quench.py"
