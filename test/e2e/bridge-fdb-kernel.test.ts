// `dpemu bridge fdb|link show` on a qbr (src/control/bridge-commands.ts)
// against iproute2's bridge on the kernel's: the same shape in a kernel
// namespace (a qbr as os-vif's ensure_bridge makes it, forward_delay 0, stp
// off, multicast_snooping 0, with an address of its own that no port has; a
// veth pair qvb/qvo, both promiscuous; a TAP held open as libvirt holds it),
// the same frames on the same ports at the same times (half a second past
// whole seconds, so the seconds `-s` prints are the same on both sides),
// and the same show commands must print the same. Only the ifindexes differ
// (ip tuntap takes none, and the view numbers the OVS devices too): they are
// left out on both sides. A host so loaded that the kernel takes a frame
// after its half second is told by the kernel's own ages, and the whole
// comparison starts again on fresh devices (three times at most).
// test/e2e/ip-root-kernel.test.ts holds the seed's whole root namespace to
// the kernel (without -s), with the qbr's address a port's.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { requireRoot } from '../helpers/root.js';
import { loadTopologyText } from '../../src/topology/loader.js';
import { buildEmulator, type Emulator } from '../../src/topology/builder.js';
import type { ManualClock } from '../../src/datapath/clock.js';
import { COMMANDS } from '../../src/control/registry.js';
import { kernelQbr, qbrBridge, qbrTopology } from './qbr-topology.js';
import { KernelObjects, sh, uniqueTag } from './lab-names.js';

const tag = uniqueTag();
const BR = 'qbr-a', QVB = 'qvb-a', QVO = 'qvo-a', TAP = 'tap-a';
const MAC = { br: '02:00:5e:00:53:0a', qvb: '02:00:5e:00:53:01', qvo: '02:00:5e:00:53:03', tap: 'fe:16:3e:00:53:02' };
const VM = 'fa:16:3e:00:53:07', PEER = '0a:00:00:00:53:01';

const TOPOLOGY = qbrTopology({ name: 'dpe-bridge-fdb', tag, br: BR, qvb: QVB, qvo: QVO, tap: TAP, mac: MAC });

/** Holds the TAP open (carrier, as a VM's libvirt holds it) and sends each `DEV HEX` line's frame: written to the TAP, or on the qvo end. */
const HOLDER = String.raw`
import fcntl, os, socket, struct, sys
fd = os.open('/dev/net/tun', os.O_RDWR)
fcntl.ioctl(fd, 0x400454ca, struct.pack('16sH', b'${TAP}', 0x0002 | 0x1000))  # TUNSETIFF IFF_TAP|IFF_NO_PI
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(('${QVO}', 0))
print('ready', flush=True)
for line in sys.stdin:
    dev, frame = line.split()
    if dev == 'tap': os.write(fd, bytes.fromhex(frame))
    else: s.send(bytes.fromhex(frame))
    print('sent', flush=True)
`;

interface Lab {
  emu: Emulator;
  ns: string;
  objs: KernelObjects;
  holder: ChildProcess;
  lines: AsyncIterator<string>;
  /** When the kernel's bridge and ports got their own entries (wall ms): dpemu's clock starts there. */
  t0: number;
}

/** A fresh emulator and kernel namespace of the same shape; `i` numbers the attempt. */
async function setUp(i: number): Promise<Lab> {
  const loaded = loadTopologyText(TOPOLOGY, 'bridge-fdb.yaml');
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
  const emu = buildEmulator(loaded.topology);
  // The VM holds its TAP: carrier.
  emu.engine.attachEdge(emu.findPort('c1', TAP)!, { emit: () => {} });
  const objs = new KernelObjects();
  // In the order a node creates them (os-vif's qbr and veth pair, whose peer the kernel registers first, then libvirt's TAP),
  // which is dpemu's ifindex order: bridge fdb show lists devices in it.
  const { ns, ip } = kernelQbr(objs, `dpe-${tag}-bf${i}`, { br: BR, qvb: QVB, qvo: QVO, mac: MAC });
  ip('tuntap', 'add', 'dev', TAP, 'mode', 'tap');
  ip('link', 'set', TAP, 'address', MAC.tap);
  for (const d of [QVO, QVB]) ip('link', 'set', d, 'promisc', 'on');
  ip('link', 'set', QVB, 'master', BR);
  ip('link', 'set', TAP, 'master', BR);
  // The bridge's and its ports' own entries date from here (the bridge's a few ms earlier).
  const t0 = Date.now();
  for (const d of [QVO, QVB, TAP, BR]) ip('link', 'set', d, 'up');
  const holder = spawn('ip', ['netns', 'exec', ns, 'python3', '-c', HOLDER], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: holder.stdout! })[Symbol.asyncIterator]();
  assert.equal((await lines.next()).value, 'ready');
  // Carrier and port states settle through linkwatch.
  await new Promise((r) => setTimeout(r, 1500));
  return { emu, ns, objs, holder, lines, t0 };
}

function tearDown(lab: Lab): void {
  lab.holder.kill();
  lab.objs.cleanup();
}

before(() => requireRoot('the bridge fdb kernel comparison'));

const frame = (dst: string, src: string): string => `${dst}${src}`.replaceAll(':', '') + '88b5' + '00'.repeat(46);

async function dpemu(lab: Lab, argv: string[]): Promise<string> {
  const r = await COMMANDS.get('bridge')!.run({ emu: lab.emu, invalidate: () => {} }, ['c1', ...argv]);
  assert.equal(r.exit, 0, `dpemu bridge ${argv.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** stdout, stderr and exit status, a refusal's too. */
const dpemuAny = (lab: Lab, argv: string[]) => qbrBridge(lab.emu, argv);

/** The ifindexes differ (see the head of this file). */
const maskText = (t: string): string => t.replace(/^\d+: /gm, 'N: ');
const maskJson = (t: string): unknown => (JSON.parse(t) as Record<string, unknown>[]).map(({ ifindex: _, ...o }) => o);

/**
 * The plan on both sides, shown `SHOW_AT` seconds past `k`: the VM's MAC learned on the TAP; a station
 * behind qvo learned on qvb, sending to the VM (its entry used); the VM answering (its entry updated,
 * the station's used). Returns when the kernel's list is to be read, or null when the kernel did not
 * take the frames within their half seconds (a loaded host: its softirqs ran late).
 */
async function runPlan(lab: Lab): Promise<number | null> {
  const clock = lab.emu.engine.clock as ManualClock;
  const k = Math.ceil((Date.now() - lab.t0) / 1000) + 1;
  const plan: [number, 'tap' | 'qvo', string][] = [
    [k + 0.5, 'tap', frame('ff:ff:ff:ff:ff:ff', VM)],
    [k + 1.5, 'qvo', frame(VM, PEER)],
    [k + 2.5, 'tap', frame(PEER, VM)],
  ];
  for (const [at, dev, hex] of plan) {
    await new Promise((r) => setTimeout(r, lab.t0 + at * 1000 - Date.now()));
    lab.holder.stdin!.write(`${dev} ${hex}\n`);
    assert.equal((await lab.lines.next()).value, 'sent');
    clock.set(at * 1000);
    lab.emu.engine.inject(lab.emu.engine.pool.allocFrom(Buffer.from(hex, 'hex'))!, lab.emu.findPort('c1', dev === 'tap' ? TAP : QVB)!);
  }
  const showAt = lab.t0 + (k + 4.5) * 1000;
  await new Promise((r) => setTimeout(r, showAt - Date.now()));
  clock.set((k + 4.5) * 1000);
  // What the plan gives, on the kernel's side only: the ages of the VM's and the station's entries.
  const kernel = sh('ip', ['netns', 'exec', lab.ns, 'bridge', '-s', 'fdb', 'show', 'br', BR]);
  const onTime = kernel.includes(`${VM} dev ${TAP} used 3/2 master ${BR} \n`) && kernel.includes(`${PEER} dev ${QVB} used 2/3 master ${BR} \n`);
  return onTime && Date.now() - showAt < 300 ? showAt : null;
}

test('bridge fdb show, fdb get and link show on a qbr print what the kernel prints: learned entries newest first with their used/updated seconds, the ports\' own and the bridge\'s own, port states; fdb get\'s lookups and refusals', async (t) => {
  let lab: Lab | undefined;
  const stats = [['-s', 'fdb', 'show', 'br', BR], ['-s', 'fdb', 'show', 'brport', TAP], ['-s', '-j', 'fdb', 'show', 'br', BR], ['-s', '-j', '-p', 'fdb', 'show', 'dev', QVB], ['-s', 'fdb', 'get', VM, 'br', BR], ['-s', '-j', 'fdb', 'get', PEER, 'dev', TAP]];
  let read: string[] | null = null;
  try {
    // The kernel's -s lists read within the half second planned (their ages are whole seconds), all four before
    // dpemu's (whose clock stands still); an attempt where the kernel took the frames late, or where the reads
    // ran past that half second (up to 180 ms each at load 17 here), starts again on fresh devices.
    for (let i = 1; i <= 5 && read === null; i++) {
      if (lab) tearDown(lab);
      lab = await setUp(i);
      const showAt = await runPlan(lab);
      const lists = showAt === null ? null : stats.map((args) => sh('ip', ['netns', 'exec', lab!.ns, 'bridge', ...args]));
      if (lists && Date.now() - showAt! < 450) read = lists;
      else t.diagnostic(`attempt ${i}: the kernel took the frames, or was read, late (a loaded host); again`);
    }
    assert.ok(read !== null && lab, 'the kernel took the frames and was read at the planned times in one of five attempts');
    const kernel = (args: string[]): string => sh('ip', ['netns', 'exec', lab!.ns, 'bridge', ...args]);
    for (const [j, args] of stats.entries()) {
      const theirs: string = read[j]!;
      if (args.includes('-j')) assert.deepEqual(maskJson(await dpemu(lab, args)), maskJson(theirs), `bridge ${args.join(' ')}`);
      else assert.equal(await dpemu(lab, args), theirs, `bridge ${args.join(' ')}`);
    }
    // fdb get: br_fdb_get through the bridge named, a port's master or the bridge itself with `self`; its
    // refusals are bridge's (exit 255) or the kernel's (exit 254).
    const gets = [
      ['fdb', 'get', VM, 'br', BR], ['fdb', 'get', 'to', PEER.toUpperCase(), 'brport', TAP, 'master'], ['fdb', 'get', MAC.qvb, 'br', BR],
      ['fdb', 'get', MAC.br, 'dev', BR, 'self'], ['fdb', 'get', MAC.qvb, 'br', BR, 'dynamic'], ['fdb', 'get', VM, 'br', BR, 'dynamic'],
      ['fdb', 'get', '2:0:5e:0:53:1', 'dev', QVB], ['-p', '-j', 'fdb', 'get', MAC.tap, 'br', BR],
      ['fdb', 'get', '0a:00:00:00:53:99', 'br', BR], ['fdb', 'get', VM, 'br', BR, 'vlan', '1'], ['fdb', 'get', VM, 'br', BR, 'vlan', '0'],
      ['fdb', 'get', VM, 'br', BR, 'vlan', '-1'], ['fdb', 'get', VM, 'br', BR, 'vlan', '4095'], ['fdb', 'get', VM, 'br', BR, 'vlan', '2', 'vlan', '3'],
      ['fdb', 'get', VM, 'dev', BR], ['fdb', 'get', VM, 'dev', QVO], ['fdb', 'get', VM, 'dev', TAP, 'self'], ['fdb', 'get', VM, 'br', TAP],
      ['fdb', 'get', VM, 'br', BR, 'dev', TAP], ['fdb', 'get', VM], ['fdb', 'get', 'br', BR], ['fdb', 'get', 'zz', 'br', BR],
      ['fdb', 'get', VM, PEER, 'br', BR], ['fdb', 'get', VM, 'dev', 'nosuch'], ['fdb', 'get', VM, 'br', 'nosuch'], ['fdb', 'get', VM, 'br'],
      ['fdb', 'get', VM, 'br', BR, 'vni', 'x'], ['fdb', 'get', VM, 'br', BR, 'vni', '0x10'],
    ];
    for (const args of gets) {
      const mine = await dpemuAny(lab, args);
      const theirs: { stdout: string; stderr: string; status: number | null } = spawnSync('ip', ['netns', 'exec', lab.ns, 'bridge', ...args], { encoding: 'utf8' });
      assert.deepEqual({ out: mine.stdout, err: mine.stderr.trimEnd(), exit: mine.exit }, { out: theirs.stdout, err: theirs.stderr.trimEnd(), exit: theirs.status }, `bridge ${args.join(' ')}`);
    }
    for (const args of [['fdb', 'show', 'br', BR], ['fdb', 'show', 'dev', BR], ['fdb', 'show', 'dev', QVO], ['fdb', 'show', 'br', BR, 'dynamic'], ['fdb', 'show', 'br', BR, 'state', 'permanent'], ['link'], ['-d', 'link'], ['link', 'show', 'dev', TAP]]) {
      assert.equal(maskText(await dpemu(lab, args)), maskText(kernel(args)), `bridge ${args.join(' ')}`);
    }
    for (const args of [['-j', 'fdb', 'show', 'br', BR], ['-j', '-p', 'fdb', 'show', 'brport', QVB], ['-j', 'link'], ['-j', '-d', 'link'], ['-j', '-p', 'link']]) {
      const mine = await dpemu(lab, args), theirs = kernel(args);
      assert.deepEqual(maskJson(mine), maskJson(theirs), `bridge ${args.join(' ')}`);
      // The layout too (-p's indentation), with the ifindex members out.
      assert.equal(mine.replace(/"ifindex": ?\d+,\s*/g, ''), theirs.replace(/"ifindex": ?\d+,\s*/g, ''), `bridge ${args.join(' ')}`);
    }
  } finally {
    if (lab) tearDown(lab);
  }
});
