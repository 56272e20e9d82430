#!/bin/sh
# Installs the Debian packages the end-to-end tests drive (real kernels on both
# sides of dpemu's TAPs), only when a command is missing, so a fresh machine or
# CI passes with the README's test command alone. Idempotent; needs root.
#   ip (iproute2)  ping (iputils-ping)  traceroute  tcpdump  sysctl (procps)
#   ovs-ofctl (openvswitch-common)  tshark
set -eu

missing=""
need() { command -v "$1" >/dev/null 2>&1 || missing="$missing $2"; }
need ip iproute2
need ping iputils-ping
need traceroute traceroute
need tcpdump tcpdump
need sysctl procps
# control tests: ovs-ofctl re-parses dump-flows (no switch, no service), tshark reads -w pcaps
need ovs-ofctl openvswitch-common
need tshark tshark

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
apt-get update -qq >&2
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >&2
