# The kernel side of test/e2e/conntrack-kernel.test.ts and
# conntrack-tcp-kernel.test.ts: sends Ethernet frames on AF_PACKET sockets in
# other network namespaces and returns the IPv4 frames the router under test
# forwards to any of them. Reads JSON requests, one a line, on stdin:
#   {"ends": {"in": ["NS", "DEV"], ...}, "send": ["in", "HEX" or ["HEX", ...]]}
# (several frames: the fragments of one datagram, sent back to back) or
#   {"ends": ..., "batch": [["in", "HEX"], ["out", "HEX"], ...]}
# (frames from either end, back to back; "ends" may be left out after the
# first request) and prints for each a line {"at": MS, "seen": {"in": [HEX...],
# ...}}: when the frames went out (ms since the epoch) and what each end
# received (its own sends left out).
import ctypes
import json
import os
import select
import socket
import sys
import time

CLONE_NEWNET = 0x40000000
ETH_P_IP = 0x0800
PACKET_OUTGOING = 4
libc = ctypes.CDLL(None, use_errno=True)


def enter(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), 'setns ' + path)
    finally:
        os.close(fd)


def open_ends(ends):
    home_fd = os.open('/proc/self/ns/net', os.O_RDONLY)
    socks = {}
    try:
        for end, (ns, dev) in ends.items():
            enter('/run/netns/' + ns)
            s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_IP))
            s.bind((dev, ETH_P_IP))
            s.setblocking(False)
            socks[end] = s
    finally:
        if libc.setns(home_fd, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), 'setns back')
        os.close(home_fd)
    return socks


def exchange(socks, sends):
    for end, frame in sends:
        socks[end].send(bytes.fromhex(frame))
    sent_at = time.time() * 1000
    seen = {e: [] for e in socks}
    # Forwarding is done in softirq right after the send: wait until 50 ms pass quietly.
    quiet_until = time.monotonic() + 0.05
    while True:
        left = quiet_until - time.monotonic()
        if left <= 0:
            break
        ready, _, _ = select.select(list(socks.values()), [], [], left)
        for e, s in socks.items():
            if s not in ready:
                continue
            while True:
                try:
                    data, addr = s.recvfrom(65535)
                except BlockingIOError:
                    break
                if addr[2] == PACKET_OUTGOING:
                    continue
                seen[e].append(data.hex())
                quiet_until = time.monotonic() + 0.05
    return {'at': sent_at, 'seen': seen}


socks = None
for line in sys.stdin:
    req = json.loads(line)
    if socks is None:
        socks = open_ends(req['ends'])
    if 'batch' in req:
        sends = req['batch']
    else:
        end, frames = req['send']
        sends = [(end, f) for f in (frames if isinstance(frames, list) else [frames])]
    print(json.dumps(exchange(socks, sends)), flush=True)
