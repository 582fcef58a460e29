# shellcheck shell=bash
# lab.json: everything a consumer (tests, the toolkit, a person) needs to
# find the lab's parts and secrets, as paths into the state dir.

facts_write() {
  local s="$LAB_STATE"
  cat >"$s/lab.json" <<JSON
{
  "id": "$ROOST_LAB_ID",
  "state_dir": "$s",
  "namespaces": {$(for p in "${LAB_PARTS[@]}" net; do printf '"%s": "%s", ' "$p" "$(ns_name "$p")"; done | sed 's/, $//')},
  "addresses": {$(for p in "${!LAB_ADDR[@]}"; do printf '"%s": "%s", ' "$p" "${LAB_ADDR[$p]}"; done | sed 's/, $//')},
  "domains": [$(printf '"%s", ' "${LAB_DOMAINS[@]}" | sed 's/, $//')],
  "ca": "$s/ca/ca.crt",
  "ssh": {"host": "${LAB_ADDR[vps]}", "user": "root", "key": "$s/ssh/id_ed25519",
          "known_hosts": "$s/ssh/known_hosts", "config": "$s/ssh/config"},
  "vps": {"root": "$(container_root vps)"},
  "dns": {"server": "${LAB_ADDR[dns]}", "port": 53, "tsig": "$s/dns/tsig.json", "tsig_key": "$s/dns/tsig.key",
          "dnsbl": "$LAB_DNSBL_ZONE"},
  "dnspod": {"endpoint": "dnspod.lab.test", "url": "https://dnspod.lab.test/",
             "credentials": "$s/dnspod/credentials.json", "throttle": "$s/dnspod/throttle",
             "requests_log": "$s/dnspod/requests.jsonl"},
  "pdns": {"server": "${LAB_ADDR[pdns]}", "port": 53, "zone": "$LAB_PDNS_ZONE",
           "api": "http://pdns.lab.test:$PDNS_API_PORT", "credentials": "$s/pdns/credentials.json",
           "log": "$LAB_LOGS/pdns.log"},
  "acme": {"directory": "https://acme.lab.test/dir", "root": "$s/acme/pebble-root.pem",
           "intermediate": "$s/acme/pebble-intermediate.pem", "management": "https://acme.lab.test:15000",
           "eab": "$s/acme/eab.json"},
  "peer": {"domain": "$LAB_PEER_DOMAIN", "host": "mx.peer.test", "maildir": "$(peer_maildir)",
           "log": "$(container_root peer)/var/log/mail.log",
           "mta_sts_policy": "https://mta-sts.peer.test/.well-known/mta-sts.txt"},
  "relay": {"host": "relay.lab.test", "credentials": "$s/relay/credentials.json",
            "log": "$(container_root relay)/var/log/mail.log"},
  "mirror": {"url": "http://mirror.lab.test/", "apt": "http://mirror.lab.test/debian",
             "simple": "http://mirror.lab.test/simple/"}
}
JSON
}
