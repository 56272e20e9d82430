// The exporter's HTTP endpoint: /metrics (Prometheus text format; add
// ?flows=1 for per-flow counters), /healthz (the daemon is forwarding) and
// /readyz (the daemon is ready to take traffic). It binds to loopback by
// default: metrics name every port and address of the emulated deployment.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { registerCollectors, type CollectorOptions, type Collectors } from './collectors.js';
import { DEFAULT_METRICS_HOST, DEFAULT_METRICS_PORT } from './defaults.js';


/** A health answer: true/false, or with a line saying why. */
export type Health = boolean | { ok: boolean; detail?: string };

export interface MetricsServerOptions extends CollectorOptions {
  host?: string;
  /** 0 picks a free port (tests). */
  port?: number;
  /** /healthz: is the daemon forwarding? Default: the event loop answers, so yes. */
  health?: () => Health | Promise<Health>;
  /** /readyz: has the topology loaded and have the TAPs opened? Default: yes. */
  ready?: () => Health | Promise<Health>;
  /** Use these collectors instead of registering new ones. */
  collectors?: Collectors;
  /** What /metrics serves, when it is more than these collectors (a partitioned datapath's workers: src/workers/remote-metrics.ts). */
  source?: MetricsSource;
}

/** One exposition, with or without the per-flow families. */
export interface MetricsSource {
  exposition(flows: boolean): Promise<{ contentType: string; body: string }>;
}

/** The collectors' own registries. */
function registrySource(collectors: Collectors): MetricsSource {
  return {
    async exposition(flows) {
      collectors.sync();
      const reg = flows ? Registry.merge([collectors.registry, collectors.flowRegistry]) : collectors.registry;
      return { contentType: reg.contentType, body: await reg.metrics() };
    },
  };
}

export interface MetricsServer {
  /** http://host:port (IPv6 hosts in brackets). */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly collectors: Collectors;
  close(): Promise<void>;
}

/** "host:port", "[v6]:port" or ":port" (loopback) -> host and port. */
export function parseListenAddress(s: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(s.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new Error(`bad listen address "${s}": expected HOST:PORT, [V6]:PORT or :PORT`);
  return { host: m[1] ?? (m[2] || DEFAULT_METRICS_HOST), port };
}

async function answer(res: ServerResponse, check: (() => Health | Promise<Health>) | undefined): Promise<void> {
  let h: Health;
  try {
    h = check ? await check() : true;
  } catch (err) {
    h = { ok: false, detail: String(err) };
  }
  const ok = typeof h === 'boolean' ? h : h.ok;
  const detail = typeof h === 'boolean' ? '' : (h.detail ?? '');
  res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain; charset=utf-8' });
  res.end(`${ok ? 'ok' : 'not ok'}${detail ? `: ${detail}` : ''}\n`);
}

export async function startMetricsServer(opts: MetricsServerOptions): Promise<MetricsServer> {
  const collectors = opts.collectors ?? registerCollectors(opts);
  const source = opts.source ?? registrySource(collectors);
  const host = opts.host ?? DEFAULT_METRICS_HOST;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    switch (url.pathname) {
      case '/metrics': {
        const flows = url.searchParams.get('flows');
        const { contentType, body } = await source.exposition(flows === '1' || flows === 'true');
        res.writeHead(200, { 'content-type': contentType });
        res.end(req.method === 'HEAD' ? undefined : body);
        return;
      }
      case '/healthz':
        return answer(res, opts.health);
      case '/readyz':
        return answer(res, opts.ready);
      default:
        res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found: try /metrics, /healthz or /readyz\n');
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(`${String(err)}\n`);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? DEFAULT_METRICS_PORT, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    host,
    port,
    collectors,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
