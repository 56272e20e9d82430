// ifconfig and netstat -i list devices in the order net-tools 2.10's
// nstrcmp sorts their names: its own test cases (lib/nstrcmp.c), and
// Neutron's names, whose digits inside a name compare as characters.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nstrcmp } from '../../src/control/ifconfig-commands.js';

test("nstrcmp orders names as net-tools' own test cases say", () => {
  const cases: [string, string, number][] = [
    ['eth1', 'eth1', 0], ['eth0:1', 'eth0:1', 0], ['lan', 'lan', 0], ['100', '100', 0], ['', '', 0], ['a:b:c', 'a:b:c', 0],
    ['a', 'aa', -1], ['eth0', 'eth1', -1], ['eth1', 'eth20', -1], ['eth20', 'eth100', -1], ['eth1', 'eth13', -1], ['eth', 'eth2', -1],
    ['eth0:1', 'eth0:2', -1], ['eth1:10', 'eth13:10', -1], ['eth1:1', 'eth1:13', -1],
    ['aa', 'a', 1], ['eth2', 'eth1', 1], ['eth13', 'eth1', 1], ['eth2', 'eth', 1], ['eth2:10', 'eth2:1', 1], ['eth2:5', 'eth2:4', 1],
    ['eth3:2', 'eth2:3', 1], ['eth13:1', 'eth1:0', 1], ['a1b12', 'a1b2', 1],
    ['qr-178fc8e2-fd', 'qr-2ab77d0f-99', -1], ['fpr-3bbebb1a-5', 'fpr-c4d4b760-4', -1], ['fip-vif.103', 'fip-vif.12', 1],
  ];
  for (const [a, b, want] of cases) assert.equal(Math.sign(nstrcmp(a, b)), want, `nstrcmp(${a}, ${b})`);
});
