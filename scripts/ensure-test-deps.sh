#!/bin/sh
# Installs the Debian packages the end-to-end tests drive (real kernels on both
# sides of dpemu's TAPs), only when a command is missing, so a fresh machine or
# CI passes with the README's test command alone. Idempotent; needs root.
#   ip (iproute2)  ping (iputils-ping)  arping (iputils-arping)  traceroute  tcpdump  sysctl (procps)  arp route ifconfig netstat (net-tools)
#   ovs-ofctl (openvswitch-common)  ovs-vswitchd (openvswitch-switch)  tshark  prometheus promtool (prometheus)
#   iptables-legacy (iptables)  conntrack  python3
set -eu

missing=""
need() { command -v "$1" >/dev/null 2>&1 || missing="$missing $2"; }
need ip iproute2
need ping iputils-ping
need arping iputils-arping
need traceroute traceroute
need tcpdump tcpdump
need sysctl procps
# net-tools test: arp, route, ifconfig and netstat in a kernel namespace, compared with dpemu's
need arp net-tools
need route net-tools
need ifconfig net-tools
need netstat net-tools
# control tests: ovs-ofctl re-parses dump-flows (no switch, no service), tshark reads -w pcaps
need ovs-ofctl openvswitch-common
# OVS oracle test: a real ovs-vswitchd on its dummy datapath (no kernel module, no service) traces what dpemu traces
need ovs-vswitchd openvswitch-switch
need tshark tshark
# metrics tests: promtool lints a live scrape, a real prometheus scrapes the exporter
need prometheus prometheus
need promtool prometheus
# netns text test: iptables-legacy drives the kernel's tables that dpemu's iptables text is compared with
need iptables-legacy iptables
# conntrack test: conntrack-tools lists the kernel's table that dpemu's is compared with
need conntrack conntrack
# the conntrack e2e test drives its wire ends with an AF_PACKET script
need python3 python3

[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
  echo "ensure-test-deps: missing:$missing; run as root (or: apt-get install$missing)" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-test-deps: missing:$missing and no apt-get here; install them with your package manager" >&2
  exit 1
fi
echo "ensure-test-deps: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
# Packaged services (prometheus) must not start: the tests start their own.
created_policy=0
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod +x /usr/sbin/policy-rc.d
  created_policy=1
fi
trap '[ "$created_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d' EXIT
apt-get update -qq >&2
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $(printf '%s\n' $missing | sort -u) >&2
