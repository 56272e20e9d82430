// Targets (-j NAME ...): what a matching rule does. Standard verdicts and
// jumps are resolved by the traversal; the others carry their parameters.

import {
  HOOK_FORWARD, HOOK_INPUT, HOOK_OUTPUT, HOOK_POSTROUTING, HOOK_PREROUTING,
  IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP,
  NAT_MAP_IPS, NAT_PERSISTENT, NAT_PROTO_RANDOM, NAT_PROTO_RANDOM_FULLY, NAT_PROTO_SPECIFIED,
  type TableName,
} from './constants.js';
import { formatIpv4, parseIpv4 } from './ipv4-addr.js';
import { type ArgReader, fail, hex, parseMarkMask, parsePort, parseU32 } from './args.js';
import type { RuleProto } from './matches.js';

export const T_CONTINUE = 0; // no -j: count and go on
export const T_ACCEPT = 1;
export const T_DROP = 2;
export const T_RETURN = 3;
export const T_JUMP = 4;
export const T_GOTO = 5;
export const T_REJECT = 6;
export const T_SNAT = 7;
export const T_DNAT = 8;
export const T_MASQUERADE = 9;
export const T_MARK = 10;
export const T_CONNMARK = 11;
export const T_CT = 12;

export interface NfTarget {
  readonly kind: number;
  /** Name printed after -j (or the chain name for jumps), and in `-L`'s target column. */
  readonly name: string;
  /** The alias it was written as, which -S and iptables-save print after -j instead (NOTRACK for CT). */
  readonly alias?: string;
  /** Options as iptables-save prints them. */
  save(): string;
  /** As `iptables -L -n` prints them. */
  print(): string;
  /** The only table the kernel accepts it in, if restricted. */
  readonly table: TableName | null;
  /** Bit mask of hooks it may be reached from (0: any). */
  readonly hooks: number;
  readonly needsConntrack: boolean;
  /** What the kernel's checkentry says (on dmesg) when it refuses the rule at commit, if it will. */
  readonly refused?: string;
}

abstract class BaseTarget implements NfTarget {
  abstract readonly kind: number;
  abstract readonly name: string;
  readonly table: TableName | null = null;
  readonly hooks: number = 0;
  readonly needsConntrack: boolean = false;
  save(): string {
    return '';
  }
  print(): string {
    return '';
  }
}

export class StandardTarget extends BaseTarget {
  constructor(readonly kind: number, readonly name: string) {
    super();
  }
}

export const TARGET_CONTINUE = new StandardTarget(T_CONTINUE, '');
export const TARGET_ACCEPT = new StandardTarget(T_ACCEPT, 'ACCEPT');
export const TARGET_DROP = new StandardTarget(T_DROP, 'DROP');
export const TARGET_RETURN = new StandardTarget(T_RETURN, 'RETURN');

/** -j CHAIN / -g CHAIN; the rule carries the resolved Chain. */
export class JumpTarget extends BaseTarget {
  constructor(readonly kind: number, readonly name: string) {
    super();
  }
}

// ---- REJECT -----------------------------------------------------------------

export interface RejectType {
  readonly name: string;
  /** ICMP type/code to send, or type -1 for a TCP RST. */
  readonly icmpType: number;
  readonly icmpCode: number;
}

const REJECT_TYPES: ReadonlyArray<RejectType & { aliases: string[] }> = [
  { name: 'icmp-net-unreachable', icmpType: 3, icmpCode: 0, aliases: ['net-unreach'] },
  { name: 'icmp-host-unreachable', icmpType: 3, icmpCode: 1, aliases: ['host-unreach'] },
  { name: 'icmp-proto-unreachable', icmpType: 3, icmpCode: 2, aliases: ['proto-unreach'] },
  { name: 'icmp-port-unreachable', icmpType: 3, icmpCode: 3, aliases: ['port-unreach'] },
  { name: 'icmp-net-prohibited', icmpType: 3, icmpCode: 9, aliases: ['net-prohib'] },
  { name: 'icmp-host-prohibited', icmpType: 3, icmpCode: 10, aliases: ['host-prohib'] },
  { name: 'icmp-admin-prohibited', icmpType: 3, icmpCode: 13, aliases: ['admin-prohib'] },
  { name: 'tcp-reset', icmpType: -1, icmpCode: 0, aliases: ['tcp-rst'] },
];

const HOOKS_FILTER = (1 << HOOK_INPUT) | (1 << HOOK_FORWARD) | (1 << HOOK_OUTPUT);

export class RejectTarget extends BaseTarget {
  readonly kind = T_REJECT;
  readonly name = 'REJECT';
  override readonly table = 'filter' as const;
  override readonly hooks = HOOKS_FILTER;
  constructor(readonly type: RejectType, readonly refused?: string) {
    super();
  }
  override save(): string {
    return ` --reject-with ${this.type.name}`;
  }
  override print(): string {
    return ` reject-with ${this.type.name}`;
  }
}

// ---- SNAT / DNAT / MASQUERADE -----------------------------------------------

/** struct nf_nat_range2 for IPv4, host-order numbers. */
export interface NatRange {
  flags: number;
  minAddr: number;
  maxAddr: number;
  minPort: number;
  maxPort: number;
}

function rangeText(r: NatRange): string {
  let s = '';
  if (r.flags & NAT_MAP_IPS) {
    s += formatIpv4(r.minAddr);
    if (r.maxAddr !== r.minAddr) s += '-' + formatIpv4(r.maxAddr);
  }
  if (r.flags & NAT_PROTO_SPECIFIED) {
    s += `:${r.minPort}`;
    if (r.maxPort !== r.minPort) s += `-${r.maxPort}`;
  }
  return s;
}

function flagsText(r: NatRange, pfx: string): string {
  let s = '';
  if (r.flags & NAT_PROTO_RANDOM) s += ` ${pfx}random`;
  if (r.flags & NAT_PROTO_RANDOM_FULLY) s += ` ${pfx}random-fully`;
  if (r.flags & NAT_PERSISTENT) s += ` ${pfx}persistent`;
  return s;
}

export class NatTarget extends BaseTarget {
  override readonly needsConntrack = true;
  override readonly table = 'nat' as const;
  override readonly hooks: number;
  constructor(readonly kind: number, readonly name: string, readonly range: NatRange) {
    super();
    this.hooks = kind === T_DNAT
      ? (1 << HOOK_PREROUTING) | (1 << HOOK_OUTPUT)
      : kind === T_SNAT ? (1 << HOOK_POSTROUTING) | (1 << HOOK_INPUT) : 1 << HOOK_POSTROUTING;
  }

  override save(): string {
    const r = rangeText(this.range);
    if (this.kind === T_MASQUERADE) {
      return (r ? ` --to-ports ${r.slice(1)}` : '') + flagsText(this.range, '--');
    }
    const opt = this.kind === T_SNAT ? '--to-source' : '--to-destination';
    return (r ? ` ${opt} ${r}` : '') + flagsText(this.range, '--');
  }

  override print(): string {
    const r = rangeText(this.range);
    if (this.kind === T_MASQUERADE) return (r ? ` masq ports: ${r.slice(1)}` : '') + flagsText(this.range, '');
    return (r ? ` to:${r}` : '') + flagsText(this.range, '');
  }
}

/** `[addr[-addr]][:port[-port]]` (parse_to in libxt_NAT.c). */
function parseNatTo(text: string, ip: RuleProto, range: NatRange, r: ArgReader): void {
  const colon = text.indexOf(':');
  if (colon >= 0) {
    parseNatPorts(text.slice(colon + 1), ip, range, r);
    if (colon === 0) return;
  }
  const addrs = colon >= 0 ? text.slice(0, colon) : text;
  const dash = addrs.indexOf('-');
  const a = parseIpv4(dash < 0 ? addrs : addrs.slice(0, dash));
  const b = dash < 0 ? a : parseIpv4(addrs.slice(dash + 1));
  if (a < 0 || b < 0) fail(`Bad IP address "${addrs}"`, r.index);
  range.flags |= NAT_MAP_IPS;
  range.minAddr = a;
  range.maxAddr = b;
}

function parseNatPorts(text: string, ip: RuleProto, range: NatRange, r: ArgReader): void {
  const portok = !ip.protoInv && (ip.proto === IPPROTO_TCP || ip.proto === IPPROTO_UDP ||
    ip.proto === 132 || ip.proto === 33 || ip.proto === IPPROTO_ICMP);
  if (!portok) fail('Need TCP, UDP, SCTP or DCCP with port specification', r.index);
  const dash = text.indexOf('-');
  const a = parsePort(dash < 0 ? text : text.slice(0, dash));
  const b = dash < 0 ? a : parsePort(text.slice(dash + 1));
  if (a < 0 || b < 0) fail(`Port \`${text}' not valid`, r.index);
  if (text.includes(':')) fail('Invalid port:port syntax - use dash', r.index);
  if (b < a) fail(`Port range \`${text}' funky`, r.index);
  range.flags |= NAT_PROTO_SPECIFIED;
  range.minPort = a;
  range.maxPort = b;
}

// ---- MARK / CONNMARK / CT ---------------------------------------------------

export class MarkTarget extends BaseTarget {
  readonly kind = T_MARK;
  readonly name = 'MARK';
  /** skb->mark = (mark & ~mask) ^ value. */
  constructor(readonly value: number, readonly mask: number) {
    super();
  }
  override save(): string {
    return ` --set-xmark ${hex(this.value)}/${hex(this.mask)}`;
  }
  override print(): string {
    return markOpText('MARK', this.value, this.mask);
  }
}

function markOpText(what: string, value: number, mask: number): string {
  if (value === 0) return ` ${what} and ${hex(~mask)}`;
  if (value === mask) return ` ${what} or ${hex(value)}`;
  if (mask === 0) return ` ${what} xor ${hex(value)}`;
  if (mask >>> 0 === 0xffffffff) return ` ${what} set ${hex(value)}`;
  return ` ${what} xset ${hex(value)}/${hex(mask)}`;
}

export const CONNMARK_SET = 0;
export const CONNMARK_SAVE = 1;
export const CONNMARK_RESTORE = 2;

export class ConnmarkTarget extends BaseTarget {
  readonly kind = T_CONNMARK;
  readonly name = 'CONNMARK';
  override readonly needsConntrack = true;
  constructor(readonly mode: number, readonly ctmark: number, readonly ctmask: number, readonly nfmask: number) {
    super();
  }
  override save(): string {
    if (this.mode === CONNMARK_SET) return ` --set-xmark ${hex(this.ctmark)}/${hex(this.ctmask)}`;
    const op = this.mode === CONNMARK_SAVE ? '--save-mark' : '--restore-mark';
    return ` ${op} --nfmask ${hex(this.nfmask)} --ctmask ${hex(this.ctmask)}`;
  }
  override print(): string {
    if (this.mode === CONNMARK_SET) return markOpText('CONNMARK', this.ctmark, this.ctmask);
    const all = 0xffffffff;
    if (this.mode === CONNMARK_SAVE) {
      if (this.nfmask >>> 0 === all && this.ctmask >>> 0 === all) return ' CONNMARK save';
      if (this.nfmask === this.ctmask) return ` CONNMARK save mask ${hex(this.nfmask)}`;
      return ` CONNMARK save nfmask ${hex(this.nfmask)} ctmask ~${hex(this.ctmask)}`;
    }
    if (this.ctmask >>> 0 === all && this.nfmask >>> 0 === all) return ' CONNMARK restore';
    if (this.ctmask === this.nfmask) return ` CONNMARK restore mask ${hex(this.ctmask)}`;
    return ` CONNMARK restore ctmask ${hex(this.ctmask)} nfmask ~${hex(this.nfmask)}`;
  }
}

export class CtTarget extends BaseTarget {
  readonly kind = T_CT;
  readonly name = 'CT';
  override readonly table = 'raw' as const;
  override readonly needsConntrack = true;
  /** `alias`: written as -j NOTRACK (libxt_CT's alias of CT --notrack), which the listings keep. */
  constructor(readonly notrack: boolean, readonly alias?: 'NOTRACK') {
    super();
  }
  override save(): string {
    if (this.alias) return '';
    return this.notrack ? ' --notrack' : '';
  }
  override print(): string {
    if (this.alias) return ' NOTRACK';
    return this.notrack ? ' CT notrack' : ' CT';
  }
}

// ---- parsers ----------------------------------------------------------------

export interface TargetBuilder {
  readonly name: string;
  option(opt: string, inv: boolean, r: ArgReader): boolean;
  build(ip: RuleProto, r: ArgReader): NfTarget;
}

function noInvert(inv: boolean, opt: string, r: ArgReader): void {
  if (inv) fail(`unexpected "!" before ${opt}`, r.optIndex);
}

class RejectBuilder implements TargetBuilder {
  readonly name = 'REJECT';
  type: RejectType = REJECT_TYPES[3]!;
  option(opt: string, inv: boolean, r: ArgReader): boolean {
    if (opt !== '--reject-with') return false;
    noInvert(inv, opt, r);
    const v = r.arg();
    const t = REJECT_TYPES.find((x) => x.name === v || x.aliases.includes(v));
    if (!t) fail(`unknown reject type '${v}'`, r.index);
    this.type = t;
    return true;
  }
  build(ip: RuleProto): NfTarget {
    // reject_tg_check's, at commit (after libiptc has found the chain).
    const nonTcp = this.type.icmpType < 0 && (ip.proto !== IPPROTO_TCP || ip.protoInv);
    return new RejectTarget(this.type, nonTcp ? 'REJECT: TCP_RESET invalid for non-tcp' : undefined);
  }
}

class NatBuilder implements TargetBuilder {
  readonly range: NatRange = { flags: 0, minAddr: 0, maxAddr: 0, minPort: 0, maxPort: 0 };
  private to: { text: string; index: number } | null = null;
  constructor(readonly kind: number, readonly name: string) {}

  option(opt: string, inv: boolean, r: ArgReader): boolean {
    const toOpt = this.kind === T_SNAT ? '--to-source' : this.kind === T_DNAT ? '--to-destination' : '--to-ports';
    if (opt === toOpt || (opt === '--to' && this.kind !== T_MASQUERADE)) {
      noInvert(inv, opt, r);
      if (this.to) fail(`multiple ${toOpt} not supported`, r.optIndex);
      this.to = { text: r.arg(), index: r.index };
      return true;
    }
    if (opt === '--random') { noInvert(inv, opt, r); this.range.flags |= NAT_PROTO_RANDOM; return true; }
    if (opt === '--random-fully' && this.kind !== T_DNAT) { noInvert(inv, opt, r); this.range.flags |= NAT_PROTO_RANDOM_FULLY; return true; }
    if (opt === '--persistent' && this.kind !== T_MASQUERADE) { noInvert(inv, opt, r); this.range.flags |= NAT_PERSISTENT; return true; }
    return false;
  }

  build(ip: RuleProto, r: ArgReader): NfTarget {
    if (this.to) {
      const i = this.to.index;
      const at: ArgReader = { index: i, optIndex: i, arg: () => fail('missing argument', i), peek: () => undefined };
      if (this.kind === T_MASQUERADE) parseNatPorts(this.to.text, ip, this.range, at);
      else parseNatTo(this.to.text, ip, this.range, at);
    } else if (this.kind !== T_MASQUERADE) {
      fail(`${this.name}: option "${this.kind === T_SNAT ? '--to-source' : '--to-destination'}" must be specified`, r.optIndex);
    }
    return new NatTarget(this.kind, this.name, { ...this.range });
  }
}

class MarkBuilder implements TargetBuilder {
  readonly name = 'MARK';
  value = 0;
  mask = 0;
  set = false;
  option(opt: string, inv: boolean, r: ArgReader): boolean {
    let v: number, m: number;
    switch (opt) {
      case '--set-xmark': [v, m] = parseMarkMask(r.arg(), r); break;
      case '--set-mark': { const [a, b] = parseMarkMask(r.arg(), r); v = a; m = (a | b) >>> 0; break; }
      case '--and-mark': { const a = parseU32(r.arg()); if (a < 0) fail('bad mark value', r.index); v = 0; m = ~a >>> 0; break; }
      case '--or-mark': { const a = parseU32(r.arg()); if (a < 0) fail('bad mark value', r.index); v = a; m = a; break; }
      case '--xor-mark': { const a = parseU32(r.arg()); if (a < 0) fail('bad mark value', r.index); v = a; m = 0; break; }
      default: return false;
    }
    noInvert(inv, opt, r);
    if (this.set) fail('MARK: only one action may be specified', r.optIndex);
    this.value = v;
    this.mask = m;
    this.set = true;
    return true;
  }
  build(_ip: RuleProto, r: ArgReader): NfTarget {
    if (!this.set) fail('MARK target: Parameter --set/and/or/xor-mark is required', r.optIndex);
    return new MarkTarget(this.value, this.mask);
  }
}

class ConnmarkBuilder implements TargetBuilder {
  readonly name = 'CONNMARK';
  mode = -1;
  ctmark = 0;
  ctmask = 0xffffffff;
  nfmask = 0xffffffff;
  option(opt: string, inv: boolean, r: ArgReader): boolean {
    switch (opt) {
      case '--set-xmark': { const [v, m] = parseMarkMask(r.arg(), r); this.setMode(CONNMARK_SET, r); this.ctmark = v; this.ctmask = m; break; }
      case '--set-mark': { const [v, m] = parseMarkMask(r.arg(), r); this.setMode(CONNMARK_SET, r); this.ctmark = v; this.ctmask = (v | m) >>> 0; break; }
      case '--save-mark': this.setMode(CONNMARK_SAVE, r); break;
      case '--restore-mark': this.setMode(CONNMARK_RESTORE, r); break;
      case '--nfmask': case '--ctmask': case '--mask': {
        const v = parseU32(r.arg());
        if (v < 0) fail('bad mask value', r.index);
        if (opt !== '--ctmask') this.nfmask = v;
        if (opt !== '--nfmask') this.ctmask = v;
        break;
      }
      default: return false;
    }
    noInvert(inv, opt, r);
    return true;
  }
  private setMode(mode: number, r: ArgReader): void {
    if (this.mode >= 0) fail('CONNMARK: only one action may be specified', r.optIndex);
    this.mode = mode;
  }
  build(_ip: RuleProto, r: ArgReader): NfTarget {
    if (this.mode < 0) fail('CONNMARK target: No operation specified', r.optIndex);
    return new ConnmarkTarget(this.mode, this.ctmark, this.ctmask, this.nfmask);
  }
}

class CtBuilder implements TargetBuilder {
  readonly name = 'CT';
  notrack = false;
  option(opt: string, inv: boolean, r: ArgReader): boolean {
    if (opt !== '--notrack') return false;
    noInvert(inv, opt, r);
    this.notrack = true;
    return true;
  }
  build(): NfTarget {
    return new CtTarget(this.notrack);
  }
}

class StandardBuilder implements TargetBuilder {
  constructor(readonly name: string, readonly target: NfTarget) {}
  option(): boolean {
    return false;
  }
  build(): NfTarget {
    return this.target;
  }
}

/** Names that cannot be user chains because they are targets. */
export const TARGET_NAMES: ReadonlySet<string> = new Set([
  'ACCEPT', 'DROP', 'RETURN', 'QUEUE', 'REJECT', 'SNAT', 'DNAT', 'MASQUERADE', 'MARK', 'CONNMARK', 'CT', 'NOTRACK',
]);

/** A parser for `-j name`, or null when `name` should be a user chain. */
export function createTargetBuilder(name: string): TargetBuilder | null {
  switch (name) {
    case 'ACCEPT': return new StandardBuilder(name, TARGET_ACCEPT);
    case 'DROP': return new StandardBuilder(name, TARGET_DROP);
    case 'RETURN': return new StandardBuilder(name, TARGET_RETURN);
    case 'REJECT': return new RejectBuilder();
    case 'SNAT': return new NatBuilder(T_SNAT, name);
    case 'DNAT': return new NatBuilder(T_DNAT, name);
    case 'MASQUERADE': return new NatBuilder(T_MASQUERADE, name);
    case 'MARK': return new MarkBuilder();
    case 'CONNMARK': return new ConnmarkBuilder();
    case 'CT': return new CtBuilder();
    case 'NOTRACK': return new StandardBuilder('CT', new CtTarget(true, 'NOTRACK'));
    default: return null;
  }
}
