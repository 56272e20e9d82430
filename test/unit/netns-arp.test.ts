// arp_process: which requests are answered (arp_ignore, arp_filter, proxy
// ARP), which ARP packets create or update entries, and the sender address
// of our own requests (arp_announce).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatIp4, parseIp4 } from '../../src/netns/addr.js';
import { arpAnnounceSource } from '../../src/netns/arp-policy.js';
import { arpProcess, ARPOP_REPLY, ARPOP_REQUEST, type ArpPacket } from '../../src/netns/arp.js';
import { runCommands } from '../../src/netns/ip-text.js';
import { NUD, nudName } from '../../src/netns/neighbour.js';
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

test('a veth pair as the kernel\'s: the side whose reachable time is within delay_first_probe_time probes its peer each round and never goes STALE; the peer answering it does', () => {
  // Linux 6.18, namespaces A (192.0.2.1) and B (192.0.2.2) over a veth, delay_first_probe_time=1 on both
  // ends, base_reachable_time_ms 500 on A (reachable 664 ms) and 3000 on B, A `ping -c 1` B. `ip monitor
  // neigh` (which prints no DELAY: the kernel does not notify it): A's entry REACHABLE, then PROBE and
  // REACHABLE each 1.7 s for as long as it ran; B's STALE, PROBE, REACHABLE, STALE 3.5 s later, and no
  // change after, though A's unicast requests kept coming (neigh_event_ns leaves a valid entry's state, and
  // the reply does not go out by B's entry). tcpdump: A's broadcast request and B's reply, B's unicast
  // request 1 s later (its entry DELAY from the echo reply) and A's reply, then A's unicast request and B's
  // reply each round.
  const side = (addr: string, mac: number, base: number): Netns<string> => {
    const n = new Netns<string>();
    n.addLink({ name: 'eth0', kind: 'ether', mac, up: true });
    runCommands(n, `ip addr add ${addr}/24 dev eth0`);
    n.setSysctl('net.ipv4.neigh.eth0.base_reachable_time_ms', base);
    n.setSysctl('net.ipv4.neigh.eth0.delay_first_probe_time', 1);
    return n;
  };
  const a = side('192.0.2.1', 0x0200000000a1, 500), b = side('192.0.2.2', 0x0200000000b2, 3000);
  const A = ip('192.0.2.1'), B = ip('192.0.2.2'), IF = a.mustLink('eth0').index;
  const seen = { a: [] as string[], b: [] as string[] };
  const requests = { a: 0, b: 0 };
  const note = (n: Netns<string>, peer: number, log: string[]): void => {
    const name = nudName(n.neigh.get(peer, IF)!.state);
    if (log[log.length - 1] !== name) log.push(name);
  };
  /** A request from `from` reaches `to`; its reply comes back. */
  const ask = (from: Netns<string>, to: Netns<string>, s: { senderIp: number; senderMac: number; target: number; dstMac?: number }, t: number): void => {
    const r = arpProcess(to, { op: ARPOP_REQUEST, sha: s.senderMac, sip: s.senderIp, tha: 0, tip: s.target }, IF, s.dstMac === undefined ? 'broadcast' : 'host', t);
    assert.ok(r.reply);
    arpProcess(from, { op: ARPOP_REPLY, sha: r.reply.sha, sip: r.reply.sip, tha: r.reply.tha, tip: r.reply.tip }, IF, 'host', t);
  };
  const ping = a.neigh.resolve(B, IF, 0, { pkt: 'echo', bytes: 1000, src: A });
  assert.ok(ping.kind === 'queued' && ping.solicit);
  ask(a, b, ping.solicit, 0);
  note(a, B, seen.a);
  note(b, A, seen.b);
  // B's echo reply goes out by its STALE entry.
  assert.equal(b.neigh.resolve(A, IF, 0).kind, 'send');
  note(b, A, seen.b);
  for (let t = 10; t <= 10_000; t += 10) {
    for (const [n, peer, other, k] of [[a, B, b, 'a'], [b, A, a, 'b']] as const) {
      for (const act of n.neigh.tick(t)) {
        assert.ok(act.kind === 'solicit' && act.dstMac === other.mustLink('eth0').mac, 'a unicast probe');
        requests[k]++;
        note(n, peer, seen[k]);
        ask(n, other, act, t);
      }
      note(n, peer, seen[k]);
    }
  }
  assert.ok(a.neigh.reachableTime(IF) < 1000 && b.neigh.reachableTime(IF) > 1000);
  const monitor = (log: string[]) => log.filter((s) => s !== 'DELAY');
  assert.ok(!seen.a.includes('STALE'), seen.a.join(' '));
  assert.ok(requests.a >= 5, `${requests.a} requests from A`);
  assert.deepEqual(monitor(seen.a).slice(0, 5), ['REACHABLE', 'PROBE', 'REACHABLE', 'PROBE', 'REACHABLE']);
  assert.deepEqual(monitor(seen.b), ['STALE', 'PROBE', 'REACHABLE', 'STALE']);
  assert.equal(requests.b, 1);
});
