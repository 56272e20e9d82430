// The packet's bytes as tcpdump dumps them (print-ascii.c): -X's hex and
// ASCII lines, -x's hex, -A's text, pretty_print_packet's choice of where the
// dump starts, the ND_DEFAULTPRINT of what no printer decodes, and
// print_unknown_data's hex lines inside a protocol's text.
import { hex2 } from './addr.js';
import { type Ndo, TRUNC } from './tcpdump-netdissect.js';
import { hex4 } from './tcpdump-text.js';

/** hex_and_ascii_print(ndo, "\n\t", p, length): 16 bytes a line, then the printable ones. */
export function hexdump(ndo: Ndo, p: number, length: number): void {
  const cap = ndo.avail(p);
  let truncated = false;
  if (length > cap) {
    length = cap;
    truncated = true;
  }
  let offset = 0;
  let hex = '';
  let asc = '';
  let i = 0;
  const graph = (c: number): string => (c >= 0x21 && c <= 0x7e ? String.fromCharCode(c) : '.');
  const flush = (): void => {
    ndo.out += `\n\t0x${hex4(offset)}: ${hex.padEnd(40)}  ${asc}`;
  };
  let nshorts = length >>> 1;
  let q = p;
  while (nshorts !== 0) {
    const s1 = ndo.b[q++]!;
    const s2 = ndo.b[q++]!;
    hex += ' ' + hex2(s1) + hex2(s2);
    asc += graph(s1) + graph(s2);
    i++;
    if (i >= 8) {
      flush();
      i = 0;
      hex = '';
      asc = '';
      offset += 16;
    }
    nshorts--;
  }
  if (length & 1) {
    const s1 = ndo.b[q++]!;
    hex += ' ' + hex2(s1);
    asc += graph(s1);
    i++;
  }
  if (i > 0) flush();
  if (truncated) throw TRUNC;
}

/**
 * pretty_print_packet's dump of the captured bytes: from the frame's start
 * (-xx, -XX, -AA) or past the link-layer header when anything follows it
 * (a frame too short for the header has none to dump).
 */
export function dumpBytes(ndo: Ndo, off: number, caplen: number): void {
  const d = ndo.dump!;
  ndo.snapend = off + caplen;
  const hdrlen = ndo.hdrEnd < 0 ? caplen : ndo.hdrEnd - off;
  const from = d.withLink ? off : off + hdrlen;
  if (!d.withLink && caplen <= hdrlen) return;
  const n = off + caplen - from;
  if (d.kind === 'X') hexdump(ndo, from, n);
  else if (d.kind === 'x') hexOnly(ndo, from, n);
  else asciiPrint(ndo, from, n);
}

/** ND_DEFAULTPRINT of what no printer decodes: not with -q, nor with -x/-X (their dump follows anyway); -A keeps it. */
export function defaultPrint(ndo: Ndo, p: number, caplen: number): void {
  // -x or -X: ndo_suppress_default_print.
  if (!ndo.quiet && !(ndo.dump !== undefined && ndo.dump.kind !== 'A')) hexdump(ndo, p, caplen);
}

/** hex_print_with_offset: 8 words a line, no ASCII. */
function hexOnly(ndo: Ndo, p: number, length: number): void {
  for (let i = 0; i < length; i++) {
    if (i % 16 === 0) ndo.out += `\n\t0x${hex4(i)}: `;
    ndo.out += i % 2 === 0 ? ` ${hex2(ndo.b[p + i]!)}` : hex2(ndo.b[p + i]!);
  }
}

/** ascii_print: printable bytes, tab, space and newline as they are, others as '.', a CR dropped before a newline. */
function asciiPrint(ndo: Ndo, p: number, length: number): void {
  let s = '\n';
  for (let i = 0; i < length; i++) {
    const c = ndo.b[p + i]!;
    if (c === 0x0d) {
      if (length - i - 1 > 1 && ndo.b[p + i + 1] !== 0x0a) s += '.';
    } else s += (c >= 0x21 && c <= 0x7e) || c === 0x09 || c === 0x20 || c === 0x0a ? String.fromCharCode(c) : '.';
  }
  ndo.out += s;
}

/** print_unknown_data: hex_print of what was captured, "0x0000: " and 8 groups of 2 bytes a line after `ident`, no ASCII. */
export function unknownData(ndo: Ndo, ident: string, p: number, length: number): void {
  if (p > ndo.snapend) {
    ndo.p(`${ident}Dissector error: print_unknown_data called with pointer past end of packet`);
    return;
  }
  length = Math.min(length, ndo.avail(p));
  let line = '';
  let i = 0;
  for (; i + 1 < length; i += 2) {
    if (i % 16 === 0) line += `${ident}0x${hex4(i)}: `;
    line += ` ${hex2(ndo.u8(p + i))}${hex2(ndo.u8(p + i + 1))}`;
  }
  if (i < length) {
    if (i % 16 === 0) line += `${ident}0x${hex4(i)}: `;
    line += ` ${hex2(ndo.u8(p + i))}`;
  }
  ndo.p(line);
}
