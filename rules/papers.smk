# Paper figures as named targets (docs/papers.md: figure -> target -> what it needs). Each writes the figure and its
# CSV under results/papers/<paper>/ from the systems' tables (rules/systems.smk), so a paper's figure is a config
# plus a target: snakemake --configfile config/papers/NS.yaml --replace-workflow-config fig_ns_density
# scripts/plot_paper_figure.py draws them all (params kind and options).

NS = config["papers"]["ns"]


# NS Fig. 1: density against Na2O mol % with NS Table 1 (the systems' reference rows) overlaid.
rule fig_ns_density:
    input:
        table="results/validate/systems/table.csv",
    output:
        csv="results/papers/NS/density.csv",
        png=report(
            "results/papers/NS/density.png",
            category="Paper NS",
            subcategory="Fig. 1 density",
            caption="../report/paper_ns_density.rst",
        ),
    log:
        "logs/papers/fig_ns_density.log",
    conda:
        "../envs/amlip.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        kind="density",
        options={"unit": NS["unit"], "title": "density against composition (NS Fig. 1, Table 1)"},
    script:
        "../scripts/plot_paper_figure.py"


# NS Fig. 5: Si[Qn] speciation against Na2O mol %.
rule fig_ns_qn:
    input:
        table="results/validate/systems/table.csv",
    output:
        csv="results/papers/NS/qn.csv",
        png=report("results/papers/NS/qn.png", category="Paper NS", subcategory="Fig. 5 Qn", caption="../report/paper_ns_qn.rst"),
    log:
        "logs/papers/fig_ns_qn.log",
    conda:
        "../envs/amlip.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        kind="qn",
        options={"unit": NS["unit"]},
    script:
        "../scripts/plot_paper_figure.py"


# NS Fig. 3: partial pair distribution functions (papers.ns.pdf_pairs), sample-averaged per system.
rule fig_ns_pdf:
    input:
        curves="results/validate/systems/curves.csv",
    output:
        csv="results/papers/NS/pdf.csv",
        png=report(
            "results/papers/NS/pdf.png", category="Paper NS", subcategory="Fig. 3 PDF", caption="../report/paper_ns_pdf.rst"
        ),
    log:
        "logs/papers/fig_ns_pdf.log",
    conda:
        "../envs/amlip.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        kind="curves",
        options={
            "names": [f"g {a}-{b}" for a, b in (sorted(pair) for pair in NS["pdf_pairs"])],
            "systems": NS["pdf_systems"],
            "xlabel": "r (Å)",
            "ylabel": "g(r)",
            "title": "",
        },
    script:
        "../scripts/plot_paper_figure.py"


# NS Fig. 4: the Si-O-Si bond angle distribution per system.
rule fig_ns_bad:
    input:
        curves="results/validate/systems/curves.csv",
    output:
        csv="results/papers/NS/bad.csv",
        png=report(
            "results/papers/NS/bad.png", category="Paper NS", subcategory="Fig. 4 angles", caption="../report/paper_ns_bad.rst"
        ),
    log:
        "logs/papers/fig_ns_bad.log",
    conda:
        "../envs/amlip.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        kind="curves",
        options={
            "names": ["angle Si-O-Si"],
            "systems": NS["bad_systems"],
            "xlabel": "Si-O-Si angle (degrees)",
            "ylabel": "probability density",
            "title": "",
        },
    script:
        "../scripts/plot_paper_figure.py"


# NS Fig. 2 (neutron structure factor): every system's F(Q) with the measured vitreous silica (NIMROD) overlaid and
# the R-factor of papers.ns.fq_system against it (NS shows NS22; the measured NS22 F(Q) does not ship).
rule fig_ns_fq:
    input:
        curves="results/validate/systems/curves.csv",
        experiment="resources/reference/SiO2_NIMROD.mint01",
    output:
        csv="results/papers/NS/fq.csv",
        png=report(
            "results/papers/NS/fq.png", category="Paper NS", subcategory="Fig. 2 F(Q)", caption="../report/paper_ns_fq.rst"
        ),
    log:
        "logs/papers/fig_ns_fq.log",
    conda:
        "../envs/amlip.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        kind="fq",
        options={
            "names": ["F(Q)"],
            "systems": NS["pdf_systems"],
            "experiment_system": NS["fq_system"],
            "xlabel": "Q (1/Å)",
            "ylabel": "F(Q) (barn/sr/atom)",
            "title": "neutron F(Q)",
        },
    script:
        "../scripts/plot_paper_figure.py"


# NS Fig. 7: Young's modulus, Poisson ratio and bulk modulus against Na2O mol % (MD at 300 K, rule
# elastic_md_system: sample 0 of every system with every variant), experiment where glass_moduli.csv has it.
rule fig_ns_moduli:
    input:
        table="results/validate/systems/table.csv",
        moduli=[f"results/validate/systems/{v}/{name}/elastic_md.csv" for v in VARIANTS for name in SYSTEMS],
    output:
        csv="results/papers/NS/moduli.csv",
        png=report(
            "results/papers/NS/moduli.png",
            category="Paper NS",
            subcategory="Fig. 7 elastic moduli",
            caption="../report/paper_ns_moduli.rst",
        ),
    log:
        "logs/papers/fig_ns_moduli.log",
    conda:
        "../envs/amlip.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        kind="moduli",
        options={
            "unit": NS["unit"],
            "pairs": [[v, name] for v in VARIANTS for name in SYSTEMS],
            "title": "elastic moduli at 300 K from MD against composition (NS Fig. 7)",
        },
    script:
        "../scripts/plot_paper_figure.py"


# Every NS figure at once (snakemake paper_ns; add --report ns.html for them in one page).
rule paper_ns:
    input:
        expand(
            "results/papers/NS/{figure}.png",
            figure=["density", "fq", "pdf", "bad", "qn"] + (["moduli"] if SYSTEM_MODULI else []),
        ),
