// An Open vSwitch bridge as an element of the packet engine: ports with
// ofport numbers (and the LOCAL port OVS creates with the bridge), OpenFlow
// tables 0..254, NORMAL with its MAC learning table, fail_mode, flow_mods in
// ovs-ofctl syntax, and the views of dump-flows, fdb/show and dump-ports-desc.
import { AddOp } from '../datapath/path-cache.js';
import { Element, type Port } from '../datapath/element.js';
import type { Engine } from '../datapath/engine.js';
import type { Packet } from '../datapath/packet.js';
import { OFPP, type Action } from './actions.js';
import { formatActions, reencode } from './action-printer.js';
import { Xlate, type TraceFormat, type XlateHost } from './execute.js';
import { MacLearning, MAC_DEFAULT_MAX, MAC_ENTRY_DEFAULT_IDLE_TIME } from './fdb.js';
import { DEFAULT_PRIORITY, newFlowSpec, type FlowSpec } from './flow.js';
import { parseFlow, parseFlowMod, type ParseOptions } from './flow-parser.js';
import { dumpFlowsPrintOptions, formatFlow, formatMatch, type OfVersion } from './flow-printer.js';
import { FlowTables, TABLE_ALL, type FlowEntry, type FlowFilter } from './flow-table.js';
import { OFPPC, OvsPort, type OvsPortConfig } from './ovs-port.js';
import { emptyMatch } from './match.js';
import { oxmVlanTci } from './match-edit.js';
import { MAX_IDLE_DEFAULT, XlateCache } from './xlate-cache.js';
import { XcDeps } from './xlate-deps.js';
import { udpifOf, type Udpif } from './udpif.js';
import { FRAG_DROP, FRAG_NORMAL, type FragMode } from './frag-handling.js';
import { FASTPATH_CELLS } from '../datapath/stats.js';
import { LJ, type KeepsLearned, type LearnedJournal, type LearnedRecord, type LearnedSink } from '../datapath/learned-journal.js';

export type FailMode = 'secure' | 'standalone';

export interface OvsBridgeOptions {
  /** OVSDB Bridge fail_mode; OVS's default (empty) behaves as standalone. */
  failMode?: FailMode;
  /** other_config:mac-aging-time (seconds, default 300). */
  macAgingTime?: number;
  /** other_config:mac-table-size (default 8192). */
  macTableSize?: number;
  /** Whether the bridge's own internal interface is up (usually DOWN on Neutron nodes). */
  localUp?: boolean;
}

/** How flow-matching commands read their argument. */
export interface FlowModOptions {
  strict?: boolean;
  /** The version a mod-flows came in (default 10): OpenFlow 1.1+ carries no new cookie, so never adds a flow. */
  openflow?: FlowModVersion;
}

export interface DumpFlowsOptions {
  /** Print port names (--names); default false, as piped ovs-ofctl output. */
  names?: boolean;
  /** --no-stats. */
  noStats?: boolean;
  /** Printed as ovs-ofctl prints flows it decoded (a sort), not the reply as it came: OpenFlow 1.0 ages left out, as with names. */
  decoded?: boolean;
  /** Only flows matching this flow-matching text (table=, cookie=v/m, out_port=, fields). */
  filter?: string;
  /** The reply's OpenFlow version: 10 (default, ovs-ofctl dump-flows) or 13 to 15 (-O). */
  version?: OfVersion;
}

/** What a flow_mod's version means here: OpenFlow 1.0, 1.3 (and 1.4: the same actions) or 1.5. */
export type FlowModVersion = 10 | 13 | 15;

/**
 * The actions as the switch decodes them from a flow_mod of `openflow`, and
 * the flow keeps them so: what ovs-ofctl encodes for that version and OVS
 * decodes (1.0: goto_table is resubmit(,N), mod_nw_ttl a load; 1.3:
 * set_tunnel is a set_field, so a 1.0 dump shows a load; 1.5 has no
 * reg_load: loads came as set_field). Without a version (a configuration
 * snapshot) the actions stay as parsed.
 */
function decoded(actions: Action[], openflow: FlowModVersion | undefined, match: FlowSpec['match']): Action[] {
  return openflow === undefined ? actions : reencode(actions, openflow === 10 ? 'of10' : openflow === 15 ? 'of15' : 'of13', match);
}

/** A row of `ovs-ofctl dump-ports-desc` / `ovs-vsctl show`. */
export interface OvsPortDesc {
  ofport: number;
  name: string;
  type: string;
  tag?: number;
  trunks?: number[];
  vlanMode?: string;
  options: Record<string, string>;
  up: boolean;
  /** OFPPC bits, PORT_DOWN included (a port that is down). */
  config: number;
}

export const OFPP_LOCAL = OFPP.LOCAL;
/** alloc_ofp_port gives numbers below MIN(max_ports, 32768): the upper half is the controllers'. */
const OFPP_ALLOC_MAX = 32768;

export class OvsBridge extends Element implements XlateHost, KeepsLearned {
  readonly tables = new FlowTables();
  readonly fdb: MacLearning;
  failMode: FailMode;
  /** The OVSDB column (vsctl get, vsctl show): null when unset, OVS's default, which behaves as standalone. */
  failModeColumn: FailMode | null;
  portList: OvsPort[] = [];
  readonly traceFormat: TraceFormat;
  private readonly byOfport = new Map<number, OvsPort>();
  private readonly byName = new Map<string, OvsPort>();
  /** alloc_ofp_port's last number, and the OpenFlow numbers of deleted ports with when they went (ofport_usage). */
  private allocPortNo = 0;
  private readonly ofportUsage = new Map<number, number>();
  /** Ports whose counter cells delOvsPort gave back (their devices destroyed). */
  private readonly cellsGiven = new Set<string>();
  private readonly deleted: OvsPort[] = [];
  /** Engine Port.index -> OvsPort. */
  private readonly byIndex: (OvsPort | undefined)[] = [];
  private xlate: Xlate | null = null;
  private readonly localUp: boolean;
  /** The translation cache (dpif/dump-flows shows it); made with the first packet. */
  xcache: XlateCache | null = null;
  /** The node's other_config:max-idle (ms), for the cache made with the first packet. */
  private maxIdle = MAX_IDLE_DEFAULT;
  /** The Bridge row's other_config as ovs-vsctl wrote it (the keys dpemu honours: ovsdb-honoured.ts). */
  readonly otherConfig = new Map<string, string>();
  /** ovs-ofctl set-frags: how table lookups treat IP fragments. */
  private frags: FragMode = FRAG_NORMAL;
  private udpifRef: Udpif | null = null;
  private xdeps: XcDeps | null = null;
  /** The learned-state journal (its learned flows; the fdb journals itself), as element `jid`; null inline. */
  private journal: LearnedJournal | null = null;
  private jid = 0;

  constructor(node: string, name: string, opts: OvsBridgeOptions = {}) {
    super('ovs_bridge', node, name);
    this.failMode = opts.failMode ?? 'standalone';
    this.failModeColumn = opts.failMode ?? null;
    this.fdb = new MacLearning(opts.macAgingTime ?? MAC_ENTRY_DEFAULT_IDLE_TIME, opts.macTableSize ?? MAC_DEFAULT_MAX);
    this.localUp = opts.localUp ?? false;
    this.tables.sync = () => this.pushFlowStats();
    this.traceFormat = {
      match: (e) => formatMatch(e.match, DEFAULT_PRIORITY),
      action: (a) => formatActions([a], { dialect: 'stored' }),
      learned: (e) => learnedText(e),
    };
  }

  /** Create, register with `engine` and give it its LOCAL port. */
  static create(engine: Engine, node: string, name: string, opts: OvsBridgeOptions = {}): OvsBridge {
    const br = engine.add(new OvsBridge(node, name, opts));
    br.ensureLocal();
    return br;
  }

  get element(): Element {
    return this;
  }

  // ---- ports ----

  /** The LOCAL port (ofport 65534, internal, named like the bridge), created once the engine is known. */
  ensureLocal(): OvsPort {
    const p = this.byOfport.get(OFPP.LOCAL);
    if (p) return p;
    // The bridge comes up now: a standalone bridge starts with its NORMAL flow.
    if (this.failMode === 'standalone') this.installStandaloneFlow();
    const lp = this.attachPort(this.name, { ofport: OFPP.LOCAL, type: 'internal' });
    lp.port.up = this.localUp;
    return lp;
  }

  /** ovs-vsctl add-port (with its Interface type, tag, trunks, vlan_mode and options). */
  addOvsPort(name: string, cfg: OvsPortConfig = {}): OvsPort {
    this.ensureLocal();
    return this.attachPort(name, cfg);
  }

  /**
   * ofproto's alloc_ofp_port(): the interface's ofport_request (`request`)
   * unless a port has that number (one deleted a moment ago does not count);
   * else the next number after the last one it gave (from 1, below 32768)
   * that was never used, or whose port went more than an hour ago; failing
   * that, the one deleted longest ago (so that old flows do not meet a new
   * port at once). The topology's ports were requested, which moves nothing.
   */
  allocOfport(nowMs: number, request?: number): number {
    if (request !== undefined && !this.byOfport.has(request)) {
      this.ofportUsage.delete(request);
      return request;
    }
    const end = this.allocPortNo;
    let lru = 0, lruAt = Infinity;
    for (;;) {
      if (++this.allocPortNo >= OFPP_ALLOC_MAX) this.allocPortNo = 1;
      const n = this.allocPortNo;
      const deletedAt = this.byOfport.has(n) ? Infinity : this.ofportUsage.get(n);
      if (deletedAt === undefined || deletedAt < nowMs - 3600_000) {
        this.ofportUsage.delete(n);
        return n;
      }
      if (deletedAt < lruAt) [lru, lruAt] = [n, deletedAt];
      if (n === end) {
        if (lru) return lru;
        throw new Error(`bridge ${this.name}: no free OpenFlow port number`);
      }
    }
  }

  private attachPort(name: string, cfg: OvsPortConfig): OvsPort {
    if (!this.engine) throw new Error(`bridge ${this.name}: add it to the engine before adding ports`);
    if (this.byName.has(name)) throw new Error(`bridge ${this.name} already has a port named ${name}`);
    // A port deleted and added again: its device's engine port, still linked where it was.
    const gone = this.port(name);
    let ofport = cfg.ofport;
    if (ofport === undefined) {
      ofport = 1;
      while (this.byOfport.has(ofport)) ofport++;
    } else if (this.byOfport.has(ofport)) {
      throw new Error(`bridge ${this.name}: ofport ${ofport} is taken by ${this.byOfport.get(ofport)!.name}`);
    } else if (ofport < 1 || (ofport >= OFPP.MAX && ofport !== OFPP.LOCAL)) {
      throw new Error(`bridge ${this.name}: bad ofport ${ofport}`);
    }
    const port = gone ?? this.engine.addPort(this, name);
    // Back: its device's cells exported again, or new ones for a new device (delOvsPort gave the old one's back).
    if (gone && this.cellsGiven.delete(name)) this.engine.allocPortCells(gone);
    else if (gone) this.engine.stats.retire({ node: this.node, element: this.name, port: name }, false);
    const op = new OvsPort(name, ofport, port, cfg);
    op.created = this.engine.now;
    this.byOfport.set(ofport, op);
    this.byName.set(name, op);
    this.byIndex[port.index] = op;
    this.portList.push(op);
    this.portList.sort((a, b) => a.ofport - b.ofport);
    this.xdeps?.portChanged(ofport);
    if (op.type === 'patch') this.linkPatch(op);
    return op;
  }

  /** ovs-vsctl del-port: the port stops carrying traffic, its fdb entries go, and its series leave /metrics. */
  delOvsPort(name: string): void {
    const op = this.byName.get(name);
    if (!op || op.ofport === OFPP.LOCAL) throw new Error(`bridge ${this.name} has no port ${name}`);
    this.byName.delete(name);
    this.byOfport.delete(op.ofport);
    this.byIndex[op.port.index] = undefined;
    this.portList = this.portList.filter((p) => p !== op);
    this.fdb.flushPort(op.ofport);
    op.port.up = false;
    this.ofportUsage.set(op.ofport, this.now());
    this.engine.stats.retire({ node: this.node, element: this.name, port: name });
    // An internal device ovs-vsctl added is destroyed with its port: its cells go back (a long-running
    // daemon's add-port/del-port of new names would otherwise run out of them).
    if (op.plugged && op.type === 'internal') {
      this.engine.stats.release({ node: this.node, element: this.name, port: name });
      this.cellsGiven.add(name);
    }
    if (!op.plugged) this.deleted.push(op);
    this.xdeps?.portChanged(op.ofport);
  }

  /**
   * A port_mod's config bit `bit` set (`on`) or cleared, as ofproto's
   * update_port_config: PORT_DOWN turns the device down or up, which a patch
   * or tunnel port's netdev refuses (netdev_vport_update_flags), so the bit
   * stays; the others are the port's. Translations that read the port, and
   * floods, are redone (OVS revalidates on any config change).
   */
  modPort(op: OvsPort, bit: number, on: boolean): void {
    if (bit === OFPPC.PORT_DOWN) {
      if (op.vport) return;
      op.port.up = !on;
    } else {
      op.config = on ? op.config | bit : op.config & ~bit;
    }
    this.xdeps?.portChanged(op.ofport);
  }

  portByOfport(ofport: number): OvsPort | undefined {
    return this.byOfport.get(ofport);
  }

  /** The ports the topology gave the bridge, LOCAL first then by OpenFlow number, those deleted since included. */
  topologyPorts(): OvsPort[] {
    const ps = [...this.portList, ...this.deleted].filter((p) => !p.plugged);
    return ps.sort((a, b) => (a.ofport === OFPP.LOCAL ? -1 : b.ofport === OFPP.LOCAL ? 1 : a.ofport - b.ofport));
  }

  /** The topology's ports that ovs-vsctl deleted. */
  deletedPorts(): readonly OvsPort[] {
    return this.deleted;
  }

  portByName(name: string): OvsPort | undefined {
    return this.byName.get(name);
  }

  /** The OVS port behind one of this element's engine ports. */
  ovsPortOf(port: Port): OvsPort | undefined {
    return port.element === this ? this.byIndex[port.index] : undefined;
  }

  // A patch port is linked as soon as its peer (on a bridge of the same node) names it back.
  private linkPatch(op: OvsPort): void {
    for (const el of this.engine.elements) {
      if (!(el instanceof OvsBridge) || el.node !== this.node) continue;
      const peer = el.byName.get(op.options.peer!);
      if (!peer || peer === op || peer.type !== 'patch' || peer.options.peer !== op.name) continue;
      if (!peer.port.peer && !op.port.peer) this.engine.link(op.port, peer.port, 'patch');
      return;
    }
  }

  /** The flow and table counters, and the ports' dump-ports byte corrections (they go with the engine's port cells). */
  override clearCounters(): void {
    this.tables.zeroCounters();
    for (const p of this.portList) p.txBytesAdj = p.rxBytesAdj = 0;
  }

  /** `ovs-ofctl dump-ports-desc` / `ovs-vsctl show` data, in ofport order (LOCAL last). */
  portsDesc(): OvsPortDesc[] {
    return this.portList.map((p) => {
      const d: OvsPortDesc = { ofport: p.ofport, name: p.name, type: p.type === 'system' ? '' : p.type, options: {}, up: p.port.up, config: p.config | (p.port.up ? 0 : OFPPC.PORT_DOWN) };
      if (p.tag !== undefined) d.tag = p.tag;
      if (p.trunks) d.trunks = p.trunks.slice();
      if (p.vlanMode !== 'access' && p.vlanMode !== 'trunk') d.vlanMode = p.vlanMode;
      for (const [k, v] of Object.entries(p.options)) if (v !== undefined) d.options[k] = String(v);
      return d;
    });
  }

  // ---- the data path ----

  override receive(pkt: Packet, port: Port): void {
    const op = this.admit(pkt, port);
    if (op !== null) this.xlator().run(pkt, op, this.engine.now);
  }

  /** XlateHost: the port's checks and the tunnel metadata a packet starts this bridge with; null if it dropped `pkt`. */
  admit(pkt: Packet, port: Port): OvsPort | null {
    const op = this.byIndex[port.index];
    if (op === undefined) {
      this.engine.drop(pkt, this, 'port_down', 'port deleted from the bridge');
      return null;
    }
    if (op.type !== 'vxlan') {
      // Only a tunnel port gives a packet tunnel metadata (patch ports clear it, as OVS does).
      pkt.tunId = pkt.tunSrc = pkt.tunDst = 0;
      // A patch port's rx in OVS is the datapath packet's length, as its peer's tx
      // (Xlate.vportBytes); the engine counted the frame. (Not for a frame dropped as a loop on arrival.)
      if (op.type === 'patch' && pkt.dpLen !== 0) {
        op.rxBytesAdj += pkt.dpLen - pkt.len;
        if (pkt.dpLen !== pkt.len) this.engine.recording?.op(new AddOp(op, 'rxBytesAdj', pkt.dpLen - pkt.len));
      }
    } else if (!op.inKey.flow && pkt.tunId !== op.inKey.key) {
      this.engine.drop(pkt, this, 'vxlan_no_port', `key ${pkt.tunId} is not this port's in_key`);
      return null;
    }
    return op;
  }

  /** The executor with its translation cache, made with the first packet (or a patch peer's spanning translation). */
  private xlator(): Xlate {
    let x = this.xlate;
    if (x === null) {
      this.xlate = x = new Xlate(this);
      const xc = (x.cache = this.xcache = new XlateCache(this.engine.stats, this.engine.stats.alloc(FASTPATH_CELLS, { node: this.node, element: this.name })));
      xc.maxIdle = this.maxIdle;
      this.tables.watch = this.fdb.watch = this.xdeps = xc.deps = new XcDeps(xc, this.tables);
    }
    return x;
  }

  /**
   * FlowTables.sync: the cache hits of every bridge of this engine credit
   * their tables and flows now (an entry through patch ports credits the
   * peer bridge's flows too), as OVS's revalidators push datapath flow stats.
   */
  private pushFlowStats(): void {
    const els = this.engine?.elements;
    if (els) for (const el of els) if (el instanceof OvsBridge) el.xcache?.pushStats();
  }

  /** XlateHost: the executor of the OVS bridge on the other side of patch port `p`. */
  patchPeer(p: OvsPort): Xlate | null {
    const el = p.port.peer?.element;
    return el instanceof OvsBridge && el !== this ? el.xlator() : null;
  }

  override tick(now: number): void {
    this.tables.expire(now);
    this.fdb.expire(Math.floor(now / 1000));
    this.udpif().run(now); // sweeps the node's caches
  }

  /** The node's datapath as its revalidators see it (`ovs-appctl upcall/show`). */
  udpif(): Udpif {
    return (this.udpifRef ??= udpifOf(this, () => this.engine.elements.filter((e): e is OvsBridge => e instanceof OvsBridge && e.node === this.node)));
  }

  /** XlateHost: the fragment handling (get-frags). */
  get fragMode(): FragMode {
    return this.frags;
  }

  /**
   * set-frags (ofproto's handle_set_config): the lookups of fragments from
   * now on, and the cached translations of those that change go (OVS
   * revalidates every datapath flow: need_revalidate).
   */
  setFragMode(mode: FragMode): void {
    if (mode === this.frags) return;
    const firstOnly = mode !== FRAG_DROP && this.frags !== FRAG_DROP;
    this.frags = mode;
    this.xdeps?.fragsChanged(firstOnly);
  }

  /** ofproto_set_max_idle(): how long a datapath flow (cache entry) stays unused, from the next revalidation on. */
  setMaxIdle(ms: number): void {
    this.maxIdle = ms;
    if (this.xcache) this.xcache.maxIdle = ms;
  }

  /**
   * A port's Port tag changed (bridge.c port_configure, ofproto-dpif
   * bundle_set): if its VLAN settings changed, its MACs are forgotten
   * (bundle_flush_macs) and what was translated through it goes, as the
   * revalidators retranslate every datapath flow (REV_RECONFIGURE).
   */
  setPortTag(name: string, tag: number | undefined): void {
    const op = this.byName.get(name);
    if (!op) throw new Error(`bridge ${this.name} has no port ${name}`);
    if (!op.setTag(tag)) return;
    this.fdb.flushPort(op.ofport);
    this.xdeps?.portChanged(op.ofport);
  }

  // ---- fail mode ----

  // connmgr_flushed(): with no controller, standalone means one NORMAL flow.
  private installStandaloneFlow(): void {
    const s = newFlowSpec();
    s.priority = 0;
    s.actions = [{ kind: 'output', port: OFPP.NORMAL }];
    this.tables.add(s, this.now());
  }

  /** ovs-vsctl set-fail-mode: without a controller OVS flushes the flows (connmgr_set_fail_mode). */
  setFailMode(mode: FailMode): void {
    this.failModeColumn = mode;
    if (mode === this.failMode) return;
    this.failMode = mode;
    this.flushFlows();
  }

  /** ofproto_flush_flows: every flow goes; standalone gets its NORMAL flow back. */
  flushFlows(): void {
    this.tables.clear();
    if (this.failMode === 'standalone') this.installStandaloneFlow();
  }

  // ---- flow_mods (ovs-ofctl add-flow / mod-flows / del-flows) ----

  private parseOpts(): ParseOptions {
    return { resolvePort: (n) => this.byName.get(n)?.ofport };
  }

  private now(): number {
    return this.engine ? this.engine.now : 0;
  }

  /**
   * ovs-ofctl add-flow, its flags as written unless `openflow` names the
   * version it came in. OpenFlow 1.0 (ovs-ofctl's default): every add implies
   * reset_counts (ofputil_decode_flow_mod_flags), which OVS keeps with the flow
   * and prints in OF1.3+ dumps; re-adding a flow restarts its counters.
   * OpenFlow 1.2+: counters carry over unless the flow says reset_counts.
   */
  addFlow(flow: string | FlowSpec, opts: { openflow?: FlowModVersion } = {}): FlowEntry {
    let spec = typeof flow === 'string' ? parseFlow(flow, this.parseOpts()) : flow;
    if (spec.table >= TABLE_ALL) throw new Error('add-flow needs a table 0..254');
    if (opts.openflow === 10) spec = { ...spec, flags: { ...spec.flags, resetCounts: true } };
    spec = { ...spec, actions: decoded(spec.actions, opts.openflow, spec.match) };
    // An OpenFlow 1.3+ flow_mod carries its match as OXM, which has no whole TCI to match.
    if (opts.openflow === 13 || opts.openflow === 15) spec.match = oxmVlanTci(spec.match);
    return this.tables.add(spec, this.now(), opts.openflow !== undefined && opts.openflow !== 10);
  }

  /** ovs-ofctl add-flows: one flow a line ('#' comments and blank lines skipped). */
  addFlows(text: string): FlowEntry[] {
    const out: FlowEntry[] = [];
    for (const line of text.split('\n')) {
      const t = line.trim();
      if (t === '' || t.startsWith('#')) continue;
      out.push(this.addFlow(t));
    }
    return out;
  }

  /**
   * ovs-ofctl mod-flows [--strict]: new actions for the matching flows; in
   * OpenFlow 1.0, a modify that matches nothing adds the flow, and a cookie
   * without a mask is the new cookie; cookie=v/m selects flows. OpenFlow 1.1+
   * flow_mods carry no new cookie (ofputil_decode_flow_mod: new_cookie is
   * UINT64_MAX), so they neither add nor change a cookie; with reset_counts
   * they zero the flows' counters (the flows' own flags stay).
   */
  modFlows(flow: string | FlowSpec, opts: FlowModOptions = {}): FlowEntry[] {
    const { spec, filter } = this.criteria(flow, opts.strict ?? false, 'modify');
    const of10 = (opts.openflow ?? 10) === 10;
    const newCookie = of10 && spec.cookieMask === undefined && typeof flow === 'string' && /(^|[\s,])cookie\s*[=:]/.test(flow) ? spec.cookie : undefined;
    const actions = decoded(spec.actions, opts.openflow, spec.match);
    const changed = this.tables.modify(filter, actions, this.now(), newCookie, !of10 && spec.flags.resetCounts);
    if (changed.length || !of10) return changed;
    const add = { ...spec, actions, table: filter.table === TABLE_ALL ? 0 : filter.table };
    return [this.tables.add(add, this.now())];
  }

  /** ovs-ofctl del-flows [--strict] [flow]: without a flow, every flow of every table. */
  delFlows(flow?: string | FlowSpec, opts: FlowModOptions = {}): FlowEntry[] {
    if (flow === undefined || (typeof flow === 'string' && flow.trim() === '')) {
      const all = this.tables.select({ table: TABLE_ALL, match: emptyMatch(), strict: false });
      for (const e of all) this.tables.removeEntry(e, 'delete');
      return all;
    }
    return this.tables.delete(this.criteria(flow, opts.strict ?? false, 'delete').filter);
  }

  /** Throws what modFlows (`mod`) or delFlows would for `flow`, changing nothing; else what it parses to. */
  checkFlowMod(flow: string, mod: boolean, strict: boolean): FlowSpec {
    return this.criteria(flow, strict, mod ? 'modify' : 'delete').spec;
  }

  /** Flows a flow-matching command selects: dump-flows' filter, or del-flows --strict's with `strict`. */
  findFlows(flow: string | FlowSpec, opts: FlowModOptions = {}): FlowEntry[] {
    const strict = opts.strict ?? false;
    return this.tables.select(this.criteria(flow, strict, strict ? 'delete' : 'stats').filter, this.now());
  }

  // Flow-matching syntax as `command` takes it (cookie=v/m, out_port=; actions only for mod-flows); no table= means every table (OFPTT_ALL).
  private criteria(flow: string | FlowSpec, strict: boolean, command: 'modify' | 'delete' | 'stats'): { spec: FlowSpec; filter: FlowFilter } {
    let spec: FlowSpec;
    let table: number;
    if (typeof flow === 'string') {
      spec = parseFlowMod(flow, command === 'delete' && strict ? 'delete-strict' : command, this.parseOpts());
      const at = command === 'modify' ? flow.indexOf('action') : -1;
      table = /(^|[\s,])table\s*[=:]\s*\d+/.test(at < 0 ? flow : flow.slice(0, at)) ? spec.table : TABLE_ALL;
    } else {
      spec = flow;
      table = flow.table;
    }
    const filter: FlowFilter = { table, match: spec.match, strict, priority: spec.priority };
    if (spec.cookieMask !== undefined) {
      filter.cookie = spec.cookie;
      filter.cookieMask = spec.cookieMask;
    }
    if (spec.outPort !== undefined) filter.outPort = spec.outPort;
    if (spec.outGroup !== undefined) filter.outGroup = spec.outGroup;
    return { spec, filter };
  }

  // ---- views ----

  private namer(): (ofport: number) => string | undefined {
    return (n) => this.byOfport.get(n)?.name;
  }

  /**
   * `ovs-ofctl dump-flows BRIDGE [flow]` lines (each with OVS's leading
   * space), by table, then priority from high to low.
   */
  dumpFlows(opts: DumpFlowsOptions = {}): string[] {
    const now = this.now();
    this.tables.expire(now);
    const entries = opts.filter
      ? this.findFlows(opts.filter)
      : this.tables.select({ table: TABLE_ALL, match: emptyMatch(), strict: false });
    const po = dumpFlowsPrintOptions(opts.version ?? 10, !opts.noStats, (opts.names || opts.decoded) ?? false);
    if (opts.names) po.portName = this.namer();
    const oxm = (opts.version ?? 10) !== 10; // the reply's matches are OXM too
    return entries.map((e) => {
      const spec = e.toSpec(now);
      if (oxm) spec.match = oxmVlanTci(spec.match);
      return ' ' + formatFlow(spec, po);
    });
  }

  /** `ovs-ofctl dump-aggregate BRIDGE [flow]`: the matching flows' packet and byte counts, and how many there are. */
  aggregate(filter?: string): { packets: number; bytes: number; flows: number } {
    this.tables.expire(this.now());
    const entries = filter ? this.findFlows(filter) : this.tables.select({ table: TABLE_ALL, match: emptyMatch(), strict: false });
    let packets = 0, bytes = 0;
    for (const e of entries) {
      packets += e.cells[e.at]!;
      bytes += e.cells[e.at + 1]!;
    }
    return { packets, bytes, flows: entries.length };
  }

  // ---- learned state that outlives the thread and a reload (src/datapath/learned-journal.ts) ----

  journalTo(j: LearnedJournal, id: number): void {
    this.journal = j;
    this.jid = id;
    this.fdb.journalTo(j, id, this.namer());
    this.tables.learnLog = this.logFlow;
    this.writeLearned(j, id);
  }

  writeLearned(out: LearnedSink, id: number): void {
    this.fdb.writeLearned(out, id, this.namer());
    out.f[0] = LJ.FLOW;
    out.put(LJ.RESET, id, 1);
    for (const e of this.tables.select({ table: TABLE_ALL, match: emptyMatch(), strict: false })) if (e.learnedBy !== null) this.writeFlow(out, id, e);
  }

  private readonly logFlow = (e: FlowEntry, gone: boolean): void => {
    if (gone) this.journal!.put(LJ.FLOW_DEL, this.jid, 0, learnedFlowKey(e));
    else this.writeFlow(this.journal!, this.jid, e);
  };

  private writeFlow(out: LearnedSink, id: number, e: FlowEntry): void {
    const now = this.now();
    e.journaled = now;
    out.f[0] = e.created;
    out.f[1] = e.modified;
    out.f[2] = e.used;
    out.put(LJ.FLOW, id, 3, `${learnedFlowKey(e)}\n${formatFlow(e.toSpec(now), { dialect: 'of13', stats: false, flags: true, importance: true })}`);
  }

  /**
   * A predecessor's fdb entries on ports still there (same ofport and name), with the
   * expiry last journaled, and its learned flows whose outputs still exist,
   * with their creation, modification and use times as last journaled; their
   * counters start at 0. A restored flow counts as learned: learn() refreshes
   * it as its own, and it is journaled when it changes or goes.
   */
  restoreLearned(recs: readonly LearnedRecord[], now: number): number {
    let n = this.fdb.restore(recs, Math.floor(now / 1000), (p, name) => this.byOfport.get(p)?.name === name);
    for (const r of recs) {
      if (r.kind !== LJ.FLOW) continue;
      const spec = parseFlow(r.text.slice(r.text.indexOf('\n') + 1), this.parseOpts());
      if (!spec.actions.every((a) => a.kind !== 'output' || a.port >= OFPP.MAX || this.byOfport.has(a.port))) continue;
      const [created, modified, used] = r.nums as [number, number, number];
      const e = this.tables.add(spec, created);
      e.modified = modified;
      e.used = used;
      e.journaled = modified;
      e.learnedBy = RESTORED;
      if (e.expiredAt(now) !== null) this.tables.removeEntry(e, e.expiredAt(now)!);
      else n++;
    }
    return n;
  }

  /** `ovs-appctl fdb/show BRIDGE`. */
  fdbShow(): string {
    return this.fdb.show(Math.floor(this.now() / 1000));
  }

  /** `ovs-appctl fdb/stats-show BRIDGE`. */
  fdbStatsShow(): string {
    return this.fdb.statsShow(this.name, Math.floor(this.now() / 1000));
  }

  /** `ovs-appctl fdb/flush BRIDGE`. */
  fdbFlush(): void {
    this.fdb.flush();
  }

  /** `ovs-appctl fdb/add BRIDGE PORT VLAN MAC` for port `ofport`: what it replaced (MacLearning.addStatic). */
  fdbAdd(ofport: number, vlan: number, macHi: number, macLo: number): { static: boolean; port: number } | null {
    return this.fdb.addStatic(macHi, macLo, vlan, ofport, Math.floor(this.now() / 1000));
  }

  /** Flow count per table that has flows (`ovs-ofctl dump-tables` active_count, lookups, matched). */
  tableStats(): { table: number; active: number; lookups: number; matched: number }[] {
    return this.tables
      .existing()
      .filter((t) => t.cls.size || t.lookups)
      .map((t) => ({ table: t.id, active: t.cls.size, lookups: t.lookups, matched: t.matched }));
  }
}

/** learnedBy of a flow a predecessor's learn() made (restoreLearned): learn() takes it over on its next refresh. */
const RESTORED = 'restored';

/** What identifies a flow in its bridge (OpenFlow's strict match): table, priority and match. */
function learnedFlowKey(e: FlowEntry): string {
  return `table=${e.table},priority=${e.priority},${formatMatch(e.match, DEFAULT_PRIORITY)}`;
}

/** The learned flow as xlate_learn_action reports it in ofproto/trace. */
function learnedText(e: FlowEntry): string {
  let s = `table=${e.table} `;
  const m = formatMatch(e.match, DEFAULT_PRIORITY);
  if (m) s += m;
  s = s.replace(/ $/, '');
  s += ` priority=${e.priority}`;
  if (e.cookie !== 0n) s += ` cookie=0x${e.cookie.toString(16)}`;
  if (e.idleTimeout) s += ` idle=${e.idleTimeout}`;
  if (e.hardTimeout) s += ` hard=${e.hardTimeout}`;
  if (e.flags.sendFlowRem) s += ' send_flow_rem';
  return s + ' actions=' + formatActions(e.actions as Action[], { dialect: 'stored' });
}
