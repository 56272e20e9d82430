// dpemu's `ip ntable` against iproute2 6.1's in a kernel namespace holding
// devices of the emulated namespace's names, created in its ifindex order:
// ARP's arp_cache and IPv6's ndisc_cache, each device's block. Masked: each
// parms' reachable time (random on both sides) and, with -s, the header's
// counters and hash values, which are the host's whole table in the kernel.
// Then `ip ntable change` on both tables: the same show, the same sysctl
// reads (net.ipv4.neigh and net.ipv6.neigh), and the ARP timing the new
// values give. Values in ms are multiples of 4: a
// kernel with HZ 250 rounds them to its jiffies, dpemu keeps them as written.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { requireRoot } from '../helpers/root.js';
import { loadTopologyFile } from '../../src/topology/loader.js';
import { buildEmulator } from '../../src/topology/builder.js';
import { COMMANDS } from '../../src/control/registry.js';
import { ControlError } from '../../src/control/protocol.js';
import { mustNamespace } from '../../src/control/resolve.js';
import { kept } from '../../src/workers/config-log.js';
import { parseIp4 } from '../../src/netns/addr.js';
import { nudName } from '../../src/netns/neighbour.js';
import { KernelObjects, sh, tryRun, uniqueTag } from './lab-names.js';

const NODE = 'w02';
const NS = 'snat-c4d4b760-41b9-45e1-a607-d054da99c479';
const [SG, RFP] = ['sg-499291dc-d8', 'rfp-c4d4b760-4'];
const tag = uniqueTag();
const kns = `dpe-${tag}-nt`;
/** Where each device's veth peer lives: out of kns, out of its ntable listing. */
const peers = `dpe-${tag}-np`;
const objs = new KernelObjects();

const loaded = loadTopologyFile('configs/seed-dvr-snat.yaml');
if (!loaded.ok) throw new Error('seed topology does not load');
const emu = buildEmulator(loaded.topology, { emulateHosts: false });
const ns = mustNamespace({ emu }, NODE, NS).ns;

type Out = { exit: number; out: string };
async function dpemu(family: string, argv: string[]): Promise<Out> {
  try {
    const r = await COMMANDS.get(family)!.run({ emu, invalidate: () => {} }, argv);
    return { exit: r.exit, out: r.stdout + r.stderr };
  } catch (e) {
    if (!(e instanceof ControlError)) throw e;
    return { exit: e.exit, out: e.stderr };
  }
}
const dpemuIp = (args: string[]): Promise<Out> => dpemu('ip', ['-n', NS, NODE, ...args]);
const kernelIp = (args: string[]): Out => {
  const r = tryRun('ip', ['-n', kns, ...args]);
  return { exit: r.status ?? -1, out: r.out };
};

/** The random reachable times; the header's kernel-wide counters, hash values, ages and entry_size (struct neighbour's, which differs by kernel build). */
const mask = (s: string): string =>
  s
    .replace(/(?<![_a-z])(reachable|"reachable":) ?\d+/g, '$1 R')
    .replace(/((?:entries|entry_size|hash_rnd|hash_mask|allocs|destroys|hash_grows|res_failed|lookups|hits|rcv_probes_mcast|rcv_probes_ucast|periodic_gc_runs|forced_gc_runs)"?:? ?)[0-9a-fx"]+/g, '$1N')
    .replace(/(last_flush|last_rand)("?:? ?)"?(?:[0-9-]+ [0-9:]+|\(error\))"?/g, '$1$2T');

before(() => {
  requireRoot('ip ntable against a kernel namespace');
  objs.addNetns(kns);
  objs.addNetns(peers);
  // Newest first in the kernel's parms list: the devices made in the emulated ifindex order (a veth's peer registers first, elsewhere).
  const devs = [...ns.links()].filter((l) => l.kind !== 'loopback').sort((a, b) => a.index - b.index);
  devs.forEach((l, i) => sh('ip', ['-n', kns, 'link', 'add', l.name, 'type', 'veth', 'peer', 'name', `dpe-${tag}p${i}`, 'netns', peers]));
});
after(() => objs.cleanup());

const SHOWS: string[][] = [
  ['ntable'], ['ntable', 'show'], ['ntable', 'list', 'dev', SG], ['ntable', 'lst', 'name', 'arp_cache', 'dev', 'lo'], ['ntable', 'show', 'dev', 'none'],
  ['ntbl', 'show', 'name', 'ndisc_cache'], ['ntable', 'show', 'name', 'nope'], ['-o', 'ntable'], ['-j', 'ntable'], ['-j', '-p', 'ntable', 'show', 'dev', SG],
  ['-s', 'ntable'], ['-s', 'ntable', 'show', 'dev', 'none'], ['-s', '-j', 'ntable', 'show', 'name', 'arp_cache'], ['-s', '-o', 'ntable', 'show', 'dev', 'none'],
  ['ntable', 'show', 'dev', 'nosuch'], ['ntable', 'show', 'foo'], ['ntable', 'show', 'name'], ['ntable', 'bar'], ['ntable', 'help'],
  // One family's tables: -4 arp_cache, -6 ndisc_cache, -0 (link) none.
  ['-4', 'ntable'], ['-6', 'ntable'], ['-6', 'ntable', 'show', 'dev', SG], ['-6', 'ntable', 'show', 'name', 'arp_cache'], ['-4', 'ntable', 'show', 'name', 'ndisc_cache'],
  ['-0', 'ntable'], ['-f', 'inet6', '-j', 'ntable', 'show', 'dev', 'lo'], ['-s', '-6', 'ntable', 'show', 'dev', 'none'], ['-6', '-o', 'ntable', 'show', 'dev', RFP], ['-s', '-j', '-p', '-6', 'ntable', 'show', 'name', 'ndisc_cache', 'dev', 'none'],
];

test('ip ntable show, -s, -j, -o and its refusals print what iproute2 6.1 prints', async () => {
  for (const args of SHOWS) {
    const k = kernelIp(args);
    const d = await dpemuIp(args);
    assert.deepEqual({ exit: d.exit, out: mask(d.out) }, { exit: k.exit, out: mask(k.out) }, `ip ${args.join(' ')}`);
  }
  // What is masked is still there: each device's reachable time is the one ARP uses, within [base/2, 3 × base/2).
  const shown = /dev sg-499291dc-d8 \n {4}refcnt 1 reachable (\d+) /.exec((await dpemuIp(['ntable', 'show', 'dev', SG])).out);
  assert.equal(Number(shown?.[1]), ns.neigh.reachableTime(ns.mustLink(SG).index));
  const shown6 = /dev sg-499291dc-d8 \n {4}refcnt 1 reachable (\d+) /.exec((await dpemuIp(['-6', 'ntable', 'show', 'dev', SG])).out);
  assert.equal(Number(shown6?.[1]), ns.nd6.reachableTime(ns.mustLink(SG).index));
});

const CHANGES: string[][] = [
  ['ntable', 'change', 'name', 'arp_cache', 'dev', SG, 'retrans', '200', 'mcast_probes', '1', 'queue', '3', 'base_reachable', '10000', 'locktime', '0x10', 'gc_stale', '010'],
  ['ntable', 'chg', 'name', 'arp_cache', 'dev', 'lo', 'delay_probe', '7000', 'app_probes', '2', 'proxy_delay', '0', 'proxy_queue', '9', 'anycast_delay', '12', 'ucast_probes', '4'],
  ['ntable', 'change', 'name', 'arp_cache', 'retrans', '5'], ['ntable', 'change', 'name', 'arp_cache', 'dev', RFP, 'thresh1', '5'],
  ['ntable', 'change', 'name', 'nope', 'dev', RFP, 'retrans', '5'], ['ntable', 'change', 'dev', RFP, 'retrans', '5'], ['ntable', 'change', 'name', 'arp_cache', 'dev', RFP],
  ['ntable', 'change', 'name', 'arp_cache', 'dev', 'nosuch', 'retrans', '1'], ['ntable', 'change', 'name', 'arp_cache', 'dev', RFP, 'retrans', 'x'],
  ['ntable', 'change', 'name', 'arp_cache', 'dev', RFP, 'queue', '4294967296'], ['ntable', 'change', 'name', 'arp_cache', 'dev', RFP, 'foo', '1'],
  ['ntable', 'change', 'name', 'arp_cache', 'name', 'arp_cache', 'dev', RFP, 'retrans', '5'], ['ntable', 'change', 'name'],
  // ndisc_cache: the same parms (a device's), looked up by family when one is given.
  ['ntable', 'change', 'name', 'ndisc_cache', 'dev', SG, 'retrans', '400', 'mcast_probes', '1', 'base_reachable', '8000', 'locktime', '0x10', 'queue', '5'],
  ['-6', 'ntable', 'change', 'name', 'ndisc_cache', 'dev', 'lo', 'delay_probe', '3000', 'ucast_probes', '2', 'app_probes', '1', 'gc_stale', '9000'],
  ['ntable', 'change', 'name', 'ndisc_cache', 'retrans', '5'], ['ntable', 'change', 'name', 'ndisc_cache', 'dev', RFP, 'thresh1', '5'],
  ['-4', 'ntable', 'change', 'name', 'ndisc_cache', 'dev', RFP, 'retrans', '5'], ['-6', 'ntable', 'change', 'name', 'arp_cache', 'dev', RFP, 'retrans', '5'],
];
const READS = ['retrans_time_ms', 'mcast_solicit', 'unres_qlen', 'unres_qlen_bytes', 'base_reachable_time_ms', 'locktime', 'gc_stale_time', 'delay_first_probe_time', 'app_solicit', 'proxy_delay', 'proxy_qlen', 'anycast_delay', 'ucast_solicit'];

test('ip ntable change writes what the sysctls read, as the kernel answers it; the ARP table then runs on the new values', async () => {
  for (const args of CHANGES) {
    const k = kernelIp(args);
    const d = await dpemuIp(args);
    assert.deepEqual(d, k, `ip ${args.join(' ')}`);
  }
  // A worker's configuration log keeps the change (a restarted worker replays it), not the show.
  assert.ok(kept('ip', ['-n', NS, NODE, ...CHANGES[0]!]));
  assert.equal(kept('ip', ['-n', NS, NODE, 'ntable', 'show']), null);
  for (const args of [['ntable'], ['ntable', 'show', 'dev', SG], ['-j', 'ntable', 'show', 'dev', 'lo'], ['-6', 'ntable', 'show', 'dev', RFP]]) {
    assert.equal(mask((await dpemuIp(args)).out), mask(kernelIp(args).out), `after the changes: ip ${args.join(' ')}`);
  }
  for (const dev of [SG, 'lo', RFP]) {
    const keys = ['4', '6'].flatMap((v) => READS.map((r) => `net.ipv${v}.neigh.${dev}.${r}`));
    const d = await dpemu('sysctl', [NODE, '-n', NS, ...keys]);
    assert.equal(d.out, sh('ip', ['netns', 'exec', kns, 'sysctl', ...keys]), `sysctl on ${dev}`);
  }
  // retrans 200 and mcast_probes 1 on SG: an unanswered resolution fails at its first timer, 200 ms on; RFP's probes on a second apart.
  const t0 = 500_000;
  const target = { [SG]: parseIp4('192.168.1.9')!, [RFP]: parseIp4('169.254.96.9')! };
  for (const dev of [SG, RFP]) ns.neigh.resolve(target[dev]!, ns.mustLink(dev).index, t0);
  const state = (dev: string) => nudName(ns.neigh.get(target[dev]!, ns.mustLink(dev).index)?.state ?? 0);
  ns.neigh.tick(t0 + 199);
  const early = [state(SG), state(RFP)];
  ns.neigh.tick(t0 + 200);
  assert.deepEqual({ early, late: [state(SG), state(RFP)] }, { early: ['INCOMPLETE', 'INCOMPLETE'], late: ['FAILED', 'INCOMPLETE'] });
  // The failure is counted (neigh_invalidate's res_failed); the output path's lookups are not (it looks up without counting).
  const s = /res_failed (\d+) lookups (\d+) /.exec((await dpemuIp(['-s', 'ntable', 'show', 'dev', 'none'])).out);
  assert.deepEqual([Number(s?.[1]), Number(s?.[2])], [ns.neigh.stats.res_failed, ns.neigh.stats.lookups]);
  assert.ok(ns.neigh.stats.res_failed >= 1);
});
