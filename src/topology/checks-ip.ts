// Checks of a namespace's (gateway's, host's) IP state against its own
// interfaces, as the kernel would check them when the state is applied:
// devices exist, a gateway is reachable through a link-scope route
// ("Nexthop has invalid gateway"), a preferred source is local, neighbours
// name a device. Syntax issues of the text blocks are reported here too.
import type { IpStack, NsInterface, TextBlock } from './model.js';
import type { Ctx } from './assemble.js';
import { YamlSource, type Path } from './yaml-source.js';
import { checkIp6, checkIptables, checkNeighbours, checkRoutes, checkRules, type BlockIssue, type RouteFacts } from './text-blocks.js';
import { didYouMean } from './suggest.js';
import { words } from './light-ip.js';
import { parsePrefix6 } from '../netns/ip-tokens.js';
import { contains, formatIp, networkOf, parseIp } from './addr.js';

/** Report block issues at their file positions. */
export function reportBlock(ctx: Ctx, b: TextBlock, issues: readonly BlockIssue[]): void {
  for (const i of issues) {
    const { line, col } = YamlSource.blockPos(b, i.line, i.col);
    ctx.errors.add({ ...b.loc, line, col }, i.message);
  }
}

/** An issue at an IPv6 address or prefix of an IPv4 block says where IPv6 lines go. */
function ipv6Hint(text: string, issues: readonly BlockIssue[], block: string): BlockIssue[] {
  return issues.map((i) => {
    const word = text.split('\n')[i.line - 1]?.slice(i.col - 1).split(/\s/)[0] ?? '';
    return word.includes(':') && parsePrefix6(word) ? { ...i, message: `${i.message} (IPv6 lines go in \`${block}\`)` } : i;
  });
}

interface LinkRoute {
  readonly net: number;
  readonly len: number;
  readonly dev: string;
}

/** Check one IP stack. `what` names it in messages ("namespace snat-...", "gateway tor", "host vm"). */
export function checkIpStack(ctx: Ctx, path: Path, what: string, stack: Omit<IpStack, 'iptables' | 'rules' | 'routes6' | 'rules6'> & Partial<IpStack>): void {
  const ifs = new Map<string, NsInterface>(stack.interfaces.map((i) => [i.name, i]));
  const devOk = (d: string): boolean => d === 'lo' || ifs.has(d);
  const noDev = (d: string): string => {
    return `no interface ${JSON.stringify(d)} in ${what}${didYouMean(d, ifs.keys())}`;
  };
  const local = new Set<number>([parseIp('127.0.0.1')!]);
  const linkRoutes: LinkRoute[] = [];
  for (const i of stack.interfaces) {
    for (const a of i.addresses) {
      if (a.inet6) continue; // checkIp6's
      const ip = parseIp(a.ip)!;
      local.add(ip);
      if (a.prefixLen < 32) linkRoutes.push({ net: ip, len: a.prefixLen, dev: i.name });
    }
  }

  // ifindexes as the kernel numbers devices: one device each, 1 being lo's (the builder gives them as written).
  const byIndex = new Map<number, string>([[1, 'lo']]);
  for (const i of stack.interfaces) {
    if (i.ifindex === undefined) continue;
    const other = byIndex.get(i.ifindex);
    if (other !== undefined) ctx.errors.add(ctx.src.loc([...path, 'interfaces', i.name, 'ifindex']), `duplicate ifindex ${i.ifindex}: already ${other}'s`);
    else byIndex.set(i.ifindex, i.name);
  }

  // sysctls naming a device: net.ipv4.conf.<dev>.x, net.ipv4.neigh.<dev>.x, net.ipv6.conf.<dev>.x
  for (const [key, value] of Object.entries(stack.sysctls)) {
    // Every sysctl dpemu models is one integer; anything else would be set as NaN (the kernel says: Invalid argument).
    if (!/^\s*-?\d+\s*$/.test(value)) ctx.errors.add(ctx.src.loc([...path, 'sysctls', key]), `expected an integer, got ${JSON.stringify(value)}`);
    const m = /^net\.ipv[46]\.(?:conf|neigh)\.([^.]+)\./.exec(key);
    const dev = m?.[1]?.replace(/\//g, '.'); // sysctl writes a '.' of a device name as '/'
    if (dev && dev !== 'all' && dev !== 'default' && !devOk(dev)) ctx.errors.add(ctx.src.keyLoc([...path, 'sysctls', key]), noDev(dev));
  }

  if (stack.routes) {
    const b = stack.routes;
    const r = checkRoutes(b.text);
    reportBlock(ctx, b, ipv6Hint(b.text, r.issues, 'routes6'));
    const at = (line: number, col: number) => YamlSource.blockPos(b, line, col);
    const err = (line: number, col: number, msg: string): void => ctx.errors.add({ ...b.loc, ...at(line, col) }, msg);
    // Routes without a gateway are link-scope routes too, wherever they are in the text.
    for (const rt of r.routes) {
      if (!rt.via && rt.dev && rt.type === 'unicast' && devOk(rt.dev.text) && (rt.scope ?? 'link') === 'link') {
        linkRoutes.push({ net: rt.dst.ip, len: rt.dst.len, dev: rt.dev.text });
      }
    }
    for (const rt of r.routes) checkRoute(rt, devOk, noDev, local, linkRoutes, err, stack.interfaces);
    const seen = new Map<string, number>();
    for (const rt of r.routes) {
      const k = `${rt.table} ${rt.dst.ip}/${rt.dst.len} ${rt.tos} ${rt.metric}`;
      const first = seen.get(k);
      if (first !== undefined) err(rt.line, rt.dstCol, `route is already on block line ${first}: same table, destination, tos and metric (the kernel would say: RTNETLINK answers: File exists)`);
      else seen.set(k, rt.line);
    }
  }

  if (stack.rules) {
    const r = checkRules(stack.rules.text);
    reportBlock(ctx, stack.rules, ipv6Hint(stack.rules.text, r.issues, 'rules6'));
  }

  if (stack.routes6 || stack.rules6) {
    const r = checkIp6(String(path[1]), String(path[3] ?? path[1]), stack, stack.routes6?.text, stack.rules6?.text);
    if (stack.routes6) {
      // A device the stack lacks, named with a hint (rather than as `ip` would: Cannot find device).
      const noDevs = new Map<number, BlockIssue>();
      stack.routes6.text.split('\n').forEach((raw, i) => {
        const w = words(raw.replace(/#.*$/, ''));
        const d = w[w.findIndex((x) => x.text === 'dev' || x.text === 'oif') + 1];
        if (w.some((x) => x.text === 'dev' || x.text === 'oif') && d && !devOk(d.text)) noDevs.set(i + 1, { line: i + 1, col: d.col, message: noDev(d.text) });
      });
      reportBlock(ctx, stack.routes6, [...r.routes6.filter((i) => !noDevs.has(i.line)), ...noDevs.values()].sort((x, y) => x.line - y.line));
    }
    if (stack.rules6) reportBlock(ctx, stack.rules6, r.rules6);
  }

  if (stack.neighbours) {
    const b = stack.neighbours;
    const r = checkNeighbours(b.text);
    reportBlock(ctx, b, r.issues);
    const seen = new Map<string, number>();
    for (const n of r.neighbours) {
      const pos = (col: number) => ({ ...b.loc, ...YamlSource.blockPos(b, n.line, col) });
      if (n.dev && !devOk(n.dev.text)) ctx.errors.add(pos(n.dev.col), noDev(n.dev.text));
      const k = `${n.ip.text} ${n.dev?.text}`;
      const first = seen.get(k);
      if (first !== undefined) ctx.errors.add(pos(n.ip.col), `neighbour ${n.ip.text} dev ${n.dev?.text} is already on block line ${first}`);
      else seen.set(k, n.line);
    }
  }

  if (stack.iptables) reportBlock(ctx, stack.iptables, checkIptables(stack.iptables.text).issues);
}

function checkRoute(
  rt: RouteFacts,
  devOk: (d: string) => boolean,
  noDev: (d: string) => string,
  local: ReadonlySet<number>,
  linkRoutes: readonly LinkRoute[],
  err: (line: number, col: number, msg: string) => void,
  interfaces: readonly NsInterface[],
): void {
  if (rt.dev && !devOk(rt.dev.text)) return err(rt.line, rt.dev.col, noDev(rt.dev.text));
  if (rt.via && !rt.onlink) {
    const ok = linkRoutes.some((l) => contains(l.net, l.len, rt.via!.ip) && (!rt.dev || l.dev === rt.dev.text));
    if (!ok) {
      const dev = rt.dev ? ` on ${rt.dev.text}` : '';
      err(rt.line, rt.via.col, `expected a gateway reachable through a connected route${dev}, got ${rt.via.text} (the kernel would say: Nexthop has invalid gateway)`);
    }
  }
  if (rt.src && rt.type !== 'local' && rt.type !== 'broadcast' && !local.has(rt.src.ip)) {
    err(rt.line, rt.src.col, `expected an address of this namespace as src, got ${rt.src.text} (the kernel would say: Invalid prefsrc address)`);
  }
  if (rt.proto === 'kernel' && rt.type === 'unicast' && rt.dev) {
    const dev = rt.dev.text;
    const want = `${formatIp(rt.dst.ip)}/${rt.dst.len}`;
    const made = interfaces
      .find((i) => i.name === dev)
      ?.addresses.some((a) => !a.inet6 && a.prefixLen === rt.dst.len && networkOf(parseIp(a.ip)!, a.prefixLen) === want);
    if (!made) err(rt.line, rt.dstCol, `expected a proto kernel route to match an address of ${dev}, got ${want} (no address of ${dev} makes it)`);
  }
}
