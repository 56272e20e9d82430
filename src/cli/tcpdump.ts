// `dpemu tcpdump`: a live capture streamed from the daemon, printed as
// `tcpdump -nnee` prints it (with -v, -vv as those print it), or written with
// -w as a classic pcap file that tcpdump -r and tshark -r read.
import { closeSync, openSync, writeSync } from 'node:fs';
import { captureRemote, ConnectError, endpointFromEnv } from '../control/client.js';
import type { CaptureRequest } from '../control/protocol.js';
import { Tcpdump } from '../wire/tcpdump.js';
import { pcapHeader, PCAP_RECORD_HEADER_LEN } from '../wire/pcap.js';
import { takeSocket } from './control-socket.js';

interface TcpdumpArgs {
  req: CaptureRequest;
  write?: string;
  /** How many -v (tcpdump's vflag). */
  verbose: number;
  /** -S: absolute TCP sequence numbers. */
  absoluteSeq: boolean;
}

function parseArgs(argv: string[]): TcpdumpArgs {
  const req: CaptureRequest = { iface: '' };
  const out: TcpdumpArgs = { req, verbose: 0, absoluteSeq: false };
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
    else if (/^-[neUlvqtS]+$/.test(a)) {
      // -nn -e -nnee -U -l: dpemu always prints -nnee style; each v is one more level (-v, -vv, -nnvv).
      out.verbose += a.split('v').length - 1;
      if (a.includes('S')) out.absoluteSeq = true;
    }
    else if (a.startsWith('-') && a.length > 1) throw new Error(`invalid option -- '${a.slice(1)}'`);
    else expr.push(a);
  }
  if (!req.iface) throw new Error('-i NODE:[NS:]IFACE is required (dpemu captures inside the emulator)');
  if (req.count !== undefined && !(Number.isInteger(req.count) && req.count > 0)) throw new Error(`invalid packet count ${countText}`);
  req.filter = expr.join(' ');
  return out;
}

/** The lines tcpdump ends with on stderr ("1 packet captured": tcpdump's PLURAL_SUFFIX). */
export function captureSummary(captured: number, dropped: number): string {
  const n = (k: number, what: string) => `${k} packet${k === 1 ? '' : 's'} ${what}\n`;
  return n(captured, 'captured') + n(captured, 'received by filter') + n(dropped, 'dropped by kernel');
}

/** HH:MM:SS.uuuuuu in local time, as tcpdump stamps lines. */
function stamp(us: number): string {
  const d = new Date(Math.floor(us / 1000));
  const p2 = (n: number) => String(n).padStart(2, '0');
  return `${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())}.${String(us % 1_000_000).padStart(6, '0')}`;
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

export async function tcpdumpCommand(argv: string[]): Promise<number> {
  const { socket, rest } = takeSocket(argv);
  let args: TcpdumpArgs;
  try {
    args = parseArgs(rest);
  } catch (e) {
    process.stderr.write(`tcpdump: ${(e as Error).message}\n`);
    return 1;
  }
  const printer = new Tcpdump({ verbose: args.verbose, absoluteSeq: args.absoluteSeq });
  let fd: number | undefined;
  let exit = 0;
  let seen = 0;
  let summary = { captured: 0, dropped: 0 };
  const iface = args.req.iface;
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
          if (args.write) {
            fd = openSync(args.write, 'w');
            writeSync(fd, pcapHeader(ev.snaplen));
          }
          // tcpdump.c: the hint about -v only when it prints and was not given -v.
          const hint = args.write || args.verbose ? '' : 'verbose output suppressed, use -v[v]... for full protocol decode\n';
          process.stderr.write(`tcpdump: ${hint}listening on ${iface}, link-type EN10MB (Ethernet), snapshot length ${ev.snaplen} bytes\n`);
        } else if (ev.type === 'frame') {
          seen++;
          const data = Buffer.from(ev.data, 'base64');
          if (fd !== undefined) {
            writeSync(fd, pcapRecordHeader(ev.ts, data.length, ev.len));
            writeSync(fd, data);
          } else {
            process.stdout.write(`${stamp(ev.ts)} ${printer.format(data, 0, data.length, ev.len)}\n`);
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
