// Policy rules: the kernel's evaluation order, fall-through when a table has
// no match, the actions and selectors, and the priority the kernel picks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseIp4, parseMac } from '../../src/netns/addr.js';
import { RtnlError } from '../../src/netns/errors.js';
import { runCommands, showRules } from '../../src/netns/ip-text.js';
import { Netns } from '../../src/netns/netns.js';
import { type Flow } from '../../src/netns/rules.js';

const ip = (s: string) => parseIp4(s)!;

function ns(): Netns {
  const n = new Netns();
  n.addLink({ name: 'eth0', kind: 'ether', mac: parseMac('02:00:00:00:00:01')!, up: true });
  n.addLink({ name: 'eth1', kind: 'ether', mac: parseMac('02:00:00:00:00:02')!, up: true });
  runCommands(
    n,
    `ip addr add 10.0.0.1/24 dev eth0
     ip addr add 10.1.0.1/24 dev eth1`,
  );
  return n;
}

const flow = (n: Netns, dst: string, f: Partial<Flow> & { srcS?: string; iifName?: string } = {}): Flow => ({
  dst: ip(dst), src: f.srcS ? ip(f.srcS) : 0, tos: 0, scope: 0, oif: 0,
  iif: f.iifName ? n.link(f.iifName)!.index : 1, mark: 0, proto: 0, sport: 0, dport: 0, uid: 0, ...f,
});

test('default rules: local, main, default in that order', () => {
  const n = new Netns();
  assert.equal(showRules(n), '0:\tfrom all lookup local\n32766:\tfrom all lookup main\n32767:\tfrom all lookup default\n');
  assert.equal(n.lookup(flow(n, '127.0.0.1')).table, 255);
  assert.equal(n.lookup(flow(n, '8.8.8.8')).error, 'ENETUNREACH');
});

test('a table without a match falls through to the next rule', () => {
  const n = ns();
  runCommands(
    n,
    `ip route add 192.0.2.0/24 via 10.0.0.2 table 100
     ip route add default via 10.1.0.2 table 200
     ip rule add from 10.0.0.0/24 lookup 100 priority 100
     ip rule add from 10.0.0.0/24 lookup 200 priority 200`,
  );
  const a = n.lookup(flow(n, '192.0.2.9', { srcS: '10.0.0.5', iifName: 'eth0' }));
  assert.equal(a.table, 100);
  assert.equal(a.rule?.priority, 100);
  const b = n.lookup(flow(n, '198.51.100.1', { srcS: '10.0.0.5', iifName: 'eth0' }));
  assert.equal(b.table, 200, 'table 100 has no match: on to rule 200');
  // A local destination is still found first, by rule 0.
  assert.equal(n.lookup(flow(n, '10.1.0.1', { srcS: '10.0.0.5' })).table, 255);
  // A rule pointing at a table that does not exist is skipped too.
  runCommands(n, 'ip rule add lookup 999 priority 50');
  assert.equal(n.lookup(flow(n, '198.51.100.1', { srcS: '10.0.0.5' })).table, 200);
});

test('a throw route returns to the rules; unreachable, prohibit and blackhole routes end the lookup', () => {
  const n = ns();
  runCommands(
    n,
    `ip route add default via 10.1.0.2 table 300
     ip route add throw 198.51.100.0/24 table 100
     ip route add unreachable 203.0.113.0/25 table 100
     ip route add prohibit 203.0.113.128/26 table 100
     ip route add blackhole 203.0.113.192/26 table 100
     ip route add default via 10.0.0.2 table 100
     ip rule add lookup 100 priority 100
     ip rule add lookup 300 priority 300`,
  );
  assert.equal(n.lookup(flow(n, '198.51.100.7')).table, 300);
  assert.equal(n.lookup(flow(n, '203.0.113.1')).error, 'EHOSTUNREACH');
  assert.equal(n.lookup(flow(n, '203.0.113.130')).error, 'EACCES');
  assert.equal(n.lookup(flow(n, '203.0.113.200')).error, 'EINVAL');
  assert.equal(n.lookup(flow(n, '8.8.8.8')).table, 100);
});

test('rule actions: unreachable (ENETUNREACH), prohibit, blackhole, nop, goto', () => {
  const n = ns();
  runCommands(
    n,
    `ip rule add to 192.0.2.0/24 unreachable priority 10
     ip rule add to 198.51.100.0/24 prohibit priority 11
     ip rule add to 203.0.113.0/24 blackhole priority 12
     ip rule add nop priority 13
     ip route add default via 10.1.0.2 table 50
     ip rule add from 10.0.0.0/24 goto 40 priority 20
     ip rule add lookup 60 priority 30
     ip rule add lookup 50 priority 40
     ip route add default via 10.0.0.2 table 60`,
  );
  assert.equal(n.lookup(flow(n, '192.0.2.1')).error, 'ENETUNREACH');
  assert.equal(n.lookup(flow(n, '198.51.100.1')).error, 'EACCES');
  assert.equal(n.lookup(flow(n, '203.0.113.1')).error, 'EINVAL');
  assert.equal(n.lookup(flow(n, '8.8.8.8', { srcS: '10.0.0.9' })).table, 50, 'goto skips rule 30');
  assert.equal(n.lookup(flow(n, '8.8.8.8', { srcS: '10.1.0.9' })).table, 60);
  assert.match(showRules(n), /^20:\tfrom 10\.0\.0\.0\/24 goto 40$/m);
  assert.match(showRules(n), /^13:\tfrom all nop$/m);
  assert.match(showRules(n), /^10:\tfrom all to 192\.0\.2\.0\/24 unreachable$/m);
  assert.throws(() => runCommands(n, 'ip rule add goto 5 priority 20'), /Backward goto not supported/);
  runCommands(n, 'ip rule add goto 45 priority 44');
  assert.match(showRules(n), /^44:\tfrom all goto 45 \[unresolved\]$/m);
});

test('selectors: fwmark/mask, iif (lo for local traffic), oif, tos, not, from with host bits', () => {
  const n = ns();
  runCommands(
    n,
    `ip route add default via 10.0.0.2 table 10
     ip route add default via 10.0.0.3 table 11
     ip route add default via 10.0.0.4 table 12
     ip route add default via 10.0.0.5 table 13
     ip route add default via 10.0.0.6 table 14
     ip rule add fwmark 0x2/0xff lookup 10 priority 10
     ip rule add iif lo lookup 11 priority 11
     ip rule add tos 0x10 lookup 12 priority 9
     ip rule add not from 10.0.0.0/8 lookup 13 priority 8
     ip rule add from 10.1.0.77/24 lookup 14 priority 12`,
  );
  const via = (f: Flow) => n.lookup(f).route?.gateway;
  assert.equal(via(flow(n, '8.8.8.8', { srcS: '10.9.0.1', iifName: 'eth0', mark: 0x102 })), ip('10.0.0.2'), 'masked mark');
  assert.equal(n.lookup(flow(n, '8.8.8.8', { srcS: '10.9.0.1', iifName: 'eth0', mark: 0x3 })).error, 'ENETUNREACH', 'mark 3 misses, and nothing else matches');
  assert.equal(via(flow(n, '8.8.8.8', { srcS: '10.9.0.1' })), ip('10.0.0.3'), 'iif lo = locally generated');
  assert.equal(via(flow(n, '8.8.8.8', { srcS: '10.9.0.1', iifName: 'eth0', tos: 0x10 })), ip('10.0.0.4'));
  assert.equal(via(flow(n, '8.8.8.8', { srcS: '192.0.2.1', iifName: 'eth0' })), ip('10.0.0.5'), 'not from 10/8');
  assert.equal(via(flow(n, '8.8.8.8', { srcS: '10.1.0.200', iifName: 'eth1' })), ip('10.0.0.6'), 'from 10.1.0.77/24 is a prefix match');
  assert.match(showRules(n), /^12:\tfrom 10\.1\.0\.77\/24 lookup 14$/m);
  assert.match(showRules(n), /^10:\tfrom all fwmark 0x2\/0xff lookup 10$/m);
  assert.match(showRules(n), /^11:\tfrom all iif lo lookup 11$/m);
  assert.match(showRules(n), /^8:\tnot from 10\.0\.0\.0\/8 lookup 13$/m);
});

test('iif naming a missing device never matches and prints [detached] until it appears', () => {
  const n = ns();
  runCommands(n, 'ip route add default via 10.0.0.2 table 10\nip rule add iif fpr-c4d4b760-4 lookup 10 priority 10');
  assert.match(showRules(n), /^10:\tfrom all iif fpr-c4d4b760-4 \[detached\] lookup 10$/m);
  n.addLink({ name: 'fpr-c4d4b760-4', kind: 'veth', mac: 2, up: true });
  assert.match(showRules(n), /^10:\tfrom all iif fpr-c4d4b760-4 lookup 10$/m);
  const i = n.link('fpr-c4d4b760-4')!.index;
  assert.equal(n.lookup(flow(n, '8.8.8.8', { iif: i })).table, 10);
});

test('suppress_prefixlength 0 refuses a default route and falls through', () => {
  const n = ns();
  runCommands(
    n,
    `ip route add default via 10.0.0.2
     ip route add 192.0.2.0/24 via 10.1.0.2
     ip route add default via 10.1.0.9 table 51820
     ip rule add lookup main suppress_prefixlength 0 priority 100
     ip rule add lookup 51820 priority 101`,
  );
  assert.equal(n.lookup(flow(n, '192.0.2.5')).rule?.priority, 100);
  assert.equal(n.lookup(flow(n, '8.8.8.8')).route?.gateway, ip('10.1.0.9'));
  assert.match(showRules(n), /^100:\tfrom all lookup main suppress_prefixlength 0$/m);
});

test('priority chosen by the kernel, same-priority order, duplicates, delete', () => {
  const n = ns();
  runCommands(n, 'ip rule add from 10.0.0.9 lookup 10\nip rule add from 10.0.0.8 lookup 11');
  assert.deepEqual(n.rules.rules().map((r) => r.priority), [0, 32764, 32765, 32766, 32767]);
  runCommands(n, 'ip rule add from 10.0.0.7 lookup 12 pref 32765');
  assert.deepEqual(n.rules.rules().map((r) => r.table), [255, 11, 10, 12, 254, 253], 'after the existing 32765');
  assert.throws(() => n.addRule({ src: ip('10.0.0.7'), srcLen: 32, table: 12, priority: 32765 }), (e: unknown) => e instanceof RtnlError && e.errno === 'EEXIST');
  runCommands(n, 'ip rule del from 10.0.0.7 lookup 12');
  assert.equal(n.rules.rules().length, 5);
  assert.throws(() => runCommands(n, 'ip rule del lookup 4242'), /No such file or directory/);
  runCommands(n, 'ip rule del priority 32764');
  assert.deepEqual(n.rules.rules().map((r) => r.priority), [0, 32765, 32766, 32767]);
});

test('32-bit tables and priorities: 3232235777 is 192.168.1.1 read as an integer', () => {
  const n = ns();
  assert.equal(ip('192.168.1.1'), 3232235777);
  runCommands(n, 'ip route add default via 10.0.0.2 table 4294967295\nip rule add from all lookup 4294967295 pref 4294967295');
  assert.match(showRules(n), /^4294967295:\tfrom all lookup 4294967295$/m);
  assert.equal(n.lookup(flow(n, '8.8.8.8')).table, 4294967295);
});
