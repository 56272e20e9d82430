// What ovs-vsctl, ovs-ofctl and ovs-appctl commands write, apart from their
// implementation (ovs-commands.ts), so that the CLI can pick the URL path
// without loading the OpenFlow and OVSDB code.
import { type Access, splitArgs } from './command.js';
import { ControlError } from './protocol.js';
import { vsctlWrites } from './ovs-vsctl-args.js';

/** The option that names the file whose text the CLI sent (not ovs-ofctl's: the CLI reads the file, the server parses it). */
export const FILE_NAME_OPT = '--dpemu-file';

const OFCTL_WRITES = new Set(['add-flow', 'add-flows', 'mod-flows', 'del-flows', 'mod-port', 'set-frags']);
const APPCTL_WRITES = new Set(['fdb/flush', 'fdb/add', 'fdb/del', 'fdb/stats-clear', 'ofproto/trace']);

export const ofctlAccess = (argv: readonly string[]): Access => (OFCTL_WRITES.has(splitArgs(argv, ['-O']).words[0] ?? '') ? 'write' : 'read');
export const appctlAccess = (argv: readonly string[]): Access => (APPCTL_WRITES.has(argv[0] ?? '') ? 'write' : 'read');

/** ovs-vsctl's words that do not parse: a read, of no node (run() answers the error). */
export const orRead = <T>(f: () => T, otherwise: T): T => {
  try {
    return f();
  } catch (e) {
    if (e instanceof ControlError) return otherwise;
    throw e;
  }
};

/** A chain (`--`) that writes is one write, sent whole to the worker that owns its node. */
export const vsctlAccess = (argv: readonly string[]): Access => (orRead(() => vsctlWrites(argv), false) ? 'write' : 'read');
