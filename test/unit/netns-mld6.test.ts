// MLDv2 in a namespace element (mld6.ts): the reports an `ip -6 addr add`
// or `del` at runtime sends, and the answer to a query, byte for byte as
// Linux 6.18 sent them (tcpdump -xx on the peer of a kernel namespace's veth
// whose end has 02:00:00:00:00:aa, all.forwarding=1 before the veth came in,
// as a Neutron router's; `ip -6 addr add 2001:db8:1::1/64 dev D nodad`, then
// MLDv2 queries with a maximum response delay of 3000 ms from the peer).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { listenNetlink } from '../../src/netns/netlink-events.js';
import { namespaceOnWire } from '../helpers/netns-wire.js';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

const HEAD = `3333 0000 0016 0200 0000 00aa 86dd 6000 0000 0060 0001 fe80 0000 0000 0000 0000
  00ff fe00 00aa ff02 0000 0000 0000 0000 0000 0000 0016 3a00 0502 0000 0100 8f00`;
const GROUPS = (t: string) => `${t}00 0000 ff02 0000 0000 0000 0000 0001 ff00 0001 ${t}00 0000 ff02
  0000 0000 0000 0000 0001 ff00 0000 ${t}00 0000 ff02 0000 0000 0000 0000 0001 ff00
  00aa ${t}00 0000 ff02 0000 0000 0000 0000 0000 0000 0002`;
/** After the add: each group (the address's, the anycast fe80::'s, the link-local's, all-routers), newest first, CHANGE_TO_EXCLUDE. */
const REPORT_ADD = hex(`${HEAD} 6966 0000 0004 ${GROUPS('04')}`);
/** The answer to the general query: the same groups, MODE_IS_EXCLUDE. */
const REPORT_QUERY = hex(`${HEAD} 7166 0000 0004 ${GROUPS('02')}`);
/** The answer to a query for ff02::1:ff00:1. */
const REPORT_GSQ = hex(`3333 0000 0016 0200 0000 00aa 86dd 6000 0000 0024 0001 fe80 0000 0000 0000 0000
  00ff fe00 00aa ff02 0000 0000 0000 0000 0000 0000 0016 3a00 0502 0000 0100 8f00
  735e 0000 0001 0200 0000 ff02 0000 0000 0000 0000 0001 ff00 0001`);
const GENERAL_QUERY = hex(`3333 0000 0001 0200 0000 00bb 86dd 6000 0000 0024 0001 fe80 0000 0000 0000 0000
  00ff fe00 00bb ff02 0000 0000 0000 0000 0000 0000 0001 3a00 0502 0000 0100 8200
  7234 0bb8 0000 0000 0000 0000 0000 0000 0000 0000 0000 027d 0000`);
const GROUP_QUERY = hex(`3333 ff00 0001 0200 0000 00bb 86dd 6000 0000 0024 0001 fe80 0000 0000 0000 0000
  00ff fe00 00bb ff02 0000 0000 0000 0000 0001 ff00 0001 3a00 0502 0000 0100 8200
  752c 0bb8 0000 ff02 0000 0000 0000 0000 0001 ff00 0001 027d 0000`);
/** A general query from a global address: RFC 3810 6.2 has it dropped. */
const GLOBAL_QUERY = hex(`3333 0000 0001 0200 0000 00bb 86dd 6000 0000 0024 0001 2001 0db8 0001 0000 0000
  0000 0000 0009 ff02 0000 0000 0000 0000 0000 0000 0001 3a00 0502 0000 0100 8200
  4a7d 03e8 0000 0000 0000 0000 0000 0000 0000 0000 0000 027d 0000`);

function router() {
  const { e, r, wire, send, ip, step } = namespaceOnWire('02:00:00:00:00:aa');
  /** `ms` of emulated time, 10 ms at a time; returns the MLD reports that left meanwhile, with when. */
  const later = (ms: number) => {
    const out: { at: number; frame: Uint8Array }[] = [];
    for (let t = 0; t < ms; t += 10) {
      step();
      for (const f of wire.take()) if (toHex(f.subarray(0, 6)) === '333300000016') out.push({ at: e.now, frame: f });
    }
    return out;
  };
  return { r, send, ip, later };
}

test('nothing at start-up; ip -6 addr add: every group reported again, CHANGE_TO_EXCLUDE, twice (at once, then within the unsolicited interval), the kernel\'s bytes; ff02::16 NOARP', () => {
  const { ip, later } = router();
  assert.deepEqual(later(3000), [], 'nothing at start-up: the topology\'s groups send no report');
  ip('-6 addr add 2001:db8:1::1/64 dev qr-1 nodad');
  const sent = later(3000);
  assert.equal(sent.length, 2, 'two reports');
  for (const s of sent) assert.equal(toHex(s.frame), toHex(REPORT_ADD));
  assert.ok(sent[0]!.at <= 3000 + 10, 'the first at once');
  assert.ok(sent[1]!.at - sent[0]!.at <= 1000, 'the second within the interval');
  assert.match(ip('-6 neigh show nud all'), /^ff02::16 dev qr-1 lladdr 33:33:00:00:00:16 NOARP $/m);
  assert.equal(ip('-6 neigh'), '', 'a NOARP entry is listed only under nud all (or noarp)');
});

test('ip -6 addr del: the group left is reported CHANGE_TO_INCLUDE twice; one another address holds is not', () => {
  const { ip, later } = router();
  later(10);
  ip('-6 addr add 2001:db8:1::1/64 dev qr-1 nodad');
  ip('-6 addr add 2001:db8:2::1/64 dev qr-1 nodad');
  later(3000);
  ip('-6 addr del 2001:db8:2::1/64 dev qr-1');
  assert.deepEqual(later(3000), [], 'ff02::1:ff00:1 still held by 2001:db8:1::1');
  ip('-6 addr del 2001:db8:1::1/64 dev qr-1');
  const sent = later(3000);
  assert.equal(sent.length, 2);
  for (const s of sent) {
    const f = s.frame;
    assert.equal(toHex(f.subarray(62, 90)), `8f00${toHex(f.subarray(64, 66))}00000001` + '03000000' + 'ff0200000000000000000001ff000001');
  }
});

test('MLD queries: a general one answered within its delay with every group, MODE_IS_EXCLUDE; a group-specific one with its group; one from a global address not', () => {
  const { ip, send, later } = router();
  later(10);
  ip('-6 addr add 2001:db8:1::1/64 dev qr-1 nodad');
  later(3000);
  send(GENERAL_QUERY);
  let sent = later(3100);
  assert.equal(sent.length, 1);
  assert.equal(toHex(sent[0]!.frame), toHex(REPORT_QUERY));
  send(GROUP_QUERY);
  sent = later(3100);
  assert.equal(sent.length, 1);
  assert.equal(toHex(sent[0]!.frame), toHex(REPORT_GSQ));
  send(GLOBAL_QUERY);
  assert.deepEqual(later(3100), []);
});

test('forwarding turned on and off at runtime: ff05::2 and ff02::2 joined then left with the anycast\'s group', () => {
  const { r, ip, later } = router();
  r.ns.setSysctl('net.ipv6.conf.qr-1.forwarding', 0);
  later(10);
  ip('-6 addr add 2001:db8:1::1/64 dev qr-1 nodad');
  later(3000);
  const groups = (f: Uint8Array) => {
    const n = f[69]!, out: string[] = [];
    for (let i = 0; i < n; i++) out.push(`${f[70 + i * 20]} ${toHex(f.subarray(74 + i * 20, 90 + i * 20))}`);
    return out;
  };
  r.ns.setSysctl('net.ipv6.conf.qr-1.forwarding', 1);
  let sent = later(3000);
  assert.equal(sent.length, 2);
  assert.deepEqual(groups(sent[0]!.frame), ['4 ff0200000000000000000001ff000000', '4 ff050000000000000000000000000002', '4 ff020000000000000000000000000002']);
  r.ns.setSysctl('net.ipv6.conf.qr-1.forwarding', 0);
  sent = later(3000);
  assert.equal(sent.length, 2);
  assert.deepEqual(groups(sent[1]!.frame), ['3 ff0200000000000000000001ff000000', '3 ff050000000000000000000000000002', '3 ff020000000000000000000000000002']);
});

test('ip monitor: the ff02::16 NOARP entry comes untold, its deletion when the device goes down is told (Linux 6.18: `Deleted ff02::16 ... NOARP` alone)', () => {
  const { r, ip, later } = router();
  later(10);
  const heard: string[] = [];
  const stop = listenNetlink(r.ns, (ev) => {
    if (ev.group === 'neigh') heard.push(ev.text);
  });
  ip('-6 addr add 2001:db8:1::1/64 dev qr-1 nodad');
  assert.equal(later(3000).length, 2);
  assert.deepEqual(heard, []);
  ip('link set qr-1 down');
  assert.deepEqual(heard, ['Deleted ff02::16 dev qr-1 lladdr 33:33:00:00:00:16 NOARP \n']);
  assert.deepEqual(later(3000), [], 'down: no more reports');
  stop();
});

test('mldv2_unsolicited_report_interval: the device\'s bounds the second report\'s delay', () => {
  const { r, ip, later } = router();
  r.ns.setSysctl('net.ipv6.conf.qr-1.mldv2_unsolicited_report_interval', 200);
  assert.equal(r.ns.getSysctl('net.ipv6.conf.qr-1.mldv2_unsolicited_report_interval'), 200);
  assert.equal(r.ns.getSysctl('net.ipv6.conf.default.mldv2_unsolicited_report_interval'), 1000);
  later(10);
  for (let i = 1; i <= 5; i++) {
    ip(`-6 addr add 2001:db8:${i}::1/64 dev qr-1 nodad`);
    const sent = later(1000);
    assert.equal(sent.length, 2);
    assert.ok(sent[1]!.at - sent[0]!.at <= 200, `${sent[1]!.at - sent[0]!.at} ms apart`);
  }
});

test('the carrier back on a device with its link-local: every group reported again, twice (Linux 6.18: NETDEV_CHANGE\'s ipv6_mc_up)', () => {
  const { r, later } = router();
  later(10);
  r.ns.setCarrier('qr-1', false);
  assert.deepEqual(later(2000), []);
  r.ns.setCarrier('qr-1', true);
  const sent = later(2000);
  assert.equal(sent.length, 2);
  const groups = (f: Uint8Array) => Array.from({ length: f[69]! }, (_, i) => `${f[70 + i * 20]} ${toHex(f.subarray(74 + i * 20, 90 + i * 20))}`);
  for (const s of sent) assert.deepEqual(groups(s.frame), ['4 ff0200000000000000000001ff000000', '4 ff0200000000000000000001ff0000aa', '4 ff020000000000000000000000000002']);
});
