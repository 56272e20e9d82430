// conntrack -U's pieces without a kernel: the numbers read as glibc's strtoul
// and atol read them (the C library itself, through python3's ctypes, is the
// oracle), and the table's update (ctnetlink's order: timeout, status, mark;
// EXPECTED refused with the timeout kept; one UPDATE event naming the process,
// with the mark). Against the kernel with traffic: conntrack-kernel.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { atolU32, strtoulU32 } from '../../src/control/c-numbers.js';
import { conntrackTool } from '../../src/control/conntrack-commands.js';
import { Conntrack, conntrackEventText, EBUSY, HOOK_PREROUTING, VERDICT_ACCEPT } from '../../src/netfilter/index.js';
import { IPS_ASSURED, IPS_EXPECTED, IPS_FIXED_TIMEOUT, IPS_OFFLOAD } from '../../src/netfilter/constants.js';
import { info, udp } from './netfilter-helpers.js';

const INPUTS = [
  '0', '5', '  42', '+7', '-1', '-0x10', '0x10', '0X1f', '0x', '0xg', '010', '08', '09x', '4294967295', '4294967296', '0x1ffffffff',
  '18446744073709551615', '18446744073709551616', '99999999999999999999999', 'abc', '', '12/34', '0x30/0xf0', ' \t-5', '--5', '+-5', '1e3',
];

test('strtoul(base 0) and atol as glibc reads them, cast to 32 bits', () => {
  const py = `
import ctypes, json, sys
libc = ctypes.CDLL(None)
libc.strtoul.restype = ctypes.c_ulong
libc.strtoul.argtypes = [ctypes.c_char_p, ctypes.POINTER(ctypes.c_char_p), ctypes.c_int]
libc.atol.restype = ctypes.c_long
libc.atol.argtypes = [ctypes.c_char_p]
out = []
for s in json.load(sys.stdin):
    b = s.encode()
    end = ctypes.c_char_p()
    v = libc.strtoul(b, ctypes.byref(end), 0)
    rest = end.value.decode() if end.value is not None else ''
    out.append([v & 0xffffffff, rest, libc.atol(b) & 0xffffffff])
print(json.dumps(out))`;
  const r = spawnSync('python3', ['-c', py], { input: JSON.stringify(INPUTS), encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const libc = JSON.parse(r.stdout) as [number, string, number][];
  INPUTS.forEach((s, i) => {
    const [value, rest, atol] = libc[i]!;
    assert.deepEqual(strtoulU32(s), { value, rest }, `strtoul(${JSON.stringify(s)})`);
    assert.equal(atolU32(s), atol, `atol(${JSON.stringify(s)})`);
  });
});

/** A table with one confirmed UDP entry 192.0.2.7:1000 -> 203.0.113.10:53, and its listener's lines. */
function oneEntry(): { ct: Conntrack; lines: string[]; slot: number } {
  const ct = new Conntrack();
  const lines: string[] = [];
  ct.listen((type, e, now, portid, mark) => lines.push(conntrackEventText(ct, type, e, now, portid, {}, mark)));
  const p = info(udp('192.0.2.7', '203.0.113.10', 1000, 53, new Uint8Array(8)), 'eth0', 'eth1');
  assert.equal(ct.in(p, HOOK_PREROUTING, 0), VERDICT_ACCEPT);
  ct.confirm(p, 0);
  return { ct, lines, slot: ct.list()[0]!.slot };
}

test('Conntrack.update: timeout, status bits added (the kernel\'s own ignored), mark; one UPDATE naming the process, with the mark', () => {
  const { ct, lines, slot } = oneEntry();
  assert.equal(ct.update(slot, { timeout: 100, status: IPS_ASSURED | IPS_OFFLOAD | IPS_FIXED_TIMEOUT, mark: 0 }, 1000, 4242), 0);
  const e = ct.entry(slot);
  assert.equal(e.deadline, 101_000);
  assert.equal(e.status & (IPS_ASSURED | IPS_OFFLOAD | IPS_FIXED_TIMEOUT), IPS_ASSURED | IPS_FIXED_TIMEOUT);
  assert.equal(lines.at(-1), ' [UPDATE] udp      17 100 src=192.0.2.7 dst=203.0.113.10 sport=1000 dport=53 [UNREPLIED] src=203.0.113.10 dst=192.0.2.7 sport=53 dport=1000 [ASSURED] mark=0 [USERSPACE] portid=4242 progname=conntrack');
  // A fixed timeout is not refreshed by the next packet.
  const p = info(udp('192.0.2.7', '203.0.113.10', 1000, 53, new Uint8Array(8)), 'eth0', 'eth1');
  assert.equal(ct.in(p, HOOK_PREROUTING, 2000), VERDICT_ACCEPT);
  assert.equal(ct.entry(slot).deadline, 101_000);
});

test('Conntrack.update: EXPECTED is refused (EBUSY) after the timeout is set; the mark stays, no event', () => {
  const { ct, lines, slot } = oneEntry();
  const n = lines.length;
  assert.equal(ct.update(slot, { timeout: 77, status: IPS_EXPECTED, mark: 9 }, 0, 1), EBUSY);
  assert.equal(ct.entry(slot).deadline, 77_000);
  assert.equal(ct.entry(slot).mark, 0);
  assert.equal(ct.entry(slot).status & IPS_EXPECTED, 0);
  assert.equal(lines.length, n);
});

test('conntrack -U: (mark & ~MASK) ^ VALUE, unchanged entries skipped, no family refused, -t 0 reaps', () => {
  const { ct } = oneEntry();
  const run = (...argv: string[]) => {
    const { stdout, stderr, exit } = conntrackTool(ct, 0, argv);
    return { stdout, stderr, exit };
  };
  const set = run('-U', '-s', '192.0.2.7', '-m', '0x35/0xf0');
  assert.equal(set.exit, 0);
  // The value is not masked: all its bits flip the mark's.
  assert.match(set.stdout, / mark=53 use=2\n$/);
  assert.equal(set.stderr, 'conntrack v1.4.7 (conntrack-tools): 1 flow entries have been updated.\n');
  assert.deepEqual(run('-U', '-f', 'ipv4', '-m', '0x35/0xff'), { stdout: '', stderr: 'conntrack v1.4.7 (conntrack-tools): 0 flow entries have been updated.\n', exit: 1 });
  assert.deepEqual(run('-U', '-p', 'udp', '-m', '1'), {
    stdout: '', exit: 1,
    stderr: 'Operation failed: Operation not supported\nconntrack v1.4.7 (conntrack-tools): Operation failed: Operation not supported\n',
  });
  assert.equal(ct.list()[0]!.mark, 53);
  assert.deepEqual(run('-U', '-f', 'ipv4', '-t', '0'), { stdout: '', stderr: 'conntrack v1.4.7 (conntrack-tools): 0 flow entries have been updated.\n', exit: 1 });
  assert.equal(ct.list().length, 0);
});
