#!/usr/bin/env bash
# CI: run config/tests/tiny.yaml on a real single-node SLURM cluster through the repository's
# profiles/slurm, check the jobs in the accounting database, then kill a local run in the
# middle of labeling, resume it, and compare both runs.
#
#   tests/slurm/run_slurm_ci.sh        (as root; .venv must exist: `make install`)
#
# Steps (each timed; a summary "N passed, M failed" at the end, exit 1 on any failure):
#   1. apt-get slurm-wlm, slurmdbd, munge, mariadb-server when missing
#   2. start munged, MariaDB, slurmdbd, slurmctld, slurmd from a temporary directory
#      (tests/slurm/cluster.sh); register cluster, account and user
#   3. snakemake --profile <profiles/slurm adapted by make_profile.py> on a copy of the repo,
#      in the background (it mostly waits on sacct polls), while steps 5-6 run locally
#   4. check_sacct.py: every job in sacct with its rule, resources, account; label groups
#   5. the same config locally (--cores 2), killed (SIGKILL to its process group) once some
#      but not all iteration-0 label chunks are done; --unlock; resumed
#   6. finished chunks were not recomputed (mtime, sha256, benchmark file, rerun log)
#   7. compare_runs.py: SLURM run vs. resumed local run
# Everything is stopped and /etc/slurm/slurm.conf restored on exit, also on failure or ^C.
# AMLIP_SLURM_CI_KEEP=1 keeps the working directory (runs, logs, cluster state) for a look.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
    # apt-get, slurmd (starts jobs as their user) and /etc/slurm/slurm.conf need root.
    command -v sudo > /dev/null || { echo "run_slurm_ci.sh: run as root (or install sudo)" >&2; exit 1; }
    exec sudo --preserve-env=VENV,AMLIP_SLURM_CI_KEEP "$0" "$@"
fi

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
HERE="$ROOT/tests/slurm"
VENV="${VENV:-$ROOT/.venv}"
CONFIG=config/tests/tiny.yaml
SHIPPED=(Snakefile rules scripts config envs report resources amlip)
CORES=2
RUN_LIMIT_S=1500

source "$HERE/cluster.sh"

export PATH="$VENV/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
export OMP_NUM_THREADS=1 MPLBACKEND=Agg
WORK="$(mktemp -d /tmp/amlip-slurm-ci.XXXXXX)"
export HOME="$WORK"  # matplotlib/fontconfig caches stay in the throwaway directory

PASSED=0
FAILED=0
declare -a TIMINGS=()
declare -a FAILURES=()
LOCAL_PGID=""
N_CHUNKS=0
T_START=$(date +%s)

record() {  # record OK|FAIL WHAT
    if [ "$1" = OK ]; then
        PASSED=$((PASSED + 1))
        log "PASS $2"
    else
        FAILED=$((FAILED + 1))
        FAILURES+=("$2")
        log "FAIL $2"
    fi
}

timed() {  # timed NAME COMMAND...: run, time, record; never aborts the script
    local name="$1" t0 rc=0
    shift
    t0=$(date +%s)
    log "== $name"
    "$@" || rc=$?
    TIMINGS+=("$(printf '%-44s %5ss' "$name" "$(($(date +%s) - t0))")")
    if [ "$rc" -eq 0 ]; then record OK "$name"; else record FAIL "$name (exit $rc)"; fi
    return 0
}

cleanup() {
    local rc=$?
    local pgid
    for pgid in "$LOCAL_PGID" "$SLURM_PGID"; do
        if [ -n "$pgid" ] && kill -0 -- "-$pgid" 2>/dev/null; then
            kill -KILL -- "-$pgid" 2>/dev/null || true
        fi
    done
    cluster_down
    if [ -n "${AMLIP_SLURM_CI_KEEP:-}" ]; then
        log "kept $WORK"
    else
        rm -rf "$WORK"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

copy_repo() {  # copy_repo DEST: the files a run needs, as tests/test_pipeline.py copies them
    mkdir -p "$1"
    local present=() name
    for name in "${SHIPPED[@]}"; do
        [ -e "$ROOT/$name" ] && present+=("$name")
    done
    tar -C "$ROOT" --exclude=__pycache__ -cf - "${present[@]}" | tar -C "$1" -xf - || return 1
}

show_tail() {  # show_tail FILE: the end of a log, for a failure
    log "last lines of $1:"
    tail -n 40 "$1" | sed 's/^/    /'
}

nothing_left_to_do() {  # nothing_left_to_do DIR: every target exists and is up to date
    (cd "$1" && snakemake -n --cores 1 --configfile "$CONFIG" > "$1.dryrun.log" 2>&1) &&
        grep -q "Nothing to be done" "$1.dryrun.log" || { show_tail "$1.dryrun.log"; return 1; }
}

# -- 3. the tiny pipeline through SLURM ---------------------------------------------------
# The SLURM run spends most of its time waiting (sacct polls, two Snakemake start-ups per job),
# so the local kill-and-resume run (5.) goes on beside it to keep CI short.
SLURM_PGID=""
SLURM_T0=""

slurm_start() {
    copy_repo "$WORK/slurm" || return 1
    python "$HERE/make_profile.py" "$ROOT/profiles/slurm" "$WORK/profile" \
        --account "$CLUSTER_ACCOUNT" --cores "$CORES" || return 1
    cd "$WORK/slurm"
    setsid timeout -k 30 "$RUN_LIMIT_S" \
        snakemake --profile "$WORK/profile" --configfile "$CONFIG" > "$WORK/slurm.log" 2>&1 &
    SLURM_PGID=$!
    SLURM_T0=$(date +%s)
    cd "$ROOT"
    log "SLURM run started (process group $SLURM_PGID)"
}

slurm_wait() {
    local rc=0
    [ -n "$SLURM_PGID" ] || return 1
    wait "$SLURM_PGID" || rc=$?
    SLURM_PGID=""
    log "SLURM run ended after $(($(date +%s) - SLURM_T0))s, exit $rc;" \
        "$(grep -c "has been submitted with SLURM jobid" "$WORK/slurm.log") SLURM submissions"
    [ "$rc" -eq 0 ] || { show_tail "$WORK/slurm.log"; return 1; }
}

# -- 5. local run killed during labeling, then resumed ------------------------------------
incomplete_marker() {  # where Snakemake marks output $2 of run $1 as being written
    printf '%s/.snakemake/incomplete/%s' "$1" "$(printf '%s' "$2" | base64 -w0 | tr '+/' '-_')"
}

snapshot_chunks() {  # snapshot_chunks DIR OUT: finished iteration-0 chunks with mtime and hash
    local dir="$1" chunk bench
    : > "$2"
    for chunk in "$dir"/results/label/syn/iter_0/chunk_*.extxyz; do
        [ -e "$chunk" ] || continue
        chunk="${chunk#"$dir"/}"
        [ -e "$(incomplete_marker "$dir" "$chunk")" ] && continue
        bench="results/benchmarks/label/syn/iter_0/$(basename "$chunk" .extxyz).tsv"
        printf '%s %s %s %s\n' "$chunk" "$(stat -c %.9Y "$dir/$chunk")" \
            "$(sha256sum < "$dir/$chunk" | cut -c1-16)" "$(stat -c %.9Y "$dir/$bench")" >> "$2"
    done
}

interrupted_run() {
    local dir="$WORK/local" n_chunks pid done_n t0
    copy_repo "$dir" || return 1
    cd "$dir"
    snakemake -n --cores 1 --configfile "$CONFIG" > "$WORK/local.dryrun.log" 2>&1 ||
        { show_tail "$WORK/local.dryrun.log"; cd "$ROOT"; return 1; }
    n_chunks=$(grep -c "output: results/label/syn/iter_0/chunk_[0-9]*\.extxyz" "$WORK/local.dryrun.log" || true)
    N_CHUNKS=$n_chunks
    [ "$n_chunks" -gt 1 ] || { log "the dry run shows $n_chunks iteration-0 chunks: nothing to interrupt"; cd "$ROOT"; return 1; }
    # Own session and process group, so one kill reaches Snakemake and every job it started.
    setsid snakemake --cores "$CORES" --configfile "$CONFIG" > "$WORK/local.log" 2>&1 &
    pid=$!
    LOCAL_PGID=$pid
    t0=$(date +%s)
    while :; do
        snapshot_chunks "$dir" "$WORK/chunks_before.txt"
        done_n=$(wc -l < "$WORK/chunks_before.txt")
        if [ "$done_n" -ge 1 ]; then
            break
        fi
        if ! kill -0 "$pid" 2>/dev/null || [ $(($(date +%s) - t0)) -gt 600 ]; then
            show_tail "$WORK/local.log"
            cd "$ROOT"
            return 1
        fi
        sleep 0.2
    done
    kill -KILL -- "-$LOCAL_PGID"
    wait "$pid" 2>/dev/null || true
    snapshot_chunks "$dir" "$WORK/chunks_before.txt"
    done_n=$(wc -l < "$WORK/chunks_before.txt")
    log "killed Snakemake (process group $LOCAL_PGID) with $done_n of $n_chunks iteration-0 chunks done:"
    sed 's/^/    /' "$WORK/chunks_before.txt"
    for _ in $(seq 1 50); do
        pgrep -g "$LOCAL_PGID" > /dev/null || break
        sleep 0.2
    done
    if pgrep -g "$LOCAL_PGID" > /dev/null; then
        log "processes of the killed run are still alive: $(pgrep -g "$LOCAL_PGID" | tr '\n' ' ')"
        cd "$ROOT"
        return 1
    fi
    LOCAL_PGID=""
    cd "$ROOT"
    [ "$done_n" -lt "$n_chunks" ] || { log "every chunk was already done: nothing was interrupted"; return 1; }
}

resumed_run() {
    local dir="$WORK/local"
    (cd "$dir" && snakemake --unlock --cores 1 --configfile "$CONFIG" > "$WORK/unlock.log" 2>&1) ||
        { show_tail "$WORK/unlock.log"; return 1; }
    (cd "$dir" && timeout -k 30 "$RUN_LIMIT_S" snakemake --cores "$CORES" --configfile "$CONFIG" \
        --rerun-incomplete > "$WORK/resume.log" 2>&1) || { show_tail "$WORK/resume.log"; return 1; }
}

# -- 6. what was finished before the kill was not computed again --------------------------
finished_chunks_kept() {
    local dir="$WORK/local" ok=0 chunk mtime hash bench now_mtime now_hash now_bench rerun
    while read -r chunk mtime hash bench; do
        now_mtime=$(stat -c %.9Y "$dir/$chunk")
        now_hash=$(sha256sum < "$dir/$chunk" | cut -c1-16)
        now_bench=$(stat -c %.9Y "$dir/results/benchmarks/label/syn/iter_0/$(basename "$chunk" .extxyz).tsv")
        if grep -q "output: $chunk," "$WORK/resume.log"; then rerun=yes; else rerun=no; fi
        log "  $chunk: mtime $mtime -> $now_mtime, sha256 $hash -> $now_hash, benchmark $bench -> $now_bench, in resume log: $rerun"
        if [ "$mtime" != "$now_mtime" ] || [ "$hash" != "$now_hash" ] || [ "$bench" != "$now_bench" ] || [ "$rerun" = yes ]; then
            ok=1
        fi
    done < "$WORK/chunks_before.txt"
    # The chunks the kill interrupted (and only those) are labelled again.
    local lost redone
    lost=$((N_CHUNKS - $(wc -l < "$WORK/chunks_before.txt")))
    redone=$(grep -c "output: results/label/syn/iter_0/chunk_[0-9]*\.extxyz" "$WORK/resume.log" || true)
    log "  iteration-0 chunks lost to the kill: $lost, labelled by the resumed run: $redone;" \
        "label_chunk jobs in the resumed run (all iterations): $(grep -Ec "^(local)?rule label_chunk:" "$WORK/resume.log" || true)"
    [ "$redone" -eq "$lost" ] || ok=1
    return "$ok"
}

# -- run ------------------------------------------------------------------------------------
timed "install slurm, slurmdbd, munge, mariadb" cluster_install
timed "start the cluster" cluster_up "$WORK/cluster"
SLURM_UP=""
if [ "${#CLUSTER_PIDS[@]}" -gt 0 ] && scontrol ping > /dev/null 2>&1; then
    SLURM_UP=1
    timed "submit the tiny pipeline through SLURM" slurm_start
else
    record FAIL "cluster not running: SLURM steps skipped"
fi
timed "local run killed during labeling" interrupted_run
timed "local run resumed" resumed_run
timed "finished label chunks not recomputed" finished_chunks_kept
timed "every target of the resumed run up to date" nothing_left_to_do "$WORK/local"
if [ -n "$SLURM_UP" ]; then
    timed "tiny pipeline through SLURM finished" slurm_wait
    timed "every target of the SLURM run up to date" nothing_left_to_do "$WORK/slurm"
    timed "sacct: rules, resources, account, label groups" \
        python "$HERE/check_sacct.py" "$WORK/slurm.log" --account "$CLUSTER_ACCOUNT" --cores "$CORES"
    timed "stop the cluster" cluster_down
    timed "SLURM run == resumed local run (deterministic parts)" \
        python "$HERE/compare_runs.py" "$WORK/slurm" "$WORK/local"
fi

echo
echo "== timings"
printf '  %s\n' "${TIMINGS[@]}"
printf '  %-44s %5ss\n' "total" "$(($(date +%s) - T_START))"
if [ "$FAILED" -gt 0 ]; then
    printf '  failed: %s\n' "${FAILURES[@]}"
fi
echo "SLURM CI: $PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
