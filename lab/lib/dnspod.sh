# shellcheck shell=bash
# The "dnspod" stand-in (roostlab.dnspod) at https://dnspod.lab.test/, owning
# our two domains and writing every accepted change into Knot.

dnspod_dir() { printf '%s/dnspod' "$LAB_STATE"; }

dnspod_start() {
  local dir
  dir="$(dnspod_dir)"
  mkdir -p "$dir"
  lab_ca_issue dnspod dnspod.lab.test "${LAB_ADDR[dnspod]}"
  ( umask 077
    printf '{"SecretId": "AKIDroostlab%s", "SecretKey": "%s", "Endpoint": "dnspod.lab.test"}\n' \
      "$(lab_random 20)" "$(lab_random 32)" >"$dir/credentials.json" )
  cat >"$dir/config.json" <<JSON
{
  "listen": "${LAB_ADDR[dnspod]}",
  "port": 443,
  "cert": "$LAB_STATE/ca/dnspod.crt",
  "key": "$LAB_STATE/ca/dnspod.key",
  "credentials": "$dir/credentials.json",
  "tsig": "$LAB_STATE/dns/tsig.json",
  "state": "$dir",
  "domains": [$(printf '"%s",' "${LAB_DOMAINS[@]}" | sed 's/,$//')]
}
JSON
  start_bg dnspod dnspod env PYTHONPATH="$LAB_DIR" "$LAB_VENV/bin/python" -m roostlab.dnspod.server "$dir/config.json"
  wait_service dnspod 20 "the DNSPod stand-in" \
    in_ns ctl curl -sf --cacert "$LAB_STATE/ca/ca.crt" https://dnspod.lab.test/
}

dnspod_stop() { stop_pid dnspod; }
