// `ip route get` against the real kernel: one namespace in the kernel and one
// in dpemu's model get the same addresses, rules, routes and sysctls (a DVR
// qrouter's shape: a policy rule to table 3232235777, error routes, a fwmark
// rule), then both answer the same questions, input (iif) and output, and
// must print the same text (and the same `ip -j [-p]` JSON), or fail with
// the same message.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { requireRoot } from '../helpers/root.js';
import { Netns } from '../../src/netns/netns.js';
import { runCommand, runCommands } from '../../src/netns/ip-text.js';
import { KernelObjects, sh, tryRun, uniqueTag } from './lab-names.js';

const tag = uniqueTag();
const ns = `dpe-${tag}-rg`;
const objs = new KernelObjects();
// Interfaces carrying addresses; each is one end of a veth whose peer stays in the namespace.
const DEVS = ['dpe-a', 'dpe-c', 'dpe-e'];
const SETUP = `ip addr add 192.168.1.1/24 brd + dev dpe-a
ip addr add 169.254.106.114/31 dev dpe-c
ip addr add 198.51.100.200/32 brd 198.51.100.200 dev dpe-c
ip addr add 10.1.0.1/24 brd + dev dpe-e
ip rule add from 192.168.1.0/24 table 3232235777 priority 3232235777
ip rule add fwmark 0x20 table 100 priority 100
ip route add default via 169.254.106.115 dev dpe-c table 3232235777
ip route add 10.50.0.0/16 via 10.1.0.254
ip route add 10.60.0.0/16 via 10.1.0.254 src 10.1.0.1
ip route add prohibit 10.66.0.0/16
ip route add blackhole 10.77.0.0/16
ip route add unreachable 10.88.0.0/16
ip route add 10.99.0.0/16 via 10.1.0.254 table 100`;
const SYSCTLS: [string, number][] = [
  ['net.ipv4.ip_forward', 1],
  ['net.ipv4.conf.all.rp_filter', 0],
  ...DEVS.map((d): [string, number] => [`net.ipv4.conf.${d}.rp_filter`, 0]),
];

const QUERIES = [
  '8.8.8.8',
  '8.8.8.8 from 192.168.1.7 iif dpe-a',
  '8.8.8.8 from 192.168.1.1',
  '8.8.8.8 oif dpe-a',
  '192.168.1.1',
  '192.168.1.1 from 192.168.1.7 iif dpe-a',
  '10.1.0.1 from 192.168.1.7 iif dpe-a',
  '169.254.106.115',
  '198.51.100.200',
  '198.51.100.200 from 192.168.1.7 iif dpe-a',
  '192.168.1.255',
  '192.168.1.9 from 192.168.1.7 iif dpe-a',
  '10.50.1.1',
  '10.60.1.1',
  '10.50.1.1 from 192.168.1.7 iif dpe-a',
  '10.50.1.1 from 10.1.0.9 iif dpe-e',
  '10.66.1.1',
  '10.77.1.1',
  '10.88.1.1',
  '10.88.1.1 from 10.1.0.9 iif dpe-e',
  '10.99.1.1 mark 0x20',
  '10.99.1.1 mark 32 from 10.1.0.9 iif dpe-e',
  '10.1.0.9 from 127.0.0.1 iif dpe-a',
  '10.1.0.255 from 10.1.0.9 iif dpe-e',
  '8.8.8.8 from 10.9.9.9',
  'to 10.1.0.9 from 192.168.1.7 iif dpe-a tos 0x10',
  '8.8.8.8 from 192.168.1.7 iif dpe-a oif dpe-e',
  '10.50.1.1 oif dpe-c',
  '10.50.1.1 mark 5',
  '10.50.1.1 mark 5 from 10.1.0.9 iif dpe-e',
  '300.1.1.1',
  '10.50.1.1 from 10.1.0.300',
];

const model = new Netns();

before(() => {
  requireRoot('ip route get against the kernel');
  objs.addNetns(ns);
  for (const d of DEVS) {
    const peer = d.replace(/.$/, (c) => String.fromCharCode(c.charCodeAt(0) + 1));
    objs.veth(`dpe${tag}${d.slice(-1)}`, ns, d, ns, peer);
    model.addLink({ name: d, kind: 'ether', mac: DEVS.indexOf(d) + 1, up: true });
  }
  for (const [k, v] of SYSCTLS) {
    sh('ip', ['netns', 'exec', ns, 'sysctl', '-qw', `${k}=${v}`]);
    model.setSysctl(k, v);
  }
  for (const line of SETUP.split('\n')) sh('ip', ['-n', ns, ...line.split(' ').slice(1)]);
  runCommands(model, SETUP);
});

after(() => objs.cleanup());

test('ip route get prints what the kernel prints, as text, on one line (-o) and as ip -j [-p] prints it', () => {
  const diffs: string[] = [];
  for (const q of QUERIES) {
    for (const opts of [[], ['-o'], ['-j'], ['-j', '-p'], ['-oneline', '-j']]) {
      const k = tryRun('ip', ['-n', ns, ...opts, 'route', 'get', ...q.split(' ')]);
      let ours: string;
      try {
        ours = runCommand(model, `ip ${opts.join(' ')} route get ${q}`);
      } catch (e) {
        ours = `${(e as Error).message}\n`;
      }
      if (ours !== k.out) diffs.push(`ip ${opts.join(' ')} route get ${q}\n  kernel: ${JSON.stringify(k.out)}\n  dpemu:  ${JSON.stringify(ours)}`);
    }
  }
  assert.deepEqual(diffs, [], diffs.join('\n'));
});

test('nothing of ours is left in the kernel', () => {
  objs.cleanup();
  assert.deepEqual(KernelObjects.leftovers(tag), []);
});
