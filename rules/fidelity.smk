# Closed-loop fidelity (on when label.backend is lammps: BKS or ReaxFF). With a classical reference the
# reference itself can run the production protocol: the same preset, time_scale, time step, Nose-Hoover
# thermostat and barostat, guards, starting structures and seeds, n_glasses times (results/reference/).
# Every glass of the MLIP and of the reference is measured alike, and the two sides are compared property
# by property (results/fidelity/melt_quench/): what the whole pipeline (labels, active learning, training,
# production) loses against the reference it learned from. The MLIP glasses are a like-for-like match with
# produce.melt_quench.engine lammps (Nose-Hoover in both); the ase engine thermostats by Langevin instead.

# The reference potential: the production domain's level of theory (label.lammps with its domain settings).
REFERENCE_POTENTIAL = DOMAIN_SETTINGS[PRODUCE_DOMAIN]["label"]
FIDELITY = config["validate"]["fidelity"]


# Glass k of the reference: glass_start(k) (the MLIP's glass k starts there too), MD seed seed + k as melt_quench(_glass).
rule melt_quench_reference:
    input:
        structure=lambda wildcards: glass_start(int(wildcards.g)),
    output:
        trajectory="results/reference/melt_quench/glass_{g}/trajectory.extxyz",
        schedule="results/reference/melt_quench/glass_{g}/schedule.csv",
        thermo="results/reference/melt_quench/glass_{g}/thermo.csv",
    log:
        "logs/reference/melt_quench_glass_{g}.log",
    benchmark:
        "results/benchmarks/reference/melt_quench_glass_{g}.tsv"
    wildcard_constraints:
        g=r"\d+",
    conda:
        "../envs/lammps.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=240,
    params:
        md={
            key: MELT_QUENCH[key]
            for key in ("protocol", "time_scale", "timestep_fs", "sample_every", "taut_fs", "taup_fs", "guards")
        },
        potential=REFERENCE_POTENTIAL,
        seed=lambda wildcards: config["seed"] + int(wildcards.g),
    script:
        "../scripts/melt_quench_reference.py"


# One side's glasses (mlip: results/produce/melt_quench/, reference: results/reference/melt_quench/), each measured
# over the tail of its trajectory: scalars per glass (values.csv) and curves per glass (curves.csv).
rule measure_glasses:
    input:
        trajectories=fidelity_trajectories,
    output:
        values="results/fidelity/melt_quench/{side}/values.csv",
        curves="results/fidelity/melt_quench/{side}/curves.csv",
    log:
        "logs/fidelity/measure_glasses_{side}.log",
    wildcard_constraints:
        side="mlip|reference",
    conda:
        "../envs/amlip.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        settings=MEASURE_SETTINGS,
    script:
        "../scripts/measure_glasses.py"


# The table (MLIP and reference mean +- std over glasses, difference, noise, target) with what produced the MLIP
# (labels, iterations), and one figure overlaying both sides' RDFs, F(Q), angle and ring distributions.
rule compare_fidelity:
    input:
        mlip_values="results/fidelity/melt_quench/mlip/values.csv",
        mlip_curves="results/fidelity/melt_quench/mlip/curves.csv",
        reference_values="results/fidelity/melt_quench/reference/values.csv",
        reference_curves="results/fidelity/melt_quench/reference/curves.csv",
        summaries=expand("results/learn/{domain}/iter_{i}/summary.csv", domain=PRODUCE_DOMAIN, i=range(N_ITER + 1)),
    output:
        table=report(
            "results/fidelity/melt_quench/comparison.csv",
            category="2. Closed-loop fidelity",
            subcategory="MLIP against its reference",
            caption="../report/fidelity_table.rst",
        ),
        markdown="results/fidelity/melt_quench/comparison.md",
        curves="results/fidelity/melt_quench/curves.csv",
        figure=report(
            "results/fidelity/melt_quench/comparison.png",
            category="2. Closed-loop fidelity",
            subcategory="MLIP against its reference",
            caption="../report/fidelity.rst",
        ),
    log:
        "logs/fidelity/compare_fidelity.log",
    conda:
        "../envs/amlip.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        targets=FIDELITY["targets"],
        reference=REFERENCE_POTENTIAL["potential"] if CLOSED_LOOP else None,
        engine=MELT_QUENCH["engine"],
    script:
        "../scripts/compare_fidelity.py"


# The reference's glasses against the measured F(Q), like the MLIP's (rule compare_neutron_fq): the verdict puts the
# reference's R-factor and first sharp diffraction peak beside the MLIP's, so that a failing row says whether the
# reference itself, with the same protocol, fails it too.
rule compare_neutron_fq_reference:
    input:
        trajectories=reference_trajectories(),
        experiment=NEUTRON["experiment"] or [],
    output:
        table="results/fidelity/melt_quench/reference/neutron_fq.csv",
        summary="results/fidelity/melt_quench/reference/neutron_fq_summary.csv",
        figure=report(
            "results/fidelity/melt_quench/reference/neutron_fq.png",
            category="2. Closed-loop fidelity",
            subcategory="the reference's own glasses",
            caption="../report/neutron_fq_reference.rst",
        ),
    log:
        "logs/fidelity/compare_neutron_fq_reference.log",
    conda:
        "../envs/amlip.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=15,
    params:
        average_last_fraction=config["validate"]["average_last_fraction"],
        dq_inv_A=NEUTRON["fq_dq_inv_A"],
        r_factor_range_inv_A=NEUTRON["r_factor_range_inv_A"],
        fsdp_window_inv_A=NEUTRON["fsdp_window_inv_A"],
        scattering_lengths_fm=NEUTRON["scattering_lengths_fm"],
    script:
        "../scripts/compare_neutron_fq.py"
