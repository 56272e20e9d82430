// The lab topology (configs/lab-dvr-snat.yaml) under `dpemu run --lab`, with
// its namespace and TAP names made unique: the VM namespace pings the
// internet host through the whole emulated DVR path, and traceroute shows
// the write-up's hops (qrouter, snat, fip, the ToR gateway), as on the real
// deployment with the RFC 5737 addresses of the lab file. Once with the
// default datapath workers, once with the engine inline (--workers 0).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { requireRoot } from '../helpers/root.js';
import { KernelObjects, run, tcpdumpIn, type Ran } from './lab-names.js';
import { DaemonProcess, WAIT_MS } from './daemon-process.js';
import { UniqueLab } from './lab-dvr.js';

const labs: UniqueLab[] = [];
let d: DaemonProcess | null = null;
after(() => {
  if (d && d.exitCode === null) d.child.kill('SIGKILL');
  for (const lab of labs) lab.cleanup();
});

/** A small echo server in the internet host's namespace: it answers what it gets and logs who sent it. */
const ECHO_SERVER = `
const net = require('node:net'), dgram = require('node:dgram');
net.createServer((c) => { let n = 0; c.on('data', (b) => { n += b.length; c.write(b); }); c.on('end', () => { console.log('tcp ' + c.remoteAddress + ' ' + n); c.end(); }); }).listen(7007, '203.0.113.8');
const u = dgram.createSocket('udp4'); u.on('message', (m, r) => { console.log('udp ' + r.address); u.send(m, r.port, r.address); }); u.bind(7007, '203.0.113.8');
console.log('ready');`;

/** A client in the VM's namespace: a TCP exchange of `bytes` echoed back, then one UDP datagram. */
const CLIENT = (bytes: number) => `
const net = require('node:net'), dgram = require('node:dgram');
const c = net.connect(7007, '203.0.113.8'); let got = 0; const buf = Buffer.alloc(${bytes}, 7);
c.on('connect', () => { c.write(buf); c.end(); }); c.on('data', (b) => { got += b.length; });
c.on('close', () => { const u = dgram.createSocket('udp4'); u.on('message', (m) => { console.log('tcp-echoed ' + got + ' udp-echoed ' + m.length); u.close(); }); u.send(Buffer.from('hello'), 7007, '203.0.113.8'); });
setTimeout(() => { console.log('timeout, tcp-echoed ' + got); process.exit(1); }, 60000).unref();`;

for (const workers of [undefined, '0']) test(`lab DVR path${workers === undefined ? '' : ` (--workers ${workers})`}: ping and traceroute from the VM namespace to the internet host`, { timeout: 180_000 }, async () => {
  requireRoot('dpemu run end-to-end tests');
  const lab = new UniqueLab();
  labs.push(lab);
  const { tag, nsVm, nsInet } = lab;
  d = new DaemonProcess([lab.file, '--lab', ...(workers === undefined ? [] : ['--workers', workers])]);
  await d.forwarding();
  // Each engine ran the lab hosts' traffic through a scratch copy first (src/topology/warm-up.ts), answered end to
  // end, and none of it is in the running lab: snat's conntrack table is empty until the VM sends.
  const warm = await d.waitLog((l) => String(l.msg).startsWith('warmed up: '));
  assert.equal(typeof warm.worker, workers === '0' ? 'undefined' : 'number', JSON.stringify(warm));
  assert.ok(Number(warm.answered) > 20, JSON.stringify(warm));
  const snatCt = await d.cli(['conntrack', 'w02', '-n', 'snat-c4d4b760-41b9-45e1-a607-d054da99c479', '-C']);
  assert.equal(snatCt.out.trim(), '0', snatCt.out);

  const ping = await run('ip', ['netns', 'exec', nsVm, 'ping', '-c', '3', '-i', '0.3', '-W', '2', '-n', '203.0.113.8'], 15_000);
  assert.match(ping.out, /3 packets transmitted, 3 received/, ping.out);

  // A real tcpdump at both ends sees the write-up's first and last frames (ping -s 100: the write-up's 142 bytes),
  // modulo the RFC 5737 addresses: the VM sends to the qr- MAC, the internet host gets it from the SNAT address.
  const dumps: Promise<Ran>[] = [];
  for (const ns of [nsVm, nsInet]) dumps.push((await tcpdumpIn(ns, ['-nnee', '-l', '-c', '2', '-i', 'eth0', 'icmp'], 30_000)).ended);
  await run('ip', ['netns', 'exec', nsVm, 'ping', '-c', '1', '-s', '100', '-W', '2', '-n', '203.0.113.8'], 10_000);
  const [atVm, atInet] = await Promise.all(dumps);
  assert.match(atVm!.out, /fa:16:3e:b2:ef:af > fa:16:3e:06:d8:7b, ethertype IPv4 \(0x0800\), length 142: 192\.168\.1\.7 > 203\.0\.113\.8: ICMP echo request/, atVm!.out);
  assert.match(atVm!.out, /fa:16:3e:d1:d8:49 > fa:16:3e:b2:ef:af, ethertype IPv4 \(0x0800\), length 142: 203\.0\.113\.8 > 192\.168\.1\.7: ICMP echo reply/, atVm!.out);
  assert.match(atInet!.out, /5c:c9:99:60:d2:72 > 02:00:cb:00:71:08, ethertype IPv4 \(0x0800\), length 142: 198\.51\.100\.200 > 203\.0\.113\.8: ICMP echo request/, atInet!.out);

  // The VM learned its gateway by a real ARP exchange with the emulated qrouter.
  const neigh = await run('ip', ['netns', 'exec', nsVm, 'ip', 'neigh', 'show', '192.168.1.1']);
  assert.match(neigh.out, /^192\.168\.1\.1 dev eth0 lladdr fa:16:3e:06:d8:7b (REACHABLE|STALE|DELAY)/, neigh.out);

  const expected = ['192.168.1.1', '192.168.1.6', '169.254.96.33', '10.206.221.193', '203.0.113.8'];
  for (const mode of [[], ['-I']]) {
    const tr = await run('ip', ['netns', 'exec', nsVm, 'traceroute', ...mode, '-n', '-q', '1', '-w', '2', '-m', '8', '203.0.113.8'], 20_000);
    const hops = tr.out.split('\n').slice(1).map((l) => l.trim().split(/\s+/)[1]).filter(Boolean);
    assert.deepEqual(hops, expected, `traceroute ${mode.join(' ')}\n${tr.out}`);
  }

  // TCP (300 kB each way, then close) and UDP to a server on the internet host, which sees them from the SNAT address.
  const server = spawn('ip', ['netns', 'exec', nsInet, process.execPath, '-e', ECHO_SERVER], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    let seen = '';
    server.stdout!.on('data', (b: Buffer) => (seen += b.toString()));
    // Waits only (a node started in a namespace takes seconds on a loaded box): what came is asserted below.
    for (const end = Date.now() + WAIT_MS; Date.now() < end && !seen.includes('ready'); ) await new Promise((r) => setTimeout(r, 100));
    const cl = await run('ip', ['netns', 'exec', nsVm, process.execPath, '-e', CLIENT(300_000)], 90_000);
    assert.match(cl.out, /^tcp-echoed 300000 udp-echoed 5$/m, cl.out);
    for (const end = Date.now() + WAIT_MS; Date.now() < end && !/udp /.test(seen); ) await new Promise((r) => setTimeout(r, 100));
    assert.match(seen, /^tcp 198\.51\.100\.200 300000$/m, seen);
    assert.match(seen, /^udp 198\.51\.100\.200$/m, seen);
  } finally {
    server.kill('SIGKILL');
  }

  // The control socket shows the snat namespace's conntrack entries for that traffic.
  const ct = await d.cli(['conntrack', 'w02', '-n', 'snat-c4d4b760-41b9-45e1-a607-d054da99c479', '-L', '-p', 'tcp']);
  assert.match(ct.out, /^tcp +6 \d+ \S+ src=192\.168\.1\.7 dst=203\.0\.113\.8 .*dport=7007 src=203\.0\.113\.8 dst=198\.51\.100\.200 /m, ct.out);

  // `dpemu trace` on the live state prints the whole write-up path, also where it crosses from w07's worker to w02's.
  const tr = await d.cli(['trace', '--in', 'w07:tap2ab77d0f-99', '--src-mac', 'fa:16:3e:b2:ef:af', '--dst-mac', 'fa:16:3e:06:d8:7b', '--icmp-echo', '--src', '192.168.1.7', '--dst', '203.0.113.8']);
  assert.equal(tr.status, 0, tr.out);
  assert.match(tr.out, /^ {2}w07 qrouter-c4d4b760-41b9-45e1-a607-d054da99c479\n[^]*^ {2}w02 snat-c4d4b760-41b9-45e1-a607-d054da99c479\n[^]*^ {2}tor tor\n/m, tr.out);
  assert.match(tr.out, /^ {2}packet [\d >]+: left the emulator at tor:swp2$/m, tr.out);

  // Inline: no datapath workers to list or kill; by default (cores - 1, at least 1) they run and are listed.
  const ws = await d.cli(['workers', ...(workers === '0' ? ['kill', '0'] : [])]);
  if (workers === '0') {
    assert.notEqual(ws.status, 0);
    assert.match(ws.out, /runs its data path on the main thread .*no datapath workers/, ws.out);
  } else {
    assert.equal(ws.status, 0, ws.out);
    assert.match(ws.out, /^0 +yes +0 +[1-9]\d* +0 +0 +0 +0 +0 +\S+$/m, ws.out); // journaled learned state, nothing dropped; no runtime configuration kept or replayed
  }

  // Prometheus' own parser accepts a live scrape of the running daemon, with traffic counted on the path.
  const url = /Metrics: (http:\/\/\S+)\/metrics/.exec(await d.waitOut(/Metrics: /))![1]!;
  const body = await (await fetch(`${url}/metrics`)).text();
  const rx = body.split('\n').find((l) => l.startsWith('dpemu_port_rx_packets_total{') && l.includes('element="snat-c4d4b760-41b9-45e1-a607-d054da99c479"') && l.includes('port="sg-499291dc-d8"'));
  assert.ok(rx && Number(rx.split(' ').at(-1)) > 100, `snat sg- counted the traffic: ${rx}`);
  const promtool = spawnSync('promtool', ['check', 'metrics'], { input: body, encoding: 'utf8' });
  assert.equal(promtool.status, 0, `${promtool.stdout}${promtool.stderr}`);
  assert.equal((await fetch(`${url}/healthz`)).status, 200);

  d.signal('SIGINT');
  assert.equal(await d.exit(8_000), 0, d.stderr);
  assert.deepEqual(KernelObjects.leftovers(tag), []);
});
