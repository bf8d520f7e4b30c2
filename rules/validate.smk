# Stage 8: validation of the produced glass (PROTOCOLS 6): density, Si-O RDF, coordination, Si-O-Si
# angles (validate_structure); X-ray PDF with partials (AS), neutron S(Q) with partials (NS),
# ring statistics (ZIF), Qn speciation (NS), partial RDFs with PMFs (ZIF) and pore volume with a probe
# (ZIF), each a CSV with its figure beside it.
# Properties that need a model calculator (IR, elastic moduli, VDOS) are amlip functions
# (amlip.vibrations, amlip.mechanics) not yet wired into rules.


rule validate_structure:
    input:
        trajectory="results/produce/melt_quench/trajectory.extxyz",
    output:
        properties="results/validate/melt_quench/properties.csv",
        rdf="results/validate/melt_quench/rdf.csv",
        angles="results/validate/melt_quench/angles.csv",
    log:
        "logs/validate/melt_quench.log",
    params:
        settings=config["validate"],
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../envs/amlip.yaml"
    script:
        "../scripts/validate_structure.py"


rule validate_xray_pdf:
    input:
        trajectory="results/produce/melt_quench/trajectory.extxyz",
    output:
        table="results/validate/melt_quench/xray_pdf.csv",
        figure="results/validate/melt_quench/xray_pdf.png",
    log:
        "logs/validate/melt_quench_xray_pdf.log",
    params:
        settings=config["validate"],
    threads: 1
    resources:
        mem_mb=2000,
        runtime=15,
    conda:
        "../envs/amlip.yaml"
    script:
        "../scripts/validate_xray_pdf.py"


rule validate_neutron_sq:
    input:
        trajectory="results/produce/melt_quench/trajectory.extxyz",
    output:
        table="results/validate/melt_quench/neutron_sq.csv",
        figure="results/validate/melt_quench/neutron_sq.png",
    log:
        "logs/validate/melt_quench_neutron_sq.log",
    params:
        settings=config["validate"],
    threads: 1
    resources:
        mem_mb=2000,
        runtime=15,
    conda:
        "../envs/amlip.yaml"
    script:
        "../scripts/validate_neutron_sq.py"


rule validate_rings:
    input:
        trajectory="results/produce/melt_quench/trajectory.extxyz",
    output:
        table="results/validate/melt_quench/rings.csv",
        figure="results/validate/melt_quench/rings.png",
    log:
        "logs/validate/melt_quench_rings.log",
    params:
        settings=config["validate"],
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    conda:
        "../envs/amlip.yaml"
    script:
        "../scripts/validate_rings.py"


rule validate_qn:
    input:
        trajectory="results/produce/melt_quench/trajectory.extxyz",
    output:
        table="results/validate/melt_quench/qn.csv",
        figure="results/validate/melt_quench/qn.png",
    log:
        "logs/validate/melt_quench_qn.log",
    params:
        settings=config["validate"],
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        "../envs/amlip.yaml"
    script:
        "../scripts/validate_qn.py"


rule validate_pmf:
    input:
        trajectory="results/produce/melt_quench/trajectory.extxyz",
    output:
        table="results/validate/melt_quench/pmf.csv",
        figure="results/validate/melt_quench/pmf.png",
    log:
        "logs/validate/melt_quench_pmf.log",
    params:
        settings=config["validate"],
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        "../envs/amlip.yaml"
    script:
        "../scripts/validate_pmf.py"


rule validate_pores:
    input:
        trajectory="results/produce/melt_quench/trajectory.extxyz",
    output:
        table="results/validate/melt_quench/pores.csv",
        figure="results/validate/melt_quench/pores.png",
    log:
        "logs/validate/melt_quench_pores.log",
    params:
        settings=config["validate"],
    threads: 1
    resources:
        mem_mb=2000,
        runtime=15,
    conda:
        "../envs/amlip.yaml"
    script:
        "../scripts/validate_pores.py"
