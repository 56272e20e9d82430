// A real Prometheus server (Debian's package) for end-to-end tests: started
// from a temporary directory with configs/prometheus.yml's dpemu job pointed
// at the target under test (1 s scrapes), listening on a free loopback port,
// queried through its HTTP API, stopped by pid and removed whatever happens.
// The Grafana dashboard's queries, with its variables filled in, for running
// them against that server.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';

const CONFIGS = fileURLToPath(new URL('../../configs/', import.meta.url));

/** Fails (does not skip) when Debian's prometheus package is missing. */
export function requirePrometheus(): void {
  for (const tool of ['prometheus', 'promtool']) {
    const r = spawnSync(tool, ['--version'], { encoding: 'utf8' });
    if (r.error || r.status !== 0) assert.fail(`${tool} is not installed: run scripts/ensure-test-deps.sh (Debian's prometheus package)`);
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Poll `f` every 250 ms until it gives a value; fail with `log()` after `deadline` (epoch ms). */
export async function until<T>(what: string, deadline: number, f: () => Promise<T | undefined>, log: () => string): Promise<T> {
  for (;;) {
    const v = await f().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}\n${log()}`);
    await sleep(250);
  }
}

interface ScrapeConfig {
  job_name: string;
  scrape_interval?: string;
  scrape_timeout?: string;
  static_configs: { targets: string[]; labels?: Record<string, string> }[];
}

/**
 * configs/prometheus.yml with its dpemu job scraping `target` every second
 * (the commented-out per-flow job stays out), so the shipped file is what runs.
 */
export function scrapeConfigFor(target: string): string {
  const cfg = parse(readFileSync(join(CONFIGS, 'prometheus.yml'), 'utf8')) as { global: Record<string, string>; scrape_configs: ScrapeConfig[] };
  const job = cfg.scrape_configs.find((j) => j.job_name === 'dpemu');
  assert.ok(job, 'configs/prometheus.yml has a dpemu job');
  cfg.global = { ...cfg.global, scrape_interval: '1s', evaluation_interval: '1s' };
  job.scrape_interval = '1s';
  job.scrape_timeout = '900ms';
  for (const s of job.static_configs) s.targets = [target];
  cfg.scrape_configs = [job];
  return stringify(cfg);
}

export interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

export class PrometheusServer {
  private log = '';

  private constructor(
    private readonly child: ChildProcess,
    private readonly dir: string,
    readonly api: string,
  ) {
    child.stdout!.on('data', (b: Buffer) => (this.log += b.toString()));
    child.stderr!.on('data', (b: Buffer) => (this.log += b.toString()));
  }

  /** Start scraping `target` (host:port); resolves once the server is ready. Stop it with stop(), also on failure. */
  static async start(target: string, deadline: number): Promise<PrometheusServer> {
    const dir = mkdtempSync(join(tmpdir(), 'dpe-prom-'));
    let p: PrometheusServer | null = null;
    try {
      const cfg = join(dir, 'prometheus.yml');
      writeFileSync(cfg, scrapeConfigFor(target));
      const check = spawnSync('promtool', ['check', 'config', cfg], { encoding: 'utf8' });
      assert.equal(check.status, 0, check.stdout + check.stderr);
      const port = await freePort();
      const child = spawn('prometheus', [
        `--config.file=${cfg}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn',
      ], { stdio: ['ignore', 'pipe', 'pipe'] });
      p = new PrometheusServer(child, dir, `http://127.0.0.1:${port}`);
      const server = p;
      await until('Prometheus to be ready', deadline, async () => ((await fetch(`${server.api}/-/ready`)).ok ? true : undefined), () => server.output());
      return p;
    } catch (err) {
      if (p) await p.stop();
      else rmSync(dir, { recursive: true, force: true });
      throw err;
    }
  }

  output(): string {
    return `prometheus output:\n${this.log}`;
  }

  /** An instant query, evaluated at `time` (epoch seconds) when given; rejects with the server's error. */
  async query(q: string, time?: number): Promise<Sample[]> {
    const t = time === undefined ? '' : `&time=${time}`;
    const r = await fetch(`${this.api}/api/v1/query?query=${encodeURIComponent(q)}${t}`);
    const j = (await r.json()) as { status: string; error?: string; data?: { resultType: string; result: Sample[] } };
    if (j.status !== 'success') throw new Error(`${q}: ${j.error ?? JSON.stringify(j)}`);
    assert.equal(j.data!.resultType, 'vector', q);
    return j.data!.result;
  }

  /** SIGTERM to our pid, SIGKILL after 5 s; then the temporary directory goes. */
  async stop(): Promise<void> {
    const p = this.child;
    if (p.exitCode === null && p.signalCode === null) {
      await new Promise<void>((resolve) => {
        const hard = setTimeout(() => p.kill('SIGKILL'), 5000);
        p.once('exit', () => {
          clearTimeout(hard);
          resolve();
        });
        p.kill('SIGTERM');
      });
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export interface DashboardTarget {
  panel: string;
  panelType: string;
  legend: string;
  /** The PromQL with Grafana's variables filled in. */
  expr: string;
}

/**
 * Every query of configs/grafana-dashboard.json. Grafana's own variables
 * and the dashboard's daemon picker: $__rate_interval becomes `rateInterval`,
 * $instance the scraped target `instance`; a variable this does not know
 * fails here, so a new one gets a value.
 */
export function dashboardTargets(rateInterval: string, instance: string): DashboardTarget[] {
  interface Panel { type: string; title: string; targets?: { expr: string; legendFormat?: string }[]; panels?: Panel[] }
  const dash = JSON.parse(readFileSync(join(CONFIGS, 'grafana-dashboard.json'), 'utf8')) as { panels: Panel[] };
  const vars: Record<string, string> = { $__rate_interval: rateInterval, $instance: instance, $__interval: '1s', $__range: '1m' };
  const walk = (ps: Panel[]): DashboardTarget[] => ps.flatMap((p) => [
    ...(p.targets ?? []).map((t) => {
      const expr = t.expr.replace(/\$\{?(\w+)\}?/g, (v, name: string) => {
        const val = vars[`$${name}`];
        assert.ok(val !== undefined, `dashboard variable ${v} in "${p.title}" has no value in the test`);
        return val;
      });
      return { panel: p.title, panelType: p.type, legend: t.legendFormat ?? '', expr };
    }),
    ...walk(p.panels ?? []),
  ]);
  return walk(dash.panels);
}
