// arping's command line as iputils 20221126 reads it (getopt with GNU
// permutation over its optstring, strtol_or_err), checked against the real
// arping on Debian bookworm: the same messages and exit statuses.
import { getopt, GetoptError } from './getopt.js';
import { NetDb } from '../control/netdb.js';
import { ipToString } from '../wire/addr.js';
import { PingExit, strtolOrErr } from './ping-args.js';

/** arping.c main's optstring. */
const OPTSTRING = 'h?bfDUAqc:w:i:s:I:V';
const INT_MAX = 2147483647;
/** arping -V on Debian bookworm. */
const VERSION = ['arping from iputils 20221126', 'libcap: yes, IDN: yes, NLS: no, error.h: yes, getrandom(): yes, __fpending(): yes'];

/** usage() of iputils 20221126 (stderr, exit 2). */
export const ARPING_USAGE = `
Usage:
  arping [options] <destination>

Options:
  -f            quit on first reply
  -q            be quiet
  -b            keep on broadcasting, do not unicast
  -D            duplicate address detection mode
  -U            unsolicited ARP mode, update your neighbours
  -A            ARP answer mode, update your neighbours
  -V            print version and exit
  -c <count>    how many packets to send
  -w <timeout>  how long to wait for a reply
  -i <interval> set interval between packets (default: 1 second)
  -I <device>   which ethernet device to use
  -s <source>   source ip address
  <destination> dns name or ip address

For more details see arping(8).`;

export interface ArpingArgs {
  /** The target, a dotted quad (inet_aton's, or the address its name has). */
  dst: string;
  /** -c; -1: until interrupted (or the deadline). */
  count: number;
  /** -w in seconds; 0: none. */
  timeout: number;
  /** -i in whole seconds (0: the interval timer never runs, one probe). */
  interval: number;
  device?: string;
  source?: string;
  broadcastOnly: boolean;
  quitOnReply: boolean;
  dad: boolean;
  unsolicited: boolean;
  advert: boolean;
  quiet: boolean;
}

/** Parse arping's words, or throw what it prints and its exit status (PingExit); a name is looked up in `db`. */
export function parseArpingArgs(argv: readonly string[], db = new NetDb()): ArpingArgs {
  const a: Omit<ArpingArgs, 'dst'> = { count: -1, timeout: 0, interval: 1, broadcastOnly: false, quitOnReply: false, dad: false, unsolicited: false, advert: false, quiet: false };
  const usage = (...first: string[]): PingExit => new PingExit([...first, ...ARPING_USAGE.split('\n')], 2);
  let operands: string[];
  try {
    operands = getopt('arping', argv, OPTSTRING, (c, arg = '') => {
      switch (c) {
        case 'b':
          a.broadcastOnly = true;
          break;
        case 'D':
          a.dad = a.quitOnReply = true;
          break;
        case 'U':
          a.unsolicited = true;
          break;
        case 'A':
          a.advert = a.unsolicited = true;
          break;
        case 'q':
          a.quiet = true;
          break;
        case 'c':
          a.count = strtolOrErr('arping', arg, 1, INT_MAX);
          break;
        case 'w':
          a.timeout = strtolOrErr('arping', arg, 0, INT_MAX);
          break;
        case 'i':
          a.interval = strtolOrErr('arping', arg, 0, INT_MAX);
          break;
        case 'I':
          a.device = arg;
          break;
        case 'f':
          a.quitOnReply = true;
          break;
        case 's':
          a.source = arg;
          break;
        case 'V':
          throw new PingExit(VERSION, 0, true);
        default: // -h, -?
          throw usage();
      }
    });
  } catch (err) {
    throw err instanceof GetoptError ? usage(err.message) : err;
  }
  if (operands.length !== 1) throw usage();
  const target = operands[0]!;
  // inet_aton, else getaddrinfo (the hosts file of the machine this runs on).
  const addr = db.hostByName(target);
  if (typeof addr === 'string') throw new PingExit([`arping: ${target}: ${addr}`], 2);
  if (a.device === '') delete a.device;
  return { ...a, dst: ipToString(addr) };
}
