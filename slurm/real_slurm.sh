#!/usr/bin/env bash
# A real single-node Slurm for tests: munge, slurmctld and slurmd from Debian,
# all state under one directory, one node with 8 "GPUs" declared on plain files.
#
#   slurm/real_slurm.sh start DIR    install if needed, write the configuration,
#                                    start the daemons, wait until the node is idle
#   slurm/real_slurm.sh stop DIR     stop what `start` started, by process id
#   slurm/real_slurm.sh env DIR      print the environment clients need
#                                    (SLURM_CONF=DIR/slurm.conf)
#
# Runs as root (CI does). The settings are those REFERENCE.md lists as working
# on these machines: ProctrackType=proctrack/linuxproc, TaskPlugin=task/none,
# SelectType=select/cons_tres, gres.conf File= entries on plain files (without
# File= slurmd reports 0 GPUs and the node is drained as INVALID_REG).
# Scheduling: sched/backfill with a one-second interval and resolution, so a
# time-compressed workload (seconds instead of minutes) is scheduled as a
# full-size one would be. Accounting: no slurmdbd; the job completion log
# (jobcomp/filetxt) is what `sacct --completion` reads.
# Everything lives in DIR (munge key and socket, spool, state, logs, pid
# files); nothing is written to /etc, and other Slurm or munge daemons on the
# machine are left alone (own ports, own munge socket).
set -euo pipefail

usage() {
  echo "usage: $0 start|stop|env DIR" >&2
  exit 2
}
(($# == 2)) || usage
action=$1
dir=$(realpath -m "$2")

# Ports outside Slurm's defaults (6817/6818) so a site's own Slurm is not disturbed.
ctld_port=${FLOTILLA_SLURMCTLD_PORT:-16817}
slurmd_port=${FLOTILLA_SLURMD_PORT:-16818}
node=gpu01
gpus=8
cpus=64  # more than the machine has: SlurmdParameters=config_overrides lets sleep jobs share

install_packages() {
  local missing=()
  for p in slurmctld slurmd slurm-client munge; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  ((${#missing[@]})) || return 0
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  for p in "${missing[@]}"; do
    if ! apt-cache policy "$p" | grep -q 'Candidate: [0-9]'; then
      echo "real_slurm: Debian package $p is not available from apt" >&2
      exit 1
    fi
  done
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

write_config() {
  mkdir -p "$dir"/{state,spool,log,dev,munge}
  chmod 0700 "$dir/munge"
  for ((i = 0; i < gpus; ++i)); do : >"$dir/dev/nvidia$i"; done
  local host
  host=$(hostname -s)
  cat >"$dir/slurm.conf" <<EOF
# Written by slurm/real_slurm.sh for flotilla's tests.
ClusterName=flotillatest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$dir/munge/munge.socket
CredType=cred/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SlurmdParameters=config_overrides
GresTypes=gpu
SchedulerType=sched/backfill
SchedulerParameters=bf_interval=1,bf_resolution=1,bf_continue,sched_min_interval=0
PriorityType=priority/basic
ReturnToService=2
MinJobAge=600
MaxJobCount=100000
KillWait=1
InactiveLimit=0
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$dir/jobcomp.log
JobAcctGatherType=jobacct_gather/none
MailProg=/bin/true
NodeName=$node NodeHostname=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=1000 Gres=gpu:h100:$gpus State=UNKNOWN
PartitionName=gpu Nodes=$node Default=YES MaxTime=INFINITE State=UP
EOF
  cat >"$dir/gres.conf" <<EOF
NodeName=$node Name=gpu Type=h100 File=$dir/dev/nvidia[0-$((gpus - 1))]
EOF
}

pid_alive() { [[ -f $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

start() {
  install_packages
  write_config
  if [[ ! -f $dir/munge/munge.key ]]; then
    mungekey --create --keyfile="$dir/munge/munge.key" >/dev/null
  fi
  chmod 0600 "$dir/munge/munge.key"
  if ! pid_alive "$dir/munge/munged.pid"; then
    munged --force --key-file="$dir/munge/munge.key" --socket="$dir/munge/munge.socket" \
      --pid-file="$dir/munge/munged.pid" --log-file="$dir/log/munged.log" \
      --seed-file="$dir/munge/munged.seed"
  fi
  export SLURM_CONF=$dir/slurm.conf
  # -c: start from a clean state (no jobs from an earlier run); job ids start
  # again at 1, so the completion log of an earlier run goes too.
  if ! pid_alive "$dir/slurmctld.pid"; then
    rm -f "$dir/jobcomp.log"
    slurmctld -c
  fi
  pid_alive "$dir/slurmd.pid" || slurmd -N "$node"
  local state=""
  for ((i = 0; i < 120; ++i)); do
    state=$(timeout 5 sinfo -h -n "$node" -o "%T" 2>/dev/null || true)
    if [[ $state == idle ]]; then
      echo "real_slurm: $node idle with $gpus GPUs (SLURM_CONF=$SLURM_CONF)"
      return 0
    fi
    sleep 0.5
  done
  echo "real_slurm: $node not idle after 60 s (state '$state'); see $dir/log" >&2
  tail -n 5 "$dir/log/slurmctld.log" "$dir/log/slurmd.log" >&2 || true
  exit 1
}

# Stops one daemon by the pid its pid file holds; waits for it to go.
stop_pid() {
  local file=$1
  [[ -f $file ]] || return 0
  local pid
  pid=$(cat "$file")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    for ((i = 0; i < 100; ++i)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
  fi
  rm -f "$file"
}

stop() {
  stop_pid "$dir/slurmd.pid"
  stop_pid "$dir/slurmctld.pid"
  stop_pid "$dir/munge/munged.pid"
}

case $action in
start) start ;;
stop) stop ;;
env) echo "SLURM_CONF=$dir/slurm.conf" ;;
*) usage ;;
esac
