// `ip route`, `ip rule`, `ip neigh`, `ip addr` text: what iproute2 prints
// reads back to the same state, abbreviations as iproute2 accepts them, and
// errors that point at the line, column and token.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseIp4 } from '../../src/netns/addr.js';
import { IpSyntaxError } from '../../src/netns/errors.js';
import { parseAddrArgs } from '../../src/netns/ip-addr-syntax.js';
import { parseNeighLine, parseNeighArgs } from '../../src/netns/ip-neigh-syntax.js';
import { parseRouteArgs, parseRouteLine } from '../../src/netns/ip-route-syntax.js';
import { parseRuleArgs, parseRuleLine } from '../../src/netns/ip-rule-syntax.js';
import { checkRoutesText, loadRoutes, loadRules, runCommands, showRoutes, showRules } from '../../src/netns/ip-text.js';
import { NUD } from '../../src/netns/neighbour.js';
import { Netns } from '../../src/netns/netns.js';

const ip = (s: string) => parseIp4(s)!;

function syntaxError(f: () => unknown): IpSyntaxError {
  try {
    f();
  } catch (e) {
    if (e instanceof IpSyntaxError) return e;
    throw e;
  }
  assert.fail('no error');
}

test('route arguments: every form the write-up and Neutron use', () => {
  assert.deepEqual(parseRouteArgs('default via 192.168.1.6 dev qr-178fc8e2-fd table 3232235777'), {
    dst: 0, dstLen: 0, gateway: ip('192.168.1.6'), dev: 'qr-178fc8e2-fd', table: 3232235777, flags: [],
  });
  const k = parseRouteLine('169.254.96.32/31 dev rfp-c4d4b760-4 proto kernel scope link src 169.254.96.32 ');
  assert.deepEqual(
    [k.dst, k.dstLen, k.dev, k.protocol, k.scope, k.src],
    [ip('169.254.96.32'), 31, 'rfp-c4d4b760-4', 2, 253, ip('169.254.96.32')],
  );
  assert.equal(parseRouteLine('112.65.210.200 via 169.254.96.32 dev fpr-c4d4b760-4').dstLen, 32);
  assert.equal(parseRouteArgs('blackhole 10.0.0.0/8').type, 'blackhole');
  assert.equal(parseRouteArgs('unreachable 10.0.0.0/8 metric 5').metric, 5);
  assert.equal(parseRouteArgs('to prohibit 10.0.0.0/8').type, 'prohibit');
  assert.equal(parseRouteArgs('10/8 dev eth0').dst, ip('10.0.0.0'), 'iproute2 pads short addresses');
  // iproute2 abbreviations (matches()): proto, met, tab, pri.
  const a = parseRouteArgs('10.0.0.0/8 via 1.2.3.4 proto static met 7 tab main');
  assert.deepEqual([a.protocol, a.metric, a.table], [4, 7, 254]);
  assert.equal(parseRouteArgs('10.0.0.0/8 dev x mtu lock 1400').mtuLock, true);
  assert.deepEqual(parseRouteLine('10.0.0.0/8 dev x proto kernel scope link src 10.0.0.1 linkdown ').flags, ['linkdown']);
});

test('route errors name the line, column and token', () => {
  let e = syntaxError(() => parseRouteArgs('default vai 192.168.1.6 dev qr-178fc8e2-fd', 3));
  assert.deepEqual([e.line, e.column, e.token, e.reason], [3, 9, 'vai', "unknown keyword 'vai' (did you mean 'via'?)"]);
  e = syntaxError(() => parseRouteArgs('192.168.1.0/33 dev eth0'));
  assert.deepEqual([e.column, e.token, e.reason], [1, '192.168.1.0/33', "invalid prefix '192.168.1.0/33'"]);
  e = syntaxError(() => parseRouteArgs('default via 192.168.1.666'));
  assert.equal(e.reason, "invalid address '192.168.1.666'");
  e = syntaxError(() => parseRouteArgs('default via'));
  assert.deepEqual([e.column, e.reason], [12, "missing value after 'via'"]);
  e = syntaxError(() => parseRouteArgs('default dev eth0 table 4294967296'));
  assert.equal(e.reason, "invalid table '4294967296'");
  e = syntaxError(() => parseRouteArgs('dev eth0'));
  assert.equal(e.reason, 'missing destination prefix');
  e = syntaxError(() => parseRouteArgs('10.0.0.0/8 nexthop via 1.1.1.1'));
  assert.equal(e.token, 'nexthop');
  assert.deepEqual(checkRoutesText('default via 10.0.0.1\n\n10.0.0.0/8 dev eth0 scpe link\n'), [
    { line: 3, col: 21, message: "unknown keyword 'scpe' (did you mean 'scope'?)" },
  ]);
});

test('route print/parse round trip over a whole namespace (show table all)', () => {
  const n = new Netns();
  n.addLink({ name: 'eth0', kind: 'ether', mac: 1, up: true });
  runCommands(
    n,
    `ip addr add 10.0.0.1/24 dev eth0
     ip route add default via 10.0.0.254 metric 100
     ip route add 192.0.2.0/24 via 10.0.0.2 proto static src 10.0.0.1
     ip route add blackhole 198.51.100.0/24
     ip route add 203.0.113.0/24 dev eth0 scope link tos 0x10 mtu lock 1400
     ip route add default via 10.0.0.253 table 3232235777`,
  );
  const text = showRoutes(n, 'all');
  assert.match(text, /^default via 10\.0\.0\.253 dev eth0 table 3232235777 $/m);
  assert.match(text, /^default via 10\.0\.0\.254 dev eth0 metric 100 $/m);
  assert.match(text, /^192\.0\.2\.0\/24 via 10\.0\.0\.2 dev eth0 proto static src 10\.0\.0\.1 $/m);
  assert.match(text, /^blackhole 198\.51\.100\.0\/24 $/m);
  assert.match(text, /^203\.0\.113\.0\/24 tos 0x10 dev eth0 scope link mtu lock 1400 $/m);
  const m = new Netns();
  m.addLink({ name: 'eth0', kind: 'ether', mac: 1, up: true });
  runCommands(m, 'ip addr add 10.0.0.1/24 dev eth0');
  loadRoutes(m, text);
  assert.equal(showRoutes(m, 'all'), text);
});

test('rule lines: show format in and out, including what the kernel adds', () => {
  const text = [
    '0:\tfrom all lookup local',
    '100:\tnot from 10.0.0.0/8 to 192.0.2.0/24 tos 0x10 fwmark 0x2/0xff iif eth0 oif eth1 ipproto tcp dport 80-90 lookup 10 suppress_prefixlength 0 proto static',
    '200:\tfrom all fwmark 0x1 lookup main',
    '300:\tfrom 192.168.1.1/24 blackhole',
    '32766:\tfrom all lookup main',
    '32767:\tfrom all lookup default',
    '3232235777:\tfrom 192.168.1.1/24 lookup 3232235777',
    '',
  ].join('\n');
  const n = new Netns();
  n.addLink({ name: 'eth0', kind: 'ether', mac: 1 });
  n.addLink({ name: 'eth1', kind: 'ether', mac: 2 });
  loadRules(n, text);
  assert.equal(showRules(n), text);
  assert.equal(n.customRules, true);
  const d = new Netns();
  loadRules(d, '0:\tfrom all lookup local\n32766:\tfrom all lookup main\n32767:\tfrom all lookup default\n');
  assert.equal(d.customRules, false, 'the defaults alone are not custom rules');
});

test('rule arguments: abbreviations, defaults, errors', () => {
  assert.deepEqual(parseRuleArgs('from 192.168.1.1/24 lookup 3232235777 priority 3232235777'), {
    src: ip('192.168.1.1'), srcLen: 24, table: 3232235777, priority: 3232235777,
  });
  assert.deepEqual(parseRuleArgs('from all iif fpr-c4d4b760-4 table 2852018311 pref 2852018311'), {
    src: 0, srcLen: 0, iif: 'fpr-c4d4b760-4', table: 2852018311, priority: 2852018311,
  });
  assert.equal(parseRuleArgs('to 10.0.0.0/8 prio 5 type unreachable').action, 'unreachable');
  assert.equal(parseRuleLine('5:\tfrom all goto 10 [unresolved]').gotoTarget, 10);
  let e = syntaxError(() => parseRuleLine('32766:\tfrom all lokup main', 7));
  assert.deepEqual([e.line, e.column, e.token, e.reason], [7, 17, 'lokup', "unknown keyword 'lokup' (did you mean 'lookup'?)"]);
  e = syntaxError(() => parseRuleLine('from all lookup main'));
  assert.match(e.reason, /expected 'PRIORITY:'/);
  e = syntaxError(() => parseRuleArgs('fwmark 0xzz lookup 5'));
  assert.equal(e.reason, "invalid fwmark '0xzz'");
});

test('neighbour lines and arguments', () => {
  assert.deepEqual(parseNeighLine('192.168.1.6 dev qr-178fc8e2-fd lladdr fa:16:3e:d1:d8:49 PERMANENT'), {
    ip: ip('192.168.1.6'), dev: 'qr-178fc8e2-fd', lladdr: 0xfa163ed1d849, state: NUD.PERMANENT,
  });
  assert.deepEqual(parseNeighLine('10.0.0.9 dev eth0 lladdr 02:00:00:00:00:09 router STALE '), {
    ip: ip('10.0.0.9'), dev: 'eth0', lladdr: 0x020000000009, router: true, state: NUD.STALE,
  });
  assert.equal(parseNeighLine('10.0.0.5 dev eth0  INCOMPLETE').state, NUD.INCOMPLETE, 'the older double-space form reads too');
  assert.deepEqual(parseNeighArgs('192.168.1.6 lladdr fa:16:3e:d1:d8:49 dev qr-x nud permanent').state, NUD.PERMANENT);
  assert.equal(parseNeighArgs('proxy 10.0.0.1 dev eth0').proxy, true);
  const e = syntaxError(() => parseNeighLine('192.168.1.6 dev qr-x lladdr fa:16:3e:d1:d8 PERMANENT', 2));
  assert.deepEqual([e.line, e.column, e.reason], [2, 29, "invalid lladdr 'fa:16:3e:d1:d8'"]);
  assert.equal(syntaxError(() => parseNeighLine('192.168.1.6 dev qr-x lladr fa:16:3e:d1:d8:49')).reason, "unknown keyword 'lladr' (did you mean 'lladdr'?)");
});

test('ip addr arguments: brd +, scope, label; no broadcast unless asked', () => {
  assert.deepEqual(parseAddrArgs('192.168.1.1/24 brd + dev qr-x'), { dev: 'qr-x', spec: { local: ip('192.168.1.1'), prefixLen: 24, broadcast: ip('192.168.1.255') } });
  assert.equal(parseAddrArgs('169.254.96.32/31 brd + dev rfp-x').spec.broadcast, 0, 'no broadcast for /31');
  assert.equal(parseAddrArgs('10.0.0.1/24 dev eth0').spec.broadcast, 0);
  assert.equal(parseAddrArgs('10.0.0.1/24 broadcast 10.0.0.255 dev eth0').spec.broadcast, ip('10.0.0.255'));
  assert.equal(parseAddrArgs('10.0.0.1/24 dev eth0 scope link label eth0:1').spec.label, 'eth0:1');
  assert.equal(syntaxError(() => parseAddrArgs('10.0.0.1/24 dev eth0 scope galactic')).reason, "invalid scope 'galactic'");
});
