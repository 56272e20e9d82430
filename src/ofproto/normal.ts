// The NORMAL action: OVS's built-in learning switch (ofproto-dpif-xlate.c
// xlate_normal). VLAN admission and translation per input port, reserved
// multicast dropped, source learned per VLAN, destination looked up (never
// for multicast: snooping is off by default), else flooded to every other
// port that carries the VLAN, each copy tagged as its output port wants it.
import { K, type FlowKey } from './flow-key.js';
import type { MacLearning } from './fdb.js';
import type { OvsPort } from './ovs-port.js';
import type { DropReason } from '../datapath/drop-reasons.js';

export interface NormalCtx {
  readonly key: FlowKey;
  /** Emulated time in whole seconds (OVS time_now()). */
  readonly nowS: number;
  readonly fdb: MacLearning;
  /** Ports in the order NORMAL floods them. */
  readonly portList: readonly OvsPort[];
  portByOfport(ofport: number): OvsPort | undefined;
  /** Output as the packet is now, with the flow TCI `tci` (0 = untagged). */
  outputTci(p: OvsPort, tci: number): void;
  /** An ofproto/trace detail line (" -> text"); a no-op when not tracing. */
  detail(text: string): void;
  setDropReason(r: DropReason): void;
  /** The fdb entry for (MAC, VLAN) on `port` was relied on: a source learned (`learn`), a destination found, or none found (`port` -1). */
  fdbUsed(learn: boolean, hi: number, lo: number, vlan: number, port: number): void;
  /** Key word `w`'s bits in `m` were read (the megaflow holds them). */
  useBits(w: number, m: number): void;
}

const CFI = 0x1000;

/** eth_addr_is_reserved(): frames to these never leave through NORMAL (forward_bpdu off). */
export function ethAddrIsReserved(hi: number, lo: number): boolean {
  if (hi === 0x0180 && (lo & 0xfffffff0) >>> 0 === 0xc2000000) return true; // 01:80:c2:00:00:0x
  if (hi === 0x00e0 && (lo === 0x2b000000 || lo === 0x2b000004 || lo === 0x2b000006)) return true; // EDP, EAPS
  if (hi === 0x0100) {
    if (lo === 0x0c000000 || lo === 0x0ccccccc || lo === 0x0ccccccd || lo === 0x0ccdcdcd) return true; // Cisco
    if ((lo & 0xfffffff8) >>> 0 === 0x0cccccc0) return true; // Cisco CFM
  }
  return false;
}

export function xlateNormal(x: NormalCtx): void {
  const key = x.key;
  const inPort = x.portByOfport(key[K.IN_PORT]!);
  if (!inPort) {
    x.detail('no input bundle, dropping');
    x.setDropReason('no_output');
    return;
  }
  const tci = key[K.VLAN_TCI]!;
  const tagged = (tci & CFI) !== 0;
  const inVid = tagged ? tci & 0xfff : 0;
  const pcp = tagged ? (tci >>> 13) & 7 : 0;
  if (!inPort.inputVidValid(inVid)) {
    x.detail('disallowed VLAN VID for this input port, dropping');
    x.setDropReason('vlan_mismatch');
    return;
  }
  const vlan = inPort.inputVlan(inVid);
  // Low MAC words as int32 (| 0): a uint32 above 2^31 is boxed when passed to a call.
  const dstHi = key[K.DL_DST_HI]!, dstLo = key[K.DL_DST_LO]! | 0;
  const srcHi = key[K.DL_SRC_HI]!, srcLo = key[K.DL_SRC_LO]! | 0;
  if (ethAddrIsReserved(dstHi, dstLo)) {
    x.detail('packet has reserved destination MAC, dropping');
    x.setDropReason('no_output');
    return;
  }
  // is_gratuitous_arp(), asked before learning whatever comes of it: a broadcast ARP's opcode, a request's addresses.
  if (key[K.DL_TYPE] === 0x0806 && dstHi === 0xffff && dstLo === -1) {
    x.useBits(K.NW_PROTO, 0xffffffff);
    if (key[K.NW_PROTO] === 1) {
      x.useBits(K.NW_SRC, 0xffffffff);
      x.useBits(K.NW_DST, 0xffffffff);
    }
  }
  x.fdb.learn(srcHi, srcLo, vlan, inPort.ofport, x.nowS);
  x.fdbUsed(true, srcHi, srcLo, vlan, inPort.ofport);

  if ((dstHi & 0x0100) === 0) {
    const e = x.fdb.lookup(dstHi, dstLo, vlan, x.nowS);
    if (e !== null) {
      x.fdbUsed(false, dstHi, dstLo, vlan, e.port);
      const out = x.portByOfport(e.port);
      if (!out) {
        x.detail('learned port is unknown, dropping');
        x.setDropReason('no_output');
      } else if (out === inPort) {
        x.detail('learned port is input port, dropping');
        x.setDropReason('no_output');
      } else {
        x.detail('forwarding to learned port');
        x.outputTci(out, out.outputTci(vlan, pcp));
      }
      return;
    }
    x.fdbUsed(false, dstHi, dstLo, vlan, -1);
  }
  x.detail('no learned MAC for destination, flooding');
  let n = 0;
  const ports = x.portList;
  for (let i = 0; i < ports.length; i++) {
    const p = ports[i]!;
    if (p === inPort || p.noFlood || !p.includesVlan(vlan)) continue;
    x.outputTci(p, p.outputTci(vlan, pcp));
    n++;
  }
  if (n === 0) x.setDropReason('no_output');
}
