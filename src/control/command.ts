// One command family (ofctl, ip, iptables, ...) as the server runs it: it
// says from its words whether they read or write, and runs them against the
// emulator. A write must either apply entirely or throw before changing
// anything (the server runs it between two packets, so nothing sees half).
import type { Emulator } from '../topology/builder.js';
import type { CommandResponse } from './protocol.js';
import type { PartitionedDatapath } from '../workers/supervisor.js';

export type Access = 'read' | 'write';

export interface ControlContext {
  emu: Emulator;
  /** Called by the server after every successful write (the daemon flushes what caches it keeps). */
  invalidate(what: string): void;
  /** `dpemu reload`, when the daemon offers it. */
  reload?: () => string | Promise<string>;
  /** The datapath workers, when the daemon runs with --workers N. */
  workers?: PartitionedDatapath;
}

export interface CommandFamily {
  name: string;
  access(argv: readonly string[]): Access;
  run(ctx: ControlContext, argv: readonly string[]): CommandResponse | Promise<CommandResponse>;
}

/** Splits argv into options (with the values the named ones take) and words, wherever they appear. */
export function splitArgs(argv: readonly string[], withValue: readonly string[]): { opts: Map<string, string>; words: string[] } {
  const opts = new Map<string, string>();
  const words: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a.startsWith('-') && a.length > 1 && !/^-\d/.test(a)) {
      const eq = a.indexOf('=');
      if (a.startsWith('--') && eq > 0) opts.set(a.slice(0, eq), a.slice(eq + 1));
      else if (withValue.includes(a)) opts.set(a, argv[++i] ?? '');
      else opts.set(a, '');
    } else words.push(a);
  }
  return { opts, words };
}
