// `ovs-appctl ofproto/trace BRIDGE BR_FLOW [--generate]` as OVS prints it
// (ofproto/ofproto-dpif-trace.c ofproto_trace__): the br_flow becomes a
// generated packet that goes through the bridge's OpenFlow tables in a dry
// run — outputs are recorded, never sent; a patch port continues into the
// peer bridge in a new bridge("...") block, as OVS translates it in one go.
// Datapath actions are built the way commit_odp_actions orders them
// (tunnel, eth, L3, L4, VLAN, then the port), with the node's datapath port
// numbers (datapath-ports.ts).
import { OvsBridge } from '../ofproto/bridge.js';
import { XcRecorder } from '../ofproto/xlate-cache.js';
import { commitHeaders, tunnelKeyText } from '../ofproto/dpif-flow-format.js';
import { NodeDatapath } from '../ofproto/datapath-ports.js';
import { MAX_DEPTH, T_BRIDGE, T_DETAIL, T_ERROR, T_TABLE, Xlate, type TNode, type XlateSink } from '../ofproto/execute.js';
import { FrameLayout, extractFrame } from '../ofproto/flow-extract.js';
import { K, newKey, type FlowKey } from '../ofproto/flow-key.js';
import { formatMatch } from '../ofproto/flow-printer.js';
import { emptyMatch, type Match } from '../ofproto/match.js';
import { ETH_TYPE, IPPROTO } from '../ofproto/match-edit.js';
import type { OvsPort } from '../ofproto/ovs-port.js';
import { composeFrame, parseTraceFlow } from '../ofproto/trace-flow.js';
import type { Packet } from '../datapath/packet.js';
import { readU16 } from '../wire/addr.js';

const L4_PROTOS: ReadonlySet<number> = new Set([IPPROTO.ICMP, IPPROTO.IGMP, IPPROTO.TCP, IPPROTO.UDP, IPPROTO.SCTP]);

/**
 * A packet's flow as a match (flow_wildcards_init_for_packet); flow_format
 * leaves out zero context fields (in_port, regs, metadata, tunnel) and a
 * non-fragment's nw_frag.
 */
function packetMatch(k: FlowKey, tunKey: boolean): Match {
  const m = emptyMatch();
  const M = m.mask;
  const exact = (...ws: [K, number][]): void => {
    for (const [w, bits] of ws) M[w] = bits;
  };
  const ALL = 0xffffffff, MAC_HI = 0xffff;
  if (k[K.IN_PORT]) exact([K.IN_PORT, 0xffff]);
  for (const w of [K.PKT_MARK, K.TUN_SRC, K.TUN_DST, ...Array.from({ length: 16 }, (_, i) => K.REG0 + i)]) if (k[w]) exact([w, ALL]);
  // A tunneled packet's tun_id only with FLOW_TNL_F_KEY set (flow_wildcards_init_for_packet).
  if ((k[K.TUN_ID_HI] || k[K.TUN_ID_LO]) && (tunKey || !k[K.TUN_DST])) exact([K.TUN_ID_HI, ALL], [K.TUN_ID_LO, ALL]);
  if (k[K.METADATA_HI] || k[K.METADATA_LO]) exact([K.METADATA_HI, ALL], [K.METADATA_LO, ALL]);
  exact([K.DL_SRC_HI, MAC_HI], [K.DL_SRC_LO, ALL], [K.DL_DST_HI, MAC_HI], [K.DL_DST_LO, ALL], [K.VLAN_TCI, 0xffff], [K.DL_TYPE, 0xffff]);
  const type = k[K.DL_TYPE]!;
  if (type === ETH_TYPE.ARP || type === ETH_TYPE.RARP) {
    exact([K.NW_SRC, ALL], [K.NW_DST, ALL], [K.NW_PROTO, 0xff]);
    exact([K.ARP_SHA_HI, MAC_HI], [K.ARP_SHA_LO, ALL], [K.ARP_THA_HI, MAC_HI], [K.ARP_THA_LO, ALL]);
  } else if (type === ETH_TYPE.IP || type === ETH_TYPE.IPV6) {
    if (type === ETH_TYPE.IP) exact([K.NW_SRC, ALL], [K.NW_DST, ALL]);
    else for (let w = K.IPV6_SRC0; w <= K.IPV6_LABEL; w++) exact([w, w === K.IPV6_LABEL ? 0xfffff : ALL]);
    exact([K.NW_PROTO, 0xff], [K.NW_TOS, 0xff], [K.NW_TTL, 0xff]);
    if (k[K.NW_FRAG]) exact([K.NW_FRAG, 3]);
    const proto = k[K.NW_PROTO]!;
    if (!(k[K.NW_FRAG]! & 2) && (L4_PROTOS.has(proto) || (type === ETH_TYPE.IPV6 && proto === IPPROTO.ICMPV6))) {
      exact([K.TP_SRC, 0xffff], [K.TP_DST, 0xffff]);
      // ICMPv6: ND's target and link-layer addresses (printed for an ND message only).
      if (proto === IPPROTO.ICMPV6) {
        for (let w = K.ND_TARGET0; w <= K.ND_TARGET3; w++) exact([w, ALL]);
        exact([K.ARP_SHA_HI, MAC_HI], [K.ARP_SHA_LO, ALL], [K.ARP_THA_HI, MAC_HI], [K.ARP_THA_LO, ALL]);
      }
    }
  }
  for (let i = 0; i < K.WORDS; i++) (m.value as Uint32Array)[i] = (k[i]! & M[i]!) >>> 0;
  return m;
}

/**
 * The megaflow: the flow under the bits the translation read or wrote, as
 * xlate_wc_finish leaves them (tunnel bits only for a tunneled packet, the
 * VLAN's CFI bit with any of its bits).
 */
function megaflow(flow: FlowKey, wc: Uint32Array): Match {
  const m = emptyMatch(), M = m.mask;
  M.set(wc);
  if (flow[K.TUN_DST] === 0) for (let w = K.TUN_ID_HI; w <= K.TUN_DST; w++) M[w] = 0;
  if (M[K.VLAN_TCI]) M[K.VLAN_TCI] |= 0x1000;
  if (flow[K.NW_FRAG]! & 2) M[K.TP_SRC] = M[K.TP_DST] = 0; // xlate_wc_finish: a later fragment has no ports
  for (let i = 0; i < K.WORDS; i++) (m.value as Uint32Array)[i] = (flow[i]! & M[i]!) >>> 0;
  return m;
}

/**
 * flow_format: the flow as the Flow: and Final flow: lines print it.
 * `tunKey`: the tunnel's key flag (a flow parsed from text has none, so
 * ofproto/trace of `in_port=vxlan,tun_id=…` prints no tun_id, as OVS).
 */
export function formatTraceFlow(k: FlowKey, tunKey = true): string {
  let s = formatMatch(packetMatch(k, tunKey));
  // dpemu's key has no tcp_flags; a generated packet's are 0, and actions cannot change them.
  const tcp = (k[K.DL_TYPE] === ETH_TYPE.IP || k[K.DL_TYPE] === ETH_TYPE.IPV6) && k[K.NW_PROTO] === IPPROTO.TCP && !(k[K.NW_FRAG]! & 2);
  if (tcp) s += ',tcp_flags=0';
  return s;
}

/** oftrace_node_print_details. */
function printNodes(out: string[], nodes: readonly TNode[], level: number): void {
  nodes.forEach((n, i) => {
    if (n.type === T_BRIDGE) out.push('');
    const more = i < nodes.length - 1 || (n.type !== T_TABLE && n.type !== T_BRIDGE) ? 1 : 0;
    const ind = ' '.repeat((level + more) * 4);
    if (n.type === T_DETAIL) out.push(`${ind} -> ${n.text}`);
    else if (n.type === T_ERROR) out.push(`${ind} >>>> ${n.text} <<<<`);
    else out.push(ind + n.text);
    if (n.type === T_BRIDGE) out.push(ind + '-'.repeat(n.text.length));
    if (n.subs) printNodes(out, n.subs, level + 2 * more);
  });
}

const bridgeNode = (br: OvsBridge, subs: TNode[]): TNode => ({ type: T_BRIDGE, text: `bridge("${br.name}")`, detail: undefined, subs });

/**
 * The dry run's sink: follows patch ports into peer bridges and turns every
 * other output into datapath actions, committing what changed since the
 * last output (the datapath's base flow) as OVS does.
 */
class DatapathRecorder implements XlateSink {
  readonly actions: string[] = [];
  error: string | null = null;
  /** An ARP rewrite was committed: the kernel datapath cannot set ARP fields (commit_set_arp_action's SLOW_ACTION). */
  slow = false;
  private depth = 0;
  private baseTunnel = '';
  private readonly out = newKey();
  private readonly lay = new FrameLayout();

  /** The bits every bridge's part read or wrote. */
  readonly wc = new XcRecorder();

  constructor(private readonly base: FlowKey, private readonly nowMs: number, private readonly dp: NodeDatapath) {}

  output(pkt: Packet, port: OvsPort): TNode[] | null {
    const br = port.port.element as OvsBridge;
    try {
      if (port.type === 'patch') return this.patch(pkt, port);
      this.commit(pkt, port);
      return null;
    } finally {
      br.engine.pool.free(pkt);
    }
  }

  /** patch_port_output: the peer bridge translates on, with tunnel, registers and metadata cleared. */
  private patch(pkt: Packet, port: OvsPort): TNode[] | null {
    const peer = port.port.peer;
    const br = peer?.element;
    const op = br instanceof OvsBridge ? br.ovsPortOf(peer!) : undefined;
    if (!op) return null; // no peer: OVS outputs nothing
    if (this.depth >= MAX_DEPTH) return [{ type: T_ERROR, text: `over max translation depth ${MAX_DEPTH}`, detail: undefined, subs: null }];
    pkt.tunId = pkt.tunSrc = pkt.tunDst = 0;
    this.depth++;
    const x = new Xlate(br as OvsBridge);
    x.tracePeer = true;
    const r = x.dryRun(pkt, op.ofport, this.nowMs, this, undefined, this.wc);
    this.depth--;
    this.error ??= r.error;
    return [bridgeNode(br as OvsBridge, r.trace)];
  }

  private commit(pkt: Packet, port: OvsPort): void {
    const o = this.out, b = this.base, acts = this.actions;
    extractFrame(pkt.buf, pkt.off, pkt.len, o, this.lay);
    if (port.type === 'vxlan') {
      const t = tunnelKeyText(port, pkt.tunId, pkt.tunSrc, pkt.tunDst);
      if (t !== this.baseTunnel) acts.push(`set(tunnel(${t}))`);
      this.baseTunnel = t;
    }
    if (commitHeaders(acts, b, o)) this.slow = true;
    // commit_vlan_action
    const bt = b[K.VLAN_TCI]!, ot = o[K.VLAN_TCI]!;
    if (bt !== ot) {
      if (bt & 0x1000) acts.push('pop_vlan');
      const tpid = readU16(pkt.buf, pkt.off + 12); // format_odp_action names a TPID other than 802.1Q's
      if (ot & 0x1000) acts.push(`push_vlan(${tpid !== 0x8100 ? `tpid=0x${tpid.toString(16)},` : ''}vid=${ot & 0xfff},pcp=${ot >>> 13})`);
      b[K.VLAN_TCI] = ot;
    }
    acts.push(String(this.dp.odpPort(port)));
  }
}

/** Table lookup counters are dump-tables statistics; a trace is not traffic (OVS passes no stats). */
function keepTableStats(brs: readonly OvsBridge[]): () => void {
  const saved = brs.flatMap((b) => b.tables.existing().map((t) => [t, t.lookups, t.matched] as const));
  return () => {
    for (const [t, l, m] of saved) t.setCounts(l, m);
  };
}

/**
 * The whole ofproto/trace reply for `flowText` on `br`. Throws
 * TraceFlowError (from parseTraceFlow/composeFrame) for a bad br_flow.
 */
export function ofprotoTrace(br: OvsBridge, flowText: string): string {
  const flow = parseTraceFlow(flowText, (n) => br.portByName(n)?.ofport);
  const frame = composeFrame(flow);
  const eng = br.engine;
  const pkt = eng.pool.allocFrom(frame);
  if (!pkt) throw new Error(`a ${frame.length}-byte frame does not fit a packet slot`);
  pkt.tunId = flow[K.TUN_ID_HI]! * 2 ** 32 + flow[K.TUN_ID_LO]!;
  pkt.tunSrc = flow[K.TUN_SRC]!;
  pkt.tunDst = flow[K.TUN_DST]!;
  pkt.mark = flow[K.PKT_MARK]!;
  const nodeBridges = eng.elements.filter((e): e is OvsBridge => e instanceof OvsBridge && e.node === br.node);
  const rec = new DatapathRecorder(Uint32Array.from(flow), eng.now, new NodeDatapath(nodeBridges));
  const restore = keepTableStats(nodeBridges);
  const x = new Xlate(br);
  let trace: TNode[];
  let error: string | null;
  try {
    ({ trace, error } = x.dryRun(pkt, flow[K.IN_PORT]!, eng.now, rec, flow, rec.wc));
  } finally {
    restore();
    eng.pool.free(pkt);
  }
  error ??= rec.error;
  const lines = [`Flow: ${formatTraceFlow(flow, false)}`];
  printNodes(lines, [bridgeNode(br, trace)], 0);
  const same = x.key.every((w, i) => w === flow[i]);
  lines.push('', `Final flow: ${same ? 'unchanged' : formatTraceFlow(x.key, false)}`);
  lines.push(`Megaflow: recirc_id=0,${formatMatch(megaflow(flow, rec.wc.wc))}`);
  lines.push(`Datapath actions: ${rec.actions.length ? rec.actions.join(',') : 'drop'}`);
  if (error) lines.push(`Translation failed (${error}), packet is dropped.`);
  else if (rec.slow) lines.push('This flow is handled by the userspace slow path because it:', '  - Uses action(s) not supported by datapath.');
  return lines.join('\n') + '\n';
}
