# Raises the promiscuity count of kernel devices by one, as the kernel itself
# does for an OVS internal port (internal_dev_create: dev_set_promiscuity(dev,
# 1)), without the PROMISC flag `ip` shows (user space's dev->gflags): a
# packet socket's PACKET_MR_PROMISC membership on each device, held until
# stdin closes. Arguments: NS/DEV, the namespace a name under /run/netns.
# Prints "ready" once every membership is in.
import ctypes
import os
import socket
import struct
import sys

CLONE_NEWNET = 0x40000000
SOL_PACKET = 263
PACKET_ADD_MEMBERSHIP = 1
PACKET_MR_PROMISC = 1
libc = ctypes.CDLL(None, use_errno=True)


def setns(fd):
    if libc.setns(fd, CLONE_NEWNET) != 0:
        raise OSError(ctypes.get_errno(), 'setns')


home = os.open('/proc/self/ns/net', os.O_RDONLY)
held = []
for arg in sys.argv[1:]:
    ns, dev = arg.split('/', 1)
    fd = os.open('/run/netns/' + ns, os.O_RDONLY)
    try:
        setns(fd)
        # Protocol 0: the socket receives nothing; it only holds the membership.
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
        # struct packet_mreq: ifindex, type, address length, address.
        s.setsockopt(SOL_PACKET, PACKET_ADD_MEMBERSHIP, struct.pack('iHH8s', socket.if_nametoindex(dev), PACKET_MR_PROMISC, 0, b''))
        held.append(s)
    finally:
        os.close(fd)
        setns(home)
print('ready', flush=True)
sys.stdin.read()
