// How ovs-vsctl prints OVSDB values: strings bare when they look like an
// identifier, quoted otherwise (lib/ovsdb-data.c string_needs_quotes), maps
// as {k=v, ...} sorted by key, sets as [a, b].
import { createHash } from 'node:crypto';

export function ovsdbString(s: string): string {
  const needs =
    !/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(s) || /[0-9]/.test(s) || s === 'true' || s === 'false' ||
    /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(s);
  return needs ? JSON.stringify(s) : s;
}

export function ovsdbMap(m: Record<string, string>): string {
  const keys = Object.keys(m).sort();
  return '{' + keys.map((k) => `${ovsdbString(k)}=${ovsdbString(m[k]!)}`).join(', ') + '}';
}

/** A stable UUID for a row that the emulator never stored (the Open_vSwitch row of a node). */
export function stableUuid(seed: string): string {
  const h = createHash('sha1').update(seed).digest('hex');
  const v = (parseInt(h[16]!, 16) & 0x3 | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${v}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/**
 * bridge_create's default_ea of a bridge whose row has UUID `uuid`: the
 * first 6 bytes of its struct uuid (four 32-bit words, little-endian in
 * memory) marked random; the LOCAL port's address and the datapath id of a
 * bridge with no port of a universal address (bridge_pick_local_hw_addr).
 */
export function uuidMac(uuid: string): string {
  const h = uuid.replaceAll('-', '');
  const b = [6, 4, 2, 0, 14, 12].map((i) => parseInt(h.slice(i, i + 2), 16));
  b[0] = (b[0]! & 0xfe) | 0x02;
  return b.map((x) => x.toString(16).padStart(2, '0')).join(':');
}

/** A locally administered MAC derived from a name (a port whose MAC the topology does not give). */
export function stableMac(seed: string): string {
  const h = createHash('sha1').update(seed).digest();
  h[0] = (h[0]! & 0xfe) | 0x02;
  return [...h.subarray(0, 6)].map((b) => b.toString(16).padStart(2, '0')).join(':');
}
