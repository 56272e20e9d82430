// The one small interface between the engine and the elements (DESIGN.md
// principle 3). An element is a device of a node (an OVS bridge, a Linux
// bridge, a namespace's IP stack, a node's underlay/VXLAN stack); its ports
// are that device's interfaces, linked pairwise by the engine (veth, patch
// port, internal port, cable). An element never knows threads, TAPs or HTTP.
import type { Engine } from './engine.js';
import type { Packet } from './packet.js';

export type ElementKind = 'ovs_bridge' | 'linux_bridge' | 'netns' | 'underlay' | 'fabric' | 'gateway' | 'host';

/** What joins two ports: how tcpdump users would name the link. */
export type LinkKind = 'veth' | 'patch' | 'internal' | 'tunnel' | 'wire';

/** Where frames leave the emulator (a TAP, a test's capture, a socket). */
export interface EdgeSink {
  /** Called with the packet still owned by the engine: copy what you keep. */
  emit(pkt: Packet, port: Port): void;
}

export class Port {
  peer: Port | null = null;
  linkKind: LinkKind | null = null;
  edge: EdgeSink | null = null;
  up = true;
  /** Index of this port's counters in Stats (PORT_COUNTERS order). */
  statsBase = -1;
  /** Deliveries waiting in the engine's queue to arrive at this port (Engine.inlineOk: nothing may overtake them). */
  queued = 0;
  /** Capture taps (tcpdump at this interface); empty almost always. */
  readonly taps: ((pkt: Packet, port: Port, dir: 'in' | 'out') => void)[] = [];

  constructor(
    readonly id: number,
    readonly element: Element,
    readonly index: number,
    readonly name: string,
  ) {}

  /** `node:element:port` as traces print it. */
  get path(): string {
    return `${this.element.node}:${this.element.name}:${this.name}`;
  }
}

export abstract class Element {
  readonly ports: Port[] = [];
  engine!: Engine;
  /** Index of this element's drop counters in Stats (one per DropReason). */
  dropsBase = -1;

  constructor(
    readonly kind: ElementKind,
    readonly node: string,
    readonly name: string,
  ) {}

  /**
   * A frame arrives on one of this element's ports. The element owns `pkt`
   * from here: it must output it (engine.output), hand it on, drop it
   * (engine.drop) or consume it (engine.consume), exactly once.
   */
  abstract receive(pkt: Packet, port: Port): void;

  /** Called after a port is added, so the element can index it. */
  portAdded(_port: Port): void {}

  /** Advance timers (ageing, ARP, conntrack); `now` is emulated ms. */
  tick(_now: number): void {}

  /** `dpemu clear-counters`: zero the counters the element keeps beside the engine's port and drop cells. */
  clearCounters(): void {}

  port(name: string): Port | undefined {
    return this.ports.find((p) => p.name === name);
  }
}
