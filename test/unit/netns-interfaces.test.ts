// Interfaces and addresses: the routes the kernel derives from them, what
// happens when links go down, route validation, and `ip addr`/`ip link`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseIp4, parseMac } from '../../src/netns/addr.js';
import { RtnlError } from '../../src/netns/errors.js';
import { loadAddrShow, runCommands, showAddr, showLink, showRoutes } from '../../src/netns/ip-text.js';
import { NUD } from '../../src/netns/neighbour.js';
import { Netns } from '../../src/netns/netns.js';

const ip = (s: string) => parseIp4(s)!;
const mac = (s: string) => parseMac(s)!;

function rfpNs(): Netns {
  const n = new Netns({ name: 'snat' });
  n.addLink({ name: 'rfp-c4d4b760-4', kind: 'veth', mac: mac('36:66:d5:bf:5e:e0'), up: true, peer: { ifindex: 2, netns: 'fip-4617ac50-7b34-4b05-811d-b2afc741d446' } });
  n.addAddr('rfp-c4d4b760-4', { local: ip('169.254.96.32'), prefixLen: 31 });
  n.addAddr('rfp-c4d4b760-4', { local: ip('112.65.210.200'), prefixLen: 32 });
  return n;
}

test('connected and local routes derived from addresses: /24, /31 (no broadcast), /32 (no prefix route)', () => {
  const n = rfpNs();
  n.addLink({ name: 'sg-499291dc-d8', kind: 'internal', mac: mac('fa:16:3e:d1:d8:49'), mtu: 1450, up: true });
  n.addAddr('sg-499291dc-d8', { local: ip('192.168.1.6'), prefixLen: 24 });
  assert.equal(
    showRoutes(n),
    '169.254.96.32/31 dev rfp-c4d4b760-4 proto kernel scope link src 169.254.96.32 \n' +
      '192.168.1.0/24 dev sg-499291dc-d8 proto kernel scope link src 192.168.1.6 \n',
  );
  assert.equal(
    showRoutes(n, 255),
    [
      'local 112.65.210.200 dev rfp-c4d4b760-4 proto kernel scope host src 112.65.210.200 ',
      'local 127.0.0.0/8 dev lo proto kernel scope host src 127.0.0.1 ',
      'local 127.0.0.1 dev lo proto kernel scope host src 127.0.0.1 ',
      'broadcast 127.255.255.255 dev lo proto kernel scope link src 127.0.0.1 ',
      'local 169.254.96.32 dev rfp-c4d4b760-4 proto kernel scope host src 169.254.96.32 ',
      'local 192.168.1.6 dev sg-499291dc-d8 proto kernel scope host src 192.168.1.6 ',
      'broadcast 192.168.1.255 dev sg-499291dc-d8 proto kernel scope link src 192.168.1.6 ',
      '',
    ].join('\n'),
  );
  // Own addresses are local: delivered, whatever interface holds them.
  const res = n.lookup({ dst: ip('112.65.210.200'), src: ip('8.8.8.8'), tos: 0, scope: 0, oif: 0, iif: 2, mark: 0, proto: 0, sport: 0, dport: 0, uid: 0 });
  assert.equal(res.route?.type, 'local');
});

test('a secondary address: no prefix route of its own, its local route uses the primary as src', () => {
  const n = new Netns();
  n.addLink({ name: 'eth0', kind: 'ether', mac: 0x020000000001, up: true });
  runCommands(n, 'ip addr add 10.0.0.1/24 brd + dev eth0\nip addr add 10.0.0.5/24 brd + dev eth0\nip addr add 10.9.0.1/16 dev eth0');
  assert.match(showAddr(n, 'eth0'), /inet 10\.0\.0\.5\/24 brd 10\.0\.0\.255 scope global secondary eth0\n/);
  assert.match(showRoutes(n, 255), /^local 10\.0\.0\.5 dev eth0 proto kernel scope host src 10\.0\.0\.1 $/m);
  assert.equal(showRoutes(n).split('\n').filter((l) => l.startsWith('10.0.0.0/24')).length, 1);
  // Without `brd`, iproute2 assigns no broadcast, yet the kernel still adds the subnet broadcast route.
  assert.match(showAddr(n, 'eth0'), /inet 10\.9\.0\.1\/16 scope global eth0\n/);
  assert.match(showRoutes(n, 255), /^broadcast 10\.9\.255\.255 dev eth0 proto kernel scope link src 10\.9\.0\.1 $/m);
  // Deleting the primary takes its secondaries (promote_secondaries=0) ...
  runCommands(n, 'ip addr del 10.0.0.1/24 dev eth0');
  assert.equal(n.link('eth0')!.addrs.length, 1);
  // ... or promotes the first one.
  runCommands(n, 'sysctl -w net.ipv4.conf.eth0.promote_secondaries=1\nip addr add 10.0.0.1/24 dev eth0\nip addr add 10.0.0.5/24 dev eth0\nip addr del 10.0.0.1/24 dev eth0');
  assert.match(showRoutes(n), /^10\.0\.0\.0\/24 dev eth0 proto kernel scope link src 10\.0\.0\.5 $/m);
  assert.throws(() => n.addAddr('eth0', { local: ip('10.0.0.5'), prefixLen: 24 }), /Error: ipv4: Address already assigned\.$/);
});

test('a link going down takes its routes and neighbours; local routes stay; up brings the connected ones back', () => {
  const n = new Netns();
  n.addLink({ name: 'eth0', kind: 'ether', mac: 0x020000000001, up: true });
  runCommands(
    n,
    `ip addr add 10.0.0.1/24 dev eth0
     ip route add default via 10.0.0.254
     ip route add 192.0.2.0/24 via 10.0.0.2 table 7
     ip neigh add 10.0.0.254 lladdr 02:00:00:00:00:fe dev eth0`,
  );
  assert.equal(n.neigh.get(ip('10.0.0.254'), 2)?.state, NUD.PERMANENT);
  runCommands(n, 'ip link set eth0 down');
  assert.equal(showRoutes(n), '');
  assert.equal(showRoutes(n, 7), '');
  assert.match(showRoutes(n, 255), /^local 10\.0\.0\.1 dev eth0/m);
  assert.doesNotMatch(showRoutes(n, 255), /broadcast 10\.0\.0\.255/);
  assert.equal(n.neigh.get(ip('10.0.0.254'), 2), undefined, 'neigh_ifdown drops permanent entries too');
  runCommands(n, 'ip link set eth0 up');
  assert.equal(showRoutes(n), '10.0.0.0/24 dev eth0 proto kernel scope link src 10.0.0.1 \n', 'static routes do not come back');
});

test('route validation: gateway reachability, onlink, host scope, prefsrc, error types, devices', () => {
  const n = new Netns();
  n.addLink({ name: 'qr-178fc8e2-fd', kind: 'internal', mac: 1, up: true });
  n.addLink({ name: 'down0', kind: 'internal', mac: 2 });
  runCommands(n, 'ip addr add 192.168.1.1/24 dev qr-178fc8e2-fd');
  const err = (cmd: string) => {
    try {
      runCommands(n, cmd);
    } catch (e) {
      return (e as Error).message.replace(/^line 1, column 1: /, '');
    }
    return 'ok';
  };
  // A gateway in another table's context: found through the full lookup (main), as the kernel does.
  assert.equal(err('ip route add default via 192.168.1.6 dev qr-178fc8e2-fd table 3232235777'), 'ok');
  assert.equal(err('ip route add default via 10.0.0.1'), 'Error: Nexthop has invalid gateway.');
  assert.equal(err('ip route add 10.0.0.0/8 via 192.168.1.6 dev down0'), 'Error: Nexthop has invalid gateway.');
  assert.equal(err('ip route add 10.0.0.0/8 via 10.9.9.9 dev qr-178fc8e2-fd onlink'), 'ok');
  assert.equal(err('ip route add 10.1.0.0/16 via 192.168.1.9 scope link'), 'Error: Nexthop has invalid gateway.');
  assert.equal(err('ip route add 10.2.0.0/16 dev down0'), 'Error: Device for nexthop is not up.');
  assert.equal(err('ip route add 10.3.0.0/16 dev nosuch0'), 'Cannot find device "nosuch0"');
  assert.equal(err('ip route add 10.4.0.0/16 dev qr-178fc8e2-fd src 10.4.0.1'), 'Error: Invalid prefsrc address.');
  assert.equal(err('ip route add 10.4.0.0/16 dev qr-178fc8e2-fd src 192.168.1.1'), 'ok');
  assert.equal(err('ip route add blackhole 10.5.0.0/16 dev qr-178fc8e2-fd'), 'Error: Gateway, device and multipath can not be specified for this route type.');
  assert.equal(err('ip route add local 10.6.0.1 via 192.168.1.6'), 'Error: Route with host scope can not have a gateway.');
  assert.equal(err('ip route add local 10.6.0.1 dev qr-178fc8e2-fd scope link'), 'Error: Invalid scope.');
  assert.equal(err('ip route add 10.7.0.1/8 dev qr-178fc8e2-fd'), 'Error: Invalid prefix for given prefix length.');
  assert.equal(err('ip route add 192.168.1.0/24 dev qr-178fc8e2-fd'), 'RTNETLINK answers: File exists');
  assert.equal(err('ip route del 10.99.0.0/16'), 'RTNETLINK answers: No such process');
  // A local route goes to the local table by default.
  assert.equal(err('ip route add local 10.6.0.1 dev qr-178fc8e2-fd'), 'ok');
  assert.match(showRoutes(n, 255), /^local 10\.6\.0\.1 dev qr-178fc8e2-fd scope host $/m);
  assert.equal(n.customLocalRoutes, true);
});

test('deleting an address flushes main-table routes that preferred it', () => {
  const n = new Netns();
  n.addLink({ name: 'eth0', kind: 'ether', mac: 1, up: true });
  runCommands(n, 'ip addr add 10.0.0.1/24 dev eth0\nip addr add 10.0.9.1/32 dev eth0\nip route add 192.0.2.0/24 via 10.0.0.2 src 10.0.9.1');
  assert.match(showRoutes(n), /192\.0\.2\.0\/24 via 10\.0\.0\.2 dev eth0 src 10\.0\.9\.1 /);
  runCommands(n, 'ip addr del 10.0.9.1/32 dev eth0');
  assert.doesNotMatch(showRoutes(n), /192\.0\.2\.0/);
});

test('ip addr / ip link print as iproute2 does; carrier loss shows NO-CARRIER and linkdown', () => {
  const n = rfpNs();
  n.addLink({ name: 'qr-178fc8e2-fd', kind: 'internal', mac: mac('fa:16:3e:06:d8:7b'), mtu: 1450, up: true });
  n.addAddr('qr-178fc8e2-fd', { local: ip('192.168.1.1'), prefixLen: 24 });
  assert.equal(
    showAddr(n, 'qr-178fc8e2-fd'),
    '3: qr-178fc8e2-fd: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1450 qdisc noqueue state UNKNOWN group default qlen 1000\n' +
      '    link/ether fa:16:3e:06:d8:7b brd ff:ff:ff:ff:ff:ff\n' +
      '    inet 192.168.1.1/24 brd 192.168.1.255 scope global qr-178fc8e2-fd\n' +
      '       valid_lft forever preferred_lft forever\n',
  );
  assert.equal(
    showAddr(n, 'rfp-c4d4b760-4'),
    '2: rfp-c4d4b760-4@if2: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP group default qlen 1000\n' +
      '    link/ether 36:66:d5:bf:5e:e0 brd ff:ff:ff:ff:ff:ff link-netns fip-4617ac50-7b34-4b05-811d-b2afc741d446\n' +
      '    inet 169.254.96.32/31 scope global rfp-c4d4b760-4\n' +
      '       valid_lft forever preferred_lft forever\n' +
      '    inet 112.65.210.200/32 scope global rfp-c4d4b760-4\n' +
      '       valid_lft forever preferred_lft forever\n',
  );
  n.setCarrier('rfp-c4d4b760-4', false);
  // Its peer's ifindex is its own (2, in the fip namespace): DOWN, as Linux 6.12+ prints it (test/e2e/netns-text-kernel.test.ts).
  assert.match(showLink(n, 'rfp-c4d4b760-4'), /^2: rfp-c4d4b760-4@if2: <NO-CARRIER,BROADCAST,MULTICAST,UP> mtu 1500 qdisc noqueue state DOWN mode DEFAULT group default qlen 1000$/m);
  // LOWERLAYERDOWN only when the device numbered like the peer in this namespace lacks carrier too.
  n.addLink({ name: 'veth9', kind: 'veth', mac: 9, up: true, carrier: false, peer: { ifindex: 2, netns: 'other' } });
  assert.match(showLink(n, 'veth9'), /^4: veth9@if2: <NO-CARRIER,BROADCAST,MULTICAST,UP> .* state LOWERLAYERDOWN /m);
  n.setCarrier('rfp-c4d4b760-4', true);
  assert.match(showLink(n, 'veth9'), /^4: veth9@if2: <NO-CARRIER,BROADCAST,MULTICAST,UP> .* state DOWN /m);
  n.setCarrier('rfp-c4d4b760-4', false);
  assert.match(showRoutes(n), /^169\.254\.96\.32\/31 dev rfp-c4d4b760-4 proto kernel scope link src 169\.254\.96\.32 linkdown $/m);
  const d = new Netns({ loopbackUp: false });
  assert.equal(showLink(d), '1: lo: <LOOPBACK> mtu 65536 qdisc noop state DOWN mode DEFAULT group default qlen 1000\n    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00\n');
});

test('a pasted `ip addr` output builds the links and addresses it shows', () => {
  const n = new Netns();
  loadAddrShow(
    n,
    `1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN group default qlen 1000
    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00
    inet 127.0.0.1/8 scope host lo
       valid_lft forever preferred_lft forever
    inet6 ::1/128 scope host
       valid_lft forever preferred_lft forever
25: qr-178fc8e2-fd: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1450 qdisc noqueue state UNKNOWN group default qlen 1000
    link/ether fa:16:3e:06:d8:7b brd ff:ff:ff:ff:ff:ff
    inet 192.168.1.1/24 brd 192.168.1.255 scope global qr-178fc8e2-fd
       valid_lft forever preferred_lft forever
    inet6 fe80::f816:3eff:fe06:d87b/64 scope link
       valid_lft forever preferred_lft forever`,
  );
  const qr = n.link('qr-178fc8e2-fd')!;
  assert.equal(qr.index, 25);
  assert.equal(qr.mtu, 1450);
  assert.equal(qr.kind, 'internal');
  assert.match(showAddr(n, 'qr-178fc8e2-fd'), /^25: qr-178fc8e2-fd: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1450/);
  assert.match(showRoutes(n), /^192\.168\.1\.0\/24 dev qr-178fc8e2-fd proto kernel scope link src 192\.168\.1\.1 $/m);
});

test('sysctls: a conf/default write reaches the devices whose key is not their own (never written, no address yet), as a kernel namespace does', () => {
  const n = new Netns();
  for (const [i, name] of ['fresh', 'written', 'addressed'].entries()) n.addLink({ name, kind: 'veth', mac: i + 1 });
  n.setSysctl('net.ipv4.conf.written.arp_notify', 0);
  n.addAddr('addressed', { local: parseIp4('192.0.2.1')!, prefixLen: 24, broadcast: 0 });
  for (const k of ['arp_notify', 'log_martians', 'promote_secondaries', 'route_localnet', 'forwarding']) n.setSysctl(`net.ipv4.conf.default.${k}`, 1);
  const v = (dev: string, k: string) => n.getSysctl(`net.ipv4.conf.${dev}.${k}`);
  assert.deepEqual([v('fresh', 'arp_notify'), v('fresh', 'log_martians'), v('written', 'arp_notify'), v('written', 'log_martians')], [1, 1, 0, 1]);
  assert.deepEqual([v('addressed', 'arp_notify'), v('lo', 'arp_notify')], [0, 0], 'an address (lo has 127.0.0.1) makes every key the device\'s own');
  // Not through devinet_conf_proc: forwarding (devinet_sysctl_forward), the flushing promote_secondaries and route_localnet.
  assert.deepEqual([v('fresh', 'promote_secondaries'), v('fresh', 'route_localnet'), v('fresh', 'forwarding')], [0, 0, 0]);
});

test('sysctls: ip_forward reaches every device; conf values combine with all as the kernel does', () => {
  const n = new Netns();
  n.addLink({ name: 'fip-vif.103', kind: 'internal', mac: 1 });
  n.setSysctl('net.ipv4.ip_forward', 1);
  assert.equal(n.link('fip-vif.103')!.conf.forwarding, 1);
  n.addLink({ name: 'later', kind: 'internal', mac: 2 });
  assert.equal(n.link('later')!.conf.forwarding, 1, 'new devices start from conf/default');
  n.setSysctl('net.ipv4.conf.fip-vif/103.proxy_arp', 1);
  assert.equal(n.getSysctl('net.ipv4.conf.fip-vif.103.proxy_arp'), 1);
  assert.equal(n.getSysctl('net.ipv4.neigh.default.unres_qlen'), 101);
  assert.equal(n.getSysctl('net.ipv4.neigh.default.base_reachable_time_ms'), 30000);
  n.setSysctl('net.ipv4.neigh.later.retrans_time', 50);
  assert.equal(n.neigh.params(n.link('later')!.index).retrans_time_ms, 500);
  assert.throws(() => n.setSysctl('net.ipv4.conf.all.no_such_thing', 1), (e: unknown) => e instanceof RtnlError);
});
