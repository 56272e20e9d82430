// The NORMAL action as OVS xlate_normal does it: per-VLAN learning with
// ageing, flooding within the VLAN, tag handling on access, trunk and native
// ports, and `ovs-appctl fdb/show`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rig, seen, icmp, MAC } from './ofproto-bridge-fixtures.js';
import { MacLearning } from '../../src/ofproto/fdb.js';

const A = 'fa:16:3e:00:00:0a', B = 'fa:16:3e:00:00:0b', C = 'fa:16:3e:00:00:0c';

function access() {
  const r = rig();
  const br = r.bridge('br-int', { failMode: 'secure' });
  br.addFlow('table=0,priority=0 actions=NORMAL');
  const a = br.addOvsPort('tapa', { ofport: 1, tag: 10 });
  const b = br.addOvsPort('tapb', { ofport: 2, tag: 10 });
  const c = br.addOvsPort('tapc', { ofport: 3, tag: 20 });
  const t = br.addOvsPort('eth1', { ofport: 4 }); // trunk, all VLANs
  return { r, br, a, b, c, t, sa: r.sink(a), sb: r.sink(b), sc: r.sink(c), st: r.sink(t) };
}

test('unknown destination floods within the VLAN: untagged to access ports, tagged to trunks', () => {
  const { r, br, a, sa, sb, sc, st } = access();
  r.send(a, icmp(A, B));
  assert.equal(sa.frames.length, 0, 'never back to the input port');
  assert.match(seen(sb)[0]!, /^fa:16:3e:00:00:0a > fa:16:3e:00:00:0b, ethertype IPv4 \(0x0800\), length 142/);
  assert.equal(sc.frames.length, 0, 'VLAN 20 port does not see VLAN 10');
  assert.match(seen(st)[0]!, /ethertype 802\.1Q \(0x8100\), length 146: vlan 10, p 0, ethertype IPv4/);
  assert.equal(br.fdbShow(), ' port  VLAN  MAC                Age\n    1    10  fa:16:3e:00:00:0a    0\n');
});

test('a learned destination is forwarded to its port only', () => {
  const { r, br, a, b, sa, sb, st } = access();
  r.send(a, icmp(A, B));
  seen(sb), seen(st);
  r.send(b, icmp(B, A));
  assert.equal(seen(sa).length, 1);
  assert.equal(st.frames.length, 0, 'no flood once A is known');
  r.send(a, icmp(A, B));
  assert.equal(seen(sb).length, 1);
  assert.equal(st.frames.length, 0);
  assert.deepEqual(br.fdb.entries().map((e) => [e.port, e.vlan]), [[1, 10], [2, 10]]);
});

test('the same MAC in two VLANs is two entries; a frame for a MAC learned elsewhere in another VLAN floods', () => {
  const { r, br, a, c, t, sc, st } = access();
  r.send(a, icmp(A, B));
  r.send(c, icmp(A, C));
  seen(st);
  r.send(t, icmp(C, A, { vlans: [20] }));
  assert.equal(seen(sc).length, 1, 'A in VLAN 20 is on port 3');
  assert.equal(br.fdb.size, 3);
});

test('ageing: an entry lives 300 s after it was last seen, refreshed by traffic', () => {
  const { r, br, a, b, sb, st } = access();
  r.send(a, icmp(A, B));
  r.advance(200_000);
  assert.equal(br.fdbShow(), ' port  VLAN  MAC                Age\n    1    10  fa:16:3e:00:00:0a  200\n');
  r.send(a, icmp(A, C)); // refresh
  r.advance(299_000);
  assert.match(br.fdbShow(), /fa:16:3e:00:00:0a  299\n/);
  seen(st);
  r.send(b, icmp(B, A));
  assert.equal(st.frames.length, 0, 'still known at 299 s');
  r.advance(300_000);
  assert.doesNotMatch(br.fdbShow(), /00:00:0a/, 'A aged out 300 s after its refresh');
  r.send(b, icmp(B, A));
  assert.equal(seen(st).length, 1, 'flooded again');
  seen(sb);
});

test('fdb entries are listed least recently refreshed first, and a MAC that moves follows', () => {
  const { r, br, a, b } = access();
  r.send(a, icmp(A, C));
  r.advance(2000);
  r.send(b, icmp(B, C));
  r.advance(3000);
  r.send(a, icmp(A, C));
  assert.equal(br.fdbShow(), ' port  VLAN  MAC                Age\n    2    10  fa:16:3e:00:00:0b    3\n    1    10  fa:16:3e:00:00:0a    0\n');
  r.send(b, icmp(A, C));
  assert.match(br.fdbShow(), /    2    10  fa:16:3e:00:00:0a    0\n$/);
});

test('a destination learned on the input port is dropped (no hairpin)', () => {
  const { r, br, a, b, sb } = access();
  r.send(a, icmp(A, C));
  r.send(a, icmp(C, A)); // A was learned on port 1, and this frame came in on port 1
  assert.equal(sb.frames.length, 1, 'only the first frame flooded');
  assert.equal(r.drops(br, 'no_output'), 1);
  assert.ok(b);
});

test('tagged frames are refused on access ports; trunks= limits a trunk', () => {
  const r = rig();
  const br = r.bridge('br0', { failMode: 'secure' });
  br.addFlow('actions=NORMAL');
  const a = br.addOvsPort('a', { ofport: 1, tag: 10 });
  const t1 = br.addOvsPort('t1', { ofport: 2, trunks: [20, 30] });
  const t2 = br.addOvsPort('t2', { ofport: 3 });
  const [sa, s1, s2] = [r.sink(a), r.sink(t1), r.sink(t2)];
  r.send(a, icmp(A, B, { vlans: [10] }));
  assert.equal(r.drops(br, 'vlan_mismatch'), 1);
  r.send(a, icmp(A, B));
  assert.equal(s1.frames.length, 0, 'VLAN 10 is not in t1 trunks');
  assert.equal(seen(s2).length, 1);
  r.send(t2, icmp(B, A, { vlans: [10] }));
  assert.match(seen(sa)[0]!, /ethertype IPv4 \(0x0800\), length 142/, 'the tag comes off on the access port');
  r.send(t1, icmp(B, A, { vlans: [10] }));
  assert.equal(r.drops(br, 'vlan_mismatch'), 2, 't1 does not trunk VLAN 10');
  r.send(t2, icmp(C, B));
  assert.match(seen(s2).concat(seen(s1)).join(), /^$/, 'untagged on a trunk is VLAN 0: nobody else carries it');
  assert.match(br.fdbShow(), /    3     0  fa:16:3e:00:00:0c    0/);
});

test('priority bits survive NORMAL on trunks (PCP kept from the input tag)', () => {
  const r = rig();
  const br = r.bridge('br0', { failMode: 'secure' });
  br.addFlow('actions=NORMAL');
  const t1 = br.addOvsPort('t1', { ofport: 1 });
  const t2 = br.addOvsPort('t2', { ofport: 2 });
  const s2 = r.sink(t2);
  r.sink(t1);
  r.send(t1, icmp(A, B, { vlans: [] }));
  r.send(t1, { ...icmp(A, B), vlans: [{ vid: 5, pcp: 6 }] });
  const out = seen(s2);
  assert.match(out[0]!, /length 142/);
  assert.match(out[1]!, /vlan 5, p 6,/);
});

test('native-untagged: the native VLAN leaves untagged, others tagged; untagged input joins the native VLAN', () => {
  const r = rig();
  const br = r.bridge('br0', { failMode: 'secure' });
  br.addFlow('actions=NORMAL');
  const n = br.addOvsPort('n', { ofport: 1, tag: 10, vlanMode: 'native-untagged' });
  const a10 = br.addOvsPort('a10', { ofport: 2, tag: 10 });
  const t = br.addOvsPort('t', { ofport: 3 });
  const [sn, s10, st] = [r.sink(n), r.sink(a10), r.sink(t)];
  r.send(n, icmp(A, B));
  assert.match(seen(s10)[0]!, /length 142/);
  assert.match(seen(st)[0]!, /vlan 10, p 0/);
  r.send(t, icmp(B, C, { vlans: [10] }));
  assert.match(seen(sn)[0]!, /^fa:16:3e:00:00:0b > fa:16:3e:00:00:0c, ethertype IPv4/, 'native VLAN: no tag');
  r.send(t, icmp(B, C, { vlans: [30] }));
  assert.match(seen(sn)[0]!, /vlan 30, p 0/, 'other VLANs keep their tag');
  const nt = br.addOvsPort('nt', { ofport: 4, tag: 10, vlanMode: 'native-tagged' });
  const snt = r.sink(nt);
  r.send(a10, icmp(C, 'fa:16:3e:00:00:99'));
  assert.match(seen(snt)[0]!, /vlan 10, p 0/, 'native-tagged keeps the tag on output');
});

test('reserved multicast (01:80:c2:00:00:0x) is never forwarded by NORMAL', () => {
  const { r, br, a, sb, st } = access();
  r.send(a, { src: A, dst: '01:80:c2:00:00:00', ethertype: 38, payload: new Array(38).fill(0) });
  assert.equal(sb.frames.length + st.frames.length, 0);
  assert.equal(br.fdb.size, 0, 'and nothing is learned from it');
});

test('multicast and broadcast always flood; a multicast source is never learned', () => {
  const { r, br, a, b, sb, st } = access();
  r.send(b, icmp(B, A));
  r.send(a, icmp(A, 'ff:ff:ff:ff:ff:ff'));
  assert.equal(seen(sb).length, 1);
  assert.equal(seen(st).length, 2);
  r.send(a, icmp('01:00:5e:00:00:01', B));
  assert.equal(br.fdb.size, 2);
});

test("br-ex (SCENARIO rows 15-16): fip-vif.103 tag 103 internal, eth3 trunk: the frame leaves tagged 103, 146 bytes", () => {
  const r = rig();
  const br = r.bridge('br-ex', { failMode: 'secure' }, 'w02');
  br.addFlow('table=0, priority=0 actions=NORMAL');
  const eth3 = br.addOvsPort('eth3', { ofport: 1 });
  const vif = br.addOvsPort('fip-vif.103', { ofport: 5, tag: 103, type: 'internal' });
  const s3 = r.sink(eth3);
  const sv = r.sink(vif);
  r.send(eth3, icmp(MAC.gw, 'ff:ff:ff:ff:ff:ff', { vlans: [103], ipSrc: '10.206.221.193', ipDst: '10.206.221.255' }));
  seen(sv);
  r.send(vif, icmp(MAC.fipVif, MAC.gw, { ipSrc: '112.65.210.200', ipDst: '8.8.8.8', ttl: 62 }));
  assert.deepEqual(seen(s3), [
    'fa:17:3e:f7:cd:bc > 5c:c9:99:60:d2:71, ethertype 802.1Q (0x8100), length 146: vlan 103, p 0, ethertype IPv4 (0x0800), 112.65.210.200 > 8.8.8.8: ICMP echo request, id 60691, seq 1, length 108',
  ]);
  r.send(eth3, icmp(MAC.gw, MAC.fipVif, { vlans: [103], ipSrc: '8.8.8.8', ipDst: '112.65.210.200' }));
  assert.match(seen(sv)[0]!, /^5c:c9:99:60:d2:71 > fa:17:3e:f7:cd:bc, ethertype IPv4 \(0x0800\), length 142: 8\.8\.8\.8 > 112\.65\.210\.200/);
  assert.equal(
    br.fdbShow(),
    ' port  VLAN  MAC                Age\n    1   103  5c:c9:99:60:d2:71    0\n    5   103  fa:17:3e:f7:cd:bc    0\n',
  );
});

test('fdb/show prints LOCAL for the bridge port and evicts fairly when full', () => {
  const ml = new MacLearning(300, 3);
  ml.learn(0xfa16, 1, 10, 65534, 0);
  ml.learn(0xfa16, 2, 10, 1, 0);
  ml.learn(0xfa16, 3, 10, 1, 0);
  ml.learn(0xfa16, 4, 10, 2, 1); // full: port 1 has the most entries, its oldest goes
  assert.equal(ml.show(1), ' port  VLAN  MAC                Age\nLOCAL    10  fa:16:00:00:00:01    1\n    1    10  fa:16:00:00:00:03    1\n    2    10  fa:16:00:00:00:04    0\n');
});

test('fdb: a MAC whose low word is above 2^31 is one entry whether the word comes signed or unsigned', () => {
  const ml = new MacLearning(300, 10);
  assert.equal(ml.learn(0x5cc9, 0x9960d271, 103, 4, 0), true);
  assert.equal(ml.learn(0x5cc9, 0x9960d271 | 0, 103, 4, 0), false, 'the same entry, refreshed');
  assert.equal(ml.lookup(0x5cc9, 0x9960d271 | 0, 103, 1)?.port, 4);
  assert.equal(ml.peek(0x5cc9, 0x9960d271, 103)?.macLo, 0x9960d271);
  assert.equal(ml.lookup(0x5cc9, 0x9960d271, 104, 1), null, 'another VLAN');
  assert.equal(ml.learn(0x5cc9, 0x9960d271 | 0, 103, 5, 2), true, 'a move');
  assert.equal(ml.size, 1);
  assert.equal(ml.show(2), ' port  VLAN  MAC                Age\n    5   103  5c:c9:99:60:d2:71    0\n');
  ml.flushPort(5);
  assert.equal(ml.size, 0);
  assert.equal(ml.lookup(0x5cc9, 0x9960d271, 103, 2), null);
});
