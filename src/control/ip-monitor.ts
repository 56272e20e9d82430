// A live `ip [-t|-ts] [-n NS] NODE monitor [OBJECT...] [label]` on one
// emulated namespace: its notifications (src/netns/netlink-events.ts)
// filtered to the objects asked for, labelled and stamped as iproute2 6.1's
// ipmonitor.c prints them, queued and delivered as conntrack -E's lines
// (conntrack-events.ts): bounded, off the packet path, in batches.
import { listenNetlink, type NlEvent, type NlGroup } from '../netns/netlink-events.js';
import { matches } from '../netns/ip-tokens.js';
import { DeferredBatches, nowUs, type CaptureOptions } from './capture.js';
import type { EventLine } from './conntrack-events.js';
import { ipObject, parseIpArgv } from './ip-argv.js';
import type { Scope } from './command.js';
import { ControlError } from './protocol.js';
import { mustNamespace } from './resolve.js';
import type { Netns } from '../netns/netns.js';

/** ipmonitor.c's objects in the order it tries a word as a prefix of them; those dpemu never sends (mroute ... stats) listen to nothing. */
const OBJECTS = ['link', 'address', 'route', 'mroute', 'prefix', 'neigh', 'netconf', 'rule', 'nsid', 'nexthop', 'stats'] as const;
/** The label print_headers puts before each record of a group (with `all` or `label`). */
const LABELS: Record<NlGroup, string> = { link: '[LINK]', address: '[ADDR]', route: '[ROUTE]', neigh: '[NEIGH]', rule: '[RULE]' };

export interface MonitorWords {
  ns: Netns;
  groups: ReadonlySet<NlGroup>;
  label: boolean;
  timestamp?: 'long' | 'short';
  /** -4 or -6: the other family's addresses, routes, neighbours and rules are not heard. */
  family?: 'inet' | 'inet6';
  /** dev NAME: that device's records alone (and every rule), printed without `dev NAME` as ip's filter leaves it out. */
  dev?: { index: number; name: string };
}

/** `ip monitor`'s words: the namespace, what it listens to, how it prints; ip's refusals as ip words them. */
export function ipMonitorOf(scope: Scope, argv: readonly string[]): MonitorWords {
  const { ns, node, words, timestamp, family } = parseIpArgv(argv);
  if (words[0] === undefined || ipObject(words[0]) !== 'monitor') throw new ControlError('Usage: dpemu ip [-t|-ts] [-n NS] NODE monitor [all | OBJECT...] [label]', 255);
  const groups = new Set<NlGroup>();
  let label = false, some = false, dev: string | undefined;
  for (let i = 1; i < words.length; i++) {
    const w = words[i]!;
    if (w === 'label' || w === 'all') label = true;
    else if (w === 'dev') {
      dev = words[++i];
      if (dev === undefined) throw new ControlError('Command line is not complete. Try option "help"', 255);
    } else if (w === 'help' || w === 'all-nsid') throw new ControlError(`Error: 'ip monitor ${w}' is not supported.`, 255);
    else {
      const o = OBJECTS.find((x) => matches(w, x));
      if (o === undefined) throw new ControlError(`Argument "${w}" is unknown, try "ip monitor help".`, 255);
      some = true;
      if (o === 'link' || o === 'address' || o === 'route' || o === 'neigh' || o === 'rule') groups.add(o);
    }
  }
  // No object (or `all`): every group.
  const all: NlGroup[] = ['link', 'address', 'route', 'neigh', 'rule'];
  if (family !== undefined && family !== 'inet' && family !== 'inet6' && family !== 'link') throw new ControlError(`Error: ip -f ${family} monitor is not emulated.`, 255);
  const el = mustNamespace(scope, node, ns);
  // ip -0 monitor subscribes to the link group alone.
  const heard = some ? [...groups] : all;
  const out: MonitorWords = { ns: el.ns, groups: new Set(family === 'link' ? heard.filter((g) => g === 'link') : heard), label };
  if (timestamp) out.timestamp = timestamp;
  if (family === 'inet' || family === 'inet6') out.family = family;
  if (dev !== undefined) {
    const l = el.ns.link(dev);
    // invarg's words end in a newline of their own: a blank line follows.
    if (!l) throw new ControlError(`Error: argument "${dev}" is wrong: Device does not exist\n`, 255);
    out.dev = { index: l.index, name: l.name };
  }
  return out;
}

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');
const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** print_timestamp: -t's own line (asctime's), or -ts's prefix (ISO 8601 with microseconds). */
export function monitorStamp(us: number, kind: 'long' | 'short'): string {
  const d = new Date(Math.floor(us / 1000));
  const usec = pad(us % 1_000_000, 6);
  if (kind === 'short') return `[${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${usec}] `;
  const day = String(d.getDate()).padStart(2, ' ');
  return `Timestamp: ${DAYS[d.getDay()]} ${MONTHS[d.getMonth()]} ${day} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())} ${d.getFullYear()} ${us % 1_000_000} usec\n`;
}

export class IpMonitor {
  private readonly unlisten: () => void;
  private readonly out: DeferredBatches<EventLine>;

  constructor(
    private readonly words: MonitorWords,
    opts: Pick<CaptureOptions, 'maxQueue' | 'congested' | 'defer'>,
    deliver: (lines: EventLine[]) => void,
  ) {
    this.out = new DeferredBatches(opts, deliver);
    this.unlisten = listenNetlink(words.ns, (ev) => this.onEvent(ev));
  }

  get captured(): number {
    return this.out.captured;
  }

  get dropped(): number {
    return this.out.dropped;
  }

  private onEvent(ev: NlEvent): void {
    const w = this.words;
    if (!w.groups.has(ev.group) || (w.family && ev.family && ev.family !== w.family)) return;
    if (w.dev && ev.ifindex !== undefined && ev.ifindex !== w.dev.index) return;
    if (!this.out.room()) return;
    const own = w.dev && (ev.group === 'route' || ev.group === 'neigh') ? ev.text.replace(` dev ${w.dev.name} `, ' ') : ev.text;
    let text = (w.label ? LABELS[ev.group] : '') + own;
    if (w.timestamp) text = monitorStamp(nowUs(), w.timestamp) + text;
    // A line of the stream is printed with a newline after it.
    this.out.push({ text: text.slice(0, -1) });
  }

  stop(): void {
    this.unlisten();
    this.out.clear();
  }
}
