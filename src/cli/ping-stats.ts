// What ping counts and prints (iputils 20221126, ping_common.c and ping.c):
// the received table and the in-flight window (ping.h), gather_statistics'
// reply lines, pr_icmph's names for ICMP errors, and finish()'s statistics
// and exit status. Times are microseconds, as ping keeps them.
import { TIMEVAL_LEN } from '../netns/ping-socket.js';

const MAX_DUP_CHK = 0x10000;

/** pr_icmph: what ping says about an ICMP error (type, code, info), without the newline. */
export function icmpText(type: number, code: number, info: number): string {
  switch (type) {
    case 0:
      return 'Echo Reply';
    case 3:
      if (code === 4) return `Frag needed and DF set (mtu = ${info})`;
      return [
        'Destination Net Unreachable', 'Destination Host Unreachable', 'Destination Protocol Unreachable', 'Destination Port Unreachable', '',
        'Source Route Failed', 'Destination Net Unknown', 'Destination Host Unknown', 'Source Host Isolated', 'Destination Net Prohibited',
        'Destination Host Prohibited', 'Destination Net Unreachable for Type of Service', 'Destination Host Unreachable for Type of Service',
        'Packet filtered', 'Precedence Violation', 'Precedence Cutoff',
      ][code] ?? `Dest Unreachable, Bad Code: ${code}`;
    case 4:
      return 'Source Quench';
    case 11:
      return code === 0 ? 'Time to live exceeded' : code === 1 ? 'Frag reassembly time exceeded' : `Time exceeded, Bad Code: ${code}`;
    case 12:
      return `Parameter problem: pointer = ${info}`;
    default:
      return `Bad ICMP type: ${type}`;
  }
}

/** ping6_common.c's print_icmp (iputils 20221126: destination unreachable names codes 0-4 only): what ping -6 says about an ICMPv6 message. */
export function icmp6Text(type: number, code: number, info: number): string {
  switch (type) {
    case 1:
      return `Destination unreachable: ${['No route', 'Administratively prohibited', 'Beyond scope of source address', 'Address unreachable', 'Port unreachable'][code] ?? `Unknown code ${code}`}`;
    case 2:
      return `Packet too big: mtu=${info}${code ? `, code=${code}` : ''}`;
    case 3:
      return `Time exceeded: ${code === 0 ? 'Hop limit' : code === 1 ? 'Defragmentation failure' : `code ${code}`}`;
    case 4:
      return `Parameter problem: ${['Wrong header field ', 'Unknown header ', 'Unknown option '][code] ?? `code ${code} `}at ${info}`;
    case 128:
      return 'Echo request';
    case 129:
      return 'Echo reply';
    case 130:
      return 'MLD Query';
    case 131:
      return 'MLD Report';
    case 132:
      return 'MLD Reduction';
    default:
      return `unknown icmp type: ${type}`;
  }
}

/** gather_statistics' ` time=...`: three significant decimals at most, rounded as ping rounds. */
export function rttText(us: number): string {
  if (us >= 100000 - 50) return ` time=${Math.trunc((us + 500) / 1000)} ms`;
  if (us >= 10000 - 5) return ` time=${Math.trunc((us + 50) / 1000)}.${Math.trunc(((us + 50) % 1000) / 100)} ms`;
  if (us >= 1000) return ` time=${Math.trunc((us + 5) / 1000)}.${String(Math.trunc(((us + 5) % 1000) / 10)).padStart(2, '0')} ms`;
  return ` time=${Math.trunc(us / 1000)}.${String(us % 1000).padStart(3, '0')} ms`;
}

const ms3 = (us: number): string => `${Math.trunc(us / 1000)}.${String(Math.trunc(us % 1000)).padStart(3, '0')}`;

/** llsqrt: an integer square root by Newton's iteration, as ping takes it. */
function llsqrt(a: number): number {
  let prev = Number.MAX_SAFE_INTEGER, x = a;
  if (x > 0) {
    while (x < prev) {
      prev = x;
      x = Math.trunc((x + Math.trunc(a / x)) / 2);
    }
  }
  return x;
}

export class PingStats {
  ntransmitted = 0;
  nreceived = 0;
  nrepeats = 0;
  nchecksum = 0;
  nerrors = 0;
  tmin = Number.MAX_SAFE_INTEGER;
  tmax = 0;
  tsum = 0;
  tsum2 = 0;
  /** The smoothed RTT times 8 (ping's rtt). */
  rtt = 0;
  acked = 0;
  pipesize = 1;
  private readonly rcvd = new Uint8Array(MAX_DUP_CHK);

  constructor(
    readonly datalen: number,
    readonly timing = datalen >= TIMEVAL_LEN,
  ) {}

  /** advance_ntransmitted (with rcvd_clear of the new sequence number). */
  advance(): number {
    const seq = (this.ntransmitted + 1) & 0xffff;
    this.rcvd[seq] = 0;
    this.ntransmitted++;
    if (((this.ntransmitted - this.acked) & 0xffff) > 0x7fff) this.acked = (this.ntransmitted + 1) & 0xffff;
    return seq;
  }

  /** rcvd_test */
  received(seq: number): boolean {
    return this.rcvd[seq & 0xffff] !== 0;
  }

  inFlight(): number {
    const diff = (this.ntransmitted - this.acked) & 0xffff;
    return diff <= 0x7fff ? diff : this.ntransmitted - this.nreceived - this.nerrors;
  }

  acknowledge(seq: number): void {
    const diff = (this.ntransmitted - seq) & 0xffff;
    if (diff > 0x7fff) return;
    if (diff + 1 > this.pipesize) this.pipesize = diff + 1;
    const ahead = ((seq - this.acked) << 16) >> 16; // (int16_t)(seq - acked)
    if (ahead > 0 || ((this.ntransmitted - this.acked) & 0xffff) > 0x7fff) this.acked = seq;
  }

  /**
   * gather_statistics for a reply of `cc` ICMP bytes (`triptime` µs, or
   * null when not timed): the line ping prints (with -v's `ident`), or
   * null when it prints none (-q, -f).
   */
  gather(seq: number, ttl: number, cc: number, triptime: number | null, from: string, csfailed: boolean, quiet: boolean, ident: number | null = null): string | null {
    this.nreceived++;
    if (!csfailed) this.acknowledge(seq);
    let t = 0;
    if (this.timing && triptime !== null) {
      t = triptime < 0 ? 0 : triptime;
      if (!csfailed) {
        this.tsum += t;
        this.tsum2 += t * t;
        if (t < this.tmin) this.tmin = t;
        if (t > this.tmax) this.tmax = t;
        this.rtt = this.rtt === 0 ? t * 8 : this.rtt + t - Math.trunc(this.rtt / 8);
      }
    }
    let dup = false;
    if (csfailed) {
      this.nchecksum++;
      this.nreceived--;
    } else if (this.rcvd[seq]) {
      this.nrepeats++;
      this.nreceived--;
      dup = true;
    } else this.rcvd[seq] = 1;
    if (quiet) return null;
    let line = `${cc} bytes from ${from}: icmp_seq=${seq}${ident === null ? '' : ` ident=${ident}`} ttl=${ttl}`;
    if (cc < this.datalen + 8) return `${line} (truncated)`;
    if (this.timing) line += rttText(t);
    if (dup) line += ' (DUP!)';
    if (csfailed) line += ' (BAD CHECKSUM!)';
    return line;
  }

  /** An ICMP error about echo request `seq` (ping4_receive_error_msg; `v6`: ping6_receive_error_msg's ICMPv6 one, which acknowledges nothing: no pipe): the line, or null with -q. */
  error(seq: number, from: string, type: number, code: number, info: number, quiet: boolean, v6 = false): string | null {
    if (!v6) this.acknowledge(seq);
    this.nerrors++;
    return quiet ? null : `From ${from} icmp_seq=${seq} ${(v6 ? icmp6Text : icmpText)(type, code, info)}`;
  }

  /**
   * finish()'s text (from its leading newline) for `hostname`, `elapsedNs`
   * being the time from setup to the last send, and its exit status; `showIpg`:
   * the interval is 0, or ping floods or adapts it.
   */
  finish(hostname: string, elapsedNs: number, showIpg: boolean, deadline: number, npackets: number): { text: string; exit: number } {
    let text = `\n--- ${hostname} ping statistics ---\n${this.ntransmitted} packets transmitted, ${this.nreceived} received`;
    if (this.nrepeats) text += `, +${this.nrepeats} duplicates`;
    if (this.nchecksum) text += `, +${this.nchecksum} corrupted`;
    if (this.nerrors) text += `, +${this.nerrors} errors`;
    if (this.ntransmitted) {
      const loss = Math.fround(((this.ntransmitted - this.nreceived) * 100) / this.ntransmitted);
      text += `, ${formatG(loss)}% packet loss, time ${Math.trunc((elapsedNs + 500000) / 1000000)}ms`;
    }
    text += '\n';
    let comma = '';
    if (this.nreceived && this.timing) {
      const total = this.nreceived + this.nrepeats;
      const tmavg = Math.trunc(this.tsum / total);
      // tsum and tsum2 are doubles in ping, the variance a long long.
      const tmvar = Math.trunc(this.tsum < 2147483647 ? (this.tsum2 - (this.tsum * this.tsum) / total) / total : this.tsum2 / total - tmavg * tmavg);
      const tmdev = llsqrt(tmvar);
      text += `rtt min/avg/max/mdev = ${ms3(this.tmin)}/${ms3(tmavg)}/${ms3(this.tmax)}/${ms3(tmdev)} ms`;
      comma = ', ';
    }
    if (this.pipesize > 1) {
      text += `${comma}pipe ${this.pipesize}`;
      comma = ', ';
    }
    if (this.nreceived && showIpg && this.ntransmitted > 1) {
      const ipg = Math.trunc(Math.trunc(elapsedNs / 1000) / (this.ntransmitted - 1));
      text += `${comma}ipg/ewma ${ms3(ipg)}/${ms3(Math.trunc(this.rtt / 8))} ms`;
    }
    text += '\n';
    return { text, exit: !this.nreceived || (deadline && this.nreceived < npackets) ? 1 : 0 };
  }
}

/** printf's %g of a float (six significant digits, no trailing zeros). */
function formatG(x: number): string {
  if (x === 0) return '0';
  const exp = Math.floor(Math.log10(Math.abs(x)));
  if (exp < -4 || exp >= 6) return x.toExponential(5).replace(/\.?0+e/, 'e').replace(/e([+-])(\d)$/, 'e$10$2');
  return x.toFixed(Math.max(0, 5 - exp)).replace(/\.?0+$/, '');
}
