// `dpemu workers`: the datapath workers of a daemon run with --workers N
// (index, nodes, restarts, alive), and `dpemu workers kill N`, which ends
// worker N abruptly, as a crash would, to see the daemon restart it with its
// nodes' conntrack (fault injection for tests and demonstrations).
import type { DaemonCommand } from './command.js';
import { ControlError, ok } from './protocol.js';

export const workers: DaemonCommand = {
  name: 'workers',
  access: (argv) => (argv[0] === 'kill' ? 'write' : 'read'),
  async run(hooks, argv) {
    const dp = hooks.workers;
    if (!dp) throw new ControlError('workers: this daemon runs its data path on the main thread (dpemu run --workers 0): there are no datapath workers; start it with --workers N');
    if (argv.length === 0) {
      const rows = dp.status().map((w) => `${String(w.index).padEnd(7)} ${(w.alive ? 'yes' : 'no').padEnd(6)} ${String(w.restarts).padEnd(9)} ${w.nodes.join(',')}`);
      return ok(`${['WORKER  ALIVE  RESTARTS  NODES', ...rows].join('\n')}\n`);
    }
    if (argv[0] !== 'kill' || argv.length !== 2) throw new ControlError('usage: dpemu workers [kill N]');
    const n = Number(argv[1]);
    if (!/^\d+$/.test(argv[1]!) || n >= dp.workers) throw new ControlError(`workers kill: no worker ${argv[1]} (workers are 0..${dp.workers - 1})`);
    await dp.kill(n);
    return ok(`worker ${n} killed; the daemon restarts it with its nodes (dpemu workers shows it back)\n`);
  },
};
