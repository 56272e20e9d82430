// The number <-> name tables iproute2 uses (rt_names.c and the stock files
// under /etc/iproute2), and the kernel constants behind them.

export const RT_TABLE_UNSPEC = 0;
export const RT_TABLE_DEFAULT = 253;
export const RT_TABLE_MAIN = 254;
export const RT_TABLE_LOCAL = 255;
export const RT_TABLE_MAX = 0xffff_ffff;

export const RT_SCOPE_UNIVERSE = 0;
export const RT_SCOPE_SITE = 200;
export const RT_SCOPE_LINK = 253;
export const RT_SCOPE_HOST = 254;
export const RT_SCOPE_NOWHERE = 255;

export const RTPROT_UNSPEC = 0;
export const RTPROT_REDIRECT = 1;
export const RTPROT_KERNEL = 2;
export const RTPROT_BOOT = 3;
export const RTPROT_STATIC = 4;

/** Route types (RTN_*), named as `ip route` prints them. */
export type RouteType =
  | 'unicast'
  | 'local'
  | 'broadcast'
  | 'anycast'
  | 'multicast'
  | 'blackhole'
  | 'unreachable'
  | 'prohibit'
  | 'throw'
  | 'nat';

export const ROUTE_TYPES: readonly RouteType[] = [
  'unicast', 'local', 'broadcast', 'anycast', 'multicast', 'blackhole', 'unreachable', 'prohibit', 'throw', 'nat',
];

/** rtnl_rtntype_a2n: names and the one alias iproute2 accepts. */
export function routeTypeFromName(s: string): RouteType | undefined {
  if (s === 'brd') return 'broadcast';
  return (ROUTE_TYPES as readonly string[]).includes(s) ? (s as RouteType) : undefined;
}

const TABLE_NAMES: Record<number, string> = {
  [RT_TABLE_UNSPEC]: 'unspec',
  [RT_TABLE_DEFAULT]: 'default',
  [RT_TABLE_MAIN]: 'main',
  [RT_TABLE_LOCAL]: 'local',
};

export function tableName(id: number): string {
  return TABLE_NAMES[id] ?? String(id);
}

/** rtnl_rttable_a2n: a name from rt_tables or a decimal/hex u32. */
export function tableFromName(s: string): number | undefined {
  for (const [k, v] of Object.entries(TABLE_NAMES)) if (v === s) return Number(k);
  return parseU32(s);
}

const PROTO_NAMES: Record<number, string> = {
  0: 'unspec', 1: 'redirect', 2: 'kernel', 3: 'boot', 4: 'static', 8: 'gated', 9: 'ra', 10: 'mrt',
  11: 'zebra', 12: 'bird', 13: 'dnrouted', 14: 'xorp', 15: 'ntk', 16: 'dhcp', 18: 'keepalived',
  42: 'babel', 99: 'openr', 186: 'bgp', 187: 'isis', 188: 'ospf', 189: 'rip', 192: 'eigrp',
};

export function protoName(p: number): string {
  return PROTO_NAMES[p] ?? String(p);
}

export function protoFromName(s: string): number | undefined {
  for (const [k, v] of Object.entries(PROTO_NAMES)) if (v === s) return Number(k);
  const n = parseU32(s);
  return n !== undefined && n <= 255 ? n : undefined;
}

export function scopeName(s: number): string {
  switch (s) {
    case RT_SCOPE_UNIVERSE: return 'global';
    case RT_SCOPE_SITE: return 'site';
    case RT_SCOPE_LINK: return 'link';
    case RT_SCOPE_HOST: return 'host';
    case RT_SCOPE_NOWHERE: return 'nowhere';
    default: return String(s);
  }
}

export function scopeFromName(s: string): number | undefined {
  switch (s) {
    case 'global': case 'universe': return RT_SCOPE_UNIVERSE;
    case 'site': return RT_SCOPE_SITE;
    case 'link': return RT_SCOPE_LINK;
    case 'host': return RT_SCOPE_HOST;
    case 'nowhere': return RT_SCOPE_NOWHERE;
  }
  const n = parseU32(s);
  return n !== undefined && n <= 255 ? n : undefined;
}

/** rtnl_dsfield_n2a: a DSCP class of rt_dsfield by its name, else hex. */
export function dsfieldName(t: number): string {
  return RT_DSFIELD.get(t) ?? `0x${t.toString(16).padStart(2, '0')}`;
}

const DSFIELD_NAMES: Record<string, number> = {
  default: 0x00, lowdelay: 0x10, throughput: 0x08, reliability: 0x04, mincost: 0x02,
};

/** iproute2 6.1's /etc/iproute2/rt_dsfield: the DSCP classes' names (rtnl_dsfield_n2a, rtnl_dsfield_a2n). */
const RT_DSFIELD = new Map<number, string>([
  [0x28, 'AF11'], [0x30, 'AF12'], [0x38, 'AF13'], [0x48, 'AF21'], [0x50, 'AF22'], [0x58, 'AF23'], [0x68, 'AF31'], [0x70, 'AF32'], [0x78, 'AF33'],
  [0x88, 'AF41'], [0x90, 'AF42'], [0x98, 'AF43'], [0x20, 'CS1'], [0x40, 'CS2'], [0x60, 'CS3'], [0x80, 'CS4'], [0xa0, 'CS5'], [0xc0, 'CS6'], [0xe0, 'CS7'], [0xb8, 'EF'],
]);

export function dsfieldFromName(s: string): number | undefined {
  if (s in DSFIELD_NAMES) return DSFIELD_NAMES[s];
  for (const [n, name] of RT_DSFIELD) if (name === s) return n;
  const n = parseU32(s);
  return n !== undefined && n <= 255 ? n : undefined;
}

/** get_u32 with base 0: decimal, 0x hex, or leading-0 octal. */
export function parseU32(s: string): number | undefined {
  let n: number;
  if (/^0[xX][0-9a-fA-F]+$/.test(s)) n = parseInt(s.slice(2), 16);
  else if (/^0[0-7]+$/.test(s)) n = parseInt(s.slice(1), 8);
  else if (/^(0|[1-9][0-9]*)$/.test(s)) n = Number(s); // strtoul stops at 08's 8: not a number
  else return undefined;
  return Number.isSafeInteger(n) && n <= 0xffff_ffff ? n : undefined;
}
