// What a namespace sends itself, against the kernel: a namespace with a
// counting rule for ICMP in every chain of raw, mangle, nat and filter
// (and conntrack state rules) pings its own address, then an address
// nobody answers (ARP gives up: host unreachable from its own address to
// itself), then its own address with lo down. The kernel's ping and
// dpemu's ping socket in a model namespace do the same; the rule counters
// (iptables -nvxL), lo's (ip -s link show lo) and the tracked connections
// (conntrack -L) must agree: the echo request and reply, and the error,
// go through OUTPUT, POSTROUTING, lo, PREROUTING and INPUT, with the
// connection made in OUTPUT (NEW, then ESTABLISHED; the error RELATED),
// the nat table consulted only for the connection's first packet. Also a
// REJECT in INPUT of its own echo request, and the host unreachable for a
// request held on ARP, which carries the request's connection (nf_ct_attach)
// even when another packet went through meanwhile and raw OUTPUT says NOTRACK.
// And REJECT (each ICMP type) and DROP in OUTPUT: the error back through lo,
// sendto()'s EPERM, and what ping prints of them.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { requireRoot } from '../helpers/root.js';
import { requireTool } from '../helpers/tools.js';
import { Engine } from '../../src/datapath/engine.js';
import { ManualClock } from '../../src/datapath/clock.js';
import { NetNamespace } from '../../src/netns/namespace.js';
import type { PingItem } from '../../src/netns/ping-socket.js';
import { runCommand } from '../../src/netns/ip-text.js';
import { iptablesList } from '../../src/netfilter/index.js';
import { conntrackTool } from '../../src/control/conntrack-commands.js';
import { TABLE_NAMES } from '../../src/netfilter/constants.js';
import { ipToString, parseIpv4 } from '../../src/wire/addr.js';
import { icmpText } from '../../src/cli/ping-stats.js';
import { KernelObjects, sh, tryRun, uniqueTag } from './lab-names.js';

const tag = uniqueTag();
const k1 = `dpe-${tag}-l1`, k2 = `dpe-${tag}-l2`;
const objs = new KernelObjects();

const CHAINS: Record<string, string[]> = {
  raw: ['PREROUTING', 'OUTPUT'],
  mangle: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
  filter: ['INPUT', 'OUTPUT'],
};
/** Every rule, as iptables words after the table. */
const RULES: string[][] = [
  ...Object.entries(CHAINS).flatMap(([t, cs]) => cs.map((c) => ['-t', t, '-A', c, '-p', 'icmp'])),
  ...['RELATED', 'ESTABLISHED', 'NEW'].map((s) => ['-t', 'filter', '-A', 'INPUT', '-m', 'conntrack', '--ctstate', s]),
  ...['OUTPUT', 'POSTROUTING', 'PREROUTING'].map((c) => ['-t', 'mangle', '-A', c, '-m', 'conntrack', '--ctstate', 'RELATED']),
];

before(() => {
  requireRoot('a namespace pinging itself, against the kernel');
  requireTool('ping', 'iputils-ping');
  requireTool('conntrack', 'conntrack');
  for (const ns of [k1, k2]) {
    objs.addNetns(ns);
    sh('ip', ['netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
  }
  objs.veth(`dpe${tag}`, k1, 'dpe-a', k2, 'dpe-b');
  sh('ip', ['-n', k1, 'addr', 'add', '192.0.2.1/24', 'dev', 'dpe-a']);
  for (const r of RULES) sh('ip', ['netns', 'exec', k1, 'iptables', ...r]);
});

after(() => objs.cleanup());

/** Each rule's packet and byte counters, by table and chain, from `iptables -nvxL` text. */
function ruleCounters(text: string): string[] {
  const out: string[] = [];
  let chain = '';
  for (const l of text.split('\n')) {
    const c = /^Chain (\S+)/.exec(l);
    if (c) chain = c[1]!;
    const m = /^\s*(\d+)\s+(\d+)\s+\S*\s+(icmp|all|1|0)\s.*?(ctstate \S+)?\s*$/.exec(l);
    if (m) out.push(`${chain} ${m[1]} ${m[2]}${m[4] ? ` ${m[4]}` : ''}`);
  }
  return out;
}

/** conntrack -L's lines, sorted, without what differs between runs (timeouts, echo identifiers). */
const entries = (text: string): string[] =>
  text.split('\n').filter((l) => l.startsWith('icmp')).map((l) => l.replace(/^(icmp +1 )\d+/, '$1T').replace(/id=\d+/g, 'id=I')).sort();

/** lo's statistics lines. */
const loStats = (text: string): string => text.split('\n').slice(2).join('\n');

function model() {
  const clock = new ManualClock(0);
  const e = new Engine({ clock });
  const a = e.add(new NetNamespace('lab', 'k1'));
  a.addInterface('dpe-a', { addresses: [{ ip: parseIpv4('192.0.2.1')!, prefixLen: 24 }] });
  a.loadIptables(RULES.map((r) => `iptables ${r.join(' ')}`).join('\n'));
  const items: PingItem[] = [];
  /** ping -c COUNT ADDR: one request each (the clock standing still), then `waitMs` of ticks. */
  const ping = (dst: string, count: number, waitMs = 0): PingItem[] => {
    const { sock } = a.inet.openPing({ dst: parseIpv4(dst)! }, (it) => items.push(it));
    for (let seq = 1; seq <= count; seq++) a.inet.pingSend(sock, seq, 56);
    e.run();
    for (let t = 0; t < waitMs; t += 500) {
      clock.advance(500);
      e.tick();
      e.run();
    }
    a.inet.closePing(sock);
    return items.splice(0);
  };
  return { e, a, ping };
}

function compare(m: ReturnType<typeof model>, what: string): void {
  for (const t of TABLE_NAMES) {
    if (!CHAINS[t]) continue;
    const kernel = ruleCounters(sh('ip', ['netns', 'exec', k1, 'iptables', '-t', t, '-nvxL']));
    const ours = ruleCounters(iptablesList(m.a.nf.rules, t, { verbose: true, exact: true }));
    assert.equal(kernel.length, RULES.filter((r) => r[1] === t).length, `${what}: -t ${t} listed`);
    assert.deepEqual(ours, kernel, `${what}: -t ${t}`);
  }
  const lo = 'ip -s link show lo';
  assert.equal(loStats(runCommand(m.a.ns, lo, 0, { linkStats: (l) => m.a.linkStats(l) })), loStats(sh('ip', ['-n', k1, '-s', 'link', 'show', 'lo'])), `${what}: ${lo}`);
  const ct = tryRun('ip', ['netns', 'exec', k1, 'conntrack', '-L']).out;
  assert.deepEqual(entries(conntrackTool(m.a.nf.conntrack, m.e.now, ['-L']).stdout), entries(ct), `${what}: conntrack -L`);
}

test('pinging its own address, an address nobody answers, and itself with lo down: the same counters and connections as the kernel', { timeout: 30_000 }, () => {
  const m = model();

  sh('ip', ['netns', 'exec', k1, 'ping', '-n', '-q', '-c', '2', '-i', '0.2', '192.0.2.1']);
  const replies = m.ping('192.0.2.1', 2);
  assert.deepEqual(replies.map((r) => r.kind), ['reply', 'reply']);
  compare(m, 'ping 192.0.2.1');

  const k = tryRun('ip', ['netns', 'exec', k1, 'ping', '-n', '-c', '1', '-W', '5', '192.0.2.99']);
  assert.match(k.out, /From 192\.0\.2\.1 icmp_seq=1 Destination Host Unreachable/, k.out);
  const errs = m.ping('192.0.2.99', 1, 5000);
  assert.deepEqual(errs.map((r) => r.kind === 'error' && [r.from, r.type, r.code]), [[parseIpv4('192.0.2.1'), 3, 1]]);
  compare(m, 'ping 192.0.2.99');

  sh('ip', ['-n', k1, 'link', 'set', 'lo', 'down']);
  tryRun('ip', ['netns', 'exec', k1, 'ping', '-n', '-q', '-c', '1', '-W', '1', '192.0.2.1']);
  m.a.setLinkUp('lo', false);
  assert.deepEqual(m.ping('192.0.2.1', 1), []);
  compare(m, 'ping 192.0.2.1 with lo down');
});

test('REJECT in INPUT of its own echo request: port unreachable from its own address to itself, through lo, as in the kernel', { timeout: 30_000 }, () => {
  const k3 = objs.addNetns(`dpe-${tag}-l3`);
  const reject = [['-A', 'INPUT', '-p', 'icmp', '--icmp-type', 'echo-request', '-j', 'REJECT'], ['-A', 'INPUT', '-p', 'icmp']];
  objs.veth(`dpe${tag}c`, k3, 'dpe-c', k3, 'dpe-d');
  sh('ip', ['-n', k3, 'addr', 'add', '192.0.2.1/24', 'dev', 'dpe-c']);
  for (const r of reject) sh('ip', ['netns', 'exec', k3, 'iptables', ...r]);
  const k = tryRun('ip', ['netns', 'exec', k3, 'ping', '-n', '-c', '1', '-W', '1', '192.0.2.1']);
  assert.match(k.out, /From 192\.0\.2\.1 icmp_seq=1 Destination Port Unreachable/, k.out);

  const e = new Engine({ clock: new ManualClock(0) });
  const a = e.add(new NetNamespace('lab', 'k3'));
  a.addInterface('dpe-c', { addresses: [{ ip: parseIpv4('192.0.2.1')!, prefixLen: 24 }] });
  a.loadIptables(reject.map((r) => `iptables ${r.join(' ')}`).join('\n'));
  const items: PingItem[] = [];
  const { sock } = a.inet.openPing({ dst: parseIpv4('192.0.2.1')! }, (it) => items.push(it));
  a.inet.pingSend(sock, 1, 56);
  e.run();
  assert.deepEqual(items.map((r) => r.kind === 'error' && [r.from, r.type, r.code]), [[parseIpv4('192.0.2.1'), 3, 3]]);
  const kernel = ruleCounters(sh('ip', ['netns', 'exec', k3, 'iptables', '-nvxL', 'INPUT']));
  assert.deepEqual(kernel, ['INPUT 1 84', 'INPUT 1 112']);
  assert.deepEqual(ruleCounters(iptablesList(a.nf.rules, 'filter', { verbose: true, exact: true, chain: 'INPUT' })), kernel);
  assert.equal(loStats(runCommand(a.ns, 'ip -s link show lo', 0, { linkStats: (l) => a.linkStats(l) })), loStats(sh('ip', ['-n', k3, '-s', 'link', 'show', 'lo'])));
});

test('the host unreachable for a held echo request carries its connection: RELATED although raw OUTPUT says NOTRACK, as in the kernel', { timeout: 30_000 }, () => {
  const k4 = objs.addNetns(`dpe-${tag}-l4`);
  const rules = [
    ['-t', 'raw', '-A', 'OUTPUT', '-p', 'icmp', '--icmp-type', 'destination-unreachable', '-j', 'CT', '--notrack'],
    ...['RELATED', 'UNTRACKED'].flatMap((s) => [['-t', 'mangle', '-A', 'OUTPUT', '-m', 'conntrack', '--ctstate', s], ['-t', 'filter', '-A', 'INPUT', '-m', 'conntrack', '--ctstate', s]]),
  ];
  objs.veth(`dpe${tag}e`, k4, 'dpe-e', k4, 'dpe-f');
  sh('ip', ['-n', k4, 'addr', 'add', '192.0.2.1/24', 'dev', 'dpe-e']);
  for (const r of rules) sh('ip', ['netns', 'exec', k4, 'iptables', ...r]);
  // While ARP asks, another packet (a ping to its own address) goes through the stack.
  const k = tryRun('ip', ['netns', 'exec', k4, 'sh', '-c', 'ping -n -c 1 -W 5 192.0.2.99 & sleep 1; ping -n -q -c 1 192.0.2.1 >/dev/null; wait']);
  assert.match(k.out, /From 192\.0\.2\.1 icmp_seq=1 Destination Host Unreachable/, k.out);

  const clock = new ManualClock(0);
  const e = new Engine({ clock });
  const a = e.add(new NetNamespace('lab', 'k4'));
  a.addInterface('dpe-e', { addresses: [{ ip: parseIpv4('192.0.2.1')!, prefixLen: 24 }] });
  a.loadIptables(rules.map((r) => `iptables ${r.join(' ')}`).join('\n'));
  const items: PingItem[] = [];
  const { sock } = a.inet.openPing({ dst: parseIpv4('192.0.2.99')! }, (it) => items.push(it));
  a.inet.pingSend(sock, 1, 56);
  for (let t = 0; t < 5000; t += 500) {
    clock.advance(500);
    e.tick();
    e.run();
    if (t === 500) {
      const own = a.inet.openPing({ dst: parseIpv4('192.0.2.1')! }, () => {});
      a.inet.pingSend(own.sock, 1, 56);
      e.run();
      a.inet.closePing(own.sock);
    }
  }
  assert.deepEqual(items.map((r) => r.kind === 'error' && [r.from, r.type, r.code]), [[parseIpv4('192.0.2.1'), 3, 1]]);
  for (const t of ['raw', 'mangle', 'filter'] as const) {
    const kernel = ruleCounters(sh('ip', ['netns', 'exec', k4, 'iptables', '-t', t, '-nvxL']));
    assert.equal(kernel.length, rules.filter((r) => r[1] === t).length, `-t ${t} listed`);
    assert.deepEqual(ruleCounters(iptablesList(a.nf.rules, t, { verbose: true, exact: true })), kernel, `-t ${t}`);
  }
});

test('REJECT and DROP in OUTPUT of its own echo requests: the error back through lo, sendto() EPERM, the counters as in the kernel', { timeout: 60_000 }, () => {
  const k5 = objs.addNetns(`dpe-${tag}-l5`);
  const echo = ['-p', 'icmp', '--icmp-type', 'echo-request'];
  const rules = [
    ['-A', 'INPUT', '-p', 'icmp'],
    ['-A', 'OUTPUT', '-d', '192.0.2.9', ...echo, '-j', 'REJECT'],
    ...['icmp-net-unreachable', 'icmp-host-unreachable', 'icmp-admin-prohibited'].map((w, i) => ['-A', 'OUTPUT', '-d', `192.0.2.${10 + i}`, ...echo, '-j', 'REJECT', '--reject-with', w]),
    ['-A', 'OUTPUT', '-d', '192.0.2.13', ...echo, '-j', 'DROP'],
    // Its own address: the error (from that address, to it) is rejected by the same rule; an error about an error is never sent.
    ['-A', 'OUTPUT', '-d', '192.0.2.1', '-p', 'icmp', '-j', 'REJECT'],
  ];
  objs.veth(`dpe${tag}g`, k5, 'dpe-g', k5, 'dpe-h');
  sh('ip', ['-n', k5, 'addr', 'add', '192.0.2.1/24', 'dev', 'dpe-g']);
  sh('ip', ['-n', k5, 'link', 'set', 'lo', 'up']);
  for (const r of rules) sh('ip', ['netns', 'exec', k5, 'iptables', ...r]);

  const e = new Engine({ clock: new ManualClock(0) });
  const a = e.add(new NetNamespace('lab', 'k5'));
  a.addInterface('dpe-g', { addresses: [{ ip: parseIpv4('192.0.2.1')!, prefixLen: 24 }] });
  a.loadIptables(rules.map((r) => `iptables ${r.join(' ')}`).join('\n'));
  const dsts = ['192.0.2.9', '192.0.2.10', '192.0.2.11', '192.0.2.12', '192.0.2.13', '192.0.2.1'];
  for (const dst of dsts) {
    const k = tryRun('ip', ['netns', 'exec', k5, 'ping', '-n', '-c', '2', '-i', '0.2', '-W', '1', dst]);
    const items: PingItem[] = [];
    const { sock } = a.inet.openPing({ dst: parseIpv4(dst)! }, (it) => items.push(it));
    for (let seq = 1; seq <= 2; seq++) a.inet.pingSend(sock, seq, 56);
    e.run();
    a.inet.closePing(sock);
    // Each request's sendto() fails (ip_local_out: -EPERM), after the error it made, if any, reached the socket:
    // ping names the errno only then (the error is the one taken just before, src/cli/ping.ts).
    const ours = items.map((it) =>
      it.kind === 'error' ? `From ${ipToString(it.from)} icmp_seq=${it.seq} ${icmpText(it.type, it.code, it.info)}` : it.kind === 'senderr' ? `senderr ${it.seq} ${it.message}` : 'reply');
    const froms = k.out.split('\n').filter((l) => l.startsWith('From '));
    const said = k.out.split('\n').filter((l) => l === 'ping: sendmsg: Operation not permitted').length;
    const want = [1, 2].flatMap((seq) => [...froms.filter((l) => l.includes(` icmp_seq=${seq} `)), `senderr ${seq} Operation not permitted`]);
    assert.deepEqual(ours, want, `ping ${dst}:\n${k.out}`);
    assert.equal(said, froms.length, k.out);
  }
  for (const chain of ['INPUT', 'OUTPUT']) {
    const kernel = ruleCounters(sh('ip', ['netns', 'exec', k5, 'iptables', '-nvxL', chain]));
    assert.deepEqual(ruleCounters(iptablesList(a.nf.rules, 'filter', { verbose: true, exact: true, chain })), kernel, chain);
  }
  assert.equal(loStats(runCommand(a.ns, 'ip -s link show lo', 0, { linkStats: (l) => a.linkStats(l) })), loStats(sh('ip', ['-n', k5, '-s', 'link', 'show', 'lo'])));
});
