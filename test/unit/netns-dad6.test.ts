// IPv6 duplicate address detection in a namespace element (dad6.ts): an
// address `ip -6 addr add` gives at runtime is tentative, solicited from ::
// as the kernel solicits it (its frames byte for byte as Linux 6.18 sent
// them: tcpdump -xx on the peer of a kernel namespace's veth with the qr-
// port's MAC, `ip -6 addr add 2001:db8:7::N/64` there, enhanced_dad off
// and on), and valid a retrans_time after its last solicitation; another
// node's NA or DAD NS for it makes it `dadfailed tentative`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCommand } from '../../src/netns/ip-text.js';
import { icmpv6ChecksumOk, icmpv6SetChecksum } from '../../src/wire/icmpv6.js';
import { aroundChange, listenNetlink } from '../../src/netns/netlink-events.js';
import { namespaceOnWire } from '../helpers/netns-wire.js';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

// The kernel's DAD NS for 2001:db8:7::1 with enhanced_dad 0: from ::, to ff02::1:ff00:1, no option.
const DAD_NS = hex(`3333 ff00 0001 fa16 3e06 d87b 86dd 6000 0000 0018 3aff 0000 0000 0000 0000 0000
  0000 0000 0000 ff02 0000 0000 0000 0000 0001 ff00 0001 8700 4ce6 0000 0000 2001
  0db8 0007 0000 0000 0000 0000 0001`);
// With enhanced_dad 1 (the default), for 2001:db8:7::2: a nonce option (14, length 1), here 2bdc0a37c40c.
const DAD_NS_NONCE = hex(`3333 ff00 0002 fa16 3e06 d87b 86dd 6000 0000 0020 3aff 0000 0000 0000 0000 0000
  0000 0000 0000 ff02 0000 0000 0000 0000 0001 ff00 0002 8700 44bb 0000 0000 2001
  0db8 0007 0000 0000 0000 0000 0002 0e01 2bdc 0a37 c40c`);

/** An ND message from fa:16:3e:b2:ef:af: `type` 135 (NS) or 136 (NA), from `src` to `dst` (eth `edst`), for `target`, with `opts` after it. */
function nd(type: number, src: string, dst: string, edst: string, flags: number, target: string, opts = ''): Uint8Array {
  const body = hex(`${type.toString(16)}00 0000 ${flags.toString(16).padStart(2, '0')}00 0000 ${target} ${opts}`);
  const f = new Uint8Array(14 + 40 + body.length);
  f.set(hex(`${edst} fa16 3eb2 efaf 86dd 6000 0000 ${body.length.toString(16).padStart(4, '0')} 3aff ${src} ${dst}`));
  f.set(body, 54);
  icmpv6SetChecksum(f, 14, 54, body.length);
  return f;
}
const A1 = '2001 0db8 0007 0000 0000 0000 0000 0001', ANY = '0000'.repeat(8), ALL_NODES = 'ff02 0000 0000 0000 0000 0000 0000 0001';
const SOL1 = 'ff02 0000 0000 0000 0000 0001 ff00 0001';
/** Another node's NA for 2001:db8:7::1 (it has it): to all-nodes, override, its link-layer address. */
const THEIR_NA = nd(136, A1, ALL_NODES, '3333 0000 0001', 0x20, A1, '0201 fa16 3eb2 efaf');
/** Another node's DAD NS for 2001:db8:7::1 (from ::, to its solicited-node group, its own nonce). */
const THEIR_NS = nd(135, ANY, SOL1, '3333 ff00 0001', 0, A1, '0e01 0102 0304 0506');
/** A neighbour's NS for 2001:db8:7::1 (from its own address, with its link-layer address). */
const RESOLVE = nd(135, '2001 0db8 0007 0000 0000 0000 0000 0005', SOL1, '3333 ff00 0001', 0, A1, '0101 fa16 3eb2 efaf');

function router() {
  const { e, r, wire, send, ip, step } = namespaceOnWire('fa:16:3e:06:d8:7b');
  /** `ms` of emulated time, 10 ms at a time, the timers run after each. */
  const later = (ms: number) => {
    for (let t = 0; t < ms; t += 10) step();
  };
  // The MLD reports the adds send (mld6.ts, test/unit/netns-mld6.test.ts) are left out: DAD's frames alone.
  const dad = { take: () => wire.take().filter((f) => toHex(f.subarray(0, 6)) !== '333300000016') };
  return { e, r, send, wire: dad, ip, later };
}

const addrOf = (ip: (a: string) => string) => ip('-6 addr show dev qr-1').split('\n').filter((l) => l.includes('2001:db8')).join('\n');

test('ip -6 addr add: tentative without its local route, one NS from :: (the kernel\'s bytes) within a second, valid a retrans_time later with its local and anycast routes', () => {
  const { r, wire, ip, later } = router();
  ip('-6 route show table all'); // nothing yet of 2001:db8:7::
  r.ns.setSysctl('net.ipv6.conf.qr-1.enhanced_dad', 0);
  r.ns.setSysctl('net.ipv6.conf.all.enhanced_dad', 0);
  ip('-6 addr add 2001:db8:7::1/64 dev qr-1');
  assert.equal(addrOf(ip), '    inet6 2001:db8:7::1/64 scope global tentative ');
  const routes = ip('-6 route show table all');
  assert.match(routes, /^2001:db8:7::\/64 dev qr-1 proto kernel metric 256 pref medium$/m);
  assert.doesNotMatch(routes, /local 2001:db8:7::1|anycast 2001:db8:7::/);
  // The first NS within rtr_solicit_delay (1 s); then none until DAD is over, a second after it.
  later(1000);
  const sent = wire.take();
  assert.deepEqual(sent.map(toHex), [toHex(DAD_NS)]);
  assert.equal(addrOf(ip), '    inet6 2001:db8:7::1/64 scope global tentative ');
  later(1000);
  assert.equal(addrOf(ip), '    inet6 2001:db8:7::1/64 scope global ');
  assert.deepEqual(wire.take(), []);
  const now = ip('-6 route show table all');
  assert.match(now, /^local 2001:db8:7::1 dev qr-1 table local proto kernel metric 0 pref medium$/m);
  assert.match(now, /^anycast 2001:db8:7:: dev qr-1 table local proto kernel metric 0 pref medium$/m);
});

test('enhanced_dad (the default): the NS carries a nonce option, as the kernel\'s; dad_transmits 3 sends three, retrans_time apart; nodad and accept_dad 0 none', () => {
  const { r, wire, ip, later } = router();
  ip('-6 addr add 2001:db8:7::2/64 dev qr-1');
  later(1000);
  const [f] = wire.take();
  assert.ok(f && icmpv6ChecksumOk(f, 14, 54, f.length - 54));
  const masked = (b: Uint8Array) => toHex(Uint8Array.from(b, (x, i) => (i === 56 || i === 57 || i >= 80 ? 0 : x)));
  assert.equal(masked(f), masked(DAD_NS_NONCE));
  later(1000);
  r.ns.setSysctl('net.ipv6.conf.qr-1.dad_transmits', 3);
  r.ns.setSysctl('net.ipv6.neigh.qr-1.retrans_time_ms', 500);
  ip('-6 addr add 2001:db8:7::3/64 dev qr-1');
  const ns: number[] = [];
  for (let t = 0; ns.length < 3; t += 10) {
    assert.ok(t < 2000, 'three NS within 2 s');
    later(10);
    if (wire.take().length !== 0) ns.push(t);
  }
  assert.deepEqual([ns[1]! - ns[0]!, ns[2]! - ns[1]!], [500, 500]);
  assert.match(addrOf(ip), /2001:db8:7::3\/64 scope global tentative/);
  later(490);
  assert.match(addrOf(ip), /2001:db8:7::3\/64 scope global tentative/);
  later(10);
  assert.doesNotMatch(addrOf(ip), /tentative/);
  ip('-6 addr add 2001:db8:7::4/64 dev qr-1 nodad');
  // DAD runs if all's accept_dad or the device's is 1 or more.
  r.ns.setSysctl('net.ipv6.conf.qr-1.accept_dad', 0);
  ip('-6 addr add 2001:db8:7::5/64 dev qr-1');
  later(3000);
  assert.equal(wire.take().length, 3);
  r.ns.setSysctl('net.ipv6.conf.all.accept_dad', 0);
  ip('-6 addr add 2001:db8:7::6/64 dev qr-1');
  later(2000);
  assert.deepEqual(wire.take(), []);
  assert.doesNotMatch(addrOf(ip), /tentative/);
});

test('a tentative address is not answered for, not a source, not delivered to; another node\'s NA makes it dadfailed tentative for good, told to ip monitor as the kernel tells it', () => {
  const { r, send, wire, ip, later } = router();
  const heard: string[] = [];
  listenNetlink(r.ns, (ev) => heard.push(ev.text));
  const told = aroundChange(r.ns, 'address');
  ip('-6 addr add 2001:db8:7::1/64 dev qr-1');
  told!();
  assert.deepEqual(heard, ['2001:db8:7::/64 dev qr-1 proto kernel metric 256 pref medium\n', '2: qr-1    inet6 2001:db8:7::1/64 scope global tentative \n       valid_lft forever preferred_lft forever\n']);
  send(RESOLVE);
  assert.deepEqual(wire.take(), []);
  // ping -6 2001:db8:7::5 goes from the link-local (ipv6_dev_get_saddr passes the tentative address over).
  assert.equal(r.inet6.openPing({ dst: hex('2001 0db8 0007 0000 0000 0000 0000 0005') }, () => {}).source, 'fe80::f816:3eff:fe06:d87b');
  later(300);
  send(THEIR_NA);
  later(2000);
  assert.equal(addrOf(ip), '    inet6 2001:db8:7::1/64 scope global dadfailed tentative ');
  assert.deepEqual(heard.slice(2), ['2: qr-1    inet6 2001:db8:7::1/64 scope global dadfailed tentative \n       valid_lft forever preferred_lft forever\n']);
  assert.doesNotMatch(ip('-6 route show table all'), /local 2001:db8:7::1/);
  send(RESOLVE);
  later(2000);
  assert.deepEqual(wire.take().filter((f) => f[54] === 136), []);
});

test('another node\'s DAD NS for the same address fails it; the topology\'s addresses (no dad) are valid at once', () => {
  const { r, send, ip, later } = router();
  ip('-6 addr add 2001:db8:7::1/64 dev qr-1');
  later(10);
  send(THEIR_NS);
  later(10);
  assert.equal(addrOf(ip), '    inet6 2001:db8:7::1/64 scope global dadfailed tentative ');
  runCommand(r.ns, 'ip -6 addr add 2001:db8:8::1/64 dev qr-1');
  assert.match(ip('-6 addr show dev qr-1'), /inet6 2001:db8:8::1\/64 scope global \n/);
});

test('a device down: the address waits, tentative, until it is up; accept_dad 2 and a duplicate of the EUI-64 link-local: IPv6 off on the device', () => {
  const { r, send, wire, ip, later } = router();
  ip('link set qr-1 down');
  ip('-6 addr add 2001:db8:7::1/64 dev qr-1');
  later(3000);
  assert.deepEqual(wire.take(), []);
  assert.match(addrOf(ip), /tentative/);
  ip('link set qr-1 up');
  later(3000);
  assert.equal(wire.take().filter((f) => f[54] === 135).length, 1);
  assert.equal(addrOf(ip), '    inet6 2001:db8:7::1/64 scope global ');

  const LL = 'fe80 0000 0000 0000 f816 3eff fe06 d87b';
  r.ns.setSysctl('net.ipv6.conf.qr-1.accept_dad', 2);
  ip('-6 addr del fe80::f816:3eff:fe06:d87b/64 dev qr-1');
  ip('-6 addr add fe80::f816:3eff:fe06:d87b/64 dev qr-1');
  later(10);
  send(nd(136, LL, ALL_NODES, '3333 0000 0001', 0x20, LL, '0201 fa16 3eb2 efaf'));
  later(10);
  assert.equal(r.ns.getSysctl('net.ipv6.conf.qr-1.disable_ipv6'), 1);
  assert.equal(ip('-6 addr show dev qr-1'), '');
});
