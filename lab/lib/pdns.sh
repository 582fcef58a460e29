# shellcheck shell=bash
# "pdns": a PowerDNS authoritative server (SQLite backend) with its HTTP API, serving
# the third lab domain, third.test, for Roost's `lexicon` DNS provider (dns-lexicon's
# powerdns provider). The zone is made through the API, so every change made through
# it bumps the SOA serial; each API request is one line of $LAB_LOGS/pdns.log.

pdns_dir() { printf '%s/pdns' "$LAB_STATE"; }

PDNS_SCHEMA=/usr/share/doc/pdns-backend-sqlite3/schema.sqlite3.sql
PDNS_API_PORT=8081

pdns_api() {  # pdns_api METHOD PATH [JSON]: one call to the API, from the controller
  local key
  key="$(cat "$(pdns_dir)/api.key")"
  in_ns ctl curl -sf -X "$1" -H "X-API-Key: $key" -H 'Content-Type: application/json' \
    ${3:+--data "$3"} "http://${LAB_ADDR[pdns]}:$PDNS_API_PORT/api/v1/servers/localhost$2"
}

pdns_start() {
  local dir
  dir="$(pdns_dir)"
  mkdir -p "$dir"
  [[ -f "$PDNS_SCHEMA" ]] || die "$PDNS_SCHEMA is missing: make lab-deps installs pdns-backend-sqlite3"
  "$LAB_VENV/bin/python" -c 'import sqlite3, sys; sqlite3.connect(sys.argv[1]).executescript(open(sys.argv[2]).read())' \
    "$dir/pdns.sqlite3" "$PDNS_SCHEMA"
  ( umask 077
    lab_random 32 >"$dir/api.key"
    printf '{"provider_name": "powerdns", "pdns_server": "http://pdns.lab.test:%s", "auth_token": "%s"}\n' \
      "$PDNS_API_PORT" "$(cat "$dir/api.key")" >"$dir/credentials.json"
    cat >"$dir/pdns.conf" <<CONF
launch=gsqlite3
gsqlite3-database=$dir/pdns.sqlite3
local-address=${LAB_ADDR[pdns]}:53
socket-dir=$dir
guardian=no
daemon=no
disable-syslog=yes
write-pid=no
loglevel=6
security-poll-suffix=
default-soa-content=pdns.lab.test. hostmaster.lab.test. 0 10800 3600 604800 3600
api=yes
api-key=$(cat "$dir/api.key")
webserver=yes
webserver-address=${LAB_ADDR[pdns]}
webserver-port=$PDNS_API_PORT
webserver-allow-from=198.51.100.0/24,203.0.113.0/24
webserver-loglevel=normal
CONF
  )
  start_bg pdns pdns pdns_server --config-dir="$dir"
  wait_service pdns 20 "PowerDNS's API" pdns_api GET ""
  pdns_api POST /zones "{\"name\": \"$LAB_PDNS_ZONE.\", \"kind\": \"Native\", \"nameservers\": [\"pdns.lab.test.\"]}" >/dev/null
}

pdns_stop() { stop_pid pdns; }
