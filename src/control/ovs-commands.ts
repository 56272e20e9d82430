// ovs-vsctl show, ovs-ofctl and ovs-appctl on a node's bridges.
import type { FlowSpec } from '../ofproto/flow.js';
import type { Action } from '../ofproto/actions.js';
import { formatActions } from '../ofproto/action-printer.js';
import { parseFlow } from '../ofproto/flow-parser.js';
import { TABLE_ALL } from '../ofproto/flow-table.js';
import type { FlowModVersion, OvsBridge } from '../ofproto/bridge.js';
import { type CommandFamily, splitArgs } from './command.js';
import { ControlError, ok } from './protocol.js';
import { mustNode, mustOvsBridge, ovsBridges } from './resolve.js';
import { dumpPortsDesc, ofctlShow } from './ovs-show.js';
import { vsctlNode, vsctlRun } from './ovs-vsctl.js';
import { dumpTables } from './ovs-dump-tables.js';
import type { OfVersion } from '../ofproto/flow-printer.js';
import { dumpPorts } from './ovs-dump-ports.js';
import { dumpDesc, modPort, queueStats, setFrags } from './ovs-switch-replies.js';
import { FRAG_NAMES } from '../ofproto/frag-handling.js';
import { ofprotoTrace } from './ofproto-trace.js';
import { TraceFlowError } from '../ofproto/trace-flow.js';
import { FlowSyntaxError } from '../ofproto/flow-parser.js';
import { dpifFlowLine } from '../ofproto/dpif-flow-format.js';
import type { XcEntry } from '../ofproto/xlate-cache.js';
import { NodeDatapath } from '../ofproto/datapath-ports.js';
import { P_ANY, P_OF10, protocolsToString, versionBit } from '../ofproto/ofp-protocols.js';
import { fdbAdd, fdbDel, fdbStatsClear } from './ovs-fdb.js';
import { hashString, hmapOrder } from './ovs-dump-ports.js';
import { appctlAccess, FILE_NAME_OPT, ofctlAccess, orRead, vsctlAccess } from './ovs-access.js';

/** Why a flow does not parse, in ovs-ofctl's words: without dpemu's column, which ovs-ofctl does not print. */
const reason = (e: unknown): string => (e instanceof FlowSyntaxError ? e.detail : e instanceof Error ? e.message : String(e));

/** ovs-ofctl's message for a flow it cannot parse, with dpemu's reason. */
function flowError(e: unknown): ControlError {
  return e instanceof ControlError ? e : new ControlError(`ovs-ofctl: ${reason(e)}`);
}


/**
 * The flows of a file's text (one a line, blank and '#' lines skipped), each
 * parsed by `parse` before any is used: as ovs-ofctl, which reads the whole
 * file before sending a flow_mod, a bad line changes nothing. A bad line is
 * named as parse_ofp_flow_mod_file names it, `FILE:LINE: reason` (checked
 * against ovs-ofctl 3.1 parse-flows; `-` for text sent without a name, as stdin).
 */
function parseLines<T>(text: string, file: string | null, parse: (flow: string) => T): T[] {
  const out: T[] = [];
  text.split('\n').forEach((line, i) => {
    const t = line.trim();
    if (t === '' || t.startsWith('#')) return;
    try {
      out.push(parse(t));
    } catch (e) {
      throw new ControlError(`ovs-ofctl: ${file !== null ? `${file}:${i + 1}: ` : ''}${reason(e)}`);
    }
  });
  return out;
}

function parseAdd(br: OvsBridge, flow: string): FlowSpec {
  const s = parseFlow(flow, { resolvePort: (n) => br.portByName(n)?.ofport });
  if (s.table >= TABLE_ALL) throw new Error('add-flow needs a table 0..254');
  return s;
}

const sameActions = (a: readonly Action[], b: readonly Action[]): boolean =>
  formatActions(a, { dialect: 'stored' }) === formatActions(b, { dialect: 'stored' });

/** `s` in a string of its own: a line of a file's text would otherwise keep the whole text alive. */
const ownCopy = (s: string): string => Buffer.from(s, 'utf8').toString('utf8');

/** A flow argument that is a file's text (the CLI sends `-` and add-flows FILE as their lines, ending in a newline). */
const fromFile = (arg: string): boolean => arg.includes('\n');

/**
 * ovs-ofctl refuses flows none of whose usable versions (FlowSpec.usable:
 * their flags, out_group, actions that mean something else in another
 * version) -O allows, before sending any; its words, checked against
 * ovs-ofctl 3.1.
 */
function checkUsable(flows: readonly FlowSpec[], protocols: string | undefined): void {
  const usable = flows.reduce((p, f) => p & (f.usable ?? P_ANY), P_ANY);
  const allowed = protocols === undefined ? P_OF10 : minors(protocols).reduce((p, v) => p | versionBit(v), 0);
  if (usable & allowed) return;
  throw new ControlError(`ovs-ofctl: none of the usable flow formats (${protocolsToString(usable)}) is among the allowed flow formats (${protocolsToString(allowed)})`);
}

/** The minor numbers of the OpenFlow 1.x versions `-O` lists. */
const minors = (protocols: string): number[] => [...protocols.matchAll(/openflow1([0-5])/gi)].map((m) => Number(m[1]));

/** The version `-O` asks for: the highest it lists (what OVS negotiates with a bridge that allows them all). */
function ofVersion(protocols: string | undefined): OfVersion {
  if (protocols === undefined) return 10;
  const v = Math.max(-1, ...minors(protocols).filter((n) => n === 0 || n >= 3));
  if (v < 0) throw new ControlError(`ovs-ofctl: ${protocols}: dpemu speaks OpenFlow10 and OpenFlow13 to OpenFlow15 here`);
  return (10 + v) as OfVersion;
}

export const vsctl: CommandFamily = {
  name: 'vsctl',
  access: vsctlAccess,
  target: (argv) => ({ node: orRead(() => vsctlNode(argv), undefined) }),
  run: (ctx, argv) => vsctlRun(ctx, argv),
};

export const ofctl: CommandFamily = {
  name: 'ofctl',
  access: ofctlAccess,
  target: (argv) => ({ node: splitArgs(argv, ['-O', '--protocols']).words[1] }),
  run(ctx, argv) {
    const { emu } = ctx;
    const { opts, words } = splitArgs(argv, ['-O', '--protocols']);
    const [sub, node, bridge, ...rest] = words;
    const strict = opts.has('--strict');
    const arg = rest.join(' ');
    const fileName = opts.get(FILE_NAME_OPT) || '-';
    const protocols = opts.get('-O') ?? opts.get('--protocols');
    /** The version -O asks for (read only where it matters: a bad one is an error). */
    const version = (): OfVersion => ofVersion(protocols);
    /** What a flow_mod means: OpenFlow 1.0 (ovs-ofctl's default), 1.3 and 1.4, or 1.5 (-O). */
    const openflow = (): FlowModVersion => {
      const v = version();
      return v === 10 || v === 15 ? v : 13;
    };
    switch (sub) {
      case 'dump-flows': {
        const br = mustOvsBridge(ctx, node, bridge);
        const v = version();
        // --strict means nothing to dump-flows (its request is never strict): priority= stays refused.
        const names = opts.has('--names');
        const stats = !opts.has('--no-stats');
        const order = opts.has('--sort') ? 1 : opts.has('--rsort') ? -1 : 0;
        let lines: string[];
        try {
          if (arg) checkUsable([br.checkFlowMod(arg, false, false)], protocols);
          lines = br.dumpFlows({ names, noStats: !stats, filter: arg || undefined, version: v, decoded: order !== 0 });
        } catch (e) {
          throw flowError(e);
        }
        // ovs-ofctl 3.1 prints the reply as it came, headed by its type, only with stats and without
        // names; else it prints the flows it decoded, one a line (ofctl_dump_flows). A filter costs
        // two requests before (the port and table names it may use), so the reply's xid is 4 higher.
        const xid = (v === 10 ? 4 : 2) + (arg ? 4 : 0);
        // --sort/--rsort: the decoded flows, sorted (compare_flows; qsort as glibc's, stable), so no reply header.
        if (order) {
          const field = opts.get(order > 0 ? '--sort' : '--rsort');
          if (field && field !== 'priority') throw new ControlError(`ovs-ofctl: ${order > 0 ? '--sort' : '--rsort'}=${field}: dpemu sorts by priority only`);
          const prio = (l: string) => Number(/\bpriority=(\d+)/.exec(l)?.[1] ?? 32768); // a flow at OFP_DEFAULT_PRIORITY prints none
          return ok(lines.map((l, i) => [l, prio(l), i] as const).sort((a, b) => order * (a[1] - b[1]) || a[2] - b[2]).map(([l]) => l + '\n').join(''));
        }
        const head = !stats || names ? '' : `${v === 10 ? 'NXST_FLOW reply' : `OFPST_FLOW reply (OF1.${v - 10})`} (xid=0x${xid.toString(16)}):\n`;
        return ok(head + lines.map((l) => l + '\n').join(''));
      }
      case 'dump-aggregate': {
        // As dump-flows' filter (--strict means nothing to it either: a stats request is never strict).
        const br = mustOvsBridge(ctx, node, bridge);
        if (rest.length > 1) throw new ControlError(`ovs-ofctl: '${sub}' command takes at most 2 arguments`);
        const v = version();
        let agg: { packets: number; bytes: number; flows: number };
        try {
          if (arg) checkUsable([br.checkFlowMod(arg, false, false)], protocols);
          agg = br.aggregate(arg || undefined);
        } catch (e) {
          throw flowError(e);
        }
        const xid = (v === 10 ? 4 : 2) + (arg ? 4 : 0);
        const head = v === 10 ? 'NXST_AGGREGATE reply' : `OFPST_AGGREGATE reply (OF1.${v - 10})`;
        return ok(`${head} (xid=0x${xid.toString(16)}): packet_count=${agg.packets} byte_count=${agg.bytes} flow_count=${agg.flows}\n`);
      }
      case 'dump-desc':
      case 'get-frags': {
        const br = mustOvsBridge(ctx, node, bridge);
        if (rest.length) throw new ControlError(`ovs-ofctl: '${sub}' command takes at most 1 arguments`);
        const v = version();
        if (sub === 'get-frags') return ok(`${FRAG_NAMES[br.fragMode]}\n`);
        const model = emu.topology.nodes.find((n) => n.name === br.node);
        return ok(dumpDesc(model?.ovsVersion ?? '3.1.0', v));
      }
      case 'set-frags': {
        const br = mustOvsBridge(ctx, node, bridge);
        if (rest.length !== 1) throw new ControlError(`ovs-ofctl: 'set-frags' command ${rest.length ? 'takes at most' : 'requires at least'} 2 arguments`);
        version();
        setFrags(br, rest[0]!);
        ctx.invalidate(`${br.node}:${br.name} frags`);
        return ok('');
      }
      case 'queue-stats': {
        const br = mustOvsBridge(ctx, node, bridge);
        if (rest.length > 2) throw new ControlError(`ovs-ofctl: '${sub}' command takes at most 3 arguments`);
        return ok(queueStats(br, version(), rest[0], rest[1]));
      }
      case 'mod-port': {
        const br = mustOvsBridge(ctx, node, bridge);
        if (rest.length !== 2) throw new ControlError(`ovs-ofctl: 'mod-port' command ${rest.length > 2 ? 'takes at most' : 'requires at least'} 3 arguments`);
        modPort(br, version(), rest[0]!, rest[1]!);
        ctx.invalidate(`${br.node}:${br.name} ports`);
        return ok('');
      }
      case 'dump-ports-desc':
        return ok(dumpPortsDesc(emu, mustOvsBridge(ctx, node, bridge), version()));
      case 'show': {
        const br = mustOvsBridge(ctx, node, bridge);
        if (rest.length) throw new ControlError(`ovs-ofctl: 'show' command takes at most 1 arguments`);
        return ok(ofctlShow(emu, br, version()));
      }
      case 'dump-ports': {
        const br = mustOvsBridge(ctx, node, bridge);
        if (rest.length > 1) throw new ControlError(`ovs-ofctl: '${sub}' command takes at most 2 arguments`);
        return ok(dumpPorts(br, emu.engine.stats, version(), emu.engine.now, rest[0]));
      }
      case 'dump-tables':
        return ok(dumpTables(mustOvsBridge(ctx, node, bridge), version()));
      case 'add-flow':
      case 'add-flows': {
        const br = mustOvsBridge(ctx, node, bridge);
        if (!arg) throw new ControlError(`ovs-ofctl: '${sub}' command requires at least 2 arguments`);
        const file = sub === 'add-flows' || fromFile(arg);
        const specs = parseLines(file ? rest.join('\n') : arg, file ? fileName : null, (f) => ({ spec: parseAdd(br, f), line: f }));
        const v = version();
        checkUsable(specs.map((s) => s.spec), protocols);
        const of = openflow();
        for (const { spec, line } of specs) {
          // A flow_mod before OpenFlow 1.4 carries no importance: the flow has none.
          const dropped = v < 14 && spec.importance !== 0;
          const e = br.addFlow(dropped ? { ...spec, importance: 0 } : spec, { openflow: of });
          // Its own line (with the reset_counts an OF1.0 add implies) parses to it again under OpenFlow 1.4, as a
          // configuration log snapshot replays it (FlowEntry.configText): the snapshot need not format it. Not
          // where the version changed the flow: no importance, or actions OF1.0 spells otherwise (goto_table).
          if (!dropped && sameActions(e.actions, spec.actions)) e.configText = ownCopy(`${of === 10 ? 'reset_counts,' : ''}${line}\n`);
        }
        ctx.invalidate(`${br.node}:${br.name} flows`);
        return ok('');
      }
      case 'mod-flows':
      case 'del-flows': {
        const br = mustOvsBridge(ctx, node, bridge);
        if (sub === 'mod-flows' && !arg) throw new ControlError("ovs-ofctl: 'mod-flows' command requires at least 2 arguments");
        const mod = sub === 'mod-flows';
        // One flow, or a file's (`-`): every flow parses before the table is touched.
        const check = (f: string): { f: string; spec: FlowSpec } => ({ f, spec: br.checkFlowMod(f, mod, strict) });
        try {
          const flows = fromFile(arg) ? parseLines(arg, fileName, check) : [check(arg)];
          version(); // a -O dpemu does not speak is refused before anything else
          checkUsable(flows.map((x) => x.spec), protocols);
          for (const { f } of flows) {
            if (mod) br.modFlows(f, { strict, openflow: openflow() });
            else br.delFlows(f || undefined, { strict });
          }
        } catch (e) {
          throw flowError(e);
        }
        ctx.invalidate(`${br.node}:${br.name} flows`);
        return ok('');
      }
      case undefined:
        throw new ControlError('ovs-ofctl: missing command name; use --help for help');
      default:
        throw new ControlError(`ovs-ofctl: unknown command '${sub}'; use --help for help (dpemu knows show, dump-flows, dump-aggregate, dump-desc, dump-ports, dump-ports-desc, dump-tables, queue-stats, get-frags, set-frags, mod-port, add-flow, add-flows, mod-flows, del-flows)`);
    }
  },
};

// ofproto/trace is a write: like OVS tracing a (generated) packet, it runs learn() and NORMAL's MAC learning.
/** ofproto/trace NODE BRIDGE BR_FLOW [--generate]: dpemu always generates the packet. */
function appctlTrace(ctx: Parameters<CommandFamily['run']>[0], args: readonly string[]): ReturnType<CommandFamily['run']> {
  const words: string[] = [];
  for (const a of args) {
    if (a === '--generate' || a === '-generate') continue;
    if (a.startsWith('-')) throw new ControlError(`${a}: unknown option (dpemu knows --generate)`, 2);
    words.push(a);
  }
  const [node, bridge, ...flow] = words;
  const br = mustOvsBridge(ctx, node, bridge);
  if (flow.length === 0) throw new ControlError('ovs-appctl: ofproto/trace needs BRIDGE and a br_flow (dpemu appctl ofproto/trace NODE BRIDGE FLOW)', 2);
  let out: string;
  try {
    out = ofprotoTrace(br, flow.join(' '));
  } catch (e) {
    if (e instanceof TraceFlowError || e instanceof FlowSyntaxError) throw new ControlError(`Bad openflow flow syntax: ${e.message}`, 2);
    throw e;
  }
  ctx.invalidate(`${br.node}:${br.name} flows`);
  return ok(out);
}

/** `br`'s datapath flows at `now`: first gone, those the revalidators would have deleted for max-idle. */
function datapathFlows(br: OvsBridge, now: number): XcEntry[] {
  const xc = br.xcache;
  if (xc === null) return [];
  xc.expireIdle(now);
  return xc.entries();
}

/**
 * dpctl/show [-s] NODE [DP]: dpctl_unixctl_handler's options (-s/--statistics;
 * -m/--more and --names/--no-names change nothing in show), its words for
 * one it does not know; the one datapath, `system@ovs-system`, or none named.
 */
function appctlDpctlShow(ctx: Parameters<CommandFamily['run']>[0], args: readonly string[]): ReturnType<CommandFamily['run']> {
  let stats = false;
  const words: string[] = [];
  for (const a of args) {
    if (a.startsWith('--')) {
      if (a === '--statistics') stats = true;
      else if (a !== '--more' && a !== '--names' && a !== '--no-names') throw new ControlError(`Unrecognized option ${a}\novs-appctl: server returned an error`, 2);
    } else if (a.startsWith('-') && a.length > 1) {
      for (const o of a.slice(1)) {
        if (o === 's') stats = true;
        else if (o !== 'm') throw new ControlError(`Unrecognized option -${o}\novs-appctl: server returned an error`, 2);
      }
    } else words.push(a);
  }
  const [node, ...dps] = words;
  const n = mustNode(ctx, node);
  const bad = dps.find((d) => d !== 'system@ovs-system');
  if (bad !== undefined) {
    // dpif_open: an unknown type has no provider, a system datapath of another name no device.
    const why = bad.includes('@') && !bad.startsWith('system@') ? 'Address family not supported by protocol' : 'No such device';
    throw new ControlError(`ovs-vswitchd: opening datapath ${bad} failed (${why})\novs-appctl: server returned an error`, 2);
  }
  const { emu } = ctx;
  const show = new NodeDatapath(ovsBridges(emu, n)).dpctlShow(emu.engine.now, stats ? emu.engine.stats : null);
  // One show a datapath named (dpctl_show), the one datapath when none is.
  return ok(dps.length > 1 ? show.repeat(dps.length) : show);
}

export const appctl: CommandFamily = {
  name: 'appctl',
  access: appctlAccess,
  // ofproto/trace and dpctl/show take options before NODE; the others name it right after the verb.
  target: (argv) => ({ node: argv[0] === 'ofproto/trace' || argv[0] === 'dpctl/show' ? argv.slice(1).find((a) => !a.startsWith('-')) : argv[1] }),
  run(ctx, argv) {
    const { emu } = ctx;
    const [sub, node, bridge] = argv;
    switch (sub) {
      case 'fdb/show':
        return ok(mustOvsBridge(ctx, node, bridge).fdbShow());
      case 'fdb/stats-show': {
        // ofproto_unixctl_fdb_stats_show's words (ovs-vswitchd 3.1).
        const n = mustNode(ctx, node), fail = (m: string) => new ControlError(`${m}\novs-appctl: server returned an error`, 2);
        if (bridge === undefined) throw fail('"fdb/stats-show" command requires at least 1 arguments');
        if (argv.length > 3) throw fail('"fdb/stats-show" command takes at most 1 arguments');
        const br = ovsBridges(emu, n).find((b) => b.name === bridge);
        if (br === undefined) throw fail('no such bridge');
        return ok(br.fdbStatsShow());
      }
      case 'fdb/flush': {
        const n = mustNode(ctx, node);
        const brs = bridge ? [mustOvsBridge(ctx, n, bridge)] : ovsBridges(emu, n);
        for (const b of brs) b.fdbFlush();
        ctx.invalidate(`${n} fdb`);
        return ok('table successfully flushed\n');
      }
      case 'fdb/add':
        return fdbAdd(ctx, argv.slice(1));
      case 'fdb/del':
        return fdbDel(ctx, argv.slice(1));
      case 'fdb/stats-clear':
        return fdbStatsClear(ctx, argv.slice(1));
      case 'ofproto/list': {
        // ofproto_unixctl_list: all_ofprotos, an hmap keyed by hash_string(name, 0), in its bucket order.
        const n = mustNode(ctx, node);
        if (argv.length > 2) throw new ControlError('"ofproto/list" command takes at most 0 arguments\novs-appctl: server returned an error', 2);
        return ok(hmapOrder(ovsBridges(emu, n).map((b) => b.name), hashString).map((b) => b + '\n').join(''));
      }
      case 'upcall/show': {
        const n = mustNode(ctx, node);
        if (argv.length > 2) throw new ControlError('"upcall/show" command takes at most 0 arguments\novs-appctl: server returned an error', 2);
        const brs = ovsBridges(emu, n);
        return ok(brs.length ? brs[0]!.udpif().show(emu.engine.now) : '');
      }
      case 'ofproto/trace':
        return appctlTrace(ctx, argv.slice(1));
      case 'dpif/dump-flows': {
        // The bridge's translation cache: dpemu's datapath flows (megaflows, as OVS's datapath holds them).
        const br = mustOvsBridge(ctx, node, bridge);
        const now = emu.engine.now, dp = new NodeDatapath(ovsBridges(emu, br.node));
        const lines = datapathFlows(br, now).map((e) => dpifFlowLine(e, now, br, dp));
        return ok(lines.map((l) => l + '\n').join(''));
      }
      case 'dpctl/dump-flows': {
        // The node's one datapath: every bridge's flows (dpif/dump-flows lists one bridge's).
        const n = mustNode(ctx, node), brs = ovsBridges(emu, n), dp = new NodeDatapath(brs), now = emu.engine.now;
        if (argv.length > 2) throw new ControlError(`ovs-appctl: dpemu's dpctl/dump-flows takes NODE only (the node's datapath, system@ovs-system)`, 2);
        const lines = brs.flatMap((br) => datapathFlows(br, now).map((e) => dpifFlowLine(e, now, br, dp)));
        return ok(lines.map((l) => l + '\n').join(''));
      }
      case 'dpctl/show':
        return appctlDpctlShow(ctx, argv.slice(1));
      case 'dpif/show': {
        // One datapath a node, all its bridges in it; OVS takes no argument (dpemu needs NODE).
        const n = mustNode(ctx, node);
        if (argv.length > 2) throw new ControlError('"dpif/show" command takes at most 0 arguments\novs-appctl: server returned an error', 2);
        return ok(new NodeDatapath(ovsBridges(emu, n)).show());
      }
      case undefined:
        throw new ControlError('ovs-appctl: at least one non-option argument is required (use --help for help)');
      default:
        throw new ControlError(`"${sub}" is not a valid command (dpemu knows fdb/show, fdb/add, fdb/del, fdb/stats-show, fdb/stats-clear, fdb/flush, ofproto/list, ofproto/trace, upcall/show, dpif/show, dpif/dump-flows, dpctl/show, dpctl/dump-flows)`, 2);
    }
  },
};
