import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileFilter, decodeFields, FilterSyntaxError } from '../../src/control/capture-filter.js';

const hex = (s: string) => Uint8Array.from(s.replace(/\s+/g, '').match(/../g)!.map((x) => parseInt(x, 16)));
// Ethernet + IPv4 (192.168.1.7 > 8.8.8.8) + UDP 58650 > 4789 header, then padding.
const eth = 'fa163e06d87b fa163eb2efaf';
const ipUdp = '4500002e 0000 4000 40 11 0000 c0a80107 08080808' + 'e51a 12b5 001a 0000' + '00'.repeat(18);
const udp = hex(eth + '0800' + ipUdp);
const vlanUdp = hex(eth + '8100 0067 0800' + ipUdp);
const arp = hex('ffffffffffff fa163eb2efaf 0806 0001 0800 06 04 0001 fa163eb2efaf c0a80107 000000000000 c0a80101');
const icmp = hex(eth + '0800' + '45000054 0000 4000 40 01 0000 c0a80107 08080808' + '0800 0000 ed13 0001' + '00'.repeat(20));
const tcpFrag = hex(eth + '0800' + '45000028 0000 0010 40 06 0000 c0a80107 08080808' + '0050 0050' + '00'.repeat(20));

const m = (expr: string, b: Uint8Array) => compileFilter(expr)(decodeFields(b, 0, b.length));

test('protocol keywords', () => {
  assert.ok(m('udp', udp) && m('ip', udp) && !m('tcp', udp) && !m('icmp', udp) && !m('arp', udp));
  assert.ok(m('arp', arp) && !m('ip', arp));
  assert.ok(m('icmp', icmp) && m('ip proto 1', icmp) && m('ip proto \\icmp', icmp) && m('ether proto 0x0800', icmp));
  assert.ok(m('', udp), 'an empty filter takes everything');
});

test('host, net, port with directions and implied qualifiers', () => {
  assert.ok(m('host 8.8.8.8', udp) && m('dst host 8.8.8.8', udp) && !m('src host 8.8.8.8', udp));
  assert.ok(m('src 192.168.1.7', udp), 'a bare ID after src means host');
  assert.ok(m('host 1.2.3.4 or 8.8.8.8', udp), 'a bare ID reuses the previous qualifiers');
  assert.ok(m('net 192.168.1.0/24', udp) && m('src net 192.168', udp) && !m('dst net 192.168.0.0/16', udp));
  assert.ok(m('net 8.0.0.0 mask 255.0.0.0', udp));
  assert.ok(m('port 4789', udp) && m('udp dst port 4789', udp) && !m('tcp port 4789', udp) && m('portrange 4000-5000', udp));
  assert.ok(m('host 192.168.1.1', arp), 'host also tests ARP addresses');
  assert.ok(m('ether src fa:16:3e:b2:ef:af', udp) && m('ether host fa:16:3e:06:d8:7b', udp) && !m('ether src fa:16:3e:06:d8:7b', udp));
  assert.ok(!m('port 80', tcpFrag), 'a non-first fragment has no ports');
  assert.ok(m('broadcast', arp) && !m('broadcast', udp));
});

test('vlan and the look through tags', () => {
  assert.ok(m('vlan', vlanUdp) && m('vlan 103', vlanUdp) && !m('vlan 104', vlanUdp) && !m('vlan', udp));
  assert.ok(m('vlan 103 and udp port 4789', vlanUdp) && m('udp', vlanUdp));
});

test('and/or/not, symbols and parentheses', () => {
  assert.ok(m('udp and not icmp', udp) && m('icmp || udp', udp) && !m('!(udp)', udp));
  assert.ok(m('(arp or icmp) and host 8.8.8.8', icmp) && !m('(arp or icmp) and host 8.8.8.8', udp));
  assert.ok(m('not arp and not vlan', udp));
});

test('syntax errors are FilterSyntaxError', () => {
  for (const bad of ['host', 'host foo.example', 'port nosuchservice', 'udp port http', 'net 10.0.0.1/8', '(udp', 'udp and', 'tcp host 1.2.3.4', 'vlan 5000', 'udp )']) {
    assert.throws(() => compileFilter(bad), FilterSyntaxError, bad);
  }
});

test('packet data, arithmetic and the frame as the filter sees it (tags left out)', () => {
  assert.ok(m('udp[2:2] = 4789', udp) && m('udp[2:2] = 4789', vlanUdp), 'udp[] indexes from the UDP header, tagged or not');
  assert.ok(m('ether[12:2] = 0x0800', vlanUdp) && m('len = 60', udp) && m('len = 60', vlanUdp), 'the tag is not in ether[] nor in len');
  assert.ok(m('icmp[icmptype] = icmp-echo', icmp) && !m('icmp[icmptype] = icmp-echo', udp));
  assert.ok(!m('tcp[0] = 0', tcpFrag) && m('not tcp[0] = 0', icmp), 'tcp[] is false for a later fragment and for ICMP');
  assert.ok(!m('udp[100] = 0', udp) && !m('not udp[100] = 0', udp), 'a load past the end rejects the frame');
  assert.ok(m('2 + 3 * 4 = 14', udp) && m('6 & 3 ^ 1 = 2', udp) && !m('icmp or udp and tcp', icmp), 'and and or bind alike');
});

test('no filter text crashes the compiler, no compiled filter crashes on a frame', () => {
  const words = ['tcp', 'udp', 'icmp', 'ip', 'ether', 'arp', 'vlan', 'host', 'net', 'port', 'portrange', 'src', 'dst', 'and', 'or', 'not', '!', '(', ')', '[', ']', ':', '=', '!=', '<', '>=', '+', '-', '*', '/', '%', '&', '|', '^', '<<', '>>', '0', '1', '2', '4', '13', '0x10', '08', '1.2.3.4', '10.0.0.0', 'fa:16:3e:b2:ef:af', 'len', 'tcp-syn', 'http', 'broadcast', 'multicast', 'proto', 'mask', 'less', 'constructor', '1-2'];
  let seed = 7;
  const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) % n;
  const frames = [udp, vlanUdp, arp, icmp, tcpFrag, udp.slice(0, 20), udp.slice(0, 10), vlanUdp.slice(0, 16)];
  let compiled = 0;
  for (let n = 0; n < 5000; n++) {
    const expr = Array.from({ length: 1 + rnd(8) }, () => words[rnd(words.length)]).join(' ');
    let p;
    try {
      p = compileFilter(expr);
    } catch (e) {
      assert.ok(e instanceof FilterSyntaxError, `${expr}: ${e}`);
      continue;
    }
    compiled++;
    for (const b of frames) assert.equal(typeof p(decodeFields(b, 0, b.length)), 'boolean', expr);
  }
  assert.ok(compiled > 200, `only ${compiled} compiled`);
});
