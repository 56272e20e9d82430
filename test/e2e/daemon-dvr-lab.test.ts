// The lab topology (configs/lab-dvr-snat.yaml) under `dpemu run --lab`, with
// its namespace and TAP names made unique: the VM namespace pings the
// internet host through the whole emulated DVR path, and traceroute shows
// the write-up's hops (qrouter, snat, fip, the ToR gateway), as on the real
// deployment with the RFC 5737 addresses of the lab file.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireRoot } from '../helpers/root.js';
import { KernelObjects, run, uniqueTag } from './lab-names.js';
import { DaemonProcess, REPO } from './daemon-process.js';

const tag = uniqueTag();
const dir = mkdtempSync(join(tmpdir(), 'dpemu-e2e-'));
const file = join(dir, 'lab.yaml');
const names = { 'netns: dpe-vm': `netns: dpe-${tag}-vm`, 'netns: dpe-inet': `netns: dpe-${tag}-in`, 'dev: dpe-vm0': `dev: dpe${tag}v`, 'dev: dpe-inet0': `dev: dpe${tag}i` };
const nsVm = `dpe-${tag}-vm`;

let d: DaemonProcess | null = null;
after(() => {
  if (d && d.exitCode === null) d.child.kill('SIGKILL');
  const objs = new KernelObjects();
  objs.ownNetns(nsVm);
  objs.ownNetns(`dpe-${tag}-in`);
  objs.ownLink(`dpe${tag}v`);
  objs.ownLink(`dpe${tag}i`);
  objs.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

test('lab DVR path: ping and traceroute from the VM namespace to the internet host', { timeout: 30_000 }, async () => {
  requireRoot('dpemu run end-to-end tests');
  let text = readFileSync(join(REPO, 'configs/lab-dvr-snat.yaml'), 'utf8');
  for (const [from, to] of Object.entries(names)) {
    assert.ok(text.includes(from), `the lab file has "${from}"`);
    text = text.replaceAll(from, to);
  }
  writeFileSync(file, text);
  d = new DaemonProcess([file, '--lab']);
  await d.waitLog((l) => l.msg === 'forwarding');

  const ping = await run('ip', ['netns', 'exec', nsVm, 'ping', '-c', '3', '-i', '0.3', '-W', '2', '-n', '203.0.113.8'], 15_000);
  assert.match(ping.out, /3 packets transmitted, 3 received/, ping.out);

  const tr = await run('ip', ['netns', 'exec', nsVm, 'traceroute', '-n', '-q', '1', '-w', '2', '-m', '8', '203.0.113.8'], 20_000);
  const hops = tr.out.split('\n').slice(1).map((l) => l.trim().split(/\s+/)[1]).filter(Boolean);
  assert.deepEqual(hops, ['192.168.1.1', '192.168.1.6', '169.254.96.33', '10.206.221.193', '203.0.113.8'], tr.out);

  d.signal('SIGINT');
  assert.equal(await d.exit(8_000), 0, d.stderr);
  assert.deepEqual(KernelObjects.leftovers(tag), []);
});
