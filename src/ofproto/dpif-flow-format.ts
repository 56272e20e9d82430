// `ovs-appctl dpif/dump-flows BRIDGE` for the translation cache: each entry
// as the datapath flow OVS would have installed for it, exact-match (every
// field of the key, as an EMC entry is), with its hits as packets/bytes and
// the datapath actions its recorded steps amount to. Port numbers are
// ofports: dpemu has no separate datapath port numbering.
import { K } from './flow-key.js';
import { D_ETH_SRC, D_ETH_DST, D_VLAN, D_NW_SRC, D_NW_DST, D_TOS, D_TTL, D_TP_SRC, D_TP_DST, D_ARP_SHA, D_ARP_THA } from './action-compile.js';
import { C_HDR, EV_APPLY, EV_OUTPUT, EV_PUSH, type XcEntry } from './xlate-cache.js';
import type { OvsPort } from './ovs-port.js';
import { ipToString, macToString } from '../wire/addr.js';

const CFI = 0x1000;

/** The key words of an entry's snapshot at code offset `at` (-1: the arrival key), as unsigned. */
function keyAt(e: XcEntry, at: number): number[] {
  const o = at < 0 ? 0 : at;
  return Array.from(e.code.subarray(o, o + K.WORDS), (w) => w >>> 0);
}

const eth = (k: number[]) => `eth(src=${macToString(k[K.DL_SRC_HI]!, k[K.DL_SRC_LO]!)},dst=${macToString(k[K.DL_DST_HI]!, k[K.DL_DST_LO]!)})`;

function frag(k: number[]): string {
  const f = k[K.NW_FRAG]!;
  return f === 0 ? 'no' : f & 2 ? 'later' : 'first';
}

/** The L3 and L4 part of a match (after eth_type). */
function l3(k: number[]): string {
  const t = k[K.DL_TYPE]!;
  let s = `eth_type(0x${t.toString(16).padStart(4, '0')})`;
  if (t === 0x0800) {
    const p = k[K.NW_PROTO]!;
    s += `,ipv4(src=${ipToString(k[K.NW_SRC]!)},dst=${ipToString(k[K.NW_DST]!)},proto=${p},tos=${k[K.NW_TOS]},ttl=${k[K.NW_TTL]},frag=${frag(k)})`;
    if (k[K.NW_FRAG]! & 2) return s;
    if (p === 17) s += `,udp(src=${k[K.TP_SRC]},dst=${k[K.TP_DST]})`;
    else if (p === 6) s += `,tcp(src=${k[K.TP_SRC]},dst=${k[K.TP_DST]})`;
    else if (p === 1) s += `,icmp(type=${k[K.TP_SRC]},code=${k[K.TP_DST]})`;
  } else if (t === 0x0806) {
    s += `,arp(sip=${ipToString(k[K.NW_SRC]!)},tip=${ipToString(k[K.NW_DST]!)},op=${k[K.NW_PROTO]},sha=${macToString(k[K.ARP_SHA_HI]!, k[K.ARP_SHA_LO]!)},tha=${macToString(k[K.ARP_THA_HI]!, k[K.ARP_THA_LO]!)})`;
  }
  return s;
}

/** odp_flow_key_format for an exact-match key. */
export function dpifMatch(k: number[]): string {
  let s = 'recirc_id(0),';
  if (k[K.TUN_DST] || k[K.TUN_ID_HI] || k[K.TUN_ID_LO]) {
    const id = k[K.TUN_ID_HI]! * 2 ** 32 + k[K.TUN_ID_LO]!;
    s += `tunnel(tun_id=0x${id.toString(16)},src=${ipToString(k[K.TUN_SRC]!)},dst=${ipToString(k[K.TUN_DST]!)},flags(-df-csum+key)),`;
  }
  s += `in_port(${k[K.IN_PORT]}),`;
  if (k[K.PKT_MARK]) s += `skb_mark(0x${k[K.PKT_MARK]!.toString(16)}),`;
  s += eth(k) + ',';
  const tci = k[K.VLAN_TCI]!;
  if (tci & CFI) return s + `eth_type(0x8100),vlan(vid=${tci & 0xfff},pcp=${tci >>> 13}),encap(${l3(k)})`;
  return s + l3(k);
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
    if (op !== EV_APPLY && op !== EV_OUTPUT) continue;
    const k = keyAt(e, c[o + 2]!);
    if (op === EV_APPLY) {
      if (arg & (D_ETH_SRC | D_ETH_DST)) out.push(`set(${eth(k)})`);
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
      if (arg & (D_TP_SRC | D_TP_DST)) out.push(`set(${l4}(src=${k[K.TP_SRC]},dst=${k[K.TP_DST]}))`);
      if (arg & (D_ARP_SHA | D_ARP_THA)) out.push(`set(arp(sha=${macToString(k[K.ARP_SHA_HI]!, k[K.ARP_SHA_LO]!)},tha=${macToString(k[K.ARP_THA_HI]!, k[K.ARP_THA_LO]!)}))`);
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
  return `${dpifMatch(keyAt(e, -1))}, packets:${e.packets}, bytes:${e.bytes}, used:${used}, actions:${actions}`;
}
