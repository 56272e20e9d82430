// One emulated namespace on a manual clock with one device on a captured
// wire: what a unit test of its timed IPv6 work (DAD, MLD) drives.
import { Engine } from '../../src/datapath/engine.js';
import { ManualClock } from '../../src/datapath/clock.js';
import { NetNamespace } from '../../src/netns/namespace.js';
import { parseMacNum } from '../../src/wire/addr.js';
import { runCommand } from '../../src/netns/ip-text.js';
import { CaptureSink } from './sink.js';

/** Namespace `r` with device qr-1 (an internal port with `mac`) on `wire`. */
export function namespaceOnWire(mac: string) {
  const clock = new ManualClock(0);
  const e = new Engine({ clock });
  const r = e.add(new NetNamespace('lab', 'r'));
  const p = r.addInterface('qr-1', { mac: parseMacNum(mac)!, kind: 'internal' });
  const wire = new CaptureSink();
  e.attachEdge(p, wire);
  /** A frame arriving on qr-1, run to the end. */
  const send = (f: Uint8Array) => {
    e.inject(e.pool.allocFrom(f)!, p);
    e.run();
  };
  /** A runtime `ip` command, as the control socket runs it (DAD on). */
  const ip = (args: string) => runCommand(r.ns, `ip ${args}`, e.now, { dad: true });
  /** 10 ms of emulated time, the timers run after it. */
  const step = () => {
    clock.advance(10);
    e.tick();
    e.run();
  };
  return { e, r, wire, send, ip, step };
}
