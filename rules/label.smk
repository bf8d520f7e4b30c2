# Stage 3: reference labels. Frames are labelled in chunks (one job each); failures are kept
# in a CSV beside every chunk and checked against label.max_failed_fraction when merging.
# Iteration 0 also takes the AIMD frames of rules/aimd.smk (same level of theory, or refused).


rule label_chunk:
    input:
        frames=frames_to_label,
    output:
        labelled=protected("results/label/{domain}/iter_{i}/chunk_{c}.extxyz"),
        failed="results/label/{domain}/iter_{i}/chunk_{c}_failed.csv",
    log:
        "logs/label/{domain}/iter_{i}/chunk_{c}.log",
    benchmark:
        "results/benchmarks/label/{domain}/iter_{i}/chunk_{c}.tsv"
    params:
        backend=BACKEND,
        settings=label_settings,
        chunk_size=config["label"]["chunk_size"],
    threads: LABEL_RESOURCES[BACKEND]["threads"]
    resources:
        mem_mb=LABEL_RESOURCES[BACKEND]["mem_mb"],
        runtime=LABEL_RESOURCES[BACKEND]["runtime"],
    conda:
        f"../envs/{BACKEND}.yaml"
    script:
        "../scripts/label_chunk.py"


rule merge_labels:
    input:
        chunks=label_chunks,
        failed=failed_chunks,
        frames=frames_to_label,
        # iteration 0 of a domain in aimd.domains: AIMD and imported trajectories (rules/aimd.smk)
        aimd=aimd_frames_of,
    output:
        labelled="results/label/{domain}/iter_{i}/labelled.extxyz",
        failed="results/label/{domain}/iter_{i}/failed.csv",
    log:
        "logs/label/{domain}/iter_{i}/merge.log",
    params:
        max_failed_fraction=config["label"]["max_failed_fraction"],
    threads: 1
    resources:
        mem_mb=2000,
        runtime=5,
    conda:
        "../envs/amlip.yaml"
    script:
        "../scripts/merge_labels.py"


# Per domain, with the domain's label settings: E0s and frames share one level of theory
# (assemble_dataset refuses a data set whose frames do not match its E0s).
rule label_isolated_atoms:
    output:
        protected("results/label/{domain}/isolated_atoms.json"),
    log:
        "logs/label/{domain}/isolated_atoms.log",
    params:
        backend=BACKEND,
        settings=label_settings,
        elements=config["elements"],
    threads: LABEL_RESOURCES[BACKEND]["threads"]
    resources:
        mem_mb=LABEL_RESOURCES[BACKEND]["mem_mb"],
        runtime=LABEL_RESOURCES[BACKEND]["runtime"],
    conda:
        f"../envs/{BACKEND}.yaml"
    script:
        "../scripts/label_isolated_atoms.py"
