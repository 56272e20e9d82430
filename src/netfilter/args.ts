// Shared option-argument helpers for match and target parsers.

import { NfOptionError } from './errors.js';

/** The view a match or target parser has of the command line. */
export interface ArgReader {
  /** Consumes the option's next argument; fails when there is none. */
  arg(): string;
  /** The next token, not consumed (undefined at the end). */
  peek(): string | undefined;
  /** Index of the option token being parsed (for error positions). */
  readonly optIndex: number;
  /** Index of the last consumed token. */
  readonly index: number;
}

export function fail(message: string, tokenIndex: number): never {
  throw new NfOptionError(message, tokenIndex);
}

/** A few /etc/services names iptables users write instead of numbers. */
const SERVICES: Record<string, number> = {
  ftp: 21, ssh: 22, telnet: 23, smtp: 25, domain: 53, bootps: 67, bootpc: 68, tftp: 69,
  http: 80, www: 80, pop3: 110, ntp: 123, imap: 143, snmp: 161, bgp: 179, https: 443,
  syslog: 514, openvpn: 1194, vxlan: 4789, 'http-alt': 8080,
};

/** A port number or service name; -1 when invalid. */
export function parsePort(text: string): number {
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    return n <= 65535 ? n : -1;
  }
  return SERVICES[text] ?? -1;
}

/** `port`, `a:b`, `:b`, `a:` as the tcp/udp matches take them. */
export function parsePortRange(text: string, r: ArgReader): [number, number] {
  const colon = text.indexOf(':');
  if (colon < 0) {
    const p = parsePort(text);
    if (p < 0) fail(`invalid port/service '${text}' specified`, r.index);
    return [p, p];
  }
  const a = colon === 0 ? 0 : parsePort(text.slice(0, colon));
  const b = colon === text.length - 1 ? 65535 : parsePort(text.slice(colon + 1));
  if (a < 0 || b < 0) fail(`invalid port/service '${text}' specified`, r.index);
  if (a > b) fail(`invalid portrange (min > max) '${text}'`, r.index);
  return [a, b];
}

/** An unsigned 32-bit number in decimal, hex (0x) or octal (0) as strtoul reads it; -1 when invalid. */
export function parseU32(text: string): number {
  let n: number;
  if (/^0x[0-9a-f]+$/i.test(text)) n = parseInt(text.slice(2), 16);
  else if (/^0[0-7]*$/.test(text)) n = parseInt(text, 8);
  else if (/^[1-9]\d*$/.test(text)) n = Number(text);
  else return -1;
  return n <= 0xffffffff ? n : -1;
}

/** `value[/mask]` (XTTYPE_MARKMASK32); mask defaults to all ones. */
export function parseMarkMask(text: string, r: ArgReader): [number, number] {
  const slash = text.indexOf('/');
  const v = parseU32(slash < 0 ? text : text.slice(0, slash));
  const m = slash < 0 ? 0xffffffff : parseU32(text.slice(slash + 1));
  if (v < 0 || m < 0) fail(`bad mark value '${text}'`, r.index);
  return [v, m];
}

export function hex(n: number): string {
  return '0x' + (n >>> 0).toString(16);
}

/** " 0xV/0xM", or " 0xV" when the mask is all ones (xtables_print_mark_mask). */
export function printMarkMask(mark: number, mask: number): string {
  return (mask >>> 0) === 0xffffffff ? ` ${hex(mark)}` : ` ${hex(mark)}/${hex(mask)}`;
}

/** xtables_save_string: bare when it is only [_-0-9A-Za-z], else double-quoted with escapes. */
export function saveString(s: string): string {
  if (/^[-_0-9A-Za-z]+$/.test(s)) return s;
  return '"' + s.replace(/["\\']/g, (c) => '\\' + c) + '"';
}
