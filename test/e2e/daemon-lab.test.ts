// `dpemu run FILE --lab` as a user runs it: a small topology (one Linux bridge,
// two TAP edges, a lab host on each), real pings between the host
// namespaces, SIGHUP with a broken file (refused, still forwarding), a TAP
// deleted from outside (logged and counted, re-created by the next reload,
// which also changes an MTU on a kept TAP), and SIGTERM removing everything.
// Once with the default datapath workers, once with the engine inline.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireRoot } from '../helpers/root.js';
import { KernelObjects, run, tryRun, uniqueTag, bridgeLabYaml } from './lab-names.js';
import { DaemonProcess, WAIT_MS } from './daemon-process.js';

const tag = uniqueTag();
const dir = mkdtempSync(join(tmpdir(), 'dpemu-e2e-'));
const file = join(dir, 'lab.yaml');
const nsA = `dpe-${tag}-ha`, nsB = `dpe-${tag}-hb`;
const devA = `dpe${tag}a`, devB = `dpe${tag}b`;

function topology(mtuA: number): string {
  return bridgeLabYaml(`e2e-${tag}`, devA, devB, `  ha:
    edge: n1:pa
    netns: ${nsA}
    interface: { name: eth0, mac: 02:00:0a:4e:00:01, mtu: ${mtuA}, addresses: [10.78.0.1/24] }
  hb:
    edge: n1:pb
    netns: ${nsB}
    interface: { name: eth0, mac: 02:00:0a:4e:00:02, mtu: 1500, addresses: [10.78.0.2/24] }
    routes: |
      10.78.0.0/24 dev eth0 proto kernel scope link src 10.78.0.2
      10.99.0.0/16 via 10.78.0.1 dev eth0
    neighbours: |
      10.78.0.1 dev eth0 lladdr 02:00:0a:4e:00:01 PERMANENT
`);
}

let d: DaemonProcess | null = null;
after(() => {
  if (d && d.exitCode === null) d.child.kill('SIGKILL');
  // By exact name, whatever the daemon managed to do.
  KernelObjects.remove([nsA, nsB], [devA, devB]);
  rmSync(dir, { recursive: true, force: true });
});

const ping = (ns: string, dst: string) => run('ip', ['netns', 'exec', ns, 'ping', '-c', '2', '-i', '0.2', '-W', '2', '-n', dst], 10_000);

/** The nice level of each thread of process `pid`, by thread id (field 19 of /proc/PID/task/TID/stat). */
function threadNice(pid: number): Map<number, number> {
  const out = new Map<number, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    const fields = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    out.set(Number(tid), Number(fields[16]));
  }
  return out;
}

for (const workers of [undefined, '0']) test(`dpemu run --lab${workers === undefined ? '' : ` --workers ${workers}`}: forward, reload, survive a lost TAP, stop clean`, { timeout: 180_000 }, async () => {
  requireRoot('dpemu run end-to-end tests');
  writeFileSync(file, topology(1500));
  d = new DaemonProcess([file, '--lab', ...(workers === undefined ? [] : ['--workers', workers])]);
  await d.forwarding();
  assert.match(await d.waitOut(/Reload the file/), new RegExp(`ip netns exec ${nsA} ping -c 3 10\\.78\\.0\\.2`), 'the banner says how to ping');

  // At nice -10 as ovs-ctl starts ovs-vswitchd: the main thread and the threads it started since (TAP readers and
  // writers, datapath workers), so that a busy host does not hold forwarding off its cores.
  const nice = threadNice(d.child.pid!);
  assert.equal(nice.get(d.child.pid!), -10, 'the main thread');
  assert.ok([...nice.values()].filter((n) => n === -10).length >= 3, `the TAPs' threads too: ${JSON.stringify([...nice])}`);

  // The hosts as the file describes them.
  assert.match(tryRun('ip', ['-n', nsB, 'route']).out, /10\.99\.0\.0\/16 via 10\.78\.0\.1 dev eth0/);
  assert.match(tryRun('ip', ['-n', nsB, 'neigh']).out, /10\.78\.0\.1 dev eth0 lladdr 02:00:0a:4e:00:01 PERMANENT/);
  assert.match(tryRun('ip', ['-n', nsA, 'link', 'show', 'eth0']).out, /mtu 1500 .*\n.*02:00:0a:4e:00:01/);

  let r = await ping(nsA, '10.78.0.2');
  assert.equal(r.status, 0, r.out);

  // A broken file: refused, nothing touched.
  writeFileSync(file, topology(1500).replace('port_no: 2', 'port_no: [2'));
  let mark = d.logs.length;
  d.signal('SIGHUP');
  const refused = await d.waitLog((l) => l.msg.startsWith('reload refused'), WAIT_MS, mark);
  assert.ok(Array.isArray(refused.errors) && (refused.errors as string[]).length > 0);
  r = await ping(nsA, '10.78.0.2');
  assert.equal(r.status, 0, `still forwarding after a refused reload: ${r.out}`);

  // Someone deletes a TAP: logged, counted, the other port keeps running.
  mark = d.logs.length;
  assert.equal(tryRun('ip', ['-n', nsB, 'link', 'del', 'eth0']).status, 0);
  const gone = await d.waitLog((l) => /disappeared/.test(l.msg), WAIT_MS, mark);
  assert.equal(gone.dev, devB);
  assert.equal(gone.tapsGone, 1);

  // A valid file again, with another MTU for ha: the lost TAP comes back, ha's TAP is kept.
  writeFileSync(file, topology(1400));
  mark = d.logs.length;
  d.signal('SIGHUP');
  const rel = await d.waitLog((l) => l.msg === 'reloaded' || l.msg === 'reloaded with errors', WAIT_MS, mark);
  assert.equal(rel.msg, 'reloaded', JSON.stringify(rel));
  assert.deepEqual(rel.recreated, [devB]);
  assert.deepEqual(rel.kept, [devA]);
  assert.match(tryRun('ip', ['-n', nsA, 'link', 'show', 'eth0']).out, /mtu 1400/);
  assert.match(tryRun('ip', ['-n', nsB, 'route']).out, /10\.99\.0\.0\/16 via 10\.78\.0\.1/, 'the re-created host is configured again');
  r = await ping(nsB, '10.78.0.1');
  assert.equal(r.status, 0, `forwarding again after the reload: ${r.out}`);

  // SIGTERM: a clean stop that removes every TAP and namespace it made.
  d.signal('SIGTERM');
  assert.equal(await d.exit(8_000), 0, d.stderr);
  const stopped = d.logs.find((l) => l.msg === 'stopped');
  assert.ok(stopped, d.stderr);
  assert.deepEqual(KernelObjects.leftovers(tag), []);
});
