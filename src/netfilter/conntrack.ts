// The connection tracking table of one namespace (nf_conntrack), with the
// per-protocol trackers for TCP, UDP, ICMP and other protocols, ICMP errors
// RELATED to the connection they quote, a bounded size with early drop, and
// lazy expiry on lookup plus a gc sweep. Time is emulated: `now` in ms.

import { CtEntry, CtTuple, invertInto, tupleHash } from './conntrack-entry.js';
import {
  decodeSegment, type TcpOutcome, type TcpSegment, type TcpSettings, type TcpTimeouts,
  TCP_DEFAULT_TIMEOUTS, TCP_INVALID, TCP_REPEAT, tcpHeaderError, tcpNew, tcpPacket, tcpSettings,
} from './conntrack-tcp.js';
import {
  CT_ESTABLISHED, CT_INVALID, CT_NEW, CT_RELATED, CT_UNTRACKED, HOOK_PREROUTING,
  IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, IPS_ASSURED, IPS_CONFIRMED, IPS_DYING, IPS_EXPECTED, IPS_SEEN_REPLY,
  IPS_SRC_NAT_DONE, VERDICT_ACCEPT, VERDICT_DROP, icmpIsError,
} from './constants.js';
import { type NatLookup, type Tuple5, natSetupInfo } from './nat.js';
import { icmpChecksumOk } from './nat-rewrite.js';
import { type NfPacketInfo, readU32 } from './packet-info.js';
import { type NfRandom, seededRandom } from './random.js';
import type { NatRange } from './targets.js';
import { checksum, pseudoHeaderSum } from '../wire/checksum.js';

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
}

/** Counters as `conntrack -S` shows them. */
export interface ConntrackStats {
  found: number;
  invalid: number;
  insert: number;
  insert_failed: number;
  drop: number;
  early_drop: number;
  error: number;
  search_restart: number;
}

/** How often (emulated ms) a full table may trigger a gc sweep, as the kernel's gc worker would have run. */
const FULL_GC_INTERVAL = 1000;
const EVICTION_RANGE = 8;

function rd16(b: Uint8Array, o: number): number {
  return (b[o]! << 8) | b[o + 1]!;
}

export class Conntrack implements NatLookup {
  max: number;
  readonly checksum: boolean;
  readonly acct: boolean;
  readonly timeouts: CtTimeouts;
  readonly tcp: TcpSettings;
  readonly stats: ConntrackStats = { found: 0, invalid: 0, insert: 0, insert_failed: 0, drop: 0, early_drop: 0, error: 0, search_restart: 0 };
  /** INVALID packets by reason (the kernel's nf_log_invalid messages). */
  readonly invalidReasons = new Map<string, number>();
  /** Why the last DROP verdict of in()/confirm() was given. */
  lastDropReason: string | null = null;
  /** Confirmed entries, dense (conntrack -L order). */
  readonly entries: CtEntry[] = [];
  private readonly hash = new Map<number, CtTuple>();
  private readonly bysrc = new Map<number, CtEntry>();
  private readonly rng: NfRandom;
  private nextId = 1;
  private now = 0;
  private lastFullGc = -Infinity;
  private readonly seg: TcpSegment = { seq: 0, ack: 0, win: 0, flags: 0, off: 0, doff: 0, end: 0, buf: new Uint8Array(0) };
  private readonly outcome: TcpOutcome = { timeout: -1, kill: false, reason: null };
  private readonly inv: Tuple5 = { src: 0, dst: 0, proto: 0, sport: 0, dport: 0 };

  constructor(opts: ConntrackOptions = {}) {
    this.max = opts.max ?? 262144;
    this.checksum = opts.checksum ?? true;
    this.acct = opts.acct ?? false;
    this.timeouts = { ...CT_DEFAULT_TIMEOUTS, ...opts.timeouts };
    this.tcp = tcpSettings(this.timeouts, opts.tcpBeLiberal ?? true, opts.tcpLoose ?? true, opts.tcpMaxRetrans ?? 3);
    this.rng = opts.random ?? seededRandom(0x5eed);
  }

  get count(): number {
    return this.entries.length;
  }

  random(): number {
    return this.rng();
  }

  /** The tuple node matching exactly, or null; expired entries found on the way are removed. */
  find(src: number, dst: number, proto: number, sport: number, dport: number, now: number): CtTuple | null {
    let n = this.hash.get(tupleHash(src, dst, proto, sport, dport)) ?? null;
    while (n !== null) {
      if (n.equals(src, dst, proto, sport, dport)) {
        if (n.entry.deadline <= now) {
          this.destroy(n.entry);
          return null;
        }
        return n;
      }
      n = n.next;
    }
    return null;
  }

  tupleTaken(src: number, dst: number, proto: number, sport: number, dport: number, ignored: CtEntry): boolean {
    const n = this.find(src, dst, proto, sport, dport, this.now);
    return n !== null && n.entry !== ignored;
  }

  bySource(src: number, sport: number, proto: number): CtEntry | null {
    return this.bysrc.get(srcKey(src, sport, proto)) ?? null;
  }

  /** Binds NAT for `e` (nf_nat_setup_info); `e` is normally not yet confirmed. */
  setupNat(e: CtEntry, range: NatRange, manip: number, now: number): void {
    this.now = now;
    const confirmed = e.index >= 0;
    if (confirmed) this.unhash(e.reply);
    natSetupInfo(e, range, manip, this);
    if (confirmed) this.hashIn(e.reply);
  }

  /**
   * nf_conntrack_in: attaches the packet to its connection (creating one for a
   * NEW packet) and sets p.ct, p.ctDir, p.ctState and p.ctStatus. Returns
   * VERDICT_DROP only when the table is full (lastDropReason says so);
   * packets conntrack cannot make sense of are INVALID, not dropped.
   */
  in(p: NfPacketInfo, hook: number, now: number): number {
    this.now = now;
    p.ct = null;
    p.ctDir = 0;
    p.ctStatus = 0;
    if (p.ctState === CT_UNTRACKED) return VERDICT_ACCEPT;
    p.ctState = CT_INVALID;
    const buf = p.buf;
    if (buf === null) return this.invalid(p, 'no packet bytes');
    if (p.fragment) return this.invalid(p, 'fragment (no reassembly)');
    const end = p.l3Off + p.len;
    const l4 = p.l4Off;
    const l4len = end - l4;
    if (end > buf.length || l4len < 0) return this.invalid(p, 'truncated packet');
    const proto = p.proto;
    let sport = 0;
    let dport = 0;
    let icmpType = 0;
    if (proto === IPPROTO_ICMP) {
      if (l4len < 8) return this.invalid(p, 'short packet', true);
      if (this.checksum && hook === HOOK_PREROUTING && !icmpChecksumOk(buf, l4, l4len)) return this.invalid(p, 'bad hw icmp checksum', true);
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

    for (let attempt = 0; attempt < 2; attempt++) {
      const h = this.find(p.src, p.dst, proto, sport, dport, now);
      let e: CtEntry;
      let dir: number;
      let state: number;
      if (h === null) {
        const inv = this.inv;
        if (!invertInto(inv, p.src, p.dst, proto, sport, dport)) return this.invalid(p, "can't invert tuple");
        if (this.max > 0 && this.entries.length >= this.max && !this.makeRoom(inv.src ^ inv.dst, now)) {
          this.stats.drop++;
          this.lastDropReason = 'conntrack_full';
          return VERDICT_DROP;
        }
        e = new CtEntry(this.nextId++);
        e.orig.set(p.src, p.dst, proto, sport, dport);
        e.reply.set(inv.src, inv.dst, proto, inv.sport, inv.dport);
        if (proto === IPPROTO_UDP) e.udpStreamTs = now + 2000;
        dir = 0;
        state = CT_NEW;
      } else {
        this.stats.found++;
        e = h.entry;
        dir = h.dir;
        state = dir === 1 || e.status & IPS_SEEN_REPLY ? CT_ESTABLISHED : e.status & IPS_EXPECTED ? CT_RELATED : CT_NEW;
      }
      const confirmed = e.index >= 0;
      let timeout = -1;
      let kill = false;
      if (proto === IPPROTO_TCP) {
        const err = tcpHeaderError(buf, l4, l4len);
        if (err) return this.invalid(p, err);
        if (this.checksum && hook === HOOK_PREROUTING && !this.l4ChecksumOk(p, buf, l4, l4len)) return this.invalid(p, 'bad checksum');
        const seg = this.seg;
        decodeSegment(seg, buf, l4, l4len);
        if (!confirmed && e.tcp === null && !tcpNew(e, seg, this.tcp)) return this.invalid(p, 'invalid new');
        const res = tcpPacket(e, dir, seg, this.tcp, this.outcome);
        if (res === TCP_REPEAT) {
          // An attempt to reopen a closed connection: forget it and look up again.
          this.destroy(e);
          this.stats.search_restart++;
          continue;
        }
        if (res === TCP_INVALID) return this.invalid(p, this.outcome.reason ?? 'invalid');
        timeout = this.outcome.timeout;
        kill = this.outcome.kill;
      } else if (proto === IPPROTO_UDP) {
        if (l4len < 8) return this.invalid(p, 'truncated/malformed packet');
        const ulen = rd16(buf, l4 + 4);
        if (ulen > l4len || ulen < 8) return this.invalid(p, 'truncated/malformed packet');
        if (this.checksum && hook === HOOK_PREROUTING && rd16(buf, l4 + 6) !== 0 && !this.l4ChecksumOk(p, buf, l4, l4len)) {
          return this.invalid(p, 'bad checksum');
        }
        if (e.status & IPS_SEEN_REPLY) {
          // Replied and still active two seconds later: a stream, assured.
          if (now > e.udpStreamTs) {
            timeout = this.timeouts.udp_stream;
            e.status |= IPS_ASSURED;
          } else timeout = this.timeouts.udp;
        } else timeout = this.timeouts.udp;
      } else if (proto === IPPROTO_ICMP) {
        if (!confirmed && !icmpValidNew(icmpType)) return this.invalid(p, `can't create new conn with type ${icmpType}`);
        timeout = this.timeouts.icmp;
      } else {
        timeout = this.timeouts.generic;
      }
      if (timeout >= 0) {
        e.deadline = now + timeout * 1000;
        if (dir === 0) {
          e.pkts0++;
          e.bytes0 += p.len;
        } else {
          e.pkts1++;
          e.bytes1 += p.len;
        }
      }
      if (dir === 1) e.status |= IPS_SEEN_REPLY;
      if (kill) {
        if (e.index >= 0) this.destroy(e);
        else e.status |= IPS_DYING;
      }
      p.ct = e;
      p.ctDir = dir;
      p.ctState = state;
      p.ctStatus = e.status;
      return VERDICT_ACCEPT;
    }
    return this.invalid(p, 'repeat');
  }

  /** __nf_conntrack_confirm: inserts a new entry when its first packet leaves (POSTROUTING/INPUT). */
  confirm(p: NfPacketInfo, now: number): number {
    this.now = now;
    const e = p.ct;
    if (e === null || e.index >= 0 || e.status & IPS_CONFIRMED) return VERDICT_ACCEPT;
    if (e.status & IPS_DYING) return VERDICT_ACCEPT;
    const o = e.orig;
    const r = e.reply;
    if (this.find(o.src, o.dst, o.proto, o.sport, o.dport, now) || this.find(r.src, r.dst, r.proto, r.sport, r.dport, now)) {
      this.stats.insert_failed++;
      this.stats.drop++;
      this.lastDropReason = 'conntrack_insert_failed';
      return VERDICT_DROP;
    }
    this.hashIn(o);
    this.hashIn(r);
    e.index = this.entries.length;
    this.entries.push(e);
    e.status |= IPS_CONFIRMED;
    if (e.status & IPS_SRC_NAT_DONE) {
      const k = srcKey(o.src, o.sport, o.proto);
      e.bysrcHash = k;
      e.bysrcNext = this.bysrc.get(k) ?? null;
      this.bysrc.set(k, e);
    }
    this.stats.insert++;
    p.ctStatus = e.status;
    return VERDICT_ACCEPT;
  }

  /** Removes an entry (timeout, RST, conntrack -D, early drop). */
  destroy(e: CtEntry): void {
    e.status |= IPS_DYING;
    if (e.index < 0) return;
    this.unhash(e.orig);
    this.unhash(e.reply);
    const last = this.entries.pop()!;
    if (last !== e) {
      this.entries[e.index] = last;
      last.index = e.index;
    }
    e.index = -1;
    if (e.status & IPS_SRC_NAT_DONE) {
      let head = this.bysrc.get(e.bysrcHash) ?? null;
      if (head === e) {
        if (e.bysrcNext) this.bysrc.set(e.bysrcHash, e.bysrcNext);
        else this.bysrc.delete(e.bysrcHash);
      } else {
        while (head && head.bysrcNext !== e) head = head.bysrcNext;
        if (head) head.bysrcNext = e.bysrcNext;
      }
      e.bysrcNext = null;
    }
  }

  /** Removes every expired entry; returns how many. */
  gc(now: number): number {
    this.now = now;
    let n = 0;
    for (let i = this.entries.length - 1; i >= 0; i--) {
      const e = this.entries[i];
      if (e && e.deadline <= now) {
        this.destroy(e);
        n++;
      }
    }
    return n;
  }

  /** conntrack -F. */
  flush(): void {
    for (let i = this.entries.length - 1; i >= 0; i--) this.destroy(this.entries[i]!);
  }

  /** Seconds left before `e` expires, as conntrack -L prints it. */
  secondsLeft(e: CtEntry, now: number): number {
    return Math.max(0, Math.floor((e.deadline - now) / 1000));
  }

  private invalid(p: NfPacketInfo, reason: string, error = false): number {
    p.ct = null;
    p.ctState = CT_INVALID;
    this.stats.invalid++;
    if (error) this.stats.error++;
    this.invalidReasons.set(reason, (this.invalidReasons.get(reason) ?? 0) + 1);
    return VERDICT_ACCEPT;
  }

  private l4ChecksumOk(p: NfPacketInfo, buf: Uint8Array, l4: number, l4len: number): boolean {
    return checksum(buf, l4, l4len, pseudoHeaderSum(p.src, p.dst, p.proto, l4len)) === 0;
  }

  /** The kernel's answer to a full table: gc what has expired, else early_drop a non-assured entry. */
  private makeRoom(h: number, now: number): boolean {
    if (now - this.lastFullGc >= FULL_GC_INTERVAL) {
      this.lastFullGc = now;
      this.gc(now);
      if (this.entries.length < this.max) return true;
    }
    const n = this.entries.length;
    if (n === 0) return false;
    let i = (h >>> 0) % n;
    for (let k = 0; k < EVICTION_RANGE && k < n; k++, i = (i + 1) % this.entries.length) {
      const e = this.entries[i]!;
      if (e.deadline <= now) {
        this.destroy(e);
        return true;
      }
      if (!(e.status & IPS_ASSURED)) {
        this.destroy(e);
        this.stats.early_drop++;
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
    const src = readU32(buf, inner + 12);
    const dst = readU32(buf, inner + 16);
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
    const h = this.find(inv.src, inv.dst, inv.proto, inv.sport, inv.dport, now);
    if (h === null) return this.invalid(p, 'icmp error: no connection for the quoted packet', true);
    const e = h.entry;
    if (p.dst !== e.tuple[h.dir].dst) return this.invalid(p, 'outer daddr != inner', true);
    p.ct = e;
    p.ctDir = h.dir;
    p.ctState = CT_RELATED;
    p.ctStatus = e.status;
    return VERDICT_ACCEPT;
  }

  private hashIn(n: CtTuple): void {
    const h = tupleHash(n.src, n.dst, n.proto, n.sport, n.dport);
    n.hash = h;
    n.next = this.hash.get(h) ?? null;
    this.hash.set(h, n);
  }

  private unhash(n: CtTuple): void {
    const head = this.hash.get(n.hash);
    if (head === undefined) return;
    if (head === n) {
      if (n.next) this.hash.set(n.hash, n.next);
      else this.hash.delete(n.hash);
    } else {
      let q: CtTuple | null = head;
      while (q && q.next !== n) q = q.next;
      if (q) q.next = n.next;
    }
    n.next = null;
  }
}

function srcKey(src: number, sport: number, proto: number): number {
  return tupleHash(src, 0, proto, sport, 0);
}

/** ICMP types that may open a connection (valid_new in nf_conntrack_proto_icmp.c). */
function icmpValidNew(type: number): boolean {
  return type === 8 || type === 13 || type === 15 || type === 17;
}
