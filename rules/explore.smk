# Stage 2: exploration. Iteration 0 perturbs the starting structures; iteration i >= 1 runs MD
# with the committee of iteration i-1 and records its force deviation on every frame, unless
# iteration i-1's decision.json stopped the loop (then the pool is empty). With both
# AS domains, the eq domain starts from MD with the final syn model at low temperature instead.


rule explore_initial:
    input:
        starting_structures,
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
        "results/explore/{domain}/iter_{i}/pool.extxyz",
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
    params:
        # the domain's explore.md block (learn.domain_settings.<domain>.md over explore.md): every key is read
        md=lambda wildcards: DOMAIN_SETTINGS[wildcards.domain]["md"],
        seed=lambda wildcards: config["seed"] + 1000 * int(wildcards.i),
        iteration=lambda wildcards: int(wildcards.i),
        nequip_python=NEQUIP_PYTHON,
    script:
        "../scripts/explore_md.py"


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
        params:
            md=DOMAIN_SETTINGS["eq"]["md"],
            seed=config["seed"] + 500,
            iteration=0,
            nequip_python=NEQUIP_PYTHON,
        script:
            "../scripts/explore_md.py"
