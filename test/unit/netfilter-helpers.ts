// Packet builders and checks shared by the netfilter tests.

import { checksum, pseudoHeaderSum } from '../../src/wire/checksum.js';
import { fillPacketInfo, newPacketInfo, type NfPacketInfo } from '../../src/netfilter/packet-info.js';
import { parseIpv4 } from '../../src/netfilter/ipv4-addr.js';

export const ip = (s: string): number => {
  const v = parseIpv4(s);
  if (v < 0) throw new Error(`bad address ${s}`);
  return v;
};

function w16(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 8) & 0xff;
  b[o + 1] = v & 0xff;
}
function w32(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 24;
  b[o + 1] = (v >>> 16) & 0xff;
  b[o + 2] = (v >>> 8) & 0xff;
  b[o + 3] = v & 0xff;
}
export function r16(b: Uint8Array, o: number): number {
  return (b[o]! << 8) | b[o + 1]!;
}
export function r32(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

/** An IPv4 header + payload; checksums filled. */
export function ipv4(src: string, dst: string, proto: number, payload: Uint8Array, ttl = 64, id = 1): Uint8Array {
  const b = new Uint8Array(20 + payload.length);
  b[0] = 0x45;
  w16(b, 2, b.length);
  w16(b, 4, id);
  b[6] = 0x40; // DF
  b[8] = ttl;
  b[9] = proto;
  w32(b, 12, ip(src));
  w32(b, 16, ip(dst));
  w16(b, 10, checksum(b, 0, 20));
  b.set(payload, 20);
  return b;
}

export function icmpEcho(type: 0 | 8, id: number, seq: number, dataLen = 56): Uint8Array {
  const b = new Uint8Array(8 + dataLen);
  b[0] = type;
  w16(b, 4, id);
  w16(b, 6, seq);
  for (let i = 0; i < dataLen; i++) b[8 + i] = i & 0xff;
  w16(b, 2, checksum(b, 0, b.length));
  return b;
}

export function udp(src: string, dst: string, sport: number, dport: number, data = new Uint8Array(12), zeroCsum = false): Uint8Array {
  const b = new Uint8Array(8 + data.length);
  w16(b, 0, sport);
  w16(b, 2, dport);
  w16(b, 4, b.length);
  b.set(data, 8);
  if (!zeroCsum) {
    const c = checksum(b, 0, b.length, pseudoHeaderSum(ip(src), ip(dst), 17, b.length));
    w16(b, 6, c === 0 ? 0xffff : c);
  }
  return ipv4(src, dst, 17, b);
}

export const SYN = 0x02, ACK = 0x10, FIN = 0x01, RST = 0x04, PSH = 0x08;

export function tcp(src: string, dst: string, sport: number, dport: number, flags: number, seq: number, ack: number,
  data = new Uint8Array(0), win = 64240): Uint8Array {
  const b = new Uint8Array(20 + data.length);
  w16(b, 0, sport);
  w16(b, 2, dport);
  w32(b, 4, seq >>> 0);
  w32(b, 8, ack >>> 0);
  b[12] = 5 << 4;
  b[13] = flags;
  w16(b, 14, win);
  b.set(data, 20);
  w16(b, 16, checksum(b, 0, b.length, pseudoHeaderSum(ip(src), ip(dst), 6, b.length)));
  return ipv4(src, dst, 6, b);
}

/** An ICMP error from `from` to `to` quoting the first `quote` bytes of `orig` (whole header + 8 by default). */
export function icmpError(from: string, to: string, type: number, code: number, orig: Uint8Array, quote = 28): Uint8Array {
  const q = orig.subarray(0, Math.min(quote, orig.length));
  const b = new Uint8Array(8 + q.length);
  b[0] = type;
  b[1] = code;
  b.set(q, 8);
  w16(b, 2, checksum(b, 0, b.length));
  return ipv4(from, to, 1, b);
}

/** Fills a packet info for `pkt` (asserting it parses). */
export function info(pkt: Uint8Array, inIf: string | null, outIf: string | null, into: NfPacketInfo = newPacketInfo()): NfPacketInfo {
  const why = fillPacketInfo(into, pkt, 0, pkt.length);
  if (why) throw new Error(`unparseable test packet: ${why}`);
  into.inIf = inIf;
  into.outIf = outIf;
  return into;
}

/** True when the IPv4 header checksum and the L4 checksum (TCP/UDP/ICMP) verify. */
export function checksumsOk(b: Uint8Array): boolean {
  const ihl = (b[0]! & 15) * 4;
  const tot = r16(b, 2);
  if (checksum(b, 0, ihl) !== 0) return false;
  const proto = b[9]!;
  const l4len = tot - ihl;
  if (proto === 1) return checksum(b, ihl, l4len) === 0;
  if (proto === 17 && r16(b, ihl + 6) === 0) return true;
  if (proto === 6 || proto === 17) return checksum(b, ihl, l4len, pseudoHeaderSum(r32(b, 12), r32(b, 16), proto, l4len)) === 0;
  return true;
}
