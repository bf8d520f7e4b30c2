# Start and stop a single-node SLURM cluster (munged, MariaDB, slurmdbd, slurmctld, slurmd)
# inside one directory. Sourced by run_slurm_ci.sh; needs root (slurmd starts jobs as the
# submitting user). Every daemon runs in the foreground as a child of this shell, so it is
# stopped by its own PID and nothing is left behind.
#
#   cluster_install          apt-get the Debian packages if a command is missing
#   cluster_up RUN_DIR       write the configs into RUN_DIR, start the daemons, register
#                            cluster amlipci, account amlip_ci and the current user
#   cluster_down             stop the daemons in reverse order (idempotent)
#
# After cluster_up, SLURM_CONF points at RUN_DIR/etc/slurm.conf for every client command.

SLURM_TEMPLATES="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CLUSTER_NAME=amlipci
CLUSTER_ACCOUNT=amlip_ci
declare -a CLUSTER_PIDS=()
declare -a CLUSTER_NAMES=()

log() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*"; }

cluster_install() {
    local missing=()
    command -v slurmctld >/dev/null || missing+=(slurmctld)
    command -v slurmd >/dev/null || missing+=(slurmd)
    command -v sbatch >/dev/null || missing+=(slurm-client)
    command -v slurmdbd >/dev/null || missing+=(slurmdbd)
    command -v munged >/dev/null || missing+=(munge)
    command -v mariadbd >/dev/null || missing+=(mariadb-server)
    if [ "${#missing[@]}" -eq 0 ]; then
        log "SLURM, munge, slurmdbd and MariaDB already installed"
        return
    fi
    log "installing ${missing[*]}"
    # Keep the packages' maintainer scripts from starting system daemons: ours run from RUN_DIR.
    local policy=/usr/sbin/policy-rc.d backup=""
    if [ -e "$policy" ]; then
        backup="$(mktemp)"
        cp -p "$policy" "$backup"
    fi
    printf '#!/bin/sh\nexit 101\n' > "$policy"
    chmod 755 "$policy"
    local rc=0
    { DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
          "${missing[@]}" >/dev/null; } || rc=$?
    if [ -n "$backup" ]; then
        cp -p "$backup" "$policy"
        rm -f "$backup"
    else
        rm -f "$policy"
    fi
    return "$rc"
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

fill_template() {  # fill_template TEMPLATE OUTPUT
    sed -e "s|@RUN@|$RUN|g" -e "s|@HOST@|$HOST|g" -e "s|@CTLD_PORT@|$CTLD_PORT|g" \
        -e "s|@SLURMD_PORT@|$SLURMD_PORT|g" -e "s|@DBD_PORT@|$DBD_PORT|g" \
        -e "s|@DB_PORT@|$DB_PORT|g" -e "s|@DB_PASS@|$DB_PASS|g" "$1" > "$2"
}

start_daemon() {  # start_daemon NAME COMMAND... (runs in the foreground, in the background)
    local name="$1"
    shift
    "$@" >> "$RUN/log/$name.out" 2>&1 &
    CLUSTER_PIDS+=("$!")
    CLUSTER_NAMES+=("$name")
}

wait_for() {  # wait_for SECONDS DESCRIPTION COMMAND...
    local limit="$1" what="$2" t=0
    shift 2
    until "$@" >/dev/null 2>&1; do
        sleep 1
        t=$((t + 1))
        if [ "$t" -ge "$limit" ]; then
            log "timed out after ${limit}s waiting for $what; logs:"
            tail -n 20 "$RUN"/log/*.log "$RUN"/log/*.out 2>/dev/null || true
            return 1
        fi
    done
}

# The jobstep plugin (snakemake-executor-plugin-slurm-jobstep 0.6.1) removes every SLURM_*
# variable, SLURM_CONF included, before its inner `srun`, which then only finds
# /etc/slurm/slurm.conf. So that path becomes a link to our file for the run; an existing file
# is moved aside and put back by cluster_down.
SYSTEM_CONF=/etc/slurm/slurm.conf
SYSTEM_CONF_BACKUP=""
SYSTEM_CONF_LINKED=""

link_system_conf() {
    mkdir -p "$(dirname "$SYSTEM_CONF")"
    if [ -e "$SYSTEM_CONF" ] || [ -L "$SYSTEM_CONF" ]; then
        SYSTEM_CONF_BACKUP="$SYSTEM_CONF.amlip-ci-backup.$$"
        mv "$SYSTEM_CONF" "$SYSTEM_CONF_BACKUP"
        log "moved the existing $SYSTEM_CONF to $SYSTEM_CONF_BACKUP for the run"
    fi
    ln -s "$SLURM_CONF" "$SYSTEM_CONF"
    SYSTEM_CONF_LINKED=1
}

restore_system_conf() {
    if [ -n "$SYSTEM_CONF_LINKED" ] && [ -L "$SYSTEM_CONF" ]; then
        rm -f "$SYSTEM_CONF"
    fi
    SYSTEM_CONF_LINKED=""
    if [ -n "$SYSTEM_CONF_BACKUP" ]; then
        mv "$SYSTEM_CONF_BACKUP" "$SYSTEM_CONF"
        log "restored $SYSTEM_CONF"
        SYSTEM_CONF_BACKUP=""
    fi
}

cluster_up() {
    RUN="$1"
    HOST="$(hostname -s)"
    CTLD_PORT="$(free_port)"
    SLURMD_PORT="$(free_port)"
    DBD_PORT="$(free_port)"
    DB_PORT="$(free_port)"
    DB_PASS="ci$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')"
    mkdir -p "$RUN"/{etc,state,spool,log,munge,mysql} || return 1
    chmod 700 "$RUN"
    chmod 711 "$RUN/munge"
    fill_template "$SLURM_TEMPLATES/slurm.conf.in" "$RUN/etc/slurm.conf" || return 1
    fill_template "$SLURM_TEMPLATES/slurmdbd.conf.in" "$RUN/etc/slurmdbd.conf" || return 1
    fill_template "$SLURM_TEMPLATES/cgroup.conf.in" "$RUN/etc/cgroup.conf" || return 1
    chmod 600 "$RUN/etc/slurmdbd.conf"
    : > "$RUN/plugstack.conf"
    # Clients and slurmdbd (which reads slurmdbd.conf beside slurm.conf) find the files here.
    export SLURM_CONF="$RUN/etc/slurm.conf"
    link_system_conf

    log "munged"
    mungekey --create --keyfile="$RUN/munge/munge.key" --force || return 1
    chmod 600 "$RUN/munge/munge.key"
    start_daemon munged munged --foreground --force --key-file="$RUN/munge/munge.key" \
        --socket="$RUN/munge/munge.socket" --pid-file="$RUN/munge/munged.pid" \
        --seed-file="$RUN/munge/munged.seed" --log-file="$RUN/log/munged.log"
    wait_for 20 munged munge --socket="$RUN/munge/munge.socket" -n || return 1

    log "MariaDB on 127.0.0.1:$DB_PORT"
    mariadb-install-db --no-defaults --datadir="$RUN/mysql" --user=root \
        --auth-root-authentication-method=socket --skip-test-db > "$RUN/log/mariadb-install.out" 2>&1
    start_daemon mariadb mariadbd --no-defaults --datadir="$RUN/mysql" --user=root \
        --socket="$RUN/mysqld.sock" --port="$DB_PORT" --bind-address=127.0.0.1 \
        --pid-file="$RUN/mysqld.pid" --log-error="$RUN/log/mariadb.log" --skip-name-resolve \
        --innodb-buffer-pool-size=64M --innodb-lock-wait-timeout=900
    wait_for 60 MariaDB mariadb --no-defaults --socket="$RUN/mysqld.sock" -u root -e 'SELECT 1' || return 1
    mariadb --no-defaults --socket="$RUN/mysqld.sock" -u root -e "
        CREATE USER 'slurm'@'127.0.0.1' IDENTIFIED BY '$DB_PASS';
        GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';" || return 1

    log "slurmdbd on 127.0.0.1:$DBD_PORT"
    start_daemon slurmdbd slurmdbd -D
    wait_for 60 slurmdbd sacctmgr -n list cluster || return 1
    sacctmgr -i add cluster "$CLUSTER_NAME" > /dev/null || return 1

    log "slurmctld on 127.0.0.1:$CTLD_PORT, slurmd on 127.0.0.1:$SLURMD_PORT"
    start_daemon slurmctld slurmctld -D -i -f "$SLURM_CONF"
    wait_for 60 slurmctld scontrol ping || return 1
    start_daemon slurmd slurmd -D -f "$SLURM_CONF"
    wait_for 60 "node $HOST idle" sh -c "sinfo -h -N -n '$HOST' -o %t | grep -qx idle" || return 1

    sacctmgr -i add account "$CLUSTER_ACCOUNT" cluster="$CLUSTER_NAME" \
        description="amlip CI" organization=ci > /dev/null || return 1
    sacctmgr -i add user "$(id -un)" account="$CLUSTER_ACCOUNT" cluster="$CLUSTER_NAME" > /dev/null || return 1
    log "cluster up: $(sinfo -h -o '%P %D %c %m %t' | tr '\n' ';')"
}

cluster_down() {
    local i pid
    if [ -n "${SLURM_CONF:-}" ] && command -v scancel >/dev/null; then
        scancel --quiet --user "$(id -un)" 2>/dev/null || true
    fi
    # Reverse order: slurmd, slurmctld, slurmdbd, MariaDB, munged.
    for ((i = ${#CLUSTER_PIDS[@]} - 1; i >= 0; i--)); do
        pid="${CLUSTER_PIDS[$i]}"
        if kill -0 "$pid" 2>/dev/null; then
            kill -TERM "$pid" 2>/dev/null || true
            for _ in $(seq 1 30); do
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.5
            done
            if kill -0 "$pid" 2>/dev/null; then
                log "${CLUSTER_NAMES[$i]} (pid $pid) ignored TERM; sending KILL"
                kill -KILL "$pid" 2>/dev/null || true
            fi
            wait "$pid" 2>/dev/null || true
            log "stopped ${CLUSTER_NAMES[$i]} (pid $pid)"
        fi
    done
    CLUSTER_PIDS=()
    CLUSTER_NAMES=()
    restore_system_conf
}
