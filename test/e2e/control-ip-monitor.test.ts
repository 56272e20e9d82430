// `dpemu ip NODE netns exec NS ip monitor` through the real CLI and socket
// against the real `ip monitor` on a kernel twin: w02's snat namespace and
// its rfp- veth to the fip namespace in dpemu; in the kernel, two dpe-…
// namespaces joined by a veth with the same names, MACs, addresses and
// forwarding sysctls. The same commands on both (addresses v4 and v6, a
// secondary, routes added, replaced and deleted, rules of both families
// and an IPv6 route of a table of its own, a ping that
// resolves a neighbour, its REACHABLE going STALE with short timers, a
// neighbour deleted, added and changed, the device's MTU, down and up)
// must print the same records in the same order, but for ifindexes and
// the peer's namespace. dpemu's clock is the test's (startDaemon): STALE
// comes when the test moves it; the kernel's when its timer fires.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { runRemote } from '../../src/control/client.js';
import type { ManualClock } from '../../src/datapath/clock.js';
import { cli, startDaemon, type Daemon } from '../helpers/control.js';
import { requireRoot } from '../helpers/root.js';
import { FIP, SNAT } from '../helpers/seed-names.js';
import { KernelObjects, settled, sh, tryRun, uniqueTag } from './lab-names.js';

const RFP = 'rfp-c4d4b760-4', FPR = 'fpr-c4d4b760-4';
const tag = uniqueTag();
const nsA = `dpe-${tag}-ma`, nsB = `dpe-${tag}-mb`;
const real = new KernelObjects();
let d: Daemon;

/** The neighbour timers of the rfp- device, short: REACHABLE lasts 250 to 750 ms, then STALE (no DELAY: never used since). */
const NEIGH_SYSCTLS = ['ipv4', 'ipv6'].flatMap((f) => [`net.${f}.neigh.${RFP}.base_reachable_time_ms=500`, `net.${f}.neigh.${RFP}.delay_first_probe_time=0`]);
/** The fip end's link-local address (EUI-64 of its MAC). */
const FPR_LL = 'fe80::8099:8fff:fe5a:6bec';

before(async () => {
  requireRoot('ip monitor against the kernel');
  d = await startDaemon();
  real.addNetns(nsA);
  real.addNetns(nsB);
  // B is the fip namespace's end, a router as it is (its neighbour advertisements say so), sending A nothing unasked.
  sh('ip', ['netns', 'exec', nsB, 'sysctl', '-qw', 'net.ipv6.conf.all.forwarding=1', 'net.ipv6.conf.all.router_solicitations=0', 'net.ipv6.conf.default.router_solicitations=0']);
  sh('ip', ['netns', 'exec', nsA, 'sysctl', '-qw', 'net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1']);
  real.veth(`dpe${tag}`, nsA, RFP, nsB, FPR, { aMac: '36:66:d5:bf:5e:e0' });
  // Down and up again: B's link-local address is made anew from the MAC.
  sh('ip', ['-n', nsB, 'link', 'set', FPR, 'down']);
  sh('ip', ['-n', nsB, 'link', 'set', FPR, 'address', '82:99:8f:5a:6b:ec', 'up']);
  sh('ip', ['-n', nsA, 'link', 'set', 'lo', 'up']);
  for (const a of [['169.254.96.32/31'], ['112.65.210.200/32', 'brd', '112.65.210.200']]) sh('ip', ['-n', nsA, 'addr', 'add', ...a, 'dev', RFP]);
  for (const a of ['169.254.96.33/31', '192.0.2.2/24']) sh('ip', ['-n', nsB, 'addr', 'add', a, 'dev', FPR]);
  sh('ip', ['netns', 'exec', nsA, 'sysctl', '-qw', ...NEIGH_SYSCTLS]);
  // B's entries for A wait a minute before probing A (who would learn B again from the probe, unasked).
  sh('ip', ['netns', 'exec', nsB, 'sysctl', '-qw', `net.ipv4.neigh.${FPR}.delay_first_probe_time=60`, `net.ipv6.neigh.${FPR}.delay_first_probe_time=60`]);
  // dpemu's link-local address is there at once; the kernel's once DAD is done.
  await outOfDad(nsA, RFP);
  await outOfDad(nsB, FPR);
  const r = await runRemote({ socketPath: d.server.path }, 'ip', ['-n', FIP, 'w02', 'addr', 'add', '192.0.2.2/24', 'dev', FPR]);
  assert.equal(r.exit, 0, r.stderr);
  for (const s of NEIGH_SYSCTLS) {
    const w = await runRemote({ socketPath: d.server.path }, 'sysctl', ['w02', '-n', SNAT, '-w', s]);
    assert.equal(w.exit, 0, w.stderr);
  }
});

after(async () => {
  await d?.stop();
  real.cleanup();
});

function outOfDad(ns: string, dev: string): Promise<void> {
  return until('the link-local address out of DAD', () => sh('ip', ['-n', ns, '-6', 'addr', 'show', 'dev', dev]), (o) => o.includes('fe80::') && !o.includes('tentative'));
}

/** One side of the comparison: its ip monitor's output so far, how to run `ip WORDS` and ping in the namespace, and how STALE comes. */
interface Side {
  out(): string;
  ip(words: string[]): Promise<void>;
  /** `ip WORDS` in the peer's namespace. */
  peer(words: string[]): Promise<void>;
  /** ping -c1 DST, answered (or, `unanswered`, not: its exit is not looked at). */
  ping(dst: string, unanswered?: boolean): Promise<void>;
  /** Let the neighbour's reachable time run out. */
  age(): void;
}

function watch(child: ChildProcess): { out: () => string; err: () => string } {
  let out = '', err = '';
  child.stdout!.on('data', (c) => (out += c));
  child.stderr!.on('data', (c) => (err += c));
  return { out: () => out, err: () => err };
}

/** Wait for `test` to hold of what `look` reads, calling `poke` (moving dpemu's clock) in between. */
async function until(what: string, look: () => string, test: (out: string) => boolean, poke = () => {}): Promise<void> {
  // Deadlines are for waiting: the CLI compiles as it starts under tsx, seconds on a loaded box.
  const deadline = Date.now() + 60_000;
  while (!test(look())) {
    assert.ok(Date.now() < deadline, `${what}: not seen in\n${look()}`);
    poke();
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** ip monitor prints nothing until a change: a rule added and deleted again until it shows (in each of `outs`) says it listens. */
async function listening(side: Side, outs = [side.out]): Promise<void> {
  const marker = ['rule', 'add', 'from', '203.0.113.99', 'lookup', '99', 'pref', '999'];
  const deadline = Date.now() + 60_000;
  while (!outs.every((out) => out().includes('999:'))) {
    assert.ok(Date.now() < deadline, 'ip monitor never printed the marker rule');
    await side.ip(marker);
    await side.ip(['rule', 'del', 'pref', '999']);
    await new Promise((r) => setTimeout(r, 200));
  }
  for (const out of outs) await until('the marker rule deleted', out, (o) => /Deleted 999:.*\n$/.test(o));
}

/** The records after the marker, with what differs by nature masked: ifindexes, the peer's ifindex and namespace. */
function shown(out: string): string {
  const after = out.slice(out.lastIndexOf('Deleted 999:'));
  return after
    .slice(after.indexOf('\n') + 1)
    .split('\n')
    // The seed's own neighbour (169.254.96.33, DELAY at start) moves in dpemu only; the kernel's IPv6 multicast entries (ff02::, never notified when made) are not modelled.
    // ip's own complaint when another test deletes a namespace as it names the peer's (see tryRun).
    .filter((l) => !l.includes('169.254.96.33') && !/^(\[NEIGH\])?(Deleted )?ff02::/.test(l) && l !== 'Error: Peer netns reference is invalid.')
    .join('\n')
    // A flush deletes the neighbours in the order of the table's hash, seeded at random: each run of them as a set.
    .replace(/(^(\[NEIGH\])?Deleted [0-9a-f.:]+ .*[A-Z] \n)+/gm, (run) => run.split('\n').filter(Boolean).sort().map((l) => `${l}\n`).join(''))
    .replace(/^(\[[A-Z]+\])?(Deleted )?\d+: /gm, '$1$2N: ')
    .replace(/@if\d+/g, '@ifN')
    .replace(/link-netns \S+/g, 'link-netns PEER');
}

/** ip's words in the namespace (or, after `peer`, in the peer's); a ping that resolves a neighbour; its reachable time run out. */
const STEPS: (string[] | 'ping' | 'ping6' | 'stale' | 'unanswered' | 'dad')[] = [
  ['addr', 'add', '192.0.2.1/24', 'brd', '+', 'dev', RFP],
  ['addr', 'add', '192.0.2.9/24', 'dev', RFP],
  ['addr', 'add', '2001:db8::1/64', 'dev', RFP, 'nodad'],
  // With DAD: told tentative at once, then again (and its local route) once DAD is over.
  'dad',
  ['route', 'add', '198.51.100.0/24', 'via', '192.0.2.2'],
  ['route', 'replace', '198.51.100.0/24', 'via', '192.0.2.3', 'dev', RFP],
  ['route', 'del', '198.51.100.0/24'],
  ['-6', 'route', 'add', '2001:db8:1::/64', 'via', '2001:db8::2'],
  ['-6', 'route', 'del', '2001:db8:1::/64'],
  ['rule', 'add', 'from', '192.0.2.0/24', 'table', '100', 'pref', '1000'],
  ['rule', 'del', 'pref', '1000'],
  // IPv6's rules (not heard under -4) and a route of a table of its own.
  ['-6', 'rule', 'add', 'to', '2001:db8:1::/64', 'table', '100', 'pref', '1001'],
  ['-6', 'route', 'add', '2001:db8:1::/64', 'via', '2001:db8::2', 'table', '100'],
  ['-6', 'route', 'del', '2001:db8:1::/64', 'table', '100'],
  ['-6', 'rule', 'del', 'pref', '1001'],
  'ping',
  'stale',
  ['neigh', 'del', '192.0.2.2', 'dev', RFP],
  ['neigh', 'add', '192.0.2.7', 'lladdr', '02:00:00:00:00:07', 'dev', RFP],
  // STALE: no timer (a REACHABLE one would age on the kernel's clock only).
  ['neigh', 'change', '192.0.2.7', 'lladdr', '02:00:00:00:00:08', 'dev', RFP, 'nud', 'stale'],
  // The peer's end down and up: the carrier goes (the neighbours evicted) and comes back.
  ['peer', 'link', 'set', FPR, 'down'],
  ['peer', 'link', 'set', FPR, 'up'],
  ['neigh', 'add', '192.0.2.7', 'lladdr', '02:00:00:00:00:07', 'dev', RFP, 'nud', 'stale'],
  'ping6',
  'stale',
  // IPv6 neighbours written: PERMANENT, then changed (STALE, a router), deleted (FAILED first).
  ['-6', 'neigh', 'add', '2001:db8::7', 'lladdr', '02:00:00:00:00:07', 'dev', RFP],
  ['-6', 'neigh', 'change', '2001:db8::7', 'lladdr', '02:00:00:00:00:08', 'dev', RFP, 'nud', 'stale', 'router'],
  ['-6', 'neigh', 'del', '2001:db8::7', 'dev', RFP],
  // Nobody has 192.0.2.99: INCOMPLETE (not told), FAILED after the probes.
  'unanswered',
  ['addr', 'del', '2001:db8::1/64', 'dev', RFP],
  // The primary: its secondary goes first (no promote_secondaries).
  ['addr', 'del', '192.0.2.1/24', 'dev', RFP],
  ['link', 'set', RFP, 'mtu', '1400'],
  ['link', 'set', RFP, 'down'],
  ['link', 'set', RFP, 'up'],
];

/** The same with -4, on the device alone, labelled: its records filtered as ip filters them. */
const FILTERED = ['-4', 'monitor', 'dev', RFP, 'label'];

async function play(side: Side, filtered: () => string): Promise<string> {
  await listening(side, [side.out, filtered]);
  let resolved = '';
  for (const s of STEPS) {
    if (s === 'ping') {
      resolved = '192.0.2.2';
      await side.ping(resolved);
      await until('REACHABLE', side.out, (o) => o.includes('192.0.2.2 dev rfp-c4d4b760-4 lladdr 82:99:8f:5a:6b:ec REACHABLE'));
    } else if (s === 'ping6') {
      resolved = FPR_LL;
      await side.ping(`${FPR_LL}%${RFP}`);
      await until('REACHABLE', side.out, (o) => o.includes(`${FPR_LL} dev ${RFP} lladdr 82:99:8f:5a:6b:ec router REACHABLE`));
    } else if (s === 'dad') {
      await side.ip(['addr', 'add', '2001:db8::7/64', 'dev', RFP]);
      await until('DAD over', side.out, (o) => o.includes(`local 2001:db8::7 dev ${RFP}`), side.age);
    } else if (s === 'unanswered') {
      await side.ping('192.0.2.99', true);
      await until('FAILED', side.out, (o) => o.includes(`192.0.2.99 dev ${RFP} FAILED`), side.age);
    } else if (s === 'stale') {
      side.age();
      await until('STALE', side.out, (o) => new RegExp(`^${resolved} dev ${RFP} lladdr 82:99:8f:5a:6b:ec (router )?STALE`, 'm').test(o));
    } else if (s[0] === 'peer') await side.peer(s.slice(1));
    else {
      await side.ip(s);
      // The kernel tells an IPv6 address (and its local and anycast routes) from addrconf's DAD work, nodad too, which may run after
      // ip returns: under load after the next step's records (CI saw the route add's first).
      if (s.join(' ') === `addr add 2001:db8::1/64 dev ${RFP} nodad`) await until('the IPv6 address told', side.out, (o) => o.includes(`anycast 2001:db8:: dev ${RFP}`));
    }
  }
  // Up again: addrconf's link-local address (after DAD in the kernel) and its routes come last.
  await until('the link-local routes', side.out, (o) => o.slice(o.lastIndexOf('state UP')).includes('\nanycast fe80::'));
  await settled(filtered);
  return shown(side.out()) + '\n-4 dev:\n' + shown(filtered());
}

test('ip monitor prints what the kernel prints for the same changes, in its order', async () => {
  const kmon = spawn('ip', ['-n', nsA, 'monitor']);
  const k = watch(kmon);
  const kfilter = spawn('ip', ['-n', nsA, ...FILTERED]);
  const kf = watch(kfilter);
  let kernel: string;
  try {
    kernel = await play({
      out: k.out,
      ip: async (w) => void sh('ip', ['-n', nsA, ...w]),
      peer: async (w) => void sh('ip', ['-n', nsB, ...w]),
      ping: async (dst, unanswered) => {
        // B's link-local address is made anew when it comes up: it answers once DAD is done.
        await outOfDad(nsB, FPR);
        if (unanswered) tryRun('ip', ['netns', 'exec', nsA, 'ping', '-c1', '-W1', dst]);
        else sh('ip', ['netns', 'exec', nsA, 'ping', '-c1', '-W5', dst]);
      },
      age: () => {},
    }, kf.out);
  } finally {
    kmon.kill('SIGINT');
    kfilter.kill('SIGINT');
  }
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'ip', '--socket', d.server.path, 'w02', 'netns', 'exec', SNAT, 'ip', 'monitor']);
  const m = watch(child);
  const ended = new Promise<NodeJS.Signals | number | null>((r) => child.on('close', (code, sig) => r(sig ?? code)));
  const filter = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'ip', '--socket', d.server.path, '-n', SNAT, 'w02', ...FILTERED]);
  const mf = watch(filter);
  let ours: string;
  try {
    ours = await play({
      out: m.out,
      ip: async (w) => {
        const r = await runRemote({ socketPath: d.server.path }, 'ip', ['-n', SNAT, 'w02', ...w]);
        assert.equal(r.exit, 0, `${w.join(' ')}: ${r.stderr}`);
      },
      peer: async (w) => {
        const r = await runRemote({ socketPath: d.server.path }, 'ip', ['-n', FIP, 'w02', ...w]);
        assert.equal(r.exit, 0, `${w.join(' ')}: ${r.stderr}`);
      },
      ping: async (dst, unanswered) => {
        const r = await cli(d.server.path, ['ip', 'w02', 'netns', 'exec', SNAT, 'ping', '-c1', unanswered ? '-W1' : '-W5', dst]);
        if (!unanswered) assert.equal(r.code, 0, r.stderr);
      },
      age: () => {
        (d.emu.engine.clock as ManualClock).advance(1000);
        d.emu.engine.tick();
      },
    }, mf.out);
  } finally {
    child.kill('SIGINT');
    filter.kill('SIGINT');
  }
  // Ctrl-C ends it as it ends ip: by the signal, nothing on stderr.
  assert.equal(await ended, 'SIGINT');
  assert.equal(m.err(), '');
  assert.equal(ours, kernel);
});

test('ip monitor: the objects it listens to, -t and label, and ip\'s refusals', async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'ip', '--socket', d.server.path, '-t', '-n', SNAT, 'w02', 'monitor', 'rule', 'label']);
  const m = watch(child);
  try {
    await listening({ out: m.out, ip: async (w) => void (await runRemote({ socketPath: d.server.path }, 'ip', ['-n', SNAT, 'w02', ...w])), peer: async () => {}, ping: async () => {}, age: () => {} });
    await runRemote({ socketPath: d.server.path }, 'ip', ['-n', SNAT, 'w02', 'addr', 'add', '198.51.100.1/24', 'dev', RFP]);
    await runRemote({ socketPath: d.server.path }, 'ip', ['-n', SNAT, 'w02', 'rule', 'add', 'pref', '1001', 'lookup', '101']);
    await until('the rule', m.out, (o) => o.includes('1001:'));
  } finally {
    child.kill('SIGINT');
  }
  // Only rules (the address is not one), each with its label after its own timestamp line.
  const records = m.out().split('\n').filter(Boolean);
  assert.equal(records.length % 2, 0, m.out());
  for (let i = 0; i < records.length; i += 2) assert.match(records[i]!, /^Timestamp: \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4} \d{1,6} usec$/);
  assert.equal(records.at(-1), '[RULE]1001:\tfrom all lookup 101');
  assert.ok(!m.out().includes('198.51.100.1'), m.out());
  const bad = await cli(d.server.path, ['ip', '-n', SNAT, 'w02', 'monitor', 'bogus']);
  assert.deepEqual([bad.code, bad.stderr], [255, 'Argument "bogus" is unknown, try "ip monitor help".\n']);
  const oneShot = await runRemote({ socketPath: d.server.path }, 'ip', ['-n', SNAT, 'w02', 'monitor']);
  assert.equal(oneShot.exit, 255);
  assert.match(oneShot.stderr, /'ip monitor' streams its events/);
});
