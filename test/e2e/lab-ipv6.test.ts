// IPv6 on the emulated router's link: the lab VM's namespace (a kernel
// namespace with IPv6 on, on w07's TAP) pings the qrouter's qr- link-local
// through the emulated br-int. The VM's kernel solicits the qrouter's
// address, the emulated namespace advertises it (router, solicited,
// override, its MAC) and answers the echo requests; what the VM's kernel
// sends by itself at start (DAD, MLD reports, router solicitations) is
// taken there as a router's kernel takes it: no drop on /metrics. With a
// global address on each side (the VM's by its kernel, the qrouter's by
// `dpemu ip ... netns exec ... ip -6 addr add`), each pings the other's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { requireRoot } from '../helpers/root.js';
import { run, tcpdumpIn } from './lab-names.js';
import { LabDaemons } from './lab-dvr.js';

const labs = new LabDaemons();
const QROUTER = 'qrouter-c4d4b760-41b9-45e1-a607-d054da99c479';
const QR_LL = 'fe80::f816:3eff:fe06:d87b';
const QR_DEV = 'qr-178fc8e2-fd';

/** The lines of /metrics that count a drop in the qrouter. */
async function qrouterDrops(d: Awaited<ReturnType<LabDaemons['start']>>['d']): Promise<string[]> {
  const url = /Metrics: (http:\/\/\S+)\/metrics/.exec(await d.waitOut(/Metrics: /))![1]!;
  const body = await (await fetch(`${url}/metrics`)).text();
  return body.split('\n').filter((l) => l.startsWith('dpemu_dropped_packets_total{') && l.includes(`element="${QROUTER}"`) && !l.endsWith(' 0'));
}

test('the VM namespace pings the qrouter\'s link-local: neighbour discovery and echo through the emulated router', { timeout: 180_000 }, async () => {
  requireRoot('dpemu run end-to-end tests');
  const { d, lab } = await labs.start(['--workers', '0']);
  const vm = (args: string[], ms = 10_000) => run('ip', ['netns', 'exec', lab.nsVm, ...args], ms);
  // The VM's link-local is usable once its DAD is over.
  for (let i = 0; i < 50; i++) {
    const a = await vm(['ip', '-6', 'addr', 'show', 'dev', 'eth0']);
    if (/inet6 fe80::f816:3eff:feb2:efaf\/64 scope link \n/.test(a.out)) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  const shown = await d.cli(['ip', '-n', QROUTER, '-6', 'w07', 'addr', 'show', 'dev', 'qr-178fc8e2-fd']);
  assert.match(shown.out, new RegExp(`inet6 ${QR_LL}/64 scope link \n`), shown.out);

  const dump = (await tcpdumpIn(lab.nsVm, ['-nnee', '-l', '-c', '4', '-i', 'eth0', 'icmp6 and (ip6[40] == 135 or ip6[40] == 136 or ip6[40] == 128 or ip6[40] == 129)'], 30_000)).ended;
  const ping = await vm(['ping', '-6', '-c', '2', '-i', '0.3', '-W', '2', '-n', `${QR_LL}%eth0`], 15_000);
  assert.match(ping.out, /2 packets transmitted, 2 received/, ping.out);
  const seen = (await dump).out;
  assert.match(seen, /fa:16:3e:b2:ef:af > 33:33:ff:06:d8:7b, ethertype IPv6 \(0x86dd\), length 86: fe80::f816:3eff:feb2:efaf > ff02::1:ff06:d87b: ICMP6, neighbor solicitation, who has fe80::f816:3eff:fe06:d87b, length 32/, seen);
  assert.match(seen, /fa:16:3e:06:d8:7b > fa:16:3e:b2:ef:af, ethertype IPv6 \(0x86dd\), length 86: fe80::f816:3eff:fe06:d87b > fe80::f816:3eff:feb2:efaf: ICMP6, neighbor advertisement, tgt is fe80::f816:3eff:fe06:d87b, length 32/, seen);
  assert.match(seen, /fa:16:3e:06:d8:7b > fa:16:3e:b2:ef:af, ethertype IPv6 \(0x86dd\), length 118: fe80::f816:3eff:fe06:d87b > fe80::f816:3eff:feb2:efaf: ICMP6, echo reply, id \d+, seq 1, length 64/, seen);
  const neigh = await vm(['ip', '-6', 'neigh', 'show', QR_LL, 'dev', 'eth0']);
  assert.match(neigh.out, /^fe80::f816:3eff:fe06:d87b lladdr fa:16:3e:06:d8:7b router (REACHABLE|STALE|DELAY)/, neigh.out);

  // What the VM's kernel sent by itself reached the qrouter and was taken, not dropped.
  assert.deepEqual(await qrouterDrops(d), []);
  await labs.stop(d, lab);
});

test('global addresses: the VM\'s real ping -6 reaches the qrouter\'s 2001:db8:7::1 (solicited, advertised and answered from it), the qrouter\'s ping -6 the VM\'s 2001:db8:7::5', { timeout: 180_000 }, async () => {
  requireRoot('dpemu run end-to-end tests');
  const { d, lab } = await labs.start([]);
  const vm = (args: string[], ms = 10_000) => run('ip', ['netns', 'exec', lab.nsVm, ...args], ms);
  assert.equal((await vm(['ip', '-6', 'addr', 'add', '2001:db8:7::5/64', 'dev', 'eth0', 'nodad'])).status, 0);
  const add = await d.apart(['ip', 'w07', 'netns', 'exec', QROUTER, 'ip', '-6', 'addr', 'add', '2001:db8:7::1/64', 'dev', QR_DEV, 'nodad']);
  assert.equal(add.status, 0, add.err);

  const dump = (await tcpdumpIn(lab.nsVm, ['-nnee', '-l', '-c', '4', '-i', 'eth0', 'icmp6 and ip6[8:2] == 0x2001 and (ip6[40] == 135 or ip6[40] == 136 or ip6[40] == 128 or ip6[40] == 129)'], 30_000)).ended;
  const ping = await vm(['ping', '-6', '-c', '2', '-i', '0.3', '-W', '2', '-n', '2001:db8:7::1'], 15_000);
  assert.match(ping.out, /2 packets transmitted, 2 received/, ping.out);
  const seen = (await dump).out;
  assert.match(seen, /fa:16:3e:b2:ef:af > 33:33:ff:00:00:01, ethertype IPv6 \(0x86dd\), length 86: 2001:db8:7::5 > ff02::1:ff00:1: ICMP6, neighbor solicitation, who has 2001:db8:7::1, length 32/, seen);
  assert.match(seen, /fa:16:3e:06:d8:7b > fa:16:3e:b2:ef:af, ethertype IPv6 \(0x86dd\), length 86: 2001:db8:7::1 > 2001:db8:7::5: ICMP6, neighbor advertisement, tgt is 2001:db8:7::1, length 32/, seen);
  assert.match(seen, /fa:16:3e:06:d8:7b > fa:16:3e:b2:ef:af, ethertype IPv6 \(0x86dd\), length 118: 2001:db8:7::1 > 2001:db8:7::5: ICMP6, echo reply, id \d+, seq 1, length 64/, seen);
  const neigh = await vm(['ip', '-6', 'neigh', 'show', '2001:db8:7::1', 'dev', 'eth0']);
  assert.match(neigh.out, /^2001:db8:7::1 lladdr fa:16:3e:06:d8:7b router (REACHABLE|STALE|DELAY)/, neigh.out);

  const back = await d.apart(['ip', 'w07', 'netns', 'exec', QROUTER, 'ping', '-6', '-c', '2', '-i', '0.3', '2001:db8:7::5']);
  assert.equal(back.status, 0, back.out + back.err);
  assert.match(back.out, /^PING 2001:db8:7::5\(2001:db8:7::5\) 56 data bytes\n64 bytes from 2001:db8:7::5: icmp_seq=1 ttl=64 time=/, back.out);
  assert.match(back.out, /2 packets transmitted, 2 received, 0% packet loss/, back.out);
  assert.deepEqual(await qrouterDrops(d), []);
  await labs.stop(d, lab);
});
