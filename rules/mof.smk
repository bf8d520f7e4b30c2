# Metal-organic frameworks: ZIF analyses that follow the linker (ZIF paper), requested when the config has a
# `zif:` block (config/examples/zif4.yaml). Every trajectory named in zif.trajectories (the glass, the starting
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
