# Stage 4: selection. Active-learning candidates inside the committee band, thinned by SOAP
# k-means; flat-histogram train/test/validation split of every iteration's new labels.


rule select_candidates:
    input:
        "results/explore/{domain}/iter_{i}/pool.extxyz",
    output:
        picked="results/select/{domain}/iter_{i}/picked.extxyz",
        table="results/select/{domain}/iter_{i}/picked.csv",
    wildcard_constraints:
        i=r"[1-9]\d*",
    log:
        "logs/select/{domain}/iter_{i}/candidates.log",
    params:
        low=config["learn"]["sigma_low_eV_A"],
        high=config["learn"]["sigma_high_eV_A"],
        max_new_frames=config["learn"]["max_new_frames"],
        soap=config["select"].get("soap", {}),
        seed=config["seed"],
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    conda:
        "../envs/amlip.yaml"
    script:
        "../scripts/select_candidates.py"


rule split_dataset:
    input:
        "results/label/{domain}/iter_{i}/labelled.extxyz",
    output:
        train="results/select/{domain}/iter_{i}/train.extxyz",
        test="results/select/{domain}/iter_{i}/test.extxyz",
        val="results/select/{domain}/iter_{i}/val.extxyz",
        table="results/select/{domain}/iter_{i}/split.csv",
    log:
        "logs/select/{domain}/iter_{i}/split.log",
    params:
        train_fraction=config["select"]["train_fraction"],
        test_fraction=config["select"]["test_fraction"],
        seed=lambda wildcards: config["seed"] + int(wildcards.i),
    threads: 1
    resources:
        mem_mb=2000,
        runtime=5,
    conda:
        "../envs/amlip.yaml"
    script:
        "../scripts/split_dataset.py"
