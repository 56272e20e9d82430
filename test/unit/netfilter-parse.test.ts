// iptables text in and out: Neutron's rule sets, the three printed forms,
// and configuration errors that name the line and the token.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Netfilter, NfSyntaxError, Ruleset, iptablesList, iptablesListRules, iptablesSave, loadIptables } from '../../src/netfilter/index.js';

// reference/neutron-dvr.md §8.5, verbatim.
const NEUTRON_SNAT_NAT_S = `-P PREROUTING ACCEPT
-P INPUT ACCEPT
-P OUTPUT ACCEPT
-P POSTROUTING ACCEPT
-N neutron-l3-agent-OUTPUT
-N neutron-l3-agent-POSTROUTING
-N neutron-l3-agent-PREROUTING
-N neutron-l3-agent-float-snat
-N neutron-l3-agent-snat
-N neutron-postrouting-bottom
-A PREROUTING -j neutron-l3-agent-PREROUTING
-A OUTPUT -j neutron-l3-agent-OUTPUT
-A POSTROUTING -j neutron-l3-agent-POSTROUTING
-A POSTROUTING -j neutron-postrouting-bottom
-A neutron-l3-agent-POSTROUTING ! -o qg-cccccccc-cc -m conntrack ! --ctstate DNAT -j ACCEPT
-A neutron-l3-agent-snat -j neutron-l3-agent-float-snat
-A neutron-l3-agent-snat -o qg-cccccccc-cc -j SNAT --to-source 172.24.4.10 --random-fully
-A neutron-l3-agent-snat -m mark ! --mark 0x2/0xffff -m conntrack --ctstate DNAT -j SNAT --to-source 172.24.4.10 --random-fully
-A neutron-postrouting-bottom -m comment --comment "Perform source NAT on outgoing traffic." -j neutron-l3-agent-snat
`;

const NEUTRON_MANGLE = `*mangle
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:neutron-l3-agent-POSTROUTING - [0:0]
:neutron-l3-agent-PREROUTING - [0:0]
:neutron-l3-agent-mark - [0:0]
-A PREROUTING -j neutron-l3-agent-PREROUTING
-A POSTROUTING -j neutron-l3-agent-POSTROUTING
-A neutron-l3-agent-POSTROUTING -o qg-cccccccc-cc -m connmark --mark 0x0/0xffff0000 -j CONNMARK --save-mark --nfmask 0xffff0000 --ctmask 0xffff0000
-A neutron-l3-agent-PREROUTING -j neutron-l3-agent-mark
-A neutron-l3-agent-PREROUTING -d 169.254.169.254/32 -i qr-+ -p tcp -m tcp --dport 80 -j MARK --set-xmark 0x1/0xffff
-A neutron-l3-agent-mark -i qg-cccccccc-cc -j MARK --set-xmark 0x2/0xffff
COMMIT
`;

test('Neutron snat-namespace nat table (§8.5) round-trips through iptables -t nat -S', () => {
  const rs = new Ruleset();
  loadIptables(rs, NEUTRON_SNAT_NAT_S, { table: 'nat' });
  assert.equal(iptablesListRules(rs, 'nat'), NEUTRON_SNAT_NAT_S);
});

test('iptables-save output parses back to the same tables, mangle marks included; tables print newest first', () => {
  const rs = new Ruleset();
  loadIptables(rs, NEUTRON_MANGLE);
  loadIptables(rs, NEUTRON_SNAT_NAT_S, { table: 'nat' });
  loadIptables(rs, '-t raw -A PREROUTING -j CT --notrack');
  const saved = iptablesSave(rs);
  // As the kernel lists them (test/e2e/netns-text-kernel.test.ts): the last table loaded first.
  assert.ok(saved.startsWith('*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A PREROUTING -j CT --notrack\nCOMMIT\n*nat\n'), saved);
  assert.ok(saved.endsWith(NEUTRON_MANGLE), saved);
  const again = new Ruleset();
  loadIptables(again, saved);
  // Restored in that order, the tables print in the reverse order, block for block the same.
  const blocks = (t: string) => t.split(/(?=^\*)/m);
  assert.deepEqual(blocks(iptablesSave(again)), blocks(saved).reverse());
});

test('iptables -S prints -P, then -N (sorted), then -A; -v adds counters', () => {
  const rs = new Ruleset();
  loadIptables(rs, [
    '-N zeta', '-N Alpha', '-N beta', '-P FORWARD DROP',
    '-A beta -s 10.0.0.5/24 -j RETURN', '-A INPUT -j zeta', '-A FORWARD -p udp --dport 53 -j ACCEPT',
  ].join('\n'));
  assert.equal(iptablesListRules(rs, 'filter'), [
    '-P INPUT ACCEPT', '-P FORWARD DROP', '-P OUTPUT ACCEPT',
    '-N Alpha', '-N beta', '-N zeta',
    '-A INPUT -j zeta', '-A FORWARD -p udp -m udp --dport 53 -j ACCEPT', '-A beta -s 10.0.0.0/24 -j RETURN', '',
  ].join('\n'));
  assert.equal(iptablesListRules(rs, 'filter', { verbose: true, chain: 'FORWARD' }),
    '-P FORWARD DROP -c 0 0\n-A FORWARD -p udp -m udp --dport 53 -c 0 0 -j ACCEPT\n');
});

test('iptables -L -n -v column layout', () => {
  const rs = new Ruleset();
  loadIptables(rs, [
    '-A INPUT -i lo -j ACCEPT',
    '-A INPUT -m state --state RELATED,ESTABLISHED -j ACCEPT',
    '-A INPUT -s 192.168.1.0/24 -p tcp -m tcp --dport 22 -j ACCEPT',
    '-A INPUT -p icmp -m icmp --icmp-type 8 -j ACCEPT',
    '-A INPUT -j REJECT --reject-with icmp-host-prohibited',
    '-N empty',
  ].join('\n'));
  const input = rs.tables.filter.chains.get('INPUT')!;
  rs.tables.filter.setCounts(input.rules[0]!, 1234567, 98765432);
  rs.tables.filter.setCounts(input, 7, 420);
  const out = iptablesList(rs, 'filter', { verbose: true });
  const expected = [
    'Chain INPUT (policy ACCEPT 7 packets, 420 bytes)',
    ' pkts bytes target     prot opt in     out     source               destination         ',
    '1235K   99M ACCEPT     all  --  lo     *       0.0.0.0/0            0.0.0.0/0           ',
    '    0     0 ACCEPT     all  --  *      *       0.0.0.0/0            0.0.0.0/0            state RELATED,ESTABLISHED',
    '    0     0 ACCEPT     tcp  --  *      *       192.168.1.0/24       0.0.0.0/0            tcp dpt:22',
    '    0     0 ACCEPT     icmp --  *      *       0.0.0.0/0            0.0.0.0/0            icmptype 8',
    '    0     0 REJECT     all  --  *      *       0.0.0.0/0            0.0.0.0/0            reject-with icmp-host-prohibited',
    '',
    'Chain FORWARD (policy ACCEPT 0 packets, 0 bytes)',
    ' pkts bytes target     prot opt in     out     source               destination         ',
    '',
    'Chain OUTPUT (policy ACCEPT 0 packets, 0 bytes)',
    ' pkts bytes target     prot opt in     out     source               destination         ',
    '',
    'Chain empty (0 references)',
    ' pkts bytes target     prot opt in     out     source               destination         ',
    '',
  ].join('\n');
  assert.equal(out, expected);
  assert.equal(iptablesList(rs, 'filter', { chain: 'OUTPUT' }),
    'Chain OUTPUT (policy ACCEPT)\ntarget     prot opt source               destination         \n');
});

test('command forms: -t, -I, -D by number and by spec, -R, -F, -X, -E, -Z, comma lists, quoting', () => {
  const nf = new Netfilter();
  nf.load([
    'iptables -t nat -N my-chain',
    "iptables -t nat -A my-chain -s 10.0.0.1,10.0.0.2 -m comment --comment 'two sources' -j RETURN",
    'iptables -t nat -I POSTROUTING -j my-chain',
    'iptables -t nat -I POSTROUTING 2 -o eth0 -p tcp -j MASQUERADE --to-ports 1024-2000 --random',
    'iptables -t filter -A FORWARD -p tcp --tcp-flags SYN,RST SYN -j ACCEPT',
    'iptables -A FORWARD -p tcp --syn -j DROP',
    'iptables -D FORWARD 1',
  ].join('\n'));
  assert.equal(iptablesListRules(nf.rules, 'nat', { chain: 'my-chain' }), [
    '-N my-chain',
    '-A my-chain -s 10.0.0.1/32 -m comment --comment "two sources" -j RETURN',
    '-A my-chain -s 10.0.0.2/32 -m comment --comment "two sources" -j RETURN', '',
  ].join('\n'));
  assert.equal(iptablesListRules(nf.rules, 'nat', { chain: 'POSTROUTING' }), [
    '-P POSTROUTING ACCEPT', '-A POSTROUTING -j my-chain',
    '-A POSTROUTING -o eth0 -p tcp -j MASQUERADE --to-ports 1024-2000 --random', '',
  ].join('\n'));
  assert.equal(iptablesListRules(nf.rules, 'filter', { chain: 'FORWARD' }),
    '-P FORWARD ACCEPT\n-A FORWARD -p tcp -m tcp --tcp-flags FIN,SYN,RST,ACK SYN -j DROP\n');
  nf.load('-D FORWARD -p tcp -m tcp --syn -j DROP\n-t nat -E my-chain renamed\n-t nat -F renamed\n-t nat -Z');
  assert.equal(nf.rules.tables.filter.chains.get('FORWARD')!.rules.length, 0);
  assert.match(iptablesListRules(nf.rules, 'nat'), /-A POSTROUTING -j renamed\n/);
  nf.load('-t nat -D POSTROUTING 1\n-t nat -X renamed');
  assert.equal(nf.rules.tables.nat.chains.has('renamed'), false);
});

test('targets print in both forms (SNAT ranges, DNAT, MARK ops, CONNMARK, CT)', () => {
  const rs = new Ruleset();
  loadIptables(rs, [
    '-t nat -A POSTROUTING -p udp -o eth0 -j SNAT --to-source 203.0.113.1-203.0.113.4:1000-2000 --random-fully --persistent',
    '-t nat -A PREROUTING -p tcp -d 198.51.100.7/32 --dport 443 -j DNAT --to-destination 192.168.1.11:8443',
    '-t mangle -A PREROUTING -j MARK --set-mark 0x10',
    '-t mangle -A PREROUTING -j MARK --or-mark 0x4',
    '-t mangle -A PREROUTING -j CONNMARK --restore-mark --mask 0xff',
  ].join('\n'));
  assert.match(iptablesSave(rs), /-A POSTROUTING -o eth0 -p udp -j SNAT --to-source 203\.0\.113\.1-203\.0\.113\.4:1000-2000 --random-fully --persistent/);
  assert.match(iptablesSave(rs), /-A PREROUTING -d 198\.51\.100\.7\/32 -p tcp -m tcp --dport 443 -j DNAT --to-destination 192\.168\.1\.11:8443/);
  assert.match(iptablesSave(rs), /-A PREROUTING -j MARK --set-xmark 0x10\/0xffffffff\n-A PREROUTING -j MARK --set-xmark 0x4\/0x4\n-A PREROUTING -j CONNMARK --restore-mark --nfmask 0xff --ctmask 0xff/);
  const list = iptablesList(rs, 'mangle', { chain: 'PREROUTING' });
  assert.match(list, /MARK set 0x10\n/);
  assert.match(list, /MARK or 0x4\n/);
  assert.match(list, /CONNMARK restore mask 0xff\n/);
  assert.match(iptablesList(rs, 'nat', { chain: 'POSTROUTING' }), /to:203\.0\.113\.1-203\.0\.113\.4:1000-2000 random-fully persistent\n/);
});

interface BadCase {
  name: string;
  text: string;
  line: number;
  token: string;
  message: RegExp;
}

const BAD: BadCase[] = [
  { name: 'unknown match', text: '*filter\n-A INPUT -m foo -j ACCEPT\nCOMMIT', line: 2, token: 'foo', message: /unknown match 'foo'/ },
  { name: 'jump to a missing chain', text: '*nat\n:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -j neutron-x\nCOMMIT', line: 3, token: 'neutron-x', message: /Couldn't load target `neutron-x':No such file or directory \(no chain 'neutron-x'\)/ },
  // iptables-restore reads line by line: a jump to a chain declared further on is refused at its line, a goto in its own words.
  { name: 'jump to a chain declared later', text: '*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j dpe-later\n:dpe-later - [0:0]\nCOMMIT', line: 3, token: 'dpe-later', message: /Couldn't load target `dpe-later':No such file or directory \(no chain 'dpe-later'\)/ },
  { name: 'goto a missing chain', text: '-A INPUT -g neutron-x', line: 1, token: 'neutron-x', message: /goto 'neutron-x' is not a chain \(no chain 'neutron-x'\)/ },
  { name: 'unknown option', text: '-A INPUT -p tcp --bogus 1 -j ACCEPT', line: 1, token: '--bogus', message: /unknown option "--bogus"/ },
  { name: 'missing argument', text: '\n\n-A INPUT -s', line: 3, token: '-s', message: /requires an argument/ },
  { name: 'bad address', text: '-A INPUT -s 300.1.1.1 -j DROP', line: 1, token: '300.1.1.1', message: /host\/network '300\.1\.1\.1' not found/ },
  { name: 'bad port', text: '-A INPUT -p tcp --dport http2x -j DROP', line: 1, token: 'http2x', message: /invalid port\/service/ },
  { name: 'ports without -p', text: '-A INPUT --dport 80 -j DROP', line: 1, token: '--dport', message: /unknown option "--dport"/ },
  { name: '-m tcp without -p tcp', text: '-A INPUT -m tcp --dport 80 -j DROP', line: 1, token: 'tcp', message: /tcp match: only valid for protocol 6/ },
  { name: 'SNAT in PREROUTING', text: '-t nat -A PREROUTING -j SNAT --to-source 1.2.3.4', line: 1, token: 'SNAT', message: /SNAT target: used from hooks PREROUTING, but only usable from INPUT\/POSTROUTING/ },
  { name: 'SNAT via a user chain called from OUTPUT', text: '-t nat -N x\n-t nat -A x -j SNAT --to-source 1.2.3.4\n-t nat -A OUTPUT -j x', line: 2, token: 'SNAT', message: /used from hooks OUTPUT/ },
  { name: 'DNAT in POSTROUTING', text: '-t nat -A POSTROUTING -j DNAT --to-destination 1.2.3.4', line: 1, token: 'DNAT', message: /DNAT target: used from hooks POSTROUTING, but only usable from PREROUTING\/OUTPUT/ },
  { name: 'SNAT in filter', text: '-A FORWARD -j SNAT --to-source 1.2.3.4', line: 1, token: 'SNAT', message: /only valid in nat table, not filter/ },
  { name: 'CT in mangle', text: '-t mangle -A PREROUTING -j CT --notrack', line: 1, token: 'CT', message: /only valid in raw table/ },
  { name: 'REJECT in PREROUTING', text: '-t mangle -A PREROUTING -j REJECT', line: 1, token: 'REJECT', message: /only valid in filter table/ },
  { name: 'DROP in nat', text: '-t nat -A PREROUTING -j DROP', line: 1, token: 'DROP', message: /not intended for filtering/ },
  { name: 'nat DROP policy', text: '*nat\n:PREROUTING DROP [0:0]\nCOMMIT', line: 2, token: 'DROP', message: /not intended for filtering/ },
  { name: 'loop', text: '-N a\n-N b\n-A a -j b\n-A b -j a\n-A INPUT -j a', line: 4, token: 'a', message: /loop detected/ },
  { name: 'missing COMMIT', text: '*filter\n-A INPUT -j ACCEPT', line: 1, token: '*filter', message: /COMMIT expected/ },
  { name: 'unknown table', text: '*security\nCOMMIT', line: 1, token: 'security', message: /Table does not exist/ },
  { name: '-i in POSTROUTING', text: '-t nat -A POSTROUTING -i eth0 -j ACCEPT', line: 1, token: '-i', message: /Can't use -i with POSTROUTING/ },
  { name: 'policy on a user chain', text: '-N x\n-P x DROP', line: 2, token: 'x', message: /bad built-in chain name/ },
  { name: 'user chain declared with a policy', text: '*filter\n:mine ACCEPT [0:0]\nCOMMIT', line: 2, token: 'ACCEPT', message: /cannot have a policy/ },
  { name: 'SNAT without --to-source', text: '-t nat -A POSTROUTING -j SNAT', line: 1, token: 'SNAT', message: /--to-source" must be specified/ },
  { name: 'bad ctstate', text: '-A INPUT -m conntrack --ctstate NEWISH -j ACCEPT', line: 1, token: 'NEWISH', message: /bad ctstate 'NEWISH'/ },
  { name: 'tcp-reset without tcp', text: '-A INPUT -j REJECT --reject-with tcp-reset', line: 1, token: 'REJECT', message: /TCP_RESET invalid/ },
  { name: 'interface name too long', text: '-A INPUT -i qr-1234567890abcdef -j DROP', line: 1, token: 'qr-1234567890abcdef', message: /IFNAMSIZ/ },
  { name: 'unterminated quote', text: '-A INPUT -m comment --comment "oops -j DROP', line: 1, token: '"oops -j DROP', message: /unterminated/ },
];

for (const c of BAD) {
  test(`rejects bad configuration: ${c.name}`, () => {
    const nf = new Netfilter();
    nf.load('-A INPUT -j ACCEPT');
    const before = iptablesSave(nf.rules);
    assert.throws(() => nf.load(c.text), (e: unknown) => {
      assert.ok(e instanceof NfSyntaxError, String(e));
      assert.equal(e.line, c.line, e.message);
      assert.equal(e.token, c.token, e.message);
      assert.match(e.message, c.message);
      assert.match(e.message, new RegExp(`^line ${c.line}, column \\d+: `));
      return true;
    });
    assert.equal(iptablesSave(nf.rules), before, 'a failed load changes nothing');
  });
}

test('error column points at the token', () => {
  try {
    new Netfilter().load('-A INPUT -m foo');
    assert.fail('expected an error');
  } catch (e) {
    assert.ok(e instanceof NfSyntaxError);
    assert.equal(e.column, 13);
  }
});
