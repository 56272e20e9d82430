// ifconfig DEV up|down|mtu (net-tools 2.10) against the kernel: a kernel
// namespace and an emulated one built alike (a veth dpe-g with 192.0.2.1/24
// and an alias address 192.0.2.9/24 labelled dpe-g:1, lo up, no IPv6), then
// the same words run in both, in turn, must print the same on stdout and
// stderr with the same exit status, and leave the same `ifconfig dpe-g`,
// addresses and `ip route` after each.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { requireRoot } from '../helpers/root.js';
import { Engine } from '../../src/datapath/engine.js';
import { ManualClock } from '../../src/datapath/clock.js';
import { NetNamespace } from '../../src/netns/namespace.js';
import { runCommand } from '../../src/netns/ip-text.js';
import { parseIpv4, parseMacNum } from '../../src/wire/addr.js';
import { runIfconfig } from '../../src/control/ifconfig-commands.js';
import { KernelObjects, NO_DNS, sh, uniqueTag } from './lab-names.js';

const tag = uniqueTag();
const k1 = `dpe-${tag}-i1`;
const k2 = `dpe-${tag}-i2`;
const objs = new KernelObjects();
let el: NetNamespace;
let now: () => number;

before(() => {
  requireRoot('ifconfig writes against the kernel');
  for (const ns of [k1, k2]) {
    objs.addNetns(ns);
    sh('ip', ['netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
  }
  objs.veth(`dpe${tag}i`, k1, 'dpe-g', k2, 'dpe-h');
  sh('ip', ['-n', k1, 'addr', 'add', '192.0.2.1/24', 'brd', '+', 'dev', 'dpe-g']);
  const mac = /link\/ether (\S+)/.exec(sh('ip', ['-n', k1, 'link', 'show', 'dpe-g']))![1]!;
  const e = new Engine({ clock: new ManualClock(0) });
  el = e.add(new NetNamespace('lab', k1));
  const peer = e.add(new NetNamespace('lab', k2));
  for (const x of [el, peer]) for (const k of ['all', 'default']) x.ns.setSysctl(`net.ipv6.conf.${k}.disable_ipv6`, 1);
  const pa = el.addInterface('dpe-g', { mac: parseMacNum(mac)!, addresses: [{ ip: parseIpv4('192.0.2.1')!, prefixLen: 24 }] });
  e.link(pa, peer.addInterface('dpe-h'), 'veth');
  const alias = 'addr add 192.0.2.9/24 brd + label dpe-g:1 dev dpe-g';
  sh('ip', ['-n', k1, ...alias.split(' ')]);
  runCommand(el.ns, alias, e.now);
  now = () => e.now;
});

after(() => objs.cleanup());

type Out = { stdout: string; stderr: string; status: number | null };

function kernel(args: string[]): Out {
  const r = spawnSync('ip', ['netns', 'exec', k1, 'sh', '-c', NO_DNS.replace('iptables-legacy', 'ifconfig'), 'sh', ...args], { encoding: 'utf8', timeout: 20_000 });
  return { stdout: r.stdout, stderr: r.stderr, status: r.status };
}
function dpemu(args: string[]): Out {
  const r = runIfconfig(el, args);
  return { stdout: r.stdout, stderr: r.stderr, status: r.exit };
}

const WRITES = [
  'dpe-g down', 'dpe-g', 'dpe-g up', 'dpe-g inet down', 'dpe-g up down', 'dpe-g down up', '-v dpe-g up',
  'dpe-g mtu 1400', 'dpe-g mtu 68', 'dpe-g mtu 67', 'dpe-g mtu 70000', 'dpe-g mtu x', 'dpe-g mtu 1500 up', 'dpe-g mtu 0x500', 'dpe-g mtu', 'dpe-g down mtu',
  'dpe-g up', 'nosuch up', 'nosuch mtu 1400', 'nosuch up mtu 1400', 'nosuch mtu 1400 down', 'dpe-g mtu 10 up', 'dpe-g mtu 1500',
  'dpe-g:1 up', 'dpe-g:2 down', 'dpe-g:2 inet6 up', 'dpe-g:2 inet6 down', 'dpe-g:2 mtu 1450', 'dpe-g:1 down', 'dpe-g:1 down', 'dpe-g:1 mtu 1500',
];

test('ifconfig DEV up, down and mtu change the device as SIOCSIFFLAGS and SIOCSIFMTU do in the kernel', () => {
  const diffs: string[] = [];
  for (const line of WRITES) {
    const args = line.split(' ');
    const k = kernel(args), d = dpemu(args);
    if (JSON.stringify(k) !== JSON.stringify(d)) diffs.push(`ifconfig ${line}\n  kernel: ${JSON.stringify(k)}\n  dpemu:  ${JSON.stringify(d)}`);
    // dpemu's ifconfig lists no alias devices (dpe-g:1): the device, and its addresses as ip shows them.
    const ka = kernel(['dpe-g']), da = dpemu(['dpe-g']);
    if (JSON.stringify(ka) !== JSON.stringify(da)) diffs.push(`ifconfig dpe-g after ifconfig ${line}\n  kernel: ${JSON.stringify(ka)}\n  dpemu:  ${JSON.stringify(da)}`);
    const inet = (t: string) => t.split('\n').filter((l) => l.startsWith('    inet ')).join('\n');
    const kx = inet(sh('ip', ['-n', k1, 'addr', 'show', 'dev', 'dpe-g'])), dx = inet(runCommand(el.ns, 'addr show dev dpe-g', now()));
    if (kx !== dx) diffs.push(`ip addr after ifconfig ${line}\n  kernel: ${JSON.stringify(kx)}\n  dpemu:  ${JSON.stringify(dx)}`);
    const kr = sh('ip', ['-n', k1, 'route', 'show']), dr = runCommand(el.ns, 'route show', now());
    if (kr !== dr) diffs.push(`ip route after ifconfig ${line}\n  kernel: ${JSON.stringify(kr)}\n  dpemu:  ${JSON.stringify(dr)}`);
  }
  assert.deepEqual(diffs, [], diffs.join('\n'));
  // The alias's address went with `dpe-g:1 down`; the device is up with its MTU back.
  assert.doesNotMatch(sh('ip', ['-n', k1, 'addr', 'show', 'dpe-g']), /192\.0\.2\.9/);
  assert.match(kernel(['dpe-g']).stdout, /^dpe-g: flags=4163<UP,BROADCAST,RUNNING,MULTICAST>  mtu 1500\n/);
});
