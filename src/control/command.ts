// One command family (ofctl, ip, iptables, ...) as the server runs it: it
// says from its words whether they read or write, and runs them against the
// emulator. A write must either apply entirely or throw before changing
// anything (the server runs it between two packets, so nothing sees half).
import type { Emulator } from '../topology/builder.js';
import type { CommandResponse } from './protocol.js';
import type { PartitionedDatapath } from '../workers/supervisor.js';

export type Access = 'read' | 'write';

/** access() of a family whose every command reads, or writes: the CLI uses them without loading the family (family-access.ts). */
export const alwaysRead = (): Access => 'read';
export const alwaysWrite = (): Access => 'write';

/** What command words are resolved against (src/control/resolve.ts). */
export interface Scope {
  emu: Emulator;
  /**
   * Every node of the emulation, in `dpemu nodes` order, when `emu` holds
   * only some of them (a datapath worker's): errors about a node list these,
   * as one emulator would.
   */
  allNodes?: readonly string[];
}

/** What the server lends a command besides the emulator. */
export interface ControlHooks {
  /** Called by the server after every successful write (the daemon flushes what caches it keeps). */
  invalidate(what: string): void;
  /** `dpemu reload`, when the daemon offers it. */
  reload?: () => string | Promise<string>;
  /** The datapath workers, when the daemon runs with --workers N. */
  workers?: PartitionedDatapath;
}

export interface ControlContext extends Scope, ControlHooks {}

/**
 * Where a command runs when the emulation is split over datapath workers
 * (src/workers/remote-control.ts), each owning some nodes:
 * - `node`: the node its words name, as typed (undefined when they name
 *   none): it runs in the worker that owns it (an unknown or missing node
 *   fails the same in any worker);
 * - `every`: it concerns every node: each worker runs it and `merge` joins
 *   their answers as one emulator prints them (default: the first failure,
 *   else the outputs one after the other);
 * - `whole`: it needs the whole emulator in one thread; the error to answer.
 */
export type Target =
  | { node: string | undefined }
  | { every: true; merge?: (answers: readonly CommandResponse[], allNodes: readonly string[]) => CommandResponse }
  | { whole: string };

export interface CommandFamily {
  name: string;
  access(argv: readonly string[]): Access;
  /** Which node the words address (may throw what run() would throw on them). */
  target(argv: readonly string[]): Target;
  run(ctx: ControlContext, argv: readonly string[]): CommandResponse | Promise<CommandResponse>;
}

/**
 * A command about the daemon itself rather than the emulation (its datapath
 * workers): it runs on the server's thread with the hooks, whichever
 * backend serves the nodes.
 */
export interface DaemonCommand {
  name: string;
  access(argv: readonly string[]): Access;
  run(hooks: ControlHooks, argv: readonly string[]): CommandResponse | Promise<CommandResponse>;
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
