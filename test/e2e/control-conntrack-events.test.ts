// `dpemu conntrack NODE -n NS -E` through the real CLI and socket: it prints
// the namespace's events as conntrack -E does while traffic goes through,
// with its filters and -o timestamp, and a Ctrl-C ends it as it ends
// conntrack (the summary on stderr, exit 0). The kernel's own lines for the
// same exchanges are compared in conntrack-kernel.test.ts.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { runRemote } from '../../src/control/client.js';
import { parsePackets } from '../../src/cli/packet-flags.js';
import { macDefaults } from '../../src/cli/trace.js';
import { startDaemon, type Daemon } from '../helpers/control.js';
import { SNAT } from '../helpers/seed-names.js';

let d: Daemon;
before(async () => {
  d = await startDaemon();
});
after(async () => {
  await d.stop();
});

/** An echo request from the VM to 8.8.8.8 with this id (SNATed in w02's snat namespace). */
function ping(id: number): void {
  const [p] = parsePackets(['--in', 'w07:tap2ab77d0f-99', '--icmp-echo', '--src', '192.168.1.7', '--dst', '8.8.8.8', '--id', String(id)], macDefaults(d.emu));
  d.emu.engine.inject(d.emu.engine.pool.allocFrom(p!.frame)!, d.emu.findPort('w07', 'tap2ab77d0f-99')!);
}

test('conntrack -E: NEW and DESTROY lines of the filtered events, then Ctrl-C prints the summary and exits 0', async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'conntrack', '--socket', d.server.path, 'w02', '-n', SNAT, '-E', '-e', 'NEW,DESTROY', '-p', 'icmp', '-o', 'timestamp']);
  let stdout = '', stderr = '';
  child.stdout.on('data', (c) => (stdout += c));
  child.stderr.on('data', (c) => (stderr += c));
  const end = new Promise<number>((r) => child.on('close', (code) => r(code ?? -1)));
  // conntrack -E says nothing until an event: new echo ids until the first NEW shows it listens. The deadlines
  // are for waiting: under tsx the CLI compiles as it starts, seconds on a loaded box.
  let id = 1000;
  const deadline = Date.now() + 60_000;
  while (!stdout.includes('[NEW]')) {
    assert.ok(Date.now() < deadline, `no event came: ${stderr}`);
    ping(id++);
    await new Promise((r) => setTimeout(r, 100));
  }
  const first = id - 1;
  ping(first); // the same connection again: no event (and UPDATE is masked out anyway)
  const r = await runRemote({ socketPath: d.server.path }, 'conntrack', ['w02', '-n', SNAT, '-D', '-p', 'icmp', '-s', '192.168.1.7']);
  assert.equal(r.exit, 0, r.stderr);
  const until = Date.now() + 30_000;
  while (!stdout.includes('[DESTROY]') && Date.now() < until) await new Promise((res) => setTimeout(res, 50));
  child.kill('SIGINT');
  assert.equal(await end, 0, stderr);
  const lines = stdout.split('\n').filter(Boolean);
  for (const l of lines) assert.match(l, /^\[\d{10,}\.\d{6}\]\t/, 'each line stamped as -o timestamp stamps it');
  const text = lines.map((l) => l.replace(/^\[\d+\.\d+\]\t/, ''));
  const news = text.filter((l) => l.startsWith('    [NEW] '));
  const destroys = text.filter((l) => l.startsWith('[DESTROY] '));
  assert.equal(news.length + destroys.length, text.length, `NEW and DESTROY only (-e NEW,DESTROY):\n${stdout}`);
  // A NEW for the pings since it listened; a DESTROY for every ping's connection (-D takes them all).
  assert.ok(news.length >= 1 && news.length <= 2, stdout);
  assert.equal(destroys.length, id - 1000, stdout);
  assert.match(news.at(-1)!, new RegExp(`^    \\[NEW\\] icmp     1 30 src=192\\.168\\.1\\.7 dst=8\\.8\\.8\\.8 type=8 code=0 id=${first} \\[UNREPLIED\\] src=8\\.8\\.8\\.8 dst=112\\.65\\.210\\.200 type=0 code=0 id=\\d+$`));
  assert.match(destroys.at(-1)!, new RegExp(`^\\[DESTROY\\] icmp     1 \\d+ src=192\\.168\\.1\\.7 dst=8\\.8\\.8\\.8 type=8 code=0 id=\\d+ \\[UNREPLIED\\] src=8\\.8\\.8\\.8 .* \\[USERSPACE\\] portid=${process.pid} progname=conntrack$`));
  assert.equal(stderr, `conntrack v1.4.7 (conntrack-tools): ${lines.length} flow events have been shown.\n`);
});

test('conntrack -E: refusals in conntrack\'s words, and -E on the one-shot path says how to stream', async () => {
  const { cli } = await import('../helpers/control.js');
  const bad = await cli(d.server.path, ['conntrack', 'w02', '-n', SNAT, '-E', '-e', 'FOO']);
  assert.equal(bad.code, 2);
  assert.equal(bad.stderr, "conntrack v1.4.7 (conntrack-tools): Bad parameter `FOO'\nTry `conntrack -h' or 'conntrack --help' for more information.\n");
  const xml = await cli(d.server.path, ['conntrack', 'w02', '-n', SNAT, '-E', '-o', 'xml']);
  assert.equal(xml.code, 1);
  assert.match(xml.stderr, /conntrack -E -o xml is not emulated/);
  const oneShot = await runRemote({ socketPath: d.server.path }, 'conntrack', ['w02', '-n', SNAT, '-E']);
  assert.equal(oneShot.exit, 1);
  assert.match(oneShot.stderr, /conntrack -E streams its events/);
});
