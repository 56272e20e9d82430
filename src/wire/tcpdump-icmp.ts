// ICMP as tcpdump prints it (print-icmp.c, icmp_print): echo, unreachable,
// redirect, router advertisement, time exceeded, parameter problem,
// timestamps and masks; with -v the checksum verdict, an error's quoted IP
// packet (printed by ip_print, handed back up through the Ndo) and RFC 4884
// extensions (MPLS label stacks).
import { readU16 } from './addr.js';
import { onesSum } from './checksum.js';
import { unknownData } from './tcpdump-ascii.js';
import { cksumShouldbe } from './tcpdump-cksum.js';
import { ICMP_NAMES, IPPROTO_TCP, IPPROTO_UDP, REDIRECT_FMT, UNREACH_FMT } from './tcpdump-names.js';
import type { Ndo } from './tcpdump-netdissect.js';
import { hex4 } from './tcpdump-text.js';

/** icmp_print for the message at bp of `plen` bytes; `fragmented`: not the whole datagram (no checksum verdict). */
export function icmpPrint(ndo: Ndo, bp: number, plen: number, fragmented: boolean): void {
  ndo.proto = 'icmp';
  const type = ndo.u8(bp);
  const code = ndo.u8(bp + 1);
  const oip = bp + 8;
  const odst = (): string => ndo.ip(oip + 16);
  let str: string;
  switch (type) {
    case 0:
    case 8:
      str = `echo ${type === 8 ? 'request' : 'reply'}, id ${ndo.u16(bp + 4)}, seq ${ndo.u16(bp + 6)}`;
      break;
    case 3:
      switch (code) {
        case 2: {
          const d = odst();
          str = `${d} protocol ${ndo.u8(oip + 9)} unreachable`;
          break;
        }
        case 3: {
          const hlen = (ndo.u8(oip) & 15) * 4;
          const dport = ndo.u16(oip + hlen + 2);
          const p = ndo.u8(oip + 9);
          const d = odst();
          if (p === IPPROTO_TCP) str = `${d} tcp port ${dport} unreachable`;
          else if (p === IPPROTO_UDP) str = `${d} udp port ${dport} unreachable`;
          else str = `${d} protocol ${p} port ${dport} unreachable`;
          break;
        }
        case 4: {
          const mtu = ndo.u16(bp + 6);
          const d = odst();
          str = mtu ? `${d} unreachable - need to frag (mtu ${mtu})` : `${d} unreachable - need to frag`;
          break;
        }
        default: {
          const fmt = UNREACH_FMT[code];
          const d = odst();
          str = fmt ? fmt.replace('%s', d) : `${d} unreachable - #${code}`;
        }
      }
      break;
    case 5: {
      const d = odst();
      const gw = ndo.ip(bp + 4);
      const fmt = REDIRECT_FMT[code];
      str = fmt ? fmt.replace('%s', d).replace('%s', gw) : `redirect-#${code} ${d} to ${gw}`;
      break;
    }
    case 9: {
      str = 'router advertisement lifetime ';
      const lifetime = ndo.u16(bp + 6);
      if (lifetime < 60) str += `${lifetime}`;
      else if (lifetime < 3600) str += `${Math.floor(lifetime / 60)}:${String(lifetime % 60).padStart(2, '0')}`;
      else
        str += `${Math.floor(lifetime / 3600)}:${String(Math.floor((lifetime % 3600) / 60)).padStart(2, '0')}:${String(
          lifetime % 60,
        ).padStart(2, '0')}`;
      let num = ndo.u8(bp + 4);
      str += ` ${num}:`;
      const size = ndo.u8(bp + 5);
      if (size !== 2) {
        str += ` [size ${size}]`;
        break;
      }
      let q = bp + 8;
      while (num !== 0) {
        str += ` {${ndo.ip(q)} ${ndo.u32(q + 4)}}`;
        q += 8;
        num--;
      }
      break;
    }
    case 11:
      ndo.tcheck(oip + 16, 4);
      str = code === 0 ? 'time exceeded in-transit' : code === 1 ? 'ip reassembly time exceeded' : `time exceeded-#${code}`;
      break;
    case 12:
      str = code ? `parameter problem - code ${code}` : `parameter problem - octet ${ndo.u8(bp + 4)}`;
      break;
    case 18:
      str = `address mask is 0x${ndo.u32(bp + 12).toString(16).padStart(8, '0')}`;
      break;
    case 13:
      str = `time stamp query id ${ndo.u16(bp + 4)} seq ${ndo.u16(bp + 6)}`;
      break;
    case 14: {
      const ts = (v: number): string => {
        const ms = v % 1000;
        let sec = Math.floor(v / 1000);
        let min = Math.floor(sec / 60);
        sec -= min * 60;
        const hrs = Math.floor(min / 60);
        min -= hrs * 60;
        return `${String(hrs).padStart(2, '0')}:${String(min).padStart(2, '0')}:${String(sec).padStart(2, '0')}.${String(ms).padStart(3, '0')}`;
      };
      str = `time stamp reply id ${ndo.u16(bp + 4)} seq ${ndo.u16(bp + 6)}: org ${ts(ndo.u32(bp + 8))}`;
      str += `, recv ${ts(ndo.u32(bp + 12))}`;
      str += `, xmit ${ts(ndo.u32(bp + 16))}`;
      break;
    }
    default:
      str = ICMP_NAMES[type] ?? `type-#${type}`;
  }
  ndo.p(`ICMP ${str}, length ${plen}`);
  if (ndo.v) icmpVerbose(ndo, bp, plen, type, fragmented);
}

/** icmp_print's -v part: the checksum verdict, an error's quoted packet, RFC 4884 extensions. */
function icmpVerbose(ndo: Ndo, bp: number, plen: number, type: number, fragmented: boolean): void {
  if (!fragmented && ndo.ttest(bp, plen)) {
    const sum = ~onesSum(ndo.b, bp, plen) & 0xffff;
    if (sum !== 0) {
      const icmpSum = readU16(ndo.b, bp + 2);
      ndo.p(` (wrong icmp cksum ${icmpSum.toString(16)} (->${cksumShouldbe(icmpSum, sum).toString(16)})!)`);
    }
  }
  // ICMP_ERRTYPE: unreachable, source quench, redirect, time exceeded, parameter problem.
  if (type === 3 || type === 4 || type === 5 || type === 11 || type === 12) {
    ndo.p('\n\t');
    const oip = bp + 8;
    const ilen = ndo.u16(oip + 2);
    ndo.pushSnapend(oip + ilen); // the quote is as long as its header says, not longer
    ndo.u16(oip + 2); // tcpdump reads the length again, within that: a quote claiming under 4 bytes ends here
    ndo.ipv4(oip, ilen);
    ndo.popSnapend();
  }
  // ICMP_MULTIPART_EXT_TYPE, longer than ICMP_EXTD_MINLEN: RFC 4884's extension after a 128-byte quote.
  if (!(type === 3 || type === 11 || type === 12) || plen <= 136) return;
  ndo.proto = 'icmp';
  ndo.tcheck(bp, 141); // ND_TCHECK_SIZE(struct icmp_ext_t)
  const ext = bp + 136;
  const hlen = plen - 136;
  if (ndo.b[bp + 5] === 0 && ndo.ttest(ext, hlen) && ~onesSum(ndo.b, ext, hlen) & 0xffff) return;
  const version = ndo.b[ext]! >>> 4;
  ndo.p(`\n\tICMP Multi-Part extension v${version}`);
  if (version !== 2) {
    ndo.p(' packet not supported');
    return;
  }
  if (ndo.ttest(ext, hlen)) {
    ndo.p(`, checksum 0x${hex4(readU16(ndo.b, ext + 2))} (${~onesSum(ndo.b, ext, hlen) & 0xffff ? 'in' : ''}correct), length ${hlen}`);
  }
  let left = hlen - 4;
  let obj = ext + 4;
  while (left > 4) {
    const olen = ndo.u16(obj);
    const cls = ndo.u8(obj + 2);
    const ctype = ndo.u8(obj + 3);
    obj += 4;
    ndo.p(`\n\t  ${['', 'MPLS Stack Entry', 'Interface Identification'][cls] || 'unknown'} Object (${cls}), Class-Type: ${ctype}, length ${olen}`);
    left -= 4;
    if (cls === 0 || olen < 4) return;
    const dlen = olen - 4;
    if (cls === 1 && ctype === 1) {
      const raw = ndo.u32(obj);
      ndo.p(`\n\t    label ${raw >>> 12}, tc ${(raw >>> 9) & 7}${raw & 0x100 ? ', [S]' : ''}, ttl ${raw & 0xff}`);
    } else unknownData(ndo, '\n\t    ', obj, dlen);
    if (left < dlen) break;
    left -= dlen;
    obj += dlen;
  }
}
