// A TAP port's I/O loop, one thread per direction (a thread blocked in
// read(2) cannot also write). Frames go straight between the descriptor and
// slots of the shared packet slab: fs.readSync into a slot the engine thread
// handed over, fs.writeSync out of a slot it filled. Only slot numbers and
// lengths cross threads (src/io/tap-shared.ts).
//
// rx: take a free slot, read one frame into it at the headroom, publish
//     (slot, len). A read that fills the whole buffer may have been cut short
//     by the kernel (a TAP without IFF_NO_PI truncates silently, and returns
//     the cut length on current kernels): the frame is dropped and counted as
//     oversize, never passed on truncated.
// tx: take (slot, len), write it, hand the slot back to be freed.
//
// Deleting the device wakes a blocked read with EFAULT; later calls fail with
// EBADFD. Either way the worker reports the device gone and exits.
import { readSync, writeSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { TapShared, CTL, EXIT, TC, TS, TAP_STAT_NAMES, type TapWorkerData } from '../src/io/tap-shared.js';

const d = workerData as TapWorkerData;
const shared = new TapShared(d.capacity, d.shared);
const slab = new Uint8Array(d.slab);
const bell = new Int32Array(d.doorbell);
const c = shared.counters;
const m = new Float64Array(d.statsSab, d.statsBase * 8, TAP_STAT_NAMES.length);
const ctl = shared.ctl;
/** How long a sleeping worker waits before it looks at the stop word again. */
const NAP_MS = 200;

function ring(): void {
  Atomics.add(bell, 0, 1);
  Atomics.notify(bell, 0);
}

/** Errors that mean the device is no longer there for this descriptor. */
function gone(e: NodeJS.ErrnoException): boolean {
  // EFAULT: woken by deletion (tun_ring_recv after RCV_SHUTDOWN); EBADFD (77,
  // libuv's UNKNOWN): detached; EIO/ENXIO/ENODEV: unregistered; EBADF: closed.
  return e.code === 'EFAULT' || e.errno === -77 || e.code === 'EBADF' || e.code === 'EIO' || e.code === 'ENXIO' || e.code === 'ENODEV';
}

function exit(word: number, how: number, e?: NodeJS.ErrnoException): void {
  Atomics.store(ctl, word, how);
  ring();
  parentPort?.postMessage({ role: d.role, exit: how, code: e?.code ?? null, errno: e?.errno ?? null, message: e?.message ?? null });
}

function rxLoop(): void {
  const free = shared.free, rx = shared.rx, readLen = d.readLen;
  let slot = -1;
  for (;;) {
    if (shared.stoppingRx) return exit(CTL.RX_EXIT, EXIT.STOPPED);
    if (slot < 0) {
      slot = free.shift();
      if (slot < 0) {
        c[TC.RX_NO_SLOT]!++;
        free.waitNonEmpty(NAP_MS);
        continue;
      }
    }
    const off = slot * d.slotSize + d.headroom;
    let n: number;
    try {
      n = readSync(d.fd, slab, off, readLen, null);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (shared.stoppingRx) return exit(CTL.RX_EXIT, EXIT.STOPPED);
      if (gone(e)) return exit(CTL.RX_EXIT, EXIT.GONE, e);
      if (e.code === 'EINTR' || e.code === 'EAGAIN') continue;
      m[TS.RX_ERRORS]!++;
      return exit(CTL.RX_EXIT, EXIT.ERROR, e);
    }
    if (shared.stoppingRx) return exit(CTL.RX_EXIT, EXIT.STOPPED); // read after stop: not passed on
    if (n >= readLen) {
      c[TC.RX_OVERSIZE]!++;
      m[TS.RX_DROPPED]!++;
      continue; // keep the slot for the next read
    }
    if (n <= 0) continue;
    m[TS.RX_PACKETS]!++;
    m[TS.RX_BYTES]! += n;
    rx.push(slot, n); // cannot be full: the worker holds at most `capacity` slots
    slot = -1;
    ring();
  }
}

function txLoop(): void {
  const tx = shared.tx, done = shared.done, w = tx.words, base = d.headroom;
  for (;;) {
    let i = tx.peek();
    if (i < 0) {
      // Drained: stop only once everything queued has been written.
      if (shared.stoppingTx) return exit(CTL.TX_EXIT, EXIT.STOPPED);
      tx.waitNonEmpty(NAP_MS);
      continue;
    }
    let wrote = 0;
    while (i >= 0) {
      const slot = w[i]!, len = w[i + 1]!;
      tx.release();
      try {
        writeSync(d.fd, slab, slot * d.slotSize + base, len);
        m[TS.TX_PACKETS]!++;
        m[TS.TX_BYTES]! += len;
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        m[TS.TX_ERRORS]!++;
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
    if (wrote) ring();
  }
}

if (d.role === 'rx') rxLoop();
else txLoop();
