// The CLI's side of the control socket: one JSON request per command, or a
// stream of NDJSON events for a capture. DPEMU_SOCKET names the socket;
// DPEMU_CONTROL_URL (http://HOST:PORT) with DPEMU_TOKEN reaches a TCP listener.
import { request, type IncomingMessage, type RequestOptions } from 'node:http';
import { FAMILY_ACCESS } from './family-access.js';
import { DEFAULT_SOCKET, type CaptureEvent, type CaptureRequest, type CommandResponse, type ConntrackEventsRequest, type IpMonitorRequest, type BridgeMonitorRequest, type PingOpenRequest } from './protocol.js';

export interface Endpoint {
  socketPath?: string;
  url?: string;
  token?: string;
}

export function endpointFromEnv(socketOpt?: string): Endpoint {
  if (socketOpt) return { socketPath: socketOpt };
  if (process.env.DPEMU_CONTROL_URL) return { url: process.env.DPEMU_CONTROL_URL, token: process.env.DPEMU_TOKEN ?? '' };
  return { socketPath: process.env.DPEMU_SOCKET ?? DEFAULT_SOCKET };
}

/** A connection failure in the words a user can act on. */
export class ConnectError extends Error {}

/** Where and how to send a request to the daemon. */
function target(ep: Endpoint, path: string, headers: Record<string, string | number>, signal?: AbortSignal): RequestOptions {
  let t: RequestOptions;
  if (ep.url) {
    const u = new URL(ep.url);
    if (ep.token) headers.authorization = `Bearer ${ep.token}`;
    t = { host: u.hostname, port: u.port, path, method: 'POST', headers };
  } else t = { socketPath: ep.socketPath!, path, method: 'POST', headers };
  if (signal) t.signal = signal;
  return t;
}

/** A failure to reach the daemon, in the words a user can act on. */
function connectError(ep: Endpoint, e: NodeJS.ErrnoException): ConnectError {
  const where = ep.url ?? ep.socketPath;
  if (e.code === 'EACCES') return new ConnectError(`dpemu: ${where}: permission denied (the control socket belongs to the daemon's user)`);
  if (e.code === 'ENOENT' || e.code === 'ECONNREFUSED') return new ConnectError(`dpemu: ${where}: no daemon listening (start \`dpemu run\`, or set --socket / DPEMU_SOCKET)`);
  return new ConnectError(`dpemu: ${where}: ${e.message}`);
}

function post(ep: Endpoint, path: string, body: unknown, onResponse: (res: IncomingMessage) => void, signal?: AbortSignal): Promise<void> {
  const text = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(target(ep, path, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }, signal), (res) => {
      onResponse(res);
      res.on('end', resolve);
      res.on('error', (e) => (signal?.aborted ? resolve() : reject(e)));
    });
    req.on('error', (e: NodeJS.ErrnoException) => {
      // The caller stopped listening (a stream it had enough of): not a failure.
      if (signal?.aborted) return resolve();
      reject(connectError(ep, e));
    });
    req.end(text);
  });
}

/** Run `dpemu FAMILY ARGV...` on the daemon; reads and writes go to their own paths. */
export async function runRemote(ep: Endpoint, family: string, argv: string[]): Promise<CommandResponse> {
  const load = FAMILY_ACCESS.get(family);
  if (!load) throw new Error(`unknown command family ${family}`);
  const familyAccess = await load();
  let access: string;
  try {
    access = familyAccess(argv);
  } catch {
    access = 'read'; // the server gives the real error
  }
  let raw = '';
  let status = 0;
  await post(ep, `/v1/${access}/${family}`, { argv }, (res) => {
    status = res.statusCode ?? 0;
    res.setEncoding('utf8');
    res.on('data', (c: string) => (raw += c));
  });
  try {
    return JSON.parse(raw) as CommandResponse;
  } catch {
    return { ok: false, stdout: '', stderr: `dpemu: bad answer from the daemon (HTTP ${status})\n`, exit: 1 };
  }
}

/** Stream a capture (or conntrack -E); `onEvent` sees each event; resolves when the server ends it or `signal` aborts. */
export async function captureRemote(
  ep: Endpoint, req: CaptureRequest | ConntrackEventsRequest | IpMonitorRequest | BridgeMonitorRequest, onEvent: (ev: CaptureEvent) => void, onError: (r: CommandResponse) => void, signal?: AbortSignal,
): Promise<void> {
  await post(ep, '/v1/capture', req, (res) => readEvents(res, onEvent, onError), signal);
}

/** An NDJSON answer's events, or its error (a non-200 answer's CommandResponse). */
function readEvents(res: IncomingMessage, onEvent: (ev: CaptureEvent) => void, onError: (r: CommandResponse) => void): void {
  res.setEncoding('utf8');
  let buf = '';
  if (res.statusCode !== 200) {
    res.on('data', (c: string) => (buf += c));
    res.on('end', () => {
      try {
        onError(JSON.parse(buf) as CommandResponse);
      } catch {
        onError({ ok: false, stdout: '', stderr: `dpemu: capture refused (HTTP ${res.statusCode})\n`, exit: 1 });
      }
    });
    return;
  }
  res.on('data', (c: string) => {
    buf += c;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (line) onEvent(JSON.parse(line) as CaptureEvent);
    }
  });
}

/** ping's socket in the daemon (POST /v1/ping): opened with `open`, echo requests sent with send(), events until close(). */
export interface RemotePing {
  /** Echo request `seq`; traceroute's probe `seq` with TTL `ttl` (and `size` bytes of data); arping's ARP message `seq` to MAC `to`. */
  send(seq: number, ttl?: number, size?: number, to?: string): void;
  close(): void;
  /** Settles when the daemon ends the exchange (or close()); rejects with a ConnectError if it cannot be reached. */
  readonly ended: Promise<void>;
}

export function pingRemote(ep: Endpoint, open: PingOpenRequest, onEvent: (ev: CaptureEvent) => void, onError: (r: CommandResponse) => void): RemotePing {
  const ac = new AbortController();
  let req!: ReturnType<typeof request>;
  const ended = new Promise<void>((resolve, reject) => {
    req = request(target(ep, '/v1/ping', { 'content-type': 'application/x-ndjson', 'transfer-encoding': 'chunked' }, ac.signal), (res) => {
      readEvents(res, onEvent, onError);
      res.on('end', resolve);
      res.on('error', () => resolve());
    });
    req.on('error', (e: NodeJS.ErrnoException) => (ac.signal.aborted ? resolve() : reject(connectError(ep, e))));
  });
  req.write(JSON.stringify({ open }) + '\n');
  return {
    send: (seq, ttl, size, to) =>
      void req.write(JSON.stringify({ send: { seq, ...(ttl !== undefined ? { ttl } : {}), ...(size !== undefined ? { size } : {}), ...(to !== undefined ? { to } : {}) } }) + '\n'),
    close: () => ac.abort(),
    ended,
  };
}
