// The /etc files `iptables -L` takes its names from, read as glibc's
// nss_files reads them, and the listing that uses them (the same rules
// against the real iptables-legacy: test/e2e/netns-text-kernel.test.ts).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EAI_AGAIN, EAI_NONAME, NetDb } from '../../src/control/netdb.js';
import { ipToString } from '../../src/wire/addr.js';
import { Ruleset, iptablesList, loadIptables } from '../../src/netfilter/index.js';
import { parseIpv4 } from '../../src/netfilter/ipv4-addr.js';

const dir = mkdtempSync(join(tmpdir(), 'dpe-netdb-'));
after(() => rmSync(dir, { recursive: true, force: true }));

writeFileSync(join(dir, 'hosts'), [
  '# comment 10.0.0.9 nine',
  '127.0.0.1\tlocalhost',
  '127.0.0.1 second-name',
  '::1 localhost ip6-localhost',
  '10.0.0.7 seven seven-alias # trailing comment',
  '10.0.0.8',
  '0x0a.0.0.9 hexnine',
  '',
].join('\n'));
writeFileSync(join(dir, 'networks'), 'default\t0.0.0.0\nloopback 127\nten 10.1\n#off 192.0.2.0\n');
writeFileSync(join(dir, 'services'), [
  'ssh\t\t22/tcp\t\t\t\t# SSH',
  'exec\t\t512/tcp',
  'biff\t\t512/udp\t\tcomsat',
  'other-exec\t512/tcp',
  'domain\t\t53/tcp',
  'domain\t\t53/udp',
  'www 0080/tcp http',
].join('\n'));
writeFileSync(join(dir, 'protocols'), 'ip\t0\tIP\ntcp 6 TCP\ngre\t47\tGRE\t# generic\nmine 200\n');

const db = new NetDb(dir);
const ip = (s: string) => parseIpv4(s);

test('hosts: the first line with the address gives its first name; IPv6 lines, addresses inet_pton refuses and lines without a name are skipped', () => {
  assert.equal(db.hostByAddr(ip('127.0.0.1')), 'localhost');
  assert.equal(db.hostByAddr(ip('10.0.0.7')), 'seven');
  assert.equal(db.hostByAddr(ip('10.0.0.8')), undefined);
  // glibc 2.36 reads a hosts address with inet_pton, as gethostbyaddr in a namespace showed: no hex, octal or short forms.
  assert.equal(db.hostByAddr(ip('10.0.0.9')), undefined);
  assert.equal(db.hostByAddr(ip('10.0.0.1')), undefined);
  // ... and an AF_INET lookup takes ::1 as 127.0.0.1 and a v4-mapped address as its IPv4 one (`::1 dpe-lo6` first: 127.0.0.1 is dpe-lo6).
  const d = mkdtempSync(join(tmpdir(), 'dpe-netdb-v6-'));
  try {
    writeFileSync(join(d, 'hosts'), '::1 dpe-lo6\n127.0.0.1 dpe-lo4\n::ffff:192.0.2.9 dpe-m\n192.0.2.010 dpe-oct\n');
    const v6 = new NetDb(d);
    assert.equal(v6.hostByAddr(ip('127.0.0.1')), 'dpe-lo6');
    assert.equal(v6.hostByAddr(ip('192.0.2.9')), 'dpe-m');
    assert.equal(v6.hostByAddr(ip('192.0.2.8')), undefined);
    assert.equal(v6.hostByAddr(ip('192.0.2.10')), undefined);
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});

test('hostByName: inet_aton first, then the first hosts line with the name or alias (case aside; inet_pton addresses, ::1 and v4-mapped as IPv4), then the resolver\'s failure out of reach of its server', () => {
  const d = mkdtempSync(join(tmpdir(), 'dpe-netdb-names-'));
  try {
    writeFileSync(join(d, 'hosts'), [
      '192.0.2.10 dpe-a dpe-alias', '192.0.2.11 dpe-a', '::1 dpe-six', '2001:db8::1 dpe-six2', '::ffff:192.0.2.55 dpe-mapped',
      '198.51.100.7 DPE-Upper', '300.1.1.1 dpe-bad', '192.0.2.010 dpe-oct', '0xc0.0.2.1 dpe-hex', '127.1 dpe-short',
      '  192.0.2.60\tdpe-tab   # comment dpe-comment', '192.0.2.61 dpe-x#y', '',
    ].join('\n'));
    const names = new NetDb(d);
    // What getaddrinfo(NAME, AF_INET) gave in a namespace with these hosts and no route to its name server (glibc 2.36).
    for (const [name, want] of [
      ['dpe-a', '192.0.2.10'], ['dpe-alias', '192.0.2.10'], ['DPE-A', '192.0.2.10'], ['dpe-upper', '198.51.100.7'], ['dpe-six', '127.0.0.1'],
      ['dpe-mapped', '192.0.2.55'], ['dpe-tab', '192.0.2.60'], ['dpe-x', '192.0.2.61'], ['999', '0.0.3.231'], ['10.1', '10.0.0.1'],
      ['dpe-six2', EAI_AGAIN], ['dpe-bad', EAI_AGAIN], ['dpe-oct', EAI_AGAIN], ['dpe-hex', EAI_AGAIN], ['dpe-short', EAI_AGAIN], ['dpe-comment', EAI_AGAIN],
      ['dpe-none', EAI_AGAIN], ['dpe-a.', EAI_AGAIN], ['1.2.3.4.', EAI_AGAIN], ['1.2.3.x', EAI_AGAIN], ['x.1.2.3', EAI_AGAIN], ['0x1.2.3.4.5', EAI_AGAIN],
      ['1e3', EAI_AGAIN], ['1-2', EAI_AGAIN], ['0xZZ', EAI_AGAIN],
      ['300.1.1.1', EAI_NONAME], ['1.2.3.256', EAI_NONAME], ['4294967296', EAI_NONAME], ['1..2', EAI_NONAME], ['1.2.3.4.5', EAI_NONAME],
      ['', EAI_NONAME], ['a b', EAI_NONAME], ['-x', EAI_NONAME], ['.1', EAI_NONAME], ['dpe-x#y', EAI_NONAME],
    ] as const) {
      const got = names.hostByName(name);
      assert.equal(typeof got === 'number' ? ipToString(got) : got, want, `'${name}'`);
    }
    // ip netns exec NS bind-mounts /etc/netns/NS/hosts over /etc/hosts where there is one.
    mkdirSync(join(d, 'netns', 'dpe-ns'), { recursive: true });
    writeFileSync(join(d, 'netns', 'dpe-ns', 'hosts'), '203.0.113.9 dpe-a\n');
    assert.equal(new NetDb(d, 'dpe-ns').hostByName('dpe-a'), ip('203.0.113.9'));
    assert.equal(new NetDb(d, 'dpe-ns').hostByName('dpe-alias'), EAI_AGAIN);
    assert.equal(new NetDb(d, 'dpe-other').hostByName('dpe-a'), ip('192.0.2.10'));
    // AI_CANONNAME: the matching line's first name (an alias or another case finds it); a number as typed.
    writeFileSync(join(d, 'netns', 'dpe-ns', 'hosts'), '203.0.113.9 dpe-a\n203.0.113.7 dpe-first dpe-al\n');
    const ns = new NetDb(d, 'dpe-ns');
    assert.deepEqual(ns.hostEntByName('DPE-AL'), { addr: ip('203.0.113.7'), canon: 'dpe-first' });
    assert.deepEqual(ns.hostEntByName('10.1'), { addr: ip('10.0.0.1'), canon: '10.1' });
    assert.equal(ns.hostEntByName('dpe-none'), EAI_AGAIN);
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});

test('networks: numbers of fewer parts are padded with .0 (files-network.c)', () => {
  assert.equal(db.netByAddr(ip('0.0.0.0')), 'default');
  assert.equal(db.netByAddr(ip('127.0.0.0')), 'loopback');
  assert.equal(db.netByAddr(ip('10.1.0.0')), 'ten');
  assert.equal(db.netByAddr(ip('192.0.2.0')), undefined);
  // An address: /etc/hosts first, then /etc/networks (the name server cannot be reached).
  assert.equal(db.addrName(ip('127.0.0.1')), 'localhost');
  assert.equal(db.addrName(ip('127.0.0.0')), 'loopback');
  assert.equal(db.addrName(ip('10.0.0.1')), undefined);
});

test('services: the first line for the port and protocol; protocols: the first name for the number', () => {
  assert.equal(db.serviceByPort(512, 'tcp'), 'exec');
  assert.equal(db.serviceByPort(512, 'udp'), 'biff');
  assert.equal(db.serviceByPort(80, 'tcp'), 'www');
  assert.equal(db.serviceByPort(22, 'udp'), undefined);
  assert.equal(db.serviceByPort(512, 'sctp'), undefined);
  assert.equal(db.protocolByNumber(47), 'gre');
  assert.equal(db.protocolByNumber(200), 'mine');
  assert.equal(db.protocolByNumber(201), undefined);
});

test('missing files: every lookup misses', () => {
  const none = new NetDb(join(dir, 'nosuch'));
  assert.equal(none.addrName(ip('127.0.0.1')), undefined);
  assert.equal(none.serviceByPort(22, 'tcp'), undefined);
  assert.equal(none.protocolByNumber(47), undefined);
});

test('iptables -L without -n: anywhere, names from the files, ICMP type and TCP flag names, any; -n unchanged', () => {
  const rs = new Ruleset();
  loadIptables(rs, [
    '*filter',
    '-A FORWARD -s 127.0.0.1 -d 127.0.0.0/8 -i lo -p tcp -m tcp --dport 53 -j ACCEPT',
    '-A FORWARD ! -s 10.0.0.1 -d 10.1.0.0/255.255.0.255 ! -o eth+ -p udp -m udp --sport 512 --dport 1000:1001 -j DROP',
    '-A FORWARD -p tcp -m multiport ! --ports 512,22:80,81 -j ACCEPT',
    '-A FORWARD -p tcp -m tcp ! --dport 22 --tcp-flags FIN,SYN,RST,ACK SYN -j ACCEPT',
    '-A FORWARD -p icmp -m icmp --icmp-type 3/1 -j ACCEPT',
    '-A FORWARD -p icmp -m icmp ! --icmp-type 3/99 -j ACCEPT',
    '-A FORWARD -p 47 -m comment --comment "port 22" -j ACCEPT',
    '-A FORWARD ! -p 201 -j ACCEPT',
    'COMMIT',
    '*nat',
    '-A POSTROUTING -s 127.0.0.1 -p tcp -j SNAT --to-source 127.0.0.1:22',
    'COMMIT',
  ].join('\n'));
  const lines = (names: NetDb | undefined) => iptablesList(rs, 'filter', { verbose: true, chain: 'FORWARD', ...(names ? { names } : {}) }).split('\n').slice(2, -1);
  assert.deepEqual(lines(db), [
    '    0     0 ACCEPT     tcp  --  lo     any     localhost            loopback/8           tcp dpt:domain',
    '    0     0 DROP       udp  --  any    !eth+  !10.0.0.1             ten/255.255.0.255    udp spt:biff dpts:1000:1001',
    '    0     0 ACCEPT     tcp  --  any    any     anywhere             anywhere             multiport ports  !exec,ssh:www,81',
    '    0     0 ACCEPT     tcp  --  any    any     anywhere             anywhere             tcp dpt:!ssh flags:FIN,SYN,RST,ACK/SYN',
    '    0     0 ACCEPT     icmp --  any    any     anywhere             anywhere             icmp host-unreachable',
    '    0     0 ACCEPT     icmp --  any    any     anywhere             anywhere             icmp !type 3 code 99',
    '    0     0 ACCEPT     gre  --  any    any     anywhere             anywhere             /* port 22 */',
    '    0     0 ACCEPT    !201  --  any    any     anywhere             anywhere            ',
  ]);
  assert.deepEqual(lines(undefined), [
    '    0     0 ACCEPT     tcp  --  lo     *       127.0.0.1            127.0.0.0/8          tcp dpt:53',
    '    0     0 DROP       udp  --  *      !eth+  !10.0.0.1             10.1.0.0/255.255.0.255  udp spt:512 dpts:1000:1001',
    '    0     0 ACCEPT     tcp  --  *      *       0.0.0.0/0            0.0.0.0/0            multiport ports  !512,22:80,81',
    '    0     0 ACCEPT     tcp  --  *      *       0.0.0.0/0            0.0.0.0/0            tcp dpt:!22 flags:0x17/0x02',
    '    0     0 ACCEPT     icmp --  *      *       0.0.0.0/0            0.0.0.0/0            icmptype 3 code 1',
    '    0     0 ACCEPT     icmp --  *      *       0.0.0.0/0            0.0.0.0/0            icmp !type 3 code 99',
    '    0     0 ACCEPT     47   --  *      *       0.0.0.0/0            0.0.0.0/0            /* port 22 */',
    '    0     0 ACCEPT    !201  --  *      *       0.0.0.0/0            0.0.0.0/0           ',
  ]);
  // A NAT target's address and ports stay numbers.
  assert.match(iptablesList(rs, 'nat', { chain: 'POSTROUTING', names: db }), /SNAT {7}tcp  --  localhost {12}anywhere {13}to:127\.0\.0\.1:22\n$/);
});

test('hostsByName (getaddrinfo AF_UNSPEC): every line naming it in the file\'s order, IPv6 lines as IPv6, the first line\'s first name; hostByAddr6 the first IPv6 line\'s', () => {
  const d = mkdtempSync(join(tmpdir(), 'dpe-netdb-unspec-'));
  try {
    writeFileSync(join(d, 'hosts'), '127.0.0.5 dpe-x4 dpe-x\n::1 dpe-x6 dpe-x\n::ffff:192.0.2.9 dpe-m\nfe80::1%lo dpe-scoped\n2001:db8::1 dpe-v6\n2001:DB8:0::1 dpe-v6-again\n');
    const v6 = new NetDb(d);
    const text = (name: string) => {
      const h = v6.hostsByName(name);
      return typeof h === 'string' ? h : [h.canon, ...h.addrs.map((a) => (a.v6 ? Buffer.from(a.addr).toString('hex') : ipToString(a.addr)))];
    };
    // What getaddrinfo(NAME, AF_UNSPEC) answered (before its sort) in a namespace given these lines (glibc 2.36).
    assert.deepEqual(text('DPE-X'), ['dpe-x4', '127.0.0.5', '00000000000000000000000000000001']);
    assert.deepEqual(text('dpe-m'), ['dpe-m', '00000000000000000000ffffc0000209']);
    assert.equal(text('dpe-scoped'), EAI_AGAIN); // inet_pton takes no %scope: the line is skipped
    assert.equal(text('1.2.3.256'), EAI_NONAME);
    const b = (s: string) => Uint8Array.from(Buffer.from(s, 'hex'));
    assert.equal(v6.hostByAddr6(b('00000000000000000000000000000001')), 'dpe-x6');
    assert.equal(v6.hostByAddr6(b('20010db8000000000000000000000001')), 'dpe-v6');
    assert.equal(v6.hostByAddr6(b('20010db8000000000000000000000002')), undefined);
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});
