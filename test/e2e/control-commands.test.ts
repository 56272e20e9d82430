// Every control command against an in-process daemon (the seed topology with
// its lab hosts), through the real socket: reads print the real tools' text,
// writes change forwarding at once, bad input changes nothing.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { runRemote } from '../../src/control/client.js';
import { parsePackets } from '../../src/cli/packet-flags.js';
import { macDefaults } from '../../src/cli/trace.js';
import { cli, startDaemon, type Daemon } from '../helpers/control.js';
import { spawnSync } from 'node:child_process';
import { FIP, QROUTER as QR, SNAT } from '../helpers/seed-names.js';
import { requireTool } from '../helpers/tools.js';

let d: Daemon;
const run = (fam: string, argv: string[]) => runRemote({ socketPath: d.server.path }, fam, argv);

/** The write-up's echo request from the VM, injected at w07's tap; returns how many frames left w02's eth3 and w07's eth2. */
function ping(): { eth3: number; eth2: number } {
  const { emu } = d;
  const before = { eth3: emu.engine.stats.sum('port_tx_packets', { node: 'w02', port: 'eth3' }), eth2: emu.engine.stats.sum('port_tx_packets', { node: 'w07', port: 'eth2' }) };
  const [p] = parsePackets(['--in', 'w07:tap2ab77d0f-99', '--icmp-echo', '--src', '192.168.1.7', '--dst', '8.8.8.8'], macDefaults(emu));
  emu.engine.inject(emu.engine.pool.allocFrom(p!.frame)!, emu.findPort('w07', 'tap2ab77d0f-99')!);
  return {
    eth3: emu.engine.stats.sum('port_tx_packets', { node: 'w02', port: 'eth3' }) - before.eth3,
    eth2: emu.engine.stats.sum('port_tx_packets', { node: 'w07', port: 'eth2' }) - before.eth2,
  };
}

before(async () => {
  d = await startDaemon();
});
after(async () => {
  await d.stop();
});

test('vsctl show prints the write-up layout', async () => {
  const r = await run('vsctl', ['show', 'w02']);
  assert.equal(r.exit, 0);
  assert.match(r.stdout, /^[0-9a-f-]{36}\n    Bridge br-int\n        fail_mode: secure\n/);
  assert.ok(r.stdout.includes(`        Port "vxlan-0ace6bee"\n            Interface "vxlan-0ace6bee"\n                type: vxlan\n                options: {df_default="true", in_key=flow, local_ip="10.206.107.156", out_key=flow, remote_ip="10.206.107.238"}\n`));
  assert.ok(r.stdout.includes('        Port "fip-vif.103"\n            tag: 103\n            Interface "fip-vif.103"\n                type: internal\n'));
  assert.ok(r.stdout.endsWith('    ovs_version: "2.5.5"\n'));
});

test("vsctl list and find through the CLI: ovs-vsctl's short options reach the daemon", async () => {
  const r = await cli(d.server.path, ['vsctl', '-f', 'csv', '--columns', 'name,ofport', 'find', 'w07', 'Interface', 'type=patch']);
  assert.deepEqual(r, { code: 0, stdout: 'name,ofport\npatch-tun,1\npatch-int,1\n', stderr: '' });
  const bad = await cli(d.server.path, ['vsctl', 'list', 'w07', 'Interface', 'dpe-nope']);
  assert.deepEqual(bad, { code: 1, stdout: '', stderr: 'ovs-vsctl: no row "dpe-nope" in table Interface\n' });
});

test('ofctl dump-flows, names and filter; dump-ports-desc', async () => {
  const all = await run('ofctl', ['dump-flows', 'w07', 'br-int']);
  assert.equal(all.exit, 0);
  assert.equal(all.stdout.split('\n')[0], 'NXST_FLOW reply (xid=0x4):');
  const named = await run('ofctl', ['dump-flows', 'w07', 'br-int', '--names', 'table=0,in_port=qvo2ab77d0f-99']);
  const lines = named.stdout.trim().split('\n'); // with --names, no reply header (ovs-ofctl 3.1)
  assert.equal(lines.length, 2);
  assert.ok(lines.every((l) => l.includes('in_port="qvo2ab77d0f-99"') && l.includes('table=0')));
  const pd = await run('ofctl', ['dump-ports-desc', 'w07', 'br-int']);
  assert.ok(pd.stdout.startsWith('OFPST_PORT_DESC reply (xid=0x2):\n 1(patch-tun): addr:'));
  assert.ok(pd.stdout.includes(' 40(qr-178fc8e2-fd): addr:fa:16:3e:06:d8:7b\n') && pd.stdout.includes(' LOCAL(br-int): addr:'));
  // A veth port reports ethtool's veth features, as ovs-vswitchd 3.1 printed for a veth; an internal port none.
  assert.ok(pd.stdout.includes(' 41(qvo2ab77d0f-99): addr:46:4f:72:0f:95:bf\n     config:     0\n     state:      0\n     current:    10GB-FD COPPER\n     speed: 10000 Mbps now, 0 Mbps max\n'), pd.stdout);
  assert.ok(pd.stdout.includes(' 40(qr-178fc8e2-fd): addr:fa:16:3e:06:d8:7b\n     config:     0\n     state:      0\n     speed: 0 Mbps now, 0 Mbps max\n'), pd.stdout);
});

test('brctl show and showmacs, appctl fdb/show after traffic', async () => {
  const s = await run('brctl', ['show', 'w07']);
  assert.equal(s.stdout, 'bridge name\tbridge id\t\tSTP enabled\tinterfaces\nqbr2ab77d0f-99\t\t8000.966e9ba8b1fc\tno\t\tqvb2ab77d0f-99\n\t\t\t\t\t\t\ttap2ab77d0f-99\n');
  ping();
  const macs = await run('brctl', ['showmacs', 'w07', 'qbr2ab77d0f-99']);
  assert.match(macs.stdout, /^port no\tmac addr\t\tis local\?\tageing timer\n/);
  assert.match(macs.stdout, /\n  2\tfa:16:3e:b2:ef:af\tno\t\t/);
  const fdb = await run('appctl', ['fdb/show', 'w07', 'br-int']);
  assert.match(fdb.stdout, /^ port  VLAN  MAC                Age\n/);
  assert.match(fdb.stdout, /\n   41    10  fa:16:3e:b2:ef:af +\d+\n/);
});

test('bridge fdb show and link show through the CLI: the qbr learns the VM, a namespace lists its devices\' own addresses, fdb and link writes run', async () => {
  const sock = d.server.path;
  ping();
  const fdb = await cli(sock, ['bridge', 'w07', 'fdb', 'show', 'br', 'qbr2ab77d0f-99']);
  assert.equal(fdb.code, 0, fdb.stderr);
  // The VM's MAC learned on its TAP, above the TAP's own address (newest first).
  assert.match(fdb.stdout, /\nfa:16:3e:b2:ef:af dev tap2ab77d0f-99 master qbr2ab77d0f-99 \nfe:16:3e:b2:ef:af dev tap2ab77d0f-99 master qbr2ab77d0f-99 permanent\n/);
  const link = await cli(sock, ['bridge', '-d', 'w07', 'link', 'show', 'dev', 'tap2ab77d0f-99']);
  assert.match(link.stdout, /^\d+: tap2ab77d0f-99: <[A-Z,_-]+> mtu 1450 master qbr2ab77d0f-99 state \w+ priority 32 cost 2 \n    hairpin off .* locked off \n$/);
  // No Linux bridge in a router namespace: each Ethernet device's own multicast addresses, no ports.
  const ns = await cli(sock, ['bridge', '-n', QR, 'w07', 'fdb']);
  // IPv6's all-nodes and (forwarding) all-routers, IPv4's all-hosts, then the link-local's solicited-node and the subnet-router anycast's groups.
  const groups = ['33:33:00:00:00:01', '33:33:00:00:00:02', '01:00:5e:00:00:01', '33:33:ff:06:d8:7b', '33:33:ff:00:00:00'];
  assert.ok(ns.stdout.includes(groups.map((g) => `${g} dev qr-178fc8e2-fd self permanent\n`).join('')), ns.stdout);
  assert.ok(ns.stdout.split('\n').slice(0, -1).every((l) => / self permanent$/.test(l)), ns.stdout);
  assert.deepEqual(await cli(sock, ['bridge', '-n', QR, 'w07', 'link']), { code: 0, stdout: '', stderr: '' });
  // No VLAN on any port (a kernel without bridge VLAN filtering), no multicast group (snooping off).
  assert.deepEqual(await cli(sock, ['bridge', 'w07', 'vlan', 'show', 'dev', 'tap2ab77d0f-99']), { code: 0, stdout: 'port              vlan-id  \n', stderr: '' });
  assert.deepEqual(await cli(sock, ['bridge', '-j', 'w07', 'mdb', 'show']), { code: 0, stdout: '[{"mdb":[],"router":{}}]\n', stderr: '' });
  // fdb writes go to the daemon as writes (test/e2e/bridge-fdb-write-kernel.test.ts holds them to the kernel); link set is refused.
  assert.deepEqual(await cli(sock, ['bridge', 'w07', 'fdb', 'add', '0a:00:00:00:00:01', 'dev', 'tap2ab77d0f-99', 'master', 'static']), { code: 0, stdout: '', stderr: '' });
  assert.match((await cli(sock, ['bridge', 'w07', 'fdb', 'show', 'br', 'qbr2ab77d0f-99'])).stdout, /^0a:00:00:00:00:01 dev tap2ab77d0f-99 master qbr2ab77d0f-99 static$/m);
  assert.deepEqual(await cli(sock, ['bridge', 'w07', 'fdb', 'del', 'fa:16:3e:b2:ef:af', 'dev', 'tap2ab77d0f-99']), { code: 255, stdout: '', stderr: 'RTNETLINK answers: No such file or directory\n' });
  assert.deepEqual(await cli(sock, ['bridge', 'w07', 'fdb', 'del', '0a:00:00:00:00:01', 'dev', 'tap2ab77d0f-99', 'master']), { code: 0, stdout: '', stderr: '' });
  // link set goes to the daemon as a write too (test/e2e/bridge-link-kernel.test.ts holds it to the kernel).
  assert.deepEqual(await cli(sock, ['bridge', 'w07', 'link', 'set', 'dev', 'tap2ab77d0f-99', 'cost', '5']), { code: 0, stdout: '', stderr: '' });
  assert.match((await cli(sock, ['bridge', 'w07', 'link', 'show', 'dev', 'tap2ab77d0f-99'])).stdout, / priority 32 cost 5 \n$/);
  assert.deepEqual(await cli(sock, ['bridge', 'w07', 'link', 'set', 'dev', 'tap2ab77d0f-99', 'cost', '2']), { code: 0, stdout: '', stderr: '' });
  assert.equal((await cli(sock, ['bridge', 'w07', 'fdb', 'show', 'br', 'qbr2ab77d0f-99'])).stdout, fdb.stdout, 'as before');
});

test('ip addr/link/route/rule/neigh inside namespaces', async () => {
  const rt = await run('ip', ['-n', SNAT, 'w02', 'route']);
  assert.ok(rt.stdout.startsWith('default via 169.254.96.33 dev rfp-c4d4b760-4 '));
  const rule = await run('ip', ['-n', QR, 'w07', 'rule']);
  assert.ok(rule.stdout.includes('3232235777:\tfrom 192.168.1.1/24 lookup 3232235777'));
  const t = await run('ip', ['-n', QR, 'w07', 'route', 'show', 'table', '3232235777']);
  assert.match(t.stdout, /^default via 192\.168\.1\.6 dev qr-178fc8e2-fd/);
  // The write-up's DVR hop: the VM's packet is routed back out of qr- to the SNAT port (table 3232235777).
  const get = await run('ip', ['-n', QR, 'w07', 'route', 'get', '8.8.8.8', 'from', '192.168.1.7', 'iif', 'qr-178fc8e2-fd']);
  assert.match(get.stdout, /^8\.8\.8\.8 from 192\.168\.1\.7 via 192\.168\.1\.6 dev qr-178fc8e2-fd table 3232235777 \n {4}cache (<redirect> )?iif qr-178fc8e2-fd \n$/);
  const neigh = await run('ip', ['-n', QR, 'w07', 'neigh']);
  assert.ok(neigh.stdout.includes('192.168.1.6 dev qr-178fc8e2-fd lladdr fa:16:3e:d1:d8:49 PERMANENT'));
  const addr = await run('ip', ['-n', SNAT, 'w02', 'addr']);
  assert.ok(addr.stdout.includes('    inet 112.65.210.200/32 brd 112.65.210.200 scope global rfp-c4d4b760-4\n'), addr.stdout); // as the write-up shows it
  const link = await run('ip', ['-n', SNAT, 'w02', 'link']);
  assert.match(link.stdout, /sg-499291dc-d8: <BROADCAST,MULTICAST,UP,LOWER_UP>/);
  assert.equal((await run('ip', ['vm', 'route'])).exit, 0, 'a host node answers without -n');
});

test('ip netns lists a node\'s namespaces; netns exec runs the write-up\'s commands inside one', async () => {
  const sock = d.server.path;
  const list = await cli(sock, ['ip', 'w02', 'netns']);
  assert.deepEqual([list.code, list.stdout], [0, `${FIP}\n${SNAT}\n`], 'newest first, as a tmpfs /var/run/netns lists');
  assert.equal((await cli(sock, ['ip', 'w07', 'netns', 'list'])).stdout, `${QR}\n`);
  const host = await cli(sock, ['ip', 'vm', 'netns']);
  assert.deepEqual([host.code, host.stdout, host.stderr], [0, '', ''], 'an emulated host is one namespace and names none');
  // -j [-p]: the same names as ip netns list -j prints them (no "id": see netnsList).
  assert.equal((await cli(sock, ['ip', '-j', 'w02', 'netns'])).stdout, `[{"name":"${FIP}"},{"name":"${SNAT}"}]\n`);
  const hostJson = await cli(sock, ['ip', '-j', '-p', 'vm', 'netns', 'list']);
  assert.deepEqual([hostJson.code, hostJson.stdout, hostJson.stderr], [0, '[ ]\n', '']);
  // As the write-up types them, each the same as the dpemu command it stands for.
  // (Without iptables-save's time stamps, which the two calls may see a second apart.)
  const same = async (exec: string[], direct: [string, string[]]) => {
    const a = await cli(sock, exec), b = await run(...direct);
    const text = (t: string) => t.replace(/^# (Generated by|Completed on) .*\n/gm, '');
    assert.deepEqual([a.code, text(a.stdout)], [0, text(b.stdout)], exec.join(' '));
    assert.ok(a.stdout.length > 0, exec.join(' '));
  };
  await same(['ip', 'w07', 'netns', 'exec', QR, 'ip', 'r', 's', 't', '3232235777'], ['ip', ['-n', QR, 'w07', 'route', 'show', 'table', '3232235777']]);
  await same(['ip', 'w07', 'netns', 'exec', QR, 'ip', 'rule', 'list'], ['ip', ['-n', QR, 'w07', 'rule', 'list']]);
  await same(['ip', 'w02', 'netns', 'exec', SNAT, 'ip', '-s', 'link'], ['ip', ['-n', SNAT, '-s', 'w02', 'link']]);
  await same(['ip', 'w02', 'netns', 'exec', SNAT, 'iptables', '-t', 'nat', '-S'], ['iptables', ['w02', '-n', SNAT, '-t', 'nat', '-S']]);
  await same(['ip', 'w02', 'netns', 'exec', SNAT, '/usr/sbin/iptables-save', '-t', 'nat'], ['iptables-save', ['w02', '-n', SNAT, '-t', 'nat']]);
  await same(['ip', 'w02', 'netns', 'e', SNAT, 'conntrack', '-C'], ['conntrack', ['w02', '-n', SNAT, '-C']]);
  await same(['ip', 'w07', 'netns', 'exec', QR, '/usr/sbin/arp', '-n'], ['arp', ['w07', '-n', QR, '-n']]);
  await same(['ip', 'w07', 'netns', 'exec', QR, 'route', '-n'], ['route', ['w07', '-n', QR, '-n']]);
  await same(['ip', 'w07', 'netns', 'exec', QR, '/sbin/ifconfig', '-a'], ['ifconfig', ['w07', '-n', QR, '-a']]);
  await same(['ip', 'w07', 'netns', 'exec', QR, 'netstat', '-rn'], ['netstat', ['w07', '-n', QR, '-rn']]);
  await same(['ip', 'w07', 'netns', 'exec', QR, 'bridge', '-s', 'fdb', 'show'], ['bridge', ['-n', QR, 'w07', '-s', 'fdb', 'show']]);
  await same(['ip', 'w07', 'netns', 'exec', QR, 'bridge', 'vlan', 'show'], ['bridge', ['-n', QR, 'w07', 'vlan', 'show']]);
  await same(['ip', 'w07', 'netns', 'exec', QR, 'bridge', '-j', 'mdb', 'show'], ['bridge', ['-n', QR, 'w07', '-j', 'mdb', 'show']]);
  const none = await cli(sock, ['ip', 'w02', 'netns', 'exec', 'qrouter-nonexistent', 'ip', 'addr']);
  assert.equal(none.code, 255);
  assert.match(none.stderr, /^Cannot open network namespace "qrouter-nonexistent" on w02: No such file or directory/);
  const prog = await cli(sock, ['ip', 'w02', 'netns', 'exec', FIP, 'ss', '-nltp']);
  assert.deepEqual([prog.code, prog.stderr], [1, 'exec of "ss" failed: an emulated namespace runs no programs; dpemu runs ip, bridge, iptables, iptables-save, conntrack, sysctl, arp, route, ifconfig, netstat, ping, traceroute, traceroute6, arping, tcpdump there\n']);
  const nope = await cli(sock, ['ip', 'w02', 'netns', 'add', 'dpe-x']);
  assert.deepEqual([nope.code, nope.stderr], [255, "Error: 'ip netns add' is not supported.\n"]);
});

test('ip -j through the CLI: JSON on stdout; a refused dump answers with the "[" ip printed first, the error and exit 2; an option ip does not know', async () => {
  const sock = d.server.path;
  const rules = await cli(sock, ['ip', '-n', QR, 'w07', '-json', 'rule', 'show']);
  assert.equal(rules.code, 0);
  assert.equal((JSON.parse(rules.stdout) as { priority: number }[]).map((r) => r.priority).join(' '), '0 32766 32767 3232235777');
  const none = await cli(sock, ['ip', '-n', QR, 'w07', '-j', '-p', 'route', 'show', 'table', '77']);
  assert.deepEqual([none.code, none.stdout, none.stderr], [2, '[ ', 'Error: ipv4: FIB table does not exist.\nDump terminated\n']);
  const bad = await cli(sock, ['ip', '-n', QR, '-jp', 'w07', 'link']);
  assert.deepEqual([bad.code, bad.stderr], [255, 'Option "-jp" is unknown, try "ip -help".\n']);
});

test('ip netns: the errors of iproute2\'s own ip netns, word for word, with its exit status', async () => {
  requireTool('ip', 'iproute2');
  // None of these reaches a namespace: no name given, an invalid one, an unknown verb.
  for (const words of [['exec'], ['exec', 'dpe-cc-absent'], ['bogus'], ['list', 'a/b'], ['exec', '..', 'ip', 'addr']]) {
    const real = spawnSync('ip', ['netns', ...words], { encoding: 'utf8' });
    const emu = await cli(d.server.path, ['ip', 'w02', 'netns', ...words]);
    assert.deepEqual([emu.code, emu.stderr], [real.status, real.stderr], `ip netns ${words.join(' ')}`);
  }
});

test('iptables -S, -L -n -v, iptables-save', async () => {
  const s = await run('iptables', ['w02', '-n', SNAT, '-t', 'nat', '-S', 'neutron-l3-agent-snat']);
  assert.ok(s.stdout.includes('-A neutron-l3-agent-snat -o rfp-c4d4b760-4 -j SNAT --to-source 112.65.210.200\n'));
  const l = await run('iptables', ['w02', '-n', SNAT, '-t', 'nat', '-L', '-n', '-v']);
  assert.match(l.stdout, /^Chain PREROUTING \(policy ACCEPT \d+ packets, \d+ bytes\)\n pkts bytes target/);
  const save = await run('iptables-save', ['w02', '-n', SNAT, '-t', 'nat']);
  assert.match(save.stdout, /^# Generated by iptables-save v1\.8\.7 on .*\n\*nat\n/);
  assert.ok(!save.stdout.includes('*mangle'));
});

test('iptables -L -Z lists, then zeroes; -v says what it zeroed (as iptables-legacy 1.8 in a kernel namespace)', async () => {
  ping();
  const snat = ['w02', '-n', SNAT, '-t', 'nat'];
  const counts = (text: string) => text.split('\n').filter((l) => /^ +\d+ +\d+ /.test(l)).map((l) => Number(l.trim().split(/ +/)[0]));
  const lz = await run('iptables', [...snat, '-L', 'neutron-l3-agent-snat', '-n', '-v', '-Z']);
  assert.equal(lz.exit, 0, lz.stderr);
  assert.ok(counts(lz.stdout).some((n) => n > 0), lz.stdout);
  assert.ok(lz.stdout.startsWith('Chain neutron-l3-agent-snat (1 references)\n') && lz.stdout.endsWith("\nZeroing chain `neutron-l3-agent-snat'\n"), lz.stdout);
  const after = await run('iptables', [...snat, '-L', 'neutron-l3-agent-snat', '-n', '-v']);
  assert.deepEqual(counts(after.stdout).filter((n) => n > 0), [], after.stdout);
  const z = await run('iptables', [...snat, '-Z', '-v']);
  assert.equal(z.stdout, ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING', 'neutron-l3-agent-OUTPUT', 'neutron-l3-agent-POSTROUTING', 'neutron-l3-agent-PREROUTING', 'neutron-l3-agent-float-snat', 'neutron-l3-agent-snat', 'neutron-postrouting-bottom'].map((c) => `Zeroing chain \`${c}'\n`).join(''));
  assert.equal((await run('iptables', [...snat, '-Z'])).stdout, '');
});

test('conntrack -L, -C, -D, -F', async () => {
  ping();
  const args = ['w02', '-n', SNAT];
  const l = await run('conntrack', [...args, '-L']);
  assert.match(l.stdout, /^icmp +1 \d+ src=192\.168\.1\.7 dst=8\.8\.8\.8 type=8 code=0 id=\d+ .*src=8\.8\.8\.8 dst=112\.65\.210\.200 /m);
  assert.match(l.stderr, /flow entries have been shown\.\n$/);
  assert.equal((await run('conntrack', [...args, '-C'])).stdout, '1\n');
  const none = await run('conntrack', [...args, '-D', '-s', '10.0.0.1']);
  assert.match(none.stderr, / 0 flow entries have been deleted/);
  const del = await run('conntrack', [...args, '-D', '-p', 'icmp', '-d', '8.8.8.8']);
  assert.match(del.stderr, / 1 flow entries have been deleted/);
  ping();
  const f = await run('conntrack', [...args, '-F']);
  assert.match(f.stderr, /table has been emptied/);
  assert.equal((await run('conntrack', [...args, '-C'])).stdout, '0\n');
});

test('writes change forwarding at once: add-flow/del-flows, mod-flows', async () => {
  assert.equal(ping().eth2, 1);
  const add = await run('ofctl', ['add-flow', 'w07', 'br-int', 'table=0,priority=200,in_port=41,icmp,actions=drop']);
  assert.equal(add.exit, 0, add.stderr);
  assert.equal(ping().eth2, 0, 'the new drop flow takes the echo request');
  await run('ofctl', ['mod-flows', 'w07', 'br-int', '--strict', 'table=0,priority=200,in_port=41,icmp,actions=resubmit(,25)']);
  assert.equal(ping().eth2, 1, 'mod-flows changed the actions');
  await run('ofctl', ['del-flows', 'w07', 'br-int', '--strict', 'table=0,priority=200,in_port=41,icmp']);
  assert.equal((await run('ofctl', ['dump-flows', 'w07', 'br-int', 'table=0,icmp'])).stdout.split('\n').length, 2, 'the flow is gone');
  assert.ok(d.writes.some((w) => w === 'w07:br-int flows'), 'the daemon hears of each write');
});

test('writes change forwarding at once: routes, neighbours, iptables', async () => {
  const ns = ['-n', SNAT, 'w02'];
  assert.equal((await run('ip', [...ns, 'route', 'del', 'default'])).exit, 0);
  assert.equal(ping().eth3, 0, 'no default route in snat');
  assert.equal((await run('ip', [...ns, 'route', 'replace', 'default', 'via', '169.254.96.33', 'dev', 'rfp-c4d4b760-4'])).exit, 0);
  assert.equal(ping().eth3, 1);
  // The snat namespace reaches fpr- by its neighbour entry: point it at a wrong MAC and fip drops the frame.
  await run('ip', [...ns, 'neigh', 'replace', '169.254.96.33', 'lladdr', '02:00:00:00:00:01', 'dev', 'rfp-c4d4b760-4', 'nud', 'permanent']);
  assert.equal(ping().eth3, 0);
  await run('ip', [...ns, 'neigh', 'del', '169.254.96.33', 'dev', 'rfp-c4d4b760-4']);
  await run('ip', [...ns, 'neigh', 'add', '169.254.96.33', 'lladdr', '82:99:8f:5a:6b:ec', 'dev', 'rfp-c4d4b760-4', 'nud', 'permanent']);
  assert.equal(ping().eth3, 1);
  const fwd = ['w02', '-n', SNAT];
  assert.equal((await run('iptables', [...fwd, '-I', 'FORWARD', '-p', 'icmp', '-d', '8.8.8.8', '-j', 'DROP'])).exit, 0);
  assert.equal(ping().eth3, 0, 'the inserted DROP rule applies');
  assert.equal((await run('iptables', [...fwd, '-D', 'FORWARD', '-p', 'icmp', '-d', '8.8.8.8', '-j', 'DROP'])).exit, 0);
  assert.equal(ping().eth3, 1);
});

test('bad input: clear errors, non-zero exit, nothing changed', async () => {
  const flowsBefore = (await run('ofctl', ['dump-flows', 'w07', 'br-int', '--no-stats'])).stdout;
  const routesBefore = (await run('ip', ['-n', SNAT, 'w02', 'route', 'show', 'table', 'all'])).stdout;
  const rulesBefore = (await run('iptables-save', ['w02', '-n', SNAT])).stdout.replace(/^#.*\n/gm, '');
  const cases: [string, string[], RegExp][] = [
    ['ip', ['w99', 'route'], /unknown node 'w99' \(nodes: w07, w02, vm\)/],
    ['ip', ['-n', 'qrouter-nope', 'w07', 'route'], /Cannot open network namespace "qrouter-nope"/],
    ['ofctl', ['dump-flows', 'w07', 'br-nope'], /br-nope is not a bridge/],
    ['ofctl', ['add-flow', 'w07', 'br-int', 'table=0,priority=5,dl_vlan=99999,actions=drop'], /ovs-ofctl: /],
    ['ofctl', ['add-flows', 'w07', 'br-int', 'table=0,priority=7,actions=drop\ntable=0,nonsense=1,actions=drop'], /^ovs-ofctl: -:2: /],
    ['ip', ['-n', SNAT, 'w02', 'route', 'add', '10.9.0.0/16', 'via', '172.16.0.1'], /Nexthop has invalid gateway/],
    ['ip', ['-n', SNAT, 'w02', 'route', 'add', 'bogus'], /^Error: /],
    ['iptables', ['w02', '-n', SNAT, '-A', 'NOCHAIN', '-j', 'ACCEPT'], /^iptables: No chain\/target\/match by that name\.$/m],
    ['iptables', ['w02', '-n', SNAT, '-t', 'nat', '-A', 'POSTROUTING', '-j', 'SNAT'], /iptables v1\.8\.7/],
    ['conntrack', ['w02', '-n', SNAT, '-D', '-s', '300.1.1.1'], /Invalid IP address `300\.1\.1\.1'/],
    ['brctl', ['showmacs', 'w07', 'qbr-nope'], /bridge qbr-nope does not exist/],
  ];
  for (const [fam, argv, re] of cases) {
    const r = await run(fam, argv);
    assert.notEqual(r.exit, 0, `${fam} ${argv.join(' ')} must fail`);
    assert.equal(r.ok, false);
    assert.match(r.stderr, re, `${fam} ${argv.join(' ')}`);
  }
  assert.equal((await run('ofctl', ['dump-flows', 'w07', 'br-int', '--no-stats'])).stdout, flowsBefore);
  assert.equal((await run('ip', ['-n', SNAT, 'w02', 'route', 'show', 'table', 'all'])).stdout, routesBefore);
  assert.equal((await run('iptables-save', ['w02', '-n', SNAT])).stdout.replace(/^#.*\n/gm, ''), rulesBefore);
});

test('a write sent as a read is refused (403) and does nothing', async () => {
  const { request } = await import('node:http');
  const body = JSON.stringify({ argv: ['add-flow', 'w07', 'br-int', 'table=0,priority=9,actions=drop'] });
  const status = await new Promise<number>((resolve) => {
    const req = request({ socketPath: d.server.path, path: '/v1/read/ofctl', method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.end(body);
  });
  assert.equal(status, 403);
  assert.ok(!(await run('ofctl', ['dump-flows', 'w07', 'br-int', 'table=0,priority=9'])).stdout.includes('priority=9 '));
});

test('the dpemu CLI: output, exit codes, flow files on stdin, trace on live state', async () => {
  const sock = d.server.path;
  const ok = await cli(sock, ['ip', '-n', SNAT, 'w02', 'route']);
  assert.equal(ok.code, 0);
  assert.match(ok.stdout, /^default via 169\.254\.96\.33/);
  const bad = await cli(sock, ['ip', '-n', SNAT, 'w02', 'route', 'add', '10.9.0.0/16', 'via', '172.16.0.1']);
  assert.equal(bad.code, 2);
  assert.equal(bad.stderr, 'Error: Nexthop has invalid gateway.\n');
  const add = await cli(sock, ['ofctl', 'add-flows', 'w07', 'br-tun', '-'], { stdin: 'table=0,priority=3,dl_vlan=77,actions=drop\n' });
  assert.equal(add.code, 0, add.stderr);
  assert.match((await run('ofctl', ['dump-flows', 'w07', 'br-tun', 'table=0,dl_vlan=77'])).stdout, /priority=3,dl_vlan=77 actions=drop/);
  // `-` for add-flow, mod-flows and del-flows (neutron's ofctl driver sends its flow_mods so): one flow a line, all parsed first.
  const flows = (vlan: number) => `table=0,priority=4,dl_vlan=${vlan},cookie=0x77`;
  const dump77 = async () => (await run('ofctl', ['dump-flows', 'w07', 'br-tun', 'cookie=0x77/-1'])).stdout.split('\n').slice(1).filter(Boolean);
  assert.equal((await cli(sock, ['ofctl', 'add-flow', 'w07', 'br-tun', '-'], { stdin: `${flows(81)},actions=drop\n# a comment\n\n${flows(82)},actions=drop` })).code, 0);
  assert.equal((await dump77()).length, 2, 'add-flow - added both lines');
  assert.equal((await cli(sock, ['ofctl', 'mod-flows', 'w07', 'br-tun', '--strict', '-'], { stdin: `table=0,priority=4,dl_vlan=81,actions=output:1\n` })).code, 0);
  assert.match((await dump77()).join('\n'), /dl_vlan=81 actions=output:1/);
  const badDel = await cli(sock, ['ofctl', 'del-flows', 'w07', 'br-tun', '-'], { stdin: `table=0,dl_vlan=81\ntable=0,nonsense=1\n` });
  assert.equal(badDel.code, 1); // ovs_fatal
  assert.match(badDel.stderr, /^ovs-ofctl: -:2: /);
  assert.equal((await dump77()).length, 2, 'a bad line deletes nothing');
  assert.equal((await cli(sock, ['ofctl', 'del-flows', 'w07', 'br-tun', '-'], { stdin: '' })).code, 0);
  assert.equal((await dump77()).length, 2, 'an empty file deletes nothing (not every flow)');
  assert.equal((await cli(sock, ['ofctl', 'del-flows', 'w07', 'br-tun', '-'], { stdin: 'cookie=0x77/-1,dl_vlan=81\ncookie=0x77/0xffffffffffffffff,dl_vlan=82\n' })).code, 0);
  assert.deepEqual(await dump77(), [], 'cookie=V/-1 is the exact match');
  const tr = await cli(sock, ['trace', '--in', 'w07:tap2ab77d0f-99', '--icmp-echo', '--src', '192.168.1.7', '--dst', '8.8.8.8']);
  assert.equal(tr.code, 0, tr.stderr);
  assert.match(tr.stdout, /left the emulator at w02:eth3/);
  const none = await cli(sock + '.absent', ['vsctl', 'show', 'w07']);
  assert.equal(none.code, 1);
  assert.match(none.stderr, /no daemon listening/);
});
