// TCP as tcpdump prints it (print-tcp.c, tcp_print): ports, flags,
// sequence numbers (relative after a connection's first ACK, unless -S),
// window, options, with -v the checksum verdict and an RST's data; then SSH,
// HTTP or DNS by port (tcpdump-apps.ts).
import { hex2, readU16, readU32 } from './addr.js';
import { domainPrint, httpPrint, sshPrint } from './tcpdump-apps.js';
import { cksumShouldbe, l4Cksum } from './tcpdump-cksum.js';
import { IPPROTO_TCP, TCP_FLAG_LETTERS, TCP_OPT_NAMES } from './tcpdump-names.js';
import type { Ndo } from './tcpdump-netdissect.js';
import { hex4, printChar } from './tcpdump-text.js';

const DNS_PORT = 53, SSH_PORT = 22;

/** ND_TCHECK inside tcp_print's option loop: its own "trunc:" label, which adds '>' after an option. */
const OPT_TRUNC = new (class OptionTruncated {})();

/** tcp_print for the segment at bp of `length` bytes, in the IPv4 or IPv6 (`ver`) packet at iph. */
export function tcpPrint(ndo: Ndo, bp: number, length: number, iph: number, ver: number, fragmented: boolean): void {
  ndo.proto = 'tcp';
  const [src, dst] = ndo.addrs(iph, ver);
  if (!ndo.ttest(bp + 2, 2)) {
    ndo.p(`${src} > ${dst}:`);
    ndo.trunc();
    return;
  }
  const sport = readU16(ndo.b, bp);
  const dport = readU16(ndo.b, bp + 2);
  // As UDP's: after IPv6 extension headers only the ports.
  if (ver === 4 || ndo.b[iph + 6] === IPPROTO_TCP) ndo.p(`${src}.${sport} > ${dst}.${dport}: `);
  else ndo.p(`${sport} > ${dport}: `);
  ndo.tcheck(bp, 20);
  const hlen = (ndo.b[bp + 12]! >>> 4) * 4;
  if (hlen < 20) {
    ndo.p(` tcp ${(length - hlen) >>> 0} [bad hdr length ${hlen} - too short, < 20]`);
    return;
  }
  let seq = readU32(ndo.b, bp + 4);
  let ack = readU32(ndo.b, bp + 8);
  const win = readU16(ndo.b, bp + 14);
  const urp = readU16(ndo.b, bp + 18);
  if (ndo.quiet) {
    ndo.p(`tcp ${(length - hlen) >>> 0}${hlen > length ? ` [bad hdr length ${hlen} - too short, > ${length}]` : ''}`);
    return;
  }
  const flags = ndo.b[bp + 13]!;
  let fl = '';
  for (const [bit, c] of TCP_FLAG_LETTERS) if (flags & bit) fl += c;
  ndo.p(`Flags [${fl || 'none'}]`);
  let thseq = 0;
  let thack = 0;
  let rev = false;
  if (!ndo.absoluteSeq && flags & 0x10) {
    const s = ndo.b.subarray(iph + (ver === 4 ? 12 : 8), iph + (ver === 4 ? 16 : 24));
    const d = ndo.b.subarray(iph + (ver === 4 ? 16 : 24), iph + (ver === 4 ? 20 : 40));
    if (sport > dport) rev = true;
    else if (sport === dport) rev = Buffer.compare(s, d) > 0;
    const key = rev
      ? `${Array.from(d).join('.')}|${Array.from(s).join('.')}|${dport}:${sport}`
      : `${Array.from(s).join('.')}|${Array.from(d).join('.')}|${sport}:${dport}`;
    let th = ndo.seqs.get(key);
    if (!th || flags & 0x02) {
      th = rev ? { ack: seq, seq: (ack - 1) >>> 0 } : { seq, ack: (ack - 1) >>> 0 };
      ndo.seqs.set(key, th);
    } else if (rev) {
      seq = (seq - th.ack) >>> 0;
      ack = (ack - th.seq) >>> 0;
    } else {
      seq = (seq - th.seq) >>> 0;
      ack = (ack - th.ack) >>> 0;
    }
    thseq = th.seq;
    thack = th.ack;
  }
  if (hlen > length) {
    ndo.p(` [bad hdr length ${hlen} - too long, > ${length}]`);
    return;
  }
  if (ndo.v && !fragmented && ndo.ttest(bp, length)) {
    const tcpSum = readU16(ndo.b, bp + 16);
    const sum = l4Cksum(ndo, iph, ver, IPPROTO_TCP, bp, length);
    ndo.p(`, cksum 0x${hex4(tcpSum)} ${sum ? `(incorrect -> 0x${hex4(cksumShouldbe(tcpSum, sum))})` : '(correct)'}`);
  }
  length -= hlen;
  if (ndo.v > 1 || length > 0 || flags & (0x02 | 0x01 | 0x04)) {
    ndo.p(`, seq ${seq}`);
    if (length > 0) ndo.p(`:${(seq + length) >>> 0}`);
  }
  if (flags & 0x10) ndo.p(`, ack ${ack}`);
  ndo.p(`, win ${win}`);
  if (flags & 0x20) ndo.p(`, urg ${urp}`);
  if (hlen > 20 && !tcpOptions(ndo, bp, hlen - 20, length, rev ? thseq : thack)) return;
  ndo.p(`, length ${length}`);
  if (length <= 0) return;
  if (flags & 0x04 && ndo.v) {
    rstData(ndo, bp + hlen, length);
    return;
  }
  // tcp_print's port tests in its order (the ports it decodes that this does not print nothing more).
  if (sport === SSH_PORT || dport === SSH_PORT) {
    sshPrint(ndo, bp + hlen, length);
  } else if (sport === 80 || dport === 80 || sport === 8080 || dport === 8080) {
    ndo.tcheck(bp, hlen);
    ndo.p(': ');
    httpPrint(ndo, bp + hlen, length);
  } else if (sport === DNS_PORT || dport === DNS_PORT) {
    ndo.tcheck(bp, hlen);
    domainPrint(ndo, bp + hlen, length, true, false);
  }
}

/**
 * tcp_print's option loop over the `hlen` bytes of options after the header
 * at bp: ", options [...]"; false where tcpdump prints no more of the segment
 * (a bad or cut option). `length` is the payload's, `sackBase` the sequence
 * number SACK blocks are shown relative to.
 */
function tcpOptions(ndo: Ndo, bp: number, hlen: number, length: number, sackBase: number): boolean {
  let ch = '';
  let cp = bp + 20;
  ndo.p(', options [');
  try {
    while (hlen > 0) {
      if (ch) ndo.p(ch);
      const opt = ndo.u8(cp);
      cp++;
      let len: number;
      if (opt === 0 || opt === 1) len = 1;
      else {
        len = ndo.u8(cp);
        cp++;
        if (len < 2 || len > hlen) return badOpt(ndo, ch);
        --hlen;
      }
      --hlen;
      let datalen = 0;
      const lencheck = (l: number): boolean => {
        if (l > hlen) return false;
        if (!ndo.ttest(cp, l)) throw OPT_TRUNC;
        return true;
      };
      ndo.p(TCP_OPT_NAMES[opt] ?? `unknown-${opt}`);
      switch (opt) {
        case 2:
          datalen = 2;
          if (!lencheck(datalen)) return badOpt(ndo, ch);
          ndo.p(` ${readU16(ndo.b, cp)}`);
          break;
        case 3:
          datalen = 1;
          if (!lencheck(datalen)) return badOpt(ndo, ch);
          ndo.p(` ${ndo.b[cp]}`);
          break;
        case 5:
          datalen = len - 2;
          if (datalen % 8 !== 0) ndo.p(' invalid sack');
          else {
            ndo.p(` ${datalen / 8} `);
            for (let i = 0; i < datalen; i += 8) {
              if (!lencheck(i + 4)) return badOpt(ndo, ch);
              let s = readU32(ndo.b, cp + i);
              if (!lencheck(i + 8)) return badOpt(ndo, ch);
              let e = readU32(ndo.b, cp + i + 4);
              s = (s - sackBase) >>> 0;
              e = (e - sackBase) >>> 0;
              ndo.p(`{${s}:${e}}`);
            }
          }
          break;
        case 6:
        case 7:
        case 11:
        case 12:
        case 13:
          datalen = 4;
          if (!lencheck(datalen)) return badOpt(ndo, ch);
          ndo.p(` ${readU32(ndo.b, cp)}`);
          break;
        case 8:
          datalen = 8;
          if (!lencheck(datalen)) return badOpt(ndo, ch);
          ndo.p(` val ${readU32(ndo.b, cp)} ecr ${readU32(ndo.b, cp + 4)}`);
          break;
        case 20:
          datalen = 2;
          if (!lencheck(datalen)) return badOpt(ndo, ch);
          ndo.p(` cap ${hex2(ndo.b[cp]!)} id ${ndo.b[cp + 1]}`);
          break;
        case 28: {
          datalen = 2;
          if (!lencheck(datalen)) return badOpt(ndo, ch);
          let uto = readU16(ndo.b, cp);
          ndo.p(` 0x${uto.toString(16)}`);
          uto = uto & 1 ? (uto >>> 1) * 60 : uto >>> 1;
          ndo.p(` ${uto}`);
          break;
        }
        case 19: {
          // TCP MD5 signature: tcpdump has no -M secret to check it with.
          datalen = 16;
          if (!lencheck(datalen)) return badOpt(ndo, ch);
          const data = bp + (ndo.b[bp + 12]! >>> 4) * 4;
          let sig = '';
          for (let i = 0; i < 16; i++) sig += hex2(ndo.b[cp + i]!);
          ndo.p(` ${data + length > ndo.snapend ? 'snaplen too short' : 'shared secret not supplied with -M'}, can't check - ${sig}`);
          break;
        }
        case 34:
          datalen = len - 2;
          if (!lencheck(datalen)) return badOpt(ndo, ch);
          ndo.p(' ');
          fastOpen(ndo, cp, datalen);
          break;
        case 254: {
          datalen = len - 2;
          if (!lencheck(datalen) || datalen < 2) return badOpt(ndo, ch);
          const magic = readU16(ndo.b, cp);
          ndo.p('-');
          if (magic === 0xf989) {
            ndo.p('tfo');
            fastOpen(ndo, cp + 2, datalen - 2);
          } else ndo.p(hex4(magic));
          break;
        }
        case 0:
        case 1:
        case 4:
          break;
        default:
          // tcp-ao, mptcp and unknown: raw bytes (tcpdump decodes the first two further).
          datalen = len - 2;
          if (datalen) ndo.p(' 0x');
          for (let i = 0; i < datalen; ++i) {
            if (!lencheck(i + 1)) return badOpt(ndo, ch);
            ndo.p(hex2(ndo.b[cp + i]!));
          }
      }
      cp += datalen;
      hlen -= datalen;
      ++datalen;
      if (opt !== 0 && opt !== 1) ++datalen;
      if (datalen !== len) ndo.p(`[len ${len}]`);
      ch = ',';
      if (opt === 0) break;
    }
  } catch (e) {
    if (e !== OPT_TRUNC) throw e;
    ndo.trunc();
    if (ch) ndo.p('>');
    return false;
  }
  ndo.p(']');
  return true;
}

/** print_tcp_rst_data: an RST's payload (RFC 1122 4.2.2.12), at most 30 characters. */
function rstData(ndo: Ndo, p: number, length: number): void {
  let s = ndo.ttest(p, length) ? ' [RST' : ' [!RST';
  if (length > 30) {
    length = 30;
    s += '+';
  }
  s += ' ';
  for (let i = 0; i < length && p + i < ndo.snapend; i++) s += printChar(ndo.b[p + i]!);
  ndo.p(s + ']');
}

/** print_tcp_fastopen_option: an RFC 7413 cookie or cookie request. */
function fastOpen(ndo: Ndo, cp: number, datalen: number): void {
  if (datalen === 0) ndo.p(' cookiereq');
  else if (datalen % 2 !== 0 || datalen < 4 || datalen > 16) ndo.invalid();
  else {
    let c = ' cookie ';
    for (let i = 0; i < datalen; i++) c += hex2(ndo.u8(cp + i));
    ndo.p(c);
  }
}

/** The option loop's "bad" label: the segment's text ends here. */
function badOpt(ndo: Ndo, ch: string): false {
  ndo.p('[bad opt]');
  if (ch) ndo.p(']');
  return false;
}
