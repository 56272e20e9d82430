// `dpemu tcpdump`'s closing lines, as tcpdump 4.99 prints them (its PLURAL_SUFFIX),
// and its time stamps for each -t count, against tcpdump -r.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { captureSummary, timeStamp } from '../../src/cli/tcpdump.js';
import { buildFrame } from '../../src/wire/frame.js';
import { pcapFile } from '../../src/wire/pcap.js';

test('the summary says "packet" for one and "packets" otherwise', () => {
  assert.equal(captureSummary(1, 0), '1 packet captured\n1 packet received by filter\n0 packets dropped by kernel\n');
  assert.equal(captureSummary(2, 1), '2 packets captured\n2 packets received by filter\n1 packet dropped by kernel\n');
});

const hasTcpdump = spawnSync('tcpdump', ['--version'], { stdio: 'ignore' }).status === 0;

test('time stamps for each -t count are what tcpdump -r prints', { skip: !hasTcpdump && 'tcpdump not installed' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'dpe-tstamp-'));
  try {
    // Microsecond times: a start, a small step, more than an hour, a day and a bit.
    const times = [1700000000123456, 1700000000123999, 1700003723000001, 1700093723999999];
    const frame = buildFrame({ src: 'fa:16:3e:b2:ef:af', dst: 'fa:16:3e:06:d8:7b', ip: { src: '192.168.1.7', dst: '198.51.100.9' }, udp: { sport: 40000, dport: 50000, payload: 4 } });
    const file = join(dir, 't.pcap');
    writeFileSync(file, pcapFile(times.map((us) => ({ tsMs: us / 1000, frame }))));
    for (let t = 0; t <= 5; t++) {
      const flag = t === 0 ? [] : [`-${'t'.repeat(t)}`];
      const lines = execFileSync('tcpdump', ['-nn', ...flag, '-r', file], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trimEnd().split('\n');
      let prev = -1, first = -1;
      const ours = times.map((us) => {
        const s = timeStamp(t, us, prev, first);
        if (first < 0) first = us;
        prev = us;
        return s;
      });
      assert.deepEqual(lines.map((l) => l.slice(0, l.indexOf('IP '))), ours, `-t x${t}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
