// Where a packet's CPU goes in the running daemon (issue 6, TAP path): the
// lab path of bench/tap.ts paced at fixed rates, and per daemon thread the
// CPU time (scheduler run time, /proc/PID/task/TID/schedstat), voluntary
// context switches (a thread that slept: blocked in read(2) or a futex wait)
// and, in a second run of each rate, the system calls it made (perf's
// syscall tracepoints counted per thread: read, write, futex, all), each per
// packet delivered. Beside them the traffic ends' own CPU per packet: they
// share the two cores with the daemon. First, what a sleep and wake-up
// through Atomics.wait/notify costs two threads by themselves (wakeCost).
//
//   sudo node dist/bench/tap-cost.js [--workers 1] [--rates 30000,45000] [--seconds 3] [--rounds 1] [--no-perf]
//        [--perf-record FILE]         also `perf record -g` the daemon in a third run of each rate
//        [--daemon-node-arg --perf-basic-prof]   node options for the daemon (JIT symbols for perf)
//        [--daemon-repo DIR]          another checkout's daemon, for before/after
//        [--daemon-arg --rt-priority --daemon-arg 10]   options for `dpemu run` (repeatable)
//
// Threads are named by what they were doing before traffic: the main thread
// (tid = pid), a TAP's rx thread (blocked in read(2) on that TAP's
// descriptor, /proc/PID/fdinfo says which device); the rest by tid, busiest
// first (under --workers N the busiest is the datapath worker; under
// --workers 0 the main thread runs the engine and the next is the receiving
// TAP's tx thread). In the lab both TAPs are eth0 in their namespaces: the rx
// thread with the CPU is the VM's. Not part of `npm run bench`: a
// diagnostic, printed as a table (--json: one object).
import { spawn } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import { readdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { progress } from './lib/harness.js';
import { cli } from './lib/args.js';
import { LAB_OPTIONS, LAB_USAGE, TapLab, countersDelta, labSettings, type BlastPids } from './lib/tap-lab.js';

const opts = cli(`node dist/bench/tap-cost.js [--workers 1] [--rates 30000,45000] [--seconds 3] [--rounds 1] [--no-perf] [--perf-record FILE] [--json] ${LAB_USAGE}`, {
  workers: { type: 'string' }, rates: { type: 'string' }, seconds: { type: 'string' }, rounds: { type: 'string' },
  'no-perf': { type: 'boolean' }, 'perf-record': { type: 'string' }, json: { type: 'boolean' }, ...LAB_OPTIONS,
});
const WORKERS = opts.num('workers', 1);
const RATES = opts.nums('rates', '30000,45000', 1);
const SECONDS = opts.num('seconds', 3, 0.1, true);
const ROUNDS = opts.num('rounds', 1, 1);
const PERF = !opts.flag('no-perf');
const JSON_OUT = opts.flag('json');
/** --perf-record FILE: also perf record the daemon (call graphs) in a third run of each rate, into FILE.RATE.ROUND. */
const RECORD = opts.str('perf-record') ?? '';
const settings = labSettings(opts);

if (process.getuid?.() !== 0) {
  progress('tap-cost: needs root (network namespaces and TAP devices)');
  process.exit(0);
}

interface ThreadSample { ns: number; vol: number; invol: number }

function threads(pid: number): Map<number, ThreadSample> {
  const m = new Map<number, ThreadSample>();
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    try {
      const ns = Number(readFileSync(`/proc/${pid}/task/${t}/schedstat`, 'latin1').split(' ')[0]);
      const st = readFileSync(`/proc/${pid}/task/${t}/status`, 'latin1');
      const vol = Number(/voluntary_ctxt_switches:\s+(\d+)/.exec(st)![1]);
      const invol = Number(/nonvoluntary_ctxt_switches:\s+(\d+)/.exec(st)![1]);
      m.set(Number(t), { ns, vol, invol });
    } catch {
      // gone
    }
  }
  return m;
}

/** main, rx:DEV (blocked in read(2) on a TAP) or tNNN. */
function labels(pid: number): Map<number, string> {
  const m = new Map<number, string>();
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    const tid = Number(t);
    if (tid === pid) {
      m.set(tid, 'main');
      continue;
    }
    try {
      const sc = readFileSync(`/proc/${pid}/task/${t}/syscall`, 'latin1').split(' ');
      if (sc[0] === '0') {
        const fd = Number(sc[1]);
        const iff = /iff:\s+(\S+)/.exec(readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'latin1'));
        if (iff) m.set(tid, `rx:${iff[1]}:${tid}`);
      }
    } catch {
      // not readable: unnamed
    }
  }
  return m;
}

/** perf stat of the daemon's threads while it runs; returns the counts by tid and event. */
function perfStat(pid: number): () => Promise<Map<number, Record<string, number>>> {
  const events = ['raw_syscalls:sys_enter', 'syscalls:sys_enter_read', 'syscalls:sys_enter_write', 'syscalls:sys_enter_futex'];
  const p = spawn('perf', ['stat', '-x,', '--per-thread', '-p', String(pid), '-e', events.join(',')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let text = '';
  p.stderr!.on('data', (b: Buffer) => (text += b.toString()));
  const exited = new Promise<void>((r) => p.on('exit', () => r()));
  return async () => {
    p.kill('SIGINT');
    await exited;
    const out = new Map<number, Record<string, number>>();
    for (const line of text.split('\n')) {
      const f = line.split(',');
      const m = /-(\d+)$/.exec(f[0] ?? '');
      if (!m || f.length < 4) continue;
      const tid = Number(m[1]), ev = f[3]!.replace(/^.*sys_enter_?/, '') || 'all';
      const rec = out.get(tid) ?? {};
      rec[ev] = Number(f[1]) || 0;
      out.set(tid, rec);
    }
    return out;
  };
}

interface Row { rate: number; round: number; delivered: number; lossPct: number; lostAt: Record<string, number>; daemonUs: number; senderUs: number; sinkUs: number; threads: Record<string, { cpuUs: number; vol: number; invol: number; syscalls?: Record<string, number> }> }

/**
 * What one sleep and wake-up costs a thread by itself: two threads pass a
 * token back and forth with Atomics.wait / Atomics.notify, as a TAP's rx
 * thread and a sleeping datapath worker do (each waits for the other every
 * time); CPU time per round trip and thread.
 */
async function wakeCost(rounds = 20_000): Promise<number[]> {
  const src = `const { workerData: d, parentPort } = require('node:worker_threads'); const { readFileSync } = require('node:fs');
    const a = new Int32Array(d.sab), cpu = () => Number(readFileSync('/proc/thread-self/schedstat', 'latin1').split(' ')[0]);
    const c0 = cpu();
    for (let i = 1; i <= d.rounds; i++) {
      if (d.side === 0) { Atomics.store(a, 0, i); Atomics.notify(a, 0); while (Atomics.load(a, 1) !== i) Atomics.wait(a, 1, i - 1); }
      else { while (Atomics.load(a, 0) !== i) Atomics.wait(a, 0, i - 1); Atomics.store(a, 1, i); Atomics.notify(a, 1); }
    }
    parentPort.postMessage((cpu() - c0) / 1e3 / d.rounds);`;
  const sab = new SharedArrayBuffer(8);
  const ws = [0, 1].map((side) => new Worker(src, { eval: true, workerData: { sab, side, rounds } }));
  return Promise.all(ws.map((w) => new Promise<number>((r) => w.once('message', (us: number) => r(+us.toFixed(2))))));
}

const wake = await wakeCost();
progress(`tap-cost: Atomics.wait/notify ping-pong between two threads: ${wake.join(' and ')} us of CPU per round trip and thread, load ${loadavg()[0]!.toFixed(2)}`);
const lab = await TapLab.start('tap-cost', { workers: WORKERS, direct: false, settings });
const rows: Row[] = [];
const load0 = loadavg().map((x) => x.toFixed(2)).join(' ');
try {
  const pid = lab.daemonPid;
  await new Promise((r) => setTimeout(r, 300));
  const names = labels(pid);
  progress(`tap-cost: daemon pid ${pid} --workers ${WORKERS}, threads ${[...names].map(([t, n]) => `${n}=${t}`).join(' ')}, load ${load0}`);
  await lab.blast(lab.ns.vm, lab.ns.inet, 64, 1, { pps: 10_000 }); // warm up
  for (let round = 0; round < ROUNDS; round++) {
    for (const rate of RATES) {
      let before = new Map<number, ThreadSample>(), after = before;
      const c0 = await lab.counters();
      const b = await lab.blast(lab.ns.vm, lab.ns.inet, 64, SECONDS, {
        pps: rate,
        during: (p: BlastPids) => {
          before = threads(p.daemon);
          return async () => {
            await new Promise((r) => setTimeout(r, 200));
            after = threads(p.daemon);
          };
        },
      });
      // Where the packets not delivered went (the VM's TAP queue, a ring, a drop reason, the receiver's socket); the odd
      // frame the lab's hosts send on their own (IPv6, ARP) is left out.
      const lost = Object.entries(countersDelta(c0, await lab.counters())).filter(([k, v]) => /drop|Errors/.test(k) && v >= 10);
      const per = (x: number): number => x / b.got;
      const row: Row = { rate, round, delivered: Math.round(b.delivered), lossPct: +b.lossPct.toFixed(3), lostAt: Object.fromEntries(lost), daemonUs: +per(b.daemonCpuS * 1e6).toFixed(2), senderUs: +per(b.senderCpuS * 1e6).toFixed(2), sinkUs: +per(b.sinkCpuS * 1e6).toFixed(2), threads: {} };
      for (const [tid, a] of after) {
        const z = before.get(tid) ?? { ns: 0, vol: 0, invol: 0 };
        const cpuUs = per((a.ns - z.ns) / 1e3);
        if (cpuUs < 0.05) continue;
        row.threads[names.get(tid) ?? `t${tid}`] = { cpuUs: +cpuUs.toFixed(2), vol: +per(a.vol - z.vol).toFixed(3), invol: +per(a.invol - z.invol).toFixed(3) };
      }
      if (PERF) {
        let stop: (() => Promise<Map<number, Record<string, number>>>) | null = null;
        let counts = new Map<number, Record<string, number>>();
        const p = await lab.blast(lab.ns.vm, lab.ns.inet, 64, SECONDS, {
          pps: rate,
          during: (x: BlastPids) => {
            stop = perfStat(x.daemon);
            return async () => {
              await new Promise((r) => setTimeout(r, 200));
              counts = await stop!();
            };
          },
        });
        for (const [tid, c] of counts) {
          const name = names.get(tid) ?? `t${tid}`;
          const th = row.threads[name];
          if (!th) continue;
          th.syscalls = Object.fromEntries(Object.entries(c).map(([k, v]) => [k, +(v / p.got).toFixed(3)]));
        }
      }
      if (RECORD) {
        // perf record of the daemon's threads with call graphs (kernel and, under --daemon-node-arg --perf-basic-prof, JIT frames).
        await lab.blast(lab.ns.vm, lab.ns.inet, 64, SECONDS, {
          pps: rate,
          during: (x: BlastPids) => {
            const rec = spawn('perf', ['record', '-g', '-o', `${RECORD}.${rate}.${round}`, '-p', String(x.daemon)], { stdio: 'ignore' });
            const exited = new Promise((r) => rec.on('exit', r));
            return async () => {
              rec.kill('SIGINT');
              await exited;
            };
          },
        });
      }
      rows.push(row);
      const ts = Object.entries(row.threads).sort((x, y) => y[1].cpuUs - x[1].cpuUs);
      progress(`${rate}/s round ${round + 1}: delivered ${row.delivered}/s loss ${row.lossPct} %${lost.length ? ` (${lost.map(([k, v]) => `${k} ${v}`).join(', ')})` : ''}, daemon ${row.daemonUs} us/pkt (sender ${row.senderUs}, sink ${row.sinkUs}), load ${loadavg()[0]!.toFixed(2)}`);
      for (const [n, t] of ts) {
        const sc = t.syscalls ? ` syscalls/pkt ${Object.entries(t.syscalls).map(([k, v]) => `${k} ${v}`).join(', ')}` : '';
        progress(`    ${n.padEnd(16)} cpu ${t.cpuUs.toFixed(2).padStart(6)} us/pkt  sleeps ${t.vol.toFixed(3)}  preempted ${t.invol.toFixed(3)}${sc}`);
      }
    }
  }
} finally {
  await lab.close();
}
if (JSON_OUT) process.stdout.write(JSON.stringify({ workers: WORKERS, seconds: SECONDS, wakeCostUs: wake, load: [load0, loadavg().map((x) => x.toFixed(2)).join(' ')], rows }) + '\n');
