// The control families' CLI side, answered without a daemon: --help is dpemu's; options
// after a family name are the real tool's (conntrack's -V), not dpemu's own; a flow file
// that cannot be read is reported as ovs-ofctl reports it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

const NO_DAEMON = { ...process.env, DPEMU_SOCKET: '/nonexistent/dpe-cli-help.sock' };
const dpemu = (...args: string[]) => spawnSync(process.execPath, ['bin/dpemu.js', ...args], { encoding: 'utf8', env: NO_DAEMON });

test('FAMILY --help and -h print the usage and exit 0 without asking the daemon', () => {
  for (const [family, usage] of [['ofctl|ovs-ofctl', 'SUBCMD NODE BRIDGE'], ['reload', '[--socket PATH]\n'], ['tcpdump', '-i NODE:[NS:]IFACE'], ['conntrack', 'NODE -n NS']]) {
    for (const flag of ['--help', '-h']) {
      const r = dpemu(family!.split('|')[0]!, flag);
      assert.equal(r.status, 0, `${family} ${flag}: ${r.stderr}`);
      assert.ok(r.stdout.startsWith(`Usage: dpemu ${family} ${usage}`), `${family} ${flag}: ${r.stdout}`);
    }
  }
});

test("-V after a family goes to the daemon (conntrack's version), dpemu -V is dpemu's", () => {
  const r = dpemu('conntrack', 'w02', '-n', 'snat-x', '-V');
  assert.equal(r.status, 1);
  assert.match(r.stderr, /no daemon listening/);
  assert.match(dpemu('-V').stdout, /^\d+\.\d+\.\d+\n$/);
});

test('ofctl add-flows with a file that is not there: ovs-ofctl 3.1\'s words, exit 1', () => {
  const r = dpemu('ofctl', 'add-flows', 'w07', 'br-int', '/nonexistent/dpe-flows.txt');
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^ovs-ofctl: \/nonexistent\/dpe-flows\.txt: open failed \(No such file or directory\)\n$/m);
});

test("tcpdump -c with a bad count names it, as tcpdump 4.99 does", () => {
  const r = dpemu('tcpdump', '-i', 'w07:eth2', '-c', 'x');
  assert.deepEqual([r.status, r.stderr.split('\n').at(-2)], [1, 'tcpdump: invalid packet count x']);
});

test('ovs-vsctl, ovs-ofctl and ovs-appctl are the vsctl, ofctl and appctl families, as OVS users type them', () => {
  for (const [alias, family] of [['ovs-vsctl', 'vsctl'], ['ovs-ofctl', 'ofctl'], ['ovs-appctl', 'appctl']]) {
    const r = dpemu(alias!, '--help');
    assert.equal(r.status, 0, `${alias}: ${r.stderr}`);
    assert.ok(r.stdout.startsWith(`Usage: dpemu ${family}|${alias} `), `${alias}: ${r.stdout}`);
  }
  const r = dpemu('ovs-ofctl', 'add-flows', 'w07', 'br-int', '/nonexistent/dpe-flows.txt');
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^ovs-ofctl: \/nonexistent\/dpe-flows\.txt: open failed/m);
});
