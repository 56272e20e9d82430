// `ip ntable show` and `ip ntable change` (iproute2 6.1's ipntable.c) over a
// namespace's ARP table (neighbour.ts) and IPv6 cache (nd6-cache.ts). The
// kernel's arp_cache and ndisc_cache are each one table for every
// namespace: a header (thresholds, gc_int, the default parms, -s's config
// and stats) that is the host's, device blocks that are the namespace's.
// Here each namespace's tables stand for them: the header shows the host's
// values it was given (neigh/default), and the counters and entries of this
// namespace alone.

import { RtnlError, invarg, nextArg } from './errors.js';
import { type JsonObject, jsonDump } from './json-writer.js';
import { ETH_FRAME_TRUESIZE, type NeighParams } from './neighbour.js';
import type { NeighTableBase } from './neigh-parms.js';
import { type Netns } from './netns.js';
import type { Interface } from './interfaces.js';
import { type Family } from './ip-tokens.js';

export interface NtableShowOptions {
  family?: Family;
  stats?: boolean;
  json?: { pretty: boolean };
  oneline?: boolean;
  /** Emulated time (ms), for the ages of last_flush and last_rand. */
  now: number;
  /** The wall clock (ms since the epoch) those ages are taken from, as ip takes them from gettimeofday. */
  wall: number;
  /** ARP requests held for a delayed proxy reply (arp_tbl's proxy_queue; ndisc's proxy is not modelled). */
  proxyQlen: number;
}

/** A table as `ip ntable` lists it, in the kernel's order (neigh_tables[]: NEIGH_ARP_TABLE, NEIGH_ND_TABLE). */
interface Listed {
  family: Family;
  name: string;
  t: NeighTableBase;
  entries: number;
  keyLen: number;
  /** struct neighbour's size with the key on the x86-64 kernel the tests compare with (6.18): tbl->entry_size. */
  entrySize: number;
  proxyQlen: number;
  /** The devices with parms in this table, newest first (neigh_parms_alloc adds at the list's head). */
  devs: Interface[];
}

/**
 * The devices by when their parms were made, newest first: at registration
 * (in ifindex order here), and for ndisc_cache again with a new inet6_dev
 * (an MTU back to 1280 or more), newer than the rest; a device without one
 * has none.
 */
function parmsOrder(ns: Netns, v6: boolean): Interface[] {
  const made = (l: Interface) => (v6 && l.idev6Remade ? l.idev6 : 0);
  return [...ns.links()].filter((l) => !v6 || l.idev6 !== 0).sort((a, b) => made(b) - made(a) || b.index - a.index);
}

function tables(ns: Netns, proxyQlen: number): Listed[] {
  return [
    { family: 'inet', name: 'arp_cache', t: ns.neigh, entries: ns.neigh.size, keyLen: 4, entrySize: 336, proxyQlen, devs: parmsOrder(ns, false) },
    { family: 'inet6', name: 'ndisc_cache', t: ns.nd6, entries: ns.nd6.size, keyLen: 16, entrySize: 344, proxyQlen: 0, devs: parmsOrder(ns, true) },
  ];
}

/** ntable_strtime_delta: now less the age's whole seconds, in local time; an age of 0 (or none) is "(error)". */
function strtimeDelta(ageMs: number, wall: number): string {
  const msec = ageMs >>> 0; // the kernel's u32 of milliseconds
  if (msec === 0) return '(error)';
  const d = new Date((Math.floor(wall / 1000) - Math.floor(msec / 1000)) * 1000);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

type Field = [key: string, text: string, value: number | string];

/** The NDTA_PARMS members in print_ndtparams' order and lines (ms, packets as truesize over the byte limit). */
function parmLines(p: NeighParams, reachable: number): Field[][] {
  return [
    [['refcnt', 'refcnt', 1], ['reachable', 'reachable', reachable], ['base_reachable', 'base_reachable', p.base_reachable_time_ms], ['retrans', 'retrans', p.retrans_time_ms]],
    [['gc_stale', 'gc_stale', p.gc_stale_time_ms], ['delay_probe', 'delay_probe', p.delay_first_probe_time_ms], ['queue', 'queue', Math.floor(p.unres_qlen_bytes / ETH_FRAME_TRUESIZE)]],
    [['app_probes', 'app_probes', p.app_solicit], ['ucast_probes', 'ucast_probes', p.ucast_solicit], ['mcast_probes', 'mcast_probes', p.mcast_solicit]],
    [['anycast_delay', 'anycast_delay', p.anycast_delay_ms], ['proxy_delay', 'proxy_delay', p.proxy_delay_ms], ['proxy_queue', 'proxy_queue', p.proxy_qlen], ['locktime', 'locktime', p.locktime_ms]],
  ];
}

/** One record: text lines (each printed "    " + fields + " ") and the JSON members, in order. */
interface Rec {
  lines: string[];
  json: JsonObject;
}

function add(rec: Rec, indent: string, fields: Field[]): void {
  rec.lines.push(indent + fields.map(([, t, v]) => `${t} ${v} `).join(''));
  for (const [k, , v] of fields) rec.json[k] = v;
}

/** `ip ntable show [dev DEV|none] [name NAME]` (words after `show`). */
export function showNtable(ns: Netns, words: readonly string[], o: NtableShowOptions): string {
  let index: number | 'none' | undefined;
  let name: string | undefined;
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (w === 'dev') {
      const d = nextArg(words, ++i);
      if (d === 'none') index = 'none';
      else {
        const l = ns.link(d);
        if (!l) throw invarg('"DEV" is invalid', d);
        index = l.index;
      }
    } else if (w === 'name') name = nextArg(words, ++i);
    else throw invarg('unknown', w);
  }
  const recs: Rec[] = [];
  // -0 (or -f link) asks for a family whose tables the dump then leaves out.
  for (const tb of tables(ns, o.proxyQlen)) {
    if ((o.family !== undefined && o.family !== tb.family) || (name !== undefined && name !== tb.name)) continue;
    const t = tb.t, id = { family: tb.family, name: tb.name };
    if (index === undefined || index === 'none') {
      const rec: Rec = { lines: [], json: { ...id } };
      add(rec, '    ', [['thresh1', 'thresh1', t.gcThresh1], ['thresh2', 'thresh2', t.gcThresh2], ['thresh3', 'thresh3', t.gcThresh3], ['gc_interval', 'gc_int', GC_INTERVAL]]);
      if (o.stats) {
        add(rec, '    config ', [['key_length', 'key_len', tb.keyLen], ['entry_size', 'entry_size', tb.entrySize], ['entries', 'entries', tb.entries]]);
        add(rec, '        ', [['last_flush', 'last_flush', strtimeDelta(o.now - t.lastFlush, o.wall)], ['last_rand', 'last_rand', strtimeDelta(o.now - t.lastRand, o.wall)]]);
        const mask = (1 << t.hashShift) - 1;
        rec.lines.push(`        hash_rnd ${t.hashRnd >>> 0} hash_mask ${mask.toString(16).padStart(8, '0')} hash_chain_gc 0 proxy_qlen ${tb.proxyQlen} `);
        Object.assign(rec.json, { hash_rnd: t.hashRnd >>> 0, hash_mask: `0x${mask.toString(16)}`, hash_chain_gc: 0, proxy_qlen: tb.proxyQlen });
      }
      for (const f of parmLines(t.defaults, t.reachableTime(0))) add(rec, '    ', f);
      if (o.stats) {
        const s = t.stats;
        add(rec, '    stats ', [['allocs', 'allocs', s.allocs], ['destroys', 'destroys', s.destroys], ['hash_grows', 'hash_grows', s.hash_grows]]);
        add(rec, '    ', [['res_failed', 'res_failed', s.res_failed], ['lookups', 'lookups', s.lookups], ['hits', 'hits', s.hits]]);
        add(rec, '    ', [['rcv_probes_mcast', 'rcv_probes_mcast', s.rcv_probes_mcast], ['rcv_probes_ucast', 'rcv_probes_ucast', s.rcv_probes_ucast]]);
        add(rec, '    ', [['periodic_gc_runs', 'periodic_gc_runs', s.periodic_gc_runs], ['forced_gc_runs', 'forced_gc_runs', s.forced_gc_runs]]);
        add(rec, '    ', [['table_fulls', 'table_fulls', s.table_fulls]]);
      }
      recs.push(rec);
    }
    if (index === 'none') continue;
    for (const l of tb.devs.filter((x) => index === undefined || x.index === index)) {
      const rec: Rec = { lines: [`    dev ${l.name} `], json: { ...id, dev: l.name } };
      for (const f of parmLines(t.params(l.index), t.reachableTime(l.index))) add(rec, '    ', f);
      recs.push(rec);
    }
  }
  if (o.json) return jsonDump(recs.map((r) => r.json), o.json.pretty);
  const sl = o.oneline ? '\\' : '\n';
  return recs.map((r) => `${String(r.json['family'])} ${String(r.json['name'])} ${sl}${r.lines.join(sl)}${sl}\n`).join('');
}

/** ipntable.c's usage() in iproute2 6.1. */
export const NTABLE_USAGE = `Usage: ip ntable change name NAME [ dev DEV ]
        [ thresh1 VAL ] [ thresh2 VAL ] [ thresh3 VAL ] [ gc_int MSEC ]
        [ PARMS ]
Usage: ip ntable show [ dev DEV ] [ name NAME ]
PARMS := [ base_reachable MSEC ] [ retrans MSEC ] [ gc_stale MSEC ]
         [ delay_probe MSEC ] [ queue LEN ]
         [ app_probes VAL ] [ ucast_probes VAL ] [ mcast_probes VAL ]
         [ anycast_delay MSEC ] [ proxy_delay MSEC ] [ proxy_queue LEN ]
         [ locktime MSEC ]`;

/** gc_interval of arp_tbl and nd_tbl (30 s): shown and settable in the initial namespace; no GC reads it (neigh_periodic_work runs every base_reachable_time / 2). */
const GC_INTERVAL = 30_000;

/** NDTPA_* a change may carry: ip's word, the parameter, and how ip reads it (u64 ms or u32). */
const PARMS: ReadonlyMap<string, { param: keyof NeighParams; bits: 32 | 64; queue?: true }> = new Map([
  ['base_reachable', { param: 'base_reachable_time_ms', bits: 64 }],
  ['retrans', { param: 'retrans_time_ms', bits: 64 }],
  ['gc_stale', { param: 'gc_stale_time_ms', bits: 64 }],
  ['delay_probe', { param: 'delay_first_probe_time_ms', bits: 64 }],
  ['queue', { param: 'unres_qlen_bytes', bits: 32, queue: true }],
  ['app_probes', { param: 'app_solicit', bits: 32 }],
  ['ucast_probes', { param: 'ucast_solicit', bits: 32 }],
  ['mcast_probes', { param: 'mcast_solicit', bits: 32 }],
  ['anycast_delay', { param: 'anycast_delay_ms', bits: 64 }],
  ['proxy_delay', { param: 'proxy_delay_ms', bits: 64 }],
  ['proxy_queue', { param: 'proxy_qlen', bits: 32 }],
  ['locktime', { param: 'locktime_ms', bits: 64 }],
] as const);

/** get_u32/get_u64 in base 0: the whole word, unsigned, within the width; null if not. */
function getUnsigned(word: string, bits: 32 | 64): bigint | null {
  const m = /^\s*(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$/.exec(word);
  if (!m) return null;
  const v = /^0[0-7]+$/.test(m[1]!) ? BigInt('0o' + m[1]!.slice(1)) : BigInt(m[1]!);
  return v < 1n << BigInt(bits) ? v : null;
}

/**
 * `ip ntable change name NAME [dev DEV] [PARMS]` (words after `change`):
 * neightbl_set on the device's parms, as the sysctls write them. The
 * thresholds, gc_int and the parms of no device are the initial
 * namespace's only: the kernel answers ENOENT in any other, as here.
 */
export function changeNtable(ns: Netns, words: readonly string[], family: Family | undefined): void {
  let name: string | undefined;
  let ifindex = 0;
  let table = false;
  const sets: [keyof NeighParams, number][] = [];
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (w === 'name') {
      const v = nextArg(words, ++i);
      if (name !== undefined) throw new RtnlError('EINVAL', undefined, `Error: duplicate "NAME": "${v}" is the second value.`, 255);
      name = v;
    } else if (w === 'thresh1' || w === 'thresh2' || w === 'thresh3' || w === 'gc_int') {
      const v = nextArg(words, ++i);
      if (getUnsigned(v, w === 'gc_int' ? 64 : 32) === null) throw invarg(`"${w}" value is invalid`, v);
      table = true;
    } else if (w === 'dev') {
      const v = nextArg(words, ++i);
      const l = ns.link(v);
      if (!l) throw new RtnlError('ENODEV', undefined, `Cannot find device "${v}"`, 1);
      ifindex = l.index;
    } else {
      const p = PARMS.get(w);
      if (!p) throw invarg('unknown', w);
      const v = nextArg(words, ++i);
      const n = getUnsigned(v, p.bits);
      if (n === null) throw invarg(`"${w}" value is invalid`, v);
      sets.push([p.param, p.queue ? Number(n) * ETH_FRAME_TRUESIZE : Number(n)]);
    }
  }
  if (name === undefined) throw new RtnlError('EINVAL', undefined, 'Error: argument "NAME" is required', 255);
  if (!table && !sets.length) throw new RtnlError('EINVAL', undefined, 'Not enough information: changeable attributes required.', 255);
  // neightbl_set looks the table up by family (if given) and name.
  const tb = tables(ns, 0).find((x) => x.name === name && (family === undefined || family === x.family));
  if (!tb) throw new RtnlError('ENOENT');
  // neightbl_set: NDTA_PARMS (a device, or a value) first; lookup_neigh_parms finds no parms of no device outside
  // the initial namespace. The thresholds and gc_int are refused there after the parms were set.
  if (ifindex !== 0 || sets.length) {
    // lookup_neigh_parms: a device without parms in the table (no inet6_dev) has none to set.
    if (ifindex === 0 || !tb.devs.some((l) => l.index === ifindex)) throw new RtnlError('ENOENT');
    for (const [param, value] of sets) tb.t.setParam(ifindex, param, value);
  }
  if (table) throw new RtnlError('ENOENT');
}
