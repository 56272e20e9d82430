// A real Prometheus server (Debian's package) scrapes the exporter while the
// write-up's path (the seed topology) carries echo requests; the dashboard's
// per-stage queries, run through its query API, must return non-zero rates
// for every stage, and a latency quantile must come from the histograms
// (the exporter runs in this process until the daemon exists). Bounded to
// 30 s; the server runs from a temporary directory on loopback and is stopped
// by pid whatever happens. Fails (does not skip) without prometheus/promtool:
// install them with scripts/ensure-test-deps.sh.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startMetricsServer } from '../../src/metrics/server.js';
import { enableLatencySampling } from '../../src/metrics/latency.js';
import { M, SEED, golden, inject } from '../helpers/golden.js';

interface Dashboard { panels: { title: string; targets?: { expr: string; legendFormat?: string }[] }[] }
const dash = JSON.parse(readFileSync('configs/grafana-dashboard.json', 'utf8')) as Dashboard;
const promql = (expr: string) => expr.replaceAll('$__rate_interval', '4s');

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

async function until<T>(what: string, deadline: number, f: () => Promise<T | undefined>, log: () => string): Promise<T> {
  for (;;) {
    const v = await f().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}\n${log()}`);
    await sleep(250);
  }
}

function stop(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const hard = setTimeout(() => p.kill('SIGKILL'), 5000);
    p.once('exit', () => {
      clearTimeout(hard);
      resolve();
    });
    p.kill('SIGTERM');
  });
}

test('Prometheus scrapes the exporter: non-zero rates for every stage of the path and a latency quantile', { timeout: 30_000 }, async () => {
  const deadline = Date.now() + 25_000;
  for (const tool of ['prometheus', 'promtool']) {
    const r = spawnSync(tool, ['--version'], { encoding: 'utf8' });
    if (r.error || r.status !== 0) assert.fail(`${tool} is not installed: run scripts/ensure-test-deps.sh (Debian's prometheus package)`);
  }
  const g = golden(SEED);
  g.emu.engine.tracer = null;
  for (const p of g.emu.engine.ports) p.taps.length = 0; // the golden helper's capture log would grow
  enableLatencySampling(g.emu.engine, 4);
  const exporter = await startMetricsServer({ engine: g.emu.engine, port: 0 });
  const traffic = setInterval(() => {
    for (let i = 0; i < 50; i++) inject(g, 'w07', 'tap2ab77d0f-99', { src: M.vm, dst: M.qr, ip: { src: '192.168.1.7', dst: '8.8.8.8' }, icmp: { id: 60691, seq: i, data: 100 } });
    g.eth3!.frames.length = 0;
  }, 20);
  const dir = mkdtempSync(join(tmpdir(), 'dpe-prom-'));
  let prom: ChildProcess | null = null;
  let log = '';
  try {
    const port = await freePort();
    const cfg = join(dir, 'prometheus.yml');
    writeFileSync(cfg, [
      'global:',
      '  scrape_interval: 1s',
      '  evaluation_interval: 1s',
      'scrape_configs:',
      '  - job_name: dpemu',
      '    scrape_timeout: 900ms',
      '    static_configs:',
      `      - targets: ['${exporter.host}:${exporter.port}']`,
      '',
    ].join('\n'));
    const check = spawnSync('promtool', ['check', 'config', cfg], { encoding: 'utf8' });
    assert.equal(check.status, 0, check.stdout + check.stderr);
    prom = spawn('prometheus', [
      `--config.file=${cfg}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn',
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    prom.stdout!.on('data', (b: Buffer) => (log += b.toString()));
    prom.stderr!.on('data', (b: Buffer) => (log += b.toString()));
    const api = `http://127.0.0.1:${port}`;
    const query = async (q: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> => {
      const r = await fetch(`${api}/api/v1/query?query=${encodeURIComponent(q)}`);
      const j = (await r.json()) as { status: string; data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
      if (j.status !== 'success') throw new Error(JSON.stringify(j));
      return j.data.result;
    };
    const logs = () => `prometheus output:\n${log}`;
    await until('Prometheus to be ready', deadline, async () => ((await fetch(`${api}/-/ready`)).ok ? true : undefined), logs);

    // The dashboard's per-stage panel, query by query: rates need two scrapes in the window.
    const stages = dash.panels.find((p) => p.title === 'Packet rate at each stage')!.targets!;
    assert.equal(stages.length, 14);
    const rates = await until('non-zero rates for every stage', deadline, async () => {
      const got: number[] = [];
      for (const t of stages) {
        const res = await query(promql(t.expr));
        const v = res.length ? Number(res[0]!.value[1]) : 0;
        if (!(v > 0)) return undefined;
        got.push(v);
      }
      return got;
    }, logs);
    // About 2500 requests/s are injected; every stage carries each of them once.
    rates.forEach((r, i) => assert.ok(r > 500, `${stages[i]!.legendFormat}: ${r}/s`));

    const q90 = await until('a latency quantile', deadline, async () => {
      const res = await query('histogram_quantile(0.9, sum by (le) (rate(dpemu_stage_latency_seconds_bucket{job="dpemu",node="w07",element="br-int"}[4s])))');
      const v = res.length ? Number(res[0]!.value[1]) : NaN;
      return Number.isFinite(v) && v > 0 ? v : undefined;
    }, logs);
    assert.ok(q90 < 0.134, `p90 of w07 br-int residence ${q90} s is inside the finite buckets`);
    const up = await query('up{job="dpemu"}');
    assert.equal(up[0]?.value[1], '1');

    // Every query of the Grafana dashboard is valid PromQL for this server.
    for (const p of dash.panels) for (const t of p.targets ?? []) await query(promql(t.expr));
  } finally {
    clearInterval(traffic);
    if (prom) await stop(prom);
    await exporter.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
