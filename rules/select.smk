# Stage 4: selection. Active-learning candidates inside the committee band, thinned by SOAP
# k-means (MIL; or farthest-point / random); flat-histogram train/test/validation split (ZIF)
# of every iteration's new labels, after the force filter where one is set (AS eq domain).
# Every selected frame records why (selection_* and split_* info keys, amlip.selection.split).


rule select_candidates:
    input:
        unpack(previous_band),
        pool="results/explore/{domain}/iter_{i}/pool.extxyz",
    output:
        picked="results/select/{domain}/iter_{i}/picked.extxyz",
        table="results/select/{domain}/iter_{i}/picked.csv",
    log:
        "logs/select/{domain}/iter_{i}/candidates.log",
    wildcard_constraints:
        i=r"[1-9]\d*",
    conda:
        "../envs/amlip.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        low=lambda wildcards: DOMAIN_SETTINGS[wildcards.domain]["sigma_low_eV_A"],
        high=lambda wildcards: DOMAIN_SETTINGS[wildcards.domain]["sigma_high_eV_A"],
        max_new_frames=lambda wildcards: DOMAIN_SETTINGS[wildcards.domain]["max_new_frames"],
        method=config["select"]["method"],
        soap=config["select"]["soap"],
        seed=config["seed"],
        iteration=lambda wildcards: int(wildcards.i),
    script:
        "../scripts/select_candidates.py"


rule split_dataset:
    input:
        "results/label/{domain}/iter_{i}/labelled.extxyz",
    output:
        train="results/select/{domain}/iter_{i}/train.extxyz",
        test="results/select/{domain}/iter_{i}/test.extxyz",
        val="results/select/{domain}/iter_{i}/val.extxyz",
        table="results/select/{domain}/iter_{i}/split.csv",
    log:
        "logs/select/{domain}/iter_{i}/split.log",
    conda:
        "../envs/amlip.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        method=config["select"]["split_method"],
        train_fraction=config["select"]["train_fraction"],
        test_fraction=config["select"]["test_fraction"],
        seed=lambda wildcards: config["seed"] + int(wildcards.i),
        iteration=lambda wildcards: int(wildcards.i),
        max_force_eV_A=lambda wildcards: config["select"]["max_force_eV_A"].get(wildcards.domain),
    script:
        "../scripts/split_dataset.py"


rule plot_selection:
    input:
        pool="results/explore/{domain}/iter_{i}/pool.extxyz",
        picked="results/select/{domain}/iter_{i}/picked.extxyz",
    output:
        figure=report(
            "results/select/{domain}/iter_{i}/soap_map.png",
            category="Selection",
            subcategory="{domain}",
            caption="../report/soap_map.rst",
            labels={"domain": "{domain}", "iteration": "{i}", "figure": "SOAP map"},
        ),
        data="results/select/{domain}/iter_{i}/soap_map.csv",
    log:
        "logs/select/{domain}/iter_{i}/soap_map.log",
    wildcard_constraints:
        i=r"[1-9]\d*",
    conda:
        "../envs/amlip.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        method=config["select"]["map_method"],
        soap=config["select"]["soap"],
        seed=config["seed"],
    script:
        "../scripts/plot_selection.py"


rule plot_energy_selection:
    input:
        labelled="results/label/{domain}/iter_{i}/labelled.extxyz",
        split="results/select/{domain}/iter_{i}/split.csv",
    output:
        figure=report(
            "results/select/{domain}/iter_{i}/energy_selection.png",
            category="Selection",
            subcategory="{domain}",
            caption="../report/energy_selection.rst",
            labels={"domain": "{domain}", "iteration": "{i}", "figure": "energy histogram"},
        ),
        data="results/select/{domain}/iter_{i}/energy_selection.csv",
    log:
        "logs/select/{domain}/iter_{i}/energy_selection.log",
    conda:
        "../envs/amlip.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        seed=lambda wildcards: config["seed"] + int(wildcards.i),
    script:
        "../scripts/plot_energy_selection.py"
