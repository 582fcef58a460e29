# shellcheck shell=bash
# Booted containers (vps, peer, relay): an overlay of a cached image, booted
# by systemd-nspawn with systemd as PID 1, inside the part's own namespace.

container_dir() { printf '%s/containers/%s' "$LAB_STATE" "$1"; }
# The merged root is named "<id>-<part>": nspawn names the machine (and its
# lock and propagation dirs under /run) after it, so labs do not collide.
container_root() { printf '%s/%s-%s' "$(container_dir "$1")" "$ROOST_LAB_ID" "$1"; }

container_mount() {
  local part="$1" image="$2" dir root
  dir="$(container_dir "$part")" root="$(container_root "$part")"
  mkdir -p "$dir/upper" "$dir/work" "$root"
  mount -t overlay "overlay-$ROOST_LAB_ID-$part" \
    -o "lowerdir=$(image_rootfs "$image"),upperdir=$dir/upper,workdir=$dir/work" "$root"
}

# Files every container gets before boot: its name, the lab DNS, the lab CA.
container_seed() {
  local part="$1" fqdn="$2" root
  root="$(container_root "$part")"
  printf '%s\n' "$fqdn" >"$root/etc/hostname"
  # Each VPS gets its own identity, as a provider's fresh machine would.
  python3 -c 'import uuid; print(uuid.uuid4().hex)' >"$root/etc/machine-id"
  printf 'nameserver %s\n' "${LAB_ADDR[dns]}" >"$root/etc/resolv.conf"
  printf '127.0.0.1 localhost\n%s %s %s\n' "${LAB_ADDR[$part]}" "$fqdn" "${fqdn%%.*}" >"$root/etc/hosts"
  mkdir -p "$root/usr/local/share/ca-certificates"
  cp "$LAB_STATE/ca/ca.crt" "$root/usr/local/share/ca-certificates/roost-lab-ca.crt"
  # No unit of a fresh image should wait for a network it cannot configure.
  ln -sf /dev/null "$root/etc/systemd/system/systemd-networkd-wait-online.service"
  # Only the VPS is reached over SSH (and only it gets host keys).
  [[ "$part" == vps ]] || ln -sf /dev/null "$root/etc/systemd/system/ssh.service"
}

container_boot() {
  local part="$1" root caps=()
  root="$(container_root "$part")"
  # The VPS loads its own firewall (role base), as root on a real VPS can; the capability
  # reaches only the VPS's own network namespace.
  [[ "$part" == vps ]] && caps=(--capability=CAP_NET_ADMIN)
  mkdir -p "$LAB_LOGS" "$LAB_PIDS" "$LAB_STATE/cgroups"
  setsid "$LAB_DIR/lib/cgroup-exec" "$LAB_STATE/cgroups/$part.list" "roost-lab-$ROOST_LAB_ID-$part" \
    systemd-nspawn -D "$root" --boot --register=no --keep-unit \
    --network-namespace-path="/run/netns/$(ns_name "$part")" \
    --hostname="$(cat "$root/etc/hostname")" --resolv-conf=off --timezone=off \
    --link-journal=no --console=read-only "${caps[@]}" \
    </dev/null >>"$LAB_LOGS/container-$part.log" 2>&1 &
  local pid=$!
  printf '%s %s\n' "$pid" "$(proc_starttime "$pid")" >"$LAB_PIDS/container-$part.pid"
}

# PID (in the host's view) of the container's systemd: the process whose
# parent is our nspawn and that runs /sbin/init or systemd.
container_init_pid() {
  local part="$1" pid child
  pid_alive "$LAB_PIDS/container-$part.pid" || return 1
  read -r pid _ <"$LAB_PIDS/container-$part.pid"
  for child in $(descendants "$pid"); do
    if [[ "$(cat /proc/"$child"/comm 2>/dev/null)" == systemd ]]; then
      printf '%s\n' "$child"
      return 0
    fi
  done
  return 1
}

# Runs a command inside the container's namespaces and root, as root.
container_exec() {
  local part="$1" init; shift
  init="$(container_init_pid "$part")" || { echo "container $part is not running" >&2; return 1; }
  nsenter --target "$init" --mount --uts --ipc --net --pid --cgroup --root --wd -- "$@"
}

# Waits until the container's systemd says "running". "degraded" fails at
# once, naming the failed units and their last log lines.
container_wait_booted() {
  local part="$1" seconds="$2" state deadline=$((SECONDS + $2))
  while ((SECONDS < deadline)); do
    state="$(container_exec "$part" systemctl is-system-running 2>/dev/null || true)"
    case "$state" in
      running) return 0 ;;
      degraded)
        echo "ERROR: $part booted degraded; failed units:" >&2
        container_exec "$part" systemctl --failed --no-legend --plain >&2 || true
        container_exec "$part" journalctl -b --no-pager -n 30 -p warning >&2 || true
        return 1 ;;
    esac
    sleep 0.3
  done
  echo "ERROR: $part did not finish booting within ${seconds}s (state: ${state:-unknown})" >&2
  return 1
}

container_stop() {
  stop_pid "container-$1" 20
}

# Powers off every container at once, then waits for each.
containers_stop_all() {
  local part
  for part in "${LAB_CONTAINERS[@]}"; do
    signal_pid "container-$part" TERM
  done
  for part in "${LAB_CONTAINERS[@]}"; do
    reap_pid "container-$part" 20
  done
}

# Removes the container's cgroups (deepest first), once nothing runs in them.
container_remove_cgroups() {
  local list="$LAB_STATE/cgroups/$1.list" dir
  [[ -f "$list" ]] || return 0
  while read -r dir; do
    [[ -d "$dir" ]] && find "$dir" -depth -type d -exec rmdir {} \; 2>/dev/null
  done <"$list"
  rm -f "$list"
}

container_unmount() {
  local part="$1" root
  root="$(container_root "$part")"
  if mountpoint -q "$root" 2>/dev/null; then
    umount "$root" || umount -l "$root"
  fi
}
