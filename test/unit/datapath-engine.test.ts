// The engine's guard against a throwing element: the exception is counted as
// internal_error and the packet freed once, never while it is still queued.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Engine } from '../../src/datapath/engine.js';
import { Element, type Port } from '../../src/datapath/element.js';
import type { Packet } from '../../src/datapath/packet.js';

/** Passes every packet out of its other port, then (when told to) throws. */
class Faulty extends Element {
  throwAfterOutput = false;
  throwBeforeOutput = false;
  receive(pkt: Packet, port: Port): void {
    if (this.throwBeforeOutput) throw new Error('bug before output');
    this.engine.output(pkt, this.ports[port === this.ports[0] ? 1 : 0]!);
    if (this.throwAfterOutput) throw new Error('bug after output');
  }
}

class Sink extends Element {
  got: string[] = [];
  freed = 0;
  receive(pkt: Packet): void {
    if (pkt.slot < 0) this.freed++; // delivered after its slot went back to the pool
    this.got.push(Buffer.from(pkt.bytes()).toString('hex'));
    this.engine.consume(pkt, this, 'sink');
  }
}

function rig() {
  const e = new Engine({});
  const f = e.add(new Faulty('host', 'n', 'faulty'));
  const s = e.add(new Sink('host', 'n', 'sink'));
  const a = e.addPort(f, 'a'), b = e.addPort(f, 'b'), in_ = e.addPort(s, 'in');
  e.link(b, in_, 'veth');
  return { e, f, s, a };
}

const frame = (n: number) => Uint8Array.from({ length: 60 }, (_, i) => (i + n) & 0xff);

test('an element that throws after passing the packet on: delivered once, counted, no slot lost', () => {
  const { e, f, s, a } = rig();
  f.throwAfterOutput = true;
  const slots = e.pool.available;
  for (let i = 0; i < 3; i++) e.inject(e.pool.allocFrom(frame(i))!, a);
  assert.deepEqual(s.got, [0, 1, 2].map((i) => Buffer.from(frame(i)).toString('hex')));
  assert.equal(s.freed, 0, 'no packet arrives after being freed');
  assert.equal(e.dropCount(f, 'internal_error'), 3);
  assert.equal(e.pool.available, slots);
});

test('an element that throws before passing it on: the packet is dropped as internal_error', () => {
  const { e, f, s, a } = rig();
  f.throwBeforeOutput = true;
  const slots = e.pool.available;
  e.inject(e.pool.allocFrom(frame(0))!, a);
  assert.deepEqual(s.got, []);
  assert.equal(e.dropCount(f, 'internal_error'), 1);
  assert.equal(e.pool.available, slots);
});
