// Real tools some tests compare against (ovs-ofctl, tcpdump, tshark): CI
// installs them with scripts/ensure-test-deps.sh; a missing one fails the
// test loudly instead of skipping it.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

export function requireTool(cmd: string, pkg: string): void {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`]);
  assert.equal(r.status, 0, `${cmd} is missing: run scripts/ensure-test-deps.sh (Debian package ${pkg})`);
}
