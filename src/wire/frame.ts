// buildFrame: whole frames from a readable spec, for tests, traces and
// injection (`dpemu trace --icmp-echo ...`). It allocates: never on the data
// path. Elements that create packets use the builders in arp.ts / icmp.ts /
// vxlan.ts, which write into a slot.
import { parseIpv4, parseMac, writeMac, writeU16 } from './addr.js';
import { ARP_HLEN, ARPOP_REQUEST, writeArp } from './arp.js';
import { ETHERTYPE_ARP, ETHERTYPE_IPV4, ETHERTYPE_VLAN, ETH_HLEN } from './ethernet.js';
import { ICMP_ECHO, ICMP_HLEN, icmpSetChecksum } from './icmp.js';
import { IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, IP_DF, IP_MF, IPDEFTTL } from './ipv4.js';
import { checksum } from './checksum.js';
import { TCP_ACK, TCP_CWR, TCP_ECE, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN, TCP_URG, tcpSetChecksum, writeTcp } from './tcp.js';
import { UDP_HLEN, udpSetChecksum, writeUdp } from './udp.js';
import { makeTci } from './vlan.js';

export type Bytes = Uint8Array | number[];

export interface VlanSpec {
  vid: number;
  pcp?: number;
  dei?: number;
  /** 0x8100 (default) or 0x88a8. */
  tpid?: number;
}

export interface IpSpec {
  src: string;
  dst: string;
  ttl?: number; // 64
  id?: number; // 0
  tos?: number;
  /** Default true (Linux with PMTU discovery). */
  df?: boolean;
  mf?: boolean;
  /** Fragment offset in bytes (multiple of 8). */
  fragOffset?: number;
  /** Raw option bytes, padded with EOL to a multiple of 4. */
  options?: Bytes;
  /** Protocol when no icmp/udp/tcp is given (payload is then `payload`). */
  proto?: number;
  /** Overrides: a wrong total length or checksum, for malformed-input tests. */
  totLen?: number;
  csum?: number;
}

export interface IcmpSpec {
  type?: number; // echo request
  code?: number;
  /** Echo id/seq (rest-of-header = id << 16 | seq). */
  id?: number;
  seq?: number;
  /** Rest-of-header word for non-echo types (MTU, pointer << 24, gateway). */
  info?: number;
  /** Data bytes (ping-style fill if a number is given). */
  data?: Bytes | number;
}

export interface UdpSpec {
  sport: number;
  dport: number;
  payload?: Bytes | number;
  /** Compute a checksum (default true); false leaves 0. */
  csum?: boolean;
}

export interface TcpSpec {
  sport: number;
  dport: number;
  seq?: number;
  ack?: number;
  /** A number or tcpdump letters "S", "S.", "P.", "F.", "R" ... */
  flags?: number | string;
  win?: number;
  options?: Bytes;
  payload?: Bytes | number;
}

export interface ArpSpec {
  op?: number; // request
  sha: string;
  spa: string;
  tha?: string; // 00:00:00:00:00:00
  tpa: string;
}

export interface FrameSpec {
  src: string; // MAC
  dst: string;
  vlans?: (number | VlanSpec)[];
  /** Set for raw payloads; implied by ip/arp. */
  ethertype?: number;
  ip?: IpSpec;
  icmp?: IcmpSpec;
  udp?: UdpSpec;
  tcp?: TcpSpec;
  arp?: ArpSpec;
  /** Bytes after the Ethernet header (no ip/arp), or the L4 payload (ip with a bare proto). */
  payload?: Bytes;
  /** Pad the frame with zeros to this length (a NIC pads to 60). */
  padTo?: number;
}

function mac(t: string): { hi: number; lo: number } {
  const m = parseMac(t);
  if (!m) throw new Error(`bad MAC ${t}`);
  return m;
}
function ip(t: string): number {
  const a = parseIpv4(t);
  if (a === null) throw new Error(`bad IPv4 address ${t}`);
  return a;
}
function bytes(b: Bytes | number | undefined, pingFill = false): Uint8Array {
  if (b === undefined) return new Uint8Array(0);
  if (typeof b === 'number') {
    const u = new Uint8Array(b);
    for (let i = 0; i < b; i++) u[i] = pingFill ? (i < 16 ? 0 : i & 0xff) : i & 0xff;
    return u;
  }
  return Uint8Array.from(b);
}

const FLAG_LETTERS: Record<string, number> = {
  F: TCP_FIN,
  S: TCP_SYN,
  R: TCP_RST,
  P: TCP_PSH,
  '.': TCP_ACK,
  U: TCP_URG,
  E: TCP_ECE,
  W: TCP_CWR,
};

/** "S." -> SYN|ACK, as tcpdump prints flags. */
export function tcpFlagsFromString(s: string): number {
  let f = 0;
  for (const c of s) {
    const v = FLAG_LETTERS[c];
    if (v === undefined) throw new Error(`bad TCP flag letter ${c}`);
    f |= v;
  }
  return f;
}

/** A complete frame from a spec. Throws on a bad spec (tests want to know). */
export function buildFrame(spec: FrameSpec): Uint8Array {
  const vlans = (spec.vlans ?? []).map((v) => (typeof v === 'number' ? { vid: v } : v));
  const ethertype = spec.ethertype ?? (spec.arp ? ETHERTYPE_ARP : spec.ip ? ETHERTYPE_IPV4 : 0);
  let l3: Uint8Array;
  if (spec.arp) {
    const a = spec.arp;
    l3 = new Uint8Array(ARP_HLEN);
    const sha = mac(a.sha);
    const tha = mac(a.tha ?? '00:00:00:00:00:00');
    writeArp(l3, 0, a.op ?? ARPOP_REQUEST, sha.hi, sha.lo, ip(a.spa), tha.hi, tha.lo, ip(a.tpa));
  } else if (spec.ip) {
    l3 = buildIp(spec);
  } else {
    l3 = bytes(spec.payload);
  }
  const hdr = new Uint8Array(ETH_HLEN + vlans.length * 4);
  const d = mac(spec.dst);
  const s = mac(spec.src);
  writeMac(hdr, 0, d.hi, d.lo);
  writeMac(hdr, 6, s.hi, s.lo);
  let o = 12;
  for (const v of vlans) {
    writeU16(hdr, o, v.tpid ?? ETHERTYPE_VLAN);
    writeU16(hdr, o + 2, makeTci(v.vid, v.pcp ?? 0, v.dei ?? 0));
    o += 4;
  }
  writeU16(hdr, o, ethertype);
  const n = hdr.length + l3.length;
  const total = spec.padTo && spec.padTo > n ? spec.padTo : n;
  const out = new Uint8Array(total);
  out.set(hdr, 0);
  out.set(l3, hdr.length);
  return out;
}

function buildIp(spec: FrameSpec): Uint8Array {
  const p = spec.ip!;
  const opts = bytes(p.options);
  const optLen = (opts.length + 3) & ~3;
  const hl = 20 + optLen;
  let proto = p.proto ?? 0;
  let l4: Uint8Array;
  if (spec.icmp) {
    const c = spec.icmp;
    proto = IPPROTO_ICMP;
    const type = c.type ?? ICMP_ECHO;
    const data = bytes(c.data, true);
    l4 = new Uint8Array(ICMP_HLEN + data.length);
    l4[0] = type;
    l4[1] = c.code ?? 0;
    const rest = c.info ?? (((c.id ?? 0) << 16) | (c.seq ?? 0));
    l4[4] = rest >>> 24;
    l4[5] = rest >>> 16;
    l4[6] = rest >>> 8;
    l4[7] = rest;
    l4.set(data, ICMP_HLEN);
    icmpSetChecksum(l4, 0, l4.length);
  } else if (spec.udp) {
    proto = IPPROTO_UDP;
    const u = spec.udp;
    const data = bytes(u.payload);
    l4 = new Uint8Array(UDP_HLEN + data.length);
    writeUdp(l4, 0, u.sport, u.dport, l4.length, 0);
    l4.set(data, UDP_HLEN);
  } else if (spec.tcp) {
    proto = IPPROTO_TCP;
    const t = spec.tcp;
    const to = bytes(t.options);
    const thl = 20 + ((to.length + 3) & ~3);
    const data = bytes(t.payload);
    l4 = new Uint8Array(thl + data.length);
    const flags = typeof t.flags === 'string' ? tcpFlagsFromString(t.flags) : (t.flags ?? TCP_SYN);
    writeTcp(l4, 0, t.sport, t.dport, t.seq ?? 0, t.ack ?? 0, flags, t.win ?? 64240, thl);
    l4.set(to, 20);
    l4.set(data, thl);
  } else {
    l4 = bytes(spec.payload);
  }
  const pkt = new Uint8Array(hl + l4.length);
  const src = ip(p.src);
  const dst = ip(p.dst);
  const fo =
    (p.df ?? true ? IP_DF : 0) | (p.mf ? IP_MF : 0) | (((p.fragOffset ?? 0) >>> 3) & 0x1fff);
  pkt[0] = 0x40 | (hl >>> 2);
  pkt[1] = p.tos ?? 0;
  writeU16(pkt, 2, p.totLen ?? pkt.length);
  writeU16(pkt, 4, p.id ?? 0);
  writeU16(pkt, 6, fo);
  pkt[8] = p.ttl ?? IPDEFTTL;
  pkt[9] = proto;
  pkt[12] = src >>> 24;
  pkt[13] = src >>> 16;
  pkt[14] = src >>> 8;
  pkt[15] = src;
  pkt[16] = dst >>> 24;
  pkt[17] = dst >>> 16;
  pkt[18] = dst >>> 8;
  pkt[19] = dst;
  pkt.set(opts, 20);
  pkt.set(l4, hl);
  writeU16(pkt, 10, p.csum ?? checksum(pkt, 0, hl));
  if (spec.udp && (spec.udp.csum ?? true)) udpSetChecksum(pkt, 0, hl);
  if (spec.tcp) tcpSetChecksum(pkt, 0, hl, l4.length);
  return pkt;
}
