// ip -d's kind data as iproute2 6.1 prints it (src/netns/link-info.ts); the devices themselves are held to the kernel's in test/e2e/ip-root-kernel.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bridgeData, infoJson, infoText } from '../../src/netns/link-info.js';
import { jsonDump } from '../../src/netns/json-writer.js';
import { parseMacNum } from '../../src/wire/addr.js';

test("a bridge id prints its MAC's bytes unpadded (br_dump_bridge_id's %x), and timers as %7.2f in text, %.2f in JSON", () => {
  const attrs = bridgeData({ mac: parseMacNum('02:09:a2:f1:fa:13')!, stp: false, ageing: 30000, forwardDelay: 0, mcastSnooping: false, gcTimer: 12345 });
  const text = infoText(attrs);
  assert.match(text, / bridge_id 8000\.2:9:a2:f1:fa:13 designated_root 8000\.2:9:a2:f1:fa:13 /);
  assert.match(text, / hello_timer {4}0\.00 tcn_timer {4}0\.00 topology_change_timer {4}0\.00 gc_timer  123\.45 group_fwd_mask 0 /);
  assert.match(jsonDump([infoJson(attrs)], false), /"hello_timer":0\.00,"tcn_timer":0\.00,"topology_change_timer":0\.00,"gc_timer":123\.45,"group_fwd_mask":"0","group_addr":"01:80:c2:00:00:00"/);
});
