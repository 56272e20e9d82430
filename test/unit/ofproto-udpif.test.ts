// upcall/show's numbers from the node's translation caches: at each 500 ms
// revalidation the flow count before the sweep, its maximum and the running
// average (avg + n) / 2; current is the live entries now (idle ones gone
// after max-idle, 10 s).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rig, icmp } from './ofproto-bridge-fixtures.js';
import { appctl } from '../../src/control/ovs-commands.js';
import type { Emulator } from '../../src/topology/builder.js';
import type { CommandResponse } from '../../src/control/protocol.js';

test('upcall/show: current, avg and max flows as the revalidator leader keeps them', () => {
  const r = rig();
  const br = r.bridge('br-int', { failMode: 'secure' });
  br.addFlow('table=0,priority=0 actions=NORMAL');
  const a = br.addOvsPort('tapa', { ofport: 1 });
  r.sink(br.addOvsPort('tapb', { ofport: 2 }));
  const emu = { engine: r.e } as unknown as Emulator;
  const show = (): string => (appctl.run({ emu, invalidate: () => {} }, ['upcall/show', 'n1']) as CommandResponse).stdout;
  const flows = (): string => /flows +: (.*)/.exec(show())![1]!;
  r.advance(1);
  assert.equal(flows(), '(current 0) (avg 0) (max 0) (limit 10000)');
  // A's first frame learns it (not kept); then one cached flow per destination.
  for (let i = 0; i < 5; i++) r.send(a, icmp('fa:16:3e:00:00:0a', `fa:16:3e:00:01:0${i}`));
  for (let i = 0; i < 5; i++) r.send(a, icmp('fa:16:3e:00:00:0a', `fa:16:3e:00:01:0${i}`));
  const n = br.xcache!.count;
  assert.ok(n >= 4, `${n} flows`);
  r.advance(500);
  assert.equal(flows(), `(current ${n}) (avg ${Math.floor(n / 2)}) (max ${n}) (limit 10000)`);
  r.advance(500);
  assert.equal(flows(), `(current ${n}) (avg ${Math.floor((Math.floor(n / 2) + n) / 2)}) (max ${n}) (limit 10000)`);
  assert.match(show(), /^system@ovs-system:\n {2}flows .*\n {2}dump duration : \d+ms\n {2}ufid enabled : true\n\n {2}3: \(keys \d+\)\n$/);
  // Idle past max-idle: the next sweep counts them, then they are gone.
  r.advance(10_500);
  assert.match(flows(), /^\(current 0\) \(avg \d+\) \(max \d+\)/);
  assert.match(show(), /3: \(keys 0\)/);
});
