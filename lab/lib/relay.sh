# shellcheck shell=bash
# The "relay": a smarthost (Postfix, Dovecot as its SASL server) relaying for
# authenticated clients on 465 (implicit TLS), 587 and 2525 (STARTTLS).

relay_keys() {
  mkdir -p "$LAB_STATE/relay"
  lab_ca_issue relay relay.lab.test "${LAB_ADDR[relay]}"
  local password
  password="$(lab_random 24)"
  ( umask 077
    printf '{"host": "relay.lab.test", "address": "%s", "ports": [465, 587, 2525], "username": "roost", "password": "%s"}\n' \
      "${LAB_ADDR[relay]}" "$password" >"$LAB_STATE/relay/credentials.json"
    printf 'roost:{PLAIN}%s\n' "$password" >"$LAB_STATE/relay/users" )
}

relay_prepare() {
  local root conf="$LAB_DIR/conf/relay"
  container_mount relay infra
  container_seed relay relay.lab.test
  root="$(container_root relay)"
  lab_template "$conf/main.cf" >"$root/etc/postfix/main.cf"
  # No port 25 here: the relay only takes authenticated submissions.
  sed -i 's/^smtp      inet/#&/' "$root/etc/postfix/master.cf"
  cat "$conf/master-extra.cf" >>"$root/etc/postfix/master.cf"
  install -m 0644 "$LAB_STATE/ca/relay.crt" "$root/etc/postfix/tls.crt"
  install -m 0600 "$LAB_STATE/ca/relay.key" "$root/etc/postfix/tls.key"
  cp "$conf/dovecot.conf" "$root/etc/dovecot/dovecot.conf"
  install -m 0640 "$LAB_STATE/relay/users" "$root/etc/dovecot/relay-users"
  container_chown_in relay dovecot "$root/etc/dovecot/relay-users"
  # Postfix's SASL socket comes from Dovecot: start it first.
  mkdir -p "$root/etc/systemd/system/postfix@-.service.d"
  printf '[Unit]\nWants=dovecot.service\nAfter=dovecot.service\n' \
    >"$root/etc/systemd/system/postfix@-.service.d/roost-lab.conf"
  # The milters of the image are the peer's business.
  ln -sf /dev/null "$root/etc/systemd/system/opendkim.service"
  ln -sf /dev/null "$root/etc/systemd/system/opendmarc.service"
}
