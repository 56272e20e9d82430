// `dpemu run`: start the daemon, say how to use it, and live until a signal.
// SIGINT/SIGTERM: clean stop (a second one during the stop exits at once,
// after removing the lab namespaces); while starting, the stop waits for the
// start to be over, so nothing it made is left behind. SIGHUP: reload the
// topology file. An exception no handler caught stops it the same way, with
// exit status 1.
import { execFileSync } from 'node:child_process';
import type { Level } from 'pino';
import { Daemon, DaemonError } from './daemon.js';
import { DEFAULT_TOPOLOGY } from './run-defaults.js';
import { createLogger, type LogFormat, type Logger } from './log.js';

export interface Service {
  /** Lines for the start banner (where it listens). */
  readonly lines: readonly string[];
  close(): Promise<void>;
}

export interface RunOptions {
  file?: string;
  nodes?: readonly string[];
  lab?: boolean;
  /** Datapath worker threads (DaemonOptions.workers; default 0, inline). */
  workers?: number;
  /** SCHED_FIFO priority of the forwarding threads (DaemonOptions.rtPriority; default 0, none). */
  rtPriority?: number;
  /** Warm-up before forwarding, ms (DaemonOptions.warmUpMs; default 0, none). */
  warmUpMs?: number;
  logLevel?: Level;
  logFormat?: LogFormat;
  /** Start what serves the running daemon (control socket, metrics); closed on stop. */
  services?: (d: Daemon, log: Logger) => Promise<Service[]>;
  /** Where the banner goes (default stdout). */
  out?: (line: string) => void;
  /** For tests: resolves the daemon once it runs. */
  onStarted?: (d: Daemon) => void;
}

/** Run until stopped; resolves with the exit code. */
export async function runDaemon(opts: RunOptions = {}): Promise<number> {
  const log = createLogger({ level: opts.logLevel ?? 'info', ...(opts.logFormat ? { format: opts.logFormat } : {}) });
  const out = opts.out ?? ((l: string) => process.stdout.write(`${l}\n`));
  const file = opts.file ?? DEFAULT_TOPOLOGY;
  let d: Daemon | null = null;
  let services: Service[] = [];
  let stopped!: () => void;
  const done = new Promise<void>((r) => (stopped = r));
  // Listening from the first step: a signal while TAPs and lab namespaces are
  // being made would otherwise end the process with them left in the kernel.
  // It is kept until the start is over, then acted on.
  let starting = true;
  let deferred: string | null = null;
  let stopping = false;
  const stop = (sig: string): void => {
    if (starting) {
      if (deferred) {
        log.warn({ signal: sig }, 'second signal while starting: exiting at once');
        process.exit(130);
      }
      deferred = sig;
      log.info({ signal: sig }, 'stop requested while starting: stopping as soon as the start is over');
      return;
    }
    if (stopping) {
      log.warn({ signal: sig }, 'second signal: exiting without draining');
      for (const ns of d!.hosts.keys()) {
        try {
          execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
        } catch {
          // already gone
        }
      }
      process.exit(130);
    }
    stopping = true;
    log.info({ signal: sig }, 'stop requested');
    void (async () => {
      for (const s of services) await s.close().catch((err) => log.error({ err }, 'closing a service failed'));
      await d!.stop();
      stopped();
    })();
  };
  const reload = (): void => {
    if (starting) {
      log.warn({ signal: 'SIGHUP' }, 'reload requested while starting: ignored');
      return;
    }
    log.info({ signal: 'SIGHUP', file }, 'reload requested');
    // A reload that throws is logged by the daemon; unhandled here, it would end the process.
    d!.reload().catch(() => undefined);
  };
  const onInt = (): void => stop('SIGINT');
  const onTerm = (): void => stop('SIGTERM');
  // A bug that escaped every handler. Node's own way out ends the process at
  // once: the TAPs go with their descriptors, the lab namespaces stay, and the
  // log says nothing. Logged instead, then the clean stop, exit 1.
  let exitCode = 0;
  const onFatal = (err: unknown): void => {
    log.fatal({ err }, 'internal error no handler caught: stopping');
    exitCode = 1;
    stop('internal error');
  };
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  process.on('SIGHUP', reload);
  process.on('uncaughtException', onFatal);
  process.on('unhandledRejection', onFatal);
  try {
    try {
      d = await Daemon.start({ file, lab: !!opts.lab, log, ...(opts.nodes?.length ? { nodes: opts.nodes } : {}), ...(opts.workers !== undefined ? { workers: opts.workers } : {}), ...(opts.rtPriority ? { rtPriority: opts.rtPriority } : {}), ...(opts.warmUpMs ? { warmUpMs: opts.warmUpMs } : {}) });
    } catch (e) {
      return fatal(e, log);
    }
    try {
      services = (await opts.services?.(d, log)) ?? [];
    } catch (e) {
      await d.stop();
      return fatal(e, log);
    }
    starting = false;
    if (deferred) stop(deferred);
    else {
      for (const l of banner(d, services)) out(l);
      opts.onStarted?.(d);
    }
    await done;
    return exitCode;
  } finally {
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
    process.off('SIGHUP', reload);
    process.off('uncaughtException', onFatal);
    process.off('unhandledRejection', onFatal);
  }
}

/** One line saying what is wrong and what to do; details (a file's errors) below it. */
function fatal(e: unknown, log: Logger): number {
  if (e instanceof DaemonError) {
    process.stderr.write(`dpemu run: ${e.message}: ${e.hint}\n`);
    for (const l of e.details) process.stderr.write(`  ${l}\n`);
    log.debug({ details: e.details }, e.message);
    return 1;
  }
  process.stderr.write(`dpemu run: ${(e as Error)?.message ?? String(e)}\n`);
  log.debug({ err: e }, 'start failed');
  return 1;
}

export function banner(d: Daemon, services: readonly Service[] = []): string[] {
  const t = d.topology;
  const lines = [`dpemu ${process.pid}: forwarding ${t.name} (${t.file}) on ${d.taps.size} TAP(s)${d.opts.nodes ? `, nodes ${d.opts.nodes.join(', ')}` : ''}`];
  const dp = d.partitioned;
  if (dp) lines.push(`Datapath: ${dp.workers} worker thread(s), ${dp.status().map((w) => `worker ${w.index}: ${w.nodes.join(', ')}`).join('; ')} (dpemu workers lists them)`);
  for (const e of d.taps.values()) {
    const h = e.plan.host;
    lines.push(`  ${e.plan.dev} -> ${e.plan.port.path}, mtu ${e.plan.mtu}${h ? `; lab host ${h.name}: namespace ${h.netns}, ${h.iface.name} ${h.iface.addresses.map((a) => a.cidr).join(' ')}` : ''}`);
  }
  const hosts = [...d.taps.values()].flatMap((e) => (e.plan.host ? [e.plan.host] : []));
  if (hosts.length >= 2) {
    const [a, b] = hosts as [typeof hosts[0], typeof hosts[0]];
    const dst = b.iface.addresses[0]?.ip;
    if (dst) {
      lines.push(`Try, from the ${a.name} host:`);
      lines.push(`  ip netns exec ${a.netns} ping -c 3 ${dst}`);
      lines.push(`  ip netns exec ${a.netns} traceroute -n ${dst}`);
      lines.push(`  ip netns exec ${a.netns} tcpdump -nnee -i ${a.iface.name}     (in another terminal)`);
    }
  } else if (!hosts.length && d.taps.size) {
    lines.push('Plug VMs or namespaces into the TAPs above (or run with --lab to create the file\'s hosts).');
  }
  for (const s of services) lines.push(...s.lines);
  lines.push(`Stop: Ctrl-C or kill ${process.pid}. Reload the file: kill -HUP ${process.pid}.`);
  return lines;
}
