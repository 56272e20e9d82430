// The traffic ends of bench/tap.ts, run inside a network namespace with
// `ip netns exec NS node dist/bench/lib/udp-peer.js MODE ...`. Each prints
// "ready" when bound and one JSON line with its counts when done.
//
//   sink  BIND PORT               count datagrams until SIGTERM, then print {pkts, bytes, cpuS}
//   blast DST PORT SIZE SECONDS [PPS] [FLOWS]
//                                 send SIZE-byte payloads (sequence numbered) for SECONDS, as
//                                 fast as the socket takes them (PPS absent or 0), or paced at
//                                 PPS (a schedule kept from the start: a late tick sends what is
//                                 due, never more than the in-flight window), from FLOWS sockets
//                                 (source ports, default 1) in turn; print {sent, errors, seconds, cpuS}
//                                 (sent: sends started; errors: those the socket failed)
//   echo  BIND PORT               send every datagram back to its sender, until SIGTERM
//   ping  DST PORT SIZE COUNT PPS COUNT round trips paced at PPS (a worker thread sends, sleeping
//                                 until each send is due; the replies come to the main thread,
//                                 on the same port); print the round-trip times (microseconds,
//                                 sorted) and how many got no answer
// cpuS: the process's own CPU time (user + system) from "ready" to the result,
// since the ends share the cores with the daemon.
import dgram from 'node:dgram';
import { fileURLToPath } from 'node:url';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';

/** What ping's sending thread is given. */
interface Pinger { dst: string; port: number; size: number; count: number; pps: number; localPort: number }

const [mode, a1, a2, a3, a4, a5, a6] = isMainThread ? process.argv.slice(2) : ['pinger'];
const now = () => process.hrtime.bigint();

let cpu0 = process.cpuUsage();
const cpuS = (): number => {
  const c = process.cpuUsage(cpu0);
  return (c.user + c.system) / 1e6;
};

function out(o: unknown): void {
  process.stdout.write(JSON.stringify(o) + '\n');
}

if (mode === 'sink' || mode === 'echo') {
  const s = dgram.createSocket('udp4');
  let pkts = 0, bytes = 0;
  s.on('message', (m, r) => {
    pkts++;
    bytes += m.length;
    if (mode === 'echo') s.send(m, r.port, r.address);
  });
  s.bind(Number(a2), a1, () => {
    s.setRecvBufferSize(8 << 20);
    cpu0 = process.cpuUsage();
    process.stdout.write('ready\n');
  });
  process.on('SIGTERM', () => {
    out({ pkts, bytes, cpuS: cpuS() });
    process.exit(0);
  });
} else if (mode === 'pinger') {
  // ping's sending thread: `count` datagrams paced at `pps`, sleeping until each is due, from a
  // socket on the port of the main thread's (SO_REUSEADDR): the echo answers that port (NAT on the
  // way knows only the connection's own ports) and the kernel delivers the answers to the main
  // thread's socket, the connected one. Each carries its sequence number and send time.
  const p = workerData as Pinger;
  const s = dgram.createSocket({ type: 'udp4', reuseAddr: true });
  s.bind(p.localPort, async () => {
    parentPort!.postMessage({ ready: true });
    const gate = new Int32Array(new SharedArrayBuffer(4));
    const t0 = now();
    let sent = 0;
    while (sent < p.count) {
      const waitMs = ((sent / p.pps) * 1e9 - Number(now() - t0)) / 1e6;
      if (waitMs > 0.02) Atomics.wait(gate, 0, 0, waitMs);
      const due = Math.min(p.count, Math.floor((Number(now() - t0) / 1e9) * p.pps) + 1);
      for (; sent < due; sent++) {
        const b = Buffer.alloc(p.size);
        b.writeUInt32BE(sent, 0);
        b.writeBigUInt64BE(now(), 8);
        s.send(b, p.port, p.dst);
      }
      // An unconnected send resolves its address on the next tick: let it run.
      await new Promise((r) => setImmediate(r));
    }
    parentPort!.postMessage({ sent, seconds: Number(now() - t0) / 1e9 });
    s.close();
  });
} else if (mode === 'blast') {
  const dst = a1!, port = Number(a2), size = Number(a3), seconds = Number(a4), pps = a5 === undefined ? 0 : Number(a5);
  const flows = Math.max(1, Number(a6 ?? 1));
  const socks = Array.from({ length: flows }, () => dgram.createSocket('udp4'));
  let bound = 0;
  for (const s of socks) s.bind(0, () => {
    s.setSendBufferSize(4 << 20);
    if (++bound === flows) start();
  });
  const start = () => {
    process.stdout.write('ready\n');
    cpu0 = process.cpuUsage();
    const buf = Buffer.alloc(size, 0x5a);
    const t0 = now(), end = t0 + BigInt(Math.round(seconds * 1e9));
    const WINDOW = 64;
    let sent = 0, inFlight = 0, errors = 0, done = false;
    const finish = () => {
      if (done) return;
      done = true;
      out({ sent, errors, seconds: Number(now() - t0) / 1e9, cpuS: cpuS() });
      for (const s of socks) s.close();
    };
    const sendOne = () => {
      // A fresh buffer per send: dgram may still hold the previous one.
      const b = Buffer.from(buf);
      b.writeUInt32BE(sent >>> 0, 0);
      sent++;
      inFlight++;
      socks[sent % flows]!.send(b, port, dst, next);
    };
    /** Sends due by the schedule (all of the window when unpaced). */
    const due = (t: bigint) => (pps ? Math.floor((Number(t - t0) / 1e9) * pps) + 1 - sent : WINDOW);
    let ticking = false;
    const tick = () => {
      ticking = false;
      const t = now();
      if (t >= end) {
        if (inFlight === 0) finish();
        return;
      }
      for (let n = Math.min(due(t), WINDOW - inFlight); n > 0; n--) sendOne();
      // Paced and nothing in flight to call us back: come back when the next send is due
      // (a timer when that is over 2 ms away, so slow rates leave the cores to the daemon).
      if (inFlight === 0 && !ticking) {
        ticking = true;
        const waitMs = ((sent / pps) * 1e9 - Number(now() - t0)) / 1e6;
        if (waitMs > 2) setTimeout(tick, waitMs - 1);
        else setImmediate(tick);
      }
    };
    function next(err?: Error | null): void {
      if (err) errors++;
      inFlight--;
      if (inFlight === 0 || !pps) tick();
    }
    tick();
  };
} else if (mode === 'ping') {
  // Replies come back to this (main) thread's socket, whose event loop sleeps in epoll between them;
  // a worker thread sends, paced by sleeping until each send is due (Atomics.wait), so
  // neither end spins a core that the daemon under test needs (a 2-core box).
  const dst = a1!, port = Number(a2), size = Math.max(16, Number(a3)), count = Number(a4), pps = Number(a5);
  const s = dgram.createSocket({ type: 'udp4', reuseAddr: true });
  const rtts: number[] = [];
  s.on('message', (m) => {
    if (m.length < 16) return;
    rtts.push(Number(now() - m.readBigUInt64BE(8)) / 1e3);
  });
  s.bind(0, () => s.connect(port, dst, () => {
    const w = new Worker(fileURLToPath(import.meta.url), { workerData: { dst, port, size, count, pps, localPort: s.address().port } satisfies Pinger });
    w.on('message', (m: { ready?: true; sent?: number; seconds?: number }) => {
      if (m.ready) process.stdout.write('ready\n');
      else
        setTimeout(() => {
          rtts.sort((x, y) => x - y);
          out({ sent: m.sent, answered: rtts.length, seconds: m.seconds, rttsUs: rtts.map((x) => Math.round(x)) });
          s.close();
        }, 1000);
    });
  }));
} else {
  process.stderr.write(`udp-peer: unknown mode ${mode}\n`);
  process.exit(2);
}
