# Stage 8: validation of the produced glass (PROTOCOLS 6): density, Si-O RDF, coordination, Si-O-Si
# angles (validate_structure); X-ray PDF with partials (AS), neutron S(Q) with partials (NS),
# ring statistics (ZIF), Qn speciation (NS), partial RDFs with PMFs (ZIF) and pore volume with a probe
# (ZIF), each a CSV with its figure beside it.
# Properties that need the chosen model (validate.vdos, validate.ir, validate.elastic, validate.elastic_fluctuation) run it on the last
# frame of glass 0; the density is averaged over produce.melt_quench.n_glasses independent glasses.


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
        settings=config["validate"],
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
    conda:
        "../envs/amlip.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=15,
    params:
        settings=config["validate"],
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
    conda:
        "../envs/amlip.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=15,
    params:
        settings=config["validate"],
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
    conda:
        "../envs/amlip.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        settings=config["validate"],
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
    conda:
        "../envs/amlip.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        settings=config["validate"],
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
    conda:
        "../envs/amlip.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        settings=config["validate"],
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
    conda:
        "../envs/amlip.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=15,
    params:
        settings=config["validate"],
    script:
        "../scripts/validate_pores.py"


rule validate_density:
    input:
        trajectories=glass_trajectories(),
        reference="resources/reference/glass_densities.csv",
    output:
        table="results/validate/melt_quench/density.csv",
        figure="results/validate/melt_quench/density.png",
    log:
        "logs/validate/melt_quench_density.log",
    conda:
        "../envs/amlip.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        settings=config["validate"],
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
        gpu=0,
    params:
        settings=config["validate"].get("vdos", {}),
        seed=config["seed"],
        dtype=config["train"]["mace"].get("default_dtype", "float64"),
        nequip_python=NEQUIP_PYTHON,
    script:
        "../scripts/md_vdos.py"


rule validate_vdos:
    input:
        trajectory="results/validate/melt_quench/vdos/trajectory.extxyz",
    output:
        table="results/validate/melt_quench/vdos.csv",
        peaks="results/validate/melt_quench/vdos_peaks.csv",
        figure="results/validate/melt_quench/vdos.png",
    log:
        "logs/validate/melt_quench_vdos.log",
    conda:
        "../envs/amlip.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        settings=config["validate"].get("vdos", {}),
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
        gpu=0,
    params:
        settings=config["validate"].get("ir", {}),
        seed=config["seed"],
        dtype="float64",
        nequip_python=NEQUIP_PYTHON,
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
        settings=config["validate"].get("ir", {}),
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
        figure="results/validate/melt_quench/ir.png",
    log:
        "logs/validate/melt_quench_ir.log",
    conda:
        "../envs/phonons.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        settings=config["validate"].get("ir", {}),
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
        figure="results/validate/melt_quench/elastic.png",
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
        gpu=0,
    params:
        settings=config["validate"].get("elastic", {}),
        dtype="float64",
        nequip_python=NEQUIP_PYTHON,
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
        figure="results/validate/melt_quench/elastic_fluctuation.png",
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
        gpu=0,
    params:
        settings=config["validate"].get("elastic_fluctuation", {}),
        guards=config["produce"]["melt_quench"].get("guards", {}),
        seed=config["seed"],
        dtype=config["train"]["mace"].get("default_dtype", "float64"),
        nequip_python=NEQUIP_PYTHON,
    script:
        "../scripts/validate_elastic_fluctuation.py"
