// iproute2 6.1's `bridge fdb show|get` on a node: a
// hypervisor's root view (its Linux bridges, the qbr per VM, and their
// ports) or an emulated namespace (no Linux bridge there: only the devices'
// own addresses). `fdb add|append|replace|delete|flush` change a Linux
// bridge's table (LinuxBridge.addEntry, deleteEntry, flush). `bridge link`
// is bridge-link.ts's, `bridge vlan` and `bridge mdb` bridge-vlan-mdb.ts's.
//
// `fdb show` lists what the kernel's rtnl_fdb_dump does, device by device in
// ifindex order: for a bridge port, its bridge's entries on that port
// (br_fdb_dump: newest first, learned and the port's own `permanent` one);
// then the device's own unicast and multicast lists (ndo_dflt_fdb_dump,
// `self permanent`; a bridge lists these, then its entries of no port; a
// vxlan device has its own dump, empty for OVS's). Each Ethernet device's
// multicast list is what IPv4 and IPv6 joined: see selfAddrs.
import type { Interface } from '../netns/interfaces.js';
import type { If6Addr } from '../netns/inet6.js';
import { jsonDump, type JsonObject } from '../netns/json-writer.js';
import { matches } from '../netns/ip-tokens.js';
import type { CommandFamily } from './command.js';
import { ControlError, ok } from './protocol.js';
import { BRIDGE_USAGE, FDB_MODIFY, bridgeAccess, bridgeArgv, type BridgeOpts as Opts, type FdbModify } from './bridge-argv.js';
import { mustNode } from './resolve.js';
import { NUD } from '../netns/neighbour.js';
import { bridgeMdb, bridgeVlan } from './bridge-vlan-mdb.js';
import type { FdbFlags } from '../l2/linux-bridge.js';
import { eachWord, portOf, rtnetlink, viewOf, type View } from './bridge-view.js';
import { LINK_USAGE, linkSet, linkShow } from './bridge-link.js';
import { hex2 } from '../wire/addr.js';

const FDB_USAGE = `Usage: bridge fdb { add | append | del | replace } ADDR dev DEV
              [ self ] [ master ] [ use ] [ router ] [ extern_learn ]
              [ sticky ] [ local | static | dynamic ] [ vlan VID ]
              { [ dst IPADDR ] [ port PORT] [ vni VNI ] | [ nhid NHID ] }
	       [ via DEV ] [ src_vni VNI ]
       bridge fdb [ show [ br BRDEV ] [ brport DEV ] [ vlan VID ]
              [ state STATE ] [ dynamic ] ]
       bridge fdb get [ to ] LLADDR [ br BRDEV ] { brport | dev } DEV
              [ vlan VID ] [ vni VNI ] [ self ] [ master ] [ dynamic ]
       bridge fdb flush dev DEV [ brport DEV ] [ vlan VID ]
              [ self ] [ master ] [ [no]permanent | [no]static | [no]dynamic ]
              [ [no]added_by_user ] [ [no]extern_learn ] [ [no]sticky ]
              [ [no]offloaded ]`;


/**
 * The device's own list (ndo_dflt_fdb_dump: unicast, then multicast). Its
 * registration joins 33:33:00:00:00:01 (IPv6's all-nodes, even with IPv6
 * disabled) and, with IPv6 forwarding on, 33:33:00:00:00:02 (all-routers);
 * going up, 01:00:5e:00:00:01 (IPv4's all-hosts); then its link-local, the
 * solicited-node group (33:33:ff and the MAC's last three bytes) and, when
 * forwarding, the subnet-router anycast fe80::'s (33:33:ff:00:00:00). With
 * IPv6 on, a device going down leaves every group (ip_mc_down,
 * ipv6_mc_down) and going up joins 01:00:5e:00:00:01 first, then IPv6's
 * kept groups newest first (measured on Linux 6.18). Each other IPv6
 * address joins its solicited-node group (and with forwarding, below /127,
 * its subnet-router anycast's) when given, even while the device is down.
 */
function selfAddrs(l: Interface): string[] {
  // Not an Ethernet device (the loopback), or one with its own dump (a vxlan device: OVS's has no entries).
  if (l.kind === 'loopback' || l.kind === 'vxlan') return [];
  // No inet6_dev (an MTU below 1280): no IPv6 group at all.
  const v4 = l.up ? ['01:00:5e:00:00:01'] : [];
  if (l.idev6 === 0) return v4;
  const on6 = l.conf6.disable_ipv6 === 0, fwd = l.conf6.forwarding !== 0;
  // Each address's solicited-node group (and, forwarding, its anycast's), as the addresses came, a group once.
  const six = on6 ? [...l.addrs6].sort((x, y) => x.seq - y.seq) : [];
  const join = (list: string[], a: If6Addr) => {
    for (const g of [`33:33:ff:${hex2(a.bytes[13]!)}:${hex2(a.bytes[14]!)}:${hex2(a.bytes[15]!)}`, ...(fwd && a.prefixLen < 127 ? ['33:33:ff:00:00:00'] : [])]) {
      if (!list.includes(g)) list.push(g);
    }
  };
  // Those of addresses given while it was down join at once, before the groups its going up (re)joins.
  const pre: string[] = [];
  const whileDown = (a: If6Addr) => !l.up || a.seq < (l.v6UpSeq ?? 0);
  for (const a of six) if (whileDown(a)) join(pre, a);
  if (on6 && !l.up && l.everUp && l.idev6WhileUp !== false) return pre;
  const groups = fwd ? ['33:33:00:00:00:01', '33:33:00:00:00:02'] : ['33:33:00:00:00:01'];
  // A new inet6_dev made while up (the MTU back to 1280) joins its groups after IPv4's.
  const out = on6 && l.mc6Rejoined ? [...pre, ...v4, ...groups.reverse()] : l.idev6WhileUp ? [...v4, ...groups, ...pre] : [...groups, ...pre, ...v4];
  for (const a of six) if (!whileDown(a)) join(out, a);
  return out;
}

/** A line of `bridge fdb`: state `permanent`, `static` or none. */
interface ShownRow { mac: string; dev: string; self: boolean; master?: string; state: string; used?: number; updated?: number }

function fdbShow(v: View, o: Opts, args: string[]): string {
  let dev: string | undefined, br: string | undefined, vlan: number | undefined, state = 0, dynamic = false;
  eachWord(args, (a, next) => {
    if (a === 'brport' || a === 'dev') dev = next();
    else if (a === 'br') br = next();
    else if (a === 'vlan') {
      const x = next();
      if (vlan) throw new ControlError(`Error: duplicate "vlan": "${x}" is the second value.`, 255);
      vlan = parseInt(x, 10) || 0;
    } else if (a === 'state') state |= stateFilter(next());
    else if (a === 'dynamic') dynamic = true;
    else if (matches(a, 'help')) throw new ControlError(FDB_USAGE, 255);
  });
  const links = v.ns.links();
  const brLink = br === undefined ? undefined : links.find((l) => l.name === br);
  if (br !== undefined && !brLink) throw new ControlError(`Cannot find bridge device "${br}"`, 255);
  const devLink = dev === undefined ? undefined : links.find((l) => l.name === dev);
  if (dev !== undefined && !devLink) throw new ControlError(`Cannot find device "${dev}"`, 255);

  const rows: ShownRow[] = [];
  for (const l of links) {
    if (devLink && l !== devLink) continue;
    const isBridge = v.bridges.has(l.name);
    const isPort = l.master !== undefined && v.bridges.has(l.master);
    // rtnl_fdb_dump with a bridge: that bridge and its ports only.
    if (brLink && !((isBridge && l === brLink) || (isPort && l.master === brLink.name))) continue;
    if (isPort) rows.push(...bridgeRows(v, l.master!, l));
    for (const mac of selfAddrs(l)) rows.push({ mac, dev: l.name, self: true, state: 'permanent' });
    if (isBridge) rows.push(...bridgeRows(v, l.name, undefined));
  }
  // print_fdb's filters: vlan (no entry has one), state, dynamic.
  return printFdb(rows.filter((r) => !vlan && (!state || state & nudOf(r)) && !(dynamic && r.state !== '')), o, devLink !== undefined);
}

/** A bridge's entries as br_fdb_dump gives them, newest first: those on `port`, or with none those of the bridge device itself. */
function bridgeRows(v: View, bridge: string, port: Interface | undefined): ShownRow[] {
  const age = (t: number): number => Math.floor((v.now - t) / 1000);
  const dev = port?.name ?? bridge;
  return v.bridges.get(bridge)!.rows(v.now).filter((r) => r.dev === dev).map((r) => ({ mac: r.mac, dev, self: false, master: bridge, state: r.state, used: age(r.used), updated: age(r.updated) }));
}

/** print_fdb's lines (or JSON), without `dev X` when the dump was of one device. */
function printFdb(rows: readonly ShownRow[], o: Opts, oneDev: boolean): string {
  if (o.json) {
    return jsonDump(rows.map((r): JsonObject => ({
      mac: r.mac,
      ifname: oneDev ? undefined : r.dev,
      used: o.stats ? r.used : undefined,
      updated: o.stats ? r.updated : undefined,
      flags: r.self ? ['self'] : [],
      master: r.master,
      state: r.state,
    })), o.pretty);
  }
  return rows.map((r) => `${r.mac} ${oneDev ? '' : `dev ${r.dev} `}${o.stats && r.used !== undefined ? `used ${r.used}/${r.updated} ` : ''}${r.self ? 'self ' : ''}${r.master ? `master ${r.master} ` : ''}${r.state}\n`).join('');
}


/** A kernel's refusal of the request (rtnl_talk fails: bridge exits 254). */
const rtnlError = (msg: string): ControlError => new ControlError(`Error: ${msg}.`, 254);

/**
 * `fdb get [to] LLADDR [br BR] {brport|dev} DEV [vlan VID] [vni VNI] [self]
 * [master] [dynamic]`: iproute2 6.1's fdb_get reads the words, then the
 * kernel's rtnl_fdb_get picks whose ndo_fdb_get answers (a port's master,
 * the bridge named, or with `self` alone the device itself: only a bridge
 * has one), and br_fdb_get looks the address up in the bridge's table.
 */
function fdbGet(v: View, o: Opts, args: string[]): string {
  let dev: string | undefined, br: string | undefined, addr: string | undefined, vlan = -1;
  let self = false, master = false, dynamic = false;
  eachWord(args, (a, next) => {
    if (a === 'brport' || a === 'dev') dev = next();
    else if (a === 'br') br = next();
    else if (a === 'self') self = true;
    else if (matches(a, 'master')) master = true;
    else if (matches(a, 'vlan')) {
      if (vlan >= 0) throw new ControlError(`Error: either "vlan" is duplicate, or "${a}" is a garbage.`, 255);
      vlan = parseInt(next(), 10) || 0; // atoi; a negative one is sent as none
    } else if (matches(a, 'vni')) {
      const x = next();
      if (!/^(0x[0-9a-f]+|0[0-7]*|[1-9]\d*)$/i.test(x) || Number(x) > 0xffffffff) throw new ControlError(`Error: argument "${x}" is wrong: invalid VNI`, 255);
    } else if (matches(a, 'dynamic')) dynamic = true;
    else {
      if (a === 'to') a = next();
      if (matches(a, 'help')) throw new ControlError(FDB_USAGE, 255);
      if (addr !== undefined) throw new ControlError(`Error: either "to" is duplicate, or "${a}" is a garbage.`, 255);
      addr = a;
    }
  });
  if ((dev === undefined && br === undefined) || addr === undefined) throw new ControlError('Device or master and address are required arguments.', 255);
  const mac = parseSscanfMac(addr);
  if (mac === undefined) throw new ControlError(`Invalid mac address ${addr}`, 255);
  const links = v.ns.links();
  const devLink = dev === undefined ? undefined : links.find((l) => l.name === dev);
  if (dev !== undefined && !devLink) throw new ControlError(`Cannot find device "${dev}"`, 255);
  const brLink = br === undefined ? undefined : links.find((l) => l.name === br);
  if (br !== undefined && !brLink) throw new ControlError(`Cannot find bridge device "${br}"`, 255);
  // rtnl_fdb_get and br_fdb_get, in their order of checks.
  const vid = vlan & 0xffff; // NDA_VLAN is a u16
  if (vlan >= 0 && (vid === 0 || vid >= 4095)) throw rtnlError('invalid vlan id');
  if (brLink && devLink) throw rtnlError('Master and device are mutually exclusive');
  let bridge = brLink?.name;
  if (devLink) {
    if (!self || master) {
      if (devLink.master === undefined || !v.bridges.has(devLink.master)) throw rtnlError('Device is not a bridge port');
      bridge = devLink.master;
    } else bridge = devLink.name;
  }
  if (bridge === undefined || !v.bridges.has(bridge)) throw rtnlError('Fdb get operation not supported by device');
  // No entry has a VLAN: the model's bridges filter none (vlan_filtering off).
  const rows = vlan >= 0 ? [] : [...links.filter((l) => l.master === bridge).flatMap((l) => bridgeRows(v, bridge, l)), ...bridgeRows(v, bridge, undefined)];
  const row = rows.find((r) => r.mac === mac);
  if (!row) throw rtnlError('Fdb entry not found');
  return dynamic && row.state !== '' ? '' : printFdb([row], o, false);
}

/** `%hhx:%hhx:%hhx:%hhx:%hhx:%hhx` as fdb.c's sscanf reads an address (a byte's hex digits, one or more; a longer run keeps its low byte), as formatMac prints it. */
function parseSscanfMac(s: string): string | undefined {
  const m = /^\s*([0-9a-f]+):([0-9a-f]+):([0-9a-f]+):([0-9a-f]+):([0-9a-f]+):([0-9a-f]+)/i.exec(s);
  return m ? m.slice(1).map((x) => hex2(parseInt(x.slice(-2), 16))).join(':') : undefined;
}


/** The address fdb.c reads (sscanf's six %hhx) as a number. */
function macArg(addr: string): number {
  const text = parseSscanfMac(addr);
  if (text === undefined) throw new ControlError(`Invalid mac address ${addr}`, 255);
  return parseInt(text.replaceAll(':', ''), 16);
}

/**
 * `fdb add|append|replace|delete ADDR dev DEV [self] [master] [local|permanent|static|temp|dynamic] [vlan VID] [use]`:
 * fdb_modify's words, then rtnl_fdb_add/rtnl_fdb_del's choice (a port's master, or the device itself
 * with `self`, the default) and br_fdb_add/br_fdb_delete on the bridge.
 */
function fdbModify(v: View, cmd: FdbModify, args: string[]): string {
  let dev: string | undefined, addr: string | undefined, vlan = -1;
  let self = false, master = false, use = false, sticky = false;
  // fdb_modify's state: NOARP to start with; a word adds to it; none of PERMANENT or REACHABLE makes it PERMANENT.
  let permanent = false, reachable = false, noarp = true;
  eachWord(args, (a, next) => {
    if (a === 'dev') dev = next();
    else if (['dst', 'nhid', 'port', 'vni', 'src_vni', 'via'].includes(a)) throw new ControlError(`Error: bridge fdb's "${a}" is a VXLAN device's: dpemu's Linux bridges take none.`, 255);
    else if (a === 'self') self = true;
    else if (matches(a, 'master')) master = true;
    else if (matches(a, 'router')) return;
    else if (matches(a, 'local') || matches(a, 'permanent')) permanent = true;
    else if (matches(a, 'temp') || matches(a, 'static')) reachable = true;
    else if (matches(a, 'dynamic')) [reachable, noarp] = [true, false];
    else if (matches(a, 'vlan')) {
      if (vlan >= 0) throw new ControlError(`Error: either "vlan" is duplicate, or "${a}" is a garbage.`, 255);
      vlan = parseInt(next(), 10) || 0;
    } else if (matches(a, 'use')) use = true;
    else if (matches(a, 'extern_learn')) throw new ControlError("Error: bridge fdb's extern_learn is not emulated (no entry here is learned by a switch's hardware).", 255);
    else if (matches(a, 'sticky')) sticky = true;
    else {
      if (a === 'to') a = next();
      if (matches(a, 'help')) throw new ControlError(FDB_USAGE, 255);
      if (addr !== undefined) throw new ControlError(`Error: either "to" is duplicate, or "${a}" is a garbage.`, 255);
      addr = a;
    }
  });
  if (dev === undefined || addr === undefined) throw new ControlError('Device and address are required arguments.', 255);
  if (!self && !master) self = true;
  if (!permanent && !reachable) permanent = true;
  const mac = macArg(addr);
  const l = v.ns.links().find((x) => x.name === dev);
  if (!l) throw new ControlError(`Cannot find device "${dev}"`, 255);
  const vid = vlan & 0xffff;
  if (vlan >= 0 && (vid === 0 || vid >= 4095)) throw new ControlError('Error: invalid vlan id.', 255);
  if (mac === 0) throw rtnetlink('Invalid argument');
  // rtnl_fdb_add/del: a bridge port's master (unless `self` alone), then the device itself with `self`.
  const port = l.master !== undefined && v.bridges.has(l.master) && (master || !self) ? l : undefined;
  const bridge = port ? v.bridges.get(port.master!)! : self && v.bridges.has(l.name) ? v.bridges.get(l.name)! : undefined;
  if (!bridge) {
    // A device's own unicast list (ndo_dflt_fdb_add) is not modelled; a master that is no bridge's port: not supported.
    // ndo_dflt_fdb_del of a unicast address no one added: not there.
    if (self && !master && cmd === 'delete' && (mac / 0x100_0000_0000) % 2 < 1) throw rtnetlink('No such file or directory');
    if (self && !master) throw new ControlError(`Error: ${dev}'s own address list (bridge fdb ... self on a device that is no bridge) is not emulated: dpemu models the Linux bridges' tables.`, 255);
    throw rtnetlink('Operation not supported');
  }
  const at = port ? bridge.port(port.name)! : null;
  // No VLAN is configured on a port: the bridges filter none.
  if (vlan >= 0) throw rtnetlink(cmd === 'delete' ? 'No such file or directory' : 'Invalid argument');
  if (cmd === 'delete') {
    if (!bridge.deleteEntry(mac, at)) throw rtnetlink('No such file or directory');
    return '';
  }
  const state = permanent ? 'permanent' : noarp ? 'static' : 'dynamic';
  // nbp_state_should_learn: a port in the learning or forwarding state.
  const portState = port === undefined ? undefined : portOf(v, port)?.attrs.get('state');
  const learns = portState === 'forwarding' || portState === 'learning';
  if (use) {
    if (!at) throw rtnetlink('Invalid argument');
    if (learns) bridge.use(mac, at);
    return '';
  }
  if (sticky && state === 'permanent') throw rtnetlink('Invalid argument');
  if (sticky) throw new ControlError("Error: bridge fdb's sticky is not emulated.", 255);
  // fdb_add_entry: a port that does not learn takes only local and static entries.
  if (state === 'dynamic' && at && !learns) throw rtnetlink('Operation not permitted');
  const err = bridge.addEntry({ mac, port: at, state, exclusive: cmd === 'add' });
  if (err === 'EEXIST') throw rtnetlink('File exists');
  if (err === 'EINVAL') throw rtnetlink('Invalid argument');
  return '';
}

/** The flush words' conditions on an entry's flags (br_fdb_delete_bulk's description). */
const FLUSH_STATES: Record<string, (f: FdbFlags) => boolean> = {
  permanent: (f) => f.local,
  nopermanent: (f) => !f.local,
  static: (f) => f.static && !f.local,
  nostatic: (f) => !f.static,
  dynamic: (f) => !f.static && !f.local,
  nodynamic: (f) => f.static,
  added_by_user: (f) => f.user,
  noadded_by_user: (f) => !f.user,
  // No entry here is learned by hardware, sticky or offloaded.
  extern_learn: () => false,
  noextern_learn: () => true,
  sticky: () => false,
  nosticky: () => true,
  offloaded: () => false,
  nooffloaded: () => true,
};

/** `fdb flush dev DEV [brport DEV] [vlan VID] [self] [master] [STATE...]`: fdb_flush's words, then the bridge's bulk delete. */
function fdbFlush(v: View, args: string[]): string {
  let dev: string | undefined, brport: string | undefined, self = false, master = false, vlan = false;
  const conds: ((f: FdbFlags) => boolean)[] = [];
  eachWord(args, (a, next) => {
    if (a === 'dev') dev = next();
    else if (a === 'brport') brport = next();
    else if (a === 'vlan') {
      const x = next();
      if (!/^\d+$/.test(x) || Number(x) === 0 || Number(x) >= 4095) throw new ControlError('Error: integer out of range.', 255);
      vlan = true;
    } else if (a === 'self') self = true;
    else if (a === 'master') master = true;
    else if (FLUSH_STATES[a]) conds.push(FLUSH_STATES[a]);
    // fdb_flush takes `help`'s next word and passes over any other.
    else if (a === 'help') next();
  });
  if (dev === undefined) throw new ControlError('Device is a required argument.', 255);
  const links = v.ns.links();
  const l = links.find((x) => x.name === dev);
  if (!l) throw new ControlError(`Cannot find bridge device "${dev}"`, 255);
  const pl = brport === undefined ? undefined : links.find((x) => x.name === brport);
  if (brport !== undefined && !pl) throw new ControlError(`Cannot find bridge port device "${brport}"`, 255);
  if (!self && !master) self = true;
  // The bridge device with `self` flushes its table; a port with `master` its bridge's entries on it.
  const isPort = l.master !== undefined && v.bridges.has(l.master);
  const bridge = self && v.bridges.has(l.name) ? v.bridges.get(l.name)! : master && isPort ? v.bridges.get(l.master!)! : undefined;
  if (!bridge) throw rtnetlink('Operation not supported');
  const on = bridge === v.bridges.get(l.name) ? pl : l;
  // An entry on a VLAN: none here.
  if (!vlan) bridge.flush(on ? bridge.port(on.name) ?? null : null, (f) => conds.every((c) => c(f)));
  return '';
}

/** fdb_to_nud: a local entry is PERMANENT, a static one NOARP, the others REACHABLE (an expired one is gone). */
const nudOf = (r: ShownRow): number => (r.state === 'permanent' ? NUD.PERMANENT : r.state === 'static' ? NUD.NOARP : NUD.REACHABLE);

/** state_a2n: a name (a prefix of it) or a number. */
function stateFilter(s: string): number {
  if (matches(s, 'permanent')) return NUD.PERMANENT;
  if (matches(s, 'static') || matches(s, 'temp')) return NUD.NOARP;
  if (matches(s, 'stale')) return NUD.STALE;
  if (matches(s, 'reachable') || matches(s, 'dynamic')) return NUD.REACHABLE;
  if (s === 'all') return ~0;
  if (/^(0x[0-9a-f]+|0[0-7]*|[1-9]\d*)$/i.test(s)) return Number(s.startsWith('0') && !/^0x/i.test(s) ? parseInt(s, 8) : s);
  throw new ControlError(`Error: argument "${s}" is wrong: invalid state`, 255);
}

export const bridge: CommandFamily = {
  name: 'bridge',
  access: bridgeAccess,
  target: (argv) => ({ node: bridgeArgv(argv).node }),
  run(ctx, argv) {
    const o = bridgeArgv(argv);
    const [object, verb, ...rest] = o.words;
    if (object === undefined || matches(object, 'help')) throw new ControlError(BRIDGE_USAGE, 255);
    mustNode(ctx, o.node);
    if (matches(object, 'link')) {
      // do_link's order: `s` sets.
      if (verb !== undefined && (matches(verb, 'set') || matches(verb, 'change'))) return ok(linkSet(viewOf(ctx, o), rest));
      if (verb === undefined || matches(verb, 'show') || matches(verb, 'lst') || matches(verb, 'list')) return ok(linkShow(viewOf(ctx, o), o, rest));
      if (matches(verb, 'help')) throw new ControlError(LINK_USAGE, 255);
      throw new ControlError(`Command "${verb}" is unknown, try "bridge link help".`, 255);
    }
    if (matches(object, 'fdb')) {
      if (verb === undefined || matches(verb, 'show') || matches(verb, 'lst') || matches(verb, 'list')) return ok(fdbShow(viewOf(ctx, o), o, rest));
      const modify = FDB_MODIFY.find(([w]) => matches(verb, w));
      if (modify) return ok(fdbModify(viewOf(ctx, o), modify[1], rest));
      if (verb === 'flush') return ok(fdbFlush(viewOf(ctx, o), rest));
      if (matches(verb, 'get')) return ok(fdbGet(viewOf(ctx, o), o, rest));
      if (matches(verb, 'help')) throw new ControlError(FDB_USAGE, 255);
      throw new ControlError(`Command "${verb}" is unknown, try "bridge fdb help".`, 255);
    }
    const devices = (): string[] => viewOf(ctx, o).ns.links().map((l) => l.name);
    if (matches(object, 'mdb')) return bridgeMdb(o, o.words.slice(1), devices());
    if (matches(object, 'vlan')) return bridgeVlan(o, o.words.slice(1), devices());
    // The CLI streams it (the control socket's bridgeMonitor request: bridge-monitor.ts).
    if (matches(object, 'monitor')) throw new ControlError('bridge monitor streams until stopped: run it as `dpemu bridge NODE monitor ...`, not as a one-shot command.', 255);
    throw new ControlError(`Object "${object}" is unknown, try "bridge help".`, 255);
  },
};
