// `dpemu trace` over datapath workers prints what one emulator prints. The
// lab topology runs once in this thread and once in two workers (w07 in one;
// w02 with the ToR gateway cabled to it in the other), and the same traces go
// through both in the same order, so both see the same state: ARP at either
// end, the write-up's request from the VM to the internet host (it crosses
// the fabric from w07 to w02), its reply (w02 to w07), a traceroute-style
// probe with TTL 2 whose ICMP error from the snat namespace crosses back, an
// ARP request the VM floods to the other node, --json, and two packets in
// one command. Text, exit and stderr must be identical. Last, a worker that
// does not report its part ends the trace with an error that names it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { buildEmulator, type Emulator } from '../../src/topology/builder.js';
import { loadTopologyOrThrow } from '../../src/topology/loader.js';
import { ManualClock } from '../../src/datapath/clock.js';
import { buildFrame, type FrameSpec } from '../../src/wire/frame.js';
import { InProcessBackend } from '../../src/control/backend.js';
import { trace } from '../../src/control/trace-command.js';
import { ControlError, type CommandResponse } from '../../src/control/protocol.js';
import { PartitionedDatapath } from '../../src/workers/supervisor.js';
import { PartitionedControl } from '../../src/workers/remote-control.js';
import { QR_MAC, VM_IP, VM_MAC } from '../helpers/seed-names.js';

const FILE = 'configs/lab-dvr-snat.yaml';
const VM = 'w07:tap2ab77d0f-99';
const INET = 'tor:swp2';
const INET_MAC = '02:00:cb:00:71:08';
const INET_IP = '203.0.113.8';
const TOR_MAC = '5c:c9:99:60:d2:72';
const SNAT_IP = '198.51.100.200';

const hex = (s: FrameSpec): string => Buffer.from(buildFrame(s)).toString('hex');
const at = (where: string, s: FrameSpec): string[] => ['--in', where, '--frame', hex(s)];
const fromVm = (s: Omit<FrameSpec, 'src' | 'dst'>): string[] => at(VM, { src: VM_MAC, dst: QR_MAC, ...s });

let emu: Emulator;
let dp: PartitionedDatapath;
let inline: InProcessBackend;
let split: PartitionedControl;
const writes = { inline: [] as string[], split: [] as string[] };

before(async () => {
  emu = buildEmulator(loadTopologyOrThrow(FILE), { clock: new ManualClock() });
  // Free edges let frames out, as the workers' edge sinks do.
  for (const e of emu.topology.edges) {
    const p = emu.engine.element(e.port.node, e.port.element)?.port(e.port.port);
    if (p && !p.peer && !p.edge) emu.engine.attachEdge(p, { emit: () => {} });
  }
  inline = new InProcessBackend(emu);
  dp = await PartitionedDatapath.start({ file: FILE, assignment: new Map([['w07', 1], ['w02', 0], ['tor', 0]]), clock: 'manual', collect: false });
  split = new PartitionedControl(dp);
});

after(async () => {
  await dp?.stop();
});

/** The same trace through one emulator and through the workers: the same answer. */
async function both(argv: string[]): Promise<CommandResponse> {
  const a = await inline.run(trace, argv, { invalidate: (w) => writes.inline.push(w) });
  emu.engine.tick(); // as the workers run their timers between batches (emulated time stands at 0)
  const b = await split.run(trace, argv, { invalidate: (w) => writes.split.push(w) });
  assert.equal(b.stdout, a.stdout, `dpemu trace ${argv.join(' ')}`);
  assert.deepEqual(b, a);
  assert.equal(a.exit, 0, a.stderr);
  return a;
}

/** How the trace says each packet ended, from its summary. */
const endings = (r: CommandResponse): string[] => [...r.stdout.matchAll(/^ {2}packet [\d >]+: (.*)$/gm)].map((m) => m[1]!);

test('ARP answered inside one node, on either side', async () => {
  const vm = await both(at(VM, { src: VM_MAC, dst: 'ff:ff:ff:ff:ff:ff', arp: { sha: VM_MAC, spa: VM_IP, tpa: '192.168.1.1' } }));
  assert.ok(endings(vm).includes(`left the emulator at ${VM}`), vm.stdout);
  // The internet host asks for its gateway: the ToR learns it, so the request below need not ARP.
  const inet = await both(at(INET, { src: INET_MAC, dst: 'ff:ff:ff:ff:ff:ff', arp: { sha: INET_MAC, spa: INET_IP, tpa: '203.0.113.1' } }));
  assert.ok(endings(inet).includes(`left the emulator at ${INET}`), inet.stdout);
});

test('the write-up request crosses from w07 to w02 and leaves at the internet host, the whole path', async () => {
  const r = await both(fromVm({ ip: { src: VM_IP, dst: INET_IP }, icmp: { id: 60691, seq: 1, data: 100 } }));
  assert.ok(endings(r).includes(`left the emulator at ${INET}`), r.stdout);
  // Every stage of the write-up, on both nodes, in order, one branch going on across the fabric.
  const hops = ['w07 qrouter-', 'w07 br-tun', 'fabric fabric', 'w02 br-tun', 'w02 snat-', 'w02 fip-', 'w02 br-ex', 'tor tor'];
  assert.match(r.stdout, new RegExp(hops.map((h) => `^ {2}${h}`).join('[^]*'), 'm'));
  assert.match(r.stdout, /^=== packet 2 \(from packet 1: w07:br-int: output to patch-tun\)\n(?: .*\n)* {2}w07 br-tun\n(?: .*\n)* {2}fabric fabric\n(?: .*\n)* {2}w02 eth2\n/m);
  assert.match(r.stdout, new RegExp(`${SNAT_IP.replace(/\./g, '\\.')} > ${INET_IP.replace(/\./g, '\\.')}: ICMP echo request`));
});

test('the reply crosses from w02 back to w07 and reaches the VM', async () => {
  const r = await both(at(INET, { src: INET_MAC, dst: TOR_MAC, ip: { src: INET_IP, dst: SNAT_IP }, icmp: { type: 0, id: 60691, seq: 1, data: 100 } }));
  assert.ok(endings(r).includes(`left the emulator at ${VM}`), r.stdout);
  assert.match(r.stdout, /^ {2}w02 snat-/m);
  assert.match(r.stdout, /^ {2}w07 br-int/m);
});

test('a probe with TTL 2 crosses to w02, and the ICMP time exceeded from snat crosses back to the VM', async () => {
  const r = await both(fromVm({ ip: { src: VM_IP, dst: INET_IP, ttl: 2 }, udp: { sport: 33000, dport: 33435, payload: 32 } }));
  assert.match(r.stdout, /^=== packet 2 \(from packet 1: w02:snat-\S+: .*\)$/m);
  assert.match(r.stdout, /192\.168\.1\.6 > 192\.168\.1\.7: ICMP time exceeded in-transit/);
  assert.ok(endings(r).includes(`left the emulator at ${VM}`), r.stdout);
  // And TTL 1: answered by the qrouter on w07 itself.
  const one = await both(fromVm({ ip: { src: VM_IP, dst: INET_IP, ttl: 1 }, udp: { sport: 33000, dport: 33434, payload: 32 } }));
  assert.match(one.stdout, /192\.168\.1\.1 > 192\.168\.1\.7: ICMP time exceeded in-transit/);
});

test('an ARP request the VM floods reaches the other node: every copy numbered as one emulator numbers it', async () => {
  const r = await both(at(VM, { src: VM_MAC, dst: 'ff:ff:ff:ff:ff:ff', arp: { sha: VM_MAC, spa: VM_IP, tpa: '192.168.1.99' } }));
  assert.ok(endings(r).length > 1, r.stdout);
  assert.match(r.stdout, /^ {2}w02 /m);
});

test('--json and two packets in one command', async () => {
  const ping = (seq: number) => fromVm({ ip: { src: VM_IP, dst: INET_IP }, icmp: { id: 60691, seq, data: 56 } });
  const j = await both([...ping(2), '--json']);
  const doc = JSON.parse(j.stdout) as { in: string; branches: { outcome: string }[] }[];
  assert.deepEqual(doc.map((x) => x.branches.map((b) => b.outcome)), [[`left the emulator at ${INET}`]]);
  const two = await both([...ping(3), ...fromVm({ ip: { src: VM_IP, dst: INET_IP, ttl: 2 }, udp: { sport: 33001, dport: 33436, payload: 32 } })]);
  assert.match(two.stdout, /^##### packet 2 injected at w07:tap2ab77d0f-99$/m);
  // The server heard of every trace as a write, as from one emulator.
  assert.deepEqual(writes.split, writes.inline);
});

test('errors: the same text and exit', async () => {
  const answer = async (f: () => CommandResponse | Promise<CommandResponse>) => {
    try {
      return await f();
    } catch (e) {
      assert.ok(e instanceof ControlError, String(e));
      return { error: e.message, exit: e.exit };
    }
  };
  for (const argv of [['--in', 'w07:nosuch0', '--frame', 'ffffffffffff'], ['--in', VM], ['--in', 'w99:eth0', '--frame', 'ff']]) {
    const a = await answer(() => inline.run(trace, argv, { invalidate: () => {} }));
    const b = await answer(() => split.run(trace, argv, { invalidate: () => {} }));
    assert.ok('error' in a, JSON.stringify(a));
    assert.deepEqual(b, a, argv.join(' '));
  }
});

// Last: worker 0 stops forwarding.
test('a worker that does not report its part: the trace stops there and says which worker', async () => {
  const impatient = new PartitionedControl(dp, { traceWaitMs: 300 });
  await dp.request(0, { op: 'handover' }); // worker 0 (w02) answers, then forwards nothing more
  const r = await impatient.run(trace, fromVm({ ip: { src: VM_IP, dst: INET_IP }, icmp: { id: 60691, seq: 9, data: 56 } }), { invalidate: () => {} });
  assert.equal(r.exit, 1);
  assert.equal(r.stderr, 'dpemu trace: datapath worker 0 did not report its part of the trace within 300 ms; the trace above stops there\n');
  assert.match(r.stdout, /^ {2}fabric fabric\n(?: .*\n)* {6}handed to datapath worker 0, which has not reported what it did with it\n\n/m);
  assert.match(r.stdout, /^  packet 1: stopped at fabric:fabric$/m);
});
