// ovs-appctl's static MAC entries and MAC learning statistics: fdb/add,
// fdb/del and fdb/stats-clear, as ofproto-dpif.c's handlers of OVS 3.1 read
// their words and answer (checked against ovs-vswitchd 3.1 in
// test/e2e/ovs-fdb-oracle.test.ts). dpemu's NODE comes first: OVS's argument
// counts are those after it.
import type { CommandFamily } from './command.js';
import { ControlError, ok } from './protocol.js';
import { mustNode, ovsBridges } from './resolve.js';
import type { OvsBridge } from '../ofproto/bridge.js';
import { OFPP } from '../ofproto/actions.js';

type Ctx = Parameters<CommandFamily['run']>[0];
type Reply = ReturnType<CommandFamily['run']>;

/** unixctl's refusal: the server's error and ovs-appctl's line after it, exit 2. */
const fail = (m: string): ControlError => new ControlError(`${m}\novs-appctl: server returned an error`, 2);

/** unixctl's argument count check (OVS's counts: NODE, dpemu's, is not one). */
function argCount(sub: string, args: readonly string[], min: number, max: number): void {
  if (args.length < min) throw fail(`"${sub}" command requires at least ${min} arguments`);
  if (args.length > max) throw fail(`"${sub}" command takes at most ${max} arguments`);
}

function bridgeOf(ctx: Ctx, node: string, name: string): OvsBridge {
  const br = ovsBridges(ctx.emu, node).find((b) => b.name === name);
  if (br === undefined) throw fail('no such bridge');
  return br;
}

const SPACES = '[ \\t\\n\\v\\f\\r]*';
/** One %hhx of ovs_scan: spaces, then what strtoimax reads in base 16 (sign, 0x). */
const HEX_BYTE = new RegExp(`^${SPACES}([+-]?)(?:0[xX](?=[0-9a-fA-F]))?([0-9a-fA-F]+)`);
const INTMAX = (1n << 63n) - 1n;

/**
 * eth_addr_from_string(): ovs_scan's "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx" and
 * nothing after. Each byte is the number's low 8 bits ("1ff" is ff, "-1"
 * ff, however long: ovs-vswitchd 3.1 takes "99999999999999999999" as 99).
 * Returns the MAC's top 16 bits and low 32 bits, or null.
 */
export function ethAddrFromString(s: string): { hi: number; lo: number } | null {
  let rest = s, mac = 0n;
  for (let i = 0; i < 6; i++) {
    if (i > 0) {
      if (rest[0] !== ':') return null;
      rest = rest.slice(1);
    }
    const m = HEX_BYTE.exec(rest);
    if (m === null) return null;
    const v = BigInt(`0x${m[2]}`);
    mac = (mac << 8n) | BigInt.asUintN(8, m[1] === '-' ? -v : v);
    rest = rest.slice(m[0].length);
  }
  if (rest !== '') return null;
  return { hi: Number(mac >> 32n), lo: Number(mac & 0xffffffffn) };
}

/** atoi() stored in a uint16_t, as fdb/add and fdb/del read the VLAN ("x" is 0, "12abc" 12, "-1" 65535). */
export function atoiU16(s: string): number {
  const m = /^[ \t\n\v\f\r]*([+-]?\d+)/.exec(s);
  if (m === null) return 0;
  let v = BigInt(m[1]!);
  // strtol clamps to long's range; atoi's int keeps the low 32 bits of that, the uint16_t the low 16.
  if (v > INTMAX) v = INTMAX;
  if (v < -INTMAX - 1n) v = -INTMAX - 1n;
  return Number(BigInt.asUintN(16, v));
}

function mac(s: string): { hi: number; lo: number } {
  const m = ethAddrFromString(s);
  if (m === null) throw fail('bad MAC address');
  return m;
}

/** dpemu's MAC table keys a VLAN above 0x7fff with a MAC's top bits together: the one key it cannot hold. */
function holdable(vlan: number, hi: number): void {
  if (vlan === 0xffff && hi === 0xffff) throw new ControlError('dpemu: a MAC starting ff:ff in VLAN 65535 is not kept by dpemu\'s MAC table', 2);
}

/**
 * fdb/add NODE BRIDGE PORT VLAN MAC: the bridge, then the MAC, then the port
 * (a port of that bridge by name, its own LOCAL port by the bridge's name;
 * not a number). Replacing another port's static entry, or a learned one,
 * answers "Overriding already existing static|dynamic entry on OFPORT|LOCAL".
 */
export function fdbAdd(ctx: Ctx, args: readonly string[]): Reply {
  const node = mustNode(ctx, args[0]);
  const a = args.slice(1);
  argCount('fdb/add', a, 4, 4);
  const br = bridgeOf(ctx, node, a[0]!);
  const m = mac(a[3]!);
  const p = br.portByName(a[1]!);
  if (p === undefined) throw fail('software error, odp port is present but no ofp port');
  const vlan = atoiU16(a[2]!);
  holdable(vlan, m.hi);
  const was = br.fdbAdd(p.ofport, vlan, m.hi, m.lo);
  ctx.invalidate(`${node}:${br.name} fdb`);
  if (was === null) return ok('');
  // The old port as ofputil_port_to_string writes it without names (LOCAL by name, as fdb/show).
  const on = was.port === OFPP.LOCAL ? 'LOCAL' : String(was.port);
  return ok(`Overriding already existing ${was.static ? 'static' : 'dynamic'} entry on ${on}\n`);
}

/** fdb/del NODE BRIDGE VLAN MAC: a static entry only (a learned one is "could not find static mac entry"). */
export function fdbDel(ctx: Ctx, args: readonly string[]): Reply {
  const node = mustNode(ctx, args[0]);
  const a = args.slice(1);
  argCount('fdb/del', a, 3, 3);
  const br = bridgeOf(ctx, node, a[0]!);
  const m = mac(a[2]!);
  if (!br.fdb.delStatic(m.hi, m.lo, atoiU16(a[1]!))) throw fail('could not find static mac entry');
  ctx.invalidate(`${node}:${br.name} fdb`);
  return ok('');
}

/** fdb/stats-clear NODE [BRIDGE]: one bridge's totals, or every bridge's of the node. */
export function fdbStatsClear(ctx: Ctx, args: readonly string[]): Reply {
  const node = mustNode(ctx, args[0]);
  const a = args.slice(1);
  argCount('fdb/stats-clear', a, 0, 1);
  const brs = a.length ? [bridgeOf(ctx, node, a[0]!)] : ovsBridges(ctx.emu, node);
  for (const br of brs) br.fdb.clearStatistics();
  return ok('statistics successfully cleared\n');
}
