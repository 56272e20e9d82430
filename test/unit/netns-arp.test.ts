// arp_process: which requests are answered (arp_ignore, arp_filter, proxy
// ARP), which ARP packets create or update entries, and the sender address
// of our own requests (arp_announce).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatIp4, parseIp4 } from '../../src/netns/addr.js';
import { arpAnnounceSource } from '../../src/netns/arp-policy.js';
import { arpProcess, ARPOP_REPLY, ARPOP_REQUEST, type ArpPacket } from '../../src/netns/arp.js';
import { runCommands } from '../../src/netns/ip-text.js';
import { NUD } from '../../src/netns/neighbour.js';
import { Netns } from '../../src/netns/netns.js';

const ip = (s: string) => parseIp4(s)!;
const PEER = 0x0200000000aa;

/** eth0 10.0.0.1/24, eth1 10.1.0.1/24 and a secondary-looking second subnet 10.2.0.1/24 on eth1. */
function ns(): Netns<string> {
  const n = new Netns<string>();
  n.addLink({ name: 'eth0', kind: 'ether', mac: 0x020000000001, up: true });
  n.addLink({ name: 'eth1', kind: 'ether', mac: 0x020000000002, up: true });
  runCommands(n, 'ip addr add 10.0.0.1/24 dev eth0\nip addr add 10.1.0.1/24 dev eth1\nip addr add 10.2.0.1/24 dev eth1');
  return n;
}

const req = (sip: string, tip: string, sha = PEER): ArpPacket => ({ op: ARPOP_REQUEST, sha, sip: ip(sip), tha: 0, tip: ip(tip) });

test('arp_ignore=0 answers for any local address on any interface', () => {
  const n = ns();
  const r = arpProcess(n, req('10.0.0.9', '10.1.0.1'), 2, 'broadcast', 0);
  assert.deepEqual(r.reply, { ifindex: 2, at: 0, sha: 0x020000000001, sip: ip('10.1.0.1'), tha: PEER, tip: ip('10.0.0.9') });
  // neigh_event_ns: the requester is learnt as STALE.
  assert.equal(n.neigh.get(ip('10.0.0.9'), 2)?.state, NUD.STALE);
});

test('arp_ignore=1 (Neutron) answers only for addresses of the receiving interface', () => {
  const n = ns();
  n.setSysctl('net.ipv4.conf.all.arp_ignore', 1);
  assert.equal(arpProcess(n, req('10.0.0.9', '10.1.0.1'), 2, 'broadcast', 0).reply, undefined);
  assert.equal(n.neigh.get(ip('10.0.0.9'), 2), undefined, 'not answered: not learnt either');
  assert.ok(arpProcess(n, req('10.0.0.9', '10.0.0.1'), 2, 'broadcast', 0).reply);
  // The max of all and the device: the device alone can raise it too.
  const m = ns();
  m.setSysctl('net.ipv4.conf.eth0.arp_ignore', 1);
  assert.equal(arpProcess(m, req('10.0.0.9', '10.1.0.1'), 2, 'broadcast', 0).reply, undefined);
});

test('arp_ignore=2 also wants the sender inside the target address subnet', () => {
  const n = ns();
  n.setSysctl('net.ipv4.conf.all.arp_ignore', 2);
  assert.equal(arpProcess(n, req('10.3.0.9', '10.1.0.1'), 3, 'broadcast', 0).reply, undefined);
  assert.ok(arpProcess(n, req('10.1.0.9', '10.1.0.1'), 3, 'broadcast', 0).reply);
});

test('arp_filter answers only if the route back to the requester leaves the receiving interface', () => {
  const n = ns();
  n.setSysctl('net.ipv4.conf.all.arp_filter', 1);
  assert.equal(arpProcess(n, req('10.1.0.9', '10.0.0.1'), 2, 'broadcast', 0).reply, undefined);
  assert.ok(arpProcess(n, req('10.0.0.9', '10.0.0.1'), 2, 'broadcast', 0).reply);
});

test('replies and gratuitous ARP update existing entries only (arp_accept=0)', () => {
  const n = ns();
  const reply: ArpPacket = { op: ARPOP_REPLY, sha: PEER, sip: ip('10.0.0.7'), tha: 0x020000000001, tip: ip('10.0.0.1') };
  assert.deepEqual(arpProcess(n, reply, 2, 'host', 0).neigh, []);
  assert.equal(n.neigh.get(ip('10.0.0.7'), 2), undefined, 'unsolicited: not created');
  n.setSysctl('net.ipv4.conf.eth0.arp_accept', 1);
  arpProcess(n, reply, 2, 'host', 0);
  assert.equal(n.neigh.get(ip('10.0.0.7'), 2)?.state, NUD.REACHABLE, 'with arp_accept: created from a unicast reply');
  // A gratuitous announcement moves an existing entry at once (override), but only to STALE.
  const garp: ArpPacket = { op: ARPOP_REQUEST, sha: 0x0200000000bb, sip: ip('10.0.0.7'), tha: 0, tip: ip('10.0.0.7') };
  arpProcess(n, garp, 2, 'broadcast', 100);
  const e = n.neigh.get(ip('10.0.0.7'), 2)!;
  assert.equal(e.mac, 0x0200000000bb);
  assert.equal(e.state, NUD.STALE);
  n.setSysctl('net.ipv4.conf.all.drop_gratuitous_arp', 1);
  assert.match(arpProcess(n, { ...garp, sha: 0x0200000000cc }, 2, 'broadcast', 5000).note ?? '', /drop_gratuitous_arp/);
  assert.equal(e.mac, 0x0200000000bb);
});

test('a second, different reply within locktime (1 s) does not replace the first', () => {
  const n = ns();
  n.neigh.resolve(ip('10.0.0.7'), 2, 0, { pkt: 'p', bytes: 100, src: ip('10.0.0.1') });
  const rep = (sha: number, at: number) => arpProcess(n, { op: ARPOP_REPLY, sha, sip: ip('10.0.0.7'), tha: 0x020000000001, tip: ip('10.0.0.1') }, 2, 'host', at);
  assert.equal(rep(0x0200000000a1, 10).neigh[0]?.kind, 'flush');
  rep(0x0200000000a2, 500);
  assert.equal(n.neigh.get(ip('10.0.0.7'), 2)!.mac, 0x0200000000a1);
  rep(0x0200000000a2, 1500);
  assert.equal(n.neigh.get(ip('10.0.0.7'), 2)!.mac, 0x0200000000a2);
});

test('a broadcast reply or a request does not confirm reachability: STALE', () => {
  const n = ns();
  n.neigh.resolve(ip('10.0.0.7'), 2, 0);
  arpProcess(n, { op: ARPOP_REPLY, sha: PEER, sip: ip('10.0.0.7'), tha: 0, tip: ip('10.0.0.1') }, 2, 'broadcast', 10);
  assert.equal(n.neigh.get(ip('10.0.0.7'), 2)!.state, NUD.STALE);
});

test('duplicate address detection probes (sender 0.0.0.0) are answered, nothing learnt', () => {
  const n = ns();
  const r = arpProcess(n, req('0.0.0.0', '10.0.0.1'), 2, 'broadcast', 0);
  assert.equal(r.reply?.tip, 0);
  assert.equal(n.neigh.size, 0);
  assert.equal(arpProcess(n, req('0.0.0.0', '10.0.0.77'), 2, 'broadcast', 0).reply, undefined);
});

test('proxy ARP: proxy_arp for targets routed out another interface, `ip neigh add proxy`, forwarding required', () => {
  const n = ns();
  n.setSysctl('net.ipv4.ip_forward', 1);
  runCommands(n, 'ip route add 192.0.2.0/24 via 10.1.0.254');
  const q = req('10.0.0.9', '192.0.2.10');
  assert.equal(arpProcess(n, q, 2, 'broadcast', 0).reply, undefined);
  n.setSysctl('net.ipv4.conf.eth0.proxy_arp', 1);
  const delayed = arpProcess(n, q, 2, 'broadcast', 1000);
  assert.ok(delayed.reply && delayed.reply.at >= 1000 && delayed.reply.at < 1800, 'held up to proxy_delay (0.8 s)');
  assert.equal(arpProcess(n, q, 2, 'host', 2000).reply?.at, 2000, 'unicast requests are answered at once');
  assert.equal(arpProcess(n, req('10.0.0.9', '10.0.0.77'), 2, 'broadcast', 0).reply, undefined, 'same interface: no');
  n.setSysctl('net.ipv4.conf.eth0.proxy_arp', 0);
  runCommands(n, 'ip neigh add proxy 192.0.2.10 dev eth0');
  assert.ok(arpProcess(n, q, 2, 'host', 3000).reply);
  n.setSysctl('net.ipv4.ip_forward', 0);
  assert.equal(arpProcess(n, q, 2, 'host', 4000).reply, undefined);
});

test('arp_announce picks the sender address of our requests', () => {
  const n = ns();
  const eth1 = n.link('eth1')!;
  // 0: the waiting packet's source when it is local, even from another subnet or interface.
  assert.equal(formatIp4(arpAnnounceSource(n, eth1, ip('10.1.0.9'), ip('10.0.0.1'))), '10.0.0.1');
  // 1: only if it shares a subnet with the target.
  n.setSysctl('net.ipv4.conf.eth1.arp_announce', 1);
  assert.equal(formatIp4(arpAnnounceSource(n, eth1, ip('10.1.0.9'), ip('10.0.0.1'))), '10.1.0.1');
  assert.equal(formatIp4(arpAnnounceSource(n, eth1, ip('10.2.0.9'), ip('10.2.0.1'))), '10.2.0.1');
  // 2 (Neutron): always the interface address on the target's subnet.
  n.setSysctl('net.ipv4.conf.all.arp_announce', 2);
  assert.equal(formatIp4(arpAnnounceSource(n, eth1, ip('10.2.0.9'), ip('10.1.0.1'))), '10.2.0.1');
  assert.equal(formatIp4(arpAnnounceSource(n, eth1, ip('192.0.2.1'), ip('10.1.0.1'))), '10.1.0.1', 'no subnet match: the first primary');
  // A forwarded packet's foreign source is never used.
  n.setSysctl('net.ipv4.conf.all.arp_announce', 0);
  n.setSysctl('net.ipv4.conf.eth1.arp_announce', 0);
  assert.equal(formatIp4(arpAnnounceSource(n, eth1, ip('10.1.0.9'), ip('8.8.8.8'))), '10.1.0.1');
});

test('frames for other hosts and NOARP devices are not processed', () => {
  const n = ns();
  assert.equal(arpProcess(n, req('10.0.0.9', '10.0.0.1'), 2, 'otherhost', 0).reply, undefined);
  assert.equal(arpProcess(n, req('10.0.0.9', '224.0.0.1'), 2, 'broadcast', 0).reply, undefined);
});
