// Edge sinks that keep copies of what leaves the emulator at a port.
import type { EdgeSink, Port } from '../../src/datapath/element.js';
import type { Packet } from '../../src/datapath/packet.js';
import type { Emulator } from '../../src/topology/builder.js';

export class CaptureSink implements EdgeSink {
  readonly frames: { port: string; frame: Uint8Array; tunId: number }[] = [];
  emit(pkt: Packet, port: Port): void {
    this.frames.push({ port: port.name, frame: pkt.bytes(), tunId: pkt.tunId });
  }
  take(): Uint8Array[] {
    return this.frames.splice(0).map((f) => f.frame);
  }
}

/** Attach one log to every free edge port of `emu`'s topology: "node:port hex" of each frame that left, in order. */
export function logEdges(emu: Emulator): string[] {
  const out: string[] = [];
  for (const e of emu.topology.edges) {
    const p = emu.engine.element(e.port.node, e.port.element)?.port(e.port.port);
    if (p && !p.peer && !p.edge) emu.engine.attachEdge(p, { emit: (pkt, port) => out.push(`${port.element.node}:${port.name} ${Buffer.from(pkt.bytes()).toString('hex')}`) });
  }
  return out;
}

/** Attach a recorder to every free edge port of `emu`'s topology: `node:port` -> the frames (hex) that left there, in order. */
export function recordEdges(emu: Emulator): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const e of emu.topology.edges) {
    const p = emu.engine.element(e.port.node, e.port.element)?.port(e.port.port);
    if (!p || p.peer || p.edge) continue;
    const key = `${e.port.node}:${e.port.port}`;
    const frames: string[] = [];
    out.set(key, frames);
    emu.engine.attachEdge(p, { emit: (pkt) => frames.push(Buffer.from(pkt.bytes()).toString('hex')) });
  }
  return out;
}
