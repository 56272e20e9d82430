// Action execution: one packet through a bridge's OpenFlow pipeline, the way
// ofproto-dpif-xlate.c translates it. Actions run on the flow key and on the
// packet in place; each output sends the packet as it is at that point. To
// avoid copies, the last output is remembered and only snapshotted (cloned)
// when a later output or a packet-visible change needs the original; the
// final output hands on the original. Outputs are emitted when translation
// ends, so an error (resubmit depth or count) drops everything, as OVS
// installs a drop flow then. Nothing here allocates per packet except clones
// for extra outputs and learn() creating or changing a flow.
import { OFPP, type Action } from './actions.js';
import type { FieldDef, Prereq as FieldPrereq } from './fields.js';
import { field, ones } from './fields.js';
import { K, newKey, type FlowKey } from './flow-key.js';
import { FrameLayout, VLAN_CFI, extractFlow } from './flow-extract.js';
import type { FlowEntry, FlowTables } from './flow-table.js';
import { applyConstWrite, constWrite, readSegs, segWords, subfieldSegs, val, writeSegs, type Segs } from './key-bits.js';
import { LearnProg } from './learn-exec.js';
import type { MacLearning } from './fdb.js';
import { xlateNormal, type NormalCtx } from './normal.js';
import type { OvsPort } from './ovs-port.js';
import type { Engine } from '../datapath/engine.js';
import type { Element } from '../datapath/element.js';
import type { Packet } from '../datapath/packet.js';
import type { DropReason } from '../datapath/drop-reasons.js';
import { readU16, readU32, writeMac, writeU16, writeU32 } from '../wire/addr.js';
import { setIpv4Dst, setIpv4Src, setIpv4Tos, setIpv4Ttl } from '../wire/ipv4.js';
import { setTcpDst, setTcpSrc, tcpCsumReplace32 } from '../wire/tcp.js';
import { setUdpDst, setUdpSrc, udpCsumReplace32 } from '../wire/udp.js';
import { csumUpdate16 } from '../wire/checksum.js';

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
}

// ---- compiled actions -------------------------------------------------

/** Field prerequisites, plus 'l4' for OF1.0 mod_tp_*: TCP, UDP or SCTP and not a later fragment. */
type Prereq = FieldPrereq | 'l4';

const enum Op {
  NOP,
  OUTPUT,
  OUTPUT_REG,
  RESUBMIT,
  GOTO,
  MOD_VID,
  MOD_PCP,
  STRIP,
  PUSH,
  SET_CONST,
  MOVE,
  DEC_TTL,
  LEARN,
  CT,
}

// Packet-visible parts of the flow a write can touch.
const D_ETH_SRC = 1 << 0;
const D_ETH_DST = 1 << 1;
const D_VLAN = 1 << 2;
const D_NW_SRC = 1 << 3;
const D_NW_DST = 1 << 4;
const D_NW_PROTO = 1 << 5;
const D_TOS = 1 << 6;
const D_TTL = 1 << 7;
const D_TP_SRC = 1 << 8;
const D_TP_DST = 1 << 9;
const D_ARP_SHA = 1 << 10;
const D_ARP_THA = 1 << 11;
const D_TUN = 1 << 12;
const D_MARK = 1 << 13;

function wordDirty(w: number): number {
  switch (w) {
    case K.DL_SRC_HI:
    case K.DL_SRC_LO:
      return D_ETH_SRC;
    case K.DL_DST_HI:
    case K.DL_DST_LO:
      return D_ETH_DST;
    case K.VLAN_TCI:
      return D_VLAN;
    case K.NW_SRC:
      return D_NW_SRC;
    case K.NW_DST:
      return D_NW_DST;
    case K.NW_PROTO:
      return D_NW_PROTO;
    case K.NW_TOS:
      return D_TOS;
    case K.NW_TTL:
      return D_TTL;
    case K.TP_SRC:
      return D_TP_SRC;
    case K.TP_DST:
      return D_TP_DST;
    case K.ARP_SHA_HI:
    case K.ARP_SHA_LO:
      return D_ARP_SHA;
    case K.ARP_THA_HI:
    case K.ARP_THA_LO:
      return D_ARP_THA;
    case K.TUN_ID_HI:
    case K.TUN_ID_LO:
    case K.TUN_SRC:
    case K.TUN_DST:
      return D_TUN;
    case K.PKT_MARK:
      return D_MARK;
    default:
      return 0; // in_port, registers, metadata: flow only
  }
}

class COp {
  n = 0;
  n2 = 0;
  t: Uint32Array | null = null;
  s1: Segs | null = null;
  s2: Segs | null = null;
  dirty = 0;
  pre: Prereq = 'none';
  pre2: Prereq = 'none';
  learn: LearnProg | null = null;
  constructor(
    readonly op: Op,
    readonly a: Action,
  ) {}
}

function dirtyOfTriples(t: Uint32Array): number {
  let d = 0;
  for (let i = 0; i < t.length; i += 3) d |= wordDirty(t[i]!);
  return d;
}

function constOp(a: Action, f: FieldDef, value: bigint, mask: bigint, pre: Prereq): COp {
  const c = new COp(Op.SET_CONST, a);
  c.t = constWrite(f, value, mask);
  c.dirty = dirtyOfTriples(c.t);
  c.pre = pre;
  return c;
}

function compileOne(a: Action): COp {
  switch (a.kind) {
    case 'output': {
      const c = new COp(Op.OUTPUT, a);
      c.n = a.port;
      return c;
    }
    case 'outputReg': {
      const c = new COp(Op.OUTPUT_REG, a);
      c.s1 = subfieldSegs(a.src);
      c.pre = a.src.field.prereq;
      return c;
    }
    case 'resubmit': {
      const c = new COp(a.ct ? Op.CT : Op.RESUBMIT, a);
      c.n = a.port ?? OFPP.IN_PORT;
      c.n2 = a.table ?? 255;
      return c;
    }
    case 'gotoTable': {
      const c = new COp(Op.GOTO, a);
      c.n2 = a.table;
      return c;
    }
    case 'modVlanVid': {
      const c = new COp(Op.MOD_VID, a);
      c.n = a.vid & 0xfff;
      c.n2 = a.pushIfNeeded ? 1 : 0;
      return c;
    }
    case 'modVlanPcp': {
      const c = new COp(Op.MOD_PCP, a);
      c.n = a.pcp & 7;
      c.n2 = a.pushIfNeeded ? 1 : 0;
      return c;
    }
    case 'stripVlan':
      return new COp(Op.STRIP, a);
    case 'pushVlan': {
      const c = new COp(Op.PUSH, a);
      c.n = a.ethertype;
      return c;
    }
    case 'modDlSrc':
      return constOp(a, field('eth_src'), BigInt(a.mac), ones(48), 'none');
    case 'modDlDst':
      return constOp(a, field('eth_dst'), BigInt(a.mac), ones(48), 'none');
    case 'modNwSrc':
      return constOp(a, field('ip_src'), BigInt(a.ip >>> 0), ones(32), 'ip');
    case 'modNwDst':
      return constOp(a, field('ip_dst'), BigInt(a.ip >>> 0), ones(32), 'ip');
    case 'modNwTos': // DSCP bits only
      return constOp(a, field('nw_tos'), BigInt(a.tos & 0xfc), 0xfcn, 'ipAny');
    case 'modNwEcn':
      return constOp(a, field('nw_tos'), BigInt(a.ecn & 3), 3n, 'ipAny');
    case 'modNwTtl':
      return constOp(a, field('nw_ttl'), BigInt(a.ttl & 0xff), 0xffn, 'ipAny');
    case 'modTpSrc':
      return constOp(a, field('tcp_src'), BigInt(a.port & 0xffff), 0xffffn, 'l4');
    case 'modTpDst':
      return constOp(a, field('tcp_dst'), BigInt(a.port & 0xffff), 0xffffn, 'l4');
    case 'setField': {
      const f = a.field;
      // OF1.0 dl_vlan / vlan_pcp set the "tag present" bit too (flow_set_dl_vlan, flow_set_vlan_pcp).
      if (f.name === 'dl_vlan') {
        const c = new COp(Op.MOD_VID, a);
        c.n = Number(a.value) & 0xfff;
        c.n2 = Number(a.value) === 0xffff ? 2 : 1;
        return c;
      }
      if (f.name === 'vlan_pcp' || f.name === 'dl_vlan_pcp') {
        const c = new COp(Op.MOD_PCP, a);
        c.n = Number(a.value) & 7;
        c.n2 = f.name === 'dl_vlan_pcp' ? 1 : 0;
        return c;
      }
      return constOp(a, f, a.value, a.mask, f.prereq);
    }
    case 'load': {
      const sf = a.dst;
      const m = ones(sf.nBits) << BigInt(sf.ofs);
      return constOp(a, sf.field, (a.value & ones(sf.nBits)) << BigInt(sf.ofs), m, sf.field.prereq);
    }
    case 'move': {
      const c = new COp(Op.MOVE, a);
      c.s1 = subfieldSegs(a.src);
      c.s2 = subfieldSegs(a.dst);
      for (const w of segWords(c.s2)) c.dirty |= wordDirty(w);
      c.pre = a.src.field.prereq;
      c.pre2 = a.dst.field.prereq;
      return c;
    }
    case 'setTunnel':
      return constOp(a, field('tun_id'), a.id, ones(64), 'none');
    case 'writeMetadata':
      return constOp(a, field('metadata'), a.value, a.mask, 'none');
    case 'decTtl':
      return new COp(Op.DEC_TTL, a);
    case 'learn': {
      const c = new COp(Op.LEARN, a);
      c.learn = new LearnProg(a.spec);
      return c;
    }
    case 'ct':
      return new COp(Op.CT, a);
    case 'controller':
    case 'note':
    case 'ctClear':
      return new COp(Op.NOP, a);
  }
}

/** The compiled program of a flow's actions (cached on the entry). */
export function programOf(e: FlowEntry): COp[] {
  let p = e.prog as COp[] | null;
  if (p === null) e.prog = p = e.actions.map(compileOne);
  return p;
}

function prereqOk(p: Prereq, key: FlowKey): boolean {
  if (p === 'none') return true;
  const t = key[K.DL_TYPE]!;
  const proto = key[K.NW_PROTO]!;
  const ip4 = t === 0x0800, ip6 = t === 0x86dd, ipAny = ip4 || ip6;
  switch (p) {
    case 'vlan':
      return (key[K.VLAN_TCI]! & VLAN_CFI) !== 0;
    case 'ip':
      return ip4;
    case 'ipv6':
      return ip6;
    case 'ipAny':
      return ipAny;
    case 'arp':
      return t === 0x0806 || t === 0x8035;
    case 'tcp':
      return ipAny && proto === 6;
    case 'udp':
      return ipAny && proto === 17;
    case 'sctp':
      return ipAny && proto === 132;
    case 'l4':
      return ipAny && (proto === 6 || proto === 17 || proto === 132) && (key[K.NW_FRAG]! & 2) === 0;
    case 'icmp':
      return ip4 && proto === 1;
    case 'icmp6':
      return ip6 && proto === 58;
    case 'icmpAny':
      return (ip4 && proto === 1) || (ip6 && proto === 58);
  }
}

function isVlanTpid(t: number): boolean {
  return t === 0x8100 || t === 0x88a8;
}

// ---- the translation ----------------------------------------------------

const ERR_NONE = 0;
const ERR_TOO_DEEP = 1;
const ERR_TOO_MANY = 2;
const ERR_NO_HEADROOM = 3;

export class Xlate implements NormalCtx {
  readonly key: FlowKey = newKey();
  readonly lay = new FrameLayout();
  pkt!: Packet;
  nowMs = 0;
  nowS = 0;
  /** Bytes credited to every flow this packet hits (its length at bridge entry). */
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

  constructor(readonly host: XlateHost) {
    this.slotSize = host.engine.pool.slotSize;
  }

  get fdb(): MacLearning {
    return this.host.fdb;
  }
  get portList(): readonly OvsPort[] {
    return this.host.portList;
  }
  portByOfport(n: number): OvsPort | undefined {
    return this.host.portByOfport(n);
  }

  /** Translate and execute `pkt`, which arrived on `inPort`; it leaves through the engine or is dropped. */
  run(pkt: Packet, inPort: OvsPort, nowMs: number): void {
    const key = this.key;
    this.pkt = pkt;
    this.nowMs = nowMs;
    this.nowS = Math.floor(nowMs / 1000);
    this.bytes = pkt.len;
    this.depth = this.resubmits = 0;
    this.error = ERR_NONE;
    this.tableId = 0;
    this.dropReason = 'ovs_drop';
    this.nOut = 0;
    this.pending = null;
    this.pendingTci = -1;
    this.tracing = pkt.traceId !== 0 && this.host.engine.tracer !== null;
    extractFlow(pkt, inPort.ofport, key, this.lay);
    if (this.tracing) this.cur = this.root = [];
    this.table(0, key[K.IN_PORT]!, true);
    if (this.tracing) this.emitTrace();
    this.finish();
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
    const saved = key[K.IN_PORT]!;
    key[K.IN_PORT] = inPort;
    const e = this.host.tables.lookup(id, key, this.nowMs);
    key[K.IN_PORT] = saved;
    const parent = this.tracing ? this.traceTable(id, e) : null;
    if (e === null) {
      this.traceNode(T_ACTION, 'drop');
      this.dropReason = 'table_miss';
      if (parent) this.cur = parent;
      return;
    }
    e.nPackets++;
    e.nBytes += this.bytes;
    e.used = this.nowMs;
    const oldTable = this.tableId;
    const deepens = !top && id <= oldTable;
    if (deepens) this.depth++;
    this.tableId = id;
    this.actions(programOf(e));
    this.tableId = oldTable;
    if (deepens) this.depth--;
    if (parent) this.cur = parent;
  }

  private actions(prog: COp[]): void {
    if (prog.length === 0) this.traceNode(T_ACTION, 'drop');
    for (let i = 0; i < prog.length; i++) {
      if (this.error !== ERR_NONE) return;
      const c = prog[i]!;
      if (this.tracing) this.traceNode(T_ACTION, this.host.traceFormat.action(c.a));
      switch (c.op) {
        case Op.NOP:
          break;
        case Op.OUTPUT:
          this.outputAction(c.n);
          break;
        case Op.OUTPUT_REG: {
          if (!prereqOk(c.pre, this.key)) break;
          readSegs(this.key, c.s1!);
          if (val.hi === 0 && val.lo <= 0xffff) {
            if (this.tracing) this.detail(`output port is ${val.lo}`);
            this.outputAction(val.lo);
          } else if (this.tracing) {
            this.detail(`output port ${val.hi * 2 ** 32 + val.lo} is out of range`);
          }
          break;
        }
        case Op.RESUBMIT: {
          const port = c.n === OFPP.IN_PORT ? this.key[K.IN_PORT]! : c.n;
          this.table(c.n2 === 255 ? this.tableId : c.n2, port, false);
          break;
        }
        case Op.GOTO:
          this.table(c.n2, this.key[K.IN_PORT]!, false);
          break;
        case Op.MOD_VID:
          this.modVlan(c.n, c.n2, true);
          break;
        case Op.MOD_PCP:
          this.modVlan(c.n, c.n2, false);
          break;
        case Op.STRIP:
          if (this.key[K.VLAN_TCI]! & VLAN_CFI) {
            this.key[K.VLAN_TCI] = 0;
            this.apply(D_VLAN);
          }
          break;
        case Op.PUSH:
          this.pushVlan(c.n);
          break;
        case Op.SET_CONST:
          if (!prereqOk(c.pre, this.key)) {
            this.detail('unmet prerequisites, set_field ignored');
            break;
          }
          if (c.dirty !== 0) this.beforeChange();
          applyConstWrite(this.key, c.t!);
          if (c.dirty !== 0) this.apply(c.dirty);
          break;
        case Op.MOVE:
          if (!prereqOk(c.pre, this.key) || !prereqOk(c.pre2, this.key)) break;
          readSegs(this.key, c.s1!);
          if (c.dirty !== 0) this.beforeChange();
          writeSegs(this.key, c.s2!, val.hi, val.lo);
          if (c.dirty !== 0) this.apply(c.dirty);
          break;
        case Op.DEC_TTL:
          if (this.decTtl()) return; // "Stop processing for current table"
          break;
        case Op.LEARN: {
          const learned = c.learn!.execute(this.key, this.host.tables, this.nowMs);
          if (this.tracing) this.detail(this.host.traceFormat.learned(learned));
          break;
        }
        case Op.CT:
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
        xlateNormal(this);
        return;
      case OFPP.FLOOD:
      case OFPP.ALL: {
        const ps = this.host.portList;
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
    const p = this.host.portByOfport(ofport);
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
    if (this.pending !== null) this.snapshot();
    this.pending = p;
    this.pendingTci = tci;
    if (this.tracing && p.type === 'vxlan') this.detail('output to kernel tunnel');
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
    for (let i = 0; i < this.nOut; i++) eng.output(this.outPkts[i]!, this.outPorts[i]!.port);
    const hadOut = this.nOut > 0;
    this.clearOut();
    const p = this.pending;
    if (p !== null) {
      this.pending = null;
      this.prepare(this.pkt, p, this.pendingTci);
      eng.output(this.pkt, p.port);
    } else if (hadOut) {
      eng.pool.free(this.pkt); // every output got its own copy
    } else {
      eng.drop(this.pkt, el, this.dropReason);
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
    this.apply(D_VLAN);
  }

  private pushVlan(tpid: number): void {
    this.beforeChange();
    const pkt = this.pkt;
    const o = pkt.off;
    if (!pkt.push(4, this.slotSize)) {
      this.error = ERR_NO_HEADROOM;
      return;
    }
    pkt.buf.copyWithin(o - 4, o, o + 12);
    writeU16(pkt.buf, o + 8, tpid);
    writeU16(pkt.buf, o + 10, 0);
    this.key[K.VLAN_TCI] = VLAN_CFI;
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
      this.apply(D_TTL);
      return false;
    }
    this.detail(`IPv${t === 0x0800 ? 4 : 6} decrement TTL exception`);
    this.dropReason = 'ttl_exceeded';
    return true;
  }

  /** Write the key's packet-visible fields in `dirty` into the frame. */
  private apply(dirty: number): void {
    const key = this.key, pkt = this.pkt, b = pkt.buf, lay = this.lay;
    if (dirty & D_ETH_DST) writeMac(b, pkt.off, key[K.DL_DST_HI]!, key[K.DL_DST_LO]!);
    if (dirty & D_ETH_SRC) writeMac(b, pkt.off + 6, key[K.DL_SRC_HI]!, key[K.DL_SRC_LO]!);
    if (dirty & D_VLAN) {
      if (!applyVlan(pkt, key[K.VLAN_TCI]!, this.slotSize)) this.error = ERR_NO_HEADROOM;
      else if (key[K.VLAN_TCI] === 0 && pkt.len >= 18 && isVlanTpid(readU16(b, pkt.off + 12)) && this.lay.nTags > 1) {
        // Popped the outer of two tags: the inner one is now the flow's.
        key[K.VLAN_TCI] = readU16(b, pkt.off + 14) | VLAN_CFI;
      }
    }
    if (dirty & D_TUN) {
      pkt.tunId = key[K.TUN_ID_HI]! * 2 ** 32 + key[K.TUN_ID_LO]!;
      pkt.tunSrc = key[K.TUN_SRC]!;
      pkt.tunDst = key[K.TUN_DST]!;
    }
    if (dirty & D_MARK) pkt.mark = key[K.PKT_MARK]!;
    const l3 = lay.l3;
    if (l3 < 0 || (dirty & ~(D_ETH_DST | D_ETH_SRC | D_VLAN | D_TUN | D_MARK)) === 0) return;
    const type = key[K.DL_TYPE]!;
    if (type === 0x0800) this.applyIpv4(dirty, l3);
    else if (type === 0x0806 || type === 0x8035) {
      if (dirty & D_NW_PROTO) writeU16(b, l3 + 6, key[K.NW_PROTO]!);
      if (dirty & D_ARP_SHA) writeMac(b, l3 + 8, key[K.ARP_SHA_HI]!, key[K.ARP_SHA_LO]!);
      if (dirty & D_NW_SRC) writeU32(b, l3 + 14, key[K.NW_SRC]!);
      if (dirty & D_ARP_THA) writeMac(b, l3 + 18, key[K.ARP_THA_HI]!, key[K.ARP_THA_LO]!);
      if (dirty & D_NW_DST) writeU32(b, l3 + 24, key[K.NW_DST]!);
    } else if (type === 0x86dd && dirty & (D_TTL | D_TOS)) {
      if (dirty & D_TTL) b[l3 + 7] = key[K.NW_TTL]!;
      if (dirty & D_TOS) {
        const tc = key[K.NW_TOS]!;
        b[l3] = (b[l3]! & 0xf0) | (tc >>> 4);
        b[l3 + 1] = (b[l3 + 1]! & 0x0f) | ((tc & 15) << 4);
      }
    }
  }

  private applyIpv4(dirty: number, l3: number): void {
    const key = this.key, b = this.pkt.buf, l4 = this.lay.l4, proto = key[K.NW_PROTO]!;
    if (dirty & D_NW_SRC) {
      const old = readU32(b, l3 + 12), nw = key[K.NW_SRC]!;
      if (old !== nw) {
        setIpv4Src(b, l3, nw);
        this.l4AddrCsum(l4, proto, old, nw);
      }
    }
    if (dirty & D_NW_DST) {
      const old = readU32(b, l3 + 16), nw = key[K.NW_DST]!;
      if (old !== nw) {
        setIpv4Dst(b, l3, nw);
        this.l4AddrCsum(l4, proto, old, nw);
      }
    }
    if (dirty & D_TOS) setIpv4Tos(b, l3, key[K.NW_TOS]!);
    if (dirty & D_TTL) setIpv4Ttl(b, l3, key[K.NW_TTL]!);
    if (l4 < 0 || !(dirty & (D_TP_SRC | D_TP_DST))) return;
    if (proto === 6) {
      if (dirty & D_TP_SRC) setTcpSrc(b, l4, key[K.TP_SRC]!);
      if (dirty & D_TP_DST) setTcpDst(b, l4, key[K.TP_DST]!);
    } else if (proto === 17) {
      if (dirty & D_TP_SRC) setUdpSrc(b, l4, key[K.TP_SRC]!);
      if (dirty & D_TP_DST) setUdpDst(b, l4, key[K.TP_DST]!);
    } else if (proto === 132) {
      if (dirty & D_TP_SRC) writeU16(b, l4, key[K.TP_SRC]!);
      if (dirty & D_TP_DST) writeU16(b, l4 + 2, key[K.TP_DST]!);
    } else if (proto === 1) {
      const old = readU16(b, l4);
      const nw = ((key[K.TP_SRC]! & 0xff) << 8) | (key[K.TP_DST]! & 0xff);
      writeU16(b, l4, nw);
      writeU16(b, l4 + 2, csumUpdate16(readU16(b, l4 + 2), old, nw));
    }
  }

  private l4AddrCsum(l4: number, proto: number, old: number, nw: number): void {
    if (l4 < 0) return;
    if (proto === 6) tcpCsumReplace32(this.pkt.buf, l4, old, nw);
    else if (proto === 17) udpCsumReplace32(this.pkt.buf, l4, old, nw);
  }

  // ---- NormalCtx ----

  setDropReason(r: DropReason): void {
    this.dropReason = r;
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
      text = `${String(id).padStart(2)}. No match.`;
      detail = { table: id, miss: true };
    } else {
      const m = this.host.traceFormat.match(e);
      const cookie = e.cookie !== 0n ? `, cookie 0x${e.cookie.toString(16)}` : '';
      text = `${String(id).padStart(2)}. ${m}${m === '' ? '' : ', '}priority ${e.priority}${cookie}`;
      detail = { table: id, priority: e.priority, cookie: `0x${e.cookie.toString(16)}`, match: m };
    }
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

const T_TABLE = 0;
const T_ACTION = 1;
const T_DETAIL = 2;
const T_ERROR = 3;

interface TNode {
  type: number;
  text: string;
  detail: Record<string, unknown> | undefined;
  subs: TNode[] | null;
}

/**
 * Make the frame's outer VLAN match flow TCI `tci` (CFI = tag present; the
 * wire TCI has the CFI/DEI bit clear, as the datapath pushes it). False if
 * there is no headroom for a tag.
 */
export function applyVlan(pkt: Packet, tci: number, slotSize: number): boolean {
  const b = pkt.buf, o = pkt.off;
  const tagged = pkt.len >= 18 && isVlanTpid(readU16(b, o + 12));
  if (tci & VLAN_CFI) {
    const wire = tci & ~VLAN_CFI & 0xffff;
    if (tagged) {
      writeU16(b, o + 14, wire);
      return true;
    }
    if (!pkt.push(4, slotSize)) return false;
    b.copyWithin(o - 4, o, o + 12);
    writeU16(b, o + 8, 0x8100);
    writeU16(b, o + 10, wire);
    return true;
  }
  if (tagged) {
    b.copyWithin(o + 4, o, o + 12);
    pkt.pull(4);
  }
  return true;
}
