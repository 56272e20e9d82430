// The seed topology as a benchmark rig: the write-up's request direction
// (VM port on w07 to eth3 on w02) in one engine, with every free edge given a
// counting sink, MACs learned and conntrack warmed by a reply per flow, and
// prebuilt frames to inject. Used by the pipeline and worker benchmarks.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadTopologyOrThrow } from '../../src/topology/loader.js';
import { buildEmulator, type Emulator } from '../../src/topology/builder.js';
import type { EdgeSink, Port } from '../../src/datapath/element.js';
import type { Packet } from '../../src/datapath/packet.js';
import { BATCH } from '../../src/datapath/engine.js';
import { buildFrame } from '../../src/wire/frame.js';
import { NetNamespace } from '../../src/netns/namespace.js';
import { csumUpdate16 } from '../../src/wire/checksum.js';

/** The repository root, found from this file upward (works from bench/ and dist/bench/). */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'configs', 'seed-dvr-snat.yaml'))) return dir;
    dir = dirname(dir);
  }
  throw new Error('configs/seed-dvr-snat.yaml not found above ' + fileURLToPath(import.meta.url));
}

// The write-up's addresses (configs/seed-dvr-snat.yaml). Never touch a kernel.
export const VM_MAC = 'fa:16:3e:b2:ef:af';
export const QR_MAC = 'fa:16:3e:06:d8:7b';
export const VM_IP = '192.168.1.7';
export const DST_IP = '8.8.8.8';
export const SNAT_IP = '112.65.210.200';
const GW_MAC = '5c:c9:99:60:d2:71'; // the physical gateway behind eth3 (VLAN 103)
const FIP_VIF_MAC = 'fa:17:3e:f7:cd:bc';

class CountingSink implements EdgeSink {
  n = 0;
  bytes = 0;
  emit(pkt: Packet): void {
    this.n++;
    this.bytes += pkt.len;
  }
}

export interface Rig {
  emu: Emulator;
  vmPort: Port;
  eth3Port: Port;
  /** Frames leaving at w02:eth3 (the request direction's end). */
  out: CountingSink;
  /** Frames leaving at any other free edge. */
  other: CountingSink;
  snat: NetNamespace;
  qrouter: NetNamespace;
  /** Request frames: the VM's UDP to 8.8.8.8:53 from ports sportBase .. sportBase+flows-1. */
  frames: Uint8Array[];
  frameLen: number;
}

export interface RigOptions {
  flows: number;
  /** UDP payload bytes (64 gives a 106-byte frame: 14 + 20 + 8 + 64). */
  payload: number;
  sportBase?: number;
}

export function udpRequest(sport: number, dport: number, payload: number, dst = DST_IP): Uint8Array {
  return buildFrame({ src: VM_MAC, dst: QR_MAC, ip: { src: VM_IP, dst, ttl: 64 }, udp: { sport, dport, payload } });
}

export function udpReply(dport: number, payload: number): Uint8Array {
  return buildFrame({
    src: GW_MAC, dst: FIP_VIF_MAC, vlans: [103],
    ip: { src: DST_IP, dst: SNAT_IP, ttl: 60 }, udp: { sport: 53, dport, payload },
  });
}

/** Drops counted so far, all elements and reasons. */
export function totalDrops(emu: Emulator): number {
  return emu.engine.stats.sum('drops');
}

export function buildRig(opts: RigOptions): Rig {
  const emu = buildEmulator(loadTopologyOrThrow(join(repoRoot(), 'configs/seed-dvr-snat.yaml')), { emulateHosts: false });
  const vmPort = emu.findPort('w07', 'tap2ab77d0f-99');
  const eth3Port = emu.findPort('w02', 'eth3');
  if (!vmPort || !eth3Port) throw new Error('seed topology: tap2ab77d0f-99 or eth3 not found');
  const out = new CountingSink();
  const other = new CountingSink();
  for (const e of emu.topology.edges) {
    const p = emu.engine.element(e.port.node, e.port.element)?.port(e.port.port);
    if (p && !p.peer && !p.edge) emu.engine.attachEdge(p, p === eth3Port ? out : other);
  }
  const snat = emu.namespace('w02', 'snat-c4d4b760-41b9-45e1-a607-d054da99c479');
  const qrouter = emu.namespace('w07', 'qrouter-c4d4b760-41b9-45e1-a607-d054da99c479');
  const base = opts.sportBase ?? 10000;
  const frames: Uint8Array[] = [];
  for (let i = 0; i < opts.flows; i++) frames.push(udpRequest(base + i, 53, opts.payload));
  return { emu, vmPort, eth3Port, out, other, snat, qrouter, frames, frameLen: frames[0]!.length };
}

export function inject(rig: Rig, frame: Uint8Array, port: Port): void {
  const p = rig.emu.engine.pool.allocFrom(frame);
  if (!p) throw new Error('packet pool exhausted');
  rig.emu.engine.inject(p, port);
}

/**
 * Steady state: every flow sent once and answered once (8.8.8.8:53 back to
 * the SNAT address at eth3), so the bridges have learned every MAC on the
 * path and conntrack holds each flow ESTABLISHED in qrouter and snat.
 */
export function warm(rig: Rig, payload: number): void {
  const base = (rig.frames[0]![34]! << 8) | rig.frames[0]![35]!;
  for (let i = 0; i < rig.frames.length; i++) {
    inject(rig, rig.frames[i]!, rig.vmPort);
    inject(rig, udpReply(base + i, payload), rig.eth3Port);
  }
  rig.out.n = rig.other.n = 0;
  rig.out.bytes = rig.other.bytes = 0;
}

/**
 * Inject `n` of `frames` at the VM port, round-robin from `start`, BATCH at
 * a time (Engine.beginBatch), as a datapath worker runs what it takes from
 * a ring; with `seq` >= 0 each is first rewritten to the seq-th new 5-tuple
 * (newTuple), seq counting up. No allocation: the pipeline bench measures
 * the data path's.
 */
function injectBatches(rig: Rig, n: number, frames: readonly Uint8Array[], start: number, seq: number): void {
  const engine = rig.emu.engine;
  const pool = engine.pool;
  const port = rig.vmPort;
  const nf = frames.length;
  let j = start % nf;
  for (let i = 0; i < n; ) {
    engine.beginBatch();
    try {
      for (const end = Math.min(n, i + BATCH); i < end; i++) {
        const f = frames[j]!;
        if (seq >= 0) newTuple(f, seq + i);
        engine.inject(pool.allocFrom(f)!, port);
        if (++j === nf) j = 0;
      }
    } finally {
      engine.endBatch();
    }
  }
}

/** Inject `n` requests round-robin over the rig's flows, from flow `start` on, in batches. */
export function pump(rig: Rig, n: number, start = 0): void {
  injectBatches(rig, n, rig.frames, start, -1);
}

/** Inject `n` new connections (newTuple of `frame` from `seq` on), in batches as pump(). */
export function pumpNew(rig: Rig, frame: Uint8Array, n: number, seq: number): void {
  injectBatches(rig, n, [frame], 0, seq);
}

/**
 * New connections: rewrites `frame` (a udpRequest) in place to the `seq`th
 * new 5-tuple, sport 1024..65023 x dport 1.. (the VM's source address and
 * MAC stay those the anti-spoof flows allow), UDP checksum updated.
 */
export function newTuple(frame: Uint8Array, seq: number): void {
  const l4 = 34;
  const PORTS = 64_000;
  const sport = 1024 + (seq % PORTS);
  const dport = 1 + Math.floor(seq / PORTS);
  let c = (frame[l4 + 6]! << 8) | frame[l4 + 7]!;
  c = csumUpdate16(c, (frame[l4]! << 8) | frame[l4 + 1]!, sport);
  c = csumUpdate16(c, (frame[l4 + 2]! << 8) | frame[l4 + 3]!, dport);
  frame[l4] = sport >> 8;
  frame[l4 + 1] = sport & 255;
  frame[l4 + 2] = dport >> 8;
  frame[l4 + 3] = dport & 255;
  frame[l4 + 6] = c >> 8;
  frame[l4 + 7] = c & 255;
}
