# shellcheck shell=bash
# The lab's authoritative DNS: Knot, run as a plain process inside the "dns"
# namespace with its config, zones and journal in the state dir. Updates are
# RFC 2136 signed with the lab's TSIG key; the same key may transfer zones.

dns_dir() { printf '%s/dns' "$LAB_STATE"; }

# Writes the TSIG key in the forms clients want: JSON (Python tests, the
# DNSPod stand-in, Ansible) and "alg:name:secret" (knsupdate/nsupdate -y).
dns_make_tsig() {
  local dir secret
  dir="$(dns_dir)"
  mkdir -p "$dir"
  secret="$(head -c 32 /dev/urandom | base64)"
  ( umask 077
    printf '{"name": "roost-lab", "algorithm": "hmac-sha256", "secret": "%s", "server": "%s", "port": 53}\n' \
      "$secret" "${LAB_ADDR[dns]}" >"$dir/tsig.json"
    printf 'hmac-sha256:roost-lab:%s\n' "$secret" >"$dir/tsig.key" )
}

dns_secret() { cut -d: -f3 "$(dns_dir)/tsig.key"; }

dns_zone_names() {
  printf '%s\n' "${LAB_DOMAINS[@]}" "$LAB_PEER_DOMAIN" "$LAB_INFRA_ZONE" "$LAB_DNSBL_ZONE" \
    100.51.198.in-addr.arpa 113.0.203.in-addr.arpa
}

dns_write_config() {
  local dir zone
  dir="$(dns_dir)"
  mkdir -p "$dir/run" "$dir/db" "$dir/zones"
  {
    cat <<KNOT
server:
    rundir: "$dir/run"
    listen: ${LAB_ADDR[dns]}@53
    identity: ns.lab.test
database:
    storage: "$dir/db"
log:
  - target: stderr
    any: info
key:
  - id: roost-lab
    algorithm: hmac-sha256
    secret: $(dns_secret)
acl:
  - id: tsig
    key: roost-lab
    action: [update, transfer]
template:
  - id: default
    storage: "$dir/zones"
    file: "%s.zone"
    acl: tsig
    zonefile-sync: 0
    journal-content: changes
    semantic-checks: on
zone:
KNOT
    while read -r zone; do
      printf '  - domain: %s\n' "$zone"
    done < <(dns_zone_names)
  } >"$dir/knot.conf"
}

dns_soa() {
  # shellcheck disable=SC2016 # $TTL is zone-file syntax
  printf '$TTL 300\n@ SOA ns.lab.test. hostmaster.lab.test. 1 3600 600 86400 60\n@ NS ns.lab.test.\n'
}

dns_write_zones() {
  local dir zone
  dir="$(dns_dir)"
  for zone in "${LAB_DOMAINS[@]}"; do
    dns_soa >"$dir/zones/$zone.zone"
  done
  { dns_soa
    printf 'ns A %s\n' "${LAB_ADDR[dns]}"
    printf 'acme A %s\n' "${LAB_ADDR[acme]}"
    printf 'dnspod A %s\n' "${LAB_ADDR[dnspod]}"
    printf 'pdns A %s\n' "${LAB_ADDR[pdns]}"
    printf 'mirror A %s\n' "${LAB_ADDR[mirror]}"
    printf 'relay A %s\n' "${LAB_ADDR[relay]}"
    printf 'vps A %s\n' "${LAB_ADDR[vps]}"
    printf 'ctl A %s\n' "${LAB_ADDR[ctl]}"
  } >"$dir/zones/$LAB_INFRA_ZONE.zone"
  { dns_soa
    printf 'mx A %s\n@ MX 10 mx.peer.test.\n' "${LAB_ADDR[peer]}"
    printf '@ TXT "v=spf1 ip4:%s -all"\n' "${LAB_ADDR[peer]}"
    printf '_dmarc TXT "v=DMARC1; p=reject"\n'
    printf 'mta-sts A %s\n' "${LAB_ADDR[peer]}"
    printf '_mta-sts TXT "v=STSv1; id=%s"\n' "$(date -u +%Y%m%d%H%M%S)"
    printf '_smtp._tls TXT "v=TLSRPTv1; rua=mailto:tls-reports@peer.test"\n'
    printf 'lab._domainkey TXT %s\n' "$(cat "$LAB_STATE/peer/dkim.txt")"
  } >"$dir/zones/$LAB_PEER_DOMAIN.zone"
  # RFC 5782 §5: a list must list 127.0.0.2 and must not list 127.0.0.1; lab tests list
  # the VPS with an RFC 2136 update when they want a listing.
  { dns_soa
    printf '2.0.0.127 A 127.0.0.2\n2.0.0.127 TXT "test entry (RFC 5782)"\n'
  } >"$dir/zones/$LAB_DNSBL_ZONE.zone"
  { dns_soa
    printf '%s PTR vps.lab.test.\n2 PTR ctl.lab.test.\n' "${LAB_ADDR[vps]##*.}"
  } >"$dir/zones/100.51.198.in-addr.arpa.zone"
  { dns_soa
    local part
    for part in dns acme dnspod pdns mirror relay; do
      printf '%s PTR %s.lab.test.\n' "${LAB_ADDR[$part]##*.}" "$([[ $part == dns ]] && echo ns || echo "$part")"
    done
    printf '%s PTR mx.peer.test.\n' "${LAB_ADDR[peer]##*.}"
  } >"$dir/zones/113.0.203.in-addr.arpa.zone"
}

# Ready once every zone is loaded (an SOA answer for each, not SERVFAIL).
dns_ready() {
  local zone
  while read -r zone; do
    [[ -n "$(in_ns ctl kdig +time=1 +retry=0 @"${LAB_ADDR[dns]}" SOA "$zone" +short)" ]] || return 1
  done < <(dns_zone_names)
}

dns_start() {
  dns_write_config
  dns_write_zones
  start_bg dns dns knotd -c "$(dns_dir)/knot.conf"
  wait_service dns 20 "Knot to load the lab zones" dns_ready
}

dns_stop() { stop_pid dns; }
