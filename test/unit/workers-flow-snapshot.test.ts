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
    return s[1]!.argv.at(-1)!.split('\n').filter((l) => l.includes('cookie=0x7'));
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

test('a flow added through ofctl is snapshotted with the line it was added with, which replays to the same flows', () => {
  const file = 'configs/seed-dvr-snat.yaml';
  const wc = new WorkerControl(buildEmulator(loadTopologyOrThrow(file)));
  const run = (c: WorkerControl, ...argv: string[]) => {
    const a = c.command('ofctl', argv);
    assert.ok(!('error' in a) || a.error === undefined, JSON.stringify(a));
    return a.response!.stdout;
  };
  // Port names, spacing and field order as a user writes them; one added alone, two from a file's text.
  const single = 'cookie=0x81, priority=81,table=0,in_port="qvo2ab77d0f-99",dl_src=fa:16:3e:ee:00:81 actions=resubmit(,25)';
  const fromFile = ['table=60,priority=3,dl_vlan=12,dl_dst=fa:16:3e:ee:00:82 actions=strip_vlan,output:"qvo2ab77d0f-99"', 'cookie=0x83,table=25,priority=2,idle_timeout=300,in_port="qvo2ab77d0f-99",dl_src=fa:16:3e:ee:00:83 actions=drop'];
  run(wc, 'add-flow', 'w07', 'br-int', single);
  run(wc, 'add-flows', 'w07', 'br-int', `# churn\n${fromFile.join('\n')}\n`);
  // OpenFlow 1.0 has no goto_table: the flow keeps the resubmit ovs-ofctl sends for it, and the snapshot says so.
  const gotoTable = 'cookie=0x84,table=0,priority=84,udp,tp_dst=84 actions=goto_table:25';
  run(wc, 'add-flow', 'w07', 'br-int', gotoTable);
  const snap = wc.flowSnapshot('w07', 'br-int');
  const lines = snap[1]!.argv.at(-1)!.split('\n');
  // With the reset_counts their OpenFlow 1.0 add gave them: the snapshot replays under OpenFlow 1.4.
  for (const l of [single, ...fromFile]) assert.ok(lines.includes(`reset_counts,${l}`), `${l} kept as given:\n${lines.join('\n')}`);
  assert.ok(lines.includes('cookie=0x84, reset_counts priority=84,udp,tp_dst=84 actions=resubmit(,25)'), lines.join('\n'));
  // Replayed into a fresh emulator, the lines make the same flows as the formatted ones did.
  const again = new WorkerControl(buildEmulator(loadTopologyOrThrow(file)));
  for (const c of snap) run(again, ...c.argv);
  const dump = (c: WorkerControl, ...o: string[]) => run(c, 'dump-flows', '--no-stats', ...o, 'w07', 'br-int');
  assert.equal(dump(again), dump(wc));
  assert.equal(dump(again, '-O', 'OpenFlow13'), dump(wc, '-O', 'OpenFlow13'));
  assert.match(dump(again, '-O', 'OpenFlow13'), /\n cookie=0x81, reset_counts priority=81,/);
  assert.ok(dump(again).includes('priority=81,in_port=41,dl_src=fa:16:3e:ee:00:81 actions=resubmit(,25)'), dump(again));
});
