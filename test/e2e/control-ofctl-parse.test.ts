// `dpemu ofctl dump-flows` output of every bridge of the seed, fed to the
// real ovs-ofctl parser (Debian's openvswitch-common, no switch needed):
// every line must parse, and to the same flow dpemu holds.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runRemote } from '../../src/control/client.js';
import { parseFlow } from '../../src/ofproto/flow-parser.js';
import { formatFlow } from '../../src/ofproto/flow-printer.js';
import { OvsBridge } from '../../src/ofproto/bridge.js';
import { cli, startDaemon, type Daemon } from '../helpers/control.js';
import { requireTool } from '../helpers/tools.js';

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
