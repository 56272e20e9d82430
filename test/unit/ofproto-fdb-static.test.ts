// Static MAC entries (`dpemu appctl fdb/add|del`) steer NORMAL's frames as
// in OVS 3.1: a frame for a static MAC goes to its port only, learning the
// MAC elsewhere does not move it, it never ages, fdb/flush keeps it, and
// deleting it floods again. The translation cache (xlate-cache.ts) holds the
// flood before the add: the change must remove that entry, and the entries
// that relied on the static one when it goes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rig, seen, icmp } from './ofproto-bridge-fixtures.js';
import { appctl } from '../../src/control/ovs-commands.js';
import type { Emulator } from '../../src/topology/builder.js';
import type { CommandResponse } from '../../src/control/protocol.js';

const A = 'fa:16:3e:00:00:0a', D = 'fa:16:3e:00:00:0d';

function access() {
  const r = rig();
  const br = r.bridge('br-int', { failMode: 'secure' });
  br.addFlow('table=0,priority=0 actions=NORMAL');
  const a = br.addOvsPort('tapa', { ofport: 1, tag: 10 });
  const b = br.addOvsPort('tapb', { ofport: 2, tag: 10 });
  const t = br.addOvsPort('eth1', { ofport: 4 }); // trunk, all VLANs
  // The commands see the rig's engine as a daemon's emulator holds it (they read engine.elements and engine.now only).
  const emu = { engine: r.e } as unknown as Emulator;
  const cmd = (argv: string): string => (appctl.run({ emu, invalidate: () => {} }, argv.split(' ')) as CommandResponse).stdout;
  return { r, br, a, b, t, sa: r.sink(a), sb: r.sink(b), st: r.sink(t), cmd };
}

test('a static entry steers a cached flood to its port; learning does not move it; deleting it floods again', () => {
  const { r, br, a, b, sb, st, cmd } = access();
  // The first frame learns A (such a translation is not kept); the next ones take the cached flood.
  for (let i = 0; i < 3; i++) r.send(a, icmp(A, D));
  assert.equal(seen(sb).length, 3);
  assert.equal(seen(st).length, 3, 'D unknown: flooded');
  assert.ok(br.xcache!.hits > 0, 'a frame took the cached flood');

  assert.equal(cmd('fdb/add n1 br-int eth1 10 ' + D), '');
  r.send(a, icmp(A, D));
  assert.equal(sb.frames.length, 0, 'no flood once D is static');
  assert.match(seen(st)[0]!, /vlan 10, p 0, ethertype IPv4/);

  // D sends from another port: a static entry is not moved (nor refreshed).
  r.send(b, icmp(D, A));
  r.advance(400_000);
  r.send(a, icmp(A, D));
  r.send(a, icmp(A, D));
  assert.equal(sb.frames.length, 0);
  assert.equal(seen(st).length, 2);
  cmd('fdb/flush n1 br-int');
  r.send(a, icmp(A, D));
  assert.equal(seen(st).length, 1, 'fdb/flush keeps static entries');
  assert.equal(sb.frames.length, 0);
  assert.match(cmd('fdb/show n1 br-int'), /\n {4}4 {4}10 {2}fa:16:3e:00:00:0d {2}static\n/);

  assert.equal(cmd('fdb/del n1 br-int 10 ' + D), '');
  r.send(a, icmp(A, D));
  assert.equal(seen(sb).length, 1, 'flooded again');
  assert.equal(seen(st).length, 1);
});

test('fdb/add replaces a learned entry, which the cache had used, and says so', () => {
  const { r, br, a, b, sa, sb, st, cmd } = access();
  r.send(b, icmp(D, A)); // D learned on tapb (A unknown: flooded)
  for (let i = 0; i < 3; i++) r.send(a, icmp(A, D));
  assert.equal(seen(sb).length, 3);
  seen(st), seen(sa);
  const hits = br.xcache!.hits;
  assert.ok(hits > 0, 'a frame took the cached output to tapb');
  assert.equal(cmd('fdb/add n1 br-int eth1 10 ' + D), 'Overriding already existing dynamic entry on 2\n');
  r.send(a, icmp(A, D));
  assert.equal(sb.frames.length, 0);
  assert.equal(seen(st).length, 1);
  assert.equal(cmd('fdb/add n1 br-int eth1 10 ' + D), '', 'a static entry on the same port: nothing to say');
  assert.equal(cmd('fdb/add n1 br-int tapb 10 ' + D), 'Overriding already existing static entry on 4\n');
  r.send(a, icmp(A, D));
  assert.equal(seen(sb).length, 1);
  assert.equal(st.frames.length, 0);
  assert.equal(br.fdb.staticEntries, 1);
});
