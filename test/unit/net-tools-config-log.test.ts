// arp -s and -d change the ARP table as `ip neigh` writes do: with datapath
// workers each is kept in its worker's configuration log (replayed after a
// restart, as a PERMANENT entry is configuration); arp's listings and the
// read-only net-tools commands are not.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kept } from '../../src/workers/config-log.js';

const NS = ['w02', '-n', 'snat-x'];

test('arp writes are kept in the configuration log, its reads and route, ifconfig and netstat are not', () => {
  assert.deepEqual(kept('arp', [...NS, '-s', '192.0.2.9', '02:00:00:00:00:09']), { bridge: null });
  assert.deepEqual(kept('arp', [...NS, '-i', 'sg-1', '-d', '192.0.2.9']), { bridge: null });
  assert.deepEqual(kept('arp', [...NS, '--set', '192.0.2.9', '02:00:00:00:00:09', 'temp']), { bridge: null });
  for (const [family, argv] of [['arp', [...NS, '-an']], ['arp', [...NS, '-i', 'dsx']], ['route', [...NS, '-n']], ['ifconfig', [...NS, '-a']], ['netstat', [...NS, '-rn']]] as const) {
    assert.equal(kept(family, argv), null, `${family} ${argv.join(' ')}`);
  }
});
