// A node's kernel datapath (`system@ovs-system`): the port numbers its
// bridges' ports have there (odp ports), which `ovs-appctl dpif/show` lists
// beside the OpenFlow ones and dpif/dump-flows and ofproto/trace's
// "Datapath actions" print. Every bridge of a node shares the one datapath:
// port 0 is the datapath's own (ovs-system), the others are numbered as the
// kernel numbers ports added to it, the lowest free number each, here in the
// node's bridge order with each bridge's LOCAL port first and then its ports
// by OpenFlow number (the real numbers follow the order ovs-vswitchd once
// added them, which no topology records). A patch port has no datapath port;
// every vxlan port with the same UDP port shares one (vxlan_sys_4789), as in
// the kernel datapath.
import type { OvsBridge } from './bridge.js';
import { OFPP_LOCAL } from './bridge.js';
import type { OvsPort } from './ovs-port.js';
import { ipToString } from '../wire/addr.js';

export class NodeDatapath {
  private readonly odp = new Map<OvsPort, number>();

  constructor(readonly bridges: readonly OvsBridge[]) {
    let next = 1;
    const tunnels = new Map<number, number>(); // UDP port -> its vxlan_sys_N port
    for (const br of bridges) {
      const local = br.portByOfport(OFPP_LOCAL);
      for (const p of [...(local ? [local] : []), ...br.portList.filter((x) => x !== local)]) {
        if (p.type === 'patch') continue;
        if (p.type !== 'vxlan') this.odp.set(p, next++);
        else {
          if (!tunnels.has(p.dstPort)) tunnels.set(p.dstPort, next++);
          this.odp.set(p, tunnels.get(p.dstPort)!);
        }
      }
    }
  }

  /** The port's datapath number; null for a patch port (ODPP_NONE). */
  odpPort(p: OvsPort): number | null {
    return this.odp.get(p) ?? null;
  }

  /** `ovs-appctl dpif/show` (dpif_show_backer): `hit`/`missed` are the bridges' translation caches' hits and misses. */
  show(): string {
    const hit = this.bridges.reduce((n, b) => n + (b.xcache?.hits ?? 0), 0);
    const missed = this.bridges.reduce((n, b) => n + (b.xcache?.misses ?? 0), 0);
    const lines = [`system@ovs-system: hit:${hit} missed:${missed}`];
    for (const br of [...this.bridges].sort((a, b) => cmp(a.name, b.name))) {
      lines.push(`  ${br.name}:`);
      for (const p of [...br.portList].sort((a, b) => cmp(a.name, b.name))) {
        const odp = this.odpPort(p);
        const config = netdevConfig(p);
        lines.push(`    ${p.name} ${p.ofport}/${odp ?? 'none'}: (${netdevType(p)}${config.length ? `: ${config.join(', ')}` : ''})`);
      }
    }
    return lines.map((l) => l + '\n').join('');
  }
}

/** strcmp order (shash_sort): names are ASCII. */
const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** netdev_get_type: a TAP attached as a plain interface is a system netdev, as Neutron adds them. */
const netdevType = (p: OvsPort): string => (p.type === 'tap' ? 'system' : p.type);

/** netdev_get_config, sorted by key (smap_sort): a patch port's peer, a tunnel's get_tunnel_config. */
function netdevConfig(p: OvsPort): string[] {
  const o = p.options;
  if (p.type === 'patch') return [`peer=${o.peer}`];
  if (p.type !== 'vxlan') return [];
  const c = new Map<string, string>();
  const ip = (v: number | 'flow' | null): string | null => (v === null ? null : v === 'flow' ? 'flow' : ipToString(v));
  const remote = ip(p.remoteIp), local = ip(p.localIp);
  if (remote !== null) c.set('remote_ip', remote);
  if (local !== null) c.set('local_ip', local);
  const inKey = o.in_key ?? o.key, outKey = o.out_key ?? o.key;
  if (inKey === 'flow' && outKey === 'flow') c.set('key', 'flow');
  else if (inKey !== undefined && outKey !== undefined && String(inKey) === String(outKey)) c.set('key', String(inKey));
  else {
    if (inKey !== undefined) c.set('in_key', String(inKey));
    if (outKey !== undefined) c.set('out_key', String(outKey));
  }
  if (p.dstPort !== 4789) c.set('dst_port', String(p.dstPort));
  if (!p.dfDefault) c.set('df_default', 'false');
  return [...c.keys()].sort(cmp).map((k) => `${k}=${c.get(k)}`);
}
