// `bridge monitor` on a qbr (src/control/bridge-monitor.ts) against
// iproute2's bridge monitor on the kernel's bridge: the same frames through
// a bridge of the same ports and ageing time (2 s), and the records each
// prints: an entry learned, one moved to another port, both deleted as they
// age out (`stale`), with `all`'s banners and `-s`'s ages. dpemu's clock is
// set to each frame's planned time; its timers run just past each expiry.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { requireRoot } from '../helpers/root.js';
import { loadTopologyText } from '../../src/topology/loader.js';
import { buildEmulator } from '../../src/topology/builder.js';
import type { ManualClock } from '../../src/datapath/clock.js';
import { startMonitor } from '../../src/control/monitors.js';
import { ControlError } from '../../src/control/protocol.js';
import { kernelQbr, qbrTopology } from './qbr-topology.js';
import { KernelObjects, uniqueTag } from './lab-names.js';

const tag = uniqueTag();
const BR = 'qbr-m', QVB = 'qvb-m', QVO = 'qvo-m', TAP = 'tap-m', VMEND = 'vm-m';
const VM = 'fa:16:3e:00:53:07', PEER = '0a:00:00:00:53:01';

const TOPOLOGY = qbrTopology({ name: 'dpe-bridge-monitor', tag, br: BR, qvb: QVB, qvo: QVO, tap: TAP, ageing: 2 });

/** Sends each `DEV HEX` line's frame from that device (the TAP's far end, or qvo). */
const SENDER = String.raw`
import socket, sys
socks = {}
for d in ('${VMEND}', '${QVO}'):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW); s.bind((d, 0)); socks[d] = s
print('ready', flush=True)
for line in sys.stdin:
    dev, frame = line.split()
    socks[dev].send(bytes.fromhex(frame))
`;

const frame = (dst: string, src: string): string => `${dst}${src}`.replaceAll(':', '') + '88b5' + '00'.repeat(46);
const MONITORS = [['monitor', 'fdb'], ['monitor', 'all'], ['-s', 'monitor'], ['monitor', 'link', 'fdb'], ['-t', 'monitor', 'fdb']];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('bridge monitor on a qbr prints the kernel\'s records: learned, moved, and aged out as stale; all\'s banners, -s\'s ages, -t\'s stamps', async (t) => {
  requireRoot('the bridge monitor kernel comparison');
  const objs = new KernelObjects();
  const kids: ChildProcess[] = [];
  try {
    const { ns, ip } = kernelQbr(objs, `dpe-${tag}-bm`, { br: BR, qvb: QVB, qvo: QVO, ageing: 2 });
    ip('link', 'add', TAP, 'type', 'veth', 'peer', 'name', VMEND);
    for (const d of [QVB, TAP]) ip('link', 'set', d, 'master', BR);
    for (const d of [QVO, QVB, TAP, VMEND, BR]) ip('link', 'set', d, 'up');
    await sleep(1500); // carrier and port states settle through linkwatch
    const outs = MONITORS.map((args) => {
      const k = spawn('ip', ['netns', 'exec', ns, 'bridge', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
      kids.push(k);
      let out = '';
      k.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
      return () => out;
    });
    const sender = spawn('ip', ['netns', 'exec', ns, 'python3', '-c', SENDER], { stdio: ['pipe', 'pipe', 'inherit'] });
    kids.push(sender);
    await new Promise<void>((ok) => sender.stdout!.once('data', () => ok()));
    await sleep(300); // the monitors' sockets are bound by now

    const loaded = loadTopologyText(TOPOLOGY, 'bridge-monitor.yaml');
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
    const emu = buildEmulator(loaded.topology);
    emu.engine.attachEdge(emu.findPort('c1', TAP)!, { emit: () => {} });
    const clock = emu.engine.clock as ManualClock;
    const mine = MONITORS.map((args) => {
      let out = '';
      startMonitor('bridge', { emu }, ['c1', ...args], { defer: (fn) => fn() }, (ls) => (out += ls.map((l) => l.text + '\n').join('')));
      return () => out;
    });

    // The VM's MAC learned on the TAP, the peer's on qvb, then the VM's moved to qvb; both age out 2 s after.
    const t0 = Date.now();
    const plan: [number, string, string][] = [[0, VMEND, frame('ff:ff:ff:ff:ff:ff', VM)], [400, QVO, frame(VM, PEER)], [800, QVO, frame(PEER, VM)]];
    for (const [at, dev, hex] of plan) {
      await sleep(t0 + at - Date.now());
      sender.stdin!.write(`${dev} ${hex}\n`);
      clock.set(at);
      emu.engine.inject(emu.engine.pool.allocFrom(Buffer.from(hex, 'hex'))!, emu.findPort('c1', dev === VMEND ? TAP : QVB)!);
    }
    for (const at of [2450, 2850]) {
      clock.set(at);
      emu.engine.tick();
    }
    // The kernel's garbage collection runs at each expiry; generous for a loaded host.
    await sleep(t0 + 5000 - Date.now());
    for (const [i, args] of MONITORS.entries()) {
      const theirs = outs[i]!();
      t.diagnostic(`bridge ${args.join(' ')}:\n${theirs}`);
      // -s's ages when deleted depend on when the kernel's collection ran: seconds past the 2 s.
      // -t's stamps are each side's own clock.
      const mask = (s: string): string => (args[0] === '-s' ? s.replace(/^(Deleted .* used )\d+\/\d+/gm, '$1N/N') : s.replace(/^Timestamp: \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4} \d+ usec$/gm, 'Timestamp: T'));
      assert.equal(mask(mine[i]!()), mask(theirs), `bridge ${args.join(' ')}`);
    }
    assert.match(mine[0]!(), new RegExp(`^Deleted ${VM} dev ${QVB} master ${BR} stale$`, 'm'));
  } finally {
    for (const k of kids) k.kill();
    objs.cleanup();
  }
});

test('bridge monitor refuses as bridge does', () => {
  const loaded = loadTopologyText(TOPOLOGY, 'bridge-monitor.yaml');
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
  const emu = buildEmulator(loaded.topology);
  const refusal = (argv: string[]): { message: string; exit: number } => {
    try {
      startMonitor('bridge', { emu }, argv, {}, () => {}).stop();
    } catch (e) {
      if (e instanceof ControlError) return { message: e.message, exit: e.exit };
      throw e;
    }
    return { message: '', exit: 0 };
  };
  // Checked against bridge 6.1 on this box.
  assert.deepEqual(refusal(['c1', 'monitor', 'bogus']), { message: 'Argument "bogus" is unknown, try "bridge monitor help".', exit: 255 });
  assert.deepEqual(refusal(['c1', 'monitor', 'label']), { message: 'Argument "label" is unknown, try "bridge monitor help".', exit: 255 });
  assert.deepEqual(refusal(['c1', 'monitor', 'help']), { message: 'Usage: bridge monitor [file | link | fdb | mdb | vlan | vni | all]', exit: 255 });
  assert.deepEqual(refusal(['-ts', 'c1', 'monitor']), { message: 'Option "-ts" is unknown, try "bridge help".', exit: 255 });
  assert.deepEqual(refusal(['c1', 'monitor', 'fdb']), { message: '', exit: 0 });
});
