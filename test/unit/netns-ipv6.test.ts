// IPv6 in a namespace element: the link-locals addrconf gives its devices
// (and ::1), the routes they bring, and the answers to neighbour
// solicitations and echo requests, byte for byte as Linux 6.18 sent them
// (a kernel namespace with net.ipv6.conf.all.forwarding=1 whose veth has
// the qr- port's MAC, pinged by `ping -6 -Q 0x28 -s 20 fe80::...%dev` from
// another namespace; tcpdump -xx on the router's veth).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Engine } from '../../src/datapath/engine.js';
import { ManualClock } from '../../src/datapath/clock.js';
import { NetNamespace } from '../../src/netns/namespace.js';
import { parseIpv4, parseMacNum } from '../../src/wire/addr.js';
import { runCommand } from '../../src/netns/ip-text.js';
import { icmpv6SetChecksum } from '../../src/wire/icmpv6.js';
import { learnedRecords } from '../../src/datapath/learned-journal.js';
import { CaptureSink } from '../helpers/sink.js';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

// The host's NS for the router's link-local (to its solicited-node group, with its link-layer address).
const NS = hex(`3333 ff06 d87b fa16 3eb2 efaf 86dd 6000 0000 0020 3aff fe80 0000 0000 0000 f816
  3eff feb2 efaf ff02 0000 0000 0000 0000 0001 ff06 d87b 8700 4890 0000 0000 fe80
  0000 0000 0000 f816 3eff fe06 d87b 0101 fa16 3eb2 efaf`);
// The kernel's NA: router, solicited, override; its target link-layer address.
const NA = hex(`fa16 3eb2 efaf fa16 3e06 d87b 86dd 6000 0000 0020 3aff fe80 0000 0000 0000 f816
  3eff fe06 d87b fe80 0000 0000 0000 f816 3eff feb2 efaf 8800 48dc e000 0000 fe80
  0000 0000 0000 f816 3eff fe06 d87b 0201 fa16 3e06 d87b`);
// The echo request (class 0x28, flow label 0x8522f) and the kernel's reply (class 0x28, its own label).
const ECHO = hex(`fa16 3e06 d87b fa16 3eb2 efaf 86dd 6288 522f 001c 3a40 fe80 0000 0000 0000 f816
  3eff feb2 efaf fe80 0000 0000 0000 f816 3eff fe06 d87b 8000 599a 3f08 0001 423a
  0c6b 0000 0000 4628 0000 0000 0000 1011 1213`);
const REPLY = hex(`fa16 3eb2 efaf fa16 3e06 d87b 86dd 628a c970 001c 3a40 fe80 0000 0000 0000 f816
  3eff fe06 d87b fe80 0000 0000 0000 f816 3eff feb2 efaf 8100 589a 3f08 0001 423a
  0c6b 0000 0000 4628 0000 0000 0000 1011 1213`);
// The host's router solicitation (from its link-local, with its link-layer address).
const RS = hex(`3333 0000 0002 fa16 3eb2 efaf 86dd 6000 0000 0010 3aff fe80 0000 0000 0000 f816
  3eff feb2 efaf ff02 0000 0000 0000 0000 0000 0000 0002 8500 2e3c 0000 0000 0101 fa16 3eb2 efaf`);

function router() {
  const clock = new ManualClock(0);
  const e = new Engine({ clock });
  const r = e.add(new NetNamespace('lab', 'r'));
  const p = r.addInterface('qr-1', { mac: parseMacNum('fa:16:3e:06:d8:7b')!, kind: 'internal', addresses: [{ ip: parseIpv4('192.168.1.1')!, prefixLen: 24 }] });
  const wire = new CaptureSink();
  e.attachEdge(p, wire);
  const send = (f: Uint8Array) => {
    e.inject(e.pool.allocFrom(f)!, p);
    e.run();
  };
  const ip = (args: string) => runCommand(r.ns, `ip ${args}`);
  /** `ms` of emulated time, a second at a time, the timers run after each. */
  const later = (ms: number) => {
    for (let t = 0; t < ms; t += 1000) {
      clock.advance(Math.min(1000, ms - t));
      e.tick();
    }
  };
  return { e, r, send, wire, ip, later };
}

/** The reply with its flow label (the kernel's hash of the flow, keyed per boot) taken out. */
const noLabel = (f: Uint8Array): string => {
  const c = Uint8Array.from(f);
  c[15]! &= 0xf0;
  c[16] = c[17] = 0;
  return toHex(c);
};

test('an UP device gets its EUI-64 link-local and lo ::1, with the kernel\'s routes; down or disable_ipv6 takes them', () => {
  const { r, ip } = router();
  assert.equal(ip('-6 addr'), `1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 state UNKNOWN qlen 1000
    inet6 ::1/128 scope host 
       valid_lft forever preferred_lft forever
2: qr-1: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 state UNKNOWN qlen 1000
    inet6 fe80::f816:3eff:fe06:d87b/64 scope link 
       valid_lft forever preferred_lft forever
`);
  assert.equal(ip('-4 addr show dev qr-1').includes('inet6'), false);
  assert.match(ip('addr show dev qr-1'), /scope global qr-1\n {7}valid_lft forever preferred_lft forever\n {4}inet6 fe80::f816:3eff:fe06:d87b\/64 scope link \n/);
  assert.equal(ip('-6 route show table all'), `fe80::/64 dev qr-1 proto kernel metric 256 pref medium
local ::1 dev lo table local proto kernel metric 0 pref medium
anycast fe80:: dev qr-1 table local proto kernel metric 0 pref medium
local fe80::f816:3eff:fe06:d87b dev qr-1 table local proto kernel metric 0 pref medium
multicast ff00::/8 dev qr-1 table local proto kernel metric 256 pref medium
`);
  // The carrier going keeps the address; its routes are then linkdown.
  r.ns.setCarrier('qr-1', false);
  assert.match(ip('-6 route'), /^fe80::\/64 dev qr-1 proto kernel metric 256 linkdown pref medium\n$/);
  r.ns.setLinkUp('qr-1', false);
  assert.equal(ip('-6 route'), '');
  r.ns.setCarrier('qr-1', true);
  r.ns.setLinkUp('qr-1', true);
  r.setSysctl('net.ipv6.conf.qr-1.disable_ipv6', 1);
  assert.equal(ip('-br -6 addr'), 'lo               UNKNOWN        ::1/128 \n');
  r.setSysctl('net.ipv6.conf.all.disable_ipv6', 0);
  assert.equal(ip('-br addr show dev qr-1'), 'qr-1             UNKNOWN        192.168.1.1/24 fe80::f816:3eff:fe06:d87b/64 \n');
});

// What Linux 6.18 answered in a kernel namespace (veths dpe-a..dpe-d, accept_dad 0; iproute2 6.1).
test('ip -6 route add: a device down or without IPv6 is refused; down, disable_ipv6 or gone takes its routes, a lost address or carrier does not', () => {
  const { r, ip } = router();
  ip('-6 addr add 2001:db8:1::1/64 dev qr-1');
  ip('-6 route add 2001:db8:5::/64 via 2001:db8:1::9 dev qr-1');
  ip('-6 route add 2001:db8:6::/64 via fe80::1 dev qr-1');
  // `ip -6 addr del` of the gateway's prefix keeps the route; so does the carrier going (linkdown).
  ip('-6 addr del 2001:db8:1::1/64 dev qr-1');
  r.ns.setCarrier('qr-1', false);
  assert.equal(ip('-6 route'), `2001:db8:5::/64 via 2001:db8:1::9 dev qr-1 metric 1024 linkdown pref medium
2001:db8:6::/64 via fe80::1 dev qr-1 metric 1024 linkdown pref medium
fe80::/64 dev qr-1 proto kernel metric 256 linkdown pref medium
`);
  r.ns.setCarrier('qr-1', true);
  r.ns.setLinkUp('qr-1', false);
  assert.equal(ip('-6 route'), '');
  assert.throws(() => ip('-6 route add 2001:db8:7::/64 dev qr-1'), { message: 'Error: Nexthop device is not up.' });
  r.ns.setLinkUp('qr-1', true);
  ip('-6 route add 2001:db8:7::/64 dev qr-1');
  r.setSysctl('net.ipv6.conf.qr-1.disable_ipv6', 1);
  assert.equal(ip('-6 route'), '');
  assert.throws(() => ip('-6 route add 2001:db8:7::/64 dev qr-1'), { message: 'Error: IPv6 is disabled on nexthop device.' });
  r.setSysctl('net.ipv6.conf.qr-1.disable_ipv6', 0);
  ip('-6 route add 2001:db8:7::/64 dev qr-1');
  r.ns.delLink('qr-1');
  assert.equal(ip('-6 route'), '');
});

test('a neighbour solicitation for its link-local: the kernel\'s advertisement, byte for byte; the echo request then: its reply', () => {
  const { e, r, send, wire, ip } = router();
  send(NS);
  assert.deepEqual(wire.take().map(toHex), [toHex(NA)]);
  // The requester's entry, as the kernel's `ip -6 neigh` shows it then: STALE from the NS, DELAY once the NA went out by it.
  assert.equal(ip('-6 neigh'), 'fe80::f816:3eff:feb2:efaf dev qr-1 lladdr fa:16:3e:b2:ef:af DELAY \n');
  assert.equal(ip('-4 neigh'), '');
  assert.equal(ip('-j neigh'), '[{"dst":"fe80::f816:3eff:feb2:efaf","dev":"qr-1","lladdr":"fa:16:3e:b2:ef:af","state":["DELAY"]}]\n');
  send(ECHO);
  const out = wire.take();
  assert.equal(out.length, 1);
  assert.equal(noLabel(out[0]!), noLabel(REPLY));
  assert.notEqual(out[0]![15]! & 0x0f | out[0]![16]! | out[0]![17]!, 0, 'a flow label of its own');
  assert.equal(e.dropCount(r, 'unknown_protocol') + e.dropCount(r, 'malformed'), 0);
});

test('router solicitations, MLD reports, DAD for another address and groups not joined: taken without a drop, no answer', () => {
  const { e, r, send, wire } = router();
  // MLDv2 report to ff02::16 with the router-alert hop-by-hop header (as a kernel sends at start).
  const mld = hex(`3333 0000 0016 fa16 3eb2 efaf 86dd 6000 0000 0024 0001 fe80 0000 0000 0000 f816
    3eff feb2 efaf ff02 0000 0000 0000 0000 0000 0000 0016 3a00 0502 0000 0100 8f00 0000 0000 0001
    0400 0000 ff02 0000 0000 0000 0000 0001 ffb2 efaf`);
  // DAD: from ::, to the solicited-node group of another address (fe80::...:b2:ef:af), no option.
  const dad = hex(`3333 ffb2 efaf fa16 3eb2 efaf 86dd 6000 0000 0018 3aff 0000 0000 0000 0000 0000
    0000 0000 0000 ff02 0000 0000 0000 0000 0001 ffb2 efaf 8700 0000 0000 0000 fe80
    0000 0000 0000 f816 3eff feb2 efaf`);
  for (const f of [mld, dad]) {
    // Fill the ICMPv6 checksum as the sender would.
    const l4 = f[20] === 0 ? 14 + 40 + 8 : 14 + 40;
    icmpv6SetChecksum(f, 14, l4, f.length - l4);
  }
  for (const f of [RS, mld, dad]) send(f);
  assert.deepEqual(wire.take(), []);
  for (const reason of ['unknown_protocol', 'malformed', 'no_route', 'not_for_us'] as const) assert.equal(e.dropCount(r, reason), 0, reason);
});

test('an echo request from a neighbour it does not know: a solicitation of its own, the reply once the advertisement comes', () => {
  const { send, wire, ip } = router();
  send(ECHO);
  const ns = wire.take();
  assert.equal(ns.length, 1);
  // To the host's solicited-node group, from the link-local, for the host's address, with our link-layer address.
  assert.equal(toHex(ns[0]!.subarray(0, 14)), '3333ffb2efaffa163e06d87b86dd');
  assert.equal(toHex(ns[0]!.subarray(38, 54)), 'ff0200000000000000000001ffb2efaf');
  assert.equal(ns[0]![54], 135);
  assert.equal(toHex(ns[0]!.subarray(62, 86)), 'fe80000000000000f8163efffeb2efaf0101fa163e06d87b');
  // The host answers: solicited NA with its link-layer address.
  const na = hex(`fa16 3e06 d87b fa16 3eb2 efaf 86dd 6000 0000 0020 3aff fe80 0000 0000 0000 f816
    3eff feb2 efaf fe80 0000 0000 0000 f816 3eff fe06 d87b 8800 0000 6000 0000 fe80
    0000 0000 0000 f816 3eff feb2 efaf 0201 fa16 3eb2 efaf`);
  icmpv6SetChecksum(na, 14, 54, 32);
  send(na);
  const out = wire.take();
  assert.equal(out.length, 1);
  assert.equal(noLabel(out[0]!), noLabel(REPLY));
  assert.equal(ip('-br -6 neigh'), 'fe80::f816:3eff:feb2:efaf               qr-1             fa:16:3e:b2:ef:af\n');
  assert.equal(ip('-6 neigh show dev qr-1 nud reachable'), 'fe80::f816:3eff:feb2:efaf lladdr fa:16:3e:b2:ef:af REACHABLE \n');
});

test('a reload keeps the IPv6 neighbours: the learned records carry them to the next namespace', () => {
  const a = router();
  a.send(NS);
  const b = router();
  assert.equal(b.r.restoreLearned(learnedRecords(a.r), 0), 1);
  assert.equal(b.ip('-6 neigh'), 'fe80::f816:3eff:feb2:efaf dev qr-1 lladdr fa:16:3e:b2:ef:af DELAY \n');
});

// The host's solicited NA for its address (to the router's link-local, with its link-layer address).
const HOST_NA = (() => {
  const f = hex(`fa16 3e06 d87b fa16 3eb2 efaf 86dd 6000 0000 0020 3aff fe80 0000 0000 0000 f816
    3eff feb2 efaf fe80 0000 0000 0000 f816 3eff fe06 d87b 8800 0000 6000 0000 fe80
    0000 0000 0000 f816 3eff feb2 efaf 0201 fa16 3eb2 efaf`);
  icmpv6SetChecksum(f, 14, 54, 32);
  return f;
})();

/** A router whose entry for the host is REACHABLE (its echo request answered after NS and NA) at time 0, then STALE 46 s later. */
function staleNeighbour() {
  const x = router();
  x.send(ECHO);
  x.send(HOST_NA);
  x.wire.take();
  assert.match(x.ip('-6 neigh'), / REACHABLE \n$/);
  // reachable_time is 15 to 45 s (base 30 s, randomized 0.5-1.5x); the reply sent meanwhile does not hold it (a connected entry's `used` stays).
  x.later(14_000);
  assert.match(x.ip('-6 neigh'), / REACHABLE \n$/);
  x.later(32_000);
  assert.equal(x.ip('-6 neigh'), 'fe80::f816:3eff:feb2:efaf dev qr-1 lladdr fa:16:3e:b2:ef:af STALE \n');
  assert.deepEqual(x.wire.take(), []);
  return x;
}

/** The router's unicast NS for the host's address (PROBE): to its link-layer address and to the address itself, with ours. */
const isUnicastNs = (f: Uint8Array): boolean =>
  toHex(f.subarray(0, 14)) === 'fa163eb2efaffa163e06d87b86dd' &&
  toHex(f.subarray(38, 54)) === 'fe80000000000000f8163efffeb2efaf' && f[54] === 135 &&
  toHex(f.subarray(62, 86)) === 'fe80000000000000f8163efffeb2efaf0101fa163e06d87b';

test('a resolved IPv6 neighbour ages as the kernel\'s: REACHABLE, STALE, DELAY on a packet, PROBE with a unicast NS each second, FAILED after three', () => {
  const { send, wire, ip, later } = staleNeighbour();
  // A packet to a STALE neighbour goes at once, to the address it has, and the entry waits delay_first_probe_time (5 s).
  send(ECHO);
  assert.equal(wire.take().length, 1);
  assert.equal(ip('-6 neigh'), 'fe80::f816:3eff:feb2:efaf dev qr-1 lladdr fa:16:3e:b2:ef:af DELAY \n');
  later(4000);
  assert.match(ip('-6 neigh'), / DELAY \n$/);
  assert.deepEqual(wire.take(), []);
  later(1000);
  assert.equal(ip('-6 neigh'), 'fe80::f816:3eff:feb2:efaf dev qr-1 lladdr fa:16:3e:b2:ef:af PROBE \n');
  for (let i = 0; i < 2; i++) {
    const f = wire.take();
    assert.equal(f.length, 1);
    assert.equal(isUnicastNs(f[0]!), true, toHex(f[0]!));
    later(1000);
  }
  assert.equal(wire.take().filter(isUnicastNs).length, 1);
  assert.match(ip('-6 neigh'), / PROBE \n$/);
  // ucast_solicit (3) went unanswered: FAILED, shown without its address.
  later(1000);
  assert.equal(ip('-6 neigh'), 'fe80::f816:3eff:feb2:efaf dev qr-1 FAILED \n');
  assert.deepEqual(wire.take(), []);
});

test('a probed IPv6 neighbour that answers is REACHABLE again, and goes STALE again a reachable time later', () => {
  const { send, wire, ip, later } = staleNeighbour();
  send(ECHO);
  wire.take();
  later(5000);
  assert.equal(wire.take().filter(isUnicastNs).length, 1);
  send(HOST_NA);
  assert.equal(ip('-6 neigh'), 'fe80::f816:3eff:feb2:efaf dev qr-1 lladdr fa:16:3e:b2:ef:af REACHABLE \n');
  later(3000);
  assert.deepEqual(wire.take(), []);
  later(44_000);
  assert.match(ip('-6 neigh'), / STALE \n$/);
});

test('an answered probe counts as a use: with reachable_time within delay_first_probe_time the entry cycles through PROBE and never goes STALE', () => {
  // Linux 6.18, two namespaces over a veth, net.ipv6.neigh.DEV.base_reachable_time_ms=500 and
  // delay_first_probe_time=1 on the pinging side, one `ping -6 -c 1`: `ip -ts monitor neigh` prints REACHABLE,
  // then PROBE and REACHABLE together each reachable time plus 1 s for as long as it runs (neigh_add_timer lifts `used` to
  // `confirmed` when the solicited advertisement makes the entry REACHABLE again).
  const { r, send, wire, ip, later } = router();
  r.ns.setSysctl('net.ipv6.neigh.qr-1.base_reachable_time_ms', 500);
  r.ns.setSysctl('net.ipv6.neigh.qr-1.delay_first_probe_time', 1);
  send(ECHO);
  send(HOST_NA);
  wire.take();
  const state = (): string => / (\w+) \n$/.exec(ip('-6 neigh'))![1]!;
  const seen: string[] = [state()];
  let probes = 0;
  for (let t = 0; t < 10_000; t += 10) {
    later(10);
    const s = state();
    if (s !== seen[seen.length - 1]) seen.push(s);
    const asked = wire.take().filter(isUnicastNs).length;
    if (asked === 0) continue;
    probes += asked;
    send(HOST_NA);
    seen.push(state());
  }
  const reach = r.ns.nd6.reachableTime(r.ns.mustLink('qr-1').index);
  assert.ok(reach < 1000, `reachable_time ${reach}`);
  assert.ok(probes >= Math.floor(10_000 / (reach + 1020)), `${probes} probes`);
  assert.ok(!seen.includes('STALE'), seen.join(' '));
  assert.deepEqual(seen.slice(0, 5), ['REACHABLE', 'DELAY', 'PROBE', 'REACHABLE', 'DELAY']);
});

test('a neighbour confirmed while in DELAY goes back to REACHABLE without a probe', () => {
  const { send, wire, ip, later } = staleNeighbour();
  send(ECHO);
  wire.take();
  later(2000);
  // An NA (solicited, as an answer to someone's NS would be) confirms it.
  send(HOST_NA);
  assert.match(ip('-6 neigh'), / REACHABLE \n$/);
  later(5000);
  assert.deepEqual(wire.take(), []);
  assert.match(ip('-6 neigh'), / REACHABLE \n$/);
});

test('a reload keeps an IPv6 neighbour in DELAY with its timer: it probes when it would have', () => {
  const a = staleNeighbour();
  a.send(ECHO);
  a.later(2000);
  // The next namespace on the same clock (a worker's successor): 48 s in, 2 s into the DELAY.
  const b = router();
  b.later(48_000);
  assert.equal(b.r.restoreLearned(learnedRecords(a.r), 48_000), 1);
  assert.match(b.ip('-6 neigh'), / DELAY \n$/);
  b.later(2000);
  assert.deepEqual(b.wire.take(), []);
  b.later(1000);
  assert.equal(b.wire.take().filter(isUnicastNs).length, 1);
  assert.match(b.ip('-6 neigh'), / PROBE \n$/);
});

test('the IPv6 cache draws each device\'s reachable time again every 300 s (neigh_periodic_work, every base_reachable_time / 2) and when base_reachable_time is written', () => {
  const { r, ip, later } = router();
  const idx = r.ns.mustLink('qr-1').index;
  const first = r.ns.nd6.reachableTime(idx);
  const shown = (): number => Number(/ reachable (\d+) /.exec(ip('-6 ntable show dev qr-1'))?.[1]);
  assert.equal(shown(), first);
  // The periodic work runs at 15 s, 30 s, ...: the one at 300 s is not past last_rand + 300 s, the one at 315 s is.
  later(300_000);
  assert.equal(r.ns.nd6.reachableTime(idx), first);
  later(15_000);
  const second = r.ns.nd6.reachableTime(idx);
  assert.notEqual(second, first);
  assert.ok(second >= 15_000 && second < 45_000);
  assert.match(ip('-6 -s ntable show dev none'), / periodic_gc_runs 21 forced_gc_runs 0 /);
  r.ns.setSysctl('net.ipv6.neigh.qr-1.base_reachable_time_ms', 1000);
  assert.ok(shown() >= 500 && shown() < 1500, ip('-6 ntable show dev qr-1'));
  // The ARP table's are its own.
  assert.ok(r.ns.neigh.reachableTime(idx) >= 15_000);
});

test('mcast_solicit and app_solicit on the device: none, FAILED at once without a solicitation; one app probe, its turn sends nothing', () => {
  // A kernel namespace (Linux 6.18) pinging fe80::9 over a veth: with both 0, `ip -6 neigh` shows FAILED at once and
  // tcpdump no solicitation; with app_solicit 1 and mcast_solicit 2, the solicitations go 1 s and 2 s after the ping.
  const isNs = (f: Uint8Array): boolean => f[54] === 135;
  const a = router();
  a.r.ns.setSysctl('net.ipv6.neigh.qr-1.mcast_solicit', 0);
  a.r.ns.setSysctl('net.ipv6.neigh.qr-1.app_solicit', 0);
  a.send(ECHO);
  assert.deepEqual(a.wire.take(), []);
  assert.equal(a.ip('-6 neigh'), 'fe80::f816:3eff:feb2:efaf dev qr-1 FAILED \n');
  const b = router();
  b.r.ns.setSysctl('net.ipv6.neigh.qr-1.mcast_solicit', 2);
  b.r.ns.setSysctl('net.ipv6.neigh.qr-1.app_solicit', 1);
  b.send(ECHO);
  const sent: number[] = [];
  for (let s = 0; s <= 3; s++) {
    if (s > 0) b.later(1000);
    sent.push(b.wire.take().filter(isNs).length);
  }
  assert.deepEqual(sent, [0, 1, 1, 0]);
  assert.match(b.ip('-6 neigh'), / FAILED \n$/);
});

// A global address (`ip -6 addr add 2001:db8:7::1/64 dev qr-1 nodad`): what Linux 6.18 sent in the same
// kernel namespace (forwarding on) when the host (2001:db8:7::5/64, nodad) ran `ping -6 -Q 0x28 -s 20 2001:db8:7::1`.
const GNS = hex(`3333 ff00 0001 fa16 3eb2 efaf 86dd 6000 0000 0020 3aff 2001 0db8 0007 0000 0000
  0000 0000 0005 ff02 0000 0000 0000 0000 0001 ff00 0001 8700 f59e 0000 0000 2001
  0db8 0007 0000 0000 0000 0000 0001 0101 fa16 3eb2 efaf`);
const GNA = hex(`fa16 3eb2 efaf fa16 3e06 d87b 86dd 6000 0000 0020 3aff 2001 0db8 0007 0000 0000
  0000 0000 0001 2001 0db8 0007 0000 0000 0000 0000 0005 8800 fbc2 e000 0000 2001
  0db8 0007 0000 0000 0000 0000 0001 0201 fa16 3e06 d87b`);
const GECHO = hex(`fa16 3e06 d87b fa16 3eb2 efaf 86dd 6280 1e22 001c 3a40 2001 0db8 0007 0000 0000
  0000 0000 0005 2001 0db8 0007 0000 0000 0000 0000 0001 8000 8c95 4b61 0001 10d0
  0c6b 0000 0000 03cc 0900 0000 0000 1011 1213`);
const GREPLY = hex(`fa16 3eb2 efaf fa16 3e06 d87b 86dd 6285 069d 001c 3a40 2001 0db8 0007 0000 0000
  0000 0000 0001 2001 0db8 0007 0000 0000 0000 0000 0005 8100 8b95 4b61 0001 10d0
  0c6b 0000 0000 03cc 0900 0000 0000 1011 1213`);

/** `f` with its IPv6 destination (and the ICMPv6 checksum) changed to `dst`. */
function toDst(f: Uint8Array, dst: string): Uint8Array {
  const c = Uint8Array.from(f);
  c.set(hex(dst), 38);
  icmpv6SetChecksum(c, 14, 54, c.length - 54);
  return c;
}

test('a global address: its solicitation answered from it, its echo request from it, byte for byte as the kernel\'s', () => {
  const { e, r, send, wire, ip } = router();
  ip('-6 addr add 2001:db8:7::1/64 dev qr-1 nodad');
  send(GNS);
  assert.deepEqual(wire.take().map(toHex), [toHex(GNA)]);
  assert.equal(ip('-6 neigh'), '2001:db8:7::5 dev qr-1 lladdr fa:16:3e:b2:ef:af DELAY \n');
  send(GECHO);
  const out = wire.take();
  assert.equal(out.length, 1);
  assert.equal(noLabel(out[0]!), noLabel(GREPLY));
  assert.equal(e.dropCount(r, 'no_route') + e.dropCount(r, 'malformed'), 0);
});

test('another device\'s global address is reached over any device, its solicitation answered only there; a group\'s echo request from a global requester: the reply from the global address', () => {
  // The kernel namespace with 2001:db8:9::1/128 on lo: the host's echo request to it over the veth was answered from it,
  // its solicitation for it (a route out of the veth) went unanswered; `ping -I 2001:db8:7::5 ff02::1%eth` got its reply from 2001:db8:7::1.
  const { e, r, send, wire, ip } = router();
  ip('-6 addr add 2001:db8:7::1/64 dev qr-1 nodad');
  ip('-6 addr add 2001:db8:9::1/128 dev lo');
  send(GNS);
  wire.take();
  send(toDst(GECHO, '20010db8000900000000000000000001'));
  const out = wire.take();
  assert.equal(out.length, 1);
  assert.equal(toHex(out[0]!.subarray(22, 54)), '20010db8000900000000000000000001' + '20010db8000700000000000000000005');
  assert.equal(out[0]![54], 129);
  const ns = Uint8Array.from(GNS);
  ns[5] = 1;
  ns.set(hex('ff0200000000000000000001ff000001'), 38);
  ns.set(hex('20010db8000900000000000000000001'), 62);
  icmpv6SetChecksum(ns, 14, 54, 32);
  send(ns);
  assert.deepEqual(wire.take(), []);
  const mc = toDst(GECHO, 'ff020000000000000000000000000001');
  mc.set(hex('333300000001'), 0);
  send(mc);
  const rep = wire.take();
  assert.equal(rep.length, 1);
  assert.equal(toHex(rep[0]!.subarray(22, 54)), '20010db8000700000000000000000001' + '20010db8000700000000000000000005');
  assert.equal(e.dropCount(r, 'no_route'), 0);
  // To ::1 over the wire: dropped by ip6_rcv_core (the kernel counted Ip6InHdrErrors, answered nothing), though lo has it.
  send(toDst(GECHO, '00000000000000000000000000000001'));
  assert.deepEqual(wire.take(), []);
  assert.equal(e.dropCount(r, 'malformed'), 1);
});

// IPv6 forwarding: a kernel router namespace (forwarding on; qr-1 2001:db8:7::1/64 with qr-1's MAC, qr-2 2001:db8:8::1/64
// with MAC fa:16:3e:06:d8:7c and MTU 1400, a route to 2001:db8:50::/64 via 2001:db8:7::5) between two hosts
// (2001:db8:7::5 behind qr-1, 2001:db8:8::9 behind qr-2, MAC fa:16:3e:b2:ef:b0), Linux 6.18's frames on its veths.
const FREQ = hex(`fa16 3e06 d87b fa16 3eb2 efaf 86dd 600c b88c 001c 3a40 2001 0db8 0007 0000 0000
  0000 0000 0005 2001 0db8 0008 0000 0000 0000 0000 0009 8000 9c6c 0e76 0001 7cd3
  0c6b 0000 0000 cbd3 0200 0000 0000 1011 1213`);
const FREQ_OUT = hex(`fa16 3eb2 efb0 fa16 3e06 d87c 86dd 600c b88c 001c 3a3f 2001 0db8 0007 0000 0000
  0000 0000 0005 2001 0db8 0008 0000 0000 0000 0000 0009 8000 9c6c 0e76 0001 7cd3
  0c6b 0000 0000 cbd3 0200 0000 0000 1011 1213`);
// `ping -t 1`: the request with hop limit 1 and the router's time exceeded.
const TREQ = hex(`fa16 3e06 d87b fa16 3eb2 efaf 86dd 600c b88c 001c 3a01 2001 0db8 0007 0000 0000
  0000 0000 0005 2001 0db8 0008 0000 0000 0000 0000 0009 8000 2055 0e77 0001 7cd3
  0c6b 0000 0000 47ea 0200 0000 0000 1011 1213`);
const TEXC = hex(`fa16 3eb2 efaf fa16 3e06 d87b 86dd 600d e68b 004c 3a40 2001 0db8 0007 0000 0000
  0000 0000 0001 2001 0db8 0007 0000 0000 0000 0000 0005 0300 4e93 0000 0000 600c
  b88c 001c 3a01 2001 0db8 0007 0000 0000 0000 0000 0005 2001 0db8 0008 0000 0000
  0000 0000 0009 8000 2055 0e77 0001 7cd3 0c6b 0000 0000 47ea 0200 0000 0000 1011 1213`);
// From 2001:db8:50::9 to 2001:db8:99::1, which the router has no route to: its no route, back via 2001:db8:7::5.
const NREQ = hex(`fa16 3e06 d87b fa16 3eb2 efaf 86dd 6008 d727 001c 3a40 2001 0db8 0050 0000 0000
  0000 0000 0009 2001 0db8 0099 0000 0000 0000 0000 0001 8000 d068 0e78 0001 7cd3
  0c6b 0000 0000 96ff 0200 0000 0000 1011 1213`);
const NUNR = hex(`fa16 3eb2 efaf fa16 3e06 d87b 86dd 600b b210 004c 3a40 2001 0db8 0007 0000 0000
  0000 0000 0001 2001 0db8 0050 0000 0000 0000 0000 0009 0100 3170 0000 0000 6008
  d727 001c 3a40 2001 0db8 0050 0000 0000 0000 0000 0009 2001 0db8 0099 0000 0000
  0000 0000 0001 8000 d068 0e78 0001 7cd3 0c6b 0000 0000 96ff 0200 0000 0000 1011 1213`);
/** `ping -s 1400`'s request (1448 bytes of IPv6: the timeval, then bytes counting up from 0x10). */
const BIG = (() => {
  const f = new Uint8Array(14 + 1448);
  f.set(hex(`fa16 3e06 d87b fa16 3eb2 efaf 86dd 600c b88c 0580 3a40 2001 0db8 0007 0000 0000
    0000 0000 0005 2001 0db8 0008 0000 0000 0000 0000 0009 8000 56d0 0e79 0001 7cd3
    0c6b 0000 0000 c210 0300 0000 0000`));
  for (let i = 0; i < 1384; i++) f[78 + i] = (0x10 + i) & 0xff;
  return f;
})();

function forwarder() {
  const clock = new ManualClock(0);
  const e = new Engine({ clock });
  const r = e.add(new NetNamespace('lab', 'r'));
  const p1 = r.addInterface('qr-1', { mac: parseMacNum('fa:16:3e:06:d8:7b')!, kind: 'internal' });
  const p2 = r.addInterface('qr-2', { mac: parseMacNum('fa:16:3e:06:d8:7c')!, kind: 'internal', mtu: 1400 });
  const w1 = new CaptureSink(), w2 = new CaptureSink();
  e.attachEdge(p1, w1);
  e.attachEdge(p2, w2);
  const send = (f: Uint8Array, p = p1) => {
    e.inject(e.pool.allocFrom(f)!, p);
    e.run();
  };
  const ip = (args: string) => runCommand(r.ns, `ip ${args}`);
  ip('-6 addr add 2001:db8:7::1/64 dev qr-1 nodad');
  ip('-6 addr add 2001:db8:8::1/64 dev qr-2 nodad');
  ip('-6 route add 2001:db8:50::/64 via 2001:db8:7::5');
  // Both hosts known (their solicitations for the router's addresses).
  send(GNS);
  const ns2 = hex(`3333 ff00 0001 fa16 3eb2 efb0 86dd 6000 0000 0020 3aff 2001 0db8 0008 0000 0000
    0000 0000 0009 ff02 0000 0000 0000 0000 0001 ff00 0001 8700 0000 0000 0000 2001
    0db8 0008 0000 0000 0000 0000 0001 0101 fa16 3eb2 efb0`);
  icmpv6SetChecksum(ns2, 14, 54, 32);
  send(ns2, p2);
  w1.take();
  w2.take();
  return { e, r, send, w1, w2, ip };
}

test('IPv6 forwarding: the hop limit one less, to the next neighbour; hop limit 1, no route, over the MTU: the kernel\'s ICMPv6 errors, byte for byte', () => {
  const { e, r, send, w1, w2, ip } = forwarder();
  send(FREQ);
  assert.deepEqual(w2.take().map(toHex), [toHex(FREQ_OUT)]);
  assert.deepEqual(w1.take(), []);
  send(TREQ);
  assert.deepEqual(w1.take().map(noLabel), [noLabel(TEXC)]);
  assert.equal(e.dropCount(r, 'ttl_exceeded'), 1);
  send(NREQ);
  assert.deepEqual(w1.take().map(noLabel), [noLabel(NUNR)]);
  send(BIG);
  const [ptb] = w1.take();
  assert.equal(toHex(ptb!.subarray(18, 62)), '04d83a40' + '20010db8000700000000000000000001' + '20010db8000700000000000000000005' + '02001e9500000578', 'from 2001:db8:7::1, 1240 bytes, the kernel\'s checksum, mtu 1400');
  assert.equal(ptb!.length, 14 + 1280);
  assert.equal(toHex(ptb!.subarray(62)), toHex(BIG.subarray(14, 14 + 1232)));
  assert.deepEqual(w2.take(), []);
  // Forwarding off: dropped, no error.
  r.setSysctl('net.ipv6.conf.all.forwarding', 0);
  send(FREQ);
  assert.deepEqual([w1.take(), w2.take()], [[], []]);
  assert.equal(e.dropCount(r, 'ip_forward_off'), 1);
  assert.match(ip('-6 neigh'), /2001:db8:8::9 dev qr-2 lladdr fa:16:3e:b2:ef:b0/);
});

// The IPv6 rules over forwarding and the replies, as a kernel router namespace did (Linux 6.18: `ping -6` from the host behind
// qr-1): a prohibit rule's administratively prohibited, a blackhole's silence, an unreachable's no route, a route of another
// table a rule looks up, an error's way back by a rule on the source the kernel picks for it (`ping -6 -I 2001:db8:50::9`
// from the host: `From 2001:db8:7::1 icmp_seq=1 Destination unreachable: No route` only with the rule); an echo reply is
// routed from the address asked (`from 2001:db8:8::1 ... prohibit`: no reply from it).
test('IPv6 rules steer forwarding and replies: prohibit, blackhole, unreachable, a table of their own, a rule on the reply\'s source', () => {
  const { e, r, send, w1, w2, ip } = forwarder();
  const code = (f: Uint8Array | undefined) => (f ? `${f[54]}/${f[55]} from ${toHex(f.subarray(22, 38))}` : 'none');
  ip('-6 rule add iif qr-1 to 2001:db8:8::/64 prohibit pref 10');
  send(FREQ);
  assert.deepEqual([code(w1.take()[0]), w2.take()], ['1/1 from 20010db8000700000000000000000001', []], 'administratively prohibited');
  ip('-6 rule del pref 10');
  ip('-6 rule add from 2001:db8:7::5 blackhole pref 10');
  const drops = e.dropCount(r, 'no_route');
  send(FREQ);
  assert.deepEqual([w1.take(), w2.take(), e.dropCount(r, 'no_route')], [[], [], drops + 1], 'a blackhole: dropped, nothing said');
  ip('-6 rule del pref 10');
  ip('-6 rule add from 2001:db8:7::5 unreachable pref 10');
  send(FREQ);
  assert.deepEqual([code(w1.take()[0]), w2.take()], ['1/0 from 20010db8000700000000000000000001', []], 'no route');
  ip('-6 rule del pref 10');
  send(FREQ);
  assert.deepEqual(w2.take().map(toHex), [toHex(FREQ_OUT)], 'by main again');
  // 2001:db8:99::1 has no route in main (NREQ's no route): table 100 sends it to 2001:db8:8::9, for a rule to it.
  ip('-6 route add 2001:db8:99::/48 via 2001:db8:8::9 table 100');
  send(NREQ);
  assert.equal(code(w1.take()[0]), '1/0 from 20010db8000700000000000000000001', 'no rule looks up table 100 yet');
  ip('-6 rule add to 2001:db8:99::/48 lookup 100 pref 20');
  send(NREQ);
  const [fwd] = w2.take();
  assert.deepEqual([w1.take(), toHex(fwd!.subarray(0, 6)), fwd![21]], [[], 'fa163eb2efb0', 63], 'forwarded to 2001:db8:8::9, hop limit one less');
  // No route back to 2001:db8:50::9 but table 100's, for a rule from 2001:db8:7::1: the error's lookup from no source fails,
  // then goes again from the source ipv6_dev_get_saddr picks (ip6_dst_lookup_tail), 7::1, which the rule selects.
  ip('-6 rule del pref 20');
  ip('-6 route del 2001:db8:50::/64');
  ip('-6 route add 2001:db8:50::/64 via 2001:db8:7::5 table 100');
  send(NREQ);
  assert.deepEqual([w1.take(), w2.take()], [[], []], 'no route back: no error');
  ip('-6 rule add from 2001:db8:7::1 lookup 100 pref 50');
  send(NREQ);
  assert.deepEqual(w1.take().map(noLabel), [noLabel(NUNR)], 'the no route, back by table 100');
  // An echo request to the router's own 2001:db8:8::1 and 2001:db8:7::1: the reply from 8::1 is prohibited, 7::1's goes.
  ip('-6 rule add from 2001:db8:8::1 to 2001:db8:7::/64 prohibit pref 10');
  const echo = (last: number): Uint8Array => {
    const f = FREQ.slice();
    f[53] = last;
    icmpv6SetChecksum(f, 14, 54, 28);
    return f;
  };
  send(echo(1));
  assert.deepEqual(w1.take(), [], 'no reply from 2001:db8:8::1');
  const to7 = echo(1);
  to7.set([0, 7], 42);
  icmpv6SetChecksum(to7, 14, 54, 28);
  send(to7);
  const [rep] = w1.take();
  assert.deepEqual([rep?.[54], toHex(rep!.subarray(22, 38))], [129, '20010db8000700000000000000000001'], 'the reply from 2001:db8:7::1');
});

test('ICMPv6 errors are not rate limited by default; net.ipv6.icmp.ratelimit limits them per destination as Linux 6.18 does; a packet too big never', () => {
  // The kernel router (ratelimit 100, a new namespace's) answered 20 `ping -t 1` requests 10 ms apart with 7 time
  // exceeded, 16 ms apart with 9: a burst of 6, then one each 100 ms.
  const { e, r, send, w1 } = forwarder();
  const clock = e.clock as ManualClock;
  const burst = (gap: number): number => {
    for (let i = 0; i < 20; i++) {
      if (i > 0) clock.advance(gap);
      send(TREQ);
    }
    return w1.take().length;
  };
  assert.equal(burst(10), 20);
  r.setSysctl('net.ipv6.icmp.ratelimit', 100);
  assert.equal(r.ns.getSysctl('net.ipv6.icmp.ratelimit'), 100);
  clock.advance(1000);
  assert.equal(burst(10), 7);
  clock.advance(1000);
  assert.equal(burst(16), 9);
  clock.advance(1000);
  for (let i = 0; i < 10; i++) send(BIG);
  assert.equal(w1.take().length, 10, 'packet too big: not in ratemask');
  assert.equal(e.dropCount(r, 'ttl_exceeded'), 60);
});

// `ping -I 2001:db8:7::5 2001:db8:61::1` from the host, the router's route to 2001:db8:61::/64 via the host's own
// link-local: the kernel's redirect (to that link-local, with its link-layer address and the first 64 bytes of the
// request), then the request forwarded back out of qr-1.
const RREQ = hex(`fa16 3e06 d87b fa16 3eb2 efaf 86dd 600e 15ba 001c 3a40 2001 0db8 0007 0000 0000
  0000 0000 0005 2001 0db8 0061 0000 0000 0000 0000 0001 8000 a278 473b 0001 d3d8
  0c6b 0000 0000 37ac 0000 0000 0000 1011 1213`);
const REDIRECT = hex(`fa16 3eb2 efaf fa16 3e06 d87b 86dd 6000 0000 0078 3aff fe80 0000 0000 0000 f816
  3eff fe06 d87b 2001 0db8 0007 0000 0000 0000 0000 0005 8900 2e2b 0000 0000 fe80
  0000 0000 0000 f816 3eff feb2 efaf 2001 0db8 0061 0000 0000 0000 0000 0001 0201
  fa16 3eb2 efaf 0409 0000 0000 0000 600e 15ba 001c 3a40 2001 0db8 0007 0000 0000
  0000 0000 0005 2001 0db8 0061 0000 0000 0000 0000 0001 8000 a278 473b 0001 d3d8
  0c6b 0000 0000 37ac 0000 0000 0000`);
const RFWD = hex(`fa16 3eb2 efaf fa16 3e06 d87b 86dd 600e 15ba 001c 3a3f 2001 0db8 0007 0000 0000
  0000 0000 0005 2001 0db8 0061 0000 0000 0000 0000 0001 8000 a278 473b 0001 d3d8
  0c6b 0000 0000 37ac 0000 0000 0000 1011 1213`);

test('IPv6 forwarding back out of the device it came in on: the kernel\'s redirect first, byte for byte, at most 6 at once, then one a second', () => {
  // The kernel sent 6 redirects for 20 such requests 10 ms apart (inet_peer_xrlim_allow, 1 s, bursts of 6) and forwarded all.
  const { e, send, w1, ip } = forwarder();
  const clock = e.clock as ManualClock;
  ip('-6 route add 2001:db8:61::/64 via fe80::f816:3eff:feb2:efaf dev qr-1');
  send(NS);
  w1.take();
  send(RREQ);
  assert.deepEqual(w1.take().map(toHex), [toHex(REDIRECT), toHex(RFWD)]);
  for (let i = 0; i < 9; i++) {
    clock.advance(10);
    send(RREQ);
  }
  const out = w1.take();
  assert.deepEqual([out.filter((f) => f[54] === 137).length, out.filter((f) => f[54] === 128).length], [5, 9]);
  clock.advance(1000);
  send(RREQ);
  assert.equal(w1.take().filter((f) => f[54] === 137).length, 1);
});

// A UDP datagram from the host (port 40000, 8 bytes) to the kernel router's 2001:db8:7::1 port 33434, where no
// socket listens: the kernel's port unreachable from that address, quoting it (its checksum as the veth left it).
const UREQ = hex(`fa16 3e06 d87b fa16 3eb2 efaf 86dd 6006 835e 0010 1140 2001 0db8 0007 0000 0000
  0000 0000 0005 2001 0db8 0007 0000 0000 0000 0000 0001 9c40 829a 0010 5ba7 4041
  4243 4445 4647`);
const UUNR = hex(`fa16 3eb2 efaf fa16 3e06 d87b 86dd 6005 e95f 0040 3a40 2001 0db8 0007 0000 0000
  0000 0000 0001 2001 0db8 0007 0000 0000 0000 0000 0005 0104 cb1c 0000 0000 6006
  835e 0010 1140 2001 0db8 0007 0000 0000 0000 0000 0005 2001 0db8 0007 0000 0000
  0000 0000 0001 9c40 829a 0010 5ba7 4041 4243 4445 4647`);

test('UDP to an address of its own with no socket: the kernel\'s port unreachable from that address, byte for byte; another device\'s address answers from itself; limited as the other errors', () => {
  const { e, r, send, w1 } = forwarder();
  const clock = e.clock as ManualClock;
  send(UREQ);
  assert.deepEqual(w1.take().map(noLabel), [noLabel(UUNR)]);
  // To qr-2's 2001:db8:8::1 over qr-1: from 2001:db8:8::1 (icmp6_send takes the destination when it is ours).
  const other = UREQ.slice();
  other[14 + 24 + 5] = 8;
  send(other);
  const [u] = w1.take();
  assert.equal(toHex(u!.subarray(22, 54)), '20010db8000800000000000000000001' + '20010db8000700000000000000000005');
  assert.deepEqual([u![54], u![55]], [1, 4]);
  r.setSysctl('net.ipv6.icmp.ratelimit', 100);
  clock.advance(1000);
  for (let i = 0; i < 20; i++) {
    clock.advance(10);
    send(UREQ);
  }
  assert.equal(w1.take().length, 7, 'a burst of 6, then one each 100 ms');
});

test('ip -6 neigh replace: a held reply leaves at once to the address given; what ND says next leaves the PERMANENT entry as it is; del of an unresolved one drops what it held', () => {
  const { e, r, send, wire } = router();
  const ip = (args: string) => runCommand(r.ns, `ip ${args}`, e.now, { neigh: (a) => r.runNeigh(a) });
  send(ECHO);
  assert.equal(wire.take().length, 1, 'the solicitation; the reply held');
  // The entry is there (INCOMPLETE): add would be refused (File exists), as the kernel refuses it.
  assert.throws(() => ip('-6 neigh add fe80::f816:3eff:feb2:efaf lladdr fa:16:3e:b2:ef:af dev qr-1'), /File exists/);
  assert.equal(ip('-6 neigh replace fe80::f816:3eff:feb2:efaf lladdr fa:16:3e:b2:ef:af dev qr-1'), '');
  const out = wire.take();
  assert.equal(out.length, 1);
  assert.equal(noLabel(out[0]!), noLabel(REPLY));
  // The host's NS with another link-layer address: answered to the PERMANENT entry's, which stays.
  const ns = Uint8Array.from(NS);
  ns[ns.length - 1] = 0xb0;
  icmpv6SetChecksum(ns, 14, 54, 32);
  send(ns);
  const na = wire.take();
  assert.equal(na.length, 1);
  assert.equal(toHex(na[0]!.subarray(0, 6)), 'fa163eb2efaf');
  assert.equal(ip('-6 neigh'), 'fe80::f816:3eff:feb2:efaf dev qr-1 lladdr fa:16:3e:b2:ef:af PERMANENT \n');
  // An echo request from a host nobody knows: its reply held, INCOMPLETE; deleted, the reply dropped.
  const other = Uint8Array.from(ECHO);
  other[22 + 15] = 0xb1;
  icmpv6SetChecksum(other, 14, 54, other.length - 54);
  send(other);
  assert.equal(wire.take().length, 1, 'the solicitation');
  assert.equal(ip('-6 neigh show nud incomplete'), 'fe80::f816:3eff:feb2:efb1 dev qr-1 INCOMPLETE \n');
  const before = e.dropCount(r, 'neigh_failed');
  assert.equal(ip('-6 neigh del fe80::f816:3eff:feb2:efb1 dev qr-1'), '');
  assert.equal(e.dropCount(r, 'neigh_failed'), before + 1);
  assert.deepEqual(wire.take(), []);
  assert.equal(ip('-6 neigh'), 'fe80::f816:3eff:feb2:efaf dev qr-1 lladdr fa:16:3e:b2:ef:af PERMANENT \n');
});

test('ip neigh show|flush: all and default (a prefix of no family) select both families, a prefix its own family\'s, as ip 6.1 over Linux 6.18', () => {
  const { r } = router();
  const ip = (args: string) => runCommand(r.ns, `ip ${args}`);
  ip('neigh add 192.168.1.3 lladdr 02:00:00:00:00:03 dev qr-1 nud stale');
  ip('-6 neigh add 2001:db8:1::3 lladdr 02:00:00:00:00:03 dev qr-1 nud stale');
  const v4 = '192.168.1.3 dev qr-1 lladdr 02:00:00:00:00:03 STALE \n', v6 = '2001:db8:1::3 dev qr-1 lladdr 02:00:00:00:00:03 STALE \n';
  for (const [q, want] of [['all', v4 + v6], ['default', v4 + v6], ['0.0.0.0/0', v4], ['::/0', v6], ['2001:db8::/32', v6], ['-6 neigh show all', v6], ['-4 neigh show all', v4]] as const) {
    assert.equal(ip(q.startsWith('-') ? q : `neigh show ${q}`), want, q);
  }
  ip('neigh flush all');
  assert.equal(ip('neigh show nud all'), '');
});

test('ip neigh replace without router clears the flag in either family; arp -s would keep it (Linux 6.18)', () => {
  const { r } = router();
  const ip = (args: string) => runCommand(r.ns, `ip ${args}`);
  ip('neigh add 192.168.1.9 lladdr 02:00:00:00:00:09 dev qr-1 router');
  ip('-6 neigh add 2001:db8::9 lladdr 02:00:00:00:00:09 dev qr-1 router');
  assert.equal(ip('neigh show dev qr-1'), '192.168.1.9 lladdr 02:00:00:00:00:09 router PERMANENT \n2001:db8::9 lladdr 02:00:00:00:00:09 router PERMANENT \n');
  ip('neigh replace 192.168.1.9 lladdr 02:00:00:00:00:09 dev qr-1');
  ip('-6 neigh change 2001:db8::9 lladdr 02:00:00:00:00:08 dev qr-1');
  assert.equal(ip('neigh show dev qr-1'), '192.168.1.9 lladdr 02:00:00:00:00:09 PERMANENT \n2001:db8::9 lladdr 02:00:00:00:00:08 PERMANENT \n');
  // SIOCSARP's update (arp -s) asks no router flag of its own.
  ip('neigh replace 192.168.1.9 lladdr 02:00:00:00:00:09 dev qr-1 router');
  r.ns.neighSet({ ip: 0xc0a80109, dev: 'qr-1', lladdr: 0x020000000021 }, 'replace', 0);
  assert.equal(ip('neigh show 192.168.1.9'), '192.168.1.9 dev qr-1 lladdr 02:00:00:00:00:21 router PERMANENT \n');
});
