// What `ip monitor` hears from a namespace: the rtnetlink notifications the
// kernel multicasts, each as iproute2 6.1 prints it (its show format, with
// `Deleted ` before a removal). Nothing here runs unless someone listens.
//
// Neighbours change on the packet path and by timers: the tables' onChange
// hook (the learned-state journal's) is wrapped while listened to, and an
// entry is reported when the kernel would notify (__neigh_update and
// neigh_timer_handler: not on the way to INCOMPLETE or DELAY, nor for a
// confirmation alone; a router flag that changed is told). Addresses,
// routes, rules and links change by configuration, and an address by its
// DAD work's outcome (dad6.ts): the namespace is
// compared before and after each change (aroundChange), and the
// differences come in the order the kernel sends them for that kind of
// change.
import { formatIp4 } from './addr.js';
import { formatAddr, formatAddr6, formatLink } from './ip-addr-syntax.js';
import { formatNeigh, neighRow } from './ip-neigh-syntax.js';
import { formatRule, gotoUnresolved } from './ip-rule-syntax.js';
import type { FibRule, RuleAddr } from './rules.js';
import { showRoutes } from './ip-text.js';
import { matches } from './ip-tokens.js';
import { NUD, type NeighEntry } from './neighbour.js';
import type { Netns } from './netns.js';
import { ip6ToString } from '../wire/tcpdump-text.js';

/** The rtnetlink groups ip monitor names (its objects). */
export type NlGroup = 'link' | 'address' | 'route' | 'neigh' | 'rule';

/** One notification: its record as ip prints it, each line ending in a newline. */
export interface NlEvent {
  group: NlGroup;
  text: string;
  /** Whose message it is: an address's, route's, rule's or neighbour's family (a link's has none). */
  family?: 'inet' | 'inet6';
  /** The device it is about (none for a rule). */
  ifindex?: number;
}

export type NlListener = (ev: NlEvent) => void;

interface Listened {
  readonly listeners: Set<NlListener>;
  /** Neighbour events while a configuration change runs: they come after its own (aroundChange). */
  held: NlEvent[] | null;
  /** Each neighbour's last state and address, to tell a notified change from a silent one. */
  readonly last: Map<string, { state: number; mac: number; router: boolean }>;
  /** The tables' own hooks (the learned-state journal's), called first. */
  prev4: NeighHook4 | null;
  prev6: NeighHook6 | null;
}

type NeighHook4 = (e: NeighEntry<unknown>, gone: boolean) => void;
type NeighHook6 = (slot: number, gone: boolean) => void;

const listened = new WeakMap<Netns, Listened>();

/** Set the neighbour tables' change hooks (the journal's), under ip monitor's when it listens. */
export function setNeighHooks(ns: Netns, h4: NeighHook4 | null, h6: NeighHook6 | null): void {
  const s = listened.get(ns);
  if (s) {
    s.prev4 = h4;
    s.prev6 = h6;
  } else {
    ns.neigh.onChange = h4;
    ns.nd6.onChange = h6;
  }
}

/** How many listen to `ns` (0: nothing is watched). */
export function netlinkListeners(ns: Netns): number {
  return listened.get(ns)?.listeners.size ?? 0;
}

/** Hear `ns`'s notifications until the returned function is called. */
export function listenNetlink(ns: Netns, l: NlListener): () => void {
  let s = listened.get(ns);
  if (!s) {
    s = { listeners: new Set(), held: null, last: new Map(), prev4: ns.neigh.onChange, prev6: ns.nd6.onChange };
    listened.set(ns, s);
    const st = s;
    for (const e of ns.neigh.entries()) st.last.set(key4(e), { state: e.state, mac: e.mac, router: e.router });
    for (const i of ns.nd6.slots()) st.last.set(key6(ns, i), { state: ns.nd6.state[i]!, mac: ns.nd6.mac[i]!, router: ns.nd6.router[i] === 1 });
    ns.neigh.onChange = (e, gone) => {
      st.prev4?.(e, gone);
      neighChanged(ns, st, key4(e), neighRow(e), e.ifindex, gone);
    };
    ns.nd6.onChange = (slot, gone) => {
      st.prev6?.(slot, gone);
      const c = ns.nd6;
      const row = { dst: ip6ToString(c.addr, slot * 16), state: c.state[slot]!, mac: c.mac[slot]!, router: c.router[slot] === 1 };
      neighChanged(ns, st, `${row.dst}%${c.ifindex[slot]}`, row, c.ifindex[slot]!, gone);
    };
  }
  s.listeners.add(l);
  const st = s;
  return () => {
    st.listeners.delete(l);
    if (st.listeners.size > 0 || listened.get(ns) !== st) return;
    listened.delete(ns);
    ns.neigh.onChange = st.prev4;
    ns.nd6.onChange = st.prev6;
  };
}

const key4 = (e: NeighEntry<unknown>): string => `${e.ip}%${e.ifindex}`;
const key6 = (ns: Netns, slot: number): string => `${ip6ToString(ns.nd6.addr, slot * 16)}%${ns.nd6.ifindex[slot]}`;

function send(s: Listened, ev: NlEvent): void {
  for (const l of s.listeners) l(ev);
}

function neighChanged(ns: Netns, s: Listened, k: string, row: ReturnType<typeof neighRow>, ifindex: number, gone: boolean): void {
  const was = s.last.get(k);
  let text: string | null = null;
  if (gone) {
    s.last.delete(k);
    text = `Deleted ${formatNeigh(row, devName(ns, ifindex))}\n`;
  } else {
    s.last.set(k, { state: row.state, mac: row.mac, router: row.router });
    const from = was?.state ?? NUD.NONE;
    const silent =
      row.state & (NUD.INCOMPLETE | NUD.DELAY) ||
      (row.state === NUD.FAILED && from === NUD.NONE) ||
      (from === row.state && was?.mac === row.mac && was.router === row.router) ||
      // ndisc_constructor makes a group's entry NOARP, untold (ff02::16's for MLD); its deletion is told.
      (from === NUD.NONE && row.state === NUD.NOARP && row.dst.startsWith('ff'));
    if (!silent) text = `${formatNeigh(row, devName(ns, ifindex))}\n`;
  }
  if (text === null) return;
  const ev: NlEvent = { group: 'neigh', text, family: row.dst.includes(':') ? 'inet6' : 'inet', ifindex };
  if (s.held) s.held.push(ev);
  else send(s, ev);
}

const devName = (ns: Netns, i: number): string => ns.linkByIndex(i)?.name ?? `if${i}`;

// ---- configuration changes ------------------------------------------------

type Listed = Exclude<keyof Snapshot, 'links'>;
type Put = (group: NlGroup, lines: readonly string[], deleted?: boolean, rule6?: boolean) => void;

interface Snapshot {
  links: Map<number, string>;
  addr4: string[];
  addr6: string[];
  route4: string[];
  route6: string[];
  rules: string[];
  rules6: string[];
}

/** A device's record as a notification carries it: ip addr's link lines, without the queue length (no IFLA_TXQLEN is printed there). */
const linkText = (ns: Netns, i: number): string => formatLink(ns.linkByIndex(i)!, (x) => ns.linkByIndex(x), true).replace(/qlen \d+\n/, '\n');

function snapshot(ns: Netns): Snapshot {
  const links = new Map<number, string>();
  const addr4: string[] = [], addr6: string[] = [];
  for (const l of ns.links()) {
    links.set(l.index, linkText(ns, l.index));
    for (const a of l.addrs) addr4.push(`${l.index}: ${l.name}${formatAddr(a)}`);
    for (const a of l.addrs6) addr6.push(`${l.index}: ${l.name}${formatAddr6(a)}`);
  }
  const lines = (t: string) => t.split('\n').filter(Boolean).map((x) => `${x}\n`);
  return {
    links, addr4, addr6,
    route4: lines(showRoutes(ns, 'all', { family: 'inet' })),
    route6: lines(showRoutes(ns, 'all', { family: 'inet6' })),
    rules: ruleLines(ns.rules.rules()),
    rules6: ruleLines(ns.rules6.rules()),
  };
}

const ruleLines = <A extends RuleAddr>(rules: readonly FibRule<A>[]): string[] => rules.map((r) => `${formatRule(r, gotoUnresolved(r, rules), false)}\n`);

/** What `after` has that `before` has not, as multisets, in `after`'s order. */
function added(before: readonly string[], after: readonly string[]): string[] {
  const left = new Map<string, number>();
  for (const x of before) left.set(x, (left.get(x) ?? 0) + 1);
  return after.filter((x) => {
    const n = left.get(x) ?? 0;
    if (n === 0) return true;
    left.set(x, n - 1);
    return false;
  });
}

const word = (line: string): string => line.slice(0, line.indexOf(' '));
/** fib_del_ifaddr removes the prefix route, the broadcasts, then the local one. */
const delRank = (line: string): number => (word(line) === 'local' ? 2 : word(line) === 'broadcast' ? 1 : 0);
const delOrder = (a: string, b: string): number => delRank(a) - delRank(b);
const isLocal6 = (line: string): boolean => word(line) === 'local' || word(line) === 'anycast';
/** An address's own routes as addrconf adds them (the local one, then a router's anycast of its prefix; ipv6_del_addr takes them in the reverse order). */
const locals6 = (lines: readonly string[]): string[] => [...lines.filter((l) => word(l) === 'local'), ...lines.filter((l) => word(l) === 'anycast')];

/**
 * fib_add_ifaddr's order over a device's addresses (NETDEV_UP runs it for
 * each in turn): an address's local route, its assigned broadcast, its
 * prefix, the subnet's broadcast. A route is placed by the address it names
 * (local) or takes its source from (the others).
 */
function addOrder(ns: Netns): (a: string, b: string) => number {
  const addrs = ns.links().flatMap((l) => l.addrs.map((x) => ({ local: formatIp4(x.local), brd: x.broadcast ? formatIp4(x.broadcast) : '' })));
  const key = (line: string): number => {
    const w = word(line), dst = line.split(' ')[w === 'local' || w === 'broadcast' ? 1 : 0]!;
    const src = / src (\S+)/.exec(line)?.[1] ?? '';
    let i = addrs.findIndex((x) => x.local === (w === 'local' ? dst : src));
    if (i < 0) i = addrs.length;
    const r = w === 'local' ? 0 : w === 'broadcast' ? (addrs[i]?.brd === dst ? 1 : 3) : 2;
    return i * 4 + r;
  };
  return (a, b) => key(a) - key(b);
}

/**
 * Addresses added or removed, each followed by its routes (a local route
 * names its address, the others take it as their source); a primary's
 * removal takes its secondaries first (__inet_del_ifa), each with its local
 * route.
 */
function byAddress(put: Put, addrs: readonly string[], routes: readonly string[], order: (a: string, b: string) => number, deleted: boolean): void {
  const left = new Set(routes);
  const ordered = deleted ? [...addrs.filter((a) => a.includes(' secondary ')), ...addrs.filter((a) => !a.includes(' secondary '))] : addrs;
  for (const a of ordered) {
    const ip = / inet ([^/]+)\//.exec(a)?.[1];
    const mine = [...left].filter((l) => (word(l) === 'local' ? l.split(' ')[1] === ip : / src (\S+)/.exec(l)?.[1] === ip));
    for (const l of mine) left.delete(l);
    put('address', [a], deleted);
    put('route', mine.sort(order), deleted);
  }
  put('route', [...left].sort(order), deleted);
}

/** A record of a change: its family and device read back from its text (an address's begins with its device's index); a rule's family as told. */
function nlEvent(ns: Netns, group: NlGroup, text: string, deleted: boolean, routes6: ReadonlySet<string>, rule6: boolean): NlEvent {
  const ev: NlEvent = { group, text: deleted ? `Deleted ${text}` : text };
  if (group === 'rule') ev.family = rule6 ? 'inet6' : 'inet';
  if (group === 'address') ev.family = text.includes('    inet6 ') ? 'inet6' : 'inet';
  if (group === 'route') ev.family = routes6.has(text) ? 'inet6' : 'inet';
  const dev = group === 'route' ? / dev (\S+)/.exec(text)?.[1] : undefined;
  if (dev !== undefined) ev.ifindex = ns.link(dev)?.index ?? 0;
  else if (group === 'address' || group === 'link') ev.ifindex = Number(text.slice(0, text.indexOf(':')));
  return ev;
}

/** The words between < and > of a link record, and its state. */
const flagsOf = (t: string): string[] => t.slice(t.indexOf('<') + 1, t.indexOf('>')).split(',');
const stateOf = (t: string): string => / state (\S+) /.exec(t)?.[1] ?? '';
const withState = (t: string, state: string): string => t.replace(/ state \S+ /, ` state ${state} `);
/** An IPv6 neighbour's line (its address has colons), Deleted or not. */
const isNeigh6 = (ev: NlEvent): boolean => ev.text.replace(/^Deleted /, '').split(' ')[0]!.includes(':');

/**
 * Around one configuration command on `ns` (ip OBJECT VERB ...; `carrier`:
 * a veth peer's going up or down; `dad`: an address out of DAD): null when nobody listens, else the
 * function to call once it ran, which sends what it changed (and the
 * neighbour events it caused, held meanwhile).
 */
export function aroundChange(ns: Netns, object: string): (() => void) | null {
  const s = listened.get(ns);
  // Within another change (a veth end's own carrier in its `ip link set`): that one tells it.
  if (!s || s.held !== null) return null;
  const before = snapshot(ns);
  s.held = [];
  return () => {
    const held = s.held ?? [];
    s.held = null;
    const after = snapshot(ns);
    const out: NlEvent[] = [];
    const v6 = new Set([...before.route6, ...after.route6]);
    const put = (group: NlGroup, lines: readonly string[], deleted = false, rule6 = false) => {
      for (const text of lines) out.push(nlEvent(ns, group, text, deleted, v6, rule6));
    };
    const gone = (k: Listed) => added(after[k], before[k]);
    const come = (k: Listed) => added(before[k], after[k]);
    const r6gone = gone('route6'), r6come = come('route6');
    if (matches(object, 'address')) {
      // IPv4 (inet_del_ifa, inet_rtm_newaddr): each address, then fib_magic's routes for it; a flush of the rest is silent.
      byAddress(put, gone('addr4'), gone('route4').filter((l) => l.includes(' proto kernel ')), delOrder, true);
      byAddress(put, come('addr4'), come('route4'), addOrder(ns), false);
      // IPv6 (inet6_addr_add, ipv6_del_addr): the prefix route before the new address, its local route after; a removal's local route, then its prefix.
      put('address', gone('addr6'), true);
      put('route', [...locals6(r6gone).reverse(), ...r6gone.filter((l) => !isLocal6(l))], true);
      put('route', r6come.filter((l) => !isLocal6(l)));
      put('address', come('addr6'));
      put('route', locals6(r6come));
    } else if (object === 'dad') {
      // The DAD work's outcome (dad6.ts): the address as it is now; valid, its local and anycast routes (__ipv6_ifa_notify).
      put('address', come('addr6'));
      put('route', locals6(r6come));
    } else if (object === 'carrier') {
      // The peer's veth end went down or up (linkwatch): the neighbours evicted (neigh_carrier_down), then the record.
      out.push(...held.filter((e) => !isNeigh6(e)), ...held.filter(isNeigh6));
      held.length = 0;
      for (const [i, t] of after.links) if (before.links.get(i) !== t) put('link', [t]);
    } else if (matches(object, 'link')) {
      linkEvents(ns, before, after, held, put, out);
    } else if (matches(object, 'route')) {
      // A replace sends the new route alone (NLM_F_REPLACE).
      for (const [g, c] of [[gone('route4'), come('route4')], [r6gone, r6come]] as const) {
        if (c.length === 0) put('route', g, true);
        put('route', c);
      }
    } else if (matches(object, 'rule')) {
      put('rule', gone('rules'), true);
      put('rule', come('rules'));
      put('rule', gone('rules6'), true, true);
      put('rule', come('rules6'), false, true);
      // An IPv6 rule's table made (fib6_new_table) tells nothing; a route changes none.
    }
    out.push(...held);
    for (const ev of out) send(s, ev);
  };
}

/**
 * ip link set: the device's message (rtmsg_ifinfo from __dev_notify_flags);
 * going up, NETDEV_UP's IPv4 routes (fib_add_ifaddr; the flush of going
 * down is silent) and addrconf's multicast and prefix routes follow, and a
 * veth's carrier shows in a second message (linkwatch) before addrconf's
 * link-local address and its routes. Going down: the neighbours flushed,
 * IPv4's first, then IPv6's routes, neighbours and addresses.
 */
function linkEvents(ns: Netns, before: Snapshot, after: Snapshot, held: NlEvent[], put: Put, out: NlEvent[]): void {
  const come = (k: Listed) => added(before[k], after[k]);
  const r6gone = added(after.route6, before.route6), r6come = come('route6');
  for (const [i, t] of after.links) {
    const was = before.links.get(i);
    if (was === t) continue;
    const up = flagsOf(t).includes('UP') && was !== undefined && !flagsOf(was).includes('UP');
    if (!up) {
      put('link', [t]);
      continue;
    }
    // The first message is sent before linkwatch runs: no RUNNING flag yet, the operstate as it was.
    const f = flagsOf(t);
    const first = withState(f.includes('NO-CARRIER') ? t : t.replace('<', '<NO-CARRIER,'), stateOf(was));
    put('link', [first]);
    put('route', come('route4').sort(addOrder(ns)));
    put('route', [...r6come.filter((l) => word(l) === 'multicast'), ...r6come.filter((l) => !isLocal6(l) && word(l) !== 'multicast')]);
    if (first !== t) put('link', [t]);
    put('address', come('addr6'));
    put('route', locals6(r6come));
    return void out.push(...held.splice(0));
  }
  out.push(...held.filter((e) => !isNeigh6(e)));
  put('route', r6gone, true);
  out.push(...held.filter(isNeigh6));
  held.length = 0;
  put('address', added(after.addr6, before.addr6), true);
}
