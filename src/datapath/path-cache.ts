// The whole-path cache (docs/performance-log.md, "Stop 29"): an injected frame's
// whole walk through the engine, kept per exact header, as an OVS megaflow
// keeps one bridge's decision. A frame is served by one entry from its inject
// port to the edge where it leaves the engine (a TAP, a worker's hand-off),
// with no hop queued and no element run.
//
// Key: the in_port, the length and the frame's header exactly (Ethernet,
// IPv4 without options, and the UDP header, the ICMP echo header or the TCP
// header's ports, data offset and flags); aside are its IP id, checksums
// (the UDP one counts only as zero or not) and what no element's decision
// reads: an echo's sequence number, a TCP segment's sequence and
// acknowledgement numbers, window and urgent pointer, which conntrack's
// tracking reads live (TCP options count only through the data offset: the
// window scale is read on a SYN alone, SACK blocks live). Only unfragmented
// IPv4 UDP, TCP and ICMP echo requests and replies are cached, untagged or
// under one 802.1Q tag (TPID 0x8100: the internet side's replies at w02's
// eth3, VLAN 103), whose whole TCI (PCP, DEI, VID: br-ex's flows and NORMAL
// read it) is keyed beside the untagged form's fields, the IPv4 header then
// at 18; the output's Ethernet header, tagged or not (an access port's pop,
// strip_vlan, mod_vlan_vid), is the recorded bytes like any other, so a hit
// pulls or pushes the difference. Under two tags (QinQ: 0x88a8 or 0x8100
// outside) a frame is not cached. No element fails its step for a tag: the
// OVS translation cache keys vlan_tci and replays its pushes and pops, a
// namespace's VLAN sub-interface keeps its counters as ops, a Linux bridge
// here does no VLAN filtering (its fdb keyed by MAC alone).
//
// An entry is recorded during a normal pass of the element path, the
// flow's second packet (its first only marks the key seen, so a new
// connection pays no recording), run alone: each element that took its own
// cache's hit path (an OVS translation entry, a namespace's route cache entry
// and neighbour, a traversal cache decision, an established conntrack entry,
// a Linux bridge's fdb entries) adds an op holding those entries; the counter
// cells (Stats) the pass bumped are kept as flat (cell, delta) pairs, the
// header rewrites that change checksums (TTL decrements, NAT) as rewrite ops
// and the rest as the output header's bytes. A pass that took any element's
// slow path, dropped, made a packet, hit a capture or a tracer, or left at
// more than one edge is not kept; one that cloned is kept only when each
// copy went out of a down port in the delivery that made it (Floods, below).
//
// A hit checks every op is live (each per-element entry's own precise
// invalidation: an entry removed, a MAC moved or aged, a conntrack entry
// changed, expired or gone, the ruleset changed; a TCP segment that
// conntrack's tracking would not accept as it did the recorded one), every
// port on the way up and uncaptured, then replays the ops' stateful side
// effects, adds the cells, applies the rewrites in order to the packet's IPv4
// header (the same functions the elements call, so checksums come out bit for
// bit), writes the output's Ethernet header and emits. So every counter, conntrack timeout and
// frame comes out as the element path's; a dead op removes the entry. The
// engine asks only while its queue is empty, so no frame overtakes another.
// Every op's live() runs before any hit(), so a pass where an op's check reads
// what an earlier op's replay writes (a connection's mark that one
// traversal's CONNMARK effects change and a later one reads) is not kept.
//
// Revalidation by generation ("Stop 30"): in a batch (Engine.beginBatch) no
// control change can come between frames, and what a shared op's live()
// reads changes only when the element path runs (Engine.run moves the
// engine's generation; a batch ends with one) or, for an OVS translation
// op, when a hit moves its port's memo (that op moves it). So a shape
// checked open (its steady ops live, its ports up and uncaptured) stays
// open for the batch's later hits at the same generation and `now`: they
// check only the flow's own ops (its conntrack entry and connection mark,
// whose timeout and state are per flow), any op not marked steady
// (PathOp.steady: the default checks on every hit), and the frame's
// checksums. Time is in the condition (`now` equal), so ageing and expiry
// are seen on the same hit as before; outside a batch every hit checks all.
// A shape's replay is compiled once into a function of its own
// (compileReplay): the cells and deltas as constants, the counter ops as
// additions, the other ops' hit() each at a call site of its own.
//
// Flows with the same path share their ops, rewrites and the rest (a
// PathShape): an entry is its key, a shape and its own ops in fields (its
// conntrack entry's, its connection mark's), so 10 k flows' entries stay a
// few cache lines each (stop 24's kept dozens of objects per flow and lost
// most of its gain to cache misses; stop 31 found a one-element array per
// flow worth a fifth of a hit).
//
// Partitioned workers (docs/workers.md): a path may end encapsulated, at a
// worker's hand-off to the fabric (its outer header is kept as bytes, but for
// the IP id, written live from the tunnel's counter with the IPv4 checksum
// adjusted, and the UDP source port, the flow's own), and it may start with
// a VXLAN frame from the fabric (a second key form: the outer header's
// fields the decapsulation reads, then the inner frame's key).
//
// The reply direction (an internet host's frame back to a VM on a compute
// node: from the fabric, into br-tun and across patch-tun into br-int) passes
// Neutron's br-tun table 10, whose learn() installs or refreshes the
// table-20 flow back to the sending VTEP for every packet. The translation
// cache keeps that step (EV_FLOW_LEARN: the key bits the learned flow is
// built from are in the megaflow, as OVS's learn_mask puts them; a lookup of
// the learned-into table later in the same bridge's translation is not
// kept), so the bridges' step is an XcPathOp like any other, whose hit runs
// the learn again with the step's key (LearnProg.execute: a refresh restarts
// the learned flow's hard timeout and allocates nothing; a flow gone is
// added again, as the element path would). br-int's NORMAL then finds the
// VM's MAC in its fdb (learned from the request direction; a hit checks the
// entry live and refreshes the source's, as for requests). A reply whose
// destination MAC br-int does not know (aged out after 300 s of silence
// from the VM, or flushed) floods, as OVS floods it (next paragraph).
//
// Floods ("Stop 31"): w02's br-int never learns the VM's MAC from the
// request direction (those frames come routed, from the DVR MAC), so 300 s
// after the VM's last broadcast its replies flood: to patch-tun, and to
// br-int's LOCAL port, which is down, where Engine.output drops the copy
// (tx_dropped, port_down). Such a pass is kept: each copy an element made
// (Engine.clone) must end at a down port in the same delivery (so it passed
// nothing on its own; PathRecorder.downDrop), the other going on along the
// path; the drops' counters are cells like any other. The shape keeps those
// ports (a hit asks each still down; one up kills the entry: its copy would
// leave there now) and the copies made (a hit asks the pool for as many free
// slots, else the element path runs, where a copy without a slot counts
// no_buffer instead). The translation cache's entry for the flood depends
// on the MAC's absence, so br-int learning it kills the entry (xlate-deps),
// and the path's op with it. A flood whose copies go on (to a live port,
// over a tunnel) is not kept.
//
// TCP: a connection's op (Conntrack.pathOp) is kept only for an ACK segment
// (no SYN, FIN or RST: the key's flags) of an ESTABLISHED, replied and
// assured connection that its tracking accepted; a hit asks that the
// segment's tracking keeps it so (be_liberal's window verdicts all accept;
// otherwise tcpPacket itself is asked and what it wrote put back), then
// tracks it for real (window, retransmission count, the timeout its state and
// unacknowledged data give) and counts it. A FIN, an RST or a SYN misses (its
// own key, never kept), and a segment the tracking would ignore or find
// INVALID, or of a connection past ESTABLISHED, removes the entry.
import type { Port } from './element.js';
import { CSUM_ALL, CSUM_HEADERS, type Packet } from './packet.js';
import type { Stats } from './stats.js';
import { fmix30 } from './hash.js';
import { checksum, csumUpdate16 } from '../wire/checksum.js';

/** A per-element piece of a path: checks its entries are still the element's answer, and replays its stateful effects. */
export interface PathOp {
  /**
   * Would the element take this step now (no side effect)? `b`, `l3`: the
   * frame's IPv4 header as it arrives, for a flow's own op whose step
   * depends on the packet (TCP tracking: asked for every frame; a hit calls
   * its hit() next, with the frame's L4 bytes where they were).
   */
  live(now: number, b: Uint8Array, l3: number): boolean;
  /**
   * True if live() answers the same at the same `now` until the engine's
   * generation moves (Engine.generation: its element path or timers ran, a
   * batch began): nothing else changes what it reads, or what does (a hit
   * of another flow) calls Engine.stateChanged(). A shape's steady ops are
   * checked once for a run of hits in one batch at one `now`; the others
   * (absent or false: the safe default) on every hit.
   */
  readonly steady?: boolean;
  /** The step's side effects beyond counter cells, for one packet at `now`. */
  hit(now: number): void;
  /**
   * Optional: hit() is only these additions, `array[index] += delta`
   * (counters), which a shape's replay then makes itself (compileReplay).
   */
  adds?(): readonly (readonly [Float64Array, number, number])[];
  /**
   * A key equal for ops that do the same thing (the same per-element entries,
   * through `id`), so flows share one op; null: the flow's own (its conntrack
   * entry). Shared ops keep an entry's cold memory small (docs/performance-log.md
   * "Stop 24": 10 k entries of a few dozen objects each lost to their cache misses).
   */
  share(id: (o: object) => number): string | null;
  /** Optional: read what live() and hit() will (PathCache.warmEntries), returning anything read. */
  warm?(): number;
}

/** A header rewrite that changes checksums, applied to the IPv4 header at `l3` (datagram end `end`). */
export interface PathRewrite {
  rewrite(buf: Uint8Array, l3: number, end: number): void;
  /** As PathOp.share (its arguments, as text). */
  share(): string;
}

/** Path cache cells (metrics catalog PATH_CACHE_COUNTERS), one set per engine. */
export const PATH_CACHE_CELLS = ['fastpath_path_hits', 'fastpath_path_misses', 'fastpath_path_invalidations', 'fastpath_path_entries'] as const;
const HITS = 0, MISSES = 1, INVALIDATIONS = 2, ENTRIES = 3;

/**
 * Key words: 42 header bytes (14 + 20 + 8; TCP's ports, then its data offset
 * and flags) in 11 words, less what fillKey sets aside, then in_port and
 * length, then (VXLAN input only, else 0) the outer header's in 8 words.
 */
const KW = 21;
const HDR = 42;
/** Outer Ethernet, IPv4, UDP and VXLAN headers (VXLAN_OVERHEAD). */
const OUTER = 50;
/** k[10]'s flags of the VXLAN form and of the 802.1Q-tagged one (whose TCI is k[10]'s upper half). */
const VXLAN_KEY = 2;
const TAG_KEY = 4;
const SLOTS = 1 << 16;
const PROBE = 8;
/** Keys seen once (a 4-way set-associative table of hashes): the second packet records. */
const SEEN = 1 << 18;
/** The most misses a key whose recording was not kept waits to record again. */
const MAX_WAIT = 65536;
/** Entries warmSlot() collects for one warmEntries() (a worker's batch). */
const WARM = 64;
/** Shared ops and shapes remembered, at most (then forgotten, and interned again as recorded). */
const INTERNED = 4096;

/** What flows with the same path have in common (shared by their entries). */
export class PathShape {
  /** Stats cells and what one packet adds to each. */
  cells: Int32Array = new Int32Array(0);
  deltas: Float64Array = new Float64Array(0);
  ops: PathOp[] = [];
  /** The ops not steady (PathOp.steady): checked on every hit. */
  unsteady: PathOp[] = [];
  /** Ports the packet passes (each must be up, uncaptured, with nothing queued). */
  ports: Port[] = [];
  /** Ports a flood's copies went out of and were dropped at, being down (each must still be down), and the copies made. */
  down: Port[] = [];
  clones = 0;
  /** Adds the cells' deltas and runs the ops' hit() (compileReplay). */
  replay: (v: Float64Array, now: number) => void = () => {};
  /** The generation and `now` at which the steady ops were live and the ports open (a batch's later hits then skip them). */
  okGen = -1;
  okNow = NaN;
  /** Deliveries the walk made (the latency probe's hop count). */
  hops = 0;
  out!: Port;
  /** Output L2 header (the IPv4 header follows it; an outer header's IP id and UDP source port 0, its checksum so). */
  l2: Uint8Array = new Uint8Array(0);
  /** Where the input's IPv4 header is (18 after an 802.1Q tag, 64 after an outer header). */
  in3 = 14;
  /** The tunnel whose IP id counter the output's outer header takes (null: not encapsulated). */
  outer: { nextIpId: number } | null = null;
  /** Whether a hit must verify the L4 checksum first (conntrack checks it). */
  l4Check = false;
  // Packet metadata at the edge.
  mark = 0;
  tunId = 0;
  tunSrc = 0;
  tunDst = 0;
  dpLen = 0;
  iif = 0;
  nfct = 0;
}

/**
 * One flow's entry: its key in fields (not an array of its own), the shape
 * and rewrites it shares with other flows, and its own op (its conntrack
 * entry), so a hit on a flow whose entry is cold misses few cache lines.
 */
export class PathEntry {
  dead = false;
  hash = 0;
  k0 = 0; k1 = 0; k2 = 0; k3 = 0; k4 = 0; k5 = 0; k6 = 0; k7 = 0; k8 = 0; k9 = 0; k10 = 0; k11 = 0; k12 = 0;
  k13 = 0; k14 = 0; k15 = 0; k16 = 0; k17 = 0; k18 = 0; k19 = 0; k20 = 0;
  shape!: PathShape;
  /** The outer UDP source port of an encapsulated output (the inner flow's hash). */
  sport = 0;
  /**
   * The output's key hint (keyHint of the frame a hit emits; -1: not of a key
   * form), for a worker's hand-off to carry: every field the receiver keys
   * is the same in each hit's output (the outer IP id, which is not, is not
   * keyed), so it is computed once, from the recorded output.
   */
  outHint = -1;
  /**
   * The flow's own ops (its conntrack entry, its connection's mark), in
   * order: the first two in fields, any more in an array (an object of its
   * own is one more cold cache line a hit misses).
   */
  own: PathOp | null = null;
  own2: PathOp | null = null;
  more: PathOp[] | null = null;
  rewrites: PathRewrite[] = [];
  /** A NOT_KEPT entry's misses until its key records again, and the next wait. */
  wait = 0;
  backoff = 0;
}

/** The shape of an entry that records a key whose recording was not kept. */
const NOT_KEPT = new PathShape();

function sameKey(e: PathEntry, k: Int32Array): boolean {
  return e.k0 === k[0] && e.k1 === k[1] && e.k2 === k[2] && e.k3 === k[3] && e.k4 === k[4] && e.k5 === k[5] && e.k6 === k[6] &&
    e.k7 === k[7] && e.k8 === k[8] && e.k9 === k[9] && e.k10 === k[10] && e.k11 === k[11] && e.k12 === k[12] &&
    e.k13 === k[13] && e.k14 === k[14] && e.k15 === k[15] && e.k16 === k[16] && e.k17 === k[17] && e.k18 === k[18] &&
    e.k19 === k[19] && e.k20 === k[20];
}

function setKey(e: PathEntry, k: Int32Array): void {
  e.k0 = k[0]!; e.k1 = k[1]!; e.k2 = k[2]!; e.k3 = k[3]!; e.k4 = k[4]!; e.k5 = k[5]!; e.k6 = k[6]!;
  e.k7 = k[7]!; e.k8 = k[8]!; e.k9 = k[9]!; e.k10 = k[10]!; e.k11 = k[11]!; e.k12 = k[12]!;
  e.k13 = k[13]!; e.k14 = k[14]!; e.k15 = k[15]!; e.k16 = k[16]!; e.k17 = k[17]!; e.k18 = k[18]!; e.k19 = k[19]!; e.k20 = k[20]!;
}

/** What a recording pass gathers (Engine.recording while it runs). */
export class PathRecorder {
  ok = true;
  /** Deliveries so far, and the elements' acknowledgements of a cacheable step for each. */
  hops = 0;
  acks = 0;
  ops: PathOp[] = [];
  rewrites: PathRewrite[] = [];
  ports: Port[] = [];
  out: Port | null = null;
  outFrame: Uint8Array | null = null;
  l4Check = false;
  /** Encapsulations not undone on the way (one at the end: a worker's hand-off to the fabric). */
  tunnels = 0;
  /**
   * Copies made (a flood), those not yet dropped at a down port, the delivery
   * the last was made in, and the down ports they were dropped at.
   */
  clones = 0;
  spare = 0;
  cloneHop = -1;
  down: Port[] = [];
  /** The last encapsulation's tunnel (its IP id counter) and the IP id it wrote. */
  outer: { nextIpId: number } | null = null;
  outerId = 0;
  /** The input is keyed with its outer header (VXLAN form) and not yet decapsulated. */
  outerIn = false;
  /** A step failed that will fail again while the topology stands (fail(true)). */
  lasting = false;
  /** The packet's metadata where it left. */
  mark = 0;
  tunId = 0;
  tunSrc = 0;
  tunDst = 0;
  dpLen = 0;
  iif = 0;
  nfct = 0;

  reset(): void {
    this.ok = true;
    this.hops = this.acks = 0;
    this.ops = [];
    this.rewrites = [];
    this.ports = [];
    this.out = null;
    this.outFrame = null;
    this.l4Check = false;
    this.tunnels = 0;
    this.clones = this.spare = 0;
    this.cloneHop = -1;
    this.down = [];
    this.outer = null;
    this.outerIn = false;
    this.lasting = false;
  }

  /** `pkt` leaves at edge `port`: the end of the path (a second one: not cacheable). */
  left(pkt: Packet, port: Port): void {
    if (this.out !== null) this.ok = false;
    this.out = port;
    this.outFrame = pkt.bytes();
    this.mark = pkt.mark;
    this.tunId = pkt.tunId;
    this.tunSrc = pkt.tunSrc;
    this.tunDst = pkt.tunDst;
    this.dpLen = pkt.dpLen;
    this.iif = pkt.iif;
    this.nfct = pkt.nfct;
  }

  /** An element made a copy of the packet (a flood). */
  cloned(): void {
    this.clones++;
    this.spare++;
    this.cloneHop = this.hops;
  }

  /**
   * A packet went out of `port`, which is down, and was dropped there
   * (Engine.output): kept only as one of the copies made in the same
   * delivery, so that it passed nothing on its own and the other goes on
   * along the path (a flood's copy to br-int's LOCAL port, say).
   */
  downDrop(port: Port): void {
    if (this.spare === 0 || this.cloneHop !== this.hops) {
      this.ok = false;
      return;
    }
    this.spare--;
    if (!this.down.includes(port)) this.down.push(port);
  }

  /** An element took a step it cannot replay: nothing is kept (`lasting`: nor will be while the topology stands). */
  fail(lasting = false): void {
    this.ok = false;
    if (lasting) this.lasting = true;
  }

  /** An element took `n` cacheable steps (one per delivery it handled). */
  ack(n = 1): void {
    this.acks += n;
  }

  op(o: PathOp): void {
    this.ops.push(o);
  }

  rewrite(r: PathRewrite): void {
    this.rewrites.push(r);
  }

  port(p: Port): void {
    if (!this.ports.includes(p)) this.ports.push(p);
  }
}

/** The fields of `T` that hold numbers (counters). */
type NumberField<T> = { [K in keyof T]: T[K] extends number ? K : never }[keyof T] & string;

/** `obj[field] += delta` per packet (a counter kept in an object field). */
export class AddOp<T extends object> implements PathOp {
  constructor(readonly obj: T, readonly field: NumberField<T>, readonly delta: number) {}
  share(id: (o: object) => number): string {
    return `add ${id(this.obj)} ${this.field} ${this.delta}`;
  }
  readonly steady = true;
  live(): boolean {
    return true;
  }
  hit(): void {
    (this.obj[this.field] as number) += this.delta;
  }
}

/** ip_decrease_ttl. */
export const DEC_TTL: PathRewrite = {
  share: () => 'ttl',
  rewrite(buf: Uint8Array, l3: number): void {
    let c = ((buf[l3 + 10]! << 8) | buf[l3 + 11]!) + 0x0100;
    c = (c + (c >= 0xffff ? 1 : 0)) & 0xffff;
    buf[l3 + 10] = c >>> 8;
    buf[l3 + 11] = c & 0xff;
    buf[l3 + 8] = (buf[l3 + 8]! - 1) & 0xff;
  },
};

function rd32(b: Uint8Array, o: number): number {
  return (b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!;
}

/**
 * The key of the frame at `off` (`len` bytes) arriving at `port` into `k`;
 * false if the frame is not of a cached kind. A frame with one 802.1Q tag
 * (TPID 0x8100) is keyed as the untagged form with its IPv4 header 4 bytes
 * on, and its whole TCI (PCP, DEI, VID: what flows and VLAN handling read)
 * in k[10]'s upper half beside TAG_KEY.
 */
function fillKey(k: Int32Array, b: Uint8Array, off: number, len: number, portId: number, inner = false): boolean {
  if (len < HDR) return false;
  // t: the tag's 4 bytes before the IPv4 ethertype (a second tag, QinQ or two 0x8100, is not cached: its ethertype is not IPv4).
  const t = !inner && b[off + 12] === 0x81 && b[off + 13] === 0x00 ? 4 : 0, o = off + t;
  if (len < HDR + t || b[o + 12] !== 0x08 || b[o + 13] !== 0x00 || b[o + 14] !== 0x45) return false;
  // No fragment (MF clear, offset 0; DF is keyed).
  if ((b[o + 20]! & 0x3f) !== 0 || b[o + 21] !== 0) return false;
  const proto = b[o + 23]!;
  let l4sum: number;
  if (proto === 17) {
    // VXLAN (4789) from the fabric: its outer header, then the inner frame's key (not a VXLAN frame in one, nor tagged).
    if (b[o + 36] === 0x12 && b[o + 37] === 0xb5) return t === 0 && !inner && fillOuterKey(k, b, off, len, portId);
    l4sum = (b[o + 40]! << 8) | b[o + 41]!;
  }
  else if (proto === 6 && len >= HDR + 12 + t) l4sum = 1; // the TCP header's 20 bytes
  else if (proto === 1 && (b[o + 34] === 8 || b[o + 34] === 0) && b[o + 35] === 0) l4sum = 1; // echo request or reply
  else return false;
  k[0] = rd32(b, off);
  k[1] = rd32(b, off + 4);
  k[2] = rd32(b, off + 8);
  k[3] = rd32(b, o + 12); // ethertype, version/IHL, TOS
  k[4] = (b[o + 16]! << 24) | (b[o + 17]! << 16) | (b[o + 20]! << 8) | b[o + 21]!; // total length, flags (id aside)
  k[5] = (b[o + 22]! << 8) | b[o + 23]!; // TTL, protocol (checksum aside)
  k[6] = rd32(b, o + 26);
  k[7] = rd32(b, o + 30);
  k[8] = rd32(b, o + 34); // ports or ICMP type, code (checksum aside below)
  if (proto === 1) k[8] &= 0xffff0000 | 0;
  // UDP length; ICMP echo id (its sequence number and checksum aside: conntrack's tuple is type, code and id); TCP
  // data offset and flags (sequence and acknowledgement numbers, window, checksum and urgent pointer aside: conntrack
  // reads them live, see CtPathOp; options count only as the data offset: window scaling is read on SYN alone).
  k[9] = (b[o + (proto === 6 ? 46 : 38)]! << 8) | b[o + (proto === 6 ? 47 : 39)]!;
  k[10] = (l4sum === 0 ? 0 : 1) | (t === 0 ? 0 : TAG_KEY | (b[off + 14]! << 24) | (b[off + 15]! << 16));
  k[11] = portId;
  k[12] = len;
  if (!inner) k[13] = k[14] = k[15] = k[16] = k[17] = k[18] = k[19] = k[20] = 0;
  return true;
}

/**
 * The VXLAN form: the outer fields the decapsulation reads (MACs, TOS, DF,
 * TTL, addresses, UDP ports, VNI) and the inner frame's key. Only a frame
 * whose lengths agree, without a UDP checksum, flags exactly I (what an OVS
 * VTEP sends); the IP id and header checksum aside, as in the plain form.
 */
function fillOuterKey(k: Int32Array, b: Uint8Array, off: number, len: number, portId: number): boolean {
  if (len < OUTER + HDR || b[off + 40] !== 0 || b[off + 41] !== 0 || ((b[off + 16]! << 8) | b[off + 17]!) !== len - 14) return false;
  if (((b[off + 38]! << 8) | b[off + 39]!) !== len - 34 || rd32(b, off + 42) !== 0x08000000 || b[off + 49] !== 0) return false;
  if (!fillKey(k, b, off + OUTER, len - OUTER, portId, true)) return false;
  k[10] |= VXLAN_KEY;
  k[12] = len;
  k[13] = rd32(b, off);
  k[14] = rd32(b, off + 4);
  k[15] = rd32(b, off + 8);
  k[16] = (b[off + 15]! << 24) | (b[off + 20]! << 16) | (b[off + 22]! << 8); // TOS, flags (DF), TTL
  k[17] = rd32(b, off + 26);
  k[18] = rd32(b, off + 30);
  k[19] = rd32(b, off + 34); // UDP ports
  k[20] = rd32(b, off + 46); // VNI
  return true;
}

/**
 * A key's hash: its words but in_port (k[11]) folded and finalised (the
 * hint, what a sender that does not know the receiver's port numbering can
 * compute: keyHint), then in_port mixed in.
 */
function hashKey(k: Int32Array): number {
  return withPort(hashButPort(k), k[11]!);
}

/** The key's words but in_port (k[11]), folded and finalised: the hint. */
function hashButPort(k: Int32Array): number {
  let h = 0x811c9dc5 | 0;
  for (let i = 0; i < 11; i++) h = Math.imul(h ^ k[i]!, 0x01000193);
  for (let i = 12; i < KW; i++) h = Math.imul(h ^ k[i]!, 0x01000193);
  return fmix30(h);
}

function withPort(hint: number, portId: number): number {
  return fmix30(Math.imul(hint ^ portId, 0x01000193));
}

const hintKey = new Int32Array(KW);

/**
 * The hint a worker's hand-off carries with a frame (handoff.ts): its key's
 * hash before the receiver's in_port is mixed in (lookup() takes it from
 * Packet.keyHint), or -1 when the frame is not of a key form. Stateless, so
 * the sender computes it, as a NIC computes an RSS hash; the receiver
 * trusts it no further: a hint that is wrong costs the lookup a second
 * probe, never another entry (the key is still compared).
 */
export function keyHint(b: Uint8Array, off: number, len: number): number {
  const k = hintKey;
  return fillKey(k, b, off, len, 0) ? hashButPort(k) : -1;
}

export class PathCache {
  private readonly slots: (PathEntry | null)[] = new Array<PathEntry | null>(SLOTS).fill(null);
  private readonly seen = new Int32Array(SEEN);
  private way = 0;
  /** The key of the frame being looked up (lookup() fills it; record() reads it). */
  private readonly k = new Int32Array(KW);
  private h = 0;
  hits = 0;
  misses = 0;
  invalidations = 0;
  count = 0;
  private snap: Float64Array = new Float64Array(0);
  private snapN = 0;
  private snapAllocs = 0;

  /** `base`: this cache's PATH_CACHE_CELLS in `stats`. */
  constructor(private readonly stats: Stats, readonly base: number) {}

  /**
   * The live entry for `pkt` arriving at `port`, or null (then `shouldRecord`
   * says whether it is the key's second packet: record it).
   */
  lookup(pkt: Packet, port: Port, now: number, gen: number): PathEntry | null {
    this.shouldRecord = false;
    const k = this.k;
    if (!fillKey(k, pkt.buf, pkt.off, pkt.len, port.id)) return null;
    const hint = pkt.keyHint;
    const h = (this.h = hint >= 0 ? withPort(hint, port.id) : hashKey(k));
    const slots = this.slots;
    for (let i = 0; i < PROBE; i++) {
      const e = slots[(h + i) & (SLOTS - 1)]!;
      if (e === null) break;
      if (e.hash !== h || !sameKey(e, k)) continue;
      if (e.shape === NOT_KEPT) {
        // Its recordings were not kept (a flood to live ports, a drop, an unresolved neighbour, a remote_ip=flow
        // tunnel): it records again after 2, 4, ... 65536 misses (at once 65536 when that will not change: fail(true)).
        this.misses++;
        this.stats.v[this.base + MISSES]!++;
        if (--e.wait <= 0) {
          this.shouldRecord = true;
          e.wait = e.backoff = Math.min(e.backoff * 2, MAX_WAIT);
        }
        return null;
      }
      if (this.usable(e, pkt, now, gen)) return e;
      if (!e.dead) {
        // A port down or captured, a bad checksum: the entry stays for the next frame; this one is not recorded.
        this.misses++;
        this.stats.v[this.base + MISSES]!++;
        return null;
      }
      break;
    }
    if (hint >= 0 && hashKey(k) !== h) {
      // A wrong hint (an entry's hash is always its key's own): look again as without one.
      pkt.keyHint = -1;
      return this.lookup(pkt, port, now, gen);
    }
    this.misses++;
    this.stats.v[this.base + MISSES]!++;
    const seen = this.seen, si = (h << 2) & (SEEN - 1);
    if (seen[si] === h || seen[si + 1] === h || seen[si + 2] === h || seen[si + 3] === h) this.shouldRecord = true;
    else seen[si + (this.way++ & 3)] = h;
    return null;
  }

  shouldRecord = false;

  /**
   * Touch what lookups of a batch's frames will read (each one's slot, entry
   * and own ops' state), and nothing else: a worker does so before it runs
   * frames that came with key hints from a hand-off, so the cache misses of a
   * batch's flows overlap instead of each stalling its own hit. warmSlot()
   * per frame (the slot's load only), then warmEntries() once: each stage's
   * loads are independent of each other (a chain of them per frame would
   * stall as the hits do). Returns what it read (as an int32), so the
   * loads stay.
   */
  warmSlot(hint: number, port: Port): void {
    if (this.warmN < WARM) this.warming[this.warmN++] = this.slots[withPort(hint, port.id) & (SLOTS - 1)]!;
  }

  warmEntries(): number {
    const w = this.warming, n = this.warmN;
    let sum = 0;
    for (let i = 0; i < n; i++) {
      const e = w[i]!;
      if (e !== null) sum += e.hash + e.k6 + e.k13 + e.k20; // its lines (sameKey reads all its key)
    }
    for (let i = 0; i < n; i++) {
      const e = w[i]!;
      w[i] = null;
      if (e === null) continue;
      const own = e.own, own2 = e.own2, more = e.more;
      if (own !== null && own.warm !== undefined) sum += own.warm();
      if (own2 !== null && own2.warm !== undefined) sum += own2.warm();
      if (more !== null) for (let j = 0; j < more.length; j++) sum += more[j]!.warm?.() ?? 0;
    }
    this.warmN = 0;
    return sum | 0;
  }

  private readonly warming: (PathEntry | null)[] = new Array<PathEntry | null>(WARM).fill(null);
  private warmN = 0;

  /** The key lookup() filled is the VXLAN form (a recording's decapsulation of it is the key's to answer). */
  vxlanKey(): boolean {
    return (this.k[10]! & VXLAN_KEY) !== 0;
  }

  /**
   * Every op live, every port up and uncaptured, the frame's checksums good;
   * a dead op removes the entry (`dead`). A shape found open stays so for
   * its steady ops and ports while the engine's generation `gen` (-1: none,
   * outside a batch) and `now` stay.
   */
  private usable(e: PathEntry, pkt: Packet, now: number, gen: number): boolean {
    const sh = e.shape, b = pkt.buf, l3 = pkt.off + sh.in3;
    const own = e.own, own2 = e.own2;
    if (own !== null && (!own.live(now, b, l3) || (own2 !== null && (!own2.live(now, b, l3) || (e.more !== null && !allLive(e.more, now, b, l3)))))) {
      this.kill(e);
      return false;
    }
    if (sh.okGen === gen && gen >= 0 && sh.okNow === now) {
      if (sh.unsteady.length !== 0 && !allLive(sh.unsteady, now, b, l3)) {
        this.kill(e);
        return false;
      }
    } else {
      if (!allLive(sh.ops, now, b, l3)) {
        this.kill(e);
        return false;
      }
      const ps = sh.ports;
      for (let i = 0; i < ps.length; i++) {
        const p = ps[i]!;
        if (!p.up || p.taps.length !== 0 || p.queued !== 0) return false;
      }
      // A flood's port that was down and is up: its copy goes out there now (the path changed).
      const dn = sh.down;
      for (let i = 0; i < dn.length; i++) {
        if (dn[i]!.up) {
          this.kill(e);
          return false;
        }
      }
      sh.okGen = gen;
      sh.okNow = now;
    }
    if (pkt.csumGood === CSUM_ALL) return true; // verified where it was sent (a worker's hand-off)
    // The slow path drops a bad header checksum (ip_rcv_core) and conntrack marks a bad L4 one INVALID.
    if (checksum(b, l3, 20) !== 0) return false;
    if (sh.in3 === 14 + OUTER && checksum(b, pkt.off + 14, 20) !== 0) return false; // the outer one (vxlan_rcv's ip_rcv)
    if (sh.l4Check && !l4Good(b, l3, pkt.len - sh.in3)) return false;
    return true;
  }

  private kill(e: PathEntry): void {
    if (e.dead) return;
    e.dead = true;
    const slots = this.slots;
    for (let i = 0; i < PROBE; i++) {
      const at = (e.hash + i) & (SLOTS - 1);
      if (slots[at] === e) slots[at] = null;
    }
    this.count--;
    this.invalidations++;
    const v = this.stats.v;
    v[this.base + INVALIDATIONS]!++;
    v[this.base + ENTRIES] = this.count;
  }

  /** A hit on `e` (from lookup()): its side effects, counted. The caller rewrites and emits. */
  hit(e: PathEntry, now: number): void {
    this.hits++;
    const v = this.stats.v;
    v[this.base + HITS]!++;
    e.shape.replay(v, now);
    const own = e.own, own2 = e.own2;
    if (own !== null) {
      own.hit(now);
      if (own2 !== null) {
        own2.hit(now);
        const more = e.more;
        if (more !== null) for (let i = 0; i < more.length; i++) more[i]!.hit(now);
      }
    }
  }

  /** Rewrite `pkt` (the frame `e` serves) into the frame that leaves; false if it lacks headroom. */
  rewrite(e: PathEntry, pkt: Packet, slotSize: number): boolean {
    const sh = e.shape, l2 = sh.l2, grow = l2.length - sh.in3;
    if (grow > 0 ? !pkt.push(grow, slotSize) : !pkt.pull(-grow)) return false;
    const b = pkt.buf, o = pkt.off, l3 = o + l2.length, end = o + pkt.len;
    const rw = e.rewrites;
    for (let i = 0; i < rw.length; i++) rw[i]!.rewrite(b, l3, end);
    b.set(l2, o);
    const t = sh.outer;
    if (t !== null) {
      // The tunnel's IP id now (hit() then counts it on, as the encapsulation does), the checksum adjusted from id 0.
      const id = t.nextIpId, c = csumUpdate16((b[o + 24]! << 8) | b[o + 25]!, 0, id);
      b[o + 18] = id >>> 8;
      b[o + 19] = id & 0xff;
      b[o + 24] = c >>> 8;
      b[o + 25] = c & 0xff;
      b[o + 34] = e.sport >>> 8;
      b[o + 35] = e.sport & 0xff;
    }
    // What a hand-off sends with the frame as it now is (HandoffSink): the entry's hint, and the checksums found good
    // (checked by usable() or before the frame came, the outer header written good; rewrites keep them so).
    pkt.keyHint = e.outHint;
    pkt.csumGood = pkt.csumGood === CSUM_ALL || sh.l4Check ? CSUM_ALL : CSUM_HEADERS;
    pkt.mark = sh.mark;
    pkt.tunId = sh.tunId;
    pkt.tunSrc = sh.tunSrc;
    pkt.tunDst = sh.tunDst;
    pkt.dpLen = sh.dpLen;
    pkt.iif = sh.iif;
    pkt.nfct = sh.nfct;
    pkt.hops += sh.hops;
    return true;
  }

  /** Before a recording pass: the counter cells as they are. */
  begin(): void {
    const n = this.stats.desc.length;
    if (this.snap.length < n) this.snap = new Float64Array(n + 1024);
    this.snap.set(this.stats.v.subarray(0, n));
    this.snapN = n;
    this.snapAllocs = this.stats.allocs;
  }

  /**
   * After a recording pass of `input` (the frame as injected) at `port`: keep
   * an entry if the pass was a cacheable one. Its key is the one lookup() filled.
   */
  record(rec: PathRecorder, input: Uint8Array, port: Port): void {
    const e = this.build(rec, input, port);
    if (e !== null) this.insert(e);
    else this.notKept(rec.lasting);
  }

  /**
   * The key lookup() filled was recorded and not kept: an entry says so
   * (lookup() then backs off). `lasting`: it will not be kept while the
   * topology stands (encapsulated twice or by a remote_ip=flow tunnel). A
   * pass that ended at a worker's hand-off and failed for a passing cause (an
   * element's slow path: a MAC learned, a translation recorded) backs off
   * as any other: waiting 65536 misses at once kept w02's part of the
   * replies off the cache with two workers after a first failed recording.
   */
  private notKept(lasting: boolean): void {
    const slots = this.slots, h = this.h, wait = lasting ? MAX_WAIT : 2;
    for (let i = 0; i < PROBE; i++) {
      const o = slots[(h + i) & (SLOTS - 1)]!;
      if (o !== null && o.shape === NOT_KEPT && o.hash === h && sameKey(o, this.k)) {
        if (lasting) o.wait = o.backoff = wait; // else lookup() set its wait
        return;
      }
    }
    const e = new PathEntry();
    setKey(e, this.k);
    e.hash = h;
    e.shape = NOT_KEPT;
    e.wait = e.backoff = wait;
    this.insert(e);
  }

  private build(rec: PathRecorder, input: Uint8Array, port: Port): PathEntry | null {
    // Every copy made must have ended at a down port (spare 0): one frame goes on along the path.
    if (!rec.ok || rec.acks !== rec.hops || rec.out === null || rec.outFrame === null || rec.outerIn || rec.spare !== 0) return null;
    // Encapsulated at the end: once, by a tunnel whose header starts the output (checked below).
    const outer = rec.tunnels === 0 ? null : rec.tunnels === 1 ? rec.outer : null;
    if (rec.tunnels !== 0 && outer === null) return null;
    const v = this.stats.v, n = this.snapN;
    if (this.stats.allocs !== this.snapAllocs) return null; // cells allocated (or given back ones taken again) meanwhile
    const cells: number[] = [], deltas: number[] = [];
    for (let i = 0; i < n; i++) {
      const d = v[i]! - this.snap[i]!;
      if (d === 0) continue;
      if (this.stats.desc[i]!.name.endsWith('_entries')) return null; // a gauge moved: some cache filled
      cells.push(i);
      deltas.push(d);
    }
    // The output must be the input with its IPv4 header rewritten as recorded and a new Ethernet header.
    const out = rec.outFrame, inLen = input.length, in3 = this.vxlanKey() ? 14 + OUTER : (this.k[10]! & TAG_KEY) !== 0 ? 18 : 14;
    const l2 = out.length - (inLen - in3);
    if (l2 < (outer === null ? 14 : 14 + OUTER) || l2 > 96 || out[l2 - 2] !== 0x08 || out[l2 - 1] !== 0x00) return null;
    if (outer !== null && (out[12] !== 0x08 || out[13] !== 0x00 || out[14] !== 0x45 || ((out[18]! << 8) | out[19]!) !== rec.outerId)) return null;
    const sim = input.slice(in3);
    for (const r of rec.rewrites) r.rewrite(sim, 0, sim.length);
    for (let i = 0; i < sim.length; i++) if (sim[i] !== out[l2 + i]) return null;
    const sh = new PathShape();
    sh.cells = Int32Array.from(cells);
    sh.deltas = Float64Array.from(deltas);
    // The inject port is the engine's to check (up, uncaptured): frames of other flows may wait there.
    sh.ports = rec.ports.filter((p) => p !== port);
    sh.down = rec.down.slice();
    sh.clones = rec.clones;
    sh.hops = rec.hops;
    sh.out = rec.out;
    sh.l2 = out.slice(0, l2);
    sh.in3 = in3;
    sh.outer = outer;
    let sport = 0;
    if (outer !== null) {
      // Flows share the outer header: its IP id (0, the checksum so) and UDP source port are written per hit.
      const h = sh.l2, c = csumUpdate16((h[24]! << 8) | h[25]!, rec.outerId, 0);
      sport = (h[34]! << 8) | h[35]!;
      h[18] = h[19] = h[34] = h[35] = 0;
      h[24] = c >>> 8;
      h[25] = c & 0xff;
    }
    sh.l4Check = rec.l4Check;
    sh.mark = rec.mark;
    sh.tunId = rec.tunId;
    sh.tunSrc = rec.tunSrc;
    sh.tunDst = rec.tunDst;
    sh.dpLen = rec.dpLen;
    sh.iif = rec.iif;
    sh.nfct = rec.nfct;
    const e = new PathEntry();
    setKey(e, this.k);
    e.hash = this.h;
    e.sport = sport;
    e.outHint = keyHint(out, 0, out.length);
    // Ops and rewrites equal to ones kept before are those (one object for all flows), and so is the shape. The
    // tables forget now and then (entries keep what they use): churn must not keep dead element entries forever.
    if (this.sharedOps.size > INTERNED || this.shapes.size > INTERNED) {
      this.sharedOps.clear();
      this.sharedRewrites.clear();
      this.shapes.clear();
    }
    const id = this.id;
    let shapeKey = '';
    for (const o of rec.ops) {
      const k = o.share(id);
      if (k === null) {
        if (e.own === null) e.own = o;
        else if (e.own2 === null) e.own2 = o;
        else (e.more ??= []).push(o);
        continue;
      }
      let so = this.sharedOps.get(k);
      if (so === undefined) this.sharedOps.set(k, (so = o));
      sh.ops.push(so);
      if (so.steady !== true) sh.unsteady.push(so);
      shapeKey += `${id(so)},`;
    }
    const rwKey = rec.rewrites.map((r) => r.share()).join('|');
    let rws = this.sharedRewrites.get(rwKey);
    if (rws === undefined) this.sharedRewrites.set(rwKey, (rws = rec.rewrites));
    e.rewrites = rws;
    shapeKey += `|${cells.join(',')}|${deltas.join(',')}|${sh.ports.map(id).join(',')}|${sh.hops} ${id(sh.out)} ${sh.l2.join(',')} ${sh.l4Check} ` +
      `${sh.in3} ${outer === null ? 0 : id(outer)} ${sh.down.map(id).join(',')} ${sh.clones} ` +
      `${sh.mark} ${sh.tunId} ${sh.tunSrc} ${sh.tunDst} ${sh.dpLen} ${sh.iif} ${sh.nfct}`;
    let shared = this.shapes.get(shapeKey);
    if (shared === undefined) {
      this.shapes.set(shapeKey, (shared = sh));
      sh.replay = compileReplay(sh.cells, sh.deltas, sh.ops);
    }
    e.shape = shared;
    return e;
  }

  private readonly sharedOps = new Map<string, PathOp>();
  private readonly sharedRewrites = new Map<string, PathRewrite[]>();
  private readonly shapes = new Map<string, PathShape>();
  private readonly ids = new WeakMap<object, number>();
  private nextId = 1;
  /** A number per object (what makes shared ops' keys). */
  private readonly id = (o: object): number => {
    let n = this.ids.get(o);
    if (n === undefined) this.ids.set(o, (n = this.nextId++));
    return n;
  };

  /** Put `e` (with the key lookup() filled) in its slot: over the key's old entry, a free slot, or the probe's first. */
  private insert(e: PathEntry): void {
    const slots = this.slots;
    let at = -1;
    for (let i = 0; i < PROBE; i++) {
      const j = (e.hash + i) & (SLOTS - 1);
      const o = slots[j]!;
      if (o === null || (o.hash === e.hash && sameKey(o, this.k))) {
        at = j;
        break;
      }
    }
    if (at < 0) at = e.hash & (SLOTS - 1); // a full probe sequence evicts its first entry
    const o = slots[at]!;
    if (o !== null) {
      o.dead = true;
      if (o.shape !== NOT_KEPT) this.count--;
    }
    slots[at] = e;
    if (e.shape !== NOT_KEPT) this.count++;
    this.stats.v[this.base + ENTRIES] = this.count;
  }
}

const IDENT = /^[A-Za-z_$][\w$]*$/;

/**
 * A shape's hit as a function of its own (made once, when the shape is
 * first kept): each cell's addition with the cell and delta as constants,
 * then the ops in order: an AddOp's addition to its named field, an op's
 * adds() as constant additions to its arrays, any other op's hit() at a call
 * site of its own. A loop over the ops instead calls ops of a dozen classes
 * through one megamorphic site, an AddOp's keyed field is megamorphic too,
 * and cells and deltas come from arrays (docs/performance-log.md, "Stop 30").
 */
function compileReplay(cells: Int32Array, deltas: Float64Array, ops: PathOp[]): (v: Float64Array, now: number) => void {
  const bound: unknown[] = [], body: string[] = [];
  const bind = (x: unknown): string => {
    let i = bound.indexOf(x);
    if (i < 0) i = bound.push(x) - 1;
    return `b${i}`;
  };
  for (let i = 0; i < cells.length; i++) body.push(`v[${cells[i]}] += ${deltas[i]};`);
  for (const o of ops) {
    const adds = o.adds?.();
    if (o instanceof AddOp && IDENT.test(o.field)) body.push(`${bind(o.obj)}.${o.field} += ${o.delta};`);
    else if (adds !== undefined) for (const [a, at, d] of adds) body.push(`${bind(a)}[${at}] += ${d};`);
    else body.push(`${bind(o)}.hit(now);`);
  }
  const locals = bound.length === 0 ? '' : `const ${bound.map((_, i) => `b${i} = bound[${i}]`).join(', ')};`;
  return new Function('bound', `${locals}\nreturn function replay(v, now) {\n${body.join('\n')}\n};`)(bound) as (v: Float64Array, now: number) => void;
}

function allLive(ops: PathOp[], now: number, b: Uint8Array, l3: number): boolean {
  for (let i = 0; i < ops.length; i++) if (!ops[i]!.live(now, b, l3)) return false;
  return true;
}

/** The TCP, UDP (non-zero) or ICMP checksum of the datagram at `l3` is good. */
export function l4Good(b: Uint8Array, l3: number, ipLen: number): boolean {
  const proto = b[l3 + 9]!, l4 = l3 + 20, n = ((b[l3 + 2]! << 8) | b[l3 + 3]!) - 20;
  if (n < 8 || 20 + n > ipLen) return false;
  if (proto === 1) return checksum(b, l4, n) === 0;
  if (proto === 17 && b[l4 + 6] === 0 && b[l4 + 7] === 0) return true;
  let s = (b[l3 + 12]! << 8 | b[l3 + 13]!) + (b[l3 + 14]! << 8 | b[l3 + 15]!) + (b[l3 + 16]! << 8 | b[l3 + 17]!) + (b[l3 + 18]! << 8 | b[l3 + 19]!) + proto + n;
  s = (s & 0xffff) + (s >>> 16);
  return checksum(b, l4, n, s) === 0;
}
