// `dpemu run` as a child process for end-to-end tests: its JSON log lines,
// waits on them with deadlines, signals, and its exit.
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { runApart, type Ran } from './lab-names.js';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));

/** `dpemu` as a user runs it (bin/dpemu.js: tsc's build in dist/); built here, once, outside every test's deadline. */
export const DPEMU = join(REPO, 'bin', 'dpemu.js');
execFileSync(process.execPath, [join(REPO, 'scripts', 'build-dist.mjs')], { stdio: 'inherit' });

/**
 * How long a test waits for the daemon to log or print something, or for one CLI call, before it fails:
 * for waiting only, never an asserted time. At load 17-22 on 2 cores a daemon took 15-18 s to forward
 * (the lab's namespaces and TAPs set up), a reload about as long, and one CLI call 5-7 s.
 */
export const WAIT_MS = 60_000;

export interface LogLine {
  level: number;
  msg: string;
  [k: string]: unknown;
}

export class DaemonProcess {
  readonly child: ChildProcess;
  readonly logs: LogLine[] = [];
  stdout = '';
  stderr = '';
  exitCode: number | null = null;
  readonly exited: Promise<number | null>;
  private waiters: (() => void)[] = [];

  /** The daemon's control socket: unique per process, so test files can run side by side. */
  readonly socket: string;

  /** `nodeArgs`: node's own options for the daemon (e.g. --import a test's preload). */
  constructor(args: string[], nodeArgs: string[] = []) {
    this.socket = join(mkdtempSync(join(tmpdir(), 'dpe-ctl-')), 'control.sock');
    // Metrics on a free loopback port (the banner says which).
    const services = ['--control-socket', this.socket, '--metrics', '127.0.0.1:0'];
    this.child = spawn(process.execPath, [...nodeArgs, DPEMU, 'run', ...args, ...services, '--log-format', 'json'], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    let partial = '';
    this.child.stdout!.on('data', (b: Buffer) => {
      this.stdout += b.toString();
      this.wake();
    });
    this.child.stderr!.on('data', (b: Buffer) => {
      const s = b.toString();
      this.stderr += s;
      partial += s;
      const lines = partial.split('\n');
      partial = lines.pop()!;
      for (const l of lines) {
        try {
          this.logs.push(JSON.parse(l) as LogLine);
        } catch {
          // not a log line (a fatal error's plain line)
        }
      }
      this.wake();
    });
    this.exited = new Promise((resolve) => {
      this.child.on('exit', (code, signal) => {
        this.exitCode = code ?? (signal ? 128 : null);
        // The socket's directory goes with the process, however the test ended it.
        rmSync(dirname(this.socket), { recursive: true, force: true });
        this.wake();
        resolve(this.exitCode);
      });
    });
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Wait until `pred` holds for some log line not yet consumed by an earlier wait from index `from`. */
  async waitLog(pred: (l: LogLine) => boolean, timeoutMs = WAIT_MS, from = 0): Promise<LogLine> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.logs.slice(from).find(pred);
      if (hit) return hit;
      if (this.exitCode !== null) throw new Error(`dpemu exited (${this.exitCode}) before the log line; stderr:\n${this.stderr}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for a log line; stderr:\n${this.stderr}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.min(left, 250));
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  /** The 'forwarding' log line: the daemon is up (set-up of the lab's namespaces and TAPs included). */
  forwarding(): Promise<LogLine> {
    return this.waitLog((l) => l.msg === 'forwarding', 90_000);
  }

  /** Wait until stdout matches `re`. */
  async waitOut(re: RegExp, timeoutMs = WAIT_MS): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (!re.test(this.stdout)) {
      if (this.exitCode !== null || Date.now() > deadline) throw new Error(`no ${re} on stdout; stdout:\n${this.stdout}\nstderr:\n${this.stderr}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, 250);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
    return this.stdout;
  }

  /** `dpemu ARGS` as a user runs it against this daemon's control socket, with `input` on its stdin; status null if it ran past 60 s. */
  cli(args: string[], input = ''): Promise<{ status: number | null; out: string }> {
    return new Promise((resolve) => {
      const c = spawn(process.execPath, [DPEMU, ...args], { env: { ...process.env, DPEMU_SOCKET: this.socket }, stdio: ['pipe', 'pipe', 'pipe'] });
      const t = setTimeout(() => c.kill('SIGKILL'), WAIT_MS);
      let out = '';
      c.stdout.on('data', (b: Buffer) => (out += b.toString()));
      c.stderr.on('data', (b: Buffer) => (out += b.toString()));
      c.on('close', (status) => {
        clearTimeout(t);
        resolve({ status, out });
      });
      c.stdin.end(input);
    });
  }

  signal(sig: NodeJS.Signals): void {
    if (this.exitCode === null) this.child.kill(sig);
  }

  /** SIGKILL if it still runs, and wait for it (a test's clean-up). */
  async kill(): Promise<void> {
    if (this.exitCode === null) this.child.kill('SIGKILL');
    await this.exited;
  }

  /** SIGINT, as a user stops it, and wait for the exit (SIGKILL after 10 s): a test's clean-up. */
  async interrupt(): Promise<void> {
    if (this.exitCode !== null) return;
    this.signal('SIGINT');
    await this.exit(10_000);
  }

  /** `dpemu WORDS` against this daemon's socket, stdout, stderr and status apart (`runApart`). */
  apart(words: string[], timeoutMs?: number): Promise<Ran> {
    return runApart(process.execPath, [DPEMU, ...words, '--socket', this.socket], timeoutMs);
  }

  /** Wait for the exit; SIGKILL after `timeoutMs`. */
  async exit(timeoutMs = 10_000): Promise<number | null> {
    const t = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    const code = await this.exited;
    clearTimeout(t);
    return code;
  }
}

/** A row of `dpemu workers`. */
export interface WorkerRow {
  index: number;
  alive: boolean;
  restarts: number;
  journaled: number;
  dropped: number;
  rewrites: number;
  config: number;
  unkept: number;
  replayed: number;
  nodes: string[];
}

/** `dpemu workers`, every column (the header checked). */
export async function workerRows(d: DaemonProcess): Promise<WorkerRow[]> {
  const r = await d.cli(['workers']);
  assert.equal(r.status, 0, r.out);
  const lines = r.out.trim().split('\n');
  assert.match(lines[0]!, /^WORKER +ALIVE +RESTARTS +JOURNALED +DROPPED +REWRITES +CONFIG +UNKEPT +REPLAYED +NODES$/);
  return lines.slice(1).map((l) => {
    const m = /^(\d+) +(yes|no) +(\d+) +(\d+) +(\d+) +(\d+) +(\d+) +(\d+) +(\d+) +(\S+)$/.exec(l);
    assert.ok(m, `a worker row: ${l}`);
    const n = m.slice(3, 10).map(Number);
    return { index: Number(m[1]), alive: m[2] === 'yes', restarts: n[0]!, journaled: n[1]!, dropped: n[2]!, rewrites: n[3]!, config: n[4]!, unkept: n[5]!, replayed: n[6]!, nodes: m[10]!.split(',') };
  });
}

/** `dpemu tcpdump ARGS` against daemon `d`, once it listens, with a promise of what it printed and its exit status. */
export function dpemuTcpdump(d: DaemonProcess, args: string[]): Promise<{ ended: Promise<{ status: number | null; out: string; err: string }> }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [DPEMU, 'tcpdump', ...args, '--socket', d.socket]);
    let out = '', err = '', listening = false;
    const ended = new Promise<{ status: number | null; out: string; err: string }>((r) => child.on('close', (status) => r({ status, out, err })));
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => {
      err += b.toString();
      if (!listening && err.includes('listening on')) {
        listening = true;
        resolve({ ended });
      }
    });
    const t = setTimeout(() => child.kill(), 90_000);
    void ended.then(() => {
      clearTimeout(t);
      if (!listening) reject(new Error(`dpemu tcpdump: ${err}`));
    });
  });
}
