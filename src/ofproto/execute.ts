// Action execution: one packet through a bridge's OpenFlow pipeline, the way
// ofproto-dpif-xlate.c translates it. Actions run on the flow key and on the
// packet in place; each output sends the packet as it is at that point. To
// avoid copies, the last output is remembered and only snapshotted (cloned)
// when a later output or a packet-visible change needs the original; the
// final output hands on the original. Outputs are emitted when translation
// ends, so an error (resubmit depth or count) drops everything, as OVS
// installs a drop flow then. Nothing here allocates per packet except clones
// for extra outputs and learn() creating or changing a flow.
//
// The translation cache (xlate-cache.ts): a miss records the slow path, a
// hit replays the recording. When a translation has one output to a patch
// port (its only one, or one of NORMAL's flood) and the packet may pass
// there at once (Engine.inlineOk: nothing queued on the link it would
// overtake, no capture or trace to see the hop), the other outputs leave
// and the peer bridge translates it at once, within the same recording
// (and without the cache too, so that both order events alike), as OVS
// translates a patch output within one megaflow; a hit replays both
// bridges' steps with the hop's counting but no queueing or second lookup.
// Otherwise the packet leaves through the engine and the peer translates it
// on its own.
import { OFPP, type Action, type Subfield } from './actions.js';
import { formatSubfield } from './subfield.js';
import { formatFieldValue, hex } from './field-format.js';
import { K, newKey, type FlowKey } from './flow-key.js';
import { FrameLayout, VLAN_CFI, extractFlow, extractFrame } from './flow-extract.js';
import type { FlowEntry, FlowTables } from './flow-table.js';
import { applyConstWrite, readSegs, val, writeSegs } from './key-bits.js';
import {
  programOf, prereqOk, type COp,
  OP_NOP, OP_OUTPUT, OP_OUTPUT_REG, OP_RESUBMIT, OP_GOTO, OP_MOD_VID, OP_MOD_PCP, OP_STRIP, OP_PUSH,
  OP_SET_CONST, OP_MOVE, OP_DEC_TTL, OP_LEARN, OP_CT, D_VLAN, D_TTL, D_ETH_SRC, D_ETH_DST, D_TUN, D_MARK, type Prereq,
} from './action-compile.js';
import { applyDirty, applyVlan } from './packet-rewrite.js';
import { moveMacs } from '../wire/vlan.js';
import type { MacLearning } from './fdb.js';
import { xlateNormal, type NormalCtx } from './normal.js';
import { OFPPC, type OvsPort } from './ovs-port.js';
import type { Engine } from '../datapath/engine.js';
import type { Element, Port } from '../datapath/element.js';
import type { Packet } from '../datapath/packet.js';
import type { DropReason } from '../datapath/drop-reasons.js';
import { writeU16 } from '../wire/addr.js';
import { AddOp, type PathOp } from '../datapath/path-cache.js';
import type { FdbEntry } from './fdb.js';
import { XcRecorder, type XcBridge, type XcEntry, type XcIndex, type XlateCache, EV_SNAP, EV_APPLY, EV_PUSH, EV_OUTPUT, EV_LOOKUP, EV_LEARN, EV_CROSS, EV_FRAG_DROP, EV_FLOW_LEARN, FDB_ABSENT, creditSteps } from './xlate-cache.js';
import type { LearnProg } from './learn-exec.js';
import { FRAG_DROP, FRAG_DROP_RULE, FRAG_DROP_TRACE, FRAG_NX_MATCH, type FragMode } from './frag-handling.js';

export { applyVlan };

// Stats cells of the cache (datapath/stats.ts FC), as local constants: see engine.ts on const enums under tsx.
const FC_HITS = 0, FC_MISSES = 1;
/** Key words NORMAL reads. */
const NORMAL_WORDS = [K.VLAN_TCI, K.DL_SRC_HI, K.DL_SRC_LO, K.DL_DST_HI, K.DL_DST_LO];
/** Key words prerequisites and L3/L4 rewrites read. */
const L3_WORDS = [K.DL_TYPE, K.NW_PROTO, K.NW_FRAG];

/** Xlate.vlanDelta when the packet that passed to a patch peer was a copy made at its output. */
const CROSS_COPY = 99;

/** A dry run's recording is never kept: nothing indexes it. */
const NO_INDEX: XcIndex = { add() {}, stale: 0 };

/** OVS MAX_DEPTH: nested resubmits that do not move forward in the pipeline. */
export const MAX_DEPTH = 64;
/** OVS MAX_RESUBMITS: resubmits in one translation. */
export const MAX_RESUBMITS = MAX_DEPTH * MAX_DEPTH;

/** How ofproto/trace lines are spelled; the bridge plugs in the flow printer. */
export interface TraceFormat {
  /** A flow's match as ofproto/trace prints it (without priority). */
  match(e: FlowEntry): string;
  /** One action in ofproto/trace spelling. */
  action(a: Action): string;
  /** The flow a learn() installed, as the trace reports it. */
  learned(e: FlowEntry): string;
}

/** What the executor needs from its bridge. */
export interface XlateHost {
  readonly engine: Engine;
  readonly element: Element;
  readonly tables: FlowTables;
  readonly fdb: MacLearning;
  /** Ports in ofport order. */
  readonly portList: readonly OvsPort[];
  portByOfport(ofport: number): OvsPort | undefined;
  readonly traceFormat: TraceFormat;
  /** How table lookups treat IP fragments (set-frags). */
  readonly fragMode: FragMode;
  /** The executor of the bridge behind patch port `p`'s peer (null: none, or this bridge). */
  patchPeer(p: OvsPort): Xlate | null;
  /** What the bridge does with `pkt` arriving at `port` before translating it; null if it dropped it. */
  admit(pkt: Packet, port: Port): OvsPort | null;
}

/**
 * Where a dry run (ofproto/trace) sends outputs instead of the engine. Each
 * output is handed over as it happens: `pkt` is a copy the sink owns, with
 * the VLAN and tunnel metadata the port would send. Returned trace nodes (a
 * patch peer's translation) hang under the output action, as in OVS.
 */
export interface XlateSink {
  output(pkt: Packet, port: OvsPort): TNode[] | null;
}

/** What a dry run leaves: the trace tree and OVS's name for a failed translation. */
export interface DryRunResult {
  trace: TNode[];
  error: string | null;
}

/**
 * xlate_report_subfield after a move: the destination and what it now holds,
 * the whole field in its own format (mf_format), part of one in hex.
 */
function subfieldIsNow(sf: Subfield, v: bigint): string {
  const whole = sf.ofs === 0 && sf.nBits >= sf.field.nBits;
  return `${formatSubfield(sf)} is now ${whole ? formatFieldValue(sf.field, v, undefined) : hex(v)}`;
}

// ---- the translation ----------------------------------------------------

const ERR_NONE = 0;
const ERR_TOO_DEEP = 1;
const ERR_TOO_MANY = 2;
const ERR_NO_HEADROOM = 3;
// xlate_strerror's wording; headroom is dpemu's own limit.
const ERR_TEXT = [null, 'Recursion too deep', 'Too many resubmits', 'No packet headroom'];

export class Xlate implements NormalCtx {
  readonly key: FlowKey = newKey();
  readonly lay = new FrameLayout();
  pkt!: Packet;
  nowMs = 0;
  nowS = 0;
  /** Bytes credited to every flow this packet hits (its length at datapath entry). */
  private bytes = 0;
  private depth = 0;
  private resubmits = 0;
  private error = ERR_NONE;
  private tableId = 0;
  private dropReason: DropReason = 'ovs_drop';
  // Snapshotted outputs waiting for the end of translation.
  private readonly outPkts: Packet[] = [];
  private readonly outPorts: OvsPort[] = [];
  private nOut = 0;
  // The latest output, not yet snapshotted (it will get the original if nothing follows).
  private pending: OvsPort | null = null;
  private pendingTci = -1;
  // Tracing: an ofproto/trace tree, built only for traced packets.
  private tracing = false;
  private root: TNode[] = [];
  private cur: TNode[] = [];
  private readonly slotSize: number;
  // Set only during dryRun(): outputs go here, flows are not credited.
  private sink: XlateSink | null = null;
  /** A dry run in a patch peer of the bridge ofproto/trace began in (how a table miss is printed). */
  tracePeer = false;
  /** The bridge's translation cache (null: none); run() consults and fills it. */
  cache: XlateCache | null = null;
  // The translation being recorded for the cache (only on a miss).
  private rec: XcRecorder | null = null;
  private readonly recorder = new XcRecorder();
  private xcb: XcBridge | null = null;

  constructor(readonly host: XlateHost) {
    this.slotSize = host.engine.pool.slotSize;
  }

  get fdb(): MacLearning {
    return this.host.fdb;
  }
  get portList(): readonly OvsPort[] {
    this.rec?.flooded();
    return this.host.portList;
  }
  portByOfport(n: number): OvsPort | undefined {
    this.rec?.portUsed(n);
    return this.host.portByOfport(n);
  }

  /** Translate and execute `pkt`, which arrived on `inPort`; it leaves through the engine or is dropped. */
  run(pkt: Packet, inPort: OvsPort, nowMs: number): void {
    // OVS translates a packet through patch ports in one xlate and credits every
    // rule it hits with the datapath packet's stats: the length where it entered
    // the first bridge, not the (re-tagged) length at this one.
    if (inPort.type !== 'patch' || pkt.dpLen === 0) pkt.dpLen = pkt.len;
    this.bytes = pkt.dpLen;
    this.begin(pkt, inPort.ofport, nowMs);
    const eng = this.host.engine;
    this.tracing = pkt.traceId !== 0 && eng.tracer !== null;
    const xc = this.cache;
    // Under two VLAN tags a pop exposes the inner one, which the key does not hold: no cache.
    if (xc !== null && eng.fastpath && eng.tracer === null && this.lay.nTags < 2) {
      const hit = xc.lookup(this.key);
      // A timed flow may look idle only for want of the credits not pushed yet: push them, then ask again.
      if (hit !== null && (hit.live(nowMs, this.nowS) || (this.host.tables.sync(), hit.live(nowMs, this.nowS)))) {
        // Recorded without following its patch output, which it now could: recorded again, spanning.
        if (hit.spanPort === null || !eng.inlineOk(hit.spanPort.port)) {
          xc.hits++;
          eng.stats.v[xc.base + FC_HITS]!++;
          hit.packets++;
          hit.bytes += this.bytes; // the length where the packet entered the datapath, as flows are credited
          hit.used = nowMs;
          xc.credit(hit, this.bytes);
          const rec = eng.recording;
          if (rec !== null) rec.op(new XcPathOp(this, hit, this.bytes, xc.memoSlot(this.key[K.IN_PORT]!)));
          this.replay(hit, 0);
          if (rec !== null) rec.ack(hit.segs.length);
          return;
        }
        xc.drop(hit);
      }
      xc.misses++;
      eng.stats.v[xc.base + FC_MISSES]!++;
      this.record(xc);
      return;
    }
    if (this.tracing) this.cur = this.root = [];
    this.table(0, this.key[K.IN_PORT]!, true);
    if (this.tracing) this.emitTrace();
    this.finishCrossing();
  }

  /**
   * finish(), but the one output to a patch port passes to the peer at once
   * when it may, as record() passes it: with the cache or without, the peer
   * translates before the other outputs arrive anywhere.
   */
  private finishCrossing(): void {
    const p = this.error === ERR_NONE ? this.patchOutput() : null;
    const peer = p === null ? null : this.host.patchPeer(p);
    if (peer === null || !this.host.engine.inlineOk(p!.port)) {
      this.finish();
      return;
    }
    const pkt = this.finishBut(p!);
    const inPort = pkt === null ? null : this.pass(pkt, p!, peer);
    if (inPort !== null) peer.recordPeer(pkt!, inPort, this, null, null);
    this.host.engine.inlineDone();
  }

  /** This bridge as a recording sees it. */
  private xcBridge(): XcBridge {
    return (this.xcb ??= { fdb: this.host.fdb, tables: this.host.tables, deps: this.cache!.deps! });
  }

  /** The slow path, writing down its steps into `rec`. */
  private walk(rec: XcRecorder): void {
    this.rec = rec;
    try {
      this.table(0, this.key[K.IN_PORT]!, true);
    } finally {
      this.rec = null;
    }
  }

  /**
   * A miss: the slow path, recorded. The entry is kept unless something made
   * it uncacheable or the flow tables or the fdb changed meanwhile (a MAC
   * learned after a lookup that missed it would leave the entry stale). If
   * one of the translation's outputs (NORMAL's flood, say, or its only one)
   * goes to a patch port, the peer bridge goes on with the recording
   * (recordPeer) when the packet may pass at once, as OVS translates a patch
   * output within the one megaflow (patch_port_output); else the entry is
   * kept without the peer, marked to be recorded again when a hit could
   * follow the patch port.
   */
  private record(xc: XlateCache): void {
    const rec = this.recorder;
    rec.begin(this.key, this.xcBridge());
    this.walk(rec);
    const entry = rec.uncacheable || this.error !== ERR_NONE || !rec.unchanged() ? null : rec.finish(xc.group(rec.megaflow()), this.key, this.dropReason);
    const p = this.error === ERR_NONE ? this.patchOutput() : null;
    const peer = p === null ? null : this.host.patchPeer(p);
    if (peer === null || !this.host.engine.inlineOk(p!.port)) {
      if (entry !== null) {
        if (peer !== null) entry.spanPort = p;
        xc.insert(entry, this.nowMs);
      }
      this.finish();
      return;
    }
    // At the end of this bridge's steps, with its final key: the other outputs leave first. A translation not
    // kept crosses all the same, as OVS's, and the peer's part is not kept either.
    if (entry !== null) rec.step(EV_CROSS, 1, p, null, this.key);
    const pkt = this.finishBut(p!);
    const inPort = pkt === null ? null : this.pass(pkt, p!, peer);
    // Dropped on the way (a port down), or no copy for it: the entry without the peer.
    if (inPort === null) {
      if (entry !== null) xc.insert(entry, this.nowMs);
    } else peer.recordPeer(pkt!, inPort, this, xc, entry);
    this.host.engine.inlineDone();
  }

  /**
   * The one output to a patch port (its port), null if none or several
   * (an entry crosses into one peer only: those leave through the engine
   * and each peer translates its packet on its own).
   */
  private patchOutput(): OvsPort | null {
    let p = this.pending !== null && this.pending.type === 'patch' ? this.pending : null;
    for (let i = 0; i < this.nOut; i++) {
      const q = this.outPorts[i]!;
      if (q.type !== 'patch') continue;
      if (p !== null) return null;
      p = q;
    }
    return p;
  }

  /**
   * finish() for a translation whose output to patch port `p` goes on in the
   * peer now: every other output leaves, and the packet for `p` is returned,
   * prepared (null: its copy could not be made). vlanDelta says how to find
   * its layout (adopt()).
   */
  private finishBut(p: OvsPort): Packet | null {
    const eng = this.host.engine;
    let cross: Packet | null = null;
    for (let i = 0; i < this.nOut; i++) {
      const q = this.outPkts[i]!, qp = this.outPorts[i]!;
      if (qp === p) {
        cross = q;
        continue;
      }
      this.vportBytes(q, qp);
      eng.output(q, qp.port);
    }
    this.clearOut();
    const last = this.pending;
    this.pending = null;
    if (last === p) {
      const pkt = this.pkt, before = pkt.len;
      this.prepare(pkt, p, this.pendingTci);
      this.vlanDelta = (pkt.len - before) >> 2;
      return pkt;
    }
    this.vlanDelta = CROSS_COPY;
    if (last !== null) {
      this.prepare(this.pkt, last, this.pendingTci);
      this.vportBytes(this.pkt, last);
      eng.output(this.pkt, last.port);
    } else {
      eng.pool.free(this.pkt); // every output got its own copy
    }
    return cross;
  }

  /** `pkt`, prepared for patch port `p`, passes to `peer` now; returns the port it arrived at, null if dropped. */
  private pass(pkt: Packet, p: OvsPort, peer: Xlate): OvsPort | null {
    this.vportBytes(pkt, p);
    const at = this.host.engine.passInline(pkt, p.port);
    return at === null ? null : peer.host.admit(pkt, at);
  }

  /** Tags prepare() pushed (1) or popped (-1) for the output that passed to a peer; CROSS_COPY: it was a copy. */
  private vlanDelta = 0;

  /**
   * As begin(), for a packet that `from` passed through a patch port,
   * continuing with its key (the masked words then are what the recording
   * had, the others the packet's own) and layout: `from`'s, changed only by
   * the output's VLAN, if it was the last output, else the copy's.
   */
  private adopt(pkt: Packet, from: Xlate): void {
    this.reset(pkt, from.nowMs, from.nowS);
    this.bytes = pkt.dpLen;
    this.tracing = false;
    const l = this.lay, f = from.lay;
    if (from.vlanDelta === CROSS_COPY) {
      // A copy made at its output, before later changes: its own layout (the key is replaced next).
      extractFrame(pkt.buf, pkt.off, pkt.len, this.key, l);
    } else {
      l.nTags = f.nTags + from.vlanDelta;
      l.l3 = f.l3;
      l.l4 = f.l4;
    }
    this.key.set(from.key);
  }

  /**
   * The peer's part of a recording begun by `from`, whose output passed to
   * this bridge on `inPort`: the slow path goes on recording into the same
   * entry, kept in `xc` (the first bridge's cache). If this part cannot be
   * kept, `plain` (the first bridge's part alone) is, unless this bridge's
   * state changed under it (recorded again next time). `plain` null: the
   * first bridge's part is not kept (or not recorded: `xc` null), this one
   * is only translated.
   */
  private recordPeer(pkt: Packet, inPort: OvsPort, from: Xlate, xc: XlateCache | null, plain: XcEntry | null): void {
    this.bytes = pkt.dpLen; // arrived through a patch port: run()'s datapath length
    this.begin(pkt, inPort.ofport, from.nowMs);
    this.tracing = false;
    const rec = from.recorder;
    if (xc === null || plain === null || this.lay.nTags >= 2) {
      if (plain !== null) xc!.insert(plain, this.nowMs);
      this.table(0, this.key[K.IN_PORT]!, true);
    } else {
      rec.cross(this.key, this.xcBridge());
      this.walk(rec);
      if (rec.uncacheable || this.error !== ERR_NONE) xc.insert(plain, this.nowMs);
      else if (rec.unchanged()) xc.insert(rec.finish(xc.group(rec.megaflow()), this.key, this.dropReason), this.nowMs);
    }
    this.finish();
  }

  /**
   * A cache hit: the recorded steps from step `i0` on this packet, with
   * every stateful side effect of the slow path (the lookups' credits to
   * tables and flows wait in the entry: XlateCache.credit). Before each step that reads
   * the key its load sets the masked words that differ from the last
   * snapshot loaded (this.key holds that one: at step 0 the arrival key,
   * whose masked bits are the entry's); the other bits are the packet's own
   * (no step wrote them).
   */
  private replay(x: XcEntry, i0: number): void {
    const key = this.key, c = x.code, refs = x.refs;
    const ws = x.group.words, ms = x.group.masks;
    const n = x.nSteps, la = x.loadsAt;
    for (let i = i0, o = x.stepsAt + 3 * i0; i < n; i++, o += 3) {
      const op = c[o]!;
      if (op === EV_LOOKUP) continue; // credited by the cache's pushStats()
      if (op === EV_LEARN) {
        this.host.fdb.touch(x.fdbEntry(c[o + 1]!), this.nowS);
        continue;
      }
      const l = c[la + i]!;
      if (l >= 0) load(key, ws, ms, c, l);
      switch (op) {
        case EV_FLOW_LEARN:
          (x.refs[2 * i] as LearnProg).execute(key, this.host.tables, this.nowMs);
          break;
        case EV_SNAP:
          this.beforeChange();
          break;
        case EV_APPLY:
          this.applyChanges(c[o + 1]!);
          break;
        case EV_PUSH:
          this.pushBytes(c[o + 1]!);
          break;
        case EV_OUTPUT:
          this.output(refs[2 * i] as OvsPort, c[o + 1]!);
          break;
        case EV_CROSS:
          this.crossReplay(x, i);
          return;
      }
      if (this.error !== ERR_NONE) {
        this.abandon(x, i + 1); // as the slow path stops at an error
        break;
      }
    }
    if (this.error === ERR_NONE) {
      const l = c[la + n]!;
      if (l >= 0) load(key, ws, ms, c, l);
      this.dropReason = x.dropReason;
    }
    // An entry not spanning (its peer's part could not be kept) crosses as its slow path did; a peer's segment
    // (i0 > 0) ends as recordPeer() does, crossing no further.
    if (i0 === 0) this.finishCrossing();
    else this.finish();
  }

  /**
   * A hit reaches its patch crossing (step `i`, after this bridge's steps):
   * the other outputs leave and the packet for the patch port passes to the
   * peer, which replays its segment. If it may not pass at once now, it
   * leaves through the engine and the peer translates it on its own (its
   * cache), as without spanning entries.
   */
  private crossReplay(x: XcEntry, i: number): void {
    const p = x.refs[2 * i] as OvsPort;
    const peer = this.host.engine.inlineOk(p.port) ? this.host.patchPeer(p) : null;
    if (peer === null) {
      this.abandon(x, i);
      this.finish();
      return;
    }
    const pkt = this.finishBut(p);
    const inPort = pkt === null ? null : this.pass(pkt, p, peer);
    if (inPort !== null) peer.resume(x, i + 1, pkt!, inPort, this);
    else this.abandon(x, i);
    this.host.engine.inlineDone();
  }

  /**
   * A hit on `x` stopped before its last step (an error, a patch crossing
   * it may not take now): it took steps [0, upTo) only, so its credit moves
   * from the entry's lazy count to those steps' tables and flows, now.
   */
  private abandon(x: XcEntry, upTo: number): void {
    this.host.engine.recording?.fail();
    x.lazyPackets--;
    x.lazyBytes -= this.bytes;
    creditSteps(x, 0, upTo, 1, this.bytes, this.nowMs);
  }

  /** The peer's side of crossReplay(): its segment, with the key and layout `from` had. */
  private resume(x: XcEntry, i: number, pkt: Packet, inPort: OvsPort, from: Xlate): void {
    this.adopt(pkt, from);
    // Recorded only under fewer than two tags, which the masked bits fix; checked all the same, as run() does.
    if (this.lay.nTags >= 2) {
      this.abandon(x, i);
      this.run(pkt, inPort, from.nowMs);
    } else this.replay(x, i);
  }

  /**
   * ofproto/trace: translate `pkt` (on ofport `inOfport`) always traced, with
   * no flow stats, each output handed to `sink` and nothing sent or dropped;
   * `pkt` stays the caller's. `flow`, when given, replaces the extracted key
   * (OVS translates the parsed br_flow, not the generated packet). learn()
   * and NORMAL's MAC learning do happen, as they do in OVS for a trace with
   * a packet. `key` holds the final flow afterwards. `wc`, when given,
   * gathers the bits the translation read or wrote (its first bridge, or a
   * patch peer's part after it), as a cache recording would: the megaflow.
   */
  dryRun(pkt: Packet, inOfport: number, nowMs: number, sink: XlateSink, flow?: FlowKey, wc?: XcRecorder): DryRunResult {
    this.begin(pkt, inOfport, nowMs);
    if (flow) this.key.set(flow);
    this.sink = sink;
    this.tracing = true;
    this.cur = this.root = [];
    if (wc) {
      const view: XcBridge = { fdb: this.host.fdb, tables: this.host.tables, deps: NO_INDEX };
      if (wc.nSegs === 0) wc.begin(this.key, view);
      else wc.cross(this.key, view);
      this.rec = wc;
    }
    try {
      this.table(0, this.key[K.IN_PORT]!, true);
      return { trace: this.root, error: ERR_TEXT[this.error] ?? null };
    } finally {
      this.sink = null;
      this.rec = null;
      this.tracing = false;
      this.cur = this.root = [];
    }
  }

  private begin(pkt: Packet, inOfport: number, nowMs: number): void {
    this.reset(pkt, nowMs, Math.floor(nowMs / 1000));
    extractFlow(pkt, inOfport, this.key, this.lay);
  }

  /** The per-packet translation state, fresh. */
  private reset(pkt: Packet, nowMs: number, nowS: number): void {
    this.pkt = pkt;
    this.nowMs = nowMs;
    this.nowS = nowS;
    this.depth = this.resubmits = 0;
    this.error = ERR_NONE;
    this.tableId = 0;
    this.dropReason = 'ovs_drop';
    this.nOut = 0;
    this.pending = null;
    this.pendingTci = -1;
  }

  // ---- tables ----

  /**
   * xlate_table_action: look up table `id` with in_port `inPort` and run the
   * rule found. `top` is the first lookup of the packet, which OVS does not
   * count as a resubmit; later lookups deepen the nesting only when they do
   * not move forward in the pipeline.
   */
  private table(id: number, inPort: number, top: boolean): void {
    if (!top) {
      if (this.depth >= MAX_DEPTH) {
        this.error = ERR_TOO_DEEP;
        this.traceNode(T_ERROR, `over max translation depth ${MAX_DEPTH}`);
        return;
      }
      if (this.resubmits >= MAX_RESUBMITS) {
        this.error = ERR_TOO_MANY;
        this.traceNode(T_ERROR, `over ${MAX_RESUBMITS} resubmit actions`);
        return;
      }
      this.resubmits++;
    }
    const key = this.key;
    // may_receive(): a port_mod's no-receive (no-receive-stp for an STP frame) drops what arrives on the port.
    const refused = top && this.refuses(inPort);
    // Into a patch peer OVS does not translate at all (patch_port_output); else (a packet from a device, or a
    // trace that starts here) the rule is looked up and counted, its actions not run.
    if (refused && this.host.portByOfport(inPort)!.type === 'patch' && (this.sink === null || this.tracePeer)) {
      this.dropReason = 'no_output';
      return;
    }
    const saved = key[K.IN_PORT]!;
    key[K.IN_PORT] = inPort;
    let e: FlowEntry | null;
    // rule_dpif_lookup_from_table: a fragment is looked up as the bridge's fragment handling says.
    if ((key[K.NW_FRAG]! & 1) !== 0 && this.host.fragMode !== FRAG_NX_MATCH) {
      if (this.host.fragMode === FRAG_DROP) {
        key[K.IN_PORT] = saved;
        this.dropFragment(id, refused);
        return;
      }
      // `normal`: with L4 ports 0 (the megaflow holds the packet's own ports under the bits the lookup read).
      const tpSrc = key[K.TP_SRC]!, tpDst = key[K.TP_DST]!;
      key[K.TP_SRC] = key[K.TP_DST] = 0;
      e = this.lookup(id);
      key[K.TP_SRC] = tpSrc;
      key[K.TP_DST] = tpDst;
    } else {
      e = this.lookup(id);
    }
    key[K.IN_PORT] = saved;
    const parent = this.tracing ? this.traceTable(id, e) : null;
    if (e === null) {
      this.traceNode(T_ACTION, 'drop');
      this.dropReason = 'table_miss';
      if (parent) this.cur = parent;
      return;
    }
    if (this.sink === null) {
      const c = e.cells, at = e.at;
      c[at]!++;
      c[at + 1]! += this.bytes;
      e.used = this.nowMs;
    }
    if (refused) {
      this.dropReason = 'no_output';
      if (parent) this.cur = parent;
      return;
    }
    const oldTable = this.tableId;
    const deepens = !top && id <= oldTable;
    if (deepens) this.depth++;
    this.tableId = id;
    this.actions(programOf(e));
    this.tableId = oldTable;
    if (deepens) this.depth--;
    if (parent) this.cur = parent;
  }

  /** Table `id`'s flow for the key as it is, recorded. */
  private lookup(id: number): FlowEntry | null {
    const key = this.key, rec = this.rec;
    const e = this.host.tables.lookup(id, key, this.nowMs, rec?.wc);
    if (rec !== null) {
      // With the key looked up (a flow change invalidates by it) and the table (the lookup made it exist).
      rec.step(EV_LOOKUP, id, this.host.tables.peek(id)!, e, key);
      if (e !== null && (e.idleTimeout | e.hardTimeout) !== 0) rec.timedFlow(e);
    }
    return e;
  }

  /**
   * A fragment under `drop`: ofproto's drop_frags_rule instead of a lookup,
   * counted as a match of table `id` (no flow of it is credited); its actions
   * are none, and unrun if the in_port refuses the packet.
   */
  private dropFragment(id: number, refused: boolean): void {
    const tables = this.host.tables;
    tables.countMatch(id);
    this.rec?.step(EV_FRAG_DROP, id, tables.peek(id)!, null, null);
    let parent: TNode[] | null = null;
    if (this.tracing) {
      // As the miss rule, it is named only in the bridge the trace began in; a patch peer prints its match.
      parent = this.traceTableNode(`${String(id).padStart(2)}. ${this.tracePeer ? FRAG_DROP_RULE : FRAG_DROP_TRACE}`, { table: id, fragments: 'drop' });
      if (!refused) this.traceNode(T_ACTION, 'drop');
    }
    this.dropReason = refused ? 'no_output' : 'ovs_drop';
    if (parent) this.cur = parent;
  }

  /** Whether the in_port's config refuses this packet (may_receive: the port's NO_RECV, or NO_RECV_STP for an STP frame). */
  private refuses(inPort: number): boolean {
    const p = this.host.portByOfport(inPort);
    if (p === undefined || (p.config & (OFPPC.NO_RECV | OFPPC.NO_RECV_STP)) === 0) return false;
    const key = this.key;
    // is_stp(): an 802.2 frame (dl_type 0x05ff) to 01:80:c2:00:00:00.
    const stp = key[K.DL_TYPE] === 0x05ff && key[K.DL_DST_HI] === 0x0180 && key[K.DL_DST_LO] === 0xc2000000;
    if (key[K.DL_TYPE] === 0x05ff) {
      this.rec?.use(K.DL_DST_HI, 0xffffffff);
      this.rec?.use(K.DL_DST_LO, 0xffffffff);
    }
    return (p.config & (stp ? OFPPC.NO_RECV_STP : OFPPC.NO_RECV)) !== 0;
  }

  private actions(prog: COp[]): void {
    if (prog.length === 0) this.traceNode(T_ACTION, 'drop');
    for (let i = 0; i < prog.length; i++) {
      if (this.error !== ERR_NONE) return;
      const c = prog[i]!;
      if (this.tracing) this.traceNode(T_ACTION, this.host.traceFormat.action(c.a));
      switch (c.op) {
        case OP_NOP:
          break;
        case OP_OUTPUT:
          this.outputAction(c.n);
          break;
        case OP_OUTPUT_REG: {
          if (this.rec !== null) this.usePre(c.pre);
          if (!prereqOk(c.pre, this.key)) break;
          this.rec?.useSegs(c.s1!);
          readSegs(this.key, c.s1!);
          if (val.hi === 0 && val.lo <= 0xffff) {
            if (this.tracing) this.detail(`output port is ${val.lo}`);
            this.outputAction(val.lo);
          } else if (this.tracing) {
            this.detail(`output port ${val.hi * 2 ** 32 + val.lo} is out of range`);
          }
          break;
        }
        case OP_RESUBMIT: {
          const port = c.n === OFPP.IN_PORT ? this.key[K.IN_PORT]! : c.n;
          this.table(c.n2 === 255 ? this.tableId : c.n2, port, false);
          break;
        }
        case OP_GOTO:
          this.table(c.n2, this.key[K.IN_PORT]!, false);
          break;
        case OP_MOD_VID:
          this.modVlan(c.n, c.n2, true);
          break;
        case OP_MOD_PCP:
          this.modVlan(c.n, c.n2, false);
          break;
        case OP_STRIP:
          this.rec?.use(K.VLAN_TCI, 0xffff);
          if (this.key[K.VLAN_TCI]! & VLAN_CFI) {
            this.key[K.VLAN_TCI] = 0;
            this.applyChanges(D_VLAN);
          }
          break;
        case OP_PUSH:
          this.pushVlan(c.n);
          break;
        case OP_SET_CONST:
          if (this.rec !== null) this.usePre(c.pre);
          if (!prereqOk(c.pre, this.key)) {
            this.detail('unmet prerequisites, set_field ignored');
            break;
          }
          this.rec?.useConst(c.t!);
          if (c.dirty !== 0) this.beforeChange();
          applyConstWrite(this.key, c.t!);
          if (c.dirty !== 0) this.applyChanges(c.dirty);
          break;
        case OP_MOVE:
          if (this.rec !== null) {
            this.usePre(c.pre);
            this.usePre(c.pre2);
          }
          if (!prereqOk(c.pre, this.key) || !prereqOk(c.pre2, this.key)) break;
          if (this.rec !== null) {
            this.rec.useSegs(c.s1!);
            this.rec.useSegs(c.s2!);
          }
          readSegs(this.key, c.s1!);
          if (c.dirty !== 0) this.beforeChange();
          writeSegs(this.key, c.s2!, val.hi, val.lo);
          if (c.dirty !== 0) this.applyChanges(c.dirty);
          if (this.tracing) this.detail(subfieldIsNow((c.a as { dst: Subfield }).dst, (BigInt(val.hi >>> 0) << 32n) | BigInt(val.lo >>> 0)));
          break;
        case OP_DEC_TTL:
          if (this.rec !== null) this.rec.uncacheable = true;
          if (this.decTtl()) return; // "Stop processing for current table"
          break;
        case OP_LEARN: {
          const rec = this.rec;
          if (rec !== null) {
            // Replayed on a hit with the key it reads, which the megaflow then holds (learn_mask).
            c.learn!.reads((s) => rec.useSegs(s));
            rec.step(EV_FLOW_LEARN, c.learn!.spec.table, c.learn!, null, this.key);
          }
          const learned = c.learn!.execute(this.key, this.host.tables, this.nowMs);
          if (this.tracing) this.detail(this.host.traceFormat.learned(learned));
          break;
        }
        case OP_CT:
          this.detail('conntrack is not emulated in OVS bridges, ignored');
          break;
      }
    }
  }

  // ---- outputs ----

  /** xlate_output_action. */
  private outputAction(port: number): void {
    const inPort = this.key[K.IN_PORT]!;
    switch (port) {
      case OFPP.IN_PORT:
        this.outputPort(inPort, -1);
        return;
      case OFPP.NORMAL:
        if (this.rec !== null) {
          // What xlate_normal un-wildcards: the VLAN, both MACs (and in_port, always).
          for (const w of NORMAL_WORDS) this.rec.use(w, 0xffffffff);
        }
        xlateNormal(this);
        return;
      case OFPP.FLOOD:
      case OFPP.ALL: {
        const ps = this.portList;
        for (let i = 0; i < ps.length; i++) {
          const p = ps[i]!;
          if (p.ofport === inPort || (port === OFPP.FLOOD && p.noFlood)) continue;
          this.output(p, -1);
        }
        return;
      }
      case OFPP.TABLE:
        this.table(0, inPort, false);
        return;
      case OFPP.CONTROLLER:
      case OFPP.NONE:
        return;
      default:
        if (port === inPort) {
          this.detail('skipping output to input port');
          return;
        }
        this.outputPort(port, -1);
    }
  }

  private outputPort(ofport: number, tci: number): void {
    const p = this.portByOfport(ofport);
    if (!p) {
      this.detail('Nonexistent output port');
      return;
    }
    this.output(p, tci);
  }

  /** NormalCtx: output with the VLAN the output port wants. */
  outputTci(p: OvsPort, tci: number): void {
    this.output(p, tci);
  }

  /** Send the packet as it is now (with flow TCI `tci`, or as is when -1) out of `p`. */
  private output(p: OvsPort, tci: number): void {
    if ((p.config & OFPPC.NO_FWD) !== 0) {
      // compose_output_action__: a port_mod's no-forward; the entry depends on the port's config.
      this.rec?.portUsed(p.ofport);
      this.detail('OFPPC_NO_FWD set, skipping output');
      return;
    }
    if (this.sink !== null) {
      // prepare() reads the tunnel fields the port takes from the flow.
      if (this.rec !== null && p.type === 'vxlan') for (let w = K.TUN_ID_HI; w <= K.TUN_DST; w++) this.rec.use(w, 0xffffffff);
      this.dryOutput(p, tci);
    } else {
      const rec = this.rec;
      if (rec !== null) {
        rec.step(EV_OUTPUT, tci, p, null, this.key);
        rec.portUsed(p.ofport);
        // prepare() reads the tunnel fields the port takes from the flow.
        if (p.type === 'vxlan') for (let w = K.TUN_ID_HI; w <= K.TUN_DST; w++) rec.use(w, 0xffffffff);
      }
      if (this.pending !== null) this.snapshot();
      this.pending = p;
      this.pendingTci = tci;
    }
    if (this.tracing && p.type === 'vxlan') this.detail('output to kernel tunnel');
  }

  /** Dry run: the sink gets a copy as the port would send it now. */
  private dryOutput(p: OvsPort, tci: number): void {
    const c = this.host.engine.pool.clone(this.pkt);
    if (c === null) {
      this.error = ERR_NO_HEADROOM;
      return;
    }
    this.prepare(c, p, tci);
    const subs = this.sink!.output(c, p);
    if (subs !== null) this.cur.push(...subs);
  }

  /** Clone the packet for the pending output (its state is still the current one). */
  private snapshot(): void {
    const p = this.pending!;
    this.pending = null;
    const c = this.host.engine.clone(this.pkt, this.host.element, this.tracing ? `output to ${p.name}` : 'output');
    if (c === null) return; // counted as no_buffer by the engine
    this.prepare(c, p, this.pendingTci);
    this.outPkts[this.nOut] = c;
    this.outPorts[this.nOut] = p;
    this.nOut++;
  }

  /** The packet metadata an output port needs: its VLAN and, for a tunnel, the tunnel fields. */
  private prepare(pkt: Packet, p: OvsPort, tci: number): void {
    if (tci >= 0 && !applyVlan(pkt, tci, this.slotSize)) this.error = ERR_NO_HEADROOM;
    if (p.type === 'vxlan') {
      const key = this.key;
      pkt.tunId = p.outKey.flow ? key[K.TUN_ID_HI]! * 2 ** 32 + key[K.TUN_ID_LO]! : p.outKey.key;
      pkt.tunDst = p.remoteIp === 'flow' ? key[K.TUN_DST]! : p.remoteIp ?? 0;
      pkt.tunSrc = p.localIp === 'flow' ? key[K.TUN_SRC]! : p.localIp ?? 0;
    }
  }

  /** A packet-visible change is coming: the pending output must keep the current state. */
  private beforeChange(): void {
    if (this.rec !== null) this.rec.step(EV_SNAP, 0, null, null, this.key);
    if (this.pending !== null) this.snapshot();
  }

  private finish(): void {
    const eng = this.host.engine, el = this.host.element;
    if (this.error !== ERR_NONE) {
      for (let i = 0; i < this.nOut; i++) eng.pool.free(this.outPkts[i]!);
      this.clearOut();
      eng.drop(this.pkt, el, this.error === ERR_NO_HEADROOM ? 'no_buffer' : 'resubmit_limit');
      return;
    }
    for (let i = 0; i < this.nOut; i++) {
      this.vportBytes(this.outPkts[i]!, this.outPorts[i]!);
      eng.output(this.outPkts[i]!, this.outPorts[i]!.port);
    }
    const hadOut = this.nOut > 0;
    this.clearOut();
    const p = this.pending;
    if (p !== null) {
      this.pending = null;
      this.prepare(this.pkt, p, this.pendingTci);
      this.vportBytes(this.pkt, p);
      eng.output(this.pkt, p.port);
    } else if (hadOut) {
      eng.pool.free(this.pkt); // every output got its own copy
    } else {
      eng.drop(this.pkt, el, this.dropReason);
    }
  }

  /**
   * OVS counts a patch or tunnel port's tx with the datapath flow's stats
   * (netdev_vport_inc_tx(xport->netdev, xin->resubmit_stats) in
   * ofproto-dpif-xlate.c): the packet's length where it entered the node's
   * datapath, not the frame (re-tagged here) the engine counts leaving, which
   * the port metrics keep. The difference, for dump-ports (OvsBridge.admit()
   * keeps a patch peer's rx); the engine counts tx bytes when the port is up.
   */
  private vportBytes(pkt: Packet, p: OvsPort): void {
    if (p.vport && pkt.dpLen !== pkt.len && pkt.dpLen !== 0 && p.port.up) {
      p.txBytesAdj += pkt.dpLen - pkt.len;
      this.host.engine.recording?.op(new AddOp(p, 'txBytesAdj', pkt.dpLen - pkt.len));
    }
  }

  /**
   * XcPathOp: the fdb entries a hit on `x` refreshes (its NORMAL learn
   * steps), each with its bridge's table, and its learn() actions, each with
   * its bridge's flow tables and the key it builds its flow from.
   */
  learnsOf(x: XcEntry, fdbs: MacLearning[], entries: FdbEntry[], learns: LearnProg[], tables: FlowTables[], keys: FlowKey[]): void {
    // The steps after a crossing are the patch peer's (replay, then resume() there).
    let host: Xlate | null = this;
    const c = x.code;
    for (let i = 0, o = x.stepsAt; i < x.nSteps && host !== null; i++, o += 3) {
      const op = c[o]!;
      if (op === EV_LEARN) {
        fdbs.push(host.host.fdb);
        entries.push(x.fdbEntry(c[o + 1]!));
      } else if (op === EV_FLOW_LEARN) {
        learns.push(x.refs[2 * i] as LearnProg);
        tables.push(host.host.tables);
        keys.push(keyAt(x, i));
      } else if (op === EV_CROSS) host = host.host.patchPeer(x.refs[2 * i] as OvsPort);
    }
  }

  private clearOut(): void {
    for (let i = 0; i < this.nOut; i++) this.outPkts[i] = undefined as unknown as Packet;
    this.nOut = 0;
  }

  // ---- packet changes ----

  /** mod_vlan_vid / mod_vlan_pcp (push: 1 = push a tag if none, 2 = dl_vlan=0xffff: remove it). */
  private modVlan(v: number, push: number, vid: boolean): void {
    const key = this.key;
    this.rec?.use(K.VLAN_TCI, 0xffff);
    let tci = key[K.VLAN_TCI]!;
    if (push === 2) {
      if (tci === 0) return;
      tci = 0;
    } else if (!(tci & VLAN_CFI) && push === 0) {
      return;
    } else if (vid) {
      tci = (tci & ~0x0fff) | v | VLAN_CFI;
    } else {
      tci = (tci & ~0xe000) | (v << 13) | VLAN_CFI;
    }
    if (tci === key[K.VLAN_TCI]) return;
    this.beforeChange();
    key[K.VLAN_TCI] = tci;
    this.applyChanges(D_VLAN);
  }

  private pushVlan(tpid: number): void {
    this.beforeChange();
    if (this.rec !== null) {
      this.rec.use(K.VLAN_TCI, 0xffff);
      this.rec.step(EV_PUSH, tpid, null, null, this.key);
    }
    this.pushBytes(tpid);
  }

  private pushBytes(tpid: number): void {
    const pkt = this.pkt;
    const o = pkt.off;
    if (!pkt.push(4, this.slotSize)) {
      this.error = ERR_NO_HEADROOM;
      return;
    }
    moveMacs(pkt.buf, o, o - 4);
    writeU16(pkt.buf, o + 8, tpid);
    writeU16(pkt.buf, o + 10, 0);
    this.key[K.VLAN_TCI] = VLAN_CFI;
    this.lay.nTags++;
  }

  /** dec_ttl: true when the TTL ran out (the rest of this action list is skipped). */
  private decTtl(): boolean {
    const key = this.key;
    const t = key[K.DL_TYPE]!;
    if (t !== 0x0800 && t !== 0x86dd) return false;
    const ttl = key[K.NW_TTL]!;
    if (ttl > 1) {
      this.beforeChange();
      key[K.NW_TTL] = ttl - 1;
      this.applyChanges(D_TTL);
      return false;
    }
    this.detail(`IPv${t === 0x0800 ? 4 : 6} decrement TTL exception`);
    this.dropReason = 'ttl_exceeded';
    return true;
  }

  private applyChanges(dirty: number): void {
    const rec = this.rec;
    if (rec !== null) {
      rec.step(EV_APPLY, dirty, null, null, this.key);
      // applyDirty picks the L3/L4 rewrite (and its checksums) by these; fragments matter only to IP.
      if (dirty & ~(D_ETH_SRC | D_ETH_DST | D_VLAN | D_TUN | D_MARK)) {
        for (const w of L3_WORDS) if (w !== K.NW_FRAG || this.key[K.DL_TYPE] === 0x0800) rec.use(w, 0xffffffff);
      }
    }
    if (!applyDirty(this.pkt, this.key, this.lay, dirty, this.slotSize)) this.error = ERR_NO_HEADROOM;
  }

  // ---- NormalCtx ----

  setDropReason(r: DropReason): void {
    this.dropReason = r;
  }

  fdbUsed(learn: boolean, hi: number, lo: number, vlan: number, port: number): void {
    const rec = this.rec;
    if (rec === null || (learn && hi & 0x0100)) return; // a multicast source is never learned
    // The port the entry has: a learned source is on `port`, a static one stays where fdb/add put it.
    const e = port < 0 ? null : this.host.fdb.peek(hi, lo, vlan);
    const q = rec.fdbUsed(hi, lo, vlan, e === null ? FDB_ABSENT : e.port, e);
    if (learn) rec.step(EV_LEARN, q, null, null, null);
  }

  useBits(w: number, m: number): void {
    this.rec?.use(w, m);
  }

  /** Recording: the key bits prerequisite `p` reads. */
  private usePre(p: Prereq): void {
    if (p === 'none') return;
    const rec = this.rec!;
    if (p === 'vlan') {
      rec.use(K.VLAN_TCI, VLAN_CFI);
      return;
    }
    // What prereqOk reads, as mf_are_prereqs_ok masks it: dl_type, then nw_proto for a transport
    // prerequisite on an IP packet (and nw_frag, which an IP packet's megaflow always holds).
    rec.use(K.DL_TYPE, 0xffffffff);
    const t = this.key[K.DL_TYPE];
    if (p === 'ip' || p === 'ipv6' || p === 'ipAny' || p === 'arp' || (t !== 0x0800 && t !== 0x86dd)) return;
    rec.use(K.NW_PROTO, 0xffffffff);
    rec.use(K.NW_FRAG, 0xffffffff);
  }

  // ---- tracing ----

  detail(text: string): void {
    if (this.tracing) this.traceNode(T_DETAIL, text);
  }

  private traceNode(type: number, text: string, detail?: Record<string, unknown>): void {
    if (this.tracing) this.cur.push({ type, text, detail, subs: null });
  }

  /** Add a table node and make its children current; returns the list to restore. */
  private traceTable(id: number, e: FlowEntry | null): TNode[] {
    let text: string;
    let detail: Record<string, unknown>;
    if (e === null) {
      // OVS recognises its internal "no packet-in" miss rule (reg0=0x2) only in the bridge the trace
      // began in (xlate_report_table compares with ctx->xin->ofproto's): a patch peer prints its match.
      text = `${String(id).padStart(2)}. ${this.tracePeer ? 'reg0=0x2, priority 0' : 'No match.'}`;
      detail = { table: id, miss: true };
    } else {
      const m = this.host.traceFormat.match(e);
      const cookie = e.cookie !== 0n ? `, cookie 0x${e.cookie.toString(16)}` : '';
      text = `${String(id).padStart(2)}. ${m}${m === '' ? '' : ', '}priority ${e.priority}${cookie}`;
      detail = { table: id, priority: e.priority, cookie: `0x${e.cookie.toString(16)}`, match: m };
    }
    return this.traceTableNode(text, detail);
  }

  /** Add a table node of `text` and make its children current; returns the list to restore. */
  private traceTableNode(text: string, detail: Record<string, unknown>): TNode[] {
    const node: TNode = { type: T_TABLE, text, detail, subs: [] };
    const parent = this.cur;
    parent.push(node);
    this.cur = node.subs!;
    return parent;
  }

  /**
   * Emit the tree as ofproto/trace prints it (oftrace_node_print_details): a
   * node is indented one step more unless it is the last of its list and not
   * an action/detail line, so a resubmit or goto_table that ends an action
   * list shows its table at the same level as the table that called it.
   */
  private emitTrace(): void {
    const name = this.host.element.name;
    this.traceLine(`bridge("${name}")`);
    this.traceLine('-'.repeat(name.length + 10));
    this.flatten(this.root, 0);
    this.root = this.cur = [];
  }

  private flatten(list: TNode[], level: number): void {
    for (let i = 0; i < list.length; i++) {
      const n = list[i]!;
      const more = i < list.length - 1 || n.type !== T_TABLE ? 1 : 0;
      const pre = n.type === T_DETAIL ? ' -> ' : n.type === T_ERROR ? ' >>>> ' : '';
      this.traceLine(' '.repeat((level + more) * 4) + pre + n.text, n.detail);
      if (n.subs) this.flatten(n.subs, level + 2 * more);
    }
  }

  private traceLine(text: string, detail?: Record<string, unknown>): void {
    this.host.engine.note(this.pkt, this.host.element, text, detail);
  }
}

/** A replay's load at `l` in entry code `c` (xlate-cache.ts C_LOADS): the listed masked words of `key` get their values. */
/** The masked bits of `x`'s key at step `i` (the rest 0): what its step reads. */
function keyAt(x: XcEntry, i: number): FlowKey {
  const key = newKey(), c = x.code, ws = x.group.words, ms = x.group.masks, la = x.loadsAt;
  for (let j = 0; j < ws.length; j++) key[ws[j]!] = c[j]!;
  for (let s = 0; s <= i; s++) if (c[la + s]! >= 0) load(key, ws, ms, c, c[la + s]!);
  return key;
}

function load(key: FlowKey, ws: Int32Array, ms: Int32Array, c: Int32Array, l: number): void {
  for (let p = l + 1, end = p + 2 * c[l]!; p < end; p += 2) {
    const j = c[p]!, w = ws[j]!;
    key[w] = (key[w]! & ~ms[j]!) | c[p + 1]!;
  }
}

export const T_TABLE = 0;
export const T_ACTION = 1;
export const T_DETAIL = 2;
export const T_ERROR = 3;
/** Only in dry runs: a bridge crossed through a patch port (its tables are subs). */
export const T_BRIDGE = 4;

/** An ofproto/trace node (ofproto-dpif-trace.h struct oftrace_node). */
export interface TNode {
  type: number;
  text: string;
  detail: Record<string, unknown> | undefined;
  subs: TNode[] | null;
}

/**
 * A translation cache hit as the path cache replays it (Xlate.run's hit, all
 * but the packet's own changes, which the path's output header holds).
 */
class XcPathOp implements PathOp {
  private readonly cache: XlateCache;
  private readonly tables: FlowTables;
  private readonly engine: Engine;
  private readonly fdbs: MacLearning[] = [];
  private readonly learned: FdbEntry[] = [];
  private readonly learns: LearnProg[] = [];
  private readonly learnTables: FlowTables[] = [];
  private readonly learnKeys: FlowKey[] = [];

  constructor(x: Xlate, private readonly entry: XcEntry, private readonly bytes: number, private readonly slot: number) {
    this.cache = x.cache!;
    this.tables = x.host.tables;
    this.engine = x.host.engine;
    x.learnsOf(entry, this.fdbs, this.learned, this.learns, this.learnTables, this.learnKeys);
  }

  share(id: (o: object) => number): string {
    return `xc ${id(this.entry)} ${this.bytes}`;
  }

  /** Its entry, the tables and fdbs change only by the element path, timers or control; the memo by hit() too (below). */
  readonly steady = true;

  live(now: number): boolean {
    const x = this.entry, s = Math.floor(now / 1000);
    // The port's memo holding another entry may answer the lookup with it (overlapping megaflows): not this step.
    return !x.dead && x.spanPort === null && !this.cache.memoOther(x, this.slot) && (x.live(now, s) || (this.tables.sync(), x.live(now, s)));
  }

  hit(now: number): void {
    const x = this.entry, xc = this.cache, s = Math.floor(now / 1000);
    xc.hits++;
    if (xc.looked(x, this.slot)) this.engine.stateChanged(); // another flow's op on this memo slot may now be dead (memoOther)
    x.packets++;
    x.bytes += this.bytes;
    x.used = now;
    xc.credit(x, this.bytes);
    const f = this.fdbs;
    for (let i = 0; i < f.length; i++) f[i]!.touch(this.learned[i]!, s);
    // Replay's order: a learned flow refreshed (or added again) after the lookups (credited lazily above).
    const l = this.learns;
    for (let i = 0; i < l.length; i++) {
      l[i]!.execute(this.learnKeys[i]!, this.learnTables[i]!, now);
      // A flow added again (it had expired) or modified changes a table other shapes' ops read.
      if (l[i]!.result !== 'refresh') this.engine.stateChanged();
    }
  }
}
