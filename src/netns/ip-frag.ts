// IPv4 reassembly as the kernel does it (net/ipv4/ip_fragment.c over
// net/ipv4/inet_fragment.c): one queue per (saddr, daddr, protocol, id,
// defrag user), 30 s to complete (ipfrag_time), 4 MiB of truesize for all
// queues (ipfrag_high_thresh: above it new fragments are refused), overlaps
// kill the whole queue (RFC 5722, since Linux 4.19) and duplicates are
// dropped alone. Fragments stay in their slab slots while queued: a 64 KiB
// datagram does not fit one slot, so a completed queue is the datagram, its
// head (offset 0) carrying the whole datagram's IP header as ip_frag_reasm
// writes it, the other fragments' payloads where they arrived.
import type { Packet, PacketPool } from '../datapath/packet.js';
import type { DropReason } from '../datapath/drop-reasons.js';
import { readU16, writeU16 } from '../wire/addr.js';
import { onesSum } from '../wire/checksum.js';
import { ETH_HLEN } from '../wire/ethernet.js';
import { ipv4SetChecksum, IP_DF, IP_MF, IP_OFFMASK, IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP } from '../wire/ipv4.js';
import { skbTruesize } from './neighbour.js';

/** Defrag users (enum ip_defrag_users): part of the key, so each stage reassembles on its own. */
export const DEFRAG_LOCAL_DELIVER = 0; // ip_local_deliver
export const DEFRAG_CONNTRACK_IN = 1; // nf_defrag_ipv4 at PREROUTING (conntrack zone 0)

/** net.ipv4.ipfrag_time (s), in ms. */
export const IPFRAG_TIME = 30_000;
/** net.ipv4.ipfrag_high_thresh. */
export const IPFRAG_HIGH_THRESH = 4 * 1024 * 1024;
/** sizeof(struct ipq), charged once per queue (inet_frag_alloc). */
const IPQ_SIZE = 256;

const FIRST_IN = 1, LAST_IN = 2;

/**
 * ip_frag_ecn_table over the ORed IPFRAG_ECN_* bits (Not-ECT 1, ECT(1) 2,
 * ECT(0) 4, CE 8): the ECN field to OR into the datagram, or -1 for a mix
 * with Not-ECT, which the kernel drops.
 */
const ECN_TABLE: readonly number[] = (() => {
  const t = new Array<number>(16).fill(0);
  for (let i = 0; i < 16; i++) {
    if (i & 1 && i & 14) t[i] = -1;
    else if (i & 8 && i & 6) t[i] = 3;
  }
  return t;
})();
const ECN_BIT = [1, 2, 4, 8]; // by the header's ECN field: Not-ECT, ECT(1), ECT(0), CE

/** A queue (struct ipq); once complete, the reassembled datagram. */
export class FragQueue {
  /** Fragments in offset order; frags[0] is the head once complete. */
  readonly frags: Packet[] = [];
  /** Each fragment's place in the datagram's payload: [offs[i], ends[i]). */
  readonly offs: number[] = [];
  readonly ends: number[] = [];
  /** Where each fragment's payload starts in the slab (its IP header is in front). */
  readonly pOffs: number[] = [];
  /** The kernel's fragment runs (contiguous fragments appended at the tail), [start, end) pairs in order. */
  private readonly runs: number[] = [];
  /** q.len: the payload length, known for sure once the last fragment is in. */
  len = 0;
  /** q.meat: payload bytes received. */
  meat = 0;
  flags = 0;
  /** The largest fragment received (IP header included), and the largest with DF. */
  maxSize = 0;
  maxDfSize = 0;
  ecn = 0;
  /** ifindex of the last fragment's device (qp->iif, where ip_expire's ICMP goes). */
  iif = 0;
  /** truesize charged to the namespace's reassembly memory. */
  mem = IPQ_SIZE;
  /**
   * Set when complete: frag_max_size (IPCB) and IPSKB_FRAG_PMTU (the largest
   * fragment had DF: refragment with DF). 0 for a datagram this stack made.
   */
  fragMax = 0;
  pmtu = false;
  /** One's-complement sum (folded, not inverted) of the whole L4 part, for checksum checks. */
  l4Sum = 0;

  constructor(
    readonly key: string,
    readonly user: number,
    readonly expires: number,
  ) {}

  /** inet_frag_queue_insert: 0 inserted, or why not. */
  insert(offset: number, end: number): 0 | 'frag_dup' | 'frag_overlap' {
    const runs = this.runs, n = runs.length;
    if (n === 0) {
      runs.push(offset, end);
      return 0;
    }
    const lastEnd = runs[n - 1]!;
    if (lastEnd < end) {
      // The common case: past everything so far (a later fragment, in order).
      if (offset < lastEnd) return 'frag_overlap';
      if (offset === lastEnd) runs[n - 1] = end;
      else runs.push(offset, end);
      return 0;
    }
    // Inside the range seen: a run of its own, a duplicate within one run, or an overlap.
    let at = n;
    for (let i = 0; i < n; i += 2) {
      const s = runs[i]!, e = runs[i + 1]!;
      if (end <= s) {
        at = i;
        break;
      }
      if (offset >= e) continue;
      return offset >= s && end <= e ? 'frag_dup' : 'frag_overlap';
    }
    runs.splice(at, 0, offset, end);
    return 0;
  }

  /** Place a fragment by offset (the rb-tree walked in order). */
  place(pkt: Packet, offset: number, end: number, pOff: number): void {
    let i = this.frags.length;
    while (i > 0 && this.offs[i - 1]! > offset) i--;
    this.frags.splice(i, 0, pkt);
    this.offs.splice(i, 0, offset);
    this.ends.splice(i, 0, end);
    this.pOffs.splice(i, 0, pOff);
  }

  get complete(): boolean {
    return this.flags === (FIRST_IN | LAST_IN) && this.meat === this.len;
  }

  /** Payload bytes of fragment i. */
  fragLen(i: number): number {
    return this.ends[i]! - this.offs[i]!;
  }
}

/** What add() did with a fragment. */
export type DefragResult = 'queued' | 'done' | DropReason;

/**
 * Slots that every namespace's queues on one slab may hold together (half
 * of it): the kernel's limits are per namespace, but here the namespaces of
 * a worker share one fixed slab, so a flood of incomplete datagrams spread
 * over them must still leave the rest of the path its slots.
 */
export class FragSlotBudget {
  held = 0;
  constructor(readonly max: number) {}
}

const budgets = new WeakMap<PacketPool, FragSlotBudget>();

/** The budget of `pool`'s slab, made with its first namespace's queues. */
export function fragBudgetOf(pool: PacketPool): FragSlotBudget {
  let b = budgets.get(pool);
  if (b === undefined) budgets.set(pool, (b = new FragSlotBudget(Math.max(32, pool.slots >> 1))));
  return b;
}

/**
 * A namespace's reassembly queues (its fqdir). Besides the kernel's memory
 * limit, a namespace holds at most `maxSlots` fragments, and all namespaces
 * on the slab at most `shared.max`, so a flood of incomplete datagrams
 * cannot take the slab from everyone else.
 */
export class Defrag {
  private readonly queues = new Map<string, FragQueue>();
  /** frag_mem_limit: truesize of everything queued. */
  mem = 0;
  /** Slots held by queued fragments. */
  held = 0;
  highThresh = IPFRAG_HIGH_THRESH;
  timeout = IPFRAG_TIME;
  /** The datagram add() completed ('done'). */
  done: FragQueue | null = null;
  /** Fragments of a queue add() killed (overlap, corruption): the caller drops them with its reason. */
  readonly killed: Packet[] = [];

  constructor(
    readonly maxSlots: number,
    private readonly shared: FragSlotBudget,
  ) {}

  get size(): number {
    return this.queues.size;
  }

  /**
   * ip_defrag for the fragment in `pkt` (its IP header at off + 14, its length
   * trimmed to the IP total length) received on ifindex `iif`. 'done': the
   * datagram is in `done`; a drop reason: drop `pkt` (and `killed`).
   */
  add(pkt: Packet, user: number, iif: number, now: number): DefragResult {
    this.killed.length = 0;
    const buf = pkt.buf, l3 = pkt.off + ETH_HLEN;
    const ihl = (buf[l3]! & 15) << 2;
    const fo = readU16(buf, l3 + 6);
    const src = readU16(buf, l3 + 12) * 0x10000 + readU16(buf, l3 + 14);
    const dst = readU16(buf, l3 + 16) * 0x10000 + readU16(buf, l3 + 18);
    const key = `${src}>${dst}/${buf[l3 + 9]}/${readU16(buf, l3 + 4)}/${user}`;
    let q = this.queues.get(key);
    // inet_frag_find: nothing more once over the threshold (no eviction since 4.17).
    if (this.mem > this.highThresh || this.held >= this.maxSlots || this.shared.held >= this.shared.max) return 'frag_queue_full';
    if (q === undefined) {
      q = new FragQueue(key, user, now + this.timeout);
      this.queues.set(key, q);
      this.mem += q.mem;
    }
    // ip_frag_queue
    const offset = (fo & IP_OFFMASK) << 3;
    let end = offset + readU16(buf, l3 + 2) - ihl;
    if ((fo & IP_MF) === 0) {
      // The last fragment: nothing may lie beyond it, and it must agree with an earlier last one.
      if (end < q.len || (q.flags & LAST_IN && end !== q.len)) return this.discard(q, 'frag_bad');
      q.flags |= LAST_IN;
      q.len = end;
    } else {
      end &= ~7;
      if (end > q.len) {
        if (q.flags & LAST_IN) return this.discard(q, 'frag_bad');
        q.len = end;
      }
    }
    if (end === offset) return this.discard(q, 'frag_bad');
    const r = q.insert(offset, end);
    if (r === 'frag_dup') return r;
    if (r !== 0) return this.discard(q, r);
    const pOff = l3 + ihl;
    pkt.len = pOff + (end - offset) - pkt.off; // pskb_trim_rcsum
    q.place(pkt, offset, end, pOff);
    this.held++;
    this.shared.held++;
    const ts = skbTruesize(pkt.len);
    q.mem += ts;
    this.mem += ts;
    q.iif = iif;
    q.meat += end - offset;
    q.ecn |= ECN_BIT[buf[l3 + 1]! & 3]!;
    if (offset === 0) q.flags |= FIRST_IN;
    const size = end - offset + ihl;
    if (size > q.maxSize) q.maxSize = size;
    if (fo & IP_DF && size > q.maxDfSize) q.maxDfSize = size;
    if (!q.complete) return 'queued';
    return this.reasm(q, pkt);
  }

  /** ip_frag_reasm: the head's header becomes the datagram's. */
  private reasm(q: FragQueue, last: Packet): DefragResult {
    this.forget(q);
    const ecn = ECN_TABLE[q.ecn]!;
    const head = q.frags[0]!, buf = head.buf, l3 = head.off + ETH_HLEN;
    const ihl = (buf[l3]! & 15) << 2;
    if (ecn < 0 || ihl + q.len > 65535) {
      for (const f of q.frags) if (f !== last) this.killed.push(f);
      return 'frag_bad';
    }
    q.fragMax = q.maxDfSize > q.maxSize ? q.maxDfSize : q.maxSize;
    q.pmtu = q.maxDfSize === q.maxSize;
    writeU16(buf, l3 + 2, ihl + q.len);
    buf[l3 + 1]! |= ecn;
    writeU16(buf, l3 + 6, q.pmtu ? IP_DF : 0);
    ipv4SetChecksum(buf, l3);
    let sum = 0;
    for (let i = 0; i < q.frags.length; i++) sum += onesSum(buf, q.pOffs[i]!, q.fragLen(i));
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
    q.l4Sum = sum;
    this.done = q;
    return 'done';
  }

  /** discard_qp: the whole queue goes (its fragments to `killed`), the fragment with it. */
  private discard(q: FragQueue, why: DropReason): DropReason {
    this.forget(q);
    this.killed.push(...q.frags);
    return why;
  }

  /** The queue leaves the table (ipq_kill); its fragments are the caller's now. */
  private forget(q: FragQueue): void {
    if (this.queues.get(q.key) !== q) return;
    this.queues.delete(q.key);
    this.mem -= q.mem;
    this.held -= q.frags.length;
    this.shared.held -= q.frags.length;
  }

  /** ip_expire: the queues whose time is up, each handed to `expired` after it left the table. */
  expire(now: number, expired: (q: FragQueue, firstIn: boolean) => void): void {
    for (const q of this.queues.values()) {
      if (q.expires > now) continue;
      this.forget(q);
      expired(q, (q.flags & FIRST_IN) !== 0);
    }
  }

  /** Every queued fragment (the namespace is being replaced). */
  releaseAll(): Packet[] {
    const out: Packet[] = [];
    for (const q of this.queues.values()) {
      this.forget(q);
      out.push(...q.frags);
    }
    return out;
  }
}

/**
 * Whether the datagram's first fragment holds its whole transport header:
 * the decision is made from one slot (the kernel's is linear there after
 * pskb_may_pull). A first fragment cut inside it is not emulated.
 */
export function headHoldsL4(q: FragQueue): boolean {
  const head = q.frags[0]!, buf = head.buf, l3 = head.off + ETH_HLEN;
  const proto = buf[l3 + 9]!, have = q.fragLen(0), p = q.pOffs[0]!;
  if (proto === IPPROTO_UDP || proto === IPPROTO_ICMP) return have >= 8 || have === q.len;
  if (proto === IPPROTO_TCP) return have >= 20 && have >= (buf[p + 12]! >>> 4) << 2;
  return true;
}

/** ip_options_fragment: options without the copied bit become NOOPs in fragments after the first. */
export function ipOptionsFragment(buf: Uint8Array, l3: number, hlen: number): void {
  let p = l3 + 20;
  let l = hlen - 20;
  while (l > 0) {
    const t = buf[p]!;
    if (t === 0) return; // IPOPT_END
    if (t === 1) {
      l--;
      p++;
      continue;
    }
    const optlen = buf[p + 1]!;
    if (optlen < 2 || optlen > l) return;
    if (!(t & 0x80)) buf.fill(1, p, p + optlen);
    l -= optlen;
    p += optlen;
  }
}

/**
 * ip_do_fragment's fast path test for a reassembled datagram: every original
 * fragment fits `room` payload bytes and all but the last are 8-aligned, so
 * the original geometry goes out again.
 */
export function fragListFits(q: FragQueue, room: number): boolean {
  const n = q.frags.length;
  for (let i = 0; i < n; i++) {
    const len = q.fragLen(i);
    if (len > room || (i < n - 1 && len & 7)) return false;
  }
  return true;
}
