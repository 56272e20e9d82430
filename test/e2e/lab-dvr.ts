// configs/lab-dvr-snat.yaml for `dpemu run --lab` in an end-to-end test: its
// lab hosts' namespaces and TAPs renamed with a unique tag (dpe- prefix),
// written to a temporary directory; cleanup() deletes them by exact name.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import assert from 'node:assert/strict';
import { KernelObjects, run, sh, uniqueTag } from './lab-names.js';
import { DaemonProcess, REPO, type LogLine } from './daemon-process.js';

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
    KernelObjects.remove([this.nsVm, this.nsInet], [this.tapVm, this.tapInet]);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * The lab daemons a test file runs, each on a lab of its own. After the
 * file's tests, also when one failed, a daemon still running is killed and
 * every lab is removed.
 */
export class LabDaemons {
  private readonly labs: UniqueLab[] = [];
  private readonly daemons: DaemonProcess[] = [];

  constructor() {
    after(() => {
      for (const d of this.daemons) if (d.exitCode === null) d.child.kill('SIGKILL');
      for (const l of this.labs) l.cleanup();
    });
  }

  /** `dpemu run --lab ARGS` on a new lab, once it forwards; `up` is its 'forwarding' log line. */
  async start(args: string[]): Promise<{ d: DaemonProcess; lab: UniqueLab; up: LogLine }> {
    const lab = new UniqueLab();
    this.labs.push(lab);
    const d = new DaemonProcess([lab.file, '--lab', ...args]);
    this.daemons.push(d);
    const up = await d.forwarding();
    return { d, lab, up };
  }

  /** SIGINT: the daemon exits 0 and leaves nothing of the lab in the kernel. */
  async stop(d: DaemonProcess, lab: UniqueLab): Promise<void> {
    d.signal('SIGINT');
    assert.equal(await d.exit(10_000), 0, d.stderr);
    assert.deepEqual(KernelObjects.leftovers(lab.tag), []);
  }
}

/** The lab's qrouter port and VM as a kernel twin sees them: the qr- device, the two MACs and their EUI-64 link-locals. */
export const QROUTER = 'qrouter-c4d4b760-41b9-45e1-a607-d054da99c479';
export const QR_DEV = 'qr-178fc8e2-fd';
export const QR_MAC = 'fa:16:3e:06:d8:7b', VM_MAC = 'fa:16:3e:b2:ef:af';
export const QR_LL = 'fe80::f816:3eff:fe06:d87b', VM_LL = 'fe80::f816:3eff:feb2:efaf';

/** Until `ns`'s `dev` has its link-local, DAD over (not tentative). */
export async function linkLocalReady(ns: string, dev: string, addr: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const a = await run('ip', ['-n', ns, '-6', 'addr', 'show', 'dev', dev]);
    if (new RegExp(`inet6 ${addr}/64 scope link \n`).test(a.out)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.fail(`${ns} ${dev}: no usable ${addr}`);
}

/**
 * The kernel twin of the lab's qrouter-to-VM link: namespace `nsA` with the
 * qr- device (its MAC), `nsB` the VM's eth0; returns once both link-locals,
 * and the lab VM's (`labVm`), have finished DAD. `forwarding`: the router
 * forwards IPv6 from the start, as the emulated qrouter does (set before
 * the device comes, so that its registration joins ff02::2 as the
 * qrouter's did).
 */
export async function qrouterVmTwin(real: KernelObjects, tag: string, nsA: string, nsB: string, labVm: string, forwarding = false): Promise<void> {
  real.addNetns(nsA);
  real.addNetns(nsB);
  if (forwarding) sh('ip', ['netns', 'exec', nsA, 'sysctl', '-qw', 'net.ipv6.conf.all.forwarding=1']);
  real.veth(`dpe${tag}`, nsA, QR_DEV, nsB, 'eth0', { aMac: QR_MAC });
  sh('ip', ['-n', nsB, 'link', 'set', 'eth0', 'down']);
  sh('ip', ['-n', nsB, 'link', 'set', 'eth0', 'address', VM_MAC, 'up']);
  await linkLocalReady(nsA, QR_DEV, QR_LL);
  await linkLocalReady(nsB, 'eth0', VM_LL);
  await linkLocalReady(labVm, 'eth0', VM_LL);
}

/** One side of a qrouter-to-VM comparison: a command in the qrouter (its output), and the VM's namespace. */
export interface QrouterSide {
  router(words: string[]): Promise<string>;
  readonly vmNs: string;
}

/**
 * The two sides of qrouterVmTwin's comparisons: the kernel twin (`nsA`
 * the router, `nsB` the VM) and the lab daemon's qrouter (through `ip
 * netns exec`, a failure asserted) with the lab's VM. `daemon` and `lab`
 * are read when used (a test's before() makes them).
 */
export function qrouterSides(nsA: string, nsB: string, daemon: () => DaemonProcess, lab: () => UniqueLab): { kernel: QrouterSide; emu: QrouterSide } {
  return {
    kernel: { router: async (w) => (await run('ip', ['netns', 'exec', nsA, ...w])).out, vmNs: nsB },
    emu: {
      router: async (w) => {
        const r = await daemon().apart(['ip', 'w07', 'netns', 'exec', QROUTER, ...w]);
        assert.equal(r.status, 0, `${w.join(' ')}: ${r.err}`);
        return r.out;
      },
      get vmNs() {
        return lab().nsVm;
      },
    },
  };
}
