// The routed underlay network between nodes, in process: each node's NIC is
// cabled to a fabric port whose MAC is that node's next hop (its gateway
// MAC). The fabric routes on the outer IPv4 destination to the NIC that owns
// it, as the physical routers would: source MAC becomes the egress gateway's,
// destination the NIC's, TTL one less. Real UDP sockets can replace it later
// behind the same ports.
import { Element, type Port } from '../datapath/element.js';
import type { Packet } from '../datapath/packet.js';
import { macHi, readMacHi, readMacLoI32, writeMac } from '../wire/addr.js';
import { csumUpdate16 } from '../wire/checksum.js';

// MACs as hi16 and int32 lo words, so reading, comparing and writing them
// per packet never makes a 48-bit double (boxed when it crosses a call).
interface Attachment {
  port: Port;
  gwHi: number; // the fabric's MAC on this side
  gwLo: number;
  nicIp: number;
  nicHi: number;
  nicLo: number;
}

export class Fabric extends Element {
  private readonly sides: Attachment[] = [];

  /** The fabric is a node of its own (node and element share the name). */
  constructor(name = 'fabric') {
    super('fabric', name, name);
  }

  attach(port: Port, gatewayMac: number, nicIp: number, nicMac: number): void {
    this.sides.push({ port, gwHi: macHi(gatewayMac), gwLo: gatewayMac | 0, nicIp, nicHi: macHi(nicMac), nicLo: nicMac | 0 });
  }

  receive(pkt: Packet, port: Port): void {
    const e = this.engine;
    const b = pkt.buf, p = pkt.off;
    const sides = this.sides;
    let inSide: Attachment | undefined, out: Attachment | undefined;
    for (let i = 0; i < sides.length && !inSide; i++) if (sides[i]!.port === port) inSide = sides[i];
    if (!inSide) return e.drop(pkt, this, 'no_carrier');
    if (pkt.len < 34 || b[p + 12] !== 0x08 || b[p + 13] !== 0x00) return e.drop(pkt, this, 'unknown_protocol', 'the fabric routes IPv4 only');
    if (readMacHi(b, p) !== inSide.gwHi || readMacLoI32(b, p) !== inSide.gwLo) return e.drop(pkt, this, 'not_for_us', 'not addressed to the gateway MAC');
    const ip = p + 14;
    const dst = ((b[ip + 16]! << 24) | (b[ip + 17]! << 16) | (b[ip + 18]! << 8) | b[ip + 19]!) >>> 0;
    for (let i = 0; i < sides.length && !out; i++) if (sides[i]!.nicIp === dst) out = sides[i];
    if (!out) return e.drop(pkt, this, 'no_route', 'no node owns the destination address');
    const ttl = b[ip + 8]!;
    if (ttl <= 1) return e.drop(pkt, this, 'ttl_exceeded');
    const oldWord = (ttl << 8) | b[ip + 9]!;
    b[ip + 8] = ttl - 1;
    const cs = csumUpdate16((b[ip + 10]! << 8) | b[ip + 11]!, oldWord, ((ttl - 1) << 8) | b[ip + 9]!);
    b[ip + 10] = cs >>> 8;
    b[ip + 11] = cs & 0xff;
    writeMac(b, p, out.nicHi, out.nicLo);
    writeMac(b, p + 6, out.gwHi, out.gwLo);
    if (e.tracing) e.note(pkt, this, `routed to ${out.port.name}`);
    e.recording?.ack();
    e.output(pkt, out.port);
  }
}
