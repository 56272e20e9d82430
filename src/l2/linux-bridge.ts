// A Linux bridge (qbr-) as the kernel's bridge module behaves with STP off:
// learn source MACs per port, age them out (ageing_time 300 s), forward to
// the learned port, flood unknown/broadcast/multicast to every other port.
// IEEE 802.1D link-local group addresses (01:80:c2:00:00:0X) as
// br_handle_frame treats them with group_fwd_mask 0: the Bridge Group
// Address (…:00) is flooded with STP off, pause frames (…:01) dropped
// unlearned, the others (and …:00 with STP on) learned from and passed to
// the bridge's stack. STP itself (BPDUs, its state machine) is not emulated. Frames to a
// port's own MAC (a "local" fdb entry) go to the bridge's own stack; a qbr
// has no address, so they are consumed there. test/e2e/linux-bridge-kernel
// holds all of it to the kernel's bridge. `bridge fdb add|del|flush` add
// entries of their own (static ones never age and move when learned
// elsewhere; permanent ones are local) and delete any, the ports' own too
// (test/e2e/bridge-fdb-write-kernel). `bridge link set` changes a port's
// settings (bridge-port.ts): a port that does not learn, floods no unknown
// unicast, broadcast or multicast, sends a frame back where it came in
// (hairpin), is isolated from the other isolated ports, is locked to the
// sources the fdb has on it, or is in a state other than forwarding, as
// br_input.c and br_forward.c treat it (test/e2e/bridge-link-kernel).
import { Element, type Port } from '../datapath/element.js';
import type { Packet } from '../datapath/packet.js';
import { macHi, macLo, macToString, readMacHi, readMacLoI32 } from '../wire/addr.js';
import { MacTable } from './mac-table.js';
import type { PathOp } from '../datapath/path-cache.js';
import { LJ, type KeepsLearned, type LearnedJournal, type LearnedRecord, type LearnedSink } from '../datapath/learned-journal.js';
import { BR_STATE_FORWARDING, BR_STATE_LEARNING, PORT_STATES, defaultPortFlags, type BridgePortFlags } from './bridge-port.js';

export const BRIDGE_AGEING_MS = 300_000;

export interface FdbEntry {
  port: Port;
  updated: number; // emulated ms
  /** When a frame was last forwarded to it (br_handle_frame_finish: `dst->used`), emulated ms. */
  used: number;
  /** `updated` as last journaled (a refresh is journaled at most once a second). */
  journaled: number;
  /** When it was made, in the bridge's order of entries: `bridge fdb show` lists the newest first. */
  seq: number;
  /** BR_FDB_STATIC (`bridge fdb add ... static`): it never ages, and moves when its address is learned on another port. */
  static: boolean;
  /** BR_FDB_ADDED_BY_USER: configuration (kept in a worker's configuration log), not journaled. */
  user: boolean;
}

/** A local entry (BR_FDB_LOCAL): a port's own address, or one added `permanent`; frames to it go to the bridge's own stack. */
export interface LocalEntry {
  /** null: the bridge device's own. */
  port: Port | null;
  seq: number;
  /** When it was made, emulated ms (its used and updated times). */
  created: number;
  user: boolean;
}

/** An entry as `bridge fdb` lists it: `dev` a port's name, or the bridge's for its own address. */
export interface FdbRow { mac: string; dev: string; state: 'permanent' | 'static' | ''; used: number; updated: number; seq: number }

/** What `bridge fdb add|append|replace` asks for (fdb_add_entry's NUD state and NLM flags). */
export interface FdbAdd { mac: number; port: Port | null; state: 'permanent' | 'static' | 'dynamic'; exclusive: boolean }

/** An entry's flags as br_fdb_flush's description matches them: a local entry is static too (fdb_insert sets both). */
export interface FdbFlags { local: boolean; static: boolean; user: boolean }

/** Hears an entry made or changed (learned, moved to another port, added) and one that goes (`gone`), as the kernel's fdb_notify tells them: `bridge monitor fdb`. */
export type FdbListener = (row: FdbRow, gone: boolean) => void;

/** Hears a port's settings told (br_ifinfo_notify's RTM_NEWLINK): `bridge monitor link`. */
export type LinkListener = (port: Port) => void;

/** br_flood's kinds of frame (br_pkt_type): which of a port's flood flags lets a copy out. */
const UNICAST = 0, MULTICAST = 1, BROADCAST = 2;

/** An entry as a journal record (LJ.LFDB). */
function writeEntry(out: LearnedSink, id: number, hi: number, lo: number, ent: FdbEntry): void {
  ent.journaled = ent.updated;
  out.f[0] = hi & 0xffff;
  out.f[1] = lo >>> 0;
  out.f[2] = ent.updated;
  out.put(LJ.LFDB, id, 3, ent.port.name);
}

export class LinuxBridge extends Element implements KeepsLearned {
  readonly ageingMs: number;
  /** Learned entries by MAC (tag 0: no VLAN filtering). */
  private readonly fdb = new MacTable<FdbEntry>();
  /** Local entries: each port's own interface MAC (brctl showmacs "is local? yes"), the bridge's, and those added `permanent`. */
  private readonly local = new MacTable<LocalEntry>();
  /** The next entry's place in the bridge's order. */
  private seq = 0;
  /** brctl port numbers (1-based, in order of enslavement). */
  private readonly portNo = new Map<Port, number>();
  /** The learned-state journal (src/datapath/learned-journal.ts), as element `jid`; null inline. */
  private journal: LearnedJournal | null = null;
  private jid = 0;
  /** Who listens to the table's changes (null: nobody, the usual case). */
  private heard: Set<FdbListener> | null = null;
  /** Each port's settings, by its index. */
  private readonly flags: BridgePortFlags[] = [];
  /** Bumped when a port's settings change: the path cache's ops recorded before are dead. */
  private flagsGen = 0;
  private linkHeard: Set<LinkListener> | null = null;

  /** stp_state: BPDUs then go to the bridge's own stack (the STP state machine itself is not emulated: ports stay in the state they are given). */
  readonly stp: boolean;

  constructor(node: string, name: string, opts: { ageingMs?: number; stp?: boolean } = {}) {
    super('linux_bridge', node, name);
    this.ageingMs = opts.ageingMs ?? BRIDGE_AGEING_MS;
    this.stp = opts.stp ?? false;
  }

  override portAdded(port: Port): void {
    this.portNo.set(port, this.ports.length);
    this.flags[port.index] = defaultPortFlags();
  }

  /** Record the MAC of the interface enslaved as `port` (the bridge lists it as local). */
  setPortMac(port: Port, mac: number): void {
    this.local.set(macHi(mac), macLo(mac), 0, { port, seq: this.seq++, created: this.engine.now, user: false });
  }

  /** The bridge device's own address: an entry of no port, unless a port's own entry holds it (br_fdb_change_mac_address). */
  setBridgeMac(mac: number): void {
    const hi = macHi(mac), lo = macLo(mac);
    if (!this.local.has(hi, lo, 0)) this.local.set(hi, lo, 0, { port: null, seq: this.seq++, created: this.engine.now, user: false });
  }

  receive(pkt: Packet, inPort: Port): void {
    const e = this.engine;
    if (pkt.len < 14) return e.drop(pkt, this, 'malformed', 'shorter than an Ethernet header');
    const buf = pkt.buf, off = pkt.off;
    // MAC halves as int32 (| 0): a uint32 above 2^31 would be boxed to pass it on.
    const dstHi = readMacHi(buf, off), dstLo = readMacLoI32(buf, off);
    const srcHi = readMacHi(buf, off + 6), srcLo = readMacLoI32(buf, off + 6);
    const now = e.now;

    // br_handle_frame: a multicast or all-zero source is not a valid station.
    if (buf[off + 6]! & 1 || (srcHi | srcLo) === 0) return e.drop(pkt, this, 'malformed', 'invalid source MAC');
    const linkLocal = buf[off] === 0x01 && buf[off + 1] === 0x80 && buf[off + 2] === 0xc2 && buf[off + 3] === 0 && buf[off + 4] === 0 && (buf[off + 5]! & 0xf0) === 0;
    if (linkLocal && buf[off + 5] === 0x01) return e.drop(pkt, this, 'filtered', 'IEEE 802.3x pause frame (01:80:c2:00:00:01)');
    const pf = this.flags[inPort.index]!, state = pf.state;

    // Reserved group addresses go to the port's own stack (group_fwd_mask 0), but for STP's own
    // address with STP off: that one is forwarded "to keep loop detection" (br_handle_frame).
    if (linkLocal && (buf[off + 5] !== 0x00 || this.stp)) {
      // __br_handle_local_finish: learned from by a learning port in the learning or forwarding state.
      if (pf.learning && (state === BR_STATE_LEARNING || state === BR_STATE_FORWARDING)) this.learn(pkt, srcHi, srcLo, inPort, now);
      return e.consume(pkt, this, `link-local group address ${macToString(dstHi, dstLo)}: to ${inPort.name}'s own stack, not forwarded`);
    }
    // br_handle_frame: only a learning or forwarding port takes a frame further.
    if (state !== BR_STATE_FORWARDING && state !== BR_STATE_LEARNING) {
      if (e.tracing) e.note(pkt, this, `port ${inPort.name} is ${PORT_STATES[state]}`);
      return e.drop(pkt, this, 'filtered', 'input port neither learning nor forwarding');
    }
    // br_handle_frame_finish: a locked port passes only sources the fdb has on it (not local ones), and moves none.
    if (pf.locked && (this.local.has(srcHi, srcLo, 0) || this.fdb.get(srcHi, srcLo, 0)?.port !== inPort)) {
      return e.drop(pkt, this, 'filtered', 'locked port: source not in the fdb on it');
    }
    if (pf.learning) this.learn(pkt, srcHi, srcLo, inPort, now);
    if (state === BR_STATE_LEARNING) return e.drop(pkt, this, 'filtered', 'input port learning: it learns, does not forward');

    if (!(buf[off] & 1)) {
      if (this.local.has(dstHi, dstLo, 0)) return e.consume(pkt, this, `to the bridge's own address ${macToString(dstHi, dstLo)}`);
      const ent = this.fdb.get(dstHi, dstLo, 0);
      if (ent && this.fresh(ent, now)) {
        ent.used = now;
        if (!this.deliver(ent.port, inPort, pf)) {
          return e.drop(pkt, this, 'no_output', ent.port === inPort && !pf.hairpin ? 'learned on the input port' : 'output port not forwarding, or both ports isolated');
        }
        if (e.recording !== null) this.recordPath(srcHi, srcLo, dstHi, dstLo, inPort, ent, pf.learning);
        if (e.tracing) e.note(pkt, this, `forward to port ${this.portNo.get(ent.port)} (${ent.port.name}): ${macToString(dstHi, dstLo)} learned there`);
        return e.output(pkt, ent.port);
      }
      if (ent) this.forget(dstHi, dstLo);
      return this.flood(pkt, inPort, pf, UNICAST);
    }
    this.flood(pkt, inPort, pf, dstHi === 0xffff && dstLo === -1 ? BROADCAST : MULTICAST);
  }

  /** br_fdb_update: learn the source on `inPort`, or refresh or move its entry (a local address is not learned). */
  private learn(pkt: Packet, srcHi: number, srcLo: number, inPort: Port, now: number): void {
    if (this.local.has(srcHi, srcLo, 0)) return;
    const e = this.engine;
    const ent = this.fdb.get(srcHi, srcLo, 0);
    if (ent) {
      const moved = ent.port !== inPort;
      if (moved && e.tracing) e.note(pkt, this, `fdb: ${macToString(srcHi, srcLo)} moved to port ${this.portNo.get(inPort)}`);
      ent.port = inPort;
      ent.updated = now;
      if (this.journal !== null && !ent.user && (moved || now - ent.journaled >= 1000)) this.log(srcHi, srcLo, ent);
      if (moved && this.heard !== null) this.tell(this.row(srcHi, srcLo, ent), false);
    } else {
      const ne: FdbEntry = { port: inPort, updated: now, used: now, journaled: now, seq: this.seq++, static: false, user: false };
      this.fdb.set(srcHi, srcLo, 0, ne);
      if (this.journal !== null) this.log(srcHi, srcLo, ne);
      if (this.heard !== null) this.tell(this.row(srcHi, srcLo, ne), false);
      if (e.tracing) e.note(pkt, this, `fdb: learned ${macToString(srcHi, srcLo)} on port ${this.portNo.get(inPort)} (${inPort.name})`);
    }
  }

  /** should_deliver: out `to` (back out the input port only in hairpin mode), forwarding, and not from an isolated port to another. */
  private deliver(to: Port, inPort: Port, from: BridgePortFlags): boolean {
    const pf = this.flags[to.index]!;
    return (to !== inPort || pf.hairpin) && pf.state === BR_STATE_FORWARDING && !(from.isolated && pf.isolated);
  }

  /** The path cache records this frame's forwarding: learned source on `inPort`, destination `dst`. */
  private recordPath(srcHi: number, srcLo: number, dstHi: number, dstLo: number, inPort: Port, dst: FdbEntry, learn: boolean): void {
    const rec = this.engine.recording!;
    const src = this.fdb.get(srcHi, srcLo, 0);
    if (src === undefined || src.port !== inPort || this.local.has(dstHi, dstLo, 0)) return rec.fail();
    rec.op(new LbPathOp(this, srcHi, srcLo, src, inPort, dstHi, dstLo, dst, dst.port, learn, this.flagsGen));
    rec.ack();
  }

  /** LbPathOp: is `ent` still the entry of the MAC, on `port`? */
  holds(hi: number, lo: number, ent: FdbEntry, port: Port): boolean {
    return this.fdb.get(hi, lo, 0) === ent && ent.port === port;
  }

  /** LbPathOp: a frame from the learned source `src` refreshes it (journaled at most once a second). */
  refresh(hi: number, lo: number, src: FdbEntry, now: number): void {
    src.updated = now;
    if (this.journal !== null && !src.user && now - src.journaled >= 1000) this.log(hi, lo, src);
  }

  /** Not aged out (has_expired's negation): a static entry never ages. */
  fresh(ent: FdbEntry, now: number): boolean {
    return ent.static || now - ent.updated <= this.ageingMs;
  }

  /** br_flood: a copy out of each port that floods this kind of frame and should_deliver lets it out. */
  private flood(pkt: Packet, inPort: Port, from: BridgePortFlags, kind: number): void {
    const e = this.engine;
    if (e.tracing) e.note(pkt, this, 'flood: unknown, broadcast or multicast destination');
    let last: Port | null = null;
    for (const p of this.ports) {
      if (!p.up) continue;
      const pf = this.flags[p.index]!;
      if (!(kind === UNICAST ? pf.flood : kind === MULTICAST ? pf.mcast_flood : pf.bcast_flood) || !this.deliver(p, inPort, from)) continue;
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
    const t = this.fdb;
    for (let i = t.next(0); i >= 0; i = t.next(i + 1)) if (!this.fresh(t.valueAt(i), now)) this.forget(t.hiAt(i), t.loAt(i));
  }

  private forget(hi: number, lo: number): void {
    const ent = this.fdb.get(hi, lo, 0)!;
    if (this.heard !== null) this.tell(this.row(hi, lo, ent), true);
    this.fdb.delete(hi, lo, 0);
    if (this.journal !== null && !ent.user) this.unlog(hi, lo);
  }

  private dropLocal(hi: number, lo: number, ent: LocalEntry): void {
    if (this.heard !== null) this.tell(this.row(hi, lo, ent), true);
    this.local.delete(hi, lo, 0);
  }

  private unlog(hi: number, lo: number): void {
    const j = this.journal!;
    j.f[0] = hi & 0xffff;
    j.f[1] = lo >>> 0;
    j.put(LJ.LFDB_DEL, this.jid, 2);
  }

  /** Hear the table's changes until the returned function is called. */
  listenFdb(l: FdbListener): () => void {
    (this.heard ??= new Set()).add(l);
    return () => {
      this.heard?.delete(l);
      if (this.heard?.size === 0) this.heard = null;
    };
  }

  private tell(row: FdbRow, gone: boolean): void {
    for (const l of this.heard!) l(row, gone);
  }

  /** An entry as `bridge fdb` prints it. */
  private row(hi: number, lo: number, ent: FdbEntry | LocalEntry): FdbRow {
    const mac = macToString(hi, lo);
    if (!('static' in ent)) return { mac, dev: ent.port?.name ?? this.name, state: 'permanent', used: ent.created, updated: ent.created, seq: ent.seq };
    return { mac, dev: ent.port.name, state: ent.static ? 'static' : '', used: ent.used, updated: ent.updated, seq: ent.seq };
  }

  private log(hi: number, lo: number, ent: FdbEntry): void {
    writeEntry(this.journal!, this.jid, hi, lo, ent);
  }

  // ---- learned state that outlives the thread and a reload (src/datapath/learned-journal.ts) ----

  journalTo(j: LearnedJournal, id: number): void {
    this.journal = j;
    this.jid = id;
    this.writeLearned(j, id);
  }

  writeLearned(out: LearnedSink, id: number): void {
    out.f[0] = LJ.LFDB;
    out.put(LJ.RESET, id, 1);
    const f = this.fdb;
    for (let i = f.next(0); i >= 0; i = f.next(i + 1)) if (!f.valueAt(i).user) writeEntry(out, id, f.hiAt(i), f.loAt(i), f.valueAt(i));
  }

  /** A predecessor's entries on ports still there (by name), each last updated when it was last journaled; aged-out ones are left out. */
  restoreLearned(recs: readonly LearnedRecord[], now: number): number {
    let n = 0;
    for (const r of recs) {
      if (r.kind !== LJ.LFDB) continue;
      const [hi, lo, updated] = r.nums as [number, number, number];
      const port = this.port(r.text);
      if (!port || now - updated > this.ageingMs || this.local.has(hi, lo, 0) || this.fdb.has(hi, lo, 0)) continue;
      this.fdb.set(hi, lo, 0, { port, updated, used: updated, journaled: updated, seq: this.seq++, static: false, user: false });
      n++;
    }
    return n;
  }

  /**
   * `brctl showmacs` output: learned and local entries sorted by MAC alone,
   * ports interleaved (brctl qsorts the kernel's brforward entries, newest
   * first, with compare_fdbs: a memcmp of the 6 address bytes).
   */
  showmacs(now = this.engine.now): string {
    const rows: { no: number; hi: number; lo: number; local: boolean; age: number /* ms */ }[] = [];
    const l = this.local, f = this.fdb;
    for (let i = l.next(0); i >= 0; i = l.next(i + 1)) {
      const port = l.valueAt(i).port;
      if (port) rows.push({ no: this.portNo.get(port)!, hi: l.hiAt(i), lo: l.loAt(i), local: true, age: 0 });
    }
    for (let i = f.next(0); i >= 0; i = f.next(i + 1)) {
      const ent = f.valueAt(i);
      if (!this.fresh(ent, now)) continue;
      rows.push({ no: this.portNo.get(ent.port)!, hi: f.hiAt(i), lo: f.loAt(i), local: false, age: now - ent.updated });
    }
    rows.sort((a, b) => a.hi - b.hi || a.lo - b.lo);
    let out = 'port no\tmac addr\t\tis local?\tageing timer\n';
    for (const r of rows) {
      const sec = Math.floor(r.age / 1000);
      const centi = Math.floor(r.age / 10) % 100;
      out += `${String(r.no).padStart(3)}\t${macToString(r.hi, r.lo)}\t${r.local ? 'yes' : 'no'}\t\t${String(sec).padStart(4)}.${String(centi).padStart(2, '0')}\n`;
    }
    return out;
  }

  /**
   * Every entry not aged out, as the kernel's fdb_list holds them
   * (hlist_add_head: the newest first), with its state and when it was last
   * used and updated (emulated ms): what `bridge fdb show` lists.
   */
  rows(now = this.engine.now): FdbRow[] {
    const out: FdbRow[] = [];
    const f = this.fdb, l = this.local;
    for (let i = f.next(0); i >= 0; i = f.next(i + 1)) {
      const ent = f.valueAt(i);
      // br_fdb_cleanup runs when the soonest entry expires: an expired one is gone.
      if (!this.fresh(ent, now)) continue;
      out.push(this.row(f.hiAt(i), f.loAt(i), ent));
    }
    for (let i = l.next(0); i >= 0; i = l.next(i + 1)) out.push(this.row(l.hiAt(i), l.loAt(i), l.valueAt(i)));
    return out.sort((a, b) => b.seq - a.seq);
  }

  // ---- `bridge fdb add|append|replace|del|flush` (br_fdb_add, br_fdb_delete, br_fdb_flush) ----

  /**
   * fdb_add_entry: a new entry, or (without `exclusive`) the existing one
   * given the port and state asked, in its place in the list; an errno name
   * when refused. A change (or a new entry) is told, and made now.
   */
  addEntry(a: FdbAdd): 'EEXIST' | 'EINVAL' | null {
    // The bridge device's own entries are local (no port to forward to).
    if (a.port === null && a.state !== 'permanent') return 'EINVAL';
    const hi = macHi(a.mac), lo = macLo(a.mac), now = this.engine.now;
    const loc = this.local.get(hi, lo, 0), ent = this.fdb.get(hi, lo, 0);
    if ((loc || ent) && a.exclusive) return 'EEXIST';
    const was = loc ? 'permanent' : ent?.static ? 'static' : ent ? 'dynamic' : null;
    if (was !== null && was === a.state && (loc ?? ent)!.port === a.port) {
      (loc ?? ent)!.user = true;
      return null;
    }
    const seq = loc?.seq ?? ent?.seq ?? this.seq++;
    if (loc) this.local.delete(hi, lo, 0);
    if (ent) this.fdb.delete(hi, lo, 0);
    let made: FdbEntry | LocalEntry;
    if (a.state === 'permanent') this.local.set(hi, lo, 0, (made = { port: a.port, seq, created: now, user: true }));
    else {
      made = { port: a.port!, updated: now, used: now, journaled: now, seq, static: a.state === 'static', user: true };
      this.fdb.set(hi, lo, 0, made);
    }
    // Out of the journal's image: a learned entry the user took over, as if it had gone (the configuration log keeps the add).
    if (ent && !ent.user && this.journal !== null) this.unlog(hi, lo);
    if (this.heard !== null) this.tell(this.row(hi, lo, made), false);
    return null;
  }

  /** fdb_delete_by_addr_and_port: the entry of `mac` on `port` (null: the bridge's own), whatever its kind; false when there is none. */
  deleteEntry(mac: number, port: Port | null): boolean {
    const hi = macHi(mac), lo = macLo(mac);
    const loc = this.local.get(hi, lo, 0);
    if (loc && loc.port === port) {
      this.dropLocal(hi, lo, loc);
      return true;
    }
    const ent = this.fdb.get(hi, lo, 0);
    if (!ent || ent.port !== port) return false;
    this.forget(hi, lo);
    return true;
  }

  /** br_fdb_delete_bulk: the entries `want` matches (on `port` alone when given), newest first as it walks them; how many went. */
  flush(port: Port | null, want: (f: FdbFlags) => boolean): number {
    const gone: { hi: number; lo: number; seq: number; local: LocalEntry | null }[] = [];
    const f = this.fdb, l = this.local;
    for (let i = f.next(0); i >= 0; i = f.next(i + 1)) {
      const ent = f.valueAt(i);
      if ((port === null || ent.port === port) && want({ local: false, static: ent.static, user: ent.user })) gone.push({ hi: f.hiAt(i), lo: f.loAt(i), seq: ent.seq, local: null });
    }
    for (let i = l.next(0); i >= 0; i = l.next(i + 1)) {
      const ent = l.valueAt(i);
      if ((port === null || ent.port === port) && want({ local: true, static: true, user: ent.user })) gone.push({ hi: l.hiAt(i), lo: l.loAt(i), seq: ent.seq, local: ent });
    }
    for (const g of gone.sort((x, y) => y.seq - x.seq)) {
      if (g.local) this.dropLocal(g.hi, g.lo, g.local);
      else this.forget(g.hi, g.lo);
    }
    return gone.length;
  }

  /** NTF_USE (`bridge fdb add ... use`): as if a frame from `mac` came in on `port` (br_fdb_update), the entry then the user's. */
  use(mac: number, port: Port): void {
    const hi = macHi(mac), lo = macLo(mac), now = this.engine.now;
    if (this.local.has(hi, lo, 0)) return;
    const ent = this.fdb.get(hi, lo, 0);
    if (!ent) return void this.addEntry({ mac, port, state: 'dynamic', exclusive: false });
    const moved = ent.port !== port;
    if (!ent.user && this.journal !== null) this.unlog(hi, lo);
    Object.assign(ent, { port, updated: now, user: true });
    if (moved && this.heard !== null) this.tell(this.row(hi, lo, ent), false);
  }

  /** Learned (non-local) entries, for tests and the control interface. */
  learned(): { mac: string; port: string; portNo: number }[] {
    const out: { mac: string; port: string; portNo: number }[] = [];
    const f = this.fdb;
    for (let i = f.next(0); i >= 0; i = f.next(i + 1)) {
      const ent = f.valueAt(i);
      out.push({ mac: macToString(f.hiAt(i), f.loAt(i)), port: ent.port.name, portNo: this.portNo.get(ent.port)! });
    }
    return out;
  }

  portNumber(port: Port): number {
    return this.portNo.get(port)!;
  }

  // ---- `bridge link set` (br_setport) ----

  /** The port's settings as they are now. */
  portFlags(port: Port): Readonly<BridgePortFlags> {
    return this.flags[port.index]!;
  }

  /** Change the port's settings (the caller checked them as br_setport does); the path cache's recorded paths die. */
  setPortFlags(port: Port, change: Partial<BridgePortFlags>): void {
    Object.assign(this.flags[port.index]!, change);
    this.flagsGen++;
  }

  /** LbPathOp: no port's settings changed since `gen`. */
  flagsSince(gen: number): boolean {
    return this.flagsGen === gen;
  }

  /** Hear the ports' settings told until the returned function is called. */
  listenLink(l: LinkListener): () => void {
    (this.linkHeard ??= new Set()).add(l);
    return () => {
      this.linkHeard?.delete(l);
      if (this.linkHeard?.size === 0) this.linkHeard = null;
    };
  }

  /** br_ifinfo_notify(RTM_NEWLINK) for the port. */
  tellLink(port: Port): void {
    if (this.linkHeard !== null) for (const l of this.linkHeard) l(port);
  }
}

/** A frame through the bridge as the path cache replays it: its source refreshed, its destination used. */
class LbPathOp implements PathOp {
  constructor(
    private readonly br: LinuxBridge,
    private readonly srcHi: number,
    private readonly srcLo: number,
    private readonly src: FdbEntry,
    private readonly inPort: Port,
    private readonly dstHi: number,
    private readonly dstLo: number,
    private readonly dst: FdbEntry,
    private readonly out: Port,
    /** The input port learns: a hit refreshes the source's entry. */
    private readonly learn: boolean,
    /** The ports' settings it was recorded under (`bridge link set` kills it). */
    private readonly gen: number,
  ) {}

  share(id: (o: object) => number): string {
    return `lb ${id(this.src)} ${id(this.inPort)} ${id(this.dst)} ${id(this.out)} ${this.learn ? 1 : 0} ${this.gen}`;
  }

  /** The fdb and the ports' settings change by the element path, timers or control; a hit's refresh only keeps entries longer. */
  readonly steady = true;

  live(now: number): boolean {
    const br = this.br;
    return br.flagsSince(this.gen) && br.holds(this.srcHi, this.srcLo, this.src, this.inPort) && br.holds(this.dstHi, this.dstLo, this.dst, this.out) && br.fresh(this.dst, now);
  }

  hit(now: number): void {
    if (this.learn) this.br.refresh(this.srcHi, this.srcLo, this.src, now);
    this.dst.used = now;
  }
}
