// IPv6 in a topology file: interface addresses (installed as `ip -6 addr add
// ... nodad`), `routes6` (`ip -6 route show table all` output, the kernel's
// own routes recognised) and `rules6` (`ip -6 rule` output, the whole list),
// as the control commands list them; a ping -6 between two namespaces so
// configured, through a rule and a route of a table of its own; and the
// errors of bad lines with their file positions, a broken file giving no model.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadTopologyText } from '../../src/topology/loader.js';
import { formatError } from '../../src/topology/errors.js';
import { buildEmulator, type Emulator } from '../../src/topology/builder.js';
import { ManualClock } from '../../src/datapath/clock.js';
import { COMMANDS } from '../../src/control/registry.js';
import { openPing, type PingEvent } from '../../src/control/ping.js';

const FILE = 'v6.yaml';

/** Two namespaces on a veth; a reaches b's 2001:db8:9::2 only through rule 100 and table 100. */
const TOPOLOGY = `
version: 1
name: dpe-topo-v6
nodes:
  n1:
    veths:
      - [a0, b0]
    namespaces:
      a:
        interfaces:
          a0: { mac: '02:00:5e:00:53:0a', addresses: [192.0.2.1/24, 2001:db8:7::1/64] }
        routes6: |
          2001:db8:9::/64 via 2001:db8:7::2 dev a0 table 100 metric 1024 pref medium
          2001:db8:7::/64 dev a0 proto kernel metric 256 pref medium
          fe80::/64 dev a0 proto kernel metric 256 pref medium
          local ::1 dev lo table local proto kernel metric 0 pref medium
          anycast 2001:db8:7:: dev a0 table local proto kernel metric 0 pref medium
          local 2001:db8:7::1 dev a0 table local proto kernel metric 0 pref medium
          anycast fe80:: dev a0 table local proto kernel metric 0 pref medium
          local fe80::5eff:fe00:530a dev a0 table local proto kernel metric 0 pref medium
          multicast ff00::/8 dev a0 table local proto kernel metric 256 pref medium
        rules6: |
          0:	from all lookup local
          100:	from 2001:db8:7::/64 lookup 100
          32766:	from all lookup main
      b:
        interfaces:
          b0: { mac: '02:00:5e:00:53:0b', addresses: [2001:db8:7::2/64, 2001:db8:9::2/64] }
`;

/** The topology with \`from\` replaced by \`to\` (exactly one occurrence). */
function mutate(from: string, to: string): string {
  assert.equal(TOPOLOGY.split(from).length, 2, from);
  return TOPOLOGY.replace(from, to);
}

/** 1-based line:col of the last `needle` in `text`. */
function at(text: string, needle: string): string {
  const i = text.lastIndexOf(needle);
  assert.ok(i >= 0, needle);
  const before = text.slice(0, i).split('\n');
  return `${before.length}:${before.at(-1)!.length + 1}`;
}

function build(): Emulator {
  const loaded = loadTopologyText(TOPOLOGY, FILE);
  if (!loaded.ok) throw new Error(loaded.errors.map(formatError).join('\n'));
  return buildEmulator(loaded.topology, { clock: new ManualClock(1000) });
}

async function ip(emu: Emulator, ns: string, args: string[]): Promise<string> {
  const r = await COMMANDS.get('ip')!.run({ emu, invalidate: () => {} }, ['-n', ns, 'n1', ...args]);
  assert.equal(r.exit, 0, r.stderr);
  return r.stdout;
}

test('IPv6 addresses, routes6 and rules6 of a topology: ip -6 addr, ip -6 route show table all, ip -6 rule', async () => {
  const emu = build();
  const addr = await ip(emu, 'a', ['-6', 'addr', 'show', 'dev', 'a0']);
  assert.match(addr, /\n {4}inet6 2001:db8:7::1\/64 scope global nodad \n {7}valid_lft forever preferred_lft forever\n/, addr);
  assert.doesNotMatch(addr, /tentative/, 'no DAD');
  const addrB = await ip(emu, 'b', ['-6', 'addr', 'show', 'dev', 'b0']);
  // The kernel lists the last added first.
  assert.match(addrB, /inet6 2001:db8:9::2\/64 scope global nodad [^]*inet6 2001:db8:7::2\/64 scope global nodad /, addrB);
  // The block is what `ip -6 route show table all` prints: pasted back, the same listing (the kernel's own routes not added twice).
  const block = /routes6: \|\n([^]*?)\n {8}rules6/.exec(TOPOLOGY)![1]!.replace(/^ {10}/gm, '');
  assert.equal(await ip(emu, 'a', ['-6', 'route', 'show', 'table', 'all']), `${block}\n`);
  assert.equal(await ip(emu, 'b', ['-6', 'route', 'show', 'table', '100']).catch((e: Error) => e.message), 'Error: ipv6: FIB table does not exist.\nDump terminated\n');
  assert.equal(await ip(emu, 'a', ['-6', 'rule']), '0:\tfrom all lookup local\n100:\tfrom 2001:db8:7::/64 lookup 100\n32766:\tfrom all lookup main\n');
  assert.equal(await ip(emu, 'a', ['rule']), '0:\tfrom all lookup local\n32766:\tfrom all lookup main\n32767:\tfrom all lookup default\n', 'IPv4 rules untouched');
  assert.match(await ip(emu, 'a', ['-4', 'addr', 'show', 'dev', 'a0']), /inet 192\.0\.2\.1\/24 brd 192\.0\.2\.255 scope global a0/);
});

test('ping -6 between two namespaces configured by the file: through rule 100 and table 100', () => {
  const emu = build();
  const events: PingEvent[] = [];
  const s = openPing({ emu }, { node: 'n1', ns: 'a', dst: '2001:db8:9::2', size: 56 } as never, { defer: (fn) => fn() }, (e) => events.push(...e));
  assert.equal(s.source, '2001:db8:7::1');
  s.send(1);
  s.send(2);
  assert.deepEqual(events.map((e) => e.kind), ['reply', 'reply'], JSON.stringify(events));
  s.stop();
});

function errorsOf(text: string): string[] {
  const r = loadTopologyText(text, FILE);
  assert.equal(r.ok, false);
  if (!r.ok) assert.equal(r.topology, null);
  return r.errors.map(formatError);
}

const A = '/nodes/n1/namespaces/a';

test('bad IPv6 lines: file, line, column and what was expected; a broken file gives no model', () => {
  const cases: [string, string, string, string][] = [
    ['via 2001:db8:7::2 dev a0 table 100', 'via 2001:db8:7::zz dev a0 table 100', '2001:db8:7::zz', `routes6: expected an IPv6 address after "via", got "2001:db8:7::zz"`],
    ['via 2001:db8:7::2 dev a0 table 100', 'via 2001:db8:8::2 dev a0 table 100', '2001:db8:9::/64 via 2001:db8:8::2', 'routes6: expected a route the kernel accepts (it would say: RTNETLINK answers: No route to host)'],
    ['via 2001:db8:7::2 dev a0 table 100', 'via 2001:db8:7::2 dev a9 table 100', 'a9', 'routes6: no interface "a9" in namespace a; did you mean "a0"?'],
    ['1024 pref medium', '1024 pref high', 'high', 'routes6: expected "pref medium" (router preferences are not emulated), got "high"'],
    ['2001:db8:7::/64 dev a0 proto kernel', '2001:db8:6::/64 dev a0 proto kernel', '2001:db8:6::/64', 'routes6: expected a proto kernel route that an address of the namespace makes (the kernel makes its own routes)'],
    ['100:\tfrom 2001:db8:7::/64 lookup 100', '100:\tfrom 2001:db8:7::/64 lookp 100', 'lookp', "rules6: unknown keyword 'lookp' (did you mean 'lookup'?)"],
    ['100:\tfrom 2001:db8:7::/64 lookup 100', '100:\tfrom 2001:db8:7::/644 lookup 100', '2001:db8:7::/644', "rules6: invalid prefix '2001:db8:7::/644'"],
    ['32766:\tfrom all lookup main', '100:\tfrom 2001:db8:7::/64 lookup 100', '100:\tfrom 2001:db8:7::/64 lookup 100\n', 'rules6: expected a rule the kernel accepts (it would say: RTNETLINK answers: File exists)'],
    ['2001:db8:7::1/64]', '2001:db8:7::1::1/64]', '2001:db8:7::1::1', 'interfaces/a0/addresses/1: expected an IPv6 address with prefix length like 2001:db8:7::1/64, got "2001:db8:7::1::1/64"'],
  ];
  for (const [from, to, where, message] of cases) {
    const t = mutate(from, to);
    // The first error is the line's (an address missing makes the kernel's routes of it missing too).
    assert.equal(errorsOf(t)[0], `${FILE}:${at(t, where)}: at ${A}/${message}`, to);
  }
});

test('an IPv6 line in the IPv4 blocks: where IPv6 lines go', () => {
  const t = mutate('        rules6: |', '        routes: |\n          2001:db8:8::/64 via 2001:db8:7::2 dev a0\n        rules: |\n          0:\tfrom 2001:db8::/32 lookup local\n        rules6: |');
  assert.deepEqual(errorsOf(t), [
    `${FILE}:${at(t, '2001:db8:8::/64 via')}: at ${A}/routes: invalid prefix '2001:db8:8::/64' (IPv6 lines go in \`routes6\`)`,
    `${FILE}:${at(t, '2001:db8::/32')}: at ${A}/rules: invalid prefix '2001:db8::/32' (IPv6 lines go in \`rules6\`)`,
  ]);
});

test('an IPv6 route type dpemu does not emulate, and a duplicate IPv6 address', () => {
  let t = mutate('2001:db8:9::/64 via 2001:db8:7::2 dev a0 table 100 metric 1024 pref medium', 'blackhole 2001:db8:9::/64 dev lo table 100 metric 1024 pref medium');
  assert.deepEqual(errorsOf(t), [`${FILE}:${at(t, 'blackhole')}: at ${A}/routes6: IPv6 blackhole routes are not emulated`]);
  t = mutate('2001:db8:9::2/64]', '2001:DB8:7:0::2/64]');
  assert.deepEqual(errorsOf(t), [`${FILE}:${at(t, '2001:DB8')}: at /nodes/n1/namespaces/b/interfaces/b0/addresses/1: duplicate address 2001:DB8:7:0::2/64 (the kernel would say: File exists)`]);
});
