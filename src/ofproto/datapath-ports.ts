// A node's kernel datapath (`system@ovs-system`): the port numbers its
// bridges' ports have there (odp ports), which `ovs-appctl dpif/show` lists
// beside the OpenFlow ones and dpif/dump-flows and ofproto/trace's
// "Datapath actions" print. Every bridge of a node shares the one datapath:
// port 0 is the datapath's own (ovs-system), the others are numbered as the
// kernel numbers ports added to it, the lowest free number each, here in the
// node's bridge order with each bridge's LOCAL port first and then its ports
// by OpenFlow number (the real numbers follow the order ovs-vswitchd once
// added them, which no topology records); a port ovs-vsctl deletes frees its
// number, and one it adds takes the lowest free number then. A patch port
// has no datapath port; every vxlan port with the same UDP port shares one
// (vxlan_sys_4789), as in the kernel datapath.
import type { OvsBridge } from './bridge.js';
import type { OvsPort } from './ovs-port.js';
import { ipToString } from '../wire/addr.js';
import { PC, type Stats } from '../datapath/stats.js';

export class NodeDatapath {
  private readonly odp = new Map<OvsPort, number>();

  constructor(readonly bridges: readonly OvsBridge[]) {
    let next = 1;
    const tunnels = new Map<number, number>(); // UDP port -> its vxlan_sys_N port
    for (const br of bridges) {
      // The topology's ports, those ovs-vsctl deleted since too (their numbers went with them, the others' stay).
      for (const p of br.topologyPorts()) {
        if (p.type === 'patch') continue;
        if (p.type !== 'vxlan') this.odp.set(p, next++);
        else {
          if (!tunnels.has(p.dstPort)) tunnels.set(p.dstPort, next++);
          this.odp.set(p, tunnels.get(p.dstPort)!);
        }
      }
      for (const p of br.portList) if (p.plugged && p.plugged.odp !== null) this.odp.set(p, p.plugged.odp);
    }
    for (const br of bridges) for (const p of br.deletedPorts()) this.odp.delete(p);
  }

  /** The number the kernel gives a port added now (ovs_vport_cmd_new: the lowest free one). */
  nextFree(): number {
    const used = new Set(this.odp.values());
    let n = 1;
    while (used.has(n)) n++;
    return n;
  }

  /**
   * `ovs-appctl dpctl/show` (show_dpif of lib/dpctl.c, OVS 3.1) for the
   * kernel datapath, from the node's translation caches (dpemu's datapath
   * flows) at `now` ms, idle entries first gone as dpctl/dump-flows drops
   * them: lookups hit/missed are their hits and misses (lost: dpemu loses no
   * upcall); flows their live entries; masks total the distinct masks among
   * those (the kernel keeps one mask list for the datapath, so bridges'
   * entries with equal masks share one), masks hit the masks lookups probed
   * and cache hit the lookups the per-port memo answered (the kernel's
   * per-CPU mask cache: one mask probed). dpif-netlink reports a zero cache
   * hit count as unsupported, so `cache:` is left out until a hit;
   * `caches:` lists the kernel's default mask cache size (256). With
   * `stats` (-s) each port's netdev_get_stats lines follow it (portStats).
   */
  dpctlShow(now: number, stats: Stats | null): string {
    let hit = 0, missed = 0, flows = 0, maskHits = 0, cacheHits = 0;
    const masks = new Set<string>();
    for (const br of this.bridges) {
      const xc = br.xcache;
      if (xc === null) continue;
      xc.expireIdle(now);
      hit += xc.hits;
      missed += xc.misses;
      flows += xc.count;
      maskHits += xc.maskHits;
      cacheHits += xc.memoHits;
      for (const g of xc.groups) if (g.count !== 0) masks.add(g.id);
    }
    const pkts = hit + missed;
    const lines = [
      'system@ovs-system:',
      `  lookups: hit:${hit} missed:${missed} lost:0`,
      `  flows: ${flows}`,
      `  masks: hit:${maskHits} total:${masks.size} hit/pkt:${fixedC(pkts ? maskHits / pkts : 0, 2)}`,
    ];
    if (cacheHits !== 0) lines.push(`  cache: hit:${cacheHits} hit-rate:${fixedC((cacheHits / pkts) * 100, 2)}%`);
    lines.push('  caches:', '    masks-cache: size:256', '  port 0: ovs-system (internal)');
    // Each datapath port once, by number (vxlan ports of one UDP port share theirs).
    const byNo = new Map<number, OvsPort>();
    for (const [p, n] of this.odp) if (!byNo.has(n)) byNo.set(n, p);
    if (stats !== null) lines.push(...portStats(null, stats));
    for (const [n, p] of [...byNo].sort((a, b) => a[0] - b[0])) {
      lines.push(`  port ${n}: ${dpctlPort(p)}`);
      if (stats !== null) lines.push(...portStats(p, stats));
    }
    return lines.map((l) => l + '\n').join('');
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

/**
 * printf's `%.Nf` of x >= 0: toFixed but for an exact tie (x an odd
 * multiple of 2^-(N+1), the only doubles halfway between two N-digit
 * decimals), which glibc rounds to even and toFixed up.
 */
export function fixedC(x: number, n: number): string {
  const m = x * 2 ** (n + 1); // exact: a power of two
  if (Number.isInteger(m) && m % 2 === 1) {
    const k = Math.round(x * 10 ** n);
    return ((k % 2 === 0 ? k : k - 1) / 10 ** n).toFixed(n);
  }
  return x.toFixed(n);
}

/**
 * A kernel datapath port as show_dpif names it: the vport's name, and its
 * type and netdev_get_config unless a system one. A vxlan port is the
 * shared vxlan_sys_N vport, which dpctl opens afresh by that name: a new
 * netdev with no configuration but the UDP port its name gives, so
 * get_tunnel_config prints only the packet type (the form ovs-dpctl show
 * prints on OVS 3.x hosts).
 */
function dpctlPort(p: OvsPort): string {
  if (p.type === 'vxlan') return `vxlan_sys_${p.dstPort} (vxlan: packet_type=ptap)`;
  return p.type === 'internal' ? `${p.name} (internal)` : p.name;
}

/**
 * -s's lines for port `p` (null: ovs-system's): the counters dump-ports
 * prints for it (netdev_get_stats, the same call port_get_stats makes; see
 * src/control/ovs-dump-ports.ts), the errors dpemu never has 0. ovs-system
 * carries nothing, and dpctl opens a vxlan_sys_N vport as a new netdev
 * whose tunnel counters (netdev_vport_get_stats) start at 0: both all 0.
 */
function portStats(p: OvsPort | null, stats: Stats): string[] {
  const own = p !== null && p.type !== 'vxlan';
  const c = (i: PC): number => (own ? stats.v[p.port.statsBase + i]! : 0);
  const rxBytes = own ? c(PC.RX_BYTES) + p.rxBytesAdj : 0, txBytes = own ? c(PC.TX_BYTES) + p.txBytesAdj : 0;
  return [
    `    RX packets:${c(PC.RX_PACKETS)} errors:0 dropped:0 overruns:0 frame:0`,
    `    TX packets:${c(PC.TX_PACKETS)} errors:0 dropped:${c(PC.TX_DROPPED)} aborted:0 carrier:0`,
    '    collisions:0',
    `    RX bytes:${rxBytes}${humanSize(rxBytes)}  TX bytes:${txBytes}${humanSize(txBytes)}`,
  ];
}

/** print_human_size of lib/dpctl.c. */
function humanSize(v: number): string {
  const units: [number, string][] = [[1024 ** 4, 'TiB'], [1024 ** 3, 'GiB'], [1024 ** 2, 'MiB'], [1024, 'KiB']];
  for (const [n, u] of units) if (v >= n) return ` (${fixedC(v / n, 1)} ${u})`;
  return '';
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
