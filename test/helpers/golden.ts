// Shared by the golden tests (test/golden): the write-up's topology built with
// its lab hosts, a capture on every port (tcpdump at every interface, both
// directions), and a readable view of a frame to compare with SCENARIO.md.
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { loadTopologyFile } from '../../src/topology/loader.js';
import { formatError } from '../../src/topology/errors.js';
import { buildEmulator, type Emulator } from '../../src/topology/builder.js';
import type { Topology } from '../../src/topology/model.js';
import { openEdges } from '../../src/cli/trace.js';
import { Tracer, type TraceEvent } from '../../src/datapath/trace.js';
import { Decoded, decode, decodeQuoted, l4ChecksumOk } from '../../src/wire/decode.js';
import { ipToString, macToString } from '../../src/wire/addr.js';
import { buildFrame, type FrameSpec } from '../../src/wire/frame.js';
import { icmpChecksumOk } from '../../src/wire/icmp.js';
import { vxlanInnerOff, vxlanInnerLen } from '../../src/wire/vxlan.js';
import { CaptureSink } from './sink.js';

export const SEED = fileURLToPath(new URL('../../configs/seed-dvr-snat.yaml', import.meta.url));
export const LAB = fileURLToPath(new URL('../../configs/lab-dvr-snat.yaml', import.meta.url));

// The write-up's names (SCENARIO.md).
export const QBR = 'qbr2ab77d0f-99';
export const QROUTER = 'qrouter-c4d4b760-41b9-45e1-a607-d054da99c479';
export const SNAT = 'snat-c4d4b760-41b9-45e1-a607-d054da99c479';
export const FIP = 'fip-4617ac50-7b34-4b05-811d-b2afc741d446';

// The write-up's MACs.
export const M = {
  vm: 'fa:16:3e:b2:ef:af',
  qr: 'fa:16:3e:06:d8:7b', // every qrouter's qr- port (DVR: the same on every node)
  sg: 'fa:16:3e:d1:d8:49',
  dvr07: 'fa:16:3f:13:77:c5', // w07's DVR host MAC
  nic07: 'b4:96:91:5a:31:78',
  gw07: '5c:c9:99:60:e0:3c',
  nic02: 'b4:96:91:5a:32:54',
  gw02: '5c:c9:99:db:69:c9',
  rfp: '36:66:d5:bf:5e:e0',
  fpr: '82:99:8f:5a:6b:ec',
  vif: 'fa:17:3e:f7:cd:bc',
  tor: '5c:c9:99:60:d2:71', // the physical gateway 10.206.221.193 on VLAN 103
} as const;

export interface Golden {
  emu: Emulator;
  /** Every frame that crossed any port since the last clear(), in order. */
  log: Seen[];
  /** What left the emulator at w02's eth3 (seed file only). */
  eth3: CaptureSink | null;
  tracer: Tracer;
}

export interface Seen {
  /** `node:element:port dir`, e.g. `w07:eth2:eth2 out`. */
  at: string;
  bytes: Uint8Array;
}

const loaded = new Map<string, Topology>();

/** Build `file` with its hosts emulated (the VM, and the internet host in the lab file) and a tap on every port. */
export function golden(file: string): Golden {
  let t = loaded.get(file);
  if (!t) {
    const r = loadTopologyFile(file);
    assert.deepEqual(r.errors.map(formatError), []);
    assert.ok(r.ok);
    loaded.set(file, (t = r.topology));
  }
  const emu = buildEmulator(t, { emulateHosts: true });
  const eth3Port = emu.engine.element('w02', 'br-ex')?.port('eth3');
  let eth3: CaptureSink | null = null;
  if (eth3Port && !eth3Port.peer) emu.engine.attachEdge(eth3Port, (eth3 = new CaptureSink()));
  openEdges(emu);
  const log: Seen[] = [];
  for (const p of emu.engine.ports) p.taps.push((pkt, port, dir) => log.push({ at: `${port.path} ${dir}`, bytes: pkt.bytes() }));
  const tracer = new Tracer();
  emu.engine.tracer = tracer;
  return { emu, log, eth3, tracer };
}

/** Inject a frame arriving at NODE:PORT (an edge such as `w07:tap2ab77d0f-99`, or `w02:eth3`). */
export function inject(g: Golden, node: string, port: string, spec: FrameSpec): Uint8Array {
  const frame = buildFrame(spec);
  const p = g.emu.findPort(node, port);
  assert.ok(p, `no port ${node}:${port}`);
  const pkt = g.emu.engine.pool.allocFrom(frame);
  assert.ok(pkt);
  g.emu.engine.inject(pkt, p);
  return frame;
}

/** Frames seen at one capture point (`node:element:port dir`). */
export function at(g: Golden, point: string): Uint8Array[] {
  return g.log.filter((s) => s.at === point).map((s) => s.bytes);
}

export function clear(g: Golden): void {
  g.log.length = 0;
  g.tracer.events.length = 0;
}

/** Where packets ended in the local stack of an element (`node:element: text`). */
export function consumed(events: readonly TraceEvent[]): string[] {
  return events.flatMap((e) => (e.kind === 'consume' ? [`${e.node}:${e.element}: ${e.text}`] : []));
}

// ---- a frame as the tables of the golden tests spell it ----

export interface FrameView {
  /** `src > dst` MACs. */
  eth: string;
  /** The 802.1Q VID, null when untagged. */
  vlan: number | null;
  len: number;
  /** `src > dst` IPv4 addresses. */
  ip?: string;
  ttl?: number;
  /** `echo request id 60691 seq 1 len 108`, `time exceeded code 0 len 68`. */
  icmp?: string;
  /** `sport > dport`. */
  udp?: string;
  vxlan?: { flags: number; vni: number };
  /** The frame inside the VXLAN header. */
  inner?: FrameView;
  /** The datagram quoted by an ICMP error. */
  quote?: { ip: string; ttl: number; icmp?: string };
}

const ICMP_NAMES: Record<number, string> = { 0: 'echo reply', 8: 'echo request', 11: 'time exceeded', 3: 'unreachable' };

function icmpText(d: Decoded, withLen: boolean): string {
  const name = ICMP_NAMES[d.icmpType] ?? `type ${d.icmpType}`;
  const echo = d.icmpType === 0 || d.icmpType === 8;
  return `${name}${echo ? ` id ${d.icmpId} seq ${d.icmpSeq}` : ` code ${d.icmpCode}`}${withLen ? ` len ${d.l4Len}` : ''}`;
}

export function view(b: Uint8Array, off = 0, len = b.length - off): FrameView {
  const d = new Decoded();
  assert.equal(decode(b, off, len, d), 0, 'frame decodes');
  const v: FrameView = { eth: `${macToString(d.srcHi, d.srcLo)} > ${macToString(d.dstHi, d.dstLo)}`, vlan: d.nTags ? d.tci0 & 0xfff : null, len };
  if (d.ethertype !== 0x0800) return v;
  v.ip = `${ipToString(d.src)} > ${ipToString(d.dst)}`;
  v.ttl = d.ttl;
  if (d.proto === 1) {
    v.icmp = icmpText(d, true);
    if (d.icmpInnerL3 >= 0) {
      const q = new Decoded();
      assert.equal(decodeQuoted(b, d.icmpInnerL3, d.ipEnd - d.icmpInnerL3, q), 0, 'quoted datagram decodes');
      v.quote = { ip: `${ipToString(q.src)} > ${ipToString(q.dst)}`, ttl: q.ttl };
      if (q.proto === 1) v.quote.icmp = icmpText(q, false);
    }
  } else if (d.proto === 17) {
    v.udp = `${d.sport} > ${d.dport}`;
    if (d.vxlanFlags >= 0) {
      v.vxlan = { flags: d.vxlanFlags, vni: d.vni };
      v.inner = view(b, vxlanInnerOff(d), vxlanInnerLen(b, d));
    }
  }
  return v;
}

/**
 * Checksums that are wrong in a frame (empty when all are right): the IPv4
 * header, ICMP/UDP/TCP, the same inside VXLAN, and the IPv4 header (and, when
 * quoted whole, the ICMP message) quoted by an ICMP error.
 */
export function badChecksums(b: Uint8Array, off = 0, len = b.length - off, where = ''): string[] {
  const d = new Decoded();
  if (decode(b, off, len, d) !== 0) return [`${where}undecodable`];
  if (d.ethertype !== 0x0800) return [];
  const bad: string[] = [];
  if (!d.ipCsumOk) bad.push(`${where}IPv4 header`);
  if (!l4ChecksumOk(b, d)) bad.push(`${where}protocol ${d.proto}`);
  if (d.vxlanFlags >= 0) bad.push(...badChecksums(b, vxlanInnerOff(d), vxlanInnerLen(b, d), 'inner '));
  if (d.proto === 1 && d.icmpInnerL3 >= 0) {
    const q = new Decoded();
    decodeQuoted(b, d.icmpInnerL3, d.ipEnd - d.icmpInnerL3, q);
    if (!q.ipCsumOk) bad.push(`${where}quoted IPv4 header`);
    const whole = d.ipEnd - d.icmpInnerL3 >= q.totLen;
    if (whole && q.proto === 1 && !icmpChecksumOk(b, q.l4, q.totLen - q.ipHlen)) bad.push(`${where}quoted ICMP`);
  }
  return bad;
}

/** tcpdump 4.9 (the write-up's) prints a tagged frame's inner type as `ethertype IPv4, `; 4.99 (dpemu's) adds the number. */
export function tcpdump499(writeUpLine: string): string {
  return writeUpLine.replace(/(vlan \d+, p \d+, )ethertype IPv4, /, '$1ethertype IPv4 (0x0800), ');
}
