// What serves a running daemon: the control socket (`dpemu ip ...`,
// `dpemu ofctl ...`, `dpemu tcpdump ...`) and the Prometheus exporter. Both
// follow the emulator a reload swaps in; with datapath workers both ask the
// workers (src/workers/remote-control.ts, remote-metrics.ts).
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { startControlServer } from '../control/server.js';
import { ControlError } from '../control/protocol.js';
import { startMetricsServer, parseListenAddress, enableLatencySampling, registerCollectors, DEFAULT_SAMPLE_EVERY, type MetricsServer } from '../metrics/index.js';
import { PartitionedControl } from '../workers/remote-control.js';
import { PartitionedMetrics } from '../workers/remote-metrics.js';
import type { Daemon } from './daemon.js';
import type { Logger } from './log.js';
import type { Service } from './run.js';

export interface ServiceOptions {
  /** Unix socket of the control interface; null: none. */
  controlSocket: string | null;
  /** HOST:PORT of /metrics, /healthz and /readyz; null: none. */
  metrics: string | null;
}

export function daemonServices(o: ServiceOptions) {
  return async (d: Daemon, log: Logger): Promise<Service[]> => {
    const out: Service[] = [];
    if (o.controlSocket) {
      mkdirSync(dirname(o.controlSocket), { recursive: true, mode: 0o755 });
      const ctl = await startControlServer(d.partitioned ? new PartitionedControl(d.partitioned) : d.emu, {
        socketPath: o.controlSocket,
        reload: async () => {
          const r = await d.reload();
          if (!r.ok) throw new ControlError(`reload refused, the running topology stays:\n${r.errors.join('\n')}`);
          return `reloaded ${d.topology.file}: TAPs kept ${r.kept.length}, added ${r.added.length}, removed ${r.removed.length}, re-created ${r.recreated.length}\n`;
        },
        onWrite: (what) => log.info({ what }, 'control write'),
        ...(d.partitioned ? { workers: d.partitioned } : {}),
      });
      if (!d.partitioned) d.onSwap((emu) => ctl.rebind(emu));
      out.push({
        lines: [`Control socket: ${ctl.path} (e.g. dpemu vsctl show w07; dpemu tcpdump -i w02:snat-c4d4b760-41b9-45e1-a607-d054da99c479:rfp-c4d4b760-4)`],
        close: () => ctl.close(),
      });
    }
    if (o.metrics) {
      const { host } = parseListenAddress(o.metrics);
      let { port } = parseListenAddress(o.metrics);
      const health = () => {
        const gone = d.status().filter((s) => s.state !== 'running');
        return gone.length ? { ok: false, detail: `TAP(s) not forwarding: ${gone.map((g) => `${g.dev} ${g.state}`).join(', ')}` } : true;
      };
      const start = async (): Promise<MetricsServer> => {
        const common = { host, port, health, ready: () => d.taps.size > 0 };
        if (d.partitioned) {
          // This thread's own families (TAPs, rings, the process) joined with each worker's.
          const main = registerCollectors({ stats: d.io.stats, refresh: () => d.io.refreshStats() });
          const source = new PartitionedMetrics(d.partitioned, main, { sampleEvery: DEFAULT_SAMPLE_EVERY });
          await source.start();
          return startMetricsServer({ ...common, collectors: main, source });
        }
        enableLatencySampling(d.engine);
        return startMetricsServer({ engine: d.engine, stats: d.io.stats, refresh: () => d.io.refreshStats(), ...common });
      };
      let m = await start();
      port = m.port; // a reload restarts on the same port, also when 0 picked a free one
      // A reload builds a new engine: serve its counters from then on.
      d.onSwap(() => {
        void m.close().then(start).then((n) => (m = n)).catch((err) => log.error({ err }, 'metrics: restarting after reload failed'));
      });
      out.push({ lines: [`Metrics: ${m.url}/metrics (health ${m.url}/healthz, ready ${m.url}/readyz)`], close: () => m.close() });
    }
    return out;
  };
}
