// ovs-vsctl's read commands on a node's bridges (utilities/ovs-vsctl.c,
// lib/db-ctl-base.c): list-br, list-ports, list-ifaces, port-to-br,
// iface-to-br, br-exists, br-to-vlan, br-to-parent and `get` of the Bridge,
// Port and Interface columns the emulator holds. NODE follows the command,
// as in every dpemu family; the text and errors are ovs-vsctl's, its values
// printed as OVS 2.5 prints them (the write-up's version: ovsdb-text.ts).
import type { OvsBridge, OvsPortDesc } from '../ofproto/bridge.js';
import type { Scope } from './command.js';
import { ControlError, ok, type CommandResponse } from './protocol.js';
import { mustNode, ovsBridges } from './resolve.js';
import { ovsdbMap, ovsdbString } from './ovsdb-text.js';
import { vsctlShow } from './ovs-show.js';

const fail = (text: string): never => {
  throw new ControlError(`ovs-vsctl: ${text}`);
};

/** `ovs-vsctl CMD` takes from `min` to `max` arguments (vsctl_commands[]); NODE is not one of them. */
function arity(cmd: string, args: readonly string[], min: number, max: number): void {
  if (args.length < min) fail(`'${cmd}' command requires at least ${min} arguments`);
  if (args.length > max) fail(`'${cmd}' command takes at most ${max} arguments`);
}

const lines = (xs: readonly string[]): CommandResponse => ok(xs.map((x) => `${x}\n`).join(''));

/** The ports of `br` but its own (the LOCAL port named after it), as vsctl lists them. */
const portsOf = (br: OvsBridge): OvsPortDesc[] => br.portsDesc().filter((d) => d.name !== br.name);

/** A bridge's, port's or interface's column, as `get` prints it. */
type Column = (row: { br: OvsBridge; port?: OvsPortDesc }) => string;
/** An optional column: `[]` when unset. */
const optional = (v: string | number | undefined): string => (v === undefined ? '[]' : typeof v === 'number' ? String(v) : ovsdbString(v));
/** Interface.type: a system (and a TAP) port's is the empty string. */
const ifType = (d: OvsPortDesc): string => ovsdbString(d.type === 'tap' ? '' : d.type);

const TABLES: Record<string, { columns: Record<string, Column>; all: readonly string[] }> = {
  Bridge: {
    columns: {
      name: ({ br }) => ovsdbString(br.name),
      fail_mode: ({ br }) => optional(br.failModeColumn ?? undefined),
    },
    all: ['auto_attach', 'controller', 'datapath_id', 'datapath_type', 'datapath_version', 'external_ids', 'fail_mode', 'flood_vlans', 'flow_tables', 'ipfix', 'mcast_snooping_enable', 'mirrors', 'name', 'netflow', 'other_config', 'ports', 'protocols', 'rstp_enable', 'rstp_status', 'sflow', 'status', 'stp_enable'],
  },
  Port: {
    columns: {
      name: ({ port }) => ovsdbString(port!.name),
      tag: ({ port }) => optional(port!.tag),
      trunks: ({ port }) => `[${(port!.trunks ?? []).join(', ')}]`,
      vlan_mode: ({ port }) => optional(port!.vlanMode),
    },
    all: ['bond_active_slave', 'bond_downdelay', 'bond_fake_iface', 'bond_mode', 'bond_updelay', 'external_ids', 'fake_bridge', 'interfaces', 'lacp', 'mac', 'name', 'other_config', 'qos', 'rstp_statistics', 'rstp_status', 'statistics', 'status', 'tag', 'trunks', 'vlan_mode'],
  },
  Interface: {
    columns: {
      name: ({ port }) => ovsdbString(port!.name),
      type: ({ port }) => ifType(port!),
      ofport: ({ port }) => String(port!.ofport),
      options: ({ port }) => ovsdbMap(port!.options),
    },
    all: ['admin_state', 'bfd', 'bfd_status', 'cfm_fault', 'cfm_flap_count', 'cfm_health', 'cfm_mpid', 'cfm_remote_mpids', 'duplex', 'error', 'external_ids', 'ifindex', 'ingress_policing_burst', 'ingress_policing_rate', 'lacp_current', 'link_resets', 'link_speed', 'link_state', 'lldp', 'mac', 'mac_in_use', 'mtu', 'mtu_request', 'name', 'ofport', 'ofport_request', 'options', 'other_config', 'statistics', 'status', 'type'],
  },
};

/** `get [--if-exists] TABLE RECORD COLUMN[:KEY]...` (db-ctl-base.c cmd_get). */
function get(bridges: OvsBridge[], args: readonly string[], ifExists: boolean): CommandResponse {
  arity('get', args, 2, Number.MAX_SAFE_INTEGER);
  const [tableWord, record, ...cols] = args as [string, string, ...string[]];
  // get_table(): a case-insensitive match of the whole name.
  const table = Object.keys(TABLES).find((t) => t.toLowerCase() === tableWord.toLowerCase());
  if (table === undefined) fail(`unknown table "${tableWord}"`);
  const br = table === 'Bridge' ? bridges.find((b) => b.name === record) : bridges.find((b) => b.portsDesc().some((d) => d.name === record));
  if (br === undefined) {
    if (ifExists) return ok('');
    fail(`no row "${record}" in table ${table}`);
  }
  const row = { br: br!, port: table === 'Bridge' ? undefined : br!.portsDesc().find((d) => d.name === record) };
  const { columns, all } = TABLES[table!]!;
  const out: string[] = [];
  for (const spec of cols) {
    const [name, key] = spec.split(':', 2) as [string, string | undefined];
    const col = columns[name];
    if (col === undefined) {
      if (all.includes(name)) throw new ControlError(`ovs-vsctl: ${table} column ${name} is not emulated (dpemu holds ${Object.keys(columns).join(', ')})`);
      fail(`${table} does not contain a column whose name matches "${name}"`);
    }
    if (key === undefined) {
      out.push(col!(row));
      continue;
    }
    if (name !== 'options') fail(`cannot specify key to get for non-map column ${name}`);
    const v = row.port!.options[key];
    if (v === undefined) fail(`no key "${key}" in ${table} record "${record}" column ${name}`);
    out.push(ovsdbString(v!));
  }
  return lines(out);
}

export function vsctlRun(s: Scope, words: readonly string[], opts: ReadonlyMap<string, string>): CommandResponse {
  const [cmd, nodeWord, ...args] = words;
  if (cmd === 'show') {
    arity(cmd, args, 0, 0);
    return ok(vsctlShow(s.emu, mustNode(s, nodeWord)));
  }
  const node = mustNode(s, nodeWord);
  const bridges = ovsBridges(s.emu, node);
  const bridge = (name: string): OvsBridge => bridges.find((b) => b.name === name) ?? fail(`no bridge named ${name}`);
  switch (cmd) {
    case 'list-br':
      arity(cmd, args, 0, 0);
      return lines(bridges.map((b) => b.name).sort()); // strcmp order (names are ASCII)
    case 'list-ports':
    case 'list-ifaces':
      arity(cmd, args, 1, 1);
      return lines(portsOf(bridge(args[0]!)).map((d) => d.name).sort());
    case 'port-to-br':
    case 'iface-to-br': {
      arity(cmd, args, 1, 1);
      const br = bridges.find((b) => portsOf(b).some((d) => d.name === args[0]));
      return br ? lines([br.name]) : fail(`no ${cmd === 'port-to-br' ? 'port' : 'interface'} named ${args[0]}`);
    }
    case 'br-exists':
      arity(cmd, args, 1, 1);
      // Nothing printed; exit status 2 for a bridge that is not there.
      return bridges.some((b) => b.name === args[0]) ? ok('') : { ok: false, exit: 2, stdout: '', stderr: '' };
    case 'br-to-vlan':
    case 'br-to-parent': {
      // A real bridge (dpemu has no fake ones) is its own parent, on VLAN 0.
      arity(cmd, args, 1, 1);
      const br = bridge(args[0]!);
      return lines([cmd === 'br-to-vlan' ? '0' : br.name]);
    }
    case 'get':
      return get(bridges, args, opts.has('--if-exists'));
    default:
      throw new ControlError(`ovs-vsctl: '${cmd ?? ''}' is not supported here (show, list-br, list-ports, list-ifaces, port-to-br, iface-to-br, br-exists, br-to-vlan, br-to-parent, get)`);
  }
}
