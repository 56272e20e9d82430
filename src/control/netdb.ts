// The names `iptables -L` (without -n) prints, from the host's /etc files as
// glibc's nss_files reads them (a file of /etc/netns/NS where `ip netns exec
// NS` would bind-mount it over /etc's): the daemon runs on the host the real
// tool would run on. Each listing makes a new NetDb and each file is read at most
// once by it, on first use: glibc opens the file again at each lookup, so an
// edit shows at the next listing.
//
// Addresses: xtables_ipaddr_to_anyname asks getnameinfo (hosts: files, then
// DNS), then getnetbyaddr (/etc/networks), then prints the number. An
// emulated namespace has no name server it can reach: the real tool there
// finds /etc/hosts names, its DNS query fails (TRY_AGAIN, so getnameinfo
// fails instead of answering with the number) and /etc/networks is read:
// 127.0.0.0/8 prints as loopback/8. That is what iptables-legacy 1.8.9 prints
// in a namespace whose name server cannot be reached.
//
// Names to addresses (getaddrinfo for AF_INET, as arping asks, or AF_UNSPEC,
// as ping does, in the client that runs the tool): /etc/hosts first (`ip
// netns exec NS` bind-mounts /etc/netns/NS/hosts over it where there is
// one), then DNS, whose server no
// emulated namespace reaches: a name the resolver would ask about fails with
// EAI_AGAIN, one it refuses to ask about with EAI_NONAME (checked against
// glibc 2.36 in a namespace with no route to its name server).

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inetAton } from './inet-aton.js';
import { parseIpv4, parseIpv6 } from '../wire/addr.js';

/** A file's entries: its words per line, comments (`#` to the end) and blank lines left out. */
function entries(path: string): string[][] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return []; // no file: every lookup misses, as in glibc
  }
  const out: string[][] = [];
  for (const line of text.split('\n')) {
    const words = line.replace(/#.*/, '').trim().split(/[ \t]+/);
    if (words[0] !== '') out.push(words);
  }
  return out;
}

/** The first name per key; later lines for the same key are never reached (nss_files returns the first match). */
function firstByKey(rows: string[][], key: (row: string[]) => string | undefined, name: (row: string[]) => string | undefined): Map<string, string> {
  const m = new Map<string, string>();
  for (const row of rows) {
    const k = key(row);
    const n = name(row);
    if (k !== undefined && n !== undefined && !m.has(k)) m.set(k, n);
  }
  return m;
}

/**
 * files-network.c: a number of fewer than four parts gets `.0` parts
 * appended before inet_network reads it (`127` is 127.0.0.0); with four
 * parts inet_network reads as inet_aton does.
 */
function networkNumber(text: string): number {
  const parts = text.split('.').length;
  return parts > 4 ? -1 : inetAton(text + '.0'.repeat(4 - parts));
}

/**
 * files-hosts.c's address for an AF_INET lookup: inet_pton's dotted quad (no
 * leading zeros), ::1 as 127.0.0.1 and a v4-mapped address as its IPv4 one;
 * -1 for any other (the line is skipped).
 */
function hostsAddr4(word: string): number {
  if (/^(0|[1-9]\d{0,2})(\.(0|[1-9]\d{0,2})){3}$/.test(word)) return parseIpv4(word) ?? -1;
  const b = parseIpv6(word);
  if (!b || b.subarray(0, 10).some((x) => x !== 0)) return -1;
  const v = ((b[12]! << 24) | (b[13]! << 16) | (b[14]! << 8) | b[15]!) >>> 0;
  if (b[10] === 0xff && b[11] === 0xff) return v;
  return b[10] === 0 && b[11] === 0 && v === 1 ? 0x7f000001 : -1;
}

/** files-hosts.c's address for an AF_UNSPEC lookup: inet_pton's IPv4, else its IPv6 (kept as it is: no mapping); null to skip the line. */
function hostsAddr(word: string): HostAddr | null {
  const a = hostsAddr4(word);
  if (a >= 0 && !word.includes(':')) return { v6: false, addr: a };
  const b = parseIpv6(word);
  return b === null ? null : { v6: true, addr: b };
}

/**
 * res_hnok (glibc 2.36): printable ASCII, labels of 1 to 63 letters, digits,
 * `-` and `_` (a final dot allowed), 253 characters at most, no leading `-`.
 */
function resolverWouldAsk(name: string): boolean {
  const bare = name.endsWith('.') ? name.slice(0, -1) : name;
  if (bare === '' || bare.length > 253 || name.startsWith('-')) return false;
  return bare.split('.').every((l) => /^[A-Za-z0-9_-]{1,63}$/.test(l));
}

/** gai_strerror's words for what getaddrinfo fails with here. */
export const EAI_NONAME = 'Name or service not known';
export const EAI_AGAIN = 'Temporary failure in name resolution';

/** One address a hosts line gives a name: IPv4 (a number) or IPv6 (16 bytes). */
export type HostAddr = { v6: false; addr: number } | { v6: true; addr: Uint8Array };

/** nss_dns's failure for a name the hosts file lacks: digits and dots not ending in a dot are an address or nothing; the rest is asked of a server out of reach. */
export function notFound(name: string): string {
  if (/^[0-9][0-9.]*$/.test(name) && !name.endsWith('.')) return EAI_NONAME;
  return resolverWouldAsk(name) ? EAI_AGAIN : EAI_NONAME;
}

/**
 * net-tools' INET_resolve (lib/inet.c): "default" (a network), a number
 * inet_aton takes (a host), then, with `hostFirst`, /etc/hosts, then
 * /etc/networks (a network), then the hosts (and the name server out of
 * reach) last; else herror's words for the failure.
 */
export function inetResolve(text: string, hostFirst: boolean, db: NetDb): { addr: number; isNet: boolean } | string {
  if (text === 'default') return { addr: 0, isNet: true };
  const n = inetAton(text);
  if (n >= 0) return { addr: n, isNet: false };
  const host = hostFirst ? db.hostByName(text) : undefined;
  if (typeof host === 'number') return { addr: host, isNet: false };
  const net = db.netByName(text);
  if (net !== undefined) return { addr: net, isNet: true };
  // hostFirst: h_errno is getnetbyname's (not found); otherwise the hosts are asked last.
  const last = hostFirst ? 'Unknown host' : db.hostByName(text);
  if (typeof last === 'number') return { addr: last, isNet: false };
  return last === EAI_AGAIN ? 'Host name lookup failure' : 'Unknown host';
}

export class NetDb {
  private hosts?: Map<string, string>;
  private hosts6?: Map<string, string>;
  private networks?: Map<string, string>;
  private services?: Map<string, string>;
  private servicePorts?: Map<string, number>;
  private protocols?: Map<string, string>;

  /** `netns`: the namespace `ip netns exec` would run the tool in (its /etc/netns/NS files over /etc's). */
  constructor(private readonly dir = '/etc', private readonly netns?: string) {}

  /** A file as the tool sees it: /etc/netns/NS/FILE where ip netns exec bind-mounts one, else /etc/FILE. */
  private file(name: string): string {
    const own = this.netns === undefined ? undefined : join(this.dir, 'netns', this.netns, name);
    return own !== undefined && existsSync(own) ? own : join(this.dir, name);
  }

  /**
   * getaddrinfo(name, AF_INET) from a namespace (see the top of this file):
   * the address of the first hosts line naming it (its first name or an
   * alias, case aside), else gai_strerror's words for the failure.
   */
  hostByName(name: string): number | string {
    const h = this.hostEntByName(name);
    return typeof h === 'string' ? h : h.addr;
  }

  /**
   * hostByName with getaddrinfo's AI_CANONNAME answer (what ping's header
   * names): the hosts line's first name, or a number as typed.
   */
  hostEntByName(name: string): { addr: number; canon: string } | string {
    // inet_aton's numbers are taken before any lookup (the tools' own inet_aton first).
    const n = inetAton(name);
    if (n >= 0) return { addr: n, canon: name };
    const want = name.toLowerCase();
    for (const r of entries(this.file('hosts'))) {
      const a = r.length > 1 ? hostsAddr4(r[0]!) : -1;
      if (a >= 0 && r.slice(1).some((w) => w.toLowerCase() === want)) return { addr: a, canon: r[1]! };
    }
    return notFound(name);
  }

  /**
   * getaddrinfo(name, AF_UNSPEC)'s hosts part (nss_files' gethostbyname4,
   * before the RFC 3484 sort): every line naming it (first name or alias,
   * case aside) in the file's order, IPv4 lines as IPv4 and IPv6 ones as
   * IPv6 (`::1` stays ::1), and the first such line's first name
   * (AI_CANONNAME); else gai_strerror's words. Numbers are the caller's.
   */
  hostsByName(name: string): { canon: string; addrs: HostAddr[] } | string {
    const want = name.toLowerCase();
    let canon: string | undefined;
    const addrs: HostAddr[] = [];
    for (const r of entries(this.file('hosts'))) {
      const a = r.length > 1 ? hostsAddr(r[0]!) : null;
      if (a === null || !r.slice(1).some((w) => w.toLowerCase() === want)) continue;
      canon ??= r[1]!;
      addrs.push(a);
    }
    return canon === undefined ? notFound(name) : { canon, addrs };
  }

  /** gethostbyaddr(AF_INET) from /etc/hosts: the first line with this IPv4 address, its first name. */
  hostByAddr(addr: number): string | undefined {
    this.hosts ??= firstByKey(entries(this.file('hosts')), (r) => {
      // files-hosts.c's AF_INET reading of the address (hostsAddr4: a `::1` line names 127.0.0.1).
      const a = r.length > 1 ? hostsAddr4(r[0]!) : -1;
      return a < 0 ? undefined : String(a);
    }, (r) => r[1]);
    return this.hosts.get(String(addr >>> 0));
  }

  /** gethostbyaddr(AF_INET6) from /etc/hosts: the first IPv6 line with this address, its first name. */
  hostByAddr6(addr: Uint8Array): string | undefined {
    const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, 16).toString('hex');
    this.hosts6 ??= firstByKey(entries(this.file('hosts')), (r) => {
      const a = r.length > 1 ? hostsAddr(r[0]!) : null;
      return a?.v6 ? hex(a.addr) : undefined;
    }, (r) => r[1]);
    return this.hosts6.get(hex(addr));
  }

  /** getnetbyaddr(net, AF_INET) from /etc/networks. */
  netByAddr(net: number): string | undefined {
    this.networks ??= firstByKey(entries(this.file('networks')), (r) => {
      const n = r.length > 1 ? networkNumber(r[1]!) : -1;
      return n < 0 ? undefined : String(n);
    }, (r) => r[0]);
    return this.networks.get(String(net >>> 0));
  }

  /** getnetbyname(name) from /etc/networks: the network of the first line naming it (name or alias, case aside), as an address. */
  netByName(name: string): number | undefined {
    const want = name.toLowerCase();
    for (const r of entries(this.file('networks'))) {
      const n = r.length > 1 ? networkNumber(r[1]!) : -1;
      if (n >= 0 && [r[0]!, ...r.slice(2)].some((w) => w.toLowerCase() === want)) return n;
    }
    return undefined;
  }

  /** getservbyport(htons(port), proto) from /etc/services. */
  serviceByPort(port: number, proto: string): string | undefined {
    this.services ??= firstByKey(entries(this.file('services')), (r) => {
      const m = r.length > 1 ? /^(\d+)\/(\S+)$/.exec(r[1]!) : null;
      return m ? `${Number(m[1])}/${m[2]}` : undefined;
    }, (r) => r[0]);
    return this.services.get(`${port}/${proto}`);
  }

  /** getservbyname(name, proto) from /etc/services: a service's name or one of its aliases. */
  portByService(name: string, proto: string): number | undefined {
    if (!this.servicePorts) {
      this.servicePorts = new Map();
      for (const r of entries(this.file('services'))) {
        const m = r.length > 1 ? /^(\d+)\/(\S+)$/.exec(r[1]!) : null;
        if (!m) continue;
        for (const n of [r[0]!, ...r.slice(2)]) if (!this.servicePorts.has(`${n}/${m[2]}`)) this.servicePorts.set(`${n}/${m[2]}`, Number(m[1]));
      }
    }
    return this.servicePorts.get(`${name}/${proto}`);
  }

  /** getprotobynumber from /etc/protocols. */
  protocolByNumber(proto: number): string | undefined {
    this.protocols ??= firstByKey(entries(this.file('protocols')), (r) => (r.length > 1 && /^\d+$/.test(r[1]!) ? String(Number(r[1])) : undefined), (r) => r[0]);
    return this.protocols.get(String(proto));
  }

  /** xtables_ipaddr_to_anyname in a namespace without a reachable name server (see the top of this file). */
  addrName(addr: number): string | undefined {
    return this.hostByAddr(addr) ?? this.netByAddr(addr);
  }
}
