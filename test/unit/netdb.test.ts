// The /etc files `iptables -L` takes its names from, read as glibc's
// nss_files reads them, and the listing that uses them (the same rules
// against the real iptables-legacy: test/e2e/netns-text-kernel.test.ts).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NetDb } from '../../src/control/netdb.js';
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

test('hosts: the first line with the address gives its first name; IPv6 lines and lines without a name are skipped', () => {
  assert.equal(db.hostByAddr(ip('127.0.0.1')), 'localhost');
  assert.equal(db.hostByAddr(ip('10.0.0.7')), 'seven');
  assert.equal(db.hostByAddr(ip('10.0.0.8')), undefined);
  assert.equal(db.hostByAddr(ip('10.0.0.9')), 'hexnine'); // inet_aton reads 0x0a
  assert.equal(db.hostByAddr(ip('10.0.0.1')), undefined);
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
