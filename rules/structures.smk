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
        units=config["structures"]["random"]["units"],
        density_g_cm3=config["structures"]["random"]["density_g_cm3"],
        min_distance_A=config["structures"]["random"]["min_distance_A"],
        pair_min_distance_A=config["structures"]["random"]["pair_min_distance_A"],
        seed=lambda wildcards: config["seed"] + int(wildcards.k),
    script:
        "../scripts/build_random_structure.py"


# Each glass's own starting packing (produce.melt_quench.units, at the training packings' density), larger
# than the training cells; seed + 10000 + g keeps it apart from random_<k>.
rule build_glass_start:
    output:
        "results/structures/glass_start_{g}.extxyz",
    log:
        "logs/structures/glass_start_{g}.log",
    wildcard_constraints:
        g=r"\d+",
    conda:
        "../envs/amlip.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        units=GLASS_UNITS,
        density_g_cm3=config["structures"]["random"]["density_g_cm3"],
        min_distance_A=config["structures"]["random"]["min_distance_A"],
        pair_min_distance_A=config["structures"]["random"]["pair_min_distance_A"],
        seed=lambda wildcards: config["seed"] + 10000 + int(wildcards.g),
    script:
        "../scripts/build_random_structure.py"


rule build_crystal:
    input:
        cif=crystal_cif,
    output:
        "results/structures/crystal_{crystal}.extxyz",
    log:
        "logs/structures/crystal_{crystal}.log",
    conda:
        "../envs/amlip.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        supercell=lambda wildcards: config["structures"]["crystals"][wildcards.crystal]["supercell"],
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
        crystal=lambda wildcards: PORE["starting_cell"]["crystal"],
        supercell=lambda wildcards: PORE["starting_cell"]["supercell"],
        radius_A=lambda wildcards: PORE["starting_cell"]["radius_A"],
        probe_radius_A=lambda wildcards: PORE["probe_radius_A"],
    script:
        "../scripts/build_hydroxylated_pore.py"
