// Root-only suites (TAPs, namespaces) call requireRoot() first: without root
// they fail loudly rather than pass silently, since CI and users run as root.
import assert from 'node:assert/strict';

export function requireRoot(what: string): void {
  assert.equal(process.getuid?.(), 0, `${what} needs root (CI runs as root): run the tests as root`);
}
