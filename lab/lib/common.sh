# shellcheck shell=bash
# Shared names, paths and helpers for every lab script.
# Everything the lab creates is prefixed with ROOST_LAB_ID so two labs on one
# machine never collide; everything it starts is tracked by a pidfile.

# Settings shared by the sourcing scripts (hence "unused" here).
# shellcheck disable=SC2034
{
LAB_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REPO_DIR="$(cd "$LAB_DIR/.." && pwd)"

LAB_STATE="$(realpath -m "${ROOST_LAB_STATE:-$LAB_DIR/.state}")"
# Short id derived from the state dir (by default inside the checkout): names
# stay short, and two checkouts, or two state dirs, get two separate labs.
ROOST_LAB_ID="${ROOST_LAB_ID:-rl$(printf '%s' "$LAB_STATE" | sha1sum | cut -c1-6)}"
LAB_CACHE="${ROOST_LAB_CACHE:-$HOME/.cache/roost-lab}"
LAB_VENV="${ROOST_LAB_VENV:-$REPO_DIR/.venv}"
LAB_MIRROR_URL_DEBIAN="${ROOST_LAB_DEBIAN_MIRROR:-}"

LAB_LOGS="$LAB_STATE/logs"
LAB_PIDS="$LAB_STATE/pids"

# One network namespace per part; the "net" one holds the bridges and routes.
LAB_PARTS=(ctl vps dns acme dnspod pdns mirror peer relay)
LAB_CONTAINERS=(vps peer relay)

# Addresses: "our" side (the VPS and the controller) and "the internet".
declare -A LAB_ADDR=(
  [ctl]=198.51.100.2 [vps]=198.51.100.10
  [dns]=203.0.113.53 [acme]=203.0.113.14 [dnspod]=203.0.113.15 [pdns]=203.0.113.54
  [mirror]=203.0.113.80 [peer]=203.0.113.25 [relay]=203.0.113.26
)
LAB_GW_OURS=198.51.100.1
LAB_GW_NET=203.0.113.1

# DNS names of the lab, all under the reserved .test TLD.
LAB_DOMAINS=(example.test second.test)
LAB_PEER_DOMAIN=peer.test
# Served by PowerDNS (pdns), for the lexicon DNS provider.
LAB_PDNS_ZONE=third.test
LAB_INFRA_ZONE=lab.test
# A DNS blocklist (RFC 5782) for `roost check`: lists only its test entry, 127.0.0.2.
LAB_DNSBL_ZONE=dnsbl.lab.test
}

ns_name() { printf '%s-%s' "$ROOST_LAB_ID" "$1"; }

log_step() { printf '\033[1m==> %s\033[0m\n' "$*"; }
log_info() { printf '    %s\n' "$*"; }
die() { printf '\033[31mERROR: %s\033[0m\n' "$*" >&2; exit 1; }

# Runs "$@" with its output in $LAB_LOGS/NAME.log; on failure names the part
# and the log, and shows the log's tail so CI output is enough to debug.
run_logged() {
  local name="$1"; shift
  local logf="$LAB_LOGS/$name.log" rc=0
  mkdir -p "$LAB_LOGS"
  # An asynchronous subshell, so errexit stays in force inside the step
  # (bash ignores it in anything tested by if, && or ||).
  ( set -e; "$@" ) >>"$logf" 2>&1 &
  LAB_STEP_PID=$!
  wait "$LAB_STEP_PID" || rc=$?
  LAB_STEP_PID=""
  if ((rc != 0)); then
    printf '\033[31mERROR: step "%s" failed; log: %s\033[0m\n' "$name" "$logf" >&2
    tail -n 25 "$logf" >&2 || true
    return "$rc"
  fi
}

# pidfile format: "PID STARTTIME" where STARTTIME is field 22 of /proc/PID/stat,
# so a recycled pid is never mistaken for ours. Fields are read after the
# last ")" because the command name may contain spaces.
proc_stat_fields() {
  local stat
  stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
  printf '%s\n' "${stat##*) }"
}

proc_starttime() {
  local fields
  fields="$(proc_stat_fields "$1")" || return 0
  awk '{print $20}' <<<"$fields"
}

# Alive: same pid, same start time, and not a zombie waiting to be reaped
# (our processes are reparented once lab-up exits).
pid_alive() {
  local pidfile="$1" pid start fields
  [[ -f "$pidfile" ]] || return 1
  read -r pid start <"$pidfile" || return 1
  [[ -n "$pid" ]] || return 1
  fields="$(proc_stat_fields "$pid")" || return 1
  [[ "${fields%% *}" != Z ]] || return 1
  [[ "$(awk '{print $20}' <<<"$fields")" == "$start" ]]
}

# Starts "$@" in the background inside namespace NS, logging to NAME.log,
# and records its pid. The command must stay in the foreground.
start_bg() {
  local name="$1" ns="$2"; shift 2
  mkdir -p "$LAB_LOGS" "$LAB_PIDS"
  setsid ip netns exec "$(ns_name "$ns")" "$@" </dev/null >>"$LAB_LOGS/$name.log" 2>&1 &
  local pid=$!
  printf '%s %s\n' "$pid" "$(proc_starttime "$pid")" >"$LAB_PIDS/$name.pid"
}

# All descendants of PID (children first found breadth-first).
descendants() {
  local pid="$1" child
  # shellcheck disable=SC2013 # the file is a list of words
  for child in $(cat /proc/"$pid"/task/*/children 2>/dev/null); do
    printf '%s\n' "$child"
    descendants "$child"
  done
}

# Signals the process recorded in NAME.pid (if it is still ours).
signal_pid() {
  local name="$1" sig="$2" pidfile="$LAB_PIDS/$1.pid" pid start
  pid_alive "$pidfile" || return 0
  read -r pid start <"$pidfile"
  kill "-$sig" "$pid" 2>/dev/null || true
}

# Waits up to SECONDS for the process of NAME.pid to end; then SIGKILLs it
# and its descendants (an nspawn container's init, say) if it has not.
reap_pid() {
  local name="$1" wait_s="${2:-10}" pidfile="$LAB_PIDS/$1.pid" pid start i kids k
  if pid_alive "$pidfile"; then
    read -r pid start <"$pidfile"
    kids="$(descendants "$pid")"
    for ((i = 0; i < wait_s * 10; i++)); do
      pid_alive "$pidfile" || break
      sleep 0.1
    done
    if pid_alive "$pidfile"; then
      echo "warning: $name (pid $pid) did not stop within ${wait_s}s; killing it" >&2
      kill -KILL "$pid" 2>/dev/null || true
      for k in $kids; do
        if [[ -d /proc/$k ]]; then kill -KILL "$k" 2>/dev/null || true; fi
      done
    fi
  fi
  rm -f "$pidfile"
}

# Stops the process recorded in NAME.pid: one SIGTERM, then reap_pid. (One
# only: a second SIGTERM makes systemd-nspawn kill its container outright.)
stop_pid() {
  signal_pid "$1" TERM
  reap_pid "$@"
}

# Waits until "$@" succeeds, up to SECONDS.
wait_for() {
  local seconds="$1" what="$2"; shift 2
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then
      printf '\033[31mERROR: timed out after %ss waiting for %s\033[0m\n' "$seconds" "$what" >&2
      return 1
    fi
    sleep 0.2
  done
}

# Like wait_for, for the process started as NAME: if it dies meanwhile, say
# so at once and show the end of its log instead of waiting out the timeout.
wait_service() {
  local name="$1" seconds="$2" what="$3"; shift 3
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    if ! pid_alive "$LAB_PIDS/$name.pid"; then
      printf '\033[31mERROR: %s exited while starting; its log %s ends with:\033[0m\n' \
        "$name" "$LAB_LOGS/$name.log" >&2
      tail -n 15 "$LAB_LOGS/$name.log" >&2 || true
      return 1
    fi
    if ((SECONDS >= deadline)); then
      printf '\033[31mERROR: timed out after %ss waiting for %s; log: %s\033[0m\n' \
        "$seconds" "$what" "$LAB_LOGS/$name.log" >&2
      return 1
    fi
    sleep 0.2
  done
}

in_ns() { local ns="$1"; shift; ip netns exec "$(ns_name "$ns")" "$@"; }

# `ip netns exec` (and so lab/run) puts commands in a private mount namespace
# whose unmounts never reach the host. Mounting and unmounting must happen in
# the host's: re-exec there, through a process the lab started from it (the
# nspawn of a container), when called from inside the lab.
ensure_host_mount_ns() {
  local want pidfile pid start
  [[ -f "$LAB_STATE/mntns" ]] || return 0
  want="$(cat "$LAB_STATE/mntns")"
  [[ "$(readlink /proc/self/ns/mnt)" == "$want" ]] && return 0
  for pidfile in "$LAB_PIDS"/container-*.pid; do
    pid_alive "$pidfile" || continue
    read -r pid start <"$pidfile"
    if [[ "$(readlink "/proc/$pid/ns/mnt")" == "$want" ]]; then
      exec nsenter --target "$pid" --mount --net -- "$@"
    fi
  done
  echo "warning: not in the host's mount namespace and no lab process to reach it through" >&2
}
