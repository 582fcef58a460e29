# shellcheck shell=bash
# The "peer": Postfix + OpenDKIM + OpenDMARC + policyd-spf in its own booted
# container, with the domain peer.test and one Maildir per recipient.

peer_keys() {
  mkdir -p "$LAB_STATE/peer"
  lab_py -m roostlab.dkimkey "$LAB_STATE/peer/dkim.private" "$LAB_STATE/peer/dkim.txt"
  lab_ca_issue peer mx.peer.test "${LAB_ADDR[peer]}"
  lab_ca_issue peer-mta-sts mta-sts.peer.test
}

# peer.test enforces MTA-STS (RFC 8461) and asks for TLS reports (RFC 8460),
# so a sender's MTA-STS handling meets a real policy. The policy host is a
# small HTTPS server in the peer's namespace, beside its Postfix.
peer_mta_sts_start() {
  local dir="$LAB_STATE/peer/mta-sts"
  mkdir -p "$dir/.well-known"
  printf 'version: STSv1\r\nmode: enforce\r\nmx: mx.peer.test\r\nmax_age: 86400\r\n' \
    >"$dir/.well-known/mta-sts.txt"
  start_bg peer-mta-sts peer env PYTHONPATH="$LAB_DIR" "$LAB_VENV/bin/python" -m roostlab.https_static "${LAB_ADDR[peer]}" 443 \
    "$LAB_STATE/ca/peer-mta-sts.crt" "$LAB_STATE/ca/peer-mta-sts.key" "$dir"
  wait_service peer-mta-sts 20 "the peer's MTA-STS policy host" in_ns ctl curl -sf \
    --cacert "$LAB_STATE/ca/ca.crt" https://mta-sts.peer.test/.well-known/mta-sts.txt
}

# Substitutes the lab's addresses into a config template.
lab_template() {
  sed -e "s/@PEER_ADDR@/${LAB_ADDR[peer]}/g" -e "s/@CTL_ADDR@/${LAB_ADDR[ctl]}/g" \
    -e "s/@RELAY_ADDR@/${LAB_ADDR[relay]}/g" -e "s/@DNS_ADDR@/${LAB_ADDR[dns]}/g" "$1"
}

peer_prepare() {
  local root conf="$LAB_DIR/conf/peer"
  container_mount peer infra
  container_seed peer mx.peer.test
  root="$(container_root peer)"
  lab_template "$conf/main.cf" >"$root/etc/postfix/main.cf"
  cat "$conf/master-extra.cf" >>"$root/etc/postfix/master.cf"
  cp "$conf/vmailbox" "$root/etc/postfix/vmailbox"
  install -m 0644 "$LAB_STATE/ca/peer.crt" "$root/etc/postfix/tls.crt"
  install -m 0600 "$LAB_STATE/ca/peer.key" "$root/etc/postfix/tls.key"
  cp "$conf/policyd-spf.conf" "$root/etc/postfix-policyd-spf-python/policyd-spf.conf"
  lab_template "$conf/opendkim.conf" >"$root/etc/opendkim.conf"
  mkdir -p "$root/etc/opendkim"
  install -m 0600 "$LAB_STATE/peer/dkim.private" "$root/etc/opendkim/lab.private"
  lab_template "$conf/opendkim-unbound.conf" >"$root/etc/opendkim/unbound.conf"
  lab_template "$conf/opendmarc.conf" >"$root/etc/opendmarc.conf"
  mkdir -p "$root/etc/opendmarc"
  printf '127.0.0.1\n%s\n%s\n' "${LAB_ADDR[peer]}" "${LAB_ADDR[ctl]}" >"$root/etc/opendmarc/ignore.hosts"
  mkdir -p "$root/var/mail/vhosts/peer.test"
  chown -R 5000:5000 "$root/var/mail/vhosts"
  # The key must belong to the opendkim user of the image, whatever its uid.
  container_chown_in peer opendkim "$root/etc/opendkim/lab.private"
}

# chown to a user of the container's own /etc/passwd (uids differ from the host's).
container_chown_in() {
  local part="$1" user="$2" file="$3" root uid gid
  root="$(container_root "$part")"
  uid="$(awk -F: -v u="$user" '$1==u {print $3}' "$root/etc/passwd")"
  gid="$(awk -F: -v u="$user" '$1==u {print $4}' "$root/etc/passwd")"
  chown "$uid:$gid" "$file"
}

peer_maildir() { printf '%s/var/mail/vhosts/peer.test' "$(container_root peer)"; }

peer_mask_unused() {
  ln -sf /dev/null "$(container_root peer)/etc/systemd/system/dovecot.service"
}
