// `bridge link set` on a qbr's ports (src/control/bridge-link.ts,
// src/l2/bridge-port.ts) against iproute2's bridge on the kernel's bridge
// of the same shape (bridge-fdb-kernel.test.ts's: a veth pair qvb/qvo, a
// TAP held open): each command's stdout, stderr and exit status and then
// `bridge -d link show` must be the same, and so must where each frame sent
// between the changes comes out (the qvo end, the TAP, both, neither) and
// the `fdb show` after it: learning off, unknown unicast, broadcast and
// multicast flooding off, hairpin, isolated ports, a locked port, each port
// state. What `bridge monitor link` (and -d, and `all`, the learned
// entries' records among them) heard of it all must be the same too. The ifindexes differ (see bridge-fdb-kernel.test.ts): masked.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { requireRoot } from '../helpers/root.js';
import { loadTopologyText } from '../../src/topology/loader.js';
import { buildEmulator } from '../../src/topology/builder.js';
import { COMMANDS } from '../../src/control/registry.js';
import { startMonitor } from '../../src/control/monitors.js';
import { kernelQbr, qbrBridge, qbrTopology } from './qbr-topology.js';
import { KernelObjects, sh, uniqueTag } from './lab-names.js';

const tag = uniqueTag();
const BR = 'qbr-l', QVB = 'qvb-l', QVO = 'qvo-l', TAP = 'tap-l';
const MAC = { br: '02:00:5e:00:53:0a', qvb: '02:00:5e:00:53:01', qvo: '02:00:5e:00:53:03', tap: 'fe:16:3e:00:53:02' };
const VM = 'fa:16:3e:00:53:07', PEER = '0a:00:00:00:53:01', BCAST = 'ff:ff:ff:ff:ff:ff', MCAST = '01:00:5e:00:00:07';
const S = (n: number): string => `0a:00:00:00:54:${String(n).padStart(2, '0')}`;

const TOPOLOGY = qbrTopology({ name: 'dpe-bridge-link', tag, br: BR, qvb: QVB, qvo: QVO, tap: TAP, mac: MAC });

/** Holds the TAP open; for each `DEV HEX` line sends the frame (written to the TAP, or on the qvo end) and prints where it came out (JSON). */
const WIRE = String.raw`
import fcntl, json, os, select, socket, struct, sys, time
fd = os.open('/dev/net/tun', os.O_RDWR | os.O_NONBLOCK)
fcntl.ioctl(fd, 0x400454ca, struct.pack('16sH', b'${TAP}', 0x0002 | 0x1000))  # TUNSETIFF IFF_TAP|IFF_NO_PI
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
s.bind(('${QVO}', 0))
def drain(wait, want):
    seen = set()
    end = time.time() + wait
    while True:
        left = end - time.time()
        if left <= 0: return seen
        r, _, _ = select.select([fd, s], [], [], left)
        if fd in r:
            data = os.read(fd, 4096)
            if data[-4:] == want: seen.add('tap')
        if s in r:
            data, addr = s.recvfrom(4096)
            if addr[2] != socket.PACKET_OUTGOING and data[-4:] == want: seen.add('qvo')
print('ready', flush=True)
for line in sys.stdin:
    dev, frame = line.split()
    b = bytes.fromhex(frame)
    drain(0.05, b'')
    if dev == 'tap': os.write(fd, b)
    else: s.send(b)
    print(json.dumps(sorted(drain(0.4, b[-4:]))), flush=True)
`;

type Step = { cmd: string[] } | { from: 'tap' | 'qvo'; dst: string; src: string };

/** In order: each changes (or refuses to change) what the next finds. */
const STEPS: Step[] = [
  { from: 'tap', dst: BCAST, src: VM },
  { from: 'qvo', dst: VM, src: PEER },
  // Learning.
  { cmd: ['link', 'set', 'dev', TAP, 'learning', 'off'] },
  { from: 'tap', dst: BCAST, src: S(1) },
  { from: 'qvo', dst: S(1), src: PEER },
  { cmd: ['link', 'set', 'dev', TAP, 'learning', 'on'] },
  { from: 'tap', dst: BCAST, src: S(1) },
  { from: 'qvo', dst: S(1), src: PEER },
  // Flooding, by kind of frame.
  { cmd: ['link', 'set', 'dev', QVB, 'flood', 'off'] },
  { from: 'tap', dst: S(50), src: VM },
  { from: 'tap', dst: BCAST, src: VM },
  { from: 'tap', dst: MCAST, src: VM },
  { from: 'tap', dst: PEER, src: VM },
  { cmd: ['link', 'set', 'dev', QVB, 'flood', 'on', 'bcast_flood', 'off', 'mcast_flood', 'off'] },
  { from: 'tap', dst: S(50), src: VM },
  { from: 'tap', dst: BCAST, src: VM },
  { from: 'tap', dst: MCAST, src: VM },
  { from: 'tap', dst: '01:80:c2:00:00:00', src: VM },
  { cmd: ['link', 'set', 'dev', QVB, 'bcast_flood', 'on', 'mcast_flood', 'on'] },
  // Hairpin: back out of the port a frame came in by, flooded or to a station learned there.
  { cmd: ['link', 'set', 'dev', TAP, 'hairpin', 'on'] },
  { from: 'tap', dst: BCAST, src: VM },
  { from: 'tap', dst: S(1), src: VM },
  { from: 'tap', dst: S(51), src: VM },
  { cmd: ['link', 'set', 'dev', TAP, 'hairpin', 'off'] },
  { from: 'tap', dst: S(1), src: VM },
  // Isolated: one alone changes nothing, two do not talk.
  { cmd: ['link', 'set', 'dev', TAP, 'isolated', 'on'] },
  { from: 'tap', dst: PEER, src: VM },
  { cmd: ['link', 'set', 'dev', QVB, 'isolated', 'on'] },
  { from: 'tap', dst: PEER, src: VM },
  { from: 'qvo', dst: BCAST, src: PEER },
  { cmd: ['link', 'set', 'dev', QVB, 'isolated', 'off'] },
  { cmd: ['link', 'set', 'dev', TAP, 'isolated', 'off'] },
  // Locked: only sources the fdb has on the port pass, and none moves.
  { cmd: ['link', 'set', 'dev', QVB, 'locked', 'on'] },
  { from: 'qvo', dst: VM, src: S(2) },
  { from: 'qvo', dst: VM, src: VM },
  { from: 'qvo', dst: VM, src: PEER },
  { cmd: ['fdb', 'add', S(2), 'dev', QVB, 'master', 'static'] },
  { from: 'qvo', dst: VM, src: S(2) },
  { cmd: ['link', 'set', 'dev', QVB, 'locked', 'off'] },
  // Port states: learning learns and forwards nothing, listening and disabled neither; blocking forwards at once (STP off).
  { cmd: ['link', 'set', 'dev', TAP, 'state', 'learning'] },
  { from: 'tap', dst: BCAST, src: S(3) },
  { from: 'tap', dst: MAC.br, src: S(3) },
  { from: 'qvo', dst: VM, src: PEER },
  { cmd: ['fdb', 'add', S(10), 'dev', TAP, 'master', 'dynamic'] },
  { cmd: ['fdb', 'add', S(11), 'dev', TAP, 'master', 'use'] },
  { cmd: ['link', 'set', 'dev', TAP, 'state', '1'] },
  { cmd: ['fdb', 'add', S(12), 'dev', TAP, 'master', 'dynamic'] },
  { cmd: ['fdb', 'add', S(13), 'dev', TAP, 'master', 'use'] },
  { from: 'tap', dst: BCAST, src: S(4) },
  { from: 'tap', dst: '01:80:c2:00:00:0e', src: S(5) },
  { from: 'qvo', dst: BCAST, src: PEER },
  { cmd: ['link', 'set', 'dev', TAP, 'state', 'disabled'] },
  { from: 'tap', dst: BCAST, src: S(6) },
  { from: 'qvo', dst: VM, src: PEER },
  { cmd: ['link', 'set', 'dev', TAP, 'state', 'blocking'] },
  { from: 'tap', dst: BCAST, src: S(7) },
  { from: 'qvo', dst: S(7), src: PEER },
  // What is taken, shown and changes no forwarding here (STP, snooping and VLAN filtering off), and the numbers' readings.
  { cmd: ['link', 'set', 'dev', QVB, 'guard', 'on', 'root_block', 'on', 'fastleave', 'on', 'learning_sync', 'on', 'mcast_to_unicast', 'on', 'vlan_tunnel', 'on', 'mcast_router', '0'] },
  { cmd: ['link', 'set', 'dev', QVB, 'cost', '7', 'priority', '5'] },
  { cmd: ['link', 'set', 'dev', QVB, 'cost', '4294967297', 'priority', '65568', 'mcast_router', '256'] },
  { cmd: ['link', 'set', 'dev', QVB, 'cost', 'abc', 'priority', '-1', 'mcast_router', '-1', 'state', '255'] },
  { cmd: ['link', 'set', 'dev', QVB, 'state', ' 3', 'nobackup_port'] },
  { cmd: ['link', 'change', 'dev', QVB, 'fl', 'o'] },
  { cmd: ['link', 's', 'dev', QVB, 'flood', 'on', 'dev', TAP] },
  { cmd: ['link', 'set', 'dev', TAP, 'master', 'priority', '63'] },
  { cmd: ['link', 'set', 'dev', TAP] },
  { cmd: ['link', 'set', 'dev', BR, 'self', 'learning', 'off'] },
  // Refusals: the words, then the kernel's (a flag before a refused number stays changed).
  { cmd: ['link', 'set'] },
  { cmd: ['link', 'set', 'learning', 'on'] },
  { cmd: ['link', 'set', 'dev'] },
  { cmd: ['link', 'set', 'dev', TAP, 'learning'] },
  { cmd: ['link', 'set', 'dev', TAP, 'learning', 'On'] },
  { cmd: ['link', 'set', 'dev', TAP, 'bogus'] },
  { cmd: ['link', 'set', 'dev', TAP, 'state', 'Learning'] },
  { cmd: ['link', 'set', 'dev', TAP, 'state', '3x'] },
  { cmd: ['link', 'set', 'dev', TAP, 'hwmode', 'bad'] },
  { cmd: ['link', 'set', 'dev', TAP, 'hwmode', 'vepa'] },
  { cmd: ['link', 'set', 'dev', TAP, 'backup_port', 'nosuch'] },
  { cmd: ['link', 'set', 'dev', 'nosuch', 'learning', 'on'] },
  { cmd: ['link', 'set', 'dev', BR, 'learning', 'on'] },
  { cmd: ['link', 'set', 'dev', QVO, 'learning', 'on'] },
  { cmd: ['link', 'set', 'dev', TAP, 'self', 'learning', 'on'] },
  { cmd: ['link', 'set', 'dev', TAP, 'master', 'self', 'hairpin', 'on'] },
  { cmd: ['link', 'set', 'dev', TAP, 'state', '5'] },
  { cmd: ['link', 'set', 'dev', TAP, 'learning', 'off', 'cost', '-1'] },
  { cmd: ['link', 'set', 'dev', TAP, 'cost', '65536'] },
  { cmd: ['link', 'set', 'dev', TAP, 'priority', '64'] },
  { cmd: ['link', 'set', 'dev', TAP, 'mcast_router', '4'] },
  { from: 'tap', dst: BCAST, src: S(8) },
  { cmd: ['link', 'set', 'dev', TAP, 'hairpin', 'on', 'state', '4', 'mcast_router', '9'] },
  { from: 'tap', dst: BCAST, src: S(8) },
  { cmd: ['link', 'help'] },
];

const frame = (dst: string, src: string, seq: number): string => `${dst}${src}`.replaceAll(':', '') + '88b5' + '00'.repeat(42) + (0x5eed0000 + seq).toString(16);


const mask = (t: string): string => t.replace(/^(\[LINK\])?\d+: /gm, '$1N: ');

test('bridge link set on a qbr\'s ports takes, refuses, shows and tells what the kernel does, and its flags change forwarding as the kernel\'s', async () => {
  requireRoot('the bridge link kernel comparison');
  const objs = new KernelObjects();
  const mons: ChildProcess[] = [];
  let wire: ChildProcess | undefined;
  try {
    const { ns, ip } = kernelQbr(objs, `dpe-${tag}-bl`, { br: BR, qvb: QVB, qvo: QVO, mac: MAC });
    ip('tuntap', 'add', 'dev', TAP, 'mode', 'tap');
    ip('link', 'set', TAP, 'address', MAC.tap);
    for (const d of [QVO, QVB]) ip('link', 'set', d, 'promisc', 'on');
    for (const d of [QVB, TAP]) ip('link', 'set', d, 'master', BR);
    for (const d of [QVO, QVB, TAP, BR]) ip('link', 'set', d, 'up');
    wire = spawn('ip', ['netns', 'exec', ns, 'python3', '-c', WIRE], { stdio: ['pipe', 'pipe', 'inherit'] });
    const lines = createInterface({ input: wire.stdout! })[Symbol.asyncIterator]();
    assert.equal((await lines.next()).value, 'ready');
    await new Promise((r) => setTimeout(r, 1500)); // carrier and port states settle through linkwatch

    const loaded = loadTopologyText(TOPOLOGY, 'bridge-link.yaml');
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
    const emu = buildEmulator(loaded.topology);
    const seen = new Set<string>();
    emu.engine.attachEdge(emu.findPort('c1', TAP)!, { emit: () => void seen.add('tap') }); // the VM holds its TAP: carrier
    emu.findPort('c1', QVB)!.taps.push((_p, _port, dir) => void (dir === 'out' && seen.add('qvo')));
    const kernel = (args: string[]) => spawnSync('ip', ['netns', 'exec', ns, 'bridge', ...args], { encoding: 'utf8' });

    const monArgs = [['monitor', 'link'], ['-d', 'monitor', 'link'], ['monitor', 'all']];
    const theirMon = monArgs.map(() => ''), myMon = monArgs.map(() => '');
    monArgs.forEach((args, i) => {
      const m = spawn('ip', ['netns', 'exec', ns, 'bridge', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
      m.stdout!.setEncoding('utf8').on('data', (d: string) => (theirMon[i] += d));
      mons.push(m);
      startMonitor('bridge', { emu }, ['c1', ...args], { defer: (fn) => fn() }, (ls) => (myMon[i] += ls.map((l) => l.text + '\n').join('')));
    });
    await new Promise((r) => setTimeout(r, 300));

    const show = ['-d', 'link', 'show'], fdb = ['fdb', 'show', 'br', BR];
    assert.equal(mask((await qbrBridge(emu, show)).stdout), mask(kernel(show).stdout), 'before');
    let seq = 0;
    for (const step of STEPS) {
      if ('cmd' in step) {
        const mine = await qbrBridge(emu, step.cmd), theirs = kernel(step.cmd);
        const what = `bridge ${step.cmd.join(' ')}`;
        assert.deepEqual({ out: mine.stdout, err: mine.stderr, exit: mine.exit }, { out: theirs.stdout, err: theirs.stderr, exit: theirs.status }, what);
        assert.equal(mask((await qbrBridge(emu, show)).stdout), mask(kernel(show).stdout), `-d link show after ${what}`);
        assert.equal((await qbrBridge(emu, fdb)).stdout, kernel(fdb).stdout, `fdb show after ${what}`);
        continue;
      }
      const hex = frame(step.dst, step.src, seq++);
      wire.stdin!.write(`${step.from} ${hex}\n`);
      const theirs = JSON.parse((await lines.next()).value as string) as string[];
      seen.clear();
      emu.engine.inject(emu.engine.pool.allocFrom(Buffer.from(hex, 'hex'))!, emu.findPort('c1', step.from === 'tap' ? TAP : QVB)!);
      const what = `${step.src} > ${step.dst} in by ${step.from}`;
      assert.deepEqual([...seen].sort(), theirs, `out of: ${what}`);
      assert.equal((await qbrBridge(emu, fdb)).stdout, kernel(fdb).stdout, `fdb show after ${what}`);
    }
    assert.equal(mask((await qbrBridge(emu, ['-j', '-d', 'link'])).stdout).replace(/"ifindex":\d+,/g, ''), kernel(['-j', '-d', 'link']).stdout.replace(/"ifindex":\d+,/g, ''), '-j -d link');
    // ip -d's bridge_slave data says the same (port id and designated port from the priority, the cost given).
    for (const dev of [QVB, TAP]) {
      const slave = (t: string): string => /bridge_slave .* locked o(n|ff) /.exec(t)?.[0] ?? t;
      const mine = (await COMMANDS.get('ip')!.run({ emu, invalidate: () => {} }, ['-d', 'c1', 'link', 'show', 'dev', dev])).stdout;
      assert.equal(slave(mine), slave(sh('ip', ['-n', ns, '-d', 'link', 'show', 'dev', dev])), `ip -d link show dev ${dev}`);
    }
    // What dpemu does not model is refused in its own words: neigh_suppress, backup_port, a multicast router port.
    assert.deepEqual(await qbrBridge(emu, ['link', 'set', 'dev', TAP, 'neigh_suppress', 'on']), { stdout: '', stderr: `Error: ${TAP}'s neigh_suppress (ARP and ND suppression) is not emulated.\n`, exit: 255 });
    assert.deepEqual(await qbrBridge(emu, ['link', 'set', 'dev', TAP, 'backup_port', QVB]), { stdout: '', stderr: `Error: ${TAP}'s backup_port is not emulated.\n`, exit: 255 });
    assert.equal((await qbrBridge(emu, ['link', 'set', 'dev', TAP, 'mcast_router', '2'])).exit, 255, 'a multicast router port');
    assert.equal((await qbrBridge(emu, ['link', 'set', 'dev', TAP, 'neigh_suppress', 'off'])).exit, 0);
    assert.equal(kernel(['link', 'set', 'dev', TAP, 'neigh_suppress', 'off']).status, 0);
    await new Promise((r) => setTimeout(r, 300));
    for (const m of mons) m.kill();
    monArgs.forEach((args, i) => assert.equal(mask(myMon[i]!), mask(theirMon[i]!), `bridge ${args.join(' ')}`));
  } finally {
    for (const m of mons) m.kill();
    wire?.kill();
    objs.cleanup();
  }
});
