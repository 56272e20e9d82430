// The topology the bridge kernel comparisons build dpemu's side from: a
// compute node `c1` with one qbr as os-vif plugs a VM (a veth pair qvb/qvo
// to br-int, the VM's TAP as an edge), and the start of its kernel twin:
// the bridge and the veth pair in a namespace of their own (each test adds
// the TAP and enslaves the ports in the order it compares).
import { type KernelObjects, sh } from './lab-names.js';
import type { Emulator } from '../../src/topology/builder.js';
import { COMMANDS } from '../../src/control/registry.js';
import { ControlError } from '../../src/control/protocol.js';
export interface QbrNames {
  /** The topology's name. */
  name: string;
  /** uniqueTag(): the TAP edge's device is dpe-TAG-t. */
  tag: string;
  br: string;
  qvb: string;
  qvo: string;
  tap: string;
  /** Each device's address (the twin's are set to the same); none: made from the names. */
  mac?: { br: string; qvb: string; qvo: string; tap: string };
  /** The qbr's ageing_time in seconds (default 300). */
  ageing?: number;
  /** More YAML under `c1:` after the OVS bridge's ports (indented as its keys). */
  more?: string;
}

export function qbrTopology(n: QbrNames): string {
  const mac = (d: keyof NonNullable<QbrNames['mac']>): string => (n.mac ? `, mac: ${n.mac[d]}` : '');
  return `
version: 1
name: ${n.name}
nodes:
  c1:
    role: compute
    linux_bridges:
      ${n.br}:${n.mac ? `\n        mac: ${n.mac.br}` : ''}${n.ageing !== undefined ? `\n        ageing_time: ${n.ageing}` : ''}
        ports:
          ${n.qvb}: { port_no: 1${mac('qvb')} }
          ${n.tap}: { port_no: 2${mac('tap')} }
    veths:
      - [${n.qvb}, ${n.qvo}]
    edges:
      ${n.tap}: { kind: tap, dev: dpe-${n.tag}-t }
    ovs:
      br-int:
        ports:
          ${n.qvo}: { ofport: 1${mac('qvo')} }
${n.more ?? ''}`;
}

/**
 * A kernel namespace `name` (IPv6 off, so that no address of its own
 * speaks) with the qbr (STP off, forward_delay 0, no snooping; `ageing`
 * seconds) and the qvb/qvo veth pair, with `n.mac`'s addresses if given;
 * `ip` runs ip in it.
 */
export function kernelQbr(objs: KernelObjects, name: string, n: Pick<QbrNames, 'br' | 'qvb' | 'qvo' | 'mac' | 'ageing'>): { ns: string; ip: (...a: string[]) => string } {
  const ns = objs.addNetns(name);
  const ip = (...a: string[]): string => sh('ip', ['-n', ns, ...a]);
  for (const k of ['all', 'default']) sh('ip', ['netns', 'exec', ns, 'sysctl', '-qw', `net.ipv6.conf.${k}.disable_ipv6=1`]);
  const addr = (d: 'br' | 'qvb' | 'qvo'): string[] => (n.mac ? ['address', n.mac[d]] : []);
  ip('link', 'add', n.br, ...addr('br'), 'type', 'bridge', 'forward_delay', '0', 'stp_state', '0', 'mcast_snooping', '0', ...(n.ageing !== undefined ? ['ageing_time', String(n.ageing * 100)] : []));
  ip('link', 'add', n.qvb, ...addr('qvb'), 'type', 'veth', 'peer', 'name', n.qvo, ...addr('qvo'));
  return { ns, ip };
}

/** `dpemu bridge c1 ARGV...` on `emu` as the control socket runs it: stdout, stderr and exit status, a refusal's too. */
export async function qbrBridge(emu: Emulator, argv: string[]): Promise<{ stdout: string; stderr: string; exit: number }> {
  try {
    return await COMMANDS.get('bridge')!.run({ emu, invalidate: () => {} }, ['c1', ...argv]);
  } catch (e) {
    if (!(e instanceof ControlError)) throw e;
    return { stdout: '', stderr: e.stderr, exit: e.exit };
  }
}
