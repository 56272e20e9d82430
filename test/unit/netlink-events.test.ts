// ip monitor's source (src/netns/netlink-events.ts) beside the learned-state
// journal's hook on the neighbour tables: nobody listening leaves the
// journal's hook alone in place (nothing more runs per change); a listener
// hears each notified change after the journal; the journal's hook set again
// while one listens (a worker rewriting its journal) keeps both; the last
// listener gone leaves the journal's hook, not a stale one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Netns } from '../../src/netns/netns.js';
import { runCommands } from '../../src/netns/ip-text.js';
import { aroundChange, listenNetlink, netlinkListeners, setNeighHooks } from '../../src/netns/netlink-events.js';
import { NUD, type NeighEntry } from '../../src/netns/neighbour.js';

const ip = (n: number) => (0xc0000200 | n) >>> 0; // 192.0.2.n

test('the neighbour hooks: the journal\'s alone while nobody listens, both while one does', () => {
  const ns = new Netns();
  ns.addLink({ name: 'dpe-a', kind: 'veth', mac: 2, up: true });
  runCommands(ns, 'ip addr add 192.0.2.1/24 dev dpe-a');
  const journal: string[] = [];
  const log4 = (e: NeighEntry<unknown>, gone: boolean) => void journal.push(`${e.ip.toString(16)} ${gone ? 'gone' : e.state}`);
  const log6 = () => {};
  setNeighHooks(ns, log4, log6);
  assert.equal(ns.neigh.onChange, log4);
  assert.equal(ns.nd6.onChange, log6);

  const heard: string[] = [];
  const stop = listenNetlink(ns, (ev) => heard.push(ev.text));
  assert.equal(netlinkListeners(ns), 1);
  ns.neigh.adminSet(ip(7), ns.mustLink('dpe-a').index, 0x020000000007, NUD.PERMANENT, 'add', 0, false);
  // The journal rewrites its tables (a worker after a loss): its hook is set again under the listener's.
  setNeighHooks(ns, log4, log6);
  ns.neigh.adminSet(ip(7), ns.mustLink('dpe-a').index, 0x020000000008, NUD.REACHABLE, 'change', 0, false);
  ns.neigh.adminSet(ip(7), ns.mustLink('dpe-a').index, 0x020000000008, NUD.REACHABLE, 'change', 0, false); // nothing changed: not told
  ns.neigh.adminDelete(ip(7), ns.mustLink('dpe-a').index, 0);
  assert.deepEqual(heard, [
    '192.0.2.7 dev dpe-a lladdr 02:00:00:00:00:07 PERMANENT \n',
    '192.0.2.7 dev dpe-a lladdr 02:00:00:00:00:08 REACHABLE \n',
    '192.0.2.7 dev dpe-a FAILED \n',
    'Deleted 192.0.2.7 dev dpe-a FAILED \n',
  ]);
  assert.equal(journal.length, 5, journal.join('\n')); // a confirmation alone is journaled too
  stop();
  assert.equal(netlinkListeners(ns), 0);
  assert.equal(ns.neigh.onChange, log4);
  assert.equal(ns.nd6.onChange, log6);
});

test('ip monitor\'s stamps: -t a line of its own (usec as a number), -ts a prefix (usec in six digits)', async () => {
  const { monitorStamp } = await import('../../src/control/ip-monitor.js');
  // Noon UTC: the same day in any time zone within 11 hours.
  const us = Date.UTC(2026, 10, 30, 12, 23, 15) * 1000 + 40284;
  assert.match(monitorStamp(us, 'long'), /^Timestamp: Mon Nov 30 \d\d:23:15 2026 40284 usec\n$/);
  assert.match(monitorStamp(us, 'short'), /^\[2026-11-30T\d\d:23:15\.040284\] $/);
});

// Linux 6.18's `ip -6 monitor rule` printed an IPv6 rule's records as IPv4's, and a flush's deletions in the list's order
// (the default 32766 among them); `ip -4 monitor rule` none of them.
test('rule records: an IPv6 rule\'s are IPv6\'s (ip -6 monitor hears them, -4 not), a flush tells each rule it deletes in order', () => {
  const ns = new Netns();
  const heard: string[] = [];
  const stop = listenNetlink(ns, (ev) => heard.push(`${ev.family} ${ev.text}`));
  const change = (cmd: string) => {
    const told = aroundChange(ns, 'rule')!;
    runCommands(ns, cmd);
    told();
  };
  change('ip -6 rule add from 2001:db8::1/32 lookup 6 pref 200');
  change('ip rule add from 192.0.2.0/24 lookup 7 pref 300');
  change('ip -6 rule add fwmark 3 nop pref 401');
  change('ip -6 rule flush');
  stop();
  assert.deepEqual(heard, [
    'inet6 200:\tfrom 2001:db8::1/32 lookup 6\n',
    'inet 300:\tfrom 192.0.2.0/24 lookup 7\n',
    'inet6 401:\tfrom all fwmark 0x3 nop\n',
    'inet6 Deleted 200:\tfrom 2001:db8::1/32 lookup 6\n',
    'inet6 Deleted 401:\tfrom all fwmark 0x3 nop\n',
    'inet6 Deleted 32766:\tfrom all lookup main\n',
  ]);
});
