// A net.ipv6.neigh.DEV.* write changes what the IPv6 neighbour cache does,
// as in a kernel namespace given the same writes: the kernel on its clock
// (ip -6 neigh show at two moments, ip -6 ntable's reachable time), dpemu on
// the emulated one (a namespace element whose two devices are asked by a
// host it then resolves). The other device keeps the defaults on both sides.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { requireRoot } from '../helpers/root.js';
import { Engine } from '../../src/datapath/engine.js';
import { ManualClock } from '../../src/datapath/clock.js';
import { NetNamespace } from '../../src/netns/namespace.js';
import { runCommand } from '../../src/netns/ip-text.js';
import { ETH_HLEN, ETHERTYPE_IPV6, writeEth } from '../../src/wire/ethernet.js';
import { IPV6_DST, IPV6_HLEN, IPV6_SRC, ND_HOPLIMIT, NEXTHDR_ICMP, writeEui64LinkLocal, writeIpv6Head } from '../../src/wire/ipv6.js';
import {
  ICMPV6_ECHO_REQUEST, NA_OVERRIDE, NA_SOLICITED, ND_MSG_LEN, ND_OPT_LL_LEN, ND_OPT_SOURCE_LL_ADDR, ND_OPT_TARGET_LL_ADDR, NDISC_NEIGHBOUR_ADVERTISEMENT,
  NDISC_NEIGHBOUR_SOLICITATION, icmpv6SetChecksum, writeNdOptLinkAddr,
} from '../../src/wire/icmpv6.js';
import { CaptureSink } from '../helpers/sink.js';
import { KernelObjects, run, sh, uniqueTag } from './lab-names.js';

const tag = uniqueTag();
const kns = `dpe-${tag}-n6`;
const kpeer = `dpe-${tag}-n6p`;
const [KA, KB] = [`dpe-${tag}a`, `dpe-${tag}b`];
const objs = new KernelObjects();

const kernelSysctl = (dev: string, ...kv: string[]): void => {
  sh('ip', ['netns', 'exec', kns, 'sysctl', '-q', '-w', ...kv.map((x) => `net.ipv6.neigh.${dev}.${x}`)]);
};
/** The state `ip -6 neigh show` gives ADDR on DEV in the kernel namespace. */
const kernelState = (addr: string, dev: string): string => / ([A-Z]+) *$/.exec(sh('ip', ['-6', '-n', kns, 'neigh', 'show', addr, 'dev', dev]).trim())?.[1] ?? 'none';
/** The reachable time `ip -6 ntable show dev DEV` prints. */
const reachableOf = (out: string): number => Number(/ reachable (\d+) /.exec(out)?.[1]);

before(() => {
  requireRoot('IPv6 neighbour sysctls against a kernel namespace');
  objs.addNetns(kns);
  objs.addNetns(kpeer);
  // No DAD: the link-locals are usable (and solicit) at once.
  for (const n of [kns, kpeer]) sh('ip', ['netns', 'exec', n, 'sysctl', '-q', '-w', 'net.ipv6.conf.default.accept_dad=0', 'net.ipv6.conf.all.accept_dad=0']);
  objs.veth(`dpe${tag}x`, kns, KA, kpeer, `${KA}p`);
  objs.veth(`dpe${tag}y`, kns, KB, kpeer, `${KB}p`);
});
after(() => objs.cleanup());

const HOST_MAC = 0x02_00_00_00_00_07;
const MACS = { 'qr-a': 0xfa_16_3e_00_00_0a, 'qr-b': 0xfa_16_3e_00_00_0b } as const;
type Dev = keyof typeof MACS;

/** A namespace element with qr-a and qr-b, each on a wire of its own; `host` sends to a device, `later` runs the clock. */
function emulated() {
  const clock = new ManualClock(0);
  const e = new Engine({ clock });
  const r = e.add(new NetNamespace('lab', 'r'));
  const ports = new Map<Dev, ReturnType<typeof r.addInterface>>();
  const wires = new Map<Dev, CaptureSink>();
  for (const dev of ['qr-a', 'qr-b'] as const) {
    const p = r.addInterface(dev, { mac: MACS[dev], kind: 'internal' });
    const w = new CaptureSink();
    e.attachEdge(p, w);
    ports.set(dev, p);
    wires.set(dev, w);
  }
  /** An ICMPv6 frame from the host (fe80::7's EUI-64 of HOST_MAC) to the device's link-local: `body` writes the message, `len` long. */
  const send = (dev: Dev, hop: number, len: number, body: (b: Uint8Array, l4: number) => void): void => {
    const f = new Uint8Array(ETH_HLEN + IPV6_HLEN + len), l3 = ETH_HLEN, l4 = l3 + IPV6_HLEN;
    writeEth(f, 0, Math.floor(MACS[dev] / 2 ** 32), MACS[dev] >>> 0, Math.floor(HOST_MAC / 2 ** 32), HOST_MAC >>> 0, ETHERTYPE_IPV6);
    writeIpv6Head(f, l3, 0, len, NEXTHDR_ICMP, hop);
    writeEui64LinkLocal(f, l3 + IPV6_SRC, HOST_MAC);
    writeEui64LinkLocal(f, l3 + IPV6_DST, MACS[dev]);
    body(f, l4);
    icmpv6SetChecksum(f, l3, l4, len);
    e.inject(e.pool.allocFrom(f)!, ports.get(dev)!);
    e.run();
  };
  const echo = (dev: Dev): void => send(dev, 64, 16, (f, l4) => {
    f[l4] = ICMPV6_ECHO_REQUEST;
    f[l4 + 5] = 1;
    f[l4 + 7] = 1;
  });
  /** The host's solicited NA for its address, with its link-layer address. */
  const na = (dev: Dev): void => send(dev, ND_HOPLIMIT, ND_MSG_LEN + ND_OPT_LL_LEN, (f, l4) => {
    f[l4] = NDISC_NEIGHBOUR_ADVERTISEMENT;
    f[l4 + 4] = NA_SOLICITED | NA_OVERRIDE;
    f.copyWithin(l4 + 8, ETH_HLEN + IPV6_SRC, ETH_HLEN + IPV6_SRC + 16);
    writeNdOptLinkAddr(f, l4 + ND_MSG_LEN, ND_OPT_TARGET_LL_ADDR, Math.floor(HOST_MAC / 2 ** 32), HOST_MAC >>> 0);
  });
  const later = (ms: number): void => {
    for (let t = 0; t < ms; t += 100) {
      clock.advance(Math.min(100, ms - t));
      e.tick();
    }
  };
  const state = (dev: Dev): string => / ([A-Z]+) \n$/.exec(runCommand(r.ns, `ip -6 neigh show dev ${dev}`))?.[1] ?? 'none';
  /** The host's unicast NS for the device's address, with its link-layer address: the device's entry for it STALE, then DELAY as the NA leaves. */
  const ns = (dev: Dev): void => send(dev, ND_HOPLIMIT, ND_MSG_LEN + ND_OPT_LL_LEN, (f, l4) => {
    f[l4] = NDISC_NEIGHBOUR_SOLICITATION;
    f.copyWithin(l4 + 8, ETH_HLEN + IPV6_DST, ETH_HLEN + IPV6_DST + 16);
    writeNdOptLinkAddr(f, l4 + ND_MSG_LEN, ND_OPT_SOURCE_LL_ADDR, Math.floor(HOST_MAC / 2 ** 32), HOST_MAC >>> 0);
  });
  /** How many neighbour solicitations a device sent since last asked. */
  const solicits = (dev: Dev): number => wires.get(dev)!.take().filter((f) => f[ETH_HLEN + IPV6_HLEN] === 135).length;
  return { r, echo, na, ns, later, state, solicits };
}

test('base_reachable_time_ms and delay_first_probe_time: a REACHABLE entry goes STALE within 1.5 × the base, the untouched device keeps 30 s; the write draws the reachable time again', async () => {
  kernelSysctl(KA, 'base_reachable_time_ms=1000', 'delay_first_probe_time=0');
  const kReach = [reachableOf(sh('ip', ['-6', '-n', kns, 'ntable', 'show', 'dev', KA])), reachableOf(sh('ip', ['-6', '-n', kns, 'ntable', 'show', 'dev', KB]))];
  for (const d of [KA, KB]) sh('ip', ['-6', '-n', kns, 'neigh', 'replace', 'fe80::7', 'lladdr', '02:00:00:00:00:07', 'nud', 'reachable', 'dev', d]);
  await sleep(300);
  const early = [kernelState('fe80::7', KA), kernelState('fe80::7', KB)];
  await sleep(1700);
  const late = [kernelState('fe80::7', KA), kernelState('fe80::7', KB)];
  const within = (ms: number, base: number): boolean => ms >= base / 2 && ms < (base * 3) / 2;
  assert.deepEqual({ early, late, reach: [within(kReach[0]!, 1000), within(kReach[1]!, 30_000)] },
    { early: ['REACHABLE', 'REACHABLE'], late: ['STALE', 'REACHABLE'], reach: [true, true] }, 'the kernel');

  const m = emulated();
  m.r.ns.setSysctl('net.ipv6.neigh.qr-a.base_reachable_time_ms', 1000);
  m.r.ns.setSysctl('net.ipv6.neigh.qr-a.delay_first_probe_time', 0);
  const ours = (dev: Dev): number => reachableOf(runCommand(m.r.ns, `ip -6 ntable show dev ${dev}`));
  for (const d of ['qr-a', 'qr-b'] as const) {
    m.echo(d);
    m.na(d);
  }
  m.later(300);
  const mEarly = [m.state('qr-a'), m.state('qr-b')];
  m.later(1700);
  assert.deepEqual({ early: mEarly, late: [m.state('qr-a'), m.state('qr-b')], reach: [within(ours('qr-a'), 1000), within(ours('qr-b'), 30_000)] },
    { early: ['REACHABLE', 'REACHABLE'], late: ['STALE', 'REACHABLE'], reach: [true, true] }, 'dpemu');
});

test('retrans_time_ms and mcast_solicit: an unanswered resolution fails one solicitation and retrans_time later, the untouched device\'s after three a second apart', async () => {
  // INCOMPLETE counts its probes from ucast_solicit (3): with mcast_solicit 1, neigh_max_probes is 4, reached by the first.
  kernelSysctl(KA, 'retrans_time_ms=600', 'mcast_solicit=1');
  const pings = [KA, KB].map((d) => run('ip', ['netns', 'exec', kns, 'ping', '-6', '-c', '1', '-W', '2', `fe80::9%${d}`]));
  await sleep(100);
  const kStates = (): string[] => [kernelState('fe80::9', KA), kernelState('fe80::9', KB)];
  const k = { early: kStates(), late: [] as string[] };
  await sleep(1300);
  k.late = kStates();
  await Promise.all(pings);
  assert.deepEqual(k, { early: ['INCOMPLETE', 'INCOMPLETE'], late: ['FAILED', 'INCOMPLETE'] }, 'the kernel');

  const m = emulated();
  m.r.ns.setSysctl('net.ipv6.neigh.qr-a.retrans_time_ms', 600);
  m.r.ns.setSysctl('net.ipv6.neigh.qr-a.mcast_solicit', 1);
  // The host's echo requests: the replies wait for the host's address, asked by multicast solicitations.
  for (const d of ['qr-a', 'qr-b'] as const) m.echo(d);
  m.later(100);
  const early = [m.state('qr-a'), m.state('qr-b')];
  m.later(1300);
  const late = [m.state('qr-a'), m.state('qr-b')];
  m.later(2000);
  assert.deepEqual({ early, late, third: [m.state('qr-a'), m.state('qr-b')], sent: [m.solicits('qr-a'), m.solicits('qr-b')] },
    { early: ['INCOMPLETE', 'INCOMPLETE'], late: ['FAILED', 'INCOMPLETE'], third: ['FAILED', 'FAILED'], sent: [1, 3] }, 'dpemu');
});

test('delay_first_probe_time and ucast_solicit: a used STALE entry probes at once and fails after its one unicast solicitation; the untouched device\'s waits 5 s in DELAY', async () => {
  // PROBE counts from 0: neigh_max_probes is ucast_solicit + app_solicit + mcast_resolicit (0).
  kernelSysctl(KA, 'delay_first_probe_time=0', 'ucast_solicit=1', 'retrans_time_ms=600');
  for (const d of [KA, KB]) sh('ip', ['-6', '-n', kns, 'neigh', 'replace', 'fe80::8', 'lladdr', '02:00:00:00:00:08', 'nud', 'stale', 'dev', d]);
  const pings = [KA, KB].map((d) => run('ip', ['netns', 'exec', kns, 'ping', '-6', '-c', '1', '-W', '1', `fe80::8%${d}`]));
  await sleep(250);
  const kStates = (): string[] => [kernelState('fe80::8', KA), kernelState('fe80::8', KB)];
  const k = { early: kStates(), late: [] as string[] };
  await sleep(1000);
  k.late = kStates();
  await Promise.all(pings);
  assert.deepEqual(k, { early: ['PROBE', 'DELAY'], late: ['FAILED', 'DELAY'] }, 'the kernel');

  const m = emulated();
  for (const [key, v] of [['delay_first_probe_time', 0], ['ucast_solicit', 1], ['retrans_time_ms', 600]] as const) m.r.ns.setSysctl(`net.ipv6.neigh.qr-a.${key}`, v);
  for (const d of ['qr-a', 'qr-b'] as const) m.ns(d);
  m.later(250);
  const early = [m.state('qr-a'), m.state('qr-b')];
  const probes = m.solicits('qr-a');
  m.later(1000);
  assert.deepEqual({ early, late: [m.state('qr-a'), m.state('qr-b')], probes, more: m.solicits('qr-a') },
    { early: ['PROBE', 'DELAY'], late: ['FAILED', 'DELAY'], probes: 1, more: 0 }, 'dpemu');
});
