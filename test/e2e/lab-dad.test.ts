// IPv6 duplicate address detection of the emulated qrouter (dad6.ts)
// against a kernel twin: the lab daemon (configs/lab-dvr-snat.yaml,
// default datapath workers), its qrouter's qr- device on the real VM
// namespace's eth0 through the emulated br-int; in the kernel, two dpe-…
// namespaces joined by a veth named as the qr- device with the qrouter's
// MAC, its peer eth0 with the VM's. The same commands on both: `ip -6 addr
// add` without nodad lists the address tentative, then valid; its NS from
// :: is on the wire as tcpdump -nnvv shows the kernel's (but the nonce);
// an address the VM already has ends `dadfailed tentative`; one the
// qrouter has fails the VM's DAD. retrans_time is 8 s on the qr- device
// (both sides) so that the tentative listing is read well within DAD.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { requireRoot } from '../helpers/root.js';
import { requireTool } from '../helpers/tools.js';
import { DaemonProcess } from './daemon-process.js';
import { QR_DEV, UniqueLab, qrouterSides, qrouterVmTwin, type QrouterSide } from './lab-dvr.js';
import { KernelObjects, run, sh, uniqueTag, tcpdumpIn } from './lab-names.js';

let lab: UniqueLab;
let d: DaemonProcess;
const real = new KernelObjects();
const tag = uniqueTag();
const nsA = `dpe-${tag}-da`, nsB = `dpe-${tag}-db`;

/** The inet6 lines of `ns`'s `dev` (each with its lifetimes line): what DAD shows. */
const inet6 = (out: string): string => out.split('\n').filter((l) => l.startsWith('    inet6 ') || l.startsWith('       valid_lft')).join('\n');

const { kernel: kernelSide, emu: emuSide } = qrouterSides(nsA, nsB, () => d, () => lab);

/** Poll the router's `ip -6 addr show dev qr-` until `test` holds (a minute at most: the CLI starts slowly on a loaded box). */
async function until(side: QrouterSide, what: string, test: (out: string) => boolean): Promise<string> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const out = inet6(await side.router(['ip', '-6', 'addr', 'show', 'dev', QR_DEV]));
    if (test(out)) return out;
    assert.ok(Date.now() < deadline, `${what}: not seen in\n${out}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

before(async () => {
  requireRoot('dpemu DAD end-to-end tests');
  requireTool('tcpdump', 'tcpdump');
  lab = new UniqueLab();
  d = new DaemonProcess([lab.file, '--lab']);
  await d.forwarding();
  await qrouterVmTwin(real, tag, nsA, nsB, lab.nsVm, true);
  for (const side of [kernelSide, emuSide]) await side.router(['sysctl', '-w', `net.ipv6.neigh.${QR_DEV}.retrans_time_ms=8000`]);
});

after(async () => {
  await d?.interrupt();
  lab?.cleanup();
  real.cleanup();
});

/** tcpdump's line with its time and the nonce's bytes (drawn at random) taken out. */
const wire = (out: string): string => out.replace(/^\d+:\d+:\d+\.\d+ /gm, '').replace(/(unknown option \(14\), length 8 \(1\): \n\s+0x0000:) +[0-9a-f ]+/, '$1 NONCE');

test('ip -6 addr add without nodad: tentative, one NS from :: on the wire as the kernel\'s, then valid, as in the twin', { timeout: 180_000 }, async () => {
  const seen: Record<string, string> = {};
  for (const [name, side] of [['kernel', kernelSide], ['dpemu', emuSide]] as const) {
    const dump = (await tcpdumpIn(side.vmNs, ['-nnvv', '-l', '-c', '1', '-i', 'eth0', 'icmp6 and ip6[40] == 135 and ip6[8:4] == 0 and ip6[20:4] == 0'], 40_000)).ended;
    await side.router(['ip', '-6', 'addr', 'add', '2001:db8:7::1/64', 'dev', QR_DEV]);
    const during = await until(side, 'tentative', (o) => o.includes('2001:db8:7::1'));
    const ns = await dump;
    assert.equal(ns.status, 0, ns.err);
    const after = await until(side, 'DAD over', (o) => !o.includes('tentative'));
    const routes = await side.router(['ip', '-6', 'route', 'show', 'table', 'local', '2001:db8:7::1']);
    seen[name] = `${during}\n--wire--\n${wire(ns.out)}\n--after--\n${after}\n${routes}`;
  }
  assert.match(seen.kernel!, /2001:db8:7::1\/64 scope global tentative/);
  assert.match(seen.kernel!, /:: > ff02::1:ff00:1: \[icmp6 sum ok\] ICMP6, neighbor solicitation, length 32, who has 2001:db8:7::1/);
  assert.equal(seen.dpemu, seen.kernel);
});

test('a duplicate: the VM has the address (its NA fails the qrouter\'s DAD: dadfailed tentative); the qrouter has one (it fails the VM\'s), as in the twin', { timeout: 180_000 }, async () => {
  const seen: Record<string, string> = {};
  for (const [name, side] of [['kernel', kernelSide], ['dpemu', emuSide]] as const) {
    sh('ip', ['-n', side.vmNs, 'addr', 'add', '2001:db8:7::5/64', 'dev', 'eth0', 'nodad']);
    await side.router(['ip', '-6', 'addr', 'add', '2001:db8:7::5/64', 'dev', QR_DEV]);
    const ours = await until(side, 'dadfailed', (o) => /2001:db8:7::5\/64 .*dadfailed/.test(o));
    // The address selectors over DAD's flags (ip-link-filter.ts), one address a line; the devices' indexes differ between the sides.
    for (const sel of [['tentative'], ['-tentative'], ['dadfailed'], ['-dadfailed', 'scope', 'global'], ['tentative', '-dadfailed']]) {
      seen[name] = `${seen[name] ?? ''}${sel.join(' ')}:\n${(await side.router(['ip', '-6', '-o', 'addr', 'show', 'dev', QR_DEV, ...sel])).replace(/^\d+: /gm, '')}`;
    }
    await side.router(['ip', '-6', 'addr', 'add', '2001:db8:7::9/64', 'dev', QR_DEV, 'nodad']);
    sh('ip', ['-n', side.vmNs, 'addr', 'add', '2001:db8:7::9/64', 'dev', 'eth0']);
    let theirs = '';
    for (const deadline = Date.now() + 60_000; !/2001:db8:7::9\/64 .*dadfailed/.test(theirs); await new Promise((r) => setTimeout(r, 300))) {
      assert.ok(Date.now() < deadline, `the VM's DAD of 2001:db8:7::9 never failed:\n${theirs}`);
      theirs = inet6((await run('ip', ['-n', side.vmNs, '-6', 'addr', 'show', 'dev', 'eth0'])).out);
    }
    seen[name] = `${seen[name]}${ours}\n--VM--\n${theirs}`;
  }
  assert.match(seen.kernel!, /inet6 2001:db8:7::5\/64 scope global dadfailed tentative/);
  assert.match(seen.kernel!, /^dadfailed:\nqr-178fc8e2-fd +inet6 2001:db8:7::5\/64 scope global dadfailed tentative/m);
  assert.equal(seen.dpemu, seen.kernel);
});
