// The control socket of a running emulator: HTTP/1.1 over a Unix socket
// (mode 0600 unless told otherwise: the file's owner is the only client),
// and a TCP listener only when asked, which then demands a bearer token.
// Commands run synchronously on the thread that owns the Emulator, between
// two packets, so a write is seen entirely or not at all; with datapath
// workers, in the worker that owns the node, between two batches
// (src/control/backend.ts says what a backend offers).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { chmodSync, lstatSync, mkdirSync, unlinkSync } from 'node:fs';
import { connect } from 'node:net';
import { createHash, timingSafeEqual } from 'node:crypto';
import { dirname } from 'node:path';
import { Emulator } from '../topology/builder.js';
import type { PartitionedDatapath } from '../workers/supervisor.js';
import type { CommandFamily, ControlHooks, DaemonCommand } from './command.js';
import { COMMANDS, DAEMON_COMMANDS } from './registry.js';
import { ControlError, PROTOCOL_VERSION, type CaptureEvent, type CaptureRequest, type CommandResponse, type ConntrackEventsRequest, type IpMonitorRequest, type BridgeMonitorRequest, type PingOpenRequest } from './protocol.js';
import { InProcessBackend, type CaptureHandle, type ConntrackEventsSpec, type ControlBackend } from './backend.js';
import { arpingHead, pingEventJson } from './ping.js';

export interface ControlServerOptions {
  socketPath: string;
  /** Mode of the socket file (default 0o600). */
  mode?: number;
  /** Also listen on TCP; only with a token, sent as `Authorization: Bearer TOKEN`. */
  tcp?: { host: string; port: number; token: string };
  /** Called after every successful write with what it touched (the daemon drops caches it keeps). */
  onWrite?: (what: string) => void;
  /** Re-read the topology (the daemon's `reload`); returns what to print. */
  reload?: () => string | Promise<string>;
  /** The daemon's datapath workers (`dpemu workers`). */
  workers?: PartitionedDatapath;
  /** Bytes a capture's reader may lag behind before frames are dropped (default 4 MiB). */
  captureHighWater?: number;
}

export interface ControlServer {
  readonly path: string;
  /** The TCP address when one was asked for. */
  readonly tcpAddress?: { host: string; port: number };
  /** Serve another emulator (or backend) from now on (the daemon swapped it in on reload), and `workers` for `dpemu workers`. */
  rebind(target: Emulator | ControlBackend, workers?: PartitionedDatapath): void;
  close(): Promise<void>;
}

const MAX_BODY = 16 << 20;

function readBody(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let n = 0;
    req.on('data', (c: Buffer) => {
      n += c.length;
      if (n > MAX_BODY) {
        reject(new ControlError('request body too large', 1, 413));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      if (!text) return resolve({});
      try {
        resolve(JSON.parse(text));
      } catch {
        reject(new ControlError('request body is not JSON', 1, 400));
      }
    });
    req.on('error', reject);
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

const fail = (e: ControlError): CommandResponse => ({ ok: false, stdout: '', stderr: e.stderr, exit: e.exit });

/** Remove a socket file left by a dead server; refuse to steal a live one or to delete anything else. */
async function clearStale(path: string): Promise<void> {
  let st;
  try {
    st = lstatSync(path);
  } catch {
    return;
  }
  if (!st.isSocket()) throw new Error(`${path} exists and is not a socket`);
  const alive = await new Promise<boolean>((resolve) => {
    const s = connect(path);
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
  if (alive) throw new Error(`${path}: another dpemu is listening there`);
  unlinkSync(path);
}

function tokenOk(req: IncomingMessage, token: string): boolean {
  const h = req.headers.authorization ?? '';
  const m = /^Bearer (.+)$/.exec(h);
  if (!m) return false;
  const a = createHash('sha256').update(m[1]!).digest();
  const b = createHash('sha256').update(token).digest();
  return timingSafeEqual(a, b);
}

const isDaemonCommand = (f: CommandFamily | DaemonCommand): f is DaemonCommand => !('target' in f);

const backendOf = (t: Emulator | ControlBackend): ControlBackend => (t instanceof Emulator ? new InProcessBackend(t) : t);

/** Serve `target`: an emulator in this thread, or another backend (a partitioned datapath's). */
export async function startControlServer(target: Emulator | ControlBackend, opts: ControlServerOptions): Promise<ControlServer> {
  if (opts.tcp && !opts.tcp.token) throw new Error('control: a TCP listener needs a token');
  let backend = backendOf(target);
  const hooks: ControlHooks = { invalidate: (what) => opts.onWrite?.(what) };
  if (opts.reload) hooks.reload = opts.reload;
  if (opts.workers) hooks.workers = opts.workers;
  const highWater = opts.captureHighWater ?? 4 << 20;

  const handle = async (req: IncomingMessage, res: ServerResponse, viaTcp: boolean): Promise<void> => {
    if (viaTcp && !tokenOk(req, opts.tcp!.token)) {
      sendJson(res, 401, fail(new ControlError('control: missing or wrong token', 1, 401)));
      return;
    }
    const url = new URL(req.url ?? '/', 'http://dpemu');
    if (req.method === 'GET' && url.pathname === '/v1/info') {
      sendJson(res, 200, { protocol: PROTOCOL_VERSION, topology: backend.topologyName, nodes: backend.nodes() });
      return;
    }
    if (req.method !== 'POST') {
      sendJson(res, 405, fail(new ControlError(`control: ${req.method} ${url.pathname}: use POST`, 1, 405)));
      return;
    }
    if (url.pathname === '/v1/capture') return capture(req, res);
    if (url.pathname === '/v1/ping') return ping(req, res);
    const m = /^\/v1\/(read|write)\/([a-z/-]+)$/.exec(url.pathname);
    const fam = m ? COMMANDS.get(m[2]!) ?? DAEMON_COMMANDS.get(m[2]!) : undefined;
    if (!m || !fam) {
      sendJson(res, 404, fail(new ControlError(`control: no such command ${url.pathname}`, 1, 404)));
      return;
    }
    try {
      const body = (await readBody(req)) as { argv?: unknown };
      if (!Array.isArray(body.argv) || !body.argv.every((a) => typeof a === 'string')) throw new ControlError('control: body must be {"argv": [strings]}');
      const argv = body.argv as string[];
      const access = fam.access(argv);
      if (access !== m[1]) throw new ControlError(`control: '${fam.name} ${argv.join(' ')}' is a ${access} command; send it to /v1/${access}/${fam.name}`, 1, 403);
      sendJson(res, 200, await (isDaemonCommand(fam) ? fam.run(hooks, argv) : backend.run(fam, argv, hooks)));
    } catch (e) {
      if (e instanceof ControlError) sendJson(res, e.status, fail(e));
      else sendJson(res, 500, fail(new ControlError(`dpemu: internal error: ${e instanceof Error ? e.message : String(e)}`, 1, 500)));
    }
  };

  /**
   * A stream of NDJSON events until the source ends or the reader goes away:
   * `open` starts it (or throws the tool's error, answered as any command's)
   * and says what the stream's first event is.
   */
  const stream = async (
    req: IncomingMessage,
    res: ServerResponse,
    open: (send: (ev: CaptureEvent) => void, congested: () => boolean, finish: () => void) => Promise<{ handle: CaptureHandle; head: CaptureEvent }>,
  ): Promise<void> => {
    let c: CaptureHandle;
    try {
      const send = (ev: CaptureEvent) => res.write(JSON.stringify(ev) + '\n');
      const finish = () => {
        c.stop();
        send({ type: 'end', captured: c.captured, dropped: c.dropped });
        res.end();
      };
      // Tapping starts here (or fails with the tool's error): the answer's head follows it.
      const { handle, head } = await open(send, () => res.writableLength > highWater, finish);
      c = handle;
      // The reader went away (Ctrl-C), maybe while a worker was starting it: stop tapping at once.
      if (req.socket.destroyed) return c.stop();
      res.on('close', () => c.stop());
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      send(head);
    } catch (e) {
      if (e instanceof ControlError) sendJson(res, e.status, fail(e));
      else sendJson(res, 500, fail(new ControlError(`dpemu: internal error: ${e instanceof Error ? e.message : String(e)}`, 1, 500)));
    }
  };

  const capture = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    let body: CaptureRequest | ConntrackEventsRequest | IpMonitorRequest | BridgeMonitorRequest;
    try {
      body = (await readBody(req)) as CaptureRequest | ConntrackEventsRequest | IpMonitorRequest | BridgeMonitorRequest;
    } catch (e) {
      return sendJson(res, e instanceof ControlError ? e.status : 400, fail(e instanceof ControlError ? e : new ControlError(String(e))));
    }
    // conntrack -E, ip monitor and bridge monitor: lines of events, the first event naming what they listen to.
    const lines = (argv: unknown, what: string, open: (spec: ConntrackEventsSpec) => Promise<CaptureHandle & { table?: string }>, table: string) =>
      stream(req, res, async (send, congested, finish) => {
        if (!Array.isArray(argv) || !argv.every((a) => typeof a === 'string')) throw new ControlError(`control: ${what} must be [strings]`);
        const handle = await open({
          argv,
          opts: { congested },
          deliver: (ls) => {
            for (const l of ls) send({ type: 'line', text: l.text });
          },
          done: finish,
        });
        return { handle, head: { type: 'listening', table: handle.table ?? table } };
      });
    if ('conntrack' in body) return lines(body.conntrack, 'conntrack', async (spec) => backend.conntrackEvents(spec), 'conntrack');
    if ('ipMonitor' in body) return lines(body.ipMonitor, 'ipMonitor', async (spec) => backend.monitor('ip', spec), 'rtnetlink');
    if ('bridgeMonitor' in body) return lines(body.bridgeMonitor, 'bridgeMonitor', async (spec) => backend.monitor('bridge', spec), 'rtnetlink');
    return stream(req, res, async (send, congested, finish) => {
      if (typeof body.iface !== 'string') throw new ControlError('tcpdump: -i NODE:[NS:]IFACE is required');
      const snaplen = body.snaplen && body.snaplen > 0 ? body.snaplen : 262144;
      const handle = await backend.capture({
        iface: body.iface,
        filter: body.filter ?? '',
        opts: { count: body.count ?? 0, snaplen, congested },
        deliver: (frames) => {
          for (const f of frames) send({ type: 'frame', ts: f.ts, len: f.len, dir: f.dir, data: Buffer.from(f.data.buffer, f.data.byteOffset, f.data.length).toString('base64') });
        },
        done: finish,
      });
      return { handle, head: { type: 'start', snaplen, ...handle.source } };
    });
  };

  /**
   * ping's socket, duplex: the body's lines arrive while the answer streams
   * (protocol.ts PingOpenRequest). The first opens the socket; each later
   * one sends an echo request. The reader closing ends it.
   */
  const ping = (req: IncomingMessage, res: ServerResponse): void => {
    let buf = '';
    let session: Promise<{ send(seq: number, ttl?: number, size?: number, to?: string): void } | null> | null = null;
    // The socket lives in the emulator it was opened in: after a reload swapped another in, it is gone (as with a worker that died).
    const openedOn = backend;
    let end = (): void => {};
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      buf += chunk;
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        let msg: { open?: unknown; send?: { seq?: unknown; ttl?: unknown; size?: unknown; to?: unknown } };
        try {
          msg = JSON.parse(line) as typeof msg;
        } catch {
          if (!res.headersSent) sendJson(res, 400, fail(new ControlError('control: ping: a line that is not JSON', 1, 400)));
          return void req.destroy();
        }
        if (session === null) {
          let opened: { send(seq: number, ttl?: number, size?: number, to?: string): void } | null = null;
          session = stream(req, res, async (send, congested, finish) => {
            end = () => void (res.writableEnded || finish());
            const h = await backend.ping({
              open: msg.open as PingOpenRequest,
              opts: { congested },
              deliver: (events) => {
                for (const e of events) send(pingEventJson(e));
              },
              done: () => end(),
            });
            opened = h;
            return { handle: h, head: { type: 'ping', source: h.source, ident: h.ident, ...(h.nobufs ? { nobufs: true } : {}), ...arpingHead(h) } };
          }).then(() => opened);
        } else if (typeof msg.send?.seq === 'number') {
          const seq = msg.send.seq, ttl = typeof msg.send.ttl === 'number' ? msg.send.ttl : undefined;
          const size = typeof msg.send.size === 'number' ? msg.send.size : undefined;
          const to = typeof msg.send.to === 'string' ? msg.send.to : undefined;
          void session.then((s) => (backend === openedOn ? s?.send(seq, ttl, size, to) : end()));
        }
      }
    });
  };

  // A request that cannot even be parsed (a bad URL) gets a 400, never a crash of the daemon.
  const serve = (viaTcp: boolean) => (req: IncomingMessage, res: ServerResponse) =>
    void handle(req, res, viaTcp).catch((e: unknown) => {
      if (!res.headersSent) sendJson(res, 400, fail(new ControlError(`control: bad request: ${e instanceof Error ? e.message : String(e)}`, 1, 400)));
      else res.destroy();
    });
  const unix = createServer(serve(false));
  // A ping's request body lasts as long as the ping (POST /v1/ping): no limit on receiving it.
  unix.requestTimeout = 0;
  mkdirSync(dirname(opts.socketPath), { recursive: true, mode: 0o755 });
  await clearStale(opts.socketPath);
  // Create the socket already private (umask), then set the asked mode: no window where others could connect.
  const mode = opts.mode ?? 0o600;
  let oldMask: number | undefined;
  try {
    oldMask = process.umask(0o177);
  } catch {
    oldMask = undefined; // worker threads cannot change the umask; chmod below still applies
  }
  try {
    await listen(unix, opts.socketPath);
  } finally {
    if (oldMask !== undefined) process.umask(oldMask);
  }
  chmodSync(opts.socketPath, mode);

  let tcp: Server | undefined;
  let tcpAddress: { host: string; port: number } | undefined;
  if (opts.tcp) {
    tcp = createServer(serve(true));
    tcp.requestTimeout = 0;
    await listen(tcp, opts.tcp.port, opts.tcp.host);
    const a = tcp.address();
    if (a && typeof a === 'object') tcpAddress = { host: a.address, port: a.port };
  }
  const closeOne = (s: Server) => new Promise<void>((r) => {
    s.close(() => r());
    s.closeAllConnections();
  });
  return {
    path: opts.socketPath,
    ...(tcpAddress ? { tcpAddress } : {}),
    rebind(t: Emulator | ControlBackend, workers?: PartitionedDatapath) {
      backend = backendOf(t);
      if (workers) hooks.workers = workers;
      else delete hooks.workers;
    },
    async close() {
      await Promise.all([closeOne(unix), ...(tcp ? [closeOne(tcp)] : [])]);
      try {
        unlinkSync(opts.socketPath);
      } catch {
        /* already gone */
      }
    },
  };
}

function listen(s: Server, pathOrPort: string | number, host?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    s.once('error', reject);
    const done = () => (s.off('error', reject), resolve());
    if (typeof pathOrPort === 'string') s.listen(pathOrPort, done);
    else s.listen(pathOrPort, host, done);
  });
}
