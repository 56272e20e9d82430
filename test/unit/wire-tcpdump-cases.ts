// Frames for the tcpdump formatter's tests (wire-tcpdump*.test.ts): the
// write-up's captures first, then the formats around them.
import { parseIpv4, parseMac } from '../../src/wire/addr.js';
import { buildFrame, type FrameSpec } from '../../src/wire/frame.js';
import { VxlanTunnel, vxlanEncap } from '../../src/wire/vxlan.js';

export const VM = 'fa:16:3e:b2:ef:af'; // the VM's eth0
export const QR = 'fa:16:3e:06:d8:7b'; // qr-178fc8e2-fd, the gateway 192.168.1.1
export const REQ: FrameSpec = { src: VM, dst: QR, ip: { src: '192.168.1.7', dst: '8.8.8.8', id: 0x1234 }, icmp: { type: 8, id: 60691, seq: 1, data: 100 } };
export const PROBE = (): Uint8Array =>
  buildFrame({ src: VM, dst: QR, ip: { src: '192.168.1.7', dst: '8.8.8.8', ttl: 1, df: false, id: 0x4d2 }, udp: { sport: 45000, dport: 33434, payload: 32 } });
export const SYN = (): Uint8Array =>
  buildFrame({
    src: VM,
    dst: QR,
    ip: { src: '192.168.1.7', dst: '203.0.113.5', id: 777 },
    tcp: { sport: 51234, dport: 8080, seq: 1000, flags: 'S', win: 64240, options: [2, 4, 5, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7] },
  });
export const err = (type: number, code: number, quote: Uint8Array, info?: number): Uint8Array =>
  buildFrame({ src: QR, dst: VM, ip: { src: '192.168.1.1', dst: '192.168.1.7', df: false }, icmp: { type, code, info, data: [...quote] } });
export const VX = (inner: Uint8Array, mutate?: (f: Uint8Array) => void): Uint8Array => {
  const t = new VxlanTunnel();
  const a = parseMac('b4:96:91:5a:31:78')!;
  const b = parseMac('5c:c9:99:60:e0:3c')!;
  t.srcMacHi = a.hi;
  t.srcMacLo = a.lo;
  t.dstMacHi = b.hi;
  t.dstMacLo = b.lo;
  t.srcIp = parseIpv4('10.206.107.238')!;
  t.dstIp = parseIpv4('10.206.107.156')!;
  t.hashSeed = 5924; // makes this flow's source port 58650, as in the write-up
  const slab = new Uint8Array(inner.length + 128);
  slab.set(inner, 64);
  const n = vxlanEncap(slab, 64, inner.length, 103, t);
  const f = slab.slice(64 - 50, 64 - 50 + n);
  mutate?.(f);
  return f;
};
export const INNER = (): Uint8Array => buildFrame({ ...REQ, src: 'fa:16:3f:13:77:c5', dst: 'fa:16:3e:d1:d8:49' });

/** [name, frame]: the write-up's captures first, then the formats around them. */
export const CASES: [string, () => Uint8Array][] = [
  ['1 VM eth0: echo request', () => buildFrame(REQ)],
  ['16 w02 eth3: vlan 103 after SNAT', () => buildFrame({ ...REQ, src: 'fa:17:3e:f7:cd:bc', dst: '5c:c9:99:60:d2:71', vlans: [103], ip: { src: '112.65.210.200', dst: '8.8.8.8' } })],
  ['7 w07 eth2: VXLAN', () => VX(INNER())],
  ['reply: echo reply to the VM', () => buildFrame({ src: 'fa:16:3e:d1:d8:49', dst: VM, ip: { src: '8.8.8.8', dst: '192.168.1.7', ttl: 50 }, icmp: { type: 0, id: 60691, seq: 1, data: 100 } })],
  ['ARP request', () => buildFrame({ src: VM, dst: 'ff:ff:ff:ff:ff:ff', arp: { sha: VM, spa: '192.168.1.7', tpa: '192.168.1.1' } })],
  ['ARP reply', () => buildFrame({ src: QR, dst: VM, arp: { op: 2, sha: QR, spa: '192.168.1.1', tha: VM, tpa: '192.168.1.7' } })],
  ['ARP reply padded by a NIC', () => buildFrame({ src: QR, dst: VM, padTo: 60, arp: { op: 2, sha: QR, spa: '192.168.1.1', tha: VM, tpa: '192.168.1.7' } })],
  ['ARP request with a target MAC', () => buildFrame({ src: VM, dst: QR, arp: { sha: VM, spa: '192.168.1.7', tha: QR, tpa: '192.168.1.1' } })],
  ['QinQ 88a8 + 8100 with PCP and DEI', () => buildFrame({ ...REQ, vlans: [{ vid: 100, tpid: 0x88a8, pcp: 3 }, { vid: 103, dei: 1 }] })],
  ['two 8100 tags', () => buildFrame({ ...REQ, vlans: [100, 103] })],
  ['traceroute probe', PROBE],
  ['time exceeded, router quoting 8 bytes', () => err(11, 0, PROBE().subarray(14, 42))],
  ['time exceeded, Linux quoting it all', () => err(11, 0, PROBE().subarray(14))],
  ['reassembly time exceeded', () => err(11, 1, PROBE().subarray(14))],
  ['net unreachable', () => err(3, 0, PROBE().subarray(14))],
  ['host unreachable', () => err(3, 1, PROBE().subarray(14))],
  ['protocol unreachable', () => err(3, 2, PROBE().subarray(14))],
  ['udp port unreachable', () => err(3, 3, PROBE().subarray(14))],
  ['tcp port unreachable', () => err(3, 3, SYN().subarray(14))],
  ['frag needed with mtu', () => err(3, 4, PROBE().subarray(14), 1450)],
  ['admin prohibited filter (REJECT)', () => err(3, 13, PROBE().subarray(14))],
  ['unknown unreachable code', () => err(3, 16, PROBE().subarray(14))],
  ['redirect host', () => err(5, 1, buildFrame(REQ).subarray(14, 42), parseIpv4('192.168.1.6')!)],
  ['parameter problem', () => err(12, 0, buildFrame(REQ).subarray(14, 42), 0x14000000)],
  ['error with its quote cut short', () => err(3, 1, buildFrame(REQ).subarray(14, 30))],
  ['time stamp request', () => buildFrame({ src: QR, dst: VM, ip: { src: '192.168.1.1', dst: '192.168.1.7' }, icmp: { type: 13, id: 5, seq: 6, data: 12 } })],
  ['unknown ICMP type', () => buildFrame({ src: QR, dst: VM, ip: { src: '192.168.1.1', dst: '192.168.1.7' }, icmp: { type: 42, code: 3, data: 4 } })],
  ['TCP SYN with options', SYN],
  ['TCP SYN-ACK', () => buildFrame({ src: QR, dst: VM, ip: { src: '203.0.113.5', dst: '192.168.1.7' }, tcp: { sport: 8080, dport: 51234, seq: 5000, ack: 1001, flags: 'S.', win: 65160, options: [2, 4, 5, 0xb4, 1, 1, 4, 2, 1, 3, 3, 7] } })],
  ['TCP ACK (relative from here on)', () => buildFrame({ src: VM, dst: QR, ip: { src: '192.168.1.7', dst: '203.0.113.5' }, tcp: { sport: 51234, dport: 8080, seq: 1001, ack: 5001, flags: '.', win: 502 } })],
  ['TCP data', () => buildFrame({ src: VM, dst: QR, ip: { src: '192.168.1.7', dst: '203.0.113.5' }, tcp: { sport: 51234, dport: 8080, seq: 1001, ack: 5001, flags: 'P.', win: 502, payload: [...Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n')] } })],
  ['TCP FIN with timestamps', () => buildFrame({ src: VM, dst: QR, ip: { src: '192.168.1.7', dst: '203.0.113.5' }, tcp: { sport: 51234, dport: 8080, seq: 1028, ack: 5001, flags: 'F.', win: 502, options: [1, 1, 8, 10, 0, 0, 0, 9, 0, 0, 0, 8] } })],
  ['TCP SACK', () => buildFrame({ src: QR, dst: VM, ip: { src: '203.0.113.5', dst: '192.168.1.7' }, tcp: { sport: 8080, dport: 51234, seq: 5001, ack: 1010, flags: '.', win: 10, options: [1, 1, 5, 10, 0, 0, 0x03, 0xf2, 0, 0, 0x03, 0xf9] } })],
  ['TCP RST', () => buildFrame({ src: VM, dst: QR, ip: { src: '192.168.1.7', dst: '198.51.100.9' }, tcp: { sport: 40000, dport: 22, seq: 77, flags: 'R', win: 0 } })],
  ['TCP all flags, urg', () => buildFrame({ src: VM, dst: QR, ip: { src: '192.168.1.7', dst: '198.51.100.9' }, tcp: { sport: 40000, dport: 23000, seq: 77, ack: 5, flags: 'FSRPUEW', win: 10 } })],
  ['TCP no flags', () => buildFrame({ src: VM, dst: QR, ip: { src: '192.168.1.7', dst: '198.51.100.9' }, tcp: { sport: 40000, dport: 23000, seq: 1, flags: 0, win: 10 } })],
  ['UDP', () => buildFrame({ src: VM, dst: QR, ip: { src: '192.168.1.7', dst: '203.0.113.5' }, udp: { sport: 40000, dport: 50000, payload: 10 } })],
  ['UDP empty, no checksum', () => buildFrame({ src: VM, dst: QR, ip: { src: '192.168.1.7', dst: '203.0.113.5' }, udp: { sport: 40000, dport: 50000, csum: false } })],
  ['first fragment', () => buildFrame({ src: VM, dst: QR, ip: { src: '192.168.1.7', dst: '8.8.8.8', mf: true, df: false, id: 99 }, icmp: { type: 8, id: 1, seq: 2, data: 100 } })],
  ['later fragment', () => buildFrame({ src: VM, dst: QR, ip: { src: '192.168.1.7', dst: '8.8.8.8', df: false, fragOffset: 1480, id: 99, proto: 1 }, payload: [...new Uint8Array(100)] })],
  ['IP options (router alert)', () => buildFrame({ src: VM, dst: QR, ip: { src: '192.168.1.7', dst: '8.8.8.8', options: [148, 4, 0, 0] }, icmp: { type: 8, id: 1, seq: 2, data: 8 } })],
  ['unknown IP protocol', () => buildFrame({ src: VM, dst: QR, ip: { src: '192.168.1.7', dst: '8.8.8.8', proto: 99 }, payload: [1, 2, 3, 4, 5, 6, 7, 8] })],
  ['OSPF hello in the fip namespace', () => buildFrame({ src: 'fa:17:3e:f7:cd:bc', dst: '01:00:5e:00:00:05', ip: { src: '10.206.221.195', dst: '224.0.0.5', proto: 89, ttl: 1 }, payload: [2, 1, 0, 44, 10, 206, 221, 195, ...new Array(36).fill(0)] })],
  ['unknown ethertype: hex dump', () => buildFrame({ src: VM, dst: QR, ethertype: 0x88b5, payload: [...Array.from({ length: 20 }, (_, i) => i + 1)] })],
  ['unknown ethertype under a tag', () => buildFrame({ src: VM, dst: QR, vlans: [5], ethertype: 0x1234, payload: [0x41, 0x42, 0x20, 0x7f] })],
  ['IPv6 ICMP6 neighbor solicitation', () => buildFrame({ src: VM, dst: '33:33:ff:00:00:01', ethertype: 0x86dd, payload: [0x60, 0, 0, 0, 0, 24, 58, 255, 0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0xf8, 0x16, 0x3e, 0xff, 0xfe, 0xb2, 0xef, 0xaf, 0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0, 0, 1, 135, 0, 0, 0, 0, 0, 0, 0, 0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1] })],
  ['truncated: Ethernet header', () => buildFrame(REQ).slice(0, 10)],
  ['truncated: no IP byte', () => buildFrame(REQ).slice(0, 14)],
  ['truncated: inside the IP header', () => buildFrame(REQ).slice(0, 30)],
  ['truncated: inside ICMP', () => buildFrame(REQ).slice(0, 38)],
  ['truncated: after the ICMP header', () => buildFrame(REQ).slice(0, 42)],
  ['truncated: inside the VLAN tag', () => buildFrame({ ...REQ, vlans: [103] }).slice(0, 16)],
  ['truncated: ARP', () => buildFrame({ src: VM, dst: 'ff:ff:ff:ff:ff:ff', arp: { sha: VM, spa: '192.168.1.7', tpa: '192.168.1.1' } }).slice(0, 30)],
  ['truncated: TCP options', () => SYN().slice(0, 57)],
  ['truncated: VXLAN header', () => VX(INNER()).slice(0, 45)],
  ['truncated: inner Ethernet', () => VX(INNER()).slice(0, 60)],
  ['bad IP version', () => { const f = buildFrame(REQ); f[14] = 0x65; return f; }],
  ['bad IHL', () => { const f = buildFrame(REQ); f[14] = 0x43; return f; }],
  ['total length beyond the frame', () => { const f = buildFrame(REQ); f[16] = 1; f[17] = 0; return f; }],
  ['total length below the header', () => { const f = buildFrame(REQ); f[16] = 0; f[17] = 10; return f; }],
  ['UDP length too short', () => { const f = buildFrame({ src: VM, dst: QR, ip: { src: '1.2.3.4', dst: '5.6.7.8' }, udp: { sport: 1000, dport: 2000, payload: 10 } }); f[39] = 4; return f; }],
  ['UDP length too long', () => { const f = buildFrame({ src: VM, dst: QR, ip: { src: '1.2.3.4', dst: '5.6.7.8' }, udp: { sport: 1000, dport: 2000, payload: 10 } }); f[39] = 40; return f; }],
  ['TCP data offset too small', () => { const f = SYN(); f[46] = 0x40; return f; }],
  ['VXLAN with the I flag clear', () => VX(INNER(), (f) => { f[42] = 0; })],
];
