# Metal-organic frameworks: ZIF analyses that follow the linker (ZIF paper), requested when the config has a
# `zif:` block (config/papers/ZIF.yaml). Every trajectory named in zif.trajectories (the glass, the starting
# crystal, an outside trajectory) gets a linker-integrity check of every frame, which fails the run when an
# imidazolate is broken, then the Zn-Im-Zn network analyses and the X-ray F(Q)/D(r) against measured ZIF-4
# data; compare_zif puts them side by side.


rule check_linkers:
    input:
        trajectory=zif_trajectory,
    output:
        table="results/validate/zif/{zif_name}/linkers.csv",
    log:
        "logs/validate/zif/{zif_name}/linkers.log",
    conda:
        "../envs/amlip.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        settings=zif_keys("linker", "bond_cutoffs_A", "fail_on_broken_linkers"),
    script:
        "../scripts/check_linkers.py"


rule validate_zif:
    input:
        trajectory=zif_trajectory,
        linkers="results/validate/zif/{zif_name}/linkers.csv",
    output:
        summary="results/validate/zif/{zif_name}/summary.csv",
        coordination="results/validate/zif/{zif_name}/coordination.csv",
        rings="results/validate/zif/{zif_name}/rings.csv",
        angles="results/validate/zif/{zif_name}/angles.csv",
        rdf="results/validate/zif/{zif_name}/rdf.csv",
        pores="results/validate/zif/{zif_name}/pores.csv",
        figure=report(
            "results/validate/zif/{zif_name}/zif.png",
            category="Validation",
            subcategory="ZIF {zif_name}",
            caption="../report/zif.rst",
        ),
    log:
        "logs/validate/zif/{zif_name}/zif.log",
    conda:
        "../envs/amlip.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
    params:
        settings=zif_keys(
            "metal",
            "donor",
            "metal_cutoff_A",
            "linker",
            "bond_cutoffs_A",
            "average_last_fraction",
            "max_frames",
            "temperature_K",
            "rings",
            "angles",
            "rdf",
            "pores",
        ),
    script:
        "../scripts/validate_zif.py"


rule validate_zif_xray:
    input:
        trajectory=zif_trajectory,
        linkers="results/validate/zif/{zif_name}/linkers.csv",
        reference=lambda wildcards: [ZIF["xray"]["reference"]]
        + ([ZIF["xray"]["reference_dofr"]] if ZIF["xray"]["reference_dofr"] else []),
    output:
        fq="results/validate/zif/{zif_name}/xray_fq.csv",
        dr="results/validate/zif/{zif_name}/xray_dr.csv",
        summary="results/validate/zif/{zif_name}/xray.json",
        figure=report(
            "results/validate/zif/{zif_name}/xray.png",
            category="Validation",
            subcategory="ZIF {zif_name}",
            caption="../report/zif_xray.rst",
        ),
    log:
        "logs/validate/zif/{zif_name}/xray.log",
    conda:
        "../envs/amlip.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        xray=lambda wildcards: ZIF["xray"],
        average_last_fraction=lambda wildcards: ZIF["average_last_fraction"],
        max_frames=lambda wildcards: ZIF["max_frames"],
    script:
        "../scripts/validate_zif_xray.py"


rule compare_zif:
    input:
        summaries=lambda wildcards: expand("results/validate/zif/{name}/summary.csv", name=list(ZIF["trajectories"])),
        rdf=lambda wildcards: expand("results/validate/zif/{name}/rdf.csv", name=list(ZIF["trajectories"])),
        angles=lambda wildcards: expand("results/validate/zif/{name}/angles.csv", name=list(ZIF["trajectories"])),
        rings=lambda wildcards: expand("results/validate/zif/{name}/rings.csv", name=list(ZIF["trajectories"])),
        fq=lambda wildcards: expand("results/validate/zif/{name}/xray_fq.csv", name=list(ZIF["trajectories"])),
        xray=lambda wildcards: expand("results/validate/zif/{name}/xray.json", name=list(ZIF["trajectories"])),
    output:
        table="results/validate/zif/comparison.csv",
        figure=report(
            "results/validate/zif/comparison.png",
            category="Validation",
            subcategory="ZIF comparison",
            caption="../report/zif_comparison.rst",
        ),
    log:
        "logs/validate/zif/comparison.log",
    conda:
        "../envs/amlip.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        names=lambda wildcards: list(ZIF["trajectories"]),
    script:
        "../scripts/compare_zif.py"


# MIL-120 (MIL paper), with a `mil120:` block: the OH orientation variants of the user's CIF and CO2 loadings join
# the starting structures (explored, labelled and learned like any other), their OH orientation is analysed, and
# the chosen model's CO2 binding energies are compared with the reference labeler's.
rule build_mil_variant:
    input:
        cif=lambda wildcards: MIL["cif"],
    output:
        "results/structures/mil120_{variant}.extxyz",
    log:
        "logs/structures/mil120_{variant}.log",
    wildcard_constraints:
        variant="|".join(MIL["patterns"]) if MIL else "(?!)",
    conda:
        "../envs/amlip.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        settings=lambda wildcards: {
            key: MIL[key] for key in ("formula_ratio", "patterns", "rod_axis", "metal", "oh_length_A", "tilt_deg")
        },
    script:
        "../scripts/build_mil_variant.py"


rule build_mil_loading:
    input:
        lambda wildcards: f"results/structures/mil120_{MIL['variants'][0]}.extxyz",
    output:
        "results/structures/mil120_co2_{n}.extxyz",
    log:
        "logs/structures/mil120_co2_{n}.log",
    wildcard_constraints:
        n=r"\d+",
    conda:
        "../envs/amlip.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        min_distance_A=lambda wildcards: MIL["min_distance_A"],
        seed=lambda wildcards: config["seed"] + int(wildcards.n),
    script:
        "../scripts/build_mil_loading.py"


rule validate_mil_hydroxyls:
    input:
        lambda wildcards: mil_frameworks() + list(MIL["trajectories"].values()),
    output:
        distribution="results/validate/mil120/hydroxyl_angles.csv",
        fractions="results/validate/mil120/hydroxyls.csv",
        figure=report(
            "results/validate/mil120/hydroxyls.png",
            category="Validation",
            subcategory="MIL-120",
            caption="../report/mil120_hydroxyls.rst",
        ),
    log:
        "logs/validate/mil120/hydroxyls.log",
    conda:
        "../envs/amlip.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        names=lambda wildcards: MIL["variants"] + list(MIL["trajectories"]),
        settings=lambda wildcards: {key: MIL[key] for key in ("metal", "rod_axis", "reference_axis", "bins", "patterns")},
    script:
        "../scripts/validate_mil_hydroxyls.py"


rule validate_binding:
    input:
        unpack(mil_binding_model),
        frameworks=mil_frameworks,
    output:
        table="results/validate/mil120/co2_binding.csv",
        figure=report(
            "results/validate/mil120/co2_binding.png",
            category="Validation",
            subcategory="MIL-120",
            caption="../report/co2_binding.rst",
        ),
    log:
        "logs/validate/mil120/co2_binding.log",
    benchmark:
        "results/benchmarks/validate/co2_binding.tsv"
    conda:
        MODEL_ENV
    threads: LABEL_RESOURCES[BACKEND]["threads"]
    resources:
        mem_mb=LABEL_RESOURCES[BACKEND]["mem_mb"],
        runtime=LABEL_RESOURCES[BACKEND]["runtime"],
        gpu=GPUS["validate"],
    params:
        device=DEVICE["validate"],
        names=lambda wildcards: MIL["variants"],
        backend=BACKEND,
        settings=config["label"][BACKEND],
        n_sites=lambda wildcards: MIL["binding"]["n_sites"],
        min_distance_A=lambda wildcards: MIL["min_distance_A"],
        seed=config["seed"],
        dtype="float64",
        model_python=MODEL_PYTHON,
    script:
        "../scripts/validate_binding.py"


# ML-driven adsorption (MIL), with an `adsorption:` block: GCMC whose energies come from the chosen model (or the
# classical Lennard-Jones in ASE), the classical TraPPE/UFF baseline in LAMMPS, both isotherms in one figure.
rule adsorb_ml:
    input:
        unpack(adsorption_inputs),
    output:
        isotherm="results/adsorption/ml/isotherm.csv",
        snapshots="results/adsorption/ml/snapshots.extxyz",
    log:
        "logs/adsorption/ml.log",
    benchmark:
        "results/benchmarks/adsorption/ml.tsv"
    conda:
        MODEL_ENV
    threads: 1
    resources:
        mem_mb=4000,
        runtime=240,
        gpu=GPUS["validate"],
    params:
        device=DEVICE["validate"],
        settings=lambda wildcards: {
            key: ADSORPTION[key]
            for key in (
                "pressures_bar",
                "temperature_K",
                "n_steps",
                "sample_every",
                "equilibration_fraction",
                "p_exchange",
                "max_translation_A",
            )
        },
        seed=config["seed"],
        dtype=MODEL_DTYPE,
        model_python=MODEL_PYTHON,
    script:
        "../scripts/adsorb_ml.py"


rule adsorb_classical:
    input:
        host=lambda wildcards: ADSORPTION["host"],
    output:
        isotherm="results/adsorption/classical/isotherm.csv",
    log:
        "logs/adsorption/classical.log",
    benchmark:
        "results/benchmarks/adsorption/classical.tsv"
    conda:
        "../envs/lammps.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=240,
    params:
        pressures_bar=lambda wildcards: ADSORPTION["pressures_bar"],
        temperature_K=lambda wildcards: ADSORPTION["temperature_K"],
        classical=lambda wildcards: ADSORPTION["classical"],
        seed=config["seed"],
    script:
        "../scripts/adsorb_classical.py"


rule plot_isotherms:
    input:
        "results/adsorption/ml/isotherm.csv",
        "results/adsorption/classical/isotherm.csv",
    output:
        table="results/adsorption/isotherms.csv",
        figure=report(
            "results/adsorption/isotherms.png",
            category="Production",
            subcategory="Adsorption",
            caption="../report/isotherms.rst",
        ),
    log:
        "logs/adsorption/isotherms.log",
    conda:
        "../envs/amlip.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../scripts/plot_isotherms.py"
