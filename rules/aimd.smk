# Stage 3b: ab initio MD as exploration (AS low-accuracy AIMD, ZIF liquid trajectories, MIL
# optional AIMD) and imports of existing trajectories (aimd.import). Every frame of a domain
# in aimd.domains joins iteration 0's labelled set (merge_labels) before the flat-histogram
# split; the merge refuses frames whose level of theory differs from the chunk labels.


rule run_aimd:
    input:
        "results/structures/{structure}.extxyz",
    output:
        protected(directory("results/aimd/{domain}/run_{structure}")),
    log:
        run="logs/aimd/{domain}/run_{structure}.log",
        # the frames computed before a failure (Snakemake removes a failed job's output directory)
        frames_before_failure="logs/aimd/{domain}/run_{structure}.frames_before_failure.extxyz",
    benchmark:
        "results/benchmarks/aimd/{domain}/run_{structure}.tsv"
    conda:
        f"../envs/{AIMD_BACKEND}.yaml"
    threads: LABEL_RESOURCES[AIMD_BACKEND]["threads"]
    resources:
        mem_mb=LABEL_RESOURCES[AIMD_BACKEND]["mem_mb"],
        runtime=LABEL_RESOURCES[AIMD_BACKEND]["runtime"],
    params:
        backend=AIMD_BACKEND,
        settings=aimd_settings,
        run_settings=aimd_run_settings,
        n_steps=AIMD["n_steps"],
        temperature_K=AIMD["temperature_K"],
        timestep_fs=AIMD["timestep_fs"],
        thermostat_timecon_fs=AIMD["thermostat_timecon_fs"],
        sample_every=AIMD["sample_every"],
        seed=lambda wildcards: config["seed"] + AIMD["structures"].index(wildcards.structure),
    script:
        "../scripts/run_aimd.py"


rule import_aimd:
    input:
        runs=lambda wildcards: expand(
            "results/aimd/{domain}/run_{structure}", domain=wildcards.domain, structure=AIMD["structures"]
        ),
        files=aimd_import_files,
    output:
        frames="results/aimd/{domain}/imported.extxyz",
        table="results/aimd/{domain}/imported.csv",
        plot=report(
            "results/aimd/{domain}/imported_energy.png",
            category="Labels",
            subcategory="{domain}",
            caption="../report/aimd_import.rst",
        ),
    log:
        "logs/aimd/{domain}/import.log",
    conda:
        "../envs/amlip.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=60,
    params:
        sources=AIMD["import"],
        # 'level_of_theory: label' in aimd.import means the chunk labels' record (backend + settings)
        label_backend=BACKEND,
        label_settings=label_settings,
        label_run_settings=label_run_settings,
    script:
        "../scripts/import_aimd.py"
