// route add|del for inet (net-tools 2.10's INET_setroute), as the kernel
// takes the struct rtentry it fills (SIOCADDRT, SIOCDELRT: ip_rt_ioctl and
// rtentry_to_fib_config): the words' checks and refusals are route's own
// (usage to stderr, status 3; a name no file gives, herror's words, 6); the
// request then becomes what `ip route` would ask for: proto boot, table main,
// scope link unless a gateway is a unicast address, the metric given (an add
// is NLM_F_CREATE alone: a route like one there, other than the same, goes
// before it), reject an unreachable route of scope host, mss/window/irtt the
// advmss/window/rtt metrics; the kernel's refusal is perror's line (status 7).
import { addrType } from '../netns/addr-select.js';
import { RtnlError, strerror } from '../netns/errors.js';
import { timeMetric } from '../netns/ip-route-syntax.js';
import { RT_SCOPE_HOST, RT_SCOPE_LINK, RT_SCOPE_UNIVERSE, RT_TABLE_MAIN, RTPROT_BOOT } from '../netns/names.js';
import type { Netns } from '../netns/netns.js';
import type { RouteMetric } from '../netns/fib.js';
import type { RouteSpec } from '../netns/specs.js';
import { atolU32, strtoulU32 } from './c-numbers.js';
import { inetResolve, type NetDb } from './netdb.js';
import type { CommandResponse } from './protocol.js';

/** INET_rinput's usage(): to stdout with status 0 (no words), else to stderr with status 3. */
const USAGE = `Usage: inet_route [-vF] del {-host|-net} Target[/prefix] [gw Gw] [metric M] [[dev] If]
       inet_route [-vF] add {-host|-net} Target[/prefix] [gw Gw] [metric M]
                              [netmask N] [mss Mss] [window W] [irtt I]
                              [mod] [dyn] [reinstate] [[dev] If]
       inet_route [-vF] add {-host|-net} Target[/prefix] [metric M] reject
       inet_route [-FC] flush      NOT supported
`;
const E_OPTERR = 3, E_LOOKUP = 6, E_SOCK = 7;

class Refused extends Error {
  constructor(readonly stderr: string, readonly exit: number) {
    super(stderr);
  }
}
const usage = (first = ''): never => {
  throw new Refused(first + USAGE, E_OPTERR);
};

/** C's int of atoi (strtol's long, its low 32 bits). */
const atoi = (text: string): number => atolU32(text) | 0;

/** INET_resolve (netdb.ts); herror's words where it fails. */
function resolve(text: string, hostFirst: boolean, db: NetDb): { addr: number; isNet: boolean } {
  const r = inetResolve(text, hostFirst, db);
  if (typeof r === 'string') throw new Refused(`${text}: ${r}\n`, E_LOOKUP);
  return r;
}

const popcount = (m: number): number => {
  let n = 0;
  for (let x = m >>> 0; x; x >>>= 1) n += x & 1;
  return n;
};

/** The inet rtentry INET_setroute builds. */
interface RtEntry {
  dst: number;
  /** rt_genmask: undefined where none was given (family 0). */
  mask?: number;
  host: boolean;
  gateway?: number;
  reject: boolean;
  /** rt_metric, a short: the metric + 1. */
  metric: number;
  dev?: string;
  mss?: number;
  window?: number;
  irtt?: number;
}

/** INET_setroute's reading of the words after add|del. */
function parse(words: readonly string[], add: boolean, db: NetDb): RtEntry {
  const args = [...words];
  const xflag = args[0] === '#net' ? 1 : args[0] === '#host' ? 2 : 0;
  if (xflag) args.shift();
  if (args[0] === undefined) usage();
  let target = args.shift()!;
  const rt: RtEntry = { dst: 0, host: false, reject: false, metric: 0 };
  let netmask = 'default';
  // INET_getnetmask: /PREFIX by strtoul, shifted in 32 bits as x86 does (mod 32: /32 is a mask of 0).
  const slash = target.indexOf('/');
  if (slash >= 0) {
    const p = strtoulU32(target.slice(slash + 1));
    if (p.rest !== '') usage();
    netmask = `/${p.value | 0}`;
    rt.mask = ~(0xffffffff >>> (p.value & 31)) >>> 0;
    target = target.slice(0, slash);
  }
  const t = resolve(target, xflag === 2, db);
  rt.dst = t.addr;
  rt.host = xflag === 1 ? false : xflag === 2 ? true : !t.isNet;
  const value = (): string => args.shift() ?? usage();
  while (args.length > 0) {
    const w = args.shift()!;
    if (w === 'metric') {
      const v = args.shift();
      if (v === undefined || !/^[0-9]/.test(v)) usage();
      rt.metric = ((atoi(v!) + 1) << 16) >> 16;
    } else if (w === 'netmask') {
      const v = args.shift();
      if (v === undefined || rt.mask) usage();
      netmask = v!;
      rt.mask = resolve(v!, false, db).addr;
    } else if (w === 'gw' || w === 'gateway') {
      const v = args.shift();
      if (v === undefined || rt.gateway !== undefined) usage();
      const g = resolve(v!, true, db);
      if (g.isNet) usage(`route: ${v}: cannot use a NETWORK as gateway!\n`);
      rt.gateway = g.addr;
    } else if (w === 'mss' || w === 'mtu') {
      // An int into an unsigned long: a negative one is huge.
      const v = atoi(value());
      if (v < 64 || v > 65536) usage('route: Invalid MSS/MTU.\n');
      rt.mss = v;
    } else if (w === 'window') {
      const v = atoi(value());
      if (v >= 0 && v < 128) usage('route: Invalid window.\n');
      rt.window = v >>> 0;
    } else if (w === 'irtt') {
      rt.irtt = atoi(value()) & 0xffff; // rt_irtt: an unsigned short, in ticks (HZ 100: *= clk_tck / 100 changes nothing)
    } else if (w === 'reject') rt.reject = true;
    else if (w === 'mod' || w === 'dyn' || w === 'reinstate') continue; // flags the kernel does not read
    else if (w === 'dev' || w === 'device') {
      const v = args.shift();
      if (rt.dev !== undefined || v === undefined) usage();
      rt.dev = v;
    } else if (rt.dev === undefined) {
      // A bare word is the device, and the last word (to catch typos).
      rt.dev = w;
      if (args.length > 0) usage();
    } else usage();
  }
  if (rt.reject && rt.dev === undefined) rt.dev = 'lo';
  if (rt.mask) {
    const inv = ~rt.mask >>> 0;
    if (rt.host && inv !== 0xffffffff) usage(`route: netmask ${inv.toString(16).padStart(8, '0')} doesn't make sense with host route\n`);
    if ((inv & (inv + 1)) >>> 0) usage(`route: bogus netmask ${netmask}\n`);
    if ((rt.dst & ~rt.mask) >>> 0) usage("route: netmask doesn't match route address\n");
  }
  if (add && rt.host) rt.mask = 0xffffffff;
  return rt;
}

/** rtentry_to_fib_config: the request (what `ip route add|del` would send), or its errno. */
function fibConfig(ns: Netns, rt: RtEntry, add: boolean): RouteSpec {
  let dstLen = 32;
  if (!rt.host) {
    // bad_mask: host bits set, or a mask that is not a prefix.
    const mask = rt.mask ?? 0, inv = ~mask >>> 0;
    if ((rt.dst & inv) >>> 0 || (inv & (inv + 1)) >>> 0) throw new RtnlError('EINVAL');
    dstLen = popcount(mask);
  }
  const spec: RouteSpec = { dst: rt.dst, dstLen, tos: 0, table: RT_TABLE_MAIN };
  if (add) spec.protocol = RTPROT_BOOT;
  // fc_priority: rt_metric - 1 where set (a delete without one matches any metric).
  if (rt.metric) spec.metric = (rt.metric - 1) >>> 0;
  if (rt.reject) return { ...spec, type: 'unreachable', scope: RT_SCOPE_HOST };
  spec.type = 'unicast';
  if (rt.dev !== undefined) {
    // The first IFNAMSIZ-1 bytes; NAME:LABEL names an address's label, which gives the source.
    const name = rt.dev.slice(0, 15);
    const colon = name.indexOf(':');
    const l = ns.link(colon < 0 ? name : name.slice(0, colon));
    if (!l) throw new RtnlError('ENODEV');
    spec.dev = l.name;
    if (colon >= 0) {
      const a = l.addrs.find((x) => x.label === name);
      if (!a) throw new RtnlError('ENODEV');
      spec.src = a.local;
    }
  }
  let scope: number | undefined;
  if (rt.gateway) {
    spec.gateway = rt.gateway;
    // inet_addr_type_table in table main (the local table's routes share its trie until a rule is added).
    const local = addrType(ns, rt.gateway);
    if ((local === 'unicast' ? addrType(ns, rt.gateway, 0, RT_TABLE_MAIN) : local) === 'unicast') scope = RT_SCOPE_UNIVERSE;
  }
  if (!add) return spec;
  if (rt.gateway === 0) throw new RtnlError('EINVAL'); // RTF_GATEWAY without an address
  spec.scope = scope ?? RT_SCOPE_LINK;
  // RTAX order (window, rtt, advmss); the kernel keeps no metric of 0.
  const metrics: RouteMetric[] = [];
  if (rt.window) metrics.push(['window', false, String(rt.window)]);
  if (rt.irtt) metrics.push(['rtt', false, timeMetric('rtt', String(rt.irtt << 3))!]);
  if (rt.mss !== undefined) metrics.push(['advmss', false, String(Math.min(rt.mss - 40, 65535 - 40))]);
  if (metrics.length) spec.metrics = metrics;
  return spec;
}

/**
 * INET_rinput: `route [-C] add|del|flush WORDS` for inet (words: after the
 * verb, -net and -host already `#net` and `#host` as route's main makes them).
 */
export function routeWrite(ns: Netns, verb: string, words: readonly string[], cacheFlag: boolean, db: NetDb): CommandResponse {
  const add = verb === 'add';
  try {
    if (verb === 'flush') usage("Flushing `inet' routing table not supported\n");
    if (cacheFlag) usage("Modifying `inet' routing cache not supported\n");
    if (words.length === 0) return { ok: true, stdout: USAGE, stderr: '', exit: 0 };
    const rt = parse(words, add, db);
    try {
      const spec = fibConfig(ns, rt, add);
      if (add) ns.addRoute(spec, 'prepend');
      else ns.delRoute(spec);
    } catch (e) {
      if (e instanceof RtnlError) throw new Refused(`${add ? 'SIOCADDRT' : 'SIOCDELRT'}: ${strerror(e.errno)}\n`, E_SOCK);
      throw e;
    }
    return { ok: true, stdout: '', stderr: '', exit: 0 };
  } catch (e) {
    if (e instanceof Refused) return { ok: false, stdout: '', stderr: e.stderr, exit: e.exit };
    throw e;
  }
}
