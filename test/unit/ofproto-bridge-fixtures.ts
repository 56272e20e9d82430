// Shared set-up for the OVS bridge tests: an engine on a manual clock,
// capture sinks on bridge ports, frame injection.
import { Engine } from '../../src/datapath/engine.js';
import { ManualClock } from '../../src/datapath/clock.js';
import type { DropReason } from '../../src/datapath/drop-reasons.js';
import { OvsBridge, type OvsBridgeOptions } from '../../src/ofproto/bridge.js';
import type { OvsPort } from '../../src/ofproto/ovs-port.js';
import { buildFrame, type FrameSpec } from '../../src/wire/frame.js';
import { formatBytes } from '../../src/wire/tcpdump.js';
import { CaptureSink } from '../helpers/sink.js';

export interface Rig {
  e: Engine;
  clock: ManualClock;
  bridge(name: string, opts?: OvsBridgeOptions, node?: string): OvsBridge;
  /** Capture what leaves `p` (the port must not be linked). */
  sink(p: OvsPort): CaptureSink;
  /** A frame arrives at bridge port `p` from outside; `tunId` as VXLAN decap sets it. */
  send(p: OvsPort, frame: Uint8Array | FrameSpec, meta?: { tunId?: number; tunSrc?: number; tunDst?: number }): void;
  drops(el: OvsBridge, reason: DropReason): number;
  advance(ms: number): void;
}

export function rig(startMs = 0): Rig {
  const clock = new ManualClock(startMs);
  const e = new Engine({ clock });
  return {
    e,
    clock,
    bridge: (name, opts = {}, node = 'n1') => OvsBridge.create(e, node, name, opts),
    sink(p) {
      const s = new CaptureSink();
      e.attachEdge(p.port, s);
      return s;
    },
    send(p, frame, meta = {}) {
      const bytes = frame instanceof Uint8Array ? frame : buildFrame(frame);
      const pkt = e.pool.allocFrom(bytes);
      if (!pkt) throw new Error('pool exhausted');
      pkt.tunId = meta.tunId ?? 0;
      pkt.tunSrc = meta.tunSrc ?? 0;
      pkt.tunDst = meta.tunDst ?? 0;
      e.inject(pkt, p.port);
    },
    drops: (el, reason) => e.dropCount(el, reason),
    advance(ms) {
      clock.advance(ms);
      e.tick();
    },
  };
}

/** tcpdump -nnee text of the frames a sink caught (first line of each). */
export function seen(s: CaptureSink): string[] {
  return s.frames.splice(0).map((f) => formatBytes(f.frame).split('\n')[0]!);
}

export const MAC = {
  vm: 'fa:16:3e:b2:ef:af',
  qr: 'fa:16:3e:06:d8:7b',
  sg: 'fa:16:3e:d1:d8:49',
  dvr07: 'fa:16:3f:13:77:c5',
  fipVif: 'fa:17:3e:f7:cd:bc',
  gw: '5c:c9:99:60:d2:71',
};

export function icmp(src: string, dst: string, opts: { ipSrc?: string; ipDst?: string; ttl?: number; vlans?: number[] } = {}): FrameSpec {
  return {
    src,
    dst,
    ...(opts.vlans ? { vlans: opts.vlans } : {}),
    ip: { src: opts.ipSrc ?? '192.168.1.7', dst: opts.ipDst ?? '8.8.8.8', ttl: opts.ttl ?? 64 },
    icmp: { id: 60691, seq: 1, data: 100 },
  };
}
