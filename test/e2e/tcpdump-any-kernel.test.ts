// tcpdump -i any against the kernel: namespaces k1 — k2 — k3 on veths, k2
// routing between them; the same frames (on AF_PACKET sockets in k1: ARP,
// a ping forwarded to k3, a broadcast ping, multicast, a frame for another
// host, a tagged frame and an STP BPDU) go into the kernel and into dpemu's
// model with the kernel's MACs and ifindexes. What dpemu's `any` capture in
// k2 prints (with and without -e, and through a filter that reads the cooked
// header) must be what tcpdump 4.99 prints live in k2, line for line, and the
// pcap it writes (LINKTYPE_LINUX_SLL2) must read back the same with tcpdump
// -r inside k2. Without -i, tcpdump picks the same device in both.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireRoot } from '../helpers/root.js';
import { requireTool } from '../helpers/tools.js';
import { Engine } from '../../src/datapath/engine.js';
import { ManualClock } from '../../src/datapath/clock.js';
import { NetNamespace } from '../../src/netns/namespace.js';
import { runCommand } from '../../src/netns/ip-text.js';
import { parseIpv4, parseMacNum } from '../../src/wire/addr.js';
import { buildFrame } from '../../src/wire/frame.js';
import { pcapHeader, pcapRecord } from '../../src/wire/pcap.js';
import { Tcpdump } from '../../src/wire/tcpdump.js';
import { startCapture } from '../../src/control/backend.js';
import { mustCaptureTarget } from '../../src/control/resolve.js';
import type { CapturedFrame } from '../../src/control/capture.js';
import type { Emulator } from '../../src/topology/builder.js';
import { KernelObjects, sh, uniqueTag } from './lab-names.js';

const tag = uniqueTag();
const [k1, k2, k3] = ['1', '2', '3'].map((n) => `dpe-${tag}-y${n}`) as [string, string, string];
const objs = new KernelObjects();
const dir = mkdtempSync(join(tmpdir(), 'dpe-any-'));
/** Sends the hex frames given after the device name on an AF_PACKET socket bound to it, a little apart (each handled before the next). */
const SEND = 'import socket, sys, time\ns = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)\ns.bind((sys.argv[1], 0))\nfor h in sys.argv[2:]:\n  s.send(bytes.fromhex(h))\n  time.sleep(0.05)';

/** Each of a namespace's devices: name, ifindex, MAC. */
function links(ns: string): Map<string, { index: number; mac: string }> {
  const m = new Map<string, { index: number; mac: string }>();
  for (const l of JSON.parse(sh('ip', ['-j', '-n', ns, 'link', 'show'])) as { ifname: string; ifindex: number; address: string }[]) m.set(l.ifname, { index: l.ifindex, mac: l.address });
  return m;
}

before(() => {
  requireRoot('tcpdump -i any against the kernel');
  requireTool('tcpdump', 'tcpdump');
  for (const ns of [k1, k2, k3]) {
    objs.addNetns(ns);
    // No IPv6: its router solicitations and MLD reports would add frames the test does not send.
    sh('ip', ['netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
  }
  sh('ip', ['netns', 'exec', k2, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
  // dpe-x first, down: the lowest ifindex, which tcpdump without -i passes over.
  sh('ip', ['-n', k2, 'link', 'add', 'dpe-x', 'type', 'veth', 'peer', 'name', 'dpe-y', 'netns', k3]);
  sh('ip', ['-n', k1, 'link', 'add', 'dpe-a', 'type', 'veth', 'peer', 'name', 'dpe-b', 'netns', k2]);
  sh('ip', ['-n', k2, 'link', 'add', 'dpe-c', 'type', 'veth', 'peer', 'name', 'dpe-d', 'netns', k3]);
  for (const [ns, dev, addr] of [[k1, 'dpe-a', '192.0.2.1/24'], [k2, 'dpe-b', '192.0.2.2/24'], [k2, 'dpe-c', '198.51.100.2/24'], [k3, 'dpe-d', '198.51.100.3/24']] as const) {
    sh('ip', ['-n', ns, 'addr', 'add', addr, 'dev', dev]);
    sh('ip', ['-n', ns, 'link', 'set', dev, 'up']);
  }
  sh('ip', ['-n', k3, 'route', 'add', 'default', 'via', '198.51.100.2']);
});

after(() => {
  objs.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

/** dpemu's side: the three namespaces with the kernel's devices (MACs, ifindexes), k2 routing. */
function model() {
  const e = new Engine({ clock: new ManualClock(0) });
  const ns = { k1: e.add(new NetNamespace('lab', 'k1')), k2: e.add(new NetNamespace('lab', 'k2')), k3: e.add(new NetNamespace('lab', 'k3')) };
  const dev = (el: NetNamespace, kns: string, name: string, addr?: string, up = true) => {
    const l = links(kns).get(name)!;
    const [ip, len] = addr ? addr.split('/') : [];
    return el.addInterface(name, { mac: parseMacNum(l.mac)!, index: l.index, up, ...(ip ? { addresses: [{ ip: parseIpv4(ip)!, prefixLen: Number(len) }] } : {}) });
  };
  e.link(dev(ns.k2, k2, 'dpe-x', undefined, false), dev(ns.k3, k3, 'dpe-y', undefined, false), 'veth');
  const a = dev(ns.k1, k1, 'dpe-a', '192.0.2.1/24');
  e.link(a, dev(ns.k2, k2, 'dpe-b', '192.0.2.2/24'), 'veth');
  e.link(dev(ns.k2, k2, 'dpe-c', '198.51.100.2/24'), dev(ns.k3, k3, 'dpe-d', '198.51.100.3/24'), 'veth');
  ns.k2.setSysctl('net.ipv4.ip_forward', 1);
  runCommand(ns.k3.ns, 'ip route add default via 198.51.100.2');
  const scope = { emu: { engine: e } as unknown as Emulator, allNodes: ['lab'] };
  /** Frames out of k1's dpe-a, each forwarded to its end. */
  const send = (frames: Uint8Array[]) => {
    for (const f of frames) {
      e.output(e.pool.allocFrom(f)!, a);
      e.run();
    }
  };
  return { scope, send, ifnames: (i: number) => [...ns.k2.ns.links()].find((l) => l.index === i)?.name };
}

/** A kernel tcpdump in k2 (`args` after `tcpdump`); resolves once it listens, with its end (it stops after -c frames). */
function kernelCapture(args: string[]): Promise<{ end: Promise<{ stdout: string; stderr: string }> }> {
  return new Promise((ready, fail) => {
    const child = spawn('timeout', ['20', 'ip', 'netns', 'exec', k2, 'tcpdump', ...args]);
    let stdout = '', stderr = '', listening = false;
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => {
      stderr += c;
      if (!listening && stderr.includes('listening on')) {
        listening = true;
        // Wrapped: resolving with a bare promise would wait for the child to end.
        ready({ end: new Promise((done) => child.on('close', () => done({ stdout, stderr }))) });
      }
    });
    child.on('close', (code) => !listening && fail(new Error(`tcpdump exited ${code}: ${stderr}`)));
  });
}

const noTs = (s: string) => s.split('\n').filter(Boolean).map((l) => l.replace(/^\d\d:\d\d:\d\d\.\d{6} /, ''));

test('tcpdump -i any: dpemu prints and writes what tcpdump 4.99 captures live in the kernel namespace', async () => {
  const macA = links(k1).get('dpe-a')!.mac, macB = links(k2).get('dpe-b')!.mac;
  const m = model();
  const udp = { sport: 5000, dport: 9, payload: 8 };
  const frames = [
    buildFrame({ src: macA, dst: 'ff:ff:ff:ff:ff:ff', arp: { sha: macA, spa: '192.0.2.1', tpa: '192.0.2.2' } }),
    buildFrame({ src: macA, dst: macB, ip: { src: '192.0.2.1', dst: '198.51.100.3' }, icmp: { id: 0x1234, seq: 1, data: 56 } }),
    buildFrame({ src: macA, dst: 'ff:ff:ff:ff:ff:ff', ip: { src: '192.0.2.1', dst: '192.0.2.255' }, icmp: { id: 0x1234, seq: 2, data: 56 } }),
    buildFrame({ src: macA, dst: '01:00:5e:00:00:fb', ip: { src: '192.0.2.1', dst: '224.0.0.251', ttl: 1 }, udp }),
    buildFrame({ src: macA, dst: '02:00:00:00:00:99', ip: { src: '192.0.2.1', dst: '192.0.2.9' }, udp }),
    buildFrame({ src: macA, dst: macB, vlans: [100], ip: { src: '192.0.2.1', dst: '192.0.2.2' }, udp }),
    // An STP configuration BPDU (802.3 length 38: LLC 42 42 03 and the BPDU).
    Uint8Array.from(Buffer.from(`${macB.replaceAll(':', '')}${macA.replaceAll(':', '')}0026424203${'00'.repeat(35)}`, 'hex')),
  ];
  // k2 sees 13: the ARP exchange, the ping in on dpe-b and out on dpe-c (after ARP there) and its reply back, then the rest.
  const N = 13;
  // ARP sent, frames for other hosts, and what dpe-c (by ifindex) carries of at most 90 bytes: the pings too, as len leaves the cooked header out.
  const filter = `outbound and arp or ether[10] = 3 or (ether[4:4] = ${links(k2).get('dpe-c')!.index} and less 90)`;
  const [withE, plain, filtered, dflt] = await Promise.all([
    kernelCapture(['-i', 'any', '-nn', '-e', '-c', String(N)]),
    kernelCapture(['-i', 'any', '-nn', '-c', String(N)]),
    kernelCapture(['-i', 'any', '-nn', '-e', '-c', '6', filter]),
    kernelCapture(['-nn', '-c', '1']),
  ]);
  sh('ip', ['netns', 'exec', k1, 'python3', '-c', SEND, 'dpe-a', ...frames.map((f) => Buffer.from(f).toString('hex'))]);

  const ours = (expr: string): CapturedFrame[] => {
    const got: CapturedFrame[] = [];
    startCapture(m.scope, 'lab:k2:any', expr, { defer: (fn) => fn() }, (fs) => got.push(...fs), () => {});
    return got;
  };
  const all = ours(''), some = ours(filter);
  m.send(frames);
  const print = (fs: CapturedFrame[], linkHeader: boolean) => {
    const p = new Tcpdump({ linkHeader, cooked: { ifname: m.ifnames } });
    return fs.map((f) => p.format(f.data, 0, f.data.length, f.len));
  };
  const [kE, kPlain, kFiltered, kDefault] = await Promise.all([withE.end, plain.end, filtered.end, dflt.end]);
  assert.match(kE.stderr, /^tcpdump: data link type LINUX_SLL2\ntcpdump: verbose output suppressed, use -v\[v\]\.\.\. for full protocol decode\nlistening on any, link-type LINUX_SLL2 \(Linux cooked v2\), snapshot length 262144 bytes\n/);
  assert.equal(noTs(kE.stdout).length, N, kE.stdout);
  assert.match(kE.stdout, / dpe-c In {2}ifindex \d+ .* ICMP echo reply/, 'the kernel forwarded the ping');
  assert.deepEqual(print(all, true), noTs(kE.stdout), 'tcpdump -i any -nn -e');
  assert.deepEqual(print(all, false), noTs(kPlain.stdout), 'tcpdump -i any -nn');
  assert.deepEqual(print(some, true), noTs(kFiltered.stdout), `tcpdump -i any -nn -e '${filter}'`);

  // -w: the same frames as a LINKTYPE_LINUX_SLL2 file, read back in k2 (where the ifindexes name the same devices).
  const file = join(dir, 'any.pcap');
  writeFileSync(file, Buffer.concat([pcapHeader(262144, 276), ...all.map((f) => pcapRecord(f.ts / 1000, f.data))]));
  const back = sh('ip', ['netns', 'exec', k2, 'tcpdump', '-r', file, '-nn', '-e']);
  assert.deepEqual(noTs(back), noTs(kE.stdout), 'tcpdump -r of the pcap dpemu wrote');

  // Without -i: the first device up with carrier (dpe-x, down, comes first by ifindex).
  const dev = /listening on (\S+),/.exec(kDefault.stderr)?.[1];
  assert.equal(dev, 'dpe-b');
  assert.equal(mustCaptureTarget(m.scope, 'lab:k2:').source.iface, `lab:k2:${dev}`);
});
