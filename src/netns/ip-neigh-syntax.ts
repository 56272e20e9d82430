// `ip neigh` text: the arguments of `ip neigh add|replace|change|del`
// (iproute2 ip/ipneigh.c ipneigh_modify) and the lines `ip neigh show`
// prints (print_neigh, iproute2 >= 5.16: every field followed by a space).

import { type Ip4, type Mac, formatIp4, formatMac, parseIp4, parseMac } from './addr.js';
import { type Family, type Token, TokenStream, tokenize } from './ip-tokens.js';
import { RtnlError } from './errors.js';
import { parseIpv6 } from '../wire/addr.js';
import { type NeighEntry, NUD, NUD_VALID, nudFromName, nudName } from './neighbour.js';
import { type NeighSpec } from './specs.js';

const KEYWORDS = ['dev', 'lladdr', 'nud', 'router', 'proxy', 'extern_learn', 'use', 'managed', 'protocol', 'to', 'used', 'probes', 'ref'];
const STATES = ['INCOMPLETE', 'REACHABLE', 'STALE', 'DELAY', 'PROBE', 'FAILED', 'NOARP', 'PERMANENT'];

/**
 * Parse `ip neigh add` arguments (after the verb) or a line of `ip neigh
 * show`. The address is IPv6 under -6 (`family`), or with a `:` in no
 * family, refused as get_addr refuses it (ip exits 1).
 */
export function parseNeigh(ts: TokenStream, show: boolean, family?: Family): NeighSpec {
  let ip: Ip4 | undefined;
  let ip6: Uint8Array | undefined;
  let badLladdr: Token | undefined;
  const n: Partial<NeighSpec> = {};
  while (!ts.done) {
    const t = ts.next();
    const w = t.text;
    if (w === 'dev') n.dev = ts.value(t).text;
    else if (w === 'lladdr') {
      const v = ts.value(t);
      const m = parseMac(v.text);
      if (m === undefined && show) throw ts.error(v, `invalid lladdr '${v.text}'`);
      if (m === undefined) badLladdr = v;
      else n.lladdr = m;
    } else if (w === 'nud') {
      const v = ts.value(t);
      const s = v.text === 'all' ? undefined : nudFromName(v.text);
      if (s === undefined) throw ts.error(v, `invalid nud state '${v.text}'`);
      n.state = s;
    } else if (w === 'router') n.router = true;
    else if (w === 'proxy') n.proxy = true;
    else if (w === 'extern_learn' || w === 'use' || w === 'managed' || w === 'offload') continue;
    else if (w === 'protocol' || (show && (w === 'probes' || w === 'ref' || w === 'used'))) ts.value(t);
    else if (show && STATES.includes(w)) n.state = (n.state ?? 0) | nudFromName(w)!;
    else {
      let a = t;
      if (w === 'to') a = ts.value(t);
      if (ip !== undefined || ip6 !== undefined) throw ts.unknown(a, [...KEYWORDS, ...STATES]);
      if (family === 'inet6' || (family === undefined && a.text.includes(':'))) {
        ip6 = parseIpv6(a.text) ?? undefined;
        if (ip6 === undefined) throw new RtnlError('EINVAL', undefined, `Error: ${family ?? 'any valid'} address is expected rather than "${a.text}".`, 1);
        continue;
      }
      ip = parseIp4(a.text);
      if (ip === undefined && family === 'inet' && a.text.includes(':')) throw new RtnlError('EINVAL', undefined, `Error: inet address is expected rather than "${a.text}".`, 1);
      if (ip === undefined) {
        throw /^[0-9]/.test(a.text) ? ts.error(a, `invalid address '${a.text}'`) : ts.unknown(a, [...KEYWORDS, ...STATES]);
      }
    }
  }
  if (!show) {
    // ip sends NTF_ROUTER or not: the kernel sets the flag as the request has it.
    n.router ??= false;
    // ipneigh_modify's order: the device and address, then ll_addr_a2n's reading, then the kernel's length check.
    if (n.dev === undefined || (ip === undefined && ip6 === undefined)) throw new RtnlError('EINVAL', undefined, 'Device and destination are required arguments.', 255);
    if (badLladdr && /^[0-9a-f]{1,2}(:[0-9a-f]{1,2}){0,4}$/i.test(badLladdr.text)) throw new RtnlError('EINVAL', 'Invalid link address');
    if (badLladdr && !/^[0-9a-f]{1,2}(:[0-9a-f]{1,2})*$/i.test(badLladdr.text)) throw new RtnlError('EINVAL', undefined, `"${badLladdr.text}" is invalid lladdr.`, 1);
    if (badLladdr) throw ts.error(badLladdr, `a link-layer address longer than 6 bytes is not emulated ('${badLladdr.text}')`);
  }
  if (ip6 !== undefined) {
    if (n.proxy) throw ts.error(undefined, 'IPv6 proxy entries (proxy NDP) are not emulated');
    return { ...n, ip: 0, ip6 };
  }
  if (ip === undefined) throw ts.error(undefined, 'missing neighbour address');
  return { ...n, ip };
}

export function parseNeighLine(line: string, lineNo = 1, source?: string): NeighSpec {
  return parseNeigh(new TokenStream(tokenize(line), lineNo, source), true);
}

export function parseNeighArgs(args: string, lineNo = 1, source?: string, family?: Family): NeighSpec {
  return parseNeigh(new TokenStream(tokenize(args), lineNo, source), false, family);
}

/** A neighbour as ip prints it, of either family: its address as text. */
export interface NeighRow {
  dst: string;
  state: number;
  mac: Mac;
  router: boolean;
}

/** An IPv4 entry as a row. */
export const neighRow = (e: NeighEntry<unknown>): NeighRow => ({ dst: formatIp4(e.ip), state: e.state, mac: e.mac, router: e.router });

/**
 * One entry as print_neigh prints it, trailing space included: the address,
 * `dev` (unless listing one device), `lladdr` while the state is valid,
 * `router`, then the state.
 */
export function formatNeigh(e: NeighRow, devName: string | undefined): string {
  let s = `${e.dst} `;
  if (devName !== undefined) s += `dev ${devName} `;
  if (e.state & NUD_VALID) s += `lladdr ${formatMac(e.mac)} `;
  if (e.router) s += 'router ';
  if (e.state !== NUD.NONE) s += nudName(e.state).split(' ').map((x) => `${x} `).join('');
  return s;
}

/**
 * One entry as `ip -br neigh` prints it: the address padded to 39 and the
 * device (unless listing one) to 16, each followed by a space, then the
 * link-layer address while there is one (no space after it).
 */
export function formatNeighBrief(ip: Ip4 | string, devName: string | undefined, lladdr: Mac | undefined): string {
  return `${(typeof ip === 'string' ? ip : formatIp4(ip)).padEnd(39)} ${devName !== undefined ? `${devName.padEnd(16)} ` : ''}${lladdr !== undefined ? formatMac(lladdr) : ''}`;
}

/** `ip neigh show proxy` line. */
export function formatProxyNeigh(ip: Ip4, devName: string): string {
  return `${formatIp4(ip)} dev ${devName} proxy `;
}

/** The states `ip neigh show` lists without `nud`: everything but NONE and NOARP (iproute2's default filter). */
export const NUD_SHOW_DEFAULT = 0xff & ~NUD.NOARP;
/** `nud all`. */
export const NUD_SHOW_ALL = ~0;
/** A filter's bit for `nud none` (state 0 has no bit of its own), as iproute2 has it. */
const NUD_SHOW_NONE = 0x100;

/** The filter bits of one `nud STATE` word (`all` too); undefined: not a state. */
export function nudShowBits(word: string): number | undefined {
  if (word === 'all') return NUD_SHOW_ALL;
  const s = nudFromName(word);
  return s === undefined ? undefined : s === NUD.NONE ? NUD_SHOW_NONE : s;
}

/** Whether `ip neigh show` with the states filter `mask` lists an entry in `state` (ipneigh.c print_neigh). */
export function neighShown(state: number, mask: number): boolean {
  return (mask & state) !== 0 || (state === NUD.NONE && (mask & NUD_SHOW_NONE) !== 0);
}
