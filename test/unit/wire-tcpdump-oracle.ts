// The real tcpdump as the oracle for the printers: a pcap of frames (each
// with its length on the wire, so a frame cut short reads as a snaplen cut),
// `tcpdump -tt -nn FLAGS -r`, one text per frame.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pcapHeader, PCAP_RECORD_HEADER_LEN, writePcapRecordHeader } from '../../src/wire/pcap.js';
import { Tcpdump, type TcpdumpOptions } from '../../src/wire/tcpdump.js';

export const hasTcpdump = spawnSync('tcpdump', ['--version'], { stdio: 'ignore' }).status === 0;

export interface Captured {
  frame: Uint8Array;
  /** The frame's length on the wire; default its captured length. */
  wire?: number;
}

/** What `tcpdump -tt -nn FLAGS -r` prints for each frame (of the pcap link-type `linktype`), without the time stamp and final newline. */
export function tcpdumpLines(frames: readonly Captured[], flags: readonly string[], linktype = 1): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'dpe-oracle-'));
  try {
    const file = join(dir, 'frames.pcap');
    writeFileSync(file, Buffer.concat([pcapHeader(undefined, linktype), ...frames.map(({ frame, wire }, i) => {
      const rec = new Uint8Array(PCAP_RECORD_HEADER_LEN + frame.length);
      writePcapRecordHeader(rec, 0, 1700000000000 + i * 1000, frame.length, wire ?? frame.length);
      rec.set(frame, PCAP_RECORD_HEADER_LEN);
      return rec;
    })]));
    const out = execFileSync('tcpdump', ['-tt', '-nn', ...flags, '-r', file], { stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 256 << 20 }).toString();
    return out.split(/^\d+\.\d{6} /m).slice(1).map((s) => s.replace(/\n$/, ''));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The formatter's text for each frame (one capture's state). */
export function formatterLines(frames: readonly Captured[], opts: TcpdumpOptions): string[] {
  const td = new Tcpdump(opts);
  return frames.map(({ frame, wire }) => td.format(frame, 0, frame.length, wire ?? frame.length));
}

/** tcpdump's flags and the formatter's options that print the same way. */
export const FLAG_RUNS: readonly [string[], TcpdumpOptions][] = [
  [['-e'], {}],
  [['-e', '-v'], { verbose: 1 }],
  [['-e', '-vv'], { verbose: 2 }],
  [['-e', '-vvv'], { verbose: 3 }],
  [[], { linkHeader: false }],
  [['-q'], { linkHeader: false, quiet: true }],
];

/** The named cases whose text differs between tcpdump and the formatter (empty: all alike). */
export function differences(cases: readonly [string, Captured][], flags: readonly string[], opts: TcpdumpOptions, linktype = 1): { name: string; ours: string | undefined; tcpdump: string | undefined }[] {
  const frames = cases.map(([, c]) => c);
  const theirs = tcpdumpLines(frames, flags, linktype);
  const mine = formatterLines(frames, opts);
  if (theirs.length !== frames.length) return [{ name: `tcpdump printed ${theirs.length} packets of ${frames.length}`, ours: undefined, tcpdump: undefined }];
  return cases.map(([name], i) => ({ name, ours: mine[i], tcpdump: theirs[i] })).filter((d) => d.ours !== d.tcpdump);
}
