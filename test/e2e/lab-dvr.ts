// configs/lab-dvr-snat.yaml for `dpemu run --lab` in an end-to-end test: its
// lab hosts' namespaces and TAPs renamed with a unique tag (dpe- prefix),
// written to a temporary directory; cleanup() deletes them by exact name.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KernelObjects, uniqueTag } from './lab-names.js';
import { REPO } from './daemon-process.js';

export class UniqueLab {
  readonly tag = uniqueTag();
  /** The VM's namespace (on w07's tap2ab77d0f-99) and the internet host's (behind the ToR), and their TAPs. */
  readonly nsVm = `dpe-${this.tag}-vm`;
  readonly nsInet = `dpe-${this.tag}-in`;
  readonly tapVm = `dpe${this.tag}v`;
  readonly tapInet = `dpe${this.tag}i`;
  private readonly dir = mkdtempSync(join(tmpdir(), 'dpemu-e2e-'));
  readonly file = join(this.dir, 'lab.yaml');

  constructor() {
    const names = { 'netns: dpe-vm': `netns: ${this.nsVm}`, 'netns: dpe-inet': `netns: ${this.nsInet}`, 'dev: dpe-vm0': `dev: ${this.tapVm}`, 'dev: dpe-inet0': `dev: ${this.tapInet}` };
    let text = readFileSync(join(REPO, 'configs/lab-dvr-snat.yaml'), 'utf8');
    for (const [from, to] of Object.entries(names)) {
      if (!text.includes(from)) throw new Error(`configs/lab-dvr-snat.yaml has no "${from}"`);
      text = text.replaceAll(from, to);
    }
    writeFileSync(this.file, text);
  }

  /** Delete what the daemon may have left (after a crash or SIGKILL), by exact name, and the file. */
  cleanup(): void {
    const objs = new KernelObjects();
    objs.ownNetns(this.nsVm);
    objs.ownNetns(this.nsInet);
    objs.ownLink(this.tapVm);
    objs.ownLink(this.tapInet);
    objs.cleanup();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
