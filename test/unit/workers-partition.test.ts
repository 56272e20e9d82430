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
import { recordEdges } from '../helpers/sink.js';
import { FIP_VIF_MAC, GW_MAC, QR_MAC, SEED_FILE as FILE, SNAT_IP, VM_IP, VM_MAC } from '../helpers/seed-names.js';

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
  const single = recordEdges(emu);
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
      assert.equal(dp.edgeFrames(node, port), frames.length, `frames counted at ${key}`);
      total += frames.length;
    }
    // The mix really went both ways across the fabric.
    assert.ok(single.get('w02:eth3')!.length >= 12 && single.get('w07:tap2ab77d0f-99')!.length >= 10, `edges: ${[...single].map(([k, v]) => `${k}=${v.length}`)}`);
    assert.ok(dp.counter(0, 'HANDOFF_OUT') >= 12 && dp.counter(1, 'HANDOFF_OUT') >= 9, 'frames crossed the fabric hand-off both ways');
    assert.equal(dp.counter(0, 'HANDOFF_FULL') + dp.counter(1, 'HANDOFF_FULL'), 0);
    assert.ok(total > 0);
    // What each worker's time went to: both moved frames, and the OS says how much CPU each had.
    for (const w of [0, 1]) {
      assert.ok(dp.counter(w, 'BUSY_SECONDS') > 0, `worker ${w} busy`);
      const cpu = await dp.request<number | null>(w, { op: 'cpu' });
      assert.ok(cpu !== null && cpu > 0, `worker ${w} cpu ${cpu}`);
    }

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

test('a worker killed mid-traffic comes back with its conntrack: established NAT connections keep working', async () => {
  const dp = await PartitionedDatapath.start({ file: FILE, assignment: new Map([['w07', 0], ['w02', 1]]), clock: 'manual' });
  try {
    const DNS = '198.51.100.77', WEB = '203.0.113.80';
    const send = async (s: Step): Promise<void> => {
      assert.ok(dp.inject(s.at[0], s.at[1], s.frame));
      await dp.settle();
    };
    const request = (n: number): Step => fromVm({ ip: { src: VM_IP, dst: DNS, id: n }, udp: { sport: 41000, dport: 53, payload: 64 } });
    const reply = (dport: number): Step => fromInternet({ ip: { src: DNS, dst: SNAT_IP, ttl: 60 }, udp: { sport: 53, dport, payload: 64 } });
    const tcpFromVm = (flags: string, seq: number, ack?: number): Step => fromVm({ ip: { src: VM_IP, dst: WEB }, tcp: { sport: 51000, dport: 80, seq, ack, flags } });
    const tcpFromWeb = (dport: number, flags: string, seq: number, ack: number, payload?: number): Step =>
      fromInternet({ ip: { src: WEB, dst: SNAT_IP }, tcp: { sport: 80, dport, seq, ack, flags, payload } });
    // At eth3 (VLAN-tagged): the IP header at 18, the L4 ports at 38. At the VM's port: at 14 and 34.
    const lastOut = (): { src: string; sport: number } => {
      const f = dp.frames(...ETH3).at(-1)!;
      return { src: [...f.subarray(30, 34)].join('.'), sport: (f[38]! << 8) | f[39]! };
    };
    // Only what is addressed to the VM (br-int also floods unknown unicast to its port).
    const toVm = (): Uint8Array[] => dp.frames(...VM_EDGE).filter((f) => hex(f.subarray(0, 6)) === VM_MAC.replaceAll(':', ''));
    const lastToVm = (): { src: string; dst: string; sport: number; dport: number } => {
      const f = toVm().at(-1)!;
      return { src: [...f.subarray(26, 30)].join('.'), dst: [...f.subarray(30, 34)].join('.'), sport: (f[34]! << 8) | f[35]!, dport: (f[36]! << 8) | f[37]! };
    };

    // A UDP flow and a TCP connection, SNATed in w02's snat namespace.
    await send(request(0));
    const udpPort = lastOut().sport;
    assert.equal(lastOut().src, SNAT_IP);
    await send(reply(udpPort));
    await send(tcpFromVm('S', 1000));
    const tcpPort = lastOut().sport;
    await send(tcpFromWeb(tcpPort, 'S.', 5000, 1001));
    await send(tcpFromVm('.', 1001, 5001));
    assert.equal(toVm().length, 2);
    const flows = [
      new RegExp(`^udp .* src=${VM_IP} dst=${DNS} sport=41000 dport=53 src=${DNS} dst=${SNAT_IP} sport=53 dport=${udpPort} `),
      new RegExp(`^tcp .* ESTABLISHED src=${VM_IP} dst=${WEB} sport=51000 dport=80 src=${WEB} dst=${SNAT_IP} sport=80 dport=${tcpPort} .*\\[ASSURED\\]`),
    ];
    const before = await dp.conntrack(...SNAT);
    assert.equal(before.length, 2, before.join('\n'));
    for (const re of flows) assert.ok(before.some((l) => re.test(l)), `${re} in\n${before.join('\n')}`);

    // Mid-traffic: requests are in the rings and in w02's worker when it dies.
    for (let i = 1; i <= 200; i++) assert.ok(dp.inject(...VM_EDGE, request(i).frame));
    const back = dp.restarted(1);
    await dp.kill(1);

    // The daemon goes on: while w02's worker is down, w07's answers the VM's ARP (qrouter).
    const arps = toVm().length;
    assert.ok(dp.inject(...VM_EDGE, buildFrame({ src: VM_MAC, dst: 'ff:ff:ff:ff:ff:ff', arp: { sha: VM_MAC, spa: VM_IP, tpa: '192.168.1.1' } })));
    for (const end = performance.now() + 2000; toVm().length === arps && performance.now() < end;) await new Promise((r) => setTimeout(r, 1));
    assert.equal(toVm().length, arps + 1, 'qrouter answered');
    assert.equal(dp.restarts[1], 0, 'answered while w02 was down');
    await back;
    assert.equal(dp.restarts[1], 1);
    await dp.settle();
    assert.ok(dp.frames(...ETH3).length < 3 + 200, 'frames in flight to the dead worker are lost, as on a crashed node');

    // The restarted worker continues the same table: the connections are there, NAT bindings unchanged.
    const after = await dp.conntrack(...SNAT);
    assert.equal(after.length, 2, after.join('\n'));
    for (const re of flows) assert.ok(after.some((l) => re.test(l)), `${re} in\n${after.join('\n')}`);

    // With no new request, the internet's replies are un-NATed back to the VM (a new
    // table would deliver them to the snat namespace itself, and tcp_loose=0 there
    // would not pick up the mid-stream segment).
    let vm = toVm().length;
    await send(reply(udpPort));
    assert.equal(toVm().length, vm + 1, 'the UDP reply reached the VM');
    assert.deepEqual(lastToVm(), { src: DNS, dst: VM_IP, sport: 53, dport: 41000 });
    vm = toVm().length;
    await send(tcpFromWeb(tcpPort, 'P.', 5001, 1001, 100));
    assert.equal(toVm().length, vm + 1, 'the TCP segment reached the VM');
    assert.deepEqual(lastToVm(), { src: WEB, dst: VM_IP, sport: 80, dport: 51000 });

    // Further requests keep their SNAT source ports.
    await send(request(999));
    assert.deepEqual(lastOut(), { src: SNAT_IP, sport: udpPort });
    await send(tcpFromVm('.', 1001, 5101));
    assert.deepEqual(lastOut(), { src: SNAT_IP, sport: tcpPort });
    assert.equal((await dp.conntrack(...SNAT)).length, 2);
  } finally {
    await dp.stop();
  }
});

test('a reload hands the conntrack to the next datapath: built while the old one runs, it continues the NAT bindings', async () => {
  const DNS = '198.51.100.77';
  const request = (n: number): Step => fromVm({ ip: { src: VM_IP, dst: DNS, id: n }, udp: { sport: 41000, dport: 53, payload: 64 } });
  const reply = (dport: number): Step => fromInternet({ ip: { src: DNS, dst: SNAT_IP, ttl: 60 }, udp: { sport: 53, dport, payload: 64 } });
  const send = async (dp: PartitionedDatapath, s: Step): Promise<void> => {
    assert.ok(dp.inject(s.at[0], s.at[1], s.frame));
    await dp.settle();
  };
  const toVm = (dp: PartitionedDatapath): Uint8Array[] => dp.frames(...VM_EDGE).filter((f) => hex(f.subarray(0, 6)) === VM_MAC.replaceAll(':', ''));
  const assignment = new Map([['w07', 0], ['w02', 1]]);
  const old = await PartitionedDatapath.start({ file: FILE, assignment, clock: 'manual' });
  let next: PartitionedDatapath | null = null;
  try {
    await send(old, request(0));
    const f = old.frames(...ETH3).at(-1)!;
    const port = (f[38]! << 8) | f[39]!;
    const before = await old.conntrack(...SNAT);
    assert.equal(before.length, 1, before.join('\n'));

    next = await PartitionedDatapath.start({ file: FILE, assignment, clock: 'manual', adoptLater: true });
    await assert.rejects(next.conntrack(...SNAT), /not forwarding yet/);
    await send(old, request(1)); // the old one still forwards meanwhile
    const tables = await old.retire();
    assert.ok(tables.has(`${SNAT[0]}/${SNAT[1]}`), [...tables.keys()].join(', '));
    await next.adopt(tables);
    assert.equal((await next.conntrack(...SNAT)).length, 1);
    // The reply is un-NATed to the VM by the carried entry (a new table would deliver it to the snat namespace).
    await send(next, reply(port));
    assert.equal(toVm(next).length, 1, 'the reply reached the VM');
  } finally {
    await old.stop();
    await next?.stop();
  }
});
