// Malformed and hostile input: packets and configuration text never raise
// anything but NfSyntaxError, and every refusal is counted.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  CT_INVALID, CT_RELATED, Netfilter, NfSyntaxError, VERDICT_ACCEPT, fillPacketInfo, manipIpv4, newPacketInfo,
} from '../../src/netfilter/index.js';
import { MANIP_DST, MANIP_SRC } from '../../src/netfilter/constants.js';
import { checksum } from '../../src/wire/checksum.js';
import { SYN, checksumsOk, icmpEcho, icmpError, info, ipv4, tcp, udp } from './netfilter-helpers.js';

const SNAT = `-t nat -N snat
-t nat -A POSTROUTING -m conntrack ! --ctstate DNAT -o rfp+ -j snat
-t nat -A snat -j SNAT --to-source 112.65.210.200
-A FORWARD -m conntrack --ctstate INVALID -j DROP`;

function pipeline(nf: Netfilter, buf: Uint8Array, off: number, avail: number, now: number): string {
  const p = newPacketInfo();
  const why = fillPacketInfo(p, buf, off, avail);
  if (why) return why;
  p.inIf = 'sg-1';
  if (nf.prerouting(p, now) !== VERDICT_ACCEPT) return nf.result.reason!;
  p.outIf = 'rfp-1';
  if (nf.forward(p, now) !== VERDICT_ACCEPT) return nf.result.reason!;
  if (nf.postrouting(p, now) !== VERDICT_ACCEPT) return nf.result.reason!;
  return 'ok';
}

test('random bytes never throw; anything refused has a reason', () => {
  const nf = new Netfilter();
  nf.load(SNAT);
  fc.assert(fc.property(fc.uint8Array({ minLength: 0, maxLength: 120 }), fc.nat(3), (bytes, off) => {
    const buf = new Uint8Array(off + bytes.length);
    buf.set(bytes, off);
    const r = pipeline(nf, buf, off, bytes.length, 1);
    assert.equal(typeof r, 'string');
  }), { numRuns: 3000 });
});

test('valid packets with random corruption never throw', () => {
  const nf = new Netfilter();
  nf.load(SNAT);
  const seeds = [
    ipv4('192.168.1.7', '8.8.8.8', 1, icmpEcho(8, 9, 1)),
    udp('192.168.1.7', '8.8.8.8', 5000, 53),
    tcp('192.168.1.7', '8.8.8.8', 40000, 443, SYN, 1, 0),
    icmpError('10.0.0.1', '112.65.210.200', 11, 0, udp('112.65.210.200', '8.8.8.8', 5000, 53)),
  ];
  fc.assert(fc.property(
    fc.constantFrom(...seeds), fc.array(fc.tuple(fc.nat(80), fc.nat(255)), { maxLength: 6 }), fc.nat(80),
    (seed, flips, cut) => {
      const b = seed.slice(0, Math.max(0, seed.length - (cut % 10 === 0 ? cut % seed.length : 0)));
      for (const [i, v] of flips) if (i < b.length) b[i] = v;
      assert.equal(typeof pipeline(nf, b, 0, b.length, 2), 'string');
    }), { numRuns: 3000 });
});

interface Hostile {
  name: string;
  pkt: () => Uint8Array;
  reason: string;
}

const inner = udp('112.65.210.200', '8.8.8.8', 5000, 53);
const HOSTILE: Hostile[] = [
  { name: 'error quoting 4 bytes', pkt: () => icmpError('10.0.0.1', '192.0.2.1', 3, 3, inner, 4), reason: 'icmp error: quoted header truncated' },
  { name: 'error quoting garbage', pkt: () => icmpError('10.0.0.1', '192.0.2.1', 11, 0, new Uint8Array(28).fill(0xff)), reason: 'icmp error: quotes a fragment' },
  {
    name: 'error quoting an IP header whose IHL runs past the end',
    pkt: () => {
      const q = inner.slice(0, 28);
      q[0] = 0x4f;
      return icmpError('10.0.0.1', '192.0.2.1', 11, 0, q);
    },
    reason: 'icmp error: bogus quoted header',
  },
  { name: 'error quoting only the IP header of a UDP datagram', pkt: () => icmpError('10.0.0.1', '192.0.2.1', 3, 3, inner, 20), reason: 'icmp error: quoted ports truncated' },
  {
    name: 'error quoting an ICMP error',
    pkt: () => icmpError('10.0.0.1', '192.0.2.1', 3, 3, icmpError('1.1.1.1', '2.2.2.2', 3, 3, inner)),
    reason: 'icmp error: quoted packet not invertible',
  },
  { name: 'error about a connection that does not exist', pkt: () => icmpError('10.0.0.1', '192.0.2.1', 3, 3, inner), reason: 'icmp error: no connection for the quoted packet' },
  { name: 'short ICMP header', pkt: () => ipv4('10.0.0.1', '192.0.2.1', 1, new Uint8Array([3, 3, 0])), reason: 'short packet' },
  {
    name: 'bad ICMP checksum',
    pkt: () => {
      const b = ipv4('10.0.0.1', '192.0.2.1', 1, icmpEcho(8, 1, 1));
      b[30] ^= 0xff;
      return b;
    },
    reason: 'bad hw icmp checksum',
  },
  { name: 'ICMP type above 18', pkt: () => ipv4('10.0.0.1', '192.0.2.1', 1, fixIcmp(new Uint8Array([200, 0, 0, 0, 0, 0, 0, 0]))), reason: 'invalid icmp type' },
  { name: 'TCP header cut short', pkt: () => ipv4('10.0.0.1', '192.0.2.1', 6, new Uint8Array(10)), reason: 'truncated packet' },
  {
    name: 'UDP length larger than the datagram',
    pkt: () => {
      const b = udp('10.0.0.1', '192.0.2.1', 1, 2);
      b[24] = 0xff;
      return b;
    },
    reason: 'truncated/malformed packet',
  },
  {
    name: 'TCP with a bad checksum',
    pkt: () => {
      const b = tcp('10.0.0.1', '192.0.2.1', 1, 2, SYN, 1, 0);
      b[36] ^= 1;
      return b;
    },
    reason: 'bad checksum',
  },
];

function fixIcmp(b: Uint8Array): Uint8Array {
  const c = checksum(b, 0, b.length);
  b[2] = c >>> 8;
  b[3] = c & 0xff;
  return b;
}

for (const h of HOSTILE) {
  test(`hostile packet is INVALID and counted: ${h.name}`, () => {
    const nf = new Netfilter();
    nf.load(SNAT);
    const p = info(h.pkt(), 'rfp-1', null);
    assert.equal(nf.prerouting(p, 0), VERDICT_ACCEPT);
    assert.equal(p.ctState, CT_INVALID);
    assert.equal(nf.conntrack.invalidReasons.get(h.reason), 1, [...nf.conntrack.invalidReasons.keys()].join(', '));
    // Linux counts what its ICMP error path rejects as `error`, the rest as `invalid` (conntrack -S).
    const icmp = p.proto === 1;
    assert.deepEqual([nf.conntrack.stats.invalid, nf.conntrack.stats.error], icmp ? [0, 1] : [1, 0]);
    p.outIf = 'sg-1';
    assert.equal(nf.forward(p, 0), 0, 'the INVALID rule drops it');
    assert.equal(nf.drops.get('iptables_drop'), 1);
  });
}

test('a RELATED ICMP error with a bad checksum is dropped by NAT and counted (checksum checks off in conntrack)', () => {
  const nf = new Netfilter({ checksum: false });
  nf.load(SNAT);
  const out = udp('192.168.1.7', '8.8.8.8', 5000, 53);
  const p = info(out, 'sg-1', null);
  nf.prerouting(p, 0);
  p.outIf = 'rfp-1';
  nf.postrouting(p, 0);
  const err = icmpError('10.0.0.1', '112.65.210.200', 3, 3, out);
  err[21] ^= 0x55;
  const q = info(err, 'rfp-1', null);
  assert.equal(nf.prerouting(q, 1), 0);
  assert.equal(q.ctState, CT_RELATED);
  assert.equal(nf.drops.get('nat_icmp_bad_checksum'), 1);
});

test('NAT rewriting keeps every checksum valid (property)', () => {
  const addr = fc.integer({ min: 0, max: 0xffffffff });
  const port = fc.integer({ min: 0, max: 65535 });
  fc.assert(fc.property(fc.constantFrom(1, 6, 17), fc.boolean(), addr, port, fc.nat(40), fc.boolean(), (proto, src, a, pt, dataLen, zero) => {
    const data = new Uint8Array(dataLen).map((_, i) => (i * 37) & 0xff);
    const pkt = proto === 6 ? tcp('10.1.2.3', '10.4.5.6', 1111, 2222, SYN, 5, 0, data)
      : proto === 17 ? udp('10.1.2.3', '10.4.5.6', 1111, 2222, data, zero)
        : ipv4('10.1.2.3', '10.4.5.6', 1, icmpEcho(8, 77, 1, dataLen));
    assert.ok(manipIpv4(pkt, 0, pkt.length, proto, src ? MANIP_SRC : MANIP_DST, a >>> 0, pt));
    assert.ok(checksumsOk(pkt));
    if (proto === 17 && zero) assert.equal(pkt[26]! | pkt[27]!, 0);
  }), { numRuns: 2000 });
});

test('manipIpv4 on truncated input reports false instead of throwing', () => {
  const pkt = tcp('10.1.2.3', '10.4.5.6', 1, 2, SYN, 1, 0);
  for (let n = 0; n < pkt.length; n++) {
    const cut = pkt.slice(0, n);
    assert.doesNotThrow(() => manipIpv4(cut, 0, n, 6, MANIP_SRC, 1, 1));
  }
  assert.equal(manipIpv4(pkt, 0, 25, 6, MANIP_SRC, 1, 1), false);
  assert.equal(manipIpv4(pkt, 30, 10, 6, MANIP_SRC, 1, 1), false);
});

const WORDS = [
  '-A', '-I', '-D', '-N', '-X', '-F', '-P', '-t', 'nat', 'filter', 'raw', 'mangle', 'INPUT', 'FORWARD', 'POSTROUTING',
  'PREROUTING', 'x', '-j', '-g', 'ACCEPT', 'DROP', 'SNAT', 'DNAT', 'MASQUERADE', 'MARK', 'CT', 'RETURN', '-m', 'tcp', 'mark',
  'conntrack', 'comment', '--ctstate', 'NEW,DNAT', '--mark', '0x1/0xff', '--to-source', '1.2.3.4:1-2', '-p', 'udp', '!',
  '-s', '10.0.0.0/8', '-i', 'qr-+', '--dport', '80:90', '--comment', '"a b"', '*nat', ':x', '-', '[0:0]', 'COMMIT',
  '--set-xmark', '--notrack', '-o', 'eth0', '--random-fully', '1', '"', "'",
];

test('arbitrary configuration text is either loaded or rejected with NfSyntaxError', () => {
  fc.assert(fc.property(fc.array(fc.array(fc.constantFrom(...WORDS), { maxLength: 12 }), { maxLength: 5 }), (lines) => {
    const nf = new Netfilter();
    try {
      nf.load(lines.map((l) => l.join(' ')).join('\n'));
    } catch (e) {
      assert.ok(e instanceof NfSyntaxError, `unexpected ${String(e)}`);
      assert.ok(e.line >= 1 && e.column >= 1);
    }
  }), { numRuns: 3000 });
});
