#!/usr/bin/env bash
# A single-node SLURM on localhost, for testing the workflow's SLURM profile.
#
#   .ci/slurm-local.sh start [STATE_DIR]   install slurm-wlm + munge with apt when missing (needs
#                                          root), start munged, slurmctld and slurmd; wait for the
#                                          node to be idle
#   .ci/slurm-local.sh stop  [STATE_DIR]   stop only the daemons this script started (pid files)
#   .ci/slurm-local.sh status [STATE_DIR]
#
# No systemd, no accounting (the executor plugin then needs `slurm-status-command: squeue`).
# Memory is enforced without cgroups (jobacct_gather/linux + OverMemoryKill, polled every 1 s).
# The job step started inside each job drops SLURM_CONF, so the config is also written to
# /etc/slurm/slurm.conf (only when that file is absent or was written by this script).
# STATE_DIR defaults to /tmp/slurm-local; it holds the config, spool, logs and pid files.
set -euo pipefail

cmd=${1:-}
STATE=${2:-${SLURM_LOCAL_STATE:-/tmp/slurm-local}}
ETC_CONF=/etc/slurm/slurm.conf
MARK="# written by reads2pheno .ci/slurm-local.sh"

die() { echo "slurm-local: $*" >&2; exit 1; }

install_missing() {
    if command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v munged >/dev/null \
        && command -v sbatch >/dev/null; then
        return
    fi
    [ "$(id -u)" = 0 ] || die "slurm-wlm/munge missing and not root: cannot apt-get install"
    command -v apt-get >/dev/null || die "slurm-wlm/munge missing and no apt-get"
    echo "slurm-local: installing slurm-wlm munge with apt" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y --no-install-recommends slurm-wlm munge >/dev/null 2>&1 \
        || { apt-get update >/dev/null && apt-get install -y --no-install-recommends slurm-wlm munge >/dev/null; }
}

alive() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

write_conf() {
    local cpus mem
    cpus=$(nproc)
    # Leave headroom for the OS; memory is scheduled and enforced by polling (below).
    mem=$(awk '/MemTotal/ {m = int($2 / 1024) - 1024; print (m > 1000 ? m : 1000)}' /proc/meminfo)
    cat >"$STATE/slurm.conf" <<EOF
$MARK
ClusterName=local
SlurmctldHost=localhost(127.0.0.1)
SlurmUser=root
AuthType=auth/munge
AuthInfo=socket=$STATE/munge/munge.socket
CryptoType=crypto/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
ReturnToService=2
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
# Memory is enforced as on a cluster, without cgroups: the linux gatherer polls each job
# step's processes every second and OverMemoryKill kills a step whose RSS passes its --mem
# (a job that asks too little fails, and the profile's retries resubmit it with more).
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherParams=OverMemoryKill
JobAcctGatherFrequency=task=1
MinJobAge=3600
SlurmctldPort=6817
SlurmdPort=6818
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd.log
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/spool
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
}

start() {
    install_missing
    [ "$(id -u)" = 0 ] || die "needs root (daemons run as root, config in /etc/slurm)"
    mkdir -p "$STATE"/{log,ctld,spool,munge}
    if alive "$STATE/slurmctld.pid" && alive "$STATE/slurmd.pid"; then
        echo "slurm-local: already running ($STATE)" >&2
        return
    fi
    if [ -e "$ETC_CONF" ] && ! grep -qF "$MARK" "$ETC_CONF"; then
        die "$ETC_CONF exists and was not written by this script: not touching it"
    fi
    write_conf
    mkdir -p /etc/slurm
    cp "$STATE/slurm.conf" "$ETC_CONF"
    export SLURM_CONF=$ETC_CONF

    # munged: private socket, pid, log and seed; the key from the package (or a new one).
    # The socket folder must be searchable by every user (munged checks).
    chown munge:munge "$STATE/munge" && chmod 755 "$STATE/munge"
    local key=/etc/munge/munge.key
    if [ ! -s "$key" ]; then
        key=$STATE/munge/munge.key
        dd if=/dev/urandom of="$key" bs=1 count=1024 2>/dev/null
        chown munge:munge "$key" && chmod 400 "$key"
    fi
    if ! alive "$STATE/munge/munged.pid"; then
        runuser -u munge -- /usr/sbin/munged --key-file="$key" \
            --socket="$STATE/munge/munge.socket" --pid-file="$STATE/munge/munged.pid" \
            --log-file="$STATE/munge/munged.log" --seed-file="$STATE/munge/munged.seed"
    fi
    slurmctld -f "$ETC_CONF"
    slurmd -N localhost -f "$ETC_CONF"
    for _ in $(seq 60); do
        if sinfo -h -N -o '%T' 2>/dev/null | grep -qx 'idle'; then
            echo "slurm-local: node idle ($STATE)" >&2
            return
        fi
        sleep 0.5
    done
    tail -n 20 "$STATE/log/slurmctld.log" "$STATE/log/slurmd.log" >&2 || true
    die "node not idle after 30 s"
}

stop_pid() {  # pid file, name
    local pidf=$1 pid
    alive "$pidf" || return 0
    pid=$(cat "$pidf")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 40); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.25; done
    kill -9 "$pid" 2>/dev/null || true
}

stop() {
    # Cancel what is left of our jobs first, then the daemons we started, by their pid files.
    if alive "$STATE/slurmctld.pid"; then
        SLURM_CONF=$ETC_CONF scancel --full --quiet --state=PENDING,RUNNING 2>/dev/null || true
    fi
    stop_pid "$STATE/slurmd.pid"
    stop_pid "$STATE/slurmctld.pid"
    stop_pid "$STATE/munge/munged.pid"
    if [ -e "$ETC_CONF" ] && grep -qF "$MARK" "$ETC_CONF"; then rm -f "$ETC_CONF"; fi
    echo "slurm-local: stopped ($STATE)" >&2
}

case "$cmd" in
    start) start ;;
    stop) stop ;;
    status) SLURM_CONF=$ETC_CONF sinfo -N; SLURM_CONF=$ETC_CONF squeue ;;
    *) die "usage: $0 start|stop|status [STATE_DIR]" ;;
esac
