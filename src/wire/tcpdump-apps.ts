// The application printers the transport printers call: SSH's version line
// (print-ssh.c), HTTP's request and response lines (print-http.c with
// txtproto_print), and the DNS, BOOTP/DHCP and NTP printers of modules of
// their own (tcpdump-dns.ts, tcpdump-bootp.ts, tcpdump-ntp.ts) run on the
// Ndo's packet.
import { bootpText } from './tcpdump-bootp.js';
import { domainText } from './tcpdump-dns.js';
import { HTTP_METHODS } from './tcpdump-names.js';
import type { Ndo } from './tcpdump-netdissect.js';
import { ntpText } from './tcpdump-ntp.js';

const SSH_MAGIC = 'SSH-';

/** bootp_print (tcpdump-bootp.ts). */
export function bootpPrint(ndo: Ndo, bp: number, length: number): void {
  ndo.proto = 'bootp';
  ndo.embedded(() => bootpText(ndo.b, bp, length, ndo.snapend, ndo.v));
}

/** ntp_print (tcpdump-ntp.ts). */
export function ntpPrint(ndo: Ndo, bp: number, length: number): void {
  ndo.proto = 'ntp';
  ndo.embedded(() => ntpText(ndo.b, bp, length, ndo.snapend, ndo.v));
}

/** ssh_print: a version exchange line ("SSH-2.0-..."), whole in this segment, as ": SSH: <line>"; anything else prints nothing. */
export function sshPrint(ndo: Ndo, p: number, len: number): void {
  ndo.proto = 'ssh';
  for (let i = 0; i < 4; i++) if (ndo.u8(p + i) !== SSH_MAGIC.charCodeAt(i)) return;
  for (let idx = 4; idx < len; idx++) {
    const c = ndo.u8(p + idx);
    // Up to LF or CR-LF; a CR alone, a CR last, or a byte that is not printable: binary, not printed.
    if (c === 0x0a || (c === 0x0d && idx + 1 < len && ndo.u8(p + idx + 1) === 0x0a)) {
      ndo.p(`: SSH: ${String.fromCharCode(...ndo.b.subarray(p, p + idx))}`);
      return;
    }
    if (c < 0x20 || c > 0x7e) return;
  }
}

/** domain_print (tcpdump-dns.ts); a read past the capture abandons the packet there too. */
export function domainPrint(ndo: Ndo, bp: number, length: number, overTcp: boolean, mdns: boolean): void {
  ndo.proto = 'domain';
  ndo.embedded(() => domainText(ndo.b, bp, length, ndo.snapend, ndo.v, overTcp, mdns));
}

/** txtproto_print(..., "http", httpcmds, RESP_CODE_SECOND_TOKEN): the first line of a request or response; with -v, every line. */
export function httpPrint(ndo: Ndo, p: number, len: number): void {
  ndo.proto = 'http';
  const isPrint = (c: number): boolean => c >= 0x20 && c <= 0x7e;
  // fetch_token: the token and the index after it and its trailing blanks (0: none).
  const fetch = (idx: number): [string, number] => {
    let tok = '';
    for (; idx < len; idx++) {
      if (!ndo.ttest(p + idx, 1)) return ['', 0];
      const c = ndo.b[p + idx]!;
      if (c > 0x7f) return ['', 0];
      if (c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a) break;
      if (!isPrint(c)) return ['', 0];
      if (tok.length + 2 > 129) return ['', 0];
      tok += String.fromCharCode(c);
    }
    if (tok.length === 0) return ['', 0];
    for (; idx < len; idx++) {
      if (!ndo.ttest(p + idx, 1)) break;
      const c = ndo.b[p + idx]!;
      if (c === 0x0d || c === 0x0a || !isPrint(c)) break;
      if (c !== 0x20 && c !== 0x09) break;
    }
    return [tok, idx];
  };
  let show = false;
  let [tok, idx] = fetch(0);
  if (idx !== 0 && HTTP_METHODS.has(tok.toUpperCase())) show = true;
  [tok, idx] = fetch(idx);
  if (idx !== 0 && /^[0-9]{3}$/.test(tok)) show = true;
  ndo.p('HTTP');
  if (show && ndo.v) {
    ndo.p(`, length: ${len}`);
    for (let i = 0; i < len; ) {
      i = txtLine(ndo, '\n\t', p, i, len);
      if (i === 0) break;
    }
  } else if (show) txtLine(ndo, ': ', p, 0, len);
}

/** print_txt_line: the printable line at idx, CRLF or LF ending it; the index after it, 0 when it was not a whole line. */
function txtLine(ndo: Ndo, prefix: string, p: number, idx: number, len: number): number {
  const start = idx;
  let end = -1;
  while (idx < len) {
    const c = ndo.u8(p + idx);
    if (c === 0x0a) {
      end = idx++;
      break;
    }
    if (c === 0x0d) {
      if (idx + 1 >= len || ndo.u8(p + idx + 1) !== 0x0a) return 0;
      end = idx;
      idx += 2;
      break;
    }
    if ((c < 0x20 || c > 0x7e) && c !== 0x09) return 0;
    idx++;
  }
  let line = prefix;
  for (let k = start; k < (end < 0 ? idx : end); k++) line += String.fromCharCode(ndo.b[p + k]!);
  ndo.p(line);
  if (end >= 0) return idx;
  ndo.trunc(); // all printable but no line end: as if cut short
  return 0;
}
