# Stage 8: validation of the produced glass (PROTOCOLS 6): density, Si-O RDF, coordination, Si-O-Si
# angles (validate_structure); X-ray PDF with partials (AS), neutron S(Q) with partials (NS),
# ring statistics (ZIF), Qn speciation (NS), partial RDFs with PMFs (ZIF) and pore volume with a probe
# (ZIF), each a CSV with its figure beside it.
# Properties that need the chosen model (validate.vdos, validate.ir, validate.elastic, validate.elastic_fluctuation,
# validate.elastic_md) run it on the last frame of glass 0; the density is averaged over produce.melt_quench.n_glasses independent glasses.
# Each rule passes only the validate keys its job reads, so changing one setting reruns only that job.


rule validate_structure:
    input:
        trajectory="results/produce/melt_quench/trajectory.extxyz",
    output:
        properties="results/validate/melt_quench/properties.csv",
        rdf="results/validate/melt_quench/rdf.csv",
        angles="results/validate/melt_quench/angles.csv",
    log:
        "logs/validate/melt_quench.log",
    conda:
        "../envs/amlip.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        settings=validate_keys(
            "former", "oxygen", "bond_cutoff_A", "average_last_fraction", "rdf_r_max_A", "rdf_bins", "reference_density_g_cm3"
        ),
    script:
        "../scripts/validate_structure.py"


rule validate_xray_pdf:
    input:
        trajectory="results/produce/melt_quench/trajectory.extxyz",
    output:
        table="results/validate/melt_quench/xray_pdf.csv",
        figure=report(
            "results/validate/melt_quench/xray_pdf.png",
            category="Validation",
            subcategory="glass 0",
            caption="../report/xray_pdf.rst",
        ),
    log:
        "logs/validate/melt_quench_xray_pdf.log",
    conda:
        "../envs/amlip.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=15,
    params:
        settings=validate_keys("average_last_fraction", "xray_pdf"),
    script:
        "../scripts/validate_xray_pdf.py"


rule validate_neutron_sq:
    input:
        trajectory="results/produce/melt_quench/trajectory.extxyz",
    output:
        table="results/validate/melt_quench/neutron_sq.csv",
        figure=report(
            "results/validate/melt_quench/neutron_sq.png",
            category="Validation",
            subcategory="glass 0",
            caption="../report/neutron_sq.rst",
        ),
    log:
        "logs/validate/melt_quench_neutron_sq.log",
    conda:
        "../envs/amlip.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=15,
    params:
        settings=validate_keys("average_last_fraction", "neutron_sq"),
    script:
        "../scripts/validate_neutron_sq.py"


rule validate_rings:
    input:
        trajectory="results/produce/melt_quench/trajectory.extxyz",
    output:
        table="results/validate/melt_quench/rings.csv",
        figure=report(
            "results/validate/melt_quench/rings.png", category="Validation", subcategory="glass 0", caption="../report/rings.rst"
        ),
    log:
        "logs/validate/melt_quench_rings.log",
    conda:
        "../envs/amlip.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        settings=validate_keys("average_last_fraction", "rings"),
    script:
        "../scripts/validate_rings.py"


rule validate_qn:
    input:
        trajectory="results/produce/melt_quench/trajectory.extxyz",
    output:
        table="results/validate/melt_quench/qn.csv",
        figure=report(
            "results/validate/melt_quench/qn.png", category="Validation", subcategory="glass 0", caption="../report/qn.rst"
        ),
    log:
        "logs/validate/melt_quench_qn.log",
    conda:
        "../envs/amlip.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        settings=validate_keys("average_last_fraction", "former", "oxygen", "bond_cutoff_A"),
    script:
        "../scripts/validate_qn.py"


rule validate_pmf:
    input:
        trajectory="results/produce/melt_quench/trajectory.extxyz",
    output:
        table="results/validate/melt_quench/pmf.csv",
        figure=report(
            "results/validate/melt_quench/pmf.png", category="Validation", subcategory="glass 0", caption="../report/pmf.rst"
        ),
    log:
        "logs/validate/melt_quench_pmf.log",
    conda:
        "../envs/amlip.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        settings=validate_keys("average_last_fraction", "pmf"),
    script:
        "../scripts/validate_pmf.py"


rule validate_porosity:
    input:
        trajectory="results/produce/melt_quench/trajectory.extxyz",
    output:
        table="results/validate/melt_quench/pores.csv",
        figure=report(
            "results/validate/melt_quench/pores.png", category="Validation", subcategory="glass 0", caption="../report/pores.rst"
        ),
    log:
        "logs/validate/melt_quench_porosity.log",
    conda:
        "../envs/amlip.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=15,
    params:
        settings=validate_keys("average_last_fraction", "pores"),
    script:
        "../scripts/validate_porosity.py"


rule validate_density:
    input:
        trajectories=glass_trajectories(),
        reference="resources/reference/glass_densities.csv",
    output:
        table="results/validate/melt_quench/density.csv",
        figure=report(
            "results/validate/melt_quench/density.png",
            category="Validation",
            subcategory="all glasses",
            caption="../report/glass_density.rst",
        ),
    log:
        "logs/validate/melt_quench_density.log",
    conda:
        "../envs/amlip.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        average_last_fraction=config["validate"]["average_last_fraction"],
        reference_system=config["validate"]["density"]["reference_system"],
    script:
        "../scripts/validate_density.py"


# The VDOS run uses the training dtype (like melt_quench); force constants and stresses are computed in
# float64 whatever it is (MACE; NequIP models keep their own): finite differences of float32 stresses are noise.
rule md_vdos:
    input:
        trajectory="results/produce/melt_quench/trajectory.extxyz",
        choice=f"results/learn/{PRODUCE_DOMAIN}/final/choice.json",
        models=committee(PRODUCE_DOMAIN, N_ITER),
    output:
        trajectory=temp("results/validate/melt_quench/vdos/trajectory.extxyz"),
    log:
        "logs/validate/md_vdos.log",
    benchmark:
        "results/benchmarks/validate/md_vdos.tsv"
    conda:
        MODEL_ENV
    threads: 1
    resources:
        mem_mb=4000,
        runtime=120,
        gpu=GPUS["validate"],
    params:
        dispersion=config["produce"]["dispersion"],
        md=VDOS_MD,
        seed=config["seed"],
        dtype=MODEL_DTYPE,
        model_python=MODEL_PYTHON,
        device=DEVICE["validate"],
    script:
        "../scripts/md_vdos.py"


rule validate_vdos:
    input:
        trajectory="results/validate/melt_quench/vdos/trajectory.extxyz",
    output:
        table="results/validate/melt_quench/vdos.csv",
        peaks="results/validate/melt_quench/vdos_peaks.csv",
        figure=report(
            "results/validate/melt_quench/vdos.png", category="Validation", subcategory="glass 0", caption="../report/vdos.rst"
        ),
    log:
        "logs/validate/melt_quench_vdos.log",
    conda:
        "../envs/amlip.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        sample_every_fs=VDOS["sample_every_fs"],
        plot_max_cm1=VDOS["plot_max_cm1"],
    script:
        "../scripts/validate_vdos.py"


rule sample_low_temperature:
    input:
        trajectory="results/produce/melt_quench/trajectory.extxyz",
        choice=f"results/learn/{PRODUCE_DOMAIN}/final/choice.json",
        models=committee(PRODUCE_DOMAIN, N_ITER),
    output:
        relaxed="results/validate/melt_quench/ir/relaxed.extxyz",
        snapshots=temp("results/validate/melt_quench/ir/snapshots.extxyz"),
    log:
        "logs/validate/sample_low_temperature.log",
    benchmark:
        "results/benchmarks/validate/sample_low_temperature.tsv"
    conda:
        MODEL_ENV
    threads: 1
    resources:
        mem_mb=4000,
        runtime=120,
        gpu=GPUS["validate"],
    params:
        dispersion=config["produce"]["dispersion"],
        md={
            key: IR[key]
            for key in ("temperature_K", "n_snapshots", "equilibrate_fs", "every_fs", "timestep_fs", "friction_per_fs")
        },
        relax_fmax_eV_A=IR["relax_fmax_eV_A"],
        relax_steps=IR["relax_steps"],
        seed=config["seed"],
        dtype="float64",
        model_python=MODEL_PYTHON,
        device=DEVICE["validate"],
    script:
        "../scripts/sample_low_temperature.py"


rule fit_force_constants:
    input:
        relaxed="results/validate/melt_quench/ir/relaxed.extxyz",
        snapshots="results/validate/melt_quench/ir/snapshots.extxyz",
    output:
        force_constants="results/validate/melt_quench/ir/fc2.npy",
        info="results/validate/melt_quench/ir/fit.json",
    log:
        "logs/validate/fit_force_constants.log",
    benchmark:
        "results/benchmarks/validate/fit_force_constants.tsv"
    conda:
        "../envs/phonons.yaml"
    threads: 1
    resources:
        mem_mb=8000,
        runtime=120,
    params:
        cutoff_A=IR["cutoff_A"],
        fit_method=IR["fit_method"],
        seed=config["seed"],
    script:
        "../scripts/fit_force_constants.py"


rule validate_ir:
    input:
        relaxed="results/validate/melt_quench/ir/relaxed.extxyz",
        force_constants="results/validate/melt_quench/ir/fc2.npy",
        info="results/validate/melt_quench/ir/fit.json",
    output:
        table="results/validate/melt_quench/ir.csv",
        modes="results/validate/melt_quench/ir_modes.csv",
        peaks="results/validate/melt_quench/ir_peaks.csv",
        figure=report(
            "results/validate/melt_quench/ir.png", category="Validation", subcategory="glass 0", caption="../report/ir.rst"
        ),
    log:
        "logs/validate/melt_quench_ir.log",
    conda:
        "../envs/phonons.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        born_charges=IR["born_charges"],
        born_file=IR.get("born_file"),
        born_mapping=IR["born_mapping"],
        fwhm_cm1=IR["fwhm_cm1"],
        max_cm1=IR["max_cm1"],
    script:
        "../scripts/validate_ir.py"


rule validate_elastic:
    input:
        trajectory="results/produce/melt_quench/trajectory.extxyz",
        choice=f"results/learn/{PRODUCE_DOMAIN}/final/choice.json",
        models=committee(PRODUCE_DOMAIN, N_ITER),
        reference="resources/reference/glass_moduli.csv",
    output:
        table="results/validate/melt_quench/elastic.csv",
        tensor="results/validate/melt_quench/elastic_tensor.csv",
        pv="results/validate/melt_quench/elastic_pv.csv",
        uniaxial="results/validate/melt_quench/elastic_uniaxial.csv",
        figure=report(
            "results/validate/melt_quench/elastic.png",
            category="Validation",
            subcategory="glass 0",
            caption="../report/elastic.rst",
        ),
    log:
        "logs/validate/melt_quench_elastic.log",
    benchmark:
        "results/benchmarks/validate/elastic.tsv"
    conda:
        MODEL_ENV
    threads: 1
    resources:
        mem_mb=4000,
        runtime=120,
        gpu=GPUS["validate"],
    params:
        dispersion=config["produce"]["dispersion"],
        # every key of validate.elastic is read
        settings=config["validate"]["elastic"],
        dtype="float64",
        model_python=MODEL_PYTHON,
        device=DEVICE["validate"],
    script:
        "../scripts/validate_elastic.py"


# Elastic tensor from strain fluctuations (ZIF): N-sigma-T MD in LAMMPS (fix npt tri, model through fix external).
rule validate_elastic_fluctuation:
    input:
        trajectory="results/produce/melt_quench/trajectory.extxyz",
        choice=f"results/learn/{PRODUCE_DOMAIN}/final/choice.json",
        models=committee(PRODUCE_DOMAIN, N_ITER),
    output:
        table="results/validate/melt_quench/elastic_fluctuation.csv",
        tensor="results/validate/melt_quench/elastic_fluctuation_tensor.csv",
        running="results/validate/melt_quench/elastic_fluctuation_running.csv",
        figure=report(
            "results/validate/melt_quench/elastic_fluctuation.png",
            category="Validation",
            subcategory="glass 0",
            caption="../report/elastic_fluctuation.rst",
        ),
    log:
        "logs/validate/melt_quench_elastic_fluctuation.log",
    benchmark:
        "results/benchmarks/validate/elastic_fluctuation.tsv"
    conda:
        MODEL_ENV
    threads: 1
    resources:
        mem_mb=4000,
        runtime=120,
        gpu=GPUS["validate"],
    params:
        dispersion=config["produce"]["dispersion"],
        # every key of validate.elastic_fluctuation is read
        settings=config["validate"]["elastic_fluctuation"],
        guards={key: MELT_QUENCH["guards"][key] for key in ("max_T_factor", "min_distance_A", "check_every")},
        seed=config["seed"],
        dtype=MODEL_DTYPE,
        model_python=MODEL_PYTHON,
        device=DEVICE["validate"],
    script:
        "../scripts/validate_elastic_fluctuation.py"


# Elastic moduli from MD at temperature (NS, ZIF): a zero-stress reference (fix npt aniso), NS uniaxial strain along x
# with y and z barostatted (E, nu), NS NpT pressure steps and ZIF NVT P(V) (K), all in LAMMPS with the model through
# fix external.
rule validate_elastic_md:
    input:
        trajectory="results/produce/melt_quench/trajectory.extxyz",
        choice=f"results/learn/{PRODUCE_DOMAIN}/final/choice.json",
        models=committee(PRODUCE_DOMAIN, N_ITER),
        reference="resources/reference/glass_moduli.csv",
    output:
        table="results/validate/melt_quench/elastic_md.csv",
        runs="results/validate/melt_quench/elastic_md_runs.csv",
        figure=report(
            "results/validate/melt_quench/elastic_md.png",
            category="Validation",
            subcategory="glass 0",
            caption="../report/elastic_md.rst",
        ),
    log:
        "logs/validate/melt_quench_elastic_md.log",
    benchmark:
        "results/benchmarks/validate/elastic_md.tsv"
    conda:
        MODEL_ENV
    threads: 1
    resources:
        mem_mb=4000,
        runtime=240,
        gpu=GPUS["validate"],
    params:
        dispersion=config["produce"]["dispersion"],
        # every key of validate.elastic_md is read
        settings=config["validate"]["elastic_md"],
        guards={key: MELT_QUENCH["guards"][key] for key in ("max_T_factor", "min_distance_A", "check_every")},
        seed=config["seed"],
        dtype=MODEL_DTYPE,
        model_python=MODEL_PYTHON,
        device=DEVICE["validate"],
    script:
        "../scripts/validate_elastic_md.py"


# The glasses' neutron F(Q), computed on the reciprocal lattice of each periodic cell (exact for the model,
# no real-space cut-off), against the measured F(Q) of validate.neutron_sq.experiment (vitreous silica,
# NIMROD): R-factor and first sharp diffraction peak.
rule compare_neutron_fq:
    input:
        trajectories=glass_trajectories(),
        experiment=NEUTRON["experiment"] or [],
    output:
        table="results/validate/melt_quench/neutron_fq.csv",
        summary="results/validate/melt_quench/neutron_fq_summary.csv",
        figure=report(
            "results/validate/melt_quench/neutron_fq.png",
            category="Validation",
            subcategory="all glasses",
            caption="../report/neutron_fq.rst",
        ),
    log:
        "logs/validate/compare_neutron_fq.log",
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


# The verdict: every glass's density, coordination and shortest bond, the F(Q) against experiment, the
# chosen member's test errors and fit, the convergence of active learning, each against its band
# (validate.verdict); the first page of the report and the last lines of make run.
rule validate_verdict:
    input:
        unpack(fq_comparison),
        trajectories=glass_trajectories(),
        density="results/validate/melt_quench/density.csv",
        choice=f"results/learn/{PRODUCE_DOMAIN}/final/choice.json",
        evaluations=evaluations(PRODUCE_DOMAIN, N_ITER),
        decision=f"results/learn/{PRODUCE_DOMAIN}/iter_{N_ITER}/decision.json",
    output:
        table="results/validate/verdict.csv",
        html=report(
            "results/validate/verdict.html",
            category="1. Verdict",
            subcategory="all checks",
            caption="../report/verdict.rst",
        ),
        text="results/validate/verdict.txt",
    log:
        "logs/validate/verdict.log",
    conda:
        "../envs/amlip.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        bands=config["validate"]["verdict"],
        reference_density_g_cm3=config["validate"]["reference_density_g_cm3"],
        former=config["validate"]["former"],
        oxygen=config["validate"]["oxygen"],
        bond_cutoff_A=config["validate"]["bond_cutoff_A"],
        average_last_fraction=config["validate"]["average_last_fraction"],
    script:
        "../scripts/validate_verdict.py"


# validate.strict: the run fails when a check of the verdict fails (verdict.csv stays: it is another job's output).
rule check_verdict:
    input:
        table="results/validate/verdict.csv",
    output:
        "results/validate/verdict.ok",
    log:
        "logs/validate/check_verdict.log",
    conda:
        "../envs/amlip.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../scripts/check_verdict.py"
