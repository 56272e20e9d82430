// IPv4 as tcpdump prints it (print-ip.c, ip_print): the addresses, or with
// -v the header in parentheses (TOS, TTL, id, fragment, protocol, options,
// a bad header checksum) and the rest on the next line; then the payload
// (tcpdump-ip-demux.ts), or "ip-proto-N" for a later fragment.
import { ipToString, readU16, readU32 } from './addr.js';
import { onesSum } from './checksum.js';
import { cksumShouldbe } from './tcpdump-cksum.js';
import { ipDemuxPrint } from './tcpdump-ip-demux.js';
import { IP_OPT_NAMES, IPPROTO_DCCP, IPPROTO_NAMES, IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP } from './tcpdump-names.js';
import { type Ndo, TRUNC } from './tcpdump-netdissect.js';

/** ip_print for the IPv4 packet at ip, `length` bytes left in the frame. */
export function ipPrint(ndo: Ndo, ip: number, length: number): void {
  ndo.proto = 'ip';
  const v = ndo.u8(ip) >>> 4;
  if (v !== 4) {
    ndo.p(v === 6 ? 'IP6, wrong link-layer encapsulation' : `IP${v}`);
    ndo.invalid();
    return;
  }
  if (!ndo.link) ndo.p('IP ');
  // ND_TCHECK_SIZE: prints the mark and returns (an ICMP error's quote goes on to its extensions).
  if (!ndo.ttest(ip, 20)) {
    ndo.trunc();
    return;
  }
  if (length < 20) {
    ndo.p(`truncated-ip ${length}`);
    return;
  }
  const hlen = (ndo.b[ip]! & 15) * 4;
  if (hlen < 20) {
    ndo.p(`bad-hlen ${hlen}`);
    return;
  }
  let len = readU16(ndo.b, ip + 2);
  if (length < len) ndo.p(`truncated-ip - ${len - length} bytes missing! `);
  if (len < hlen) {
    ndo.p(`bad-len ${len}`);
    return;
  }
  ndo.pushSnapend(ip + len);
  len -= hlen;
  const off = readU16(ndo.b, ip + 6);
  const proto = ndo.b[ip + 9]!;
  const src = ipToString(readU32(ndo.b, ip + 12));
  const dst = ipToString(readU32(ndo.b, ip + 16));
  if (ndo.v && !ipVerbose(ndo, ip, hlen, off, proto)) {
    ndo.p(`${src} > ${dst}: `);
    ndo.trunc();
    ndo.popSnapend();
    return;
  }
  if ((off & 0x1fff) === 0) {
    if (proto !== IPPROTO_TCP && proto !== IPPROTO_UDP && proto !== IPPROTO_SCTP && proto !== IPPROTO_DCCP) {
      ndo.p(`${src} > ${dst}: `);
    }
    if (!ndo.ttest(ip, hlen)) {
      ndo.p(` [remaining caplen(${ndo.avail(ip)}) < header length(${hlen})]`);
      throw TRUNC;
    }
    ipDemuxPrint(ndo, ip + hlen, len, 4, (off & 0x2000) !== 0, proto, ip);
  } else {
    ndo.p(`${src} > ${dst}: ip-proto-${proto}`);
  }
  ndo.popSnapend();
}

/** ip_print's -v part: "(tos ...)\n    ". False when an option runs past the capture. */
function ipVerbose(ndo: Ndo, ip: number, hlen: number, off: number, proto: number): boolean {
  const tos = ndo.b[ip + 1]!;
  let s = `(tos 0x${tos.toString(16)}${['', ',ECT(1)', ',ECT(0)', ',CE'][tos & 3]}`;
  const ttl = ndo.b[ip + 8]!;
  if (ttl >= 1) s += `, ttl ${ttl}`;
  const flags = [off & 0x2000 ? '+' : '', off & 0x4000 ? 'DF' : '', off & 0x8000 ? 'rsvd' : ''].filter(Boolean).join(', ');
  s += `, id ${readU16(ndo.b, ip + 4)}, offset ${(off & 0x1fff) * 8}, flags [${flags || 'none'}]`;
  s += `, proto ${IPPROTO_NAMES[proto] ?? 'unknown'} (${proto}), length ${readU16(ndo.b, ip + 2)}`;
  ndo.p(s);
  let whole = true;
  if (hlen > 20) {
    ndo.p(', options (');
    if (!ipOptions(ndo, ip + 20, hlen - 20)) {
      ndo.p(' [truncated-option]');
      whole = false;
    }
    ndo.p(')');
  }
  if (ip + hlen <= ndo.snapend) {
    const sum = ~onesSum(ndo.b, ip, hlen) & 0xffff;
    if (sum !== 0) {
      const ipSum = readU16(ndo.b, ip + 10);
      ndo.p(`, bad cksum ${ipSum.toString(16)} (->${cksumShouldbe(ipSum, sum).toString(16)})!`);
    }
  }
  ndo.p(')\n    ');
  return whole;
}

/** ip_optprint: false when an option runs past the captured bytes. */
function ipOptions(ndo: Ndo, cp: number, length: number): boolean {
  let sep = '';
  while (length > 0) {
    ndo.p(sep);
    sep = ',';
    const code = ndo.u8(cp);
    ndo.p(IP_OPT_NAMES[code] ?? `unknown ${code}`);
    let olen = 1;
    if (code !== 0 && code !== 1) {
      olen = ndo.u8(cp + 1);
      if (olen < 2) {
        ndo.p(` [bad length ${olen}]`);
        return true;
      }
    }
    if (olen > length) {
      ndo.p(` [bad length ${olen}]`);
      return true;
    }
    if (!ndo.ttest(cp, olen)) return false;
    switch (code) {
      case 0:
        return true;
      case 68:
        if (!ipTimestamps(ndo, cp, olen)) return false;
        break;
      case 7:
      case 131:
      case 137:
        if (!ipRoute(ndo, cp, olen)) return false;
        break;
      case 148:
        if (olen < 4) ndo.p(` [bad length ${olen}]`);
        else if (readU16(ndo.b, cp + 2) !== 0) ndo.p(` value ${readU16(ndo.b, cp + 2)}`);
        break;
    }
    cp += olen;
    length -= olen;
  }
  return true;
}

/** ip_printroute (RR, LSRR, SSRR). */
function ipRoute(ndo: Ndo, cp: number, length: number): boolean {
  if (length < 3) {
    ndo.p(` [bad length ${length}]`);
    return true;
  }
  if ((length + 1) & 3) ndo.p(` [bad length ${length}]`);
  const ptr = (ndo.u8(cp + 2) - 1) >>> 0;
  if (ptr < 3 || (ptr + 1) & 3 || ptr > length + 1) ndo.p(` [bad ptr ${ndo.b[cp + 2]}]`);
  for (let len = 3; len < length; len += 4) {
    if (!ndo.ttest(cp + len, 4)) return false;
    ndo.p(` ${ipToString(readU32(ndo.b, cp + len))}`);
    if (ptr > len) ndo.p(',');
  }
  return true;
}

/** ip_printts. */
function ipTimestamps(ndo: Ndo, cp: number, length: number): boolean {
  if (length < 4) {
    ndo.p(`[bad length ${length}]`);
    return true;
  }
  ndo.p(' TS{');
  const fl = ndo.u8(cp + 3);
  const hoplen = (fl & 15) !== 0 ? 8 : 4;
  if ((length - 4) & (hoplen - 1)) ndo.p(`[bad length ${length}]`);
  const ptr = (ndo.u8(cp + 2) - 1) >>> 0;
  let len = 0;
  if (ptr < 4 || ((ptr - 4) >>> 0) & (hoplen - 1) || ptr > length + 1) ndo.p(`[bad ptr ${ndo.b[cp + 2]}]`);
  const kind = ['TSONLY', 'TS+ADDR', '', 'PRESPEC'][fl & 15];
  if (kind) {
    ndo.p(kind);
    let type = ' ';
    for (len = 4; len < length; len += hoplen) {
      if (ptr === len) type = ' ^ ';
      if (!ndo.ttest(cp + len, hoplen)) return false;
      ndo.p(`${type}${readU32(ndo.b, cp + len + hoplen - 4)}@${hoplen !== 8 ? '' : ipToString(readU32(ndo.b, cp + len))}`);
      type = ' ';
    }
  } else ndo.p(`[bad ts type ${fl & 15}]`);
  ndo.p(ptr === len ? ' ^ ' : '');
  ndo.p(fl >>> 4 ? ` [${fl >>> 4} hops not recorded]} ` : '}');
  return true;
}
