// Real-time scheduling for the threads that forward (`dpemu run
// --rt-priority N`): the datapath workers and the TAP rx/tx threads put
// themselves under SCHED_FIFO at priority N when they start, so a frame
// never waits behind an ordinary task for a core. Node has no call for it:
// chrt(1) (util-linux) sets it on the thread's id.
//
// Why an option and not the default (docs/performance.md "Latency through
// TAPs"): on this 2-core box at half load it cut the daemon's read-to-write
// p99 from 0.5-8 ms to 0.13-1 ms, but each frame then wakes its thread at
// once instead of joining a batch (the daemon's CPU a packet at 30-40 k/s
// rose by a third to a half), and a daemon that falls behind takes the cores
// from everything else on the host, the traffic's own ends included. Idle
// round trips do not change: there the cost is waking an idle vCPU, which no
// priority avoids. The threads block when idle (read(2), futex), so an idle
// daemon takes no CPU either way; the kernel's real-time throttling
// (sched_rt_runtime_us) leaves other tasks 5 % of a core even under a flood.
import { spawnSync } from 'node:child_process';
import { readlinkSync } from 'node:fs';

/** The calling thread's Linux thread id ("/proc/thread-self" links to "PID/task/TID"). */
export function threadId(): number {
  return Number(readlinkSync('/proc/thread-self').split('/').pop());
}

/** Put the calling thread under SCHED_FIFO at `priority` (1-99). Returns null when done, else why not (the thread runs on as it was). */
export function makeRealtime(priority: number): string | null {
  const r = spawnSync('chrt', ['--fifo', '--pid', String(priority), String(threadId())], { encoding: 'utf8' });
  if (r.error) return `chrt: ${r.error.message}`;
  if (r.status !== 0) return r.stderr.trim() || `chrt exited ${r.status}`;
  return null;
}
