// IPv6 policy routing against the kernel's (Linux 6.18, iproute2 6.1): a
// kernel namespace with two veths (ra, rb; their peers in a spare
// namespace) and dpemu's twin of it (the same names and MACs, IPv6 on,
// forwarding on as Neutron leaves a router, no DAD), the same addresses.
// The same `ip -6 rule` and `ip -6 route` words run on both in turn must
// print the same on stdout and stderr with the same exit status, and leave
// the same `ip -6 rule` and `ip -6 route show table all` listings: rules
// added, listed, selected, deleted and flushed (the defaults, even their
// own deletion), the kernel's refusals; routes in tables of their own; and
// `ip -6 route get` (from, iif, oif, mark) through the rules, their
// actions and suppress_prefixlength.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { requireRoot } from '../helpers/root.js';
import { loadTopologyText } from '../../src/topology/loader.js';
import { buildEmulator, type Emulator } from '../../src/topology/builder.js';
import { COMMANDS } from '../../src/control/registry.js';
import { ControlError } from '../../src/control/protocol.js';
import { KernelObjects, sh, tryRun, uniqueTag } from './lab-names.js';

const tag = uniqueTag();
const objs = new KernelObjects();
const K = `dpe-${tag}-r6`, SPARE = `dpe-${tag}-h6`;
const MAC = { ra: '02:00:5e:00:53:0a', rb: '02:00:5e:00:53:0b' };

const TOPOLOGY = `
version: 1
name: dpe-rule6
nodes:
  n1:
    role: network
    veths:
      - [ra, ha]
      - [rb, hb]
    namespaces:
      r6:
        sysctls: { net.ipv6.conf.all.disable_ipv6: 0, net.ipv6.conf.default.disable_ipv6: 0, net.ipv6.conf.all.accept_dad: 0, net.ipv6.conf.default.accept_dad: 0 }
        interfaces:
          ra: { mac: '${MAC.ra}' }
          rb: { mac: '${MAC.rb}' }
      h6:
        interfaces:
          ha: { mac: 02:00:5e:00:53:1a }
          hb: { mac: 02:00:5e:00:53:1b }
`;

let emu: Emulator;

before(() => {
  requireRoot('IPv6 rules against the kernel');
  const loaded = loadTopologyText(TOPOLOGY, 'rule6.yaml');
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
  emu = buildEmulator(loaded.topology);
  objs.addNetns(K);
  objs.addNetns(SPARE);
  // As dpemu's namespace: forwarding on (Neutron's), no DAD (its addresses are there at once); the far ends send nothing.
  sh('ip', ['netns', 'exec', K, 'sysctl', '-qw', 'net.ipv6.conf.all.forwarding=1', 'net.ipv6.conf.all.accept_dad=0', 'net.ipv6.conf.default.accept_dad=0']);
  sh('ip', ['netns', 'exec', SPARE, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
  objs.veth(`dpe${tag}a`, K, 'ra', SPARE, 'ha', { aMac: MAC.ra });
  objs.veth(`dpe${tag}b`, K, 'rb', SPARE, 'hb', { aMac: MAC.rb });
});

after(() => objs.cleanup());

async function dpemu(args: string[]): Promise<{ status: number; out: string }> {
  try {
    const r = await COMMANDS.get('ip')!.run({ emu, invalidate: () => {} }, ['-n', 'r6', 'n1', ...args]);
    return { status: r.exit, out: r.stdout + r.stderr };
  } catch (e) {
    if (!(e instanceof ControlError)) throw e;
    return { status: e.exit, out: e.stderr };
  }
}

const kernel = (args: string[]) => tryRun('ip', ['-n', K, ...args]);

/** Output, and the exit status unless 0, as one text to compare. */
const withStatus = (r: { status: number | null; out: string }) => (r.status === 0 ? r.out : `${r.out}(exit ${r.status})\n`);

/**
 * The listings after each write. fe80::/64 of ra and rb is left out: the
 * kernel lists the two devices' routes in the order their carriers came
 * (which of the veth pairs was made first), dpemu in the devices' order.
 */
const LISTINGS = [['-6', 'rule'], ['-6', 'route', 'show', 'table', 'all']];
const listed = (out: string) => out.split('\n').filter((l) => !l.startsWith('fe80::/64 ')).join('\n');

async function compare(lines: readonly string[]): Promise<string[]> {
  const diffs: string[] = [];
  for (const line of lines) {
    const args = line.split(' ');
    const k = withStatus(kernel(args)), d = withStatus(await dpemu(args));
    if (k !== d) diffs.push(`ip ${line}\n--- kernel\n${k}--- dpemu\n${d}`);
    if (!/ (add|del|flush|replace|set) /.test(` ${line} `)) continue;
    // The kernel adds an address's local and anycast routes from addrconf's work, which can run after ip returns.
    const added = /^-6 addr add (\S+)\/\d+ /.exec(line);
    for (let i = 0; added && i < 50 && !kernel(['-6', 'route', 'show', 'table', 'local']).out.includes(`local ${added[1]} `); i++) await new Promise((r) => setTimeout(r, 100));
    for (const l of LISTINGS) {
      const kl = listed(withStatus(kernel(l))), dl = listed(withStatus(await dpemu(l)));
      if (kl !== dl) diffs.push(`ip ${l.join(' ')} after ip ${line}\n--- kernel\n${kl}--- dpemu\n${dl}`);
    }
  }
  return diffs;
}

const ADDRESSES = ['-6 addr add 2001:db8:a::1/64 dev ra nodad', '-6 addr add 2001:db8:b::1/64 dev rb nodad'];

test('ip -6 rule: the defaults, add, show with selectors, del and flush as the kernel', async () => {
  const diffs = await compare([
    '-6 rule', '-6 rule show', '-6 -d rule', '-6 -j rule', '-6 rule list table main',
    // Adds: a priority of the kernel's choosing (one below the second rule's), every selector and action, the same again.
    '-6 rule add from 2001:db8::/32 lookup 100', '-6 rule add from 2001:db8::1/32 lookup 6 pref 200', '-6 rule add from 2001:db8::1/32 lookup 6 pref 200',
    '-6 rule add to 2001:db8:1::/48 iif lo fwmark 0x5/0xff pref 100 table 200', '-6 rule add oif dpe-nosuch lookup 300', '-6 rule add not from 2001:db8:2::1 prohibit',
    '-6 rule add from all lookup main suppress_prefixlength 0 pref 50', '-6 rule add goto 200 pref 10', '-6 rule add blackhole pref 20', '-6 rule add unreachable pref 21',
    '-6 rule add tos 0x10 lookup 5', '-6 rule add to 2001:db8::/32 dsfield 0x20 lookup 5', '-6 rule add to 2001:db8:3::/48 realms 4 lookup 5',
    '-6 rule add ipproto tcp dport 80-90 sport 5 uidrange 1-2 lookup 7', '-6 rule add from 2001:db8::/32 lookup 100 pref 32767',
    // Refusals: a backward goto, ECN bits, table 0, an IPv4 prefix under -6, an IPv6 one to IPv4's rules.
    '-6 rule add goto 5 pref 10', '-6 rule add tos 0x11 lookup 5', '-6 rule add lookup 0', '-6 rule add from 10.0.0.1 lookup 5',
    'rule add from 2001:db8::/32 lookup 5', 'rule add to 2001:db8::/32 lookup 5', 'rule',
    '-6 rule', '-6 -d rule', '-6 -j rule', '-6 -j -p rule show pref 100',
    // Selectors (filter_nlmsg): a prefix selects the rules whose own is as long or longer and within it.
    '-6 rule show from 2001:db8::/16', '-6 rule show from 2001:db8::/32', '-6 rule show from 2001:db8::7', '-6 rule show from all', '-6 rule show 2001:db8::/32',
    '-6 rule show to 2001:db8:1:2::/64', '-6 rule show to 2001:db8::/16', '-6 rule show from 192.0.2.0/24', '-6 rule show table 100', '-6 rule show lookup main',
    '-6 rule show pref 100', '-6 rule show iif lo', '-6 rule show oif dpe-nosuch', '-6 rule show fwmark 0x5', '-6 rule show not', '-6 rule show ipproto tcp', '-6 rule show dport 80-90',
    // Deletes: the fields given must match (the address as given, host bits too).
    '-6 rule del from 2001:db8::/32 lookup 6', '-6 rule del from 2001:db8::1/32 lookup 6', '-6 rule del pref 5000', '-6 rule del table 100', '-6 rule del table 100',
    '-6 rule del to 2001:db8:1::/48', '-6 rule del goto 200', '-6 rule del prohibit', '-6 rule del fwmark 0x5/0xff',
    // A flush deletes what its selector lists (the protocol too), in both families.
    '-6 rule add lookup 9 pref 5', '-6 rule add lookup 10 pref 6', '-6 rule add lookup 9 pref 7 protocol static', '-6 rule flush table 9 protocol static',
    '-6 rule flush table 9', '-6 -j rule flush to 2001:db8::/16', '-6 rule flush from 192.0.2.0/24', 'rule add lookup 9 pref 5', 'rule add from 192.0.2.0/24 lookup 9 pref 6',
    'rule flush from 192.0.2.0/24', 'rule', 'rule flush table 9', 'rule', 'rule flush protocol nosuch',
    // A flush spares priority 0; the defaults themselves go and come back as any rule.
    // The default's twin of another protocol is no duplicate (rule_exists compares the protocol).
    '-6 rule add pref 0 lookup local', '-6 -d rule show pref 0', '-6 rule del pref 0 protocol kernel', '-6 rule show pref 0',
    '-6 rule add iif lo lookup 9 pref 400', '-6 rule add fwmark 3 nop pref 401', '-6 rule add pref 0 lookup 9', '-6 rule flush', '-6 rule', 'rule',
    '-6 rule del pref 0', '-6 rule del pref 0', '-6 rule add pref 0 lookup local', '-6 rule add lookup main', '-6 rule add from all lookup main', '-6 rule del pref 0 lookup main',
    '-6 rule del pref 1', '-6 rule add pref 32766 lookup main',
  ]);
  assert.deepEqual(diffs, []);
});

test('ip -6 route in tables of its own, and ip -6 route get through the rules, as the kernel', async () => {
  const diffs = await compare([
    ...ADDRESSES,
    // A table exists from its first route, or a rule that looks it up.
    '-6 route show table 100', '-6 rule add lookup 101 pref 5', '-6 route show table 101', '-6 -j route show table 101', '-6 rule del pref 5', '-6 route show table 102',
    '-6 route add 2001:db8:5::/48 via 2001:db8:a::2 table 100', '-6 route add 2001:db8:5::/48 dev rb table 100 metric 5', '-6 route add default via 2001:db8:b::2 table 100',
    '-6 route add 2001:db8:6::/48 via 2001:db8:9::2 table 100', '-6 route add 2001:db8:6::/48 via 2001:db8:9::2 dev ra table 100', '-6 route add 2001:db8:7::/48 dev ra table 3232235777',
    '-6 route add 2001:db8:5::/48 dev rb table 100 metric 5', '-6 route add 2001:db8:8::/48 dev ra table foo',
    '-6 route show table 100', '-6 route', '-6 -j route show table 3232235777', '-6 route show table 100 dev rb', '-6 route show table all 2001:db8:5::/48',
    // Without a rule for them: main and local only.
    '-6 route get 2001:db8:5::1', '-6 rule add to 2001:db8:5::/48 lookup 100 pref 100',
    '-6 route get 2001:db8:5::1', '-6 route get 2001:db8:5::1 from 2001:db8:b::1', '-6 route get 2001:db8:5::1 iif ra', '-6 route get 2001:db8:5::1 iif ra from 2001:db8:a::2',
    '-6 route get 2001:db8:5::1 oif rb', '-6 route get 2001:db8:5::1 mark 4', '-6 -j route get 2001:db8:5::1', 'route get 2001:db8:5::1',
    // A mark's rule, to a table above 2^31; a source's rule; the rules' actions.
    '-6 rule add fwmark 4 lookup 3232235777 pref 50', '-6 route get 2001:db8:7::1 mark 4', '-6 route get 2001:db8:7::1',
    '-6 rule add from 2001:db8:b::1 lookup 3232235777 pref 60', '-6 route get 2001:db8:7::1 from 2001:db8:b::1', '-6 route get 2001:db8:7::1 iif ra from 2001:db8:b::1', '-6 route get 2001:db8:7::1 iif ra',
    '-6 rule add from 2001:db8:b::1 blackhole pref 40', '-6 route get 2001:db8:7::1 from 2001:db8:b::1',
    '-6 rule add from 2001:db8:b::1 prohibit pref 39', '-6 route get 2001:db8:7::1 from 2001:db8:b::1',
    '-6 rule add from 2001:db8:b::1 unreachable pref 38', '-6 route get 2001:db8:7::1 from 2001:db8:b::1', '-6 route get 2001:db8:7::1 from 2001:db8:b::1 iif ra',
    '-6 rule add iif ra unreachable pref 37', '-6 route get 2001:db8:5::1 iif ra', '-6 route get 2001:db8:5::1',
    '-6 rule add oif rb prohibit pref 36', '-6 route get 2001:db8:5::1 oif rb', '-6 route get 2001:db8:5::1 oif ra',
    '-6 rule del pref 36', '-6 rule del pref 37', '-6 rule del pref 38', '-6 rule del pref 39', '-6 rule del pref 40', '-6 route get 2001:db8:7::1 from 2001:db8:b::1',
    // From a source, oif selects rules but no route (the lookup is not strict on it); from none it is.
    '-6 route add 2001:db8:44::/48 dev rb', '-6 route get 2001:db8:44::1 oif ra', '-6 route get 2001:db8:44::1 from 2001:db8:b::1 oif ra', '-6 route del 2001:db8:44::/48',
    // suppress_prefixlength: table 100's default is refused, its /48 taken; a goto and a nop on the way.
    '-6 rule add lookup 100 suppress_prefixlength 0 pref 30', '-6 route get 2001:db8:42::1', '-6 route get 2001:db8:5::1',
    '-6 rule add to 2001:db8:42::/48 goto 35 pref 20', '-6 rule add nop pref 35', '-6 rule add lookup 100 pref 36', '-6 route get 2001:db8:42::1', '-6 route get 2001:db8:43::1',
    // Routes of a table deleted and replaced; a table never made; a device going down takes its routes from every table.
    '-6 route del 2001:db8:5::/48 table 100 metric 5', '-6 route replace 2001:db8:5::/48 dev rb table 100', '-6 route del 2001:db8:5::/48 table 102', '-6 route del 2001:db8:9::/48 table 100',
    '-6 route get 2001:db8:5::1', 'link set rb down', '-6 route show table 100', '-6 route get 2001:db8:5::1', 'link set rb up', '-6 route show table 100',
  ]);
  assert.deepEqual(diffs, []);
});
