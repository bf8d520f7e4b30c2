# Stage 6: the active-learning loop, unrolled: iteration i's data set is iteration i-1's plus
# the new split labels; the summary records what the iteration explored, picked and reached.


rule assemble_dataset:
    input:
        unpack(previous_dataset),
        train="results/select/{domain}/iter_{i}/train.extxyz",
        test="results/select/{domain}/iter_{i}/test.extxyz",
        val="results/select/{domain}/iter_{i}/val.extxyz",
        e0s="results/label/{domain}/isolated_atoms.json",
    output:
        train="results/learn/{domain}/iter_{i}/train.extxyz",
        test="results/learn/{domain}/iter_{i}/test.extxyz",
        val="results/learn/{domain}/iter_{i}/val.extxyz",
    log:
        "logs/learn/{domain}/iter_{i}/assemble.log",
    conda:
        "../envs/amlip.yaml"
    threads: 1
    # Frames are streamed file to file with no per-frame state: memory is flat in the number of frames
    # (benchmarks/measured/stream_memory.txt), so mem_mb stays 2000. runtime (min) = 5 + input MiB / 60,
    # i.e. 1 MiB/s, below the 1.3-2.2 MB/s (8-atom frames) and 7-11 MB/s (272-atom) measured there.
    resources:
        mem_mb=2000,
        runtime=scaled_by_input(5, 1 / 60),
    script:
        "../scripts/assemble_dataset.py"


# The convergence decision from the explored pool alone (not the evaluations, which score every
# iteration on the final test set): iteration i+1 explores, labels and trains only when it does
# not stop the loop (learn.stop_when_converged); a stopped loop stays stopped.
rule decide_iteration:
    input:
        unpack(previous_decision),
        unpack(exploration_runs),
        unpack(previous_band),
        pool="results/explore/{domain}/iter_{i}/pool.extxyz",
    output:
        "results/learn/{domain}/iter_{i}/decision.json",
    log:
        "logs/learn/{domain}/iter_{i}/decision.log",
    conda:
        "../envs/amlip.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        low=lambda wildcards: DOMAIN_SETTINGS[wildcards.domain]["sigma_low_eV_A"],
        converged_fraction=lambda wildcards: DOMAIN_SETTINGS[wildcards.domain]["converged_fraction"],
        density_tolerance=lambda wildcards: DOMAIN_SETTINGS[wildcards.domain]["density_tolerance"],
        stop_when_converged=lambda wildcards: DOMAIN_SETTINGS[wildcards.domain]["stop_when_converged"],
        n_iterations=N_ITER,
    script:
        "../scripts/decide_iteration.py"


# The band of the next iteration, calibrated on held-out frames: committee i's sigma_max on iteration i's
# test frames (labelled, seen by no member); its learn.sigma_low_quantile, at least learn.sigma_low_eV_A,
# is the lower edge with which iteration i+1 picks candidates and decides convergence.
rule calibrate_band:
    input:
        models=lambda wildcards: committee(wildcards.domain, int(wildcards.i)),
        test="results/learn/{domain}/iter_{i}/test.extxyz",
    output:
        "results/learn/{domain}/iter_{i}/band.json",
    log:
        "logs/learn/{domain}/iter_{i}/band.log",
    conda:
        MODEL_ENV
    threads: 1
    resources:
        mem_mb=4000,
        runtime=scaled_by_input(10, (0.5 if GPUS["train"] else 5) / 60),
        gpu=GPUS["train"],
    params:
        floor=lambda wildcards: DOMAIN_SETTINGS[wildcards.domain]["sigma_low_eV_A"],
        high=lambda wildcards: DOMAIN_SETTINGS[wildcards.domain]["sigma_high_eV_A"],
        quantile=lambda wildcards: DOMAIN_SETTINGS[wildcards.domain]["sigma_low_quantile"],
        dtype=MODEL_DTYPE,
        model_python=MODEL_PYTHON,
        device=DEVICE["train"],
    script:
        "../scripts/calibrate_band.py"


rule summarize_iteration:
    input:
        unpack(previous_band),
        decision="results/learn/{domain}/iter_{i}/decision.json",
        pool="results/explore/{domain}/iter_{i}/pool.extxyz",
        frames=frames_to_label,
        labelled="results/label/{domain}/iter_{i}/labelled.extxyz",
        failed="results/label/{domain}/iter_{i}/failed.csv",
        train="results/learn/{domain}/iter_{i}/train.extxyz",
        test="results/learn/{domain}/iter_{i}/test.extxyz",
        val="results/learn/{domain}/iter_{i}/val.extxyz",
        evaluations=lambda wildcards: evaluations(wildcards.domain, wildcards.i),
    output:
        "results/learn/{domain}/iter_{i}/summary.csv",
    log:
        "logs/learn/{domain}/iter_{i}/summary.log",
    conda:
        "../envs/amlip.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        low=lambda wildcards: DOMAIN_SETTINGS[wildcards.domain]["sigma_low_eV_A"],
        high=lambda wildcards: DOMAIN_SETTINGS[wildcards.domain]["sigma_high_eV_A"],
    script:
        "../scripts/summarize_iteration.py"


# Model choice (AS): with a choose_by property each final member is screened (short NpT MD,
# density against the reference; or dehydrogenation energies against the reference labeler's);
# the lowest property error wins, test force MAE breaks ties. choose_by may differ per domain.
rule label_dehydrogenation:
    input:
        structure=screen_structure,
        e0s="results/label/{domain}/isolated_atoms.json",
    output:
        protected("results/learn/{domain}/final/dehydrogenation_reference.csv"),
    log:
        "logs/learn/{domain}/label_dehydrogenation.log",
    benchmark:
        "results/benchmarks/learn/{domain}/label_dehydrogenation.tsv"
    conda:
        f"../envs/{BACKEND}.yaml"
    threads: LABEL_RESOURCES[BACKEND]["threads"]
    resources:
        mem_mb=LABEL_RESOURCES[BACKEND]["mem_mb"],
        runtime=LABEL_RESOURCES[BACKEND]["runtime"],
    params:
        backend=BACKEND,
        settings=label_settings,
        run_settings=label_run_settings,
        max_sites=lambda wildcards: choose_by(wildcards.domain)["max_sites"],
    script:
        "../scripts/label_dehydrogenation.py"


rule screen_member:
    input:
        unpack(screen_reference),
        model=lambda wildcards: committee(wildcards.domain, N_ITER)[int(wildcards.m)],
        structure=screen_structure,
    output:
        "results/learn/{domain}/final/screen_member_{m}.csv",
    log:
        "logs/learn/{domain}/screen_member_{m}.log",
    benchmark:
        "results/benchmarks/learn/{domain}/screen_member_{m}.tsv"
    conda:
        MODEL_ENV
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
        gpu=GPUS["explore"],
    params:
        dispersion=config["produce"]["dispersion"],
        screening=screening_settings,
        dtype=MODEL_DTYPE,
        seed=config["seed"],
        model_python=MODEL_PYTHON,
        device=DEVICE["explore"],
    script:
        "../scripts/screen_member.py"


rule choose_model:
    input:
        evaluations=lambda wildcards: evaluations(wildcards.domain, N_ITER),
        models=lambda wildcards: committee(wildcards.domain, N_ITER),
        screenings=screenings,
    output:
        choice="results/learn/{domain}/final/choice.json",
        table="results/learn/{domain}/final/choice.csv",
    log:
        "logs/learn/{domain}/choose.log",
    conda:
        "../envs/amlip.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        tie_tolerance=lambda wildcards: choose_by(wildcards.domain)["tie_tolerance"],
    script:
        "../scripts/choose_model.py"
