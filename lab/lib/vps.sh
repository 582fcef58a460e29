# shellcheck shell=bash
# The "vps": the fresh Debian 12 that site.yml provisions. systemd, sshd,
# python3 and nothing else; root logs in with the lab's key; apt points at
# the lab mirror; the lab CA is placed where ca-certificates will pick it up.

vps_keys() {
  local ssh="$LAB_STATE/ssh"
  mkdir -p "$ssh" && chmod 700 "$ssh"
  ssh-keygen -q -t ed25519 -N '' -C "roost-lab-$ROOST_LAB_ID" -f "$ssh/id_ed25519"
  ssh-keygen -q -t ed25519 -N '' -C "vps-hostkey" -f "$ssh/vps_host_ed25519_key"
  printf '%s %s\n' "${LAB_ADDR[vps]},vps.lab.test" "$(cut -d' ' -f1,2 "$ssh/vps_host_ed25519_key.pub")" \
    >"$ssh/known_hosts"
  cat >"$ssh/config" <<SSH
Host vps vps.lab.test ${LAB_ADDR[vps]}
  HostName ${LAB_ADDR[vps]}
  User root
  IdentityFile $ssh/id_ed25519
  IdentitiesOnly yes
  UserKnownHostsFile $ssh/known_hosts
  StrictHostKeyChecking yes
  ConnectTimeout 5
SSH
}

vps_prepare() {
  local root ssh="$LAB_STATE/ssh"
  container_mount vps base
  container_seed vps vps.lab.test
  root="$(container_root vps)"
  install -m 0600 "$ssh/id_ed25519.pub" "$root/root/.ssh/authorized_keys"
  install -m 0600 "$ssh/vps_host_ed25519_key" "$root/etc/ssh/ssh_host_ed25519_key"
  install -m 0644 "$ssh/vps_host_ed25519_key.pub" "$root/etc/ssh/ssh_host_ed25519_key.pub"
  printf 'HostKey /etc/ssh/ssh_host_ed25519_key\n' >"$root/etc/ssh/sshd_config.d/roost-lab-hostkey.conf"
  # The VPS has no internet: its only package source is the lab mirror.
  rm -f "$root/etc/apt/sources.list" "$root"/etc/apt/sources.list.d/*
  printf 'deb [trusted=yes] http://mirror.lab.test/debian ./\n' >"$root/etc/apt/sources.list.d/roost-lab.list"
  mkdir -p "$root/etc/pip"
  printf '[global]\nindex-url = http://mirror.lab.test/simple/\ntrusted-host = mirror.lab.test\n' \
    >"$root/etc/pip.conf"
}

vps_ssh() {
  ssh -F "$LAB_STATE/ssh/config" -o BatchMode=yes vps "$@"
}

vps_is_up() { in_ns ctl ssh -F "$LAB_STATE/ssh/config" -o BatchMode=yes vps systemctl is-system-running | grep -Eq 'running|degraded'; }
