# shellcheck shell=bash
# The "acme" CA: Pebble, with its directory at https://acme.lab.test/dir,
# validating DNS-01 by asking the lab's Knot directly. Its issuing root
# (new on every start) is fetched from the management port and published.
# A second Pebble at https://acme.lab.test:14000/dir requires External Account
# Binding (RFC 8555 §7.3.4), as ZeroSSL does; its kid and HMAC key are in
# acme/eab.json.

acme_dir() { printf '%s/acme' "$LAB_STATE"; }

# pebble_config FILE LISTEN MANAGEMENT REQUIRE_EAB [MAC_KEYS_JSON]
pebble_config() {
  local mac_keys="${5:-}"
  [[ -n $mac_keys ]] || mac_keys='{}'
  cat >"$1" <<JSON
{
  "pebble": {
    "listenAddress": "$2",
    "managementListenAddress": "$3",
    "certificate": "$LAB_STATE/ca/acme.crt",
    "privateKey": "$LAB_STATE/ca/acme.key",
    "httpPort": 80,
    "tlsPort": 443,
    "ocspResponderURL": "",
    "externalAccountBindingRequired": $4,
    "externalAccountMACKeys": $mac_keys
  }
}
JSON
}

acme_start() {
  local dir kid hmac
  dir="$(acme_dir)"
  mkdir -p "$dir"
  lab_ca_issue acme acme.lab.test "${LAB_ADDR[acme]}"
  pebble_config "$dir/pebble-config.json" "${LAB_ADDR[acme]}:443" "${LAB_ADDR[acme]}:15000" false
  kid="roost-lab-$(od -An -N4 -tx4 /dev/urandom | tr -d ' ')"
  hmac="$(head -c 32 /dev/urandom | base64 -w0 | tr '+/' '-_' | tr -d '=')"
  (umask 077 && printf '{"directory": "https://acme.lab.test:14000/dir", "kid": "%s", "hmac_key": "%s"}\n' \
    "$kid" "$hmac" >"$dir/eab.json")
  pebble_config "$dir/pebble-eab-config.json" "${LAB_ADDR[acme]}:14000" "${LAB_ADDR[acme]}:15001" \
    true "{\"$kid\": \"$hmac\"}"
  # NOSLEEP: validate at once; NONCEREJECT=0: no random bad-nonce errors.
  start_bg acme acme env PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0 \
    pebble -config "$dir/pebble-config.json" -dnsserver "${LAB_ADDR[dns]}:53"
  start_bg acme-eab acme env PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0 \
    pebble -config "$dir/pebble-eab-config.json" -dnsserver "${LAB_ADDR[dns]}:53"
  wait_service acme 30 "Pebble's directory" \
    in_ns ctl curl -sf --cacert "$LAB_STATE/ca/ca.crt" https://acme.lab.test/dir
  wait_service acme-eab 30 "the EAB Pebble's directory" \
    in_ns ctl curl -sf --cacert "$LAB_STATE/ca/ca.crt" https://acme.lab.test:14000/dir
  in_ns ctl curl -sf --cacert "$LAB_STATE/ca/ca.crt" -o "$dir/pebble-root.pem" \
    https://acme.lab.test:15000/roots/0
  in_ns ctl curl -sf --cacert "$LAB_STATE/ca/ca.crt" -o "$dir/pebble-intermediate.pem" \
    https://acme.lab.test:15000/intermediates/0
}

acme_stop() {
  stop_pid acme-eab
  stop_pid acme
}
