# Stage 5: training. Each committee member is one mace_run_train job with its own seed;
# evaluation writes the AS Table 2 / ZIF Table 1 metrics for every split.
rule train_model:
    input:
        unpack(finetune_inputs),
        train="results/learn/{domain}/iter_{i}/train.extxyz",
        val="results/learn/{domain}/iter_{i}/val.extxyz",
        test="results/learn/{domain}/iter_{i}/test.extxyz",
        e0s="results/label/isolated_atoms.json",
    output:
        model=protected("results/train/{domain}/iter_{i}/member_{m}/mace.model"),
    log:
        "logs/train/{domain}/iter_{i}/member_{m}.log",
    benchmark:
        "results/benchmarks/train/{domain}/iter_{i}/member_{m}.tsv"
    params:
        args=mace_arguments,
    threads: 1
    resources:
        mem_mb=4000,
        runtime=120,
        gpu=0,
    conda:
        "../envs/mace.yaml"
    shell:
        "OMP_NUM_THREADS={threads} mace_run_train {params.args} > {log} 2>&1"


rule evaluate_model:
    input:
        model="results/train/{domain}/iter_{i}/member_{m}/mace.model",
        train="results/learn/{domain}/iter_{i}/train.extxyz",
        val="results/learn/{domain}/iter_{i}/val.extxyz",
        test="results/learn/{domain}/iter_{i}/test.extxyz",
        final_test=final_test,
    output:
        table="results/train/{domain}/iter_{i}/member_{m}/evaluation.csv",
        predictions="results/train/{domain}/iter_{i}/member_{m}/test_predictions.extxyz",
    log:
        "logs/train/{domain}/iter_{i}/evaluate_{m}.log",
    params:
        dtype=config["train"]["mace"].get("default_dtype", "float64"),
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    conda:
        "../envs/mace.yaml"
    script:
        "../scripts/evaluate_model.py"
