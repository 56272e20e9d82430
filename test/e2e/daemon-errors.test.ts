// `dpemu run` when it cannot run: one line saying what is wrong and what to
// do, a non-zero exit, and nothing left behind in the kernel; and when it is
// stopped before it is up.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireRoot } from '../helpers/root.js';
import { KernelObjects, sh, tryRun, uniqueTag, bridgeLabYaml } from './lab-names.js';
import { DaemonProcess, DPEMU, REPO } from './daemon-process.js';
import { UniqueLab } from './lab-dvr.js';

const tag = uniqueTag();
const dir = mkdtempSync(join(tmpdir(), 'dpemu-e2e-'));
chmodSync(dir, 0o755);
const objs = new KernelObjects();
after(() => {
  objs.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

function topo(devA: string, devB: string, nsA: string): string {
  return bridgeLabYaml(`err-${tag}`, devA, devB, `  ha:
    edge: n1:pa
    netns: ${nsA}
    interface: { name: eth0, addresses: [10.79.0.1/24] }
`);
}

/** Run `dpemu run ARGS` to its exit (bounded); prefix runs it through e.g. setpriv. */
function dpemuRun(args: string[], prefix: string[] = []): Promise<{ code: number | null; stderr: string }> {
  const argv = [...prefix, process.execPath, DPEMU, 'run', ...args, '--log-format', 'json'];
  return new Promise((resolve) => {
    const c = spawn(argv[0]!, argv.slice(1), { cwd: REPO, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    c.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const t = setTimeout(() => c.kill('SIGKILL'), 15_000);
    c.on('exit', (code) => {
      clearTimeout(t);
      resolve({ code, stderr });
    });
  });
}

/** The plain error line (JSON log lines aside). */
const errorLine = (stderr: string): string => stderr.split('\n').find((l) => l.startsWith('dpemu run: ')) ?? `(none in: ${stderr})`;

test('a broken file: its errors, exit 1, nothing created', { timeout: 60_000 }, async () => {
  requireRoot('dpemu run end-to-end tests');
  const f = join(dir, 'broken.yaml');
  writeFileSync(f, topo(`dpe${tag}a`, `dpe${tag}b`, `dpe-${tag}-a`).replace('port_no: 2', 'port_no: two'));
  const r = await dpemuRun([f, '--lab']);
  assert.equal(r.code, 1);
  assert.match(errorLine(r.stderr), /topology file .*broken\.yaml has \d+ error\(s\): fix them and start again \(dpemu check .*\)/);
  assert.match(r.stderr, /broken\.yaml:\d+:\d+/, 'the errors are listed with positions');
  assert.deepEqual(KernelObjects.leftovers(tag), []);
});

test('a missing file, an unknown node', { timeout: 60_000 }, async () => {
  requireRoot('dpemu run end-to-end tests');
  const r = await dpemuRun([join(dir, 'nope.yaml')]);
  assert.equal(r.code, 1);
  assert.match(errorLine(r.stderr), /cannot read topology file .*nope\.yaml: no such file: give an existing file/);
  const f = join(dir, 'ok.yaml');
  writeFileSync(f, topo(`dpe${tag}a`, `dpe${tag}b`, `dpe-${tag}-a`));
  const n = await dpemuRun([f, '--node', 'w99']);
  assert.equal(n.code, 1);
  assert.match(errorLine(n.stderr), /no node w99 in .*: choose among: n1/);
});

test('a TAP name taken: says which and how to free it, removes what it had made', { timeout: 60_000 }, async () => {
  requireRoot('dpemu run end-to-end tests');
  const devA = `dpe${tag}a`, devB = `dpe${tag}b`, nsA = `dpe-${tag}-a`;
  // devB is taken by a veth of ours; devA (and ha's namespace) are made first, then must be removed.
  sh('ip', ['link', 'add', devB, 'type', 'veth', 'peer', 'name', `dpe${tag}p`]);
  objs.ownLink(devB);
  const f = join(dir, 'taken.yaml');
  writeFileSync(f, topo(devA, devB, nsA));
  const r = await dpemuRun([f, '--lab']);
  assert.equal(r.code, 1);
  assert.equal(errorLine(r.stderr), `dpemu run: the TAP name ${devB} is taken (a device of that name exists): delete it (ip link del ${devB}) or give the edge another dev in the topology`);
  assert.equal(tryRun('ip', ['netns', 'list']).out.includes(nsA), false, 'the lab namespace made before the failure is gone');
  assert.equal(tryRun('ip', ['link', 'show', 'dev', devA]).status, 1, 'the TAP made before the failure is gone');
  objs.cleanup();
  assert.deepEqual(KernelObjects.leftovers(tag), []);
});

test("a lab namespace that exists: not touched, and the advice allows for a dpemu still running it", { timeout: 60_000 }, async () => {
  requireRoot('dpemu run end-to-end tests');
  const devA = `dpe${tag}c`, devB = `dpe${tag}d`, nsA = `dpe-${tag}-c`;
  objs.addNetns(nsA);
  const f = join(dir, 'netns-taken.yaml');
  writeFileSync(f, topo(devA, devB, nsA));
  const r = await dpemuRun([f, '--lab']);
  assert.equal(r.code, 1);
  assert.equal(
    errorLine(r.stderr),
    `dpemu run: namespace ${nsA} (lab host ha) already exists: a dpemu still running may have it, or a run that was killed left it: if no dpemu runs it, remove it (ip netns del ${nsA}) and start again`,
  );
  assert.ok(tryRun('ip', ['netns', 'list']).out.split('\n').some((l) => l.split(' ')[0] === nsA), 'the namespace is still there');
  objs.cleanup();
  assert.deepEqual(KernelObjects.leftovers(tag), []);
});

test('not root: says so and how, exit 1', { timeout: 60_000 }, async (t) => {
  requireRoot('dpemu run end-to-end tests (to drop to nobody)');
  // The check runs dpemu from this clone as nobody: a clone under a private home cannot be read by nobody.
  if (tryRun('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'test', '-r', join(REPO, 'dist/src/cli/main.js')]).status !== 0) {
    t.skip(`this clone (${REPO}) is not readable by uid 65534`);
    return;
  }
  const f = join(dir, 'ok.yaml');
  writeFileSync(f, topo(`dpe${tag}a`, `dpe${tag}b`, `dpe-${tag}-a`));
  chmodSync(f, 0o644);
  const r = await dpemuRun([f], ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all', '--bounding-set=-all']);
  assert.equal(r.code, 1, r.stderr);
  assert.match(errorLine(r.stderr), /^dpemu run: creating TAP devices needs root \(CAP_NET_ADMIN\): run as root .*--cap-add NET_ADMIN --device \/dev\/net\/tun/);
});

test('SIGINT while starting: the start completes, then a clean stop removes everything, exit 0', { timeout: 180_000 }, async () => {
  requireRoot('dpemu run end-to-end tests');
  const lab = new UniqueLab();
  let d: DaemonProcess | null = null;
  try {
    d = new DaemonProcess([lab.file, '--lab']);
    // The signal goes as soon as the first lab namespace exists: TAPs, the other host and the datapath workers are still to come.
    const t0 = Date.now();
    while (!tryRun('ip', ['netns', 'list']).out.split('\n').some((l) => l.split(' ')[0] === lab.nsVm)) {
      assert.equal(d.exitCode, null, `dpemu run ended before making ${lab.nsVm}: ${d.stderr}`);
      assert.ok(Date.now() - t0 < 30_000, `${lab.nsVm} never appeared`);
      await new Promise((r) => setTimeout(r, 5));
    }
    d.child.kill('SIGINT');
    assert.equal(await d.exited, 0, d.stderr);
    const msgs = d.logs.map((l) => l.msg);
    assert.ok(msgs.some((m) => m.startsWith('stop requested while starting')), `the signal came while starting: ${msgs.join(' | ')}`);
    assert.ok(msgs.includes('stopped'), msgs.join(' | '));
    assert.doesNotMatch(d.stdout, /^Try, from/m, 'no banner for a daemon stopped while starting');
    assert.deepEqual(KernelObjects.leftovers(lab.tag), []);
  } finally {
    await d?.kill();
    lab.cleanup();
  }
});

test('an exception no handler catches: logged, the clean stop with its workers, exit 1, nothing left', { timeout: 180_000 }, async () => {
  requireRoot('dpemu run end-to-end tests');
  const lab = new UniqueLab();
  let d: DaemonProcess | null = null;
  try {
    // The preload throws on the main thread at SIGUSR2, as a bug would (the product has no such trigger).
    d = new DaemonProcess([lab.file, '--lab', '--workers', '1'], ['--import', join(REPO, 'test/e2e/throw-on-sigusr2.mjs')]);
    await d.waitOut(/^Try, from/m, 30_000);
    d.signal('SIGUSR2');
    // Node's own exit (before dpemu caught these) ended the process at once, without a log line, leaving the lab namespaces.
    assert.equal(await d.exit(15_000), 1, d.stderr);
    const fatal = d.logs.find((l) => l.msg.startsWith('internal error'));
    assert.ok(fatal, d.stderr);
    assert.equal(fatal.level, 60, 'logged as fatal');
    assert.match(JSON.stringify(fatal.err), /injected by the test \(SIGUSR2\)/);
    assert.ok(d.logs.some((l) => l.msg === 'stopped'), d.logs.map((l) => l.msg).join(' | '));
    assert.deepEqual(KernelObjects.leftovers(lab.tag), []);
  } finally {
    await d?.kill();
    lab.cleanup();
  }
});
