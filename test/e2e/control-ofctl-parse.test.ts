// `dpemu ofctl dump-flows` output of every bridge of the seed, fed to the
// real ovs-ofctl parser (Debian's openvswitch-common, no switch needed):
// every line must parse, and to the same flow dpemu holds.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runRemote } from '../../src/control/client.js';
import { FlowSyntaxError, parseFlow } from '../../src/ofproto/flow-parser.js';
import { formatFlow, formatMatch } from '../../src/ofproto/flow-printer.js';
import { OvsBridge } from '../../src/ofproto/bridge.js';
import { cli, startDaemon, type Daemon } from '../helpers/control.js';
import { requireTool } from '../helpers/tools.js';
import { mulberry32Unit } from '../../src/datapath/random.js';

let d: Daemon;
before(async () => {
  d = await startDaemon();
});
after(async () => {
  await d.stop();
});

/** ovs-ofctl's "ADD [table:N] MATCH cookie:C [idle:I] [hard:H] [flags] actions=A" back to flow syntax. */
function fromFlowMod(line: string): string {
  const m = /FLOW_MOD[^:]*: ADD (.*?) ?actions=(.*)$/.exec(line);
  assert.ok(m, `unexpected ovs-ofctl line: ${line}`);
  const parts: string[] = [];
  for (const w of m[1]!.split(' ').filter(Boolean)) {
    const kv = /^(table|cookie|idle|hard|importance):(.*)$/.exec(w);
    if (kv) parts.push(`${{ table: 'table', cookie: 'cookie', idle: 'idle_timeout', hard: 'hard_timeout', importance: 'importance' }[kv[1]!]}=${kv[2]}`);
    else parts.push(w);
  }
  return `${parts.join(',')} actions=${m[2]}`;
}

const canon = (text: string): string => formatFlow(parseFlow(text.trim()), { dialect: 'of10', stats: false });

test('every dump-flows line of every seed bridge parses in ovs-ofctl to the same flow', async () => {
  requireTool('ovs-ofctl', 'openvswitch-common');
  const bridges = d.emu.engine.elements.filter((e): e is OvsBridge => e instanceof OvsBridge);
  assert.ok(bridges.length >= 5);
  let checked = 0;
  for (const br of bridges) {
    const r = await runRemote({ socketPath: d.server.path }, 'ofctl', ['dump-flows', br.node, br.name]);
    assert.equal(r.exit, 0);
    const lines = r.stdout.split('\n').slice(1).filter(Boolean); // the NXST_FLOW header is the reply's, not a flow
    const file = join(d.dir, `${br.node}-${br.name}.flows`);
    writeFileSync(file, lines.join('\n') + '\n');
    const p = spawnSync('ovs-ofctl', ['parse-flows', file], { encoding: 'utf8' });
    assert.equal(p.status, 0, `ovs-ofctl rejected ${br.node}:${br.name}: ${p.stderr}`);
    const mods = p.stdout.split('\n').filter((l) => /FLOW_MOD/.test(l));
    assert.equal(mods.length, lines.length, `${br.node}:${br.name}: one flow_mod per line`);
    mods.forEach((mod, i) => {
      assert.equal(canon(fromFlowMod(mod)), canon(lines[i]!), `${br.node}:${br.name} line ${i + 1}:\n  dpemu: ${lines[i]}\n  ovs:   ${mod}`);
      checked++;
    });
  }
  assert.ok(checked > 40, `only ${checked} flows checked`);
});

test("add-flows FILE and - with a bad line: ovs-ofctl's `FILE:LINE: reason`, blank and comment lines counted, nothing added", async () => {
  requireTool('ovs-ofctl', 'openvswitch-common');
  const file = join(d.dir, 'bad.flows');
  const text = 'table=0,priority=3,dl_vlan=66,actions=drop\n\n# a comment\nfoo=1,actions=drop\n';
  writeFileSync(file, text);
  const real = spawnSync('ovs-ofctl', ['parse-flows', file], { encoding: 'utf8' });
  assert.equal(real.stderr, `ovs-ofctl: ${file}:4: unknown keyword foo\n`);
  const before = (await runRemote({ socketPath: d.server.path }, 'ofctl', ['dump-flows', 'w07', 'br-int', '--no-stats'])).stdout;
  const r = await cli(d.server.path, ['ofctl', 'add-flows', 'w07', 'br-int', file]);
  assert.deepEqual([r.code, r.stderr], [real.status, real.stderr]);
  const stdin = await cli(d.server.path, ['ofctl', 'add-flow', 'w07', 'br-int', '-'], { stdin: text });
  assert.deepEqual([stdin.code, stdin.stderr], [1, 'ovs-ofctl: -:4: unknown keyword foo\n']);
  assert.equal((await runRemote({ socketPath: d.server.path }, 'ofctl', ['dump-flows', 'w07', 'br-int', '--no-stats'])).stdout, before);
});

test('values ovs-ofctl reads leniently read alike: IPv4 octets scanned as %hhu, dl_vlan and dl_vlan_pcp keeping their low bits', () => {
  requireTool('ovs-ofctl', 'openvswitch-common');
  for (const flow of ['ip,nw_src=1.2.3.400 actions=drop', 'ip,nw_src=256.1.1.1 actions=drop', 'ip,nw_dst=1.2.3.-1 actions=drop', 'ip,nw_src=01.2.3.4 actions=drop',
    'ip,nw_src=1.2.3.4/255.255.300.0 actions=drop', 'arp,arp_spa=1.2.3.999,actions=drop', 'dl_vlan=5000,actions=drop', 'dl_vlan_pcp=9,actions=drop', 'dl_vlan=0xffff,actions=drop']) {
    const r = spawnSync('ovs-ofctl', ['parse-flow', flow], { encoding: 'utf8' });
    assert.equal(r.status, 0, `${flow}: ${r.stderr}`);
    assert.equal(canon(flow), canon(fromFlowMod(r.stdout.split('\n').find((l) => l.includes('FLOW_MOD'))!)), flow);
  }
  // And what both refuse.
  for (const flow of ['ip,nw_src=1.2.3 actions=drop', 'ip,nw_src=1.2.3.4x actions=drop', 'dl_vlan=70000,actions=drop']) {
    assert.notEqual(spawnSync('ovs-ofctl', ['parse-flow', flow], { encoding: 'utf8' }).status, 0, flow);
    assert.throws(() => parseFlow(flow), Error, flow);
  }
});

test('IPv6 and ND match fields parse, normalise and print as ovs-ofctl parse-flow does in OpenFlow 1.0 and 1.3; bad values are refused in its words', () => {
  requireTool('ovs-ofctl', 'openvswitch-common');
  const flows = [
    'ipv6,ipv6_src=2001:db8::/64,actions=drop', 'ipv6,ipv6_src=2001:db8::1,ipv6_dst=2001:DB8:0:0:1:0:0:1,actions=drop',
    'ipv6,ipv6_dst=2001:db8::1/ffff:ffff::,actions=drop', 'ipv6,ipv6_dst=2001:db8::1/ffff::ff,actions=drop', 'ipv6,ipv6_dst=2001:db8::1/+5,actions=drop',
    'ipv6,ipv6_dst=2001:db8::1/0,actions=drop', 'ipv6,ipv6_dst=::1/fe5::,actions=drop', 'ipv6,ipv6_dst=::1/::1,actions=drop', 'ipv6,ipv6_dst=2001:db8::1/127,actions=drop', 'ipv6,ipv6_dst=2001:db8::1/128,actions=drop',
    'ipv6,ipv6_src=::,ipv6_dst=::ffff:192.0.2.1,actions=drop', 'ipv6,ipv6_src=::192.0.2.1,ipv6_dst=1:0:0:0:0:0:0:0,actions=drop',
    'ipv6,ipv6_label=0x5,actions=drop', 'ipv6,ipv6_label=0x12345/0xf0000,actions=drop', 'ipv6,ipv6_label=0x12345/0xfffff,actions=drop', 'ipv6,ipv6_label=5/0,actions=drop',
    'tcp6,ipv6_src=2001:db8::1,tp_dst=80,nw_tos=8,nw_ttl=3,ipv6_label=7,actions=drop',
    'icmp6,in_port=1,icmp_type=136,nd_target=2001:db8::5,actions=resubmit(,58)', 'icmp6,icmp_type=135,nd_sll=00:11:22:33:44:55/ff:ff:ff:00:00:00,nd_target=fe80::1/ffff::,actions=drop',
    'icmp6,icmp_type=136,nd_tll=fa:16:3e:00:00:01,nd_target=fe80::/10,actions=drop', 'icmp6,icmp_type=136,icmp_code=0,nd_target=::1,actions=drop',
    // Normalised away: no IPv6, no ND message, the other message's link-layer address, a code other than 0.
    'ipv6_src=2001:db8::1,actions=drop', 'ip,ipv6_dst=::1,actions=drop', 'icmp6,nd_target=2001:db8::5,actions=drop', 'ipv6,nd_target=::1,actions=drop',
    'icmp6,icmp_type=135,nd_tll=00:11:22:33:44:55,actions=drop', 'icmp6,icmp_type=136,nd_sll=00:11:22:33:44:55,actions=drop',
    'icmp6,icmp_type=128,nd_sll=00:11:22:33:44:55,actions=drop', 'udp6,nd_tll=00:11:22:33:44:55,actions=drop', 'icmp6,icmp_type=136,icmp_code=1,nd_target=::1,actions=drop',
  ];
  for (const flow of flows) {
    for (const v of [[], ['-O', 'OpenFlow13']]) {
      const r = spawnSync('ovs-ofctl', [...v, 'parse-flow', flow], { encoding: 'utf8' });
      assert.equal(r.status, 0, `${flow}: ${r.stderr}`);
      const mod = /FLOW_MOD[^:]*: ADD (?:(.*?) )?actions=/.exec(r.stdout);
      assert.ok(mod, r.stdout);
      let warned = false;
      const ours = parseFlow(flow, { onWarning: () => (warned = true) });
      assert.equal(formatMatch(ours.match, ours.priority), mod[1] ?? '', `${v.join(' ')} ${flow}`);
      assert.equal(warned, r.stderr.includes('normalization changed ofp_match'), `${flow}: the normalisation warning`);
    }
  }
  for (const flow of ['ipv6,ipv6_src=2001:db8::/129,actions=drop', 'ipv6,ipv6_src=zz,actions=drop', 'ipv6,ipv6_dst=2001:db8::1/64x,actions=drop',
    'ipv6,ipv6_dst=2001:db8::1/-1,actions=drop', 'ipv6,ipv6_dst=1.2.3.4,actions=drop', 'ipv6,ipv6_dst=2001:db8::1/,actions=drop', 'ipv6,ipv6_dst=2001:db8::1/zz,actions=drop',
    'ipv6,ipv6_dst=2001:db8::1%eth0,actions=drop', 'ipv6,ipv6_dst=::1/3fe5::,actions=drop', 'ipv6,ipv6_dst=::1/1234::,actions=drop', 'ipv6,ipv6_dst=::1/1.2.3.4,actions=drop', 'ipv6,ipv6_dst=2001:0db8:0000::00001,actions=drop', 'icmp6,icmp_type=135,nd_target=fe80::1::2,actions=drop',
    'icmp6,icmp_type=135,nd_sll=00:11:22:33:44,actions=drop', 'ipv6,ipv6_label=0x1000000000,actions=drop']) {
    const r = spawnSync('ovs-ofctl', ['parse-flow', flow], { encoding: 'utf8' });
    assert.notEqual(r.status, 0, flow);
    let detail = '';
    try {
      parseFlow(flow);
    } catch (e) {
      assert.ok(e instanceof FlowSyntaxError, String(e));
      detail = e.detail;
    }
    assert.equal(`ovs-ofctl: ${detail}\n`, r.stderr, flow);
  }
});

test('300 random IPv6 and ND matches (addresses with runs of zeros, prefixes 0 to 128, arbitrary masks, labels) print as ovs-ofctl parse-flows prints them', () => {
  requireTool('ovs-ofctl', 'openvswitch-common');
  const rnd = mulberry32Unit(0x6f76);
  const int = (n: number): number => Math.floor(rnd() * n);
  // Groups mostly zero or small, so inet_ntop's :: compression and its ::a.b.c.d forms come up.
  const addr = (lead = -1): string => {
    const g = Array.from({ length: 8 }, () => (rnd() < 0.5 ? 0 : rnd() < 0.5 ? int(16) : int(0x10000)));
    if (rnd() < 0.1) g.splice(0, 6, 0, 0, 0, 0, 0, rnd() < 0.5 ? 0xffff : 0);
    if (lead >= 0) g[0] = lead;
    return g.map((x) => x.toString(16)).join(':');
  };
  // A mask address beginning with a digit would be read as a prefix length (refused above): a-f first.
  const masked = (): string => {
    const k = rnd();
    if (k < 0.3) return addr();
    if (k < 0.8) return `${addr()}/${int(129)}`;
    return `${addr()}/${addr(0xa000 + int(0x6000))}`;
  };
  const mac = (): string => Array.from({ length: 6 }, () => int(256).toString(16).padStart(2, '0')).join(':');
  const lines: string[] = [];
  for (let i = 0; i < 300; i++) {
    const f: string[] = [];
    if (rnd() < 0.5) {
      f.push(rnd() < 0.5 ? 'ipv6' : 'tcp6', `ipv6_src=${masked()}`);
      if (rnd() < 0.7) f.push(`ipv6_dst=${masked()}`);
      if (rnd() < 0.5) f.push(`ipv6_label=0x${int(0x100000).toString(16)}${rnd() < 0.5 ? `/0x${int(0x100000).toString(16)}` : ''}`);
    } else {
      const type = rnd() < 0.5 ? 135 : 136;
      f.push('icmp6', `icmp_type=${type}`, `nd_target=${masked()}`);
      if (rnd() < 0.6) f.push(`${type === 135 ? 'nd_sll' : 'nd_tll'}=${mac()}${rnd() < 0.3 ? `/${mac()}` : ''}`);
      if (rnd() < 0.3) f.push(`ipv6_dst=${masked()}`);
    }
    lines.push(`${f.join(',')},actions=drop`);
  }
  const file = join(d.dir, 'ipv6.flows');
  writeFileSync(file, lines.join('\n') + '\n');
  const p = spawnSync('ovs-ofctl', ['parse-flows', file], { encoding: 'utf8' });
  assert.equal(p.status, 0, p.stderr);
  const mods = [...p.stdout.matchAll(/FLOW_MOD[^:]*: ADD (?:(.*?) )?actions=/g)].map((m) => m[1] ?? '');
  assert.equal(mods.length, lines.length);
  lines.forEach((l, i) => assert.equal(formatMatch(parseFlow(l).match), mods[i], l));
});
