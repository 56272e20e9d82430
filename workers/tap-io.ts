// A TAP port's I/O loop, one thread per direction (a thread blocked in
// read(2) cannot also write). Frames go straight between the descriptor and
// slots of the shared packet slab: fs.readSync into a slot the engine thread
// handed over, fs.writeSync out of a slot it filled. Only slot numbers and
// lengths cross threads (src/io/tap-shared.ts).
//
// rx: take a free slot, read one frame into it at the headroom, stamp it with
//     the shared clock, publish (slot, len). A read that fills the whole
//     buffer may have been cut short by the kernel (a TAP without IFF_NO_PI
//     truncates silently, and returns the cut length on current kernels): the
//     frame is dropped and counted as oversize, never passed on truncated.
// tx: take (slot, len), write it, time it from its stamp (every stamped
//     frame: two clock reads, small beside the write), hand the slot back.
//
// Neither side notifies per frame: the engine thread is woken only while it
// sleeps (ringBell), and it wakes a worker only while that one sleeps (the
// *_WAITING words). Busy time is the thread's own CPU time, which the engine
// thread reads from /proc at scrape time by the thread id published here.
//
// Deleting the device wakes a blocked read with EFAULT; later calls fail with
// EBADFD. Either way the worker reports the device gone and exits.
//
// Under `dpemu run --workers N` there is no tx worker (the datapath worker
// writes) and the rx worker feeds the datapath worker that owns the TAP's
// node directly (rxHandoffLoop): it reads into slots that worker lends on a
// hand-off channel and rings that worker's bell, not the main thread's.
import { readSync, writeSync } from 'node:fs';
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { observeNs } from '../src/metrics/histogram.js';
import { Handoff } from '../src/datapath/handoff.js';
import { makeRealtime, threadId } from '../src/io/realtime.js';
import { TapShared, CTL, EXIT, LINK, RC, TC, TS, WC, monoMs, ringBell, type TapHandoff, type TapTarget, type TapWorkerData } from '../src/io/tap-shared.js';

const d = workerData as TapWorkerData;
const shared = new TapShared(d.capacity, d.shared);
const slab = new Uint8Array(d.slab);
const bell = new Int32Array(d.doorbell);
const stamps = new Float64Array(d.stamps);
const c = shared.counters;
const v = new Float64Array(d.statsSab);
const tap = d.cells.tap;
const ctl = shared.ctl;
/** How long a sleeping worker waits before it looks at the stop word again. */
const NAP_MS = 200;

Atomics.store(ctl, d.role === 'rx' ? CTL.RX_TID : CTL.TX_TID, threadId());
const rtError = d.rtPriority ? makeRealtime(d.rtPriority) : null;
parentPort?.postMessage({ role: d.role, ready: true, rtError });

/** Errors that mean the device is no longer there for this descriptor. */
function gone(e: NodeJS.ErrnoException): boolean {
  // EFAULT: woken by deletion (tun_ring_recv after RCV_SHUTDOWN); EBADFD (77,
  // libuv's UNKNOWN): detached; EIO/ENXIO/ENODEV: unregistered; EBADF: closed.
  return e.code === 'EFAULT' || e.errno === -77 || e.code === 'EBADF' || e.code === 'EIO' || e.code === 'ENXIO' || e.code === 'ENODEV';
}

function exit(word: number, how: number, e?: NodeJS.ErrnoException): void {
  Atomics.store(ctl, word, how);
  Atomics.add(bell, 0, 1); // always wake the engine thread: it must see the exit
  Atomics.notify(bell, 0);
  parentPort?.postMessage({ role: d.role, exit: how, code: e?.code ?? null, errno: e?.errno ?? null, message: e?.message ?? null });
}

function rxLoop(): void {
  const free = shared.free, rx = shared.rx, ring = d.cells.rxRing;
  let slot = -1;
  for (;;) {
    if (shared.stoppingRx) return exit(CTL.RX_EXIT, EXIT.STOPPED);
    if (slot < 0) {
      slot = free.shift();
      if (slot < 0) {
        c[TC.RX_NO_SLOT]!++;
        // Say we sleep, then look again: the engine thread either sees the word or we see its slot.
        Atomics.store(ctl, CTL.RX_WAITING, 1);
        ringBell(bell); // what we published is what it must work off to free slots
        free.waitNonEmpty(NAP_MS);
        Atomics.store(ctl, CTL.RX_WAITING, 0);
        continue;
      }
    }
    const n = readFrame(slab, slot * d.slotSize + d.headroom);
    if (n < 0) return;
    if (n === 0) continue; // keep the slot for the next read
    stamps[slot] = monoMs();
    rx.push(slot, n); // cannot be full: the worker holds at most `capacity` slots
    v[ring + RC.ENQUEUED]!++;
    slot = -1;
    ringBell(bell);
  }
}

/**
 * Read one frame into slab[off..] and count it: its length; 0 when there is
 * none (or it was oversized, counted as dropped): read into the slot again;
 * -1 once the thread has said why it stops.
 */
function readFrame(slab: Uint8Array, off: number): number {
  let n: number;
  try {
    n = readSync(d.fd, slab, off, d.readLen, null);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (shared.stoppingRx) return exit(CTL.RX_EXIT, EXIT.STOPPED), -1;
    if (gone(e)) return exit(CTL.RX_EXIT, EXIT.GONE, e), -1;
    if (e.code === 'EINTR' || e.code === 'EAGAIN') return 0;
    v[tap + TS.RX_ERRORS]!++;
    return exit(CTL.RX_EXIT, EXIT.ERROR, e), -1;
  }
  if (shared.stoppingRx) return exit(CTL.RX_EXIT, EXIT.STOPPED), -1; // read after stop: not passed on
  if (n >= d.readLen) {
    c[TC.RX_OVERSIZE]!++;
    v[tap + TS.RX_DROPPED]!++;
    return 0;
  }
  if (n <= 0) return 0;
  const wk = d.cells.rxWorker;
  v[tap + TS.RX_PACKETS]!++;
  v[tap + TS.RX_BYTES]! += n;
  // read(2) on a TAP returns one frame: each read is a batch of one.
  v[wk + WC.BATCHES]!++;
  v[wk + WC.PACKETS]!++;
  return n;
}

function rxHandoffLoop(h: TapHandoff): void {
  const ring = d.cells.rxRing;
  const link = new Int32Array(h.link);
  let seen = Atomics.load(link, LINK.GEN);
  const into = (t: TapTarget) => ({ ch: Handoff.of(t.channel), slab: new Uint8Array(t.channel.slab), stamps: new Float64Array(t.channel.stamps!), slotSize: t.channel.slotSize, edge: t.edge, wctl: new Int32Array(t.ctl), bell: t.bell, sleeping: t.sleeping });
  let cur = into(h);
  /** The worker was restarted, or a reload started new ones: take the newest target posted (before GEN was bumped). */
  const follow = (): void => {
    let t: TapTarget | null = null;
    for (let m = receiveMessageOnPort(h.port); m; m = receiveMessageOnPort(h.port)) t = m.message as TapTarget;
    if (t) cur = into(t);
    seen = Atomics.load(link, LINK.GEN);
  };
  let slot = -1;
  for (;;) {
    if (shared.stoppingRx) return exit(CTL.RX_EXIT, EXIT.STOPPED);
    if (Atomics.load(link, LINK.GEN) !== seen) {
      follow();
      slot = -1; // a slot of the dead worker's slab
    }
    if (slot < 0) {
      slot = cur.ch.free.shift();
      if (slot < 0) {
        c[TC.RX_NO_SLOT]!++;
        // Say we wait, then look again: the worker either sees the word after lending or we see its slot.
        Atomics.store(link, LINK.RX_WAITING, 1);
        cur.ch.free.waitNonEmpty(NAP_MS);
        Atomics.store(link, LINK.RX_WAITING, 0);
        continue;
      }
    }
    let at = slot * cur.slotSize + d.headroom;
    const n = readFrame(cur.slab, at);
    if (n < 0) return;
    if (n === 0) continue; // keep the slot for the next read
    if (Atomics.load(link, LINK.GEN) !== seen) {
      // Retargeted during the read (the worker restarted, or a reload started new ones): the frame
      // is in a slot of the old channel, which nobody consumes now; it moves to one of the new.
      const from = cur.slab;
      follow();
      const s2 = cur.ch.free.shift();
      if (s2 < 0) {
        v[tap + TS.RX_DROPPED]!++; // the new worker has lent nothing yet: lost, as in flight to a crashed node
        slot = -1;
        continue;
      }
      const to = s2 * cur.slotSize + d.headroom;
      cur.slab.set(from.subarray(at, at + n), to);
      slot = s2;
      at = to;
    }
    cur.stamps[slot] = monoMs();
    cur.ch.data.push(at, n, cur.edge); // cannot be full: free and data together hold at most the capacity
    v[ring + RC.ENQUEUED]!++;
    slot = -1;
    if (Atomics.load(cur.wctl, cur.sleeping) === 1) {
      Atomics.add(cur.wctl, cur.bell, 1);
      Atomics.notify(cur.wctl, cur.bell);
    }
  }
}

function txLoop(): void {
  const tx = shared.tx, done = shared.done, w = tx.words, base = d.headroom;
  const wk = d.cells.txWorker, e2e = d.cells.e2e;
  for (;;) {
    let i = tx.peek();
    if (i < 0) {
      // Drained: stop only once everything queued has been written.
      if (shared.stoppingTx) return exit(CTL.TX_EXIT, EXIT.STOPPED);
      Atomics.store(ctl, CTL.TX_WAITING, 1);
      tx.waitNonEmpty(NAP_MS);
      Atomics.store(ctl, CTL.TX_WAITING, 0);
      continue;
    }
    let wrote = 0;
    while (i >= 0) {
      const slot = w[i]!, len = w[i + 1]!;
      tx.release();
      try {
        writeSync(d.fd, slab, slot * d.slotSize + base, len);
        v[tap + TS.TX_PACKETS]!++;
        v[tap + TS.TX_BYTES]! += len;
        const t0 = stamps[slot]!;
        if (t0 !== 0) observeNs(v, e2e, (monoMs() - t0) * 1e6);
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        v[tap + TS.TX_ERRORS]!++;
        // A write to a TAP whose link is down fails with EIO: the frame is
        // lost, the device is still there (the reader notices a deletion).
        if (gone(e) && e.code !== 'EIO') {
          done.push(slot);
          return exit(CTL.TX_EXIT, EXIT.GONE, e);
        }
      }
      done.push(slot); // cannot be full: tx and done together hold at most `capacity`
      wrote++;
      i = tx.peek();
    }
    v[wk + WC.BATCHES]!++;
    v[wk + WC.PACKETS]! += wrote;
    ringBell(bell);
  }
}

if (d.role === 'tx') txLoop();
else if (d.handoff) rxHandoffLoop(d.handoff);
else rxLoop();
