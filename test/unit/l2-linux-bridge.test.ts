import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Engine } from '../../src/datapath/engine.js';
import { ManualClock } from '../../src/datapath/clock.js';
import { LinuxBridge } from '../../src/l2/linux-bridge.js';
import { parseMacNum } from '../../src/wire/addr.js';
import { buildFrame } from '../../src/wire/frame.js';
import { CaptureSink } from '../helpers/sink.js';

function setup(stp = false) {
  const clock = new ManualClock(0);
  const e = new Engine({ clock });
  const br = e.add(new LinuxBridge('w07', 'qbr2ab77d0f-99', { stp }));
  const qvb = e.addPort(br, 'qvb2ab77d0f-99');
  const tap = e.addPort(br, 'tap2ab77d0f-99');
  const third = e.addPort(br, 'tap3');
  br.setPortMac(qvb, parseMacNum('96:6e:9b:a8:b1:fc')!);
  br.setPortMac(tap, parseMacNum('fe:16:3e:b2:ef:af')!);
  const sinks = { qvb: new CaptureSink(), tap: new CaptureSink(), third: new CaptureSink() };
  e.attachEdge(qvb, sinks.qvb);
  e.attachEdge(tap, sinks.tap);
  e.attachEdge(third, sinks.third);
  return { e, clock, br, qvb, tap, third, sinks };
}

const vmToGw = buildFrame({ src: 'fa:16:3e:b2:ef:af', dst: 'fa:16:3e:06:d8:7b', ip: { src: '192.168.1.7', dst: '8.8.8.8' }, icmp: { id: 60691, seq: 1, data: 100 } });
const gwToVm = buildFrame({ src: 'fa:16:3e:d1:d8:49', dst: 'fa:16:3e:b2:ef:af', ip: { src: '8.8.8.8', dst: '192.168.1.7' }, icmp: { type: 0, id: 60691, seq: 1, data: 100 } });

test('unknown unicast floods to every other port, then the reply goes to the learned port only', () => {
  const { e, tap, qvb, sinks } = setup();
  e.inject(e.pool.allocFrom(vmToGw)!, tap);
  assert.equal(sinks.qvb.take().length, 1);
  assert.equal(sinks.third.take().length, 1);
  assert.equal(sinks.tap.take().length, 0, 'never back out of the input port');
  e.inject(e.pool.allocFrom(gwToVm)!, qvb);
  assert.deepEqual(sinks.tap.take(), [gwToVm]);
  assert.equal(sinks.third.take().length, 0);
});

test('showmacs lists learned and local entries by MAC, ports interleaved, as brctl prints them', () => {
  const { e, tap, qvb, clock, br } = setup();
  e.inject(e.pool.allocFrom(vmToGw)!, tap);
  clock.advance(570);
  e.inject(e.pool.allocFrom(gwToVm)!, qvb);
  clock.advance(0);
  const out = br.showmacs();
  assert.equal(
    out,
    'port no\tmac addr\t\tis local?\tageing timer\n' +
      '  1\t96:6e:9b:a8:b1:fc\tyes\t\t   0.00\n' +
      '  2\tfa:16:3e:b2:ef:af\tno\t\t   0.57\n' +
      '  1\tfa:16:3e:d1:d8:49\tno\t\t   0.00\n' +
      '  2\tfe:16:3e:b2:ef:af\tyes\t\t   0.00\n',
  );
});

test('learned entries age out after 300 s and the destination floods again', () => {
  const { e, tap, qvb, clock, sinks } = setup();
  e.inject(e.pool.allocFrom(vmToGw)!, tap);
  sinks.qvb.take(); sinks.third.take();
  clock.advance(300_001);
  e.tick();
  e.inject(e.pool.allocFrom(gwToVm)!, qvb);
  assert.equal(sinks.tap.take().length, 1);
  assert.equal(sinks.third.take().length, 1, 'flooded after ageing');
});

test('frames to a port MAC are consumed by the bridge; 802.1D group frames as br_handle_frame with STP off; runts are counted', () => {
  const { e, tap, qvb, br, sinks } = setup();
  const toLocal = buildFrame({ src: 'fa:16:3e:b2:ef:af', dst: '96:6e:9b:a8:b1:fc', ethertype: 0x0800, payload: [1, 2, 3] });
  e.inject(e.pool.allocFrom(toLocal)!, tap);
  assert.equal(e.consumed, 1);
  // Pause frames: dropped before learning.
  const pause = buildFrame({ src: '0a:00:00:00:00:01', dst: '01:80:c2:00:00:01', ethertype: 0x8808, payload: [0] });
  e.inject(e.pool.allocFrom(pause)!, tap);
  assert.equal(e.dropCount(br, 'filtered'), 1);
  assert.ok(!br.learned().some((l) => l.mac === '0a:00:00:00:00:01'), 'nothing learned from a pause frame');
  // LLDP (and the rest of the range): learned from, to the port's own stack, not forwarded.
  const lldp = buildFrame({ src: '0a:00:00:00:00:02', dst: '01:80:c2:00:00:0e', ethertype: 0x88cc, payload: [0] });
  e.inject(e.pool.allocFrom(lldp)!, tap);
  assert.equal(e.consumed, 2);
  assert.ok(br.learned().some((l) => l.mac === '0a:00:00:00:00:02'));
  assert.equal(sinks.qvb.frames.length + sinks.third.frames.length, 0);
  // STP's Bridge Group Address with STP off: forwarded (flooded), "to keep loop detection".
  const stp = buildFrame({ src: 'fa:16:3e:b2:ef:af', dst: '01:80:c2:00:00:00', ethertype: 0x0026, payload: [0] });
  e.inject(e.pool.allocFrom(stp)!, tap);
  assert.equal(sinks.qvb.take().length + sinks.third.take().length, 2);
  e.inject(e.pool.allocFrom(new Uint8Array(5))!, qvb);
  assert.equal(e.dropCount(br, 'malformed'), 1);
  assert.equal(e.pool.available, e.pool.slots, 'every slot returned');
});

test('with stp on, BPDUs go to the bridge\'s own stack instead of being flooded', () => {
  const { e, tap, sinks } = setup(true);
  const stp = buildFrame({ src: 'fa:16:3e:b2:ef:af', dst: '01:80:c2:00:00:00', ethertype: 0x0026, payload: [0] });
  e.inject(e.pool.allocFrom(stp)!, tap);
  assert.equal(e.consumed, 1);
  assert.equal(sinks.qvb.frames.length + sinks.third.frames.length, 0);
});

test('MACs whose low 32 bits are above 2^31: learned, forwarded to, moved, aged one by one, listed in learning order', () => {
  const { e, tap, qvb, third, clock, br, sinks } = setup();
  const hiA = '5c:c9:99:60:d2:71', hiB = 'b4:96:91:5a:32:54';
  const frame = (src: string, dst: string) => buildFrame({ src, dst, ethertype: 0x0800, payload: [1, 2, 3] });
  e.inject(e.pool.allocFrom(frame(hiA, hiB))!, qvb); // A learned on port 1, floods
  clock.advance(1000);
  e.inject(e.pool.allocFrom(frame(hiB, hiA))!, third); // B learned on port 3, to A on port 1
  assert.equal(sinks.qvb.take().length, 1, 'to the learned port');
  assert.equal(sinks.tap.take().length, 1, 'only the first frame flooded');
  assert.deepEqual(br.learned(), [
    { mac: hiA, port: 'qvb2ab77d0f-99', portNo: 1 },
    { mac: hiB, port: 'tap3', portNo: 3 },
  ]);
  e.inject(e.pool.allocFrom(frame(hiA, hiB))!, tap); // A moves to port 2
  assert.equal(sinks.third.take().length, 2, 'B is on port 3 (flooded once, then forwarded)');
  assert.equal(br.learned()[0]!.portNo, 2, 'moved in place: same position');
  clock.advance(299_500); // both last seen at 1 s; now 300.5 s
  e.inject(e.pool.allocFrom(frame(hiA, '01:00:5e:00:00:01'))!, tap); // refresh A only
  clock.advance(600); // B 300.1 s old, A 0.6 s
  e.tick();
  assert.deepEqual(br.learned().map((l) => l.mac), [hiA]);
  assert.match(br.showmacs(), /\n {2}2\t5c:c9:99:60:d2:71\tno\t\t {3}0\.60\n/);
  e.inject(e.pool.allocFrom(frame('01:00:5e:00:00:01', hiA))!, qvb);
  e.inject(e.pool.allocFrom(frame('00:00:00:00:00:00', hiA))!, qvb);
  assert.equal(e.dropCount(br, 'malformed'), 2, 'multicast and all-zero sources are not stations');
  assert.equal(br.learned().length, 1);
});
