// How `dpemu run` schedules its threads, as the kernel reports them in
// /proc/PID/task/TID/stat. `--nice N` (default -10) holds for every thread
// of the process, those node started before any JavaScript ran (V8's
// platform workers: garbage collection and compiler jobs) included.
// `--rt-priority N` (src/io/realtime.ts): the forwarding threads, and only
// they, run under SCHED_FIFO at N: with --workers 1 the datapath worker and
// each TAP's rx thread (the worker writes), inline each TAP's rx and tx
// threads; a worker restarted after `dpemu workers kill` takes it again; the
// main thread (control socket, metrics) never does; and frames still flow.
// Without the option no thread of the daemon is real-time. A priority chrt
// refuses is reported by the thread that asked.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { requireRoot } from '../helpers/root.js';
import { run } from './lab-names.js';
import { DaemonProcess, WAIT_MS } from './daemon-process.js';
import { LabDaemons, type UniqueLab } from './lab-dvr.js';
import { makeRealtime, threadId } from '../../src/io/realtime.js';

const daemons = new LabDaemons();

const INET = '203.0.113.8';

/** Scheduling policies by number (sched.h). */
const POLICY = ['other', 'fifo', 'rr', 'batch', 'iso', 'idle', 'deadline'] as const;

/** Thread `tid` of process `pid`: its policy, real-time priority and nice (fields 41, 40 and 19 of /proc/PID/task/TID/stat); null once it is gone. */
function threadSched(pid: number, tid: number): { policy: (typeof POLICY)[number]; priority: number; nice: number } | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'latin1');
  } catch {
    return null;
  }
  // Fields after the command name (which may hold spaces), counted from field 3.
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { policy: POLICY[Number(f[41 - 3])] ?? 'other', priority: Number(f[40 - 3]), nice: Number(f[19 - 3]) };
}

/** The daemon's threads under SCHED_FIFO, with their priorities. */
function fifoThreads(pid: number): { tid: number; priority: number }[] {
  const out: { tid: number; priority: number }[] = [];
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    const s = threadSched(pid, Number(t));
    if (s?.policy === 'fifo') out.push({ tid: Number(t), priority: s.priority });
  }
  return out;
}

/** Wait until `want` threads are SCHED_FIFO (threads take their policy as they start); those there then. */
async function untilFifo(pid: number, want: number, timeoutMs = WAIT_MS): Promise<{ tid: number; priority: number }[]> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const got = fifoThreads(pid);
    if (got.length === want || Date.now() > end) return got;
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function startLab(args: string[]): Promise<{ d: DaemonProcess; lab: UniqueLab; pid: number }> {
  const { d, lab } = await daemons.start(args);
  return { d, lab, pid: d.child.pid! };
}

async function pingThrough(lab: UniqueLab): Promise<void> {
  const ping = await run('ip', ['netns', 'exec', lab.nsVm, 'ping', '-c', '2', '-i', '0.3', '-W', '2', '-n', INET], 15_000);
  assert.match(ping.out, /2 packets transmitted, 2 received/, ping.out);
}

test('--workers 1 --rt-priority 7: the worker and the two rx threads are SCHED_FIFO 7, also after the worker is restarted', { timeout: 180_000 }, async () => {
  requireRoot('dpemu run end-to-end tests');
  const { d, lab, pid } = await startLab(['--workers', '1', '--rt-priority', '7']);
  const before = await untilFifo(pid, 3);
  assert.deepEqual(before.map((t) => t.priority), [7, 7, 7], JSON.stringify(before));
  assert.ok(!before.some((t) => t.tid === pid), 'the main thread stays an ordinary one');
  assert.equal(threadSched(pid, pid)?.policy, 'other');
  await pingThrough(lab);

  const killed = await d.cli(['workers', 'kill', '0']);
  assert.equal(killed.status, 0, killed.out);
  await d.waitLog((l) => /died and was restarted/.test(l.msg), WAIT_MS);
  const after = await untilFifo(pid, 3);
  assert.equal(after.length, 3, JSON.stringify(after));
  const fresh = after.filter((t) => !before.some((b) => b.tid === t.tid));
  assert.equal(fresh.length, 1, `the restarted worker is a new thread, real-time too: before ${JSON.stringify(before)} after ${JSON.stringify(after)}`);
  assert.equal(fresh[0]!.priority, 7);
  await pingThrough(lab);
  assert.ok(!d.logs.some((l) => /SCHED_FIFO/.test(l.msg)), 'no warning when chrt succeeded');
  await daemons.stop(d, lab);
});

test('--workers 0 --rt-priority 3: each TAP\'s rx and tx threads are SCHED_FIFO 3; without the option no thread is', { timeout: 180_000 }, async () => {
  requireRoot('dpemu run end-to-end tests');
  const rt = await startLab(['--workers', '0', '--rt-priority', '3']);
  const fifo = await untilFifo(rt.pid, 4);
  assert.deepEqual(fifo.map((t) => t.priority), [3, 3, 3, 3], JSON.stringify(fifo));
  assert.equal(threadSched(rt.pid, rt.pid)?.policy, 'other');
  await pingThrough(rt.lab);
  await daemons.stop(rt.d, rt.lab);

  const plain = await startLab(['--workers', '1']);
  await pingThrough(plain.lab);
  assert.deepEqual(fifoThreads(plain.pid), []);
  await daemons.stop(plain.d, plain.lab);
});

test('--nice: every thread of the daemon, those node started first included, at -10 by default and at N with --nice N', { timeout: 180_000 }, async () => {
  requireRoot('dpemu run end-to-end tests');
  for (const [args, want] of [[[], -10], [['--nice', '5'], 5]] as const) {
    const { d, lab, pid } = await startLab(['--workers', '1', ...args]);
    const tids = readdirSync(`/proc/${pid}/task`).map(Number);
    assert.ok(tids.length > 6, `node's own threads and the daemon's: ${tids.length}`);
    const other = tids.map((t) => [t, threadSched(pid, t)?.nice] as const).filter(([, n]) => n !== undefined && n !== want);
    assert.deepEqual(other, [], `threads not at nice ${want}`);
    await pingThrough(lab);
    await daemons.stop(d, lab);
  }
});

test('makeRealtime: a priority chrt refuses leaves the thread as it was and says why', () => {
  requireRoot('setting SCHED_FIFO');
  const why = makeRealtime(100);
  assert.ok(why && /priority|invalid|range/i.test(why), String(why));
  assert.equal(threadSched(process.pid, threadId())?.policy, 'other');
});
