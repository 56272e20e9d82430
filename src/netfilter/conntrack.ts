// The connection tracking table of one namespace (nf_conntrack), with the
// per-protocol trackers for TCP, UDP, ICMP and other protocols, ICMP errors
// RELATED to the connection they quote, a bounded size with early drop, and
// lazy expiry on lookup plus a gc sweep. Time is emulated: `now` in ms.
// Entries live in a CtStore (shared memory); a packet's entry is its slot
// number (p.ct, 0 for none). Every public method that changes the table takes
// the store's lock, so tables attached to the same buffers on several threads
// stay consistent.

import { CtEntry, invertInto } from './conntrack-entry.js';
import { CT_EVENT_DESTROY, CT_EVENT_NEW, CT_EVENT_UPDATE, CtEventHub, type CtEventListener } from './conntrack-events.js';
import {
  CtStore, type CtStoreBuffers, F_BYTES, F_DEADLINE, F_PKTS, F_UDP_STREAM, FSTRIDE, STRIDE, UNCONFIRMED_RING,
  T_PACKED, T_WORDS, W_HAS_TCP, W_ID, W_INDEX, W_MARK, W_MASQ, W_PROTO, W_STATUS, W_TCP, W_TUPLE, W_UNCONF,
} from './conntrack-store.js';
import {
  decodeSegment, type TcpOutcome, type TcpSegment, type TcpSettings, type TcpTimeouts, TcpTrack,
  TCP_ACCEPT, TCP_DEFAULT_TIMEOUTS, TCP_ESTABLISHED, TCP_INVALID, TCP_REPEAT, tcpHeaderError, tcpLiberal, tcpNew, tcpPacket, tcpSettings,
} from './conntrack-tcp.js';
import {
  CT_ESTABLISHED, CT_INVALID, CT_NEW, CT_RELATED, CT_UNTRACKED, HOOK_PREROUTING,
  IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, IPS_ASSURED, IPS_CONFIRMED, IPS_DYING, IPS_EXPECTED, IPS_FIXED_TIMEOUT, IPS_SEEN_REPLY,
  IPS_SRC_NAT_DONE, TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN, VERDICT_ACCEPT, VERDICT_DROP, icmpIsError,
} from './constants.js';
import { type NatLookup, Tuple5, natSetupInfo } from './nat.js';
import { type CtMarks, type NfPacketInfo } from './packet-info.js';
import { readI32 } from '../wire/addr.js';
import { type NfRandom, seededRandom } from './random.js';
import type { NatRange } from './targets.js';
import { checksum, pseudoHeaderSum } from '../wire/checksum.js';
import type { PathOp } from '../datapath/path-cache.js';

/** Timeouts in seconds, named after the nf_conntrack_*_timeout sysctls. */
export interface CtTimeouts extends TcpTimeouts {
  udp: number;
  udp_stream: number;
  icmp: number;
  generic: number;
}

export const CT_DEFAULT_TIMEOUTS: Readonly<CtTimeouts> = {
  ...TCP_DEFAULT_TIMEOUTS, udp: 30, udp_stream: 120, icmp: 30, generic: 600,
};

export interface ConntrackOptions {
  /** nf_conntrack_max (default 262144); 0 means unbounded. */
  max?: number;
  /** nf_conntrack_tcp_be_liberal: Neutron sets 1 in every namespace, so default true. */
  tcpBeLiberal?: boolean;
  /** nf_conntrack_tcp_loose (kernel default 1; Neutron's snat namespace sets 0). */
  tcpLoose?: boolean;
  /** nf_conntrack_tcp_max_retrans (3). */
  tcpMaxRetrans?: number;
  /** nf_conntrack_checksum: verify L4 checksums in PREROUTING (default true). */
  checksum?: boolean;
  /** nf_conntrack_acct: show packets=/bytes= in conntrack -L (counting always happens). */
  acct?: boolean;
  timeouts?: Partial<CtTimeouts>;
  /** Random source for NAT port choice (unsigned 32-bit values); seeded by default. */
  random?: NfRandom;
  /** Attach to a table another thread created (its `buffers`) instead of creating one; `max` is then the table's. */
  attach?: CtStoreBuffers;
  /**
   * Take over a table whose only user died (its `keptBuffers`, kept by a
   * supervisor for the worker's successor): its entries stay, and this
   * table alone uses it, without the lock; `max` is then the table's.
   */
  adopt?: CtStoreBuffers;
}

// Counters of `conntrack -S`, by their index in the store's shared stats cells (STAT_NAMES).
// `insert` stays 0 and `found` counts NAT clashes only, as in Linux 6.x
// (test/e2e/conntrack-kernel.test.ts compares them with a kernel's).
const S_FOUND = 0, S_INVALID = 1, S_INSERT = 2, S_INSERT_FAILED = 3, S_DROP = 4, S_EARLY_DROP = 5, S_ERROR = 6, S_SEARCH_RESTART = 7;

/** Counters as `conntrack -S` shows them, read from the table's shared memory (every attached thread counts there). */
export class ConntrackStats {
  constructor(private readonly cells: Float64Array) {}
  get found(): number { return this.cells[S_FOUND]!; }
  get invalid(): number { return this.cells[S_INVALID]!; }
  get insert(): number { return this.cells[S_INSERT]!; }
  get insert_failed(): number { return this.cells[S_INSERT_FAILED]!; }
  get drop(): number { return this.cells[S_DROP]!; }
  get early_drop(): number { return this.cells[S_EARLY_DROP]!; }
  get error(): number { return this.cells[S_ERROR]!; }
  get search_restart(): number { return this.cells[S_SEARCH_RESTART]!; }
}

/** How often (emulated ms) a full table may trigger a gc sweep, as the kernel's gc worker would have run. */
const FULL_GC_INTERVAL = 1000;
const EVICTION_RANGE = 8;

function rd16(b: Uint8Array, o: number): number {
  return (b[o]! << 8) | b[o + 1]!;
}

/** What conntrack -U changes in an entry (Conntrack.update). */
export interface CtChange {
  /** Seconds from now. */
  timeout?: number;
  /** IPS_* bits to add. */
  status?: number;
  mark?: number;
  /** TCP window-tracking flags to set in both directions (ctnetlink's CTA_PROTOINFO_TCP_FLAGS_*, mask = value). */
  tcpFlags?: number;
  /** The TCP state to set (CTA_PROTOINFO_TCP_STATE: TCP_STATE_NAMES index; its timeout stays). */
  tcpState?: number;
}

/** errno EBUSY: ctnetlink's refusal of a status change. */
export const EBUSY = 16;
/** The status bits a change from user space may set: those dpemu knows outside the kernel's IPS_UNCHANGEABLE_MASK. */
const SETTABLE_STATUS = IPS_SEEN_REPLY | IPS_ASSURED | IPS_FIXED_TIMEOUT;

export class Conntrack implements NatLookup, CtMarks {
  readonly checksum: boolean;
  readonly acct: boolean;
  readonly timeouts: CtTimeouts;
  readonly tcp: TcpSettings;
  /** INVALID packets by reason (the kernel's nf_log_invalid messages), this thread's. */
  readonly invalidReasons = new Map<string, number>();
  /** Why the last DROP verdict of in()/confirm() was given. */
  lastDropReason: string | null = null;
  /** `conntrack -E` listeners (listen()); null while there are none, the packet path's only test. */
  private events: CtEventHub | null = null;
  /** The netlink port of the user-space request in progress (destroy, flush, update), for its events. */
  private requester = 0;
  /**
   * The confirmed entry the packet in flight changed (0: none), its
   * eventState() before, and whether its mark changed: one UPDATE at
   * confirm, as the kernel caches a packet's events (nf_conntrack_ecache)
   * and delivers them together when the packet leaves.
   */
  private pendingCt = 0;
  private pendingWas = 0;
  private pendingMark = false;
  private store: CtStore;
  private tr: TcpTrack;
  private readonly rng: NfRandom;
  private now = 0;
  private lastFullGc = -Infinity;
  /** The store has its full size (see CtStore on sizing); attached tables always have. */
  private sized: boolean;
  /**
   * Entries this table created and has not confirmed (the kernel frees them
   * with their skb). A packet runs to completion before the next NEW one
   * here, so one still unconfirmed when its ring place comes round again was
   * dropped on the way, and its slot is reclaimed.
   */
  private readonly unconfirmed = new Int32Array(UNCONFIRMED_RING);
  private unconfPos = 0;
  private readonly seg: TcpSegment = { seq: 0, ack: 0, win: 0, flags: 0, off: 0, doff: 0, end: 0, buf: new Uint8Array(0) };
  private readonly outcome: TcpOutcome = { timeout: -1, kill: false, reason: null };
  /** A TCP entry's tracker words, kept while pathTcpLive asks tcpPacket and put back after. */
  private readonly tcpSaved = new Uint32Array(T_WORDS);
  /** A packet's inverted tuple, addresses as int32 (see CtStore). */
  private readonly inv = new Tuple5();

  constructor(opts: ConntrackOptions = {}) {
    this.checksum = opts.checksum ?? true;
    this.acct = opts.acct ?? false;
    this.timeouts = { ...CT_DEFAULT_TIMEOUTS, ...opts.timeouts };
    this.tcp = tcpSettings(this.timeouts, opts.tcpBeLiberal ?? true, opts.tcpLoose ?? true, opts.tcpMaxRetrans ?? 3);
    this.rng = opts.random ?? seededRandom(0x5eed);
    const from = opts.attach ?? opts.adopt;
    this.store = from ? new CtStore(0, from, 0, opts.adopt !== undefined) : new CtStore(opts.max ?? 262144, undefined, 0);
    this.sized = from !== undefined;
    this.tr = new TcpTrack(this.store.r);
    if (opts.adopt) this.adoptUnconfirmed();
  }

  /**
   * Entries the dead owner created and never confirmed: into this table's
   * ring at the same places, so they are reclaimed as its own would be.
   */
  private adoptUnconfirmed(): void {
    const r = this.store.r;
    for (let s = 1; s < this.store.highWater; s++) {
      const pos = r[s * STRIDE + W_UNCONF]!;
      if (pos !== 0 && r[s * STRIDE + W_ID] !== 0) this.unconfirmed[pos - 1] = s;
    }
  }

  /**
   * A worker attached to this table died: if it held the lock, release it.
   * An entry it was inserting or removing at that instant may be left half
   * linked (found in one direction only, or its slot not freed).
   */
  releaseLockOf(threadId: number): boolean {
    return this.store.releaseLockOf(threadId);
  }

  /** The shared buffers: pass them to another thread's `new Conntrack({ attach })`. */
  get buffers(): CtStoreBuffers {
    return this.fullSize().share();
  }

  /**
   * The buffers for a keeper that leaves them alone while this table lives
   * and hands them to its successor (`new Conntrack({ adopt })`): no lock
   * is turned on. They move if the table grows past its limit (unbounded, or
   * nf_conntrack_max raised): compare, and keep the new ones.
   */
  get keptBuffers(): CtStoreBuffers {
    return this.fullSize().buffers;
  }

  /** The store, at its whole limit (see CtStore on sizing) before its buffers leave this table. */
  private fullSize(): CtStore {
    if (!this.sized) {
      this.sized = true;
      if (this.store.max > 0 && !this.store.fits(this.store.max)) this.grow(this.store.max);
    }
    return this.store;
  }

  /** nf_conntrack_max (0: unbounded); shared by every attached table. */
  get max(): number {
    return this.store.max;
  }

  set max(v: number) {
    if (v > 0 && this.sized && !this.store.fits(v)) {
      this.store.lock();
      try {
        this.grow(v);
      } finally {
        this.store.unlock();
      }
    }
    this.store.max = v;
  }

  get count(): number {
    return this.store.count;
  }

  get stats(): ConntrackStats {
    return new ConntrackStats(this.store.stats);
  }

  random(): number {
    return this.rng();
  }

  /** A view of the entry in `slot` (0 is none). */
  entry(slot: number): CtEntry {
    return new CtEntry(this.store, slot);
  }

  /**
   * Calls `fn` for every event of this table (this thread's changes) until
   * the returned function is called.
   */
  listen(fn: CtEventListener): () => void {
    const hub = (this.events ??= new CtEventHub());
    hub.listeners.push(fn);
    return () => {
      const i = hub.listeners.indexOf(fn);
      if (i >= 0) hub.listeners.splice(i, 1);
      if (hub.listeners.length === 0 && this.events === hub) this.events = null;
    };
  }

  private emit(type: number, e: number, markChanged = false): void {
    this.events!.emit(type, new CtEntry(this.store, e), this.now, this.requester, markChanged);
  }

  /** The packet in flight will change entry `e` (confirmed; listeners exist): note its state, unless already noted. */
  private willChange(e: number): void {
    if (this.pendingCt === e) return;
    if (this.pendingCt !== 0) this.deliverPending(); // a packet dropped before confirm: its events go now
    this.pendingCt = e;
    this.pendingWas = this.eventState(e);
  }

  /** One UPDATE for what the last packet changed, if it changed anything an UPDATE reports. */
  private deliverPending(): void {
    const e = this.pendingCt;
    const mark = this.pendingMark;
    this.pendingCt = 0;
    this.pendingMark = false;
    if (this.events !== null && (mark || this.eventState(e) !== this.pendingWas)) this.emit(CT_EVENT_UPDATE, e, mark);
  }

  /** What an UPDATE reports a change of (ctnetlink's IPCT_REPLY, IPCT_ASSURED, IPCT_PROTOINFO): status bits and TCP state. */
  private eventState(e: number): number {
    const r = this.store.r;
    const o = e * STRIDE;
    const tcp = r[o + W_HAS_TCP] === 0 ? 0 : (r[o + W_TCP + T_PACKED]! & 15) + 1;
    return (r[o + W_STATUS]! & (IPS_SEEN_REPLY | IPS_ASSURED)) | (tcp << 16);
  }

  /** Confirmed entries in conntrack -L order. */
  list(): CtEntry[] {
    const out: CtEntry[] = [];
    const n = this.store.count;
    for (let i = 0; i < n; i++) out.push(new CtEntry(this.store, this.store.order[i]!));
    return out;
  }

  /** The hash node (slot * 2 + dir) matching exactly, or 0; expired entries found on the way are removed. */
  find(src: number, dst: number, proto: number, sport: number, dport: number, now: number): number {
    this.store.lock();
    try {
      return this.lookup(src, dst, proto, sport, dport, now);
    } finally {
      this.store.unlock();
    }
  }

  // ---- NatLookup (called under the lock, from setupNat) ------------------------

  tupleTaken(src: number, dst: number, proto: number, sport: number, dport: number, ignored: number): boolean {
    const n = this.lookup(src, dst, proto, sport, dport, this.now);
    if (n === 0 || n >>> 1 === ignored) return false;
    // The only place Linux still counts `found` (nf_conntrack_tuple_taken): a NAT clash.
    this.store.stats[S_FOUND]!++;
    return true;
  }

  bySource(src: number, sport: number, proto: number): number {
    return this.store.bySource(src, sport, proto);
  }

  bySourceNext(ct: number): number {
    return this.store.bySourceNext(ct);
  }

  readTuple(out: Tuple5, ct: number, dir: number): void {
    // Straight from the words into the fields (uint32): no address passes through a call.
    const r = this.store.r;
    const o = ct * STRIDE + W_TUPLE + dir * 3;
    out.src = r[o]!;
    out.dst = r[o + 1]!;
    out.proto = r[ct * STRIDE + W_PROTO]!;
    out.sport = r[o + 2]! >>> 16;
    out.dport = r[o + 2]! & 0xffff;
  }

  setReply(ct: number, t: Tuple5): void {
    this.store.setTuple(ct, 1, t.src | 0, t.dst | 0, t.proto, t.sport, t.dport);
  }

  status(ct: number): number {
    return this.store.r[ct * STRIDE + W_STATUS]!;
  }

  addStatus(ct: number, bits: number): void {
    this.store.r[ct * STRIDE + W_STATUS]! |= bits;
  }

  // ---- the packet path ---------------------------------------------------------

  /** Binds NAT for `ct` (nf_nat_setup_info); `ct` is normally not yet confirmed. */
  setupNat(ct: number, range: NatRange, manip: number, now: number): void {
    this.now = now;
    const st = this.store;
    st.lock();
    try {
      const confirmed = st.r[ct * STRIDE + W_INDEX] !== 0;
      if (confirmed) st.unhash(ct, 1);
      natSetupInfo(ct, range, manip, this);
      if (confirmed) st.hashIn(ct, 1);
    } finally {
      st.unlock();
    }
  }

  /** Tuple word of one direction, for NAT rewriting (dir 0 original, 1 reply); addresses as int32 (see CtStore). */
  tupleSrc(ct: number, dir: number): number { return this.store.src(ct, dir) | 0; }
  tupleDst(ct: number, dir: number): number { return this.store.dst(ct, dir) | 0; }
  tupleSport(ct: number, dir: number): number { return this.store.sport(ct, dir); }
  tupleDport(ct: number, dir: number): number { return this.store.dport(ct, dir); }
  tupleProto(ct: number): number { return this.store.proto(ct); }

  mark(ct: number): number {
    return this.store.r[ct * STRIDE + W_MARK]!;
  }

  setMark(ct: number, v: number): void {
    const r = this.store.r;
    // IPCT_MARK: a confirmed entry's new mark is part of the packet's UPDATE (an unconfirmed one's, of its NEW).
    if (this.events !== null && r[ct * STRIDE + W_MARK] !== v && r[ct * STRIDE + W_INDEX] !== 0) {
      this.willChange(ct);
      this.pendingMark = true;
    }
    r[ct * STRIDE + W_MARK] = v;
  }

  /** MASQUERADE: remember the output device the binding was made for. */
  setMasqIf(ct: number, name: string): void {
    const st = this.store;
    st.lock();
    try {
      st.r[ct * STRIDE + W_MASQ] = st.nameId(name);
    } finally {
      st.unlock();
    }
  }

  /** nf_nat_oif_changed: the entry has a MASQUERADE binding made for another device than `outIf`. */
  masqOifChanged(ct: number, outIf: string | null): boolean {
    const id = this.store.r[ct * STRIDE + W_MASQ]!;
    return id !== 0 && (outIf === null || this.store.knownNameId(outIf) !== id);
  }

  /**
   * nf_conntrack_in: attaches the packet to its connection (creating one for a
   * NEW packet) and sets p.ct, p.ctDir, p.ctState and p.ctStatus. Returns
   * VERDICT_DROP only when the table is full (lastDropReason says so);
   * packets conntrack cannot make sense of are INVALID, not dropped.
   */
  in(p: NfPacketInfo, hook: number, now: number): number {
    this.now = now;
    p.ct = 0;
    p.ctDir = 0;
    p.ctStatus = 0;
    if (p.ctState === CT_UNTRACKED) return VERDICT_ACCEPT;
    p.ctState = CT_INVALID;
    const st = this.store;
    st.lock();
    try {
      return this.track(p, hook, now, st);
    } finally {
      st.unlock();
    }
  }

  private track(p: NfPacketInfo, hook: number, now: number, st: CtStore): number {
    // st, r and f are read again after allocUnconfirmed: an unbounded table may have grown.
    const buf = p.buf;
    if (buf === null) return this.invalid(p, 'no packet bytes');
    // Fragments come reassembled (nf_defrag_ipv4): one here was not (conntrack without the stack's defrag).
    if (p.fragment) return this.invalid(p, 'fragment (no reassembly)');
    const end = p.l3Off + p.len;
    const l4 = p.l4Off;
    const l4len = end - l4;
    if (p.l3Off + (p.l4Sum < 0 ? p.len : p.seg) > buf.length || l4len < 0) return this.invalid(p, 'truncated packet');
    const proto = p.proto;
    // The addresses as int32 from here on: they pass through calls (see CtStore).
    const src = p.src | 0;
    const dst = p.dst | 0;
    let sport = 0;
    let dport = 0;
    let icmpType = 0;
    if (proto === IPPROTO_ICMP) {
      if (l4len < 8) return this.invalid(p, 'short packet', true);
      if (this.checksum && hook === HOOK_PREROUTING && !this.l4SumOk(p, buf, l4, l4len, 0)) return this.invalid(p, 'bad hw icmp checksum', true);
      icmpType = buf[l4]!;
      if (icmpType > 18) return this.invalid(p, 'invalid icmp type', true);
      if (icmpIsError(icmpType)) return this.icmpError(p, buf, l4, end, now);
      sport = rd16(buf, l4 + 4);
      dport = (icmpType << 8) | buf[l4 + 1]!;
    } else if (proto === IPPROTO_TCP || proto === IPPROTO_UDP) {
      if (l4len < 4) return this.invalid(p, 'truncated packet');
      sport = rd16(buf, l4);
      dport = rd16(buf, l4 + 2);
    }

    let r = st.r;
    let f = st.f;
    for (let attempt = 0; attempt < 2; attempt++) {
      const h = this.lookup(src, dst, proto, sport, dport, now);
      let e: number;
      let dir: number;
      let state: number;
      if (h === 0) {
        const inv = this.inv;
        if (!invertInto(inv, src, dst, proto, sport, dport)) return this.invalid(p, "can't invert tuple");
        if (st.max > 0 && st.count >= st.max && !this.makeRoom(inv.src ^ inv.dst, now)) return this.full();
        e = this.allocUnconfirmed();
        if (e === 0) return this.full();
        st = this.store;
        r = st.r;
        f = st.f;
        st.setTuple(e, 0, src, dst, proto, sport, dport);
        st.setTuple(e, 1, inv.src, inv.dst, proto, inv.sport, inv.dport);
        if (proto === IPPROTO_UDP) f[e * FSTRIDE + F_UDP_STREAM] = now + 2000;
        dir = 0;
        state = CT_NEW;
      } else {
        e = h >>> 1;
        dir = h & 1;
        const status = r[e * STRIDE + W_STATUS]!;
        state = dir === 1 || status & IPS_SEEN_REPLY ? CT_ESTABLISHED : status & IPS_EXPECTED ? CT_RELATED : CT_NEW;
      }
      const confirmed = r[e * STRIDE + W_INDEX] !== 0;
      // Listeners hear of a confirmed entry's changes at confirm; an unconfirmed one's are part of its NEW.
      if (this.events !== null && confirmed) this.willChange(e);
      let timeout = -1;
      let kill = false;
      if (proto === IPPROTO_TCP) {
        const err = tcpHeaderError(buf, l4, l4len);
        if (err) return this.invalid(p, err);
        if (this.checksum && hook === HOOK_PREROUTING && !this.l4ChecksumOk(p, buf, l4, l4len)) return this.invalid(p, 'bad checksum');
        const seg = this.seg;
        decodeSegment(seg, buf, l4, l4len);
        const tr = this.tr.at(e);
        if (!confirmed && r[e * STRIDE + W_HAS_TCP] === 0 && !tcpNew(tr, seg, this.tcp)) return this.invalid(p, 'invalid new');
        const res = tcpPacket(tr, dir, seg, this.tcp, this.outcome);
        if (res === TCP_REPEAT) {
          // An attempt to reopen a closed connection: forget it and look up again
          // (not a search_restart: Linux counts hash walks restarted, not this).
          this.remove(e);
          continue;
        }
        if (res === TCP_INVALID) {
          // Shortened (nf_tcp_handle_invalid), never below what is left under 120 s.
          const lower = this.outcome.timeout * 1000, fo = e * FSTRIDE, left = f[fo + F_DEADLINE]! - now;
          if (lower >= 0 && left >= 120_000 && left > lower) f[fo + F_DEADLINE] = now + lower;
          return this.invalid(p, this.outcome.reason ?? 'invalid');
        }
        timeout = this.outcome.timeout;
        kill = this.outcome.kill;
      } else if (proto === IPPROTO_UDP) {
        if (l4len < 8) return this.invalid(p, 'truncated/malformed packet');
        const ulen = rd16(buf, l4 + 4);
        if (ulen > l4len || ulen < 8) return this.invalid(p, 'truncated/malformed packet');
        if (this.checksum && hook === HOOK_PREROUTING && rd16(buf, l4 + 6) !== 0 && !this.l4ChecksumOk(p, buf, l4, l4len)) {
          return this.invalid(p, 'bad checksum');
        }
        if (r[e * STRIDE + W_STATUS]! & IPS_SEEN_REPLY) {
          // Replied and still active two seconds later: a stream, assured.
          if (now > f[e * FSTRIDE + F_UDP_STREAM]!) {
            timeout = this.timeouts.udp_stream;
            r[e * STRIDE + W_STATUS]! |= IPS_ASSURED;
          } else timeout = this.timeouts.udp;
        } else timeout = this.timeouts.udp;
      } else if (proto === IPPROTO_ICMP) {
        if (!confirmed && !icmpValidNew(icmpType)) return this.invalid(p, `can't create new conn with type ${icmpType}`);
        timeout = this.timeouts.icmp;
      } else {
        timeout = this.timeouts.generic;
      }
      const fo = e * FSTRIDE;
      if (timeout >= 0) {
        // A killed entry is counted, not refreshed (nf_ct_kill_acct): its DESTROY shows the timeout it had;
        // nor is one whose timeout is fixed (conntrack -U -u FIXED_TIMEOUT).
        if (!kill && !(r[e * STRIDE + W_STATUS]! & IPS_FIXED_TIMEOUT)) f[fo + F_DEADLINE] = now + timeout * 1000;
        f[fo + F_PKTS + dir * 2]!++;
        f[fo + F_BYTES + dir * 2]! += p.len;
      }
      if (kill) {
        // Killed inside the protocol's handler, before the reply bit is set: the DESTROY says [UNREPLIED].
        if (r[e * STRIDE + W_INDEX] !== 0) this.remove(e);
        else r[e * STRIDE + W_STATUS]! |= IPS_DYING;
      }
      if (dir === 1) r[e * STRIDE + W_STATUS]! |= IPS_SEEN_REPLY;
      p.ct = e;
      p.ctTable = this;
      p.ctDir = dir;
      p.ctState = state;
      p.ctStatus = r[e * STRIDE + W_STATUS]!;
      return VERDICT_ACCEPT;
    }
    return this.invalid(p, 'repeat');
  }

  /**
   * The path cache's op for packet `p` just tracked (null: not one a hit can
   * replay: untracked, a connection not confirmed yet (its first packet),
   * events listened to; a TCP segment other than an ACK (SYN, FIN, RST) or
   * not of an ESTABLISHED, replied and assured connection, one its tracking
   * ignored, or one this table tracks a second time on the way: `recorded`,
   * the ops so far, would hold its first).
   */
  pathOp(p: NfPacketInfo, recorded: readonly PathOp[]): PathOp | null {
    const e = p.ct, r = this.store.r, o = e * STRIDE;
    if (e === 0 || this.events !== null || (p.proto !== IPPROTO_UDP && p.proto !== IPPROTO_ICMP && p.proto !== IPPROTO_TCP)) return null;
    if (r[o + W_INDEX] === 0 || r[o + W_STATUS]! & IPS_DYING || (p.ctState !== CT_ESTABLISHED && p.ctState !== CT_NEW)) return null;
    if (p.proto === IPPROTO_TCP) {
      const out = this.outcome, replied = IPS_SEEN_REPLY | IPS_ASSURED;
      if ((p.tcpFlags & (TCP_SYN | TCP_FIN | TCP_RST | TCP_ACK)) !== TCP_ACK || (r[o + W_STATUS]! & replied) !== replied) return null;
      if (this.tr.at(e).state !== TCP_ESTABLISHED || out.reason !== null || out.kill || out.timeout < 0) return null;
      for (const op of recorded) if (op instanceof CtPathOp && op.ct === this) return null;
    }
    return new CtPathOp(this, e, r[o + W_ID]!, p.ctDir, r[o + W_STATUS]!, p.proto, p.len);
  }

  /** CtPathOp.warm: read slot `e`'s words pathLive() and pathHit() read. */
  pathWarm(e: number): number {
    const st = this.store;
    return st.r[e * STRIDE + W_ID]! + st.f[e * FSTRIDE + F_DEADLINE]! + st.f[e * FSTRIDE + F_BYTES]!;
  }

  /** CtPathOp: is slot `e` still connection `id` with `status`, not expired, and nobody listening? */
  pathLive(e: number, id: number, status: number, now: number): boolean {
    const st = this.store, o = e * STRIDE;
    return this.events === null && st.r[o + W_ID] === id && st.r[o + W_STATUS] === status && st.r[o + W_INDEX] !== 0 && st.f[e * FSTRIDE + F_DEADLINE]! > now;
  }

  /**
   * CtPathOp of a TCP entry: does tcpPacket accept the segment at `l4`
   * (`l4len` bytes) `dir` sends, an ACK, keeping the entry ESTABLISHED and
   * its status, and refresh the entry (neither ignored nor invalid), as it
   * did the one recorded? Surely so when its window verdicts are
   * be_liberal's; else tcpPacket is asked, and what it wrote put back. The
   * segment stays decoded for pathHit (next).
   */
  pathTcpLive(e: number, dir: number, b: Uint8Array, l4: number, l4len: number): boolean {
    const seg = this.seg;
    decodeSegment(seg, b, l4, l4len);
    const tr = this.tr.at(e);
    if ((seg.flags & (TCP_SYN | TCP_FIN | TCP_RST | TCP_ACK)) !== TCP_ACK || tr.state !== TCP_ESTABLISHED) return false;
    if (tcpLiberal(tr, dir, this.tcp)) return true;
    const st = this.store, saved = this.tcpSaved, o = e * STRIDE;
    st.lock();
    try {
      const r = st.r, status = r[o + W_STATUS]!, out = this.outcome;
      for (let i = 0; i < T_WORDS; i++) saved[i] = r[o + W_TCP + i]!;
      const res = tcpPacket(tr, dir, seg, this.tcp, out);
      const same = res === TCP_ACCEPT && out.reason === null && !out.kill && out.timeout >= 0 && tr.state === TCP_ESTABLISHED && r[o + W_STATUS] === status;
      for (let i = 0; i < T_WORDS; i++) r[o + W_TCP + i] = saved[i]!;
      r[o + W_STATUS] = status;
      return same;
    } finally {
      st.unlock();
    }
  }

  /**
   * CtPathOp: what track() does for a packet of a confirmed connection: its
   * refresh and counters (TCP: tracking the segment pathTcpLive decoded, as
   * pathTcpLive found it goes).
   */
  pathHit(e: number, dir: number, proto: number, len: number, now: number): void {
    this.now = now;
    const st = this.store;
    st.lock();
    try {
      const r = st.r, f = st.f, o = e * STRIDE, fo = e * FSTRIDE;
      let timeout: number;
      if (proto === IPPROTO_TCP) {
        tcpPacket(this.tr.at(e), dir, this.seg, this.tcp, this.outcome);
        timeout = this.outcome.timeout;
      } else if (proto === IPPROTO_UDP) {
        if (r[o + W_STATUS]! & IPS_SEEN_REPLY && now > f[fo + F_UDP_STREAM]!) {
          timeout = this.timeouts.udp_stream;
          r[o + W_STATUS]! |= IPS_ASSURED;
        } else timeout = this.timeouts.udp;
      } else timeout = this.timeouts.icmp;
      if (!(r[o + W_STATUS]! & IPS_FIXED_TIMEOUT)) f[fo + F_DEADLINE] = now + timeout * 1000;
      f[fo + F_PKTS + dir * 2]!++;
      f[fo + F_BYTES + dir * 2]! += len;
      if (dir === 1) r[o + W_STATUS]! |= IPS_SEEN_REPLY;
    } finally {
      st.unlock();
    }
  }

  /** nf_conntrack_checksum: whether PREROUTING verifies L4 checksums. */
  get verifiesChecksums(): boolean {
    return this.checksum;
  }

  /** __nf_conntrack_confirm: inserts a new entry when its first packet leaves (POSTROUTING/INPUT). */
  confirm(p: NfPacketInfo, now: number): number {
    this.now = now;
    if (this.pendingCt !== 0) this.deliverPending();
    const e = p.ct;
    // Only the original direction confirms: an ICMP error attached to an unconfirmed entry does not.
    if (e === 0 || p.ctDir !== 0) return VERDICT_ACCEPT;
    const st = this.store;
    const r = st.r;
    const o = e * STRIDE;
    if (r[o + W_INDEX] !== 0 || r[o + W_STATUS]! & (IPS_CONFIRMED | IPS_DYING)) return VERDICT_ACCEPT;
    st.lock();
    try {
      this.unconfirmed[r[o + W_UNCONF]! - 1] = 0;
      r[o + W_UNCONF] = 0;
      // Each direction's bucket once: looked up in, then linked into (an expired entry removed on the way leaves it valid).
      const b0 = st.bucketOf(e, 0);
      const b1 = st.bucketOf(e, 1);
      if (this.live(st.findTupleOf(b0, e, 0), now) !== 0 || this.live(st.findTupleOf(b1, e, 1), now) !== 0) {
        st.free(e);
        p.ct = 0;
        this.store.stats[S_INSERT_FAILED]!++;
        this.store.stats[S_DROP]!++;
        this.lastDropReason = 'conntrack_insert_failed';
        return VERDICT_DROP;
      }
      st.hashAt(b0, e, 0);
      st.hashAt(b1, e, 1);
      st.listAdd(e);
      r[o + W_STATUS]! |= IPS_CONFIRMED;
      if (r[o + W_STATUS]! & IPS_SRC_NAT_DONE) st.bysrcIn(e);
      p.ctStatus = r[o + W_STATUS]!;
      if (this.events !== null) this.emit(CT_EVENT_NEW, e);
      return VERDICT_ACCEPT;
    } finally {
      st.unlock();
    }
  }

  /**
   * Removes an entry (RST, conntrack -D, a MASQUERADE binding's device
   * gone). `portid`: the netlink port of the user-space process that asked
   * (conntrack -D), which its DESTROY event names; 0 for the kernel's own.
   */
  destroy(ct: number, now = this.now, portid = 0): void {
    this.now = now;
    this.store.lock();
    this.requester = portid;
    try {
      this.remove(ct);
    } finally {
      this.requester = 0;
      this.store.unlock();
    }
  }

  /**
   * conntrack -U's change of a confirmed entry, as ctnetlink applies it
   * (ctnetlink_change_conntrack): the timeout (seconds from now) first, then
   * the status bits to add, then a TCP entry's state and window-tracking
   * flags (ctnetlink_change_protoinfo), then the mark; one UPDATE event naming `portid`
   * when all went through. Status bits can only be added, and EXPECTED not
   * at all: then the timeout stays changed, the mark does not, no event is
   * sent, and EBUSY is returned (0 on success).
   */
  update(ct: number, change: CtChange, now: number, portid: number): number {
    this.now = now;
    const st = this.store;
    st.lock();
    try {
      const o = ct * STRIDE;
      if (change.timeout !== undefined) st.f[ct * FSTRIDE + F_DEADLINE] = now + change.timeout * 1000;
      if (change.status !== undefined) {
        if ((st.r[o + W_STATUS]! ^ change.status) & IPS_EXPECTED & change.status) return EBUSY;
        // Bits the kernel keeps to itself (NAT, confirmed, offload...) are ignored (__nf_ct_change_status).
        st.r[o + W_STATUS]! |= change.status & SETTABLE_STATUS;
      }
      if (change.mark !== undefined) st.r[o + W_MARK] = change.mark;
      if (st.r[o + W_HAS_TCP] !== 0 && (change.tcpFlags !== undefined || change.tcpState !== undefined)) {
        const tr = this.tr.at(ct);
        if (change.tcpState !== undefined) tr.state = change.tcpState;
        if (change.tcpFlags !== undefined) {
          tr.seen[0].flags |= change.tcpFlags;
          tr.seen[1].flags |= change.tcpFlags;
        }
      }
      if (this.events !== null) {
        this.requester = portid;
        // ctnetlink reports a change from user space with every field it may set, the mark among them.
        this.emit(CT_EVENT_UPDATE, ct, true);
        this.requester = 0;
      }
      return 0;
    } finally {
      st.unlock();
    }
  }

  /** Removes every expired entry; returns how many. */
  gc(now: number): number {
    this.now = now;
    this.store.lock();
    try {
      return this.sweep(now);
    } finally {
      this.store.unlock();
    }
  }

  /** conntrack -F (`portid` as for destroy()). */
  flush(now = this.now, portid = 0): void {
    this.now = now;
    const st = this.store;
    st.lock();
    this.requester = portid;
    try {
      for (let i = st.count - 1; i >= 0; i--) this.remove(st.order[i]!);
    } finally {
      this.requester = 0;
      st.unlock();
    }
  }

  /** Seconds left before `e` expires, as conntrack -L prints it. */
  secondsLeft(e: CtEntry, now: number): number {
    return Math.max(0, Math.floor((e.deadline - now) / 1000));
  }

  // ---- internals (the lock is held) ---------------------------------------------

  private lookup(src: number, dst: number, proto: number, sport: number, dport: number, now: number): number {
    return this.live(this.store.find(src, dst, proto, sport, dport), now);
  }

  /** The node found, or 0 when its entry has expired (removed now, as the kernel reaps it on lookup). */
  private live(n: number, now: number): number {
    if (n !== 0 && this.store.f[(n >>> 1) * FSTRIDE + F_DEADLINE]! <= now) {
      this.remove(n >>> 1);
      return 0;
    }
    return n;
  }

  private remove(e: number): void {
    const st = this.store;
    const o = e * STRIDE;
    st.r[o + W_STATUS]! |= IPS_DYING;
    if (st.r[o + W_INDEX] === 0) return;
    // A killed entry's pending UPDATE is not delivered: its DESTROY says it all.
    if (this.pendingCt === e) this.pendingCt = 0;
    if (this.events !== null) this.emit(CT_EVENT_DESTROY, e);
    st.unhash(e, 0);
    st.unhash(e, 1);
    st.listRemove(e);
    if (st.r[o + W_STATUS]! & IPS_SRC_NAT_DONE) st.bysrcOut(e);
    st.free(e);
  }

  private sweep(now: number): number {
    const st = this.store;
    let n = 0;
    for (let i = st.count - 1; i >= 0; i--) {
      const e = st.order[i]!;
      if (st.f[e * FSTRIDE + F_DEADLINE]! <= now) {
        this.remove(e);
        n++;
      }
    }
    return n;
  }

  /** A fresh slot for a NEW packet's entry; reclaims the oldest if its packet never reached confirm. */
  private allocUnconfirmed(): number {
    if (this.store.nearlyFull) {
      // The first entries filled the small start: take the whole limit; an unbounded table doubles.
      this.sized = true;
      this.grow(this.store.max > 0 ? this.store.max : this.store.capacity * 2);
    }
    const st = this.store;
    const pos = this.unconfPos;
    this.unconfPos = (pos + 1) % UNCONFIRMED_RING;
    const stale = this.unconfirmed[pos]!;
    if (stale !== 0) st.free(stale);
    const e = st.alloc();
    this.unconfirmed[pos] = e;
    if (e !== 0) st.r[e * STRIDE + W_UNCONF] = pos + 1;
    return e;
  }

  private full(): number {
    this.store.stats[S_DROP]!++;
    this.lastDropReason = 'conntrack_full';
    return VERDICT_DROP;
  }

  /**
   * A bigger store (`slots` entries), for a limit past the capacity, a table
   * leaving its small start, or an unbounded one that filled up. Tables
   * attached to the old buffers must attach again. Called under the old
   * store's lock (or before any other thread has the buffers).
   */
  private grow(slots: number): void {
    const next = new CtStore(this.store.max, undefined, slots);
    next.copyFrom(this.store);
    this.store = next;
    this.tr = new TcpTrack(next.r);
  }

  /**
   * The packet is INVALID (no entry). `error`: found so by the ICMP error
   * path (nf_conntrack_handle_icmp), which Linux counts as `error` alone;
   * every other case counts as `invalid`.
   */
  private invalid(p: NfPacketInfo, reason: string, error = false): number {
    p.ct = 0;
    p.ctState = CT_INVALID;
    this.store.stats[error ? S_ERROR : S_INVALID]!++;
    this.invalidReasons.set(reason, (this.invalidReasons.get(reason) ?? 0) + 1);
    return VERDICT_ACCEPT;
  }

  private l4ChecksumOk(p: NfPacketInfo, buf: Uint8Array, l4: number, l4len: number): boolean {
    return this.l4SumOk(p, buf, l4, l4len, pseudoHeaderSum(p.src | 0, p.dst | 0, p.proto, l4len));
  }

  /** The L4 bytes (of a reassembled datagram: their precomputed sum) plus `init` sum to 0xffff. */
  private l4SumOk(p: NfPacketInfo, buf: Uint8Array, l4: number, l4len: number, init: number): boolean {
    if (p.l4Sum < 0) return checksum(buf, l4, l4len, init) === 0;
    let s = p.l4Sum + init;
    s = (s & 0xffff) + (s >>> 16);
    return s === 0xffff;
  }

  /** The kernel's answer to a full table: gc what has expired, else early_drop a non-assured entry. */
  private makeRoom(h: number, now: number): boolean {
    const st = this.store;
    if (now - this.lastFullGc >= FULL_GC_INTERVAL) {
      this.lastFullGc = now;
      this.sweep(now);
      if (st.count < st.max) return true;
    }
    const n = st.count;
    if (n === 0) return false;
    let i = (h >>> 0) % n;
    for (let k = 0; k < EVICTION_RANGE && k < n; k++, i = (i + 1) % st.count) {
      const e = st.order[i]!;
      if (st.f[e * FSTRIDE + F_DEADLINE]! <= now) {
        this.remove(e);
        return true;
      }
      if (!(st.r[e * STRIDE + W_STATUS]! & IPS_ASSURED)) {
        this.remove(e);
        this.store.stats[S_EARLY_DROP]!++;
        return true;
      }
    }
    return false;
  }

  /** nf_conntrack_icmpv4_error for an ICMP error quoting a datagram. */
  private icmpError(p: NfPacketInfo, buf: Uint8Array, l4: number, end: number, now: number): number {
    const inner = l4 + 8;
    if (inner + 20 > end) return this.invalid(p, 'icmp error: quoted header truncated', true);
    if (rd16(buf, inner + 6) & 0x1fff) return this.invalid(p, 'icmp error: quotes a fragment', true);
    const dataoff = inner + (buf[inner]! & 15) * 4;
    if (dataoff > end) return this.invalid(p, 'icmp error: bogus quoted header', true);
    const proto = buf[inner + 9]!;
    const src = readI32(buf, inner + 12);
    const dst = readI32(buf, inner + 16);
    let sport = 0;
    let dport = 0;
    if (proto === IPPROTO_TCP || proto === IPPROTO_UDP) {
      if (dataoff + 4 > end) return this.invalid(p, 'icmp error: quoted ports truncated', true);
      sport = rd16(buf, dataoff);
      dport = rd16(buf, dataoff + 2);
    } else if (proto === IPPROTO_ICMP) {
      if (dataoff + 8 > end) return this.invalid(p, 'icmp error: quoted icmp header truncated', true);
      sport = rd16(buf, dataoff + 4);
      dport = (buf[dataoff]! << 8) | buf[dataoff + 1]!;
    }
    const inv = this.inv;
    if (!invertInto(inv, src, dst, proto, sport, dport)) return this.invalid(p, 'icmp error: quoted packet not invertible', true);
    const h = this.lookup(inv.src, inv.dst, inv.proto, inv.sport, inv.dport, now);
    if (h === 0) return this.invalid(p, 'icmp error: no connection for the quoted packet', true);
    const e = h >>> 1;
    const dir = h & 1;
    if (p.dst !== this.store.dst(e, dir)) return this.invalid(p, 'outer daddr != inner', true);
    p.ct = e;
    p.ctTable = this;
    p.ctDir = dir;
    p.ctState = CT_RELATED;
    p.ctStatus = this.store.r[e * STRIDE + W_STATUS]!;
    return VERDICT_ACCEPT;
  }
}

/** ICMP types that may open a connection (valid_new in nf_conntrack_proto_icmp.c). */
function icmpValidNew(type: number): boolean {
  return type === 8 || type === 13 || type === 15 || type === 17;
}

/** An established (or confirmed) connection's packet as the path cache replays it. */
class CtPathOp implements PathOp {
  constructor(
    readonly ct: Conntrack,
    private readonly e: number,
    private readonly id: number,
    private readonly dir: number,
    private readonly status: number,
    private readonly proto: number,
    private readonly len: number,
  ) {}

  share(): null {
    return null;
  }

  live(now: number, b: Uint8Array, l3: number): boolean {
    // A TCP segment's tracking reads its numbers (the IPv4 header has no options: the path cache's key).
    return this.ct.pathLive(this.e, this.id, this.status, now) &&
      (this.proto !== IPPROTO_TCP || this.ct.pathTcpLive(this.e, this.dir, b, l3 + 20, ((b[l3 + 2]! << 8) | b[l3 + 3]!) - 20));
  }

  hit(now: number): void {
    this.ct.pathHit(this.e, this.dir, this.proto, this.len, now);
  }

  warm(): number {
    return this.ct.pathWarm(this.e);
  }
}
