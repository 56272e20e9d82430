// The traversal cache of one namespace's netfilter: what traverse() did for
// a table at a hook, kept per key, as an OVS megaflow keeps a decision for
// every packet that agrees on the fields it read. The key of a table and
// hook is every packet field some rule reachable from that hook reads,
// under the union of the rules' masks (addresses, the mark and the
// connection's mark under the masks the rules give; interface names,
// protocol, ports, ICMP type, conntrack state and direction whole, ...): it
// is computed when the table is first traversed after a change. Packets
// that agree on it match the same rules, so a hit replays what the
// traversal did: the counters of each rule it matched and of the policy,
// bumped by this packet's length; its MARK, CONNMARK and CT targets, in
// order, run again on the live packet and connection (so what they write is
// exact); and its verdict with the rule, chain and number that decided.
//
// Not cached: the nat table (traversed for a connection's first packet
// only); a table and hook that can reach a match that does not say what it
// reads (NfMatch.reads) or a target other than a verdict, a jump, MARK,
// CONNMARK or CT; anything while a tracer is attached or the engine's fast
// path is off.
//
// Invalidation: any change to the ruleset flushes the whole cache at the
// next lookup. Every change, from iptables-restore to each iptables command
// (-Z too: it goes through the same atomic load), bumps Ruleset.generation.
// Conntrack changes nothing here: a connection's state, direction, status
// and mark are read into each packet's key.
import { applyEffect, type TraversalRecord, type TraversalResult, traverse } from './evaluate.js';
import { newPacketInfo, type CtMarks, type NfPacketInfo } from './packet-info.js';
import { RT_DST, RT_FRAG, RT_IN, RT_OUT, RT_PROTO, RT_SRC, type Rule } from './rule.js';
import type { Chain, Ruleset, Table } from './tables.js';
import { T_ACCEPT, T_CONNMARK, T_CONTINUE, T_CT, T_DROP, T_GOTO, T_JUMP, T_MARK, T_REJECT, T_RETURN } from './targets.js';
import { fmix30 } from '../datapath/hash.js';
import type { PathOp, PathRecorder } from '../datapath/path-cache.js';

/** Each namespace's cache cells (metrics catalog IPTABLES_CACHE_COUNTERS). */
export const IPTABLES_CACHE_CELLS = ['fastpath_iptables_hits', 'fastpath_iptables_misses', 'fastpath_iptables_invalidations', 'fastpath_iptables_entries'] as const;
const HITS = 0, MISSES = 1, INVALIDATIONS = 2, ENTRIES = 3;

/** Slots (entries at most); a full probe sequence evicts. */
export const NFC_SLOTS = 1 << 12;
const PROBE = 8;

/** What turns the cache off: the engine (its fast path off, or a trace running). */
export interface FastpathSwitch {
  readonly fastpath: boolean;
  readonly tracer: unknown;
  /** A pass being recorded for the engine's path cache (null: none). */
  readonly recording?: PathRecorder | null;
}

/** The packet fields a set of rules reads (NfMatch.reads adds a match's). */
export class NfReads {
  src = 0;
  dst = 0;
  inIf = false;
  outIf = false;
  proto = false;
  frag = false;
  sport = false;
  dport = false;
  tcpFlags = 0;
  icmp = false;
  ctState = false;
  ctDir = false;
  ctStatus = 0;
  mark = 0;
  ctmark = 0;
  /** Whether the packet has a connection (connmark, CONNMARK and CT depend on it). */
  ct = false;
}

/** A table and hook's key mask, the fields packed as TraversalEntry packs them (int32). */
class KeySpec {
  /** False: some rule the hook reaches cannot be cached. */
  on = true;
  src = 0;
  dst = 0;
  l4 = 0;
  ports = 0;
  ctw = 0;
  ctStatus = 0;
  mark = 0;
  ctmark = 0;
  inIf = false;
  outIf = false;
  /** The entry last used here, tried before hashing (a hook's rules often read little, so few keys). */
  last: TraversalEntry | null = null;
}

/**
 * One key (int32 words: l4 = proto | fragment << 8 | ICMP type << 16 | code
 * << 24, ports = sport << 16 | dport, ctw = ctstate | ctdir << 8 | has a
 * connection << 9 and << 10 | TCP flags << 16) and what the traversal did.
 */
class TraversalEntry implements TraversalRecord {
  th = -1;
  hash = 0;
  src = 0;
  dst = 0;
  l4 = 0;
  ports = 0;
  ctw = 0;
  ctStatus = 0;
  mark = 0;
  ctmark = 0;
  inIf = '';
  outIf = '';
  ev = 0;
  rule: Rule | null = null;
  chain: Chain | null = null;
  ruleNum = 0;
  readonly cells: Float64Array[] = [];
  readonly at: number[] = [];
  readonly effects: Rule[] = [];
}

export class TraversalCache {
  /** Null: always on (a Netfilter outside an engine). */
  sw: FastpathSwitch | null = null;
  private v: Float64Array = new Float64Array(IPTABLES_CACHE_CELLS.length);
  private base = 0;
  private slots: (TraversalEntry | null)[] | null = null;
  private count = 0;
  /** Per table (raw, mangle, filter) and hook: null until first used after a change. */
  private readonly specs: (KeySpec | null)[] = new Array(15).fill(null);
  private gen: number;
  /** The key being looked up. */
  private readonly k = new TraversalEntry();

  constructor(private readonly rs: Ruleset) {
    this.gen = rs.generation;
  }

  /** Count into `v[base ..]` (IPTABLES_CACHE_CELLS) from now on. */
  countInto(v: Float64Array, base: number): void {
    this.v = v;
    this.base = base;
    v[base + ENTRIES] = this.count;
  }

  get on(): boolean {
    const sw = this.sw;
    return sw === null || (sw.fastpath && sw.tracer === null);
  }

  /** traverse() through the cache (`t` not nat). */
  traverse(t: Table, hook: number, p: NfPacketInfo, res: TraversalResult): number {
    if (this.rs.generation !== this.gen) this.flush();
    const th = (t.name === 'raw' ? 0 : t.name === 'mangle' ? 5 : 10) + hook;
    const s = (this.specs[th] ??= keySpec(t, hook));
    const rec = this.sw === null ? null : this.sw.recording ?? null;
    if (!s.on) {
      rec?.fail();
      return traverse(t, hook, p, res, null, null);
    }
    const k = this.k;
    k.src = p.src & s.src;
    k.dst = p.dst & s.dst;
    k.l4 = (p.proto | (p.fragment ? 0x100 : 0) | (p.icmpType << 16) | (p.icmpCode << 24)) & s.l4;
    k.ports = ((p.sport << 16) | p.dport) & s.ports;
    k.ctw = (p.ctState | (p.ctDir << 8) | (p.ct !== 0 ? 0x200 : 0) | (p.ctTable !== null ? 0x400 : 0) | (p.tcpFlags << 16)) & s.ctw;
    k.ctStatus = p.ctStatus & s.ctStatus;
    k.mark = p.mark & s.mark;
    k.ctmark = s.ctmark !== 0 && p.ct !== 0 && p.ctTable !== null ? p.ctTable.mark(p.ct) & s.ctmark : 0;
    k.inIf = s.inIf ? p.inIf ?? '' : '';
    k.outIf = s.outIf ? p.outIf ?? '' : '';
    let e = s.last;
    if (e === null || !sameKey(e, k, th)) {
      e = this.find(k, th);
      if (e === null) {
        this.v[this.base + MISSES]!++;
        rec?.fail();
        return this.fill(t, hook, p, res, s, th);
      }
      s.last = e;
    }
    this.v[this.base + HITS]!++;
    const cells = e.cells, at = e.at, len = p.len;
    for (let i = 0; i < cells.length; i++) {
      const c = cells[i]!, a = at[i]!;
      c[a]!++;
      c[a + 1]! += len;
    }
    const fx = e.effects, mark0 = p.mark;
    for (let i = 0; i < fx.length; i++) applyEffect(fx[i]!, p);
    if (rec !== null) this.recordPath(rec, e, len, p, mark0, s.ctmark, k.ctmark);
    res.rule = e.rule;
    res.chain = e.chain;
    res.ruleNum = e.ruleNum;
    return e.ev;
  }

  /**
   * The path cache records a hit on `e`: its counters as flat cells, valid
   * while the ruleset is unchanged (the same packet then matches the same
   * rules). A CONNMARK effect writes the connection: not replayed.
   */
  private recordPath(rec: PathRecorder, e: TraversalEntry, len: number, p: NfPacketInfo, mark0: number, ctmask: number, ctmark: number): void {
    const connmark = e.effects.filter((r) => r.kind === T_CONNMARK);
    if (connmark.length > 0 && e.effects.length !== connmark.length) return rec.fail(); // a MARK before a CONNMARK: not replayed
    rec.op(new NfPathOp(this.rs, this.rs.generation, e.cells.slice(), e.at.slice(), len));
    const ct = p.ctTable !== null ? p.ct : 0;
    if (connmark.length === 0 && (ctmask === 0 || ct === 0)) return;
    if (ct === 0) return rec.fail();
    // A hit checks every op live before any replays (PathCache.usable): an earlier traversal's CONNMARK effects on
    // this connection in the pass (a --set-xmark that toggles) would not be in the mark this one's check reads.
    for (const o of rec.ops) if (o instanceof CtMarkPathOp && o.writes(ct, p.ctTable!)) return rec.fail();
    // What the traversal read of the connection's mark (before its effects), and what a replay of its CONNMARK effects starts from.
    // Flows recorded through the same rules share one array of them: a hit's replay then reads no array of the
    // flow's own, one cold cache line fewer (docs/performance-log.md, "Stop 31").
    const fx = sameItems(connmark, this.lastEffects) ? this.lastEffects : (this.lastEffects = connmark);
    rec.op(new CtMarkPathOp(ct, p.ctTable!, mark0, ctmask, ctmark, fx));
  }

  /** The CONNMARK effects the last CtMarkPathOp replays (never changed once made). */
  private lastEffects: readonly Rule[] = [];

  /** Every entry goes (the ruleset changed). */
  flush(): void {
    this.gen = this.rs.generation;
    this.specs.fill(null);
    if (this.count === 0) return;
    this.slots!.fill(null);
    this.v[this.base + INVALIDATIONS]! += this.count;
    this.count = 0;
    this.v[this.base + ENTRIES] = 0;
  }

  /** The entry holding key `k` (its hash set here, for fill()), or null. */
  private find(k: TraversalEntry, th: number): TraversalEntry | null {
    const h = (k.hash = hashKey(k, th));
    const slots = this.slots;
    if (slots === null) return null;
    for (let i = 0; i < PROBE; i++) {
      const e = slots[(h + i) & (NFC_SLOTS - 1)]!;
      if (e === null) return null;
      if (e.hash === h && sameKey(e, k, th)) return e;
    }
    return null;
  }

  /** A miss: the slow path, recorded into a new entry (or the one it evicts). */
  private fill(t: Table, hook: number, p: NfPacketInfo, res: TraversalResult, s: KeySpec, th: number): number {
    const k = this.k, e = this.slotFor(k.hash);
    e.th = th;
    e.hash = k.hash;
    e.src = k.src;
    e.dst = k.dst;
    e.l4 = k.l4;
    e.ports = k.ports;
    e.ctw = k.ctw;
    e.ctStatus = k.ctStatus;
    e.mark = k.mark;
    e.ctmark = k.ctmark;
    e.inIf = k.inIf;
    e.outIf = k.outIf;
    e.cells.length = 0;
    e.at.length = 0;
    e.effects.length = 0;
    const ev = traverse(t, hook, p, res, null, e);
    e.ev = ev;
    e.rule = res.rule;
    e.chain = res.chain;
    e.ruleNum = res.ruleNum;
    s.last = e;
    return ev;
  }

  /** An empty slot of the probe sequence, else its first one's entry (evicted and reused, as an EMC evicts). */
  private slotFor(h: number): TraversalEntry {
    const slots = (this.slots ??= new Array<TraversalEntry | null>(NFC_SLOTS).fill(null));
    for (let i = 0; i < PROBE; i++) {
      const at = (h + i) & (NFC_SLOTS - 1);
      if (slots[at] !== null) continue;
      const e = (slots[at] = new TraversalEntry());
      this.v[this.base + ENTRIES] = ++this.count;
      return e;
    }
    return slots[h & (NFC_SLOTS - 1)]!;
  }
}

/**
 * The fields the rules of `t` that `hook` reaches read. MARK, CONNMARK and
 * the mark matches work bit by bit, each bit of the mark and the
 * connection's mark depending only on the same bit of both before: so the
 * bits the matches read, taken from both marks when CONNMARK moves bits
 * between them, decide which rules match.
 */
function keySpec(t: Table, hook: number): KeySpec {
  const s = new KeySpec();
  if (t.hookChains[hook] === null) {
    s.on = false;
    return s;
  }
  const k = new NfReads();
  let markFlow = false;
  for (const c of t.chains.values()) {
    if (!(c.hookMask & (1 << hook))) continue;
    for (const r of c.rules) {
      const test = r.test;
      if (test & RT_SRC) k.src |= r.smsk;
      if (test & RT_DST) k.dst |= r.dmsk;
      if (test & RT_IN) k.inIf = true;
      if (test & RT_OUT) k.outIf = true;
      if (test & RT_PROTO) k.proto = true;
      if (test & RT_FRAG) k.frag = true;
      for (const m of r.live) {
        if (m.reads === undefined) s.on = false;
        else m.reads(k);
      }
      switch (r.kind) {
        case T_CONNMARK:
          markFlow = true;
          k.ct = true;
          break;
        case T_CT:
          k.ct = true;
          break;
        case T_CONTINUE: case T_ACCEPT: case T_DROP: case T_REJECT: case T_RETURN: case T_JUMP: case T_GOTO: case T_MARK:
          break;
        default:
          s.on = false;
      }
    }
  }
  if (markFlow) k.mark = k.ctmark = k.mark | k.ctmark;
  s.src = k.src;
  s.dst = k.dst;
  s.l4 = (k.proto ? 0xff : 0) | (k.frag ? 0x100 : 0) | (k.icmp ? 0xffff0000 : 0);
  s.ports = (k.sport ? 0xffff0000 : 0) | (k.dport ? 0xffff : 0);
  s.ctw = (k.ctState ? 0xff : 0) | (k.ctDir ? 0x100 : 0) | (k.ct ? 0x600 : 0) | (k.tcpFlags << 16);
  s.ctStatus = k.ctStatus;
  s.mark = k.mark;
  s.ctmark = k.ctmark;
  s.inIf = k.inIf;
  s.outIf = k.outIf;
  return s;
}

function sameKey(e: TraversalEntry, k: TraversalEntry, th: number): boolean {
  return e.th === th && e.src === k.src && e.dst === k.dst && e.l4 === k.l4 && e.ports === k.ports && e.ctw === k.ctw &&
    e.ctStatus === k.ctStatus && e.mark === k.mark && e.ctmark === k.ctmark && e.inIf === k.inIf && e.outIf === k.outIf;
}

/** FNV-1a over the key's words and names, then fmix30. */
function hashKey(k: TraversalEntry, th: number): number {
  let h = Math.imul(0x811c9dc5 ^ th, 0x01000193);
  h = Math.imul(h ^ k.src, 0x01000193);
  h = Math.imul(h ^ k.dst, 0x01000193);
  h = Math.imul(h ^ k.l4, 0x01000193);
  h = Math.imul(h ^ k.ports, 0x01000193);
  h = Math.imul(h ^ k.ctw, 0x01000193);
  h = Math.imul(h ^ k.ctStatus, 0x01000193);
  h = Math.imul(h ^ k.mark, 0x01000193);
  h = Math.imul(h ^ k.ctmark, 0x01000193);
  const a = k.inIf, b = k.outIf;
  for (let i = 0; i < a.length; i++) h = Math.imul(h ^ a.charCodeAt(i), 0x01000193);
  h = Math.imul(h ^ 0xff, 0x01000193);
  for (let i = 0; i < b.length; i++) h = Math.imul(h ^ b.charCodeAt(i), 0x01000193);
  return fmix30(h);
}

/** A traversal as the path cache replays it: its rule and policy counters, while the ruleset is unchanged. */
class NfPathOp implements PathOp {
  constructor(
    private readonly rs: Ruleset,
    private readonly gen: number,
    private readonly cells: Float64Array[],
    private readonly at: number[],
    private readonly len: number,
  ) {}

  share(id: (o: object) => number): string {
    return `nf ${id(this.rs)} ${this.gen} ${this.cells.map(id).join(',')} ${this.at.join(',')} ${this.len}`;
  }

  /** The ruleset changes only by control. */
  readonly steady = true;

  live(): boolean {
    return this.rs.generation === this.gen;
  }

  adds(): [Float64Array, number, number][] {
    return this.cells.flatMap((c, i): [Float64Array, number, number][] => [[c, this.at[i]!, 1], [c, this.at[i]! + 1, this.len]]);
  }

  hit(): void {
    const cells = this.cells, at = this.at, len = this.len;
    for (let i = 0; i < cells.length; i++) {
      const c = cells[i]!, a = at[i]!;
      c[a]!++;
      c[a + 1]! += len;
    }
  }
}

/**
 * The connection's side of a recorded traversal: the bits of its mark the
 * rules read (unchanged, or the same packet may match other rules), and its
 * CONNMARK effects, run again from the packet mark they started with.
 */
class CtMarkPathOp implements PathOp {
  constructor(private readonly ct: number, private readonly table: CtMarks, private readonly mark0: number, private readonly mask: number, private readonly ctmark: number, private readonly effects: readonly Rule[]) {}

  share(): null {
    return null;
  }

  /** Its replay writes connection `ct`'s mark in `table` (CONNMARK effects). */
  writes(ct: number, table: CtMarks): boolean {
    return this.ct === ct && this.table === table && this.effects.length !== 0;
  }

  live(): boolean {
    return (this.table.mark(this.ct) & this.mask) === this.ctmark;
  }

  hit(): void {
    // What applyEffect() reads and writes of a packet for a CONNMARK effect (the packet's own mark is the output's),
    // in an info object as the namespaces' own: an object of another shape made applyEffect polymorphic.
    const fx = this.effects, p = REPLAY_INFO;
    p.ct = this.ct;
    p.ctTable = this.table;
    p.mark = this.mark0;
    for (let i = 0; i < fx.length; i++) applyEffect(fx[i]!, p);
  }
}

/** CtMarkPathOp's packet (one for all: a replay runs to its end). */
const REPLAY_INFO: NfPacketInfo = newPacketInfo();

function sameItems<T>(a: readonly T[], b: readonly T[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
