// Stats cells given back (release) and taken again (alloc): what a deleted
// bridge or internal device leaves for the next one, and what readers see.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Stats, PORT_COUNTERS, allocDrops } from '../../src/datapath/stats.js';
import { StatsReader } from '../../src/metrics/stats-reader.js';

test('release: retired runs matching go back nameless (never summed, exported or revived); alloc takes one of its size again, zeroed, and readers lay out again', () => {
  const s = new Stats(64);
  const port = (element: string, p: string): number => s.alloc(PORT_COUNTERS, { node: 'n', element, kind: 'ovs', port: p });
  const a = port('br1', 'p1'), b = port('br1', 'p2'), drops = allocDrops(s, { node: 'n', element: 'br1', kind: 'ovs' });
  const used = s.desc.length;
  s.v[a] = 7;
  s.v[b] = 9;
  // Not retired: release leaves it.
  s.release({ element: 'br1', port: 'p1' });
  assert.equal(s.sum('port_rx_packets', { port: 'p1' }), 7);
  s.retire({ element: 'br1', port: 'p1' });
  s.release({ element: 'br1', port: 'p1' });
  assert.ok(s.isFree(a) && !s.isFree(b));
  assert.equal(s.sum('port_rx_packets', { port: 'p1' }), 0);
  // A port of the same name later does not bring the given-back cells back.
  s.retire({ element: 'br1', port: 'p1' }, false);
  assert.ok(s.desc.slice(a, a + PORT_COUNTERS.length).every((d) => d.retired && d.name === ''));
  const reader = new StatsReader([s]);
  const rx = (): number[] => [...(reader.read().get('dpemu_port_rx_packets_total')?.scalars.values() ?? [])].map((x) => x.value);
  assert.deepEqual(rx(), [9]);
  // Another size grows; the same size takes the run back, from 0, under its new labels.
  const h = s.alloc(['x', 'y'], { node: 'n' });
  assert.equal(h, used);
  const epoch = s.epoch;
  const c = port('br2', 'p3');
  assert.equal(c, a);
  assert.ok(s.epoch > epoch && !s.isFree(a));
  assert.equal(s.v[c], 0);
  assert.deepEqual(s.desc[c], { name: 'port_rx_packets', labels: { node: 'n', element: 'br2', kind: 'ovs', port: 'p3' } });
  s.v[c] = 3;
  assert.deepEqual(rx().sort(), [3, 9]);
  // The drops are one run, a reason a cell.
  assert.deepEqual(s.desc.slice(drops, drops + 2).map((d) => d.labels.reason !== undefined && d.name === 'drops'), [true, true]);
});
