# shellcheck shell=bash
# Root filesystem images, built once with debootstrap and cached as tarballs
# under $LAB_CACHE. Each is extracted once into the cache and used read-only
# as the lower layer of an overlay per container, so a warm lab-up copies nothing.

LAB_SUITE=bookworm
# What LAB.md calls the fresh VPS: systemd, sshd, python3, nothing else.
LAB_BASE_PACKAGES=systemd,systemd-sysv,dbus,openssh-server,python3,iproute2
# What peer and relay need on top of the base.
LAB_INFRA_PACKAGES=(postfix opendkim opendkim-tools opendmarc postfix-policyd-spf-python
  dovecot-core libsasl2-modules ca-certificates swaks)
# Bump when the recipe changes so stale caches are rebuilt, not reused.
LAB_IMAGE_VERSION=1

# The Debian mirror apt already uses on this host (the lab itself has no internet).
debian_mirror() {
  if [[ -n "$LAB_MIRROR_URL_DEBIAN" ]]; then printf '%s\n' "$LAB_MIRROR_URL_DEBIAN"; return; fi
  local url
  url="$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null |
    awk '/^URIs:/{u=$2} /^Suites:/{ if ($0 ~ /'"$LAB_SUITE"'( |$)/ && u !~ /security/) {print u; exit} }')"
  [[ -n "$url" ]] || url="$(awk '$1=="deb" && $3=="'"$LAB_SUITE"'" {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)"
  printf '%s\n' "${url:-http://deb.debian.org/debian}"
}

image_tarball() { printf '%s/%s-v%s.tar' "$LAB_CACHE" "$1" "$LAB_IMAGE_VERSION"; }
image_rootfs() { printf '%s/%s-v%s.rootfs' "$LAB_CACHE" "$1" "$LAB_IMAGE_VERSION"; }

build_base_tarball() {
  local tarball="$1" tmp
  mkdir -p "$LAB_CACHE/debs"
  tmp="$(mktemp -d "$LAB_CACHE/build-base.XXXXXX")"
  debootstrap --variant=minbase --include="$LAB_BASE_PACKAGES" \
    --cache-dir="$LAB_CACHE/debs" "$LAB_SUITE" "$tmp/root" "$(debian_mirror)"
  finish_rootfs "$tmp/root"
  tar -C "$tmp/root" --numeric-owner -cf "$tarball.part" . && mv "$tarball.part" "$tarball"
  rm -rf "$tmp"
}

# Settings every container image shares: no stale machine id, root may log
# in with a key only, no services wait for a network the lab configures itself.
finish_rootfs() {
  local root="$1"
  : >"$root/etc/machine-id"
  rm -f "$root"/etc/ssh/ssh_host_*
  mkdir -p "$root/root/.ssh" && chmod 700 "$root/root/.ssh"
  printf 'PermitRootLogin prohibit-password\nPasswordAuthentication no\nUseDNS no\n' \
    >"$root/etc/ssh/sshd_config.d/roost-lab.conf"
  rm -f "$root/etc/resolv.conf"
  apt_get_in "$root" clean || true
}

apt_get_in() {
  local root="$1"; shift
  systemd-nspawn -q -D "$root" --register=no --keep-unit -E DEBIAN_FRONTEND=noninteractive \
    --resolv-conf=replace-host apt-get "$@"
}

# The peer/relay image: the base plus Postfix and its milters, built from the
# base rootfs with apt inside the image (services are kept from starting).
build_infra_tarball() {
  local tarball="$1" tmp
  tmp="$(mktemp -d "$LAB_CACHE/build-infra.XXXXXX")"
  mkdir "$tmp/root"
  tar -C "$tmp/root" -xf "$(image_tarball base)"
  printf '#!/bin/sh\nexit 101\n' >"$tmp/root/usr/sbin/policy-rc.d"
  chmod +x "$tmp/root/usr/sbin/policy-rc.d"
  printf '%s\n' 'postfix postfix/main_mailer_type select No configuration' \
    'opendmarc opendmarc/dbconfig-install boolean false' >"$tmp/root/tmp/preseed"
  systemd-nspawn -q -D "$tmp/root" --register=no --keep-unit debconf-set-selections /tmp/preseed
  apt_get_in "$tmp/root" update
  apt_get_in "$tmp/root" install -y --no-install-recommends "${LAB_INFRA_PACKAGES[@]}"
  rm -f "$tmp/root/usr/sbin/policy-rc.d" "$tmp/root/tmp/preseed"
  rm -rf "$tmp/root/var/lib/apt/lists/"*
  finish_rootfs "$tmp/root"
  tar -C "$tmp/root" --numeric-owner -cf "$tarball.part" . && mv "$tarball.part" "$tarball"
  rm -rf "$tmp"
}

# Two labs starting at once share the cache: one builds, the other waits.
# The lock is released when the (sub)shell holding it exits.
cache_lock() {
  mkdir -p "$LAB_CACHE"
  exec {LAB_CACHE_LOCK_FD}>"$LAB_CACHE/.lock"
  flock "$LAB_CACHE_LOCK_FD"
}

# Makes sure image NAME (base|infra) exists as a tarball and an extracted
# rootfs in the cache; prints the rootfs path.
ensure_image() {
  local name="$1" tarball rootfs
  tarball="$(image_tarball "$name")" rootfs="$(image_rootfs "$name")"
  cache_lock
  if [[ ! -f "$tarball" ]]; then
    "build_${name}_tarball" "$tarball"
  fi
  if [[ ! -f "$rootfs/.complete" ]]; then
    rm -rf "$rootfs" "$rootfs.part"
    mkdir -p "$rootfs.part"
    tar -C "$rootfs.part" --numeric-owner -xf "$tarball"
    touch "$rootfs.part/.complete"
    mv "$rootfs.part" "$rootfs"
  fi
}
