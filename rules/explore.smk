# Stage 2: exploration. Iteration 0 perturbs the starting structures and samples the production
# protocol run with a classical potential (explore.classical); iteration i >= 1 runs MD with the
# committee of iteration i-1 and records its force deviation on every frame: the production
# protocol itself from explore.production.from_iteration on (one job per random packing), else
# the explore.md runs. After a decision.json that stopped the loop the pool is empty. With both
# AS domains, the eq domain starts from MD with the final syn model at low temperature instead.


rule explore_classical:
    input:
        structure="results/structures/{structure}.extxyz",
    output:
        "results/explore/classical/{structure}.extxyz",
    log:
        "logs/explore/classical/{structure}.log",
    benchmark:
        "results/benchmarks/explore/classical/{structure}.tsv"
    conda:
        "../envs/lammps.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=60,
    params:
        potential=CLASSICAL["potential"],
        n_frames=CLASSICAL["n_frames"],
        md={key: MELT_QUENCH[key] for key in ("protocol", "time_scale", "timestep_fs", "taut_fs", "taup_fs", "guards")},
        seed=lambda wildcards: config["seed"] + 100 + RANDOM_STRUCTURES.index(wildcards.structure),
    script:
        "../scripts/explore_classical.py"


rule explore_initial:
    input:
        structures=starting_structures,
        classical=classical_frames,
    output:
        "results/explore/{domain}/iter_0/pool.extxyz",
    log:
        "logs/explore/{domain}/iter_0.log",
    wildcard_constraints:
        domain="syn" if eq_from_syn() else "|".join(DOMAINS),
    conda:
        "../envs/amlip.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        n_per_structure=config["explore"]["initial"]["n_per_structure"],
        rattle_std_A=config["explore"]["initial"]["rattle_std_A"],
        max_strain=config["explore"]["initial"]["max_strain"],
        scale_range=config["explore"]["initial"]["scale_range"],
        seed=config["seed"],
    script:
        "../scripts/explore_initial.py"


rule explore_md:
    input:
        unpack(previous_decision),
        structures=starting_structures,
        models=previous_committee,
    output:
        "results/explore/{domain}/iter_{i}/md.extxyz",
    log:
        "logs/explore/{domain}/iter_{i}.log",
    benchmark:
        "results/benchmarks/explore/{domain}/iter_{i}.tsv"
    wildcard_constraints:
        i=r"[1-9]\d*",
    conda:
        MODEL_ENV
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
        gpu=GPUS["explore"],
    params:
        # the domain's explore.md block (learn.domain_settings.<domain>.md over explore.md): every key is read
        md=lambda wildcards: DOMAIN_SETTINGS[wildcards.domain]["md"],
        seed=lambda wildcards: config["seed"] + 1000 * int(wildcards.i),
        iteration=lambda wildcards: int(wildcards.i),
        model_python=MODEL_PYTHON,
        device=DEVICE["explore"],
    script:
        "../scripts/explore_md.py"


# Production-in-the-loop active learning: the melt-quench of produce.melt_quench (preset, time_scale,
# NpT stages, guards) with the committee of iteration i-1 from one random packing; stops above
# explore.production.stop_sigma_eV_A and keeps what it sampled.
rule explore_production:
    input:
        unpack(previous_decision),
        structure="results/structures/{structure}.extxyz",
        models=previous_committee,
    output:
        frames="results/explore/{domain}/iter_{i}/production/{structure}.extxyz",
        summary="results/explore/{domain}/iter_{i}/production/{structure}.csv",
    log:
        "logs/explore/{domain}/iter_{i}/production_{structure}.log",
    benchmark:
        "results/benchmarks/explore/{domain}/iter_{i}/production_{structure}.tsv"
    wildcard_constraints:
        i=r"[1-9]\d*",
    conda:
        MODEL_ENV
    threads: 1
    resources:
        mem_mb=4000,
        runtime=240,
        gpu=GPUS["explore"],
    params:
        md={
            key: MELT_QUENCH[key]
            for key in ("protocol", "time_scale", "timestep_fs", "friction_per_fs", "taut_fs", "taup_fs", "guards")
        },
        sample_every=PRODUCTION_EXPLORATION["sample_every"],
        stop_sigma_eV_A=PRODUCTION_EXPLORATION["stop_sigma_eV_A"],
        average_last_fraction=config["validate"]["average_last_fraction"],
        seed=lambda wildcards: config["seed"] + 1000 * int(wildcards.i) + RANDOM_STRUCTURES.index(wildcards.structure),
        iteration=lambda wildcards: int(wildcards.i),
        model_python=MODEL_PYTHON,
        device=DEVICE["explore"],
    script:
        "../scripts/explore_production.py"


# Iteration i's pool: the frames of every exploration run, and runs.csv (one row per run: mode,
# completed, stop reason, frames, production density) for the convergence decision.
rule merge_pool:
    input:
        pool_parts,
    output:
        pool="results/explore/{domain}/iter_{i}/pool.extxyz",
        runs="results/explore/{domain}/iter_{i}/runs.csv",
    log:
        "logs/explore/{domain}/iter_{i}/merge_pool.log",
    wildcard_constraints:
        i=r"[1-9]\d*",
    conda:
        "../envs/amlip.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../scripts/merge_pool.py"


if eq_from_syn():

    # AS: the eq data set is sampled by MD with the chosen final syn model at the eq domain's
    # (low) temperatures; the split drops frames above select.max_force_eV_A.eq, and labels
    # use learn.domain_settings.eq.label.
    rule sample_equilibrium:
        input:
            structures=starting_structures,
            choice="results/learn/syn/final/choice.json",
            models=committee("syn", N_ITER),
        output:
            "results/explore/eq/iter_0/pool.extxyz",
        log:
            "logs/explore/eq/iter_0.log",
        benchmark:
            "results/benchmarks/explore/eq/iter_0.tsv"
        conda:
            MODEL_ENV
        threads: 1
        resources:
            mem_mb=4000,
            runtime=60,
            gpu=GPUS["explore"],
        params:
            md=DOMAIN_SETTINGS["eq"]["md"],
            seed=config["seed"] + 500,
            iteration=0,
            model_python=MODEL_PYTHON,
            device=DEVICE["explore"],
        script:
            "../scripts/explore_md.py"
