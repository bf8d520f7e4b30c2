# Stage 1: starting structures (random precursor packings, crystals).


rule build_random_structure:
    output:
        "results/structures/random_{k}.extxyz",
    log:
        "logs/structures/random_{k}.log",
    conda:
        "../envs/amlip.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        settings=config["structures"]["random"],
        seed=lambda wildcards: config["seed"] + int(wildcards.k),
    script:
        "../scripts/build_random_structure.py"


rule build_crystal:
    input:
        cif=crystal_cif,
    output:
        "results/structures/crystal_{name}.extxyz",
    log:
        "logs/structures/crystal_{name}.log",
    conda:
        "../envs/amlip.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        supercell=lambda wildcards: config["structures"]["crystals"][wildcards.name].get("supercell", [1, 1, 1]),
    script:
        "../scripts/build_crystal.py"


# With a `pore:` block (AS pores): a geometrically hydroxylated pore cell (carved crystal, saturated and
# hydroxylated, not relaxed) joins the starting structures so that iteration 0 already labels H.
rule build_hydroxylated_pore:
    output:
        "results/structures/hydroxylated_pore.extxyz",
    log:
        "logs/structures/hydroxylated_pore.log",
    conda:
        "../envs/amlip.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        settings=(config.get("pore") or {}).get("starting_cell", {}),
        probe_radius_A=(config.get("pore") or {}).get("probe_radius_A", 1.4),
    script:
        "../scripts/build_hydroxylated_pore.py"
