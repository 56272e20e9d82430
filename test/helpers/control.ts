// An in-process emulator (the seed topology with its lab hosts) behind a
// control socket in a private temp directory, and a way to run the real
// `dpemu` CLI against it.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadTopologyFile } from '../../src/topology/loader.js';
import { buildEmulator, type Emulator } from '../../src/topology/builder.js';
import { openEdges } from '../../src/cli/trace.js';
import { startControlServer, type ControlServer, type ControlServerOptions } from '../../src/control/server.js';

export const SEED = 'configs/seed-dvr-snat.yaml';

export interface Daemon {
  emu: Emulator;
  server: ControlServer;
  dir: string;
  writes: string[];
  stop(): Promise<void>;
}

export async function startDaemon(extra: Partial<ControlServerOptions> = {}): Promise<Daemon> {
  const loaded = loadTopologyFile(SEED);
  if (!loaded.ok) throw new Error('seed topology does not load');
  const emu = buildEmulator(loaded.topology, { emulateHosts: true });
  openEdges(emu);
  const dir = mkdtempSync(join(tmpdir(), 'dpe-ctl-'));
  const writes: string[] = [];
  const server = await startControlServer(emu, { socketPath: join(dir, 'control.sock'), onWrite: (w) => writes.push(w), ...extra });
  return {
    emu,
    server,
    dir,
    writes,
    async stop() {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run `dpemu ARGS` as a child process (the event loop stays free for the in-process server). */
export function cli(socket: string, args: string[], opts: { stdin?: string; uid?: number; gid?: number } = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      ['--import', 'tsx', 'src/cli/main.ts', ...args],
      { env: { ...process.env, DPEMU_SOCKET: socket }, encoding: 'utf8', timeout: 20_000, ...(opts.uid !== undefined ? { uid: opts.uid, gid: opts.gid } : {}) },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
    if (opts.stdin !== undefined) child.stdin!.end(opts.stdin);
  });
}
