// `ovs-appctl dpif/dump-flows BRIDGE` for the translation cache: each entry
// as the datapath megaflow OVS would have installed for it (only the fields
// its mask holds; a partly masked one as value/mask), with its hits as
// packets/bytes and the datapath actions its recorded steps amount to. Ports
// are the node's datapath port numbers (datapath-ports.ts), as OVS prints them.
import { K } from './flow-key.js';
import { ETH_TYPE, IPPROTO } from './match-edit.js';
import { EV_CROSS, EV_OUTPUT, EV_PUSH, type XcEntry } from './xlate-cache.js';
import type { OvsPort } from './ovs-port.js';
import type { OvsBridge } from './bridge.js';
import type { NodeDatapath } from './datapath-ports.js';
import { ipToString, macToString } from '../wire/addr.js';

const CFI = 0x1000;

/** A flow key's words: an entry's snapshot copy, or ofproto/trace's keys. */
type Words = number[] | Uint32Array;

/** The key words of an entry's snapshot at code offset `at` (-1: the arrival key), as unsigned; unmasked bits 0. */
function keyAt(e: XcEntry, at: number): number[] {
  return Array.from(e.keyAt(at));
}

type Fmt = (v: number) => string;
const dec: Fmt = (v) => String(v);
/** OVS's %#x: 0, else 0x and hex digits. */
const hex8: Fmt = (v) => (v === 0 ? '0' : '0x' + v.toString(16));

/** `name=value`, `name=value/mask` when partly masked, nothing when wildcarded. */
function fld(out: string[], name: string, k: number[], m: number[], w: number, fmt: Fmt = dec, full = 0xffffffff): void {
  const mk = (m[w]! & full) >>> 0; // unsigned: an all-ones 32-bit mask is exact, not /255.255.255.255
  if (mk === 0) return;
  out.push(mk === full ? `${name}=${fmt(k[w]!)}` : `${name}=${fmt(k[w]!)}/${fmt(mk)}`);
}

/** A MAC split over two words. */
function macFld(out: string[], name: string, k: number[], m: number[], hi: number): void {
  const mh = m[hi]! & 0xffff, ml = m[hi + 1]!;
  if (mh === 0 && ml === 0) return;
  const v = macToString(k[hi]!, k[hi + 1]!);
  out.push(mh === 0xffff && ml === 0xffffffff ? `${name}=${v}` : `${name}=${v}/${macToString(mh, ml)}`);
}

function attr(name: string, fields: string[]): string {
  return fields.length ? `${name}(${fields.join(',')})` : '';
}

function frag(v: number): string {
  return v === 0 ? 'no' : v & 2 ? 'later' : 'first';
}

/** The L3 and L4 part of a match (from eth_type on). */
function l3(k: number[], m: number[]): string {
  const parts: string[] = [];
  if (m[K.DL_TYPE] === 0) return '';
  const t = k[K.DL_TYPE]!;
  parts.push(`eth_type(0x${t.toString(16).padStart(4, '0')})`);
  if (t === 0x0800) {
    const ip: string[] = [];
    fld(ip, 'src', k, m, K.NW_SRC, ipToString);
    fld(ip, 'dst', k, m, K.NW_DST, ipToString);
    fld(ip, 'proto', k, m, K.NW_PROTO, dec, 0xff);
    fld(ip, 'tos', k, m, K.NW_TOS, hex8, 0xff); // format_u8x: %#x
    fld(ip, 'ttl', k, m, K.NW_TTL, dec, 0xff);
    fld(ip, 'frag', k, m, K.NW_FRAG, frag, 3);
    parts.push(attr('ipv4', ip));
    if (k[K.NW_FRAG]! & 2 || m[K.NW_PROTO] === 0) return parts.filter(Boolean).join(',');
    const p = k[K.NW_PROTO]!;
    const l4: string[] = [];
    fld(l4, p === 1 ? 'type' : 'src', k, m, K.TP_SRC, dec, p === 1 ? 0xff : 0xffff);
    fld(l4, p === 1 ? 'code' : 'dst', k, m, K.TP_DST, dec, p === 1 ? 0xff : 0xffff);
    parts.push(attr(p === 17 ? 'udp' : p === 6 ? 'tcp' : p === 1 ? 'icmp' : 'l4', l4));
  } else if (t === 0x0806) {
    const a: string[] = [];
    fld(a, 'sip', k, m, K.NW_SRC, ipToString);
    fld(a, 'tip', k, m, K.NW_DST, ipToString);
    fld(a, 'op', k, m, K.NW_PROTO, dec, 0xff);
    macFld(a, 'sha', k, m, K.ARP_SHA_HI);
    macFld(a, 'tha', k, m, K.ARP_THA_HI);
    parts.push(attr('arp', a));
  }
  return parts.filter(Boolean).join(',');
}

/** odp_flow_key_format for a megaflow: key `k` under mask `m`, arriving at datapath port `inPort`. */
export function dpifMatch(k: number[], m: number[], inPort: string): string {
  let s = 'recirc_id(0),';
  if (k[K.TUN_DST] || k[K.TUN_ID_HI] || k[K.TUN_ID_LO]) {
    const id = k[K.TUN_ID_HI]! * 2 ** 32 + k[K.TUN_ID_LO]!;
    s += `tunnel(tun_id=0x${id.toString(16)},src=${ipToString(k[K.TUN_SRC]!)},dst=${ipToString(k[K.TUN_DST]!)},flags(-df-csum+key)),`;
  }
  s += `in_port(${inPort}),`;
  if (m[K.PKT_MARK] && k[K.PKT_MARK]) s += `skb_mark(0x${k[K.PKT_MARK]!.toString(16)}),`;
  const e: string[] = [];
  macFld(e, 'src', k, m, K.DL_SRC_HI);
  macFld(e, 'dst', k, m, K.DL_DST_HI);
  const eth = attr('eth', e);
  if (eth) s += eth + ',';
  const tci = k[K.VLAN_TCI]!;
  const rest = l3(k, m);
  if (m[K.VLAN_TCI] && tci & CFI) return s + `eth_type(0x8100),vlan(vid=${tci & 0xfff},pcp=${tci >>> 13}),encap(${rest})`;
  return (s + rest).replace(/,$/, '');
}

/**
 * The datapath actions the recorded steps amount to (format_odp_actions
 * spelling), committed as OVS's xlate does: header changes are not
 * actions of their own, each output first commits what differs from what
 * the datapath packet holds (commit_odp_actions: tunnel, eth, L3, L4, VLAN,
 * skb_mark), so a tag pushed and stripped between two outputs leaves no
 * trace. A patch port is no datapath port: the peer's steps follow.
 */
export function dpifActions(e: XcEntry, dp: NodeDatapath): string {
  return committed(e, dp).actions;
}

/** dpifActions, and whether one of its commits needs the slow path (commitHeaders). */
function committed(e: XcEntry, dp: NodeDatapath): { actions: string; slow: boolean } {
  const out: string[] = [];
  let slow = false;
  const c = e.code;
  const base = keyAt(e, -1);
  let tunnel = '';
  let outputs = 0;
  let tpid = 0x8100; // the last push_vlan's: the key holds no TPID
  for (const i of stepOrder(e)) {
    const o = e.stepsAt + 3 * i;
    if (c[o] === EV_PUSH) tpid = c[o + 1]!;
    if (c[o] !== EV_OUTPUT) continue;
    const k = keyAt(e, c[o + 2]!), p = e.refs[2 * i] as OvsPort, tci = c[o + 1]!;
    if (p.type === 'vxlan') {
      const id = p.outKey.flow ? k[K.TUN_ID_HI]! * 2 ** 32 + k[K.TUN_ID_LO]! : p.outKey.key;
      const dst = p.remoteIp === 'flow' ? k[K.TUN_DST]! : p.remoteIp ?? 0;
      const src = p.localIp === 'flow' ? k[K.TUN_SRC]! : p.localIp ?? 0;
      const t = tunnelKeyText(p, id, src, dst);
      if (t !== tunnel) out.push(`set(tunnel(${t}))`);
      tunnel = t;
    }
    if (commitHeaders(out, base, k)) slow = true;
    const vlan = tci >= 0 ? tci : k[K.VLAN_TCI]!;
    if (vlan !== base[K.VLAN_TCI]) {
      if (base[K.VLAN_TCI]! & CFI) out.push('pop_vlan');
      if (vlan & CFI) out.push(`push_vlan(${tci < 0 && tpid !== 0x8100 ? `tpid=0x${tpid.toString(16)},` : ''}vid=${vlan & 0xfff},pcp=${vlan >>> 13})`);
      base[K.VLAN_TCI] = vlan;
    }
    if (k[K.PKT_MARK] !== base[K.PKT_MARK]) out.push(`set(skb_mark(0x${k[K.PKT_MARK]!.toString(16)}))`);
    base[K.PKT_MARK] = k[K.PKT_MARK]!;
    out.push(odpName(dp, p));
    outputs++;
  }
  return { actions: outputs === 0 ? 'drop' : out.join(','), slow };
}

/**
 * The steps in the order OVS translates them: a spanning entry records the
 * peer's segment after all of its first bridge's steps (its outputs leave
 * at the end of translation), where OVS translates the peer at the patch
 * output (patch_port_output), then goes on with the first bridge's actions.
 * The patch output itself is no datapath action.
 */
function stepOrder(e: XcEntry): number[] {
  const c = e.code, n = e.nSteps, at = e.stepsAt;
  const all = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, k) => from + k);
  let cross = 0;
  while (cross < n && c[at + 3 * cross] !== EV_CROSS) cross++;
  if (cross === n) return all(0, n);
  let out = cross - 1;
  while (out >= 0 && !(c[at + 3 * out] === EV_OUTPUT && e.refs[2 * out] === e.refs[2 * cross])) out--;
  return [...all(0, out), ...all(cross + 1, n), ...all(out + 1, cross)];
}

/**
 * commit_set_ether_addr, commit_set_nw and commit_set_port: set() what `k`
 * changed against `base`, which then holds it (ofproto/trace commits its
 * outputs with this too). True when it set ARP fields, which the kernel
 * datapath cannot do: commit_set_arp_action's SLOW_ACTION.
 */
export function commitHeaders(out: string[], base: Words, k: Words): boolean {
  const changed = (...ws: number[]): boolean => ws.some((w) => k[w] !== base[w]);
  const mac = (hi: number): string => macToString(k[hi]!, k[hi + 1]!);
  const set = (attr: string, parts: string[]): void => {
    if (parts.length) out.push(`set(${attr}(${parts.join(',')}))`);
  };
  let slow = false;
  const eth: string[] = [];
  if (changed(K.DL_SRC_HI, K.DL_SRC_LO)) eth.push(`src=${mac(K.DL_SRC_HI)}`);
  if (changed(K.DL_DST_HI, K.DL_DST_LO)) eth.push(`dst=${mac(K.DL_DST_HI)}`);
  set('eth', eth);
  const t = k[K.DL_TYPE]!;
  if (t === base[K.DL_TYPE] && t === ETH_TYPE.IP) {
    const ip: string[] = [];
    if (changed(K.NW_SRC)) ip.push(`src=${ipToString(k[K.NW_SRC]!)}`);
    if (changed(K.NW_DST)) ip.push(`dst=${ipToString(k[K.NW_DST]!)}`);
    if (changed(K.NW_TOS)) ip.push(`tos=${hex8(k[K.NW_TOS]!)}`); // format_u8x: %#x
    if (changed(K.NW_TTL)) ip.push(`ttl=${k[K.NW_TTL]}`);
    set('ipv4', ip);
    const proto = k[K.NW_PROTO]!, icmp = proto === IPPROTO.ICMP;
    const tp: string[] = [];
    if (changed(K.TP_SRC)) tp.push(`${icmp ? 'type' : 'src'}=${k[K.TP_SRC]}`);
    if (changed(K.TP_DST)) tp.push(`${icmp ? 'code' : 'dst'}=${k[K.TP_DST]}`);
    const l4 = proto === IPPROTO.TCP ? 'tcp' : proto === IPPROTO.UDP ? 'udp' : icmp ? 'icmp' : proto === IPPROTO.SCTP ? 'sctp' : '';
    if (l4) set(l4, tp);
  } else if (t === base[K.DL_TYPE] && (t === ETH_TYPE.ARP || t === ETH_TYPE.RARP)) {
    const arp: string[] = [];
    if (changed(K.NW_SRC)) arp.push(`sip=${ipToString(k[K.NW_SRC]!)}`);
    if (changed(K.NW_DST)) arp.push(`tip=${ipToString(k[K.NW_DST]!)}`);
    if (changed(K.NW_PROTO)) arp.push(`op=${k[K.NW_PROTO]}`);
    if (changed(K.ARP_SHA_HI, K.ARP_SHA_LO)) arp.push(`sha=${mac(K.ARP_SHA_HI)}`);
    if (changed(K.ARP_THA_HI, K.ARP_THA_LO)) arp.push(`tha=${mac(K.ARP_THA_HI)}`);
    set('arp', arp);
    slow = arp.length > 0;
  }
  for (let w = K.DL_SRC_HI; w <= K.DL_DST_LO; w++) base[w] = k[w]!;
  for (let w = K.DL_TYPE; w <= K.ND_TARGET3; w++) base[w] = k[w]!;
  return slow;
}

/** The tunnel key tnl_port_send sets, as format_odp_tun_attr prints it: tun_id only for a keyed port, src only when set. */
export function tunnelKeyText(port: OvsPort, id: number, src: number, dst: number): string {
  const keyed = port.outKey.flow || port.outKey.key !== 0;
  const parts: string[] = [];
  if (keyed) parts.push(`tun_id=0x${id.toString(16)}`);
  if (src) parts.push(`src=${ipToString(src)}`);
  parts.push(`dst=${ipToString(dst)}`, 'ttl=64', `tp_dst=${port.dstPort}`);
  const flags = [port.dfDefault ? 'df' : '', keyed ? 'key' : ''].filter((f) => f !== '');
  parts.push(`flags(${flags.join('|')})`);
  return parts.join(',');
}

/**
 * A port as a datapath flow names it: its datapath number. A patch port has
 * none: dpemu's per-bridge caches split a translation at a patch port whose
 * crossing waited in the engine's queue (a packet queued ahead, a capture)
 * or that is one of several patch outputs, where OVS's one megaflow would go
 * on through the peer; such a flow names the patch port, as
 * `dpctl/dump-flows --names` names ports.
 */
function odpName(dp: NodeDatapath, p: OvsPort): string {
  return String(dp.odpPort(p) ?? p.name);
}

/** One dump-flows line of `br`'s cache entry `e`. */
export function dpifFlowLine(e: XcEntry, nowMs: number, br: OvsBridge, dp: NodeDatapath): string {
  const used = e.used < 0 ? 'never' : `${((nowMs - e.used) / 1000).toFixed(3)}s`;
  const c = committed(e, dp);
  const arrival = keyAt(e, -1);
  const inPort = br.portByOfport(arrival[K.IN_PORT]!);
  // A slow-path flow sends its packets to userspace, where the translation's actions run.
  const actions = c.slow ? 'userspace(pid=0,slow_path(action))' : c.actions;
  return `${dpifMatch(arrival, Array.from(e.group.mask), inPort ? odpName(dp, inPort) : 'none')}, packets:${e.packets}, bytes:${e.bytes}, used:${used}, actions:${actions}`;
}
