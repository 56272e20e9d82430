// IGMP as tcpdump 4.99 prints it (print-igmp.c, igmp_print): v1/v2/v3
// queries, v1/v2 reports, leaves, v3 reports with their group records (each
// record's sources from -vv, a query's sources from -vv), mtrace/mresp, and
// with -v the checksum verdict. Linux sends v3 reports when it joins groups
// and v2/v3 queries as a multicast router (a bridge's snooping querier).
//
// Reads follow tcpdump's: a GET_* past the captured bytes abandons the
// packet (runPrinter's PrintAbort: the caller prints " [|igmp]" and stops).
import { ipToString } from './addr.js';
import { onesSum } from './checksum.js';
import { GROUP_RECORD_TYPES } from './tcpdump-names.js';
import { Reader, relts, runPrinter } from './tcpdump-text.js';

/** struct tr_query after the 8-byte IGMP header: source, destination, response address, TTL and query id. */
const TR_QUERY_LEN = 16;

/**
 * igmp_print for the message at b[bp ..] of `len` bytes (the IP payload's),
 * `snapend` the end of what was captured, `v` the -v count, `q` tcpdump -q.
 * Returns the text; throws PrintAbort where tcpdump would longjmp.
 */
export function igmpText(b: Uint8Array, bp: number, len: number, snapend: number, v: number, q: boolean): string {
  return q ? 'igmp' : runPrinter(new Igmp(b, snapend, v), (d) => d.message(bp, len)).text;
}

class Igmp extends Reader {
  constructor(b: Uint8Array, snapend: number, private readonly v: number) {
    super(b, snapend);
  }

  private ip(p: number): string {
    return ipToString(this.u32(p));
  }

  message(bp: number, len: number): void {
    const type = this.u8(bp);
    switch (type) {
      case 0x11:
        this.p('igmp query');
        if (len >= 12) this.v3Query(bp, len);
        else {
          const mrt = this.u8(bp + 1);
          if (mrt) this.p(mrt !== 100 ? ` v2 [max resp time ${mrt}]` : ' v2');
          else this.p(' v1');
          if (this.u32(bp + 4)) this.p(` [gaddr ${this.ip(bp + 4)}]`);
          if (len !== 8) this.p(` [len ${len}]`);
        }
        break;
      case 0x12:
        this.p(`igmp v1 report ${this.ip(bp + 4)}`);
        if (len !== 8) this.p(` [len ${len}]`);
        break;
      case 0x16:
        this.p(`igmp v2 report ${this.ip(bp + 4)}`);
        break;
      case 0x22:
        this.p('igmp v3 report');
        this.v3Report(bp, len);
        break;
      case 0x17:
        this.p(`igmp leave ${this.ip(bp + 4)}`);
        break;
      case 0x1e:
        this.mtrace('mresp', bp, len);
        break;
      case 0x1f:
        this.mtrace('mtrace', bp, len);
        break;
      default:
        this.p(`igmp-${type}`);
    }
    if (this.v && len >= 4 && this.ttest(bp, len) && ~onesSum(this.b, bp, len) & 0xffff) this.p(` bad igmp cksum ${this.u16(bp + 2).toString(16)}!`);
  }

  /** print_igmpv3_query: the max response time (when not the default 10 s), the group and its sources. */
  private v3Query(bp: number, len: number): void {
    this.p(' v3');
    if (len < 12 || len & 3) return this.p(` [invalid len ${len}]`);
    const mrc = this.u8(bp + 1);
    const mrt = mrc < 128 ? mrc : ((mrc & 0x0f) | 0x10) << (((mrc & 0x70) >> 4) + 3);
    if (mrc !== 100) this.p(` [max resp time ${mrt < 600 ? `${(mrt * 0.1).toFixed(1)}s` : relts(Math.floor(mrt / 10))}]`);
    if (this.u32(bp + 4) === 0) return;
    this.p(` [gaddr ${this.ip(bp + 4)}`);
    const nsrcs = this.u16(bp + 10);
    if (nsrcs > 0) {
      if (len < 12 + nsrcs * 4) this.p(' [invalid number of sources]');
      else if (this.v > 1) {
        this.p(' {');
        for (let i = 0; i < nsrcs; i++) this.p(` ${this.ip(bp + 12 + i * 4)}`);
        this.p(' }');
      } else this.p(`, ${nsrcs} source(s)`);
    }
    this.p(']');
  }

  /** print_igmpv3_report: the record count; with -v each record (its sources from -vv). */
  private v3Report(bp: number, len: number): void {
    if (len < 16 || len & 3) return this.p(` [invalid len ${len}]`);
    const ngroups = this.u16(bp + 6);
    this.p(`, ${ngroups} group record(s)`);
    if (!this.v) return;
    for (let i = 0, group = 8; i < ngroups; i++) {
      if (len < group + 8) return this.p(' [invalid number of groups]');
      this.p(` [gaddr ${this.ip(bp + group + 4)}`);
      const rtype = this.u8(bp + group);
      this.p(` ${GROUP_RECORD_TYPES[rtype] ?? ` [v3-report-#${rtype}]`}`);
      const nsrcs = this.u16(bp + group + 2);
      if (len < group + 8 + nsrcs * 4) return this.p(` [invalid number of sources ${nsrcs}]`);
      if (this.v === 1) this.p(`, ${nsrcs} source(s)`);
      else {
        this.p(' {');
        for (let j = 0; j < nsrcs; j++) this.p(` ${this.ip(bp + group + 8 + j * 4)}`);
        this.p(' }');
      }
      group += 8 + nsrcs * 4;
      this.p(']');
    }
  }

  /** print_mtrace: a multicast traceroute query or response. */
  private mtrace(name: string, bp: number, len: number): void {
    if (len < 8 + TR_QUERY_LEN) return this.p(` [invalid len ${len}]`);
    const tr = bp + 8;
    const qid = (this.u8(tr + 13) << 16) | this.u16(tr + 14);
    this.p(`${name} ${qid}: ${this.ip(tr)} to ${this.ip(tr + 4)} reply-to ${this.ip(tr + 8)}`);
    if ((this.u32(tr + 8) & 0xf0000000) >>> 0 === 0xe0000000) this.p(` with-ttl ${this.u8(tr + 12)}`);
  }
}
