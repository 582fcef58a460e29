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
  local part="$1" root
  root="$(container_root "$part")"
  mkdir -p "$LAB_LOGS" "$LAB_PIDS"
  setsid systemd-nspawn -D "$root" --boot --register=no --keep-unit \
    --network-namespace-path="/run/netns/$(ns_name "$part")" \
    --hostname="$(cat "$root/etc/hostname")" --resolv-conf=off --timezone=off \
    --link-journal=no --console=read-only \
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

container_is_up() {
  local state
  state="$(container_exec "$1" systemctl is-system-running 2>/dev/null || true)"
  [[ "$state" == running || "$state" == degraded ]]
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

container_unmount() {
  local part="$1" root
  root="$(container_root "$part")"
  if mountpoint -q "$root" 2>/dev/null; then
    umount "$root" || umount -l "$root"
  fi
}
