// ping's answers for a name: getaddrinfo's RFC 3484 sort (what glibc 2.36
// gave for these lines in a namespace where 127.0.0.9 and 10.98.0.7 are
// reachable, ::1 too unless lo's IPv6 is off), and which ones a socket
// cannot connect() to without a scope.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { needsScope, sortAnswers, type PingAddr } from '../../src/cli/ping-args.js';
import { ipToString, parseIpv4, parseIpv6 } from '../../src/wire/addr.js';
import { ip6ToString } from '../../src/wire/tcpdump-text.js';

const addr = (s: string): PingAddr => (s.includes(':') ? { v6: true, addr: parseIpv6(s)! } : { v6: false, addr: parseIpv4(s)! });
const text = (a: PingAddr): string => (a.v6 ? ip6ToString(a.addr, 0) : ipToString(a.addr));
const FILE = ['198.51.100.1', '192.168.5.1', '10.98.0.7', '127.0.0.9', '2001:db8::9', 'fe80::9', '2002::9', '::9', '::1'];

test('sortAnswers: usable first, then precedence (::1, IPv6, 2002::/16, ::/96, IPv4), then smaller scope, then the file\'s order', () => {
  const sorted = (usable: string[]) => sortAnswers(FILE.map(addr), FILE.map((s) => usable.includes(s))).map(text);
  assert.deepEqual(sorted(['10.98.0.7', '127.0.0.9', '::1']), ['::1', '127.0.0.9', '10.98.0.7', 'fe80::9', '2001:db8::9', '2002::9', '::9', '198.51.100.1', '192.168.5.1']);
  assert.deepEqual(sorted(['10.98.0.7', '127.0.0.9']), ['127.0.0.9', '10.98.0.7', '::1', 'fe80::9', '2001:db8::9', '2002::9', '::9', '198.51.100.1', '192.168.5.1']);
});

test('needsScope: a link-local or multicast IPv6 answer without a scope', () => {
  assert.deepEqual(['fe80::9', 'febf::1', 'ff02::1', 'fec0::1', '::1', '10.0.0.1'].map((s) => needsScope(addr(s))), [true, true, true, false, false, false]);
  assert.equal(needsScope({ ...addr('fe80::9'), scope: 'eth0' }), false);
});
