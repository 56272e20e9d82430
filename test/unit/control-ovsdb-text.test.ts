import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ovsdbMap, ovsdbString, stableUuid } from '../../src/control/ovsdb-text.js';

// The write-up's own `ovs-vsctl show` (SCENARIO.md, OVS 2.5.5) is the reference.
test('strings are quoted as ovs-vsctl quotes them', () => {
  assert.equal(ovsdbString('br-int'), 'br-int');
  assert.equal(ovsdbString('patch-tun'), 'patch-tun');
  assert.equal(ovsdbString('qvo2ab77d0f-99'), '"qvo2ab77d0f-99"');
  assert.equal(ovsdbString('vxlan-0ace6bee'), '"vxlan-0ace6bee"');
  assert.equal(ovsdbString('true'), '"true"');
  assert.equal(ovsdbString('2.5.5'), '"2.5.5"');
});

test('maps sort by key and quote values', () => {
  assert.equal(
    ovsdbMap({ remote_ip: '10.206.107.238', out_key: 'flow', local_ip: '10.206.107.156', in_key: 'flow', df_default: 'true' }),
    '{df_default="true", in_key=flow, local_ip="10.206.107.156", out_key=flow, remote_ip="10.206.107.238"}',
  );
});

test('stable UUIDs look like UUIDs and do not change', () => {
  assert.match(stableUuid('x'), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.equal(stableUuid('x'), stableUuid('x'));
});
