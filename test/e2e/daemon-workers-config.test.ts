// `dpemu run --lab --workers 2`: configuration changed at runtime with the
// CLI (ovs-ofctl flows, one of them from stdin as `-`, ip route/rule/addr/
// neigh, iptables, ovs-vsctl set/add, two joined by `--`, add-port/del-port, add-br/del-br) survives `dpemu workers kill N` of the worker that owns
// the nodes: after the restart every dump reads as before and the traffic
// still goes where the changes send it. A route on the ToR carries pings to
// an address only the internet host's namespace has (without it the ToR has
// no route there); an iptables rule in the SNAT namespace drops pings to the
// internet host. A reload (`dpemu reload`) builds the file again: the
// changes go, as with --workers 0 (checked here too), and a restart after it
// brings none back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { requireRoot } from '../helpers/root.js';
import { run } from './lab-names.js';
import { DaemonProcess, workerRows, type WorkerRow, WAIT_MS } from './daemon-process.js';
import { FIP, QROUTER, SNAT } from '../helpers/seed-names.js';
import { LabDaemons } from './lab-dvr.js';

const daemons = new LabDaemons();

const INET = '203.0.113.8';
/** An address only the internet host's namespace has: reached through the ToR's runtime route. */
const BEHIND = '198.51.100.77';
const ANTI_SPOOF = 'table=25,priority=2,in_port=qvo2ab77d0f-99,dl_src=fa:16:3e:b2:ef:af';

async function must(d: DaemonProcess, ...args: string[]): Promise<string> {
  const r = await d.cli(args);
  assert.equal(r.status, 0, `dpemu ${args.join(' ')}: ${r.out}`);
  return r.out;
}

/** What the changes touch, as the tools show it (no counters: they restart at 0). */
const DUMPS = [
  ['ofctl', 'dump-flows', '--no-stats', 'w07', 'br-int'],
  ['ip', 'tor', 'route'],
  ['ip', '-n', FIP, 'w02', 'rule'],
  ['ip', '-n', FIP, 'w02', 'route', 'show', 'table', 'all'],
  ['ip', '-n', FIP, 'w02', 'addr'],
  ['ip', '-n', FIP, 'w02', 'neigh'],
  ['iptables', '-n', SNAT, 'w02', '-S'],
];

async function dumps(d: DaemonProcess): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  // Of the neighbours, the PERMANENT ones: the others' states move with time (the journal keeps them, see daemon-workers.test.ts).
  for (const args of DUMPS) out[args.join(' ')] = (await must(d, ...args)).split('\n').filter((l) => args.at(-1) !== 'neigh' || l.includes('PERMANENT')).join('\n');
  return out;
}

async function pings(ns: string, dst: string): Promise<boolean> {
  const r = await run('ip', ['netns', 'exec', ns, 'ping', '-c', '2', '-i', '0.3', '-W', '1', '-n', dst], 15_000);
  return /2 packets transmitted, 2 received/.test(r.out);
}

/** `dpemu workers`, every worker alive. */
async function workers(d: DaemonProcess): Promise<WorkerRow[]> {
  const rows = await workerRows(d);
  assert.ok(rows.every((w) => w.alive), JSON.stringify(rows));
  return rows;
}

async function killAndWait(d: DaemonProcess, w: number): Promise<Record<string, unknown>> {
  const mark = d.logs.length;
  await must(d, 'workers', 'kill', String(w));
  return d.waitLog((l) => l.msg.startsWith(`datapath worker ${w} died and was restarted`), WAIT_MS, mark);
}

test('--workers 2: flows, routes, rules, addresses, neighbours and iptables rules set with the CLI survive a killed worker; a reload drops them', { timeout: 300_000 }, async () => {
  requireRoot('dpemu run end-to-end tests');
  const { d, lab } = await daemons.start(['--workers', '2']);
  const ws = await workers(d);
  const w07 = ws.find((w) => w.nodes.includes('w07'))!.index, w02 = ws.find((w) => w.nodes.includes('w02'))!.index;
  assert.notEqual(w07, w02);
  assert.ok(ws.find((w) => w.index === w02)!.nodes.includes('tor'));
  const fresh = await dumps(d);

  // The internet host (a kernel namespace of the lab) has BEHIND too; the ToR has no route to it yet.
  assert.equal((await run('ip', ['netns', 'exec', lab.nsInet, 'ip', 'addr', 'add', `${BEHIND}/32`, 'dev', 'eth0'])).status, 0);
  assert.equal(await pings(lab.nsVm, INET), true);
  assert.equal(await pings(lab.nsVm, BEHIND), false);

  // w07 (one worker): the VM's anti-spoofing flow replaced by one from stdin with another cookie; a drop flow.
  await must(d, 'ofctl', 'del-flows', '--strict', 'w07', 'br-int', ANTI_SPOOF);
  const viaStdin = await d.cli(['ofctl', 'add-flow', 'w07', 'br-int', '-'], `cookie=0x77,${ANTI_SPOOF} actions=resubmit(,30)\n`);
  assert.equal(viaStdin.status, 0, viaStdin.out);
  await must(d, 'ofctl', 'add-flow', 'w07', 'br-int', 'cookie=0x78,table=0,priority=60,udp,nw_dst=192.0.2.9 actions=drop');
  // w02 and the ToR (the other worker): a route, a rule with its table, an address, a permanent neighbour of each family, an iptables rule.
  await must(d, 'ip', 'tor', 'route', 'add', `${BEHIND}/32`, 'via', INET, 'dev', 'swp2');
  await must(d, 'ip', '-n', FIP, 'w02', 'rule', 'add', 'to', '192.0.2.0/24', 'lookup', '77', 'pref', '500');
  await must(d, 'ip', '-n', FIP, 'w02', 'route', 'add', '192.0.2.0/24', 'via', '10.206.221.194', 'dev', 'fip-vif.103', 'table', '77');
  await must(d, 'ip', '-n', FIP, 'w02', 'addr', 'add', '10.206.221.196/26', 'dev', 'fip-vif.103');
  await must(d, 'ip', '-n', FIP, 'w02', 'neigh', 'add', '10.206.221.194', 'lladdr', '02:00:5e:00:53:94', 'dev', 'fip-vif.103', 'nud', 'permanent');
  await must(d, 'ip', '-n', FIP, '-6', 'w02', 'neigh', 'add', '2001:db8:94::1', 'lladdr', '02:00:5e:00:53:95', 'dev', 'fip-vif.103');
  await must(d, 'iptables', '-n', SNAT, 'w02', '-I', 'FORWARD', '1', '-p', 'icmp', '-d', `${INET}/32`, '-j', 'DROP');
  // Not kept: a failed write, a conntrack flush.
  assert.notEqual((await d.cli(['ip', 'tor', 'route', 'add', `${BEHIND}/32`, 'via', INET, 'dev', 'swp2'])).status, 0);
  await must(d, 'conntrack', '-n', SNAT, 'w02', '-F');

  const changed = await dumps(d);
  assert.match(changed['ofctl dump-flows --no-stats w07 br-int']!, /cookie=0x77, table=25, priority=2,in_port=\d+,dl_src=fa:16:3e:b2:ef:af actions=resubmit\(,30\)/);
  assert.match(changed['ip tor route']!, new RegExp(`^${BEHIND} via ${INET} dev swp2`, 'm'));
  assert.match(changed[`ip -n ${FIP} w02 neigh`]!, /^2001:db8:94::1 dev fip-vif\.103 lladdr 02:00:5e:00:53:95 PERMANENT $/m);
  assert.equal(await pings(lab.nsVm, BEHIND), true, 'the ToR routes to the internet host');
  assert.equal(await pings(lab.nsVm, INET), false, 'the SNAT namespace drops pings to the internet host');
  const kept = await workers(d);
  assert.deepEqual(kept.map((w) => w.config), ws.map((w) => (w.index === w07 ? 3 : 7)));

  for (const w of [w07, w02]) {
    const log = await killAndWait(d, w);
    assert.deepEqual(await dumps(d), changed, `after worker ${w}'s restart`);
    assert.equal(await pings(lab.nsVm, BEHIND), true, `after worker ${w}'s restart: the ToR's route`);
    assert.equal(await pings(lab.nsVm, INET), false, `after worker ${w}'s restart: the iptables rule`);
    assert.equal(log.configReplayed, w === w07 ? 3 : 7, JSON.stringify(log));
    assert.equal(log.configFailed, 0, JSON.stringify(log));
  }
  const after = await workers(d);
  assert.deepEqual(after.map((w) => [w.restarts, w.replayed, w.unkept]), ws.map((w) => [1, w.index === w07 ? 3 : 7, 0]));

  // A reload builds the file: the changes go (as with --workers 0), and the log with them.
  await must(d, 'reload');
  assert.deepEqual(await dumps(d), fresh);
  assert.equal(await pings(lab.nsVm, INET), true);
  assert.deepEqual((await workers(d)).map((w) => w.config), [0, 0]);
  await killAndWait(d, w02);
  assert.deepEqual(await dumps(d), fresh);

  await daemons.stop(d, lab);
});

/** What the ovs-vsctl writes set, as vsctl and the fdb show it. */
async function vsctlDumps(d: DaemonProcess): Promise<string[]> {
  const stats = await must(d, 'appctl', 'fdb/stats-show', 'w07', 'br-int');
  return [
    await must(d, 'vsctl', 'get', 'w07', 'Open_vSwitch', '.', 'other_config'),
    await must(d, 'vsctl', 'get', 'w07', 'Bridge', 'br-int', 'other_config'),
    await must(d, 'vsctl', 'get', 'w07', 'Port', 'qvo2ab77d0f-99', 'tag'),
    /maximum MAC entries in the table: \d+\/(\d+)/.exec(stats)![1]!,
  ];
}

test('--workers 2: ovs-vsctl writes (max-idle, mac-table-size, mac-aging-time, a Port tag; two of them joined by --, one transaction) reach the worker that owns the node, one entry of its log, and survive its restart', { timeout: 300_000 }, async () => {
  requireRoot('dpemu run end-to-end tests');
  const { d, lab } = await daemons.start(['--workers', '2']);
  const ws = await workers(d);
  const w07 = ws.find((w) => w.nodes.includes('w07'))!.index;
  assert.equal(await pings(lab.nsVm, INET), true);
  await must(d, 'vsctl', 'set', 'w07', 'Open_vSwitch', '.', 'other_config:max-idle=2000');
  // Two writes joined by `--`: one transaction, one entry of the log. The VM's port on a VLAN where br-int has no router port: its pings go nowhere.
  await must(d, 'vsctl', 'add', 'w07', 'Bridge', 'br-int', 'other_config', 'mac-table-size=10', 'mac-aging-time=30', '--', 'set', 'w07', 'Port', 'qvo2ab77d0f-99', 'tag=11');
  // Not kept: a write dpemu refuses, a chain of which one command fails (nothing of it written), a --dry-run.
  assert.notEqual((await d.cli(['vsctl', 'set', 'w07', 'Bridge', 'br-int', 'other_config:forward-bpdu=true'])).status, 0);
  assert.notEqual((await d.cli(['vsctl', 'set', 'w07', 'Port', 'qvo2ab77d0f-99', 'tag=12', '--', 'set', 'w07', 'Port', 'dpe-nope', 'tag=12'])).status, 0);
  await must(d, 'vsctl', '--dry-run', '--no-wait', 'set', 'w07', 'Port', 'qvo2ab77d0f-99', 'tag=13');
  const set = await vsctlDumps(d);
  assert.deepEqual(set, ['{max-idle="2000"}\n', '{mac-aging-time="30", mac-table-size="10"}\n', '11\n', '10']);
  assert.equal(await pings(lab.nsVm, INET), false, 'the VM on VLAN 11');
  assert.deepEqual((await workers(d)).map((w) => w.config), ws.map((w) => (w.index === w07 ? 2 : 0)));

  const log = await killAndWait(d, w07);
  assert.equal(log.configReplayed, 2, JSON.stringify(log));
  assert.equal(log.configFailed, 0, JSON.stringify(log));
  assert.deepEqual(await vsctlDumps(d), set, 'after the restart');
  assert.equal(await pings(lab.nsVm, INET), false, 'after the restart: the VM still on VLAN 11');
  await must(d, 'vsctl', 'set', 'w07', 'Port', 'qvo2ab77d0f-99', 'tag=10');
  assert.equal(await pings(lab.nsVm, INET), true, 'back on its VLAN');
  await daemons.stop(d, lab);
});

/** What ovs-vsctl add-port and del-port changed, as vsctl, ofctl, appctl and ip show it (no counters). */
async function portDumps(d: DaemonProcess): Promise<string[]> {
  return [
    await must(d, 'vsctl', 'show', 'w07'),
    await must(d, 'vsctl', '--columns=name,ofport,type,ifindex,admin_state,error', 'list', 'w07', 'Interface'),
    (await must(d, 'ofctl', 'dump-ports-desc', 'w07', 'br-int')).replace(/^ +(speed|current|advertised|supported|peer):.*\n/gm, ''),
    (await must(d, 'appctl', 'dpif/show', 'w07')).replace(/hit:\d+ missed:\d+/, ''),
    (await must(d, 'ip', 'w07', 'link')).replace(/^ +link\/.*\n/gm, ''),
  ];
}

test('--workers 2: ovs-vsctl add-port and del-port reach the worker that owns the node, are kept in its log, and a restart replays them to the same ports, ofports, datapath ports and devices', { timeout: 300_000 }, async () => {
  requireRoot('dpemu run end-to-end tests');
  const { d, lab } = await daemons.start(['--workers', '2']);
  const ws = await workers(d);
  const w07 = ws.find((w) => w.nodes.includes('w07'))!.index;
  assert.equal(await pings(lab.nsVm, INET), true);
  await must(d, 'vsctl', 'add-port', 'w07', 'br-int', 'dpe-wk1', '--', 'set', 'w07', 'Interface', 'dpe-wk1', 'type=internal');
  await must(d, 'vsctl', 'add-port', 'w07', 'br-int', 'dpe-wk2', 'tag=7', '--', 'set', 'w07', 'Interface', 'dpe-wk2', 'type=internal');
  await must(d, 'vsctl', 'del-port', 'w07', 'dpe-wk1');
  // The VM's port off br-int: its pings go nowhere.
  await must(d, 'vsctl', 'del-port', 'w07', 'br-int', 'qvo2ab77d0f-99');
  // Not kept: a chain of which one command fails.
  assert.notEqual((await d.cli(['vsctl', 'add-port', 'w07', 'br-int', 'dpe-wk3', '--', 'del-port', 'w07', 'dpe-nope'])).status, 0);
  const changed = await portDumps(d);
  assert.match(changed[0]!, /Port "dpe-wk2"\n {12}tag: 7\n {12}Interface "dpe-wk2"\n {16}type: internal\n/);
  assert.doesNotMatch(changed[0]!, /dpe-wk1|dpe-wk3|qvo2ab77d0f-99/);
  assert.match(changed[4]!, /^\d+: dpe-wk2: <BROADCAST,MULTICAST> .* state DOWN /m);
  assert.equal(await pings(lab.nsVm, INET), false, 'the VM off the bridge');
  assert.deepEqual((await workers(d)).map((w) => w.config), ws.map((w) => (w.index === w07 ? 4 : 0)));

  const log = await killAndWait(d, w07);
  assert.equal(log.configReplayed, 4, JSON.stringify(log));
  assert.equal(log.configFailed, 0, JSON.stringify(log));
  assert.deepEqual(await portDumps(d), changed, 'after the restart');
  assert.equal(await pings(lab.nsVm, INET), false, 'after the restart: the VM still off the bridge');
  await daemons.stop(d, lab);
});

/** What ovs-vsctl add-br and del-br changed, as vsctl, ofctl, appctl and ip show it (no counters). */
async function bridgeDumps(d: DaemonProcess): Promise<string[]> {
  return [
    await must(d, 'vsctl', 'show', 'w07'),
    await must(d, 'vsctl', '--columns=name,datapath_id,fail_mode,other_config', 'list', 'w07', 'Bridge'),
    await must(d, 'ofctl', 'show', 'w07', 'dpe-wb1'),
    await must(d, 'ofctl', 'dump-flows', 'w07', 'dpe-wb1', '--no-stats'),
    (await must(d, 'appctl', 'dpif/show', 'w07')).replace(/hit:\d+ missed:\d+/, ''),
    (await must(d, 'ip', 'w07', 'link')).replace(/^ +link\/.*\n/gm, ''),
  ];
}

test('--workers 2: ovs-vsctl add-br and del-br reach the worker that owns the node, are kept in its log, and a restart replays them to the same bridges, flows, datapath ports and devices', { timeout: 300_000 }, async () => {
  requireRoot('dpemu run end-to-end tests');
  const { d, lab } = await daemons.start(['--workers', '2']);
  const ws = await workers(d);
  const w07 = ws.find((w) => w.nodes.includes('w07'))!.index;
  await must(d, 'vsctl', 'add-br', 'w07', 'dpe-wb1', '--', 'set', 'w07', 'bridge', 'dpe-wb1', 'fail-mode=secure', 'other_config:mac-table-size=50');
  await must(d, 'vsctl', 'add-br', 'w07', 'dpe-wb2');
  await must(d, 'vsctl', 'add-port', 'w07', 'dpe-wb1', 'dpe-wp1', '--', 'set', 'w07', 'Interface', 'dpe-wp1', 'type=internal');
  await must(d, 'ofctl', 'add-flow', 'w07', 'dpe-wb1', 'priority=5,in_port=dpe-wp1,actions=LOCAL');
  await must(d, 'vsctl', 'del-br', 'w07', 'dpe-wb2');
  // Not kept: a chain of which one command fails.
  assert.notEqual((await d.cli(['vsctl', 'add-br', 'w07', 'dpe-wb3', '--', 'del-br', 'w07', 'dpe-nope'])).status, 0);
  const changed = await bridgeDumps(d);
  assert.match(changed[0]!, /Bridge "dpe-wb1"\n {8}fail_mode: secure\n/);
  assert.doesNotMatch(changed[0]!, /dpe-wb2|dpe-wb3/);
  assert.match(changed[3]!, /^ priority=5,in_port=1 actions=LOCAL\n$/);
  assert.match(changed[5]!, /^\d+: dpe-wb1: <BROADCAST,MULTICAST> .* state DOWN /m);
  assert.doesNotMatch(changed[5]!, /dpe-wb2/);
  assert.deepEqual((await workers(d)).map((w) => w.config), ws.map((w) => (w.index === w07 ? 5 : 0)));

  const log = await killAndWait(d, w07);
  assert.equal(log.configReplayed, 5, JSON.stringify(log));
  assert.equal(log.configFailed, 0, JSON.stringify(log));
  assert.deepEqual(await bridgeDumps(d), changed, 'after the restart');
  assert.equal(await pings(lab.nsVm, INET), true, 'the topology\'s bridges untouched');
  await daemons.stop(d, lab);
});

test('--workers 2: sysctl writes in a namespace (ip netns exec NS sysctl) reach the worker that owns the node, are kept in its log, and survive its restart', { timeout: 300_000 }, async () => {
  requireRoot('dpemu run end-to-end tests');
  const { d, lab } = await daemons.start(['--workers', '2']);
  const ws = await workers(d);
  const w07 = ws.find((w) => w.nodes.includes('w07'))!.index;
  const exec = ['ip', 'w07', 'netns', 'exec', QROUTER, 'sysctl'];
  const KEYS = ['net.ipv4.conf.all.rp_filter', 'net.ipv4.conf.qr-178fc8e2-fd.rp_filter', 'net.ipv4.ip_default_ttl', 'net.ipv4.neigh.qr-178fc8e2-fd.retrans_time'];
  assert.equal(await must(d, ...exec, '-n', ...KEYS), '0\n0\n64\n100\n');
  assert.equal(await must(d, ...exec, '-w', 'net.ipv4.conf.all.rp_filter=2', 'net.ipv4.conf.qr-178fc8e2-fd.rp_filter=1'), 'net.ipv4.conf.all.rp_filter = 2\nnet.ipv4.conf.qr-178fc8e2-fd.rp_filter = 1\n');
  await must(d, ...exec, 'net.ipv4.ip_default_ttl=77', 'net.ipv4.neigh.qr-178fc8e2-fd.retrans_time_ms=400');
  // Not kept: a write the kernel refuses (it changed nothing), and reads.
  assert.equal((await d.cli([...exec, '-w', 'net.ipv4.ip_default_ttl=abc'])).status, 1);
  assert.deepEqual((await workers(d)).map((w) => w.config), ws.map((w) => (w.index === w07 ? 2 : 0)));

  const log = await killAndWait(d, w07);
  assert.equal(log.configReplayed, 2, JSON.stringify(log));
  assert.equal(log.configFailed, 0, JSON.stringify(log));
  assert.equal(await must(d, ...exec, '-n', ...KEYS), '2\n1\n77\n40\n', 'after the restart');
  await daemons.stop(d, lab);
});

test('--workers 0: a reload builds the file, runtime changes go (what --workers N does too)', { timeout: 180_000 }, async () => {
  requireRoot('dpemu run end-to-end tests');
  const { d, lab } = await daemons.start(['--workers', '0']);
  const fresh = await dumps(d);
  await must(d, 'ofctl', 'add-flow', 'w07', 'br-int', 'cookie=0x78,table=0,priority=60,udp,nw_dst=192.0.2.9 actions=drop');
  await must(d, 'ip', 'tor', 'route', 'add', `${BEHIND}/32`, 'via', INET, 'dev', 'swp2');
  assert.notDeepEqual(await dumps(d), fresh);
  await must(d, 'reload');
  assert.deepEqual(await dumps(d), fresh);
  await daemons.stop(d, lab);
});
