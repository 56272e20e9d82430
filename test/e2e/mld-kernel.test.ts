// MLDv2 of the emulated qrouter (mld6.ts) against a kernel twin: the lab
// daemon (configs/lab-dvr-snat.yaml), its qrouter's qr- device on the real
// VM namespace's eth0 through the emulated br-int; in the kernel, two dpe-…
// namespaces joined by a veth named as the qr- device with the qrouter's
// MAC (IPv6 forwarding on in its namespace before the device came, as the
// qrouter has it), its peer eth0 with the VM's. The same steps on both:
// `ip -6 addr add ... nodad` (every group reported twice, CHANGE_TO_EXCLUDE),
// `ip -6 addr del` (the group left, twice, CHANGE_TO_INCLUDE), an MLDv2
// general query from the VM's side (one report, MODE_IS_EXCLUDE), `add`
// with DAD (the same two reports) and a query for its group (that group's
// record); the
// reports as tcpdump -nnv prints them on the VM's wire, and the ff02::16
// NOARP neighbour they leave.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { requireRoot } from '../helpers/root.js';
import { requireTool } from '../helpers/tools.js';
import { DaemonProcess } from './daemon-process.js';
import { QR_DEV, QR_MAC, UniqueLab, VM_LL, VM_MAC, qrouterSides, qrouterVmTwin, type QrouterSide } from './lab-dvr.js';
import { KernelObjects, run, uniqueTag, tcpdumpIn } from './lab-names.js';

let lab: UniqueLab;
let d: DaemonProcess;
const real = new KernelObjects();
const tag = uniqueTag();
const nsA = `dpe-${tag}-ma`, nsB = `dpe-${tag}-mb`;

const { kernel: kernelSide, emu: emuSide } = qrouterSides(nsA, nsB, () => d, () => lab);

/** An MLDv2 query for the group argv[1] (`::`: general, to ff02::1), maximum response delay 1000 ms, out of eth0 from the VM's link-local, as a querier sends it: hop limit 1, router alert. */
const QUERY_PY = `
import socket, struct, sys
def csum(b):
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
group = socket.inet_pton(socket.AF_INET6, sys.argv[1])
src, dst = socket.inet_pton(socket.AF_INET6, '${VM_LL}'), group if group[0] == 0xff else socket.inet_pton(socket.AF_INET6, 'ff02::1')
icmp = struct.pack('!BBHHH16sBBH', 130, 0, 0, 1000, 0, group, 2, 125, 0)
icmp = icmp[:2] + struct.pack('!H', csum(src + dst + struct.pack('!I3xB', len(icmp), 58) + icmp)) + icmp[4:]
body = bytes([58, 0, 5, 2, 0, 0, 1, 0]) + icmp
ip6 = struct.pack('!IHBB', 0x60000000, len(body), 0, 1) + src + dst
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(('eth0', 0))
s.send(bytes.fromhex('3333') + dst[12:] + bytes.fromhex('${VM_MAC.replaceAll(':', '')}' + '86dd') + ip6 + body)
`;

before(async () => {
  requireRoot('dpemu MLD end-to-end tests');
  requireTool('tcpdump', 'tcpdump');
  requireTool('python3', 'python3');
  lab = new UniqueLab();
  d = new DaemonProcess([lab.file, '--lab']);
  await d.forwarding();
  await qrouterVmTwin(real, tag, nsA, nsB, lab.nsVm, true);
  // The twin's own reports of its link-local's DAD (the last within a second of it) are over.
  await new Promise((r) => setTimeout(r, 2000));
});

after(async () => {
  await d?.interrupt();
  lab?.cleanup();
  real.cleanup();
});

/** The qrouter's next `n` MLD reports on the VM's wire, as tcpdump -nnv prints them (without the time), while `act` runs. */
async function reports(side: QrouterSide, n: number, act: () => Promise<unknown>): Promise<string> {
  const cap = await tcpdumpIn(side.vmNs, ['-nnv', '-l', '-c', String(n), '-i', 'eth0', `ether src ${QR_MAC} and ip6 dst ff02::16`], 60_000);
  await act();
  const r = await cap.ended;
  assert.equal(r.status, 0, `${n} report(s) not seen: ${r.out}${r.err}`);
  return r.out.replace(/^\d+:\d+:\d+\.\d+ /gm, '');
}

test('addr add, addr del, a general query, add with DAD and a group-specific query: the qrouter\'s MLD reports on the wire as the twin\'s, and its ff02::16 NOARP neighbour', { timeout: 300_000 }, async () => {
  const seen: Record<string, string> = {};
  for (const [name, side] of [['kernel', kernelSide], ['dpemu', emuSide]] as const) {
    const add = await reports(side, 2, () => side.router(['ip', '-6', 'addr', 'add', '2001:db8:7::1/64', 'dev', QR_DEV, 'nodad']));
    const del = await reports(side, 2, () => side.router(['ip', '-6', 'addr', 'del', '2001:db8:7::1/64', 'dev', QR_DEV]));
    const query = await reports(side, 1, () => run('ip', ['netns', 'exec', side.vmNs, 'python3', '-c', QUERY_PY, '::']));
    // With DAD (retrans_time 1 s): the same two reports at `add`, the address tentative; then a query for its group alone.
    const dad = await reports(side, 2, () => side.router(['ip', '-6', 'addr', 'add', '2001:db8:7::2/64', 'dev', QR_DEV]));
    const gsq = await reports(side, 1, () => run('ip', ['netns', 'exec', side.vmNs, 'python3', '-c', QUERY_PY, 'ff02::1:ff00:2']));
    const neigh = (await side.router(['ip', '-6', 'neigh', 'show', 'nud', 'all'])).split('\n').filter((l) => l.startsWith('ff02::16 ')).join('\n');
    seen[name] = `--add--\n${add}--del--\n${del}--query--\n${query}--add with DAD--\n${dad}--group query--\n${gsq}--neigh--\n${neigh}`;
  }
  assert.match(seen.kernel!, /multicast listener report v2, 4 group record\(s\) \[gaddr ff02::1:ff00:1 to_ex, 0 source\(s\)\] \[gaddr ff02::1:ff00:0 to_ex, 0 source\(s\)\] \[gaddr ff02::1:ff06:d87b to_ex, 0 source\(s\)\] \[gaddr ff02::2 to_ex, 0 source\(s\)\]/);
  assert.match(seen.kernel!, /1 group record\(s\) \[gaddr ff02::1:ff00:1 to_in, 0 source\(s\)\]/);
  assert.match(seen.kernel!, /--query--\n.*3 group record\(s\) \[gaddr ff02::1:ff00:0 is_ex, 0 source\(s\)\] \[gaddr ff02::1:ff06:d87b is_ex, 0 source\(s\)\] \[gaddr ff02::2 is_ex, 0 source\(s\)\]/);
  assert.match(seen.kernel!, /--group query--\n.*1 group record\(s\) \[gaddr ff02::1:ff00:2 is_ex, 0 source\(s\)\]/);
  assert.match(seen.kernel!, /^ff02::16 dev qr-178fc8e2-fd lladdr 33:33:00:00:00:16 NOARP $/m);
  assert.equal(seen.dpemu, seen.kernel);
});
