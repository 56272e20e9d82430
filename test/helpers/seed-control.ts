// The seed topology with control commands run in-process, the w07 root
// view's device lines and what /metrics exports: what the ovs-vsctl
// add-port/del-port and add-br/del-br tests share.
import assert from 'node:assert/strict';
import { buildEmulator, type Emulator } from '../../src/topology/builder.js';
import { loadTopologyOrThrow } from '../../src/topology/loader.js';
import { ip } from '../../src/control/ip-commands.js';
import type { CommandFamily } from '../../src/control/command.js';
import type { CommandResponse } from '../../src/control/protocol.js';
import { registerCollectors } from '../../src/metrics/collectors.js';
import type { ScalarSeries } from '../../src/metrics/stats-reader.js';
import { SEED_FILE } from './seed-names.js';
import { Stats } from '../../src/datapath/stats.js';

export interface SeedControl {
  emu: Emulator;
  /** A command's standard output; it must succeed. */
  run(f: CommandFamily, ...argv: string[]): string;
  /** `ip w07 link`'s line for a device, if there is one. */
  link(name: string): string | undefined;
  /** The scalar series /metrics would export whose labels include `match`, with their family's name. */
  series(match: Record<string, string>): (ScalarSeries & { name: string })[];
}

/** `capacity`: the engine's counter cells (the default's when absent). */
export function seedControl(capacity?: number): SeedControl {
  const emu = buildEmulator(loadTopologyOrThrow(SEED_FILE), capacity === undefined ? {} : { stats: new Stats(capacity) });
  const run = (f: CommandFamily, ...argv: string[]): string => {
    const r = f.run({ emu, invalidate: () => {} }, argv) as CommandResponse;
    assert.equal(r.exit, 0, `${argv.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const link = (name: string): string | undefined => run(ip, 'w07', 'link').split('\n').find((l) => new RegExp(`^\\d+: ${name}[:@]`).test(l));
  const metrics = registerCollectors({ engine: emu.engine, processMetrics: false, threadBusy: false });
  const series = (match: Record<string, string>): (ScalarSeries & { name: string })[] =>
    [...metrics.read().values()].flatMap((f) =>
      [...f.scalars.values()].filter((x) => Object.entries(match).every(([k, v]) => x.labels[k] === v)).map((x) => ({ ...x, name: f.spec.name })),
    );
  return { emu, run, link, series };
}
