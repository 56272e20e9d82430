// The database writes dpemu's model honours (ovs-vsctl set, remove, clear,
// add), each applied as ovs-vswitchd 3.1 reconfigures from the row:
// - Open_vSwitch other_config:max-idle: bridge_reconfigure's
//   smap_get_uint(.., 10000) to ofproto_set_max_idle, taken as it is (the
//   schema's documented minimum of 500 is not enforced: a real switch with
//   100 expires its datapath flows within 100 ms); every bridge of the node
//   (ofproto_max_idle is the process's);
// - Bridge other_config:mac-aging-time and mac-table-size:
//   bridge_configure_mac_table's smap_get_int(.., 0), 0 (absent, not a
//   number) meaning the default (300 s, 8192), then mac-learning's clamps
//   (15..3600 s, 10..1,000,000; a negative number is a huge unsigned one);
// - Port tag: the port's VLAN settings (OvsBridge.setPortTag).
// Any other change is refused before anything is written: the model would
// not do what the new value says.
import type { Emulator } from '../topology/builder.js';
import type { OvsBridge } from '../ofproto/bridge.js';
import { MAX_IDLE_DEFAULT } from '../ofproto/xlate-cache.js';
import { MAC_DEFAULT_MAX, MAC_ENTRY_DEFAULT_IDLE_TIME } from '../ofproto/fdb.js';
import { ovsBridges } from './resolve.js';
import { compareDatums, type Datum } from './ovsdb-datum.js';
import type { Row } from './ovsdb-rows.js';
import { fail } from './ovs-vsctl-db.js';

/** A column of a row that a command leaves with a new value. */
export interface ColumnWrite {
  table: string;
  row: Row;
  column: string;
  datum: Datum;
}

/** The other_config keys dpemu honours, per table. */
const KEYS: Record<string, readonly string[]> = {
  Open_vSwitch: ['max-idle'],
  Bridge: ['mac-aging-time', 'mac-table-size'],
};

/** str_to_int(s, 10): strtoll's whole string (leading white space, a sign), within int's range; else null. */
function cInt(s: string | undefined): number | null {
  if (s === undefined || !/^[ \t\n\v\f\r]*[+-]?\d+$/.test(s)) return null;
  const n = Number(s.trim());
  return n >= -0x8000_0000 && n <= 0x7fff_ffff ? n : null;
}

/** An int passed on as C's unsigned (a negative one wraps). */
const unsigned = (n: number): number => (n < 0 ? n + 2 ** 32 : n);

const asMap = (d: Datum): Map<string, string> => new Map(d.keys.map((k, i) => [String(k), String(d.values![i])]));

/** The keys whose value differs between two maps. */
function changedKeys(a: Map<string, string>, b: Map<string, string>): string[] {
  const keys = new Set([...a.keys(), ...b.keys()]);
  return [...keys].filter((k) => a.get(k) !== b.get(k)).sort();
}

/** Refuses a write the model does not honour (nothing is written), else what applies them all. */
export function planWrites(emu: Emulator, node: string, writes: readonly ColumnWrite[]): () => void {
  const changed = writes.filter((w) => compareDatums(w.row.values[w.column]!, w.datum) !== 0);
  for (const w of changed) {
    const keys = KEYS[w.table];
    if (w.column === 'other_config' && keys) {
      const bad = changedKeys(asMap(w.row.values[w.column]!), asMap(w.datum)).filter((k) => !keys.includes(k));
      if (bad.length) fail(`dpemu does not model changing ${w.table} other_config:${bad[0]} (it honours ${keys.map((k) => `other_config:${k}`).join(', ')})`);
    } else if (!(w.table === 'Port' && w.column === 'tag')) {
      fail(`dpemu does not model changing column ${w.column} of table ${w.table} (it honours Open_vSwitch other_config:max-idle, Bridge other_config:mac-aging-time and other_config:mac-table-size, Port tag)`);
    }
  }
  return () => applyWrites(emu, node, changed);
}

/** The node's Open_vSwitch other_config:max-idle as ofproto_set_max_idle takes it. */
export function maxIdle(emu: Emulator, node: string): number {
  const idle = cInt(emu.ovsOtherConfig.get(node)?.get('max-idle'));
  return idle === null ? MAX_IDLE_DEFAULT : unsigned(idle);
}

/** A Bridge row's other_config, its MAC table settings applied. */
export function bridgeOtherConfig(br: OvsBridge, oc: ReadonlyMap<string, string>): void {
  br.otherConfig.clear();
  for (const [k, v] of oc) br.otherConfig.set(k, v);
  br.fdb.setIdleTime(unsigned(cInt(oc.get('mac-aging-time')) || MAC_ENTRY_DEFAULT_IDLE_TIME));
  br.fdb.setMaxEntries(unsigned(cInt(oc.get('mac-table-size')) || MAC_DEFAULT_MAX));
}

/** The Bridge other_config keys dpemu honours. */
export const BRIDGE_KEYS = KEYS.Bridge!;

function applyWrites(emu: Emulator, node: string, changed: readonly ColumnWrite[]): void {
  const bridges = ovsBridges(emu, node);
  const bridge = (name: string): OvsBridge => bridges.find((b) => b.name === name)!;
  for (const w of changed) {
    if (w.table === 'Open_vSwitch') {
      emu.ovsOtherConfig.set(node, asMap(w.datum));
      for (const br of bridges) br.setMaxIdle(maxIdle(emu, node));
    } else if (w.table === 'Bridge') {
      bridgeOtherConfig(bridge(w.row.name), asMap(w.datum));
    } else {
      const br = bridges.find((b) => b.portByName(w.row.name))!;
      br.setPortTag(w.row.name, w.datum.keys[0] as number | undefined);
    }
  }
}
