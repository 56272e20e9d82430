// Input routing decisions (ip_route_input_slow), the ICMP each failure
// becomes, the reverse-path filter, the forward checks, and output routing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { formatIp4, parseIp4 } from '../../src/netns/addr.js';
import { decreaseTtl, forwardCheck, icmpErrorTos } from '../../src/netns/forward.js';
import { runCommands } from '../../src/netns/ip-text.js';
import { Netns } from '../../src/netns/netns.js';
import { routeInput, type InputPacket } from '../../src/netns/route-input.js';
import { icmpErrorRoute, routeOutput } from '../../src/netns/route-output.js';

const ip = (s: string) => parseIp4(s)!;

/** A router: eth0 10.0.0.1/24 (LAN), eth1 10.1.0.1/24 (uplink, default via 10.1.0.254). */
function router(forward = true): Netns {
  const n = new Netns();
  n.addLink({ name: 'eth0', kind: 'ether', mac: 1, up: true });
  n.addLink({ name: 'eth1', kind: 'ether', mac: 2, up: true });
  runCommands(
    n,
    `ip addr add 10.0.0.1/24 brd + dev eth0
     ip addr add 10.1.0.1/24 brd + dev eth1
     ip route add default via 10.1.0.254`,
  );
  if (forward) n.setSysctl('net.ipv4.ip_forward', 1);
  return n;
}

const pkt = (src: string, dst: string, iif: number, extra: Partial<InputPacket> = {}): InputPacket => ({ src: ip(src), dst: ip(dst), iif, tos: 0, ...extra });

test('forward, local, broadcast', () => {
  const n = router();
  const f = routeInput(n, pkt('10.0.0.7', '8.8.8.8', 2));
  assert.ok(f.kind === 'forward' && f.oif === 3 && formatIp4(f.nexthop) === '10.1.0.254' && !f.redirect);
  assert.equal(routeInput(n, pkt('10.0.0.7', '10.0.0.1', 2)).kind, 'local');
  assert.equal(routeInput(n, pkt('10.0.0.7', '10.1.0.1', 2)).kind, 'local', 'weak host model: any local address');
  assert.equal(routeInput(n, pkt('10.0.0.7', '10.0.0.255', 2)).kind, 'broadcast');
  assert.equal(routeInput(n, pkt('10.0.0.7', '255.255.255.255', 2)).kind, 'broadcast');
  assert.equal(routeInput(n, pkt('0.0.0.0', '255.255.255.255', 2)).kind, 'broadcast', 'DHCP discover');
});

test('martians', () => {
  const n = router();
  for (const [s, d, reason] of [
    ['224.0.0.1', '10.0.0.1', 'martian_source'],
    ['255.255.255.255', '10.0.0.1', 'martian_source'],
    ['0.0.0.0', '10.0.0.1', 'martian_source'],
    ['10.0.0.7', '0.0.0.1', 'martian_destination'],
    ['10.0.0.7', '127.0.0.1', 'martian_destination'],
    ['127.0.0.1', '10.0.0.1', 'martian_source'],
  ] as const) {
    assert.deepEqual(routeInput(n, pkt(s, d, 2)), { kind: 'drop', reason }, `${s} -> ${d}`);
  }
  // One of our own addresses as the source of a packet from outside.
  assert.deepEqual(routeInput(n, pkt('10.1.0.1', '8.8.8.8', 2)), { kind: 'drop', reason: 'ip_invalid_source' });
  n.setSysctl('net.ipv4.conf.eth0.accept_local', 1);
  assert.equal(routeInput(n, pkt('10.1.0.1', '8.8.8.8', 2)).kind, 'forward');
});

test('lookup failures: net unreachable, host unreachable, admin prohibited, blackhole silent', () => {
  const n = new Netns();
  n.addLink({ name: 'eth0', kind: 'ether', mac: 1, up: true });
  runCommands(
    n,
    `sysctl -w net.ipv4.ip_forward=1
     ip addr add 10.0.0.1/24 dev eth0
     ip route add unreachable 192.0.2.0/24
     ip route add prohibit 198.51.100.0/24
     ip route add blackhole 203.0.113.0/24
     ip rule add to 100.64.0.0/10 prohibit priority 10`,
  );
  const d = (dst: string) => {
    const r = routeInput(n, pkt('10.0.0.7', dst, 2));
    return r.kind === 'unreachable' ? `${r.errno}:${r.icmpCode ?? '-'}` : r.kind;
  };
  assert.equal(d('8.8.8.8'), 'ENETUNREACH:0');
  assert.equal(d('192.0.2.1'), 'EHOSTUNREACH:1');
  assert.equal(d('198.51.100.1'), 'EACCES:13');
  assert.equal(d('203.0.113.1'), 'EINVAL:-');
  assert.equal(d('100.64.0.1'), 'EACCES:13');
  // With forwarding off nothing is forwarded and no ICMP error is sent (ip_error).
  n.setSysctl('net.ipv4.ip_forward', 0);
  n.addLink({ name: 'eth1', kind: 'ether', mac: 2, up: true });
  runCommands(n, 'ip addr add 10.1.0.1/24 dev eth1\nip route add default via 10.1.0.254');
  assert.equal(d('8.8.8.8'), 'EHOSTUNREACH:-');
  assert.equal(d('192.0.2.1'), 'EHOSTUNREACH:-');
  assert.equal(d('10.0.0.1'), 'local');
});

test('rp_filter: strict drops a source routed out another interface, loose only unroutable ones', () => {
  const n = router();
  n.setSysctl('net.ipv4.conf.all.rp_filter', 1);
  // 192.0.2.9 is reachable only via the default route on eth1: arriving on eth0 fails strict mode.
  assert.deepEqual(routeInput(n, pkt('192.0.2.9', '10.1.0.50', 2)), { kind: 'drop', reason: 'ip_rpfilter' });
  assert.equal(routeInput(n, pkt('192.0.2.9', '10.0.0.50', 3)).kind, 'forward');
  assert.deepEqual(routeInput(n, pkt('192.0.2.9', '10.1.0.1', 2)), { kind: 'drop', reason: 'martian_source' }, 'to us as well');
  n.setSysctl('net.ipv4.conf.all.rp_filter', 2);
  assert.equal(routeInput(n, pkt('192.0.2.9', '10.1.0.50', 2)).kind, 'forward');
  runCommands(n, 'ip route del default');
  assert.deepEqual(routeInput(n, pkt('192.0.2.9', '10.1.0.50', 2)), { kind: 'drop', reason: 'ip_rpfilter' });
});

test('a hairpin to an on-link gateway asks for a redirect unless send_redirects is off on all and the device', () => {
  const n = router();
  runCommands(n, 'ip route add 192.0.2.0/24 via 10.0.0.9');
  const r = routeInput(n, pkt('10.0.0.7', '192.0.2.1', 2));
  assert.ok(r.kind === 'forward' && r.redirect);
  n.setSysctl('net.ipv4.conf.all.send_redirects', 0);
  assert.ok(r.kind === 'forward' && (routeInput(n, pkt('10.0.0.7', '192.0.2.1', 2)) as typeof r).redirect, 'device still on');
  n.setSysctl('net.ipv4.conf.eth0.send_redirects', 0);
  assert.equal((routeInput(n, pkt('10.0.0.7', '192.0.2.1', 2)) as typeof r).redirect, false);
});

test('forward checks: TTL first, then DF against the route MTU; no DF means fragment', () => {
  assert.deepEqual(forwardCheck({ ttl: 1, totalLength: 9000, df: true }, 1500), { ok: false, reason: 'ttl_exceeded', icmp: { type: 11, code: 0 } });
  assert.deepEqual(forwardCheck({ ttl: 64, totalLength: 1501, df: true }, 1500), { ok: false, reason: 'mtu_exceeded', icmp: { type: 3, code: 4, mtu: 1500 } });
  assert.deepEqual(forwardCheck({ ttl: 64, totalLength: 1501, df: false }, 1500), { ok: true, fragment: true });
  assert.deepEqual(forwardCheck({ ttl: 2, totalLength: 1500, df: true }, 1500), { ok: true, fragment: false });
  const n = router();
  runCommands(n, 'ip route add 192.0.2.0/24 via 10.1.0.254 mtu 1400');
  const r = routeInput(n, pkt('10.0.0.7', '192.0.2.1', 2));
  assert.ok(r.kind === 'forward' && r.mtu === 1400);
  assert.equal(icmpErrorTos(0x10), 0xd0);
});

test('property: the TTL decrement keeps a valid header checksum, as recomputing would', () => {
  const sum = (b: Uint8Array) => {
    let s = 0;
    for (let i = 0; i < 20; i += 2) s += (b[i]! << 8) | b[i + 1]!;
    while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
    return s;
  };
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 20, maxLength: 20 }), fc.integer({ min: 2, max: 255 }), (h, ttl) => {
      h[0] = 0x45;
      h[8] = ttl;
      h[10] = 0;
      h[11] = 0;
      const c = ~sum(h) & 0xffff;
      h[10] = c >>> 8;
      h[11] = c & 0xff;
      decreaseTtl(h, 0);
      assert.equal(h[8], ttl - 1);
      assert.equal(sum(h), 0xffff);
    }),
    { numRuns: 2000 },
  );
  // The edge the kernel's x86 arithmetic decides: a sum of 0xffff is stored as 0x0000.
  const h = new Uint8Array(20);
  h[10] = 0xfe;
  h[11] = 0xff;
  h[8] = 10;
  decreaseTtl(h, 0);
  assert.deepEqual([h[10], h[11]], [0x00, 0x00]);
});

test('output routing picks the source: route src, else the address facing the nexthop', () => {
  const n = router();
  runCommands(n, 'ip addr add 10.1.0.9/32 dev eth1\nip route add 192.0.2.0/24 via 10.1.0.254 src 10.1.0.9');
  const o = (dst: string, src?: string) => {
    const r = routeOutput(n, src ? { dst: ip(dst), src: ip(src) } : { dst: ip(dst) });
    return r.kind === 'error' ? r.errno : `${r.kind} ${formatIp4(r.src)} ${formatIp4(r.nexthop)} ${r.oif}`;
  };
  assert.equal(o('8.8.8.8'), 'unicast 10.1.0.1 10.1.0.254 3');
  assert.equal(o('192.0.2.5'), 'unicast 10.1.0.9 10.1.0.254 3');
  assert.equal(o('10.0.0.7'), 'unicast 10.0.0.1 10.0.0.7 2');
  assert.equal(o('10.1.0.1'), 'local 10.1.0.1 10.1.0.1 1');
  assert.equal(o('8.8.8.8', '10.0.0.1'), 'unicast 10.0.0.1 10.1.0.254 3');
  assert.equal(o('8.8.8.8', '10.9.9.9'), 'ENETUNREACH', 'not a local address');
  runCommands(n, 'ip route del default');
  assert.equal(o('8.8.8.8'), 'ENETUNREACH');
});

test('ICMP errors: the destination for packets to us; otherwise the route back decides, or the inbound interface', () => {
  const n = router();
  const src = (p: Parameters<typeof icmpErrorRoute>[1]) => {
    const r = icmpErrorRoute(n, p);
    return r.kind === 'error' ? r.errno : formatIp4(r.src);
  };
  // Port unreachable from 10.1.0.1 for a packet that arrived on eth0 addressed to it.
  assert.equal(src({ src: ip('10.0.0.7'), dst: ip('10.1.0.1'), tos: 0, iif: 2, local: true }), '10.1.0.1');
  // Time exceeded for a forwarded packet from beyond the uplink, arriving on eth0 (asymmetric).
  assert.equal(src({ src: ip('192.0.2.7'), dst: ip('10.1.0.50'), tos: 0, iif: 2, local: false }), '10.1.0.1');
  n.setSysctl('net.ipv4.icmp_errors_use_inbound_ifaddr', 1);
  assert.equal(src({ src: ip('192.0.2.7'), dst: ip('10.1.0.50'), tos: 0, iif: 2, local: false }), '10.0.0.1');
});

test('multicast is delivered only for joined groups (224.0.0.1 always), never routed or answered with ICMP', () => {
  const n = router();
  assert.deepEqual(routeInput(n, pkt('10.0.0.7', '224.0.0.1', 2)), { kind: 'broadcast', multicast: true });
  assert.deepEqual(routeInput(n, pkt('10.0.0.7', '224.0.0.5', 2)), { kind: 'drop', reason: 'mc_not_joined' });
  n.link('eth0')!.mcGroups = new Set([ip('224.0.0.5')]);
  assert.deepEqual(routeInput(n, pkt('10.0.0.7', '224.0.0.5', 2)), { kind: 'broadcast', multicast: true }, 'ospfd joined AllSPFRouters');
});
