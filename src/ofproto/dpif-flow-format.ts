// `ovs-appctl dpif/dump-flows BRIDGE` for the translation cache: each entry
// as the datapath megaflow OVS would have installed for it (only the fields
// its mask holds; a partly masked one as value/mask), with its hits as
// packets/bytes and the datapath actions its recorded steps amount to. Port
// numbers are ofports: dpemu has no separate datapath port numbering.
import { K } from './flow-key.js';
import { D_ETH_SRC, D_ETH_DST, D_VLAN, D_NW_SRC, D_NW_DST, D_TOS, D_TTL, D_TP_SRC, D_TP_DST, D_ARP_SHA, D_ARP_THA } from './action-compile.js';
import { EV_APPLY, EV_CROSS, EV_OUTPUT, EV_PUSH, type XcEntry } from './xlate-cache.js';
import type { OvsPort } from './ovs-port.js';
import { ipToString, macToString } from '../wire/addr.js';

const CFI = 0x1000;

/** The key words of an entry's snapshot at code offset `at` (-1: the arrival key), as unsigned; unmasked bits 0. */
function keyAt(e: XcEntry, at: number): number[] {
  return Array.from(e.keyAt(at));
}

type Fmt = (v: number) => string;
const dec: Fmt = (v) => String(v);

/** `name=value`, `name=value/mask` when partly masked, nothing when wildcarded. */
function fld(out: string[], name: string, k: number[], m: number[], w: number, fmt: Fmt = dec, full = 0xffffffff): void {
  const mk = m[w]! & full;
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
    fld(ip, 'tos', k, m, K.NW_TOS, dec, 0xff);
    fld(ip, 'ttl', k, m, K.NW_TTL, dec, 0xff);
    fld(ip, 'frag', k, m, K.NW_FRAG, frag, 3);
    parts.push(attr('ipv4', ip));
    if (k[K.NW_FRAG]! & 2 || m[K.NW_PROTO] === 0) return parts.filter(Boolean).join(',');
    const p = k[K.NW_PROTO]!;
    const l4: string[] = [];
    fld(l4, p === 1 ? 'type' : 'src', k, m, K.TP_SRC);
    fld(l4, p === 1 ? 'code' : 'dst', k, m, K.TP_DST);
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

/** odp_flow_key_format for a megaflow: key `k` under mask `m`. */
export function dpifMatch(k: number[], m: number[]): string {
  let s = 'recirc_id(0),';
  if (k[K.TUN_DST] || k[K.TUN_ID_HI] || k[K.TUN_ID_LO]) {
    const id = k[K.TUN_ID_HI]! * 2 ** 32 + k[K.TUN_ID_LO]!;
    s += `tunnel(tun_id=0x${id.toString(16)},src=${ipToString(k[K.TUN_SRC]!)},dst=${ipToString(k[K.TUN_DST]!)},flags(-df-csum+key)),`;
  }
  s += `in_port(${k[K.IN_PORT]}),`;
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

function vlanChange(from: number, to: number): string[] {
  if (from === to) return [];
  const push = `push_vlan(vid=${to & 0xfff},pcp=${to >>> 13})`;
  if (!(to & CFI)) return from & CFI ? ['pop_vlan'] : [];
  return from & CFI ? ['pop_vlan', push] : [push];
}

/** The datapath actions the recorded steps amount to (format_odp_actions spelling). */
export function dpifActions(e: XcEntry, portOf: (i: number) => OvsPort): string {
  const out: string[] = [];
  const c = e.code;
  let prev = keyAt(e, -1);
  let tci = prev[K.VLAN_TCI]!;
  let outputs = 0;
  for (let i = 0, o = e.stepsAt; i < e.nSteps; i++, o += 3) {
    const op = c[o]!, arg = c[o + 1]!;
    if (op === EV_PUSH) {
      out.push(arg === 0x8100 ? 'push_vlan(vid=0,pcp=0)' : `push_vlan(tpid=0x${arg.toString(16)},vid=0,pcp=0)`);
      tci = CFI;
      continue;
    }
    if (op === EV_CROSS) {
      // The patch port is no datapath port: the peer's actions follow (its VLAN change stays).
      out.pop();
      outputs--;
      continue;
    }
    if (op !== EV_APPLY && op !== EV_OUTPUT) continue;
    const k = keyAt(e, c[o + 2]!);
    if (op === EV_APPLY) {
      const e: string[] = [];
      if (arg & D_ETH_SRC) e.push(`src=${macToString(k[K.DL_SRC_HI]!, k[K.DL_SRC_LO]!)}`);
      if (arg & D_ETH_DST) e.push(`dst=${macToString(k[K.DL_DST_HI]!, k[K.DL_DST_LO]!)}`);
      if (e.length) out.push(`set(eth(${e.join(',')}))`);
      if (arg & D_VLAN) {
        out.push(...vlanChange(tci, k[K.VLAN_TCI]!));
        tci = k[K.VLAN_TCI]!;
      }
      const ip: string[] = [];
      if (arg & D_NW_SRC) ip.push(`src=${ipToString(k[K.NW_SRC]!)}`);
      if (arg & D_NW_DST) ip.push(`dst=${ipToString(k[K.NW_DST]!)}`);
      if (arg & D_TOS) ip.push(`tos=${k[K.NW_TOS]}`);
      if (arg & D_TTL) ip.push(`ttl=${k[K.NW_TTL]}`);
      if (ip.length) out.push(`set(${k[K.DL_TYPE] === 0x0806 ? 'arp' : 'ipv4'}(${ip.join(',')}))`);
      const l4 = k[K.NW_PROTO] === 6 ? 'tcp' : 'udp';
      const tp: string[] = [];
      if (arg & D_TP_SRC) tp.push(`src=${k[K.TP_SRC]}`);
      if (arg & D_TP_DST) tp.push(`dst=${k[K.TP_DST]}`);
      if (tp.length) out.push(`set(${l4}(${tp.join(',')}))`);
      const arp: string[] = [];
      if (arg & D_ARP_SHA) arp.push(`sha=${macToString(k[K.ARP_SHA_HI]!, k[K.ARP_SHA_LO]!)}`);
      if (arg & D_ARP_THA) arp.push(`tha=${macToString(k[K.ARP_THA_HI]!, k[K.ARP_THA_LO]!)}`);
      if (arp.length) out.push(`set(arp(${arp.join(',')}))`);
      prev = k;
      continue;
    }
    const p = portOf(i);
    if (arg >= 0) {
      out.push(...vlanChange(tci, arg));
      tci = arg;
    }
    if (p.type === 'vxlan') {
      const id = p.outKey.flow ? k[K.TUN_ID_HI]! * 2 ** 32 + k[K.TUN_ID_LO]! : p.outKey.key;
      const dst = p.remoteIp === 'flow' ? k[K.TUN_DST]! : p.remoteIp ?? 0;
      const src = p.localIp === 'flow' ? k[K.TUN_SRC]! : p.localIp ?? 0;
      out.push(`set(tunnel(tun_id=0x${id.toString(16)},src=${ipToString(src)},dst=${ipToString(dst)},ttl=64,tp_dst=${p.dstPort},flags(${p.dfDefault ? 'df|' : ''}key)))`);
    }
    out.push(String(p.ofport));
    outputs++;
  }
  return outputs === 0 ? 'drop' : out.join(',');
}

/** One dump-flows line. */
export function dpifFlowLine(e: XcEntry, nowMs: number): string {
  const used = e.used < 0 ? 'never' : `${((nowMs - e.used) / 1000).toFixed(3)}s`;
  const actions = dpifActions(e, (i) => e.refs[2 * i] as OvsPort);
  return `${dpifMatch(keyAt(e, -1), Array.from(e.group.mask))}, packets:${e.packets}, bytes:${e.bytes}, used:${used}, actions:${actions}`;
}
