// The per-bridge translation cache, OVS's megaflow cache: an entry holds
// what Xlate did for one packet, recorded as a list of primitive steps
// (table hits to credit, fdb refreshes, header rewrites, snapshots,
// outputs) that Xlate replays, and it serves every packet that agrees with
// that one on each key bit the translation read or wrote (its mask: the
// masks of the classifier subtables each lookup probed, the fields actions
// and NORMAL consulted, prerequisites, every bit written), as OVS
// un-wildcards a megaflow. The bench's 10 k UDP flows differ only in bits no
// table reads, so they share one entry per bridge crossing, hot in the CPU
// caches (an exact-match cache kept 60 k cold entries and lost to the slow
// path). Entries with the same mask form a group, an open-addressed hash
// table on the masked words; a lookup probes each group.
//
// Besides the key and the packet a step reads the flow tables, the fdb and
// the port set. xlate-deps.ts removes precisely the entries a change there
// can affect. Timeouts (flow idle/hard, fdb aging) change nothing until
// something expires, so a hit checks them live.
//
// As OVS's revalidators delete a datapath flow idle for more than
// other_config:max-idle (revalidate(): the last hit, or its creation if
// never hit, older than now - max_idle), an entry idle that long leaves:
// at a periodic sweep (sweep(), from the bridge's tick, as often as the
// revalidators dump) and before the entries are listed (expireIdle()), so
// dump-flows never shows one OVS would have deleted. Its next packet misses.
//
// Through a patch port (a translation's one output there, its only one or
// one of a flood's) the translation goes on in the peer bridge within the
// same entry, as ofproto-dpif-xlate translates a patch output (one xlate,
// one megaflow); the peer's steps follow all of the first bridge's, whose
// outputs leave first (dump-flows prints the peer's actions where the patch
// output is, as OVS translates them). The entry then has a segment per bridge, each with its
// steps, fdb lookups and ports, indexed by that bridge's xlate-deps, so a
// change on either bridge removes it. The mask, on the first bridge's
// arrival key, holds every bit either bridge read or wrote: what the peer
// reads is either a bit nothing changed on the way (the same bit of the
// arrival key) or one the first bridge or the crossing set (in_port, VLAN,
// registers, tunnel: fixed by the masked bits that set them).
import { K, type FlowKey } from './flow-key.js';
import type { FlowEntry, FlowTable, FlowTables } from './flow-table.js';
import type { FdbEntry, MacLearning } from './fdb.js';
import type { OvsPort } from './ovs-port.js';
import type { LearnProg } from './learn-exec.js';
import type { DropReason } from '../datapath/drop-reasons.js';
import type { Stats } from '../datapath/stats.js';
import { FC } from '../datapath/stats.js';

const W = K.WORDS;

// Recorded steps, replayed in order.
/** beforeChange(): the pending output keeps the packet as it is now. */
export const EV_SNAP = 0;
/** applyChanges(arg): write dirty key fields into the packet. */
export const EV_APPLY = 1;
/** Push a VLAN header with TPID arg. */
export const EV_PUSH = 2;
/** Output to `port` with flow TCI arg (-1: as is). */
export const EV_OUTPUT = 3;
/** A table lookup (arg: table id; snapshot: the key looked up): the table and flow (the step's refs) are credited by XlateCache.pushStats. */
export const EV_LOOKUP = 4;
/** NORMAL's learning of the source MAC (a refresh of the fdb entry of quadruple arg). */
export const EV_LEARN = 5;
/** The end of a segment: its other outputs leave, its output to patch port refs[2i] passes to the peer bridge, whose segment arg follows. */
export const EV_CROSS = 6;

/** A fragment dropped under set-frags drop (arg: table id; refs: the table): credited as a lookup that matched, no flow's. */
export const EV_FRAG_DROP = 7;

/**
 * learn() (arg: the learned flow's table; refs: the LearnProg; snapshot: the
 * key it builds the flow from, whose bits it reads are in the megaflow, as
 * OVS's learn_mask puts them): run again on a hit, refreshing the learned
 * flow (or installing it again) as the slow path does for every packet.
 */
export const EV_FLOW_LEARN = 8;

/** fdb quadruple port of a lookup that found nothing (NORMAL flooded). */
export const FDB_ABSENT = -1;

// Layout of XcEntry.code: one contiguous array per entry (on a hit memory
// latency, not arithmetic, is what costs). A key (the arrival key, each
// snapshot) is stored as its group's masked words only, in group order.
/** code[0..nW): the arrival key's masked words. Then, at `h = nW`: */
const C_NEV = 0; // steps
const C_LOADS = 1; // offset of the load table
const C_NFDB = 2; // fdb quadruples
const C_NTIMED = 3; // timed flows at refs[2 * nEv ...]
const C_NPORT = 4; // ofports depended on
const C_HDR = 5; // then fdb quadruples (hi, lo, vlan, port), ofports, steps (op, arg, snapshot offset), snapshots, loads
// A replay brings the key from one snapshot to the next by the words that
// differ (a load: count, then (word index in group order, value) pairs)
// instead of every masked word: on the seed path a load sets 1 to 5 of 8 to
// 12 words (5 % less CPU a packet than loading every word). The load table
// has, per step and then for the final key, the offset of its load, -1 for
// none (lookups and learn steps read no key; an unchanged key needs none).

let nextGroupUid = 0;

/** A megaflow mask: the words it selects and their masks, and the entries with that mask. */
export class XcGroup {
  readonly words: Int32Array;
  readonly masks: Int32Array;
  /** The full mask, every key word (for views and the dependency index). */
  readonly mask: Uint32Array;
  cap = 64;
  hashes = new Int32Array(this.cap);
  /** Unique across caches (a bridge's xlate-deps indexes groups of its patch peers' caches too, whose ids may be equal). */
  readonly uid = nextGroupUid++;
  vals: (XcEntry | null)[] = new Array<XcEntry | null>(this.cap).fill(null);
  count = 0;
  constructor(
    mask: Uint32Array,
    readonly id: string,
    /** The cache it belongs to (a peer bridge's index kills its entries there). */
    readonly cache: XlateCache,
  ) {
    this.mask = Uint32Array.from(mask);
    const ws: number[] = [], ms: number[] = [];
    for (let i = 0; i < W; i++) {
      if (mask[i] !== 0) {
        ws.push(i);
        ms.push(mask[i]! | 0);
      }
    }
    this.words = Int32Array.from(ws);
    this.masks = Int32Array.from(ms);
  }

  /** Hash of `key`'s masked words: FNV-1a, then murmur3's finaliser; a small integer, never a heap number. */
  hash(key: FlowKey): number {
    const ws = this.words, ms = this.masks;
    let h = 0x811c9dc5;
    for (let j = 0; j < ws.length; j++) h = Math.imul(h ^ (key[ws[j]!]! & ms[j]!), 0x01000193);
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    return h & 0x3fffffff;
  }
}

/** One bridge's part of an entry: ranges of its steps, fdb quadruples and ofports (indexes, end exclusive). */
export class XcSeg {
  constructor(
    /** The bridge's dependency index. */
    readonly deps: XcIndex,
    readonly step0: number,
    readonly step1: number,
    readonly fdb0: number,
    readonly fdb1: number,
    readonly port0: number,
    readonly port1: number,
    /** Iterated the port list (FLOOD, ALL, NORMAL's flood). */
    readonly flooded: boolean,
  ) {}
}

/** other_config:max-idle's default, ms (OFPROTO_MAX_IDLE_DEFAULT). */
export const MAX_IDLE_DEFAULT = 10_000;
/** other_config:max-revalidator's default, ms: the revalidators dump at least this often (min with max-idle). */
export const MAX_REVALIDATOR_DEFAULT = 500;

/** Entries with credits waiting, at most: one more pushes them all first. */
const CREDIT_QUEUE_MAX = 4096;

/** The recorded translation of one megaflow. */
export class XcEntry {
  packets = 0;
  bytes = 0;
  /** Hits not yet credited to the tables and flows on its steps (XlateCache.pushStats). */
  lazyPackets = 0;
  lazyBytes = 0;
  /** In its cache's list of entries with credits to push. */
  queued = false;
  /**
   * Set when the translation has a patch output it could not follow
   * into the peer when recorded (a packet queued ahead, a capture): a hit
   * that could records it again, spanning (execute.ts).
   */
  spanPort: OvsPort | null = null;
  /** Emulated ms of the last hit; -1: never. */
  used = -1;
  /** Emulated ms it was kept: the idle test's last use until its first hit (revalidate() takes ukey->created). */
  created = 0;
  /** Invalidated or evicted: no longer in the cache (lists in xlate-deps.ts drop it lazily). */
  dead = false;
  constructor(
    readonly group: XcGroup,
    /** See C_HDR. Int32: key words > 2^31 are stored as their int32 bit pattern. */
    readonly code: Int32Array,
    /**
     * Per step i: refs[2i], refs[2i+1] (table and flow of a lookup, port of
     * an output); then the timed flows; then per fdb quadruple the entry
     * found (null: none), which stays the table's until a change removes this
     * entry (xlate-deps.ts), so live() and a learn step need no fdb lookup.
     */
    readonly refs: XcRef[],
    /** The last segment's. */
    readonly dropReason: DropReason,
    /** One per bridge, in the order crossed. */
    readonly segs: readonly XcSeg[],
  ) {}

  /** Offset of the header (the arrival key's length). */
  get h(): number {
    return this.group.words.length;
  }

  get nSteps(): number {
    return this.code[this.h + C_NEV]!;
  }

  get nFdb(): number {
    return this.code[this.h + C_NFDB]!;
  }

  /** First fdb quadruple's offset in code. */
  get fdbAt(): number {
    return this.h + C_HDR;
  }

  get nPorts(): number {
    return this.code[this.h + C_NPORT]!;
  }

  get portsAt(): number {
    return this.h + C_HDR + 4 * this.nFdb;
  }

  /** First step's offset in code. */
  get stepsAt(): number {
    return this.portsAt + this.nPorts;
  }

  /** Offset of the load table (per step, then the final key's). */
  get loadsAt(): number {
    return this.code[this.h + C_LOADS]!;
  }

  /** Can a packet take the recorded steps now? (What no invalidation covers: timeouts.) */
  live(nowMs: number, nowS: number): boolean {
    const c = this.code, h = this.group.words.length;
    const nt = c[h + C_NTIMED]!;
    if (nt !== 0) {
      const at = 2 * c[h + C_NEV]!;
      for (let i = 0; i < nt; i++) if ((this.refs[at + i] as FlowEntry).expiredAt(nowMs) !== null) return false;
    }
    const nf = c[h + C_NFDB]!;
    if (nf === 0) return true;
    // Ageing changes nothing until the MAC expires; a MAC appearing, moving or removed invalidates (xlate-deps.ts).
    for (let q = 0, r = 2 * c[h + C_NEV]! + nt, i = h + C_HDR; q < nf; q++, r++, i += 4) {
      const e = this.refs[r] as FdbEntry | null;
      if (e !== null && (nowS >= e.expires || e.port !== c[i + 3])) return false;
    }
    return true;
  }

  /** The fdb entry of quadruple `q` (a learn step's: never null). */
  fdbEntry(q: number): FdbEntry {
    const h = this.group.words.length;
    return this.refs[2 * this.code[h + C_NEV]! + this.code[h + C_NTIMED]! + q] as FdbEntry;
  }

  /** Does it go on into a patch peer's segment? */
  get spans(): boolean {
    return this.segs.length > 1;
  }

  /** The full key of the snapshot at `at` (-1: the arrival key), unmasked bits 0 (views, tests). */
  keyAt(at: number): Uint32Array {
    const k = new Uint32Array(W), ws = this.group.words, o = at < 0 ? 0 : at;
    for (let j = 0; j < ws.length; j++) k[ws[j]!] = this.code[o + j]!;
    return k;
  }
}

/** What an entry refers to: tables, flows, ports, fdb entries. */
export type XcRef = FlowTable | FlowEntry | OvsPort | FdbEntry | LearnProg | null;

/** Mask of `len` low bits. */
function lowMask(len: number): number {
  return len >= 32 ? -1 : (1 << len) - 1;
}

/** A bridge a recorded translation goes through: its fdb, flow tables and dependency index. */
export interface XcBridge {
  readonly fdb: MacLearning;
  readonly tables: FlowTables;
  readonly deps: XcIndex;
}

/**
 * Writes down one translation (reused: a miss allocates only the entry it
 * keeps). Keys are snapshotted in full while recording (the mask is known
 * only at the end), only when they changed since the last snapshot.
 */
export class XcRecorder {
  private readonly ops: number[] = [];
  private readonly refs: XcRef[] = [];
  private readonly timed: FlowEntry[] = [];
  private readonly fdb: number[] = [];
  private readonly fdbRefs: (FdbEntry | null)[] = [];
  private readonly ports: number[] = [];
  private readonly snaps: number[] = [];
  private readonly loadTbl: number[] = [];
  private readonly loadData: number[] = [];
  private last = -1; // snapshot index of the latest step
  // Per segment: its bridge, the generations of its tables and fdb when it began, where its ranges start, whether it flooded.
  private readonly bridges: XcBridge[] = [];
  private readonly gens: number[] = [];
  private readonly starts: number[] = [];
  private readonly floods: boolean[] = [];
  readonly start = new Uint32Array(W);
  /** The megaflow mask: every key bit read or written so far. */
  readonly wc = new Uint32Array(W);
  /** dec_ttl, a lookup of a table learned into before it, or an error happened: the translation is not kept. */
  uncacheable = false;

  begin(key: FlowKey, br: XcBridge): void {
    this.start.set(key);
    this.ops.length = this.refs.length = this.timed.length = this.fdb.length = this.fdbRefs.length = this.ports.length = this.snaps.length = 0;
    this.bridges.length = this.gens.length = this.starts.length = this.floods.length = 0;
    this.last = -1;
    this.uncacheable = false;
    // Always held, as xlate_wc_init does: in_port (NORMAL, IN_PORT outputs and resubmits read it too),
    // dl_type, an IP packet's fragment bits and a tunnel's metadata.
    const wc = this.wc;
    wc.fill(0);
    wc[K.IN_PORT] = wc[K.DL_TYPE] = 0xffffffff;
    const t = key[K.DL_TYPE];
    if (t === 0x0800 || t === 0x86dd) wc[K.NW_FRAG] = 3;
    if (key[K.TUN_DST] !== 0) for (let w = K.TUN_ID_HI; w <= K.TUN_DST; w++) wc[w] = 0xffffffff;
    this.segment(key, br);
  }

  /**
   * The translation goes on in patch peer `br` with `key` (its in_port the
   * peer port). Call after the EV_CROSS step.
   */
  cross(key: FlowKey, br: XcBridge): void {
    this.segment(key, br);
  }

  private segment(key: FlowKey, br: XcBridge): void {
    this.bridges.push(br);
    this.gens.push(br.tables.generation, br.fdb.generation);
    this.starts.push(this.ops.length / 3, this.fdb.length / 4, this.ports.length);
    this.floods.push(false);
    this.ports.push(key[K.IN_PORT]!); // its port's VLAN settings (NORMAL)
  }

  /** Segments so far. */
  get nSegs(): number {
    return this.bridges.length;
  }

  /** Did no bridge's flow tables or fdb change since its segment began? (A MAC learned after a lookup that missed it would leave the entry stale.) */
  unchanged(): boolean {
    const bs = this.bridges, g = this.gens;
    for (let i = 0; i < bs.length; i++) if (bs[i]!.tables.generation !== g[2 * i] || bs[i]!.fdb.generation !== g[2 * i + 1]) return false;
    return true;
  }

  /**
   * The megaflow mask as xlate_wc_finish leaves it: a later fragment's L4
   * ports (always 0: it has no L4 header) wildcarded, whatever the lookups read.
   */
  megaflow(): Uint32Array {
    if ((this.start[K.NW_FRAG]! & 2) !== 0) this.wc[K.TP_SRC] = this.wc[K.TP_DST] = 0;
    return this.wc;
  }

  /** Key word `w`'s bits in `m` were read or written. */
  use(w: number, m: number): void {
    this.wc[w] = (this.wc[w]! | m) >>> 0;
  }

  /** Bits of a segment list (key-bits.ts) were read or written. */
  useSegs(s: Int32Array): void {
    for (let i = 0; i < s.length; i += 4) this.use(s[i]!, lowMask(s[i + 3]!) << s[i + 1]!);
  }

  /** Bits a constant write (key-bits.ts triples) sets. */
  useConst(t: Uint32Array): void {
    for (let i = 0; i < t.length; i += 3) this.use(t[i]!, ~t[i + 1]!);
  }

  /** A step; `key` (null for steps that do not read it) is the key it runs with. */
  step(op: number, arg: number, r0: FlowTable | OvsPort | LearnProg | null, r1: FlowEntry | null, key: FlowKey | null): void {
    // A lookup of a table this segment learned into may find the learned flow, which a hit's replay would not: not kept.
    if (op === EV_LOOKUP && this.learnedInto(arg)) this.uncacheable = true;
    if (key !== null) this.snap(key);
    this.ops.push(op, arg, this.last);
    this.refs.push(r0, r1);
  }

  /** Did the current segment learn into table `id`? */
  private learnedInto(id: number): boolean {
    const o = this.ops;
    for (let i = 3 * this.starts[this.starts.length - 3]!; i < o.length; i += 3) if (o[i] === EV_FLOW_LEARN && o[i + 1] === id) return true;
    return false;
  }

  timedFlow(e: FlowEntry): void {
    this.timed.push(e);
  }

  /** The fdb entry `e` for (hi, lo, vlan) -> port (FDB_ABSENT and null: none) was relied on; returns its index for a learn step. */
  fdbUsed(hi: number, lo: number, vlan: number, port: number, e: FdbEntry | null): number {
    this.fdb.push(hi, lo >>> 0, vlan, port);
    this.fdbRefs.push(e);
    return this.fdb.length / 4 - 1;
  }

  /** The port numbered `ofport` (of the current segment's bridge) was looked up (present or not). */
  portUsed(ofport: number): void {
    if (this.ports.indexOf(ofport, this.starts[this.starts.length - 1]!) < 0) this.ports.push(ofport);
  }

  /** The port list was iterated. */
  flooded(): void {
    this.floods[this.floods.length - 1] = true;
  }

  private snap(key: FlowKey): void {
    const s = this.snaps, last = this.last;
    let i = 0;
    if (last < 0) {
      const ref = this.start;
      while (i < W && key[i] === ref[i]) i++;
    } else {
      const o = last * W;
      while (i < W && key[i] === s[o + i]) i++;
    }
    if (i === W) return;
    for (let j = 0; j < W; j++) s.push(key[j]!);
    this.last = s.length / W - 1;
  }

  /**
   * The loads (see C_LOADS) under mask (ws, ms) into loadTbl (per step and
   * the final key: offset into loadData, -1: none) and loadData.
   */
  private loads(ws: Int32Array, ms: Int32Array, nEv: number): void {
    const tbl = this.loadTbl, d = this.loadData, s = this.snaps, st = this.start;
    tbl.length = d.length = 0;
    let prev = -1;
    for (let i = 0; i <= nEv; i++) {
      const op = i < nEv ? this.ops[3 * i]! : -1;
      const k = i < nEv ? this.ops[3 * i + 2]! : this.last;
      if (op === EV_LOOKUP || op === EV_LEARN || op === EV_FRAG_DROP || k === prev) {
        tbl.push(-1);
        continue;
      }
      tbl.push(d.length);
      const n0 = d.length;
      d.push(0);
      for (let j = 0; j < ws.length; j++) {
        const w = ws[j]!, m = ms[j]!, v = s[k * W + w]! & m;
        if (v !== ((prev < 0 ? st[w]! : s[prev * W + w]!) & m)) d.push(j, v);
      }
      d[n0] = (d.length - n0 - 1) / 2;
      prev = k;
    }
  }

  /**
   * The entry, in `group` (of mask wc), with `key` as the final key. May be
   * called before a crossing (the entry without the peer) and again after.
   */
  finish(group: XcGroup, key: FlowKey, dropReason: DropReason): XcEntry {
    this.snap(key);
    const ws = group.words, ms = group.masks, nW = ws.length;
    const nEv = this.ops.length / 3, nFdb = this.fdb.length / 4, nSnap = this.snaps.length / W;
    const h = nW, portsAt = h + C_HDR + 4 * nFdb, stepsAt = portsAt + this.ports.length, snapsAt = stepsAt + 3 * nEv;
    const loadsAt = snapsAt + nSnap * nW, dataAt = loadsAt + nEv + 1;
    this.loads(ws, ms, nEv);
    const c = new Int32Array(dataAt + this.loadData.length);
    for (let j = 0; j < nW; j++) c[j] = this.start[ws[j]!]! & ms[j]!;
    c[h + C_NEV] = nEv;
    c[h + C_NFDB] = nFdb;
    c[h + C_NTIMED] = this.timed.length;
    c[h + C_NPORT] = this.ports.length;
    for (let i = 0; i < this.fdb.length; i++) c[h + C_HDR + i] = this.fdb[i]!;
    for (let i = 0; i < this.ports.length; i++) c[portsAt + i] = this.ports[i]!;
    for (let i = 0; i < nEv; i++) {
      const o = stepsAt + 3 * i, k = this.ops[3 * i + 2]!;
      c[o] = this.ops[3 * i]!;
      c[o + 1] = this.ops[3 * i + 1]!;
      c[o + 2] = k < 0 ? -1 : snapsAt + k * nW;
    }
    for (let k = 0; k < nSnap; k++) for (let j = 0; j < nW; j++) c[snapsAt + k * nW + j] = this.snaps[k * W + ws[j]!]! & ms[j]!;
    c[h + C_LOADS] = loadsAt;
    for (let i = 0; i <= nEv; i++) c[loadsAt + i] = this.loadTbl[i]! < 0 ? -1 : dataAt + this.loadTbl[i]!;
    c.set(this.loadData, dataAt);
    const segs: XcSeg[] = [], st = this.starts, n = this.bridges.length;
    for (let i = 0; i < n; i++) {
      const end = i + 1 < n;
      segs.push(new XcSeg(
        this.bridges[i]!.deps,
        st[3 * i]!, end ? st[3 * i + 3]! : nEv,
        st[3 * i + 1]!, end ? st[3 * i + 4]! : nFdb,
        st[3 * i + 2]!, end ? st[3 * i + 5]! : this.ports.length,
        this.floods[i]!,
      ));
    }
    return new XcEntry(group, c, [...this.refs, ...this.timed, ...this.fdbRefs], dropReason, segs);
  }
}

/** At most this many slots per group (64 k megaflows at half load). */
export const XC_MAX_SLOTS = 1 << 17;
const PROBE = 16;
/** Slots of XlateCache.memo (a power of two). */
const MEMO_SLOTS = 64;

/** Does `e`'s megaflow hold `key` (its masked words equal the entry's arrival words)? */
function holds(e: XcEntry, key: FlowKey): boolean {
  const k = e.code, g = e.group, ws = g.words, ms = g.masks, nW = ws.length;
  for (let j = 0; j < nW; j++) if (k[j] !== (key[ws[j]!]! & ms[j]!)) return false;
  return true;
}

/** What indexes the kept entries by their dependencies, one per bridge (xlate-deps.ts). */
export interface XcIndex {
  /** Index segment `s` of `e`. */
  add(e: XcEntry, s: XcSeg): void;
  /** Dead entries it still lists. */
  stale: number;
}

export class XlateCache {
  /** Per in_port (hashed): the entry its last lookup found (may be dead since). */
  private readonly memo: (XcEntry | null)[] = new Array<XcEntry | null>(MEMO_SLOTS).fill(null);
  /** Groups in the order lookups probe them. */
  readonly groups: XcGroup[] = [];
  /** Never emptied: xlate-deps.ts indexes entries by group id. */
  private readonly byId = new Map<string, XcGroup>();
  /** Live entries. */
  count = 0;
  hits = 0;
  misses = 0;
  /**
   * Groups (masks) probed by lookups, and lookups the per-port memo answered:
   * what the kernel datapath counts as mask hits and mask-cache hits
   * (flow_lookup: one mask for a cache hit, else each mask tried).
   */
  maskHits = 0;
  memoHits = 0;
  /** Entries removed because something they depended on changed. */
  invalidations = 0;
  /** ofproto_max_idle (ms): an entry not hit for longer leaves (the node's Open_vSwitch other_config:max-idle). */
  maxIdle = MAX_IDLE_DEFAULT;
  /** When sweep() looks next. */
  private nextSweep = 0;
  /** This bridge's dependency index (segments of other bridges' entries too). */
  deps: XcIndex | null = null;
  /** Entries hit since the last pushStats(); the first nQueued are real. */
  private readonly queue: (XcEntry | null)[] = [];
  private nQueued = 0;

  /** `base`: this cache's FASTPATH_CELLS. */
  constructor(private readonly stats: Stats, readonly base: number) {}

  /**
   * A hit on `e`, of a packet that entered the datapath with `bytes`: its
   * tables and flows are credited later, by pushStats(), as OVS credits a
   * datapath flow's packets to the rules it went through when a revalidator
   * pushes its stats (xlate_push_stats), not per packet. Here every reader of
   * those counters (dump-flows, dump-tables, metrics, timeouts) pushes first
   * (FlowTables.sync), so what anyone sees is exact.
   */
  credit(e: XcEntry, bytes: number): void {
    e.lazyPackets++;
    e.lazyBytes += bytes;
    if (!e.queued) {
      // Ticks push (FlowTables.sync via expire()); an engine never ticked must not queue without bound.
      if (this.nQueued === CREDIT_QUEUE_MAX) this.pushStats();
      e.queued = true;
      this.queue[this.nQueued++] = e;
    }
  }

  /** Credit every hit since the last push to the tables and flows it went through (dead entries' too). */
  pushStats(): void {
    const q = this.queue;
    for (let i = 0; i < this.nQueued; i++) {
      const e = q[i]!;
      q[i] = null;
      e.queued = false;
      if (e.lazyPackets !== 0) creditSteps(e, 0, e.nSteps, e.lazyPackets, e.lazyBytes, e.used);
      e.lazyPackets = e.lazyBytes = 0;
    }
    this.nQueued = 0;
  }

  /** Invalidate `e` (something it depended on changed); `e` is this cache's. */
  kill(e: XcEntry): void {
    if (e.dead) return;
    this.drop(e);
    this.invalidations++;
    this.stats.v[this.base + FC.INVALIDATIONS]!++;
  }

  /** `e` leaves (its slot is free for the next insert), not because anything changed: a better entry replaces it. */
  drop(e: XcEntry): void {
    if (e.dead) return;
    e.dead = true;
    e.group.count--;
    this.count--;
    this.stats.v[this.base + FC.ENTRIES]!--;
    for (const s of e.segs) s.deps.stale++;
  }

  /**
   * The entry whose megaflow holds `key`, or null. The last entry found for
   * the key's in_port is tried first: a port's packets mostly share one
   * megaflow, and checking it costs one compare of its masked words instead
   * of a hash per group probed and a compare (the seed path: 5 hashes a
   * packet saved, 4.3 % of its CPU time). Megaflows found either way are right
   * for the key (any that holds it gives the slow path's answer).
   */
  lookup(key: FlowKey): XcEntry | null {
    const slot = key[K.IN_PORT]! & (MEMO_SLOTS - 1);
    const m = this.memo[slot]!;
    if (m !== null && !m.dead && holds(m, key)) {
      this.memoHits++;
      this.maskHits++;
      return m;
    }
    const gs = this.groups;
    for (let g = 0; g < gs.length; g++) {
      const grp = gs[g]!;
      if (grp.count === 0) continue;
      this.maskHits++;
      const h = grp.hash(key);
      const mask = grp.cap - 1, hashes = grp.hashes, vals = grp.vals;
      for (let i = 0; i < PROBE; i++) {
        const s = (h + i) & mask;
        const v = vals[s]!;
        if (v === null) break;
        if (hashes[s] !== h || v.dead) continue;
        if (holds(v, key)) {
          this.memo[slot] = v;
          return v;
        }
      }
    }
    return null;
  }

  /**
   * Whether a lookup on memo slot `slot` of a key `e` holds may answer other
   * than `e`: the memo holds another live entry (a megaflow overlapping e's
   * would be taken first).
   */
  memoOther(e: XcEntry, slot: number): boolean {
    const m = this.memo[slot]!;
    return m !== null && m !== e && !m.dead;
  }

  /** The memo slot of a key arriving on `inPort` (a path cache hit's lookup, below). */
  memoSlot(inPort: number): number {
    return inPort & (MEMO_SLOTS - 1);
  }

  /**
   * What lookup() counts and remembers for a key that `e` holds, arriving on
   * memo slot `slot`: a whole-path cache hit does not look up (its entry
   * checked `e` is live), and `ovs-dpctl show` must read the same. True
   * if the memo held another entry (memoOther() changed).
   */
  looked(e: XcEntry, slot: number): boolean {
    this.maskHits++;
    if (this.memo[slot] === e) {
      this.memoHits++;
      return false;
    }
    const gs = this.groups;
    for (let g = 0; g < gs.length; g++) {
      const grp = gs[g]!;
      if (grp === e.group) break;
      if (grp.count !== 0) this.maskHits++;
    }
    this.memo[slot] = e;
    return true;
  }

  /** The group of mask `wc`, made if new. */
  group(wc: Uint32Array): XcGroup {
    const id = wc.join(',');
    let g = this.byId.get(id);
    if (g === undefined) {
      g = new XcGroup(wc, id, this);
      this.byId.set(id, g);
      this.groups.push(g);
    }
    return g;
  }

  /** Keep `e` (its arrival key is e.code's first words), made at `now` ms. */
  insert(e: XcEntry, now: number): void {
    e.created = now;
    const g = e.group;
    if (g.count >= g.cap >>> 1 && g.cap < XC_MAX_SLOTS) this.grow(g);
    const h = hashCode(g, e.code);
    this.put(g, h, e);
    for (const s of e.segs) s.deps.add(e, s);
  }

  private put(g: XcGroup, h: number, e: XcEntry): void {
    const mask = g.cap - 1, vals = g.vals;
    let s = h & mask;
    for (let i = 0; i < PROBE; i++) {
      const t = (h + i) & mask;
      const v = vals[t]!;
      if (v === null || v.dead) {
        s = t;
        break;
      }
    }
    // Every probed slot taken: the first is replaced.
    const old = vals[s]!;
    if (old !== null && !old.dead) this.drop(old);
    g.hashes[s] = h;
    vals[s] = e;
    g.count++;
    this.count++;
    this.stats.v[this.base + FC.ENTRIES]!++;
  }

  private grow(g: XcGroup): void {
    const oldCap = g.cap, oldH = g.hashes, oldV = g.vals;
    g.cap *= 2;
    g.hashes = new Int32Array(g.cap);
    g.vals = new Array<XcEntry | null>(g.cap).fill(null);
    this.stats.v[this.base + FC.ENTRIES]! -= g.count;
    this.count -= g.count;
    g.count = 0;
    for (let s = 0; s < oldCap; s++) {
      const v = oldV[s]!;
      if (v !== null && !v.dead) this.put(g, oldH[s]!, v);
    }
  }

  /** revalidate()'s idle test at `now`: entries last hit (or, never hit, kept) over maxIdle ms ago leave. */
  expireIdle(now: number): void {
    const limit = now - this.maxIdle;
    for (const g of this.groups) {
      if (g.count === 0) continue;
      const vals = g.vals;
      for (let s = 0; s < vals.length; s++) {
        const v = vals[s]!;
        if (v !== null && !v.dead && (v.used < 0 ? v.created : v.used) < limit) this.drop(v);
      }
    }
  }

  /** The periodic expireIdle(), at most every min(max-idle, max-revalidator) ms as udpif_revalidator's leader waits. */
  sweep(now: number): void {
    if (now < this.nextSweep) return;
    this.nextSweep = now + Math.min(this.maxIdle, MAX_REVALIDATOR_DEFAULT);
    if (this.count !== 0) this.expireIdle(now);
  }

  /** The entries (dpif/dump-flows runs expireIdle() first, to list what OVS would). */
  entries(): XcEntry[] {
    const out: XcEntry[] = [];
    for (const g of this.groups) for (const v of g.vals) if (v !== null && !v.dead) out.push(v);
    return out;
  }
}

/**
 * Credit steps [from, to) of `x` with `n` packets of `bytes` in all: each
 * lookup's table (looked up; matched when a flow was found, or for a
 * fragment set-frags drop dropped) and flow (n_packets, n_bytes, last used
 * at `used` ms), as the slow path does.
 */
export function creditSteps(x: XcEntry, from: number, to: number, n: number, bytes: number, used: number): void {
  const c = x.code, refs = x.refs;
  for (let i = from, o = x.stepsAt + 3 * from; i < to; i++, o += 3) {
    const op = c[o];
    if (op !== EV_LOOKUP && op !== EV_FRAG_DROP) continue;
    const t = refs[2 * i] as FlowTable;
    t.cells[t.at]! += n;
    const e = refs[2 * i + 1] as FlowEntry | null;
    if (op === EV_FRAG_DROP) t.cells[t.at + 1]! += n;
    if (e === null) continue;
    t.cells[t.at + 1]! += n;
    e.cells[e.at]! += n;
    e.cells[e.at + 1]! += bytes;
    if (used > e.used) e.used = used;
  }
}

/** The group hash of an entry's stored arrival words (already masked): equal to g.hash() of any key it holds. */
function hashCode(g: XcGroup, code: Int32Array): number {
  let h = 0x811c9dc5;
  for (let j = 0; j < g.words.length; j++) h = Math.imul(h ^ code[j]!, 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return h & 0x3fffffff;
}
