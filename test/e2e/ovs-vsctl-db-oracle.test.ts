// `dpemu vsctl list/find/get` held to ovs-vsctl 3.1 on a real ovs-vswitchd
// (dummy datapath, test/helpers/ovs.ts) with the same bridges and ports as
// the seed's nodes: every column of the Open_vSwitch, Bridge, Port and
// Interface rows, the output formats, the find conditions and the errors.
//
// What is compared as the same text after each side's UUIDs are named by
// their rows (a Port's interfaces, a Bridge's ports must point at the same
// rows) and OVS 2.5's quoting (dpemu's) is undone. Left out, with why:
// - the dummy datapath's own values: mac_in_use and datapath_id (its MACs),
//   mtu, status, duplex, link_speed and statistics' keys (a dummy netdev is
//   no veth, internal or tunnel device), the dummy datapath and interface
//   types, datapath_version;
// - what the test's setup makes differ: ofport_request (set here to get the
//   seed's ofports), ovs_version and db_version (ovs-ctl writes them, and
//   dpemu's node runs the write-up's 2.5.5), cur_cfg/next_cfg (a count of
//   this database's reconfigurations), ifindex (a dummy netdev is no kernel
//   device; dpemu's are the root namespace view's, control-root-netns.test.ts).
// dpemu quotes strings as OVS 2.5 did (any with a digit), which widens its
// table columns: tables are compared word by word.
// The order of rows is ovsdb's hash order of their UUIDs, random in the real
// switch: records and table lines are compared sorted.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { buildEmulator, type Emulator } from '../../src/topology/builder.js';
import { loadTopologyOrThrow } from '../../src/topology/loader.js';
import { ofctl, vsctl } from '../../src/control/ovs-commands.js';
import { ControlError, type CommandResponse } from '../../src/control/protocol.js';
import { OvsBridge } from '../../src/ofproto/bridge.js';
import { RealOvs } from '../helpers/ovs.js';
import { requireRoot } from '../helpers/root.js';

const SEED = 'configs/seed-dvr-snat.yaml';
const TABLES = ['Open_vSwitch', 'Bridge', 'Port', 'Interface'];

let emu: Emulator;
let ovs: RealOvs | null = null;

before(() => {
  requireRoot('a real ovs-vswitchd');
  emu = buildEmulator(loadTopologyOrThrow(SEED));
});
after(() => {
  ovs?.stop();
});

interface Answer {
  exit: number | null;
  stdout: string;
  stderr: string;
}

const bridgesOf = (node: string): OvsBridge[] =>
  emu.engine.elements.filter((e): e is OvsBridge => e instanceof OvsBridge && e.node === node);

function real(o: RealOvs, args: string[]): Answer {
  const r = spawnSync('ovs-vsctl', [`--db=unix:${o.dir}/db.sock`, ...args], { encoding: 'utf8' });
  return { exit: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** ovs-vsctl's global options that take the next word as their value. */
const VALUED = new Set(['-t', '--timeout', '-f', '--format', '-d', '--data', '--columns']);

/** ovs-vsctl's words as dpemu takes them: NODE after each command's name. */
function withNode(node: string, args: readonly string[]): string[] {
  const out: string[] = [];
  let i = 0;
  for (; i < args.length && args[i]!.startsWith('-') && args[i] !== '--'; i++) {
    out.push(args[i]!);
    if (VALUED.has(args[i]!) && i + 1 < args.length) out.push(args[++i]!);
  }
  let named = false;
  for (; i < args.length; i++) {
    out.push(args[i]!);
    if (args[i] === '--') named = false;
    else if (!named && !args[i]!.startsWith('-')) {
      out.push(node);
      named = true;
    }
  }
  return out;
}

/** dpemu's answer to the same words. */
function ours(node: string, args: string[]): Answer {
  try {
    const r = vsctl.run({ emu, invalidate: () => {} }, withNode(node, args)) as CommandResponse;
    return { exit: r.exit, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    if (!(e instanceof ControlError)) throw e;
    return { exit: e.exit, stdout: '', stderr: e.stderr };
  }
}

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;

/** Each UUID of a side's database -> the row it names, "<Table:name>". */
function rowNames(ask: (args: string[]) => Answer): Map<string, string> {
  const names = new Map<string, string>();
  for (const t of TABLES) {
    const cols = t === 'Open_vSwitch' ? '_uuid' : '_uuid,name';
    const out = ask(['--bare', `--columns=${cols}`, 'list', t]).stdout.trim();
    for (const rec of out.split('\n\n')) {
      const [uuid, name] = rec.split('\n');
      if (uuid) names.set(uuid, `<${t}:${name ?? '.'}>`);
    }
  }
  return names;
}

/** Masked columns (see the head of this file), per table. */
const MASKED: Record<string, string[]> = {
  Open_vSwitch: ['cur_cfg', 'next_cfg', 'db_version', 'ovs_version'],
  Bridge: ['datapath_id', 'datapath_version'],
  Port: [],
  Interface: ['mac_in_use', 'ifindex', 'statistics', 'status', 'duplex', 'link_speed', 'mtu', 'ofport_request'],
};
const DUMMY_TYPES = ['dummy', 'dummy-internal', 'dummy-pmd'];

/** One side's answer in the words both share: rows named, 2.5's quotes undone, masked columns starred, rows sorted. */
function norm(a: Answer, names: Map<string, string>, table: string | undefined, format: string | undefined): Answer {
  // (JSON has no such quoting; a CSV cell of a quoted string doubles its quotes.)
  let t = a.stdout.replace(UUID, (u) => names.get(u) ?? u);
  // HTML names a row's link by its UUID's first 8 digits.
  if (format === 'html') t = t.replace(/(<a (?:name|href)="#?<[^<>]+>">)[0-9a-f]{8}</g, '$1*<').replace(/&quot;([A-Za-z_][A-Za-z0-9_.-]*)&quot;/g, '$1');
  if (format !== 'json') t = t.replace(/"""([A-Za-z_][A-Za-z0-9_.-]*)"""|"([A-Za-z_][A-Za-z0-9_.-]*)"/g, '$1$2');
  // A set of references is in UUID order: in the rows' names' order once named.
  t = t.replace(/<[^<>\n]+>(?:(, | )<[^<>\n]+>)+/g, (m, sep: string) => m.split(sep).sort().join(sep));
  t = t.replace(/^((?:datapath_types|iface_types) *: \[)(.*)\]$/gm, (_m, head: string, v: string) =>
    `${head}${v.split(', ').filter((x) => !DUMMY_TYPES.includes(x)).join(', ')}]`);
  for (const c of MASKED[table ?? ''] ?? []) t = t.replace(new RegExp(`^(${c} *: ).*$`, 'gm'), '$1*');
  // (A bare empty cell is an empty line too: such records are compared line by line.)
  if (format === 'lines') t = t.split('\n').sort().join('\n');
  else if (format === undefined) t = t.split('\n\n').map((r) => r.trimEnd()).sort().join('\n\n');
  else if (format === 'table') {
    // Column widths follow the cells, wider in dpemu where 2.5 quoted a name: compared as words.
    const lines = t.split('\n').map((l) => l.replace(/ +/g, ' ').replace(/-+/g, '-'));
    const heads = lines[1]?.startsWith('-') ? 2 : 0;
    t = [...lines.slice(0, heads), ...lines.slice(heads).sort()].join('\n');
  } else if (format === 'csv') {
    const lines = t.split('\n');
    t = [lines[0], ...lines.slice(1).sort()].join('\n');
  } else if (format === 'json' && a.exit === 0) {
    const j = JSON.parse(t) as { data: unknown[] };
    j.data = j.data.map((r) => JSON.stringify(r)).sort();
    t = JSON.stringify(j);
  }
  return { ...a, stdout: t };
}

/** The seed's down ports (its LOCAL ports) down in the real switch too, once ovs-vswitchd has written so. */
async function downAsDpemu(o: RealOvs, node: string): Promise<void> {
  let down = 0;
  for (const br of bridgesOf(node)) {
    for (const d of br.portsDesc()) {
      if (d.up) continue;
      down++;
      o.ofctl('mod-port', br.name, d.name, 'down');
      o.appctl(['netdev-dummy/set-admin-state', d.name, 'down']);
    }
  }
  const count = (): number => real(o, ['--bare', '--columns=name', 'find', 'Interface', 'link_state=down', 'admin_state=down']).stdout.split('\n').filter(Boolean).length;
  for (let i = 0; i < 100 && count() !== down; i++) await new Promise((r) => setTimeout(r, 100));
  assert.equal(count(), down, `${node}: the real switch's down ports`);
}

test('vsctl list, find and get print every column of the Open_vSwitch, Bridge, Port and Interface rows as ovs-vsctl 3.1 does, in each format, with its errors', async () => {
  ovs?.stop();
  const o = (ovs = RealOvs.start());
  let compared = 0;
  for (const node of ['w07', 'w02']) {
    for (const br of bridgesOf(node)) {
      o.addBridge(br);
      // The write-up's br-ex has no fail_mode (standalone by default).
      if (!br.failModeColumn) o.vsctl(['clear', 'bridge', br.name, 'fail_mode']);
    }
    await downAsDpemu(o, node);
    const realNames = rowNames((a) => real(o, a)), ourNames = rowNames((a) => ours(node, a));
    assert.equal(ourNames.size, realNames.size, `${node}: rows`);
    const ports = bridgesOf(node).flatMap((b) => b.portsDesc().map((d) => d.name));
    const patch = bridgesOf(node).flatMap((b) => b.portList).find((p) => p.type === 'patch')!.name;
    const vxlan = bridgesOf(node).flatMap((b) => b.portList).find((p) => p.type === 'vxlan')!;
    const tagged = bridgesOf(node).flatMap((b) => b.portList).find((p) => p.tag !== undefined)!;
    // [table or undefined, format or undefined, ...words]
    const cases: [string | undefined, string | undefined, ...string[]][] = [];
    for (const t of TABLES) cases.push([t, undefined, 'list', t]);
    cases.push(['Open_vSwitch', undefined, 'list', 'open_vswitch', '.']);
    for (const b of bridgesOf(node)) cases.push(['Bridge', undefined, 'list', 'Bridge', b.name], [undefined, undefined, 'get', 'Bridge', b.name, 'ports', 'fail_mode', 'protocols', 'controller', 'stp_enable', 'other_config']);
    for (const p of ports) {
      cases.push(['Port', undefined, 'list', 'Port', p], ['Interface', undefined, 'list', 'interface', p]);
      cases.push([undefined, undefined, 'get', 'Port', p, 'interfaces', 'tag', 'trunks', 'vlan_mode', 'external_ids', 'bond_mode', 'lacp']);
      cases.push([undefined, undefined, 'get', 'Interface', p, 'name', 'type', 'ofport', 'options', 'admin_state', 'link_state', 'external_ids', 'error', 'mac', 'bfd']);
    }
    cases.push(
      [undefined, undefined, 'get', 'Open_vSwitch', '.', 'bridges', 'external_ids', 'manager_options', 'ssl', 'dpdk_initialized'],
      ['Interface', undefined, 'list', 'Interface', patch, vxlan.name],
      ['Interface', undefined, '--if-exists', 'list', 'Interface', 'dpe-nope', patch],
      ['Interface', undefined, '--columns=name,ofport,type,options,_uuid', 'list', 'Interface'],
      ['Interface', 'table', '--format=table', '--columns=name,ofport,type,options', 'list', 'Interface'],
      ['Interface', 'table', '--format=table', '--no-headings', '--columns=name,ofport', 'find', 'Interface', 'type=internal'],
      ['Port', 'csv', '--format=csv', '--columns=name,tag,trunks,interfaces', 'list', 'Port'],
      ['Interface', 'json', '--format=json', '--columns=name,ofport,options,_uuid', 'list', 'Interface'],
      ['Interface', 'json', '--format=json', '--pretty', '--columns=name,options,external_ids', 'list', 'Interface', patch],
      ['Interface', 'html', '--format=html', '--columns=_uuid,name,options', 'list', 'Interface', vxlan.name],
      ['Bridge', 'lines', '--bare', '--columns=name,ports,fail_mode', 'list', 'Bridge'],
      ['Interface', undefined, '--data=bare', '--columns=name,options,ofport', 'list', 'Interface'],
      ['Interface', undefined, '--data=json', '--columns=name,options,ofport,type', 'list', 'Interface'],
      ['Port', undefined, '--no-headings', '--columns=name,tag', 'list', 'Port'],
      ['Interface', undefined, '--columns=name', 'find', 'Interface', 'type=vxlan'],
      ['Interface', undefined, 'find', 'Interface', 'type=patch'],
      ['Interface', undefined, '--columns=name', 'find', 'Interface', `options:peer=${vxlan.options.peer ?? 'patch-int'}`],
      ['Interface', undefined, '--columns=name', 'find', 'Interface', `options:remote_ip=${vxlan.options.remote_ip}`, 'type=vxlan'],
      ['Interface', undefined, '--columns=name', 'find', 'Interface', 'options:peer{=}[]'],
      ['Interface', undefined, '--columns=name', 'find', 'Interface', 'options:peer{in}[patch-int,patch-tun]'],
      ['Interface', undefined, '--columns=name', 'find', 'Interface', 'options:in_key{not-in}flow'],
      ['Interface', undefined, '--columns=name', 'find', 'Interface', 'options{>=}{in_key=flow}'],
      ['Interface', undefined, '--columns=name', 'find', 'Interface', 'options={}'],
      ['Interface', undefined, '--columns=name,ofport', 'find', 'Interface', 'ofport>=40'],
      ['Interface', undefined, '--columns=name', 'find', 'Interface', 'link_state=down'],
      ['Interface', undefined, '--columns=name', 'find', 'Interface', 'type!=internal', 'type!=patch'],
      ['Port', undefined, '--columns=name', 'find', 'Port', `tag=${tagged.tag}`],
      ['Port', undefined, '--columns=name', 'find', 'Port', 'tag=[]'],
      ['Port', undefined, '--columns=name', 'find', 'Port', 'tag!=[]'],
      ['Port', undefined, '--columns=name', 'find', 'Port', `tag<${tagged.tag! + 1}`],
      ['Port', undefined, '--columns=name', 'find', 'Port', 'trunks{=}[]', 'vlan_mode=[]'],
      ['Bridge', undefined, '--columns=name', 'find', 'Bridge', 'fail_mode=secure', 'stp_enable=false'],
      ['Interface', undefined, '--columns=name', 'find', 'Interface', `name="${patch}"`],
      ['Interface', undefined, '--columns=name', 'find', 'Interface'],
      ['Interface', undefined, '--columns=name', 'find', 'Interface', 'name=dpe-nope'],
      // Errors: ovs-vsctl's words.
      [undefined, undefined, 'list'],
      [undefined, undefined, 'find'],
      [undefined, undefined, 'list', 'Nope'],
      [undefined, undefined, 'list', 'Interface', 'dpe-nope'],
      [undefined, undefined, 'list', 'Interface', patch, 'dpe-nope'],
      [undefined, undefined, '--columns=nope', 'list', 'Interface'],
      [undefined, undefined, '--columns=ofp', 'list', 'Interface'],
      [undefined, undefined, '--columns=', 'list', 'Interface'],
      [undefined, undefined, '--format=nope', 'list', 'Interface'],
      [undefined, undefined, '--data=nope', 'list', 'Interface'],
      [undefined, undefined, '--columns=name', 'get', 'Interface', patch, 'name'],
      [undefined, undefined, 'get', 'Interface', patch, 'ofp'],
      [undefined, undefined, 'get', 'Interface', patch, 'name:x'],
      [undefined, undefined, 'get', 'Interface', patch, 'options:nokey'],
      [undefined, undefined, 'find', 'Interface', 'type'],
      [undefined, undefined, 'find', 'Interface', 'options:peer'],
      [undefined, undefined, 'find', 'Interface', 'nope=x'],
      [undefined, undefined, 'find', 'Interface', '=x'],
      [undefined, undefined, 'find', 'Interface', 'ofport=x'],
      [undefined, undefined, 'find', 'Interface', 'ofport=1,2'],
      [undefined, undefined, 'find', 'Interface', 'name:x=y'],
      [undefined, undefined, 'find', 'Interface', 'options=peer'],
      [undefined, undefined, 'find', 'Port', 'tag=[1'],
      [undefined, undefined, 'find', 'Port', 'tag=5000'],
      [undefined, undefined, 'find', 'Port', 'tag=[1,1]'],
      [undefined, undefined, 'find', 'Bridge', 'fail_mode=nope'],
      [undefined, undefined, 'find', 'Bridge', 'stp_enable=yes'],
      [undefined, undefined, '--columns=name', 'find', 'Bridge', 'stp_enable=off'],
      [undefined, undefined, 'find', 'Bridge', 'stp_enable=True'],
      [undefined, undefined, 'find', 'Port', 'interfaces=x'],
      [undefined, undefined, 'list', 'F'],
      [undefined, undefined, 'list', 'Bridge', '.'],
      [undefined, undefined, '--columns=name', 'list', 'Open_vSwitch', '.'],
      [undefined, undefined, 'get', 'Interface', patch, 'options:'],
      [undefined, undefined, 'get', 'Interface', patch, 'name=x'],
      [undefined, undefined, 'get', 'Interface', patch, 'options:"peer"', 'options:"nope"'],
      [undefined, undefined, 'find', 'Interface', 'name="\\q"'],
      [undefined, undefined, 'find', 'Interface', 'name="\\u12"'],
      [undefined, undefined, 'find', 'Interface', 'name="\\u12zz"'],
      [undefined, undefined, 'find', 'Interface', 'name="x'],
      [undefined, undefined, 'find', 'Interface', `name="${patch}"x`],
      [undefined, undefined, 'find', 'Interface', 'name=a b'],
      [undefined, undefined, 'find', 'Interface', 'name=dpe-nope', 'ofport=x'],
      [undefined, undefined, 'find', 'Interface', 'ofport=x', 'name=dpe-nope'],
      [undefined, undefined, '--columns=name', 'find', 'Interface', `name=p"${patch.slice(1)}"`],
      ['Interface', undefined, '--columns=name,ofport', 'find', 'Interface', 'name="\\u0070atch-int"'],
    );
    for (const [table, format, ...words] of cases) {
      const a = norm(ours(node, words), ourNames, table, format), b = norm(real(o, words), realNames, table, format);
      assert.deepEqual(a, b, `${node}: ovs-vsctl ${words.join(' ')}`);
      compared++;
    }
    // A row by the start of its UUID (each side its own).
    for (const [ask, names] of [[(w: string[]) => ours(node, w), ourNames], [(w: string[]) => real(o, w), realNames]] as const) {
      const uuid = [...names].find(([, n]) => n === `<Interface:${patch}>`)![0];
      assert.equal(ask(['--columns=name', 'list', 'Interface', uuid.slice(0, 6)]).stdout, `name                : ${patch}\n`);
      assert.equal(ask(['get', 'Interface', uuid.slice(0, 3).toUpperCase(), 'name']).stderr, `ovs-vsctl: no row "${uuid.slice(0, 3).toUpperCase()}" in table Interface\n`);
    }
    // The same row has the same UUID in every command: show's is the Open_vSwitch row's, get's are list's.
    const ovsUuid = ours(node, ['get', 'Open_vSwitch', '.', '_uuid']).stdout;
    assert.equal(ours(node, ['show']).stdout.split('\n')[0] + '\n', ovsUuid);
    for (const p of ports) {
      const uuid = ours(node, ['get', 'Interface', p, '_uuid']).stdout.trim();
      assert.equal(ours(node, ['--bare', '--columns=_uuid', 'find', 'Interface', `name=${p}`]).stdout.trim(), uuid);
      assert.equal(ours(node, ['--columns=name', 'list', 'Interface', uuid]).exit, 0);
    }
    // The options' short and two-word spellings are the same options.
    const short = vsctl.run({ emu, invalidate: () => {} }, ['-f', 'table', '-d', 'bare', '--columns', 'name,options', 'list', node, 'Interface']) as CommandResponse;
    assert.equal(short.stdout, ours(node, ['--format=table', '--data=bare', '--columns=name,options', 'list', 'Interface']).stdout);
    // What dpemu knows of the masked columns agrees with its other tools: mac_in_use is ofctl show's address.
    for (const br of bridgesOf(node)) {
      const show = (ofctl.run({ emu, invalidate: () => {} }, ['show', node, br.name]) as CommandResponse).stdout;
      for (const d of br.portsDesc()) {
        const mac = ours(node, ['get', 'Interface', d.name, 'mac_in_use']).stdout.trim().replaceAll('"', '');
        assert.ok(show.includes(`(${d.name}): addr:${mac}\n`), `${d.name} mac_in_use ${mac}`);
      }
    }
    for (const br of bridgesOf(node)) o.vsctl(['del-br', br.name]);
  }
  assert.ok(compared > 150, `${compared} commands compared`);
});

/** A fresh real switch with w07's bridges as dpemu has them, a fresh seed, and both sides' row names. */
async function w07BothSides() {
  ovs?.stop();
  const o = (ovs = RealOvs.start());
  emu = buildEmulator(loadTopologyOrThrow(SEED));
  const node = 'w07';
  for (const br of bridgesOf(node)) {
    o.addBridge(br);
    if (!br.failModeColumn) o.vsctl(['clear', 'bridge', br.name, 'fail_mode']);
  }
  await downAsDpemu(o, node);
  const realNames = rowNames((a) => real(o, a)), ourNames = rowNames((a) => ours(node, a));
  const tagged = bridgesOf(node).flatMap((b) => b.portList).find((p) => p.tag !== undefined)!.name;
  return { o, node, realNames, ourNames, tagged };
}

/** ovsdb-server's error as the last line: the IDL's log lines before it (time-stamped) dropped. */
const lastLine = (a: Answer): Answer => ({ ...a, stderr: a.stderr.split('\n').filter((l) => l && !l.includes('|ovsdb_idl|')).map((l) => `${l}\n`).join('') });

test('vsctl set, remove, clear and add write what dpemu models as ovs-vsctl 3.1 writes it, with its errors; other writes are refused and change nothing', async () => {
  const { o, node, realNames, ourNames, tagged } = await w07BothSides();
  const [br1, br2] = bridgesOf(node).map((b) => b.name) as [string, string];
  // ovsdb-server's errors come after the IDL's log line of them (a time stamp): the last line is compared.
  const same = (words: string[], table?: string): void => {
    const a = norm(ours(node, words), ourNames, table, undefined), b = norm(lastLine(real(o, words)), realNames, table, undefined);
    assert.deepEqual(a, b, `${node}: ovs-vsctl ${words.join(' ')}`);
  };
  const cases: string[][] = [
    ['set', 'Open_vSwitch', '.', 'other_config:max-idle=2000'],
    ['get', 'Open_vSwitch', '.', 'other_config:max-idle', 'other_config'],
    ['add', 'Bridge', br1, 'other_config', 'mac-table-size=10', 'mac-aging-time=30'],
    ['add', 'Bridge', br1, 'other_config', 'mac-table-size=20'],
    ['get', 'Bridge', br1, 'other_config'],
    ['remove', 'Bridge', br1, 'other_config', 'mac-aging-time=31'],
    ['get', 'Bridge', br1, 'other_config'],
    ['remove', 'Bridge', br1, 'other_config', 'mac-aging-time=30', 'nope'],
    ['set', 'Bridge', br2, 'other_config={mac-aging-time=40, mac-table-size="12"}'],
    ['remove', 'Bridge', br2, 'other_config', '[mac-table-size]'],
    ['--if-exists', 'set', 'Bridge', 'dpe-nope', 'other_config:mac-table-size=1'],
    ['set', 'Port', tagged, 'tag=5'],
    ['get', 'Port', tagged, 'tag'],
    ['clear', 'Port', tagged, 'tag'],
    ['get', 'Port', tagged, 'tag', 'vlan_mode'],
    ['add', 'Port', tagged, 'tag', '7'],
    ['add', 'Port', tagged, 'tag', '7'],
    ['remove', 'Port', tagged, 'tag', '8'],
    ['remove', 'Port', tagged, 'tag', '7', '7'],
    ['set', 'Port', tagged, 'tag=4', 'tag=10'],
    ['set', 'Open_vSwitch', '.', 'other_config:max-idle=500', 'other_config:max-idle=3000'],
    ['get', 'Open_vSwitch', '.', 'other_config'],
    ['remove', 'Open_vSwitch', '.', 'other_config', 'max-idle'],
    ['clear', 'Open_vSwitch', '.', 'other_config'],
    ['set', 'Bridge', br1, 'other_config:"mac-table-size"="30"'],
    // Errors: ovs-vsctl's words, nothing written.
    ['set'],
    ['set', 'Port', tagged],
    ['remove', 'Port', tagged, 'tag'],
    ['clear', 'Port', tagged],
    ['add', 'Port', tagged, 'tag'],
    ['set', 'Port', tagged, 'tag=5000'],
    ['set', 'Port', tagged, 'tag'],
    ['set', 'Port', tagged, 'tag:x=1'],
    ['set', 'Port', tagged, 'tag:=1'],
    ['set', 'Port', tagged, 'tag =1'],
    ['set', 'Port', tagged, 'tag=1x'],
    ['set', 'Port', tagged, 'tag=[1,2]'],
    ['set', 'Port', tagged, 'name=x'],
    ['set', 'Port', tagged, 'name=[1'],
    ['set', 'Port', tagged, 'tag=x', 'name=y'],
    ['set', 'Port', tagged, 'name=y', 'tag=x'],
    ['set', 'Port', tagged, 'tag=1', 'nope'],
    ['set', 'Port', 'dpe-nope', 'tag=1'],
    ['set', 'Port', 'dpe-nope', 'nope=1'],
    ['set', 'Nope', 'x', 'a=1'],
    ['set', 'Open_vSwitch', 'dpe-nope', 'other_config:x=1'],
    ['--columns=name', 'set', 'Port', tagged, 'tag=1'],
    ['set', 'Bridge', br1, 'other_config'],
    ['set', 'Bridge', br1, 'other_config:=5'],
    ['set', 'Bridge', br1, 'other_config:mac-table-size='],
    ['remove', 'Port', tagged, 'tag', 'x'],
    ['remove', 'Port', tagged, 'name', 'x'],
    ['remove', 'Port', 'dpe-nope', 'name', 'x'],
    ['remove', 'Port', 'dpe-nope', 'nope', 'x'],
    ['remove', 'Port', tagged, 'interfaces', '[]'],
    ['remove', 'Bridge', br1, 'other_config', 'a=b=c'],
    ['remove', 'Bridge', br1, 'other_config', '{}'],
    ['remove', 'Bridge', br1, 'other_config', ''],
    ['remove', 'Bridge', br1, 'other_config:a', 'x'],
    ['add', 'Bridge', br1, 'other_config', '{}'],
    ['add', 'Bridge', br1, 'other_config', ''],
    ['add', 'Bridge', br1, 'other_config', 'a'],
    ['add', 'Port', tagged, 'tag', '6'],
    ['add', 'Port', tagged, 'interfaces', 'x'],
    ['add', 'Port', 'dpe-nope', 'tag', '1'],
    ['clear', 'Port', tagged, 'interfaces'],
    ['clear', 'Port', tagged, 'name'],
    ['clear', 'Port', 'dpe-nope', 'tag'],
    ['clear', 'Bridge', br1, 'other_config:a'],
    ['--if-exists', 'clear', 'Port', 'dpe-nope', 'tag'],
  ];
  for (const words of cases) same(words);
  // What both databases hold after them.
  for (const t of TABLES) same(['list', t], t);

  // Writes dpemu does not model: refused (exit 1, its own words) with nothing written, not even what it models.
  const before = TABLES.map((t) => ours(node, ['list', t]).stdout);
  for (const words of [
    ['set', 'Bridge', br1, 'other_config:forward-bpdu=true'],
    ['add', 'Bridge', br1, 'other_config', 'mac-table-size=40', 'mac-aging-time=60', 'flood-vlans=1'],
    ['set', 'Bridge', br1, 'fail_mode=standalone'],
    ['set', 'Port', tagged, 'tag=3', 'trunks=1'],
    ['set', 'Open_vSwitch', '.', 'other_config:max-idle=1000', 'external_ids:hostname=x'],
    ['set', 'Interface', tagged, 'mtu_request=1400'],
  ]) {
    const a = ours(node, words);
    assert.equal(a.exit, 1, words.join(' '));
    assert.match(a.stderr, /^ovs-vsctl: dpemu does not model changing /, words.join(' '));
    assert.equal(real(o, words).exit, 0, `${words.join(' ')}: a write ovs-vsctl takes`);
  }
  assert.deepEqual(TABLES.map((t) => ours(node, ['list', t]).stdout), before);
});

test('vsctl commands joined by -- are one transaction as in ovs-vsctl 3.1: outputs in order, all written or nothing, per-command and global options, their errors', async () => {
  const { o, node, realNames, ourNames, tagged } = await w07BothSides();
  const [br1] = bridgesOf(node).map((b) => b.name) as [string, string];
  /** The same words on both sides: same output (`format` as norm() takes it; 'raw': in the order printed, 'words': so, a table's widths aside), exit and database after. */
  const same = (words: string[], format?: string): void => {
    const side = (x: Answer, names: Map<string, string>): Answer => {
      const n = norm(x, names, undefined, format);
      return format === 'words' ? { ...n, stdout: n.stdout.replace(/ +/g, ' ').replace(/-+/g, '-') } : n;
    };
    const a = side(ours(node, words), ourNames), b = side(lastLine(real(o, words)), realNames);
    assert.deepEqual(a, b, `${node}: ovs-vsctl ${words.join(' ')}`);
    for (const t of TABLES) {
      assert.deepEqual(norm(ours(node, ['list', t]), ourNames, t, undefined), norm(real(o, ['list', t]), realNames, t, undefined), `${t} after ovs-vsctl ${words.join(' ')}`);
    }
  };
  const cases: [string | undefined, ...string[]][] = [
    // Reads: each command's output in turn; a table after another is set off by a blank line (but in JSON and HTML).
    ['raw', '--', 'get', 'Port', tagged, 'tag', '--', 'get', 'Bridge', br1, 'fail_mode'],
    ['raw', 'get', 'Port', tagged, 'tag', '--', 'list-br', '--', 'list-ports', br1, '--', 'get-fail-mode', br1, '--', 'get-controller', br1],
    [undefined, '--columns=name', 'list', 'Bridge', '--', '--columns=name,fail_mode', 'list', 'Bridge'],
    ['raw', '--columns=name', 'find', 'Port', 'name=dpe-nope', '--', '--columns=name,tag', 'find', 'Port', `name=${tagged}`],
    ['raw', '--columns=name', 'find', 'Bridge', `name=${br1}`, '--', 'get', 'Port', tagged, 'tag', '--', '--columns=name,tag', 'find', 'Port', `name=${tagged}`],
    ['raw', '--bare', '--columns=name', 'find', 'Bridge', `name=${br1}`, '--', '--columns=name,tag', 'find', 'Port', `name=${tagged}`],
    ['words', '--format=table', '--columns=name', 'find', 'Port', 'name=dpe-nope', '--', '--columns=name,tag', 'find', 'Port', `name=${tagged}`],
    ['raw', '--format=csv', '--no-headings', '--columns=name', 'find', 'Bridge', `name=${br1}`, '--', '--columns=name,tag', 'find', 'Port', `name=${tagged}`],
    ['raw', '-f', 'json', '--columns=name', 'find', 'Bridge', `name=${br1}`, '--', '--columns=name,tag', 'find', 'Port', `name=${tagged}`],
    ['html', '--format=html', '--columns=name', 'find', 'Bridge', `name=${br1}`, '--', '--columns=name,tag', 'find', 'Port', `name=${tagged}`],
    ['raw', '--oneline', 'get', 'Port', tagged, 'tag', 'name', '--', 'list-ports', br1, '--', 'br-exists', br1, '--', 'comment', 'x'],
    ['raw', '--oneline', '--columns=name', 'find', 'Bridge', `name=${br1}`, '--', 'get', 'Port', tagged, 'tag'],
    ['raw', '--', '--if-exists', 'get', 'Port', 'dpe-nope', 'tag', '--', 'get', 'Port', tagged, 'tag'],
    ['raw', '--if-exists', '--', 'get', 'Port', 'dpe-nope', 'tag'],
    ['raw', '--if-exists', '--columns', 'name', 'list', 'Port', 'dpe-nope', tagged, '--', 'get', 'Port', tagged, 'tag'],
    ['raw', 'get', 'Port', tagged, 'tag', '--', '--', 'list-br', '--'],
    ['raw', '--real', 'list-br', '--', '--fake', 'list-br'],
    ['raw', '--no-wait', '-t', '5', '--timeout=5', '-t5', '--dry-run', 'get', 'Port', tagged, 'tag'],
    ['raw', '--col=name', '--if-ex', 'list', 'Port', tagged],
    // Errors: ovs-vsctl's, before any command runs or as one runs; nothing printed.
    ['raw', '--'],
    ['raw'],
    ['raw', '--oneline'],
    ['raw', '--', '--if-exists'],
    ['raw', '--if-exists', '--', '--', 'list-br'],
    ['raw', '--', 'nope'],
    ['raw', 'list-br', '--', 'nope', 'x'],
    ['raw', '--', '--format=table', 'list', 'Port'],
    ['raw', '--', '--columns=name', '--columns=name', 'list', 'Port'],
    ['raw', '--if-exists', '--', '--if-exists', 'get', 'Port', tagged, 'tag'],
    ['raw', '--', '--if-exists=1', 'get', 'Port', tagged, 'tag'],
    ['raw', '--', '--columns', 'list', 'Port'],
    ['raw', '--columns=name', 'get', 'Port', tagged, 'tag'],
    ['raw', 'get', 'Port', tagged, 'tag', '--', '--nope', 'list-br'],
    ['raw', '--if-exists', 'list-br'],
    ['raw', 'get', 'Port', tagged, 'tag', '--if-exists'],
    ['raw', 'list-br', '--', 'list-br', '-x'],
    ['raw', 'list-br', '--', 'list-ports'],
    ['raw', '--timeout=0', 'list-br'],
    ['raw', '--timeout=x', 'list-br'],
    ['raw', '-t', '-1', 'list-br'],
    ['raw', '-t'],
    ['raw', '--timeout'],
    ['raw', '--nope', 'list-br'],
    ['raw', '-x', 'list-br'],
    ['raw', '--no-wait=1', 'list-br'],
    ['raw', '--no', 'list-br'],
    ['raw', '--format', 'list-br'],
    ['raw', '--data=nope', 'list-br'],
    ['raw', 'get', 'Port', 'dpe-nope', 'tag', '--', 'get', 'Port', tagged, 'nocol'],
    ['raw', 'get', 'Port', tagged, 'tag', '--', 'get', 'Port', 'dpe-nope', 'tag'],
    ['raw', 'list-br', '--', 'br-exists', 'dpe-nope'],
    ['raw', 'br-exists', 'dpe-nope', '--', 'get', 'Port', 'dpe-nope', 'tag'],
    ['raw', 'get-fail-mode', 'dpe-nope'],
    ['raw', 'list-br', '--', 'get-controller', 'dpe-nope'],
    // Writes: later commands see earlier ones; all are written, or none.
    ['raw', 'set', 'Port', tagged, 'tag=5', '--', 'set', 'Bridge', br1, 'other_config:mac-table-size=20', '--', 'get', 'Port', tagged, 'tag', '--', 'get', 'Bridge', br1, 'other_config'],
    ['raw', 'set', 'Port', tagged, 'tag=6', '--', 'set', 'Port', 'dpe-nope', 'tag=7'],
    ['raw', 'set', 'Port', tagged, 'tag=6', '--', 'get', 'Port', tagged, 'nocol'],
    ['raw', 'set', 'Port', tagged, 'tag=6', '--', 'set', 'Port', tagged, 'tag=x'],
    ['raw', 'set', 'Port', tagged, 'tag=6', '--', 'br-exists', 'dpe-nope'],
    ['raw', 'set', 'Port', tagged, 'tag=6', '--', 'add', 'Port', tagged, 'tag', '7'],
    ['raw', 'set', 'Port', tagged, 'tag=6', '--', 'add', 'Port', tagged, 'tag', '7', '--', 'comment'],
    ['raw', 'clear', 'Port', tagged, 'tag', '--', 'add', 'Port', tagged, 'tag', '8', '--', 'get', 'Port', tagged, 'tag'],
    ['raw', 'add', 'Bridge', br1, 'other_config', 'mac-table-size=30', 'mac-aging-time=40', '--', 'get', 'Bridge', br1, 'other_config'],
    ['raw', 'add', 'Bridge', br1, 'other_config', 'mac-aging-time=50', 'mac-aging-time=60'],
    ['raw', 'add', 'Bridge', br1, 'other_config', 'mac-aging-time=70', 'mac-aging-time=80', '--', 'comment'],
    ['raw', 'set', 'Bridge', br1, 'other_config:mac-table-size=25', '--', 'add', 'Bridge', br1, 'other_config', 'mac-table-size=26', 'mac-aging-time=90'],
    ['raw', 'remove', 'Bridge', br1, 'other_config', 'mac-table-size', '--', 'set', 'Open_vSwitch', '.', 'other_config:max-idle=3000', '--', 'get', 'Open_vSwitch', '.', 'other_config'],
    ['raw', '--no-wait', '--dry-run', 'set', 'Port', tagged, 'tag=9', '--', 'get', 'Port', tagged, 'tag'],
    ['raw', '--dry-run', 'set', 'Port', tagged, 'tag=8', '--', 'set', 'Port', tagged, 'tag=8'],
    ['raw', '--oneline', 'set', 'Port', tagged, 'tag=4', '--', 'get', 'Port', tagged, 'tag'],
    ['raw', 'set', 'Port', tagged, 'tag=3', '--', 'set', 'Port', tagged, 'tag=4'],
    ['raw', '--', '--if-exists', 'set', 'Port', 'dpe-nope', 'tag=1', '--', '--if-exists', 'clear', 'Port', 'dpe-nope', 'tag', '--', 'set', 'Port', tagged, 'tag=2'],
    ['raw', '--if-exists', 'add', 'Port', 'dpe-nope', 'tag', '1', '--', '--if-exists', 'remove', 'Port', 'dpe-nope', 'tag', '1', '--', 'clear', 'Port', tagged, 'tag'],
  ];
  for (const [format, ...words] of cases) same(words, format);

  // dpemu's own refusals (the real ones take these): nothing of the chain written.
  const before = TABLES.map((t) => ours(node, ['list', t]).stdout);
  const refused = (words: string[], why: RegExp): void => {
    const a = ours(node, words);
    assert.equal(a.exit, 1, words.join(' '));
    assert.match(a.stderr, why, words.join(' '));
    assert.deepEqual(TABLES.map((t) => ours(node, ['list', t]).stdout), before, words.join(' '));
  };
  refused(['set', 'Port', tagged, 'tag=7', '--', 'set', 'Bridge', br1, 'fail_mode=standalone'], /^ovs-vsctl: dpemu does not model changing column fail_mode /);
  // ovs-vsctl would wait for ever (or until -t) for ovs-vswitchd to apply a transaction it never sent.
  refused(['--dry-run', 'set', 'Port', tagged, 'tag=7'], /^ovs-vsctl: dpemu does not wait for ever/);
  // One invocation is one node's database.
  assert.throws(() => vsctl.run({ emu, invalidate: () => {} }, ['set', node, 'Port', tagged, 'tag=7', '--', 'list-br', 'w02']), /one invocation is one node's transaction/);
  assert.deepEqual(TABLES.map((t) => ours(node, ['list', t]).stdout), before);
});

/** A port ovs-vsctl added as internal: down on the real switch too, once ovs-vswitchd has written so (dpemu's new internal device is DOWN, as on a kernel node). */
async function downOnReal(o: RealOvs, bridge: string, port: string): Promise<void> {
  o.ofctl('mod-port', bridge, port, 'down');
  o.appctl(['netdev-dummy/set-admin-state', port, 'down']);
  const state = (): string => real(o, ['get', 'Interface', port, 'admin_state', 'link_state']).stdout;
  for (let i = 0; i < 100 && state() !== 'down\ndown\n'; i++) await new Promise((r) => setTimeout(r, 100));
  assert.equal(state(), 'down\ndown\n', `${port} down on the real switch`);
}

/** `ofctl show` and `dump-ports-desc`'s ports: number, name, config and state (the dummy netdevs' addresses and features aside). */
const portLines = (text: string): string =>
  text.split('\n').filter((l) => /^ \S+\(|^ {5}(config|state):/.test(l)).map((l) => l.replace(/ addr:.*/, '')).join('\n');

test('vsctl add-port and del-port add and delete ports as ovs-vsctl 3.1 and ovs-vswitchd do: rows, ofports, list-ports, show, ofctl show; their errors; a failed transaction changes nothing', async () => {
  const { o, node } = await w07BothSides();
  const qvo = bridgesOf(node).flatMap((b) => b.portList).find((p) => p.name.startsWith('qvo'))!.name;
  const patch = bridgesOf(node).flatMap((b) => b.portList).find((p) => p.type === 'patch')!.name;
  const qr = bridgesOf(node).flatMap((b) => b.portList).find((p) => p.name.startsWith('qr-'))!.name;
  const flowsBefore = (ofctl.run({ emu, invalidate: () => {} }, ['dump-flows', node, 'br-int', '--no-stats']) as CommandResponse).stdout;
  /** The same words on both sides: same output and exit, then the same rows, list-ports, show and ofctl's ports. */
  const same = async (words: string[], internal?: string): Promise<void> => {
    const a = ours(node, words), b = lastLine(real(o, words));
    assert.deepEqual(a, b, `${node}: ovs-vsctl ${words.join(' ')}`);
    if (internal) await downOnReal(o, 'br-int', internal);
    const realNames = rowNames((x) => real(o, x)), ourNames = rowNames((x) => ours(node, x));
    for (const t of TABLES) {
      assert.deepEqual(norm(ours(node, ['list', t]), ourNames, t, undefined), norm(real(o, ['list', t]), realNames, t, undefined), `${t} after ovs-vsctl ${words.join(' ')}`);
    }
    for (const br of ['br-int', 'br-tun']) {
      assert.equal(ours(node, ['list-ports', br]).stdout, real(o, ['list-ports', br]).stdout, `list-ports ${br} after ${words.join(' ')}`);
      const dpemu = (cmd: string) => (ofctl.run({ emu, invalidate: () => {} }, [cmd, node, br]) as CommandResponse).stdout;
      for (const cmd of ['show', 'dump-ports-desc']) assert.equal(portLines(dpemu(cmd)), portLines(o.ofctl(cmd, br)), `ofctl ${cmd} ${br} after ${words.join(' ')}`);
    }
    // show: the same bridges, ports and interfaces (in hash order on the real side: each port's block, under its bridge, sorted).
    const ports = (text: string): string[] => {
      const blocks: string[] = [];
      let bridge = '';
      for (const l of text.replace(/"/g, '').split('\n').slice(1)) {
        if (l.startsWith('    Bridge ')) bridge = l.trim();
        else if (l.startsWith('        Port ')) blocks.push(`${bridge}: ${l.trim()}`);
        else if (l.startsWith('            ')) blocks[blocks.length - 1] += ` ${l.trim()}`;
        else if (l.trim() && !l.includes('ovs_version')) blocks.push(`${bridge}: ${l.trim()}`);
      }
      return blocks.sort();
    };
    assert.deepEqual(ports(ours(node, ['show']).stdout), ports(real(o, ['show']).stdout), `show after ${words.join(' ')}`);
  };
  await same(['add-port', 'br-int', 'dpe-vp1', '--', 'set', 'Interface', 'dpe-vp1', 'type=internal'], 'dpe-vp1');
  // As Neutron's ovs_lib plugs a router port: --may-exist, type internal and the port's external_ids in one transaction.
  await same(['--', '--may-exist', 'add-port', 'br-int', 'dpe-vp2', 'tag=5', '--', 'set', 'Interface', 'dpe-vp2', 'type=internal',
    'external_ids:iface-id=4f0c5a0e-1d2b-4c6e-9a3f-2b7c8d9e0f11', 'external_ids:iface-status=active', 'external_ids:attached-mac=fa:16:3e:00:00:01'], 'dpe-vp2');
  for (const words of [
    ['--may-exist', 'add-port', 'br-int', 'dpe-vp1'],
    ['--may-exist', 'add-port', 'br-tun', 'dpe-vp1'],
    ['add-port', 'br-int', 'dpe-vp1'],
    ['add-port', 'br-tun', 'dpe-vp1'],
    ['add-port', 'br-int', 'br-tun'],
    ['add-port', 'br-int', patch],
    ['add-port', 'dpe-nobr', 'dpe-vp3'],
    ['add-port', 'br-int', 'dpe-vp3', 'nope=1'],
    ['add-port', 'br-int', 'dpe-vp3', 'tag=x'],
    ['add-port', 'br-int'],
    ['--if-exists', 'add-port', 'br-int', 'dpe-vp3'],
    ['del-port'],
    ['del-port', 'br-int', 'dpe-vp1', 'x'],
    ['del-port', 'dpe-nope'],
    ['del-port', 'br-int'],
    ['del-port', 'br-tun', 'br-int'],
    ['del-port', 'br-tun', 'dpe-vp2'],
    ['del-port', 'dpe-nobr', 'dpe-nope'],
    ['del-port', 'dpe-nobr', 'dpe-vp2'],
    ['--if-exists', 'del-port', 'dpe-nope'],
    ['--if-exists', 'del-port', 'br-int'],
    ['--with-iface', 'del-port', 'dpe-nope'],
    ['--may-exist', 'del-port', 'dpe-vp2'],
    // One transaction: a command that fails leaves the port not added, nor the other deleted.
    ['add-port', 'br-int', 'dpe-vp4', '--', 'set', 'Interface', 'dpe-vp4', 'type=internal', '--', 'del-port', 'dpe-nope'],
    ['del-port', 'dpe-vp2', '--', 'del-port', 'dpe-vp2'],
    ['del-port', 'dpe-vp2', '--', 'add-port', 'br-int', 'dpe-vp2', 'tag=x'],
  ]) await same(words);
  // What dpemu does not model (the real one takes them): refused, nothing written.
  const before = TABLES.map((t) => ours(node, ['list', t]).stdout);
  for (const [words, why] of [
    [['add-port', 'br-int', 'dpe-vp3', 'name=x'], /^ovs-vsctl: dpemu does not model a port named other than its interface/],
    [['add-port', 'br-int', 'dpe-vp3', 'external_ids:x=y'], /^ovs-vsctl: dpemu does not model adding a port with column external_ids of table Port/],
    [['add-port', 'br-int', 'dpe-vp3', '--', 'set', 'Interface', 'dpe-vp3', 'type=vxlan', 'options:remote_ip=192.0.2.1'], /^ovs-vsctl: dpemu does not model adding a port with column options of table Interface/],
    [['add-port', 'br-int', 'dpe-vp3', '--', 'set', 'Interface', 'dpe-vp3', 'type=geneve'], /^ovs-vsctl: dpemu does not model adding an interface of type geneve/],
    [['add-port', 'br-int', 'dpe-vp3'], /^ovs-vsctl: dpemu does not model a port without its device: w07 has no device dpe-vp3/],
    [['del-port', 'dpe-vp2', '--', 'add-port', 'br-int', 'dpe-vp2', '--', 'set', 'Interface', 'dpe-vp2', 'type=internal', 'ofport_request=77'], /^ovs-vsctl: dpemu does not model changing the ofport_request of interface dpe-vp2/],
    [['add-port', 'br-int', 'dpe-vp3', '--', 'set', 'Interface', 'dpe-vp3', 'type=internal', '--', 'del-port', qr], /^ovs-vsctl: dpemu does not model deleting port qr-.* which is in namespace qrouter-/],
  ] as const) {
    const a = ours(node, [...words]);
    assert.equal(a.exit, 1, words.join(' '));
    assert.match(a.stderr, why, words.join(' '));
    assert.deepEqual(TABLES.map((t) => ours(node, ['list', t]).stdout), before, words.join(' '));
  }
  await same(['del-port', 'br-int', 'dpe-vp1']);
  // alloc_ofp_port goes on from the last number it gave: not dpe-vp1's, which went a moment ago.
  await same(['add-port', 'br-int', 'dpe-vp3', '--', 'set', 'Interface', 'dpe-vp3', 'type=internal'], 'dpe-vp3');
  await same(['--with-iface', 'del-port', 'dpe-vp3', '--', '--if-exists', 'del-port', 'dpe-nope']);
  // ofport_request: the number asked for while no port has it (one deleted a moment ago included), else alloc_ofp_port's next.
  const request = (port: string, n: number): string[] => ['add-port', 'br-int', port, '--', 'set', 'Interface', port, 'type=internal', `ofport_request=${n}`];
  await same(request('dpe-vp7', 40), 'dpe-vp7');
  await same(request('dpe-vp8', 40), 'dpe-vp8');
  await same(['del-port', 'dpe-vp7']);
  await same(request('dpe-vp9', 40), 'dpe-vp9');
  for (const p of ['dpe-vp8', 'dpe-vp9']) assert.deepEqual(ours(node, ['get', 'Interface', p, 'ofport', 'ofport_request']), real(o, ['get', 'Interface', p, 'ofport', 'ofport_request']), `get Interface ${p} ofport ofport_request`);
  await same(['del-port', 'dpe-vp8', '--', 'del-port', 'dpe-vp9']);
  // Deleted and added again in one transaction: the same port (its ofport), configured anew; and what later commands see.
  await same(['del-port', 'dpe-vp2', '--', 'add-port', 'br-int', 'dpe-vp2', 'tag=6', '--', 'set', 'Interface', 'dpe-vp2', 'type=internal', '--', 'list-ports', 'br-int', '--', 'port-to-br', 'dpe-vp2']);
  await same(['del-port', qvo, '--', 'add-port', 'br-int', qvo, '--', 'iface-to-br', qvo]);
  await same(['add-port', 'br-int', 'dpe-vp6', '--', 'set', 'Interface', 'dpe-vp6', 'type=internal', '--', 'del-port', 'dpe-vp6', '--', 'list-ifaces', 'br-int', '--', 'iface-to-br', 'dpe-vp6']);
  // A port added and deleted in one transaction: nothing.
  await same(['add-port', 'br-int', 'dpe-vp5', '--', 'del-port', 'dpe-vp5']);
  // The VM's port off the bridge, and back (its device stayed, on no bridge): a new ofport, no tag.
  await same(['del-port', qvo]);
  await same(['add-port', 'br-int', qvo]);
  await same(['del-port', patch]);
  // OVS keeps the flows that name a deleted port.
  assert.equal((ofctl.run({ emu, invalidate: () => {} }, ['dump-flows', node, 'br-int', '--no-stats']) as CommandResponse).stdout, flowsBefore);
});

test('vsctl add-br and del-br add and delete bridges as ovs-vsctl 3.1 and ovs-vswitchd do: rows, list-br, br-exists, show, ofctl show and its dpid, the default flow, add-flow and add-port on them; their errors; a failed transaction changes nothing', async () => {
  const { o, node } = await w07BothSides();
  const qrouter = emu.engine.elements.find((e) => e.node === node && e.name.startsWith('qrouter-'))!.name;
  const ofctlOurs = (...words: string[]): string => (ofctl.run({ emu, invalidate: () => {} }, [words[0]!, node, ...words.slice(1)]) as CommandResponse).stdout;
  /** Each side's new bridges: datapath_id is the LOCAL port's address, and that is the Bridge row's UUID's first bytes marked random (bridge_create's default_ea). */
  const dpids = (ask: (a: string[]) => Answer, show: (br: string) => string, br: string): void => {
    const [uuid, dpid] = ask(['get', 'Bridge', br, '_uuid', 'datapath_id']).stdout.split('\n') as [string, string];
    const h = uuid.replaceAll('-', '');
    const ea = [6, 4, 2, 0, 14, 12].map((i, k) => (k === 0 ? (parseInt(h.slice(i, i + 2), 16) & 0xfe) | 2 : parseInt(h.slice(i, i + 2), 16)).toString(16).padStart(2, '0'));
    assert.equal(dpid.replace(/"/g, ''), `0000${ea.join('')}`, `${br}'s datapath_id`);
    assert.match(show(br), new RegExp(`dpid:0000${ea.join('')}\\n[^]* LOCAL\\(${br}\\): addr:${ea.join(':')}\\n`), `${br}: ofctl show`);
  };
  const fresh = new Set<string>();
  const same = async (words: string[], down: string[] = []): Promise<void> => {
    const a = ours(node, words), b = lastLine(real(o, words));
    assert.deepEqual(a, b, `${node}: ovs-vsctl ${words.join(' ')}`);
    for (const [br, p] of down.map((d) => d.split('/') as [string, string])) await downOnReal(o, br, p);
    const realNames = rowNames((x) => real(o, x)), ourNames = rowNames((x) => ours(node, x));
    for (const t of TABLES) {
      assert.deepEqual(norm(ours(node, ['list', t]), ourNames, t, undefined), norm(real(o, ['list', t]), realNames, t, undefined), `${t} after ovs-vsctl ${words.join(' ')}`);
    }
    const brs = ours(node, ['list-br']);
    assert.deepEqual(brs, real(o, ['list-br']), `list-br after ${words.join(' ')}`);
    for (const br of brs.stdout.split('\n').filter(Boolean)) {
      assert.deepEqual(ours(node, ['list-ports', br]), real(o, ['list-ports', br]), `list-ports ${br} after ${words.join(' ')}`);
      for (const cmd of ['show', 'dump-ports-desc']) assert.equal(portLines(ofctlOurs(cmd, br)), portLines(o.ofctl(cmd, br)), `ofctl ${cmd} ${br} after ${words.join(' ')}`);
      if (!fresh.has(br)) continue;
      dpids((x) => ours(node, x), (x) => ofctlOurs('show', x), br);
      dpids((x) => real(o, x), (x) => o.ofctl('show', x), br);
      assert.equal(ofctlOurs('dump-flows', br, '--no-stats'), o.ofctl('dump-flows', br, '--no-stats'), `dump-flows ${br} after ${words.join(' ')}`);
    }
    for (const br of ['dpe-ab1', 'dpe-nope']) assert.deepEqual(ours(node, ['br-exists', br]), real(o, ['br-exists', br]), `br-exists ${br}`);
    // show: the same bridges, ports and interfaces, each block sorted (hash order on the real side).
    const blocks = (text: string): string[] => {
      const out: string[] = [];
      let bridge = '';
      for (const l of text.replace(/"/g, '').split('\n').slice(1)) {
        if (l.startsWith('    Bridge ')) out.push((bridge = l.trim()));
        else if (l.startsWith('        Port ') || l.startsWith('        fail_mode')) out.push(`${bridge}: ${l.trim()}`);
        else if (l.startsWith('            ')) out[out.length - 1] += ` ${l.trim()}`;
      }
      return out.sort();
    };
    assert.deepEqual(blocks(ours(node, ['show']).stdout), blocks(real(o, ['show']).stdout), `show after ${words.join(' ')}`);
  };
  fresh.add('dpe-ab1').add('dpe-ab2');
  await same(['add-br', 'dpe-ab1'], ['dpe-ab1/dpe-ab1']);
  // As a test bed sets one up: secure, its MAC table's settings, and a later command's view of it.
  await same(['--may-exist', 'add-br', 'dpe-ab2', '--', 'set', 'bridge', 'dpe-ab2', 'fail-mode=secure', 'other_config:mac-aging-time=20', '--', 'list-br', '--', 'get-fail-mode', 'dpe-ab2'], ['dpe-ab2/dpe-ab2']);
  for (const words of [
    ['add-br', 'dpe-ab1'],
    ['--may-exist', 'add-br', 'dpe-ab1'],
    ['add-br', 'br-int'],
    ['add-br', 'patch-tun'],
    ['add-br', 'dpe-ab3', 'br-int'],
    ['add-br'],
    ['del-br', 'dpe-nope'],
    ['--if-exists', 'del-br', 'dpe-nope'],
    ['del-br', 'dpe-ab1', 'x'],
    ['--with-iface', 'del-br', 'dpe-ab1'],
    // One transaction: nothing added, nothing deleted.
    ['add-br', 'dpe-ab3', '--', 'del-br', 'dpe-nope'],
    ['del-br', 'dpe-ab1', '--', 'del-br', 'dpe-ab1'],
    ['add-br', 'dpe-ab3', '--', 'del-br', 'dpe-ab3', '--', 'list-br'],
    ['add-br', 'dpe-ab3', '--', 'add-br', 'dpe-ab3'],
  ]) await same(words);
  // The default flow is the bridge's own: ofctl writes go on as on any bridge, the same on both sides.
  for (const br of ['dpe-ab1', 'dpe-ab2']) {
    ofctlOurs('add-flow', br, 'priority=7,in_port=LOCAL,actions=drop');
    o.ofctl('add-flow', br, 'priority=7,in_port=LOCAL,actions=drop');
  }
  await same(['add-port', 'dpe-ab1', 'dpe-ap1', '--', 'set', 'Interface', 'dpe-ap1', 'type=internal'], ['dpe-ab1/dpe-ap1']);
  await same(['add-port', 'dpe-ab2', 'dpe-ap2', 'tag=9', '--', 'set', 'Interface', 'dpe-ap2', 'type=internal'], ['dpe-ab2/dpe-ap2']);
  await same(['add-br', 'dpe-ap1']);
  // What dpemu does not model (the real one takes them): refused, nothing written.
  const before = TABLES.map((t) => ours(node, ['list', t]).stdout);
  for (const [words, why] of [
    [['del-br', 'br-int'], /^ovs-vsctl: dpemu does not model deleting bridge br-int, which the topology made/],
    [['del-br', 'dpe-ab1', '--', 'del-br', 'br-tun'], /^ovs-vsctl: dpemu does not model deleting bridge br-tun, which the topology made/],
    [['add-br', 'dpe-ab3', 'dpe-ab1', '5'], /^ovs-vsctl: dpemu does not model fake bridges/],
    [['add-br', 'dpe-ab3', '--', 'set', 'bridge', 'dpe-ab3', 'stp_enable=true'], /^ovs-vsctl: dpemu does not model adding a bridge with column stp_enable of table Bridge/],
    [['add-br', 'dpe-ab3', '--', 'set', 'bridge', 'dpe-ab3', 'other_config:hwaddr=02:00:00:00:00:01'], /^ovs-vsctl: dpemu does not model a bridge's other_config:hwaddr/],
    [['del-br', 'dpe-ab1', '--', 'add-br', 'dpe-ab1'], /^ovs-vsctl: dpemu does not model deleting and adding bridge dpe-ab1 in one transaction/],
    [['add-br', 'eth2'], /^ovs-vsctl: dpemu does not model adding bridge eth2: the node has a device or namespace of that name/],
    [['add-br', qrouter], /^ovs-vsctl: dpemu does not model adding bridge qrouter-.*: the node has a device or namespace of that name/],
  ] as const) {
    const a = ours(node, [...words]);
    assert.equal(a.exit, 1, words.join(' '));
    assert.match(a.stderr, why, words.join(' '));
    assert.deepEqual(TABLES.map((t) => ours(node, ['list', t]).stdout), before, words.join(' '));
  }
  fresh.delete('dpe-ab1');
  // Gone with its port, whose name an internal port on another bridge takes in the same transaction; its name free again, for a new bridge
  // (a new UUID on the real side, the same here: both are compared as their own).
  await same(['del-br', 'dpe-ab1', '--', 'add-port', 'br-int', 'dpe-ap1', '--', 'set', 'Interface', 'dpe-ap1', 'type=internal'], ['br-int/dpe-ap1']);
  fresh.add('dpe-ab1');
  await same(['add-br', 'dpe-ab1', '--', 'del-br', 'dpe-ab2'], ['dpe-ab1/dpe-ab1']);
  assert.doesNotMatch(ofctlOurs('dump-flows', 'dpe-ab1'), /priority=7/);
});
