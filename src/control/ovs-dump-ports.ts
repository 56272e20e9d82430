// `ovs-ofctl dump-ports BRIDGE [PORT]` as OVS 2.5 prints it (the write-up's
// version; dump-flows and dump-tables follow it too), from the counters the
// engine keeps at each of the bridge's ports.
//
// Text: ofp_print_ofpst_port_reply (lib/ofp-print.c of 2.5): a header with
// the port count, then per port "  port N: rx ..." (a space more for N < 10,
// LOCAL by name) and "           tx ...", a counter of UINT64_MAX (one the
// netdev cannot count) printed as '?', which no dpemu port needs; OpenFlow 1.3
// and later replies also carry "           duration=".
//
// Which ports, in which order: handle_port_stats_request (ofproto/ofproto.c)
// walks ofproto->ports, an hmap keyed by hash_ofp_port(ofp_port) =
// hash_int(ofp_port, 0) (lib/flow.h, lib/hash.h), so the reply comes in that
// table's bucket order, not sorted. ovsPortsInHmapOrder() reproduces it.
//
// What each number is (the switch's view, for every port type): rx = frames
// the bridge received from the port, tx = frames it sent out of it.
// - system/tap ports: ofproto-dpif port_get_stats -> netdev_get_stats ->
//   netdev_linux_get_stats (the kernel device's packet and byte counts; a
//   device is received on from the wire, the bridge's rx) or, for a tap,
//   netdev_tap_get_stats, which swaps the device's rx and tx back because the
//   host, not a remote computer, sends on a tap (lib/netdev-linux.c).
// - internal ports (LOCAL included): netdev_internal_get_stats, the datapath
//   vport's counters, which "always track stats from the perspective of the
//   switch" (the same file). A frame sent to a down internal device is the
//   vport's tx_dropped.
// - patch and tunnel ports: no device; xlate adds each translation's packets
//   and bytes with netdev_vport_inc_tx/_rx (lib/netdev-vport.c), and 2.5's
//   get_stats copies a zero-initialised netdev_stats, so the rest print 0.
//   The bytes are the datapath flow's: the packet as it entered the node's
//   datapath, which OvsPort.tx/rxBytesAdj correct the engine's counts to.
// The error counters (rx drop/errs/frame/over/crc, tx errs, coll) are 0 in
// dpemu: it has no NIC, qdisc or checksum to fail (OVS prints what the
// kernel device counted there). docs/control.md says what dpemu cannot count.
import type { OvsBridge } from '../ofproto/bridge.js';
import type { OvsPort } from '../ofproto/ovs-port.js';
import { OFPP } from '../ofproto/actions.js';
import { PC, type Stats } from '../datapath/stats.js';
import { formatDuration } from '../ofproto/flow-printer.js';
import { ControlError } from './protocol.js';
import type { OfVersion } from '../ofproto/flow-printer.js';

const rotl = (x: number, k: number): number => ((x << k) | (x >>> (32 - k))) >>> 0;

/** mhash_add of lib/hash.h (Murmur3's step): OVS's hash_add where not built for SSE 4.2. */
function mhashAdd(hash: number, data: number): number {
  let d = Math.imul(data, 0xcc9e2d51);
  d = Math.imul(rotl(d, 15), 0x1b873593);
  const h = rotl((hash ^ d) >>> 0, 13);
  return (Math.imul(h, 5) + 0xe6546b64) >>> 0;
}

function mhashFinish(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** hash_ofp_port(): hash_int(port, 0) = hash_2words(port, 0). */
export const hashOfpPort = (ofport: number): number => mhashFinish(mhashAdd(mhashAdd(ofport, 0), 0) ^ 8);

/** hash_string(s, 0) = hash_bytes (lib/hash.c): little-endian words, the tail zero-padded, finished with the length. */
export function hashString(s: string): number {
  const b = Buffer.from(s, 'utf8');
  let h = 0, i = 0;
  for (; i + 4 <= b.length; i += 4) h = mhashAdd(h, b.readUInt32LE(i));
  if (i < b.length) {
    let t = 0;
    for (let k = b.length - 1; k >= i; k--) t = (t << 8) | b[k]!;
    h = mhashAdd(h, t >>> 0);
  }
  return mhashFinish((h ^ b.length) >>> 0);
}

/** calc_mask() of lib/hmap.c: buckets for `n` entries, at least 4 once more than one. */
function calcMask(n: number): number {
  let m = n >>> 1;
  m |= m >>> 1;
  m |= m >>> 2;
  m |= m >>> 4;
  m |= m >>> 8;
  m |= m >>> 16;
  return m | ((m & 1) << 1);
}

/**
 * The order HMAP_FOR_EACH visits `ports` inserted one by one (lib/hmap.[ch]):
 * hmap_insert puts a node at the head of bucket hash & mask and expands the
 * table once n / 2 > mask, reinserting bucket by bucket (which reverses the
 * nodes of a bucket); iteration goes bucket 0 up, each from its head. Ports
 * of one bucket so come in an order that depends on when they were added:
 * dpemu adds them in its creation order (LOCAL first, as add-br then
 * add-port; ovs-vswitchd restarting adds them in the datapath's order).
 */
export function hmapOrder<T>(items: readonly T[], hash: (t: T) => number): T[] {
  let mask = 0;
  let buckets: T[][] = [[]];
  let n = 0;
  for (const it of items) {
    buckets[hash(it) & mask]!.unshift(it);
    n++;
    if (n >>> 1 > mask) {
      const nm = calcMask(n);
      if (nm > mask) {
        const next: T[][] = Array.from({ length: nm + 1 }, () => []);
        for (const b of buckets) for (const x of b) next[hash(x) & nm]!.unshift(x);
        buckets = next;
        mask = nm;
      }
    }
  }
  return buckets.flat();
}

/** The bridge's ports in the order OVS's reply lists them. */
export function ovsPortsInHmapOrder(br: OvsBridge): OvsPort[] {
  const created = br.portList.slice().sort((a, b) => a.port.index - b.port.index);
  return hmapOrder(created, (p) => hashOfpPort(p.ofport));
}

// OpenFlow 1.0 port numbers ofputil_port_from_string knows by name (OFPUTIL_NAMED_PORTS_WITH_NONE).
const NAMED: Record<string, number> = { IN_PORT: 0xfff8, TABLE: 0xfff9, NORMAL: 0xfffa, FLOOD: 0xfffb, ALL: 0xfffc, CONTROLLER: 0xfffd, LOCAL: 0xfffe, ANY: 0xffff, NONE: 0xffff };
const OFPP_ANY = 0xffff;

/**
 * ovs-ofctl's str_to_port_no(): a number or reserved name as
 * ofputil_port_from_string reads it, else a port name looked up in the
 * switch's port list (fetch_ofputil_phy_port: by name, or by a number too big
 * for it, truncated to 16 bits as str_to_ofp does). `lookedUp` says whether
 * ovs-ofctl opened its second connection to look, which moves the xid.
 * `missing` words a name the bridge lacks (2.5: couldn't find; 3.1: unknown).
 */
export function portArg(br: OvsBridge, arg: string, missing = "couldn't find"): { ofport: number; lookedUp: boolean } {
  if (/^\d+$/.test(arg)) {
    const n = Number(arg);
    // 0x10000..0xfffffeff is outside both OF1.0's and OF1.1's range: treated as a name.
    if (n < 0x10000) return { ofport: n, lookedUp: false };
    if (n >= 0xffffff00 && n <= 0xffffffff) return { ofport: n - 0xffff0000, lookedUp: false };
  }
  const named = NAMED[arg.toUpperCase()];
  if (named !== undefined) return { ofport: named, lookedUp: false };
  const byNumber = /^\d+$/.test(arg) && Number(arg) <= 0xffffffff ? br.portByOfport(Number(arg) & 0xffff) : undefined;
  const p = byNumber ?? br.portByName(arg);
  if (!p) throw new ControlError(`ovs-ofctl: ${br.name}: ${missing} port \`${arg}'`);
  return { ofport: p.ofport, lookedUp: true };
}

/** The port's counters as its netdev reports them (netdev_get_stats): dump-ports and Interface.statistics. */
export function portCounters(p: OvsPort, stats: Stats): { rxPackets: number; rxBytes: number; txPackets: number; txBytes: number; txDropped: number } {
  const c = (i: PC): number => stats.v[p.port.statsBase + i]!;
  return { rxPackets: c(PC.RX_PACKETS), rxBytes: c(PC.RX_BYTES) + p.rxBytesAdj, txPackets: c(PC.TX_PACKETS), txBytes: c(PC.TX_BYTES) + p.txBytesAdj, txDropped: c(PC.TX_DROPPED) };
}

export function dumpPorts(br: OvsBridge, stats: Stats, version: OfVersion, now: number, arg?: string): string {
  const { ofport, lookedUp } = arg === undefined ? { ofport: OFPP_ANY, lookedUp: false } : portArg(br, arg);
  let ports: OvsPort[];
  if (ofport === OFPP_ANY) ports = ovsPortsInHmapOrder(br);
  else {
    const p = br.portByOfport(ofport);
    ports = p ? [p] : [];
  }
  // Each connection's hello takes an xid: 0x2 for the request, 0x4 after a port-name lookup's connection and request.
  const xid = lookedUp ? '0x4' : '0x2';
  let out = `OFPST_PORT reply${version === 10 ? '' : ` (OF1.${version - 10})`} (xid=${xid}): ${ports.length} ports\n`;
  for (const p of ports) {
    const c = portCounters(p, stats);
    const no = p.ofport === OFPP.LOCAL ? 'LOCAL' : String(p.ofport);
    out += `  port ${p.ofport < 10 ? ' ' : ''}${no}: rx pkts=${c.rxPackets}, bytes=${c.rxBytes}, drop=0, errs=0, frame=0, over=0, crc=0\n`;
    out += `           tx pkts=${c.txPackets}, bytes=${c.txBytes}, drop=${c.txDropped}, errs=0, coll=0\n`;
    if (version !== 10) {
      // calc_duration(port->created, time_msec()): milliseconds.
      const ms = Math.max(0, Math.floor(now - p.created));
      out += `           duration=${formatDuration(Math.floor(ms / 1000), (ms % 1000) * 1_000_000)}\n`;
    }
  }
  return out;
}
