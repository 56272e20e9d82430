// configs/grafana-dashboard.json queries only documented metrics, and walks
// the write-up's path in order with names from the seed topology; configs/
// prometheus.yml is valid and scrapes the daemon where it listens by default.
// (Both run against a real Prometheus scraping the daemon in
// test/e2e/prometheus-daemon.test.ts.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { CELL_METRICS, SCRAPE_METRICS, FLOW_METRICS } from '../../src/metrics/catalog.js';
import { DEFAULT_METRICS_HOST, DEFAULT_METRICS_PORT } from '../../src/metrics/defaults.js';

interface Panel { type: string; title: string; targets?: { expr: string; legendFormat?: string }[] }
const dash = JSON.parse(readFileSync('configs/grafana-dashboard.json', 'utf8')) as { uid: string; panels: Panel[] };
const seed = readFileSync('configs/seed-dvr-snat.yaml', 'utf8');

function dashboardExprs(): string[] {
  return dash.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
}

test('every metric the dashboard queries is documented', () => {
  const names = new Set([...Object.values(CELL_METRICS), ...Object.values(SCRAPE_METRICS), ...Object.values(FLOW_METRICS)].map((s) => s.name));
  const used = new Set(dashboardExprs().flatMap((e) => e.match(/\b(dpemu|process|nodejs)_[a-z0-9_]+/g) ?? []));
  assert.ok(used.size > 15);
  for (const n of used) {
    if (!n.startsWith('dpemu_')) continue;
    assert.ok(names.has(n) || names.has(n.replace(/_bucket$/, '')), `${n} is in catalog.ts`);
  }
});

test('every series the dashboard selects is filtered by its daemon picker, so two scraped daemons are never summed', () => {
  const picker = (JSON.parse(readFileSync('configs/grafana-dashboard.json', 'utf8')) as { templating: { list: { name: string; query?: { query: string } }[] } })
    .templating.list.find((v) => v.name === 'instance');
  assert.equal(picker?.query?.query, 'label_values(dpemu_port_rx_packets_total, instance)');
  const selectors = dashboardExprs().flatMap((e) => [...e.matchAll(/\b(?:dpemu|process|nodejs)_[a-z0-9_]+(\{[^}]*\})?/g)]);
  assert.ok(selectors.length > 100);
  for (const [sel, labels] of selectors) assert.ok(labels?.startsWith('{instance=~"$instance"'), `${sel} filters on $instance`);
});

test('per-stage rates and latency heatmaps follow the path, with the seed topology\'s names', () => {
  const rates = dash.panels.find((p) => p.title === 'Packet rate at each stage')!;
  const stages = rates.targets!.map((t) => /node="([^"]+)",element="([^"]+)",port="([^"]+)"/.exec(t.expr)!.slice(1));
  assert.deepEqual(stages[0], ['w07', 'qbr2ab77d0f-99', 'tap2ab77d0f-99']);
  assert.deepEqual(stages.at(-1), ['w02', 'br-ex', 'eth3']);
  for (const [, el, port] of stages) {
    assert.ok(seed.includes(el!), `${el} is in the seed topology`);
    assert.ok(seed.includes(port!), `${port} is in the seed topology`);
  }
  rates.targets!.forEach((t, i) => assert.match(t.legendFormat!, new RegExp(`^${String(i + 1).padStart(2, '0')} `), 'numbered in path order'));
  const heat = dash.panels.filter((p) => p.type === 'heatmap' && /^\d\d /.test(p.title)).map((p) => /node="([^"]+)",element="([^"]+)"/.exec(p.targets![0]!.expr)!.slice(1).join(':'));
  const firstVisits = [...new Set(stages.slice(0, -1).map(([n, e]) => `${n}:${e}`))];
  assert.deepEqual(heat, firstVisits, 'one heatmap per element of the path, in the order the path first reaches it');
  assert.ok(dash.panels.some((p) => p.title === 'Drops by reason' && p.targets![0]!.expr.includes('sum by (reason)')));
});

interface ScrapeJob { job_name: string; metrics_path?: string; params?: Record<string, string[]>; static_configs: { targets: string[] }[] }

test('configs/prometheus.yml passes promtool, also with its per-flow job uncommented, and scrapes the daemon\'s default metrics address', () => {
  const text = readFileSync('configs/prometheus.yml', 'utf8');
  const tail = text.indexOf('# Uncomment to collect them');
  assert.ok(tail > 0);
  const uncommented = text.slice(0, tail) + text.slice(tail).replace(/^  # /gm, '  ');
  const jobs = (t: string) => (parse(t) as { scrape_configs: ScrapeJob[] }).scrape_configs;
  const dir = mkdtempSync(join(tmpdir(), 'dpe-promcfg-'));
  try {
    for (const t of [text, uncommented]) {
      writeFileSync(join(dir, 'prometheus.yml'), t);
      const r = spawnSync('promtool', ['check', 'config', join(dir, 'prometheus.yml')], { encoding: 'utf8' });
      if (r.error) assert.fail(`promtool could not run (${r.error.message}): install it with scripts/ensure-test-deps.sh`);
      assert.equal(r.status, 0, r.stdout + r.stderr);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const daemon = `${DEFAULT_METRICS_HOST}:${DEFAULT_METRICS_PORT}`;
  const [job, flows] = jobs(uncommented);
  assert.deepEqual(jobs(text), [job]);
  assert.equal(job!.metrics_path ?? '/metrics', '/metrics');
  assert.deepEqual(job!.static_configs.flatMap((s) => s.targets), [daemon]);
  // The exporter adds per-flow counters for /metrics?flows=1.
  assert.deepEqual(flows!.params, { flows: ['1'] });
  assert.deepEqual(flows!.static_configs.flatMap((s) => s.targets), [daemon]);
});
