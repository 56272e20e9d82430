// dpemu's Linux bridge (a qbr-) held to the kernel's bridge module. A real
// bridge with three veth ports (STP off, the kernel's defaults) and dpemu's
// LinuxBridge with three ports of the same MACs get the same random frames
// on the same ports, in the same order: unicast to learned, unknown and
// local addresses, broadcast, multicast, every IEEE 802.1D link-local group
// address (01:80:c2:00:00:0X), sources that move between ports, a port's own
// address as source, multicast and all-zero sources. Every frame must leave
// through the same ports on both, and the learned fdb must be the same.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { requireRoot } from '../helpers/root.js';
import { Engine } from '../../src/datapath/engine.js';
import { LinuxBridge } from '../../src/l2/linux-bridge.js';
import type { Port } from '../../src/datapath/element.js';
import type { Packet } from '../../src/datapath/packet.js';
import { mulberry32Unit } from '../../src/datapath/random.js';
import { macToString, parseMacNum } from '../../src/wire/addr.js';
import { KernelObjects, sh, uniqueTag } from './lab-names.js';

const tag = uniqueTag();
const ns = `dpe-${tag}-lb`;
const objs = new KernelObjects();
const PORTS = 3;
/** The enslaved ends' MACs (the bridge's local fdb entries); the other ends are where frames go in and out. */
const PORT_MACS = ['02:00:5e:10:00:01', '02:00:5e:10:00:02', '02:00:5e:10:00:03'];
const FRAMES = 400;

before(() => {
  requireRoot('the Linux bridge kernel comparison');
  objs.addNetns(ns);
  const ip = (...a: string[]): string => sh('ip', ['-n', ns, ...a]);
  // No IPv6 on the ends: their router solicitations would be learned too.
  for (const k of ['all', 'default']) sh('ip', ['netns', 'exec', ns, 'sysctl', '-qw', `net.ipv6.conf.${k}.disable_ipv6=1`]);
  // ageing_time in centiseconds: nothing ages during the test.
  ip('link', 'add', 'br0', 'type', 'bridge', 'ageing_time', '100000', 'stp_state', '0');
  for (let i = 0; i < PORTS; i++) {
    objs.veth(`dpe${tag}${i}`, ns, `p${i}b`, ns, `p${i}o`, { aMac: PORT_MACS[i]! });
    ip('link', 'set', `p${i}b`, 'master', 'br0');
  }
  ip('link', 'set', 'br0', 'up');
});
after(() => objs.cleanup());

// Sends each frame on its port's outer end, one at a time, and reports the ports it came out of.
const WIRE = String.raw`
import json, select, socket, sys, time
frames = json.load(sys.stdin)
socks = []
for i in range(${PORTS}):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
    s.bind(('p%do' % i, 0))
    socks.append(s)
def drain(wait):
    seen = set()
    end = time.time() + wait
    while True:
        left = end - time.time()
        if left <= 0: return seen
        r, _, _ = select.select(socks, [], [], left)
        for s in r:
            data, addr = s.recvfrom(4096)
            if addr[2] == socket.PACKET_OUTGOING: continue
            seen.add((socks.index(s), data[-4:].hex()))
time.sleep(0.2); drain(0.2)
out = []
for port, hexframe in frames:
    frame = bytes.fromhex(hexframe)
    socks[port].send(frame)
    seen = drain(0.03)
    out.append(sorted(p for p, seq in seen if seq == frame[-4:].hex()))
print(json.dumps(out))
`;

interface Frame {
  port: number;
  bytes: Uint8Array;
}

/** Random frames over a small pool of stations, so sources are learned, move and are sent to. */
function randomFrames(n: number): Frame[] {
  const rnd = mulberry32Unit(99);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const stations = ['0a:00:00:00:00:01', '0a:00:00:00:00:02', '0a:00:00:00:00:03', '0a:00:00:00:00:04', '0a:00:00:00:00:05'];
  const groups = ['ff:ff:ff:ff:ff:ff', '01:00:5e:00:00:07', '33:33:00:00:00:01', ...Array.from({ length: 16 }, (_, i) => `01:80:c2:00:00:0${i.toString(16)}`)];
  const frames: Frame[] = [];
  for (let seq = 0; seq < n; seq++) {
    const k = rnd();
    const dst = k < 0.45 ? pick(stations) : k < 0.55 ? pick(PORT_MACS) : k < 0.6 ? '0a:00:00:00:00:99' : pick(groups);
    const s = rnd();
    const src = s < 0.9 ? pick(stations) : s < 0.95 ? pick(PORT_MACS) : pick(['01:00:5e:00:00:09', '00:00:00:00:00:00']);
    const b = new Uint8Array(60);
    b.set(macBytes(dst), 0);
    b.set(macBytes(src), 6);
    b[12] = 0x88;
    b[13] = 0xb5; // IEEE local experimental: no protocol handler or snooping takes it
    new DataView(b.buffer).setUint32(56, 0x5eed0000 + seq);
    frames.push({ port: Math.floor(rnd() * PORTS), bytes: b });
  }
  return frames;
}

function macBytes(mac: string): Uint8Array {
  return Uint8Array.from(mac.split(':').map((h) => parseInt(h, 16)));
}

function throughKernel(frames: Frame[]): { out: number[][]; fdb: string[] } {
  const input = JSON.stringify(frames.map((f) => [f.port, Buffer.from(f.bytes).toString('hex')]));
  const r = spawnSync('ip', ['netns', 'exec', ns, 'python3', '-c', WIRE], { input, encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as number[][];
  // "MAC dev pNb master br0" for learned entries; permanent ones are the ports' own.
  const fdb = sh('ip', ['netns', 'exec', ns, 'bridge', 'fdb', 'show', 'br', 'br0']).split('\n')
    .map((l) => /^(\S+) dev p(\d)b master br0\s*$/.exec(l.trim()))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => `${m[1]} ${m[2]}`).sort();
  return { out, fdb };
}

function throughDpemu(frames: Frame[]): { out: number[][]; fdb: string[] } {
  const engine = new Engine();
  const br = engine.add(new LinuxBridge('lab', 'br0', { ageingMs: 1_000_000 }));
  const ports: Port[] = [];
  const seen: number[] = [];
  for (let i = 0; i < PORTS; i++) {
    const p = engine.addPort(br, `p${i}b`);
    br.setPortMac(p, parseMacNum(PORT_MACS[i]!)!);
    engine.attachEdge(p, { emit: (_pkt: Packet) => seen.push(i) });
    ports.push(p);
  }
  const out: number[][] = [];
  for (const f of frames) {
    seen.length = 0;
    engine.inject(engine.pool.allocFrom(f.bytes)!, ports[f.port]!);
    out.push([...seen].sort());
  }
  const fdb = br.learned().map((e) => `${e.mac} ${e.portNo - 1}`).sort();
  return { out, fdb };
}

test(`${FRAMES} random frames leave a real Linux bridge and dpemu's through the same ports`, () => {
  const frames = randomFrames(FRAMES);
  const kernel = throughKernel(frames);
  const ours = throughDpemu(frames);
  for (let i = 0; i < frames.length; i++) {
    const f = frames[i]!;
    assert.deepEqual(ours.out[i], kernel.out[i],
      `frame ${i} on port ${f.port}: ${macToString(...hiLo(f.bytes, 6))} > ${macToString(...hiLo(f.bytes, 0))}: kernel sent it to [${kernel.out[i]}], dpemu to [${ours.out[i]}]`);
  }
  assert.deepEqual(ours.fdb, kernel.fdb, 'learned fdb entries (MAC, port)');
  // Not vacuous: frames were forwarded, flooded and filtered.
  assert.ok(kernel.out.some((o) => o.length === 1) && kernel.out.some((o) => o.length === PORTS - 1) && kernel.out.some((o) => o.length === 0));
});

function hiLo(b: Uint8Array, off: number): [number, number] {
  return [(b[off]! << 8) | b[off + 1]!, ((b[off + 2]! << 24) | (b[off + 3]! << 16) | (b[off + 4]! << 8) | b[off + 5]!) >>> 0];
}
