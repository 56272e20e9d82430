// A reload builds a new element graph; the state the old one learned (MACs,
// neighbours, connections with their NAT bindings) carries over where it
// still applies, so established traffic goes on as if nothing happened.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadTopologyOrThrow } from '../../src/topology/loader.js';
import { buildEmulator } from '../../src/topology/builder.js';
import { openEdges } from '../../src/cli/trace.js';
import { carryState } from '../../src/daemon/carry-state.js';
import { ManualClock } from '../../src/datapath/clock.js';
import { buildFrame } from '../../src/wire/frame.js';
import { conntrackList } from '../../src/netfilter/index.js';
import type { EdgeSink } from '../../src/datapath/element.js';

const topo = loadTopologyOrThrow('configs/seed-dvr-snat.yaml');
const SNAT = 'snat-c4d4b760-41b9-45e1-a607-d054da99c479';
const request = buildFrame({ src: 'fa:16:3e:b2:ef:af', dst: 'fa:16:3e:06:d8:7b', ip: { src: '192.168.1.7', dst: '8.8.8.8' }, icmp: { id: 60691, seq: 1, data: 100 } });
const reply = buildFrame({ src: '5c:c9:99:60:d2:71', dst: 'fa:17:3e:f7:cd:bc', vlans: [103], ip: { src: '8.8.8.8', dst: '112.65.210.200', ttl: 57 }, icmp: { type: 0, id: 60691, seq: 1, data: 100 } });

test('after a reload the reply of a connection made before it is still un-NATed and reaches the VM', () => {
  const clock = new ManualClock(1000);
  const before = buildEmulator(topo, { emulateHosts: true, clock });
  openEdges(before);
  before.engine.inject(before.engine.pool.allocFrom(request)!, before.findPort('w07', 'tap2ab77d0f-99')!);

  const after = buildEmulator(topo, { emulateHosts: true, clock });
  const { carried } = carryState(before.engine, after.engine);
  for (const el of ['w07:br-int', 'w07:qbr2ab77d0f-99', `w02:${SNAT}`]) assert.ok(carried.includes(el), `${el} carried`);

  assert.deepEqual(conntrackList(after.namespace('w02', SNAT).nf.conntrack, clock.now()), conntrackList(before.namespace('w02', SNAT).nf.conntrack, clock.now()));
  assert.equal(after.bridge('w07', 'br-int').fdbShow(), before.bridge('w07', 'br-int').fdbShow());
  assert.deepEqual(after.linuxBridge('w07', 'qbr2ab77d0f-99').learned(), before.linuxBridge('w07', 'qbr2ab77d0f-99').learned());

  // The reply enters the new graph at eth3 and reaches the VM, translated back.
  let atVm: Uint8Array | null = null;
  const vmPort = after.namespace('vm', 'dpe-vm').port('eth0')!;
  vmPort.taps.push((pkt, _p, dir) => { if (dir === 'in') atVm = pkt.bytes(); });
  const sink: EdgeSink = { emit: () => {} };
  for (const e of after.topology.edges) {
    const p = after.port(e.port);
    if (!p.peer && !p.edge) after.engine.attachEdge(p, sink);
  }
  after.engine.inject(after.engine.pool.allocFrom(reply)!, after.findPort('w02', 'eth3')!);
  assert.ok(atVm, 'the reply reached the VM');
  const dst = Array.from((atVm as Uint8Array).subarray(30, 34)).join('.');
  assert.equal(dst, '192.168.1.7');
});
