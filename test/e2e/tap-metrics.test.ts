// The TAP path's own metrics on a live scrape of `dpemu run --lab --workers 0` (a Linux
// bridge between two lab hosts): the rings between the engine thread and the
// TAP workers, each worker's busy time and counts, and the read-to-write
// histogram. N pings cross; every family moves, and where a count is exact
// the scrape agrees with the TAP counters to the packet.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireRoot } from '../helpers/root.js';
import { parseExposition, value, type Scrape } from '../unit/metrics-scrape.js';
import { KernelObjects, run, uniqueTag, bridgeLabYaml } from './lab-names.js';
import { DaemonProcess } from './daemon-process.js';

const tag = uniqueTag();
const dir = mkdtempSync(join(tmpdir(), 'dpemu-e2e-'));
const file = join(dir, 'lab.yaml');
const nsA = `dpe-${tag}-ha`, nsB = `dpe-${tag}-hb`;
const devA = `dpe${tag}a`, devB = `dpe${tag}b`;
const N = 50;

// Permanent neighbours on both hosts: the pings need no ARP. IPv6 off: a new
// interface's DAD, MLD reports and router solicitations (seen for 4 s after up)
// would cross the bridge at random times, some during the scrape that expects
// empty rings.
const topology = bridgeLabYaml(`e2e-${tag}`, devA, devB, `  ha:
    edge: n1:pa
    netns: ${nsA}
    interface: { name: eth0, mac: 02:00:0a:4d:00:01, mtu: 1500, addresses: [10.77.9.1/24] }
    sysctls: { net.ipv6.conf.all.disable_ipv6: 1 }
    neighbours: |
      10.77.9.2 dev eth0 lladdr 02:00:0a:4d:00:02 PERMANENT
  hb:
    edge: n1:pb
    netns: ${nsB}
    interface: { name: eth0, mac: 02:00:0a:4d:00:02, mtu: 1500, addresses: [10.77.9.2/24] }
    sysctls: { net.ipv6.conf.all.disable_ipv6: 1 }
    neighbours: |
      10.77.9.1 dev eth0 lladdr 02:00:0a:4d:00:01 PERMANENT
`);

let d: DaemonProcess | null = null;
after(() => {
  if (d && d.exitCode === null) d.child.kill('SIGKILL');
  KernelObjects.remove([nsA, nsB], [devA, devB]);
  rmSync(dir, { recursive: true, force: true });
});

const ringOf = (dev: string, dir: 'rx' | 'tx') => ({ ring: `${dev}-${dir}` });

test('ring, worker and read-to-write metrics move with traffic, and agree with the TAP counters', { timeout: 180_000 }, async () => {
  requireRoot('dpemu run end-to-end tests');
  writeFileSync(file, topology);
  d = new DaemonProcess([file, '--lab', '--workers', '0']); // the inline TAP path: its rings and tx threads
  await d.forwarding();
  const url = /Metrics: (http:\/\/\S+)\/metrics/.exec(await d.waitOut(/Metrics: /))![1]!;
  const scrape = async (): Promise<{ s: Scrape; body: string }> => {
    const body = await (await fetch(`${url}/metrics`)).text();
    return { s: parseExposition(body), body };
  };

  const { s: before } = await scrape();
  for (const dev of [devA, devB]) {
    for (const dir of ['rx', 'tx'] as const) {
      assert.equal(value(before, 'dpemu_ring_capacity', ringOf(dev, dir)), 1024, `${dev} ${dir} ring capacity`);
      assert.equal(before.types.get('dpemu_ring_enqueued_total'), 'counter');
    }
    for (const role of ['rx', 'tx']) assert.ok(before.samples.some((x) => x.name === 'dpemu_worker_busy_seconds_total' && x.labels.worker === `tap-${role}-${dev}`), `busy seconds of tap-${role}-${dev}`);
  }
  assert.equal(before.types.get('dpemu_e2e_latency_seconds'), 'histogram');

  const t0 = Date.now();
  const r = await run('ip', ['netns', 'exec', nsA, 'ping', '-c', String(N), '-i', '0.01', '-W', '2', '-q', '-n', '10.77.9.2'], 15_000);
  assert.equal(r.status, 0, r.out);
  assert.match(r.out, new RegExp(`${N} packets transmitted, ${N} received`));
  const wall = (Date.now() - t0) / 1000;
  // The last reply's slot comes back from the tx worker: scraped until the four rings are empty (a fixed 200 ms
  // pause is a race on a loaded box), for 30 s at most; the assertions below say what was left.
  let { s: after, body } = await scrape();
  const empty = (x: Scrape): boolean => [devA, devB].every((dev) => (['rx', 'tx'] as const).every((dir) => value(x, 'dpemu_ring_occupancy', ringOf(dev, dir)) === 0));
  for (const deadline = Date.now() + 30_000; !empty(after) && Date.now() < deadline; ({ s: after, body } = await scrape())) await new Promise((res) => setTimeout(res, 50));
  const delta = (name: string, match: Record<string, string> = {}) => value(after, name, match) - value(before, name, match);
  const tap = (name: string, dev: string) => value(after, name, { port: dev });

  // Moving: at least the N requests one way and the N replies the other.
  for (const dev of [devA, devB]) {
    assert.ok(delta('dpemu_ring_enqueued_total', ringOf(dev, 'rx')) >= N, `${dev} rx ring: ${delta('dpemu_ring_enqueued_total', ringOf(dev, 'rx'))}`);
    assert.ok(delta('dpemu_worker_batches_total', { worker: `tap-rx-${dev}` }) >= N);
    assert.ok(delta('dpemu_tap_tx_packets_total', { port: dev }) >= N);
  }
  // Exact: every frame read was put on the rx ring, every frame queued for a TAP was written, nothing was dropped at a ring,
  // and both rings are empty now that the traffic stopped.
  for (const dev of [devA, devB]) {
    assert.equal(value(after, 'dpemu_ring_enqueued_total', ringOf(dev, 'rx')), tap('dpemu_tap_rx_packets_total', dev) - tap('dpemu_tap_rx_dropped_packets_total', dev), `${dev}: rx ring = frames read and kept`);
    // The engine thread writes a frame itself when the writer sleeps with nothing queued (tap-port.ts emit): the rest went by the ring.
    const queued = value(after, 'dpemu_ring_enqueued_total', ringOf(dev, 'tx'));
    assert.ok(queued <= tap('dpemu_tap_tx_packets_total', dev) + tap('dpemu_tap_tx_errors_total', dev), `${dev}: tx ring ${queued} <= frames written or failed`);
    assert.equal(value(after, 'dpemu_worker_packets_total', { worker: `tap-tx-${dev}` }), queued, `${dev}: the writer wrote what was queued`);
    assert.equal(value(after, 'dpemu_worker_packets_total', { worker: `tap-rx-${dev}` }), tap('dpemu_tap_rx_packets_total', dev) - tap('dpemu_tap_rx_dropped_packets_total', dev));
    for (const dir of ['rx', 'tx'] as const) {
      assert.equal(value(after, 'dpemu_ring_dropped_packets_total', ringOf(dev, dir)), 0);
      assert.equal(value(after, 'dpemu_ring_occupancy', ringOf(dev, dir)), 0);
    }
  }
  // Every frame written to a TAP here was caused by one read from the other (a bridge makes none of its own): each is timed.
  const written = tap('dpemu_tap_tx_packets_total', devA) + tap('dpemu_tap_tx_packets_total', devB);
  assert.equal(value(after, 'dpemu_e2e_latency_seconds_count', { node: 'n1' }), written, 'one read-to-write sample per frame written');
  assert.ok(delta('dpemu_e2e_latency_seconds_count', { node: 'n1' }) >= 2 * N);
  const sum = delta('dpemu_e2e_latency_seconds_sum', { node: 'n1' });
  assert.ok(sum > 0 && sum / delta('dpemu_e2e_latency_seconds_count', { node: 'n1' }) < 0.1, `mean read-to-write ${sum} s over the pings`);
  // The stamp is taken on the reader's thread and read on another: clocks a millisecond apart (as a naive
  // offset gave) put every sample above 0.5 ms; a bridge hop is tens of microseconds here.
  const fast = value(after, 'dpemu_e2e_latency_seconds_bucket', { node: 'n1', le: '0.000524288' });
  assert.ok(fast > 0, `some frames read to written in under 0.5 ms (${fast} of ${written})`);
  // Busy time: each worker did some work, and none more than the wall time that passed.
  for (const dev of [devA, devB]) {
    for (const role of ['rx', 'tx']) {
      const b = delta('dpemu_worker_busy_seconds_total', { worker: `tap-${role}-${dev}` });
      assert.ok(b > 0 && b <= wall + 0.5, `tap-${role}-${dev} busy ${b} s in ${wall} s`);
    }
  }
  const promtool = spawnSync('promtool', ['check', 'metrics'], { input: body, encoding: 'utf8' });
  assert.equal(promtool.status, 0, `${promtool.stdout}${promtool.stderr}`);

  d.signal('SIGINT');
  assert.equal(await d.exit(8_000), 0, d.stderr);
  assert.deepEqual(KernelObjects.leftovers(tag), []);
});
