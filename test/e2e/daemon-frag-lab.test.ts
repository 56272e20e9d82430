// IPv4 fragments through the running lab (configs/lab-dvr-snat.yaml under
// `dpemu run --lab`): `ping -s 3000` from the VM namespace to the internet
// host. The request leaves the VM in fragments, crosses the snat namespace
// (reassembled before conntrack, SNATed, sent on in the same fragments), the
// internet host (a real kernel) reassembles it and answers with a fragmented
// reply, which comes back un-SNATed and in fragments to the VM, whose kernel
// reassembles it: real ping counts the replies, real tcpdump shows the
// fragments at both ends.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { requireRoot } from '../helpers/root.js';
import { KernelObjects, run, tcpdumpIn, type Ran } from './lab-names.js';
import { DaemonProcess } from './daemon-process.js';
import { UniqueLab } from './lab-dvr.js';

let lab: UniqueLab | null = null;
let d: DaemonProcess | null = null;
after(() => {
  if (d && d.exitCode === null) d.child.kill('SIGKILL');
  lab?.cleanup();
});

test('lab DVR path: ping -s 3000 from the VM namespace through SNAT gets its replies, in fragments both ways', { timeout: 180_000 }, async () => {
  requireRoot('dpemu run end-to-end tests');
  lab = new UniqueLab();
  const { tag, nsVm, nsInet } = lab;
  d = new DaemonProcess([lab.file, '--lab']);
  await d.forwarding();
  await run('ip', ['netns', 'exec', nsVm, 'ping', '-c', '1', '-W', '2', '-n', '203.0.113.8'], 10_000); // neighbours learned
  // The snat namespace's sg- has MTU 1500 (the write-up's `ip addr`) and w02's underlay 1500: a full-size
  // fragment from sg- cannot cross VXLAN (50 bytes more), on the real node either. The internet host's path
  // to the SNAT address is given the tenant network's 1450, so its reply fragments fit the VM's side.
  const mtu = await run('ip', ['-n', nsInet, 'route', 'add', '198.51.100.200/32', 'via', '203.0.113.1', 'dev', 'eth0', 'mtu', '1450']);
  assert.equal(mtu.status, 0, mtu.out);

  // tcpdump -v prints each fragment's id, offset and flags: 3 request and 3 reply fragments at each end, per ping.
  const dumps: Promise<Ran>[] = [];
  for (const ns of [nsVm, nsInet]) dumps.push((await tcpdumpIn(ns, ['-nn', '-v', '-l', '-c', '12', '-i', 'eth0', 'ip proto 1'], 30_000)).ended);
  const ping = await run('ip', ['netns', 'exec', nsVm, 'ping', '-c', '2', '-i', '0.5', '-W', '3', '-s', '3000', '-n', '203.0.113.8'], 15_000);
  assert.match(ping.out, /2 packets transmitted, 2 received/, ping.out);
  assert.match(ping.out, /3008 bytes from 203\.0\.113\.8: icmp_seq=1/, ping.out);
  const [atVm, atInet] = await Promise.all(dumps);

  // The internet host got the request in fragments from the SNAT address (the kernel's reassembly answered it).
  assert.match(atInet!.out, /offset 0, flags \[\+\], proto ICMP \(1\), length \d+\)\n\s+198\.51\.100\.200 > 203\.0\.113\.8: ICMP echo request/, atInet!.out);
  assert.match(atInet!.out, /offset \d+, flags \[none\], proto ICMP \(1\), length \d+\)\n\s+198\.51\.100\.200 > 203\.0\.113\.8: ip-proto-1/, atInet!.out);
  // The VM got the reply in fragments, to its own address: un-SNATed, and cut again for the VM side.
  assert.match(atVm!.out, /offset 0, flags \[\+\], proto ICMP \(1\), length \d+\)\n\s+203\.0\.113\.8 > 192\.168\.1\.7: ICMP echo reply/, atVm!.out);
  assert.match(atVm!.out, /offset \d+, flags \[none\], proto ICMP \(1\), length \d+\)\n\s+203\.0\.113\.8 > 192\.168\.1\.7: ip-proto-1/, atVm!.out);

  // conntrack -L in the snat namespace shows the echo's connection, as the kernel's would.
  const ct = await d.cli(['conntrack', 'w02', '-n', 'snat-c4d4b760-41b9-45e1-a607-d054da99c479', '-L', '-p', 'icmp']);
  assert.match(ct.out, /^icmp +1 \d+ src=192\.168\.1\.7 dst=203\.0\.113\.8 type=8 code=0 id=\d+ src=203\.0\.113\.8 dst=198\.51\.100\.200 type=0 code=0 id=\d+ /m, ct.out);

  d.signal('SIGINT');
  assert.equal(await d.exit(8_000), 0, d.stderr);
  assert.deepEqual(KernelObjects.leftovers(tag), []);
});
