// `dpemu tcpdump`: a live capture streamed from the daemon, printed as
// `tcpdump -nn` prints it (with -e, -q, -v, -vv, -S and the -t family as
// those print it), or written with -w as a classic pcap file that tcpdump -r
// and tshark -r read. On `-i NODE:NS:any` the frames are Linux cooked v2, as
// tcpdump 4.99 captures on `any` (it says so first: "data link type LINUX_SLL2").
import { closeSync, openSync, writeSync } from 'node:fs';
import { captureRemote, ConnectError, endpointFromEnv } from '../control/client.js';
import type { CaptureRequest } from '../control/protocol.js';
import { Tcpdump } from '../wire/tcpdump.js';
import { pcapHeader, PCAP_RECORD_HEADER_LEN } from '../wire/pcap.js';
import { LINKTYPE_LINUX_SLL2 } from '../wire/sll2.js';
import { takeSocket } from './control-socket.js';

interface TcpdumpArgs {
  req: CaptureRequest;
  write?: string;
  /** How many -v (tcpdump's vflag). */
  verbose: number;
  /** -S: absolute TCP sequence numbers. */
  absoluteSeq: boolean;
  /** -e: the link-level header on each line. */
  linkHeader: boolean;
  /** -q: quick (quiet) output. */
  quiet: boolean;
  /** How many -t: 0 the time of day, 1 none, 2 seconds since the epoch, 3 since the previous line, 4 date and time, 5 since the first line. */
  stamps: number;
  /** How many -x, -X and -A: the packet's bytes after its line (-X before -x before -A, as tcpdump picks). */
  dumps: { x: number; X: number; A: number };
}

/** tcpdump's own option letters: one dpemu does not take is refused as not emulated, any other as invalid (getopt). */
const TCPDUMP_LETTERS = new Set('aAbBcCdDeEfFGhHiIjJKlLmMnNOpQrsStTuUvVwWxXyYzZ#');

function parseArgs(argv: string[]): TcpdumpArgs {
  const req: CaptureRequest = { iface: '' };
  const out: TcpdumpArgs = { req, verbose: 0, absoluteSeq: false, linkHeader: false, quiet: false, stamps: 0, dumps: { x: 0, X: 0, A: 0 } };
  const expr: string[] = [];
  let countText = '';
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const val = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`option requires an argument -- '${a.slice(-1)}'`);
      return v;
    };
    if (a === '-i' || a === '--interface') req.iface = val();
    else if (a === '-c') req.count = Number((countText = val()));
    else if (a === '-w') out.write = val();
    else if (a === '-s' || a === '--snapshot-length') req.snaplen = Number(val());
    else if (/^-[neUlvqtSxXA]+$/.test(a)) {
      // Combined as tcpdump takes them (-nnee, -nnvv, -tttt, -XX). -n, -U and -l change nothing here: names are never looked up, lines never buffered.
      const count = (c: string) => a.split(c).length - 1;
      out.verbose += count('v');
      out.stamps += count('t');
      for (const d of ['x', 'X', 'A'] as const) out.dumps[d] += count(d);
      if (a.includes('S')) out.absoluteSeq = true;
      if (a.includes('e')) out.linkHeader = true;
      if (a.includes('q')) out.quiet = true;
    }
    else if (a.startsWith('-') && a.length > 1) {
      // getopt names the first letter it does not know.
      const bad = [...a.slice(1)].find((c) => !/[neUlvqtSxXA]/.test(c)) ?? a[1]!;
      if (a.startsWith('--') || !TCPDUMP_LETTERS.has(bad)) throw new Error(`invalid option -- '${a.startsWith('--') ? a.slice(2) : bad}'`);
      throw new Error(`-${bad}: not emulated by dpemu (it takes -i -c -w -s -n -e -q -t -v -S -x -X -A and a filter)`);
    }
    else expr.push(a);
  }
  if (!req.iface) throw new Error('-i NODE:[NS:]IFACE|NODE:NS:any is required (dpemu captures inside the emulator)');
  if (req.count !== undefined && !(Number.isInteger(req.count) && req.count > 0)) throw new Error(`invalid packet count ${countText}`);
  req.filter = expr.join(' ');
  return out;
}

/** The lines tcpdump ends with on stderr ("1 packet captured": tcpdump's PLURAL_SUFFIX). */
export function captureSummary(captured: number, dropped: number): string {
  const n = (k: number, what: string) => `${k} packet${k === 1 ? '' : 's'} ${what}\n`;
  return n(captured, 'captured') + n(captured, 'received by filter') + n(dropped, 'dropped by kernel');
}

const p2 = (n: number) => String(n).padStart(2, '0');
const frac = (us: number) => String(us % 1_000_000).padStart(6, '0');

/** HH:MM:SS.uuuuuu of a time of day (local) or of a span. */
function hms(us: number, span: boolean): string {
  if (span) {
    const s = Math.floor(us / 1e6);
    return `${p2(Math.floor(s / 3600) % 24)}:${p2(Math.floor(s / 60) % 60)}:${p2(s % 60)}.${frac(us)}`; // a day wraps, as gmtime(3) of the span does
  }
  const d = new Date(Math.floor(us / 1000));
  return `${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())}.${frac(us)}`;
}

/**
 * A line's time stamp (with the space after it) as tcpdump's -t count
 * chooses it (ts_print): `prev` and `first` are the earlier lines' times
 * (microseconds since the epoch), -1 before the first line.
 */
export function timeStamp(stamps: number, us: number, prev: number, first: number): string {
  switch (stamps) {
    case 1:
      return '';
    case 2:
      return `${Math.floor(us / 1e6)}.${frac(us)} `;
    case 3:
    case 5: {
      const since = stamps === 3 ? prev : first;
      return ` ${hms(since < 0 ? 0 : Math.max(0, us - since), true)} `;
    }
    case 4: {
      const d = new Date(Math.floor(us / 1000));
      return `${d.getFullYear()}-${p2(d.getMonth() + 1)}-${p2(d.getDate())} ${hms(us, false)} `;
    }
    default:
      return `${hms(us, false)} `;
  }
}

function pcapRecordHeader(tsUs: number, caplen: number, len: number): Uint8Array {
  const b = new Uint8Array(PCAP_RECORD_HEADER_LEN);
  const v = new DataView(b.buffer);
  v.setUint32(0, Math.floor(tsUs / 1e6) >>> 0, true);
  v.setUint32(4, tsUs % 1e6, true);
  v.setUint32(8, caplen, true);
  v.setUint32(12, len, true);
  return b;
}

/** `inNetns`: run as `ip NODE netns exec NS tcpdump`, whose banner names the device as tcpdump inside NS does (`any`, `qr-...`). */
export async function tcpdumpCommand(argv: string[], how: { inNetns?: boolean } = {}): Promise<number> {
  const { socket, rest } = takeSocket(argv);
  let args: TcpdumpArgs;
  try {
    args = parseArgs(rest);
  } catch (e) {
    process.stderr.write(`tcpdump: ${(e as Error).message}\n`);
    return 1;
  }
  const { x, X, A } = args.dumps;
  const dump = X ? { kind: 'X' as const, withLink: X > 1 } : x ? { kind: 'x' as const, withLink: x > 1 } : A ? { kind: 'A' as const, withLink: A > 1 } : undefined;
  const printOpts = { verbose: args.verbose, absoluteSeq: args.absoluteSeq, linkHeader: args.linkHeader, quiet: args.quiet, ...(dump ? { dump } : {}) };
  let printer = new Tcpdump(printOpts);
  let prevUs = -1, firstUs = -1;
  let fd: number | undefined;
  let exit = 0;
  let seen = 0;
  let summary = { captured: 0, dropped: 0 };
  const onSigint = () => {
    // Ctrl-C: report what we have, as tcpdump does, and leave (closing the stream stops the capture).
    finish();
    process.exit(exit);
  };
  const finish = () => {
    if (fd !== undefined) closeSync(fd);
    fd = undefined;
    process.stderr.write(captureSummary(summary.captured || seen, summary.dropped));
  };
  process.once('SIGINT', onSigint);
  try {
    await captureRemote(
      endpointFromEnv(socket),
      args.req,
      (ev) => {
        if (ev.type === 'start') {
          const cooked = ev.linktype === LINKTYPE_LINUX_SLL2;
          if (cooked) {
            const names = new Map(ev.ifnames ?? []);
            printer = new Tcpdump({ ...printOpts, cooked: { ifname: (i) => names.get(i) } });
            process.stderr.write('tcpdump: data link type LINUX_SLL2\n');
          }
          if (args.write) {
            fd = openSync(args.write, 'w');
            writeSync(fd, pcapHeader(ev.snaplen, ev.linktype));
          }
          // tcpdump.c: the hint about -v only when it prints and was not given -v.
          const hint = args.write || args.verbose ? '' : 'verbose output suppressed, use -v[v]... for full protocol decode\n';
          const link = cooked ? 'LINUX_SLL2 (Linux cooked v2)' : 'EN10MB (Ethernet)';
          const dev = how.inNetns ? ev.iface.slice(ev.iface.lastIndexOf(':') + 1) : ev.iface;
          process.stderr.write(`tcpdump: ${hint}listening on ${dev}, link-type ${link}, snapshot length ${ev.snaplen} bytes\n`);
        } else if (ev.type === 'frame') {
          seen++;
          const data = Buffer.from(ev.data, 'base64');
          if (fd !== undefined) {
            writeSync(fd, pcapRecordHeader(ev.ts, data.length, ev.len));
            writeSync(fd, data);
          } else {
            process.stdout.write(`${timeStamp(args.stamps, ev.ts, prevUs, firstUs)}${printer.format(data, 0, data.length, ev.len)}\n`);
            if (firstUs < 0) firstUs = ev.ts;
            prevUs = ev.ts;
          }
        } else if (ev.type === 'end') {
          summary = { captured: ev.captured, dropped: ev.dropped };
        } else if (ev.type === 'error') {
          process.stderr.write(`tcpdump: ${ev.message}\n`);
          exit = 1;
        }
      },
      (r) => {
        process.stderr.write(r.stderr);
        exit = r.exit || 1;
      },
    );
  } catch (e) {
    process.stderr.write(e instanceof ConnectError ? e.message + '\n' : `tcpdump: ${(e as Error).message}\n`);
    exit = 1;
  } finally {
    process.off('SIGINT', onSigint);
  }
  if (exit === 0) finish();
  else if (fd !== undefined) closeSync(fd);
  return exit;
}
