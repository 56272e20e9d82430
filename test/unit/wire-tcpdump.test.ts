// tcpdump -nnee output for the write-up's frames and the formats around them.
// EXPECTED was produced by running the real tcpdump 4.99.3 over these frames
// (written with pcap.ts); the formatter must print the same bytes. If tcpdump
// is installed, one more test re-checks the whole set against it live.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pcapFile } from '../../src/wire/pcap.js';
import { Tcpdump, formatBytes, formatFrame, ip6ToString } from '../../src/wire/tcpdump.js';
import { CASES } from './wire-tcpdump-cases.js';

// What tcpdump 4.99.3 (`tcpdump -nnee -r`) printed for CASES, in order.
const EXPECTED: [string, string][] = [
  ["1 VM eth0: echo request", "fa:16:3e:b2:ef:af > fa:16:3e:06:d8:7b, ethertype IPv4 (0x0800), length 142: 192.168.1.7 > 8.8.8.8: ICMP echo request, id 60691, seq 1, length 108"],
  ["16 w02 eth3: vlan 103 after SNAT", "fa:17:3e:f7:cd:bc > 5c:c9:99:60:d2:71, ethertype 802.1Q (0x8100), length 146: vlan 103, p 0, ethertype IPv4 (0x0800), 112.65.210.200 > 8.8.8.8: ICMP echo request, id 60691, seq 1, length 108"],
  ["7 w07 eth2: VXLAN", "b4:96:91:5a:31:78 > 5c:c9:99:60:e0:3c, ethertype IPv4 (0x0800), length 192: 10.206.107.238.58650 > 10.206.107.156.4789: VXLAN, flags [I] (0x08), vni 103\nfa:16:3f:13:77:c5 > fa:16:3e:d1:d8:49, ethertype IPv4 (0x0800), length 142: 192.168.1.7 > 8.8.8.8: ICMP echo request, id 60691, seq 1, length 108"],
  ["reply: echo reply to the VM", "fa:16:3e:d1:d8:49 > fa:16:3e:b2:ef:af, ethertype IPv4 (0x0800), length 142: 8.8.8.8 > 192.168.1.7: ICMP echo reply, id 60691, seq 1, length 108"],
  ["ARP request", "fa:16:3e:b2:ef:af > ff:ff:ff:ff:ff:ff, ethertype ARP (0x0806), length 42: Request who-has 192.168.1.1 tell 192.168.1.7, length 28"],
  ["ARP reply", "fa:16:3e:06:d8:7b > fa:16:3e:b2:ef:af, ethertype ARP (0x0806), length 42: Reply 192.168.1.1 is-at fa:16:3e:06:d8:7b, length 28"],
  ["ARP reply padded by a NIC", "fa:16:3e:06:d8:7b > fa:16:3e:b2:ef:af, ethertype ARP (0x0806), length 60: Reply 192.168.1.1 is-at fa:16:3e:06:d8:7b, length 46"],
  ["ARP request with a target MAC", "fa:16:3e:b2:ef:af > fa:16:3e:06:d8:7b, ethertype ARP (0x0806), length 42: Request who-has 192.168.1.1 (fa:16:3e:06:d8:7b) tell 192.168.1.7, length 28"],
  ["QinQ 88a8 + 8100 with PCP and DEI", "fa:16:3e:b2:ef:af > fa:16:3e:06:d8:7b, ethertype 802.1Q-QinQ (0x88a8), length 150: vlan 100, p 3, ethertype 802.1Q (0x8100), vlan 103, p 0, DEI, ethertype IPv4 (0x0800), 192.168.1.7 > 8.8.8.8: ICMP echo request, id 60691, seq 1, length 108"],
  ["two 8100 tags", "fa:16:3e:b2:ef:af > fa:16:3e:06:d8:7b, ethertype 802.1Q (0x8100), length 150: vlan 100, p 0, ethertype 802.1Q (0x8100), vlan 103, p 0, ethertype IPv4 (0x0800), 192.168.1.7 > 8.8.8.8: ICMP echo request, id 60691, seq 1, length 108"],
  ["traceroute probe", "fa:16:3e:b2:ef:af > fa:16:3e:06:d8:7b, ethertype IPv4 (0x0800), length 74: 192.168.1.7.45000 > 8.8.8.8.33434: UDP, length 32"],
  ["time exceeded, router quoting 8 bytes", "fa:16:3e:06:d8:7b > fa:16:3e:b2:ef:af, ethertype IPv4 (0x0800), length 70: 192.168.1.1 > 192.168.1.7: ICMP time exceeded in-transit, length 36"],
  ["time exceeded, Linux quoting it all", "fa:16:3e:06:d8:7b > fa:16:3e:b2:ef:af, ethertype IPv4 (0x0800), length 102: 192.168.1.1 > 192.168.1.7: ICMP time exceeded in-transit, length 68"],
  ["reassembly time exceeded", "fa:16:3e:06:d8:7b > fa:16:3e:b2:ef:af, ethertype IPv4 (0x0800), length 102: 192.168.1.1 > 192.168.1.7: ICMP ip reassembly time exceeded, length 68"],
  ["net unreachable", "fa:16:3e:06:d8:7b > fa:16:3e:b2:ef:af, ethertype IPv4 (0x0800), length 102: 192.168.1.1 > 192.168.1.7: ICMP net 8.8.8.8 unreachable, length 68"],
  ["host unreachable", "fa:16:3e:06:d8:7b > fa:16:3e:b2:ef:af, ethertype IPv4 (0x0800), length 102: 192.168.1.1 > 192.168.1.7: ICMP host 8.8.8.8 unreachable, length 68"],
  ["protocol unreachable", "fa:16:3e:06:d8:7b > fa:16:3e:b2:ef:af, ethertype IPv4 (0x0800), length 102: 192.168.1.1 > 192.168.1.7: ICMP 8.8.8.8 protocol 17 unreachable, length 68"],
  ["udp port unreachable", "fa:16:3e:06:d8:7b > fa:16:3e:b2:ef:af, ethertype IPv4 (0x0800), length 102: 192.168.1.1 > 192.168.1.7: ICMP 8.8.8.8 udp port 33434 unreachable, length 68"],
  ["tcp port unreachable", "fa:16:3e:06:d8:7b > fa:16:3e:b2:ef:af, ethertype IPv4 (0x0800), length 102: 192.168.1.1 > 192.168.1.7: ICMP 203.0.113.5 tcp port 8080 unreachable, length 68"],
  ["frag needed with mtu", "fa:16:3e:06:d8:7b > fa:16:3e:b2:ef:af, ethertype IPv4 (0x0800), length 102: 192.168.1.1 > 192.168.1.7: ICMP 8.8.8.8 unreachable - need to frag (mtu 1450), length 68"],
  ["admin prohibited filter (REJECT)", "fa:16:3e:06:d8:7b > fa:16:3e:b2:ef:af, ethertype IPv4 (0x0800), length 102: 192.168.1.1 > 192.168.1.7: ICMP host 8.8.8.8 unreachable - admin prohibited filter, length 68"],
  ["unknown unreachable code", "fa:16:3e:06:d8:7b > fa:16:3e:b2:ef:af, ethertype IPv4 (0x0800), length 102: 192.168.1.1 > 192.168.1.7: ICMP 8.8.8.8 unreachable - #16, length 68"],
  ["redirect host", "fa:16:3e:06:d8:7b > fa:16:3e:b2:ef:af, ethertype IPv4 (0x0800), length 70: 192.168.1.1 > 192.168.1.7: ICMP redirect 8.8.8.8 to host 192.168.1.6, length 36"],
  ["parameter problem", "fa:16:3e:06:d8:7b > fa:16:3e:b2:ef:af, ethertype IPv4 (0x0800), length 70: 192.168.1.1 > 192.168.1.7: ICMP parameter problem - octet 20, length 36"],
  ["error with its quote cut short", "fa:16:3e:06:d8:7b > fa:16:3e:b2:ef:af, ethertype IPv4 (0x0800), length 58: 192.168.1.1 > 192.168.1.7:  [|icmp]"],
  ["time stamp request", "fa:16:3e:06:d8:7b > fa:16:3e:b2:ef:af, ethertype IPv4 (0x0800), length 54: 192.168.1.1 > 192.168.1.7: ICMP time stamp query id 5 seq 6, length 20"],
  ["unknown ICMP type", "fa:16:3e:06:d8:7b > fa:16:3e:b2:ef:af, ethertype IPv4 (0x0800), length 46: 192.168.1.1 > 192.168.1.7: ICMP type-#42, length 12"],
  ["TCP SYN with options", "fa:16:3e:b2:ef:af > fa:16:3e:06:d8:7b, ethertype IPv4 (0x0800), length 74: 192.168.1.7.51234 > 203.0.113.5.8080: Flags [S], seq 1000, win 64240, options [mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7], length 0"],
  ["TCP SYN-ACK", "fa:16:3e:06:d8:7b > fa:16:3e:b2:ef:af, ethertype IPv4 (0x0800), length 66: 203.0.113.5.8080 > 192.168.1.7.51234: Flags [S.], seq 5000, ack 1001, win 65160, options [mss 1460,nop,nop,sackOK,nop,wscale 7], length 0"],
  ["TCP ACK (relative from here on)", "fa:16:3e:b2:ef:af > fa:16:3e:06:d8:7b, ethertype IPv4 (0x0800), length 54: 192.168.1.7.51234 > 203.0.113.5.8080: Flags [.], ack 1, win 502, length 0"],
  ["TCP data", "fa:16:3e:b2:ef:af > fa:16:3e:06:d8:7b, ethertype IPv4 (0x0800), length 81: 192.168.1.7.51234 > 203.0.113.5.8080: Flags [P.], seq 1:28, ack 1, win 502, length 27: HTTP: GET / HTTP/1.1"],
  ["TCP FIN with timestamps", "fa:16:3e:b2:ef:af > fa:16:3e:06:d8:7b, ethertype IPv4 (0x0800), length 66: 192.168.1.7.51234 > 203.0.113.5.8080: Flags [F.], seq 28, ack 1, win 502, options [nop,nop,TS val 9 ecr 8], length 0"],
  ["TCP SACK", "fa:16:3e:06:d8:7b > fa:16:3e:b2:ef:af, ethertype IPv4 (0x0800), length 66: 203.0.113.5.8080 > 192.168.1.7.51234: Flags [.], ack 10, win 10, options [nop,nop,sack 1 {10:17}], length 0"],
  ["TCP RST", "fa:16:3e:b2:ef:af > fa:16:3e:06:d8:7b, ethertype IPv4 (0x0800), length 54: 192.168.1.7.40000 > 198.51.100.9.22: Flags [R], seq 77, win 0, length 0"],
  ["TCP all flags, urg", "fa:16:3e:b2:ef:af > fa:16:3e:06:d8:7b, ethertype IPv4 (0x0800), length 54: 192.168.1.7.40000 > 198.51.100.9.23000: Flags [FSRPUEW], seq 77, win 10, urg 0, length 0"],
  ["TCP no flags", "fa:16:3e:b2:ef:af > fa:16:3e:06:d8:7b, ethertype IPv4 (0x0800), length 54: 192.168.1.7.40000 > 198.51.100.9.23000: Flags [none], win 10, length 0"],
  ["UDP", "fa:16:3e:b2:ef:af > fa:16:3e:06:d8:7b, ethertype IPv4 (0x0800), length 52: 192.168.1.7.40000 > 203.0.113.5.50000: UDP, length 10"],
  ["UDP empty, no checksum", "fa:16:3e:b2:ef:af > fa:16:3e:06:d8:7b, ethertype IPv4 (0x0800), length 42: 192.168.1.7.40000 > 203.0.113.5.50000: UDP, length 0"],
  ["first fragment", "fa:16:3e:b2:ef:af > fa:16:3e:06:d8:7b, ethertype IPv4 (0x0800), length 142: 192.168.1.7 > 8.8.8.8: ICMP echo request, id 1, seq 2, length 108"],
  ["later fragment", "fa:16:3e:b2:ef:af > fa:16:3e:06:d8:7b, ethertype IPv4 (0x0800), length 134: 192.168.1.7 > 8.8.8.8: ip-proto-1"],
  ["IP options (router alert)", "fa:16:3e:b2:ef:af > fa:16:3e:06:d8:7b, ethertype IPv4 (0x0800), length 54: 192.168.1.7 > 8.8.8.8: ICMP echo request, id 1, seq 2, length 16"],
  ["unknown IP protocol", "fa:16:3e:b2:ef:af > fa:16:3e:06:d8:7b, ethertype IPv4 (0x0800), length 42: 192.168.1.7 > 8.8.8.8:  ip-proto-99 8"],
  ["OSPF hello in the fip namespace", "fa:17:3e:f7:cd:bc > 01:00:5e:00:00:05, ethertype IPv4 (0x0800), length 78: 10.206.221.195 > 224.0.0.5: OSPFv2, Hello, length 44"],
  ["unknown ethertype: hex dump", "fa:16:3e:b2:ef:af > fa:16:3e:06:d8:7b, ethertype Unknown (0x88b5), length 34: \n\t0x0000:  0102 0304 0506 0708 090a 0b0c 0d0e 0f10  ................\n\t0x0010:  1112 1314                                ...."],
  ["unknown ethertype under a tag", "fa:16:3e:b2:ef:af > fa:16:3e:06:d8:7b, ethertype 802.1Q (0x8100), length 22: vlan 5, p 0, ethertype Unknown (0x1234), \n\t0x0000:  4142 207f                                AB.."],
  ["IPv6 ICMP6 neighbor solicitation", "fa:16:3e:b2:ef:af > 33:33:ff:00:00:01, ethertype IPv6 (0x86dd), length 78: fe80::f816:3eff:feb2:efaf > ff02::1:ff00:1: ICMP6, neighbor solicitation, who has fe80::1, length 24"],
  ["truncated: Ethernet header", " [|ether]"],
  ["truncated: no IP byte", "fa:16:3e:b2:ef:af > fa:16:3e:06:d8:7b, ethertype IPv4 (0x0800), length 14:  [|ip]"],
  ["truncated: inside the IP header", "fa:16:3e:b2:ef:af > fa:16:3e:06:d8:7b, ethertype IPv4 (0x0800), length 30:  [|ip]"],
  ["truncated: inside ICMP", "fa:16:3e:b2:ef:af > fa:16:3e:06:d8:7b, ethertype IPv4 (0x0800), length 38: truncated-ip - 104 bytes missing! 192.168.1.7 > 8.8.8.8:  [|icmp]"],
  ["truncated: after the ICMP header", "fa:16:3e:b2:ef:af > fa:16:3e:06:d8:7b, ethertype IPv4 (0x0800), length 42: truncated-ip - 100 bytes missing! 192.168.1.7 > 8.8.8.8: ICMP echo request, id 60691, seq 1, length 108"],
  ["truncated: inside the VLAN tag", "fa:16:3e:b2:ef:af > fa:16:3e:06:d8:7b,  [|vlan]"],
  ["truncated: ARP", "fa:16:3e:b2:ef:af > ff:ff:ff:ff:ff:ff, ethertype ARP (0x0806), length 30:  [|arp]"],
  ["truncated: TCP options", "fa:16:3e:b2:ef:af > fa:16:3e:06:d8:7b, ethertype IPv4 (0x0800), length 57: truncated-ip - 17 bytes missing! 192.168.1.7.51234 > 203.0.113.5.8080: Flags [S], seq 1000, win 64240, options [mss [|tcp]"],
  ["truncated: VXLAN header", "b4:96:91:5a:31:78 > 5c:c9:99:60:e0:3c, ethertype IPv4 (0x0800), length 45: truncated-ip - 147 bytes missing! 10.206.107.238.58650 > 10.206.107.156.4789: VXLAN, flags [I] (0x08),  [|vxlan]"],
  ["truncated: inner Ethernet", "b4:96:91:5a:31:78 > 5c:c9:99:60:e0:3c, ethertype IPv4 (0x0800), length 60: truncated-ip - 132 bytes missing! 10.206.107.238.58650 > 10.206.107.156.4789: VXLAN, flags [I] (0x08), vni 103\n [|ether]"],
  ["bad IP version", "fa:16:3e:b2:ef:af > fa:16:3e:06:d8:7b, ethertype IPv4 (0x0800), length 142: IP6, wrong link-layer encapsulation (invalid)"],
  ["bad IHL", "fa:16:3e:b2:ef:af > fa:16:3e:06:d8:7b, ethertype IPv4 (0x0800), length 142: bad-hlen 12"],
  ["total length beyond the frame", "fa:16:3e:b2:ef:af > fa:16:3e:06:d8:7b, ethertype IPv4 (0x0800), length 142: truncated-ip - 128 bytes missing! 192.168.1.7 > 8.8.8.8: ICMP echo request, id 60691, seq 1, length 236"],
  ["total length below the header", "fa:16:3e:b2:ef:af > fa:16:3e:06:d8:7b, ethertype IPv4 (0x0800), length 142: bad-len 10"],
  ["UDP length too short", "fa:16:3e:b2:ef:af > fa:16:3e:06:d8:7b, ethertype IPv4 (0x0800), length 52: 1.2.3.4.1000 > 5.6.7.8.2000: truncated-udplength 4"],
  ["UDP length too long", "fa:16:3e:b2:ef:af > fa:16:3e:06:d8:7b, ethertype IPv4 (0x0800), length 52: 1.2.3.4.1000 > 5.6.7.8.2000: UDP, bad length 32 > 10"],
  ["TCP data offset too small", "fa:16:3e:b2:ef:af > fa:16:3e:06:d8:7b, ethertype IPv4 (0x0800), length 74: 192.168.1.7.51234 > 203.0.113.5.8080:  tcp 24 [bad hdr length 16 - too short, < 20]"],
  ["VXLAN with the I flag clear", "b4:96:91:5a:31:78 > 5c:c9:99:60:e0:3c, ethertype IPv4 (0x0800), length 192: 10.206.107.238.58650 > 10.206.107.156.4789: VXLAN, flags [invalid] (0x00), vni 103\nfa:16:3f:13:77:c5 > fa:16:3e:d1:d8:49, ethertype IPv4 (0x0800), length 142: 192.168.1.7 > 8.8.8.8: ICMP echo request, id 60691, seq 1, length 108"],
];

test('tcpdump -nnee lines: the write-up frames and the formats around them', () => {
  assert.equal(EXPECTED.length, CASES.length);
  const td = new Tcpdump(); // one capture: TCP sequence numbers go relative as in tcpdump
  for (let i = 0; i < CASES.length; i++) {
    const [name, make] = CASES[i]!;
    const f = make();
    assert.equal(td.format(f, 0, f.length), EXPECTED[i]![1], name);
  }
});

test('the write-up lines, spelled out', () => {
  const req = CASES[0]![1]();
  assert.equal(req.length, 142);
  assert.equal(
    formatBytes(req),
    'fa:16:3e:b2:ef:af > fa:16:3e:06:d8:7b, ethertype IPv4 (0x0800), length 142: 192.168.1.7 > 8.8.8.8: ICMP echo request, id 60691, seq 1, length 108',
  );
  const vx = CASES[2]![1]();
  assert.equal(vx.length, 192);
  assert.equal(
    formatBytes(vx),
    'b4:96:91:5a:31:78 > 5c:c9:99:60:e0:3c, ethertype IPv4 (0x0800), length 192: 10.206.107.238.58650 > 10.206.107.156.4789: VXLAN, flags [I] (0x08), vni 103\n' +
      'fa:16:3f:13:77:c5 > fa:16:3e:d1:d8:49, ethertype IPv4 (0x0800), length 142: 192.168.1.7 > 8.8.8.8: ICMP echo request, id 60691, seq 1, length 108',
  );
  assert.match(formatBytes(CASES[1]![1]()), /^fa:17:3e:f7:cd:bc > 5c:c9:99:60:d2:71, ethertype 802\.1Q \(0x8100\), length 146: vlan 103, p 0, ethertype IPv4 \(0x0800\), 112\.65\.210\.200 > 8\.8\.8\.8: ICMP echo request, id 60691, seq 1, length 108$/);
});

test('a frame inside a slab at an offset; a short capture of a longer frame', () => {
  const f = CASES[0]![1]();
  const slab = new Uint8Array(4096);
  slab.set(f, 1000);
  assert.equal(formatFrame(slab, 1000, f.length), EXPECTED[0]![1]);
  assert.equal(
    formatFrame(slab, 1000, 38, 142),
    'fa:16:3e:b2:ef:af > fa:16:3e:06:d8:7b, ethertype IPv4 (0x0800), length 142: 192.168.1.7 > 8.8.8.8:  [|icmp]',
  );
});

test('formatting never throws', () => {
  const junk = [new Uint8Array(0), new Uint8Array(3), Uint8Array.from({ length: 64 }, (_, i) => (i * 37) & 255)];
  for (const j of junk) assert.equal(typeof formatBytes(j), 'string');
  assert.equal(typeof formatFrame(new Uint8Array(10), -5, 100), 'string');
  assert.equal(typeof formatFrame(new Uint8Array(10), 0, Number.NaN), 'string');
});

test('IPv6 text as inet_ntop writes it', () => {
  const a = (s: number[]): string => ip6ToString(Uint8Array.from(s), 0);
  assert.equal(a([0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0xf8, 0x16, 0x3e, 0xff, 0xfe, 0xb2, 0xef, 0xaf]), 'fe80::f816:3eff:feb2:efaf');
  assert.equal(a(new Array(16).fill(0)), '::');
  assert.equal(a([...new Array(15).fill(0), 1]), '::1');
  assert.equal(a([...new Array(10).fill(0), 0xff, 0xff, 192, 0, 2, 1]), '::ffff:192.0.2.1');
  assert.equal(a([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1]), '2001:db8:0:1::1');
});

const hasTcpdump = spawnSync('tcpdump', ['--version'], { stdio: 'ignore' }).status === 0;

test('live: the real tcpdump reads our pcap and prints the same lines', { skip: !hasTcpdump && 'tcpdump not installed' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'dpe-wire-'));
  try {
    const frames = CASES.map(([, make]) => make());
    const file = join(dir, 'cases.pcap');
    writeFileSync(file, pcapFile(frames.map((frame, i) => ({ tsMs: 1700000000000 + i * 1000, frame }))));
    const out = execFileSync('tcpdump', ['-tt', '-nnee', '-r', file], { stdio: ['ignore', 'pipe', 'ignore'] }).toString();
    const lines = out.split(/^\d+\.\d{6} /m).slice(1).map((s) => s.replace(/\n$/, ''));
    const td = new Tcpdump();
    assert.deepEqual(
      frames.map((f) => td.format(f, 0, f.length)),
      lines,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
