# Stage 9: tables and figures. Every figure has the numbers behind it written beside it;
# `snakemake --report report.html` collects them.


rule report_accuracy:
    input:
        evaluations=[p for d in DOMAINS for p in evaluations(d, N_ITER)],
        choices=expand("results/learn/{domain}/final/choice.json", domain=DOMAINS),
    output:
        table=report(
            "results/report/accuracy.csv", category="Learning", subcategory="final committees", caption="../report/accuracy.rst"
        ),
        markdown="results/report/accuracy.md",
    log:
        "logs/report/accuracy.log",
    conda:
        "../envs/amlip.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        # the domain of each choice file, in the order of input.choices
        domains=DOMAINS,
    script:
        "../scripts/report_accuracy.py"


rule plot_parity:
    input:
        choice=f"results/learn/{PRODUCE_DOMAIN}/final/choice.json",
        predictions=expand(
            "results/train/{domain}/iter_{i}/member_{m}/test_predictions.extxyz",
            domain=PRODUCE_DOMAIN,
            i=N_ITER,
            m=range(N_MODELS),
        ),
    output:
        figure=report(
            "results/report/parity.png", category="Learning", subcategory=PRODUCE_DOMAIN, caption="../report/parity.rst"
        ),
        data="results/report/parity.csv",
    log:
        "logs/report/parity.log",
    conda:
        "../envs/amlip.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../scripts/plot_parity.py"


rule plot_learning_curve:
    input:
        summaries=[
            p for d in DOMAINS for p in expand("results/learn/{domain}/iter_{i}/summary.csv", domain=d, i=range(N_ITER + 1))
        ],
        evaluations=[p for d in DOMAINS for i in range(N_ITER + 1) for p in evaluations(d, i)],
    output:
        figure=report(
            "results/report/learning_curve.png",
            category="Learning",
            subcategory="all domains",
            caption="../report/learning_curve.rst",
        ),
        data="results/report/learning_curve.csv",
    log:
        "logs/report/learning_curve.log",
    conda:
        "../envs/amlip.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../scripts/plot_learning_curve.py"


rule plot_structure:
    input:
        properties="results/validate/melt_quench/properties.csv",
        rdf="results/validate/melt_quench/rdf.csv",
        angles="results/validate/melt_quench/angles.csv",
        thermo="results/produce/melt_quench/thermo.csv",
    output:
        density=report(
            "results/report/density.png", category="Validation", subcategory="glass 0", caption="../report/density.rst"
        ),
        rdf=report("results/report/rdf.png", category="Validation", subcategory="glass 0", caption="../report/rdf.rst"),
        angles=report("results/report/angles.png", category="Validation", subcategory="glass 0", caption="../report/angles.rst"),
    log:
        "logs/report/structure.log",
    conda:
        "../envs/amlip.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        reference_density_g_cm3=config["validate"]["reference_density_g_cm3"],
    script:
        "../scripts/plot_structure.py"


# The numbers of this run the README quotes (python -m amlip.report readme), after every other target, so
# that the CPU time of every job (results/benchmarks/) is in.
rule report_run_summary:
    input:
        unpack(fq_comparison),
        everything=final_targets(summary=False),
        verdict="results/validate/verdict.csv",
        summaries=[
            p for d in DOMAINS for p in expand("results/learn/{domain}/iter_{i}/summary.csv", domain=d, i=range(N_ITER + 1))
        ],
        accuracy="results/report/accuracy.csv",
    output:
        summary="results/report/run_summary.json",
        markdown="results/report/run_summary.md",
    log:
        "logs/report/run_summary.log",
    conda:
        "../envs/amlip.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../scripts/report_run_summary.py"
