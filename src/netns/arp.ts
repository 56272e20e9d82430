// arp_process (net/ipv4/arp.c) for a received ARP packet: answer requests
// for our addresses (subject to arp_ignore/arp_filter) and, when
// forwarding, for addresses we proxy; learn the sender the way the kernel
// does (a request for us creates a STALE entry; replies and gratuitous ARP
// only update existing entries unless arp_accept says otherwise).

import { type Ip4, type Mac, isLoopback, isMulticast } from './addr.js';
import { addrType } from './addr-select.js';
import { arpAccept, arpFwdProxy, arpFwdPvlan, arpIgnore } from './arp-policy.js';
import { type NeighAction, NEIGH_F, NUD } from './neighbour.js';
import { type Netns } from './netns.js';
import { routeInput } from './route-input.js';
import { routeOutput } from './route-output.js';
import { inDev } from './sysctl.js';

export const ARPOP_REQUEST = 1;
export const ARPOP_REPLY = 2;

export interface ArpPacket {
  op: number;
  sha: Mac;
  sip: Ip4;
  tha: Mac;
  tip: Ip4;
}

/** How the frame was addressed (skb->pkt_type). */
export type PktType = 'host' | 'broadcast' | 'multicast' | 'otherhost';

/** An ARP reply to send out of `ifindex` (arp_send_dst(ARPOP_REPLY, ...)). */
export interface ArpReply {
  ifindex: number;
  /** When to send: now, or later for a proxy reply held by proxy_delay. */
  at: number;
  /** Ethernet source and ARP sender hardware address: the device's MAC. */
  sha: Mac;
  /** The address answered for. */
  sip: Ip4;
  /** Ethernet destination and ARP target hardware address: the requester. */
  tha: Mac;
  tip: Ip4;
}

export interface ArpOutcome<P> {
  reply?: ArpReply;
  /** Neighbour consequences: queued packets released to a now-known MAC. */
  neigh: NeighAction<P>[];
  /** Why nothing (more) was done, for traces. */
  note?: string;
}

export interface ArpOptions {
  /** A proxy request coming back from the proxy_delay queue (LOCALLY_ENQUEUED). */
  requeued?: boolean;
}

/** arp_is_garp: sip == tip (and for a reply, tha == sha), for a unicast sender address. */
function isGarp(ns: Netns, a: ArpPacket): boolean {
  let garp = a.tip === a.sip;
  if (garp && a.op === ARPOP_REPLY) garp = a.tha === a.sha;
  return garp && addrType(ns, a.sip) === 'unicast';
}

/** arp_process for `a` received on `ifindex` at time `now`. */
export function arpProcess<P>(
  ns: Netns<P>,
  a: ArpPacket,
  ifindex: number,
  pktType: PktType,
  now: number,
  opts: ArpOptions = {},
): ArpOutcome<P> {
  const out: ArpOutcome<P> = { neigh: [] };
  const iface = ns.linkByIndex(ifindex);
  if (!iface) return { neigh: [], note: 'no such device' };
  const conf = ns.confOf(iface);
  // arp_rcv drops frames for other hosts before arp_process.
  if (pktType === 'otherhost') return { neigh: [], note: 'not for this host' };
  if (iface.noarp) return { neigh: [], note: 'device is NOARP' };
  if (a.op !== ARPOP_REQUEST && a.op !== ARPOP_REPLY) return { neigh: [], note: 'unknown ARP opcode' };
  if (isMulticast(a.tip) || (!inDev.routeLocalnet(conf) && isLoopback(a.tip))) {
    return { neigh: [], note: 'bad target address' };
  }
  if (a.sip === a.tip && inDev.dropGratuitousArp(conf)) return { neigh: [], note: 'drop_gratuitous_arp' };

  const reply = (at: number): ArpReply => ({ ifindex, at, sha: iface.mac, sip: a.tip, tha: a.sha, tip: a.sip });

  // Duplicate address detection probe (RFC 2131/5227): sender address 0.
  if (a.sip === 0) {
    if (a.op === ARPOP_REQUEST && addrType(ns, a.tip) === 'local' && !arpIgnore(ns, iface, a.sip, a.tip)) {
      out.reply = reply(now);
    }
    return out;
  }

  // neigh_event_ns: learn the requester (STALE, override).
  const eventNs = (): boolean => {
    const n = ns.neigh.lookupOrCreate(a.sip, ifindex, now);
    if (!n) return false;
    out.neigh.push(...ns.neigh.update(n, a.sha, NUD.STALE, NEIGH_F.OVERRIDE, now));
    return true;
  };

  if (a.op === ARPOP_REQUEST) {
    const rt = routeInput(ns, { src: a.sip, dst: a.tip, iif: ifindex, tos: 0 });
    const addrKind =
      rt.kind === 'local' ? 'local' : rt.kind === 'forward' ? 'unicast' : rt.kind === 'drop' ? undefined : 'other';
    if (addrKind === 'local') {
      let dontSend = arpIgnore(ns, iface, a.sip, a.tip);
      if (!dontSend && inDev.arpFilter(conf)) {
        // arp_filter: answer only if our route back to the requester leaves this device.
        const back = routeOutput(ns, { dst: a.sip, src: a.tip });
        dontSend = back.kind === 'error' || back.oif !== ifindex;
      }
      if (dontSend) out.note = 'arp_ignore/arp_filter: not answering';
      else if (eventNs()) out.reply = reply(now);
      return out;
    }
    if (addrKind === 'unicast' && rt.kind === 'forward' && inDev.forward(conf)) {
      const oif = rt.oif;
      if (
        arpFwdProxy(ns, iface, oif) ||
        arpFwdPvlan(ns, iface, oif, a.sip, a.tip) ||
        (oif !== ifindex && ns.neigh.hasProxy(a.tip, ifindex))
      ) {
        eventNs();
        const delay = ns.neigh.params(ifindex).proxy_delay_ms;
        if (opts.requeued || pktType === 'host' || delay === 0) out.reply = reply(now);
        else out.reply = reply(now + ns.neigh.randomBelow(delay)); // pneigh_enqueue
        out.note = 'proxy ARP';
        return out;
      }
    }
  }

  // Update our ARP tables.
  let n = ns.neigh.lookup(a.sip, ifindex);
  const accept = arpAccept(ns, iface, a.sip);
  const garp = n || accept ? isGarp(ns, a) : false;
  if (accept && !n) {
    if (garp || (a.op === ARPOP_REPLY && addrType(ns, a.sip) === 'unicast')) {
      n = ns.neigh.lookupOrCreate(a.sip, ifindex, now);
    }
  }
  if (n) {
    // Several replies back to back: keep the first unless locktime has passed (or it is gratuitous).
    const override = now > n.updated + ns.neigh.params(ifindex).locktime_ms || garp;
    const state = a.op !== ARPOP_REPLY || pktType !== 'host' ? NUD.STALE : NUD.REACHABLE;
    out.neigh.push(...ns.neigh.update(n, a.sha, state, override ? NEIGH_F.OVERRIDE : 0, now));
  } else {
    out.note = 'unsolicited ARP from an unknown sender: not learnt (arp_accept=0)';
  }
  return out;
}
