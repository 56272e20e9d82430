// Builders elements use to create packets: ARP request/reply, ICMP echo and
// errors (Linux's quoting rules), written into a slot at an offset.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseIpv4, parseMac, readU16 } from '../../src/wire/addr.js';
import { arpRequestToReply, buildArpReply, buildArpRequest, ARP_FRAME_LEN } from '../../src/wire/arp.js';
import { Decoded, decode } from '../../src/wire/decode.js';
import { ETH_HLEN, ETHERTYPE_IPV4, ethSwapMacs, writeEth } from '../../src/wire/ethernet.js';
import { buildFrame } from '../../src/wire/frame.js';
import {
  ICMP_DEST_UNREACH,
  ICMP_FRAG_NEEDED,
  ICMP_PORT_UNREACH,
  ICMP_TIME_EXCEEDED,
  buildIcmpEcho,
  buildIcmpError,
  icmpChecksumOk,
  icmpErrorAllowed,
  icmpQuoteLen,
} from '../../src/wire/icmp.js';
import { ipv4ChecksumOk } from '../../src/wire/ipv4.js';
import { formatFrame } from '../../src/wire/tcpdump.js';

const VM = parseMac('fa:16:3e:b2:ef:af')!;
const QR = parseMac('fa:16:3e:06:d8:7b')!;
const ip = (s: string): number => parseIpv4(s)!;

test('ARP request and reply frames (42 bytes, as arp_create sends them)', () => {
  const slab = new Uint8Array(256);
  assert.equal(buildArpRequest(slab, 100, VM.hi, VM.lo, ip('192.168.1.7'), ip('192.168.1.1')), ARP_FRAME_LEN);
  assert.deepEqual(slab.subarray(100, 142), buildFrame({ src: 'fa:16:3e:b2:ef:af', dst: 'ff:ff:ff:ff:ff:ff', arp: { sha: 'fa:16:3e:b2:ef:af', spa: '192.168.1.7', tpa: '192.168.1.1' } }));
  assert.equal(
    formatFrame(slab, 100, 42),
    'fa:16:3e:b2:ef:af > ff:ff:ff:ff:ff:ff, ethertype ARP (0x0806), length 42: Request who-has 192.168.1.1 tell 192.168.1.7, length 28',
  );
  // The router answers in place.
  arpRequestToReply(slab, 100, 114, QR.hi, QR.lo);
  assert.equal(
    formatFrame(slab, 100, 42),
    'fa:16:3e:06:d8:7b > fa:16:3e:b2:ef:af, ethertype ARP (0x0806), length 42: Reply 192.168.1.1 is-at fa:16:3e:06:d8:7b, length 28',
  );
  const other = new Uint8Array(42);
  buildArpReply(other, 0, QR.hi, QR.lo, ip('192.168.1.1'), VM.hi, VM.lo, ip('192.168.1.7'));
  assert.deepEqual(other, slab.subarray(100, 142));
});

test('ICMP echo request as the VM sends it, and the reply turned around in place', () => {
  const slab = new Uint8Array(512);
  const l2 = 128;
  writeEth(slab, l2, QR.hi, QR.lo, VM.hi, VM.lo, ETHERTYPE_IPV4);
  const n = buildIcmpEcho(slab, l2 + ETH_HLEN, 8, 60691, 1, 100, ip('192.168.1.7'), ip('8.8.8.8'));
  assert.equal(n, 128);
  assert.ok(ipv4ChecksumOk(slab, l2 + 14));
  assert.ok(icmpChecksumOk(slab, l2 + 34, 108));
  assert.equal(
    formatFrame(slab, l2, 14 + n),
    'fa:16:3e:b2:ef:af > fa:16:3e:06:d8:7b, ethertype IPv4 (0x0800), length 142: 192.168.1.7 > 8.8.8.8: ICMP echo request, id 60691, seq 1, length 108',
  );
  // iputils' payload: a 16-byte timestamp, then bytes counting up.
  assert.equal(slab[l2 + 42 + 16], 16);
  assert.equal(slab[l2 + 42 + 99], 99);
});

test('quote length: all of it up to 576 bytes of reply (Linux), less on a small MTU', () => {
  assert.equal(icmpQuoteLen(60), 60);
  assert.equal(icmpQuoteLen(1500), 548);
  assert.equal(icmpQuoteLen(1500, 300), 272);
  assert.equal(icmpQuoteLen(128), 128);
});

test('ICMP time exceeded built in place over the offending packet', () => {
  // The traceroute probe arrives at the router with TTL 1.
  const probe = buildFrame({ src: 'fa:16:3e:b2:ef:af', dst: 'fa:16:3e:06:d8:7b', ip: { src: '192.168.1.7', dst: '8.8.8.8', ttl: 1, df: false, id: 1234, tos: 0x10 }, udp: { sport: 45000, dport: 33434, payload: 32 } });
  const slab = new Uint8Array(1024);
  const l2 = 300;
  slab.set(probe, l2);
  const origL3 = l2 + 14;
  const origLen = probe.length - 14;
  const copy = slab.slice(origL3, origL3 + origLen);
  // Put the error's IP header 28 bytes in front: the quote is already where it belongs.
  const l3 = origL3 - 28;
  const q = icmpQuoteLen(origLen);
  const n = buildIcmpError(slab, l3, ICMP_TIME_EXCEEDED, 0, 0, ip('192.168.1.1'), ip('192.168.1.7'), slab, origL3, q, 64, 7);
  assert.equal(n, 28 + 60);
  assert.deepEqual(slab.subarray(l3 + 28, l3 + 28 + 60), copy, 'quote intact');
  assert.equal(slab[l3 + 1], 0xc0 | 0x10, 'TOS: precedence internetcontrol + the original TOS bits');
  assert.equal(readU16(slab, l3 + 6), 0, 'no DF on ICMP errors');
  assert.ok(ipv4ChecksumOk(slab, l3));
  assert.ok(icmpChecksumOk(slab, l3 + 20, n - 20));
  writeEth(slab, l3 - 14, VM.hi, VM.lo, QR.hi, QR.lo, ETHERTYPE_IPV4);
  assert.equal(
    formatFrame(slab, l3 - 14, 14 + n),
    'fa:16:3e:06:d8:7b > fa:16:3e:b2:ef:af, ethertype IPv4 (0x0800), length 102: 192.168.1.1 > 192.168.1.7: ICMP time exceeded in-transit, length 68',
  );
  const d = new Decoded();
  assert.equal(decode(slab, l3 - 14, 14 + n, d), 0);
  assert.equal(d.icmpInnerL3, l3 + 28);
  assert.equal(slab[d.icmpInnerL3 + 9], 17);
});

test('ICMP errors from another buffer; frag needed carries the MTU; unreachable quotes a big packet partly', () => {
  const big = buildFrame({ src: 'fa:16:3e:b2:ef:af', dst: 'fa:16:3e:06:d8:7b', ip: { src: '192.168.1.7', dst: '8.8.8.8' }, icmp: { id: 1, seq: 1, data: 1400 } });
  const out = new Uint8Array(700);
  const q = icmpQuoteLen(big.length - 14);
  const n = buildIcmpError(out, 14, ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED, 1450, ip('192.168.1.1'), ip('192.168.1.7'), big, 14, q);
  assert.equal(n, 576);
  writeEth(out, 0, VM.hi, VM.lo, QR.hi, QR.lo, ETHERTYPE_IPV4);
  assert.match(formatFrame(out, 0, 14 + n), /ICMP 8\.8\.8\.8 unreachable - need to frag \(mtu 1450\), length 556$/);
  const m = buildIcmpError(out, 14, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, 0, ip('8.8.8.8'), ip('192.168.1.7'), big, 14, 28);
  assert.equal(m, 56);
  ethSwapMacs(out, 0);
  assert.ok(icmpChecksumOk(out, 34, m - 20));
});

test('which datagrams may get an ICMP error (icmp_send rules)', () => {
  const l3 = (f: Uint8Array): [Uint8Array, number, number] => [f, 14, f.length - 14];
  const udp = buildFrame({ src: 'fa:16:3e:b2:ef:af', dst: 'fa:16:3e:06:d8:7b', ip: { src: '1.1.1.1', dst: '2.2.2.2' }, udp: { sport: 1, dport: 2 } });
  assert.ok(icmpErrorAllowed(...l3(udp)));
  const echo = buildFrame({ src: 'fa:16:3e:b2:ef:af', dst: 'fa:16:3e:06:d8:7b', ip: { src: '1.1.1.1', dst: '2.2.2.2' }, icmp: { id: 1, seq: 1 } });
  assert.ok(icmpErrorAllowed(...l3(echo)));
  const err = buildFrame({ src: 'fa:16:3e:b2:ef:af', dst: 'fa:16:3e:06:d8:7b', ip: { src: '1.1.1.1', dst: '2.2.2.2' }, icmp: { type: 3, code: 1, data: 28 } });
  assert.ok(!icmpErrorAllowed(...l3(err)), 'never about an ICMP error');
  const later = buildFrame({ src: 'fa:16:3e:b2:ef:af', dst: 'fa:16:3e:06:d8:7b', ip: { src: '1.1.1.1', dst: '2.2.2.2', fragOffset: 8, df: false, proto: 17 }, payload: [1] });
  assert.ok(!icmpErrorAllowed(...l3(later)), 'never about a later fragment');
  assert.ok(!icmpErrorAllowed(udp, 14, 10));
});
