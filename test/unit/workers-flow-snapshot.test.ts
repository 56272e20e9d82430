// WorkerControl.flowSnapshot, which compacts the runtime configuration log:
// it keeps each flow's formatted line between snapshots, so a flow whose
// actions or cookie changed since must be formatted again, and a flow gone
// must be gone from the next snapshot.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildEmulator } from '../../src/topology/builder.js';
import { loadTopologyOrThrow } from '../../src/topology/loader.js';
import { WorkerControl } from '../../src/workers/worker-control.js';

test('a flow snapshot follows mod-flows, a learn()-free modify and deletes made since the last one', () => {
  const emu = buildEmulator(loadTopologyOrThrow('configs/seed-dvr-snat.yaml'));
  const wc = new WorkerControl(emu);
  const run = (...argv: string[]) => {
    const a = wc.command('ofctl', argv);
    assert.ok(!('error' in a) || a.error === undefined, JSON.stringify(a));
  };
  const flows = () => {
    const s = wc.flowSnapshot('w07', 'br-int');
    assert.deepEqual(s[0]!.argv, ['del-flows', 'w07', 'br-int']);
    return s[1]!.argv[3]!.split('\n').filter((l) => l.includes('cookie=0x7'));
  };
  run('add-flow', 'w07', 'br-int', 'cookie=0x71,table=0,priority=70,udp,tp_dst=71 actions=drop');
  run('add-flow', 'w07', 'br-int', 'cookie=0x72,table=0,priority=70,udp,tp_dst=72 actions=drop');
  const first = flows();
  assert.equal(first.length, 2, first.join('\n'));
  assert.ok(first.every((l) => l.endsWith('actions=drop')), first.join('\n'));

  run('mod-flows', 'w07', 'br-int', '--strict', 'table=0,priority=70,udp,tp_dst=71 actions=resubmit(,25)');
  run('del-flows', 'w07', 'br-int', '--strict', 'table=0,priority=70,udp,tp_dst=72');
  run('add-flow', 'w07', 'br-int', 'cookie=0x73,table=0,priority=70,udp,tp_dst=73 actions=drop');
  const second = flows();
  assert.equal(second.length, 2, second.join('\n'));
  assert.match(second.find((l) => l.includes('tp_dst=71'))!, /actions=resubmit\(,25\)$/);
  assert.ok(!second.some((l) => l.includes('tp_dst=72')), 'the deleted flow is gone');
  assert.ok(second.some((l) => l.includes('tp_dst=73')), 'the new flow is there');
  // Replayed into a fresh emulator, the snapshot gives the same flows back.
  const again = new WorkerControl(buildEmulator(loadTopologyOrThrow('configs/seed-dvr-snat.yaml')));
  for (const c of wc.flowSnapshot('w07', 'br-int')) {
    const a = again.command(c.family, c.argv);
    assert.ok(!('error' in a) || a.error === undefined, JSON.stringify(a));
  }
  assert.deepEqual(again.flowSnapshot('w07', 'br-int'), wc.flowSnapshot('w07', 'br-int'));
});
