// iproute2 6.1's `bridge vlan` and `bridge mdb` (vlan.c, mdb.c) on the
// kernel dpemu's views stand for: one built, as this project's test hosts'
// are, without CONFIG_BRIDGE_VLAN_FILTERING (its `ip -d link` has no
// vlan_default_pvid, vlan_protocol or vlan_stats: nor has the views'), so
// no bridge or port holds a VLAN: `vlan show` and `tunnelshow` print their
// headers alone, the RTM_GETVLAN dumps (`-d vlan show`, `vlan global show`)
// are refused (no handler registered), and the per-VLAN counters of `-s`
// are none. Every Linux bridge in the views has mcast_snooping 0 (os-vif's
// qbr; the model floods all multicast and keeps no groups), so `mdb show`
// finds no group and no router port. The writes are refused in dpemu's
// words: the views' bridges and ports are the topology's.
import type { CommandResponse } from './protocol.js';
import { ControlError, ok } from './protocol.js';
import { matches } from '../netns/ip-tokens.js';
import { jsonDump, jsonDumpOpening } from '../netns/json-writer.js';

/** What these commands read of `bridge`'s options and the view. */
export interface VlanMdbOpts { stats: boolean; details: boolean; json: boolean; pretty: boolean }

const INCOMPLETE = 'Command line is not complete. Try option "help"';

const VLAN_USAGE = `Usage: bridge vlan { add | del } vid VLAN_ID dev DEV [ tunnel_info id TUNNEL_ID ]
                                                     [ pvid ] [ untagged ]
                                                     [ self ] [ master ]
       bridge vlan { set } vid VLAN_ID dev DEV [ state STP_STATE ]
                                               [ mcast_router MULTICAST_ROUTER ]
       bridge vlan { show } [ dev DEV ] [ vid VLAN_ID ]
       bridge vlan { tunnelshow } [ dev DEV ] [ vid VLAN_ID ]
       bridge vlan global { set } vid VLAN_ID dev DEV
                      [ mcast_snooping MULTICAST_SNOOPING ]
                      [ mcast_querier MULTICAST_QUERIER ]
                      [ mcast_igmp_version IGMP_VERSION ]
                      [ mcast_mld_version MLD_VERSION ]
                      [ mcast_last_member_count LAST_MEMBER_COUNT ]
                      [ mcast_last_member_interval LAST_MEMBER_INTERVAL ]
                      [ mcast_startup_query_count STARTUP_QUERY_COUNT ]
                      [ mcast_startup_query_interval STARTUP_QUERY_INTERVAL ]
                      [ mcast_membership_interval MEMBERSHIP_INTERVAL ]
                      [ mcast_querier_interval QUERIER_INTERVAL ]
                      [ mcast_query_interval QUERY_INTERVAL ]
                      [ mcast_query_response_interval QUERY_RESPONSE_INTERVAL ]
       bridge vlan global { show } [ dev DEV ] [ vid VLAN_ID ]`;

const MDB_USAGE = `Usage: bridge mdb { add | del } dev DEV port PORT grp GROUP [src SOURCE] [permanent | temp] [vid VID]
       bridge mdb {show} [ dev DEV ] [ vid VID ]`;

/** print_vlan's headers: `show`'s, `tunnelshow`'s, and the per-VLAN counters' (`-s`). */
const HEAD = { vlan: 'port              vlan-id  \n', tunnel: 'port              vlan-id    tunnel-id\n', stats: 'port              vlan-id\n' };

/** vlan_show's and mdb_show's words: `dev DEV` (which must exist) and `vid VID`, each once; other words are skipped. */
function showFilters(args: readonly string[], devices: readonly string[]): void {
  let dev: string | undefined, vid = 0;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a !== 'dev' && a !== 'vid') continue;
    const x = args[++i];
    if (x === undefined) throw new ControlError(INCOMPLETE, 255);
    if (a === 'dev' ? dev !== undefined : vid) throw new ControlError(`Error: duplicate "${a}": "${x}" is the second value.`, 255);
    if (a === 'dev') dev = x;
    else vid = parseInt(x, 10) || 0;
  }
  if (dev !== undefined && !devices.includes(dev)) throw new ControlError(`Cannot find device "${dev}"`, 255);
}

/** An RTM_GETVLAN dump: the kernel has no handler for it, refused after the header (or the JSON array's opening). */
function vlanDbDump(o: VlanMdbOpts): CommandResponse {
  return { ok: false, stdout: o.json ? jsonDumpOpening(o.pretty) : HEAD.vlan, stderr: 'RTNETLINK answers: Operation not supported\nDump terminated\n', exit: 1 };
}

function vlanShow(o: VlanMdbOpts, args: readonly string[], devices: readonly string[], tunnel: boolean): CommandResponse {
  showFilters(args, devices);
  if (o.details && !tunnel) return vlanDbDump(o);
  if (o.json) return ok(jsonDump([], o.pretty));
  return ok(o.stats ? HEAD.stats : tunnel ? HEAD.tunnel : HEAD.vlan);
}

const refused = (what: string, why: string): ControlError => new ControlError(`Error: 'bridge ${what}' is refused: ${why}.`, 255);
const NO_VLANS = "dpemu's Linux bridges have no VLANs (their kernel, like the real one beside its tests, is built without bridge VLAN filtering and answers \"Operation not supported\")";
const NO_MDB = "dpemu's Linux bridges have multicast snooping off (mcast_snooping 0: they flood multicast and keep no groups)";

/** `bridge vlan ...`, in do_vlan's order of words. */
export function bridgeVlan(o: VlanMdbOpts, words: readonly string[], devices: readonly string[]): CommandResponse {
  const [verb, ...rest] = words;
  if (verb === undefined) return vlanShow(o, [], devices, false);
  if (matches(verb, 'add') || matches(verb, 'delete')) throw refused(`vlan ${verb}`, NO_VLANS);
  if (matches(verb, 'show') || matches(verb, 'lst') || matches(verb, 'list')) return vlanShow(o, rest, devices, false);
  if (matches(verb, 'tunnelshow')) return vlanShow(o, rest, devices, true);
  if (matches(verb, 'global')) {
    const [sub, ...more] = rest;
    if (sub === undefined || matches(sub, 'show') || matches(sub, 'lst') || matches(sub, 'list')) {
      showFilters(more, devices);
      return vlanDbDump(o);
    }
    if (matches(sub, 'set')) throw refused(`vlan global ${sub}`, NO_VLANS);
    throw new ControlError(VLAN_USAGE, 255);
  }
  if (matches(verb, 'set')) throw refused(`vlan ${verb}`, NO_VLANS);
  if (matches(verb, 'help')) throw new ControlError(VLAN_USAGE, 255);
  throw new ControlError(`Command "${verb}" is unknown, try "bridge vlan help".`, 255);
}

/** `bridge mdb ...`, in do_mdb's order of words. */
export function bridgeMdb(o: VlanMdbOpts, words: readonly string[], devices: readonly string[]): CommandResponse {
  const [verb, ...rest] = words;
  if (verb !== undefined && (matches(verb, 'add') || matches(verb, 'delete'))) throw refused(`mdb ${verb}`, NO_MDB);
  if (verb === undefined || matches(verb, 'show') || matches(verb, 'lst') || matches(verb, 'list')) {
    showFilters(rest, devices);
    // mdb_show's one object (its groups, its router ports) even with none; nothing in text.
    return ok(o.json ? jsonDump([{ mdb: [], router: {} }], o.pretty) : '');
  }
  if (matches(verb, 'help')) throw new ControlError(MDB_USAGE, 255);
  throw new ControlError(`Command "${verb}" is unknown, try "bridge mdb help".`, 255);
}
