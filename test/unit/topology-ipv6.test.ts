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
          2001:db8:7::/64 dev a0 proto kernel metric 256 pref medium
          2001:db8:9::/64 via 2001:db8:7::2 dev a0 table 100 metric 1024 pref medium
          local 2001:db8:7::1 dev a0 table local proto kernel metric 0 pref medium
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

/** 1-based line:col of `needle` in `text`. */
function at(text: string, needle: string): string {
  const i = text.indexOf(needle);
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
  const routes = await ip(emu, 'a', ['-6', 'route', 'show', 'table', 'all']);
  console.log(routes);
  assert.match(routes, /^2001:db8:9::\/64 via 2001:db8:7::2 dev a0 table 100 metric 1024 pref medium$/m, routes);
  assert.match(routes, /^2001:db8:7::\/64 dev a0 proto kernel metric 256 pref medium$/m, routes);
  assert.equal(routes.match(/^2001:db8:7::\/64 /gm)?.length, 1, 'the kernel route pasted is recognised, not added twice');
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

test('bad IPv6 lines: file, line, column and what was expected', () => {
  let t = mutate('via 2001:db8:7::2 dev a0 table 100', 'via 2001:db8:7::zz dev a0 table 100');
  console.log(errorsOf(t));
  t = mutate('metric 1024 pref medium', 'metric 1024 pref high');
  console.log(errorsOf(t));
  t = mutate('100:\tfrom 2001:db8:7::/64 lookup 100', '100:\tfrom 2001:db8:7::/64 lookp 100');
  console.log(errorsOf(t));
  t = mutate('via 2001:db8:7::2 dev a0 table 100', 'via 2001:db8:8::2 dev a0 table 100');
  console.log(errorsOf(t));
  t = mutate('via 2001:db8:7::2 dev a0 table 100', 'via 2001:db8:7::2 dev a9 table 100');
  console.log(errorsOf(t));
  t = mutate('2001:db8:7::/64 dev a0 proto kernel', '2001:db8:6::/64 dev a0 proto kernel');
  console.log(errorsOf(t));
  t = mutate('2001:db8:7::1/64]', '2001:db8:7::1::1/64]');
  console.log(errorsOf(t));
  t = mutate('2001:db8:7::1/64]', '2001:db8:7::1/129]');
  console.log(errorsOf(t));
  console.log(A, at);
});
