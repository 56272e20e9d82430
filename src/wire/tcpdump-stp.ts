// Spanning tree BPDUs as tcpdump 4.99 prints them (print-stp.c,
// stp_print): 802.1D configuration and topology change BPDUs (what a Linux
// bridge with stp_state 1 sends), 802.1w RSTP, 802.1s MSTP with its MSTIs
// and 802.1aq SPB; with -v the timers, root and the MSTP/SPB fields.
//
// Reads follow tcpdump's: a GET_* past the captured bytes abandons the
// packet (runPrinter's PrintAbort: the caller prints " [|stp]" and stops).
import { hex2 } from './addr.js';
import { bitNames, printChar, Reader, runPrinter } from './tcpdump-text.js';

const PROTO_NAMES: Readonly<Record<number, string>> = { 0: '802.1d', 2: '802.1w', 3: '802.1s', 4: '802.1aq' };
const TYPE_NAMES: Readonly<Record<number, string>> = { 0x00: 'Config', 0x02: 'Rapid STP', 0x80: 'Topology Change' };
const FLAGS: readonly [number, string][] = [[0x01, 'Topology change'], [0x02, 'Proposal'], [0x10, 'Learn'], [0x20, 'Forward'], [0x40, 'Agreement'], [0x80, 'Topology change ACK']];
const ROLES = ['Unknown', 'Alternate', 'Root', 'Designated'];
/** struct stp_bpdu_ (up to the version 1 length); the least MSTP BPDU; SPB's part. */
const BPDU_LEN = 36, MSTP_MIN_LEN = 102, SPB_MIN_LEN = 87;
const MST_VER3_LEN = 36, MST_MSTI = 102, MST_CONFIG_INFO_LEN = 64, MSTI_LEN = 16;

/**
 * stp_print for the BPDU at b[p ..] of `length` bytes, `snapend` the end
 * of what was captured, `v` the -v count. Throws PrintAbort where tcpdump
 * would longjmp.
 */
export function stpText(b: Uint8Array, p: number, length: number, snapend: number, v: number): string {
  return runPrinter(new Stp(b, snapend, v), (d) => d.bpdu(p, length)).text;
}

const role = (f: number): string => ROLES[(f & 0x0c) >> 2]!;
/** STP times are 1/256 s: "%.2f" of the exact value, ties to even as glibc rounds them. */
function secs(t: number): string {
  const n = t * 25; // hundredths are t * 100 / 256 = t * 25 / 64
  let q = Math.floor(n / 64);
  const r = n % 64;
  if (r > 32 || (r === 32 && q & 1)) q++;
  return `${Math.floor(q / 100)}.${String(q % 100).padStart(2, '0')}`;
}

class Stp extends Reader {
  constructor(b: Uint8Array, snapend: number, private readonly v: number) {
    super(b, snapend);
  }

  private bridgeId(p: number): string {
    let s = '';
    for (let i = 0; i < 8; i++) s += (i === 2 ? '.' : i > 2 ? ':' : '') + hex2(this.u8(p + i));
    return s;
  }
  private hex32(p: number): string {
    return this.u32(p).toString(16).padStart(8, '0');
  }
  /** nd_printjnp: at most n characters, up to a NUL. */
  private printjnp(p: number, n: number): void {
    for (let i = 0; i < n; i++) {
      const c = this.u8(p + i);
      if (c === 0) break;
      this.p(printChar(c));
    }
  }
  private timers(p: number): string {
    return `\n\tmessage-age ${secs(this.u16(p + 27))}s, max-age ${secs(this.u16(p + 29))}s, hello-time ${secs(this.u16(p + 31))}s, forwarding-delay ${secs(this.u16(p + 33))}s`;
  }

  bpdu(p: number, length: number): void {
    if (length < 4) return this.p(' (invalid)');
    if (this.u16(p)) return this.p(`unknown STP version, length ${length}`);
    const version = this.u8(p + 2);
    this.p(`STP ${PROTO_NAMES[version] ?? `Unknown STP protocol (0x${hex2(version)})`}`);
    if (!PROTO_NAMES[version]) return;
    const type = this.u8(p + 3);
    this.p(`, ${TYPE_NAMES[type] ?? `Unknown BPDU Type (0x${hex2(type)})`}`);
    if (type === 0x00) {
      if (length < BPDU_LEN - 1) return this.p(' (invalid)');
      this.config(p, length);
    } else if (type === 0x02) {
      if (version === 2) {
        if (length < BPDU_LEN) return this.p(' (invalid)');
        this.config(p, length);
      } else if (version === 3 || version === 4) {
        if (length < MSTP_MIN_LEN || this.u8(p + 35) !== 0) return this.p(' (invalid)');
        const mstpLen = this.u16(p + MST_VER3_LEN) + 2;
        if (length < BPDU_LEN + mstpLen) return this.p(' (invalid)');
        this.mstp(p, length);
        if (version === 4) {
          const spbLen = this.u16(p + MST_VER3_LEN + mstpLen) + 2;
          if (length < BPDU_LEN + mstpLen + spbLen || spbLen < SPB_MIN_LEN) return this.p(' (invalid)');
          this.spb(p, BPDU_LEN + mstpLen);
        }
      }
    }
  }

  /** stp_print_config_bpdu (802.1D and RSTP). */
  private config(p: number, length: number): void {
    const flags = this.u8(p + 4);
    this.p(`, Flags [${bitNames(FLAGS, flags)}]`);
    this.p(`, bridge-id ${this.bridgeId(p + 17)}.${this.u16(p + 25).toString(16).padStart(4, '0')}, length ${length}`);
    if (!this.v) return;
    this.p(this.timers(p));
    this.p(`\n\troot-id ${this.bridgeId(p + 5)}, root-pathcost ${this.u32(p + 13)}`);
    if (this.u8(p + 2) === 2) this.p(`, port-role ${role(flags)}`);
  }

  /** stp_print_mstp_bpdu: the CIST and each MSTI. */
  private mstp(p: number, length: number): void {
    const flags = this.u8(p + 4);
    this.p(`, CIST Flags [${bitNames(FLAGS, flags)}], length ${length}`);
    if (!this.v) return;
    this.p(`\n\tport-role ${role(flags)}, `);
    this.p(`CIST root-id ${this.bridgeId(p + 5)}, CIST ext-pathcost ${this.u32(p + 13)}`);
    this.p(`\n\tCIST regional-root-id ${this.bridgeId(p + 17)}, `);
    this.p(`CIST port-id ${this.u16(p + 25).toString(16).padStart(4, '0')},`);
    this.p(this.timers(p));
    this.p(`\n\tv3len ${this.u16(p + MST_VER3_LEN)}, `);
    this.p('MCID Name ');
    this.printjnp(p + 39, 32);
    this.p(`, rev ${this.u16(p + 71)},\n\t\tdigest ${this.hex32(p + 73)}${this.hex32(p + 77)}${this.hex32(p + 81)}${this.hex32(p + 85)}, `);
    this.p(`CIST int-root-pathcost ${this.u32(p + 89)},`);
    this.p(`\n\tCIST bridge-id ${this.bridgeId(p + 93)}, `);
    this.p(`CIST remaining-hops ${this.u8(p + 101)}`);
    const v3len = this.u16(p + MST_VER3_LEN);
    if (v3len <= MST_CONFIG_INFO_LEN) return;
    for (let len = v3len - MST_CONFIG_INFO_LEN, off = MST_MSTI; len >= MSTI_LEN; len -= MSTI_LEN, off += MSTI_LEN) {
      const msti = this.u16(p + off + 1) & 0x0fff;
      const f = this.u8(p + off);
      this.p(`\n\tMSTI ${msti}, Flags [${bitNames(FLAGS, f)}], port-role ${role(f)}`);
      this.p(`\n\t\tMSTI regional-root-id ${this.bridgeId(p + off + 1)}, pathcost ${this.u32(p + off + 9)}`);
      this.p(`\n\t\tMSTI bridge-prio ${this.u8(p + off + 13) >> 4}, port-prio ${this.u8(p + off + 14) >> 4}, hops ${this.u8(p + off + 15)}`);
    }
  }

  /** stp_print_spb_bpdu: SPB's part after the MSTP one, at p + off. */
  private spb(p: number, off: number): void {
    if (!this.v) return;
    const q = p + off;
    this.p(`\n\tv4len ${this.u16(q)}, `);
    this.p('AUXMCID Name ');
    this.printjnp(q + 3, 32);
    this.p(`, Rev ${this.u16(q + 35)},\n\t\tdigest ${this.hex32(q + 37)}${this.hex32(q + 41)}${this.hex32(q + 45)}${this.hex32(q + 49)}`);
    const a = this.u8(q + 53), fmt = this.u8(q + 55), con = this.u8(q + 56);
    this.p(
      `\n\tAgreement num ${a >> 6}, Discarded Agreement num ${(a >> 4) & 3}, Agreement valid-flag ${(a >> 3) & 1},\n\tRestricted role-flag: ${(a >> 2) & 1}, ` +
        `Format id ${fmt >> 4} cap ${fmt}, Convention id ${con >> 4} cap ${con},\n\tEdge count ${this.u16(q + 57)}, ` +
        `Agreement digest ${this.hex32(q + 67)}${this.hex32(q + 71)}${this.hex32(q + 75)}${this.hex32(q + 79)}${this.hex32(q + 83)}`,
    );
  }
}
