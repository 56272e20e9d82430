// A conntrack entry and its two tuples (struct nf_conn and its tuplehash[2]).

import type { TcpTrack } from './conntrack-tcp.js';
import { IPPROTO_ICMP } from './constants.js';

/**
 * One direction's tuple; it is also the node chained in the conntrack hash.
 * ICMP queries use sport for the id and dport for (type << 8) | code, so every
 * protocol shares the same five numeric fields.
 */
export class CtTuple {
  src = 0;
  dst = 0;
  proto = 0;
  sport = 0;
  dport = 0;
  /** Next node in the same hash bucket. */
  next: CtTuple | null = null;
  hash = 0;
  constructor(readonly dir: number, readonly entry: CtEntry) {}

  set(src: number, dst: number, proto: number, sport: number, dport: number): void {
    this.src = src;
    this.dst = dst;
    this.proto = proto;
    this.sport = sport;
    this.dport = dport;
  }

  equals(src: number, dst: number, proto: number, sport: number, dport: number): boolean {
    return this.src === src && this.dst === dst && this.sport === sport && this.dport === dport && this.proto === proto;
  }
}

export class CtEntry {
  readonly tuple: readonly [CtTuple, CtTuple];
  /** IPS_* bits. */
  status = 0;
  /** Emulated time (ms) at which the entry expires. */
  deadline = 0;
  /** ct->mark (CONNMARK). */
  mark = 0;
  tcp: TcpTrack | null = null;
  /** UDP: time after which a replied flow counts as a stream (ct->proto.udp.stream_ts). */
  udpStreamTs = 0;
  /** Accounting per direction. */
  pkts0 = 0;
  bytes0 = 0;
  pkts1 = 0;
  bytes1 = 0;
  /** Position in the table's dense entry list; -1 while unconfirmed. */
  index = -1;
  /** MASQUERADE: the output device the binding was made for (nat->masq_index). */
  masqIf: string | null = null;
  /** Chain of entries with the same original source (nf_nat_bysource). */
  bysrcNext: CtEntry | null = null;
  bysrcHash = 0;

  constructor(readonly id: number) {
    this.tuple = [new CtTuple(0, this), new CtTuple(1, this)];
  }

  get orig(): CtTuple {
    return this.tuple[0];
  }

  get reply(): CtTuple {
    return this.tuple[1];
  }

  get proto(): number {
    return this.tuple[0].proto;
  }
}

/** ICMP query type pairs (invmap in nf_conntrack_proto_icmp.c); -1 when not invertible. */
export function icmpInvertType(type: number): number {
  switch (type) {
    case 8: return 0;
    case 0: return 8;
    case 13: return 14;
    case 14: return 13;
    case 15: return 16;
    case 16: return 15;
    case 17: return 18;
    case 18: return 17;
    default: return -1;
  }
}

/** Writes the inverse of (src,dst,proto,sport,dport) into `out`; false when it has none. */
export function invertInto(
  out: { src: number; dst: number; proto: number; sport: number; dport: number },
  src: number, dst: number, proto: number, sport: number, dport: number,
): boolean {
  out.src = dst;
  out.dst = src;
  out.proto = proto;
  if (proto === IPPROTO_ICMP) {
    const inv = icmpInvertType(dport >>> 8);
    if (inv < 0) return false;
    out.sport = sport;
    out.dport = (inv << 8) | (dport & 0xff);
  } else {
    out.sport = dport;
    out.dport = sport;
  }
  return true;
}

/** Hash of a tuple for the conntrack table (any good 32-bit mix will do). */
export function tupleHash(src: number, dst: number, proto: number, sport: number, dport: number): number {
  let h = Math.imul(src ^ 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 15) ^ dst, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 13) ^ ((sport << 16) | dport), 0x85ebca6b);
  h ^= proto << 7;
  h = Math.imul(h ^ (h >>> 16), 0x27d4eb2f);
  return h ^ (h >>> 15);
}
