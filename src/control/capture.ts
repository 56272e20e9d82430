// A live capture at one port of the engine (tcpdump -i NODE:[NS:]IFACE), or
// at every interface of a namespace (-i NODE:NS:any) as Linux cooked v2
// frames (src/wire/sll2.ts), which it builds in a scratch buffer to filter.
// The tap runs inside the forwarding loop, so it does the least it can:
// decode the few fields the filter reads, copy the matching bytes into a
// bounded queue, and leave. When the queue is full or the reader is slow
// (the socket's buffer is over its mark) it drops and counts, never waits.
// Ports nobody captures on keep an empty `taps` list: one length test.
import type { Port } from '../datapath/element.js';
import type { Packet } from '../datapath/packet.js';
import type { Interface } from '../netns/interfaces.js';
import { macHi, macLo } from '../wire/addr.js';
import { PCAP_SNAPLEN } from '../wire/pcap.js';
import { cookedPayloadAt, cookedProtocol, PACKET_OTHERHOST, packetType, setIfindex, SLL2_HDR_LEN, writeSll2Header } from '../wire/sll2.js';
import { decodeCookedFields, decodeFields, type FramePredicate } from './capture-filter.js';

export interface CapturedFrame {
  /** Wall-clock microseconds since the epoch. */
  ts: number;
  len: number;
  dir: 'in' | 'out';
  data: Uint8Array;
}

export interface CaptureOptions {
  count?: number;
  snaplen?: number;
  /** Frames held for the reader before new ones are dropped. */
  maxQueue?: number;
  /** True while the reader cannot take more (its buffer is full): frames are dropped, not queued. */
  congested?: () => boolean;
  /**
   * Runs work off the forwarding path (delivery, detaching the tap).
   * Default setImmediate; a datapath worker, whose loop never yields to
   * the event loop, runs it when the supervisor polls.
   */
  defer?: (fn: () => void) => void;
}

/** Wall-clock microseconds since the epoch. */
export const nowUs = (): number => Math.round((performance.timeOrigin + performance.now()) * 1000);

/**
 * What a listener on the forwarding path (a capture, conntrack -E) queues
 * for its reader: bounded, dropping and counting when full or when the
 * reader is congested (never waiting), and handed over in batches off the
 * forwarding path (opts.defer), then `after` runs.
 */
export class DeferredBatches<T> {
  /** Items queued (tcpdump's "captured", conntrack's "shown"). */
  captured = 0;
  /** Items refused for want of room. */
  dropped = 0;
  private queue: T[] = [];
  private scheduled = false;
  private readonly maxQueue: number;
  readonly defer: (fn: () => void) => void;

  constructor(
    private readonly opts: Pick<CaptureOptions, 'maxQueue' | 'congested' | 'defer'>,
    private readonly deliver: (items: T[]) => void,
    private readonly after: () => void = () => {},
  ) {
    this.maxQueue = opts.maxQueue ?? 4096;
    this.defer = opts.defer ?? setImmediate;
  }

  /** Whether there is room for one more item now; if not, it is counted as dropped. */
  room(): boolean {
    if (this.queue.length < this.maxQueue && !this.opts.congested?.()) return true;
    this.dropped++;
    return false;
  }

  push(item: T): void {
    this.queue.push(item);
    this.captured++;
    if (!this.scheduled) {
      this.scheduled = true;
      this.defer(() => this.flush());
    }
  }

  /** Drop what is queued (the reader went away). */
  clear(): void {
    this.queue = [];
  }

  private flush(): void {
    this.scheduled = false;
    const q = this.queue;
    this.queue = [];
    if (q.length) this.deliver(q);
    this.after();
  }
}

/** An interface `-i any` taps at its port, and the VLAN sub-interfaces whose tagged frames pass there, by VID. */
export interface TapPoint {
  port: Port;
  iface: Interface;
  vlans: ReadonlyMap<number, Interface>;
}

export class Capture {
  private stopped = false;
  private readonly taps: { port: Port; tap: (pkt: Packet, port: Port, dir: 'in' | 'out') => void }[];
  private readonly snaplen: number;
  private readonly out: DeferredBatches<CapturedFrame>;
  /** Where a cooked frame is built (grown to the largest seen). */
  private scratch = new Uint8Array(0);

  constructor(
    /** The port (Ethernet frames), or the interfaces of `-i any` (cooked frames). */
    at: Port | readonly TapPoint[],
    private readonly filter: FramePredicate,
    private readonly opts: CaptureOptions,
    /** Receives frames in batches, off the forwarding path (setImmediate). */
    deliver: (frames: CapturedFrame[]) => void,
    /** Called once when -c is reached. */
    private readonly done: () => void,
  ) {
    this.snaplen = opts.snaplen && opts.snaplen > 0 ? opts.snaplen : PCAP_SNAPLEN;
    this.out = new DeferredBatches(opts, deliver, () => {
      if (this.stopped && this.opts.count && this.captured >= this.opts.count) this.done();
    });
    this.taps = Array.isArray(at)
      ? at.map((t: TapPoint) => ({ port: t.port, tap: (pkt: Packet, _p: Port, dir: 'in' | 'out') => this.onCooked(pkt, t, dir) }))
      : [{ port: at as Port, tap: (pkt: Packet, _p: Port, dir: 'in' | 'out') => this.onPacket(pkt, dir) }];
    for (const t of this.taps) t.port.taps.push(t.tap);
  }

  get captured(): number {
    return this.out.captured;
  }

  get dropped(): number {
    return this.out.dropped;
  }

  private onPacket(pkt: Packet, dir: 'in' | 'out'): void {
    if (this.stopped) return;
    if (!this.filter(decodeFields(pkt.buf, pkt.off, pkt.len)) || !this.out.room()) return;
    const cap = Math.min(pkt.len, this.snaplen);
    // The -c'th frame: the tap goes (deferred) before its batch is delivered and done() reported.
    if (this.opts.count && this.captured + 1 >= this.opts.count) this.detach();
    this.out.push({ ts: nowUs(), len: pkt.len, dir, data: pkt.buf.slice(pkt.off, pkt.off + cap) });
  }

  /**
   * A frame at one interface of `-i any`: its cooked form is what the filter
   * reads and the capture keeps. A frame tagged for a VLAN sub-interface is
   * seen there too, as the kernel's taps see it on both devices: received,
   * on the parent first (then vlan_do_receive hands it on, a frame for
   * another host becoming one for this host where it is for the
   * sub-interface's MAC); sent, on the sub-interface first.
   */
  private onCooked(pkt: Packet, t: TapPoint, dir: 'in' | 'out'): void {
    if (this.stopped || pkt.len < 14) return;
    const b = pkt.buf, off = pkt.off, end = off + pkt.len;
    const at = cookedPayloadAt(b, off, pkt.len);
    const len = SLL2_HDR_LEN + end - at;
    if (this.scratch.length < len) this.scratch = new Uint8Array(len);
    const s = this.scratch;
    const type = packetType(b, off, dir === 'in', macHi(t.iface.mac), macLo(t.iface.mac));
    writeSll2Header(s, cookedProtocol(b, at, end), t.iface.index, type, b, off);
    s.set(b.subarray(at, end), SLL2_HDR_LEN);
    const sub = t.vlans.size && at === off + 18 && b[off + 12] === 0x81 && b[off + 13] === 0 ? t.vlans.get(((b[off + 14]! << 8) | b[off + 15]!) & 0xfff) : undefined;
    if (!sub?.up) return this.keepCooked(len, dir);
    const subType = type === PACKET_OTHERHOST ? packetType(b, off, true, macHi(sub.mac), macLo(sub.mac)) : type;
    if (dir === 'in') this.keepCooked(len, dir);
    setIfindex(s, sub.index);
    s[10] = subType;
    this.keepCooked(len, dir);
    if (dir === 'out') {
      setIfindex(s, t.iface.index);
      s[10] = type;
      this.keepCooked(len, dir);
    }
  }

  /** The cooked frame in the scratch buffer, if the filter takes it and there is room. */
  private keepCooked(len: number, dir: 'in' | 'out'): void {
    if (this.stopped || !this.filter(decodeCookedFields(this.scratch, 0, len)) || !this.out.room()) return;
    if (this.opts.count && this.captured + 1 >= this.opts.count) this.detach();
    this.out.push({ ts: nowUs(), len, dir, data: this.scratch.slice(0, Math.min(len, this.snaplen)) });
  }

  private detach(): void {
    this.stopped = true;
    // Not now: the engine may be iterating port.taps (this tap's own call), and a splice would skip the next tap.
    this.out.defer(() => {
      for (const t of this.taps) {
        const i = t.port.taps.indexOf(t.tap);
        if (i >= 0) t.port.taps.splice(i, 1);
      }
    });
  }

  /** Stop capturing now (the reader went away); queued frames are discarded. */
  stop(): void {
    this.detach();
    this.out.clear();
  }
}
