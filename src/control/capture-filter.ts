// A pcap-filter(7) subset, compiled to a predicate over a decoded frame:
//   [ether|ip|arp|tcp|udp] [src|dst|src or dst|src and dst] host|net|port|portrange ID
//   ip | ip6 | arp | icmp | tcp | udp | vlan [VID] | less N | greater N
//   ether proto N | ip proto N|\icmp|\tcp|\udp   broadcast | multicast
//   combined with and/&&, or/||, not/!, parentheses; a bare ID reuses the
//   previous qualifiers ("host 1.2.3.4 or 5.6.7.8").
// No npm package parses pcap-filter without libpcap; this one is small.
// One difference from a BPF program: tests look through VLAN tags (the
// Linux kernel strips the outer tag before a socket filter sees a frame, so
// `icmp` matches tagged ICMP there too; `vlan 103` still tests the tag).

export interface FrameFields {
  len: number;
  ethDst: string;
  ethSrc: string;
  vlans: number[];
  /** Ethertype after the VLAN tags. */
  type: number;
  /** IPv4 (type 0x0800) or ARP (0x0806, sender/target protocol address); -1 when absent. */
  src: number;
  dst: number;
  proto: number;
  /** TCP/UDP ports of an unfragmented or first fragment; -1 when absent. */
  sport: number;
  dport: number;
}

export function decodeFields(b: Uint8Array, off: number, len: number): FrameFields {
  const f: FrameFields = { len, ethDst: '', ethSrc: '', vlans: [], type: -1, src: -1, dst: -1, proto: -1, sport: -1, dport: -1 };
  if (len < 14) return f;
  const mac = (p: number) => Array.from(b.subarray(p, p + 6), (x) => x.toString(16).padStart(2, '0')).join(':');
  const u16 = (p: number) => (b[p]! << 8) | b[p + 1]!;
  const u32 = (p: number) => ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;
  f.ethDst = mac(off);
  f.ethSrc = mac(off + 6);
  let p = off + 12;
  const end = off + len;
  let type = u16(p);
  while ((type === 0x8100 || type === 0x88a8) && p + 6 <= end) {
    f.vlans.push(u16(p + 2) & 0xfff);
    p += 4;
    type = u16(p);
  }
  f.type = type;
  p += 2;
  if (type === 0x0800 && p + 20 <= end) {
    const ihl = (b[p]! & 0xf) * 4;
    f.src = u32(p + 12);
    f.dst = u32(p + 16);
    f.proto = b[p + 9]!;
    const fragOff = u16(p + 6) & 0x1fff;
    if ((f.proto === 6 || f.proto === 17) && fragOff === 0 && p + ihl + 4 <= end) {
      f.sport = u16(p + ihl);
      f.dport = u16(p + ihl + 2);
    }
  } else if (type === 0x0806 && p + 28 <= end) {
    f.src = u32(p + 14);
    f.dst = u32(p + 24);
  }
  return f;
}

export type FramePredicate = (f: FrameFields) => boolean;

export class FilterSyntaxError extends Error {}

/** What libpcap's parser (yyerror) says of any grammar error: it names no token (tcpdump 4.99 / libpcap 1.10). */
const syntaxError = (): FilterSyntaxError => new FilterSyntaxError("can't parse filter expression: syntax error");

const PROTO_WORDS = ['ether', 'ip', 'ip6', 'arp', 'rarp', 'tcp', 'udp', 'icmp'] as const;
type ProtoWord = (typeof PROTO_WORDS)[number];
const IPPROTO: Record<string, number> = { icmp: 1, tcp: 6, udp: 17 };

interface Qual {
  proto?: ProtoWord;
  dir: 'src' | 'dst' | 'either' | 'both';
  type: 'host' | 'net' | 'port' | 'portrange';
}

function tokenize(s: string): string[] {
  const out: string[] = [];
  const re = /\s*(\(|\)|&&|\|\||!|[^\s()!&|]+)/y;
  let m: RegExpExecArray | null;
  let at = 0; // a failed sticky exec resets lastIndex, so keep our own
  while ((m = re.exec(s))) {
    out.push(m[1]!);
    at = re.lastIndex;
  }
  if (s.slice(at).trim()) throw syntaxError();
  return out;
}

function parseIp(s: string): number | null {
  const p = s.split('.');
  if (p.length !== 4 || p.some((x) => !/^\d{1,3}$/.test(x) || Number(x) > 255)) return null;
  return p.reduce((a, x) => a * 256 + Number(x), 0);
}

function parseNum(s: string): number | null {
  if (/^0x[0-9a-f]+$/i.test(s)) return parseInt(s, 16);
  if (/^\d+$/.test(s)) return Number(s);
  return null;
}

const isMac = (s: string) => /^([0-9a-f]{1,2}[:.-]){5}[0-9a-f]{1,2}$/i.test(s);
const normMac = (s: string) => s.split(/[:.-]/).map((x) => x.toLowerCase().padStart(2, '0')).join(':');

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

class Parser {
  private i = 0;
  /** The last primitive's qualifiers, 'proto' after a protocol alone, null before any. */
  private last: Qual | 'proto' | null = null;
  constructor(private readonly t: string[]) {}

  parse(): FramePredicate {
    if (!this.t.length) return () => true;
    const p = this.or();
    if (this.i < this.t.length) throw syntaxError();
    return p;
  }
  private peek(): string | undefined {
    return this.t[this.i];
  }
  private next(): string {
    const x = this.t[this.i++];
    if (x === undefined) throw syntaxError();
    return x;
  }
  private or(): FramePredicate {
    let l = this.and();
    while (this.peek() === 'or' || this.peek() === '||') {
      this.i++;
      const a = l, b = this.and();
      l = (f) => a(f) || b(f);
    }
    return l;
  }
  private and(): FramePredicate {
    let l = this.not();
    while (this.peek() === 'and' || this.peek() === '&&') {
      this.i++;
      const a = l, b = this.not();
      l = (f) => a(f) && b(f);
    }
    return l;
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
    const w = this.next();
    if (w === '(') {
      const e = this.or();
      if (this.next() !== ')') throw syntaxError();
      return e;
    }
    if (w === 'vlan') {
      const n = this.peek() !== undefined ? parseNum(this.peek()!) : null;
      if (n !== null) {
        this.i++;
        if (n > 4095) throw new FilterSyntaxError(`VLAN tag ${n} greater than maximum 4095`);
        return (f) => f.vlans[0] === n;
      }
      return (f) => f.vlans.length > 0;
    }
    if (w === 'less' || w === 'greater') {
      const n = parseNum(this.next());
      if (n === null) throw syntaxError();
      return w === 'less' ? (f) => f.len <= n : (f) => f.len >= n;
    }
    if (w === 'broadcast') return (f) => f.ethDst === 'ff:ff:ff:ff:ff:ff';
    if (w === 'multicast') return (f) => f.ethDst !== '' && (parseInt(f.ethDst.slice(0, 2), 16) & 1) === 1;
    const q: Qual = { dir: 'either', type: 'host' };
    let qualified = false;
    if ((PROTO_WORDS as readonly string[]).includes(w)) {
      q.proto = w as ProtoWord;
      qualified = true;
      const nx = this.peek();
      if (nx === 'proto' && (w === 'ether' || w === 'ip')) {
        this.i++;
        return this.protoNumber(w);
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
      if ((this.peek() === 'or' || this.peek() === 'and') && (this.t[this.i + 1] === (d === 'src' ? 'dst' : 'src'))) {
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
  private protoOnly(p: ProtoWord): FramePredicate {
    switch (p) {
      case 'ether':
        return () => true;
      case 'ip':
        return (f) => f.type === 0x0800;
      case 'ip6':
        return (f) => f.type === 0x86dd;
      case 'arp':
        return (f) => f.type === 0x0806;
      case 'rarp':
        return (f) => f.type === 0x8035;
      default: {
        const n = IPPROTO[p]!;
        return (f) => f.type === 0x0800 && f.proto === n;
      }
    }
  }
  private protoNumber(layer: 'ether' | 'ip'): FramePredicate {
    const w = this.next().replace(/^\\/, '');
    if (layer === 'ether') {
      const n = parseNum(w) ?? ({ ip: 0x0800, arp: 0x0806, ip6: 0x86dd, rarp: 0x8035 } as Record<string, number>)[w];
      if (n === undefined) throw new FilterSyntaxError(`unknown ether proto '${w}'`);
      return (f) => f.type === n;
    }
    const n = parseNum(w) ?? IPPROTO[w];
    if (n === undefined) throw new FilterSyntaxError(`unknown ip proto '${w}'`);
    return (f) => f.type === 0x0800 && f.proto === n;
  }
  private primitive(q: Qual, id: string): FramePredicate {
    const dirTest = <T>(get: (f: FrameFields, w: 'src' | 'dst') => T, ok: (v: T) => boolean): FramePredicate => {
      switch (q.dir) {
        case 'src':
          return (f) => ok(get(f, 'src'));
        case 'dst':
          return (f) => ok(get(f, 'dst'));
        case 'both':
          return (f) => ok(get(f, 'src')) && ok(get(f, 'dst'));
        default:
          return (f) => ok(get(f, 'src')) || ok(get(f, 'dst'));
      }
    };
    const l3 = (f: FrameFields): boolean =>
      q.proto === 'arp' ? f.type === 0x0806 : q.proto === 'ip' ? f.type === 0x0800 : f.type === 0x0800 || f.type === 0x0806;
    if (q.type === 'host' && (q.proto === 'ether' || isMac(id))) {
      if (!isMac(id)) throw new FilterSyntaxError(`unknown ether host '${id}' (dpemu resolves no names: use a MAC address)`);
      const m = normMac(id);
      return dirTest((f, w) => (w === 'src' ? f.ethSrc : f.ethDst), (v) => v === m);
    }
    if (q.type === 'host' || q.type === 'net') {
      if (q.proto && !['ip', 'arp'].includes(q.proto)) throw new FilterSyntaxError(`'${q.proto} ${q.type}' is not valid`);
      let net: { addr: number; mask: number } | null;
      if (q.type === 'host') {
        const a = parseIp(id);
        if (a === null && /^[\d.]+$/.test(id)) throw new FilterSyntaxError(`invalid IPv4 address '${id}'`);
        if (a === null) throw new FilterSyntaxError(`unknown host '${id}' (dpemu resolves no names: use an IPv4 address)`);
        net = { addr: a, mask: 0xffffffff };
      } else {
        net = parseNet(id);
        if (net && this.peek() === 'mask') {
          this.i++;
          const m = parseIp(this.next());
          if (m === null) throw syntaxError();
          net = { addr: net.addr, mask: m };
        }
        if (!net) throw new FilterSyntaxError(netError(id));
      }
      const { addr, mask } = net;
      const inner = dirTest((f, w) => (w === 'src' ? f.src : f.dst), (v) => v >= 0 && ((v & mask) >>> 0) === addr);
      return (f) => l3(f) && inner(f);
    }
    // port / portrange
    if (q.proto && !['tcp', 'udp', 'ip'].includes(q.proto)) throw new FilterSyntaxError(`'${q.proto} ${q.type}' is not valid`);
    let lo: number, hi: number;
    if (q.type === 'port') {
      const n = parseNum(id);
      if (n === null) throw new FilterSyntaxError(`unknown port '${id}' (dpemu knows no service names)`);
      lo = hi = portNumber(n);
    } else {
      const m = /^(\d+)-(\d+)$/.exec(id);
      if (!m) throw new FilterSyntaxError(`unknown port in range '${id}' (dpemu knows no service names)`);
      const a = portNumber(Number(m[1])), b = portNumber(Number(m[2]));
      lo = Math.min(a, b);
      hi = Math.max(a, b);
    }
    const want = q.proto === 'tcp' ? 6 : q.proto === 'udp' ? 17 : -1;
    const inner = dirTest((f, w) => (w === 'src' ? f.sport : f.dport), (v) => v >= lo && v <= hi);
    return (f) => f.type === 0x0800 && (want < 0 ? f.proto === 6 || f.proto === 17 : f.proto === want) && f.sport >= 0 && inner(f);
  }
}

/** Compile a filter expression; throws FilterSyntaxError with libpcap-like wording. */
export function compileFilter(expr: string): FramePredicate {
  return new Parser(tokenize(expr)).parse();
}
