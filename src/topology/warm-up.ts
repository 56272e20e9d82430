// Start-up warm-up. V8 runs a function in its interpreter until it has run
// often enough to be compiled with what it saw, so a fresh daemon forwarded
// its first frames on slow code (a fresh lab's first pings took up to twice
// as long: docs/running.md "Warm-up"). Before an engine forwards anything, the same
// topology is built once more as a scratch copy (its own engine, slab,
// conntrack tables and clock) and the lab hosts' traffic runs through it:
// ARP for each host's next hop, then ICMP echo, UDP and a TCP exchange
// between every pair of hosts, answered by a responder standing in for each
// host at its edge. The copy runs the same functions as the real engine, so
// their compiled code serves the real engine from its first frame. Nothing
// of the copy is kept: the running lab's counters, conntrack entries and
// learned addresses do not change, and no frame leaves the process.
import type { Topology, Host } from './model.js';
import { buildEmulator } from './builder.js';
import type { EdgeSink, Port } from '../datapath/element.js';
import type { Packet } from '../datapath/packet.js';
import { PacketPool } from '../datapath/packet.js';
import { ManualClock } from '../datapath/clock.js';
import { buildFrame } from '../wire/frame.js';
import { inPrefix, ipToString, macAt, parseCidr, parseIpv4, readU16 as u16, readU32 as u32 } from '../wire/addr.js';

/** Enough frames for V8 to have compiled the path (a few thousand runs of each function); more only costs start-up time. */
const MAX_FRAMES = 50_000;

export interface WarmUpReport {
  /** Frames the hosts' responders injected. */
  sent: number;
  /** Answers that came back to the host that asked (echo replies, UDP replies, SYN-ACKs). */
  answered: number;
  /** The same by protocol. */
  icmp: number;
  udp: number;
  tcp: number;
  ms: number;
}

const ETH_ARP = 0x0806, ETH_IP = 0x0800;
const PROTO_ICMP = 1, PROTO_TCP = 6, PROTO_UDP = 17;
const ECHO_PORT = 7;

/** A lab host at its edge: answers what a host's kernel answers, and counts the answers to what it asked. */
class HostEnd implements EdgeSink {
  readonly ip: number;
  readonly ipText: string;
  readonly mac: string;
  private readonly net: number;
  private readonly len: number;
  private readonly gateway: number | null;
  /** Addresses this host learned from ARP replies and requests: IP -> MAC. */
  readonly arp = new Map<number, string>();
  /** Answers to what this host asked, by protocol. */
  readonly answers = { icmp: 0, udp: 0, tcp: 0 };

  constructor(
    host: Host,
    readonly port: Port,
    private readonly send: (frame: Uint8Array, port: Port) => void,
  ) {
    const a = host.iface.addresses[0]!;
    const c = parseCidr(a.cidr)!;
    this.ip = parseIpv4(a.ip)!;
    this.ipText = a.ip;
    this.mac = host.iface.mac ?? '02:00:00:00:00:01';
    this.net = c.addr;
    this.len = c.len;
    const via = /^default\s+via\s+(\S+)/m.exec(host.routes?.text ?? '');
    this.gateway = via ? parseIpv4(via[1]!) : null;
  }

  /** The address whose MAC a frame to `dst` goes to: on-link, else the default gateway. */
  nextHop(dst: number): number | null {
    return inPrefix(dst, this.net, this.len) ? dst : this.gateway;
  }

  arpFor(ip: number): void {
    this.send(buildFrame({ src: this.mac, dst: 'ff:ff:ff:ff:ff:ff', arp: { sha: this.mac, spa: this.ipText, tpa: ipToString(ip) } }), this.port);
  }

  emit(pkt: Packet): void {
    const b = pkt.buf.subarray(pkt.off, pkt.off + pkt.len);
    if (b.length < 42) return;
    const type = u16(b, 12);
    if (type === ETH_ARP) return this.onArp(b);
    if (type !== ETH_IP || u32(b, 30) !== this.ip) return;
    const src = ipToString(u32(b, 26)), peer = macAt(b, 6), l4 = 14 + (b[14]! & 15) * 4;
    const reply = (spec: Parameters<typeof buildFrame>[0]['icmp' | 'udp' | 'tcp'], kind: 'icmp' | 'udp' | 'tcp'): void =>
      this.send(buildFrame({ src: this.mac, dst: peer, ip: { src: this.ipText, dst: src }, [kind]: spec }), this.port);
    switch (b[23]) {
      case PROTO_ICMP:
        if (b[l4] === 8) reply({ type: 0, id: u16(b, l4 + 4), seq: u16(b, l4 + 6), data: b.length - l4 - 8 }, 'icmp');
        else if (b[l4] === 0) this.answers.icmp++;
        return;
      case PROTO_UDP:
        if (u16(b, l4 + 2) === ECHO_PORT) reply({ sport: ECHO_PORT, dport: u16(b, l4), payload: u16(b, l4 + 4) - 8 }, 'udp');
        else this.answers.udp++;
        return;
      case PROTO_TCP: {
        const flags = b[l4 + 13]!, sport = u16(b, l4), dport = u16(b, l4 + 2), seq = u32(b, l4 + 4), ack = u32(b, l4 + 8);
        if (flags === 0x02) reply({ sport: dport, dport: sport, seq: 1000, ack: (seq + 1) >>> 0, flags: 'S.' }, 'tcp');
        else if (flags === 0x12) {
          this.answers.tcp++;
          reply({ sport: dport, dport: sport, seq: ack, ack: (seq + 1) >>> 0, flags: '.' }, 'tcp');
          reply({ sport: dport, dport: sport, seq: ack, ack: (seq + 1) >>> 0, flags: 'R.' }, 'tcp');
        }
        return;
      }
    }
  }

  private onArp(b: Uint8Array): void {
    const op = u16(b, 20), spa = u32(b, 28), tpa = u32(b, 38);
    this.arp.set(spa, macAt(b, 22));
    if (op === 1 && tpa === this.ip) {
      this.send(buildFrame({ src: this.mac, dst: macAt(b, 22), arp: { op: 2, sha: this.mac, spa: this.ipText, tha: macAt(b, 22), tpa: ipToString(spa) } }), this.port);
    }
  }
}

/**
 * Runs the hosts' traffic through a scratch copy of `t` for about `budgetMs`
 * or MAX_FRAMES frames, whichever comes first (at least 10 rounds). Without
 * two lab hosts there is no traffic to run and nothing is built.
 */
export function warmUp(t: Topology, budgetMs: number): WarmUpReport {
  const t0 = performance.now();
  const report: WarmUpReport = { sent: 0, answered: 0, icmp: 0, udp: 0, tcp: 0, ms: 0 };
  if (t.hosts.length < 2) return report;
  const clock = new ManualClock(1);
  const emu = buildEmulator(t, { pool: new PacketPool(1024), clock });
  const engine = emu.engine;
  const queue: { frame: Uint8Array; port: Port }[] = [];
  const send = (frame: Uint8Array, port: Port): void => {
    queue.push({ frame, port });
  };
  const ends: HostEnd[] = [];
  for (const h of t.hosts) {
    const port = emu.findPort(h.edge.node, h.edge.port);
    if (!port || port.peer || h.iface.addresses.length === 0) continue;
    const end = new HostEnd(h, port, send);
    engine.attachEdge(port, end);
    ends.push(end);
  }
  // Frames are injected in batches, as a datapath worker runs them; what the answers make waits for the next one.
  const flush = (): void => {
    while (queue.length > 0) {
      const batch = queue.splice(0, queue.length);
      engine.beginBatch();
      try {
        for (const { frame, port } of batch) {
          const p = engine.pool.allocFrom(frame);
          if (!p) break;
          engine.inject(p, port);
          report.sent++;
        }
      } finally {
        engine.endBatch();
      }
    }
  };
  for (let round = 0; round < 10 || (performance.now() - t0 < budgetMs && report.sent < MAX_FRAMES); round++) {
    for (const a of ends) {
      for (const b of ends) {
        if (a === b) continue;
        const nh = a.nextHop(b.ip);
        if (nh === null) continue;
        const mac = a.arp.get(nh);
        if (mac === undefined) {
          a.arpFor(nh);
          continue;
        }
        const ip = { src: a.ipText, dst: b.ipText };
        // Echoes and 8 UDP flows again and again (established connections), a new TCP connection every fourth
        // round (conntrack's new-connection path and NAT binding).
        send(buildFrame({ src: a.mac, dst: mac, ip, icmp: { id: 0x7777, seq: round & 0xffff, data: 56 } }), a.port);
        send(buildFrame({ src: a.mac, dst: mac, ip, udp: { sport: 32768 + (round % 8), dport: ECHO_PORT, payload: 64 } }), a.port);
        if (round % 4 === 0) send(buildFrame({ src: a.mac, dst: mac, ip, tcp: { sport: 40000 + (round & 0x3fff), dport: 80, seq: round, flags: 'S' } }), a.port);
      }
    }
    flush();
    clock.advance(1);
    if (round % 100 === 99) engine.tick();
  }
  for (const e of ends) {
    report.icmp += e.answers.icmp;
    report.udp += e.answers.udp;
    report.tcp += e.answers.tcp;
  }
  report.answered = report.icmp + report.udp + report.tcp;
  report.ms = performance.now() - t0;
  return report;
}
