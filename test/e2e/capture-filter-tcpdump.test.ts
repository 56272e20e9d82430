// dpemu's capture filter refuses what tcpdump 4.99 (libpcap 1.10) refuses, in
// its words: tcpdump itself compiles each filter on lo in a dpe- namespace.
// dpemu's own hint where it lacks a feature (name lookups) is left out of the
// comparison; filters that only a name service makes valid are not asked.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { compileCaptureFilter } from '../../src/control/backend.js';
import { requireRoot } from '../helpers/root.js';
import { requireTool } from '../helpers/tools.js';
import { KernelObjects, uniqueTag } from './lab-names.js';

const objs = new KernelObjects();
const ns = `dpe-${uniqueTag()}-flt`;

const BAD = [
  'prot', 'foo bar', 'tcp and', '(tcp', 'tcp)', 'tcp port', 'host', 'src', 'and', 'not', 'less x', 'greater', 'vlan x',
  'udp src port 53 or', '1.2.3.4', 'net 10.0.0.0 mask x', 'tcp or foo', 'tcp and 1.2.3.4',
  'port 99999', 'portrange 1-99999', 'port 80 or x', 'portrange x', 'host 300.1.1.1', 'host 1.2.3.4 or 300.1.1.1',
  'net 10.0.0.1/8', 'net 10.0.0.0/33', 'ether host zz', 'vlan 5000', 'ether proto foo', 'ip proto foo',
];

before(() => {
  requireRoot('tcpdump in a namespace');
  requireTool('tcpdump', 'tcpdump');
  objs.addNetns(ns);
});
after(() => objs.cleanup());

test("bad filters: tcpdump's message, without dpemu's hint", () => {
  const diffs: string[] = [];
  for (const f of BAD) {
    const k = spawnSync('ip', ['netns', 'exec', ns, 'timeout', '5', 'tcpdump', '-nn', '-i', 'lo', '-c', '1', f], { encoding: 'utf8' });
    assert.equal(k.status, 1, `tcpdump took '${f}': ${k.stderr}`);
    const real = k.stderr.trimEnd().split('\n').at(-1);
    let mine: string;
    try {
      compileCaptureFilter(f);
      mine = '(accepted)';
    } catch (e) {
      mine = (e as Error).message.replace(/ \(dpemu [^)]*\)$/, '');
    }
    if (mine !== real) diffs.push(`'${f}': tcpdump ${JSON.stringify(real)}, dpemu ${JSON.stringify(mine)}`);
  }
  assert.deepEqual(diffs, [], diffs.join('\n'));
});
