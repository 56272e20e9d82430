// A live `bridge [-s] [-t] [-n NS] NODE monitor [OBJECT...]`: iproute2 6.1's
// bridge monitor on a node, printing what the kernel's bridges tell
// (fdb_notify) as bridge/monitor.c prints it. In a hypervisor's root view
// those are its Linux bridges (the qbr per VM): an entry learned, moved to
// another port, or gone when it aged out (`Deleted ... stale`, as
// fdb_to_nud reports an expired entry), and a port's settings changed by
// `bridge link set` (br_ifinfo_notify's RTM_NEWLINK, printed as `bridge
// link` prints the port then: bridge-link.ts). An emulated namespace holds
// no Linux bridge: it listens and hears nothing. The root view's other
// links, its groups and VLANs change only with the topology, so no other
// `link`, nor `mdb`, `vlan` or `vni` records come. Queued and delivered as
// ip monitor's lines.
import { matches } from '../netns/ip-tokens.js';
import type { FdbRow, LinuxBridge } from '../l2/linux-bridge.js';
import type { Port } from '../datapath/element.js';
import { linkRecord } from './bridge-link.js';
import { portOf, viewOf, type View } from './bridge-view.js';
import { bridgeArgv } from './bridge-argv.js';
import { DeferredBatches, nowUs, type CaptureOptions } from './capture.js';
import type { EventLine } from './conntrack-events.js';
import type { Scope } from './command.js';
import { monitorStamp } from './ip-monitor.js';
import { ControlError } from './protocol.js';
import { linuxBridges, mustNamespace, mustNode } from './resolve.js';
import { isHypervisor } from './root-netns.js';

const MONITOR_USAGE = 'Usage: bridge monitor [file | link | fdb | mdb | vlan | vni | all]';

export interface BridgeMonitorWords {
  /** The Linux bridges whose fdb is heard (none in an emulated namespace, or when fdb is not asked for). */
  bridges: LinuxBridge[];
  /** Those whose ports' RTM_NEWLINK records are heard (none unless link is asked for). */
  linkBridges: LinuxBridge[];
  /** The view a port's record is printed from, as it is when told. */
  view: () => View;
  /** `all`: each record after its group's banner ([NEIGH] for the fdb's, [LINK] for a port's). */
  banner: boolean;
  stats: boolean;
  details: boolean;
  timestamp: boolean;
}

/** The words after `bridge`, as bridge.c and monitor.c read them; their refusals in bridge's words. */
export function bridgeMonitorOf(scope: Scope, argv: readonly string[]): BridgeMonitorWords {
  const o = bridgeArgv(argv);
  if (o.words[0] === undefined || !matches(o.words[0], 'monitor')) throw new ControlError('Usage: dpemu bridge [-s] [-t] [-n NS] NODE monitor [OBJECT...]', 255);
  // monitor.c: every group at first; an object named listens to the objects named alone (from there on),
  // `all` to every group again, each record after its banner.
  let all = true, fdb = false, link = false, banner = false;
  for (const w of o.words.slice(1)) {
    if (matches(w, 'file')) throw new ControlError("Error: 'bridge monitor file' is not emulated (dpemu has no netlink dump files).", 255);
    else if (matches(w, 'link')) [all, link] = [false, true];
    else if (matches(w, 'mdb') || matches(w, 'vlan') || w === 'vni') all = false;
    else if (matches(w, 'fdb')) [all, fdb] = [false, true];
    else if (w === 'all') all = banner = true;
    else if (matches(w, 'help')) throw new ControlError(MONITOR_USAGE, 255);
    else throw new ControlError(`Argument "${w}" is unknown, try "bridge monitor help".`, 255);
  }
  const node = mustNode(scope, o.node);
  const root = o.ns === undefined && isHypervisor(scope.emu, node);
  if (!root) mustNamespace(scope, node, o.ns);
  const bridges = root ? linuxBridges(scope.emu, node) : [];
  return {
    bridges: all || fdb ? bridges : [],
    linkBridges: all || link ? bridges : [],
    view: () => viewOf(scope, o),
    banner,
    stats: o.stats,
    details: o.details,
    timestamp: o.timestamp,
  };
}

export class BridgeMonitor {
  private readonly unlisten: (() => void)[];
  private readonly out: DeferredBatches<EventLine>;

  constructor(
    private readonly words: BridgeMonitorWords,
    opts: Pick<CaptureOptions, 'maxQueue' | 'congested' | 'defer'>,
    deliver: (lines: EventLine[]) => void,
  ) {
    this.out = new DeferredBatches(opts, deliver);
    this.unlisten = [...words.bridges.map((b) => b.listenFdb((r, gone) => this.onFdb(b, r, gone))), ...words.linkBridges.map((b) => b.listenLink((p) => this.onLink(p)))];
  }

  get captured(): number {
    return this.out.captured;
  }

  get dropped(): number {
    return this.out.dropped;
  }

  /** print_fdb's line for the entry as fdb_fill_info reports it now: an expired one is `stale`. */
  private onFdb(b: LinuxBridge, r: FdbRow, gone: boolean): void {
    if (!this.out.room()) return;
    const now = b.engine.now, w = this.words;
    const age = (t: number): number => Math.floor((now - t) / 1000);
    const state = r.state === '' && now - r.updated > b.ageingMs ? 'stale' : r.state;
    let text = `${gone ? 'Deleted ' : ''}${r.mac} dev ${r.dev} ${w.stats ? `used ${age(r.used)}/${age(r.updated)} ` : ''}master ${b.name} ${state}`;
    if (w.banner) text = `[NEIGH]${text}`;
    // print_timestamp's own line comes first, then the record.
    if (w.timestamp) text = monitorStamp(nowUs(), 'long') + text;
    this.out.push({ text });
  }

  /** print_linkinfo's record of the port as the view shows it now. */
  private onLink(port: Port): void {
    if (!this.out.room()) return;
    const v = this.words.view(), l = v.ns.links().find((x) => x.name === port.name);
    const p = l && portOf(v, l);
    if (!l || !p) return;
    let text = linkRecord(l, p, this.words.details).text.replace(/\n$/, '');
    if (this.words.banner) text = `[LINK]${text}`;
    if (this.words.timestamp) text = monitorStamp(nowUs(), 'long') + text;
    this.out.push({ text });
  }

  stop(): void {
    for (const u of this.unlisten) u();
    this.out.clear();
  }
}
