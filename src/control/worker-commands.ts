// `dpemu workers`: the datapath workers of a daemon run with --workers N
// (index, alive, restarts, their learned-state journal's records written,
// dropped for want of room and whole rewrites after a drop, the runtime
// configuration changes kept for a restart and those not kept for want of
// room, how many its last restart replayed, nodes), and
// `dpemu workers kill N`, which ends worker N abruptly, as a crash would, to
// see the daemon restart it with its nodes' conntrack (fault injection for
// tests and demonstrations).
import type { DaemonCommand } from './command.js';
import { ControlError, ok } from './protocol.js';

export const workers: DaemonCommand = {
  name: 'workers',
  access: (argv) => (argv[0] === 'kill' ? 'write' : 'read'),
  async run(hooks, argv) {
    const dp = hooks.workers;
    if (!dp) throw new ControlError('workers: this daemon runs its data path on the main thread (dpemu run --workers 0): there are no datapath workers; start it with --workers N');
    if (argv.length === 0) {
      const cols = ['WORKER', 'ALIVE', 'RESTARTS', 'JOURNALED', 'DROPPED', 'REWRITES', 'CONFIG', 'UNKEPT', 'REPLAYED'];
      const rows = dp.status().map((w) =>
        [w.index, w.alive ? 'yes' : 'no', w.restarts, w.journal.records, w.journal.overflows, w.journal.resyncs, w.config.commands, w.config.unkept, w.replay?.replayed ?? 0, w.nodes.join(',')].map(String),
      );
      const widths = cols.map((c, i) => Math.max(c.length, ...rows.map((r) => r[i]!.length)));
      const line = (r: string[]): string => r.map((x, i) => (i < widths.length ? x.padEnd(widths[i]!) : x)).join('  ');
      return ok(`${[line([...cols, 'NODES']), ...rows.map(line)].join('\n')}\n`);
    }
    if (argv[0] !== 'kill' || argv.length !== 2) throw new ControlError('usage: dpemu workers [kill N]');
    const n = Number(argv[1]);
    if (!/^\d+$/.test(argv[1]!) || n >= dp.workers) throw new ControlError(`workers kill: no worker ${argv[1]} (workers are 0..${dp.workers - 1})`);
    await dp.kill(n);
    return ok(`worker ${n} killed; the daemon restarts it with its nodes (dpemu workers shows it back)\n`);
  },
};
