// `dpemu tcpdump`'s closing lines, as tcpdump 4.99 prints them (its PLURAL_SUFFIX).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { captureSummary } from '../../src/cli/tcpdump.js';

test('the summary says "packet" for one and "packets" otherwise', () => {
  assert.equal(captureSummary(1, 0), '1 packet captured\n1 packet received by filter\n0 packets dropped by kernel\n');
  assert.equal(captureSummary(2, 1), '2 packets captured\n2 packets received by filter\n1 packet dropped by kernel\n');
});
