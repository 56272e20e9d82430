// A conntrack entry's tuples (struct nf_conn's tuplehash[2]) and their inversion,
// and a read-only view of one entry in a CtStore.

import { type CtStore, F_BYTES, F_DEADLINE, F_PKTS, FSTRIDE, STRIDE, T_PACKED, W_HAS_TCP, W_ID, W_MARK, W_MASQ, W_PROTO, W_STATUS, W_TCP } from './conntrack-store.js';
import { IPPROTO_ICMP } from './constants.js';

/**
 * One direction's tuple. ICMP queries use sport for the id and dport for
 * (type << 8) | code, so every protocol shares the same five numeric fields.
 */
export interface CtTuple {
  src: number;
  dst: number;
  proto: number;
  sport: number;
  dport: number;
}

/**
 * One entry of a table, read from its slot (conntrack -L, the control
 * commands, tests). The packet path works on slot numbers instead.
 */
export class CtEntry {
  constructor(private readonly st: CtStore, readonly slot: number) {}

  private w(i: number): number {
    return this.st.r[this.slot * STRIDE + i]!;
  }

  /** The entry's id (ct->id); a reused slot gets a new one. */
  get id(): number { return this.w(W_ID); }
  /** IPS_* bits. */
  get status(): number { return this.w(W_STATUS); }
  /** ct->mark (CONNMARK). */
  get mark(): number { return this.w(W_MARK); }
  get proto(): number { return this.w(W_PROTO); }
  /** Emulated time (ms) at which the entry expires. */
  get deadline(): number { return this.st.f[this.slot * FSTRIDE + F_DEADLINE]!; }
  /** The TCP state (TCP_STATE_NAMES index), or -1 for other protocols. */
  get tcpState(): number { return this.w(W_HAS_TCP) ? this.w(W_TCP + T_PACKED) & 15 : -1; }
  /** MASQUERADE: the output device the binding was made for (nat->masq_index). */
  get masqIf(): string | null { return this.w(W_MASQ) ? this.st.nameAt(this.w(W_MASQ)) : null; }
  get orig(): CtTuple { return this.tuple(0); }
  get reply(): CtTuple { return this.tuple(1); }

  tuple(dir: number): CtTuple {
    const st = this.st, s = this.slot;
    return { src: st.src(s, dir), dst: st.dst(s, dir), proto: st.proto(s), sport: st.sport(s, dir), dport: st.dport(s, dir) };
  }

  /** Accounting per direction. */
  packets(dir: number): number { return this.st.f[this.slot * FSTRIDE + F_PKTS + dir * 2]!; }
  bytes(dir: number): number { return this.st.f[this.slot * FSTRIDE + F_BYTES + dir * 2]!; }
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

type TupleFields = { src: number; dst: number; proto: number; sport: number; dport: number };

/** Writes the inverse of (src,dst,proto,sport,dport) into `out`; false when it has none. */
export function invertInto(out: TupleFields, src: number, dst: number, proto: number, sport: number, dport: number): boolean {
  out.src = dst;
  out.dst = src;
  out.proto = proto;
  return invertPorts(out, proto, sport, dport);
}

/**
 * invertInto from a tuple object (`out` may be `t`): the addresses are read
 * here, not passed through a call, where one above 2^31 would be boxed.
 */
export function invertTuple(out: TupleFields, t: TupleFields): boolean {
  const src = t.src;
  out.src = t.dst;
  out.dst = src;
  out.proto = t.proto;
  return invertPorts(out, t.proto, t.sport, t.dport);
}

function invertPorts(out: TupleFields, proto: number, sport: number, dport: number): boolean {
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
