// Field values as text, the way OVS's mf_parse / mf_format read and write
// them (lib/meta-flow.c), plus the number formats ds_put_hex and "%#x" give.
import { fieldBytes, ones, type FieldDef } from './fields.js';
import { formatPort, parsePort, type PortNamer, type PortResolver } from './port-names.js';
import { parseIpv6 } from '../wire/addr.js';
import { ip6ToString } from '../wire/tcpdump-text.js';

/** A value error; the caller attaches the column. */
export class ValueError extends Error {}

/** parse_int_string + strtoull(base 0): 0x hex of any length, leading-0 octal, else decimal. */
export function parseIntString(s: string, nBytes: number, what: string): bigint {
  let v: bigint;
  if (/^0[xX][0-9a-fA-F]+$/.test(s)) v = BigInt('0x' + s.slice(2));
  else if (/^0[0-7]+$/.test(s)) v = BigInt('0o' + s.slice(1));
  else if (/^[0-9]+$/.test(s)) v = BigInt(s);
  else throw new ValueError(`${s}: bad syntax for ${what}`);
  if (v > ones(nBytes * 8)) throw new ValueError(`${s}: value too large for ${nBytes}-byte field ${what}`);
  return v;
}

/**
 * ip_parse's IP_SCAN_FMT: four `%hhu` separated by dots, nothing after. scanf
 * takes a sign and leading blanks, reads decimal (leading zeros too) and
 * keeps the low 8 bits: 1.2.3.400 is 1.2.3.144, -1 is 255.
 */
export function scanIpv4(s: string): number | undefined {
  const m = /^\s*([+-]?\d+)\.\s*([+-]?\d+)\.\s*([+-]?\d+)\.\s*([+-]?\d+)$/.exec(s);
  if (!m) return undefined;
  const octet = (t: string): number => {
    const n = BigInt(t);
    // strtoul: an overflow reads as ULONG_MAX (low byte 255), a negative number wraps.
    const u = n < 0n ? (n >= -(2n ** 64n) + 1n ? 2n ** 64n + n : 2n ** 64n - 1n) : n > 2n ** 64n - 1n ? 2n ** 64n - 1n : n;
    return Number(u & 0xffn);
  };
  return ((octet(m[1]!) << 24) | (octet(m[2]!) << 16) | (octet(m[3]!) << 8) | octet(m[4]!)) >>> 0;
}

/** A 48-bit MAC (1 or 2 hex digits per group) as a number. */
export function parseMac(s: string): number | undefined {
  const m = /^([0-9a-fA-F]{1,2}):([0-9a-fA-F]{1,2}):([0-9a-fA-F]{1,2}):([0-9a-fA-F]{1,2}):([0-9a-fA-F]{1,2}):([0-9a-fA-F]{1,2})$/.exec(s);
  if (!m) return undefined;
  let v = 0;
  for (let i = 1; i <= 6; i++) v = v * 256 + parseInt(m[i]!, 16);
  return v;
}

export function formatMac(v: number | bigint): string {
  let n = BigInt(v);
  const parts: string[] = [];
  for (let i = 0; i < 6; i++) {
    parts.unshift((n & 0xffn).toString(16).padStart(2, '0'));
    n >>= 8n;
  }
  return parts.join(':');
}

export function parseIpv4(s: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return undefined;
  let v = 0;
  for (let i = 1; i <= 4; i++) {
    const b = Number(m[i]);
    if (b > 255) return undefined;
    v = v * 256 + b;
  }
  return v;
}

export function formatIpv4(v: number | bigint): string {
  const n = Number(BigInt(v) & 0xffffffffn);
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

/** ip_format_masked: the address, then /N for a CIDR mask or /a.b.c.d otherwise. */
export function formatIpv4Masked(v: number, mask: number): string {
  if (mask >>> 0 === 0xffffffff) return formatIpv4(v);
  const inv = ~mask >>> 0;
  const cidr = (inv & (inv + 1)) === 0; // mask is 1s then 0s
  if (cidr) return `${formatIpv4(v)}/${Math.clz32(inv)}`;
  return `${formatIpv4(v)}/${formatIpv4(mask)}`;
}

/** A 128-bit address as a bigint, from inet_pton's text (IPV6_SCAN_FMT's characters only), or undefined. */
function scanIpv6(s: string): bigint | undefined {
  if (s.length > 46 || !/^[0-9a-fA-F:.]+$/.test(s)) return undefined;
  const b = parseIpv6(s);
  if (!b) return undefined;
  let v = 0n;
  for (const x of b) v = (v << 8n) | BigInt(x);
  return v;
}

/** A /N mask of 128 bits. */
function ipv6Prefix(n: number): bigint {
  return ones(128) ^ ones(128 - n);
}

/**
 * ipv6_parse_masked: ADDR, ADDR/N (a sign allowed, as %d reads it) or
 * ADDR/MASK-ADDR, a mask that begins with a digit read as N (`::1/3fe5::`
 * is refused, `::1/fe5::` a mask); the value comes back masked.
 */
export function parseIpv6Masked(s: string): FieldValue {
  const [a, m] = splitMask(s);
  const v = scanIpv6(a);
  if (v === undefined) throw new ValueError(`${s}: invalid IPv6 address`);
  let mk = ones(128);
  if (m !== undefined) {
    // "/%d" first: a mask that starts with a number is a prefix length, whatever follows it.
    const num = /^[+-]?\d+/.exec(m);
    if (num) {
      const n = Number(num[0]);
      if (n < 0 || n > 128) throw new ValueError(`${s}: IPv6 network prefix bits not between 0 and 128, inclusive`);
      if (num[0].length !== m.length) throw new ValueError(`${s}: invalid IPv6 address`);
      mk = ipv6Prefix(n);
    } else {
      const mm = scanIpv6(m);
      if (mm === undefined) throw new ValueError(`${s}: invalid IPv6 address`);
      mk = mm;
    }
  }
  return { value: v & mk, mask: mk };
}

/** inet_ntop's text of a 128-bit value. */
export function formatIpv6(v: bigint): string {
  const b = new Uint8Array(16);
  for (let i = 15; i >= 0; i--, v >>= 8n) b[i] = Number(v & 0xffn);
  return ip6ToString(b, 0);
}

/** ipv6_format_masked: the address, then /N for a CIDR mask or /MASK otherwise. */
export function formatIpv6Masked(v: bigint, mask: bigint): string {
  if (mask === ones(128)) return formatIpv6(v);
  const inv = ones(128) ^ mask;
  // A CIDR mask's complement is all ones, as many as the host bits.
  if ((inv & (inv + 1n)) === 0n) return `${formatIpv6(v)}/${128 - inv.toString(2).length}`;
  return `${formatIpv6(v)}/${formatIpv6(mask)}`;
}

/** eth_format_masked. */
export function formatMacMasked(v: bigint, mask: bigint): string {
  return mask === ones(48) ? formatMac(v) : `${formatMac(v)}/${formatMac(mask)}`;
}

/** ds_put_hex: "0" for zero, else 0x and the hex digits without leading zeros. */
export function hex(v: bigint | number): string {
  const n = BigInt(v);
  return n === 0n ? '0' : '0x' + n.toString(16);
}

const FRAG: Record<string, [number, number]> = {
  no: [0, 3],
  first: [1, 3],
  later: [3, 3],
  yes: [1, 1],
  not_later: [0, 2],
};

export interface FieldValue {
  value: bigint; // right-aligned in the field, already masked
  mask: bigint; // all ones when no mask was given
}

/**
 * mf_parse: a field's value[/mask] in its own syntax. `resolve` names ports.
 * Values that do not fit the field's bit width are rejected (OVS checks only
 * the byte width for matches; a silently truncated VLAN id helps nobody).
 */
export function parseFieldValue(f: FieldDef, s: string, resolve?: PortResolver): FieldValue {
  const full = ones(f.nBits);
  switch (f.format) {
    case 'port': {
      const p = parsePort(s, resolve);
      // mf_from_ofp_port_string (16-bit in_port) and mf_from_ofp_port_string32 (in_port_oxm) word it apart.
      if (p === undefined) throw new ValueError(`${s}: ${f.nBits === 16 ? 'invalid or unknown port' : 'port value out of range'} for ${f.name}`);
      return { value: BigInt(p), mask: full };
    }
    case 'mac': {
      const [a, m] = splitMask(s);
      const v = parseMac(a);
      const mk = m === undefined ? ones(48) : parseMac(m);
      if (v === undefined || mk === undefined) throw new ValueError(`${s}: invalid Ethernet address`);
      if (m !== undefined && !f.maskable) throw new ValueError(`${s}: invalid mask for field ${f.name}`);
      return { value: BigInt(v) & BigInt(mk), mask: BigInt(mk) };
    }
    case 'ipv4': {
      const [a, m] = splitMask(s);
      const v = scanIpv4(a);
      if (v === undefined) throw new ValueError(`${s}: invalid IP address`);
      let mk = 0xffffffff;
      if (m !== undefined) {
        if (/^\d+$/.test(m)) {
          const n = Number(m);
          if (n > 32) throw new ValueError(`${s}: network prefix bits not between 0 and 32`);
          mk = n === 0 ? 0 : (0xffffffff << (32 - n)) >>> 0;
        } else {
          const mm = scanIpv4(m);
          if (mm === undefined) throw new ValueError(`${s}: invalid IP address`);
          mk = mm;
        }
        if (!f.maskable) throw new ValueError(`${s}: invalid mask for field ${f.name}`);
      }
      return { value: BigInt((v & mk) >>> 0), mask: BigInt(mk >>> 0) };
    }
    case 'ipv6':
      return parseIpv6Masked(s);
    case 'frag': {
      const fr = FRAG[s];
      // OVS's words, its missing ')' included (mf_from_frag_string).
      if (!fr) throw new ValueError(`${s}: unknown fragment type (valid types are "no", "yes", "first", "later", "not_later"`);
      return { value: BigInt(fr[0]), mask: BigInt(fr[1]) };
    }
    case 'dec':
    case 'hex': {
      const [a, m] = splitMask(s);
      const nBytes = fieldBytes(f);
      const v = parseIntString(a, nBytes, f.name);
      // dl_vlan=0xffff ("no tag") is the one value wider than its field.
      const fullMask = f.name === 'dl_vlan' ? 0xffffn : full;
      const mk = m === undefined ? fullMask : parseIntString(m, nBytes, f.name);
      if (m !== undefined && !f.maskable && mk !== full && mk !== 0n) throw new ValueError(`${s}: invalid mask for field ${f.name}`);
      // OpenFlow 1.0's dl_vlan and dl_vlan_pcp keep their low bits (flow_set_dl_vlan, flow_set_vlan_pcp): dl_vlan=5000 is 904.
      if (f.name === 'dl_vlan' || f.name === 'dl_vlan_pcp') return { value: v === 0xffffn && f.name === 'dl_vlan' ? v : v & full, mask: mk & fullMask };
      if (v > full) throw new ValueError(`${a}: value too large for ${f.nBits}-bit field ${f.name}`);
      return { value: v & mk, mask: mk & fullMask };
    }
  }
}

function splitMask(s: string): [string, string | undefined] {
  const i = s.indexOf('/');
  return i < 0 ? [s, undefined] : [s.slice(0, i), s.slice(i + 1)];
}

/** mf_format: value, and /mask unless the mask is all ones (or "ANY" if all zeros). */
export function formatFieldValue(f: FieldDef, value: bigint, mask: bigint | undefined, namer?: PortNamer): string {
  const full = ones(f.nBits);
  if (mask !== undefined) {
    if (mask === 0n) return 'ANY';
    if (mask === full) mask = undefined;
  }
  switch (f.format) {
    case 'port':
      if (mask === undefined) return formatPort(Number(value), namer);
      return `${value}/${hex(mask)}`;
    case 'mac':
      return mask === undefined ? formatMac(value) : `${formatMac(value)}/${formatMac(mask)}`;
    case 'ipv4':
      return formatIpv4Masked(Number(value), mask === undefined ? 0xffffffff : Number(mask));
    case 'ipv6':
      return formatIpv6Masked(value, mask ?? full);
    case 'frag':
      return formatFrag(Number(value), mask === undefined ? 3 : Number(mask));
    case 'dec':
      return mask === undefined ? value.toString() : `${value}/${hex(mask)}`;
    case 'hex':
      return mask === undefined ? hex(value) : `${hex(value)}/${hex(mask)}`;
  }
}

function formatFrag(v: number, m: number): string {
  for (const [name, [fv, fm]] of Object.entries(FRAG)) if (fv === (v & m) && fm === m) return name;
  return `${hex(v)}/${hex(m)}`;
}
