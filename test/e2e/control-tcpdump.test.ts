// `dpemu tcpdump` live at ports inside the emulator: text as tcpdump -nnee
// (and -vv) prints it, and -w pcap files that the real tcpdump -r and tshark -r read
// back to the same headers.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { parsePackets } from '../../src/cli/packet-flags.js';
import { macDefaults } from '../../src/cli/trace.js';
import { macAt } from '../../src/wire/addr.js';
import { buildFrame } from '../../src/wire/frame.js';
import { startDaemon, type Daemon } from '../helpers/control.js';
import { requireTool } from '../helpers/tools.js';

let d: Daemon;
before(async () => {
  d = await startDaemon();
});
after(async () => {
  await d.stop();
});

function ping(seq: number): void {
  const [p] = parsePackets(['--in', 'w07:tap2ab77d0f-99', '--icmp-echo', '--src', '192.168.1.7', '--dst', '8.8.8.8', '--seq', String(seq)], macDefaults(d.emu));
  d.emu.engine.inject(d.emu.engine.pool.allocFrom(p!.frame)!, d.emu.findPort('w07', 'tap2ab77d0f-99')!);
}

/** Start `dpemu tcpdump ARGS` (or the dpemu command `cmd`); resolves once it is listening, with a promise of its end. */
function startCapture(args: string[], cmd = ['tcpdump']): Promise<{ end: Promise<{ code: number; stdout: string; stderr: string }> }> {
  return new Promise((ready, fail) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...cmd, '--socket', d.server.path, ...args]);
    let stdout = '', stderr = '';
    let listening = false;
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => {
      stderr += c;
      if (!listening && stderr.includes('listening on')) {
        listening = true;
        // Wrapped: resolving with a bare promise would wait for the child to end.
        ready({ end: new Promise((done) => child.on('close', (code) => done({ code: code ?? 1, stdout, stderr }))) });
      }
    });
    child.on('close', (code) => !listening && fail(new Error(`tcpdump exited ${code}: ${stderr}`)));
  });
}

const noTs = (s: string) => s.split('\n').filter(Boolean).map((l) => l.replace(/^\d\d:\d\d:\d\d\.\d{6} /, ''));

test('capture on the underlay (text, -vv and -w) matches real tcpdump -r and tshark -r', async () => {
  requireTool('tcpdump', 'tcpdump');
  requireTool('tshark', 'tshark');
  const file = join(d.dir, 'eth2.pcap');
  const text = await startCapture(['-i', 'w07:eth2', '-nnee', '-c', '2', 'udp', 'port', '4789', 'and', 'dst', 'host', '10.206.107.156']);
  const pcap = await startCapture(['-i', 'w07:eth2', '-c', '2', '-w', file, 'udp port 4789']);
  const verbose = await startCapture(['-i', 'w07:eth2', '-c', '2', '-nnvv', '-e', 'udp port 4789']);
  ping(1);
  ping(2);
  const [t, w, v] = await Promise.all([text.end, pcap.end, verbose.end]);
  assert.equal(t.code, 0, t.stderr);
  assert.equal(w.code, 0, w.stderr);
  assert.equal(v.code, 0, v.stderr);
  assert.match(v.stderr, /^tcpdump: listening on w07:eth2,/, 'no "verbose output suppressed" with -v');
  assert.match(t.stderr, /2 packets captured\n2 packets received by filter\n0 packets dropped by kernel\n$/);
  const ours = noTs(t.stdout);
  assert.match(ours[0]!, /^b4:96:91:5a:31:78 > 5c:c9:99:60:e0:3c, ethertype IPv4 \(0x0800\), length 192: 10\.206\.107\.238\.58650 > 10\.206\.107\.156\.4789: VXLAN, flags \[I\] \(0x08\), vni 103$/);
  const real = spawnSync('tcpdump', ['-nnee', '-r', file], { encoding: 'utf8' });
  assert.equal(real.status, 0, real.stderr);
  assert.deepEqual(noTs(real.stdout), ours, 'real tcpdump decodes the pcap to the lines dpemu printed');
  const realVv = spawnSync('tcpdump', ['-nnee', '-vv', '-r', file], { encoding: 'utf8' });
  assert.equal(realVv.status, 0, realVv.stderr);
  assert.match(noTs(v.stdout)[1]!, /^ {4}10\.206\.107\.238\.58650 > 10\.206\.107\.156\.4789: \[no cksum\] VXLAN/);
  assert.deepEqual(noTs(v.stdout), noTs(realVv.stdout), 'dpemu tcpdump -nnvv -e prints what tcpdump -nnee -vv -r prints');
  const ts = spawnSync('tshark', ['-r', file, '-T', 'fields', '-E', 'separator=/t', '-E', 'occurrence=a', '-E', 'aggregator=|', '-e', 'eth.src', '-e', 'ip.src', '-e', 'ip.dst', '-e', 'udp.dstport', '-e', 'vxlan.vni'], { encoding: 'utf8' });
  assert.equal(ts.status, 0, ts.stderr);
  const rows = ts.stdout.trim().split('\n');
  assert.equal(rows.length, 2);
  for (const r of rows) {
    // Outer and inner occurrences, as tshark decodes the VXLAN payload too.
    assert.equal(r, 'b4:96:91:5a:31:78|fa:16:3f:13:77:c5\t10.206.107.238|192.168.1.7\t10.206.107.156|8.8.8.8\t4789\t103');
  }
});

test('capture in the middle of the path: rfp- inside the snat namespace, after SNAT', async () => {
  const c = await startCapture(['-i', 'w02:snat-c4d4b760-41b9-45e1-a607-d054da99c479:rfp-c4d4b760-4', '-nn', '-e', '-c', '1', 'icmp']);
  ping(3);
  const r = await c.end;
  assert.equal(r.code, 0, r.stderr);
  assert.match(noTs(r.stdout)[0]!, /^36:66:d5:bf:5e:e0 > 82:99:8f:5a:6b:ec, ethertype IPv4 \(0x0800\), length 142: 112\.65\.210\.200 > 8\.8\.8\.8: ICMP echo request/);
});

test("the write-up's `ip netns exec snat-... tcpdump -i sg-... -nnee` captures what -i NODE:NS:IFACE does", async () => {
  const ns = 'snat-c4d4b760-41b9-45e1-a607-d054da99c479';
  const direct = await startCapture(['-i', `w02:${ns}:sg-499291dc-d8`, '-nnee', '-c', '1', 'icmp']);
  const exec = await startCapture(['-i', 'sg-499291dc-d8', '-nnee', '-c', '1', 'icmp'], ['ip', 'w02', 'netns', 'exec', ns, 'tcpdump']);
  ping(4);
  const [a, b] = await Promise.all([direct.end, exec.end]);
  assert.equal(b.code, 0, b.stderr);
  assert.match(noTs(b.stdout)[0]!, /^fa:16:3e:06:d8:7b > fa:16:3e:d1:d8:49, ethertype IPv4 \(0x0800\), length 142: 192\.168\.1\.7 > 8\.8\.8\.8: ICMP echo request/);
  assert.deepEqual(noTs(b.stdout), noTs(a.stdout));
  // Named as tcpdump inside the namespace names it; -i NODE:NS:IFACE names the whole path.
  assert.match(b.stderr, /listening on sg-499291dc-d8, link-type EN10MB/);
  assert.match(a.stderr, /listening on w02:snat-c4d4b760-41b9-45e1-a607-d054da99c479:sg-499291dc-d8, link-type EN10MB/);
});

test('DNS after SNAT on the tagged uplink: -vv text matches real tcpdump -vv -r of the same capture', async () => {
  requireTool('tcpdump', 'tcpdump');
  const file = join(d.dir, 'dns.pcap');
  const eth3 = 'w02:eth3';
  const text = await startCapture(['-i', eth3, '-c', '1', '-nnvv', '-e', 'udp port 53']);
  const pcap = await startCapture(['-i', eth3, '-c', '1', '-w', file, 'udp port 53']);
  // A query with EDNS0, as a resolver sends it: id 4660, RD, A? www.example.com., OPT UDPsize=1232.
  const name = [3, ...Buffer.from('www'), 7, ...Buffer.from('example'), 3, ...Buffer.from('com'), 0];
  const dns = [0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 1, ...name, 0, 1, 0, 1, 0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0];
  const [p] = parsePackets(['--in', 'w07:tap2ab77d0f-99', '--udp', '--src', '192.168.1.7', '--dst', '8.8.8.8', '--sport', '40053', '--dport', '53'], macDefaults(d.emu));
  const f = p!.frame;
  const frame = buildFrame({ src: macAt(f, 6), dst: macAt(f, 0), ip: { src: '192.168.1.7', dst: '8.8.8.8' }, udp: { sport: 40053, dport: 53, payload: dns } });
  d.emu.engine.inject(d.emu.engine.pool.allocFrom(frame)!, d.emu.findPort('w07', 'tap2ab77d0f-99')!);
  const [t, w] = await Promise.all([text.end, pcap.end]);
  assert.equal(t.code, 0, t.stderr);
  assert.equal(w.code, 0, w.stderr);
  const ours = noTs(t.stdout);
  assert.match(ours[1]!, /^ {4}112\.65\.210\.200\.40053 > 8\.8\.8\.8\.53: \[udp sum ok\] 4660\+ \[1au\] A\? www\.example\.com\. ar: \. OPT UDPsize=1232 \(44\)$/);
  const real = spawnSync('tcpdump', ['-nnee', '-vv', '-r', file], { encoding: 'utf8' });
  assert.equal(real.status, 0, real.stderr);
  assert.deepEqual(ours, noTs(real.stdout));
});

test('bad capture requests fail with clear errors', async () => {
  const { cli } = await import('../helpers/control.js');
  const r1 = await cli(d.server.path, ['tcpdump', '-i', 'w07:nope0', '-c', '1']);
  assert.equal(r1.code, 1);
  assert.match(r1.stderr, /tcpdump: nope0: No such device exists on w07/);
  const r2 = await cli(d.server.path, ['tcpdump', '-i', 'w07:eth2', 'udp', 'port', 'http']);
  assert.equal(r2.code, 1);
  assert.match(r2.stderr, /tcpdump: port 'http' is tcp/);
  const r3 = await cli(d.server.path, ['tcpdump', '-i', 'w07:eth2', 'tcp[1:3]', '=', '0']);
  assert.deepEqual([r3.code, r3.stderr.trim()], [1, 'tcpdump: data size must be 1, 2, or 4']);
});

test("`ip netns exec NS tcpdump -i any` captures on every interface of NS as Linux cooked v2 (text and -w)", async () => {
  requireTool('tcpdump', 'tcpdump');
  const ns = 'snat-c4d4b760-41b9-45e1-a607-d054da99c479';
  const file = join(d.dir, 'any.pcap');
  const text = await startCapture(['-i', 'any', '-nn', '-e', '-c', '2', 'icmp'], ['ip', 'w02', 'netns', 'exec', ns, 'tcpdump']);
  const plain = await startCapture(['-i', `w02:${ns}:any`, '-nn', '-c', '2', 'icmp']);
  const pcap = await startCapture(['-i', `w02:${ns}:any`, '-c', '2', '-w', file, 'icmp']);
  ping(5);
  const [t, p, w] = await Promise.all([text.end, plain.end, pcap.end]);
  for (const r of [t, p, w]) assert.equal(r.code, 0, r.stderr);
  assert.equal(t.stderr.split('\n').slice(0, 3).join('\n'), 'tcpdump: data link type LINUX_SLL2\ntcpdump: verbose output suppressed, use -v[v]... for full protocol decode\nlistening on any, link-type LINUX_SLL2 (Linux cooked v2), snapshot length 262144 bytes');
  assert.match(p.stderr, new RegExp(`\nlistening on w02:${ns}:any, link-type LINUX_SLL2 \\(Linux cooked v2\\), snapshot length 262144 bytes\n`));
  assert.match(w.stderr, new RegExp(`^tcpdump: data link type LINUX_SLL2\ntcpdump: listening on w02:${ns}:any, link-type LINUX_SLL2`));
  const ours = noTs(t.stdout);
  // In on sg-, forwarded (SNAT'd) out of rfp-: the frame twice, as the kernel shows a forwarded one.
  assert.match(ours[0]!, /^sg-499291dc-d8 In {2}ifindex \d+ fa:16:3e:06:d8:7b ethertype IPv4 \(0x0800\), length 148: 192\.168\.1\.7 > 8\.8\.8\.8: ICMP echo request, id \d+, seq 5, length 108$/);
  assert.match(ours[1]!, /^rfp-c4d4b760-4 Out ifindex \d+ 36:66:d5:bf:5e:e0 ethertype IPv4 \(0x0800\), length 148: 112\.65\.210\.200 > 8\.8\.8\.8: ICMP echo request, id \d+, seq 5, length 108$/);
  // Without -e: the interface and direction, then the packet (tcpdump 4.99's sll2_if_print).
  assert.deepEqual(noTs(p.stdout), ours.map((l) => l.replace(/ifindex \d+ \S+ ethertype IPv4 \(0x0800\), length \d+: /, 'IP ')));
  const real = spawnSync('tcpdump', ['-nn', '-e', '-r', file], { encoding: 'utf8' });
  assert.equal(real.status, 0, real.stderr);
  assert.match(real.stderr, /link-type LINUX_SLL2 \(Linux cooked v2\)/);
  // Read here, where the ifindexes name no such devices: the names aside, the lines dpemu printed.
  assert.deepEqual(noTs(real.stdout).map((l) => l.slice(l.indexOf(' ifindex'))), ours.map((l) => l.slice(l.indexOf(' ifindex'))));
});

test('`ip netns exec NS tcpdump` without -i listens where tcpdump would: the first device up with carrier', async () => {
  const ns = 'snat-c4d4b760-41b9-45e1-a607-d054da99c479';
  const c = await startCapture(['-nn', '-c', '1', 'icmp'], ['ip', 'w02', 'netns', 'exec', ns, 'tcpdump']);
  ping(6);
  const r = await c.end;
  assert.equal(r.code, 0, r.stderr);
  // rfp- (ifindex 2) comes first of the namespace's devices after lo, which libpcap sorts after the others.
  assert.match(r.stderr, /^tcpdump: verbose output suppressed, use -v\[v\]\.\.\. for full protocol decode\nlistening on rfp-c4d4b760-4, link-type EN10MB \(Ethernet\), snapshot length 262144 bytes\n/);
  assert.match(noTs(r.stdout)[0]!, /^IP 112\.65\.210\.200 > 8\.8\.8\.8: ICMP echo request, id \d+, seq 6, length 108$/);
});

test('-i any: a filter libpcap refuses on Linux cooked v2 is refused after tcpdump names the link-type', async () => {
  const { cli } = await import('../helpers/control.js');
  const ns = 'snat-c4d4b760-41b9-45e1-a607-d054da99c479';
  for (const [expr, msg] of [['vlan', 'no VLAN support for Linux cooked v2'], ['ether host fa:16:3e:06:d8:7b', 'ethernet addresses supported only on ethernet/FDDI/token ring/802.11/ATM LANE/Fibre Channel'], ['broadcast', 'not a broadcast link']] as const) {
    const r = await cli(d.server.path, ['tcpdump', '-i', `w02:${ns}:any`, expr]);
    assert.deepEqual([r.code, r.stderr], [1, `tcpdump: data link type LINUX_SLL2\ntcpdump: ${msg}\n`], expr);
  }
});
