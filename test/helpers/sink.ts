// An edge sink that keeps copies of what leaves the emulator at a port.
import type { EdgeSink, Port } from '../../src/datapath/element.js';
import type { Packet } from '../../src/datapath/packet.js';

export class CaptureSink implements EdgeSink {
  readonly frames: { port: string; frame: Uint8Array; tunId: number }[] = [];
  emit(pkt: Packet, port: Port): void {
    this.frames.push({ port: port.name, frame: pkt.bytes(), tunId: pkt.tunId });
  }
  take(): Uint8Array[] {
    return this.frames.splice(0).map((f) => f.frame);
  }
}
