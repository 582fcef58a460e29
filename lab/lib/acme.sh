# shellcheck shell=bash
# The "acme" CA: Pebble, with its directory at https://acme.lab.test/dir,
# validating DNS-01 by asking the lab's Knot directly. Its issuing root
# (new on every start) is fetched from the management port and published.

acme_dir() { printf '%s/acme' "$LAB_STATE"; }

acme_start() {
  local dir
  dir="$(acme_dir)"
  mkdir -p "$dir"
  lab_ca_issue acme acme.lab.test "${LAB_ADDR[acme]}"
  cat >"$dir/pebble-config.json" <<JSON
{
  "pebble": {
    "listenAddress": "${LAB_ADDR[acme]}:443",
    "managementListenAddress": "${LAB_ADDR[acme]}:15000",
    "certificate": "$LAB_STATE/ca/acme.crt",
    "privateKey": "$LAB_STATE/ca/acme.key",
    "httpPort": 80,
    "tlsPort": 443,
    "ocspResponderURL": "",
    "externalAccountBindingRequired": false
  }
}
JSON
  # NOSLEEP: validate at once; NONCEREJECT=0: no random bad-nonce errors.
  start_bg acme acme env PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0 \
    pebble -config "$dir/pebble-config.json" -dnsserver "${LAB_ADDR[dns]}:53"
  wait_service acme 30 "Pebble's directory" \
    in_ns ctl curl -sf --cacert "$LAB_STATE/ca/ca.crt" https://acme.lab.test/dir
  in_ns ctl curl -sf --cacert "$LAB_STATE/ca/ca.crt" -o "$dir/pebble-root.pem" \
    https://acme.lab.test:15000/roots/0
  in_ns ctl curl -sf --cacert "$LAB_STATE/ca/ca.crt" -o "$dir/pebble-intermediate.pem" \
    https://acme.lab.test:15000/intermediates/0
}

acme_stop() { stop_pid acme; }
