// Configuration changed at runtime through the control path outlives a
// datapath worker (src/workers/config-log.ts). The seed topology runs in two
// workers (w07, w02); through the control backend the daemon uses
// (PartitionedControl), flows are added (one, and a file's worth as `-`
// sends it) and a topology flow is replaced, and on w02 an address, an ip
// rule, a route in its table, an IPv6 rule and route alike, a permanent
// neighbour and an iptables rule are added, and a qbr port's settings changed
// (bridge link set). Each worker is then killed: after its restart every dump
// reads as before, and traffic goes exactly where those changes send it. A conntrack
// flush is not replayed (an entry made after it is still there), nor are
// reads or failed commands, and a command to a dead worker fails at once; a bridge's add/del churn is compacted; the log
// has a cap, counted and reported; a reload's datapath starts with none.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildFrame } from '../../src/wire/frame.js';
import { PartitionedDatapath } from '../../src/workers/supervisor.js';
import { PartitionedControl } from '../../src/workers/remote-control.js';
import { COMMANDS } from '../../src/control/registry.js';
import { COMPACT_MIN, ConfigLog } from '../../src/workers/config-log.js';
import { workers as workersCommand } from '../../src/control/worker-commands.js';
import { ControlError, type CommandResponse } from '../../src/control/protocol.js';
import { SEED_FILE, SNAT, FIP, VM_MAC, QR_MAC, GW_MAC, FIP_VIF_MAC, SNAT_IP, VM_IP, VM_EDGE, ETH3 } from '../helpers/seed-names.js';

const ASSIGNMENT = new Map([['w07', 0], ['w02', 1]]);
const NEXT_HOP_MAC = '02:00:5e:00:53:94';
const hooks = { invalidate: () => {} };

/** As the control server answers: a tool's error is a failed response. */
async function ctl(c: PartitionedControl, family: string, ...argv: string[]): Promise<CommandResponse> {
  try {
    return await c.run(COMMANDS.get(family)!, argv, hooks);
  } catch (e) {
    if (e instanceof ControlError) return { ok: false, stdout: '', stderr: e.message, exit: e.exit };
    throw e;
  }
}

async function must(c: PartitionedControl, family: string, ...argv: string[]): Promise<string> {
  const r = await ctl(c, family, ...argv);
  assert.ok(r.ok, `${family} ${argv.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** What the changes touch, as the tools show it (no counters: they restart at 0). */
const DUMPS: [string, string[]][] = [
  ['ofctl', ['dump-flows', '--no-stats', 'w07', 'br-int']],
  ['ofctl', ['dump-flows', '--no-stats', 'w02', 'br-ex']],
  ['ip', ['-n', FIP, 'w02', 'addr']],
  ['ip', ['-n', FIP, 'w02', 'rule']],
  ['ip', ['-n', FIP, 'w02', '-6', 'rule']],
  ['ip', ['-n', FIP, 'w02', '-6', 'route', 'show', 'table', 'all']],
  ['ip', ['-n', FIP, 'w02', 'route', 'show', 'table', 'all']],
  ['ip', ['-n', FIP, 'w02', 'neigh']],
  ['iptables', ['-n', SNAT, 'w02', '-S']],
  ['iptables', ['-n', SNAT, 'w02', '-t', 'nat', '-S']],
  ['bridge', ['w07', 'fdb', 'show', 'br', 'qbr2ab77d0f-99']],
  ['bridge', ['-d', 'w07', 'link', 'show', 'dev', 'tap2ab77d0f-99']],
];

async function dumps(c: PartitionedControl): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const [f, argv] of DUMPS) out[`${f} ${argv.join(' ')}`] = await must(c, f, ...argv);
  // A restarted worker adds the bridge's replayed entries before the journal restores its learned ones: the same entries, in another order.
  const fdb = 'bridge w07 fdb show br qbr2ab77d0f-99';
  out[fdb] = out[fdb]!.split('\n').sort().join('\n');
  return out;
}

const udp = (dst: string, sport: number): Uint8Array => buildFrame({ src: VM_MAC, dst: QR_MAC, ip: { src: VM_IP, dst }, udp: { sport, dport: 53, payload: 32 } });
const mac = (f: Uint8Array, at: number): string => [...f.subarray(at, at + 6)].map((b) => b.toString(16).padStart(2, '0')).join(':');
const ipAt = (f: Uint8Array, at: number): string => [...f.subarray(at, at + 4)].join('.');

/** Send a UDP datagram from the VM to `dst`: the destination MAC and address it leaves eth3 with, or null when nothing leaves. */
async function send(dp: PartitionedDatapath, dst: string, sport: number): Promise<{ mac: string; dst: string } | null> {
  const n = dp.frames(...ETH3).length;
  assert.ok(dp.inject(...VM_EDGE, udp(dst, sport)));
  await dp.settle();
  const out = dp.frames(...ETH3).slice(n);
  assert.ok(out.length <= 1, `${out.length} frames for one datagram`);
  // eth3 frames carry VLAN 103: the IPv4 header starts at 18.
  return out[0] ? { mac: mac(out[0], 0), dst: ipAt(out[0], 18 + 16) } : null;
}

async function arp(dp: PartitionedDatapath): Promise<void> {
  assert.ok(dp.inject(...VM_EDGE, buildFrame({ src: VM_MAC, dst: 'ff:ff:ff:ff:ff:ff', arp: { sha: VM_MAC, spa: VM_IP, tpa: '192.168.1.1' } })));
  await dp.settle();
  assert.ok(dp.inject(...ETH3, buildFrame({ src: GW_MAC, dst: 'ff:ff:ff:ff:ff:ff', vlans: [103], arp: { sha: GW_MAC, spa: '10.206.221.193', tpa: '10.206.221.195' } })));
  await dp.settle();
}

/** Where the test's destinations go: 203.0.113.5 by the added rule/route/neighbour, .99 dropped by the added flow, .98 by the added iptables rule. */
async function paths(dp: PartitionedDatapath, sport: number): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const dst of ['198.51.100.10', '203.0.113.5', '198.51.100.99', '198.51.100.98']) {
    const r = await send(dp, dst, sport);
    out[dst] = r ? `${r.dst} via ${r.mac}` : 'dropped';
  }
  return out;
}

const TOPOLOGY_FLOW = 'table=25,priority=2,in_port="qvo2ab77d0f-99",dl_src=fa:16:3e:b2:ef:af';

/** The runtime configuration of the test: returns the replayable writes made. */
async function configure(c: PartitionedControl): Promise<number> {
  // w07 br-int: replace the VM's anti-spoofing flow (the path needs it) by one with another cookie, as a file's text
  // (what `dpemu ofctl add-flows w07 br-int -` sends), and add a drop for one destination.
  await must(c, 'ofctl', 'del-flows', '--strict', 'w07', 'br-int', TOPOLOGY_FLOW);
  await must(c, 'ofctl', 'add-flows', 'w07', 'br-int', `# replaced\ncookie=0x77,${TOPOLOGY_FLOW} actions=resubmit(,30)\ncookie=0x78,table=0,priority=60,ip,dl_src=${VM_MAC},nw_dst=198.51.100.99 actions=drop\n`);
  await must(c, 'ofctl', 'add-flow', 'w07', 'br-int', 'cookie=0x79,table=0,priority=61,ip,nw_dst=198.51.100.97 actions=drop');
  await must(c, 'ofctl', 'mod-flows', '--strict', 'w07', 'br-int', 'table=0,priority=61,ip,nw_dst=198.51.100.97 actions=resubmit(,25)');
  // w02's fip namespace: 203.0.113.0/24 by rule to table 77, via a next hop with a permanent neighbour; an address.
  await must(c, 'ip', '-n', FIP, 'w02', 'addr', 'add', '10.206.221.196/26', 'dev', 'fip-vif.103');
  await must(c, 'ip', '-n', FIP, 'w02', 'rule', 'add', 'to', '203.0.113.0/24', 'lookup', '77', 'pref', '500');
  await must(c, 'ip', '-n', FIP, 'w02', 'route', 'add', '203.0.113.0/24', 'via', '10.206.221.194', 'dev', 'fip-vif.103', 'table', '77');
  await must(c, 'ip', '-n', FIP, 'w02', 'neigh', 'add', '10.206.221.194', 'lladdr', NEXT_HOP_MAC, 'dev', 'fip-vif.103', 'nud', 'permanent');
  // And IPv6's: a rule to table 77 and a route there.
  await must(c, 'ip', '-n', FIP, 'w02', '-6', 'rule', 'add', 'to', '2001:db8:77::/48', 'lookup', '77', 'pref', '500');
  await must(c, 'ip', '-n', FIP, 'w02', '-6', 'route', 'add', '2001:db8:77::/48', 'dev', 'fip-vif.103', 'table', '77');
  // w02's snat namespace: drop one destination in FORWARD.
  await must(c, 'iptables', '-n', SNAT, 'w02', '-I', 'FORWARD', '1', '-d', '198.51.100.98/32', '-j', 'DROP');
  // w02 br-ex: a flow on the other worker's bridge, deleted again (nothing of it stays).
  await must(c, 'ofctl', 'add-flow', 'w02', 'br-ex', 'table=0,priority=90,dl_vlan=999 actions=drop');
  await must(c, 'ofctl', 'del-flows', 'w02', 'br-ex', 'dl_vlan=999');
  // w07's qbr: a static entry on the VM's TAP.
  await must(c, 'bridge', 'w07', 'fdb', 'add', '0a:00:00:00:53:77', 'dev', 'tap2ab77d0f-99', 'master', 'static');
  // ... and its TAP's port settings (none of them on the paths' way).
  await must(c, 'bridge', 'w07', 'link', 'set', 'dev', 'tap2ab77d0f-99', 'cost', '5', 'guard', 'on');
  return 15;
}

test('flows, routes, rules, addresses, neighbours and iptables rules set at runtime survive their worker\'s restart', async () => {
  const dp = await PartitionedDatapath.start({ file: SEED_FILE, assignment: ASSIGNMENT, clock: 'manual' });
  const c = new PartitionedControl(dp);
  try {
    await arp(dp);
    const topo = await paths(dp, 41000);
    assert.deepEqual(topo, {
      '198.51.100.10': `198.51.100.10 via ${GW_MAC}`,
      '203.0.113.5': `203.0.113.5 via ${GW_MAC}`,
      '198.51.100.99': `198.51.100.99 via ${GW_MAC}`,
      '198.51.100.98': `198.51.100.98 via ${GW_MAC}`,
    });
    const made = await configure(c);
    // Not kept: reads, a write that failed (the route exists), conntrack and counter writes, fdb/flush.
    await must(c, 'ip', '-n', FIP, 'w02', 'route');
    assert.equal((await ctl(c, 'ip', '-n', FIP, 'w02', 'route', 'add', '203.0.113.0/24', 'via', '10.206.221.194', 'dev', 'fip-vif.103', 'table', '77')).ok, false);
    assert.equal((await ctl(c, 'ofctl', 'add-flow', 'w07', 'br-int', 'table=0,priority=1,no_such_field=1 actions=drop')).ok, false, 'a field ovs-ofctl does not know');
    await must(c, 'iptables', '-n', SNAT, 'w02', '-Z');
    await must(c, 'clear-counters');
    await must(c, 'appctl', 'fdb/flush', 'w02', 'br-ex');
    assert.equal(dp.configLog(0).size.commands + dp.configLog(1).size.commands, made);

    const want = {
      '198.51.100.10': `198.51.100.10 via ${GW_MAC}`,
      '203.0.113.5': `203.0.113.5 via ${NEXT_HOP_MAC}`,
      '198.51.100.99': 'dropped',
      '198.51.100.98': 'dropped',
    };
    assert.deepEqual(await paths(dp, 41001), want);
    const before = await dumps(c);
    assert.match(before['ofctl dump-flows --no-stats w07 br-int']!, /cookie=0x77, table=25, priority=2,in_port=41,dl_src=fa:16:3e:b2:ef:af actions=resubmit\(,30\)/);
    assert.doesNotMatch(before['ofctl dump-flows --no-stats w07 br-int']!, /cookie=0x5d3a9c1e77f0b214, table=25, priority=2/);
    assert.match(before[`ip -n ${FIP} w02 neigh`]!, new RegExp(`10\\.206\\.221\\.194 dev fip-vif\\.103 lladdr ${NEXT_HOP_MAC} PERMANENT`));
    assert.match(before[`iptables -n ${SNAT} w02 -S`]!, /-A FORWARD -d 198\.51\.100\.98\/32 -j DROP/);
    assert.match(before[`ip -n ${FIP} w02 -6 rule`]!, /^500:\tfrom all to 2001:db8:77::\/48 lookup 77$/m);
    assert.match(before[`ip -n ${FIP} w02 -6 route show table all`]!, /^2001:db8:77::\/48 dev fip-vif\.103 table 77 metric 1024 pref medium$/m);
    assert.match(before['bridge w07 fdb show br qbr2ab77d0f-99']!, /^0a:00:00:00:53:77 dev tap2ab77d0f-99 master qbr2ab77d0f-99 static$/m);
    assert.match(before['bridge -d w07 link show dev tap2ab77d0f-99']!, / cost 5 \n    hairpin off guard on /);

    let sport = 42000;
    for (const w of [0, 1]) {
      const back = dp.restarted(w);
      await dp.kill(w);
      await back;
      assert.deepEqual(await dumps(c), before, `after worker ${w}'s restart`);
      assert.deepEqual(await paths(dp, sport++), want, `after worker ${w}'s restart`);
      const st = dp.status()[w]!;
      assert.deepEqual(st.replay, { replayed: dp.configLog(w).size.commands, failed: [], failures: 0 });
      assert.ok(st.replay!.replayed > 0);
    }
    // `dpemu workers`: commands kept, none unkept, and what each restart replayed.
    const rows = (await workersCommand.run({ ...hooks, workers: dp }, [])).stdout.trim().split('\n').slice(1);
    for (const [w, row] of rows.entries()) {
      const n = dp.configLog(w).size.commands;
      assert.match(row, new RegExp(`^${w} +yes +1 +\\d+ +0 +0 +${n} +0 +${n} +`), row);
    }
    // Kept across a second restart too (the log stays).
    const back = dp.restarted(1);
    await dp.kill(1);
    await back;
    assert.deepEqual(await dumps(c), before);
  } finally {
    await dp.stop();
  }
});

test("mod-port reaches the port's worker and survives its restart: no-receive still drops the VM's traffic, and no snapshot drops it", async () => {
  const dp = await PartitionedDatapath.start({ file: SEED_FILE, assignment: ASSIGNMENT, clock: 'manual' });
  const c = new PartitionedControl(dp);
  try {
    await arp(dp);
    assert.ok(await send(dp, '198.51.100.10', 45000));
    await must(c, 'ofctl', 'mod-port', 'w07', 'br-int', 'qvo2ab77d0f-99', 'no-receive');
    await must(c, 'ofctl', 'mod-port', 'w07', 'br-int', 'qvo2ab77d0f-99', 'no-flood');
    assert.equal(await send(dp, '198.51.100.10', 45001), null);
    const desc = await must(c, 'ofctl', 'dump-ports-desc', 'w07', 'br-int');
    assert.match(desc, /\(qvo2ab77d0f-99\): addr:[0-9a-f:]+\n {5}config: {5}NO_RECV NO_FLOOD\n/);
    assert.equal(dp.configLog(0).size.commands, 2);
    const back = dp.restarted(0);
    await dp.kill(0);
    await back;
    assert.equal(await must(c, 'ofctl', 'dump-ports-desc', 'w07', 'br-int'), desc);
    assert.equal(await send(dp, '198.51.100.10', 45002), null);
    await must(c, 'ofctl', 'mod-port', 'w07', 'br-int', 'qvo2ab77d0f-99', 'receive');
    assert.ok(await send(dp, '198.51.100.10', 45003));
  } finally {
    await dp.stop();
  }
  // A bridge's flow snapshot replaces its flow_mods, not its ports' config.
  const log = new ConfigLog();
  log.add('ofctl', ['mod-port', 'w07', 'br-int', 'qvo2ab77d0f-99', 'down']);
  log.add('ofctl', ['add-flow', 'w07', 'br-int', 'actions=drop']);
  log.compacted('w07 br-int', [{ family: 'ofctl', argv: ['del-flows', 'w07', 'br-int'] }]);
  assert.deepEqual(log.commands().map((x) => x.argv[0]), ['mod-port', 'del-flows']);
});

test("set-frags reaches its bridge's worker and survives its restart", async () => {
  const dp = await PartitionedDatapath.start({ file: SEED_FILE, assignment: ASSIGNMENT, clock: 'manual' });
  const c = new PartitionedControl(dp);
  try {
    await must(c, 'ofctl', 'set-frags', 'w07', 'br-int', 'drop');
    await must(c, 'ofctl', 'set-frags', 'w02', 'br-int', 'nx-match');
    assert.equal((await ctl(c, 'ofctl', 'set-frags', 'w07', 'br-tun', 'reassemble')).ok, false);
    const frags = async (): Promise<string[]> => Promise.all([['w07', 'br-int'], ['w07', 'br-tun'], ['w02', 'br-int']].map(([n, b]) => must(c, 'ofctl', 'get-frags', n!, b!)));
    assert.deepEqual(await frags(), ['drop\n', 'normal\n', 'nx-match\n']);
    assert.equal(dp.configLog(0).size.commands, 1);
    assert.equal(dp.configLog(1).size.commands, 1);
    const back = dp.restarted(0);
    await dp.kill(0);
    await back;
    assert.deepEqual(await frags(), ['drop\n', 'normal\n', 'nx-match\n']);
    assert.match(await must(c, 'ofctl', 'show', 'w07', 'br-int'), /frags=drop miss_send_len=0\n$/);
  } finally {
    await dp.stop();
  }
});

test('a conntrack flush is not replayed: an entry made after it is there after the restart', async () => {
  const dp = await PartitionedDatapath.start({ file: SEED_FILE, assignment: ASSIGNMENT, clock: 'manual' });
  const c = new PartitionedControl(dp);
  try {
    await arp(dp);
    assert.ok(await send(dp, '198.51.100.10', 43000));
    const list = async (): Promise<string> => must(c, 'conntrack', '-n', SNAT, 'w02', '-L');
    assert.match(await list(), /dst=198\.51\.100\.10 /);
    await must(c, 'conntrack', '-n', SNAT, 'w02', '-F');
    assert.equal(await list(), '');
    assert.ok(await send(dp, '198.51.100.11', 43001));
    // Its reply: the entry is seen both ways.
    const out = dp.frames(...ETH3).at(-1)!;
    const port = (out[38]! << 8) | out[39]!;
    assert.ok(dp.inject(...ETH3, buildFrame({ src: GW_MAC, dst: FIP_VIF_MAC, vlans: [103], ip: { src: '198.51.100.11', dst: SNAT_IP, ttl: 60 }, udp: { sport: 53, dport: port, payload: 32 } })));
    await dp.settle();
    const entries = await list();
    assert.match(entries, /dst=198\.51\.100\.11 /);
    assert.doesNotMatch(entries, /UNREPLIED|dst=198\.51\.100\.10 /);
    const back = dp.restarted(1);
    await dp.kill(1);
    // A command while the worker is down gets an error at once (it is not queued for a port nobody reads), and is not kept.
    const during = await ctl(c, 'ip', '-n', FIP, 'w02', 'addr', 'add', '10.206.221.198/26', 'dev', 'fip-vif.103');
    await back;
    assert.equal(await list(), entries);
    assert.equal(dp.status()[1]!.replay!.replayed, 0);
    const addrs = await must(c, 'ip', '-n', FIP, 'w02', 'addr');
    if (during.ok) assert.match(addrs, /10\.206\.221\.198/);
    else {
      assert.match(during.stderr, /^dpemu: worker 1 died/);
      assert.doesNotMatch(addrs, /10\.206\.221\.198/);
      assert.equal(dp.configLog(1).size.commands, 0);
    }
  } finally {
    await dp.stop();
  }
});

test('add/del churn on a bridge is compacted: the log stays near the flows live, and replays them exactly', async () => {
  const dp = await PartitionedDatapath.start({ file: SEED_FILE, assignment: ASSIGNMENT, clock: 'manual' });
  const c = new PartitionedControl(dp);
  try {
    await arp(dp);
    await must(c, 'ofctl', 'del-flows', '--strict', 'w07', 'br-int', TOPOLOGY_FLOW);
    await must(c, 'ofctl', 'add-flow', 'w07', 'br-int', `cookie=0x77,${TOPOLOGY_FLOW} actions=resubmit(,30)`);
    const flow = (i: number): string => `table=60,priority=2,dl_vlan=11,dl_dst=fa:16:3e:ee:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`;
    // 4000 adds, each older flow deleted 100 later (100 live), 50 requests in flight at a time, as a client pipelines them.
    const N = 4000, LIVE = 100;
    for (let i = 0; i < N; i += 25) {
      const batch: Promise<string>[] = [];
      for (let j = i; j < i + 25; j++) {
        batch.push(must(c, 'ofctl', 'add-flow', 'w07', 'br-int', `cookie=0x88,${flow(j)} actions=drop`));
        if (j >= LIVE) batch.push(must(c, 'ofctl', 'del-flows', '--strict', 'w07', 'br-int', flow(j - LIVE)));
      }
      await Promise.all(batch);
    }
    await pause(50); // the last snapshot's answer
    const log = dp.configLog(0);
    assert.ok(log.compactions >= 2, `compactions: ${log.compactions}`);
    const flows = (await must(c, 'ofctl', 'dump-flows', '--no-stats', 'w07', 'br-int')).split('\n').length;
    // A snapshot (del-flows, add-flows) and at most COMPACT_MIN (or twice the snapshot's) lines since.
    assert.ok(log.size.commands <= 2 + Math.max(COMPACT_MIN, 2 * flows) + 1, JSON.stringify(log.size));
    // Flows of one priority dump in the order of the table's slots, as OVS's in its classifier's: compared as a set.
    const dump = async (): Promise<string[]> => (await must(c, 'ofctl', 'dump-flows', '--no-stats', 'w07', 'br-int')).split('\n').sort();
    const before = await dump();
    assert.equal(before.filter((l) => l.includes('cookie=0x88,')).length, LIVE);
    assert.ok(before.some((l) => l.includes('cookie=0x77,')) && !before.some((l) => l.includes('cookie=0x5d3a9c1e77f0b214, table=25, priority=2')));
    const back = dp.restarted(0);
    await dp.kill(0);
    await back;
    assert.deepEqual(await dump(), before);
    assert.equal(dp.status()[0]!.replay!.failures, 0);
    // The replaced topology flow forwards: the path is intact.
    assert.deepEqual(await send(dp, '198.51.100.10', 44000), { mac: GW_MAC, dst: '198.51.100.10' });
  } finally {
    await dp.stop();
  }
});

test('commands sent together are answered each with its own answer or error, in order, and kept in that order', async () => {
  const dp = await PartitionedDatapath.start({ file: SEED_FILE, assignment: ASSIGNMENT, clock: 'manual' });
  const c = new PartitionedControl(dp);
  try {
    const f = (port: number): string => `table=0,priority=${port},udp,tp_dst=${port}`;
    // Posted in one turn, before the worker looks: it takes them in one go and answers them together.
    const sent: [string, ...string[]][] = [
      ['ofctl', 'add-flow', 'w07', 'br-int', `cookie=0x91,${f(91)} actions=drop`],
      ['ofctl', 'mod-flows', '--strict', 'w07', 'br-int', `${f(91)} actions=resubmit(,25)`],
      ['ofctl', 'add-flow', 'w07', 'br-int', `${f(92)} actions=no_such_action`],
      ['ofctl', 'add-flow', 'w07', 'br-int', `cookie=0x93,${f(93)} actions=drop`],
      ['ofctl', 'del-flows', '--strict', 'w07', 'br-int', f(93)],
      ['ofctl', 'dump-flows', '--no-stats', 'w07', 'br-int', 'udp'],
      ['ofctl', 'add-flow', 'w07', 'br-nope', `${f(94)} actions=drop`],
      ['ofctl', 'add-flow', 'w07', 'br-int', `cookie=0x95,${f(95)} actions=drop`],
    ];
    const r = await Promise.all(sent.map(([family, ...argv]) => ctl(c, family, ...argv)));
    assert.deepEqual(r.map((x) => x.ok), [true, true, false, true, true, true, false, true], JSON.stringify(r));
    assert.match(r[2]!.stderr, /no_such_action/);
    assert.match(r[6]!.stderr, /br-nope/);
    // The read ran after the writes before it and before those after it.
    assert.match(r[5]!.stdout, /cookie=0x91, .*tp_dst=91 actions=resubmit\(,25\)/);
    assert.ok(!/tp_dst=9[345]/.test(r[5]!.stdout), r[5]!.stdout);
    // Kept: the writes that succeeded, in the order they ran; not the read, nor the failures.
    const kept = dp.configLog(0).commands().map((x) => x.argv.join(' '));
    assert.deepEqual(kept, [0, 1, 3, 4, 7].map((i) => sent[i]!.slice(1).join(' ')));
    const dump = () => must(c, 'ofctl', 'dump-flows', '--no-stats', 'w07', 'br-int');
    const before = await dump();
    const back = dp.restarted(0);
    await dp.kill(0);
    await back;
    assert.equal(await dump(), before);
    assert.match(before, /tp_dst=95 actions=drop/);
  } finally {
    await dp.stop();
  }
});

test('a full log keeps no more, counts what it did not keep and says so once', async () => {
  const losses: [number, number][] = [];
  const dp = await PartitionedDatapath.start({ file: SEED_FILE, assignment: ASSIGNMENT, clock: 'manual', configLogBytes: 2048, onConfigLoss: (w, n) => losses.push([w, n]) });
  const c = new PartitionedControl(dp);
  try {
    for (let i = 0; i < 40; i++) await must(c, 'ip', '-n', FIP, 'w02', 'route', 'add', `198.18.${i}.0/24`, 'via', '10.206.221.193', 'dev', 'fip-vif.103');
    const log = dp.configLog(1);
    assert.ok(log.unkept > 0 && log.size.bytes <= 2048, JSON.stringify({ unkept: log.unkept, size: log.size }));
    assert.equal(log.size.commands + log.unkept, 40);
    assert.deepEqual(losses, [[1, 1]]);
    const row = (await workersCommand.run({ ...hooks, workers: dp }, [])).stdout.trim().split('\n')[2]!;
    assert.match(row, new RegExp(`^1 +yes +0 +\\d+ +0 +0 +${log.size.commands} +${log.unkept} +0 +`), row);
    // The kept ones come back, the rest do not (as the warning says).
    const back = dp.restarted(1);
    await dp.kill(1);
    await back;
    const routes = await must(c, 'ip', '-n', FIP, 'w02', 'route');
    assert.equal(routes.match(/^198\.18\./gm)?.length, log.size.commands);
  } finally {
    await dp.stop();
  }
});

test('a reload starts from the file: runtime changes go, as inline, and the next datapath keeps no log of them', async () => {
  const old = await PartitionedDatapath.start({ file: SEED_FILE, assignment: ASSIGNMENT, clock: 'manual' });
  let next: PartitionedDatapath | null = null;
  try {
    const c = new PartitionedControl(old);
    const fresh = await dumps(c);
    await configure(c);
    assert.ok(old.configLog(0).size.commands > 0 && old.configLog(1).size.commands > 0);
    next = await PartitionedDatapath.start({ file: SEED_FILE, assignment: ASSIGNMENT, clock: 'manual', adoptLater: true });
    await next.adopt(await old.retire(), old.learnedState());
    const c2 = new PartitionedControl(next);
    assert.deepEqual([next.configLog(0).size.commands, next.configLog(1).size.commands], [0, 0]);
    assert.deepEqual(await dumps(c2), fresh);
    // A change after the reload is kept, and only it comes back after a restart.
    await must(c2, 'ip', '-n', FIP, 'w02', 'addr', 'add', '10.206.221.197/26', 'dev', 'fip-vif.103');
    const after = await dumps(c2);
    const back = next.restarted(1);
    await next.kill(1);
    await back;
    assert.deepEqual(await dumps(c2), after);
    assert.equal(next.status()[1]!.replay!.replayed, 1);
  } finally {
    await old.stop();
    await next?.stop();
  }
});

const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
