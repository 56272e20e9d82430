// iproute2 6.1's `bridge link show` and `bridge link set|change` on a
// node's Linux bridges' ports (the root view's qbr ports; a namespace has
// none). `set` reads the words as brlink_modify does, then the kernel's
// rtnl_bridge_setlink and br_setport answer: on/off flags first (kept even
// when a later setting is refused), then cost, priority, state and
// mcast_router, each checked as br_setport checks it; a success is told as
// br_ifinfo_notify's RTM_NEWLINK (`bridge monitor link`), a port made
// blocking first as the forwarding port br_port_state_selection makes it
// with STP off. What LinuxBridge does with each: src/l2/bridge-port.ts.
import type { Interface } from '../netns/interfaces.js';
import { linkFlagList } from '../netns/ip-addr-syntax.js';
import { jsonDump, type JsonObject, type JsonValue } from '../netns/json-writer.js';
import { matches } from '../netns/ip-tokens.js';
import { ControlError } from './protocol.js';
import { INCOMPLETE, type BridgeOpts as Opts } from './bridge-argv.js';
import { eachWord, portOf, rtnetlink, type PortOf, type View } from './bridge-view.js';
import { atoi, strtolWhole } from './c-numbers.js';
import { BR_STATE_BLOCKING, BR_STATE_FORWARDING, PORT_STATES, type BridgePortFlags, type PortFlag } from '../l2/bridge-port.js';

export const LINK_USAGE = `Usage: bridge link set dev DEV [ cost COST ] [ priority PRIO ] [ state STATE ]
                               [ guard {on | off} ]
                               [ hairpin {on | off} ]
                               [ fastleave {on | off} ]
                               [ root_block {on | off} ]
                               [ learning {on | off} ]
                               [ learning_sync {on | off} ]
                               [ flood {on | off} ]
                               [ mcast_router MULTICAST_ROUTER ]
                               [ mcast_flood {on | off} ]
                               [ bcast_flood {on | off} ]
                               [ mcast_to_unicast {on | off} ]
                               [ neigh_suppress {on | off} ]
                               [ vlan_tunnel {on | off} ]
                               [ isolated {on | off} ]
                               [ locked {on | off} ]
                               [ hwmode {vepa | veb} ]
                               [ backup_port DEVICE ] [ nobackup_port ]
                               [ self ] [ master ]
       bridge link show [dev DEV]`;

/** The bridge_slave flags `-d` prints, in print_protinfo's order. */
const DETAIL_FLAGS = ['hairpin', 'guard', 'root_block', 'fastleave', 'learning', 'flood', 'mcast_flood', 'bcast_flood', 'multicast_router', 'mcast_to_unicast', 'neigh_suppress', 'vlan_tunnel', 'isolated', 'locked'];

/** print_linkinfo's record of a port: its line (and with -d its flags' line), or its JSON object. */
export function linkRecord(l: Interface, p: PortOf, details: boolean): { text: string; json: JsonObject } {
  const at = (k: string): JsonValue => p.attrs.get(k)!;
  const json: JsonObject = {
    ifindex: l.index,
    ...(l.peer ? (l.peer.name !== undefined ? { link: l.peer.name } : { link_index: l.peer.ifindex }) : {}),
    ifname: l.name,
    flags: linkFlagList(l),
    mtu: l.mtu,
    master: p.bridge,
    state: at('state'),
    priority: at('priority'),
    cost: at('cost'),
  };
  if (details) for (const k of DETAIL_FLAGS) json[k === 'multicast_router' ? 'mcast_router' : k] = at(k);
  const name = l.peer ? `${l.name}@${l.peer.name ?? `if${l.peer.ifindex}`}` : l.name;
  let text = `${l.index}: ${name}: <${linkFlagList(l).join(',')}> mtu ${l.mtu} master ${p.bridge} state ${at('state')} priority ${at('priority')} cost ${at('cost')} \n`;
  if (details) {
    text += `    ${DETAIL_FLAGS.map((k) => {
      const x = at(k);
      return `${k === 'multicast_router' ? 'mcast_router' : k} ${typeof x === 'boolean' ? (x ? 'on' : 'off') : String(x)} `;
    }).join('')}\n`;
  }
  return { text, json };
}

export function linkShow(v: View, o: Opts, args: string[]): string {
  let dev: string | undefined;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === 'dev') {
      dev = args[++i];
      if (dev === undefined) throw new ControlError(INCOMPLETE, 255);
    }
  }
  const links = v.ns.links();
  if (dev !== undefined && !links.some((l) => l.name === dev)) throw new ControlError(`Cannot find device "${dev}"`, 255);
  const objs: JsonObject[] = [];
  let text = '';
  for (const l of links) {
    if (dev !== undefined && l.name !== dev) continue;
    const p = portOf(v, l);
    if (!p) continue;
    const r = linkRecord(l, p, o.details);
    objs.push(r.json);
    text += r.text;
  }
  return o.json ? jsonDump(objs, o.pretty) : text;
}

/** brlink_modify's on/off words (each sent as its IFLA_BRPORT attribute). */
const ON_OFF: readonly PortFlag[] = ['guard', 'hairpin', 'fastleave', 'root_block', 'learning', 'learning_sync', 'flood', 'mcast_flood', 'bcast_flood', 'mcast_to_unicast', 'neigh_suppress', 'vlan_tunnel', 'isolated', 'locked'];
/** br_setport's order of br_set_port_flag calls. */
const SET_ORDER: readonly PortFlag[] = ['hairpin', 'guard', 'fastleave', 'root_block', 'learning', 'flood', 'mcast_flood', 'mcast_to_unicast', 'bcast_flood', 'vlan_tunnel', 'isolated', 'locked', 'neigh_suppress', 'learning_sync'];

/** parse_on_off: a prefix of "off" or "on" (off tried first); else an error brlink_modify returns (-EINVAL: exit 234). */
function onOff(flag: string, word: string): boolean {
  if (matches(word, 'off')) return false;
  if (matches(word, 'on')) return true;
  throw new ControlError(`Error: argument of "${flag}" must be one of "off", "on", not "${word}"`, 234);
}

/** The change a request asks of a port, as brlink_modify sends it. */
interface LinkSet {
  flags: Partial<Record<PortFlag, boolean>>;
  /** Each as sent: absent when brlink_modify leaves it out (cost 0, a negative priority, state or mcast_router). */
  cost?: number;
  priority?: number;
  state?: number;
  mcastRouter?: number;
  backup?: string;
}

/**
 * `bridge link set|change dev DEV [...]`: brlink_modify's words, then
 * rtnl_bridge_setlink (the master's br_setlink unless `self` alone, then
 * with `self` the device's own: only a bridge has one) and br_setport.
 */
export function linkSet(v: View, args: string[]): string {
  let dev: string | undefined, self = false, master = false;
  const ask: LinkSet = { flags: {} };
  eachWord(args, (a, next) => {
    if (a === 'dev') dev = next();
    else if ((ON_OFF as readonly string[]).includes(a)) ask.flags[a as PortFlag] = onOff(a, next());
    else if (a === 'cost') {
      // A __u32 from atoi, sent when not 0.
      const c = atoi(next()) >>> 0;
      if (c > 0) ask.cost = c;
      else delete ask.cost;
    } else if (a === 'priority') {
      const p = (atoi(next()) << 16) >> 16; // __s16
      if (p >= 0) ask.priority = p;
      else delete ask.priority;
    } else if (a === 'state') {
      const w = next(), n = strtolWhole(w);
      // A __s8 from strtol, or a state's name (port_states[], strcmp).
      const s = n.whole ? Number(BigInt.asIntN(8, n.value)) : PORT_STATES.indexOf(w as (typeof PORT_STATES)[number]);
      if (!n.whole && s < 0) throw new ControlError('Error: invalid STP port state', 255);
      if (s >= 0) ask.state = s;
      else delete ask.state;
    } else if (a === 'mcast_router') {
      const r = atoi(next());
      if (r >= 0) ask.mcastRouter = r & 0xff;
      else delete ask.mcastRouter;
    } else if (a === 'hwmode') {
      const m = next();
      if (m !== 'vepa' && m !== 'veb') throw new ControlError('Mode argument must be "vepa" or "veb".', 255);
      // flags = BRIDGE_FLAGS_SELF: a `master` before it is forgotten.
      [self, master] = [true, false];
    } else if (a === 'self') self = true;
    else if (a === 'master') master = true;
    else if (a === 'backup_port') {
      const b = next();
      if (!v.ns.links().some((l) => l.name === b)) throw new ControlError(`Error: device ${b} does not exist`, 255);
      ask.backup = b;
    } else if (a === 'nobackup_port') delete ask.backup;
    else throw new ControlError(LINK_USAGE, 255);
  });
  if (dev === undefined) throw new ControlError('Device is a required argument.', 255);
  const l = v.ns.links().find((x) => x.name === dev);
  if (!l) throw new ControlError(`Cannot find bridge device "${dev}"`, 255);
  // rtnl_bridge_setlink: the master's unless `self` alone (a port's master here is a bridge or none: OVS's has no ndo_bridge_setlink).
  if (!self || master) {
    const p = portOf(v, l);
    if (!p) throw rtnetlink('Operation not supported');
    setPort(v, l, p, ask);
  }
  // The device's own: a bridge's br_setlink takes a request of no port (nothing to set, nothing told); no other device has one.
  if (self && !v.bridges.has(l.name)) throw rtnetlink('Operation not supported');
  return '';
}

/** br_setport on the port, then br_ifinfo_notify. */
function setPort(v: View, l: Interface, p: PortOf, ask: LinkSet): void {
  const br = v.bridges.get(p.bridge)!, port = br.port(l.name)!;
  if (ask.flags.neigh_suppress) throw new ControlError(`Error: ${l.name}'s neigh_suppress (ARP and ND suppression) is not emulated.`, 255);
  if (ask.backup !== undefined) throw new ControlError(`Error: ${l.name}'s backup_port is not emulated.`, 255);
  // br_multicast_set_port_router: 2 (permanent) and 3 (temporary, 255 s) put the port on the bridge's router list, which
  // `bridge -d mdb` lists and `monitor mdb` tells (ordered by the ports' addresses in memory): not modelled.
  if (ask.mcastRouter === 2 || ask.mcastRouter === 3) throw new ControlError(`Error: ${l.name} as a multicast router port (mcast_router ${ask.mcastRouter}) is not emulated: dpemu's Linux bridges keep no router ports.`, 255);
  const change: Partial<BridgePortFlags> = {};
  for (const f of SET_ORDER) if (ask.flags[f] !== undefined) change[f] = ask.flags[f];
  br.setPortFlags(port, change);
  // br_stp_set_path_cost, br_stp_set_port_priority, br_set_port_state, br_multicast_set_port_router: each refusal leaves what came before.
  if (ask.cost !== undefined) {
    if (ask.cost > 65535) throw rtnetlink('Numerical result out of range');
    br.setPortFlags(port, { cost: ask.cost });
  }
  if (ask.priority !== undefined) {
    if (ask.priority > 63) throw rtnetlink('Numerical result out of range');
    br.setPortFlags(port, { priority: ask.priority });
  }
  if (ask.state !== undefined) {
    if (ask.state > BR_STATE_BLOCKING) throw rtnetlink('Invalid argument');
    if (!l.carrier && ask.state !== 0) throw rtnetlink('Network is down');
    // A port without carrier is disabled already (and forwards when it comes back): nothing to keep.
    // With STP off a blocking port is made forwarding at once (br_make_forwarding, which tells it).
    if (l.carrier) br.setPortFlags(port, { state: ask.state === BR_STATE_BLOCKING ? BR_STATE_FORWARDING : ask.state });
    if (ask.state === BR_STATE_BLOCKING && l.carrier) br.tellLink(port);
  }
  if (ask.mcastRouter !== undefined) {
    if (ask.mcastRouter > 3) throw rtnetlink('Invalid argument');
    br.setPortFlags(port, { mcast_router: ask.mcastRouter });
  }
  br.tellLink(port);
}
