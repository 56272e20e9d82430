// ping's socket in an emulated namespace (src/netns/ping-socket.ts through
// src/control/ping.ts), in this thread on the seed topology with a manual
// clock: the echo request leaves the qrouter from its own stack (policy
// route by source, SNAT on w02, out at eth3 tagged), the reply coming in at
// eth3 reaches the socket; an unresolved neighbour ends, after the ARP
// probes, in Destination Host Unreachable from the pinger's own address;
// a ping to the namespace's own address loops back, also one longer than a slot. And ping's numbers:
// rtt and loss as iputils 20221126 prints them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildEmulator, type Emulator } from '../../src/topology/builder.js';
import { loadTopologyOrThrow } from '../../src/topology/loader.js';
import { ManualClock } from '../../src/datapath/clock.js';
import { buildFrame } from '../../src/wire/frame.js';
import { Capture } from '../../src/control/capture.js';
import { compileCaptureFilter } from '../../src/control/backend.js';
import { openPing, type PingEvent } from '../../src/control/ping.js';
import { ControlError } from '../../src/control/protocol.js';
import { Tcpdump } from '../../src/wire/tcpdump.js';
import { PingStats, rttText } from '../../src/cli/ping-stats.js';
import { SEED_FILE, QROUTER, SNAT, SNAT_IP, GW_MAC, FIP_VIF_MAC, ETH3 } from '../helpers/seed-names.js';
import { mustNamespace } from '../../src/control/resolve.js';
import { routeGet } from '../../src/netns/ip-route-get.js';

function seed(): { emu: Emulator; clock: ManualClock } {
  const clock = new ManualClock(1000);
  return { emu: buildEmulator(loadTopologyOrThrow(SEED_FILE), { clock }), clock };
}

/** A socket in w07's qrouter whose events are delivered at once. */
function socket(emu: Emulator, open: Record<string, unknown>) {
  const events: PingEvent[] = [];
  const later: (() => void)[] = [];
  const s = openPing({ emu }, { node: 'w07', ns: QROUTER, size: 56, ...open } as never, { defer: (fn) => later.push(fn) }, (e) => events.push(...e));
  const flush = () => {
    for (const fn of later.splice(0)) fn();
    return events.splice(0);
  };
  return { s, flush };
}

test('an echo request from the qrouter leaves by SNAT at eth3; the reply reaches the socket', () => {
  const { emu } = seed();
  const out: string[] = [];
  const printer = new Tcpdump({ verbose: 0, absoluteSeq: false, linkHeader: true, quiet: false });
  new Capture(emu.findPort(...ETH3)!, compileCaptureFilter('icmp'), { defer: (fn) => fn() }, (fs) => {
    for (const f of fs) out.push(printer.format(f.data, 0, f.data.length, f.len));
  }, () => {});
  const { s, flush } = socket(emu, { dst: '8.8.8.8', source: '192.168.1.1' });
  assert.equal(s.source, '192.168.1.1');
  s.send(1);
  assert.equal(out.length, 1, 'one frame out at eth3');
  assert.match(out[0]!, new RegExp(`vlan 103, p 0, ethertype IPv4 \\(0x0800\\), ${SNAT_IP.replaceAll('.', '\\.')} > 8\\.8\\.8\\.8: ICMP echo request, id ${s.ident}, seq 1, length 64$`));
  const reply = buildFrame({ src: GW_MAC, dst: FIP_VIF_MAC, vlans: [103], ip: { src: '8.8.8.8', dst: SNAT_IP, ttl: 60 }, icmp: { type: 0, id: s.ident, seq: 1, data: 56 } });
  emu.engine.inject(emu.engine.pool.allocFrom(reply)!, emu.findPort(...ETH3)!);
  const got = flush();
  assert.equal(got.length, 1, JSON.stringify(got));
  const r = got[0]!;
  assert.equal(r.kind, 'reply');
  if (r.kind !== 'reply') return;
  // fip and snat (which un-NATs it) forward it; the qrouter takes it.
  assert.equal(r.data[8], 58, 'ttl');
  assert.deepEqual([...r.data.subarray(12, 20)], [8, 8, 8, 8, 192, 168, 1, 1]);
  assert.equal(r.data.length, 84);
  // A reply with another identifier is not this socket's.
  const other = buildFrame({ src: GW_MAC, dst: FIP_VIF_MAC, vlans: [103], ip: { src: '8.8.8.8', dst: SNAT_IP }, icmp: { type: 0, id: (s.ident + 1) & 0xffff, seq: 1, data: 56 } });
  emu.engine.inject(emu.engine.pool.allocFrom(other)!, emu.findPort(...ETH3)!);
  assert.deepEqual(flush(), []);
  s.stop();
});

test('an address nobody answers: Destination Host Unreachable from our own address once ARP gives up', () => {
  const { emu, clock } = seed();
  const { s, flush } = socket(emu, { dst: '192.168.1.99' });
  assert.equal(s.source, '192.168.1.1', 'the qr- address, as routing chose it');
  s.send(1);
  assert.deepEqual(flush(), [], 'held while ARP asks');
  // mcast_probes 3 at retrans_time 1 s: FAILED on the tick after the third probe.
  const seen: PingEvent[] = [];
  for (let i = 0; i < 5; i++) {
    clock.advance(1000);
    emu.engine.tick();
    seen.push(...flush());
  }
  assert.deepEqual(seen.map((e) => e.kind === 'error' && [e.from, e.type, e.code, e.seq]), [[0xc0a80101, 3, 1, 1]]);
  s.stop();
});

test('a ping to the namespace\'s own address loops back; no route and bad -s are ping\'s errors', () => {
  const { emu } = seed();
  const { s, flush } = socket(emu, { dst: '192.168.1.1' });
  s.send(1);
  const got = flush();
  assert.equal(got.length, 1);
  assert.equal(got[0]!.kind, 'reply');
  assert.throws(() => socket(emu, { dst: '8.8.8.8' }), (e: unknown) => e instanceof ControlError && e.exit === 2 && e.message === 'ping: connect: Network is unreachable');
  assert.throws(() => socket(emu, { dst: '8.8.8.8', device: 'eth9' }), /^ControlError: ping: SO_BINDTODEVICE eth9: No such device$/);
  assert.throws(() => socket(emu, { dst: '8.8.8.8', source: '10.9.9.9' }), /ping: bind: Cannot assign requested address/);
  s.stop();
  // Longer than a slot of the packet pool: held over several, reassembled at the loopback, answered whole.
  const big = socket(emu, { dst: '192.168.1.1', size: 5000 });
  const free = emu.engine.pool.available;
  big.s.send(1);
  const r = big.flush();
  assert.equal(r.length, 1);
  assert.equal(r[0]!.kind === 'reply' && r[0]!.data.length, 5028);
  assert.equal(emu.engine.pool.available, free, 'every slot back');
  big.s.stop();
});

test('ping\'s numbers as iputils prints them', () => {
  // Real ping: 0.256 and 0.037 ms -> 0.037/0.146/0.256/0.109.
  const st = new PingStats(56);
  st.advance();
  assert.equal(st.gather(1, 64, 64, 256, '198.51.100.2', false, false), '64 bytes from 198.51.100.2: icmp_seq=1 ttl=64 time=0.256 ms');
  st.advance();
  assert.equal(st.gather(2, 64, 64, 37, '198.51.100.2', false, false), '64 bytes from 198.51.100.2: icmp_seq=2 ttl=64 time=0.037 ms');
  assert.equal(st.gather(2, 64, 64, 40, '198.51.100.2', false, false), '64 bytes from 198.51.100.2: icmp_seq=2 ttl=64 time=0.040 ms (DUP!)');
  const f = st.finish('198.51.100.2', 1004_300_000, false, 0, 2);
  assert.equal(f.text, '\n--- 198.51.100.2 ping statistics ---\n2 packets transmitted, 2 received, +1 duplicates, 0% packet loss, time 1004ms\nrtt min/avg/max/mdev = 0.037/0.111/0.256/0.102 ms\n');
  assert.equal(f.exit, 0);
  assert.deepEqual([rttText(999), rttText(1000), rttText(1234), rttText(9994), rttText(14270), rttText(99949), rttText(123456)], [' time=0.999 ms', ' time=1.00 ms', ' time=1.23 ms', ' time=9.99 ms', ' time=14.3 ms', ' time=99.9 ms', ' time=123 ms']);
  const lost = new PingStats(56);
  for (let i = 0; i < 3; i++) lost.advance();
  lost.gather(3, 64, 64, 500, 'x', false, true);
  assert.match(lost.finish('x', 0, false, 5, 3).text, /3 packets transmitted, 1 received, 66\.6667% packet loss/);
  assert.equal(lost.finish('x', 0, false, 5, 3).exit, 1, '-w with fewer replies than -c: exit 1');
});

test('-M: fragmentation needed from the snat namespace, the learned path MTU, ip_no_pmtu_disc 1 and 2 as icmp_unreach reads them', () => {
  const { emu, clock } = seed();
  const snat = mustNamespace({ emu }, 'w02', SNAT);
  snat.ns.setMtu('rfp-c4d4b760-4', 1300);
  const qr = mustNamespace({ emu }, 'w07', QROUTER).ns;
  const dst = { dst: '8.8.8.8', source: '192.168.1.1', size: 1400 };
  const errors = (events: PingEvent[]) => events.map((e) => (e.kind === 'error' ? `${e.type}/${e.code} mtu ${e.info}` : e.kind === 'senderr' ? `${e.message} mtu ${e.mtu}` : e.kind));
  // The kernel's, checked by hand on kernel namespaces (ip_no_pmtu_disc 1: `Frag needed and DF set (mtu = 0)`,
  // then `mtu lock 552`; 2: nothing reaches ping, nothing learned).
  const cases: [number, string[], string][] = [[0, ['3/4 mtu 1300'], '1300'], [1, ['3/4 mtu 0'], 'lock 552'], [2, [], '']];
  for (const [nopmtu, want, learned] of cases) {
    qr.setSysctl('net.ipv4.ip_no_pmtu_disc', nopmtu);
    qr.pmtu.clear();
    const { s, flush } = socket(emu, { ...dst, pmtudisc: 2 });
    s.send(1);
    assert.deepEqual(errors(flush()), want, `ip_no_pmtu_disc ${nopmtu}`);
    clock.advance(1500); // on the emulated clock, as every timer of the namespace
    assert.match(routeGet(qr, '8.8.8.8 from 192.168.1.1'), new RegExp(`\\n    cache ${learned ? `expires 598sec mtu ${learned} ` : ''}\\n$`));
    // Learned: the next send fails locally, with the MTU; else it goes out again, to the same end.
    s.send(2);
    assert.deepEqual(errors(flush()), nopmtu === 2 ? [] : [`Message too long mtu ${nopmtu === 0 ? 1300 : 552}`]);
    s.stop();
    // net.ipv4.route.mtu_expires (600 s) after it was learned, the exception is gone.
    clock.advance(598_500);
    assert.match(routeGet(qr, '8.8.8.8 from 192.168.1.1'), /\n    cache \n$/);
  }
});
