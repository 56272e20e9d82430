// A net.ipv4.neigh.DEV.* write through sysctl changes what the ARP table
// does, as in a kernel namespace given the same writes: the kernel on its
// clock (ip neigh show at two moments), dpemu on the emulated one. The other
// device keeps the defaults on both sides.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { requireRoot } from '../helpers/root.js';
import { loadTopologyFile } from '../../src/topology/loader.js';
import { buildEmulator } from '../../src/topology/builder.js';
import { sysctl } from '../../src/control/sysctl-commands.js';
import { mustNamespace } from '../../src/control/resolve.js';
import { runCommand } from '../../src/netns/ip-text.js';
import { parseIp4 } from '../../src/netns/addr.js';
import { nudName } from '../../src/netns/neighbour.js';
import { KernelObjects, run, sh, uniqueTag } from './lab-names.js';

const NODE = 'w02';
const NS = 'snat-c4d4b760-41b9-45e1-a607-d054da99c479';
const [SG, RFP] = ['sg-499291dc-d8', 'rfp-c4d4b760-4'];
const tag = uniqueTag();
const kns = `dpe-${tag}-nb`;
const [KA, KB] = [`dpe-${tag}a`, `dpe-${tag}b`];
const objs = new KernelObjects();
const ip = (s: string) => parseIp4(s)!;

const loaded = loadTopologyFile('configs/seed-dvr-snat.yaml');
if (!loaded.ok) throw new Error('seed topology does not load');
const emu = buildEmulator(loaded.topology, { emulateHosts: false });
const ctx = { emu, invalidate: () => {} };
const ns = mustNamespace({ emu }, NODE, NS).ns;

const dpemuSysctl = async (dev: string, ...kv: string[]): Promise<void> => {
  const r = await sysctl.run(ctx, [NODE, '-n', NS, '-q', '-w', ...kv.map((x) => `net.ipv4.neigh.${dev}.${x}`)]);
  assert.deepEqual([r.exit, r.stderr], [0, ''], `dpemu sysctl ${kv.join(' ')}`);
};
const kernelSysctl = (dev: string, ...kv: string[]): void => {
  sh('ip', ['netns', 'exec', kns, 'sysctl', '-q', '-w', ...kv.map((x) => `net.ipv4.neigh.${dev}.${x}`)]);
};
/** The state `ip neigh show` gives ADDR on DEV in the kernel namespace. */
const kernelState = (addr: string, dev: string): string => / ([A-Z]+) *$/.exec(sh('ip', ['-n', kns, 'neigh', 'show', addr, 'dev', dev]).trim())?.[1] ?? 'none';
const modelState = (addr: string, dev: string): string => nudName(ns.neigh.get(ip(addr), ns.mustLink(dev).index)?.state ?? 0);

before(() => {
  requireRoot('neighbour sysctls against a kernel namespace');
  objs.addNetns(kns);
  objs.veth(`dpe${tag}`, kns, KA, kns, KB);
  sh('ip', ['-n', kns, 'addr', 'add', '192.0.2.1/24', 'dev', KA]);
});
after(() => objs.cleanup());

test('base_reachable_time_ms and delay_first_probe_time: a REACHABLE entry goes STALE within 1.5 × the base, the untouched device keeps 30 s', async () => {
  // neigh_proc_base_reachable_time draws reachable_time in [base/2, 3 × base/2); delay_first_probe_time 0: STALE, not DELAY.
  // A base of 4 s: the early look, at once, is well inside the shortest draw (2 s) even on a loaded box (with a
  // 1 s base it came 300 ms and an `ip` start after the replace, against a draw as short as 500 ms).
  kernelSysctl(KA, 'base_reachable_time_ms=4000', 'delay_first_probe_time=0');
  for (const [a, d] of [['192.0.2.7', KA], ['192.0.2.8', KB]] as const) {
    sh('ip', ['-n', kns, 'neigh', 'replace', a, 'lladdr', '02:00:00:00:00:07', 'nud', 'reachable', 'dev', d]);
  }
  const early = [kernelState('192.0.2.7', KA), kernelState('192.0.2.8', KB)];
  await sleep(6500);
  const late = [kernelState('192.0.2.7', KA), kernelState('192.0.2.8', KB)];
  assert.deepEqual({ early, late }, { early: ['REACHABLE', 'REACHABLE'], late: ['STALE', 'REACHABLE'] }, 'the kernel');

  await dpemuSysctl(SG, 'base_reachable_time_ms=4000', 'delay_first_probe_time=0');
  const t0 = 100_000;
  runCommand(ns, `ip neigh replace 192.168.1.77 lladdr 02:00:00:00:00:07 nud reachable dev ${SG}`, t0);
  runCommand(ns, `ip neigh replace 169.254.96.33 lladdr 02:00:00:00:00:07 nud reachable dev ${RFP}`, t0);
  ns.neigh.tick(t0 + 1999);
  const ours = { early: [modelState('192.168.1.77', SG), modelState('169.254.96.33', RFP)], late: [] as string[] };
  ns.neigh.tick(t0 + 6000);
  ours.late = [modelState('192.168.1.77', SG), modelState('169.254.96.33', RFP)];
  assert.deepEqual(ours, { early: ['REACHABLE', 'REACHABLE'], late: ['STALE', 'REACHABLE'] }, 'dpemu');
});

test('retrans_time_ms and mcast_solicit: an unanswered resolution fails one probe and retrans_time later, the untouched device\'s after three probes a second apart', async () => {
  // Entering INCOMPLETE, probes = ucast_solicit (3); neigh_max_probes = 3 + app_solicit + mcast_solicit: with 1, the first
  // timer (retrans_time later) finds 4 >= 4 and fails the entry.
  // retrans_time 600 ms: the first look (about 100 ms in) finds both INCOMPLETE even when the box is slow to run it.
  kernelSysctl(KA, 'retrans_time_ms=600', 'mcast_solicit=1');
  sh('ip', ['-n', kns, 'addr', 'add', '198.51.100.1/24', 'dev', KB]);
  const pings = [run('ip', ['netns', 'exec', kns, 'ping', '-c', '1', '-W', '2', '-I', KA, '192.0.2.9']), run('ip', ['netns', 'exec', kns, 'ping', '-c', '1', '-W', '2', '-I', KB, '198.51.100.9'])];
  await sleep(100);
  const kStates = (): string[] => [kernelState('192.0.2.9', KA), kernelState('198.51.100.9', KB)];
  const k = { early: kStates(), late: [] as string[] };
  await sleep(1300);
  k.late = kStates();
  await Promise.all(pings);
  assert.deepEqual(k, { early: ['INCOMPLETE', 'INCOMPLETE'], late: ['FAILED', 'INCOMPLETE'] }, 'the kernel');

  await dpemuSysctl(SG, 'retrans_time_ms=600', 'mcast_solicit=1');
  const t0 = 200_000;
  const probes = (dev: string): number => [ns.neigh.resolve(ip(dev === SG ? '192.168.1.9' : '198.51.100.9'), ns.mustLink(dev).index, t0)].filter((r) => r.kind === 'queued' && r.solicit).length;
  const first = [probes(SG), probes(RFP)];
  const states = (): string[] => [modelState('192.168.1.9', SG), modelState('198.51.100.9', RFP)];
  const early = states();
  const later = ns.neigh.tick(t0 + 800);
  const late = states();
  later.push(...ns.neigh.tick(t0 + 2500));
  const solicits = [SG, RFP].map((d) => later.filter((a) => a.kind === 'solicit' && a.ifindex === ns.mustLink(d).index).map((a) => a.at - t0));
  ns.neigh.tick(t0 + 3000);
  assert.deepEqual({ first, early, late, solicits, third: states() }, {
    first: [1, 1], early: ['INCOMPLETE', 'INCOMPLETE'], late: ['FAILED', 'INCOMPLETE'], solicits: [[], [1000, 2000]], third: ['FAILED', 'FAILED'],
  }, 'dpemu');
});
