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
import { WorkerControl } from '../../src/workers/worker-control.js';
import { FIP, GW_MAC, QROUTER, QR_MAC, SNAT, VM_MAC } from '../helpers/seed-names.js';

const topo = loadTopologyOrThrow('configs/seed-dvr-snat.yaml');
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

// What the inline reload carries is what a worker-mode reload carries (the
// elements' learned records, test/unit/workers-learned-state.test.ts): fdb
// entries with their ages, neighbours with their state and times, flows
// learn() added with their timeouts, cookie and creation time.
const VIEWS: [string, string[]][] = [
  ['brctl', ['showmacs', 'w07', 'qbr2ab77d0f-99']],
  ['bridge', ['w07', 'fdb', 'show', 'br', 'qbr2ab77d0f-99']],
  ['appctl', ['fdb/show', 'w07', 'br-int']],
  ['appctl', ['fdb/show', 'w02', 'br-int']],
  ['appctl', ['fdb/show', 'w02', 'br-ex']],
  ['ip', ['-n', QROUTER, 'w07', 'neigh']],
  ['ip', ['-n', SNAT, 'w02', 'neigh']],
  ['ip', ['-n', FIP, 'w02', 'neigh']],
  ['ofctl', ['dump-flows', '--no-stats', 'w07', 'br-tun', 'table=20']],
  ['ofctl', ['dump-flows', '--no-stats', 'w02', 'br-tun', 'table=20']],
  // With stats, the learned flows': the duration counts from the flow's creation, idle_age from its last use (its counters start again at 0).
  ['ofctl', ['dump-flows', 'w07', 'br-tun', 'table=20']],
];

function views(emu: ReturnType<typeof buildEmulator>): Record<string, string> {
  const ctl = new WorkerControl(emu);
  const out: Record<string, string> = {};
  for (const [family, argv] of VIEWS) {
    const a = ctl.command(family, argv);
    assert.ok(a.response, `${family} ${argv.join(' ')}: ${JSON.stringify(a.error)}`);
    let text = a.response.stdout;
    // The learned flows' stats (the file's flows are made anew by a reload, as neutron's agent would re-add them).
    if (family === 'ofctl' && !argv.includes('--no-stats')) text = text.split('\n').filter((l) => l.includes('hard_timeout')).join('\n').replace(/n_packets=\d+, n_bytes=\d+, /g, '');
    out[`${family} ${argv.join(' ')}`] = text;
  }
  return out;
}

test('an inline reload carries fdb entries with their ages, neighbours with their state and times, and learn() flows', () => {
  const clock = new ManualClock(5000);
  const before = buildEmulator(topo, { clock });
  let atEth3: Uint8Array | null = null;
  for (const e of before.topology.edges) {
    const p = before.port(e.port);
    if (!p.peer && !p.edge) before.engine.attachEdge(p, { emit: (pkt) => void (e.port.port === 'eth3' && (atEth3 = pkt.bytes())) });
  }
  const send = (node: string, port: string, f: Uint8Array): void => {
    before.engine.inject(before.engine.pool.allocFrom(f)!, before.findPort(node, port)!);
    clock.advance(1000);
    before.engine.tick();
  };
  const udp = (n: number): Uint8Array => buildFrame({ src: VM_MAC, dst: QR_MAC, ip: { src: '192.168.1.7', dst: '198.51.100.77', id: n }, udp: { sport: 41000, dport: 53, payload: 64 } });
  send('w07', 'tap2ab77d0f-99', buildFrame({ src: VM_MAC, dst: 'ff:ff:ff:ff:ff:ff', arp: { sha: VM_MAC, spa: '192.168.1.7', tpa: '192.168.1.1' } }));
  send('w02', 'eth3', buildFrame({ src: GW_MAC, dst: 'ff:ff:ff:ff:ff:ff', vlans: [103], arp: { sha: GW_MAC, spa: '10.206.221.193', tpa: '10.206.221.195' } }));
  send('w07', 'tap2ab77d0f-99', udp(0));
  const f = atEth3 as Uint8Array | null;
  assert.ok(f, 'the request left at eth3');
  const sport = (f[38]! << 8) | f[39]!;
  send('w02', 'eth3', buildFrame({ src: GW_MAC, dst: 'fa:17:3e:f7:cd:bc', vlans: [103], ip: { src: '198.51.100.77', dst: '112.65.210.200', ttl: 60 }, udp: { sport: 53, dport: sport, payload: 64 } }));
  send('w07', 'tap2ab77d0f-99', udp(1));
  clock.advance(7400); // ages in seconds, and times that are not the reload's
  before.engine.tick();
  const was = views(before);
  assert.match(was['appctl fdb/show w07 br-int']!, /fa:16:3e:b2:ef:af\s+(\d+)/);
  assert.ok(Number(/fa:16:3e:b2:ef:af\s+(\d+)/.exec(was['appctl fdb/show w07 br-int']!)![1]) >= 7, was['appctl fdb/show w07 br-int']);
  assert.match(was['ofctl dump-flows --no-stats w02 br-tun table=20']!, /dl_dst=fa:16:3e:b2:ef:af/);
  assert.match(was['ofctl dump-flows --no-stats w07 br-tun table=20']!, /hard_timeout=300, .*dl_dst=fa:16:3e:d1:d8:49/);
  assert.match(was['ofctl dump-flows w07 br-tun table=20']!, /duration=9\.400s, .*idle_age=9, /);
  assert.match(was[`ip -n ${SNAT} w02 neigh`]!, /192\.168\.1\.7 dev \S+ lladdr fa:16:3e:b2:ef:af REACHABLE/);

  clock.advance(1);
  const after = buildEmulator(topo, { clock });
  carryState(before.engine, after.engine);
  assert.deepEqual(views(after), views(before));
});
