// A node's datapath as its revalidators see it (OVS's struct udpif, one per
// datapath, ofproto/ofproto-dpif-upcall.c): every min(max-idle,
// max-revalidator) ms the
// leader reads the datapath's flow count, keeps its maximum and a running
// average, dumps the flows (here: sweeps the node's translation caches for
// idle entries, xlate-cache.ts) and times the dump, which adjusts the flow
// limit. `ovs-appctl upcall/show` prints these (upcallShow).
import type { OvsBridge } from './bridge.js';
import type { Engine } from '../datapath/engine.js';
import { MAX_REVALIDATOR_DEFAULT } from './xlate-cache.js';
/** ofproto_flow_limit's default (other_config:flow-limit). */
const OFPROTO_FLOW_LIMIT = 200000;

export class Udpif {
  /** udpif->avg_n_flows, max_n_flows, dump_duration (ms), flow_limit (starts at MIN(ofproto_flow_limit, 10000)). */
  avgFlows = 0;
  maxFlows = 0;
  dumpDuration = 0;
  flowLimit = Math.min(OFPROTO_FLOW_LIMIT, 10000);
  private next = 0;

  constructor(private readonly bridges: () => readonly OvsBridge[]) {}

  /** The datapath's flows: the node's caches' live entries (idle ones first dropped, as dpctl/dump-flows lists). */
  flows(now: number): number {
    let n = 0;
    for (const br of this.bridges()) {
      const xc = br.xcache;
      if (xc === null) continue;
      xc.expireIdle(now);
      n += xc.count;
    }
    return n;
  }

  /**
   * udpif_revalidator's leader, at most every min(max-idle, max-revalidator) ms: the flow
   * count before the dump (so it still holds the flows the dump deletes),
   * its maximum and average ((avg + n) / 2), the dump's wall time (at least
   * 1 ms) and the flow limit's adjustment by it.
   */
  run(now: number): void {
    if (now < this.next) return;
    const bridges = this.bridges();
    let n = 0, wait = MAX_REVALIDATOR_DEFAULT;
    for (const br of bridges) {
      const xc = br.xcache;
      if (xc === null) continue;
      n += xc.count;
      wait = Math.min(wait, xc.maxIdle);
    }
    this.next = now + wait;
    this.maxFlows = Math.max(n, this.maxFlows);
    this.avgFlows = Math.floor((this.avgFlows + n) / 2);
    const start = Math.floor(performance.now());
    for (const br of bridges) br.xcache?.sweep(now);
    const duration = Math.max(Math.floor(performance.now()) - start, 1);
    this.dumpDuration = duration;
    let limit = this.flowLimit;
    if (duration > 2000) limit = Math.floor(limit / Math.floor(duration / 1000));
    else if (duration > 1300) limit = Math.floor((limit * 3) / 4);
    else if (duration < 1000 && limit < Math.floor((n * 1000) / duration)) limit += 1000;
    this.flowLimit = Math.min(OFPROTO_FLOW_LIMIT, Math.max(limit, 1000));
  }

  /**
   * `ovs-appctl upcall/show` (upcall_unixctl_show) for the kernel datapath:
   * no "offloaded flows" line (hw-offload is off), UFIDs enabled (a kernel
   * that has them), and one revalidator, dpemu's one sweep of the node,
   * numbered REVALIDATOR_ID, its keys the flows.
   */
  show(now: number): string {
    const n = this.flows(now);
    return 'system@ovs-system:\n'
      + `  flows         : (current ${n}) (avg ${this.avgFlows}) (max ${this.maxFlows}) (limit ${this.flowLimit})\n`
      + `  dump duration : ${this.dumpDuration}ms\n`
      + '  ufid enabled : true\n'
      + '\n'
      + `  ${REVALIDATOR_ID}: (keys ${n})\n`;
  }
}

/**
 * The revalidator's ovsthread id: threads are numbered as they start, the
 * main thread 0, urcu 1, then the handlers and the revalidators. A node with
 * two CPUs and a kernel datapath has one handler (2) and one revalidator (3).
 */
const REVALIDATOR_ID = 3;

const byEngine = new WeakMap<Engine, Map<string, Udpif>>();

/** The datapath of `br`'s node (all its bridges share it), made when first asked. */
export function udpifOf(br: OvsBridge, bridges: () => readonly OvsBridge[]): Udpif {
  let m = byEngine.get(br.engine);
  if (m === undefined) byEngine.set(br.engine, (m = new Map()));
  let u = m.get(br.node);
  if (u === undefined) m.set(br.node, (u = new Udpif(bridges)));
  return u;
}
