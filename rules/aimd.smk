# Stage 3b: ab initio MD as exploration (AS low-accuracy AIMD, ZIF liquid trajectories, MIL
# optional AIMD) and imports of existing trajectories (aimd.import). Every frame of a domain
# in aimd.domains joins iteration 0's labelled set (merge_labels) before the flat-histogram
# split; the merge refuses frames whose level of theory differs from the chunk labels.


rule run_aimd:
    input:
        "results/structures/{name}.extxyz",
    output:
        directory("results/aimd/{domain}/run_{name}"),
    log:
        "logs/aimd/{domain}/run_{name}.log",
    benchmark:
        "results/benchmarks/aimd/{domain}/run_{name}.tsv"
    conda:
        f"../envs/{AIMD_BACKEND}.yaml"
    threads: LABEL_RESOURCES[AIMD_BACKEND]["threads"]
    resources:
        mem_mb=LABEL_RESOURCES[AIMD_BACKEND]["mem_mb"],
        runtime=LABEL_RESOURCES[AIMD_BACKEND]["runtime"],
    params:
        backend=AIMD_BACKEND,
        settings=aimd_settings,
        md={k: AIMD[k] for k in ("n_steps", "temperature_K", "timestep_fs", "thermostat_timecon_fs", "sample_every")},
        seed=lambda wildcards: config["seed"] + AIMD["structures"].index(wildcards.name),
    script:
        "../scripts/run_aimd.py"


rule import_aimd:
    input:
        runs=lambda wildcards: expand("results/aimd/{domain}/run_{name}", domain=wildcards.domain, name=AIMD["structures"]),
        files=aimd_import_files,
    output:
        frames="results/aimd/{domain}/imported.extxyz",
        table="results/aimd/{domain}/imported.csv",
        plot="results/aimd/{domain}/imported_energy.png",
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
    script:
        "../scripts/import_aimd.py"
