// The `run` subcommand for src/cli/main.ts: `dpemu run [FILE] [--node N]... [--lab] [--workers N]`.
import { readdirSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';
import { Command, InvalidArgumentError, Option } from 'commander';
import type { Level } from 'pino';
import type { LogFormat } from './log.js';
import { DEFAULT_TOPOLOGY, LOG_LEVELS } from './run-defaults.js';
import type { RunOptions } from './run.js';
import { DEFAULT_SOCKET } from '../control/protocol.js';
import { DEFAULT_METRICS_HOST, DEFAULT_METRICS_PORT } from '../metrics/defaults.js';
import { defaultWorkerCount } from '../workers/partition.js';

export function runCommand(extra: Pick<RunOptions, 'services'> = {}): Command {
  return new Command('run')
    .description('run the emulator on real TAP devices, one per edge port, until SIGINT/SIGTERM (SIGHUP reloads the file); needs root')
    .argument('[file]', 'topology YAML', DEFAULT_TOPOLOGY)
    .option('-n, --node <name>', 'run only this node (or gateway) of the file; repeat or separate with commas (default: all)', collect)
    .option('--lab', 'also create the file\'s lab hosts: a dpe- namespace per host with its TAP moved in as its interface')
    .option('--workers <n>', `datapath worker threads: N >= 1 runs N workers, each owning a group of nodes (at most one per group), fed by the TAPs directly; 0 runs the engine on the main thread (default: $DPEMU_WORKERS, else cores - 1, at least 1: ${defaultWorkerCount()} here; 0 with --node)`, workerCount)
    .addOption(new Option('--log-level <level>', 'least severe level logged').choices(LOG_LEVELS as string[]).default('info'))
    .addOption(new Option('--log-format <format>', 'json lines or human lines (default: pretty on a terminal, json otherwise)').choices(['json', 'pretty']))
    .option('--control-socket <path>', 'Unix socket of the control interface (mode 0600)', process.env.DPEMU_SOCKET ?? DEFAULT_SOCKET)
    .option('--no-control', 'no control socket')
    .option('--metrics <host:port>', 'where /metrics, /healthz and /readyz listen', `${DEFAULT_METRICS_HOST}:${DEFAULT_METRICS_PORT}`)
    .option('--no-metrics', 'no Prometheus exporter')
    .option('--nice <n>', 'nice(1) level of the daemon\'s threads, -20 to 19 (as ovs-ctl starts ovs-vswitchd: -10)', niceLevel, DEFAULT_NICE)
    .option('--rt-priority <n>', 'SCHED_FIFO priority (1-99) of the forwarding threads (datapath workers, TAP threads): a shorter latency tail on a busy host for more CPU a packet under load; 0: none', rtPriority, 0)
    .option('--warm-up <ms>', "before forwarding, run the lab hosts' traffic through a scratch copy of the topology for about this long, so that the first frames run compiled code (docs/running.md); 0: none", warmUpMs, DEFAULT_WARM_UP_MS)
    .action(async (file: string, o: { node?: string[]; lab?: boolean; workers?: number; logLevel: Level; logFormat?: LogFormat; controlSocket: string; control: boolean; metrics: string | false; nice: number; rtPriority: number; warmUp: number }, cmd: Command) => {
      renice(o.nice, cmd.getOptionValueSource('nice') === 'cli');
      const workers = o.workers ?? defaultWorkers(o.node !== undefined);
      if (typeof workers === 'string') {
        process.stderr.write(`dpemu run: ${workers}\n`);
        process.exitCode = 2;
        return;
      }
      // The daemon loads only when it runs: option parsing and --help need none of it.
      const [{ runDaemon }, { daemonServices }] = await Promise.all([import('./run.js'), import('./services.js')]);
      process.exitCode = await runDaemon({
        file,
        lab: !!o.lab,
        workers,
        ...(o.rtPriority ? { rtPriority: o.rtPriority } : {}),
        ...(o.warmUp ? { warmUpMs: o.warmUp } : {}),
        logLevel: o.logLevel,
        ...(o.node ? { nodes: o.node } : {}),
        ...(o.logFormat ? { logFormat: o.logFormat } : {}),
        services: daemonServices({ controlSocket: o.control ? o.controlSocket : null, metrics: o.metrics || null }),
        ...extra,
      });
    });
}

/**
 * Without --workers: $DPEMU_WORKERS, else one worker per core less one for
 * the thread that feeds them (partition.ts); --node runs part of the file,
 * which only the engine on the main thread does, so 0 there.
 */
function defaultWorkers(someNodes: boolean): number | string {
  const env = process.env.DPEMU_WORKERS;
  if (env === undefined || env === '') return someNodes ? 0 : defaultWorkerCount();
  return /^\d+$/.test(env) && Number.isSafeInteger(Number(env)) ? Number(env) : `DPEMU_WORKERS=${env}: give a whole number (0: the engine on the main thread)`;
}

/**
 * ovs-ctl runs ovs-vswitchd at nice -10 (--ovs-vswitchd-priority), so that
 * forwarding keeps its CPU on a busy host. Here it matters most with the
 * engine inline on the main thread: on a loaded 2-core box that thread
 * waited up to 430 ms at a time for a core at nice 0 (its own work within
 * such a wait: under 20 ms), longer than the VM's TAP queue lasts at half
 * load (docs/performance.md, "Flow churn through TAPs").
 */
const DEFAULT_NICE = -10;

/**
 * Set this thread's nice level before the daemon starts its threads (Linux
 * keeps it per thread; new threads inherit it), and that of the threads node
 * started before any JavaScript ran: V8's platform workers, which run the
 * garbage collector's parallel and concurrent work and the optimizing
 * compiler's jobs for every thread, the datapath workers' too (left at nice
 * 0, they waited behind the traffic's own processes for a core). Without the
 * right to raise priority (not root) the daemon runs as it is, and says so
 * only when `--nice` was asked for (the start's own errors come first
 * otherwise).
 */
function renice(n: number, asked: boolean): void {
  try {
    setPriority(n);
  } catch (e) {
    if (asked) process.stderr.write(`dpemu run: cannot set nice ${n} (${(e as Error).message}); running at nice ${getPriority()}\n`);
    return;
  }
  // setpriority(2) with a thread id sets that thread's nice (os.setPriority passes it through).
  for (const tid of threadIds()) {
    try {
      setPriority(tid, n);
    } catch {
      // The thread has exited.
    }
  }
}

/** This process's thread ids (none where there is no /proc: `dpemu run` then refuses to start anyway). */
function threadIds(): number[] {
  try {
    return readdirSync('/proc/self/task').map(Number);
  } catch {
    return [];
  }
}

function niceLevel(v: string): number {
  const n = Number(v);
  if (!/^-?\d+$/.test(v) || n < -20 || n > 19) throw new InvalidArgumentError('give a whole number from -20 to 19');
  return n;
}

function rtPriority(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n > 99) throw new InvalidArgumentError('give a whole number from 0 (none) to 99');
  return n;
}

/** The warm-up's default: long enough on this project's 2-core box for V8 to compile the forwarding path (docs/running.md). */
const DEFAULT_WARM_UP_MS = 1000;

function warmUpMs(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n > 60_000) throw new InvalidArgumentError('give a whole number of milliseconds from 0 (none) to 60000');
  return n;
}

function workerCount(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(n)) throw new InvalidArgumentError('give a whole number (0: the engine on the main thread)');
  return n;
}

function collect(v: string, prev: string[] | undefined): string[] {
  return [...(prev ?? []), ...v.split(',').map((s) => s.trim()).filter(Boolean)];
}
