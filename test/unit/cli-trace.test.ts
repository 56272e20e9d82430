// The `dpemu` command as a user runs it: check and trace on the bundled files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dpemu = (...args: string[]) => spawnSync(process.execPath, ['bin/dpemu.js', ...args], { encoding: 'utf8' });

test('dpemu --version prints the package version', () => {
  const r = dpemu('--version');
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, `${(JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version}\n`);
});

test('dpemu check accepts both bundled topologies', () => {
  for (const f of ['configs/seed-dvr-snat.yaml', 'configs/lab-dvr-snat.yaml']) {
    const r = dpemu('check', f);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), `${f}: ok`);
  }
});

test('dpemu check names file, line and column of an error and exits 1', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dpe-check-'));
  try {
    const bad = readFileSync('configs/seed-dvr-snat.yaml', 'utf8').replace('qvo2ab77d0f-99: { ofport: 41, tag: 10,', 'qvo2ab77d0f-99: { ofport: 41, tag: 5000,');
    const f = join(dir, 'bad.yaml');
    writeFileSync(f, bad);
    const line = bad.split('\n').findIndex((l) => l.includes('tag: 5000')) + 1;
    const r = dpemu('check', f);
    assert.equal(r.status, 1);
    assert.match(r.stderr, new RegExp(`^${f.replace(/[.]/g, '\\.')}:${line}:\\d+: at /nodes/w07/ovs/br-int/ports/qvo2ab77d0f-99/tag: .*4095`, 'm'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('dpemu trace prints the U-shaped path of the write-up', () => {
  const r = dpemu('trace', '--config', 'configs/seed-dvr-snat.yaml', '--in', 'w07:tap2ab77d0f-99', '--icmp-echo', '--src', '192.168.1.7', '--dst', '8.8.8.8');
  assert.equal(r.status, 0, r.stderr);
  const out = r.stdout;
  assert.match(out, /^ {2}packet 1 > 3 > 4 > 6: left the emulator at w02:eth3$/m);
  // The hops of SCENARIO.md, in order.
  const hops = [
    'w07 qbr2ab77d0f-99', 'w07 br-int', 'w07 qrouter-c4d4b760-41b9-45e1-a607-d054da99c479', 'w07 br-tun', 'w07 eth2', 'fabric fabric',
    'w02 eth2', 'w02 br-tun', 'w02 br-int', 'w02 snat-c4d4b760-41b9-45e1-a607-d054da99c479', 'w02 fip-4617ac50-7b34-4b05-811d-b2afc741d446', 'w02 br-ex',
  ];
  let at = 0;
  for (const h of hops) {
    const i = out.indexOf(`\n  ${h}\n`, at);
    assert.ok(i >= 0, `hop ${h} after offset ${at}`);
    at = i;
  }
  assert.match(out, /b4:96:91:5a:31:78 > 5c:c9:99:60:e0:3c, ethertype IPv4 \(0x0800\), length 192: 10\.206\.107\.238\.58650 > 10\.206\.107\.156\.4789: VXLAN, flags \[I\] \(0x08\), vni 103/);
  assert.match(out, /-A neutron-l3-agent-snat -o rfp-c4d4b760-4 -j SNAT --to-source 112\.65\.210\.200/);
  assert.match(out, /out eth3: fa:17:3e:f7:cd:bc > 5c:c9:99:60:d2:71, ethertype 802\.1Q \(0x8100\), length 146: vlan 103, p 0, ethertype IPv4 \(0x0800\), 112\.65\.210\.200 > 8\.8\.8\.8: ICMP echo request, id 60691, seq 1, length 108/);
});

test('dpemu trace --json gives every hop with its frame in hex; request then reply share state', () => {
  const r = dpemu('trace', '--config', 'configs/seed-dvr-snat.yaml', '--json',
    '--in', 'w07:tap2ab77d0f-99', '--src', '192.168.1.7', '--dst', '8.8.8.8',
    '--in', 'w02:eth3', '--icmp-reply', '--src', '8.8.8.8', '--dst', '112.65.210.200', '--src-mac', '5c:c9:99:60:d2:71', '--dst-mac', 'fa:17:3e:f7:cd:bc', '--vlan', '103');
  assert.equal(r.status, 0, r.stderr);
  const doc = JSON.parse(r.stdout) as { in: string; branches: { outcome: string; hops: { kind: string; frame?: string; node?: string }[] }[] }[];
  assert.equal(doc.length, 2);
  const eth3 = doc[0]!.branches.find((b) => b.outcome === 'left the emulator at w02:eth3')!;
  const last = eth3.hops.filter((h) => h.kind === 'edge').at(-1)!;
  assert.equal(last.frame!.length, 146 * 2);
  assert.ok(doc[1]!.branches.some((b) => b.outcome.startsWith('consumed at vm:dpe-vm')), 'the reply reaches the VM');
  assert.ok(!doc[1]!.branches.some((b) => b.hops.some((h) => h.node === 'w07' && JSON.stringify(h).includes('qrouter'))), 'the reply does not pass the qrouter');
});

test('dpemu trace rejects a bad packet description with a usage error', () => {
  const r = dpemu('trace', '--config', 'configs/seed-dvr-snat.yaml', '--in', 'w07:nope', '--src', '192.168.1.7', '--dst', '8.8.8.8');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--in w07:nope: no such port in the topology \(edge ports: [^)]*w07:tap2ab77d0f-99[^)]*w02:eth3/);
});

test('dpemu trace says which MAC it cannot take from the file and why', () => {
  const lab = dpemu('trace', '--config', 'configs/lab-dvr-snat.yaml', '--in', 'w07:tap2ab77d0f-99', '--src', '192.168.1.7', '--dst', '203.0.113.8');
  assert.equal(lab.status, 2);
  assert.match(lab.stderr, /give --src-mac and --dst-mac \(lab host vm lists no neighbour entry for its gateway 192\.168\.1\.1\)/);
  const noHost = dpemu('trace', '--config', 'configs/lab-dvr-snat.yaml', '--in', 'w02:eth3', '--src', '192.168.1.7', '--dst', '203.0.113.8');
  assert.equal(noHost.status, 2);
  assert.match(noHost.stderr, /\(no lab host plugged into it to take them from\)/);
  const given = dpemu('trace', '--config', 'configs/lab-dvr-snat.yaml', '--in', 'w07:tap2ab77d0f-99', '--src-mac', 'fa:16:3e:b2:ef:af', '--dst-mac', 'fa:16:3e:06:d8:7b', '--src', '192.168.1.7', '--dst', '203.0.113.8');
  assert.equal(given.status, 0, given.stderr);
  assert.match(given.stdout, /consumed at vm:dpe-vm: ICMP type 0 code 0 delivered/); // the file's hosts answer offline
});
