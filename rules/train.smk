# Stage 5: training. Each committee member is one training job with its own seed: mace_run_train
# (train.architecture: mace), nequip-train + nequip-compile (nequip, allegro), dp --pt train +
# dp --pt freeze (deepmd) or gracemaker (grace); evaluation writes the AS Table 2 / ZIF Table 1 metrics for every split
# with the same loader for all.
rule train_model:
    input:
        unpack(finetune_inputs),
        unpack(lambda wildcards: previous_member(wildcards, "mace.model", fit="fit.csv")),
        train="results/learn/{domain}/iter_{i}/train.extxyz",
        val="results/learn/{domain}/iter_{i}/val.extxyz",
        test="results/learn/{domain}/iter_{i}/test.extxyz",
        e0s="results/label/{domain}/isolated_atoms.json",
    output:
        model=protected("results/train/{domain}/iter_{i}/member_{m}/mace.model"),
        fit="results/train/{domain}/iter_{i}/member_{m}/fit.csv",
    log:
        "logs/train/{domain}/iter_{i}/member_{m}.log",
    benchmark:
        "results/benchmarks/train/{domain}/iter_{i}/member_{m}.tsv"
    conda:
        "../envs/mace.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=120,
        gpu=GPUS["train"],
    params:
        settings=config["train"]["mace"],
        budget=config["train"]["budget"],
        finetune=config["train"]["finetune"],
        seed=lambda wildcards: config["seed"] + int(wildcards.m),
        device=DEVICE["train"],
    script:
        # after a converged iteration (learn.stop_when_converged) the member is copied, not trained
        "../scripts/train_model.py"


rule evaluate_model:
    input:
        model=f"results/train/{{domain}}/iter_{{i}}/member_{{m}}/{MODEL_FILE}",
        train="results/learn/{domain}/iter_{i}/train.extxyz",
        val="results/learn/{domain}/iter_{i}/val.extxyz",
        test="results/learn/{domain}/iter_{i}/test.extxyz",
        final_test=final_test,
    output:
        table="results/train/{domain}/iter_{i}/member_{m}/evaluation.csv",
        predictions="results/train/{domain}/iter_{i}/member_{m}/test_predictions.extxyz",
    log:
        "logs/train/{domain}/iter_{i}/evaluate_{m}.log",
    conda:
        MODEL_ENV
    threads: 1
    # Frames are streamed and scored one at a time: memory is flat in their number (the model and one
    # frame), so mem_mb stays 4000. The model calls set the run time: a labelled atom line is ~100 bytes,
    # 10^4 atoms per input MB; at 0.5 ms/atom (16-channel MACE on one CPU core, 524 us/atom in
    # benchmarks/measured/md_throughput_cpu_16ch.csv) that is 5 s per MB, at ~50 us/atom on a GPU 0.5 s:
    # runtime (min) = 30 + input MiB * 5/60 (CPU) or * 0.5/60 (GPU).
    resources:
        mem_mb=4000,
        runtime=scaled_by_input(30, (0.5 if GPUS["train"] else 5) / 60),
        gpu=GPUS["train"],
    params:
        dtype=MODEL_DTYPE,
        model_python=MODEL_PYTHON,
        # the final committee's speed (ZIF): earlier iterations have the same architecture
        cost=lambda wildcards: COST if int(wildcards.i) == N_ITER else {},
        fit_bounds=config["train"]["fit_bounds"],
        device=DEVICE["train"],
    script:
        "../scripts/evaluate_model.py"


# NequIP / Allegro members (ZIF presets) in their own environment (e3nn 0.6): the committee
# when train.architecture is nequip or allegro; with mace or deepmd, any member can still be trained and
# compiled on request (train.nequip.architecture), e.g.
#   snakemake results/train/syn/iter_2/member_0/model.nequip.pt2
rule write_nequip_config:
    input:
        train="results/learn/{domain}/iter_{i}/train.extxyz",
        val="results/learn/{domain}/iter_{i}/val.extxyz",
        test="results/learn/{domain}/iter_{i}/test.extxyz",
        e0s="results/label/{domain}/isolated_atoms.json",
    output:
        config="results/train/{domain}/iter_{i}/member_{m}/nequip/config.yaml",
    log:
        "logs/train/{domain}/iter_{i}/nequip_config_{m}.log",
    conda:
        "../envs/nequip.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        settings=nequip_settings,
        model=ARCHITECTURE if NEQUIP_FAMILY else config["train"]["nequip"]["architecture"],
        seed=lambda wildcards: config["seed"] + int(wildcards.m),
        # beside the config; the compiled model beside the member's other files (nequip_command_line)
        work_dir=lambda wildcards, output: os.path.join(os.path.dirname(output.config), "run"),
        compiled=lambda wildcards, output: os.path.join(os.path.dirname(os.path.dirname(output.config)), "model.nequip.pt2"),
        device=DEVICE["train"],
    script:
        "../scripts/write_nequip_config.py"


rule train_nequip:
    input:
        unpack(lambda wildcards: previous_member(wildcards, NEQUIP_MEMBER_FILE)),
        config="results/train/{domain}/iter_{i}/member_{m}/nequip/config.yaml",
        train="results/learn/{domain}/iter_{i}/train.extxyz",
        val="results/learn/{domain}/iter_{i}/val.extxyz",
        test="results/learn/{domain}/iter_{i}/test.extxyz",
    output:
        model=protected(f"results/train/{{domain}}/iter_{{i}}/member_{{m}}/{NEQUIP_MEMBER_FILE}"),
    log:
        "logs/train/{domain}/iter_{i}/member_{m}_nequip.log",
    benchmark:
        "results/benchmarks/train/{domain}/iter_{i}/member_{m}_nequip.tsv"
    conda:
        "../envs/nequip.yaml"
    threads: 1
    resources:
        mem_mb=8000,
        runtime=240,
        gpu=GPUS["train"],
    params:
        commands=nequip_command_line,
        reuse=reuse_command,
    shell:
        "action=$({params.reuse} 2> {log}); "
        "if [ \"$action\" = reused ]; then echo 'member copied: the loop stopped before this iteration' >> {log}; "
        "else (export OMP_NUM_THREADS={threads}; {params.commands}) > {log} 2>&1; fi"


# DeePMD members (train.architecture: deepmd; NS presets) in their own environment (deepmd-kit
# built against our torch): the deepmd/npy data and input.json of dp --pt train, then training
# and dp --pt freeze to the member's model.deepmd.pth, e.g.
#   snakemake results/train/syn/iter_2/member_0/model.deepmd.pth
rule write_deepmd_input:
    input:
        train="results/learn/{domain}/iter_{i}/train.extxyz",
        val="results/learn/{domain}/iter_{i}/val.extxyz",
    output:
        input="results/train/{domain}/iter_{i}/member_{m}/deepmd/input.json",
        data=directory("results/train/{domain}/iter_{i}/member_{m}/deepmd/data"),
    log:
        "logs/train/{domain}/iter_{i}/deepmd_input_{m}.log",
    conda:
        "../envs/deepmd.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        settings=deepmd_train_settings,
        type_map=config["elements"],
        seed=lambda wildcards: config["seed"] + int(wildcards.m),
    script:
        "../scripts/write_deepmd_input.py"


rule train_deepmd:
    input:
        unpack(lambda wildcards: previous_member(wildcards, "model.deepmd.pth")),
        input="results/train/{domain}/iter_{i}/member_{m}/deepmd/input.json",
        data="results/train/{domain}/iter_{i}/member_{m}/deepmd/data",
    output:
        model=protected("results/train/{domain}/iter_{i}/member_{m}/model.deepmd.pth"),
    log:
        "logs/train/{domain}/iter_{i}/member_{m}_deepmd.log",
    benchmark:
        "results/benchmarks/train/{domain}/iter_{i}/member_{m}_deepmd.tsv"
    conda:
        "../envs/deepmd.yaml"
    threads: 1
    resources:
        mem_mb=8000,
        runtime=240,
        gpu=GPUS["train"],
    params:
        commands=deepmd_command_line,
        reuse=reuse_command,
    shell:
        "action=$({params.reuse} 2> {log}); "
        "if [ \"$action\" = reused ]; then echo 'member copied: the loop stopped before this iteration' >> {log}; "
        "else (export OMP_NUM_THREADS={threads}; {params.commands}) > {log} 2>&1; fi"


# MTP members (train.architecture: mtp; AS presets) trained by motep in the main environment:
# training.cfg, the untrained initial.mtp of the level and motep.toml, then motep's Trainer writes
# the member's model.mtp (MLIP-2 format), e.g.
#   snakemake results/train/syn/iter_2/member_0/model.mtp
rule write_mtp_input:
    input:
        train="results/learn/{domain}/iter_{i}/train.extxyz",
    output:
        setting="results/train/{domain}/iter_{i}/member_{m}/mtp/motep.toml",
        cfg="results/train/{domain}/iter_{i}/member_{m}/mtp/training.cfg",
        initial="results/train/{domain}/iter_{i}/member_{m}/mtp/initial.mtp",
    log:
        "logs/train/{domain}/iter_{i}/mtp_input_{m}.log",
    conda:
        "../envs/mtp.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        settings=mtp_train_settings,
        elements=config["elements"],
        seed=lambda wildcards: config["seed"] + int(wildcards.m),
    script:
        "../scripts/write_mtp_input.py"


rule train_mtp:
    input:
        unpack(lambda wildcards: previous_member(wildcards, "model.mtp")),
        setting="results/train/{domain}/iter_{i}/member_{m}/mtp/motep.toml",
        cfg="results/train/{domain}/iter_{i}/member_{m}/mtp/training.cfg",
        initial="results/train/{domain}/iter_{i}/member_{m}/mtp/initial.mtp",
    output:
        model=protected("results/train/{domain}/iter_{i}/member_{m}/model.mtp"),
    log:
        "logs/train/{domain}/iter_{i}/member_{m}_mtp.log",
    benchmark:
        "results/benchmarks/train/{domain}/iter_{i}/member_{m}_mtp.tsv"
    conda:
        "../envs/mtp.yaml"
    threads: 1
    # motep's C engine on one core; level 16 with 1000 BFGS iterations on a few thousand frames takes hours
    resources:
        mem_mb=4000,
        runtime=480,
    params:
        # member m of iteration i >= 1 starts from member m of iteration i-1
        warm_start=config["train"]["budget"]["warm_start"],
    script:
        "../scripts/train_mtp.py"


# GRACE members (train.architecture: grace; presets GRACE-1L, GRACE-2L) in their own environment
# (tensorpotential on TensorFlow): the extended XYZ sets and input.yaml of gracemaker, then training
# and the SavedModel packed into the member's model.grace.tar, e.g.
#   snakemake results/train/syn/iter_2/member_0/model.grace.tar
rule write_grace_input:
    input:
        train="results/learn/{domain}/iter_{i}/train.extxyz",
        val="results/learn/{domain}/iter_{i}/val.extxyz",
    output:
        input="results/train/{domain}/iter_{i}/member_{m}/grace/input.yaml",
        train="results/train/{domain}/iter_{i}/member_{m}/grace/train.extxyz",
        test="results/train/{domain}/iter_{i}/member_{m}/grace/test.extxyz",
    log:
        "logs/train/{domain}/iter_{i}/grace_input_{m}.log",
    conda:
        "../envs/grace.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        settings=GRACE_SETTINGS,
        elements=config["elements"],
        seed=lambda wildcards: config["seed"] + int(wildcards.m),
    script:
        "../scripts/write_grace_input.py"


rule train_grace:
    input:
        unpack(lambda wildcards: previous_member(wildcards, "model.grace.tar")),
        input="results/train/{domain}/iter_{i}/member_{m}/grace/input.yaml",
        train="results/train/{domain}/iter_{i}/member_{m}/grace/train.extxyz",
        test="results/train/{domain}/iter_{i}/member_{m}/grace/test.extxyz",
    output:
        model=protected("results/train/{domain}/iter_{i}/member_{m}/model.grace.tar"),
    log:
        "logs/train/{domain}/iter_{i}/member_{m}_grace.log",
    benchmark:
        "results/benchmarks/train/{domain}/iter_{i}/member_{m}_grace.tsv"
    conda:
        "../envs/grace.yaml"
    threads: 1
    resources:
        mem_mb=8000,
        runtime=240,
        gpu=GPUS["train"],
    params:
        commands=grace_command_line,
        reuse=reuse_command,
    shell:
        "action=$({params.reuse} 2> {log}); "
        "if [ \"$action\" = reused ]; then echo 'member copied: the loop stopped before this iteration' >> {log}; "
        "else (export OMP_NUM_THREADS={threads}; {params.commands}) > {log} 2>&1; fi"
