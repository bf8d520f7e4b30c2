# Stage 8: validation of the produced glass: density, Si-O RDF, coordination, Si-O-Si angles, Qn.


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
