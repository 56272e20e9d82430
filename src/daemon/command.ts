// The `run` subcommand for src/cli/main.ts: `dpemu run [FILE] [--node N]... [--lab] [--workers N]`.
import { Command, InvalidArgumentError, Option } from 'commander';
import type { Level } from 'pino';
import { DEFAULT_TOPOLOGY } from './daemon.js';
import { LOG_LEVELS, type LogFormat } from './log.js';
import { runDaemon, type RunOptions } from './run.js';
import { daemonServices } from './services.js';
import { DEFAULT_SOCKET } from '../control/protocol.js';
import { DEFAULT_METRICS_HOST, DEFAULT_METRICS_PORT } from '../metrics/server.js';

export function runCommand(extra: Pick<RunOptions, 'services'> = {}): Command {
  return new Command('run')
    .description('run the emulator on real TAP devices, one per edge port, until SIGINT/SIGTERM (SIGHUP reloads the file); needs root')
    .argument('[file]', 'topology YAML', DEFAULT_TOPOLOGY)
    .option('-n, --node <name>', 'run only this node (or gateway) of the file; repeat or separate with commas (default: all)', collect)
    .option('--lab', 'also create the file\'s lab hosts: a dpe- namespace per host with its TAP moved in as its interface')
    .option('--workers <n>', 'datapath worker threads: 0 runs the engine on the main thread; N >= 1 runs N workers, each owning a group of nodes (at most one per group), fed by the TAPs directly', workerCount, 0)
    .addOption(new Option('--log-level <level>', 'least severe level logged').choices(LOG_LEVELS as string[]).default('info'))
    .addOption(new Option('--log-format <format>', 'json lines or human lines (default: pretty on a terminal, json otherwise)').choices(['json', 'pretty']))
    .option('--control-socket <path>', 'Unix socket of the control interface (mode 0600)', process.env.DPEMU_SOCKET ?? DEFAULT_SOCKET)
    .option('--no-control', 'no control socket')
    .option('--metrics <host:port>', 'where /metrics, /healthz and /readyz listen', `${DEFAULT_METRICS_HOST}:${DEFAULT_METRICS_PORT}`)
    .option('--no-metrics', 'no Prometheus exporter')
    .action(async (file: string, o: { node?: string[]; lab?: boolean; workers: number; logLevel: Level; logFormat?: LogFormat; controlSocket: string; control: boolean; metrics: string | false }) => {
      process.exitCode = await runDaemon({
        file,
        lab: !!o.lab,
        workers: o.workers,
        logLevel: o.logLevel,
        ...(o.node ? { nodes: o.node } : {}),
        ...(o.logFormat ? { logFormat: o.logFormat } : {}),
        services: daemonServices({ controlSocket: o.control ? o.controlSocket : null, metrics: o.metrics || null }),
        ...extra,
      });
    });
}

function workerCount(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(n)) throw new InvalidArgumentError('give a whole number (0: the engine on the main thread)');
  return n;
}

function collect(v: string, prev: string[] | undefined): string[] {
  return [...(prev ?? []), ...v.split(',').map((s) => s.trim()).filter(Boolean)];
}
