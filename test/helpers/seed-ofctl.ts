// The seed topology in one engine, the write-up's request injected at the VM's
// port, and ovs-ofctl's text for it: what the dump-tables and dump-ports tests share.
import assert from 'node:assert/strict';
import { buildEmulator, type Emulator } from '../../src/topology/builder.js';
import { loadTopologyOrThrow } from '../../src/topology/loader.js';
import { ofctl } from '../../src/control/ovs-commands.js';
import type { CommandResponse } from '../../src/control/protocol.js';
import type { ManualClock } from '../../src/datapath/clock.js';
import { buildFrame } from '../../src/wire/frame.js';
import { openEdges } from '../../src/cli/trace.js';
import { SEED_FILE, VM_EDGE } from './seed-names.js';

/** The VM's UDP request to 8.8.8.8:53, 106 bytes on the wire: 14 Ethernet + 20 IPv4 + 8 UDP + 64. */
export const REQ = buildFrame({ src: 'fa:16:3e:b2:ef:af', dst: 'fa:16:3e:06:d8:7b', ip: { src: '192.168.1.7', dst: '8.8.8.8', ttl: 64 }, udp: { sport: 40000, dport: 53, payload: 64 } });

export function seed(fastpath: boolean, clock?: ManualClock): Emulator {
  const emu = buildEmulator(loadTopologyOrThrow(SEED_FILE), clock ? { clock } : {});
  emu.engine.fastpath = fastpath;
  openEdges(emu);
  return emu;
}

/** `n` copies of REQ from the VM's port, each run to completion. */
export function send(emu: Emulator, n: number): void {
  for (let i = 0; i < n; i++) emu.engine.inject(emu.engine.pool.allocFrom(REQ)!, emu.findPort(...VM_EDGE)!);
}

/** `dpemu ofctl ARGV`'s standard output; the command must succeed. */
export function ofctlText(emu: Emulator, argv: string[]): string {
  const r = ofctl.run({ emu, invalidate: () => {} }, argv) as CommandResponse;
  assert.equal(r.exit, 0);
  return r.stdout;
}
