// pr_options of iputils 20221126: the IP options of an echo reply, printed
// after its line (record route's addresses, "(same route)" when they are
// the last reply's, timestamps relative to the first), each address as
// pr_addr prints it: named from the hosts file unless the target was a
// number or -n was given.
import type { NetDb } from '../control/netdb.js';
import { ipToString, parseIpv4, parseIpv6, readU32 } from '../wire/addr.js';

const IPOPT_EOL = 0, IPOPT_NOP = 1, IPOPT_RR = 7, IPOPT_LSRR = 131, IPOPT_SSRR = 137, IPOPT_TS = 68;
const IPOPT_MINOFF = 4, IPOPT_TS_TSONLY = 0;

/**
 * pr_addr: `NAME (ADDR)` where getnameinfo(NI_NAMEREQD) finds a name other
 * than ADDR (the hosts file's: an emulated namespace reaches no name
 * server), else ADDR (an IPv6 one with its %scope, which the lookup
 * ignores); ADDR alone without `names` (a numeric target, or -n).
 */
export function prAddr(names: NetDb | undefined, addr: string): string {
  if (names === undefined) return addr;
  const v4 = parseIpv4(addr);
  const v6 = v4 === null ? parseIpv6(addr.split('%')[0]!) : null;
  const name = v4 !== null ? names.hostByAddr(v4) : v6 !== null ? names.hostByAddr6(v6) : undefined;
  return name === undefined || name === addr ? addr : `${name} (${addr})`;
}

export class PingOptionsPrinter {
  /** The last record route printed (old_rr): a reply with the same one says "(same route)". */
  private oldRr: Uint8Array | null = null;

  constructor(
    private readonly flood: boolean,
    /** Where pr_addr finds names (PingArgs.names). */
    private readonly names?: NetDb,
  ) {}

  /** An address in an option: 0.0.0.0 as it is (pr_options never asks pr_addr about it), else pr_addr's text. */
  private addr(d: Uint8Array, at: number): string {
    const a = readU32(d, at);
    return a === 0 ? '0.0.0.0' : prAddr(this.names, ipToString(a));
  }

  /** The text pr_options prints for the IP header `d` (options after its 20 bytes, `hlen` bytes in all). */
  text(d: Uint8Array, hlen: number): string {
    let s = '';
    let p = 20;
    for (let totlen = hlen - 20; totlen > 0; ) {
      const t = d[p]!;
      if (t === IPOPT_EOL) break;
      if (t === IPOPT_NOP) {
        totlen--;
        p++;
        s += '\nNOP';
        continue;
      }
      const olen = d[p + 1]!;
      if (olen < 2 || olen > totlen) break;
      if (t === IPOPT_SSRR || t === IPOPT_LSRR) s += this.sourceRoute(d, p);
      else if (t === IPOPT_RR) s += this.recordRoute(d, p);
      else if (t === IPOPT_TS) s += this.timestamps(d, p);
      else s += `\nunknown option ${t.toString(16)}`;
      totlen -= olen;
      p += olen;
    }
    return s;
  }

  private sourceRoute(d: Uint8Array, p: number): string {
    let s = `\n${d[p] === IPOPT_SSRR ? 'S' : 'L'}SRR: `;
    let j = d[p + 1]!, cp = p + 2;
    if (j > IPOPT_MINOFF) {
      for (;;) {
        s += `\t${this.addr(d, cp)}\n`;
        cp += 4;
        j -= 4;
        if (j <= IPOPT_MINOFF) break;
      }
    }
    return s;
  }

  private recordRoute(d: Uint8Array, p: number): string {
    const j = d[p + 1]!;
    let i = Math.min(d[p + 2]!, j) - IPOPT_MINOFF;
    if (i <= 0) return '';
    // memcmp(cp, old_rr, i) with cp at the pointer byte: the pointer and the slots before the last i's end.
    const rr = d.subarray(p + 2, p + 2 + i);
    if (this.oldRr !== null && this.oldRr.length === i && this.oldRr.every((b, k) => b === rr[k]) && !this.flood) return '\t(same route)';
    this.oldRr = Uint8Array.from(rr);
    let s = '\nRR: ';
    for (let cp = p + 3; ; cp += 4) {
      s += `\t${this.addr(d, cp)}\n`;
      i -= 4;
      if (i <= 0) break;
    }
    return s;
  }

  /** IPOPT_TS: each address (but for tsonly) and time, times after the first relative to the one before. */
  private timestamps(d: Uint8Array, p: number): string {
    const j = d[p + 1]!;
    let i = Math.min(d[p + 2]!, j) - 5;
    if (i <= 0) return '';
    const flags = d[p + 3]!;
    let s = '\nTS: ';
    let stdtime = 0, nonstdtime = 0;
    for (let cp = p + 4; ; ) {
      if ((flags & 15) !== IPOPT_TS_TSONLY) {
        s += `\t${this.addr(d, cp)}`;
        cp += 4;
        i -= 4;
        if (i <= 0) break;
      }
      const l = readU32(d, cp);
      cp += 4;
      if (l >= 0x80000000) {
        const v = l - 0x80000000;
        s += nonstdtime === 0 ? `\t${v} absolute not-standard` : `\t${v - nonstdtime} not-standard`;
        nonstdtime = v;
      } else {
        s += stdtime === 0 ? `\t${l} absolute` : `\t${l - stdtime}`;
        stdtime = l;
      }
      i -= 4;
      s += '\n';
      if (i <= 0) break;
    }
    if (flags >> 4) s += `Unrecorded hops: ${flags >> 4}\n`;
    return s;
  }
}
