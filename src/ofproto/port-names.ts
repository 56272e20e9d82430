// OpenFlow port numbers as ovs-ofctl reads and writes them
// (lib/ofp-port.c ofputil_port_from_string / ofputil_format_port).
import { OFPP } from './actions.js';

/** Resolves a port name (unquoted) to its ofport, or undefined. */
export type PortResolver = (name: string) => number | undefined;
/** Names an ofport for printing, or undefined to print the number. */
export type PortNamer = (ofport: number) => string | undefined;

// OFPUTIL_NAMED_PORTS: what a reserved port prints as.
const RESERVED: ReadonlyMap<number, string> = new Map([
  [OFPP.IN_PORT, 'IN_PORT'],
  [OFPP.TABLE, 'TABLE'],
  [OFPP.NORMAL, 'NORMAL'],
  [OFPP.FLOOD, 'FLOOD'],
  [OFPP.ALL, 'ALL'],
  [OFPP.CONTROLLER, 'CONTROLLER'],
  [OFPP.LOCAL, 'LOCAL'],
  [OFPP.NONE, 'ANY'],
]);

const BY_RESERVED_NAME: ReadonlyMap<string, number> = new Map([
  ...[...RESERVED].map(([n, s]) => [s, n] as [string, number]),
  ['NONE', OFPP.NONE],
]);

export function reservedPortName(port: number): string | undefined {
  return RESERVED.get(port);
}

const OFPP11_OFFSET = 0xffff0000;

/**
 * Parses a port: a decimal number (OF1.1 32-bit reserved numbers are mapped
 * down, as OVS does), a reserved name (any case), or a port name, bare or
 * double-quoted JSON-style. Returns undefined when it is none of those.
 */
export function parsePort(s: string, resolve?: PortResolver): number | undefined {
  if (/^[0-9]+$/.test(s)) {
    const n = Number(s);
    if (n <= 0xffff) return n;
    if (n < 0xffffff00 || n > 0xffffffff) return undefined;
    return n - OFPP11_OFFSET;
  }
  const reserved = BY_RESERVED_NAME.get(s.toUpperCase());
  if (reserved !== undefined) return reserved;
  if (!resolve) return undefined;
  if (s.startsWith('"')) {
    const name = unquote(s);
    return name === undefined ? undefined : resolve(name);
  }
  return resolve(s);
}

function unquote(s: string): string | undefined {
  if (s.length < 2 || !s.endsWith('"')) return undefined;
  try {
    const v: unknown = JSON.parse(s);
    return typeof v === 'string' ? v : undefined;
  } catch {
    return undefined;
  }
}

/**
 * OVS quotes a name unless it is a letter followed by letters and digits
 * (lib/ofp-port.c name_needs_quotes: no '_' or '-'), escaping it as JSON.
 */
export function formatPortName(name: string): string {
  return /^[A-Za-z][A-Za-z0-9]*$/.test(name) ? name : JSON.stringify(name);
}

export function formatPort(port: number, namer?: PortNamer): string {
  const reserved = RESERVED.get(port);
  if (reserved) return reserved;
  const name = namer?.(port);
  return name !== undefined ? formatPortName(name) : String(port);
}
