// `ip route get ADDRESS [from ADDRESS] [iif DEV] [oif DEV] [mark MARK] [tos TOS]`:
// ask the routing code what it would do with one packet, and print the
// answer as iproute2 prints the kernel's cloned route (inet_rtm_getroute ->
// rt_fill_info -> print_route). With iif the question goes to
// ip_route_input (forwarding), without it to ip_route_output (a local
// socket). Compared line for line with a real kernel in
// test/e2e/ip-route-get.test.ts.
import { IpSyntaxError, RtnlError, type Errno } from './errors.js';
import { parseIp4, type Ip4 } from './addr.js';
import { RT_TABLE_MAIN, tableName, parseU32, dsfieldFromName } from './names.js';
import { type Netns, LOOPBACK_IFINDEX } from './netns.js';
import { routeInput, type InputDropReason } from './route-input.js';
import { routeOutput } from './route-output.js';
import { tokenize } from './ip-tokens.js';
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

function parse(args: string, line: number, source?: string): Query {
  const toks = tokenize(args);
  const q: Query = { dst: 0, src: 0, mark: 0, tos: 0 };
  let dst: Ip4 | undefined;
  const fail = (i: number, reason: string): never => {
    const t = toks[i] ?? toks[toks.length - 1];
    throw new IpSyntaxError(line, t?.col ?? 1, t?.text ?? '', reason, source);
  };
  const addr = (i: number): Ip4 => {
    const w = toks[i]?.text;
    if (w === undefined) return fail(i, 'argument is missing');
    const a = parseIp4(w.endsWith('/32') ? w.slice(0, -3) : w);
    return a === undefined ? fail(i, `an inet address is expected rather than "${w}"`) : a;
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

/** The `ip route get` text for `args` (what follows `ip route get`). */
export function routeGet(ns: Netns, args: string, line = 1, source?: string): string {
  const q = parse(args, line, source);
  const devIndex = (name: string): number => {
    const d = ns.link(name);
    if (!d) throw new RtnlError('ENODEV', undefined, `Cannot find device "${name}"`, 1);
    return d.index;
  };
  const devName = (i: number) => ns.linkByIndex(i)?.name ?? `if${i}`;
  // iproute2 prints the table unless it is main, or 0 (no FIB result).
  const table = (t: number | undefined) => (t && t !== RT_TABLE_MAIN ? ` table ${tableName(t)}` : '');
  const from = q.src ? ` from ${ipToString(q.src)}` : '';
  const mark = q.mark ? ` mark 0x${q.mark.toString(16)}` : '';
  const dst = ipToString(q.dst);

  if (q.iif !== undefined) {
    const iif = devIndex(q.iif);
    if (q.oif !== undefined) devIndex(q.oif); // named devices must exist; ip_route_input itself ignores oif
    const d = routeInput(ns, { src: q.src, dst: q.dst, iif, tos: q.tos, mark: q.mark });
    if (d.kind === 'drop') throw new RtnlError(DROP_ERRNO[d.reason]);
    if (d.kind === 'unreachable') throw new RtnlError(d.errno);
    // An input route's device is the loopback for what is delivered here.
    const cache = ` \n    cache ${d.kind === 'forward' ? (d.redirect ? '<redirect> ' : '') : d.kind === 'local' ? '<local> ' : '<local,brd> '}iif ${q.iif} \n`;
    if (d.kind === 'forward') {
      const via = d.route.gateway ? ` via ${ipToString(d.route.gateway)}` : '';
      return `${dst}${from}${via} dev ${devName(d.oif)}${table(d.fib.table)}${mark}${cache}`;
    }
    const type = d.kind === 'local' ? 'local' : 'broadcast';
    return `${type} ${dst}${from} dev ${devName(LOOPBACK_IFINDEX)}${table(d.fib?.table)}${mark}${cache}`;
  }

  const d = routeOutput(ns, { dst: q.dst, src: q.src, oif: q.oif !== undefined ? devIndex(q.oif) : 0, tos: q.tos, mark: q.mark });
  if (d.kind === 'error') throw new RtnlError(d.errno);
  const type = d.kind === 'unicast' ? '' : `${d.kind} `;
  const via = d.route?.gateway && d.nexthop !== q.dst ? ` via ${ipToString(d.nexthop)}` : '';
  // RTA_PREFSRC only when routing chose a source other than the one asked for.
  const src = d.src !== q.src ? ` src ${ipToString(d.src)}` : '';
  const flags = d.kind === 'local' ? '<local> ' : d.kind === 'broadcast' ? '<local,brd> ' : d.kind === 'multicast' ? '<mc> ' : '';
  return `${type}${dst}${from}${via} dev ${devName(d.oif)}${table(d.fib?.table)}${src}${mark} uid 0 \n    cache ${flags}\n`;
}
