// Match extensions (-m NAME ...): parsing, matching, and their two printed
// forms: `save` as iptables-save/-S print them, `print` as `iptables -L`.

import {
  CT_DNAT, CT_ESTABLISHED, CT_INVALID, CT_NEW, CT_RELATED, CT_SNAT, CT_UNTRACKED,
  IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP,
  IPS_ASSURED, IPS_CONFIRMED, IPS_DST_NAT, IPS_EXPECTED, IPS_SEEN_REPLY, IPS_SRC_NAT,
} from './constants.js';
import type { NfPacketInfo } from './packet-info.js';
import type { NfReads } from './traversal-cache.js';
import { type ArgReader, fail, parseMarkMask, parsePortRange, printMarkMask, saveString } from './args.js';

export interface NfMatch {
  /** Module name as printed after `-m`. */
  readonly name: string;
  /** Loading it makes the kernel track connections in the namespace (nf_ct_netns_get). */
  readonly needsConntrack: boolean;
  /** Matches every packet (a comment): traversal does not call it. */
  readonly inert?: boolean;
  matches(p: NfPacketInfo): boolean;
  /**
   * Adds the packet fields matches() reads to `k` (the traversal cache's
   * key). A match whose answer is not a function of those fields (a rate
   * limit, a random draw, a per-packet state) leaves it out: no traversal
   * that can reach it is cached.
   */
  reads?(k: NfReads): void;
  /** Options as iptables-save prints them, each with a leading space. */
  save(): string;
  /** As `iptables -L` prints them, each with a leading space; `names` null for -n. */
  print(names: ListNames | null): string;
}

/** Where `iptables -L` without -n finds the names it prints (the host's /etc files). */
export interface ListNames {
  /** xtables_ipaddr_to_anyname's name for an address; undefined prints the number. */
  addrName(addr: number): string | undefined;
  /** getservbyport. */
  serviceByPort(port: number, proto: string): string | undefined;
  /** getprotobynumber. */
  protocolByNumber(proto: number): string | undefined;
}

/** The protocol part of the rule, which some matches depend on. */
export interface RuleProto {
  proto: number;
  protoInv: boolean;
}

export interface MatchBuilder {
  readonly name: string;
  /** Consumes `opt` and its arguments when it belongs to this match. */
  option(opt: string, inv: boolean, r: ArgReader): boolean;
  build(ip: RuleProto, r: ArgReader): NfMatch;
}

// ---- tcp / udp --------------------------------------------------------------

const TCP_FLAG_NAMES: ReadonlyArray<[string, number]> = [
  ['FIN', 0x01], ['SYN', 0x02], ['RST', 0x04], ['PSH', 0x08], ['ACK', 0x10], ['URG', 0x20],
];

function parseTcpFlags(text: string, r: ArgReader): number {
  let v = 0;
  for (const name of text.split(',')) {
    const up = name.toUpperCase();
    if (up === 'ALL') v |= 0x3f;
    else if (up === 'NONE') continue;
    else {
      const f = TCP_FLAG_NAMES.find(([n]) => n === up);
      if (!f) fail(`unknown TCP flag '${name}'`, r.index);
      v |= f[1];
    }
  }
  return v;
}

function tcpFlagsText(flags: number): string {
  const names = TCP_FLAG_NAMES.filter(([, f]) => flags & f).map(([n]) => n);
  return names.length ? names.join(',') : 'NONE';
}

function portsSave(opt: string, min: number, max: number, inv: boolean): string {
  if (min === 0 && max === 65535 && !inv) return '';
  return `${inv ? ' !' : ''} --${opt} ${min === max ? min : `${min}:${max}`}`;
}

/** print_port of libxt_tcp/udp/multiport: the service name unless -n or there is none. */
function portText(port: number, proto: string, names: ListNames | null): string {
  return names?.serviceByPort(port, proto) ?? String(port);
}

function portsPrint(name: string, min: number, max: number, inv: boolean, proto: string, names: ListNames | null): string {
  if (min === 0 && max === 65535 && !inv) return '';
  const i = inv ? '!' : '';
  const p = (n: number) => portText(n, proto, names);
  return min === max ? ` ${name}:${i}${p(min)}` : ` ${name}s:${i}${p(min)}:${p(max)}`;
}

class PortMatch implements NfMatch {
  readonly needsConntrack = false;
  constructor(
    readonly name: 'tcp' | 'udp',
    readonly spMin: number, readonly spMax: number, readonly spInv: boolean,
    readonly dpMin: number, readonly dpMax: number, readonly dpInv: boolean,
    readonly flgMask: number, readonly flgCmp: number, readonly flgInv: boolean,
  ) {}

  matches(p: NfPacketInfo): boolean {
    if (p.fragment) return false;
    if ((p.sport >= this.spMin && p.sport <= this.spMax) === this.spInv) return false;
    if ((p.dport >= this.dpMin && p.dport <= this.dpMax) === this.dpInv) return false;
    if (this.flgMask !== 0 && ((p.tcpFlags & this.flgMask) === this.flgCmp) === this.flgInv) return false;
    return true;
  }

  reads(k: NfReads): void {
    k.frag = true;
    k.sport ||= this.spMin !== 0 || this.spMax !== 65535 || this.spInv;
    k.dport ||= this.dpMin !== 0 || this.dpMax !== 65535 || this.dpInv;
    k.tcpFlags |= this.flgMask;
  }

  save(): string {
    let s = portsSave('sport', this.spMin, this.spMax, this.spInv) + portsSave('dport', this.dpMin, this.dpMax, this.dpInv);
    if (this.flgMask !== 0 || this.flgInv) {
      s += `${this.flgInv ? ' !' : ''} --tcp-flags ${tcpFlagsText(this.flgMask)} ${tcpFlagsText(this.flgCmp)}`;
    }
    return s;
  }

  print(names: ListNames | null): string {
    let s = ` ${this.name}` + portsPrint('spt', this.spMin, this.spMax, this.spInv, this.name, names) + portsPrint('dpt', this.dpMin, this.dpMax, this.dpInv, this.name, names);
    if (this.flgMask !== 0 || this.flgInv) {
      // print_flags: names without -n.
      const text = names ? tcpFlagsText : (n: number) => '0x' + n.toString(16).toUpperCase().padStart(2, '0');
      s += ` flags:${this.flgInv ? '!' : ''}${text(this.flgMask)}/${text(this.flgCmp)}`;
    }
    return s;
  }
}

class PortMatchBuilder implements MatchBuilder {
  spMin = 0; spMax = 65535; spInv = false; sp = false;
  dpMin = 0; dpMax = 65535; dpInv = false; dp = false;
  flgMask = 0; flgCmp = 0; flgInv = false; flg = false;
  constructor(readonly name: 'tcp' | 'udp') {}

  option(opt: string, inv: boolean, r: ArgReader): boolean {
    if (opt === '--sport' || opt === '--source-port') {
      if (this.sp) fail(`multiple ${opt} flags not allowed`, r.optIndex);
      [this.spMin, this.spMax] = parsePortRange(r.arg(), r);
      this.spInv = inv;
      this.sp = true;
      return true;
    }
    if (opt === '--dport' || opt === '--destination-port') {
      if (this.dp) fail(`multiple ${opt} flags not allowed`, r.optIndex);
      [this.dpMin, this.dpMax] = parsePortRange(r.arg(), r);
      this.dpInv = inv;
      this.dp = true;
      return true;
    }
    if (this.name === 'tcp' && opt === '--tcp-flags') {
      if (this.flg) fail('only one of `--syn\' or `--tcp-flags\' may be specified', r.optIndex);
      this.flgMask = parseTcpFlags(r.arg(), r);
      this.flgCmp = parseTcpFlags(r.arg(), r);
      this.flgInv = inv;
      this.flg = true;
      return true;
    }
    if (this.name === 'tcp' && opt === '--syn') {
      if (this.flg) fail('only one of `--syn\' or `--tcp-flags\' may be specified', r.optIndex);
      this.flgMask = 0x17; // FIN,SYN,RST,ACK
      this.flgCmp = 0x02;
      this.flgInv = inv;
      this.flg = true;
      return true;
    }
    return false;
  }

  build(ip: RuleProto, r: ArgReader): NfMatch {
    const want = this.name === 'tcp' ? IPPROTO_TCP : IPPROTO_UDP;
    if (ip.proto !== want || ip.protoInv) fail(`${this.name} match: only valid for protocol ${want}`, r.optIndex);
    return new PortMatch(this.name, this.spMin, this.spMax, this.spInv, this.dpMin, this.dpMax, this.dpInv,
      this.flgMask, this.flgCmp, this.flgInv);
  }
}

// ---- icmp -------------------------------------------------------------------

/** iptables' ICMP names: [name, type, codeMin, codeMax]. */
const ICMP_NAMES: ReadonlyArray<[string, number, number, number]> = [
  ['any', 255, 0, 255],
  ['echo-reply', 0, 0, 255], ['pong', 0, 0, 255],
  ['destination-unreachable', 3, 0, 255],
  ['network-unreachable', 3, 0, 0], ['host-unreachable', 3, 1, 1], ['protocol-unreachable', 3, 2, 2],
  ['port-unreachable', 3, 3, 3], ['fragmentation-needed', 3, 4, 4], ['source-route-failed', 3, 5, 5],
  ['network-unknown', 3, 6, 6], ['host-unknown', 3, 7, 7], ['network-prohibited', 3, 9, 9],
  ['host-prohibited', 3, 10, 10], ['TOS-network-unreachable', 3, 11, 11], ['TOS-host-unreachable', 3, 12, 12],
  ['communication-prohibited', 3, 13, 13], ['host-precedence-violation', 3, 14, 14],
  ['precedence-cutoff', 3, 15, 15], ['source-quench', 4, 0, 255],
  ['redirect', 5, 0, 255], ['network-redirect', 5, 0, 0], ['host-redirect', 5, 1, 1],
  ['TOS-network-redirect', 5, 2, 2], ['TOS-host-redirect', 5, 3, 3],
  ['echo-request', 8, 0, 255], ['ping', 8, 0, 255],
  ['router-advertisement', 9, 0, 255], ['router-solicitation', 10, 0, 255],
  ['time-exceeded', 11, 0, 255], ['ttl-exceeded', 11, 0, 255], ['ttl-zero-during-transit', 11, 0, 0],
  ['ttl-zero-during-reassembly', 11, 1, 1], ['parameter-problem', 12, 0, 255],
  ['ip-header-bad', 12, 0, 0], ['required-option-missing', 12, 1, 1],
  ['timestamp-request', 13, 0, 255], ['timestamp-reply', 14, 0, 255],
  ['address-mask-request', 17, 0, 255], ['address-mask-reply', 18, 0, 255],
];

class IcmpMatch implements NfMatch {
  readonly name = 'icmp';
  readonly needsConntrack = false;
  constructor(readonly type: number, readonly codeMin: number, readonly codeMax: number, readonly inv: boolean) {}

  matches(p: NfPacketInfo): boolean {
    if (p.fragment) return false;
    const hit = this.type === 255 ||
      (p.icmpType === this.type && p.icmpCode >= this.codeMin && p.icmpCode <= this.codeMax);
    return hit !== this.inv;
  }

  reads(k: NfReads): void {
    k.frag = true;
    k.icmp ||= this.type !== 255;
  }

  save(): string {
    const inv = this.inv ? ' !' : '';
    if (this.type === 255) return `${inv} --icmp-type any`;
    const code = this.codeMin !== 0 || this.codeMax !== 255 ? `/${this.codeMin}` : '';
    return `${inv} --icmp-type ${this.type}${code}`;
  }

  print(names: ListNames | null): string {
    // Without -n, the first name for exactly this type and code range (print_icmptype).
    const named = names && ICMP_NAMES.find(([, t, a, b]) => t === this.type && a === this.codeMin && b === this.codeMax);
    if (named) return ` icmp ${this.inv ? '!' : ''}${named[0]}`;
    let s = ` icmp${this.inv ? ' !' : ''}type ${this.type}`;
    if (this.codeMin === this.codeMax) s += ` code ${this.codeMin}`;
    else if (this.codeMin !== 0 || this.codeMax !== 255) s += ` codes ${this.codeMin}-${this.codeMax}`;
    return s;
  }
}

class IcmpMatchBuilder implements MatchBuilder {
  readonly name = 'icmp';
  spec: [number, number, number] | null = null;
  inv = false;

  option(opt: string, inv: boolean, r: ArgReader): boolean {
    if (opt !== '--icmp-type') return false;
    const text = r.arg();
    const named = ICMP_NAMES.find(([n]) => n === text);
    if (named) this.spec = [named[1], named[2], named[3]];
    else {
      const m = /^(\d{1,3})(?:\/(\d{1,3}))?$/.exec(text);
      if (!m || Number(m[1]) > 255 || (m[2] !== undefined && Number(m[2]) > 255)) {
        fail(`invalid ICMP type '${text}'`, r.index);
      }
      const code = m[2] === undefined ? -1 : Number(m[2]);
      this.spec = [Number(m[1]), code < 0 ? 0 : code, code < 0 ? 255 : code];
    }
    this.inv = inv;
    return true;
  }

  build(ip: RuleProto, r: ArgReader): NfMatch {
    if (ip.proto !== IPPROTO_ICMP || ip.protoInv) fail('icmp match: only valid for protocol 1', r.optIndex);
    const [t, a, b] = this.spec ?? [255, 0, 255];
    return new IcmpMatch(t, a, b, this.inv);
  }
}

// ---- mark / connmark --------------------------------------------------------

class MarkMatch implements NfMatch {
  readonly needsConntrack: boolean;
  constructor(readonly name: 'mark' | 'connmark', readonly mark: number, readonly mask: number, readonly inv: boolean) {
    this.needsConntrack = name === 'connmark';
  }

  matches(p: NfPacketInfo): boolean {
    if (this.name === 'connmark') {
      if (p.ct === 0 || p.ctTable === null) return false;
      return ((p.ctTable.mark(p.ct) & this.mask) === (this.mark | 0)) !== this.inv;
    }
    return ((p.mark & this.mask) === (this.mark | 0)) !== this.inv;
  }

  reads(k: NfReads): void {
    if (this.name === 'mark') {
      k.mark |= this.mask;
    } else {
      k.ctmark |= this.mask;
      k.ct = true;
    }
  }

  save(): string {
    return `${this.inv ? ' !' : ''} --mark${printMarkMask(this.mark, this.mask)}`;
  }

  print(): string {
    if (this.name === 'connmark') return ` connmark match ${this.inv ? '!' : ''}${printMarkMask(this.mark, this.mask)}`;
    return ` mark match${this.inv ? ' !' : ''}${printMarkMask(this.mark, this.mask)}`;
  }
}

class MarkMatchBuilder implements MatchBuilder {
  value: [number, number] | null = null;
  inv = false;
  constructor(readonly name: 'mark' | 'connmark') {}

  option(opt: string, inv: boolean, r: ArgReader): boolean {
    if (opt !== '--mark') return false;
    this.value = parseMarkMask(r.arg(), r);
    this.inv = inv;
    return true;
  }

  build(_ip: RuleProto, r: ArgReader): NfMatch {
    if (!this.value) fail(`${this.name}: option "--mark" must be specified`, r.optIndex);
    return new MarkMatch(this.name, this.value[0], this.value[1], this.inv);
  }
}

// ---- conntrack / state ------------------------------------------------------

const STATE_NAMES: ReadonlyArray<[string, number]> = [
  ['INVALID', CT_INVALID], ['NEW', CT_NEW], ['RELATED', CT_RELATED], ['ESTABLISHED', CT_ESTABLISHED],
  ['UNTRACKED', CT_UNTRACKED], ['SNAT', CT_SNAT], ['DNAT', CT_DNAT],
];

const STATUS_NAMES: ReadonlyArray<[string, number]> = [
  ['EXPECTED', IPS_EXPECTED], ['SEEN_REPLY', IPS_SEEN_REPLY], ['ASSURED', IPS_ASSURED], ['CONFIRMED', IPS_CONFIRMED],
];

function listText(mask: number, names: ReadonlyArray<[string, number]>): string {
  return names.filter(([, b]) => mask & b).map(([n]) => n).join(',');
}

class ConntrackMatch implements NfMatch {
  readonly needsConntrack = true;
  constructor(
    readonly name: 'conntrack' | 'state',
    readonly stateMask: number, readonly stateInv: boolean, readonly hasState: boolean,
    readonly statusMask: number, readonly statusInv: boolean, readonly hasStatus: boolean,
    /** -1 none, 0 ORIGINAL, 1 REPLY. */
    readonly dir: number,
  ) {}

  matches(p: NfPacketInfo): boolean {
    const st = p.ctState === 0 ? CT_INVALID : p.ctState;
    const tracked = (st & (CT_NEW | CT_ESTABLISHED | CT_RELATED)) !== 0;
    if (this.dir >= 0 && tracked && p.ctDir !== this.dir) return false;
    if (this.hasState) {
      let bits = st;
      if (this.name === 'conntrack' && tracked) {
        if (p.ctStatus & IPS_SRC_NAT) bits |= CT_SNAT;
        if (p.ctStatus & IPS_DST_NAT) bits |= CT_DNAT;
      }
      if (((this.stateMask & bits) !== 0) === this.stateInv) return false;
    }
    if (!tracked) return this.hasState;
    if (this.hasStatus && ((this.statusMask & p.ctStatus) !== 0) === this.statusInv) return false;
    return true;
  }

  reads(k: NfReads): void {
    k.ctState = true;
    k.ctDir ||= this.dir >= 0;
    if (this.hasStatus) k.ctStatus |= this.statusMask;
    if (this.hasState && this.name === 'conntrack') k.ctStatus |= IPS_SRC_NAT | IPS_DST_NAT;
  }

  private text(prefix: string): string {
    let s = '';
    if (this.hasState) {
      s += `${this.stateInv ? ' !' : ''} ${prefix}${this.name === 'state' ? 'state' : 'ctstate'} ${listText(this.stateMask, STATE_NAMES)}`;
    }
    if (this.hasStatus) {
      s += `${this.statusInv ? ' !' : ''} ${prefix}ctstatus ${this.statusMask === 0 ? 'NONE' : listText(this.statusMask, STATUS_NAMES)}`;
    }
    if (this.dir >= 0) s += ` ${prefix}ctdir ${this.dir === 0 ? 'ORIGINAL' : 'REPLY'}`;
    return s;
  }

  save(): string {
    return this.text('--');
  }

  print(): string {
    return this.text('');
  }
}

class ConntrackMatchBuilder implements MatchBuilder {
  stateMask = 0; stateInv = false; hasState = false;
  statusMask = 0; statusInv = false; hasStatus = false;
  dir = -1;
  constructor(readonly name: 'conntrack' | 'state') {}

  private parseList(text: string, names: ReadonlyArray<[string, number]>, what: string, r: ArgReader): number {
    let m = 0;
    for (const word of text.split(',')) {
      if (what === 'status' && word === 'NONE') continue;
      const hit = names.find(([n]) => n === word);
      if (!hit) fail(`bad ${what} '${word}'`, r.index);
      m |= hit[1];
    }
    return m;
  }

  option(opt: string, inv: boolean, r: ArgReader): boolean {
    if ((this.name === 'conntrack' && opt === '--ctstate') || (this.name === 'state' && opt === '--state')) {
      const names = this.name === 'state' ? STATE_NAMES.slice(0, 5) : STATE_NAMES;
      this.stateMask = this.parseList(r.arg(), names, 'ctstate', r);
      this.stateInv = inv;
      this.hasState = true;
      return true;
    }
    if (this.name !== 'conntrack') return false;
    if (opt === '--ctstatus') {
      this.statusMask = this.parseList(r.arg(), STATUS_NAMES, 'status', r);
      this.statusInv = inv;
      this.hasStatus = true;
      return true;
    }
    if (opt === '--ctdir') {
      if (inv) fail('unexpected "!" before --ctdir', r.optIndex);
      const v = r.arg().toUpperCase();
      if (v !== 'ORIGINAL' && v !== 'REPLY') fail(`bad value for --ctdir '${v}'`, r.index);
      this.dir = v === 'ORIGINAL' ? 0 : 1;
      return true;
    }
    return false;
  }

  build(_ip: RuleProto, r: ArgReader): NfMatch {
    if (!this.hasState && !this.hasStatus && this.dir < 0) {
      fail(this.name === 'state' ? 'state match: you must specify "--state"' : 'conntrack: At least one option is required', r.optIndex);
    }
    return new ConntrackMatch(this.name, this.stateMask, this.stateInv, this.hasState,
      this.statusMask, this.statusInv, this.hasStatus, this.dir);
  }
}

// ---- comment ----------------------------------------------------------------

class CommentMatch implements NfMatch {
  readonly name = 'comment';
  readonly needsConntrack = false;
  readonly inert = true;
  constructor(readonly comment: string) {}
  matches(): boolean {
    return true;
  }
  save(): string {
    return ` --comment ${saveString(this.comment)}`;
  }
  print(): string {
    return ` /* ${this.comment} */`;
  }
}

class CommentMatchBuilder implements MatchBuilder {
  readonly name = 'comment';
  comment: string | null = null;
  option(opt: string, inv: boolean, r: ArgReader): boolean {
    if (opt !== '--comment') return false;
    if (inv) fail('unexpected "!" before --comment', r.optIndex);
    this.comment = r.arg();
    if (this.comment.length > 255) fail('comment may not exceed 255 characters', r.index);
    return true;
  }
  build(_ip: RuleProto, r: ArgReader): NfMatch {
    if (this.comment === null) fail('comment: option "--comment" must be specified', r.optIndex);
    return new CommentMatch(this.comment);
  }
}

// ---- multiport --------------------------------------------------------------

/** The protocols multiport takes, by the name its print_port asks getservbyport with. */
const MULTIPORT_PROTOS: Record<number, string> = { [IPPROTO_TCP]: 'tcp', [IPPROTO_UDP]: 'udp', 136: 'udplite', 132: 'sctp', 33: 'dccp' };

class MultiportMatch implements NfMatch {
  readonly name = 'multiport';
  readonly needsConntrack = false;
  /** which: 0 sports, 1 dports, 2 either. Ranges as [min,max] pairs. `proto`: the rule's, whose services name the ports. */
  constructor(readonly which: number, readonly ranges: readonly number[], readonly inv: boolean, readonly proto: number) {}

  private hit(port: number): boolean {
    const r = this.ranges;
    for (let i = 0; i < r.length; i += 2) if (port >= r[i]! && port <= r[i + 1]!) return true;
    return false;
  }

  matches(p: NfPacketInfo): boolean {
    if (p.fragment) return false;
    const h = this.which === 0 ? this.hit(p.sport) : this.which === 1 ? this.hit(p.dport) : this.hit(p.sport) || this.hit(p.dport);
    return h !== this.inv;
  }

  reads(k: NfReads): void {
    k.frag = true;
    k.sport ||= this.which !== 1;
    k.dport ||= this.which !== 0;
  }

  private list(names: ListNames | null): string {
    const proto = MULTIPORT_PROTOS[this.proto]!;
    const p = (n: number) => portText(n, proto, names);
    const out: string[] = [];
    for (let i = 0; i < this.ranges.length; i += 2) {
      const a = this.ranges[i]!, b = this.ranges[i + 1]!;
      out.push(a === b ? p(a) : `${p(a)}:${p(b)}`);
    }
    return out.join(',');
  }

  save(): string {
    return `${this.inv ? ' !' : ''} --${['sports', 'dports', 'ports'][this.which]} ${this.list(null)}`;
  }

  print(names: ListNames | null): string {
    // `ports ` then ` !`: two spaces before the mark, none after (__multiport_print_v1).
    return ` multiport ${['sports', 'dports', 'ports'][this.which]} ${this.inv ? ' !' : ''}${this.list(names)}`;
  }
}

class MultiportMatchBuilder implements MatchBuilder {
  readonly name = 'multiport';
  which = -1;
  ranges: number[] = [];
  inv = false;

  option(opt: string, inv: boolean, r: ArgReader): boolean {
    const which = opt === '--sports' || opt === '--source-ports' ? 0
      : opt === '--dports' || opt === '--destination-ports' ? 1 : opt === '--ports' ? 2 : -1;
    if (which < 0) return false;
    if (this.which >= 0) fail('multiport can only have one option', r.optIndex);
    this.which = which;
    this.inv = inv;
    let slots = 0;
    for (const part of r.arg().split(',')) {
      const [a, b] = parsePortRange(part, r);
      this.ranges.push(a, b);
      slots += a === b ? 1 : 2;
    }
    if (slots > 15) fail('too many ports specified', r.index);
    return true;
  }

  build(ip: RuleProto, r: ArgReader): NfMatch {
    if (ip.protoInv || MULTIPORT_PROTOS[ip.proto] === undefined) {
      fail("multiport needs `-p tcp', `-p udp', `-p udplite', `-p sctp' or `-p dccp'", r.optIndex);
    }
    if (this.which < 0) fail('multiport expects an option', r.optIndex);
    return new MultiportMatch(this.which, this.ranges, this.inv, ip.proto);
  }
}

/** Makes a parser for `-m name`, or null for a match this emulator does not know. */
export function createMatchBuilder(name: string): MatchBuilder | null {
  switch (name) {
    case 'tcp': case 'udp': return new PortMatchBuilder(name);
    case 'icmp': return new IcmpMatchBuilder();
    case 'mark': case 'connmark': return new MarkMatchBuilder(name);
    case 'conntrack': case 'state': return new ConntrackMatchBuilder(name);
    case 'comment': return new CommentMatchBuilder();
    case 'multiport': return new MultiportMatchBuilder();
    default: return null;
  }
}

