// arping's packet socket in an emulated namespace (src/netns/arping-socket.ts
// through src/control/ping.ts), in this thread on the seed topology: from
// w07's qrouter the device routing picks for the VM, its request at the VM's
// TAP as the kernel's packet socket sends it, every ARP frame the device
// receives handed to the socket (and still handled by the namespace's ARP
// layer), and what arping's main() refuses, with its exit statuses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildEmulator, type Emulator } from '../../src/topology/builder.js';
import { loadTopologyOrThrow } from '../../src/topology/loader.js';
import { ManualClock } from '../../src/datapath/clock.js';
import { buildFrame } from '../../src/wire/frame.js';
import { Capture } from '../../src/control/capture.js';
import { compileCaptureFilter } from '../../src/control/backend.js';
import { openPing, type PingEvent } from '../../src/control/ping.js';
import { ARPING_STDOUT } from '../../src/control/protocol.js';
import { ControlError } from '../../src/control/protocol.js';
import { Tcpdump } from '../../src/wire/tcpdump.js';
import { SEED_FILE, QROUTER, QR_MAC, VM_MAC, VM_EDGE } from '../helpers/seed-names.js';

function seed(): Emulator {
  return buildEmulator(loadTopologyOrThrow(SEED_FILE), { clock: new ManualClock(1000) });
}

/** An arping socket in w07's qrouter whose events are delivered at once. */
function arping(emu: Emulator, open: Record<string, unknown>) {
  const events: PingEvent[] = [];
  const s = openPing({ emu }, { node: 'w07', ns: QROUTER, size: 0, arp: {}, ...open } as never, { defer: (fn) => fn() }, (e) => events.push(...e));
  return { s, events };
}

/** What tcpdump -e prints for the frames that leave by the VM's TAP. */
function vmWire(emu: Emulator): string[] {
  const out: string[] = [];
  const printer = new Tcpdump({ verbose: 0, absoluteSeq: false, linkHeader: true, quiet: false });
  new Capture(emu.findPort(...VM_EDGE)!, compileCaptureFilter('arp'), { defer: (fn) => fn() }, (fs) => {
    for (const f of fs) if (f.dir === 'out') out.push(printer.format(f.data, 0, f.data.length, f.len));
  }, () => {});
  return out;
}

const fromVm = (emu: Emulator, arp: { op?: number; tha?: string }, dst = QR_MAC): void => {
  const f = buildFrame({ src: VM_MAC, dst, arp: { sha: VM_MAC, spa: '192.168.1.7', tpa: '192.168.1.1', tha: QR_MAC, ...arp } });
  emu.engine.inject(emu.engine.pool.allocFrom(f)!, emu.findPort(...VM_EDGE)!);
};

test('without -I the device routing names; a broadcast request, then one to the MAC the reply taught, reach the VM\'s TAP', () => {
  const emu = seed();
  const wire = vmWire(emu);
  const { s, events } = arping(emu, { dst: '192.168.1.7' });
  assert.deepEqual([s.source, s.device, s.mac], ['192.168.1.1', 'qr-178fc8e2-fd', QR_MAC]);
  s.send(0);
  s.send(1, undefined, undefined, VM_MAC);
  assert.equal(wire.length, 2, wire.join('\n'));
  assert.match(wire[0]!, new RegExp(`${QR_MAC} > ff:ff:ff:ff:ff:ff, ethertype ARP \\(0x0806\\), length 42: Request who-has 192\\.168\\.1\\.7 \\(ff:ff:ff:ff:ff:ff\\) tell 192\\.168\\.1\\.1, length 28$`));
  assert.match(wire[1]!, new RegExp(`${QR_MAC} > ${VM_MAC}, ethertype ARP \\(0x0806\\), length 42: Request who-has 192\\.168\\.1\\.7 \\(${VM_MAC}\\) tell 192\\.168\\.1\\.1, length 28$`));
  assert.deepEqual(events.map((e) => [e.kind, e.kind === 'sent' ? e.seq : -1]), [['sent', 0], ['sent', 1]]);
  s.stop();
});

test('every ARP frame the device receives reaches the socket whole, the namespace\'s ARP layer handling it as before', () => {
  const emu = seed();
  const wire = vmWire(emu);
  const { s, events } = arping(emu, { dst: '192.168.1.7', device: 'qr-178fc8e2-fd' });
  fromVm(emu, { op: 2 });
  fromVm(emu, { op: 1, tha: '00:00:00:00:00:00' }, 'ff:ff:ff:ff:ff:ff');
  const frames = events.filter((e) => e.kind === 'reply');
  assert.equal(frames.length, 2, JSON.stringify(events));
  const f = frames[0]!;
  if (f.kind !== 'reply') return;
  assert.equal(f.data.length, 42);
  assert.deepEqual([...f.data.subarray(20, 22)], [0, 2], 'the reply opcode');
  // The request was for the router's address: the namespace answered it as always.
  assert.equal(wire.length, 1, wire.join('\n'));
  assert.match(wire[0]!, new RegExp(`${QR_MAC} > ${VM_MAC}, ethertype ARP \\(0x0806\\), length 42: Reply 192\\.168\\.1\\.1 is-at ${QR_MAC}, length 28$`));
  s.stop();
  fromVm(emu, { op: 2 });
  assert.equal(events.filter((e) => e.kind === 'reply').length, 2, 'a closed socket takes nothing');
});

test('what arping\'s main() refuses: its words and exit statuses, check_ifflags\' on stdout', () => {
  const emu = seed();
  const refused = (open: Record<string, unknown>): [string, number] => {
    try {
      arping(emu, open);
    } catch (e) {
      assert.ok(e instanceof ControlError, String(e));
      return [e.message, e.exit];
    }
    return ['', -1];
  };
  assert.deepEqual(refused({ dst: '192.168.1.7', device: 'nope' }), ['arping: Device nope not available.', 2]);
  assert.deepEqual(refused({ dst: '192.168.1.7', device: 'nope', source: 'bad' }), ['arping: Device nope not available.', 2]);
  assert.deepEqual(refused({ dst: '192.168.1.7', device: 'qr-178fc8e2-fd', source: 'bad' }), ['arping: invalid source bad', 2]);
  assert.deepEqual(refused({ dst: '192.168.1.7', device: 'qr-178fc8e2-fd', source: '192.168.1.50' }), ['arping: bind: Cannot assign requested address', 2]);
  assert.deepEqual(refused({ dst: '192.168.1.7', device: 'lo' }), [`${ARPING_STDOUT}Interface "lo" is not ARPable`, 2]);
  assert.deepEqual(refused({ dst: '192.168.1.7', device: 'lo', arp: { dad: true } }), [`${ARPING_STDOUT}Interface "lo" is not ARPable`, 0]);
  assert.deepEqual(refused({ dst: '192.168.1.1' }), [`${ARPING_STDOUT}Interface "lo" is not ARPable`, 2]);
  assert.deepEqual(refused({ dst: '192.168.1.255', device: 'qr-178fc8e2-fd' }), ['arping: connect: Permission denied', 2]);
  // The qrouter's main table has no default route (its default is in the policy table for 192.168.1.1).
  assert.deepEqual(refused({ dst: '203.0.113.8' }), ['arping: NETLINK_ROUTE unexpected iov element', 1]);
  // -D: no source; -U: the target's; -s 0.0.0.0 taken as given.
  assert.equal(arping(emu, { dst: '192.168.1.7', device: 'qr-178fc8e2-fd', arp: { dad: true } }).s.source, '0.0.0.0');
  assert.equal(arping(emu, { dst: '192.168.1.1', device: 'qr-178fc8e2-fd', arp: { unsolicited: true } }).s.source, '192.168.1.1');
  assert.equal(arping(emu, { dst: '192.168.1.7', device: 'qr-178fc8e2-fd', source: '0.0.0.0' }).s.source, '0.0.0.0');
  // Behind a gateway the device's address all the same (SO_DONTROUTE bound to the device: on link).
  assert.equal(arping(emu, { dst: '203.0.113.8', device: 'qr-178fc8e2-fd' }).s.source, '192.168.1.1');
});
