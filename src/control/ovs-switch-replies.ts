// ovs-ofctl 3.1's dump-desc, set-frags, queue-stats and mod-port
// on a node's OVS bridge (utilities/ovs-ofctl.c, ofproto/ofproto.c; checked
// against a real ovs-vswitchd 3.1: test/e2e/ovs-ofctl-more-oracle.test.ts).
import type { OvsBridge } from '../ofproto/bridge.js';
import { OFPPC } from '../ofproto/ovs-port.js';
import { OFPP } from '../ofproto/actions.js';
import { FRAG_NAMES, type FragMode } from '../ofproto/frag-handling.js';
import type { OfVersion } from '../ofproto/flow-printer.js';
import { ControlError } from './protocol.js';
import { portArg } from './ovs-dump-ports.js';

/** ` (OF1.x)` after a message's name, as ofp-print.c heads any version but 1.0. */
const ofTag = (v: OfVersion): string => (v === 10 ? '' : ` (OF1.${v - 10})`);

/**
 * OFPST_DESC: what ofproto reports of itself (ofproto.c's defaults, which
 * bridge.c leaves alone without other_config:dp-desc and the like); its
 * software the node's Open vSwitch version.
 */
export function dumpDesc(version: string, v: OfVersion): string {
  return `OFPST_DESC reply${ofTag(v)} (xid=0x2):\nManufacturer: Nicira, Inc.\nHardware: Open vSwitch\nSoftware: ${version}\nSerial Num: None\nDP Description: None\n`;
}

/**
 * set-frags (ofputil_frag_handling_from_string, any case): normal, drop and
 * nx-match as ofproto-dpif does them; reassemble it refuses
 * (set_frag_handling), which ovs-ofctl reports after the barrier.
 */
export function setFrags(br: OvsBridge, mode: string): void {
  const m = mode.toLowerCase();
  const i = FRAG_NAMES.indexOf(m as (typeof FRAG_NAMES)[number]);
  if (i >= 0) return br.setFragMode(i as FragMode);
  if (m === 'reassemble') throw new ControlError(`ovs-ofctl: ${br.name}: setting fragment handling mode failed (this switch probably doesn't support mode "reassemble")`);
  throw new ControlError(`ovs-ofctl: ${mode}: unknown fragment handling mode`);
}

const OFPP_ANY = 0xffff;
const OFPQ_ALL = 0xffffffff;
const RESERVED: Record<number, string> = { 0xfff8: 'IN_PORT', 0xfff9: 'TABLE', 0xfffa: 'NORMAL', 0xfffb: 'FLOOD', 0xfffc: 'ALL', 0xfffd: 'CONTROLLER', 0xfffe: 'LOCAL', 0xffff: 'ANY' };

/** atoi(): strtol's leading number (0 if none), kept to an int as C converts it, read as the uint32 it is sent as. */
function atoiU32(s: string): number {
  const m = /^\s*([+-]?\d+)/.exec(s);
  if (!m) return 0;
  let n = BigInt(m[1]!);
  const max = (1n << 63n) - 1n;
  if (n > max) n = max;
  if (n < -max - 1n) n = -max - 1n;
  return Number(BigInt.asUintN(32, n));
}

/**
 * queue-stats [PORT [QUEUE]]: no dpemu port has QoS, so each port's netdev
 * has no queue to dump (netdev-linux's default qdisc and the vports have no
 * class_dump_stats): every reply has 0 queues, and a queue asked for by
 * number is OFPQOFC_BAD_QUEUE (a port that does not exist OFPQOFC_BAD_PORT),
 * which ovs-ofctl prints with the request, exit status 0.
 */
export function queueStats(br: OvsBridge, v: OfVersion, port?: string, queue?: string): string {
  const any = port === undefined || port === '' || port.toLowerCase() === 'all';
  const { ofport, lookedUp } = any ? { ofport: OFPP_ANY, lookedUp: false } : portArg(br, port, 'unknown');
  const q = queue === undefined || queue === '' || queue.toLowerCase() === 'all' ? OFPQ_ALL : atoiU32(queue);
  const xid = lookedUp ? '0x4' : '0x2';
  const exists = ofport === OFPP_ANY || (br.portByOfport(ofport) !== undefined && (ofport < OFPP.MAX || ofport === OFPP.LOCAL));
  if (exists && q === OFPQ_ALL) return `OFPST_QUEUE reply${ofTag(v)} (xid=${xid}): 0 queues\n`;
  const err = exists ? 'OFPQOFC_BAD_QUEUE' : 'OFPQOFC_BAD_PORT';
  const name = RESERVED[ofport] ?? String(ofport);
  return `OFPT_ERROR${ofTag(v)} (xid=${xid}): ${err}\nOFPST_QUEUE request${ofTag(v)} (xid=${xid}): port=${name} queue=${q === OFPQ_ALL ? 'ALL' : q}\n`;
}

/** ofctl_mod_port's words: each sets its bit to `on`, or with no-/no before it to the opposite. */
const MOD_PORT_FLAGS: readonly [string, number, boolean][] = [
  ['up', OFPPC.PORT_DOWN, false],
  ['down', OFPPC.PORT_DOWN, true],
  ['stp', OFPPC.NO_STP, false],
  ['receive', OFPPC.NO_RECV, false],
  ['receive-stp', OFPPC.NO_RECV_STP, false],
  ['flood', OFPPC.NO_FLOOD, false],
  ['forward', OFPPC.NO_FWD, false],
  ['packet-in', OFPPC.NO_PACKET_IN, false],
];

/** The bits an OpenFlow 1.1+ port_mod carries (ofputil_port_config_to_ofp11): STP, RECV_STP and FLOOD are 1.0's only. */
const OF11_BITS = OFPPC.PORT_DOWN | OFPPC.NO_RECV | OFPPC.NO_FWD | OFPPC.NO_PACKET_IN;

/**
 * mod-port PORT ACTION: the port found as fetch_ofputil_phy_port finds it (a
 * decimal number is its ofport, anything else its name: `LOCAL` is not
 * found, the bridge's own name is), the word parsed as ofctl_mod_port does,
 * and the port_mod sent in version `v`, which in 1.1+ drops the 1.0-only bits
 * (the switch then changes nothing).
 */
export function modPort(br: OvsBridge, v: OfVersion, port: string, action: string): void {
  const p = /^\d+$/.test(port) ? br.portByOfport(Number(port)) : br.portByName(port);
  if (p === undefined) throw new ControlError(`ovs-ofctl: ${br.name}: couldn't find port \`${port}'`);
  const lower = action.toLowerCase();
  const not = lower.startsWith('no');
  const word = lower.startsWith('no-') ? lower.slice(3) : not ? lower.slice(2) : lower;
  const flag = MOD_PORT_FLAGS.find(([name]) => name === word);
  if (flag === undefined) throw new ControlError(`ovs-ofctl: unknown mod-port command '${action}'`);
  const [, bit, on] = flag;
  if (v !== 10 && (bit & OF11_BITS) === 0) return;
  br.modPort(p, bit, on !== not);
}
