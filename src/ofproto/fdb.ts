// The NORMAL action's MAC learning table, as OVS lib/mac-learning.c keeps it:
// entries keyed by (VLAN, MAC), one global LRU list (fdb/show prints it from
// least to most recently refreshed), expiry `idle_time` seconds after the last
// refresh, times in whole seconds as OVS's time_now() has them. Entries are
// found through a MacTable keyed by (MAC, VLAN): no strings, no boxed keys.
// Static entries (fdb/add) expire never (MAC_ENTRY_AGE_STATIC_ENTRY), are
// neither moved nor refreshed by learning and survive fdb/flush, but take
// their place in the LRU list and are evicted for room like the others
// (checked against ovs-vswitchd 3.1).
import { MacTable } from '../l2/mac-table.js';
import { FdbPortHeap } from './fdb-port-heap.js';
import { LJ, type LearnedJournal, type LearnedRecord, type LearnedSink } from '../datapath/learned-journal.js';

export const MAC_ENTRY_DEFAULT_IDLE_TIME = 300; // seconds (OVS mac-aging-time)
export const MAC_DEFAULT_MAX = 8192; // OVS mac-table-size
/** A static entry's expiry (OVS's MAC_ENTRY_AGE_STATIC_ENTRY): never; journaled as is (a Float64). */
export const STATIC_EXPIRES = Infinity;

export class FdbEntry {
  prev: FdbEntry | null = null;
  next: FdbEntry | null = null;
  constructor(
    readonly macHi: number, // top 16 bits
    readonly macLo: number, // low 32 bits, unsigned
    readonly vlan: number,
    public port: number, // ofport number
    public expires: number, // seconds
  ) {}

  /** The MAC as a 48-bit number. */
  get mac(): number {
    return macNumber(this.macHi, this.macLo);
  }

  /** Added by fdb/add. */
  get isStatic(): boolean {
    return this.expires === STATIC_EXPIRES;
  }
}

export function macNumber(hi16: number, lo32: number): number {
  return (hi16 & 0xffff) * 0x100000000 + (lo32 >>> 0);
}

export function macString(mac: number): string {
  let s = '';
  for (let i = 5; i >= 0; i--) {
    const b = Math.floor(mac / 2 ** (8 * i)) & 0xff;
    s += (i < 5 ? ':' : '') + b.toString(16).padStart(2, '0');
  }
  return s;
}

/** An entry as a journal record (LJ.OFDB). */
function writeEntry(out: LearnedSink, id: number, e: FdbEntry, portName: string | undefined): void {
  const f = out.f;
  f[0] = e.macHi;
  f[1] = e.macLo;
  f[2] = e.vlan;
  f[3] = e.port;
  f[4] = e.expires;
  out.put(LJ.OFDB, id, 5, portName);
}

/** Told of every change of a binding (the translation cache's dependencies, xlate-deps.ts). */
export interface FdbWatch {
  /** (MAC, VLAN) was learned, moved to another port or removed. */
  macChanged(macHi: number, macLo: number, vlan: number): void;
  /** Every entry went. */
  fdbFlushed(): void;
}

export class MacLearning {
  private readonly table = new MacTable<FdbEntry>();
  private head: FdbEntry | null = null; // least recently used
  private tail: FdbEntry | null = null;
  /** Entries per port, for evictions (evict_mac_entry_fairly). */
  private readonly ports = new FdbPortHeap();
  /** Bumped when an entry is added, moves port or is removed (a cache would key on it). */
  generation = 0;
  watch: FdbWatch | null = null;
  /** Where changes are journaled (src/datapath/learned-journal.ts), as element `jid`; null inline. */
  private journal: LearnedJournal | null = null;
  private jid = 0;
  private portName: (ofport: number) => string | undefined = () => undefined;
  /**
   * fdb/stats-show's static count (ml->static_entries): up with each static
   * entry added, down with each fdb/del; an eviction or a port's deletion
   * removes static entries without counting them down, as in OVS 3.1.
   */
  staticEntries = 0;
  // fdb/stats-show's totals, as mac-learning.c counts them (fdb/stats-clear zeroes them).
  /** New entries (mac_learning_insert). */
  totalLearned = 0;
  /** Entries whose time was up (mac_learning_run; a lookup that finds one removes it here). */
  totalExpired = 0;
  /** Entries removed for room (evict_mac_entry_fairly). */
  totalEvicted = 0;
  /** Entries learned again on another port (update_learning_table__). */
  totalMoved = 0;

  constructor(
    public idleTime = MAC_ENTRY_DEFAULT_IDLE_TIME,
    public maxEntries = MAC_DEFAULT_MAX,
  ) {}

  get size(): number {
    return this.table.size;
  }

  /**
   * mac_learning_set_idle_time(): clamped to 15..3600 s; every entry's expiry
   * moves by the change, so an entry keeps its age (journaled again: a
   * successor restores the new expiries).
   */
  setIdleTime(seconds: number): void {
    const t = Math.min(3600, Math.max(15, seconds));
    if (t === this.idleTime) return;
    const delta = t - this.idleTime;
    this.idleTime = t;
    for (let e = this.head; e !== null; e = e.next) {
      e.expires += delta;
      this.log(e);
    }
  }

  /**
   * mac_learning_set_max_entries(), clamped to 10..1,000,000, then what
   * mac_learning_run does next: learned entries go from the least recently
   * used on, counted as expired, while the table holds more (static ones
   * stay, as in expire()).
   */
  setMaxEntries(n: number): void {
    this.maxEntries = Math.min(1_000_000, Math.max(10, n));
    for (let e = this.head; e !== null && this.table.size > this.maxEntries; ) {
      const next = e.next;
      if (!e.isStatic) {
        this.remove(e);
        this.totalExpired++;
      }
      e = next;
    }
  }

  /** mac_entry_age(): seconds since the entry was last refreshed. */
  age(e: FdbEntry, nowS: number): number {
    return this.idleTime - (e.expires - nowS);
  }

  /** The entry for (MAC, VLAN), expired or not, changing nothing (the translation cache's live check). */
  peek(macHi: number, macLo: number, vlan: number): FdbEntry | null {
    return this.table.get(macHi, macLo, vlan) ?? null;
  }

  /** The live entry for (MAC, VLAN); an expired one is removed on the way (OVS expires in mac_learning_run). */
  lookup(macHi: number, macLo: number, vlan: number, nowS: number): FdbEntry | null {
    const e = this.table.get(macHi, macLo, vlan);
    if (e === undefined) return null;
    if (nowS >= e.expires) {
      this.remove(e);
      this.totalExpired++;
      return null;
    }
    return e;
  }

  /**
   * Learn that `mac` is on `port` in `vlan` (update_learning_table__ with
   * is_mac_learning_update_needed): multicast sources are never learned; an
   * entry on the same port is refreshed at most once a second. Returns true
   * if the port binding changed (a new entry or a move).
   */
  learn(macHi: number, macLo: number, vlan: number, port: number, nowS: number): boolean {
    if (macHi & 0x0100) return false; // eth_addr_is_multicast(src)
    let e = this.lookup(macHi, macLo, vlan, nowS);
    if (e !== null && (e.isStatic || (this.age(e, nowS) === 0 && e.port === port))) return false;
    if (e === null) {
      if (this.table.size >= this.maxEntries) this.evictFairly();
      e = new FdbEntry(macHi, macLo >>> 0, vlan, port, nowS + this.idleTime);
      this.table.set(macHi, macLo, vlan, e);
      this.append(e);
      this.ports.inc(port);
      this.totalLearned++;
      this.generation++;
      this.watch?.macChanged(macHi, e.macLo, vlan);
      this.log(e);
      // Static entries can hold the table past full: mac_learning_run, next in OVS's loop, takes learned ones out.
      if (this.table.size > this.maxEntries) this.expire(nowS);
      return true;
    }
    // mac_learning_insert on an existing entry: mark recently used.
    this.unlink(e);
    this.append(e);
    e.expires = nowS + this.idleTime;
    const moved = e.port !== port;
    if (moved) {
      this.ports.dec(e.port);
      this.ports.inc(port);
    }
    e.port = port;
    // A refresh too, at most once a second (one within the second returned above): ages are in seconds.
    this.log(e);
    if (moved) {
      this.totalMoved++;
      this.generation++;
      this.watch?.macChanged(macHi, e.macLo, vlan);
    }
    return moved;
  }

  /**
   * learn() of `e`'s MAC on the port it has, for an entry known to be in the
   * table and unexpired (a cache hit's replay, xlate-cache.ts): the refresh
   * alone, without a lookup.
   */
  touch(e: FdbEntry, nowS: number): void {
    if (e.isStatic || this.age(e, nowS) === 0) return;
    this.unlink(e);
    this.append(e);
    e.expires = nowS + this.idleTime;
    this.log(e);
  }

  /**
   * mac_learning_run: drop every entry whose time is up, and learned entries
   * from the least recently used on while the table holds more than
   * maxEntries (static ones stay, even past it), all counted as expired.
   */
  expire(nowS: number): number {
    let k = 0;
    // Not strictly ordered by expiry after idleTime changes; scan the list.
    for (let e = this.head; e !== null; ) {
      const next = e.next;
      if (nowS >= e.expires || (!e.isStatic && this.table.size > this.maxEntries)) {
        this.remove(e);
        k++;
      }
      e = next;
    }
    this.totalExpired += k;
    return k;
  }

  remove(e: FdbEntry): void {
    if (!this.unlinkEntry(e)) return;
    this.generation++;
    this.watch?.macChanged(e.macHi, e.macLo, e.vlan);
    const j = this.journal;
    if (j !== null) {
      j.f[0] = e.macHi;
      j.f[1] = e.macLo;
      j.f[2] = e.vlan;
      j.put(LJ.OFDB_DEL, this.jid, 3);
    }
  }

  /** `e` out of the table, the LRU list and its port's count; false if it was not in the table. */
  private unlinkEntry(e: FdbEntry): boolean {
    if (this.table.get(e.macHi, e.macLo, e.vlan) !== e) return false;
    this.table.delete(e.macHi, e.macLo, e.vlan);
    this.unlink(e);
    this.ports.dec(e.port);
    return true;
  }

  /**
   * `ovs-appctl fdb/add` (mac_learning_add_static_entry): (MAC, VLAN) on
   * `port` for good, at the LRU list's end. A new entry may evict another
   * for room (counted), and is not counted as learned. Returns what it
   * replaced, for the command's "Overriding already existing ..." line:
   * null when nothing, or a static entry already on that port.
   */
  addStatic(macHi: number, macLo: number, vlan: number, port: number, nowS: number): { static: boolean; port: number } | null {
    let e = this.lookup(macHi, macLo, vlan, nowS);
    let was: { static: boolean; port: number } | null = null;
    if (e === null) {
      if (this.table.size >= this.maxEntries) this.evictFairly();
      e = new FdbEntry(macHi, macLo >>> 0, vlan, port, STATIC_EXPIRES);
      this.table.set(macHi, macLo, vlan, e);
      this.ports.inc(port);
      this.staticEntries++;
    } else {
      if (!e.isStatic || e.port !== port) was = { static: e.isStatic, port: e.port };
      if (!e.isStatic) this.staticEntries++;
      this.unlink(e);
      if (e.port !== port) {
        this.ports.dec(e.port);
        this.ports.inc(port);
      }
      e.port = port;
      e.expires = STATIC_EXPIRES;
    }
    this.append(e);
    this.generation++;
    this.watch?.macChanged(macHi, e.macLo, vlan);
    this.log(e);
    if (this.table.size > this.maxEntries) this.expire(nowS);
    return was;
  }

  /** `ovs-appctl fdb/del` (mac_learning_del_static_entry): false when (MAC, VLAN) has no static entry. */
  delStatic(macHi: number, macLo: number, vlan: number): boolean {
    const e = this.table.get(macHi, macLo, vlan);
    if (e === undefined || !e.isStatic) return false;
    this.remove(e);
    this.staticEntries--;
    return true;
  }

  /**
   * Forget every entry on `port`, static ones too (the port was deleted, or its
   * VLAN settings changed: bundle_flush_macs expires all of them, leaving the
   * static count as it was, as ovs-vswitchd 3.1 does).
   */
  flushPort(port: number): void {
    for (let e = this.head; e !== null; ) {
      const next = e.next;
      if (e.port === port) this.remove(e);
      e = next;
    }
  }

  /** ovs-appctl fdb/flush: every learned entry goes, in LRU order; static ones stay. */
  flush(): void {
    for (let e = this.head; e !== null; ) {
      const next = e.next;
      if (!e.isStatic) this.unlinkEntry(e);
      e = next;
    }
    this.generation++;
    this.watch?.fdbFlushed();
    const j = this.journal;
    if (j !== null) {
      j.f[0] = LJ.OFDB;
      j.put(LJ.RESET, this.jid, 1);
      for (let e = this.head; e !== null; e = e.next) writeEntry(j, this.jid, e, this.portName(e.port));
    }
  }

  /** Journal each change to `j` as element `id` from now on; `portName` names an ofport in the records. */
  journalTo(j: LearnedJournal, id: number, portName: (ofport: number) => string | undefined): void {
    this.journal = j;
    this.jid = id;
    this.portName = portName;
  }

  /** Every entry to `out` as element `id` (a RESET first), from least to most recently refreshed. */
  writeLearned(out: LearnedSink, id: number, portName: (ofport: number) => string | undefined): void {
    out.f[0] = LJ.OFDB;
    out.put(LJ.RESET, id, 1);
    for (let e = this.head; e !== null; e = e.next) writeEntry(out, id, e, portName(e.port));
  }

  /**
   * Entries a predecessor journaled (OFDB records), on the ports `keep`
   * accepts (ofport and name): each with its port and expiry as last journaled (so its age is
   * what it was, to the second), appended in the order of the records, which
   * is the LRU order fdb/show prints: writeLearned() lists the entries in it,
   * and the mirror moves an entry to the end with each record, as each
   * refresh moved it (src/workers/learned-mirror.ts). Not by expiry: entries
   * refreshed within one second tie on it. Entries whose time is up are left out.
   */
  restore(recs: readonly LearnedRecord[], nowS: number, keep: (port: number, name: string) => boolean): number {
    const live = recs.filter((r) => r.kind === LJ.OFDB && r.nums[4]! > nowS && keep(r.nums[3]!, r.text));
    for (const r of live) {
      const [hi, lo, vlan, port, expires] = r.nums as [number, number, number, number, number];
      if (this.table.has(hi, lo, vlan) || this.table.size >= this.maxEntries) continue;
      const e = new FdbEntry(hi, lo >>> 0, vlan, port, expires);
      this.table.set(hi, lo, vlan, e);
      this.append(e);
      this.ports.inc(port);
      if (e.isStatic) this.staticEntries++;
      this.generation++;
      this.watch?.macChanged(hi, e.macLo, vlan);
    }
    return live.length;
  }

  private log(e: FdbEntry): void {
    if (this.journal !== null) writeEntry(this.journal, this.jid, e, this.portName(e.port));
  }

  /** Entries from least to most recently refreshed, as fdb/show lists them. */
  entries(): FdbEntry[] {
    const out: FdbEntry[] = [];
    for (let e = this.head; e !== null; e = e.next) out.push(e);
    return out;
  }

  /**
   * `ovs-appctl fdb/show` (ofproto_unixctl_fdb_show): a header, then
   * "%5s  %4d  MAC  %3d" per entry, `static` for the age of a static one;
   * the port is printed as ofputil_port_to_string does without a name map
   * (65534 is LOCAL).
   */
  show(nowS: number): string {
    this.expire(nowS);
    let s = ' port  VLAN  MAC                Age\n';
    for (let e = this.head; e !== null; e = e.next) {
      const port = e.port === 65534 ? 'LOCAL' : String(e.port);
      s += `${port.padStart(5)}  ${String(e.vlan).padStart(4)}  ${macString(e.mac)}  ${e.isStatic ? 'static' : String(this.age(e, nowS)).padStart(3)}\n`;
    }
    return s;
  }

  /**
   * `ovs-appctl fdb/stats-show BRIDGE` (ofproto_unixctl_fdb_stats_show, its
   * text checked against ovs-vswitchd 3.1), after expiring what is due as
   * mac_learning_run would have.
   */
  statsShow(bridge: string, nowS: number): string {
    this.expire(nowS);
    return `Statistics for bridge "${bridge}":\n`
      + `  Current/maximum MAC entries in the table: ${this.size}/${this.maxEntries}\n`
      + `  Current static MAC entries in the table : ${this.staticEntries}\n`
      + `  Total number of learned MAC entries     : ${this.totalLearned}\n`
      + `  Total number of expired MAC entries     : ${this.totalExpired}\n`
      + `  Total number of evicted MAC entries     : ${this.totalEvicted}\n`
      + `  Total number of port moved MAC entries  : ${this.totalMoved}\n`;
  }

  /** `ovs-appctl fdb/stats-clear` (mac_learning_clear_statistics): the totals, not the static count. */
  clearStatistics(): void {
    this.totalLearned = this.totalExpired = this.totalEvicted = this.totalMoved = 0;
  }

  // evict_mac_entry_fairly(): the least recently used entry of the port the heap of ports by entries has on top.
  private evictFairly(): void {
    const port = this.ports.max();
    for (let e = this.head; e !== null; e = e.next) {
      if (e.port === port) {
        this.remove(e);
        this.totalEvicted++;
        return;
      }
    }
  }

  private append(e: FdbEntry): void {
    e.prev = this.tail;
    e.next = null;
    if (this.tail) this.tail.next = e;
    else this.head = e;
    this.tail = e;
  }

  private unlink(e: FdbEntry): void {
    if (e.prev) e.prev.next = e.next;
    else this.head = e.next;
    if (e.next) e.next.prev = e.prev;
    else this.tail = e.prev;
    e.prev = e.next = null;
  }
}
