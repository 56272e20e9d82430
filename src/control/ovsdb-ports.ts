// What the model makes of ovs-vsctl add-port and del-port once their
// transaction commits, as ovs-vswitchd 3.1 reconfigures (bridge.c
// bridge_reconfigure: del_port, iface_create; ofproto.c ofport_install,
// alloc_ofp_port, ofport_remove): a deleted port leaves its bridge, its
// learned MACs go and what was translated through it (OvsBridge.delOvsPort);
// the flows that name its number stay. An added port gets the OpenFlow
// number alloc_ofp_port gives (its ofport_request where that is free), the lowest free datapath port, and as its
// device: for type internal a new one, DOWN in the root namespace; for a
// system port the device the node has on no bridge (one ovs-vsctl took off
// this bridge). The rest is refused before anything is done, in dpemu's
// words: other columns of the new rows, other interface types, a device the
// node does not have, deleting an internal port Neutron moved into a
// namespace (ovs-vswitchd would destroy the device there).
// A bridge add-br adds (bridge_create, ofproto_create) is a new OvsBridge
// with its LOCAL port, fail_mode's default flow and other_config's MAC table
// settings; its own device is internal, DOWN, with the next ifindex, and
// its datapath port the lowest free one. A bridge del-br deletes goes with
// its ports' devices; one the topology made is refused (its ports wire it
// to namespaces, VMs and the other bridges).
import type { Emulator } from '../topology/builder.js';
import { OvsBridge, OFPP_LOCAL } from '../ofproto/bridge.js';
import type { OvsPortConfig, VlanMode } from '../ofproto/ovs-port.js';
import { NodeDatapath } from '../ofproto/datapath-ports.js';
import { NetNamespace } from '../netns/namespace.js';
import { PORT_COUNTERS } from '../datapath/stats.js';
import { ovsBridges } from './resolve.js';
import { compareDatums } from './ovsdb-datum.js';
import { row, type Row } from './ovsdb-rows.js';
import { plugIfindex, rootNetns } from './root-netns.js';
import { fail } from './ovs-vsctl-db.js';
import { BRIDGE_KEYS, bridgeOtherConfig, maxIdle } from './ovsdb-honoured.js';

/** A port the transaction adds (its rows as the commands left them) or deletes. */
export type PortChange = { add: true; bridge: string; port: Row; iface: Row } | { add: false; bridge: string; name: string };
/** A port or bridge the transaction adds or deletes (a new bridge's rows as the commands left them: the LOCAL port's are in the Port and Interface changes' place). */
export type Change = PortChange | { br: 'add'; bridge: Row; port: Row; iface: Row } | { br: 'del'; name: string };

/** The columns of a new row the model takes, per table. */
const TAKEN: Record<string, readonly string[]> = {
  Port: ['name', 'interfaces', 'tag', 'trunks', 'vlan_mode'],
  Interface: ['name', 'type', 'external_ids', 'ofport_request'],
};

/** Refuses a new row's column the model would not honour. */
function checkNew(table: string, r: Row): void {
  const blank = row(table, r.uuid, r.name, {});
  for (const [c, d] of Object.entries(r.values)) {
    if (TAKEN[table]!.includes(c) || compareDatums(d, blank.values[c]!) === 0) continue;
    fail(`dpemu does not model adding a port with column ${c} of table ${table} (it takes ${TAKEN.Port!.map((x) => `Port ${x}`).join(', ')}, Interface type, external_ids and ofport_request)`);
  }
}

/** The columns of a new bridge's rows the model takes (its LOCAL port's: none but its name, type internal). */
const BRIDGE_TAKEN: Record<string, readonly string[]> = { Bridge: ['name', 'ports', 'fail_mode', 'other_config'], Port: ['name', 'interfaces'], Interface: ['name', 'type'] };

/** A new bridge as its rows say (not yet in the engine), or refused. */
function newBridge(emu: Emulator, node: string, c: Extract<Change, { br: 'add' }>, taken: boolean): OvsBridge {
  const name = c.bridge.name;
  for (const [table, r] of [['Bridge', c.bridge], ['Port', c.port], ['Interface', c.iface]] as const) {
    const blank = row(table, r.uuid, r.name, table === 'Interface' ? { type: ['internal'] } : {});
    for (const [col, d] of Object.entries(r.values)) {
      if (compareDatums(d, blank.values[col]!) === 0 || (BRIDGE_TAKEN[table]!.includes(col) && !(table === 'Interface' && col === 'type'))) continue;
      fail(`dpemu does not model adding a bridge with column ${col} of table ${table} (it takes Bridge fail_mode, ${BRIDGE_KEYS.map((k) => `other_config:${k}`).join(', ')})`);
    }
  }
  const oc = c.bridge.values.other_config!;
  const config = new Map(oc.keys.map((k, i) => [String(k), String(oc.values![i])]));
  const bad = [...config.keys()].find((k) => !BRIDGE_KEYS.includes(k));
  if (bad !== undefined) fail(`dpemu does not model a bridge's other_config:${bad} (it honours ${BRIDGE_KEYS.map((k) => `other_config:${k}`).join(', ')})`);
  if (taken) fail(`dpemu does not model adding bridge ${name}: the node has a device or namespace of that name (ovs-vswitchd would fail to create the device)`);
  const br = new OvsBridge(node, name, { failMode: c.bridge.values.fail_mode!.keys[0] as 'secure' | 'standalone' | undefined });
  bridgeOtherConfig(br, config);
  br.setMaxIdle(maxIdle(emu, node));
  return br;
}

/** Checks the changes against the model (refusing any it cannot make, nothing done); returns what makes them. */
export function planPorts(emu: Emulator, node: string, changes: readonly Change[]): () => void {
  if (!changes.length) return () => {};
  const bridges = ovsBridges(emu, node);
  /** Bridges the transaction adds (in the engine once their step has run). */
  const added = new Map<string, OvsBridge>();
  const bridge = (name: string): OvsBridge => added.get(name) ?? bridges.find((b) => b.name === name)!;
  const root = rootNetns(emu, node, emu.engine.now);
  const topology = emu.topology.nodes.find((n) => n.name === node)?.ovsBridges ?? [];
  /** Ports deleted earlier in the transaction: name -> their bridge, type and step. */
  const deleted = new Map<string, { br: OvsBridge; type: string; step: number }>();
  /** Bridges deleted earlier in the transaction. */
  const goneBridges = new Set<string>();
  const steps: ((() => void) | null)[] = [];
  for (const c of changes) {
    if ('br' in c) {
      if (c.br === 'add') {
        // bridge_reconfigure finds a bridge by name: it keeps the one deleted (its ofproto, default_ea) and configures it anew.
        if (goneBridges.has(c.bridge.name)) fail(`dpemu does not model deleting and adding bridge ${c.bridge.name} in one transaction (ovs-vswitchd would keep the bridge)`);
        // (A namespace is an element of its name here: the engine takes one element a name per node.)
        const taken = root.link(c.bridge.name) !== undefined || emu.engine.element(node, c.bridge.name) !== undefined;
        const br = newBridge(emu, node, c, taken);
        added.set(br.name, br);
        steps.push(() => {
          // Its own device and datapath port first, as ovs-vswitchd's ofproto_create opens them.
          const odp = new NodeDatapath(ovsBridges(emu, node)).nextFree();
          const ifindex = plugIfindex(emu, node, emu.engine.now);
          emu.engine.add(br);
          br.ensureLocal().plugged = { odp, ifindex, externalIds: [] };
        });
        continue;
      }
      const br = bridge(c.name);
      if (topology.some((b) => b.name === c.name)) {
        fail(`dpemu does not model deleting bridge ${c.name}, which the topology made (its ports wire it to the node's namespaces, VMs and bridges): delete the ports ovs-vsctl added with del-port`);
      }
      added.delete(c.name);
      goneBridges.add(c.name);
      // Its ports are deleted ports to what follows (their names free for an internal port on another bridge).
      for (const p of br.portList) if (p.ofport !== OFPP_LOCAL) deleted.set(p.name, { br, type: p.type, step: steps.length });
      steps.push(() => {
        for (const p of br.portList) if (p.ofport !== OFPP_LOCAL) br.delOvsPort(p.name);
        emu.engine.remove(br);
      });
      continue;
    }
    const br = bridge(c.bridge);
    if (!c.add) {
      const op = br.portByName(c.name)!;
      const peer = op.port.peer?.element;
      if (op.type === 'internal' && peer instanceof NetNamespace) {
        fail(`dpemu does not model deleting port ${c.name}: ovs-vswitchd would destroy its device, which is in namespace ${peer.name}`);
      }
      deleted.set(c.name, { br, type: op.type, step: steps.length });
      steps.push(() => br.delOvsPort(c.name));
      continue;
    }
    checkNew('Port', c.port);
    checkNew('Interface', c.iface);
    const name = c.port.name, v = c.port.values, ifType = String(c.iface.values.type!.keys[0]);
    const ids = c.iface.values.external_ids!;
    const externalIds = ids.keys.map((k, i) => [String(k), String(ids.values![i])] as const);
    const ofportRequest = c.iface.values.ofport_request!.keys[0] as number | undefined;
    if (v.name!.keys[0] !== name) fail(`dpemu does not model a port named other than its interface (${String(v.name!.keys[0])}, ${name})`);
    const vlanMode = v.vlan_mode!.keys[0] as VlanMode | 'dot1q-tunnel' | undefined;
    if (vlanMode === 'dot1q-tunnel') fail(`dpemu does not model vlan_mode dot1q-tunnel (port ${name})`);
    const cfg: OvsPortConfig = {
      tag: v.tag!.keys[0] as number | undefined,
      trunks: v.trunks!.keys.length ? (v.trunks!.keys as number[]) : undefined,
      vlanMode: vlanMode as VlanMode | undefined,
    };
    const dev = root.link(name), gone = deleted.get(name);
    deleted.delete(name);
    if (gone?.br === br && (gone.type === 'internal') === (ifType === 'internal') && (ifType === 'internal' || ifType === '' || ifType === 'system')) {
      // Deleted and added again in one transaction: ovs-vswitchd finds the port by name and keeps it, its ofport
      // and device (bridge_del_ports), and configures it anew: its VLAN settings.
      const op = br.portByName(name)!;
      if (cfg.vlanMode !== op.vlanModeColumn || String(cfg.trunks ?? '') !== String(op.trunks ?? '')) {
        fail(`dpemu does not model changing the trunks or vlan_mode of port ${name}`);
      }
      // (The topology's ports have no external_ids: see docs/control.md, "ovs-vsctl list".)
      if (!op.plugged && externalIds.length) fail(`dpemu does not model changing the external_ids of interface ${name}`);
      // (bridge_delete_or_reconfigure_ports would delete the port to add it again with the number asked for.)
      if (ofportRequest !== undefined && (!op.plugged || ofportRequest !== op.ofport)) fail(`dpemu does not model changing the ofport_request of interface ${name}`);
      steps[gone.step] = null;
      steps.push(() => {
        br.setPortTag(name, cfg.tag);
        if (op.plugged) op.plugged = { ...op.plugged, externalIds, ...(ofportRequest !== undefined ? { ofportRequest } : {}) };
      });
      continue;
    }
    if (ifType === 'internal') {
      // The kernel refuses a second device of the name (a system device on no bridge, or one deleted with the port in this transaction but not yet gone).
      if (dev && gone?.type !== 'internal') fail(`dpemu does not model adding internal port ${name}: the node has a device of that name (ovs-vswitchd would fail to create it)`);
      cfg.type = 'internal';
    } else if (ifType === '' || ifType === 'system') {
      // The device: one that left this bridge (still the bridge's engine port), on no bridge now.
      const free = gone ? gone.br === br && gone.type !== 'internal' : dev !== undefined && dev.master === undefined;
      if (!free || !br.port(name)) {
        fail(dev || gone
          ? `dpemu does not model adding device ${name} to bridge ${br.name} (it adds back a device that left that bridge, or a new internal port)`
          : `dpemu does not model a port without its device: ${node} has no device ${name} (ovs-vswitchd would leave its Interface with an error and ofport -1)`);
      }
      cfg.type = (dev?.kind ?? gone?.type) === 'tap' ? 'tap' : 'system';
    } else fail(`dpemu does not model adding an interface of type ${ifType} (it adds internal ones, and devices the node has)`);
    steps.push(() => {
      const now = emu.engine.now;
      const odp = new NodeDatapath(ovsBridges(emu, node)).nextFree();
      const ifindex = cfg.type === 'internal' ? plugIfindex(emu, node, now) : 0;
      const op = br.addOvsPort(name, { ...cfg, ofport: br.allocOfport(now, ofportRequest) });
      op.plugged = { odp, ifindex, externalIds, ...(ofportRequest !== undefined ? { ofportRequest } : {}) };
      // ovs-vswitchd leaves a new internal device down, its counters from 0 (an internal port's name again is a new device); a system device keeps its state.
      op.port.up = cfg.type !== 'internal';
      if (cfg.type === 'internal') emu.engine.stats.v.fill(0, op.port.statsBase, op.port.statsBase + PORT_COUNTERS.length);
    });
  }
  return () => {
    for (const s of steps) s?.();
  };
}
