// The configuration a worker's nodes were given at runtime, kept by the
// supervisor so that a restarted worker has it again. On a real node routes,
// rules, addresses, sysctls, iptables rules, the agent's OpenFlow flows and the OVS
// database's settings (ovs-vsctl set, ...; a `--` chain of commands is one
// write, kept whole) are kernel, ovs-vswitchd or ovsdb
// state that outlives any one thread; here they live in the
// worker's elements, which a restart rebuilds from the topology file. So the
// supervisor keeps, per worker, the successful configuration writes that ran
// there (in the order the worker ran them) and a successor replays them after
// building its nodes, before its learned state is restored and before it
// forwards (src/workers/datapath-worker.ts).
//
// Not kept, because it survives otherwise or is not configuration:
// - conntrack -D/-F: the tables are shared memory and continue as they are
//   (replaying a flush would empty the adopted table);
// - appctl fdb/flush, fdb/add, fdb/del and ofproto/trace (which runs learn()
//   and MAC learning), fdb entries (static ones too), neighbours and learn()
//   flows: the learned-state journal has their latest image (restored after
//   the replay, so it wins);
// - counter zeroing (clear-counters, iptables -Z, appctl fdb/stats-clear):
//   counters restart at 0;
// - reads, and commands that failed (they changed nothing).
// route add/del and ifconfig DEV up|down|mtu are kept as `ip route` and
// `ip link set` writes are (one whose status is not 0 is not, though ifconfig
// may have made the changes before the word that failed).
// `ip neigh` writes are kept, and arp -s/-d: PERMANENT entries (static ARP,
// as the DVR agent installs) are configuration the journal does not restore;
// for the others the journal's image is restored after the replay and wins.
// So are `bridge fdb` writes: a Linux bridge's user-added entries are not
// journaled, and a deleted or flushed learned one is journaled as gone; and
// `bridge link set`, a Linux bridge port's settings.
//
// Bound: an OVS bridge's flow_mods are compacted. Once the lines kept for a
// bridge exceed COMPACT_MIN and twice its last snapshot, the supervisor asks
// the worker for the bridge's configured flows (all but learn()'s) as two
// commands (del-flows, add-flows) that replace its entries: add/del churn
// then costs memory in proportion to the flows live, and one snapshot per as
// many flow_mods as the table holds. Other writes (ip, iptables) have no
// exact compaction (an add and a del of the same words need not cancel: rule
// order, first-match deletes) and are rare; the whole log is capped at
// maxBytes of command text, past which a write is applied but not kept, and
// counted (ConfigLog.unkept, `dpemu workers`, a warning in the daemon log).
import { COMMANDS } from '../control/registry.js';
import { splitArgs } from '../control/command.js';

/** A command as a worker runs it (WorkerControl.command). */
export interface ConfigCommand {
  family: string;
  argv: string[];
}

/** Lines kept for one bridge before a snapshot may replace them (whatever its size). */
export const COMPACT_MIN = 1024;
/** Command text one worker's log keeps at most (64 MiB: a 100 k-flow bridge and its compaction slack fit). */
export const DEFAULT_LOG_BYTES = 64 << 20;

interface Entry extends ConfigCommand {
  /** The bridge (`NODE BRIDGE`) whose flows it changes, for compaction; null: never compacted. */
  bridge: string | null;
  /** Flow lines it carries (1 for a single flow or another command). */
  lines: number;
  bytes: number;
}

/** Whether a successful write is kept, and which bridge's flows it changes. */
export function kept(family: string, argv: readonly string[]): { bridge: string | null } | null {
  const fam = COMMANDS.get(family);
  if (!fam || fam.access(argv) !== 'write') return null;
  switch (family) {
    case 'ofctl': {
      const [sub, node, bridge] = splitArgs(argv, ['-O', '--protocols']).words;
      // A port's config (mod-port) and the fragment handling (set-frags) are no flows: a bridge's flow snapshot does not hold them, so they are never compacted.
      return { bridge: sub === 'mod-port' || sub === 'set-frags' ? null : `${node} ${bridge}` };
    }
    case 'ip':
    case 'bridge':
    case 'arp':
    case 'route':
    case 'ifconfig':
    case 'sysctl':
    case 'vsctl':
      return { bridge: null };
    case 'iptables':
      return argv.some((a) => a === '-Z' || a === '--zero') ? null : { bridge: null };
    default:
      return null;
  }
}

/** Flow lines of an ofctl command's words (a file's text counts its flows). */
function flowLines(argv: readonly string[]): number {
  let n = 0;
  for (const a of argv) {
    if (!a.includes('\n')) continue;
    for (const l of a.split('\n')) {
      const t = l.trim();
      if (t && !t.startsWith('#')) n++;
    }
  }
  return Math.max(1, n);
}

/** What a command's words are counted as against the log's cap. */
function textBytes(argv: readonly string[]): number {
  return argv.reduce((s, a) => s + a.length + 8, 32);
}

export class ConfigLog {
  private entries: Entry[] = [];
  private bytes = 0;
  /** Per bridge: lines kept, and how many of them its last snapshot had. */
  private readonly bridges = new Map<string, { lines: number; snapshot: number; compacting: boolean }>();
  /** Writes applied but not kept (the log was full). */
  unkept = 0;
  /** Snapshots that replaced a bridge's entries. */
  compactions = 0;

  constructor(private readonly maxBytes = DEFAULT_LOG_BYTES) {}

  /**
   * Keep a write that succeeded (if it is one that is kept). Returns the
   * bridge whose entries are due for a snapshot, if any ('full' when the
   * write did not fit).
   */
  add(family: string, argv: readonly string[]): string | 'full' | null {
    const k = kept(family, argv);
    if (!k) return null;
    const bytes = textBytes(argv);
    if (this.bytes + bytes > this.maxBytes) {
      this.unkept++;
      return 'full';
    }
    const lines = k.bridge === null ? 1 : flowLines(argv);
    this.entries.push({ family, argv: [...argv], bridge: k.bridge, lines, bytes });
    this.bytes += bytes;
    if (k.bridge === null) return null;
    let b = this.bridges.get(k.bridge);
    if (!b) this.bridges.set(k.bridge, (b = { lines: 0, snapshot: 0, compacting: false }));
    b.lines += lines;
    if (b.compacting || b.lines <= Math.max(COMPACT_MIN, 2 * b.snapshot)) return null;
    b.compacting = true;
    return k.bridge;
  }

  /**
   * The bridge's state, as commands taken after every entry kept for it so
   * far (the worker answers in order), replaces those entries; null: the
   * snapshot failed (the entries stay).
   */
  compacted(bridge: string, snapshot: ConfigCommand[] | null): void {
    const b = this.bridges.get(bridge);
    if (!b) return;
    b.compacting = false;
    if (!snapshot) return;
    this.entries = this.entries.filter((e) => {
      if (e.bridge !== bridge) return true;
      this.bytes -= e.bytes;
      return false;
    });
    b.lines = 0;
    for (const c of snapshot) {
      const lines = flowLines(c.argv), bytes = textBytes(c.argv);
      this.entries.push({ ...c, bridge, lines, bytes });
      this.bytes += bytes;
      b.lines += lines;
    }
    b.snapshot = b.lines;
    this.compactions++;
  }

  /** What a successor replays, in order. */
  commands(): ConfigCommand[] {
    return this.entries.map(({ family, argv }) => ({ family, argv }));
  }

  /** Commands kept, and their text's size. */
  get size(): { commands: number; bytes: number } {
    return { commands: this.entries.length, bytes: this.bytes };
  }
}
