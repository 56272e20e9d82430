// dpemu's conntrack command against conntrack-tools itself, on empty tables
// (a fresh kernel namespace, a fresh model table), so every word must agree:
// the help text, the version, the commands each option is legal with and
// the error that names the first illegal one, the table argument
// (expect, dying, unconfirmed), -E's refusals, and what the empty tables print. The tables
// with entries are compared by conntrack-kernel.test.ts.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { requireRoot } from '../helpers/root.js';
import { Conntrack } from '../../src/netfilter/index.js';
import { conntrackTool } from '../../src/control/conntrack-commands.js';
import { ControlError } from '../../src/control/protocol.js';
import { KernelObjects, uniqueTag } from './lab-names.js';

const objs = new KernelObjects();
const ns = `dpe-${uniqueTag()}-ct`;

/** -G's original addresses. */
const G = ['-G', '-s', '192.0.2.1', '-d', '192.0.2.2'];
const CASES: string[][] = [
  [], ['-h'], ['--help'], ['-V'], ['--version'], ['-h', '-L'], ['-L', '-V'],
  ['-p', 'tcp'], ['-s', '192.0.2.1', '-p', 'tcp'], ['-n'], ['-j'], ['-u', 'ASSURED'],
  ['-C', '-p', 'tcp'], ['-C', '-o', 'extended'], ['-C', 'conntrack'], ['-S', '-s', '192.0.2.1'], ['-S', '-f', 'ipv4'],
  ['-F', '-s', '192.0.2.1'], ['-F', '-p', 'tcp'], ['-F', '-u', 'ASSURED'], ['-F', '-f', 'ipv4'], ['-F', 'conntrack'],
  ['-D', '-j'], ['-D', '-n'], ['-D', '-o', 'extended'], ['-D', '-m', '1'], ['-D', '-u', 'ASSURED'],
  ['-D', '-j', '-n'], ['-C', '-j', '-g'], ['-L', '-j', '-g', '-s', '300.1.1.1'],
  ['-L', '-m', '1', '-f', 'ipv4', '-o', 'extended', '-n', '-g', '-u', 'ASSURED', '-r', '192.0.2.2', '-q', '192.0.2.3'],
  ['-L', '-p', 'tcp', '-f', 'ipv6'], ['-C', '-s', '300.1.1.1'],
  ['-L', 'expect'], ['-L', 'expect', '-p', 'tcp'], ['-L', 'expect', '-f', 'ipv4', '-o', 'extended'], ['-C', 'expect'],
  ['-C', 'expect', '-f', 'ipv4'], ['-F', 'expect'], ['-F', 'expect', '-f', 'ipv4'], ['-S', 'expect', '-s', '192.0.2.1'],
  ['-D', 'expect'], ['-D', 'expect', '-s', '192.0.2.1'], ['-D', 'expect', '-s', '192.0.2.1', '-d', '192.0.2.2'],
  ['-D', 'expect', '-s', '192.0.2.1', '-d', '192.0.2.2', '-p', 'tcp', '--sport', '1'],
  ['-D', 'expect', '-s', '192.0.2.1', '-d', '192.0.2.2', '-p', 'udp', '--sport', '1', '--dport', '2', '--reply-port-src', '3', '--reply-port-dst', '4'],
  ['-L', 'dying'], ['-L', 'unconfirmed', '-s', '192.0.2.1'], ['-C', 'dying'], ['-D', 'dying'], ['-S', 'unconfirmed'], ['-F', 'dying'],
  ['-L', 'bogus'],
  // -E's words that conntrack refuses at once (the ones it takes stream until a signal: conntrack-kernel.test.ts).
  ['-E', '-u', 'ASSURED'], ['-E', '-e', 'FOO'], ['-E', '-e', 'new,foo'], ['-E', '-o', 'extended,foo'], ['-E', 'dying'], ['-E', '-L'],
  ['-L', '-e', 'NEW'], ['-D', '-e', 'NEW'], ['-F', '-e', 'NEW', '-m', '1'], ['-L', '-e', 'NEW', '-u', 'ASSURED'], ['-E', '-p', 'foo'],
  ['-E', '-s', '300.1.1.1'], ['-E', 'expect', '-p', 'tcp'], ['-E', 'expect', '-s', '192.0.2.1'], ['-E', '--sport', '1'],
  // Addresses as inet_aton reads them, and the CIDR that -s and -d take (-r and -q not).
  ['-L', '-s', '1.2.3'], ['-L', '-d', '0x1020003'], ['-L', '-s', '1.2.0.3 x'], ['-L', '-s', '1.2.3.'], ['-L', '-s', '1.2.0.08'], ['-L', '-s', '1.2.65536'],
  ['-L', '-s', '1.2.3/16'], ['-D', '-d', '192.0.2.0/'], ['-L', '-s', '192.0.2.0/33'], ['-L', '-s', '192.0.2.0/x'], ['-L', '-s', '192.0.2.0/16/1'],
  ['-L', '-r', '192.0.2.0/24'], ['-D', '-q', '192.0.2.0/x'], ['-L', '-r', '1.2.3./24'],
  // Values are checked as they are read: the first bad one on the line is named, before the command's checks.
  ['-L', '-s', '1.2.3.', '-d', '1.2.4.'], ['-L', '-d', '1.2.4.', '-s', '1.2.3.'], ['-L', '-q', '1.2.5.', '-s', '1.2.3.'],
  ['-L', '-d', '1.2.4.', '-s', '1.2.3/40'], ['-L', '-d', '1.2.4/40', '-s', '1.2.3.'], ['-L', '-r', '192.0.2.1/24', '-s', '1.2.3.'],
  ['-S', '-s', '1.2.3.'], ['-L', '-s', '1.2.3.', '--bogus'], ['-L', '--bogus', '-s', '1.2.3.'], ['-L', '-s', '1.2.3.', '-D'],
  ['-L', '-s', '1.2.3.', '-s'], ['-L', '-p', 'foo', '-s', '1.2.3.'], ['-L', '-s', '1.2.3.', '-p', 'foo'], ['-L', '-f', 'ipv5', '-s', '1.2.3.'],
  ['-L', '-s', '1.2.3.', '-f', 'ipv5'], ['-L', '-o', 'xml2', '-s', '1.2.3.'], ['-L', '-u', 'FOO', '-p', 'foo'], ['-S', '-u', 'FOO'],
  ['-L', '-s', '1.2.3.', '-u', 'FOO'], ['-E', '-e', 'FOO', '-s', '1.2.3.'], ['-E', '-s', '1.2.3.', '-e', 'FOO'],
  ['-G', '-d', '1.2.4.', '-s', '1.2.3.', '-p', 'udp', '--sport', '1', '--dport', '2'], ['-L', '-o', 'extended,foo'],
  // -G's compulsory and illegal options, the tuple it needs per protocol, and an entry not there.
  ['-G'], ['-G', '-m', '0'], ['-G', '-p', 'udp'], ['-G', '-p', 'tcp', '-s', '192.0.2.1'], [...G, '-p', 'udp'], [...G, '-p', 'tcp', '--sport', '1'],
  [...G, '-p', 'icmp'], [...G, '-p', 'icmp', '--icmp-type', '8'], [...G, '-p', '47'], [...G, '-p', '50'],
  [...G, '-p', 'icmp', '--icmp-type', '8', '--icmp-code', '0', '--icmp-id', '9'], [...G, '-p', 'udp', '--sport', '1', '--dport', '2'],
  [...G, '-p', '6', '--sport', '1', '--dport', '2', '-u', 'ASSURED'], [...G, '-p', 'udp', '--sport', '1', '--dport', '2', '-m', '1', '-n'],
  ['-G', '-s', '192.0.2.0/24', '-d', '192.0.2.2', '-p', 'udp', '--sport', '1', '--dport', '2'], [...G, '-p', 'udp', '-q', '192.0.2.0/8'],
  ['-G', '-r', '192.0.2.2', '-q', '192.0.2.1', '-p', 'udp', '--reply-port-src', '2', '--reply-port-dst', '1'], ['-G', 'dying'],
  ['-L', '-p', 'icmp', '--icmp-type', '8', '--icmp-code', '0', '--icmp-id', '1'],
  // -U: its options (-t is -U's and -D's only), its tables, nothing to update (exit 1).
  ['-U'], ['-U', '-m', '1'], ['-U', '-m', '1', '-f', 'ipv4'], ['-U', '-t', '5', '-s', '192.0.2.1'], ['-U', '-u', 'ASSURED', '-p', 'tcp', '--sport', '1'],
  ['-U', '--timeout', '5', '-p', 'udp', '-f', 'ipv6'], ['-U', '-t'], ['-U', '-m'], ['-U', '-j'], ['-U', '-j', '-m', '1'], ['-U', '-e', 'NEW'],
  ['-U', '-n', '-g', '-m', '1'], ['-U', 'expect', '-m', '1'], ['-U', 'expect'], ['-U', 'dying'], ['-U', 'unconfirmed', '-m', '1'], ['-U', 'conntrack', '-m', '2'],
  ['-U', '-s', '1.2.3.', '-m', '1'], ['-U', '-r', '192.0.2.0/24'], ['-U', '-s', '192.0.2.0/24', '-m', '1'], ['-U', '-o', 'xml2'], ['-U', '-o', 'extended', '-d', '192.0.2.1', '-t', '1'],
  ['-U', '-m', 'abc', '-f', 'ipv4'], ['-U', '-m', '0x10/0xf0', '-d', '192.0.2.1'], ['-U', '-L'], ['-L', '-U'],
  ['-L', '-t', '5'], ['-D', '-t', '5'], ['-E', '-t', '5'], ['-F', '-t', '1'], ['-G', '-p', 'tcp', '-t', '5'], ['-C', '--timeout', '1'],
  // -m as strtoul reads it (no error), -u's names as 1.4.7 reads them: cut short, any case, negated, UNREPLIED, SRC_NAT ignored.
  ['-L', '-m', 'abc'], ['-L', '-m', '1/x'], ['-D', '-m', '-1/0x'], ['-L', '-u', 'FIXED_TIMEOUT'], ['-L', '-u', 'ass'], ['-L', '-u', 'S'], ['-L', '-u', 'S,ASSURED'],
  ['-L', '-u', 'FOO,ASSURED'], ['-L', '-u', 'ASSURED,FOO,SEEN_REPLY'], ['-L', '-u', 'UNREPLIED'], ['-L', '-u', '!ASSURED'], ['-L', '-u', 'ASSURED,'], ['-L', '-u', '!'],
  ['-L', '-u', '!,ASSURED'], ['-L', '-u', ',ASSURED'], ['-L', '-u', '!UNREPLIED'], ['-L', '-u', 'OFFLOAD,hw'], ['-D', '-u', 'UNSET'], ['-U', '-u', 'UNSET', '-f', 'ipv4'],
  ['-U', '-u', 'EXPECTED,S', '-f', 'ipv4'], ['-E', '-e', 'foo,new'], ['-E', '-e', 'NEW,', '-u', 'ASSURED'],
];

before(() => {
  requireRoot('conntrack against conntrack-tools');
  objs.addNetns(ns);
});
after(() => objs.cleanup());

test('conntrack help, version, options per command and the other tables: conntrack-tools\' words', () => {
  const ct = new Conntrack();
  const diffs: string[] = [];
  for (const argv of CASES) {
    const k = spawnSync('ip', ['netns', 'exec', ns, 'conntrack', ...argv], { encoding: 'utf8' });
    let d: { stdout: string; stderr: string; exit: number };
    try {
      d = conntrackTool(ct, 0, argv);
    } catch (e) {
      if (!(e instanceof ControlError)) throw e;
      d = { stdout: '', stderr: e.stderr, exit: e.exit };
    }
    // The kernel's per-CPU statistics lines are not the model's (one CPU); -S expect's fields are.
    const kOut = argv[0] === '-S' && k.stdout ? k.stdout.split('\n')[0]!.trimEnd() + '\n' : k.stdout;
    for (const [what, a, b] of [['stdout', kOut, d.stdout], ['stderr', k.stderr, d.stderr], ['exit', String(k.status), String(d.exit)]] as const) {
      if (a !== b) diffs.push(`conntrack ${argv.join(' ')}: ${what}: conntrack-tools ${JSON.stringify(a)}, dpemu ${JSON.stringify(b)}`);
    }
  }
  assert.deepEqual(diffs, [], diffs.join('\n'));
});
