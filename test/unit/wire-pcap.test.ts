import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildFrame } from '../../src/wire/frame.js';
import { PCAP_HEADER_LEN, pcapFile, pcapHeader, pcapRecord, pcapRecordFrom, readPcap } from '../../src/wire/pcap.js';

const frame = buildFrame({ src: 'fa:16:3e:b2:ef:af', dst: 'fa:16:3e:06:d8:7b', ip: { src: '192.168.1.7', dst: '8.8.8.8' }, icmp: { id: 60691, seq: 1, data: 100 } });

test('classic pcap header and records', () => {
  const h = pcapHeader();
  assert.equal(h.length, PCAP_HEADER_LEN);
  assert.deepEqual([...h.subarray(0, 8)], [0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0]);
  const v = new DataView(h.buffer);
  assert.equal(v.getUint32(16, true), 262144);
  assert.equal(v.getUint32(20, true), 1);
  const r = pcapRecord(1700000000123.5, frame);
  const rv = new DataView(r.buffer);
  assert.equal(rv.getUint32(0, true), 1700000000);
  assert.equal(rv.getUint32(4, true), 123500);
  assert.equal(rv.getUint32(8, true), 142);
  assert.equal(rv.getUint32(12, true), 142);
  assert.deepEqual(r.subarray(16), frame);
  const slab = new Uint8Array(1000);
  slab.set(frame, 300);
  assert.deepEqual(pcapRecordFrom(1700000000123.5, slab, 300, 142), r);
  const cut = pcapRecord(0, frame, 64);
  assert.equal(new DataView(cut.buffer).getUint32(8, true), 64);
  assert.equal(new DataView(cut.buffer).getUint32(12, true), 142);
});

test('round trip through readPcap', () => {
  const file = pcapFile([
    { tsMs: 1000, frame },
    { tsMs: 2500.25, frame: frame.subarray(0, 60) },
  ]);
  const p = readPcap(file)!;
  assert.equal(p.linktype, 1);
  assert.equal(p.records.length, 2);
  assert.deepEqual(p.records[0]!.frame, frame);
  assert.equal(p.records[1]!.tsMs, 2500.25);
  assert.equal(readPcap(new Uint8Array(10)), null);
});

const hasTcpdump = spawnSync('tcpdump', ['--version'], { stdio: 'ignore' }).status === 0;

test('the real tcpdump -r reads the file', { skip: !hasTcpdump && 'tcpdump not installed' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'dpe-pcap-'));
  try {
    const f = join(dir, 'a.pcap');
    writeFileSync(f, pcapFile([{ tsMs: 1700000000000, frame }]));
    const r = spawnSync('tcpdump', ['-t', '-nnee', '-r', f], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /link-type EN10MB \(Ethernet\), snapshot length 262144/);
    assert.equal(
      r.stdout.trim(),
      'fa:16:3e:b2:ef:af > fa:16:3e:06:d8:7b, ethertype IPv4 (0x0800), length 142: 192.168.1.7 > 8.8.8.8: ICMP echo request, id 60691, seq 1, length 108',
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
