// ping -6's socket in a namespace element (src/netns/ping6-socket.ts): the
// echo request to an unknown link-local neighbour waits for neighbour
// discovery (the solicitation goes first), leaves with -t's hop limit,
// -Q's class and the checksum over the pseudo-header, and the neighbour's
// reply reaches the socket with its device; the device without a scope is
// the first configured one's; ping's refusals (getaddrinfo's, -I's, no
// route) as the real ping prints them (test/e2e/control-ping6.test.ts);
// the ICMPv6 errors about its requests that reach its socket.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Engine } from '../../src/datapath/engine.js';
import { ManualClock } from '../../src/datapath/clock.js';
import { NetNamespace } from '../../src/netns/namespace.js';
import { parseIpv4, parseIpv6, parseMacNum } from '../../src/wire/addr.js';
import { icmpv6ChecksumOk, icmpv6SetChecksum } from '../../src/wire/icmpv6.js';
import { PingError, type PingItem } from '../../src/netns/ping-socket.js';
import { runCommand } from '../../src/netns/ip-text.js';
import { icmp6Text } from '../../src/cli/ping-stats.js';
import { CaptureSink } from '../helpers/sink.js';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const QR_LL = parseIpv6('fe80::f816:3eff:fe06:d87b')!, HOST_LL = parseIpv6('fe80::f816:3eff:feb2:efaf')!;

function router() {
  const clock = new ManualClock(0);
  const e = new Engine({ clock });
  const r = e.add(new NetNamespace('lab', 'r'));
  const p1 = r.addInterface('qr-1', { mac: parseMacNum('fa:16:3e:06:d8:7b')!, kind: 'internal', addresses: [{ ip: parseIpv4('192.168.1.1')!, prefixLen: 24 }] });
  const p2 = r.addInterface('qr-2', { mac: parseMacNum('fa:16:3e:06:d8:7c')!, kind: 'internal', addresses: [{ ip: parseIpv4('192.168.2.1')!, prefixLen: 24 }] });
  const wire = new CaptureSink(), wire2 = new CaptureSink();
  e.attachEdge(p1, wire);
  e.attachEdge(p2, wire2);
  const send = (f: Uint8Array, p = p1) => {
    e.inject(e.pool.allocFrom(f)!, p);
    e.run();
  };
  const items: PingItem[] = [];
  const open = (o: Parameters<NetNamespace['inet6']['openPing']>[0]) => r.inet6.openPing(o, (i) => items.push(i));
  const ping = (s: ReturnType<typeof open>['sock'], seq: number, size = 20) => {
    r.inet6.pingSend(s, seq, size);
    e.run();
  };
  /** `ms` later: the timers due run. */
  const wait = (ms: number) => {
    clock.advance(ms);
    e.tick();
  };
  return { r, send, wire, wire2, items, open, ping, wait };
}

/** The host's solicited NA for its link-local (override, its link-layer address). */
const NA = hex(`fa16 3e06 d87b fa16 3eb2 efaf 86dd 6000 0000 0020 3aff fe80 0000 0000 0000 f816
  3eff feb2 efaf fe80 0000 0000 0000 f816 3eff fe06 d87b 8800 0000 6000 0000 fe80
  0000 0000 0000 f816 3eff feb2 efaf 0201 fa16 3eb2 efaf`);
icmpv6SetChecksum(NA, 14, 54, 32);

/** The host's answer to echo request frame `req`: addresses swapped, type 129, hop limit 64, its checksum; `ident` to use instead. */
function replyTo(req: Uint8Array, ident?: number): Uint8Array {
  const f = Uint8Array.from(req);
  f.set(req.subarray(6, 12), 0);
  f.set(req.subarray(0, 6), 6);
  f.set(req.subarray(38, 54), 22);
  f.set(req.subarray(22, 38), 38);
  f[21] = 64;
  f[54] = 129;
  if (ident !== undefined) f.set([ident >> 8, ident & 0xff], 58);
  icmpv6SetChecksum(f, 14, 54, f.length - 54);
  return f;
}

test('ping -6 to an unknown link-local neighbour: the solicitation first, the echo request (hop limit, class, checksum) once the advertisement comes, the reply to the socket', () => {
  const { send, wire, items, open, ping } = router();
  const { sock, source, scope } = open({ dst: HOST_LL, scope: 'qr-1', ttl: 7, tclass: 0x28 });
  assert.deepEqual([source, scope], ['::', 'qr-1'], 'unconnected: ping prints ::');
  ping(sock, 1);
  const ns = wire.take();
  assert.equal(ns.length, 1, 'only the solicitation: the request waits');
  assert.equal(toHex(ns[0]!.subarray(0, 14)), '3333ffb2efaffa163e06d87b86dd');
  assert.equal(ns[0]![54], 135);
  assert.equal(toHex(ns[0]!.subarray(62, 78)), toHex(HOST_LL));
  send(NA);
  const [req] = wire.take();
  assert.ok(req, 'the request, once resolved');
  assert.equal(toHex(req.subarray(0, 14)), 'fa163eb2efaffa163e06d87b86dd');
  assert.equal(req[14]! >> 4, 6);
  assert.equal(((req[14]! & 15) << 4) | (req[15]! >> 4), 0x28, 'traffic class');
  assert.notEqual(((req[15]! & 15) << 16) | (req[16]! << 8) | req[17]!, 0, 'a flow label');
  assert.deepEqual([(req[18]! << 8) | req[19]!, req[20], req[21]], [28, 58, 7], 'payload length, ICMPv6, -t');
  assert.equal(toHex(req.subarray(22, 54)), toHex(QR_LL) + toHex(HOST_LL));
  assert.deepEqual([req[54], req[55], (req[58]! << 8) | req[59]!, (req[60]! << 8) | req[61]!], [128, 0, sock.ident, 1]);
  assert.ok(icmpv6ChecksumOk(req, 14, 54, 28), 'checksum over the pseudo-header');
  assert.deepEqual([...req.subarray(54 + 8 + 16, 54 + 28)], [16, 17, 18, 19], 'data after the timeval counts up');
  send(replyTo(req, (sock.ident + 1) & 0xffff));
  assert.equal(items.length, 0, 'another identifier: not ping\'s');
  send(replyTo(req));
  assert.equal(items.length, 1);
  const r = items[0]!;
  assert.ok(r.kind === 'reply');
  assert.equal(r.dev, 'qr-1');
  assert.equal(r.data.length, 40 + 28);
  assert.deepEqual([r.data[7], r.data[40]], [64, 129], 'hop limit, echo reply');
  assert.equal(toHex(r.data.subarray(8, 24)), toHex(HOST_LL));
  // Known now: the next request goes at once.
  ping(sock, 2);
  assert.equal(wire.take()[0]![54], 128);
});

test('ping -6 to a link-local neighbour that never answers: three solicitations a second apart, then FAILED and each waiting request\'s address unreachable, as the kernel sends them', () => {
  const { r, wire, items, open, ping, wait } = router();
  const ip = (args: string) => runCommand(r.ns, `ip ${args}`);
  const { sock } = open({ dst: HOST_LL, scope: 'qr-1' });
  const solicits = () => wire.take().filter((f) => f[54] === 135 && toHex(f.subarray(62, 78)) === toHex(HOST_LL)).length;
  // A real namespace pinging fe80::1 over a veth whose peer has IPv6 off (ping -6 -c 6, once a second):
  // the entry INCOMPLETE, one multicast NS at once and one each retrans_time (1 s) until mcast_solicit (3).
  ping(sock, 1);
  assert.equal(solicits(), 1, 'the first solicitation at once');
  assert.equal(ip('-6 neigh'), 'fe80::f816:3eff:feb2:efaf dev qr-1 INCOMPLETE \n');
  wait(999);
  assert.equal(solicits(), 0, 'none before retrans_time');
  wait(1);
  ping(sock, 2);
  assert.equal(solicits(), 1, 'the second from the timer; the waiting request sends none');
  wait(1000);
  ping(sock, 3);
  assert.equal(solicits(), 1, 'the third');
  assert.equal(items.length, 0);
  wait(1000);
  assert.equal(solicits(), 0, 'mcast_solicit reached: no fourth');
  assert.equal(ip('-6 neigh'), 'fe80::f816:3eff:feb2:efaf dev qr-1 FAILED \n');
  // ndisc_error_report: an address unreachable from its own link-local (over lo) for each queued request, in order.
  assert.deepEqual(items.map((i) => (i.kind === 'error' ? [i.seq, i.from6, i.type, i.code] : i.kind)), [1, 2, 3].map((seq) => [seq, 'fe80::f816:3eff:fe06:d87b%qr-1', 1, 3]));
  assert.equal(wire.take().length, 0, 'the requests dropped, never sent');
  // The next request starts over: INCOMPLETE, a solicitation at once.
  ping(sock, 4);
  assert.equal(solicits(), 1);
  assert.equal(ip('-6 neigh'), 'fe80::f816:3eff:feb2:efaf dev qr-1 INCOMPLETE \n');
});

test('an IPv6 neighbour that answers the second solicitation: the requests that waited go out in order, and no more solicitations', () => {
  const { send, wire, items, open, ping, wait } = router();
  const { sock } = open({ dst: HOST_LL, scope: 'qr-1' });
  ping(sock, 1);
  wait(1000);
  ping(sock, 2);
  assert.equal(wire.take().filter((f) => f[54] === 135).length, 2);
  send(NA);
  assert.deepEqual(wire.take().map((f) => [f[54], (f[60]! << 8) | f[61]!]), [[128, 1], [128, 2]]);
  wait(5000);
  assert.equal(wire.take().length, 0, 'no timer left');
  assert.equal(items.length, 0);
});

test('ping -6 without a scope leaves by the first configured device; -I reads only its device; its own link-local and ::1 answer at once', () => {
  const { r, send, wire, wire2, items, open, ping } = router();
  const plain = open({ dst: HOST_LL });
  ping(plain.sock, 1);
  assert.equal(wire.take().length, 1, 'qr-1\'s solicitation');
  assert.equal(wire2.take().length, 0);
  // Bound to qr-2: the reply that comes in at qr-1 is not read.
  const bound = open({ dst: HOST_LL, device: 'qr-2', ident: plain.sock.ident });
  send(NA);
  const [req] = wire.take();
  send(replyTo(req!));
  assert.deepEqual(items.map((i) => i.kind === 'reply' && i.dev), ['qr-1'], 'the unbound socket only');
  r.inet6.closePing(plain.sock);
  r.inet6.closePing(bound.sock);
  items.length = 0;
  const own = open({ dst: QR_LL, scope: 'qr-1' });
  ping(own.sock, 1);
  assert.equal(wire.take().length, 0, 'looped back');
  assert.ok(items[0]?.kind === 'reply' && toHex(items[0].data.subarray(8, 24)) === toHex(QR_LL) && items[0].dev === 'qr-1');
  r.setLinkUp('lo', true);
  const lo = open({ dst: parseIpv6('::1')! });
  assert.equal(lo.source, '::1', 'connected: the probe\'s source');
  ping(lo.sock, 1);
  assert.equal(items.length, 2);
});

test('ping -6 to an address `ip -6 addr add` gave the namespace answers at once from it; the link-local stays the source toward a link-local', () => {
  const { r, wire, items, open, ping } = router();
  runCommand(r.ns, '-6 addr add 2001:db8:1::1/64 dev qr-1');
  const G = parseIpv6('2001:db8:1::1')!;
  const own = open({ dst: G });
  assert.equal(own.source, '2001:db8:1::1', 'connected: the probe\'s source');
  ping(own.sock, 1);
  assert.equal(wire.take().length, 0, 'looped back');
  assert.ok(items[0]?.kind === 'reply' && toHex(items[0].data.subarray(8, 24)) === toHex(G), 'from the address itself');
  // The global address lists first on qr-1: the solicitation for a link-local still comes from the link-local.
  const ll = open({ dst: HOST_LL, scope: 'qr-1' });
  ping(ll.sock, 1);
  const [ns] = wire.take();
  assert.equal(toHex(ns!.subarray(22, 38)), toHex(QR_LL));
});

test('ping -6 refusals: an unknown scope or -I device, no route but on-link, multicast; a scope index naming no device, or another than -I\'s, fails its sends', () => {
  const { items, open, ping } = router();
  const refused = (o: Parameters<typeof open>[0]) => {
    try {
      open(o);
    } catch (e) {
      assert.ok(e instanceof PingError);
      return e.message;
    }
    return 'opened';
  };
  assert.equal(refused({ dst: HOST_LL, scope: 'nosuch' }), 'Name or service not known');
  assert.equal(refused({ dst: HOST_LL, device: 'nosuch' }), 'unknown iface: nosuch');
  assert.equal(refused({ dst: parseIpv6('2001:db8::1')! }), 'connect: Network is unreachable');
  assert.equal(refused({ dst: parseIpv6('2001:db8::1')!, device: 'qr-1' }), 'connect: Network is unreachable');
  assert.match(refused({ dst: parseIpv6('ff02::1')!, scope: 'qr-1' }), /multicast ping is not emulated/);
  const { sock, scope } = open({ dst: HOST_LL, scope: '99' });
  assert.equal(scope, '99');
  ping(sock, 1);
  // -I and a scope naming two devices: each send fails (EINVAL), as the real ping's do, silently.
  const both = open({ dst: HOST_LL, scope: 'qr-1', device: 'qr-2' });
  ping(both.sock, 1);
  assert.deepEqual(items, [{ kind: 'senderr', seq: 1, message: 'No such device' }, { kind: 'senderr', seq: 1, message: 'Invalid argument' }]);
});

test('ping -6 names ICMPv6 messages as iputils 20221126 print_icmp does', () => {
  const cases: Array<[number, number, number, string]> = [
    [1, 0, 0, 'Destination unreachable: No route'],
    [1, 1, 0, 'Destination unreachable: Administratively prohibited'],
    [1, 2, 0, 'Destination unreachable: Beyond scope of source address'],
    [1, 3, 0, 'Destination unreachable: Address unreachable'],
    [1, 4, 0, 'Destination unreachable: Port unreachable'],
    // 20221126 has no names for RFC 4443's 5 (policy) and 6 (reject route), nor 7.
    [1, 5, 0, 'Destination unreachable: Unknown code 5'],
    [1, 6, 0, 'Destination unreachable: Unknown code 6'],
    [1, 7, 0, 'Destination unreachable: Unknown code 7'],
    [2, 0, 1280, 'Packet too big: mtu=1280'],
    [2, 3, 1400, 'Packet too big: mtu=1400, code=3'],
    [3, 0, 0, 'Time exceeded: Hop limit'],
    [3, 1, 0, 'Time exceeded: Defragmentation failure'],
    [3, 2, 0, 'Time exceeded: code 2'],
    [4, 0, 40, 'Parameter problem: Wrong header field at 40'],
    [4, 1, 6, 'Parameter problem: Unknown header at 6'],
    [4, 2, 42, 'Parameter problem: Unknown option at 42'],
    [4, 9, 7, 'Parameter problem: code 9 at 7'],
    [128, 0, 0, 'Echo request'],
    [129, 0, 0, 'Echo reply'],
    [130, 0, 0, 'MLD Query'],
    [131, 0, 0, 'MLD Report'],
    [132, 0, 0, 'MLD Reduction'],
    [137, 0, 0, 'unknown icmp type: 137'],
  ];
  for (const [type, code, info, text] of cases) assert.equal(icmp6Text(type, code, info), text, `type ${type} code ${code}`);
});

// A kernel namespace as the router (qr-1's MAC, forwarding on, `ip -6 addr add 2001:db8:7::1/64 dev qr-1 nodad`) pinging the
// host (2001:db8:7::5/64 nodad) with `ping -6 2001:db8:7::5`: its solicitation, from the global address (Linux 6.18).
const G_NS = hex(`3333 ff00 0005 fa16 3e06 d87b 86dd 6000 0000 0020 3aff 2001 0db8 0007 0000 0000
  0000 0000 0001 ff02 0000 0000 0000 0000 0001 ff00 0005 8700 0d7b 0000 0000 2001
  0db8 0007 0000 0000 0000 0000 0005 0101 fa16 3e06 d87b`);
// The host's answer.
const G_NA = hex(`fa16 3e06 d87b fa16 3eb2 efaf 86dd 6000 0000 0020 3aff 2001 0db8 0007 0000 0000
  0000 0000 0005 2001 0db8 0007 0000 0000 0000 0000 0001 8800 63df 6000 0000 2001
  0db8 0007 0000 0000 0000 0000 0005 0201 fa16 3eb2 efaf`);

test('ping -6 to an on-link global address: the solicitation from the global source, as the kernel\'s; the request once answered, the reply to the socket', () => {
  const { r, send, wire, items, open, ping } = router();
  runCommand(r.ns, '-6 addr add 2001:db8:7::1/64 dev qr-1 nodad');
  const H = parseIpv6('2001:db8:7::5')!;
  const { sock, source } = open({ dst: H });
  assert.equal(source, '2001:db8:7::1', 'connected: ipv6_dev_get_saddr\'s source');
  ping(sock, 1, 56);
  assert.deepEqual(wire.take().map(toHex), [toHex(G_NS)]);
  send(G_NA);
  const [req] = wire.take();
  assert.ok(req);
  // The kernel's request but for its flow label and data: to the host's MAC, hop limit 64, from the global address.
  assert.equal(toHex(req.subarray(0, 15)), 'fa163eb2efaffa163e06d87b86dd60');
  assert.equal(toHex(req.subarray(18, 54)), '00403a40' + '20010db8000700000000000000000001' + '20010db8000700000000000000000005');
  assert.ok(icmpv6ChecksumOk(req, 14, 54, 64));
  send(replyTo(req));
  assert.ok(items[0]?.kind === 'reply' && toHex(items[0].data.subarray(8, 24)) === toHex(H));
  assert.equal(runCommand(r.ns, 'ip -6 neigh'), '2001:db8:7::5 dev qr-1 lladdr fa:16:3e:b2:ef:af REACHABLE \n');
});

test('ping -6 via a gateway route: the gateway solicited, the request to its MAC; -I another device: unreachable; no answer: address unreachable from the global source, unscoped', () => {
  const { r, send, wire, wire2, items, open, ping, wait } = router();
  runCommand(r.ns, '-6 addr add 2001:db8:7::1/64 dev qr-1 nodad');
  runCommand(r.ns, '-6 route add 2001:db8:50::/64 via 2001:db8:7::5');
  const D = parseIpv6('2001:db8:50::9')!;
  const { sock, source } = open({ dst: D });
  assert.equal(source, '2001:db8:7::1');
  ping(sock, 1, 20);
  assert.deepEqual(wire.take().map(toHex), [toHex(G_NS)], 'the gateway\'s solicitation');
  send(G_NA);
  const [req] = wire.take();
  assert.equal(toHex(req!.subarray(0, 6)), 'fa163eb2efaf');
  assert.equal(toHex(req!.subarray(22, 54)), '20010db8000700000000000000000001' + '20010db8005000000000000000000009');
  assert.equal(wire2.take().length, 0);
  assert.throws(() => open({ dst: D, device: 'qr-2' }), { message: 'connect: Network is unreachable' });
  // A host on the prefix that never answers (the kernel's ping: `From 2001:db8:7::1 icmp_seq=1 Destination unreachable: Address unreachable`).
  r.setLinkUp('lo', true);
  const gone = open({ dst: parseIpv6('2001:db8:7::77')! });
  ping(gone.sock, 1);
  assert.equal(toHex(wire.take()[0]!.subarray(22, 38)), '20010db8000700000000000000000001', 'solicited from the global source');
  wait(3000);
  assert.deepEqual(items.filter((i) => i.kind === 'error').map((i) => i.kind === 'error' && [i.seq, i.from6]), [[1, '2001:db8:7::1']]);
});

/** An ICMPv6 error (type, code, its 32 bits `info`) from the host about echo request frame `req`, quoted whole. */
function errorAbout(req: Uint8Array, type: number, code: number, info = 0): Uint8Array {
  const q = req.subarray(14), f = new Uint8Array(14 + 40 + 8 + q.length);
  f.set(req.subarray(6, 12), 0);
  f.set(req.subarray(0, 6), 6);
  f.set([0x86, 0xdd, 0x60, 0, 0, 0, (8 + q.length) >> 8, (8 + q.length) & 0xff, 58, 64], 12);
  f.set(HOST_LL, 22);
  f.set(QR_LL, 38);
  f.set([type, code, 0, 0, info >>> 24, (info >> 16) & 0xff, (info >> 8) & 0xff, info & 0xff], 54);
  f.set(q, 62);
  icmpv6SetChecksum(f, 14, 54, 8 + q.length);
  return f;
}

test('ICMPv6 errors about ping -6\'s echo requests reach its socket (raw6_icmp_error): its identifier and target only, a bound socket only from its device; the sender with its scope, a packet too big\'s MTU', () => {
  const { send, wire, items, open, ping } = router();
  const { sock } = open({ dst: HOST_LL, scope: 'qr-1' });
  // The same identifier bound to the other device, or to another target: ping leaves their errors alone.
  open({ dst: HOST_LL, device: 'qr-2', ident: sock.ident });
  open({ dst: parseIpv6('fe80::99')!, scope: 'qr-1', ident: sock.ident });
  ping(sock, 1);
  assert.equal(wire.take().length, 1, 'the solicitation');
  send(NA);
  const [req] = wire.take();
  assert.equal(req?.[54], 128);
  send(errorAbout(req!, 3, 0));
  send(errorAbout(req!, 2, 0, 1280));
  const other = Uint8Array.from(req!);
  other[59] ^= 1; // another identifier
  send(errorAbout(other, 3, 0));
  const from6 = 'fe80::f816:3eff:feb2:efaf%qr-1';
  assert.deepEqual(
    items.map((i) => i.kind === 'error' && [i.from6, i.type, i.code, i.info, i.seq]),
    [
      [from6, 3, 0, 0, 1],
      [from6, 2, 0, 1280, 1],
    ],
  );
  assert.equal(icmp6Text(3, 0, 0), 'Time exceeded: Hop limit');
});
