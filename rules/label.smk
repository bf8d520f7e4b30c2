# Stage 3: reference labels. Frames are labelled in chunks (one job each); failures are kept
# in a CSV beside every chunk and checked against label.max_failed_fraction when merging.
# Iteration 0 also takes the AIMD frames of rules/aimd.smk (same level of theory, or refused).


rule label_chunk:
    input:
        frames=frames_to_label,
    output:
        labelled=protected("results/label/{domain}/iter_{i}/chunk_{c}.extxyz"),
        failed="results/label/{domain}/iter_{i}/chunk_{c}_failed.csv",
    log:
        "logs/label/{domain}/iter_{i}/chunk_{c}.log",
    benchmark:
        "results/benchmarks/label/{domain}/iter_{i}/chunk_{c}.tsv"
    conda:
        f"../envs/{BACKEND}.yaml"
    threads: LABEL_RESOURCES[BACKEND]["threads"]
    resources:
        mem_mb=LABEL_RESOURCES[BACKEND]["mem_mb"],
        runtime=LABEL_RESOURCES[BACKEND]["runtime"],
    params:
        backend=BACKEND,
        settings=label_settings,
        run_settings=label_run_settings,
        chunk_size=config["label"]["chunk_size"],
    script:
        "../scripts/label_chunk.py"


rule merge_labels:
    input:
        chunks=label_chunks,
        failed=failed_chunks,
        frames=frames_to_label,
        # iteration 0 of a domain in aimd.domains: AIMD and imported trajectories (rules/aimd.smk)
        aimd=aimd_frames_of,
    output:
        labelled=protected("results/label/{domain}/iter_{i}/labelled.extxyz"),
        failed="results/label/{domain}/iter_{i}/failed.csv",
    log:
        merge="logs/label/{domain}/iter_{i}/merge.log",
        # the failed frames again where a stopped merge leaves them (Snakemake removes its outputs)
        failed="logs/label/{domain}/iter_{i}/failed.csv",
    conda:
        "../envs/amlip.yaml"
    threads: 1
    # Frames are streamed: memory is flat in their number but for the frame_index bookkeeping (~40 bytes
    # a frame, ~50 MB at ZIF's 1.2 M frames), well inside 2000 MB, which stays fixed (it must not outgrow
    # the memory of the label group job it runs in). runtime (min) = 5 + input MiB / 60, i.e. 1 MiB/s,
    # below the 1.7-2.9 MB/s (8-atom frames) and 10-15 MB/s (272-atom) of benchmarks/measured/stream_memory.txt.
    resources:
        mem_mb=2000,
        runtime=scaled_by_input(5, 1 / 60),
    params:
        max_failed_fraction=config["label"]["max_failed_fraction"],
    script:
        "../scripts/merge_labels.py"


# Per domain, with the domain's label settings: E0s and frames share one level of theory
# (assemble_dataset refuses a data set whose frames do not match its E0s).
rule label_isolated_atoms:
    output:
        protected("results/label/{domain}/isolated_atoms.json"),
    log:
        "logs/label/{domain}/isolated_atoms.log",
    conda:
        f"../envs/{BACKEND}.yaml"
    threads: LABEL_RESOURCES[BACKEND]["threads"]
    resources:
        mem_mb=LABEL_RESOURCES[BACKEND]["mem_mb"],
        runtime=LABEL_RESOURCES[BACKEND]["runtime"],
    params:
        backend=BACKEND,
        settings=label_settings,
        run_settings=label_run_settings,
        elements=config["elements"],
    script:
        "../scripts/label_isolated_atoms.py"


# Relabeling at a second level of theory (AS compares functionals): label.relabel.<relabel_set> names a
# labelled frame file (any pipeline output or an outside file), a backend and its settings; the
# old labels stay under lot<hash>_* keys, and the merge compares the two levels.
rule relabel_chunk:
    input:
        frames=lambda wildcards: relabel_spec(wildcards.relabel_set)["frames"],
    output:
        labelled=protected("results/relabel/{relabel_set}/chunk_{c}.extxyz"),
        failed="results/relabel/{relabel_set}/chunk_{c}_failed.csv",
    log:
        "logs/relabel/{relabel_set}/chunk_{c}.log",
    benchmark:
        "results/benchmarks/relabel/{relabel_set}/chunk_{c}.tsv"
    conda:
        # one env per backend as for label_chunk; "../envs/..." is relative to this file
        lambda wildcards: f"../envs/{relabel_spec(wildcards.relabel_set)['backend']}.yaml"
    threads: relabel_resource("threads")
    resources:
        mem_mb=relabel_resource("mem_mb"),
        runtime=relabel_resource("runtime"),
    params:
        backend=lambda wildcards: relabel_spec(wildcards.relabel_set)["backend"],
        settings=lambda wildcards: level_settings(relabel_spec(wildcards.relabel_set)["settings"]),
        run_settings=lambda wildcards: run_settings(relabel_spec(wildcards.relabel_set)["settings"]),
        n_chunks=lambda wildcards: relabel_spec(wildcards.relabel_set)["n_chunks"],
    script:
        "../scripts/relabel_chunk.py"


rule merge_relabel:
    input:
        chunks=relabel_chunks,
        failed=relabel_failed,
        frames=lambda wildcards: relabel_spec(wildcards.relabel_set)["frames"],
    output:
        labelled=protected("results/relabel/{relabel_set}/labelled.extxyz"),
        failed="results/relabel/{relabel_set}/failed.csv",
        comparison="results/relabel/{relabel_set}/comparison.csv",
        summary="results/relabel/{relabel_set}/summary.csv",
        figure=report(
            "results/relabel/{relabel_set}/parity.png",
            category="Labels",
            subcategory="relabel {relabel_set}",
            caption="../report/relabel.rst",
        ),
    log:
        merge="logs/relabel/{relabel_set}/merge.log",
        # the failed frames again where a stopped merge leaves them (Snakemake removes its outputs)
        failed="logs/relabel/{relabel_set}/failed.csv",
    conda:
        "../envs/amlip.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        max_failed_fraction=config["label"]["max_failed_fraction"],
    script:
        "../scripts/merge_relabel.py"
