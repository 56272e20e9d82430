// Addresses and names as the reference derives them (issue item 7).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatIp4, parseIp4 } from '../../src/netns/addr.js';
import { fipRouterRule, fprDev, inFipLinkLocalPool, portDev, rfpDev, rfpFprPair, snatIndex, snatRedirect } from '../../src/netns/neutron-names.js';

const ip = (s: string) => parseIp4(s)!;

test('3232235777 is 192.168.1.1 read as an integer; 10.0.0.1/24 gives 167772161', () => {
  assert.equal(snatIndex(ip('192.168.1.1')), 3232235777);
  assert.equal(snatIndex(ip('10.0.0.1')), 167772161);
  assert.deepEqual(snatRedirect(ip('192.168.1.1'), 24, ip('192.168.1.6'), 'qr-178fc8e2-fd'), {
    rule: '3232235777:\tfrom 192.168.1.1/24 lookup 3232235777',
    route: 'default via 192.168.1.6 dev qr-178fc8e2-fd',
    table: 3232235777,
  });
});

test('rfp- gets the even /31 address, fpr- the odd one', () => {
  const p = rfpFprPair(ip('169.254.96.32'));
  assert.deepEqual([formatIp4(p.rfp), formatIp4(p.fpr)], ['169.254.96.32', '169.254.96.33']);
  assert.deepEqual(rfpFprPair(ip('169.254.113.29')), { rfp: ip('169.254.113.28'), fpr: ip('169.254.113.29') });
  assert.equal(inFipLinkLocalPool(ip('169.254.96.32')), true);
  assert.equal(inFipLinkLocalPool(ip('169.254.31.28')), false, 'the older, smaller pool');
});

test('device names from ids', () => {
  assert.equal(rfpDev('c4d4b760-41b9-45e1-a607-d054da99c479'), 'rfp-c4d4b760-4');
  assert.equal(fprDev('c4d4b760-41b9-45e1-a607-d054da99c479'), 'fpr-c4d4b760-4');
  assert.equal(portDev('qr-', '178fc8e2-fd3a-4b5c-9d6e-000000000000'), 'qr-178fc8e2-fd');
  assert.equal(fipRouterRule('eeeeeeee-eeee', ip('169.254.88.135')), '2852018311:\tfrom all iif fpr-eeeeeeee-e lookup 2852018311');
});
