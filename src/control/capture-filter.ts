// A pcap-filter(7) subset, compiled to a predicate over a decoded frame:
//   [ether|ip|ip6|arp|rarp|tcp|udp] [src|dst|src or dst|src and dst] host|net|port|portrange ID
//     (IDs: IPv4 and IPv6 addresses, nets with /LEN, MACs, ports and service names)
//   ip | ip6 | arp | rarp | icmp | icmp6 | tcp | udp | vlan [VID] | less N | greater N
//   ether proto N | [ip|ip6] proto N|\icmp|\tcp|\udp | [ip|ip6] protochain N
//   [ether] broadcast|multicast   ip broadcast|multicast   ip6 multicast
//   relations: EXPR relop EXPR, relop one of > < >= <= = == !=, EXPR built of
//   numbers (decimal, 0x hex, 0 octal), the named constants (tcpflags, tcp-syn,
//   icmptype, icmp-echo, icmp6type, icmp6-echo ...), len, proto[EXPR] and
//   proto[EXPR:1|2|4] for ether|link|ip|ip6|arp|rarp|tcp|udp|icmp|icmp6,
//   + - * / % & | ^ << >> and unary -
//   combined with and/&&, or/||, not/!, parentheses (and and or of equal
//   precedence, left to right, as in libpcap); a bare ID reuses the previous
//   qualifiers ("host 1.2.3.4 or 5.6.7.8"). Port names come from /etc/services.
// No npm package parses pcap-filter without libpcap; this one is small.
//
// One difference from a BPF program reading a pcap file: tests look through
// VLAN tags, as a Linux live capture's socket filter does (the kernel strips
// the outer tag before the filter sees a frame, so `icmp` matches tagged ICMP
// there too; `vlan 103` still tests the tag). The filter sees the frame as if
// untagged: `ether[12:2]` is the inner ethertype and `len` (so less/greater)
// leaves the tags out. dpemu strips every tag where the kernel strips one.
//
// On `-i any` (Linux cooked v2, src/wire/sll2.ts) the filter reads the
// cooked frame as libpcap compiles for it: `ether[k]` and `link[k]` index the
// 20-byte header, `inbound`/`outbound` test its packet type, and what needs
// MACs or tags is refused in libpcap's words. `len` (so less/greater) does
// not count the header: live, the kernel's socket filter sees the packet
// from its network header, and libpcap filtering in userland (a load of the
// header the kernel cannot map) passes that length too. Not emulated: the
// kernel answers a load of the protocol, ifindex or packet type fields
// (offsets 0, 4, 10) of another size than theirs (ether[0:1], ether[4:1])
// with its own value; dpemu reads the header's bytes.
//
// As in BPF, a load past the frame's end rejects the frame whatever the rest
// of the expression says (so `not tcp[100] = 0` is false for a short TCP
// frame), and so does a division by zero at run time.

import { parseIpv6, readU32 } from '../wire/addr.js';
import { NetDb } from './netdb.js';

export interface FrameFields {
  buf: Uint8Array;
  /** A Linux cooked v2 frame: the link layer is its 20-byte header. */
  cooked: boolean;
  /** The frame is buf[off, end). */
  off: number;
  end: number;
  /** Where the network header starts in buf (after the VLAN tags). */
  nh: number;
  /** The length the filter sees: the frame less its VLAN tags; a cooked frame's less its header (the socket's skb->len, which libpcap passes in userland too). */
  len: number;
  /** The first (outer) tag's VID, -1 when untagged; how many tags. */
  vlan: number;
  tags: number;
  /** Ethertype after the VLAN tags; -1 for a frame shorter than an Ethernet header. */
  type: number;
  /** IPv4, or ARP/RARP (sender/target protocol address); -1 when absent or cut off. */
  src: number;
  dst: number;
  /** IPv4 protocol or IPv6 next header; -1 when absent or cut off. */
  proto: number;
  /** IPv4 fragment offset field (0 for IPv6); -1 when absent. */
  frag: number;
  /** TCP/UDP/SCTP ports of an unfragmented or first fragment; -1 when absent or cut off. */
  sport: number;
  dport: number;
}

const u16 = (b: Uint8Array, p: number) => (b[p]! << 8) | b[p + 1]!;
const u32 = (b: Uint8Array, p: number) => ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;
const hasPorts = (proto: number) => proto === 6 || proto === 17 || proto === 132;

export function decodeFields(b: Uint8Array, off: number, len: number): FrameFields {
  const end = off + len;
  const f: FrameFields = { buf: b, cooked: false, off, end, nh: off + 14, len, vlan: -1, tags: 0, type: -1, src: -1, dst: -1, proto: -1, frag: -1, sport: -1, dport: -1 };
  if (len < 14) return f;
  let p = off + 12;
  let type = u16(b, p);
  while ((type === 0x8100 || type === 0x88a8) && p + 6 <= end) {
    if (f.tags++ === 0) f.vlan = u16(b, p + 2) & 0xfff;
    p += 4;
    type = u16(b, p);
  }
  f.len = len - 4 * f.tags;
  decodeNetwork(f, type, p + 2);
  return f;
}

/** The fields of a Linux cooked v2 frame buf[off, off+len): its protocol, then the network header past the 20-byte header. */
export function decodeCookedFields(b: Uint8Array, off: number, len: number): FrameFields {
  const f: FrameFields = { buf: b, cooked: true, off, end: off + len, nh: off + 20, len: Math.max(0, len - 20), vlan: -1, tags: 0, type: -1, src: -1, dst: -1, proto: -1, frag: -1, sport: -1, dport: -1 };
  if (len >= 20) decodeNetwork(f, u16(b, off), off + 20);
  return f;
}

/** The ethertype and what the filter reads of the network header at p. */
function decodeNetwork(f: FrameFields, type: number, p: number): void {
  const b = f.buf, end = f.end;
  f.type = type;
  f.nh = p;
  // Each field where its bytes are: BPF loads exactly these and no more.
  let l4 = -1;
  if (type === 0x0800) {
    if (p + 8 <= end) f.frag = u16(b, p + 6) & 0x1fff;
    if (p + 10 <= end) f.proto = b[p + 9]!;
    if (p + 16 <= end) f.src = u32(b, p + 12);
    if (p + 20 <= end) f.dst = u32(b, p + 16);
    if (f.frag === 0) l4 = p + (b[p]! & 0xf) * 4;
  } else if (type === 0x86dd) {
    f.frag = 0;
    if (p + 7 <= end) f.proto = b[p + 6]!;
    l4 = p + 40;
  } else if (type === 0x0806 || type === 0x8035) {
    if (p + 18 <= end) f.src = u32(b, p + 14);
    if (p + 28 <= end) f.dst = u32(b, p + 24);
  }
  if (l4 >= 0 && hasPorts(f.proto)) {
    if (l4 + 2 <= end) f.sport = u16(b, l4);
    if (l4 + 4 <= end) f.dport = u16(b, l4 + 2);
  }
}

export type FramePredicate = (f: FrameFields) => boolean;

export class FilterSyntaxError extends Error {}

/** What libpcap's parser (yyerror) says of any grammar error: it names no token (tcpdump 4.99 / libpcap 1.10). */
const SYNTAX = "can't parse filter expression: syntax error";
const syntaxError = (): FilterSyntaxError => new FilterSyntaxError(SYNTAX);

/** Thrown (never allocated per frame) where BPF would return 0: a load past the end, a division by zero. */
const REJECT = Symbol('reject');
const reject = (): never => {
  throw REJECT;
};
/** The ethertype, as `ldh [12]` loads it. */
const ty = (f: FrameFields): number => (f.type < 0 ? reject() : f.type);
const need = (v: number): number => (v < 0 ? reject() : v);

/** Big-endian load of 1, 2 or 4 bytes at buf offset a; the frame rejected when they run past its end. */
function load(f: FrameFields, a: number, size: number): number {
  if (a + size > f.end) reject();
  const b = f.buf;
  return size === 1 ? b[a]! : size === 2 ? u16(b, a) : u32(b, a);
}

/** A load from the frame as the filter sees it (tags left out): the MACs, then from the ethertype on; a cooked frame as it is. */
function etherLoad(f: FrameFields, k: number, size: number): number {
  if (f.cooked) return load(f, f.off + k, size);
  if (k + size > f.len) reject();
  if (k >= 12 || k + size <= 12) return load(f, (k < 12 ? f.off : f.nh - 14) + k, size);
  let v = 0;
  for (let i = k; i < k + size; i++) v = (v << 8) | f.buf[(i < 12 ? f.off : f.nh - 14) + i]!;
  return v >>> 0;
}

/** A lookup table without Object.prototype's names (a filter word is never "constructor"). */
const table = <T>(o: Record<string, T>): Record<string, T> => Object.assign(Object.create(null) as Record<string, T>, o);

const PROTO_WORDS = ['ether', 'ip', 'ip6', 'arp', 'rarp', 'tcp', 'udp', 'icmp', 'icmp6'] as const;
type ProtoWord = (typeof PROTO_WORDS)[number];
const IPPROTO = table({ icmp: 1, tcp: 6, udp: 17 });
/** libpcap's scanner keywords (an ID may not be one). */
const KEYWORDS = new Set<string>([
  ...PROTO_WORDS, 'link', 'sctp', 'igmp', 'igrp', 'pim', 'vrrp', 'carp', 'ah', 'esp', 'atalk', 'aarp', 'decnet', 'lat', 'sca', 'moprc', 'mopdl', 'iso', 'esis', 'isis', 'clnp', 'stp', 'ipx', 'netbeui',
  'proto', 'protochain', 'host', 'net', 'mask', 'port', 'portrange', 'src', 'dst', 'gateway', 'less', 'greater', 'broadcast', 'multicast', 'vlan', 'mpls', 'and', 'or', 'not', 'len', 'length',
]);

/** The layers `proto[...]` indexes; `link` is libpcap's other name for ether. */
type Layer = ProtoWord;
const LAYERS = table<Layer>({ ether: 'ether', link: 'ether', ip: 'ip', ip6: 'ip6', arp: 'arp', rarp: 'rarp', tcp: 'tcp', udp: 'udp', icmp: 'icmp', icmp6: 'icmp6' });

/** IPv4 carrying `n`, not a later fragment: what libpcap ANDs to a tcp/udp/icmp[] load. */
const ipv4Carries = (n: number): FramePredicate => (f) => ty(f) === 0x0800 && need(f.proto) === n && f.frag === 0;
/** When a `proto[...]` load may run (gencode.c gen_load): the frame must be of that protocol. */
const LAYER_TEST: Record<Layer, FramePredicate | null> = {
  ether: null,
  ip: (f) => ty(f) === 0x0800,
  ip6: (f) => ty(f) === 0x86dd,
  arp: (f) => ty(f) === 0x0806,
  rarp: (f) => ty(f) === 0x8035,
  tcp: ipv4Carries(6),
  udp: ipv4Carries(17),
  icmp: ipv4Carries(1),
  // ICMPv6 right after the fixed IPv6 header (a load from 40 on: no fragment header allowed here).
  icmp6: (f) => ty(f) === 0x86dd && need(f.proto) === 58,
};

/** libpcap's scanner.l names for numbers. */
const CONSTANTS = table({
  icmptype: 0, icmpcode: 1, 'icmp-echoreply': 0, 'icmp-unreach': 3, 'icmp-sourcequench': 4, 'icmp-redirect': 5, 'icmp-echo': 8,
  'icmp-routeradvert': 9, 'icmp-routersolicit': 10, 'icmp-timxceed': 11, 'icmp-paramprob': 12, 'icmp-tstamp': 13,
  'icmp-tstampreply': 14, 'icmp-ireq': 15, 'icmp-ireqreply': 16, 'icmp-maskreq': 17, 'icmp-maskreply': 18,
  icmp6type: 0, icmp6code: 1, 'icmp6-destinationunreach': 1, 'icmp6-packettoobig': 2, 'icmp6-timeexceeded': 3, 'icmp6-parameterproblem': 4,
  'icmp6-echo': 128, 'icmp6-echoreply': 129, 'icmp6-multicastlistenerquery': 130, 'icmp6-multicastlistenerreportv1': 131,
  'icmp6-multicastlistenerdone': 132, 'icmp6-routersolicit': 133, 'icmp6-routeradvert': 134, 'icmp6-neighborsolicit': 135,
  'icmp6-neighboradvert': 136, 'icmp6-redirect': 137, 'icmp6-routerrenum': 138, 'icmp6-nodeinformationquery': 139,
  'icmp6-nodeinformationresponse': 140, 'icmp6-ineighbordiscoverysolicit': 141, 'icmp6-ineighbordiscoveryadvert': 142,
  'icmp6-multicastlistenerreportv2': 143, 'icmp6-homeagentdiscoveryrequest': 144, 'icmp6-homeagentdiscoveryreply': 145,
  'icmp6-mobileprefixsolicit': 146, 'icmp6-mobileprefixadvert': 147, 'icmp6-certpathsolicit': 148, 'icmp6-certpathadvert': 149,
  'icmp6-multicastrouteradvert': 151, 'icmp6-multicastroutersolicit': 152, 'icmp6-multicastrouterterm': 153,
  tcpflags: 13, 'tcp-fin': 0x01, 'tcp-syn': 0x02, 'tcp-rst': 0x04, 'tcp-push': 0x08, 'tcp-ack': 0x10, 'tcp-urg': 0x20, 'tcp-ece': 0x40, 'tcp-cwr': 0x80,
});

/** An arithmetic expression: its value (u32), the layers its loads need, its value when constant. */
interface Arith {
  v: (f: FrameFields) => number;
  layers: Layer[];
  k?: number;
}

/** BPF ALU ops on u32 (binary operators by libpcap's precedence, loosest first; ^ apart, see unary()). */
type Op = (a: number, b: number) => number;
const xor: Op = (a, b) => (a ^ b) >>> 0;
const BINARY = [
  table<Op>({ '|': (a, b) => (a | b) >>> 0 }),
  table<Op>({ '&': (a, b) => (a & b) >>> 0 }),
  table<Op>({ '<<': (a, b) => (b < 32 ? (a << b) >>> 0 : 0), '>>': (a, b) => (b < 32 ? a >>> b : 0) }),
  table<Op>({ '+': (a, b) => (a + b) >>> 0, '-': (a, b) => (a - b) >>> 0 }),
  table<Op>({ '*': (a, b) => Math.imul(a, b) >>> 0, '/': (a, b) => (b === 0 ? reject() : Math.floor(a / b)), '%': (a, b) => (b === 0 ? reject() : a % b) }),
];
const RELOPS = table<(a: number, b: number) => boolean>({
  '=': (a, b) => a === b,
  '==': (a, b) => a === b,
  '!=': (a, b) => a !== b,
  '>': (a, b) => a > b,
  '<': (a, b) => a < b,
  '>=': (a, b) => a >= b,
  '<=': (a, b) => a <= b,
});

interface Qual {
  proto?: ProtoWord;
  dir: 'src' | 'dst' | 'either' | 'both';
  type: 'host' | 'net' | 'port' | 'portrange';
}

// libpcap's scanner: a MAC, an ID (names, numbers, dotted addresses, ranges, icmp-echo), or an operator.
const TOKEN = /\s*(?:([0-9A-Fa-f]{1,2}(?:[:.-][0-9A-Fa-f]{1,2}){5}(?![-\w.:])|[0-9A-Fa-f]*:[0-9A-Fa-f]*:[0-9A-Fa-f:.]*|\\?[A-Za-z0-9](?:[-\w.]*[.A-Za-z0-9])?)|(&&|\|\||<<|>>|>=|<=|==|!=|[()[\]!=<>+\-*/%&|^:]))/y;

function tokenize(s: string): string[] {
  const out: string[] = [];
  let m: RegExpExecArray | null;
  let at = 0; // a failed sticky exec resets lastIndex, so keep our own
  while ((m = TOKEN.exec(s))) {
    out.push(m[1] ?? m[2]!);
    at = TOKEN.lastIndex;
  }
  TOKEN.lastIndex = 0;
  if (s.slice(at).trim()) throw syntaxError();
  return out;
}

const isNum = (s: string) => /^(0[xX][0-9A-Fa-f]+|[0-9]+)$/.test(s);

/** libpcap's stoulen: 0x hex, a leading 0 octal, else decimal, at most 32 bits. */
function num(s: string): number {
  let v: number;
  if (/^0x/i.test(s)) v = parseInt(s.slice(2), 16);
  else if (s.length > 1 && s[0] === '0') {
    if (/[89]/.test(s)) throw new FilterSyntaxError(`number ${s} contains non-octal digit`);
    v = parseInt(s, 8);
  } else v = Number(s);
  if (v > 0xffffffff) throw new FilterSyntaxError(`number ${s} overflows 32 bits`);
  return v;
}
const numOrNull = (s: string | undefined): number | null => (s !== undefined && isNum(s) ? num(s) : null);

function parseIp(s: string): number | null {
  const p = s.split('.');
  if (p.length !== 4 || p.some((x) => !/^\d{1,3}$/.test(x) || Number(x) > 255)) return null;
  return p.reduce((a, x) => a * 256 + Number(x), 0);
}

const isMac = (s: string) => /^([0-9a-f]{1,2}[:.-]){5}[0-9a-f]{1,2}$/i.test(s);
const macBytes = (s: string) => s.split(/[:.-]/).map((x) => parseInt(x, 16));

/** "10.0.0.0/8", "10.1" (a partial net), or "10.0.0.0 mask 255.0.0.0" (mask handled by the caller). */
function parseNet(s: string): { addr: number; mask: number } | null {
  const [a, l] = s.split('/');
  const parts = a!.split('.');
  if (parts.length < 1 || parts.length > 4 || parts.some((x) => !/^\d{1,3}$/.test(x) || Number(x) > 255)) return null;
  const len = l === undefined ? parts.length * 8 : Number(l);
  if (!Number.isInteger(len) || len < 0 || len > 32) return null;
  while (parts.length < 4) parts.push('0');
  const addr = parts.reduce((acc, x) => acc * 256 + Number(x), 0);
  const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
  if (((addr & mask) >>> 0) !== addr) return null; // libpcap: "non-network bits set"
  return { addr, mask };
}

/** A port number, or libpcap's error for one too large. */
function portNumber(n: number): number {
  if (n > 65535) throw new FilterSyntaxError(`illegal port number ${n} > 65535`);
  return n;
}

/** libpcap's words for a net it refuses (`net 10.0.0.1/8`, `net 10.0.0.0/33`). */
function netError(id: string): string {
  const len = /\/(\d+)$/.exec(id);
  if (len && Number(len[1]) > 32) return 'mask length must be <= 32';
  const a = id.split('/')[0]!;
  if (!/^\d{1,3}(\.\d{1,3}){0,3}$/.test(a) || a.split('.').some((x) => Number(x) > 255)) return `invalid IPv4 address '${a}'`;
  return `non-network bits set in "${id}"`;
}

const allOf = (ps: FramePredicate[]): FramePredicate | null => {
  if (!ps.length) return null;
  if (ps.length === 1) return ps[0]!;
  return (f) => {
    for (const p of ps) if (!p(f)) return false;
    return true;
  };
};

class Parser {
  private i = 0;
  /** The last primitive's qualifiers, 'proto' after a protocol alone, null before any. */
  private last: Qual | 'proto' | null = null;
  constructor(
    private readonly t: string[],
    private readonly db: NetDb,
    /** Compiling for Linux cooked v2 (`-i any`). */
    private readonly cooked: boolean,
  ) {}

  parse(): FramePredicate {
    if (!this.t.length) return () => true;
    const p = this.expr();
    if (this.i < this.t.length) throw syntaxError();
    return p;
  }
  private peek(k = 0): string | undefined {
    return this.t[this.i + k];
  }
  private next(): string {
    const x = this.t[this.i++];
    if (x === undefined) throw syntaxError();
    return x;
  }
  private expect(s: string): void {
    if (this.next() !== s) throw syntaxError();
  }
  /** and and or bind alike, left to right (grammar.y: %left OR AND). */
  private expr(): FramePredicate {
    let l = this.not();
    for (;;) {
      const op = this.peek();
      if (op === 'or' || op === '||') {
        this.i++;
        const a = l, b = this.not();
        l = (f) => a(f) || b(f);
      } else if (op === 'and' || op === '&&') {
        this.i++;
        const a = l, b = this.not();
        l = (f) => a(f) && b(f);
      } else return l;
    }
  }
  private not(): FramePredicate {
    if (this.peek() === 'not' || this.peek() === '!') {
      this.i++;
      const a = this.not();
      return (f) => !a(f);
    }
    return this.primary();
  }
  private primary(): FramePredicate {
    const w = this.peek();
    if (w === undefined) throw syntaxError();
    if ((LAYERS[w] && this.peek(1) === '[') || w === 'len' || w === 'length' || w === '-') return this.relation();
    if (w === '(' || isNum(w) || CONSTANTS[w] !== undefined) {
      // "(" opens an expression or an arithmetic term, a number starts a relation or is a bare ID: try a relation first.
      const at = this.i, last = this.last;
      try {
        return this.relation();
      } catch (e) {
        if (!(e instanceof FilterSyntaxError) || e.message !== SYNTAX) throw e;
        this.i = at;
        this.last = last;
      }
    }
    this.i++;
    if (w === '(') {
      const e = this.expr();
      this.expect(')');
      return e;
    }
    if (w === 'vlan') {
      if (this.cooked) throw new FilterSyntaxError('no VLAN support for Linux cooked v2');
      const n = numOrNull(this.peek());
      if (n !== null) {
        this.i++;
        if (n > 4095) throw new FilterSyntaxError(`VLAN tag ${n} greater than maximum 4095`);
        return (f) => f.vlan === n;
      }
      return (f) => f.tags > 0;
    }
    if (w === 'less' || w === 'greater') {
      const n = numOrNull(this.next());
      if (n === null) throw syntaxError();
      return w === 'less' ? (f) => f.len <= n : (f) => f.len >= n;
    }
    if (w === 'broadcast' || w === 'multicast') return this.linkCast(w);
    // The cooked header's packet type (byte 10): PACKET_OUTGOING is 4.
    if (this.cooked && (w === 'inbound' || w === 'outbound')) return w === 'inbound' ? (f) => etherLoad(f, 10, 1) !== 4 : (f) => etherLoad(f, 10, 1) === 4;
    if (w === 'proto' || w === 'protochain') return this.protoNumber(undefined, w === 'protochain');
    const q: Qual = { dir: 'either', type: 'host' };
    let qualified = false;
    if ((PROTO_WORDS as readonly string[]).includes(w)) {
      q.proto = w as ProtoWord;
      qualified = true;
      const nx = this.peek();
      if ((nx === 'proto' && (w === 'ether' || w === 'ip' || w === 'ip6')) || (nx === 'protochain' && (w === 'ip' || w === 'ip6'))) {
        this.i++;
        return this.protoNumber(w, nx === 'protochain');
      }
      if (nx === 'broadcast' || nx === 'multicast') {
        this.i++;
        return this.cast(q.proto, nx);
      }
      if (nx === undefined || !['src', 'dst', 'host', 'net', 'port', 'portrange'].includes(nx)) {
        this.last = 'proto';
        return this.protoOnly(q.proto);
      }
    } else this.i--;
    if (this.peek() === 'src' || this.peek() === 'dst') {
      const d = this.t[this.i++] as 'src' | 'dst';
      q.dir = d;
      qualified = true;
      if ((this.peek() === 'or' || this.peek() === 'and') && this.peek(1) === (d === 'src' ? 'dst' : 'src')) {
        q.dir = this.peek() === 'or' ? 'either' : 'both';
        this.i += 2;
      }
    }
    const tw = this.peek();
    if (tw === 'host' || tw === 'net' || tw === 'port' || tw === 'portrange') {
      this.i++;
      q.type = tw;
      qualified = true;
    } else if (!qualified) {
      // A bare ID: the previous primitive's qualifiers (pcap-filter's abbreviation); libpcap's
      // grammar has none to give at the start, and a protocol alone gives none it can use.
      if (!this.last) throw syntaxError();
      if (this.last === 'proto') throw new FilterSyntaxError('syntax error in filter expression');
      Object.assign(q, this.last);
    }
    this.last = { ...q };
    return this.primitive(q, this.next());
  }

  /** EXPR relop EXPR: false unless every layer its loads index is there (gencode.c gen_relation). */
  private relation(): FramePredicate {
    const a = this.arith(0);
    const rel = RELOPS[this.next()];
    if (!rel) throw syntaxError();
    const b = this.arith(0);
    const test = allOf([...new Set([...a.layers, ...b.layers])].flatMap((l) => LAYER_TEST[l] ?? []));
    if (a.k !== undefined && b.k !== undefined) {
      const r = rel(a.k, b.k);
      return test ? (f) => test(f) && r : () => r;
    }
    const av = a.v, bv = b.v;
    const cmp: FramePredicate = (f) => rel(av(f), bv(f));
    return test ? (f) => test(f) && cmp(f) : cmp;
  }
  private arith(level: number): Arith {
    if (level === BINARY.length) return this.unary();
    let l = this.arith(level + 1);
    for (let op = this.peek(); op !== undefined && BINARY[level]![op]; op = this.peek()) {
      this.i++;
      l = this.binary(op, BINARY[level]![op]!, l, this.arith(level + 1));
    }
    return l;
  }
  private binary(op: string, fn: (a: number, b: number) => number, l: Arith, r: Arith): Arith {
    const layers = [...l.layers, ...r.layers];
    // libpcap's optimizer folds x & 0 and x * 0 to 0 (the loads go, the protocol tests stay).
    if ((op === '&' || op === '*') && (l.k === 0 || r.k === 0)) return { v: () => 0, layers, k: 0 };
    // libpcap refuses these when the right operand is (or folds to) a constant.
    if (r.k === 0 && op === '/') throw new FilterSyntaxError('division by zero');
    if (r.k === 0 && op === '%') throw new FilterSyntaxError('modulus by zero');
    if (r.k !== undefined && r.k > 31 && (op === '<<' || op === '>>')) throw new FilterSyntaxError('shift by more than 31 bits');
    if (l.k !== undefined && r.k !== undefined) return constant(fn(l.k, r.k));
    const lv = l.v, rv = r.v;
    return { v: (f) => fn(lv(f), rv(f)), layers };
  }
  /**
   * An operand. grammar.y gives '^' no precedence, so bison shifts it: `a & b ^ c - d` is
   * a & (b ^ (c - d)): the operand before ^ takes all that follows as its right side.
   */
  private unary(): Arith {
    const a = this.operand();
    if (this.peek() !== '^') return a;
    this.i++;
    return this.binary('^', xor, a, this.arith(0));
  }
  private operand(): Arith {
    const w = this.next();
    if (w === '-') {
      const a = this.unary();
      if (a.k !== undefined) return constant((-a.k) >>> 0);
      const av = a.v;
      return { v: (f) => (-av(f)) >>> 0, layers: a.layers };
    }
    if (w === '(') {
      const a = this.arith(0);
      this.expect(')');
      return a;
    }
    if (isNum(w)) return constant(num(w));
    if (CONSTANTS[w] !== undefined) return constant(CONSTANTS[w]!);
    if (w === 'len' || w === 'length') return { v: (f) => f.len, layers: [] };
    const layer = LAYERS[w];
    if (!layer || this.next() !== '[') throw syntaxError();
    const idx = this.arith(0);
    let size = 1;
    if (this.peek() === ':') {
      this.i++;
      const s = this.next();
      if (!isNum(s)) throw syntaxError();
      size = num(s);
      if (size !== 1 && size !== 2 && size !== 4) throw new FilterSyntaxError('data size must be 1, 2, or 4');
    }
    this.expect(']');
    const iv = idx.v;
    const layers = [...idx.layers, layer];
    switch (layer) {
      case 'ether':
        return { v: (f) => etherLoad(f, iv(f), size), layers };
      case 'tcp':
      case 'udp':
      case 'icmp': // from the transport header, after the IPv4 header and its options
        return { v: (f) => load(f, f.nh + ((f.buf[f.nh]! & 0xf) << 2) + iv(f), size), layers };
      case 'icmp6':
        return { v: (f) => load(f, f.nh + 40 + iv(f), size), layers };
      default:
        return { v: (f) => load(f, f.nh + iv(f), size), layers };
    }
  }

  /** `broadcast`, `multicast`: the Ethernet destination (all ones; the group bit). */
  private linkCast(w: 'broadcast' | 'multicast'): FramePredicate {
    if (this.cooked && w === 'broadcast') throw new FilterSyntaxError('not a broadcast link');
    if (this.cooked) throw new FilterSyntaxError('link-layer multicast filters supported only on ethernet/FDDI/token ring/ARCNET/802.11/ATM LANE/Fibre Channel');
    if (w === 'multicast') return (f) => (etherLoad(f, 0, 1) & 1) === 1;
    return (f) => etherLoad(f, 2, 4) === 0xffffffff && etherLoad(f, 0, 2) === 0xffff;
  }
  private cast(p: ProtoWord, w: 'broadcast' | 'multicast'): FramePredicate {
    if (p === 'ether') return this.linkCast(w);
    if (p === 'ip' && w === 'multicast') return (f) => ty(f) === 0x0800 && load(f, f.nh + 16, 1) >= 224;
    if (p === 'ip6' && w === 'multicast') return (f) => ty(f) === 0x86dd && load(f, f.nh + 24, 1) === 255;
    // tcpdump -r knows no netmask and takes 0: only all-zeros and all-ones destinations.
    if (p === 'ip') return (f) => ty(f) === 0x0800 && (load(f, f.nh + 16, 4) === 0 || load(f, f.nh + 16, 4) === 0xffffffff);
    if (w === 'broadcast') throw new FilterSyntaxError('only link-layer/IP broadcast filters supported');
    throw new FilterSyntaxError('link-layer multicast filters supported only on ethernet/FDDI/token ring/ARCNET/802.11/ATM LANE/Fibre Channel');
  }
  private protoOnly(p: ProtoWord): FramePredicate {
    switch (p) {
      case 'ether':
        return () => true;
      case 'ip':
        return (f) => ty(f) === 0x0800;
      case 'ip6':
        return (f) => ty(f) === 0x86dd;
      case 'arp':
        return (f) => ty(f) === 0x0806;
      case 'rarp':
        return (f) => ty(f) === 0x8035;
      case 'icmp':
        return (f) => ty(f) === 0x0800 && need(f.proto) === 1;
      case 'icmp6':
        return ip6Proto(58);
      default: {
        // ip proto N or ip6 proto N.
        const n = IPPROTO[p]!, v6 = ip6Proto(n);
        return (f) => (ty(f) === 0x0800 ? need(f.proto) === n : v6(f));
      }
    }
  }
  /** `ether proto N`, `[ip|ip6] proto N`, `[ip|ip6] protochain N` (no layer: IPv4 or IPv6). */
  private protoNumber(layer: 'ether' | 'ip' | 'ip6' | undefined, chain = false): FramePredicate {
    const raw = this.next();
    if (KEYWORDS.has(raw)) throw syntaxError(); // a protocol's own word is a keyword there: `proto \udp`, not `proto udp`
    const w = raw.replace(/^\\/, '');
    if (layer === 'ether') {
      const n = numOrNull(w) ?? ({ ip: 0x0800, arp: 0x0806, ip6: 0x86dd, rarp: 0x8035 } as Record<string, number>)[w];
      if (n === undefined) throw new FilterSyntaxError(`unknown ether proto '${w}'`);
      return (f) => ty(f) === n;
    }
    const n = numOrNull(w) ?? IPPROTO[w];
    if (n === undefined) throw new FilterSyntaxError(`unknown ip proto '${w}'`);
    const v4: FramePredicate = chain ? (f) => ty(f) === 0x0800 && protochain(f, n, false) : (f) => ty(f) === 0x0800 && need(f.proto) === n;
    const v6: FramePredicate = chain ? (f) => ty(f) === 0x86dd && protochain(f, n, true) : ip6Proto(n);
    if (layer === 'ip') return v4;
    if (layer === 'ip6') return v6;
    return (f) => v4(f) || v6(f);
  }
  private primitive(q: Qual, id: string): FramePredicate {
    if ((q.type === 'host' || q.type === 'net') && id.includes(':') && !isMac(id)) return this.host6(q, id);
    const dirTest = (get: (f: FrameFields, src: boolean) => number, ok: (v: number) => boolean): FramePredicate => {
      switch (q.dir) {
        case 'src':
          return (f) => ok(get(f, true));
        case 'dst':
          return (f) => ok(get(f, false));
        case 'both':
          return (f) => ok(get(f, true)) && ok(get(f, false));
        default:
          return (f) => ok(get(f, true)) || ok(get(f, false));
      }
    };
    if (q.type === 'host' && (q.proto === 'ether' || isMac(id))) {
      if (!isMac(id)) throw new FilterSyntaxError(/^[\d.]+$/.test(id) ? 'illegal link layer address' : `unknown ether host '${id}' (dpemu resolves no names: use a MAC address)`);
      // gen_ecode: a MAC needs the ether qualifier (given or carried over from the last primitive), on any link type.
      if (q.proto !== 'ether') throw new FilterSyntaxError('ethernet address used in non-ether expression');
      if (this.cooked) throw new FilterSyntaxError('ethernet addresses supported only on ethernet/FDDI/token ring/802.11/ATM LANE/Fibre Channel');
      const [a, b, c, d, e, g] = macBytes(id) as [number, number, number, number, number, number];
      const hi = ((a << 8) | b) >>> 0, lo = ((c << 24) | (d << 16) | (e << 8) | g) >>> 0;
      return dirTest((f, src) => (etherLoad(f, src ? 8 : 2, 4) === lo && etherLoad(f, src ? 6 : 0, 2) === hi ? 1 : 0), (v) => v === 1);
    }
    if (q.type === 'host' || q.type === 'net') {
      if (q.proto === 'ip6') throw new FilterSyntaxError("'ip6' modifier applied to ip host");
      if (q.proto && !['ip', 'arp', 'rarp'].includes(q.proto)) throw new FilterSyntaxError(`'${q.proto}' modifier applied to ${q.type}`);
      let net: { addr: number; mask: number } | null;
      if (q.type === 'host') {
        const a = parseIp(id);
        if (a === null && /^[\d.]+$/.test(id)) throw new FilterSyntaxError(`invalid IPv4 address '${id}'`);
        if (a === null) throw new FilterSyntaxError(`unknown host '${id}' (dpemu resolves no names: use an IPv4 address)`);
        net = { addr: a, mask: 0xffffffff };
      } else {
        let text = id;
        if (this.peek() === '/' && numOrNull(this.peek(1)) !== null) {
          text = `${id}/${num(this.t[this.i + 1]!)}`;
          this.i += 2;
        }
        net = parseNet(text);
        if (net && this.peek() === 'mask') {
          this.i++;
          const m = parseIp(this.next());
          if (m === null) throw syntaxError();
          net = { addr: net.addr, mask: m };
        }
        if (!net) throw new FilterSyntaxError(netError(text));
      }
      const { addr, mask } = net;
      const types = q.proto === 'ip' ? [0x0800] : q.proto === 'arp' ? [0x0806] : q.proto === 'rarp' ? [0x8035] : [0x0800, 0x0806, 0x8035];
      const inner = dirTest((f, src) => need(src ? f.src : f.dst), (v) => ((v & mask) >>> 0) === addr);
      return (f) => types.includes(ty(f)) && inner(f);
    }
    // port / portrange
    if (q.proto && q.proto !== 'tcp' && q.proto !== 'udp') throw new FilterSyntaxError(`illegal qualifier of '${q.type}'`);
    let lo: number, hi: number;
    let proto: 'tcp' | 'udp' | undefined;
    if (q.type === 'port') {
      const n = numOrNull(id);
      const named = n === null ? this.servicePort(id.replace(/^\\/, '')) : null;
      if (n === null && !named) throw new FilterSyntaxError(`unknown port '${id}'`);
      lo = hi = named ? named.port : portNumber(n!);
      proto = this.portProto(q.proto, named ? named.proto : undefined, `port '${id}'`);
    } else {
      // pcap_nametoportrange: sscanf("%d-%d") (decimal), else a service name each side of the first '-'.
      const m = /^(\d+)-(\d+)$/.exec(id);
      let a: number, b: number, named: 'tcp' | 'udp' | undefined;
      if (m) [a, b] = [portNumber(Number(m[1])), portNumber(Number(m[2]))];
      else {
        const dash = id.indexOf('-');
        const x = dash > 0 ? this.servicePort(id.slice(0, dash)) : null;
        const y = dash > 0 ? this.servicePort(id.slice(dash + 1)) : null;
        if (!x || !y) throw new FilterSyntaxError(`unknown port in range '${id}'`);
        [a, b, named] = [x.port, y.port, x.proto === y.proto ? x.proto : undefined];
      }
      lo = Math.min(a, b);
      hi = Math.max(a, b);
      proto = this.portProto(q.proto, named, `port in range '${id}'`);
    }
    const want = proto === 'tcp' ? 6 : proto === 'udp' ? 17 : -1;
    const inner = dirTest((f, src) => need(src ? f.sport : f.dport), (v) => v >= lo && v <= hi);
    return (f) => {
      const t = ty(f);
      if (t !== 0x0800 && t !== 0x86dd) return false;
      const p = need(f.proto);
      return (want < 0 ? hasPorts(p) : p === want) && f.frag === 0 && inner(f);
    };
  }
  /** An IPv6 `host` or `net` (ADDR[/LEN]; gencode.c gen_host6): the words of the address under the mask, first to last, source then destination. */
  private host6(q: Qual, id: string): FramePredicate {
    if (q.proto === 'ether') throw new FilterSyntaxError(`link-layer modifier applied to ip6 ${q.type}`);
    if (q.proto && q.proto !== 'ip6') throw new FilterSyntaxError(`'${q.proto}' modifier applied to ip6 ${q.type}`);
    const words = parseIp6(id);
    if (!words) throw syntaxError();
    let len = 128;
    if (this.peek() === '/' && numOrNull(this.peek(1)) !== null) {
      len = num(this.t[this.i + 1]!);
      this.i += 2;
      if (len > 128) throw new FilterSyntaxError('mask length must be <= 128');
    }
    const mask = [0, 1, 2, 3].map((i) => (len >= 32 * (i + 1) ? 0xffffffff : len <= 32 * i ? 0 : (0xffffffff << (32 * (i + 1) - len)) >>> 0));
    if (words.some((w, i) => ((w & mask[i]!) >>> 0) !== w)) throw new FilterSyntaxError(`non-network bits set in "${id}/${len}"`);
    // A word under a zero mask is no test at all (libpcap's optimizer drops its load).
    const tests = [0, 1, 2, 3].filter((i) => mask[i] !== 0);
    const match = (f: FrameFields, at: number): boolean => {
      for (const i of tests) if (((load(f, f.nh + at + 4 * i, 4) & mask[i]!) >>> 0) !== words[i]) return false;
      return true;
    };
    const inner: FramePredicate =
      q.dir === 'src' ? (f) => match(f, 8) : q.dir === 'dst' ? (f) => match(f, 24) : q.dir === 'both' ? (f) => match(f, 8) && match(f, 24) : (f) => match(f, 8) || match(f, 24);
    return (f) => ty(f) === 0x86dd && inner(f);
  }
  /**
   * pcap_nametoport: a name's TCP port, or UDP's; a name at one number in both means either
   * (getaddrinfo also reads a number as itself, in both).
   */
  private servicePort(name: string): { port: number; proto?: 'tcp' | 'udp' } | null {
    const t = /^\d+$/.test(name) ? Number(name) : this.db.portByService(name, 'tcp');
    const u = /^\d+$/.test(name) ? Number(name) : this.db.portByService(name, 'udp');
    if (t !== undefined) return { port: t, proto: u === t ? undefined : 'tcp' };
    return u !== undefined ? { port: u, proto: 'udp' } : null;
  }
  /** gencode.c gen_scode: a qualifier must agree with a name's protocol. */
  private portProto(qual: 'tcp' | 'udp' | undefined, named: 'tcp' | 'udp' | undefined, what: string): 'tcp' | 'udp' | undefined {
    if (qual && named && named !== qual) throw new FilterSyntaxError(`${what} is ${named}`);
    return qual ?? named;
  }
}

const constant = (k: number): Arith => ({ v: () => k, layers: [], k });

/** IPv6 carrying `n`, straight after the fixed header or after one fragment header (gencode.c gen_proto for Q_IPV6). */
const ip6Proto = (n: number): FramePredicate => (f) => ty(f) === 0x86dd && (need(f.proto) === n || (f.proto === 44 && load(f, f.nh + 40, 1) === n));

/**
 * gen_protochain: the header chain from the IP header, an IPv6 packet's
 * hop-by-hop, destination, routing and fragment headers and either's AH
 * skipped, until `n` (true), no next header (59) or anything else (false).
 * libpcap 1.10's program sets the offset after an AH to the AH's own length
 * counted from the IP header, not added to where the AH was: so does this.
 */
function protochain(f: FrameFields, n: number, v6: boolean): boolean {
  let a = load(f, f.nh + (v6 ? 6 : 9), 1);
  let x = v6 ? 40 : (load(f, f.nh, 1) & 0xf) << 2;
  // That offset can point back at the same AH: a BPF program would loop forever; this gives up (rejects).
  for (let hops = 0; hops < 256; hops++) {
    if (a === n) return true;
    if (a === 59) return false;
    if (v6 && (a === 0 || a === 60 || a === 43 || a === 44)) {
      const next = load(f, f.nh + x, 1);
      x += (load(f, f.nh + x + 1, 1) + 1) * 8;
      a = next;
    } else if (a === 51) {
      const next = load(f, f.nh + x, 1);
      x = (load(f, f.nh + x + 1, 1) + 2) * 4;
      a = next;
    } else return false;
  }
  return reject();
}

/** inet_pton for IPv6 (a zone index ignored, as before): the address as four 32-bit words, or null. */
function parseIp6(s: string): number[] | null {
  const b = parseIpv6(s.replace(/%.*$/, ''));
  return b && [0, 4, 8, 12].map((i) => readU32(b, i));
}

/** Compile a filter expression for Ethernet frames, or for Linux cooked v2 ones (`cooked`); throws FilterSyntaxError with libpcap-like wording. */
export function compileFilter(expr: string, db = new NetDb(), cooked = false): FramePredicate {
  const p = new Parser(tokenize(expr), db, cooked).parse();
  return (f) => {
    try {
      return p(f);
    } catch (e) {
      if (e === REJECT) return false;
      throw e;
    }
  };
}
