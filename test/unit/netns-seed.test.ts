// The write-up's three namespaces (SCENARIO.md), built from the text the
// write-up prints, route the traced packet the way the write-up shows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatIp4, formatMac, parseIp4, parseMac } from '../../src/netns/addr.js';
import { arpProcess, ARPOP_REPLY, ARPOP_REQUEST } from '../../src/netns/arp.js';
import { IpSyntaxError } from '../../src/netns/errors.js';
import { decreaseTtl, forwardCheck } from '../../src/netns/forward.js';
import { loadNeighbours, loadRoutes, loadRules, runCommands, showRoutes, showRules, showNeigh, showAddr } from '../../src/netns/ip-text.js';
import { NUD } from '../../src/netns/neighbour.js';
import { Netns } from '../../src/netns/netns.js';
import { routeInput, type InputDecision } from '../../src/netns/route-input.js';
import { icmpErrorRoute, routeOutput } from '../../src/netns/route-output.js';
import { NEUTRON_SYSCTLS } from '../../src/netns/sysctl.js';

const ip = (s: string) => parseIp4(s)!;
const mac = (s: string) => parseMac(s)!;

function neutron(ns: Netns, kind: 'qrouter' | 'snat' | 'fip'): void {
  for (const [k, v] of [...NEUTRON_SYSCTLS.common, ...NEUTRON_SYSCTLS[kind]]) ns.setSysctl(k, v);
}

function qrouter(): Netns<string> {
  const ns = new Netns<string>({ name: 'qrouter-c4d4b760-41b9-45e1-a607-d054da99c479' });
  neutron(ns, 'qrouter');
  ns.addLink({ name: 'qr-178fc8e2-fd', kind: 'internal', mac: mac('fa:16:3e:06:d8:7b'), mtu: 1450, up: true });
  ns.setSysctl('net.ipv4.conf.qr-178fc8e2-fd.send_redirects', 0);
  ns.addAddr('qr-178fc8e2-fd', { local: ip('192.168.1.1'), prefixLen: 24 });
  loadRules(ns, '0:\tfrom all lookup local\n32766:\tfrom all lookup main\n32767:\tfrom all lookup default\n3232235777:\tfrom 192.168.1.1/24 lookup 3232235777\n');
  loadRoutes(ns, 'default via 192.168.1.6 dev qr-178fc8e2-fd\n', { table: 3232235777 });
  loadNeighbours(
    ns,
    [
      '192.168.1.7 dev qr-178fc8e2-fd lladdr fa:16:3e:b2:ef:af PERMANENT',
      '192.168.1.13 dev qr-178fc8e2-fd lladdr fa:16:3e:b6:fb:42 PERMANENT',
      '192.168.1.6 dev qr-178fc8e2-fd lladdr fa:16:3e:d1:d8:49 PERMANENT',
      '192.168.1.10 dev qr-178fc8e2-fd lladdr fa:16:3e:95:02:b6 PERMANENT',
      '192.168.1.3 dev qr-178fc8e2-fd lladdr fa:16:3e:a9:38:b7 PERMANENT',
      '192.168.1.2 dev qr-178fc8e2-fd lladdr fa:16:3e:93:a3:f2 PERMANENT',
    ].join('\n'),
  );
  return ns;
}

function snat(): Netns<string> {
  const ns = new Netns<string>({ name: 'snat-c4d4b760-41b9-45e1-a607-d054da99c479' });
  neutron(ns, 'snat');
  ns.addLink({ name: 'sg-499291dc-d8', kind: 'internal', mac: mac('fa:16:3e:d1:d8:49'), mtu: 1450, up: true });
  ns.addLink({ name: 'rfp-c4d4b760-4', kind: 'veth', mac: mac('36:66:d5:bf:5e:e0'), up: true, peer: { ifindex: 2, netns: 'fip-4617ac50-7b34-4b05-811d-b2afc741d446' } });
  ns.addAddr('sg-499291dc-d8', { local: ip('192.168.1.6'), prefixLen: 24 });
  ns.addAddr('rfp-c4d4b760-4', { local: ip('169.254.96.32'), prefixLen: 31 });
  ns.addAddr('rfp-c4d4b760-4', { local: ip('112.65.210.200'), prefixLen: 32 });
  // As the write-up prints them (without "proto kernel scope link").
  loadRoutes(
    ns,
    [
      'default via 169.254.96.33 dev rfp-c4d4b760-4',
      '169.254.96.32/31 dev rfp-c4d4b760-4 src 169.254.96.32',
      '192.168.1.0/24 dev sg-499291dc-d8 src 192.168.1.6',
    ].join('\n'),
  );
  loadNeighbours(ns, '169.254.96.33 dev rfp-c4d4b760-4 lladdr 82:99:8f:5a:6b:ec PERMANENT\n');
  return ns;
}

function fip(): Netns<string> {
  const ns = new Netns<string>({ name: 'fip-4617ac50-7b34-4b05-811d-b2afc741d446' });
  neutron(ns, 'fip');
  ns.addLink({ name: 'fpr-c4d4b760-4', kind: 'veth', mac: mac('82:99:8f:5a:6b:ec'), up: true, peer: { ifindex: 3, netns: 'snat-c4d4b760-41b9-45e1-a607-d054da99c479' } });
  ns.addLink({ name: 'fip-vif.103', kind: 'internal', mac: mac('fa:17:3e:f7:cd:bc'), up: true });
  ns.addLink({ name: 'fpr-3bbebb1a-5', kind: 'veth', mac: mac('ce:4e:1a:0b:77:10'), up: true });
  ns.addAddr('fpr-c4d4b760-4', { local: ip('169.254.96.33'), prefixLen: 31 });
  ns.addAddr('fip-vif.103', { local: ip('10.206.221.195'), prefixLen: 26 });
  ns.addAddr('fpr-3bbebb1a-5', { local: ip('169.254.113.29'), prefixLen: 31 });
  loadRoutes(
    ns,
    [
      'default via 10.206.221.193 dev fip-vif.103',
      '10.206.221.192/26 dev fip-vif.103 proto kernel scope link src 10.206.221.195',
      '112.65.210.200 via 169.254.96.32 dev fpr-c4d4b760-4',
      '112.65.210.204 via 169.254.113.28 dev fpr-3bbebb1a-5',
      '169.254.96.32/31 dev fpr-c4d4b760-4 proto kernel scope link src 169.254.96.33',
      '169.254.113.28/31 dev fpr-3bbebb1a-5 proto kernel scope link src 169.254.113.29',
    ].join('\n'),
  );
  loadNeighbours(ns, '169.254.96.32 dev fpr-c4d4b760-4 lladdr 36:66:d5:bf:5e:e0 PERMANENT\n');
  return ns;
}

function forward(d: InputDecision): Extract<InputDecision, { kind: 'forward' }> {
  assert.equal(d.kind, 'forward', JSON.stringify(d));
  return d as Extract<InputDecision, { kind: 'forward' }>;
}

test('qrouter: rules and table print exactly as the write-up shows', () => {
  const ns = qrouter();
  assert.equal(
    showRules(ns),
    '0:\tfrom all lookup local\n32766:\tfrom all lookup main\n32767:\tfrom all lookup default\n3232235777:\tfrom 192.168.1.1/24 lookup 3232235777\n',
  );
  assert.equal(showRoutes(ns, 3232235777).trimEnd(), 'default via 192.168.1.6 dev qr-178fc8e2-fd');
  assert.equal(showRoutes(ns).trimEnd(), '192.168.1.0/24 dev qr-178fc8e2-fd proto kernel scope link src 192.168.1.1');
  assert.match(showNeigh(ns), /^192\.168\.1\.6 dev qr-178fc8e2-fd lladdr fa:16:3e:d1:d8:49 PERMANENT $/m);
  assert.match(showAddr(ns, 'qr-178fc8e2-fd'), /inet 192\.168\.1\.1\/24 brd 192\.168\.1\.255 scope global qr-178fc8e2-fd\n/);
});

test('qrouter sends 192.168.1.7 -> 8.8.8.8 to 192.168.1.6 at fa:16:3e:d1:d8:49, out the same qr-', () => {
  const ns = qrouter();
  const qr = ns.link('qr-178fc8e2-fd')!.index;
  const d = forward(routeInput(ns, { src: ip('192.168.1.7'), dst: ip('8.8.8.8'), iif: qr, tos: 0 }));
  // main has no match (fall-through), the source rule 3232235777 matches 192.168.1.7 inside 192.168.1.1/24.
  assert.equal(d.fib.rule?.priority, 3232235777);
  assert.equal(d.fib.table, 3232235777);
  assert.equal(formatIp4(d.nexthop), '192.168.1.6');
  assert.equal(d.oif, qr);
  assert.equal(d.mtu, 1450);
  assert.equal(d.redirect, false, 'Neutron turns send_redirects off, so no ICMP redirect for the hairpin');
  const n = ns.neigh.resolve(d.nexthop, d.oif, 0);
  assert.deepEqual(n, { kind: 'send', mac: mac('fa:16:3e:d1:d8:49') });
  // East-west stays in main: 192.168.1.10 is on-link.
  const ew = forward(routeInput(ns, { src: ip('192.168.1.7'), dst: ip('192.168.1.10'), iif: qr, tos: 0 }));
  assert.equal(ew.fib.table, 254);
  assert.equal(formatIp4(ew.nexthop), '192.168.1.10');
});

test('qrouter with send_redirects left on would also redirect the VM to 192.168.1.6', () => {
  const ns = qrouter();
  ns.setSysctl('net.ipv4.conf.qr-178fc8e2-fd.send_redirects', 1);
  ns.setSysctl('net.ipv4.conf.all.send_redirects', 0);
  const qr = ns.link('qr-178fc8e2-fd')!.index;
  // IN_DEV_TX_REDIRECTS is all OR dev: one of them is enough.
  assert.equal(forward(routeInput(ns, { src: ip('192.168.1.7'), dst: ip('8.8.8.8'), iif: qr, tos: 0 })).redirect, true);
});

test('the forwarded frame: TTL one less, checksum as the kernel rewrites it', () => {
  // 192.168.1.7 > 8.8.8.8 ICMP, total length 128 (frame 142), TTL 64, DF.
  const h = Uint8Array.from([0x45, 0, 0, 128, 0x12, 0x34, 0x40, 0, 64, 1, 0, 0, 192, 168, 1, 7, 8, 8, 8, 8]);
  const sum = (b: Uint8Array) => {
    let s = 0;
    for (let i = 0; i < 20; i += 2) s += (b[i]! << 8) | b[i + 1]!;
    while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
    return s;
  };
  const c = ~sum(h) & 0xffff;
  h[10] = c >>> 8;
  h[11] = c & 0xff;
  assert.equal(forwardCheck({ ttl: 64, totalLength: 128, df: true }, 1450).ok, true);
  assert.equal(decreaseTtl(h, 0), 63);
  assert.equal(h[8], 63);
  assert.equal(sum(h), 0xffff, 'header still verifies');
});

test('snat: 8.8.8.8 leaves rfp- for 169.254.96.33; the reply goes to the VM out sg- after ARP', () => {
  const ns = snat();
  const sg = ns.link('sg-499291dc-d8')!.index;
  const rfp = ns.link('rfp-c4d4b760-4')!.index;
  const out = forward(routeInput(ns, { src: ip('192.168.1.7'), dst: ip('8.8.8.8'), iif: sg, tos: 0 }));
  assert.equal(out.oif, rfp);
  assert.equal(formatIp4(out.nexthop), '169.254.96.33');
  assert.deepEqual(ns.neigh.resolve(out.nexthop, out.oif, 0), { kind: 'send', mac: mac('82:99:8f:5a:6b:ec') });

  // Reply (after conntrack reverses the SNAT): 8.8.8.8 -> 192.168.1.7 in on rfp-.
  const back = forward(routeInput(ns, { src: ip('8.8.8.8'), dst: ip('192.168.1.7'), iif: rfp, tos: 0 }));
  assert.equal(back.oif, sg);
  // No static ARP in the snat namespace: the packet waits for an ARP reply.
  const r = ns.neigh.resolve(back.nexthop, sg, 1000, { pkt: 'echo-reply', bytes: 142, src: ip('8.8.8.8') });
  assert.equal(r.kind, 'queued');
  assert.ok(r.kind === 'queued' && r.solicit);
  if (r.kind === 'queued' && r.solicit) {
    assert.equal(formatIp4(r.solicit.senderIp), '192.168.1.6', 'arp_announce=2: the sg- address, never 8.8.8.8');
    assert.equal(r.solicit.dstMac, undefined, 'broadcast');
    assert.equal(formatMac(r.solicit.senderMac), 'fa:16:3e:d1:d8:49');
  }
  const res = arpProcess(ns, { op: ARPOP_REPLY, sha: mac('fa:16:3e:b2:ef:af'), sip: ip('192.168.1.7'), tha: mac('fa:16:3e:d1:d8:49'), tip: ip('192.168.1.6') }, sg, 'host', 1002);
  assert.deepEqual(res.neigh, [{ kind: 'flush', at: 1002, ifindex: sg, ip: ip('192.168.1.7'), mac: mac('fa:16:3e:b2:ef:af'), packets: ['echo-reply'] }]);
  assert.equal(ns.neigh.get(ip('192.168.1.7'), sg)?.state, NUD.REACHABLE);
  assert.match(showNeigh(ns), /^192\.168\.1\.7 dev sg-499291dc-d8 lladdr fa:16:3e:b2:ef:af REACHABLE $/m);
});

test('snat: locally generated traffic to 8.8.8.8 is sourced from the rfp- /31, not the /32', () => {
  const ns = snat();
  const o = routeOutput(ns, { dst: ip('8.8.8.8') });
  if (o.kind === 'error') assert.fail(o.errno);
  assert.equal(o.kind, 'unicast');
  assert.equal(formatIp4(o.src), '169.254.96.32');
  assert.equal(formatIp4(o.nexthop), '169.254.96.33');
});

test('fip: out through fip-vif.103 to 10.206.221.193, back through fpr- to 169.254.96.32', () => {
  const ns = fip();
  const fpr = ns.link('fpr-c4d4b760-4')!.index;
  const vif = ns.link('fip-vif.103')!.index;
  const fpr2 = ns.link('fpr-3bbebb1a-5')!.index;

  const out = forward(routeInput(ns, { src: ip('112.65.210.200'), dst: ip('8.8.8.8'), iif: fpr, tos: 0 }));
  assert.equal(out.oif, vif);
  assert.equal(formatIp4(out.nexthop), '10.206.221.193');
  // The physical gateway is learnt by ARP.
  const r = ns.neigh.resolve(out.nexthop, vif, 0, { pkt: 'icmp', bytes: 142, src: ip('112.65.210.200') });
  assert.ok(r.kind === 'queued' && r.solicit && formatIp4(r.solicit.senderIp) === '10.206.221.195');
  const a = arpProcess(ns, { op: ARPOP_REPLY, sha: mac('5c:c9:99:60:d2:71'), sip: ip('10.206.221.193'), tha: mac('fa:17:3e:f7:cd:bc'), tip: ip('10.206.221.195') }, vif, 'host', 3);
  assert.equal(a.neigh[0]?.kind, 'flush');
  assert.deepEqual(ns.neigh.resolve(out.nexthop, vif, 5), { kind: 'send', mac: mac('5c:c9:99:60:d2:71') });

  const back = forward(routeInput(ns, { src: ip('8.8.8.8'), dst: ip('112.65.210.200'), iif: vif, tos: 0 }));
  assert.equal(back.oif, fpr);
  assert.equal(formatIp4(back.nexthop), '169.254.96.32');
  assert.deepEqual(ns.neigh.resolve(back.nexthop, fpr, 6), { kind: 'send', mac: mac('36:66:d5:bf:5e:e0') });

  const second = forward(routeInput(ns, { src: ip('8.8.8.8'), dst: ip('112.65.210.204'), iif: vif, tos: 0 }));
  assert.equal(second.oif, fpr2);
  assert.equal(formatIp4(second.nexthop), '169.254.113.28');
});

test('traceroute hops: ICMP time exceeded comes from 192.168.1.1, 192.168.1.6, 169.254.96.33', () => {
  const hop = (ns: Netns, src: string, dst: string, iif: string) => {
    const d = routeInput(ns, { src: ip(src), dst: ip(dst), iif: ns.link(iif)!.index, tos: 0 });
    assert.equal(d.kind, 'forward');
    assert.equal(forwardCheck({ ttl: 1, totalLength: 60, df: false }, 1500).ok, false);
    const e = icmpErrorRoute(ns, { src: ip(src), dst: ip(dst), tos: 0, iif: ns.link(iif)!.index, local: false });
    assert.notEqual(e.kind, 'error');
    return e.kind === 'error' ? '' : formatIp4(e.src);
  };
  assert.equal(hop(qrouter(), '192.168.1.7', '8.8.8.8', 'qr-178fc8e2-fd'), '192.168.1.1');
  assert.equal(hop(snat(), '192.168.1.7', '8.8.8.8', 'sg-499291dc-d8'), '192.168.1.6');
  // In fip the packet already carries the SNAT address.
  assert.equal(hop(fip(), '112.65.210.200', '8.8.8.8', 'fpr-c4d4b760-4'), '169.254.96.33');
});

test('fip: with proxy_arp on fip-vif.103 the namespace answers ARP for 112.65.210.200 (routed via fpr-)', () => {
  const ns = fip();
  const vif = ns.link('fip-vif.103')!.index;
  const req = { op: ARPOP_REQUEST, sha: mac('5c:c9:99:60:d2:71'), sip: ip('10.206.221.193'), tha: 0, tip: ip('112.65.210.200') };
  assert.equal(arpProcess(ns, req, vif, 'broadcast', 0).reply, undefined);
  ns.setSysctl('net.ipv4.conf.fip-vif/103.proxy_arp', 1);
  ns.setSysctl('net.ipv4.neigh.fip-vif/103.proxy_delay', 0);
  const res = arpProcess(ns, req, vif, 'broadcast', 0);
  assert.deepEqual(res.reply, { ifindex: vif, at: 0, sha: mac('fa:17:3e:f7:cd:bc'), sip: ip('112.65.210.200'), tha: mac('5c:c9:99:60:d2:71'), tip: ip('10.206.221.193') });
  // And learnt the requester as STALE, as neigh_event_ns does.
  assert.equal(ns.neigh.get(ip('10.206.221.193'), vif)?.state, NUD.STALE);
});

test('an ip route line with a typo is rejected naming the line, column and token', () => {
  const ns = qrouter();
  const text = '192.168.2.0/24 dev qr-178fc8e2-fd\ndefault vai 192.168.1.6 dev qr-178fc8e2-fd\n';
  assert.throws(
    () => loadRoutes(ns, text, { table: 100, source: 'configs/seed.yaml', firstLine: 40 }),
    (e: unknown) => {
      assert.ok(e instanceof IpSyntaxError);
      assert.equal(e.line, 41);
      assert.equal(e.column, 9);
      assert.equal(e.token, 'vai');
      assert.equal(e.reason, "unknown keyword 'vai' (did you mean 'via'?)");
      assert.equal(e.message, "configs/seed.yaml:line 41, column 9: unknown keyword 'vai' (did you mean 'via'?)");
      return true;
    },
  );
  assert.throws(() => loadRoutes(ns, '192.168.1.0/33 dev qr-178fc8e2-fd'), /invalid prefix '192\.168\.1\.0\/33'/);
  // A well-formed line the kernel refuses names the line too.
  assert.throws(() => loadRoutes(ns, '\n10.0.0.0/8 via 10.9.9.9'), /line 2, column 1: Error: Nexthop has invalid gateway\./);
});

test('the same namespaces built with ip commands print the same state', () => {
  const ns = new Netns({ name: 'qrouter' });
  ns.addLink({ name: 'qr-178fc8e2-fd', kind: 'internal', mac: mac('fa:16:3e:06:d8:7b'), mtu: 1450 });
  runCommands(
    ns,
    `sysctl -w net.ipv4.ip_forward=1
     ip link set qr-178fc8e2-fd up
     ip addr add 192.168.1.1/24 brd + dev qr-178fc8e2-fd
     ip rule add from 192.168.1.1/24 lookup 3232235777 priority 3232235777
     ip route add default via 192.168.1.6 dev qr-178fc8e2-fd table 3232235777
     ip neigh replace 192.168.1.6 lladdr fa:16:3e:d1:d8:49 dev qr-178fc8e2-fd nud permanent`,
  );
  assert.equal(showRules(ns).split('\n')[3], '3232235777:\tfrom 192.168.1.1/24 lookup 3232235777');
  assert.equal(showRoutes(ns, 3232235777), 'default via 192.168.1.6 dev qr-178fc8e2-fd \n');
  assert.equal(showNeigh(ns), '192.168.1.6 dev qr-178fc8e2-fd lladdr fa:16:3e:d1:d8:49 PERMANENT \n');
});
