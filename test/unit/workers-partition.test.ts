// The partitioned datapath gives the single engine's answers. The seed
// topology runs once in one in-process engine and once in two worker threads
// (w07 in one, w02 in the other, so every request and every reply crosses the
// fabric hand-off); the same traffic goes through both: UDP and TCP flows from
// the VM to the internet and their replies back through SNAT, ICMP echo, ARP
// from the VM and from the physical gateway, and traceroute probes whose TTL
// expires in qrouter (w07) and in snat (w02, the ICMP error crossing back).
// Every frame at every edge port (per port, in order) and every conntrack
// entry must be the same.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildEmulator } from '../../src/topology/builder.js';
import { loadTopologyOrThrow } from '../../src/topology/loader.js';
import { ManualClock } from '../../src/datapath/clock.js';
import { buildFrame, type FrameSpec } from '../../src/wire/frame.js';
import { NetNamespace } from '../../src/netns/namespace.js';
import { conntrackList } from '../../src/netfilter/index.js';
import { PartitionedDatapath } from '../../src/workers/supervisor.js';
import { balancedAssignment, checkAssignment, nodeGroups } from '../../src/workers/partition.js';

const FILE = 'configs/seed-dvr-snat.yaml';
const VM_MAC = 'fa:16:3e:b2:ef:af';
const QR_MAC = 'fa:16:3e:06:d8:7b';
const GW_MAC = '5c:c9:99:60:d2:71'; // the physical gateway behind eth3 (VLAN 103)
const FIP_VIF_MAC = 'fa:17:3e:f7:cd:bc';
const VM_IP = '192.168.1.7';
const SNAT_IP = '112.65.210.200';
const VM_EDGE = ['w07', 'tap2ab77d0f-99'] as const;
const ETH3 = ['w02', 'eth3'] as const;
const QROUTER = ['w07', 'qrouter-c4d4b760-41b9-45e1-a607-d054da99c479'] as const;
const SNAT = ['w02', 'snat-c4d4b760-41b9-45e1-a607-d054da99c479'] as const;

type Step = { at: readonly [string, string]; frame: Uint8Array };

const fromVm = (s: Omit<FrameSpec, 'src' | 'dst'>): Step => ({ at: VM_EDGE, frame: buildFrame({ src: VM_MAC, dst: QR_MAC, ...s }) });
const fromInternet = (s: Omit<FrameSpec, 'src' | 'dst' | 'vlans'>): Step => ({ at: ETH3, frame: buildFrame({ src: GW_MAC, dst: FIP_VIF_MAC, vlans: [103], ...s }) });

/** The traffic mix, in the order both sides get it. */
function traffic(): Step[] {
  const steps: Step[] = [];
  // ARP: the VM asks for its gateway (answered by qrouter on w07); the physical gateway asks for fip-vif's address (w02).
  steps.push({ at: VM_EDGE, frame: buildFrame({ src: VM_MAC, dst: 'ff:ff:ff:ff:ff:ff', arp: { sha: VM_MAC, spa: VM_IP, tpa: '192.168.1.1' } }) });
  steps.push({ at: ETH3, frame: buildFrame({ src: GW_MAC, dst: 'ff:ff:ff:ff:ff:ff', vlans: [103], arp: { sha: GW_MAC, spa: '10.206.221.193', tpa: '10.206.221.195' } }) });
  for (let f = 0; f < 6; f++) {
    const sport = 40000 + f;
    const dst = `198.51.100.${10 + f}`;
    steps.push(fromVm({ ip: { src: VM_IP, dst, id: f }, udp: { sport, dport: 53, payload: 64 } }));
    steps.push(fromInternet({ ip: { src: dst, dst: SNAT_IP, ttl: 60 }, udp: { sport: 53, dport: sport, payload: 80 } }));
    steps.push(fromVm({ ip: { src: VM_IP, dst, id: 100 + f }, udp: { sport, dport: 53, payload: 32 } }));
  }
  // A TCP handshake and an echo.
  steps.push(fromVm({ ip: { src: VM_IP, dst: '203.0.113.80' }, tcp: { sport: 51000, dport: 80, seq: 1000, flags: 'S' } }));
  steps.push(fromInternet({ ip: { src: '203.0.113.80', dst: SNAT_IP }, tcp: { sport: 80, dport: 51000, seq: 5000, ack: 1001, flags: 'S.' } }));
  steps.push(fromVm({ ip: { src: VM_IP, dst: '203.0.113.80' }, tcp: { sport: 51000, dport: 80, seq: 1001, ack: 5001, flags: '.' } }));
  steps.push(fromVm({ ip: { src: VM_IP, dst: '8.8.8.8' }, icmp: { id: 7, seq: 1, data: 56 } }));
  steps.push(fromInternet({ ip: { src: '8.8.8.8', dst: SNAT_IP }, icmp: { type: 0, id: 7, seq: 1, data: 56 } }));
  // traceroute: TTL 1 expires in qrouter (w07), TTL 2 in snat (w02): its ICMP error crosses back to w07.
  for (let ttl = 1; ttl <= 3; ttl++) steps.push(fromVm({ ip: { src: VM_IP, dst: '8.8.8.8', ttl }, udp: { sport: 45000, dport: 33433 + ttl, payload: 32 } }));
  return steps;
}

const hex = (f: Uint8Array): string => Buffer.from(f).toString('hex');

test('node groups: the seed topology splits at the fabric into w07 and w02', () => {
  const t = loadTopologyOrThrow(FILE);
  assert.deepEqual(nodeGroups(t).map((g) => g.sort()).sort(), [['w02'], ['w07']]);
  const two = balancedAssignment(t, 2);
  assert.notEqual(two.get('w07'), two.get('w02'));
  // More workers than groups: only as many as there are groups are used.
  assert.equal(checkAssignment(t, balancedAssignment(t, 8)), 2);
  assert.equal(checkAssignment(t, balancedAssignment(t, 1)), 1);
  // The lab file cables the tor gateway to w02's eth3: they are one group.
  const lab = loadTopologyOrThrow('configs/lab-dvr-snat.yaml');
  const a = balancedAssignment(lab, 4);
  assert.equal(a.get('tor'), a.get('w02'));
  assert.throws(() => checkAssignment(lab, new Map([...a, ['tor', 1 - a.get('w02')!]])), /must share a worker/);
});

test('two partitioned workers give the single engine\'s frames and conntrack entries', async () => {
  const steps = traffic();

  // The single engine.
  const emu = buildEmulator(loadTopologyOrThrow(FILE), { clock: new ManualClock() });
  const single = new Map<string, string[]>();
  for (const e of emu.topology.edges) {
    const p = emu.engine.element(e.port.node, e.port.element)?.port(e.port.port);
    if (!p || p.peer || p.edge) continue;
    const key = `${e.port.node}:${e.port.port}`;
    single.set(key, []);
    emu.engine.attachEdge(p, { emit: (pkt) => single.get(key)!.push(hex(pkt.bytes())) });
  }
  for (const s of steps) {
    const pkt = emu.engine.pool.allocFrom(s.frame)!;
    emu.engine.inject(pkt, emu.findPort(s.at[0], s.at[1])!);
  }

  // Two workers, one node each.
  const dp = await PartitionedDatapath.start({ file: FILE, assignment: new Map([['w07', 0], ['w02', 1]]), clock: 'manual' });
  try {
    assert.equal(dp.workers, 2);
    for (const s of steps) {
      assert.ok(dp.inject(s.at[0], s.at[1], s.frame));
      await dp.settle(); // one step at a time: the order at a port is then the engine's
    }
    let total = 0;
    for (const [key, frames] of single) {
      const [node, port] = key.split(':') as [string, string];
      assert.deepEqual(dp.frames(node, port).map(hex), frames, `frames at ${key}`);
      total += frames.length;
    }
    // The mix really went both ways across the fabric.
    assert.ok(single.get('w02:eth3')!.length >= 12 && single.get('w07:tap2ab77d0f-99')!.length >= 10, `edges: ${[...single].map(([k, v]) => `${k}=${v.length}`)}`);
    assert.ok(dp.counter(0, 'HANDOFF_OUT') >= 12 && dp.counter(1, 'HANDOFF_OUT') >= 9, 'frames crossed the fabric hand-off both ways');
    assert.equal(dp.counter(0, 'HANDOFF_FULL') + dp.counter(1, 'HANDOFF_FULL'), 0);
    assert.ok(total > 0);

    for (const [node, name] of [QROUTER, SNAT]) {
      const ns = emu.namespace(node, name) as NetNamespace;
      const want = conntrackList(ns.nf.conntrack, emu.engine.now);
      if (name === SNAT[1]) assert.ok(want.length >= 8, `${name}: ${want.length} entries`);
      assert.deepEqual(await dp.conntrack(node, name), want, `conntrack in ${node}:${name}`);
    }

    // Drops too (the TTL-expired probes are counted where they expired).
    const singleDrops: Record<string, number> = {};
    emu.engine.stats.desc.forEach((d, i) => {
      const v = emu.engine.stats.v[i]!;
      if (d.name === 'drops' && v) singleDrops[`${d.labels.node}:${d.labels.element}:${d.labels.reason}`] = v;
    });
    assert.deepEqual(await dp.drops(), singleDrops);
  } finally {
    await dp.stop();
  }
});

test('stop() ends every worker even while one is asleep', async () => {
  const dp = await PartitionedDatapath.start({ file: FILE, workers: 2, clock: 'manual' });
  await new Promise((r) => setTimeout(r, 120)); // both asleep on their bells
  await dp.stop();
  await assert.rejects(dp.conntrack(...SNAT), /stopped|closed/);
});

test('a worker killed mid-traffic is restarted; the other goes on and forwarding through it resumes', async () => {
  const dp = await PartitionedDatapath.start({ file: FILE, assignment: new Map([['w07', 0], ['w02', 1]]), clock: 'manual' });
  try {
    const request = (sport: number, n = 0): Step => fromVm({ ip: { src: VM_IP, dst: '198.51.100.77', id: n }, udp: { sport, dport: 53, payload: 64 } });
    const reply = (sport: number): Step => fromInternet({ ip: { src: '198.51.100.77', dst: SNAT_IP, ttl: 60 }, udp: { sport: 53, dport: sport, payload: 64 } });
    const send = async (s: Step): Promise<void> => {
      assert.ok(dp.inject(s.at[0], s.at[1], s.frame));
      await dp.settle();
    };
    // At the VM's port, only what is addressed to the VM (br-int also floods unknown unicast there).
    const toVm = (): number => dp.frames(...VM_EDGE).filter((f) => hex(f.subarray(0, 6)) === VM_MAC.replaceAll(':', '')).length;
    await send(request(41000));
    await send(reply(41000));
    assert.equal(dp.frames(...ETH3).length, 1);
    assert.equal(toVm(), 1);

    // Mid-traffic: requests are in the rings and in w02's worker when it dies.
    for (let i = 0; i < 200; i++) assert.ok(dp.inject(...VM_EDGE, request(41000, i + 1).frame));
    const back = dp.restarted(1);
    await dp.kill(1);
    await back;
    assert.equal(dp.restarts[1], 1);
    await dp.settle();
    assert.ok(dp.frames(...ETH3).length < 202, 'frames in flight to the dead worker are lost, as on a crashed node');

    // w07's worker went on: qrouter answers the VM's ARP.
    const arps = toVm();
    await send({ at: VM_EDGE, frame: buildFrame({ src: VM_MAC, dst: 'ff:ff:ff:ff:ff:ff', arp: { sha: VM_MAC, spa: VM_IP, tpa: '192.168.1.1' } }) });
    assert.equal(toVm(), arps + 1);

    // Through the restarted worker: the request leaves SNATed at eth3 and the reply comes back to the VM.
    const out = dp.frames(...ETH3).length, vm = toVm();
    await send(request(41000, 999));
    assert.equal(dp.frames(...ETH3).length, out + 1);
    const f = dp.frames(...ETH3).at(-1)!;
    assert.equal([...f.subarray(30, 34)].join('.'), SNAT_IP, 'source NATed to the SNAT address (after the VLAN tag)');
    await send(reply(41000));
    assert.equal(toVm(), vm + 1);
    const ct = await dp.conntrack(...SNAT);
    assert.equal(ct.length, 1, ct.join('\n'));
    assert.match(ct[0]!, /sport=41000 dport=53 .*\[ASSURED\]|sport=41000 dport=53/);
  } finally {
    await dp.stop();
  }
});
