// The IPv6 neighbour cache of a namespace (nd_tbl), as far as the model
// keeps it: an entry per (device, address) with its link-layer address,
// state and router flag, made or updated the way ndisc.c's receive
// handlers do (ndisc_update: an NS or RS with a source link-layer option
// makes the entry STALE, a solicited NA REACHABLE). The timers run in
// ndisc.ts (INCOMPLETE to FAILED; REACHABLE, DELAY and PROBE by
// neighbour.ts's nudTimerStep, as the ARP table's). Fixed-size arrays,
// searched linearly: no allocation per packet. The table's parameters
// (net.ipv6.neigh.*), reachable times and counters are neigh-parms.ts's,
// as the ARP table's.

import { ip6Copy, ip6Equal } from '../wire/ipv6.js';
import { RtnlError } from './errors.js';
import { NUD, NUD_CONNECTED, NUD_VALID, type NeighParams, arpDefaultParams, neighAddMode, seededRandom, updateLladdr } from './neighbour.js';
import { NeighTableBase } from './neigh-parms.js';

/** nd_tbl's parms (net/ipv6/ndisc.c): arp_tbl's but locktime, which nd_tbl leaves at 0. */
export function ndiscDefaultParams(): NeighParams {
  return { ...arpDefaultParams(), locktime_ms: 0 };
}

/** Entries kept; a new one past this replaces the least recently updated. */
const SLOTS = 64;

/** P: what a held packet is (the element's Packet). */
export class Nd6Cache<P> extends NeighTableBase {
  constructor(opts: { random?: () => number; now?: number } = {}) {
    super(ndiscDefaultParams(), { ...opts, random: opts.random ?? seededRandom(6), hashSeed: 0x6e643663 });
  }

  readonly addr = new Uint8Array(SLOTS * 16);
  readonly ifindex = new Int32Array(SLOTS);
  readonly mac = new Float64Array(SLOTS);
  readonly state = new Uint8Array(SLOTS);
  readonly router = new Uint8Array(SLOTS);
  private readonly updated = new Float64Array(SLOTS);
  /** Solicitations sent for an INCOMPLETE or PROBE entry. */
  readonly probes = new Uint8Array(SLOTS);
  /** The entry's timer (engine ms; INCOMPLETE, REACHABLE, DELAY, PROBE), -1: none. */
  readonly timer = new Float64Array(SLOTS).fill(-1);
  /** neigh->confirmed, ->used and ->updated (engine ms). */
  readonly confirmed = new Float64Array(SLOTS);
  readonly used = new Float64Array(SLOTS);
  readonly at = new Float64Array(SLOTS);
  /** The packets waiting for the entry's resolution (INCOMPLETE), oldest first, and the truesize they are charged. */
  readonly held: P[][] = Array.from({ length: SLOTS }, () => []);
  readonly heldBytes = new Float64Array(SLOTS);
  private clock = 0;
  /** The slots in use. */
  size = 0;

  /** The slot of `ip` (16 bytes at buf[off]) on `ifindex`, -1 if none. */
  find(ifindex: number, buf: Uint8Array, off: number): number {
    for (let i = 0; i < SLOTS; i++) if (this.ifindex[i] === ifindex && this.state[i] !== NUD.NONE && ip6Equal(this.addr, i * 16, buf, off)) return i;
    return -1;
  }

  /**
   * The slot of `ip` on `ifindex`, made (INCOMPLETE, no timer yet) when
   * missing, at `now`, confirmed `unconfirmed` (neigh_alloc: long before);
   * the packets a replaced slot held in `evicted`.
   */
  findOrCreate(ifindex: number, buf: Uint8Array, off: number, now: number, unconfirmed: number): number {
    const i = this.find(ifindex, buf, off);
    if (i >= 0) return i;
    // The victim: a free slot, else the least recently updated, one that `ip -6 neigh add` made PERMANENT last.
    let slot = 0;
    for (let j = 0; j < SLOTS; j++) {
      if (this.state[j] === NUD.NONE) {
        slot = j;
        break;
      }
      const perm = this.state[j] === NUD.PERMANENT, was = this.state[slot] === NUD.PERMANENT;
      if (perm === was ? this.updated[j]! < this.updated[slot]! : was) slot = j;
    }
    this.takeHeld(slot, this.evicted);
    if (this.state[slot] !== NUD.NONE) {
      this.stats.destroys++;
      this.onChange?.(slot, true);
    } else this.allocated(++this.size);
    ip6Copy(this.addr, slot * 16, buf, off);
    this.ifindex[slot] = ifindex;
    this.mac[slot] = 0;
    this.router[slot] = 0;
    this.state[slot] = NUD.INCOMPLETE;
    this.timer[slot] = -1;
    this.updated[slot] = ++this.clock;
    this.confirmed[slot] = unconfirmed;
    this.used[slot] = this.at[slot] = now;
    return slot;
  }

  /** Packets held by a slot that findOrCreate reused (the caller drops them and empties this). */
  readonly evicted: P[] = [];

  /** Moves the slot's held packets to the end of `out`. */
  takeHeld(slot: number, out: P[]): void {
    const q = this.held[slot]!;
    for (let i = 0; i < q.length; i++) out.push(q[i]!);
    q.length = 0;
    this.heldBytes[slot] = 0;
  }

  /** Told of every entry that changed (`gone`: removed), e.g. to journal it. */
  onChange: ((slot: number, gone: boolean) => void) | null = null;

  /**
   * __neigh_update's bookkeeping at `now`: the entry's address and state;
   * a change of either is an update, a change of state stops the timer
   * (the caller sets the new state's, and `confirmed` when it confirms).
   */
  update(slot: number, mac: number, state: number, now: number): void {
    if (state !== this.state[slot] || mac !== this.mac[slot]) this.at[slot] = now;
    if (state !== this.state[slot]) this.timer[slot] = -1;
    this.mac[slot] = mac;
    this.state[slot] = state;
    this.updated[slot] = ++this.clock;
    this.onChange?.(slot, false);
  }

  /** An entry a predecessor learned (a reload, a restarted worker), with its times as journaled; its slot (the caller sets the timer). */
  restore(ifindex: number, words: readonly number[], mac: number, state: number, router: boolean, confirmed: number, at: number, used: number, probes: number): number {
    const a = this.scratch;
    for (let w = 0; w < 4; w++) for (let b = 0; b < 4; b++) a[w * 4 + b] = (words[w]! >>> (24 - 8 * b)) & 0xff;
    const slot = this.findOrCreate(ifindex, a, 0, at, confirmed);
    this.evicted.length = 0;
    this.router[slot] = router ? 1 : 0;
    this.confirmed[slot] = confirmed;
    this.used[slot] = used;
    this.probes[slot] = probes;
    this.update(slot, mac, state, at);
    return slot;
  }

  /** The entry's address as four u32 words (big-endian), into `out` from `at`. */
  words(slot: number, out: Float64Array, at: number): void {
    const a = this.addr, o = slot * 16;
    for (let w = 0; w < 4; w++) out[at + w] = ((a[o + w * 4]! << 24) | (a[o + w * 4 + 1]! << 16) | (a[o + w * 4 + 2]! << 8) | a[o + w * 4 + 3]!) >>> 0;
  }

  private readonly scratch = new Uint8Array(16);

  /** neigh_ifdown: the device's entries go; the packets they held are added to `dropped`. */
  ifdown(ifindex: number, dropped: P[]): void {
    for (let i = 0; i < SLOTS; i++) if (this.ifindex[i] === ifindex && this.state[i] !== NUD.NONE) this.remove(i, dropped);
  }

  /** The slot's entry leaves the table; the packets it held are added to `dropped`. */
  private remove(slot: number, dropped: P[]): void {
    this.onChange?.(slot, true);
    this.stats.destroys++;
    this.size--;
    this.state[slot] = NUD.NONE;
    this.timer[slot] = -1;
    this.takeHeld(slot, dropped);
  }

  // ---- administration (ip -6 neigh add|replace|change|del) --------------

  /** Packets an administrative write let go (an entry it resolved, its slot in `releasedSlot` each): the element sends them and empties both. */
  readonly released: P[] = [];
  readonly releasedSlot: number[] = [];
  /** Packets whose entry a write failed or removed (neigh_invalidate; the entry's device in `failedIfindex` each): the element tells their senders, drops them and empties both. */
  readonly failedHeld: P[] = [];
  readonly failedIfindex: number[] = [];

  /** The slot's held packets to `failedHeld`. */
  private fail(slot: number): void {
    const from = this.failedHeld.length;
    this.takeHeld(slot, this.failedHeld);
    for (let i = from; i < this.failedHeld.length; i++) this.failedIfindex.push(this.ifindex[slot]!);
  }

  /**
   * neigh_add (refusals as NeighbourTable.adminSet's), then __neigh_update
   * with ADMIN|OVERRIDE: the state (iproute2 sends PERMANENT unless told),
   * the address given (or the entry's own), the router flag as given (undefined: kept), the
   * timer of the new state (REACHABLE: reachable_time on; DELAY, PROBE: at
   * once; none for the others); packets held by an entry made valid go to
   * `released`, those of an INCOMPLETE or PROBE one made FAILED to
   * `failedHeld`. `nud none` makes no entry (the kernel keeps one in NUD_NONE).
   */
  adminSet(ifindex: number, addr: Uint8Array, lladdr: number | undefined, state: number, mode: 'add' | 'replace' | 'change', router: boolean | undefined, now: number): void {
    let slot = this.find(ifindex, addr, 0);
    neighAddMode(slot >= 0, mode);
    const old = slot >= 0 ? this.state[slot]! : NUD.NONE;
    const valid = (state & NUD_VALID) !== 0;
    const mac = valid ? updateLladdr(old, slot >= 0 ? this.mac[slot]! : 0, lladdr) : slot >= 0 ? this.mac[slot]! : 0;
    if (state === NUD.NONE) {
      if (slot >= 0) {
        this.fail(slot);
        this.remove(slot, this.failedHeld);
      }
      return;
    }
    const base = this.params(ifindex).base_reachable_time_ms;
    if (slot < 0) slot = this.findOrCreate(ifindex, addr, 0, now, now - 2 * base);
    const changed = valid && (!(old & NUD_VALID) || mac !== this.mac[slot]);
    if (state & NUD_CONNECTED) this.confirmed[slot] = now;
    else if (changed) this.confirmed[slot] = now - 2 * base;
    if (router !== undefined) this.router[slot] = router ? 1 : 0; // before update(): its notification carries the flag
    this.update(slot, mac, state, now);
    if (state !== old) {
      if (state & NUD.PROBE) this.probes[slot] = 0;
      if (state & NUD.REACHABLE && this.used[slot]! < now) this.used[slot] = now; // neigh_add_timer, as ndisc.ts's learn
      if (state & (NUD.REACHABLE | NUD.DELAY | NUD.PROBE)) this.timer[slot] = now + (state & NUD.REACHABLE ? this.reachableTime(ifindex) : 0);
    }
    if (valid && !(old & NUD_VALID)) {
      const from = this.released.length;
      this.takeHeld(slot, this.released);
      for (let i = from; i < this.released.length; i++) this.releasedSlot.push(slot);
    } else if (old & (NUD.INCOMPLETE | NUD.PROBE) && state & NUD.FAILED) {
      this.stats.res_failed++;
      this.fail(slot);
    }
  }

  /** neigh_delete: FAILED first (its held packets to `failedHeld`, as neigh_invalidate), then out of the table. */
  adminDelete(ifindex: number, addr: Uint8Array, now: number): void {
    const slot = this.find(ifindex, addr, 0);
    if (slot < 0) throw new RtnlError('ENOENT');
    const old = this.state[slot]!;
    this.update(slot, this.mac[slot]!, NUD.FAILED, now);
    if (old & (NUD.INCOMPLETE | NUD.PROBE)) this.stats.res_failed++;
    this.fail(slot);
    this.remove(slot, this.failedHeld);
  }

  /** The slots in use, oldest first. */
  slots(): number[] {
    const out: number[] = [];
    for (let i = 0; i < SLOTS; i++) if (this.state[i] !== NUD.NONE) out.push(i);
    return out.sort((a, b) => this.updated[a]! - this.updated[b]!);
  }
}
