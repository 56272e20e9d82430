// `dpemu run --lab --workers N` on the lab DVR topology: the datapath workers
// forward real traffic between the lab namespaces, fed by the TAPs directly,
// and a worker killed mid-traffic (`dpemu workers kill N`) comes back while
// the daemon goes on: a fast ping resumes, and an established TCP connection
// through SNAT keeps working. That last check can fail: after the restart the
// server speaks first, so the first packet to reach the SNAT node is in the
// reply direction and reaches the VM only if the restarted worker still has
// the connection's conntrack entry to de-NAT it.
// The TAP counters and the read-to-write histogram are checked too, the
// latter for frames read on one worker and written on the other.
// A reload (`dpemu reload`, SIGHUP) starts new workers on the file: an
// established NAT connection keeps working across it (the server speaks
// first again, so this needs the conntrack entry handed over), a broken file
// is refused with its file:line and changes nothing, and a flow added to the
// file is there afterwards. The MACs, neighbours and learned flows the old
// workers had are there at once, before any traffic could teach them again.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { requireRoot } from '../helpers/root.js';
import { run } from './lab-names.js';
import { DaemonProcess, workerRows, type WorkerRow, WAIT_MS } from './daemon-process.js';
import { SNAT } from '../helpers/seed-names.js';
import { LabDaemons, type UniqueLab } from './lab-dvr.js';

const children: ChildProcess[] = [];
after(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
});
const daemons = new LabDaemons();

const INET = '203.0.113.8', PORT = 7008;

/** In the internet host's namespace: accept one connection; each stdin line is sent on it; what arrives is printed. */
const SERVER = `
const net = require('node:net'), rl = require('node:readline');
let sock = null;
net.createServer((c) => { sock = c; console.log('accepted ' + c.remoteAddress); c.on('data', (b) => console.log('recv ' + b.toString())); c.on('error', (e) => console.log('error ' + e.code)); }).listen(${PORT}, '${INET}', () => console.log('ready'));
rl.createInterface({ input: process.stdin }).on('line', (l) => sock && sock.write(l));`;

/** In the VM's namespace: connect, and answer each message with "echo:" and the message. */
const CLIENT = `
const c = require('node:net').connect(${PORT}, '${INET}');
c.on('connect', () => console.log('connected'));
c.on('data', (b) => { console.log('got ' + b.toString()); c.write('echo:' + b.toString()); });
c.on('error', (e) => console.log('error ' + e.code));
c.on('close', () => console.log('closed'));`;

/** A node script in namespace `ns`, its stdout collected. */
function inNetns(ns: string, script: string): { child: ChildProcess; out: () => string } {
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  children.push(child);
  let text = '';
  child.stdout!.on('data', (b: Buffer) => (text += b.toString()));
  return { child, out: () => text };
}

async function until(what: string, pred: () => boolean, timeoutMs = WAIT_MS): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const dpemu = (d: DaemonProcess, ...args: string[]) => d.cli(args);

/**
 * What the workers learned, as the tools show it, less what time moves
 * (ages, counters, neighbour states): fdb/show rows, learned neighbours
 * (address and lladdr) and br-tun's learned flows.
 */
async function learnedViews(d: DaemonProcess): Promise<Record<string, string[]>> {
  const views: [string, string[], (l: string) => string | null][] = [
    ['fdb w07 br-int', ['appctl', 'fdb/show', 'w07', 'br-int'], (l) => /^\s*(\S+\s+\d+\s+\S+)\s+\d+$/.exec(l)?.[1] ?? null],
    ['fdb w02 br-ex', ['appctl', 'fdb/show', 'w02', 'br-ex'], (l) => /^\s*(\S+\s+\d+\s+\S+)\s+\d+$/.exec(l)?.[1] ?? null],
    ['neigh w02 snat', ['ip', '-n', SNAT, 'w02', 'neigh'], (l) => (/PERMANENT/.test(l) ? null : /^(\S+ dev \S+ lladdr \S+)/.exec(l)?.[1] ?? null)],
    ['learned w02 br-tun', ['ofctl', 'dump-flows', '--no-stats', 'w02', 'br-tun', 'table=20'], (l) => (/hard_timeout=300/.test(l) ? l.trim() : null)],
    ['learned w07 br-tun', ['ofctl', 'dump-flows', '--no-stats', 'w07', 'br-tun', 'table=20'], (l) => (/hard_timeout=300/.test(l) ? l.trim() : null)],
  ];
  const out: Record<string, string[]> = {};
  for (const [name, argv, pick] of views) {
    const r = await dpemu(d, ...argv);
    assert.equal(r.status, 0, r.out);
    out[name] = r.out.split('\n').map(pick).filter((x): x is string => x !== null).sort();
  }
  return out;
}

/** `dpemu workers` without the journal's and the configuration log's columns (checked in workers-learned-state and daemon-workers-config). */
async function workers(d: DaemonProcess): Promise<Pick<WorkerRow, 'index' | 'alive' | 'restarts' | 'nodes'>[]> {
  return (await workerRows(d)).map(({ index, alive, restarts, nodes }) => ({ index, alive, restarts, nodes }));
}

/** A TCP connection from the VM to the internet host through SNAT; `exchange(msg)` has the server send and the client answer. */
async function connection(lab: UniqueLab) {
  const server = inNetns(lab.nsInet, SERVER);
  await until('the server', () => server.out().includes('ready'));
  const client = inNetns(lab.nsVm, CLIENT);
  await until('the connection', () => /^accepted /m.test(server.out()) && client.out().includes('connected'));
  return {
    server,
    client,
    async exchange(msg: string, timeoutMs = 10_000): Promise<void> {
      server.child.stdin!.write(`${msg}\n`);
      await until(`"${msg}" at the client and its answer at the server\nclient:\n${client.out()}\nserver:\n${server.out()}`, () => client.out().includes(`got ${msg}`) && server.out().includes(`recv echo:${msg}`), timeoutMs);
    },
  };
}

/** A sample's value from the daemon's /metrics (NaN when absent). */
async function metric(d: DaemonProcess, name: string, labels: string): Promise<number> {
  const url = /Metrics: (http:\/\/\S+)\/metrics/.exec(await d.waitOut(/Metrics: /))![1]!;
  const body = await (await fetch(`${url}/metrics`)).text();
  const line = body.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(labels));
  return line ? Number(line.split(' ').at(-1)) : NaN;
}

async function stopClean(d: DaemonProcess, lab: UniqueLab): Promise<void> {
  await daemons.stop(d, lab);
  assert.ok(d.logs.some((l) => l.msg === 'stopped'), d.stderr);
}

test('--workers 2: forwards, and a killed worker comes back with its NAT connections', { timeout: 240_000 }, async () => {
  requireRoot('dpemu run end-to-end tests');
  const { d, lab, up } = await daemons.start(['--workers', '2']);
  assert.equal(up.workers, 2);
  assert.match(await d.waitOut(/Reload the file/), /Datapath: 2 worker thread\(s\)/);

  const ping = await run('ip', ['netns', 'exec', lab.nsVm, 'ping', '-c', '3', '-i', '0.3', '-W', '2', '-n', INET], 15_000);
  assert.match(ping.out, /3 packets transmitted, 3 received/, ping.out);

  // w07 (the VM's node) on one worker, w02 (snat) with the ToR it is cabled to on the other.
  const before = await workers(d);
  assert.equal(before.length, 2);
  const snat = before.find((w) => w.nodes.includes('w02'))!;
  assert.deepEqual([...snat.nodes].sort(), ['tor', 'w02']);
  assert.ok(before.every((w) => w.alive && w.restarts === 0), JSON.stringify(before));

  // `dpemu trace` on the live state follows the write-up path from w07's worker into w02's: the whole path.
  const tr = await dpemu(d, 'trace', '--in', 'w07:tap2ab77d0f-99', '--src-mac', 'fa:16:3e:b2:ef:af', '--dst-mac', 'fa:16:3e:06:d8:7b', '--icmp-echo', '--src', '192.168.1.7', '--dst', INET);
  assert.equal(tr.status, 0, tr.out);
  assert.match(tr.out, /^ {2}w07 qrouter-c4d4b760-41b9-45e1-a607-d054da99c479\n[^]*^ {2}w02 snat-c4d4b760-41b9-45e1-a607-d054da99c479\n[^]*^ {2}tor tor\n/m, tr.out);
  assert.match(tr.out, /^ {2}packet [\d >]+: left the emulator at tor:swp2$/m, tr.out);

  const conn = await connection(lab);
  assert.match(conn.server.out(), /^accepted 198\.51\.100\.200$/m, 'the server sees the SNAT address');
  await conn.exchange('before');

  // The TAP counters and the read-to-write histogram under workers: what reaches the VM's TAP (written by
  // w07's worker) was read at the internet host's TAP on the other worker (ping and TCP replies), so it is
  // timed only if the read stamp crossed the fabric with the frame (at most the ARP replies are not).
  assert.ok((await metric(d, 'dpemu_tap_rx_packets_total', `port="${lab.tapVm}"`)) >= 5);
  assert.ok((await metric(d, 'dpemu_tap_tx_packets_total', `port="${lab.tapInet}"`)) >= 5);
  const timed = await metric(d, 'dpemu_e2e_latency_seconds_count', 'node="w07"');
  assert.ok(timed >= 6, `frames to the VM timed from their read at the other worker's TAP: ${timed}`);

  // A fast ping across the kill.
  const fast = spawn('ip', ['netns', 'exec', lab.nsVm, 'ping', '-i', '0.01', '-W', '1', '-n', INET], { stdio: ['ignore', 'pipe', 'ignore'] });
  children.push(fast);
  let pings = '';
  fast.stdout!.on('data', (b: Buffer) => (pings += b.toString()));
  await until('replies to the fast ping', () => /bytes from/.test(pings));

  const killed = await dpemu(d, 'workers', 'kill', String(snat.index));
  assert.equal(killed.status, 0, killed.out);
  await d.waitLog((l) => l.msg.startsWith(`datapath worker ${snat.index} died and was restarted`), WAIT_MS);
  assert.equal(d.exitCode, null, 'the daemon goes on');
  const afterKill = await workers(d);
  assert.deepEqual(afterKill.find((w) => w.index === snat.index), { ...snat, alive: true, restarts: 1 });
  assert.ok(afterKill.every((w) => w.index === snat.index || w.restarts === 0), JSON.stringify(afterKill));

  // The ping resumes: replies again after the restart was seen.
  const mark = pings.length;
  await until('the fast ping to resume', () => /bytes from/.test(pings.slice(mark)));
  fast.kill('SIGINT');

  // The server speaks first: its segment is de-NATed only by the conntrack entry the restarted worker kept.
  await conn.exchange('after');
  assert.doesNotMatch(conn.client.out(), /closed|error/, conn.client.out());

  conn.server.child.kill('SIGKILL');
  conn.client.child.kill('SIGKILL');
  await stopClean(d, lab);
});

test('--workers 2: reload keeps NAT connections, refuses a broken file, applies a changed one', { timeout: 240_000 }, async () => {
  requireRoot('dpemu run end-to-end tests');
  const { d, lab } = await daemons.start(['--workers', '2']);
  const conn = await connection(lab);
  await conn.exchange('before');
  const rxBefore = await metric(d, 'dpemu_tap_rx_packets_total', `port="${lab.tapVm}"`);
  const learned = await learnedViews(d);
  assert.ok(learned['fdb w07 br-int']!.length > 0 && learned['learned w02 br-tun']!.length > 0 && learned['neigh w02 snat']!.length > 0, JSON.stringify(learned));

  // The same file, through the control socket: both TAPs kept, the SNAT namespace's conntrack carried.
  let mark = d.logs.length;
  const same = await dpemu(d, 'reload');
  assert.equal(same.status, 0, same.out);
  assert.match(same.out, /TAPs kept 2, added 0, removed 0, re-created 0/);
  const rel = await d.waitLog((l) => l.msg === 'reloaded' || l.msg === 'reloaded with errors', WAIT_MS, mark);
  assert.equal(rel.msg, 'reloaded', JSON.stringify(rel));
  assert.deepEqual([...(rel.kept as string[])].sort(), [lab.tapInet, lab.tapVm].sort());
  assert.ok((rel.stateCarried as string[]).includes('w02:snat-c4d4b760-41b9-45e1-a607-d054da99c479 conntrack'), JSON.stringify(rel.stateCarried));
  // MACs, neighbours and learned flows carried too (asked before any new traffic could teach them again).
  assert.deepEqual(await learnedViews(d), learned);
  assert.ok((rel.learnedCarried as number) > 0, JSON.stringify(rel));
  // The server speaks first: its segment reaches the VM only if the new worker de-NATs it with the carried entry.
  await conn.exchange('after-reload');
  const ws = await workers(d);
  assert.equal(ws.length, 2);
  assert.ok(ws.every((w) => w.alive && w.restarts === 0), JSON.stringify(ws));
  // The TAPs' counters go on across the reload (this thread's cells; metrics follow the new workers).
  assert.ok((await metric(d, 'dpemu_tap_rx_packets_total', `port="${lab.tapVm}"`)) > rxBefore);

  // A broken file (SIGHUP and dpemu reload): refused with where, still forwarding, the connection too.
  const good = readFileSync(lab.file, 'utf8');
  writeFileSync(lab.file, good.replace('ofport: 41,', 'ofport: [41,'));
  mark = d.logs.length;
  d.signal('SIGHUP');
  const refused = await d.waitLog((l) => l.msg.startsWith('reload refused'), WAIT_MS, mark);
  assert.match(String((refused.errors as string[])[0]), new RegExp(`^${lab.file.replace(/[.]/g, '\\.')}:\\d+:\\d+: `));
  const bad = await dpemu(d, 'reload');
  assert.notEqual(bad.status, 0);
  assert.match(bad.out, /reload refused, the running topology stays:\n.*lab\.yaml:\d+:\d+: /);
  const ping = await run('ip', ['netns', 'exec', lab.nsVm, 'ping', '-c', '2', '-i', '0.3', '-W', '2', '-n', INET], 15_000);
  assert.match(ping.out, /2 packets transmitted, 2 received/, `still forwarding after the refused reload: ${ping.out}`);
  await conn.exchange('after-refused');

  // A flow added to the file: the new workers have it.
  const vlanDrop = 'cookie=0x5d3a9c1e77f0b214, table=0, priority=65535,dl_vlan=4095 actions=drop\n';
  assert.ok(good.includes(vlanDrop));
  writeFileSync(lab.file, good.replace(vlanDrop, `${vlanDrop}          cookie=0x5d3a9c1e77f0b214, table=0, priority=3,dl_vlan=77 actions=drop\n`));
  assert.equal((await dpemu(d, 'ofctl', 'dump-flows', 'w07', 'br-int', 'table=0,dl_vlan=77')).out.includes('dl_vlan=77'), false);
  const changed = await dpemu(d, 'reload');
  assert.equal(changed.status, 0, changed.out);
  const flows = await dpemu(d, 'ofctl', 'dump-flows', 'w07', 'br-int', 'table=0,dl_vlan=77');
  assert.match(flows.out, /priority=3,dl_vlan=77 actions=drop/);
  await conn.exchange('after-flow');
  assert.doesNotMatch(conn.client.out(), /closed|error/, conn.client.out());

  conn.server.child.kill('SIGKILL');
  conn.client.child.kill('SIGKILL');
  await stopClean(d, lab);
});

test('--workers 1: one worker runs every node; SIGHUP reloads, forwarding goes on', { timeout: 180_000 }, async () => {
  requireRoot('dpemu run end-to-end tests');
  const { d, lab } = await daemons.start(['--workers', '1']);
  assert.match(await d.waitOut(/Reload the file/), /Datapath: 1 worker thread\(s\), worker 0: /);

  const ws = await workers(d);
  assert.equal(ws.length, 1);
  assert.deepEqual([...ws[0]!.nodes].sort(), ['tor', 'w02', 'w07']);

  const conn = await connection(lab);
  await conn.exchange('hello');
  conn.server.child.kill('SIGKILL');
  conn.client.child.kill('SIGKILL');

  const mark = d.logs.length;
  d.signal('SIGHUP');
  const rel = await d.waitLog((l) => l.msg === 'reloaded' || l.msg === 'reloaded with errors', WAIT_MS, mark);
  assert.equal(rel.msg, 'reloaded', JSON.stringify(rel));
  assert.equal(rel.workers, 1);
  const ping = await run('ip', ['netns', 'exec', lab.nsVm, 'ping', '-c', '2', '-i', '0.3', '-W', '2', '-n', INET], 15_000);
  assert.match(ping.out, /2 packets transmitted, 2 received/, `still forwarding after the reload: ${ping.out}`);

  const bad = await dpemu(d, 'workers', 'kill', '1');
  assert.notEqual(bad.status, 0);
  assert.match(bad.out, /no worker 1 \(workers are 0\.\.0\)/);

  await stopClean(d, lab);
});
