// NAT binding selection, after net/netfilter/nf_nat_core.c (Linux 6.x):
// get_unique_tuple keeps the original source if the resulting reply tuple is
// free, reuses an existing mapping of the same source, picks the address by
// hashing, and searches the port (or ICMP id) range from a random offset when
// the tuple would clash. The binding is chosen once, on the first packet.

import { invertTuple } from './conntrack-entry.js';
import {
  IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, IPS_DST_NAT, IPS_DST_NAT_DONE, IPS_SRC_NAT, IPS_SRC_NAT_DONE,
  MANIP_DST, MANIP_SRC, NAT_MAP_IPS, NAT_PERSISTENT, NAT_PROTO_OFFSET, NAT_PROTO_RANDOM_ALL, NAT_PROTO_SPECIFIED,
} from './constants.js';
import type { NatRange } from './targets.js';

/**
 * What the NAT core needs from the conntrack table; entries are slot numbers,
 * 0 none. Addresses passed in may be uint32 or their int32 bits (the core
 * passes int32: see CtStore).
 */
export interface NatLookup {
  /** nf_conntrack_tuple_taken: some other entry has this tuple in either direction. */
  tupleTaken(src: number, dst: number, proto: number, sport: number, dport: number, ignored: number): boolean;
  /** First of a chain holding every entry whose original source is (src, sport, proto), and maybe others. */
  bySource(src: number, sport: number, proto: number): number;
  bySourceNext(ct: number): number;
  /** One direction's tuple of an entry. */
  readTuple(out: Tuple5, ct: number, dir: number): void;
  setReply(ct: number, t: Tuple5): void;
  status(ct: number): number;
  addStatus(ct: number, bits: number): void;
  /** A uniformly random unsigned 32-bit number. */
  random(): number;
}

/**
 * A mutable tuple used while choosing a binding (addresses uint32). A class,
 * not an object literal: literals whose first keys are src and dst share V8's
 * field representation with every such literal in the process (a frame spec's
 * MAC strings, say), which turns these fields into tagged ones where each
 * address above 2^31 stored is a new heap number.
 */
export class Tuple5 {
  src = 0;
  dst = 0;
  proto = 0;
  sport = 0;
  dport = 0;
}

const MAX_ATTEMPTS = 128;

/** Scratch tuples: binding choice runs to completion on one thread, so it needs no allocation. */
const scratch = new Tuple5();
const rep = new Tuple5();
const curr = new Tuple5();
const next = new Tuple5();
const inv = new Tuple5();
const nullRange: NatRange = { flags: NAT_MAP_IPS, minAddr: 0, maxAddr: 0, minPort: 0, maxPort: 0 };

function copyTuple(out: Tuple5, t: Tuple5): void {
  out.src = t.src;
  out.dst = t.dst;
  out.proto = t.proto;
  out.sport = t.sport;
  out.dport = t.dport;
}

function rol32(x: number, r: number): number {
  return ((x << r) | (x >>> (32 - r))) >>> 0;
}

/** jhash2(k, 1, initval) from include/linux/jhash.h. */
export function jhash1(k: number, initval: number): number {
  let a = (0xdeadbeef + 4 + initval) >>> 0;
  let b = a;
  let c = a;
  a = (a + k) >>> 0;
  c ^= b; c = (c - rol32(b, 14)) >>> 0;
  a ^= c; a = (a - rol32(c, 11)) >>> 0;
  b ^= a; b = (b - rol32(a, 25)) >>> 0;
  c ^= b; c = (c - rol32(b, 16)) >>> 0;
  a ^= c; a = (a - rol32(c, 4)) >>> 0;
  b ^= a; b = (b - rol32(a, 14)) >>> 0;
  c ^= b; c = (c - rol32(b, 24)) >>> 0;
  return c >>> 0;
}

/** The value as a little-endian host reads a network-order word (x86). */
function bswap32(x: number): number {
  return (((x & 0xff) << 24) | ((x & 0xff00) << 8) | ((x >>> 8) & 0xff00) | (x >>> 24)) >>> 0;
}

/** reciprocal_scale: floor(j * dist / 2^32) without losing precision. */
function reciprocalScale(j: number, dist: number): number {
  const hi = Math.floor(j / 65536);
  const lo = j & 0xffff;
  return Math.floor((hi * dist + Math.floor((lo * dist) / 65536)) / 65536);
}

/** Protocols whose ports are part of the tuple here (others are tracked generically). */
function usesPorts(proto: number): boolean {
  return proto === IPPROTO_TCP || proto === IPPROTO_UDP;
}

/** nf_nat_used_tuple: would the reply to `t` collide with another entry? */
function used(t: Tuple5, ct: number, look: NatLookup): boolean {
  if (!invertTuple(scratch, t)) return false;
  return look.tupleTaken(scratch.src | 0, scratch.dst | 0, scratch.proto, scratch.sport, scratch.dport, ct);
}

function l4InRange(t: Tuple5, manip: number, r: NatRange): boolean {
  if (t.proto === IPPROTO_ICMP) return t.sport >= r.minPort && t.sport <= r.maxPort;
  if (usesPorts(t.proto)) {
    const port = manip === MANIP_SRC ? t.sport : t.dport;
    return port >= r.minPort && port <= r.maxPort;
  }
  return true;
}

function inRange(t: Tuple5, r: NatRange): boolean {
  if (r.flags & NAT_MAP_IPS && !(t.src >= r.minAddr && t.src <= r.maxAddr)) return false;
  if (!(r.flags & NAT_PROTO_SPECIFIED)) return true;
  return l4InRange(t, MANIP_SRC, r);
}

function findAppropriateSrc(t: Tuple5, out: Tuple5, r: NatRange, look: NatLookup): boolean {
  for (let e = look.bySource(t.src | 0, t.sport, t.proto); e !== 0; e = look.bySourceNext(e)) {
    look.readTuple(scratch, e, 0);
    if (scratch.proto !== t.proto || scratch.src !== t.src || scratch.sport !== t.sport) continue;
    look.readTuple(rep, e, 1);
    if (!invertTuple(out, rep)) continue;
    out.dst = t.dst;
    out.dport = t.dport;
    if (inRange(out, r)) return true;
  }
  return false;
}

function findBestIps(t: Tuple5, r: NatRange, manip: number): void {
  if (!(r.flags & NAT_MAP_IPS)) return;
  if (r.minAddr === r.maxAddr) {
    if (manip === MANIP_SRC) t.src = r.minAddr;
    else t.dst = r.minAddr;
    return;
  }
  const j = jhash1(bswap32(t.src), r.flags & NAT_PERSISTENT ? 0 : bswap32(t.dst));
  const dist = (r.maxAddr - r.minAddr + 1) >>> 0;
  const v = (r.minAddr + reciprocalScale(j, dist)) >>> 0;
  if (manip === MANIP_SRC) t.src = v;
  else t.dst = v;
}

/** l4UniqueTuple changes nothing without a port range: destination ports are never changed unasked, and other protocols have no key. */
function keyFixed(proto: number, manip: number): boolean {
  return proto !== IPPROTO_ICMP && (manip === MANIP_DST || !usesPorts(proto));
}

function l4UniqueTuple(t: Tuple5, r: NatRange, manip: number, ct: number, look: NatLookup): void {
  let min: number;
  let size: number;
  const icmp = t.proto === IPPROTO_ICMP;
  if (icmp) {
    if (!(r.flags & NAT_PROTO_SPECIFIED)) {
      min = 0;
      size = 65536;
    } else {
      min = r.minPort;
      size = r.maxPort - r.minPort + 1;
    }
  } else if (usesPorts(t.proto)) {
    const key = manip === MANIP_SRC ? t.sport : t.dport;
    if (!(r.flags & NAT_PROTO_SPECIFIED)) {
      if (manip === MANIP_DST) return; // a destination port is never changed unasked
      if (key < 1024) {
        if (key < 512) { min = 1; size = 511; } else { min = 600; size = 1023 - 600 + 1; }
      } else { min = 1024; size = 65535 - 1024 + 1; }
    } else {
      min = Math.min(r.minPort, r.maxPort);
      size = Math.max(r.minPort, r.maxPort) - min + 1;
    }
  } else {
    return;
  }
  const setSport = icmp || manip === MANIP_SRC;
  let off = look.random() & 0xffff;
  let attempts = Math.min(size, MAX_ATTEMPTS);
  for (;;) {
    for (let i = 0; i < attempts; i++, off = (off + 1) & 0xffff) {
      if (setSport) t.sport = min + (off % size);
      else t.dport = min + (off % size);
      if (!used(t, ct, look)) return;
    }
    if (attempts >= size || attempts < 16) return;
    attempts >>= 1;
    off = look.random() & 0xffff;
  }
}

/** get_unique_tuple: the tuple the connection will have after this manip. */
export function getUniqueTuple(out: Tuple5, orig: Tuple5, r: NatRange, ct: number, manip: number, look: NatLookup): void {
  if (manip === MANIP_SRC && !(r.flags & NAT_PROTO_RANDOM_ALL)) {
    if (inRange(orig, r)) {
      if (!used(orig, ct, look)) {
        copyTuple(out, orig);
        return;
      }
    } else if (findAppropriateSrc(orig, out, r, look)) {
      if (!used(out, ct, look)) return;
    }
  }
  copyTuple(out, orig);
  findBestIps(out, r, manip);
  if (!(r.flags & NAT_PROTO_RANDOM_ALL)) {
    if (r.flags & NAT_PROTO_SPECIFIED) {
      if (!(r.flags & NAT_PROTO_OFFSET) && l4InRange(out, manip, r) &&
        (r.minPort === r.maxPort || !used(out, ct, look))) return;
    } else if (keyFixed(out.proto, manip) || !used(out, ct, look)) {
      // keyFixed: taken or not, l4UniqueTuple would leave the tuple as it is, so the
      // lookup is skipped (every new connection's DST null binding in nat PREROUTING).
      return;
    }
  }
  l4UniqueTuple(out, r, manip, ct, look);
}

/**
 * nf_nat_setup_info: binds the connection for one manip type and rewrites its
 * reply tuple so replies are recognised. The entry must not be in the hash yet.
 */
export function natSetupInfo(ct: number, r: NatRange, manip: number, look: NatLookup): void {
  look.readTuple(curr, ct, 1);
  invertTuple(curr, curr);
  getUniqueTuple(next, curr, r, ct, manip, look);
  if (next.src !== curr.src || next.dst !== curr.dst || next.sport !== curr.sport || next.dport !== curr.dport) {
    invertTuple(inv, next);
    look.setReply(ct, inv);
    look.addStatus(ct, manip === MANIP_SRC ? IPS_SRC_NAT : IPS_DST_NAT);
  }
  look.addStatus(ct, manip === MANIP_SRC ? IPS_SRC_NAT_DONE : IPS_DST_NAT_DONE);
}

/** The range of nf_nat_alloc_null_binding: the address the connection already has (a shared scratch range). */
export function nullBindingRange(look: NatLookup, ct: number, manip: number): NatRange {
  look.readTuple(rep, ct, 1);
  const ip = manip === MANIP_SRC ? rep.dst : rep.src;
  nullRange.minAddr = ip;
  nullRange.maxAddr = ip;
  return nullRange;
}

export function natInitialized(status: number, manip: number): boolean {
  return (status & (manip === MANIP_SRC ? IPS_SRC_NAT_DONE : IPS_DST_NAT_DONE)) !== 0;
}
