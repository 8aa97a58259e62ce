#!/usr/bin/env bash
# A real Slurm for tests: munge, slurmctld and slurmd from Debian, all state
# under one directory, nodes with 8 "GPUs" each declared on plain files.
#
#   slurm/real_slurm.sh start DIR [NODES]
#                                    install if needed, write the configuration,
#                                    start the daemons, wait until the nodes are idle
#   slurm/real_slurm.sh stop DIR     stop what `start` started, by process id
#   slurm/real_slurm.sh env DIR      print the environment clients need
#                                    (SLURM_CONF=DIR/slurm.conf)
#
# One node (the default): slurmd on this machine's loopback, as node gpu01.
# NODES > 1: nodes gpu01..gpuNN are separate hosts, each slurmd in its own
# network namespace (flotilla-gpuNN, address 10.77.0.(10+N) on the bridge
# flotilla-br0, the controller at 10.77.0.1) and UTS namespace (hostname
# gpuNN); `stop` removes the namespaces and the bridge again. One such
# cluster per machine (the names and the subnet are fixed).
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
  echo "usage: $0 start DIR [NODES] | stop DIR | env DIR" >&2
  exit 2
}
(($# == 2)) || [[ $# == 3 && $1 == start ]] || usage
action=$1
dir=$(realpath -m "$2")
nodes=${3:-1}
[[ $nodes =~ ^[1-9][0-9]?$ ]] || usage

# Ports outside Slurm's defaults (6817/6818) so a site's own Slurm is not disturbed.
ctld_port=${FLOTILLA_SLURMCTLD_PORT:-16817}
slurmd_port=${FLOTILLA_SLURMD_PORT:-16818}
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

bridge=flotilla-br0
ctld_netns_addr=10.77.0.1

node_name() { printf 'gpu%02d' "$1"; }
node_addr() { echo "10.77.0.$((10 + $1))"; }

write_config() {
  mkdir -p "$dir"/{state,spool,log,dev,munge}
  chmod 0700 "$dir/munge"
  for ((i = 0; i < gpus; ++i)); do : >"$dir/dev/nvidia$i"; done
  local host ctld_addr=127.0.0.1 hostlist per_node=""
  host=$(hostname -s)
  hostlist=$(node_name 1)
  if ((nodes > 1)); then
    hostlist=$(printf 'gpu[01-%02d]' "$nodes")
    ctld_addr=$ctld_netns_addr
    # Several slurmd need a spool, pid and log file each (%n: the node name).
    per_node="-%n"
  fi
  cat >"$dir/slurm.conf" <<EOF
# Written by slurm/real_slurm.sh for flotilla's tests.
ClusterName=flotillatest
SlurmctldHost=$host($ctld_addr)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$dir/munge/munge.socket
CredType=cred/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool${per_node:+/%n}
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd$per_node.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd$per_node.log
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
EOF
  local gres="RealMemory=1000 Gres=gpu:h100:$gpus State=UNKNOWN"
  if ((nodes == 1)); then
    echo "NodeName=$hostlist NodeHostname=$host NodeAddr=127.0.0.1 CPUs=$cpus $gres" >>"$dir/slurm.conf"
  else
    for ((n = 1; n <= nodes; ++n)); do
      echo "NodeName=$(node_name $n) NodeAddr=$(node_addr $n) CPUs=$cpus $gres" >>"$dir/slurm.conf"
      mkdir -p "$dir/spool/$(node_name $n)"
    done
  fi
  echo "PartitionName=gpu Nodes=$hostlist Default=YES MaxTime=INFINITE State=UP" >>"$dir/slurm.conf"
  echo "NodeName=$hostlist Name=gpu Type=h100 File=$dir/dev/nvidia[0-$((gpus - 1))]" >"$dir/gres.conf"
}

# The hosts of a multi-node cluster: a bridge in this namespace holding the
# controller's address, and per node a network namespace joined to it by a
# veth pair. Written down in DIR/netns so that `stop` removes exactly these.
make_hosts() {
  if ! ip link show "$bridge" >/dev/null 2>&1; then
    ip link add "$bridge" type bridge
    echo "bridge $bridge" >>"$dir/netns"
  fi
  ip addr replace "$ctld_netns_addr/24" dev "$bridge"
  ip link set "$bridge" up
  local n name ns
  for ((n = 1; n <= nodes; ++n)); do
    name=$(node_name $n) ns=flotilla-$(node_name $n)
    [[ -e /run/netns/$ns ]] && continue
    ip netns add "$ns"
    echo "netns $ns" >>"$dir/netns"
    ip link add "flt-$name" type veth peer name "flt-$name-n"
    ip link set "flt-$name" master "$bridge" up
    ip link set "flt-$name-n" netns "$ns"
    ip -n "$ns" link set "flt-$name-n" name eth0
    ip -n "$ns" addr add "$(node_addr $n)/24" dev eth0
    ip -n "$ns" link set eth0 up
    ip -n "$ns" link set lo up
  done
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
  ((nodes == 1)) || make_hosts
  # -c: start from a clean state (no jobs from an earlier run); job ids start
  # again at 1, so the completion log of an earlier run goes too.
  if ! pid_alive "$dir/slurmctld.pid"; then
    rm -f "$dir/jobcomp.log"
    slurmctld -c
  fi
  if ((nodes == 1)); then
    pid_alive "$dir/slurmd.pid" || slurmd -N "$(node_name 1)"
  else
    local n name
    for ((n = 1; n <= nodes; ++n)); do
      name=$(node_name $n)
      pid_alive "$dir/slurmd-$name.pid" && continue
      # nsenter, not `ip netns exec`: that remounts /sys, which hides
      # /sys/fs/cgroup, and slurmd then fails to start its cgroup plugin.
      nsenter --net="/run/netns/flotilla-$name" unshare --uts \
        sh -c "hostname $name && exec slurmd -N $name"
    done
  fi
  local state=""
  for ((i = 0; i < 120; ++i)); do
    state=$(timeout 5 sinfo -h -o "%D %T" 2>/dev/null || true)
    if [[ $state == "$nodes idle" ]]; then
      echo "real_slurm: $nodes node(s) idle with $gpus GPUs each (SLURM_CONF=$SLURM_CONF)"
      return 0
    fi
    sleep 0.5
  done
  echo "real_slurm: nodes not idle after 60 s (sinfo: '$state'); see $dir/log" >&2
  tail -n 5 "$dir"/log/slurm*.log >&2 || true
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
  local file kind name
  for file in "$dir"/slurmd*.pid; do stop_pid "$file"; done
  stop_pid "$dir/slurmctld.pid"
  stop_pid "$dir/munge/munged.pid"
  [[ -f $dir/netns ]] || return 0
  # Deleting a namespace deletes its end of the veth pair, and so the pair.
  while read -r kind name; do
    case $kind in
    netns) ip netns delete "$name" ;;
    bridge) ip link delete "$name" ;;
    esac
  done <"$dir/netns"
  rm -f "$dir/netns"
}

case $action in
start) start ;;
stop) stop ;;
env) echo "SLURM_CONF=$dir/slurm.conf" ;;
*) usage ;;
esac
