# shellcheck shell=bash
# The lab's network: one "net" namespace is the router of a tiny internet
# with two bridges (198.51.100.0/24 for our side, 203.0.113.0/24 for the
# rest); each part gets its own namespace with one veth to a bridge.
# Nothing here touches the host's root namespace, and nothing routes out.

net_side() {
  case "$1" in ctl | vps) echo ours ;; *) echo inet ;; esac
}

net_create_router() {
  local net
  net="$(ns_name net)"
  ip netns add "$net"
  ip -n "$net" link set lo up
  ip netns exec "$net" sysctl -qw net.ipv4.ip_forward=1
  ip -n "$net" link add br-ours type bridge
  ip -n "$net" link add br-inet type bridge
  ip -n "$net" addr add "$LAB_GW_OURS/24" dev br-ours
  ip -n "$net" addr add "$LAB_GW_NET/24" dev br-inet
  ip -n "$net" link set br-ours up
  ip -n "$net" link set br-inet up
}

# Creates namespace PART with eth0 plugged into its side's bridge. Both ends
# of the veth are created directly inside lab namespaces.
net_add_part() {
  local part="$1" ns net side gw
  ns="$(ns_name "$part")" net="$(ns_name net)" side="$(net_side "$part")"
  gw="$LAB_GW_NET"; [[ "$side" == ours ]] && gw="$LAB_GW_OURS"
  ip netns add "$ns"
  ip -n "$ns" link set lo up
  ip -n "$net" link add "v-$part" type veth peer name eth0 netns "$ns"
  ip -n "$net" link set "v-$part" master "br-$side" up
  ip -n "$ns" addr add "${LAB_ADDR[$part]}/24" dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$ns" route add default via "$gw"
  # ip netns exec bind-mounts these over /etc/resolv.conf and /etc/hosts.
  mkdir -p "/etc/netns/$ns"
  printf 'nameserver %s\noptions timeout:2 attempts:2\n' "${LAB_ADDR[dns]}" >"/etc/netns/$ns/resolv.conf"
  net_hosts_file >"/etc/netns/$ns/hosts"
}

net_hosts_file() {
  printf '127.0.0.1 localhost\n'
}

net_up() {
  local part
  net_create_router
  for part in "${LAB_PARTS[@]}"; do
    net_add_part "$part"
  done
}

# Deleting a namespace deletes the veths inside it; processes still inside
# were stopped before this runs.
net_down() {
  local part ns
  for part in "${LAB_PARTS[@]}" net; do
    ns="$(ns_name "$part")"
    if ip netns list | awk '{print $1}' | grep -qx "$ns"; then
      ip netns del "$ns" || true
    fi
    rm -rf "/etc/netns/$ns"
  done
}

# The switch that makes the VPS look like a host whose provider blocks
# outbound SMTP: dropped in the router, where the VPS cannot undo it. (Routed
# packets arrive on the bridge, not the veth, so the match is on the address.)
net_block25() {
  local net
  net="$(ns_name net)"
  ip netns exec "$net" nft -f - <<NFT
table inet roostlab
delete table inet roostlab
table inet roostlab {
  chain forward {
    type filter hook forward priority 0; policy accept;
    ip saddr ${LAB_ADDR[vps]} tcp dport 25 drop
  }
}
NFT
}

net_unblock25() {
  local net
  net="$(ns_name net)"
  ip netns exec "$net" nft -f - <<NFT
table inet roostlab
delete table inet roostlab
NFT
}

net_blocked25() {
  ip netns exec "$(ns_name net)" nft list table inet roostlab >/dev/null 2>&1
}
