// `ip route get ADDRESS [from ADDRESS] [iif DEV] [oif DEV] [mark MARK] [tos TOS]`:
// ask the routing code what it would do with one packet, and print the
// answer as iproute2 prints the kernel's cloned route (inet_rtm_getroute ->
// rt_fill_info -> print_route). With iif the question goes to
// ip_route_input (forwarding), without it to ip_route_output (a local
// socket). Compared line for line with a real kernel in
// test/e2e/ip-route-get.test.ts.
import { IpSyntaxError, RtnlError, notPrefix, type Errno } from './errors.js';
import { parseIp4, type Ip4 } from './addr.js';
import { RT_TABLE_MAIN, tableName, parseU32, dsfieldFromName } from './names.js';
import { type Netns, LOOPBACK_IFINDEX } from './netns.js';
import { routeInput, type InputDropReason } from './route-input.js';
import { routeOutput } from './route-output.js';
import { bindPmtu, type PmtuException } from './pmtu.js';
import { type Family, familyPrefix, tokenize } from './ip-tokens.js';
import { type JsonObject, jsonDump } from './json-writer.js';
import { ipToString } from '../wire/addr.js';

interface Query {
  dst: Ip4;
  src: Ip4;
  iif?: string;
  oif?: string;
  mark: number;
  tos: number;
}

/** ip_route_input's refusals, as the errno `ip` reports. */
const DROP_ERRNO: Record<InputDropReason, Errno> = {
  mc_not_joined: 'EINVAL',
  martian_source: 'EINVAL',
  martian_destination: 'EINVAL',
  ip_invalid_source: 'EINVAL',
  ip_rpfilter: 'EXDEV',
  no_in_dev: 'ENODEV',
};

function parse(args: string, line: number, source?: string, family?: Family): Query {
  const toks = tokenize(args);
  const q: Query = { dst: 0, src: 0, mark: 0, tos: 0 };
  let dst: Ip4 | undefined;
  const fail = (i: number, reason: string): never => {
    const t = toks[i] ?? toks[toks.length - 1];
    throw new IpSyntaxError(line, t?.col ?? 1, t?.text ?? '', reason, source);
  };
  let parsedOne = false;
  const addr = (i: number): Ip4 => {
    const w = toks[i]?.text;
    if (w === undefined) return fail(i, 'argument is missing');
    if (family === 'inet6' || family === 'link') {
      familyPrefix(w, family); // ip's refusal of an IPv4 word there
      return fail(i, 'an IPv6 lookup is ip-route6-get.ts\'s'); // not reached: runCommand sends -6 there
    }
    const a = parseIp4(w.endsWith('/32') ? w.slice(0, -3) : w);
    // get_prefix's refusal, in the request's family (unset until an address parsed, unless -4); ip exits at once with status 1.
    if (a === undefined) throw notPrefix(w, parsedOne || family === 'inet' ? 'inet' : 'any valid');
    parsedOne = true;
    return a;
  };
  for (let i = 0; i < toks.length; i++) {
    const w = toks[i]!.text;
    const value = (): string => toks[i + 1]?.text ?? fail(i, 'argument is missing');
    switch (w) {
      case 'from':
        q.src = addr(++i);
        break;
      case 'iif':
      case 'oif':
        q[w] = value();
        i++;
        break;
      case 'mark': {
        const m = parseU32(value());
        if (m === undefined) fail(i + 1, `invalid mark "${toks[i + 1]!.text}"`);
        q.mark = m!;
        i++;
        break;
      }
      case 'tos':
      case 'dsfield': {
        const t = dsfieldFromName(value());
        if (t === undefined) fail(i + 1, `invalid TOS "${toks[i + 1]!.text}"`);
        q.tos = t!;
        i++;
        break;
      }
      case 'to':
        dst = addr(++i);
        break;
      default:
        if (dst !== undefined) fail(i, `unknown or duplicate argument "${w}"`);
        dst = addr(i);
    }
  }
  if (dst === undefined) throw new IpSyntaxError(line, 1, '', 'need at least a destination address', source);
  q.dst = dst;
  return q;
}

/** What print_route shows of the kernel's answer (a cloned route: no protocol or scope). */
interface Answer {
  type?: string;
  dst: string;
  from?: string;
  gateway?: string;
  dev: string;
  table?: string;
  prefsrc?: string;
  mark?: number;
  /** RTA_UID: output routes only. */
  uid?: number;
  /** print_cache_flags' RTCF_ names. */
  cache: string[];
  /** A learned path MTU: RTA_CACHEINFO's expiry (s left) and the MTU metric. */
  pmtu?: { expires: number; mtu: number; locked: boolean };
  iif?: string;
}

function formatAnswer(a: Answer): string {
  let s = `${a.type ? `${a.type} ` : ''}${a.dst}${a.from ? ` from ${a.from}` : ''}${a.gateway ? ` via ${a.gateway}` : ''} dev ${a.dev}`;
  s += `${a.table ? ` table ${a.table}` : ''}${a.prefsrc ? ` src ${a.prefsrc}` : ''}`;
  // print_route: a mark below 16 in decimal, from 16 on in hex.
  if (a.mark) s += a.mark >= 16 ? ` mark 0x${a.mark.toString(16)}` : ` mark ${a.mark}`;
  if (a.uid !== undefined) s += ` uid ${a.uid}`;
  const p = a.pmtu;
  const pmtu = p === undefined ? '' : `expires ${p.expires}sec mtu ${p.locked ? 'lock ' : ''}${p.mtu} `;
  return `${s} \n    cache ${a.cache.length ? `<${a.cache.join(',')}> ` : ''}${pmtu}${a.iif !== undefined ? `iif ${a.iif} ` : ''}\n`;
}

/** The same as `ip -j route get` prints it (print_route's JSON members). */
const answerJson = (a: Answer): JsonObject => ({
  type: a.type, dst: a.dst, from: a.from, gateway: a.gateway, dev: a.dev, table: a.table, prefsrc: a.prefsrc,
  flags: [], mark: a.mark || undefined, uid: a.uid, cache: a.cache,
  // RTA_CACHEINFO's expiry, and the metrics (a lock is not in the JSON).
  expires: a.pmtu?.expires, metrics: a.pmtu ? [{ mtu: a.pmtu.mtu }] : undefined, iif: a.iif,
});

/** The `ip [-4|-6|-0] route get` text for `args` (what follows `ip route get`), or with `json` what `ip -j [-p] route get` prints. */
export function routeGet(ns: Netns, args: string, line = 1, source?: string, json?: { pretty: boolean }, family?: Family): string {
  const a = answer(ns, parse(args, line, source, family));
  return json ? jsonDump([answerJson(a)], json.pretty) : formatAnswer(a);
}

function answer(ns: Netns, q: Query): Answer {
  const devIndex = (name: string): number => {
    const d = ns.link(name);
    if (!d) throw new RtnlError('ENODEV', undefined, `Cannot find device "${name}"`, 1);
    return d.index;
  };
  const devName = (i: number) => ns.linkByIndex(i)?.name ?? `if${i}`;
  // iproute2 prints the table unless it is main, or 0 (no FIB result).
  const table = (t: number | undefined) => (t && t !== RT_TABLE_MAIN ? tableName(t) : undefined);
  const base = { dst: ipToString(q.dst), from: q.src ? ipToString(q.src) : undefined, mark: q.mark };

  if (q.iif !== undefined) {
    const iif = devIndex(q.iif);
    if (q.oif !== undefined) devIndex(q.oif); // named devices must exist; ip_route_input itself ignores oif
    const d = routeInput(ns, { src: q.src, dst: q.dst, iif, tos: q.tos, mark: q.mark });
    if (d.kind === 'drop') throw new RtnlError(DROP_ERRNO[d.reason]);
    if (d.kind === 'unreachable') throw new RtnlError(d.errno);
    if (d.kind === 'forward') {
      const gateway = d.route.gateway ? ipToString(d.route.gateway) : undefined;
      // The input route binds the exception as forwarding does and shows its MTU whatever ip_forward_use_pmtu says.
      const x = ns.pmtu.size !== 0 ? bindPmtu(ns, d.route, q.dst) : undefined;
      return { ...base, gateway, dev: devName(d.oif), table: table(d.fib.table), cache: d.redirect ? ['redirect'] : [], ...pmtuShown(ns, x), iif: q.iif };
    }
    // An input route's device is the loopback for what is delivered here.
    const local = d.kind === 'local';
    return { ...base, type: local ? 'local' : 'broadcast', dev: devName(LOOPBACK_IFINDEX), table: table(d.fib?.table), cache: local ? ['local'] : ['local', 'brd'], iif: q.iif };
  }

  const d = routeOutput(ns, { dst: q.dst, src: q.src, oif: q.oif !== undefined ? devIndex(q.oif) : 0, tos: q.tos, mark: q.mark });
  if (d.kind === 'error') throw new RtnlError(d.errno);
  return {
    ...base,
    type: d.kind === 'unicast' ? undefined : d.kind,
    gateway: d.route?.gateway && d.nexthop !== q.dst ? ipToString(d.nexthop) : undefined,
    dev: devName(d.oif),
    table: table(d.fib?.table),
    // RTA_PREFSRC only when routing chose a source other than the one asked for.
    prefsrc: d.src !== q.src ? ipToString(d.src) : undefined,
    uid: 0,
    cache: d.kind === 'local' ? ['local'] : d.kind === 'broadcast' ? ['local', 'brd'] : d.kind === 'multicast' ? ['mc'] : [],
    ...pmtuShown(ns, d.pmtu),
  };
}

/** rt_fill_info's expiry (whole seconds left) and MTU of the exception a route bound. */
const pmtuShown = (ns: Netns, x: PmtuException | undefined): Pick<Answer, 'pmtu'> =>
  x ? { pmtu: { expires: Math.max(0, Math.floor((x.expires - ns.clock()) / 1000)), mtu: x.mtu, locked: x.locked } } : {};
