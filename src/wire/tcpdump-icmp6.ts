// ICMPv6 as tcpdump prints it (print-icmp6.c, icmp6_print): errors with
// what they quote, echo, MLDv1 and MLDv2 queries and reports, and neighbour
// discovery (router and neighbour solicitations and advertisements,
// redirects); with -v the checksum verdict and neighbour discovery's options.
import { hex2, readU16 } from './addr.js';
import { unknownData } from './tcpdump-ascii.js';
import { cksumShouldbe, l4Cksum } from './tcpdump-cksum.js';
import { fqdnAt } from './tcpdump-dns.js';
import {
  GROUP_RECORD_TYPES,
  ICMP6_NAMES,
  IPPROTO_AH,
  IPPROTO_DSTOPTS,
  IPPROTO_FRAGMENT,
  IPPROTO_HOPOPTS,
  IPPROTO_ICMPV6,
  IPPROTO_ROUTING,
  IPPROTO_TCP,
  IPPROTO_UDP,
  ND_OPT_NAMES,
} from './tcpdump-names.js';
import type { Ndo } from './tcpdump-netdissect.js';
import { bitNames, hex4, ip6ToString } from './tcpdump-text.js';

/** An MLDv1 message; the smallest MLDv2 query. */
const MLD_MINLEN = 24, MLDV2_QUERY_MINLEN = 28;
const ICMP6_UNREACH_CODES: Readonly<Record<number, string>> = { 0: 'unreachable route', 1: ' unreachable prohibited', 2: 'beyond scope', 3: 'unreachable address', 4: 'unreachable port' };
const ICMP6_PARAMPROB_CODES: Readonly<Record<number, string>> = { 0: 'erroneous', 1: 'next header', 2: 'option', 3: 'incomplete header chain' };

/** Router advertisement and prefix information flags (icmp6_opt_ra_flag_values, icmp6_opt_pi_flag_values). */
const RA_FLAGS: readonly [number, string][] = [[0x80, 'managed'], [0x40, 'other stateful'], [0x20, 'home agent'], [0x02, 'ipv6 only']];
const PI_FLAGS: readonly [number, string][] = [[0x80, 'onlink'], [0x40, 'auto'], [0x20, 'router']];

/** get_rtpref, by the two preference bits. */
const RTPREF = ['medium', 'high', 'rsv', 'low'];

/** get_lifetime. */
const lifetime = (v: number): string => (v === 0xffffffff ? 'infinity' : `${v}s`);

/** icmp6_print for the message at bp of `length` bytes, in the IPv6 packet at iph. */
export function icmp6Print(ndo: Ndo, bp: number, length: number, iph: number, fragmented: boolean): void {
  ndo.proto = 'icmp6';
  if (length === 0) {
    ndo.p('ICMP6, length 0');
    ndo.invalid();
    return;
  }
  const type = ndo.u8(bp);
  if (ndo.v && !fragmented && ndo.ttest(bp, length)) {
    const icmpSum = readU16(ndo.b, bp + 2);
    const sum = l4Cksum(ndo, iph, 6, IPPROTO_ICMPV6, bp, length);
    ndo.p(sum ? `[bad icmp6 cksum 0x${hex4(icmpSum)} -> 0x${hex4(cksumShouldbe(icmpSum, sum))}!] ` : '[icmp6 sum ok] ');
  }
  ndo.p(`ICMP6, ${ICMP6_NAMES[type] ?? `unknown icmp6 type (${type})`}`);
  // Neighbour discovery's -v printers put the length first ("display cosmetics").
  if (ndo.v && ((type >= 133 && type <= 137) || type === 145 || type === 147)) ndo.p(`, length ${length}`);
  ndo.u8(bp + 1); // icmp6_print reads the code here, whatever the type: a frame cut after the type ends here
  const oip = bp + 8; // an error's quoted packet
  switch (type) {
    case 1: {
      const code = ndo.u8(bp + 1);
      ndo.p(`, ${ICMP6_UNREACH_CODES[code] ?? `unknown unreach code (${code})`}`);
      if (code === 0 || code === 1 || code === 3) ndo.p(` ${ndo.ip6(oip + 24)}`);
      else if (code === 2) ndo.p(` ${ndo.ip6(oip + 24)}, source address ${ndo.ip6(oip + 8)}`);
      else if (code === 4) {
        const up = upperLayer(ndo, oip);
        if (up < 0) return ndo.trunc();
        const dport = ndo.u16(up + 2), prot = upperProt;
        const dst = ndo.ip6(oip + 24);
        ndo.p(prot === IPPROTO_TCP ? `, ${dst} tcp port ${dport}` : prot === IPPROTO_UDP ? `, ${dst} udp port ${dport}` : `, ${dst} protocol ${prot} port ${dport} unreachable`);
      } else if (ndo.v <= 1) return unknownData(ndo, '\n\t', bp, length);
      break;
    }
    case 2:
      ndo.p(`, mtu ${ndo.u32(bp + 4)}`);
      break;
    case 3: {
      const code = ndo.u8(bp + 1);
      ndo.p(code === 0 ? ` for ${ndo.ip6(oip + 24)}` : code === 1 ? ' (reassembly)' : `, unknown code (${code})`);
      break;
    }
    case 4: {
      if (!ndo.ttest(oip + 24, 16)) return ndo.trunc();
      const code = ndo.u8(bp + 1);
      const what = ICMP6_PARAMPROB_CODES[code];
      ndo.p(what === undefined ? `, code-#${code}` : `, ${what} - octet ${ndo.u32(bp + 4)}`);
      break;
    }
    case 128:
    case 129:
      ndo.p(`, id ${ndo.u16(bp + 4)}, seq ${ndo.u16(bp + 6)}`);
      break;
    case 130:
      if (length === MLD_MINLEN) mld(ndo, bp);
      else if (length >= MLDV2_QUERY_MINLEN) {
        ndo.p(' v2');
        mldv2Query(ndo, bp, length);
      } else ndo.p(` unknown-version (len ${length}) `);
      break;
    case 131:
    case 132:
      mld(ndo, bp);
      break;
    case 143:
      mldv2Report(ndo, bp, length);
      break;
    case 133:
      if (ndo.v && !ndOptions(ndo, bp + 8, length - 8)) return ndo.trunc();
      break;
    case 134:
      if (ndo.v) {
        const f = ndo.u8(bp + 5);
        ndo.p(`\n\thop limit ${ndo.u8(bp + 4)}, Flags [${bitNames(RA_FLAGS, f)}], pref ${RTPREF[(f & 0x18) >> 3]}, router lifetime ${ndo.u16(bp + 6)}s, reachable time ${ndo.u32(bp + 8)}ms, retrans timer ${ndo.u32(bp + 12)}ms`);
        if (!ndOptions(ndo, bp + 16, length - 16)) return ndo.trunc();
      }
      break;
    case 137:
      ndo.p(`, ${ndo.ip6(bp + 24)} to ${ndo.ip6(bp + 8)}`); // nd_rd_dst, then nd_rd_target
      if (ndo.v && !ndOptions(ndo, bp + 40, length - 40)) return ndo.trunc();
      break;
    case 135:
      ndo.p(`, who has ${ndo.ip6(bp + 8)}`);
      if (ndo.v && !ndOptions(ndo, bp + 24, length - 24)) return ndo.trunc();
      break;
    case 136:
      ndo.p(`, tgt is ${ndo.ip6(bp + 8)}`);
      if (ndo.v) {
        const f = ndo.u32(bp + 4);
        const names = [f & 0x80000000 ? 'router' : '', f & 0x40000000 ? 'solicited' : '', f & 0x20000000 ? 'override' : ''];
        ndo.p(`, Flags [${names.filter(Boolean).join(', ') || 'none'}]`);
        if (!ndOptions(ndo, bp + 24, length - 24)) return ndo.trunc();
      }
      break;
  }
  if (!ICMP6_NAMES[type]) {
    // The default case: the length always, and the bytes up to -v (an oddity of 4.99's icmp6_print).
    ndo.p(`, length ${length}`);
    if (ndo.v <= 1) unknownData(ndo, '\n\t', bp, length);
  } else if (!ndo.v) ndo.p(`, length ${length}`);
}

/** upperLayer's second result: the protocol of the header it found (printing is synchronous, one packet at a time). */
let upperProt = 0;

/** get_upperlayer: where the TCP or UDP header of the packet an ICMPv6 error quotes (at oip) starts (its protocol in upperProt), or -1. */
function upperLayer(ndo: Ndo, oip: number): number {
  if (!ndo.ttest(oip + 6, 1)) return -1;
  let nh = ndo.b[oip + 6]!, at = oip, hlen = 40;
  while (at < ndo.snapend) {
    at += hlen;
    switch (nh) {
      case IPPROTO_UDP:
      case IPPROTO_TCP:
        upperProt = nh;
        return ndo.ttest(at + 2, 2) ? at : -1;
      case IPPROTO_HOPOPTS:
      case IPPROTO_DSTOPTS:
      case IPPROTO_ROUTING:
        if (!ndo.ttest(at + 1, 1)) return -1;
        hlen = (ndo.b[at + 1]! + 1) << 3;
        break;
      case IPPROTO_FRAGMENT:
        if (!ndo.ttest(at + 2, 2) || readU16(ndo.b, at + 2) & 0xfff8) return -1;
        hlen = 8;
        break;
      case IPPROTO_AH:
        if (!ndo.ttest(at + 1, 1)) return -1;
        hlen = (ndo.b[at + 1]! + 2) << 2;
        break;
      default:
        return -1;
    }
    nh = ndo.b[at]!;
  }
  return -1;
}

/** mld6_print: MLDv1 (tcpdump prints it straight after the type's name). */
function mld(ndo: Ndo, bp: number): void {
  if (bp + MLD_MINLEN > ndo.snapend) return;
  ndo.p(`max resp delay: ${ndo.u16(bp + 4)} addr: ${ndo.ip6(bp + 8)}`);
}

/** mldv2_query_print. */
function mldv2Query(ndo: Ndo, bp: number, len: number): void {
  if (len < MLDV2_QUERY_MINLEN) return ndo.p(` [invalid len ${len}]`);
  const mrc = ndo.u16(bp + 4);
  const mrt = mrc < 32768 ? mrc : ((mrc & 0x0fff) | 0x1000) * 2 ** (((mrc & 0x7000) >> 12) + 3);
  if (ndo.v) ndo.p(` [max resp delay=${mrt >>> 0}]`);
  ndo.p(` [gaddr ${ndo.ip6(bp + 8)}`);
  if (ndo.v) {
    const f = ndo.u8(bp + 24);
    if (f & 0x08) ndo.p(' sflag');
    if (f & 0x07) ndo.p(` robustness=${f & 0x07}`);
    const q = ndo.u8(bp + 25);
    ndo.p(` qqi=${q < 128 ? q : ((q & 0x0f) | 0x10) << (((q & 0x70) >> 4) + 3)}`);
  }
  const nsrcs = ndo.u16(bp + 26);
  if (nsrcs > 0) {
    if (len < MLDV2_QUERY_MINLEN + nsrcs * 16) ndo.p(' [invalid number of sources]');
    else if (ndo.v > 1) {
      ndo.p(' {');
      for (let i = 0; i < nsrcs; i++) ndo.p(` ${ndo.ip6(bp + 28 + i * 16)}`);
      ndo.p(' }');
    } else ndo.p(`, ${nsrcs} source(s)`);
  }
  ndo.p(']');
}

/** mldv2_report_print: the group records' count; with -v each record (its sources from -vv). */
function mldv2Report(ndo: Ndo, bp: number, len: number): void {
  if (len < 8) return ndo.p(` [invalid len ${len}]`);
  const ngroups = ndo.u16(bp + 6);
  ndo.p(`, ${ngroups} group record(s)`);
  if (!ndo.v) return;
  for (let i = 0, group = 8; i < ngroups; i++) {
    if (len < group + 20) return ndo.p(' [invalid number of groups]');
    ndo.p(` [gaddr ${ndo.ip6(bp + group + 4)}`);
    const rtype = ndo.u8(bp + group);
    ndo.p(` ${GROUP_RECORD_TYPES[rtype] ?? ` [v2-report-#${rtype}]`}`);
    const nsrcs = ndo.u16(bp + group + 2);
    if (len < group + 20 + nsrcs * 16) return ndo.p(` [invalid number of sources ${nsrcs}]`);
    if (ndo.v === 1) ndo.p(`, ${nsrcs} source(s)`);
    else {
      ndo.p(' {');
      for (let j = 0; j < nsrcs; j++) ndo.p(` ${ndo.ip6(bp + group + 20 + j * 16)}`);
      ndo.p(' }');
    }
    group += 20 + nsrcs * 16;
    ndo.p(']');
  }
}

/** icmp6_opt_print: neighbour discovery options from cp (`resid` bytes by the header); false where tcpdump gives up ("goto trunc"). */
function ndOptions(ndo: Ndo, bp: number, resid: number): boolean {
  const ep = ndo.snapend;
  for (let cp = bp; cp < ep; ) {
    if (!ndo.ttest(cp + 1, 1)) return false;
    if (resid <= 0) return true;
    const type = ndo.u8(cp);
    const units = ndo.u8(cp + 1);
    const olen = units << 3;
    if (units === 0 || cp + olen > ep) return false;
    ndo.p(`\n\t  ${ND_OPT_NAMES[type] ?? 'unknown'} option (${type}), length ${olen} (${units}): `);
    switch (type) {
      case 1:
      case 2: {
        let s = '';
        for (let i = 2; i < olen; i++) s += (i > 2 ? ':' : '') + hex2(ndo.u8(cp + i));
        ndo.p(s);
        break;
      }
      case 3:
        ndo.p(`${ndo.ip6(cp + 16)}/${ndo.u8(cp + 2)}${units !== 4 ? 'badlen' : ''}, Flags [${bitNames(PI_FLAGS, ndo.u8(cp + 3))}], valid time ${lifetime(ndo.u32(cp + 4))}`);
        ndo.p(`, pref. time ${lifetime(ndo.u32(cp + 8))}`);
        break;
      case 4:
        unknownData(ndo, '\n\t    ', bp, olen); // tcpdump dumps from the first option, not this one
        break;
      case 5:
        ndo.p(` ${ndo.u32(cp + 4)}${units !== 1 ? 'bad option length' : ''}`);
        break;
      case 25: {
        ndo.p(` lifetime ${ndo.u32(cp + 4)}s,`);
        for (let i = 0; i < (units - 1) >> 1; i++) ndo.p(` addr: ${ndo.ip6(cp + 8 + 16 * i)}`);
        break;
      }
      case 31: {
        ndo.p(` lifetime ${ndo.u32(cp + 4)}s, domain(s):`);
        for (let dom = cp + 8; dom < cp + olen && ndo.u8(dom) !== 0; ) {
          ndo.p(' ');
          const name = fqdn(ndo, dom, bp);
          if (name < 0) return false;
          dom = name;
        }
        break;
      }
      case 7:
        ndo.p(` ${ndo.u32(cp + 4)}ms`);
        break;
      case 8:
        ndo.p(` preference ${ndo.u16(cp + 4)}, lifetime ${ndo.u16(cp + 6)}`);
        break;
      case 24: {
        ndo.tcheck(cp + 4, 4);
        if (units > 3) return false;
        const a = new Uint8Array(16);
        const n = units === 2 ? 8 : units === 3 ? 16 : 0;
        ndo.tcheck(cp + 8, n);
        a.set(ndo.b.subarray(cp + 8, cp + 8 + n));
        ndo.p(` ${ip6ToString(a, 0)}/${ndo.u8(cp + 2)}, pref=${RTPREF[(ndo.u8(cp + 3) & 0x18) >> 3]}, lifetime=${lifetime(ndo.u32(cp + 4))}`);
        break;
      }
      default:
        if (ndo.v <= 1) {
          unknownData(ndo, '\n\t  ', cp + 2, olen - 2);
          return true;
        }
    }
    if (ndo.v > 1) unknownData(ndo, '\n\t    ', cp + 2, olen - 2);
    cp += olen;
    resid -= olen;
  }
  return true;
}

/** fqdn_print (tcpdump-dns.ts) inside another protocol; where the name ends, or -1. */
function fqdn(ndo: Ndo, cp: number, bp: number): number {
  let end = -1;
  ndo.embedded(() => {
    const r = fqdnAt(ndo.b, cp, bp, ndo.snapend);
    end = r.end;
    return r.text;
  });
  return end;
}
