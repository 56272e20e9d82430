// NTP as tcpdump 4.99 prints it (print-ntp.c, ntp_print; ntp.c's
// p_ntp_time): version, mode and length; with -v the leap indicator and, for
// a time message, stratum, poll, precision, root delay and dispersion, the
// reference id as its stratum says, the four time stamps with their UTC
// dates, the originator's differences and a key id / digest trailer; for a
// control message (mode 6) its header fields.
//
// Reads follow tcpdump's: a GET_* past the captured bytes abandons the
// packet (runPrinter's PrintAbort: the caller prints " [|ntp]" and stops);
// tcpdump's own ND_TCHECKs print the same mark and return.
import { ipToString } from './addr.js';
import { Reader, runPrinter } from './tcpdump-text.js';
import { NTP_MODES } from './tcpdump-names.js';

/** A time message without extensions or MAC; a control message's header. */
const TIMEMSG_MINLEN = 48, CTRLMSG_MINLEN = 12;
const LEAP: Readonly<Record<number, string>> = { 0x00: '', 0x40: '+1s', 0x80: '-1s', 0xc0: 'clock unsynchronized' };
/** Seconds from 1900 (NTP's era 0) to 1970. */
const JAN_1970 = 2208988800;
const FMAXINT = 4294967296;

/**
 * ntp_print for the message at b[bp ..] of `length` bytes (the UDP
 * payload's), `snapend` the end of what was captured, `v` the -v count.
 * Returns the text; throws PrintAbort where tcpdump would longjmp.
 */
export function ntpText(b: Uint8Array, bp: number, length: number, snapend: number, v: number): string {
  return runPrinter(new Ntp(b, snapend), (d) => d.message(bp, length, v)).text;
}

/** A tcpdump ND_TCHECK that failed: print the mark and return (nd_print_trunc). */
class Trunc {}
const TRUNC = new Trunc();

class Ntp extends Reader {
  message(bp: number, length: number, v: number): void {
    const status = this.u8(bp);
    const mode = status & 7;
    this.p(`NTPv${(status >> 3) & 7}, ${NTP_MODES[mode]}, length ${length}`);
    if (!v) return;
    const leap = status & 0xc0;
    this.p(`\n\tLeap indicator: ${LEAP[leap]} (${leap})`);
    try {
      if (mode < 6) this.time(bp, length);
      else if (mode === 6) this.control(bp, length);
    } catch (e) {
      if (e !== TRUNC) throw e;
      this.p(' [|ntp]');
    }
  }

  private check(p: number, n: number): void {
    if (!this.ttest(p, n)) throw TRUNC;
  }
  /** nd_print_invalid, then ND_TCHECK_LEN of the whole message. */
  private invalid(bp: number, length: number): void {
    this.p(' (invalid)');
    this.check(bp, length);
  }

  /** ntp_time_print. */
  private time(bp: number, length: number): void {
    if (length < TIMEMSG_MINLEN) return this.invalid(bp, length);
    const stratum = this.u8(bp + 1);
    const kind = stratum === 0 ? 'unspecified' : stratum === 1 ? 'primary reference' : stratum <= 15 ? 'secondary reference' : 'reserved';
    this.p(`, Stratum ${stratum} (${kind})`);
    const poll = (this.u8(bp + 2) << 24) >> 24;
    this.p(`, poll ${poll}`);
    if (poll > -32 && poll < 32) this.p(poll >= 0 ? ` (${2 ** poll}s)` : ` (1/${2 ** -poll}s)`);
    this.p(`, precision ${(this.u8(bp + 3) << 24) >> 24}`);
    this.check(bp + 4, 4);
    this.p(`\n\tRoot Delay: ${this.sfix(bp + 4)}`);
    this.check(bp + 8, 4);
    this.p(`, Root dispersion: ${this.sfix(bp + 8)}`);
    this.check(bp + 12, 4);
    this.p(', Reference-ID: ');
    switch (stratum) {
      case 0:
        this.p('(unspec)');
        break;
      case 1:
        this.printn(bp + 12, 4);
        break;
      case 62:
        return this.p(`${ipToString(this.u32(bp + 12))} INFO_QUERY`);
      case 63:
        return this.p(`${ipToString(this.u32(bp + 12))} INFO_REPLY`);
      default:
        this.p(`0x${this.u32(bp + 12).toString(16).padStart(8, '0')}`);
    }
    const labels = ['Reference Timestamp:  ', 'Originator Timestamp: ', 'Receive Timestamp:    ', 'Transmit Timestamp:   '];
    for (let i = 0; i < 4; i++) {
      this.check(bp + 16 + i * 8, 8);
      this.p(`\n\t  ${labels[i]}${this.time64(bp + 16 + i * 8)}`);
    }
    this.p(`\n\t    Originator - Receive Timestamp:  ${this.delta(bp + 24, bp + 32)}`);
    this.p(`\n\t    Originator - Transmit Timestamp: ${this.delta(bp + 24, bp + 40)}`);
    // The key id and digest (tcpdump knows nothing of extension fields).
    const mac = bp + TIMEMSG_MINLEN;
    const words = (n: number): string => {
      this.check(mac + 4, n * 4);
      let s = '';
      for (let i = 0; i < n; i++) s += this.u32(mac + 4 + i * 4).toString(16).padStart(8, '0');
      return s;
    };
    if (length === TIMEMSG_MINLEN + 4) this.p(`\n\tKey id: ${this.u32(mac)}`);
    else if (length === TIMEMSG_MINLEN + 20 || length === TIMEMSG_MINLEN + 24) {
      this.p(`\n\tKey id: ${this.u32(mac)}`);
      this.p(`\n\tAuthentication: ${words((length - TIMEMSG_MINLEN - 4) / 4)}`);
    } else if (length > TIMEMSG_MINLEN) this.p(`\n\t(${length - TIMEMSG_MINLEN} more bytes after the header)`);
  }

  /** ntp_control_print: mode 6's header (its data is not decoded). */
  private control(bp: number, length: number): void {
    if (length < CTRLMSG_MINLEN) return this.invalid(bp, length);
    const c = this.u8(bp + 1);
    this.p(`, ${c & 0x80 ? 'Response' : 'Request'}, ${c & 0x40 ? 'Error' : 'OK'}, ${c & 0x20 ? 'More' : 'Last'}, OpCode=${c & 0x1f}\n`);
    this.p(`\tSequence=${this.u16(bp + 2)}`);
    const status = this.u16(bp + 4);
    this.p(`, Status=${status ? `0x${status.toString(16)}` : '0'}`); // %#hx
    this.p(`, Assoc.=${this.u16(bp + 6)}`);
    this.p(`, Offset=${this.u16(bp + 8)}`);
    const count = this.u16(bp + 10);
    this.p(`, Count=${count}`);
    if (CTRLMSG_MINLEN + count > length) return this.invalid(bp, length);
    if (count !== 0) {
      this.check(bp + CTRLMSG_MINLEN, count);
      this.p('\n\tTO-BE-DONE: data not interpreted');
    }
  }

  /** p_sfix: a 16.16 fixed-point number, the fraction in millionths. */
  private sfix(p: number): string {
    const i = this.u16(p);
    const f = Math.trunc((this.u16(p + 2) / 65536) * 1000000);
    return `${i}.${String(f).padStart(6, '0')}`;
  }

  /** p_ntp_time: a 32.32 time stamp, the fraction in billionths, then its UTC date when the seconds are not 0. */
  private time64(p: number): string {
    const i = this.u32(p);
    let s = `${i}.${nanos(this.u32(p + 4))}`;
    if (i) {
      const d = new Date((i - JAN_1970) * 1000);
      const two = (n: number): string => String(n).padStart(2, '0');
      s += ` (${d.getUTCFullYear()}-${two(d.getUTCMonth() + 1)}-${two(d.getUTCDate())}T${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())}Z)`;
    }
    return s;
  }

  /** p_ntp_delta: time stamp `lp` less the originator's `op`, signed (the time stamp itself when the originator's is 0). */
  private delta(op: number, lp: number): string {
    const u = this.u32(lp), ou = this.u32(op), uf = this.u32(lp + 4), ouf = this.u32(op + 4);
    if (ou === 0 && ouf === 0) return this.time64(lp);
    let neg: boolean, i: number, f: number;
    if (u !== ou) {
      neg = u < ou;
      i = neg ? ou - u : u - ou;
      f = (neg ? ouf - uf : uf - ouf) >>> 0;
      if (neg ? uf > ouf : ouf > uf) i = (i - 1) >>> 0; // borrow from the seconds
    } else {
      i = 0;
      neg = !(uf > ouf);
      f = neg ? ouf - uf : uf - ouf;
    }
    return `${neg ? '-' : '+'}${i}.${nanos(f)}`;
  }
}

/** A 32-bit binary fraction in billionths, nine digits (ff * 1000000000.0, truncated). */
function nanos(frac: number): string {
  return String(Math.trunc((frac / FMAXINT) * 1000000000)).padStart(9, '0');
}
