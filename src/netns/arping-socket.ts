// iputils arping's socket inside an emulated namespace: socket(PF_PACKET,
// SOCK_DGRAM, 0) bound to ETH_P_ARP on one device. It sends the ARP
// messages arping builds (send_pack) straight to the device, as
// dev_queue_xmit does (no routing, no netfilter, no neighbour), and gets a
// copy of every ARP frame the device receives (packet_rcv), before the
// namespace's own ARP layer (arp.ts arpProcess) handles the frame as it
// would without the socket. What to do with a copy (the pkttype filter,
// the addresses) is arping's business: src/cli/arping.ts.
import type { Ip4, Mac } from './addr.js';
import { wallUs, type PingItem } from './ping-socket.js';

/** What arping asks of its socket and of the probe socket it finds its source with (arping.c main). */
export interface ArpingOpen {
  /** The target. */
  dst: Ip4;
  /** -I; without it the device routing picks for the target (guess_device's RTM_GETROUTE). */
  device?: string;
  /** -s: inet_aton's address of `text`, -1 where it refused it (said after the device's checks, as arping does). */
  source?: { addr: number; text: string };
  /** -D: duplicate address detection (source 0.0.0.0 unless -s). */
  dad?: boolean;
  /** -U or -A: unsolicited (source the target unless -s); `advert`: -A, ARP replies. */
  unsolicited?: boolean;
  advert?: boolean;
}

/** What arping's main() prints and exits with before its loop: `stdout` messages unless -q. */
export class ArpingError extends Error {
  constructor(
    message: string,
    readonly exit: number,
    readonly stdout = false,
  ) {
    super(message);
  }
}

export class ArpingSocket {
  constructor(
    /** The device it is bound to (sll_ifindex). */
    readonly ifindex: number,
    /** The device's address (sll_addr of getsockname: what arping sends from and checks replies against). */
    readonly mac: Mac,
    /** gsrc and gdst: the sender and target protocol addresses of what it sends. */
    readonly src: Ip4,
    readonly dst: Ip4,
    /** -A: ARP replies (target hardware address its own), else requests. */
    readonly advert: boolean,
    readonly onItem: (item: PingItem) => void,
  ) {}

  /** packet_rcv's copy of an ARP frame received on the device (Ethernet header at `off`). */
  take(buf: Uint8Array, off: number, len: number): void {
    this.onItem({ kind: 'reply', ts: wallUs(), data: buf.slice(off, off + len) });
  }
}
