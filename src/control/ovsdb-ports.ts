// What the model makes of ovs-vsctl add-port and del-port once their
// transaction commits, as ovs-vswitchd 3.1 reconfigures (bridge.c
// bridge_reconfigure: del_port, iface_create; ofproto.c ofport_install,
// alloc_ofp_port, ofport_remove): a deleted port leaves its bridge, its
// learned MACs go and what was translated through it (OvsBridge.delOvsPort);
// the flows that name its number stay. An added port gets the OpenFlow
// number alloc_ofp_port gives, the lowest free datapath port, and as its
// device: for type internal a new one, DOWN in the root namespace; for a
// system port the device the node has on no bridge (one ovs-vsctl took off
// this bridge). The rest is refused before anything is done, in dpemu's
// words: other columns of the new rows, other interface types, a device the
// node does not have, deleting an internal port Neutron moved into a
// namespace (ovs-vswitchd would destroy the device there).
import type { Emulator } from '../topology/builder.js';
import type { OvsBridge } from '../ofproto/bridge.js';
import type { OvsPortConfig, VlanMode } from '../ofproto/ovs-port.js';
import { NodeDatapath } from '../ofproto/datapath-ports.js';
import { NetNamespace } from '../netns/namespace.js';
import { PORT_COUNTERS } from '../datapath/stats.js';
import { ovsBridges } from './resolve.js';
import { compareDatums } from './ovsdb-datum.js';
import { row, type Row } from './ovsdb-rows.js';
import { plugIfindex, rootNetns } from './root-netns.js';
import { fail } from './ovs-vsctl-db.js';

/** A port the transaction adds (its rows as the commands left them) or deletes. */
export type PortChange = { add: true; bridge: string; port: Row; iface: Row } | { add: false; bridge: string; name: string };

/** The columns of a new row the model takes, per table. */
const TAKEN: Record<string, readonly string[]> = {
  Port: ['name', 'interfaces', 'tag', 'trunks', 'vlan_mode'],
  Interface: ['name', 'type', 'external_ids'],
};

/** Refuses a new row's column the model would not honour. */
function checkNew(table: string, r: Row): void {
  const blank = row(table, r.uuid, r.name, {});
  for (const [c, d] of Object.entries(r.values)) {
    if (TAKEN[table]!.includes(c) || compareDatums(d, blank.values[c]!) === 0) continue;
    fail(`dpemu does not model adding a port with column ${c} of table ${table} (it takes ${TAKEN.Port!.map((x) => `Port ${x}`).join(', ')}, Interface type and external_ids)`);
  }
}

/** Checks the changes against the model (refusing any it cannot make, nothing done); returns what makes them. */
export function planPorts(emu: Emulator, node: string, changes: readonly PortChange[]): () => void {
  if (!changes.length) return () => {};
  const bridges = ovsBridges(emu, node);
  const bridge = (name: string): OvsBridge => bridges.find((b) => b.name === name)!;
  const root = rootNetns(emu, node, emu.engine.now);
  /** Ports deleted earlier in the transaction: name -> their bridge, type and step. */
  const deleted = new Map<string, { br: OvsBridge; type: string; step: number }>();
  const steps: ((() => void) | null)[] = [];
  for (const c of changes) {
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
      steps[gone.step] = null;
      steps.push(() => {
        br.setPortTag(name, cfg.tag);
        if (op.plugged) op.plugged = { ...op.plugged, externalIds };
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
      const odp = new NodeDatapath(bridges).nextFree();
      const ifindex = cfg.type === 'internal' ? plugIfindex(emu, node, now) : 0;
      const op = br.addOvsPort(name, { ...cfg, ofport: br.allocOfport(now) });
      op.plugged = { odp, ifindex, externalIds };
      // ovs-vswitchd leaves a new internal device down, its counters from 0 (an internal port's name again is a new device); a system device keeps its state.
      op.port.up = cfg.type !== 'internal';
      if (cfg.type === 'internal') emu.engine.stats.v.fill(0, op.port.statsBase, op.port.statsBase + PORT_COUNTERS.length);
    });
  }
  return () => {
    for (const s of steps) s?.();
  };
}
