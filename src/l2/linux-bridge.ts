// A Linux bridge (qbr-) as the kernel's bridge module behaves with STP off:
// learn source MACs per port, age them out (ageing_time 300 s), forward to
// the learned port, flood unknown/broadcast/multicast to every other port,
// and never forward IEEE 802.1D link-local group addresses (01:80:c2:00:00:0X).
// Frames to a port's own MAC (a "local" fdb entry) go to the bridge's own
// stack; a qbr has no address, so they are consumed there.
import { Element, type Port } from '../datapath/element.js';
import type { Packet } from '../datapath/packet.js';
import { readMacNum, macNumToString } from '../wire/addr.js';

export const BRIDGE_AGEING_MS = 300_000;

interface FdbEntry {
  port: Port;
  updated: number; // emulated ms
}

export class LinuxBridge extends Element {
  readonly ageingMs: number;
  /** Learned entries keyed by the 48-bit MAC as a number. */
  private readonly fdb = new Map<number, FdbEntry>();
  /** Local entries: each port's own interface MAC (brctl showmacs "is local? yes"). */
  private readonly local = new Map<number, Port>();
  /** brctl port numbers (1-based, in order of enslavement). */
  private readonly portNo = new Map<Port, number>();
  /** MAC of each port's interface, for local entries. */
  private readonly portMac = new Map<Port, number>();

  constructor(node: string, name: string, opts: { ageingMs?: number } = {}) {
    super('linux_bridge', node, name);
    this.ageingMs = opts.ageingMs ?? BRIDGE_AGEING_MS;
  }

  override portAdded(port: Port): void {
    this.portNo.set(port, this.ports.length);
  }

  /** Record the MAC of the interface enslaved as `port` (the bridge lists it as local). */
  setPortMac(port: Port, mac: number): void {
    this.portMac.set(port, mac);
    this.local.set(mac, port);
  }

  receive(pkt: Packet, inPort: Port): void {
    const e = this.engine;
    if (pkt.len < 14) return e.drop(pkt, this, 'malformed', 'shorter than an Ethernet header');
    const buf = pkt.buf, off = pkt.off;
    const dst = readMacNum(buf, off);
    const src = readMacNum(buf, off + 6);
    const now = e.now;

    // br_handle_frame: a multicast or all-zero source is not a valid station.
    if (buf[off + 6]! & 1 || src === 0) return e.drop(pkt, this, 'malformed', 'invalid source MAC');
    if (!this.local.has(src)) {
      const ent = this.fdb.get(src);
      if (ent) {
        if (ent.port !== inPort && e.tracing) e.note(pkt, this, `fdb: ${macNumToString(src)} moved to port ${this.portNo.get(inPort)}`);
        ent.port = inPort;
        ent.updated = now;
      } else {
        this.fdb.set(src, { port: inPort, updated: now });
        if (e.tracing) e.note(pkt, this, `fdb: learned ${macNumToString(src)} on port ${this.portNo.get(inPort)} (${inPort.name})`);
      }
    }

    // IEEE 802.1D reserved group addresses are not forwarded (group_fwd_mask 0).
    if (buf[off] === 0x01 && buf[off + 1] === 0x80 && buf[off + 2] === 0xc2 && buf[off + 3] === 0 && buf[off + 4] === 0 && (buf[off + 5]! & 0xf0) === 0) {
      return e.drop(pkt, this, 'filtered', 'link-local group address');
    }

    if (!(buf[off] & 1)) {
      if (this.local.has(dst)) return e.consume(pkt, this, `to the bridge's own address ${macNumToString(dst)}`);
      const ent = this.fdb.get(dst);
      if (ent && now - ent.updated <= this.ageingMs) {
        if (ent.port === inPort) return e.drop(pkt, this, 'no_output', 'learned on the input port');
        if (e.tracing) e.note(pkt, this, `forward to port ${this.portNo.get(ent.port)} (${ent.port.name}): ${macNumToString(dst)} learned there`);
        return e.output(pkt, ent.port);
      }
      if (ent) this.fdb.delete(dst);
    }
    this.flood(pkt, inPort);
  }

  private flood(pkt: Packet, inPort: Port): void {
    const e = this.engine;
    if (e.tracing) e.note(pkt, this, 'flood: unknown, broadcast or multicast destination');
    let last: Port | null = null;
    for (const p of this.ports) {
      if (p === inPort || !p.up) continue;
      if (last) {
        const c = e.clone(pkt, this, `flood copy to ${last.name}`);
        if (c) e.output(c, last);
      }
      last = p;
    }
    if (last) e.output(pkt, last);
    else e.drop(pkt, this, 'no_output', 'no other port to flood to');
  }

  override tick(now: number): void {
    for (const [mac, ent] of this.fdb) if (now - ent.updated > this.ageingMs) this.fdb.delete(mac);
  }

  /** `brctl showmacs` output: learned and local entries sorted by port number. */
  showmacs(now = this.engine.now): string {
    const rows: { no: number; mac: number; local: boolean; age: number /* ms */ }[] = [];
    for (const [mac, port] of this.local) rows.push({ no: this.portNo.get(port)!, mac, local: true, age: 0 });
    for (const [mac, ent] of this.fdb) {
      if (now - ent.updated > this.ageingMs) continue;
      rows.push({ no: this.portNo.get(ent.port)!, mac, local: false, age: now - ent.updated });
    }
    rows.sort((a, b) => a.no - b.no || a.mac - b.mac);
    let out = 'port no\tmac addr\t\tis local?\tageing timer\n';
    for (const r of rows) {
      const sec = Math.floor(r.age / 1000);
      const centi = Math.floor(r.age / 10) % 100;
      out += `${String(r.no).padStart(3)}\t${macNumToString(r.mac)}\t${r.local ? 'yes' : 'no'}\t\t${String(sec).padStart(4)}.${String(centi).padStart(2, '0')}\n`;
    }
    return out;
  }

  /** After a reload: keep what the previous bridge learned on ports that still exist. */
  adoptState(old: Element): void {
    if (!(old instanceof LinuxBridge)) return;
    for (const [mac, ent] of old.fdb) {
      const port = this.port(ent.port.name);
      if (port && !this.local.has(mac)) this.fdb.set(mac, { port, updated: ent.updated });
    }
  }

  /** Learned (non-local) entries, for tests and the control interface. */
  learned(): { mac: string; port: string; portNo: number }[] {
    return [...this.fdb].map(([mac, ent]) => ({ mac: macNumToString(mac), port: ent.port.name, portNo: this.portNo.get(ent.port)! }));
  }

  portNumber(port: Port): number {
    return this.portNo.get(port)!;
  }
}
