// Flow extraction as OVS miniflow_extract does it (lib/flow.c).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { K, newKey } from '../../src/ofproto/flow-key.js';
import { FrameLayout, extractFlow, extractFrame, FLOW_DL_TYPE_NONE } from '../../src/ofproto/flow-extract.js';
import { buildFrame } from '../../src/wire/frame.js';
import { PacketPool } from '../../src/datapath/packet.js';
import { composeFrame, parseTraceFlow } from '../../src/ofproto/trace-flow.js';

function ex(frame: Uint8Array): { k: Uint32Array; lay: FrameLayout } {
  const k = newKey();
  const lay = new FrameLayout();
  extractFrame(frame, 0, frame.length, k, lay);
  return { k, lay };
}

const A = 'fa:16:3e:b2:ef:af', B = 'fa:16:3e:06:d8:7b';

test('untagged ICMP echo: MACs, ethertype, IPv4 fields, ICMP type/code in tp_src/tp_dst', () => {
  const { k, lay } = ex(buildFrame({ src: A, dst: B, ip: { src: '192.168.1.7', dst: '8.8.8.8', ttl: 64, tos: 0x10 }, icmp: { id: 60691, seq: 1, data: 100 } }));
  assert.equal(k[K.DL_SRC_HI], 0xfa16);
  assert.equal(k[K.DL_SRC_LO], 0x3eb2efaf);
  assert.equal(k[K.DL_DST_LO], 0x3e06d87b);
  assert.equal(k[K.VLAN_TCI], 0);
  assert.equal(k[K.DL_TYPE], 0x0800);
  assert.equal(k[K.NW_SRC], 0xc0a80107);
  assert.equal(k[K.NW_DST], 0x08080808);
  assert.equal(k[K.NW_PROTO], 1);
  assert.equal(k[K.NW_TTL], 64);
  assert.equal(k[K.NW_TOS], 0x10);
  assert.equal(k[K.NW_FRAG], 0);
  assert.equal(k[K.TP_SRC], 8);
  assert.equal(k[K.TP_DST], 0);
  assert.equal(lay.l3, 14);
  assert.equal(lay.l4, 34);
});

test('802.1Q: the outer TCI with CFI set as "present", ethertype after the tags', () => {
  assert.equal(ex(buildFrame({ src: A, dst: B, vlans: [{ vid: 103, pcp: 5 }], ip: { src: '1.1.1.1', dst: '2.2.2.2' }, udp: { sport: 1, dport: 2 } })).k[K.VLAN_TCI], 0x1000 | (5 << 13) | 103);
  const prio = ex(buildFrame({ src: A, dst: B, vlans: [{ vid: 0, pcp: 3 }], ethertype: 0x0800, payload: [] })).k;
  assert.equal(prio[K.VLAN_TCI], 0x1000 | (3 << 13), 'a priority tag is still a tag');
  // The wire DEI bit is OVS's CFI: always set in the key.
  assert.equal(ex(buildFrame({ src: A, dst: B, vlans: [{ vid: 7, dei: 1 }], ethertype: 0x0806, payload: [] })).k[K.VLAN_TCI], 0x1007);
  const qinq = ex(buildFrame({ src: A, dst: B, vlans: [{ vid: 10, tpid: 0x88a8 }, { vid: 20 }], ip: { src: '1.1.1.1', dst: '2.2.2.2' }, udp: { sport: 53, dport: 5353 } }));
  assert.equal(qinq.k[K.VLAN_TCI], 0x100a);
  assert.equal(qinq.k[K.DL_TYPE], 0x0800);
  assert.equal(qinq.k[K.TP_SRC], 53);
  assert.equal(qinq.lay.nTags, 2);
});

test('ARP: opcode in nw_proto, SPA/TPA in nw_src/nw_dst, SHA/THA', () => {
  const { k } = ex(buildFrame({ src: A, dst: 'ff:ff:ff:ff:ff:ff', arp: { op: 2, sha: A, spa: '192.168.1.7', tha: B, tpa: '192.168.1.1' } }));
  assert.equal(k[K.DL_TYPE], 0x0806);
  assert.equal(k[K.NW_PROTO], 2);
  assert.equal(k[K.NW_SRC], 0xc0a80107);
  assert.equal(k[K.NW_DST], 0xc0a80101);
  assert.equal(k[K.ARP_SHA_LO], 0x3eb2efaf);
  assert.equal(k[K.ARP_THA_LO], 0x3e06d87b);
});

test('fragments: the first keeps its ports, later ones have none', () => {
  const first = ex(buildFrame({ src: A, dst: B, ip: { src: '1.1.1.1', dst: '2.2.2.2', mf: true, df: false }, udp: { sport: 1000, dport: 2000, payload: 16 } })).k;
  assert.equal(first[K.NW_FRAG], 1);
  assert.equal(first[K.TP_DST], 2000);
  const later = ex(buildFrame({ src: A, dst: B, ip: { src: '1.1.1.1', dst: '2.2.2.2', fragOffset: 8, df: false, proto: 17 }, payload: new Array(16).fill(7) })).k;
  assert.equal(later[K.NW_FRAG], 3);
  assert.equal(later[K.TP_SRC], 0);
  assert.equal(later[K.TP_DST], 0);
});

test('TCP ports; a TCP header with a bad data offset gives no ports', () => {
  const f = buildFrame({ src: A, dst: B, ip: { src: '1.1.1.1', dst: '2.2.2.2' }, tcp: { sport: 22, dport: 40000, flags: 'S' } });
  assert.equal(ex(f).k[K.TP_SRC], 22);
  f[14 + 20 + 12] = 0x10; // data offset 4 words
  const k = ex(f).k;
  assert.equal(k[K.NW_PROTO], 6);
  assert.equal(k[K.TP_SRC], 0);
});

test('802.3 frames: LLC gives 0x05ff, SNAP with OUI 0 gives its ethertype', () => {
  assert.equal(ex(buildFrame({ src: A, dst: '01:80:c2:00:00:00', ethertype: 38, payload: [0x42, 0x42, 0x03, 0, 0, 0, 0, 0] })).k[K.DL_TYPE], FLOW_DL_TYPE_NONE);
  assert.equal(ex(buildFrame({ src: A, dst: B, ethertype: 50, payload: [0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x06, 1, 2] })).k[K.DL_TYPE], 0x0806);
});

test('short or broken headers leave their fields 0 and never throw', () => {
  const { k } = ex(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]));
  assert.ok(k.every((w) => w === 0));
  const f = buildFrame({ src: A, dst: B, ip: { src: '1.1.1.1', dst: '2.2.2.2' }, icmp: {} });
  const cut = ex(f.subarray(0, 30)).k; // IPv4 header cut short
  assert.equal(cut[K.DL_TYPE], 0x0800);
  assert.equal(cut[K.NW_SRC], 0);
  const bad = Uint8Array.from(f);
  bad[14 + 2] = 0xff; // total length beyond the frame: fails ipv4_sanity_check
  assert.equal(ex(bad).k[K.NW_PROTO], 0);
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 120 }), fc.integer({ min: 0, max: 3 }), (bytes, kind) => {
      const b = Uint8Array.from(bytes);
      if (b.length > 13) {
        const types = [0x0800, 0x0806, 0x8100, 0x86dd];
        b[12] = types[kind]! >>> 8;
        b[13] = types[kind]! & 0xff;
      }
      ex(b);
    }),
    { numRuns: 2000 },
  );
});

test('metadata: in_port, tunnel fields and pkt_mark from the packet; registers zero', () => {
  const pool = new PacketPool(4);
  const p = pool.allocFrom(buildFrame({ src: A, dst: B, ip: { src: '1.1.1.1', dst: '2.2.2.2' }, udp: { sport: 1, dport: 2 } }))!;
  p.tunId = 0x1_0000_0067;
  p.tunSrc = 0x0ace6bee;
  p.tunDst = 0x0ace6b9c;
  p.mark = 0x2;
  const k = newKey();
  k[K.REG0] = 99;
  extractFlow(p, 5, k, new FrameLayout());
  assert.equal(k[K.IN_PORT], 5);
  assert.equal(k[K.TUN_ID_HI], 1);
  assert.equal(k[K.TUN_ID_LO], 0x67);
  assert.equal(k[K.TUN_SRC], 0x0ace6bee);
  assert.equal(k[K.TUN_DST], 0x0ace6b9c);
  assert.equal(k[K.PKT_MARK], 2);
  assert.equal(k[K.REG0], 0);
});

/** A frame from a br_flow, as ofproto/trace --generate builds it (flow_compose). */
const gen = (flow: string): Uint8Array => composeFrame(parseTraceFlow(`dl_src=${A},dl_dst=${B},${flow}`));

/** An NA carrying both link-layer options (a br_flow gives an NA nd_tll only). */
function naBoth(): Uint8Array {
  const k = parseTraceFlow(`dl_src=${A},dl_dst=${B},icmp6,icmpv6_type=136,nd_target=::1,nd_tll=fa:16:3e:00:00:02`);
  k[K.ARP_SHA_HI] = 0xfa16;
  k[K.ARP_SHA_LO] = 0x3e000001;
  return composeFrame(k);
}

test('IPv6: addresses in four words each, the 20-bit flow label, class, hop limit; UDP ports', () => {
  const { k, lay } = ex(gen('udp6,ipv6_src=2001:db8::1,ipv6_dst=2001:db8:0:1::ff00:7,ipv6_label=0xabcde,nw_tos=40,nw_ttl=64,udp_src=5,udp_dst=53'));
  assert.equal(k[K.DL_TYPE], 0x86dd);
  assert.deepEqual([...k.subarray(K.IPV6_SRC0, K.IPV6_SRC3 + 1)], [0x20010db8, 0, 0, 1]);
  assert.deepEqual([...k.subarray(K.IPV6_DST0, K.IPV6_DST3 + 1)], [0x20010db8, 1, 0, 0xff000007]);
  assert.equal(k[K.IPV6_LABEL], 0xabcde);
  assert.deepEqual([k[K.NW_TOS], k[K.NW_TTL], k[K.NW_PROTO], k[K.TP_SRC], k[K.TP_DST]], [40, 64, 17, 5, 53]);
  assert.deepEqual([...k.subarray(K.ND_TARGET0, K.ND_TARGET3 + 1)], [0, 0, 0, 0]);
  assert.equal(lay.l4, 14 + 40);
});

test('ND (parse_icmpv6): target, source/target link-layer options; a repeated option voids them, code 1 has none', () => {
  const ns = ex(gen('icmp6,ipv6_src=fe80::1,icmpv6_type=135,nd_target=2001:db8::7,nd_sll=fa:16:3e:00:00:09')).k;
  assert.deepEqual([...ns.subarray(K.ND_TARGET0, K.ND_TARGET3 + 1)], [0x20010db8, 0, 0, 7]);
  assert.deepEqual([ns[K.ARP_SHA_HI], ns[K.ARP_SHA_LO], ns[K.ARP_THA_HI], ns[K.ARP_THA_LO]], [0xfa16, 0x3e000009, 0, 0]);
  // An NA may carry either option; OVS keeps both.
  const na = ex(naBoth()).k;
  assert.deepEqual([na[K.ND_TARGET3], na[K.ARP_SHA_LO], na[K.ARP_THA_LO]], [1, 0x3e000001, 0x3e000002]);
  // The second option made a source one too: invalid, nothing kept (type and code stay).
  const dup = naBoth();
  dup[14 + 40 + 32] = 1;
  const d = ex(dup).k;
  assert.deepEqual([d[K.TP_SRC], d[K.ND_TARGET3], d[K.ARP_SHA_LO], d[K.ARP_THA_LO]], [136, 0, 0, 0]);
  // An option of length 0 ends the walk, keeping what came before.
  const zero = naBoth();
  zero[14 + 40 + 33] = 0;
  assert.deepEqual([...[K.ND_TARGET3, K.ARP_SHA_LO, K.ARP_THA_LO].map((w) => ex(zero).k[w])], [1, 0x3e000001, 0]);
  const code1 = gen('icmp6,icmpv6_type=135,icmpv6_code=1');
  assert.equal(code1.length, 14 + 40 + 8, 'no ND body for code 1');
  const withBody = gen('icmp6,icmpv6_type=135,nd_target=::1,nd_sll=fa:16:3e:00:00:01');
  withBody[14 + 41] = 1; // the code
  assert.deepEqual([ex(withBody).k[K.ND_TARGET3], ex(withBody).k[K.ARP_SHA_LO]], [0, 0]);
  // Short of the target: none.
  const short = gen('icmp6,icmpv6_type=135,nd_target=::1');
  short[14 + 5] = 20; // payload length 20: 8 + 12 bytes of target
  assert.equal(ex(short.subarray(0, 14 + 40 + 20)).k[K.ND_TARGET3], 0);
});

test('a key reused for an IPv4 or ARP frame after an IPv6 one has no IPv6 words left', () => {
  const k = newKey();
  const lay = new FrameLayout();
  const v6 = gen('icmp6,ipv6_src=2001:db8::1,ipv6_dst=2001:db8::2,ipv6_label=5,icmpv6_type=135,nd_target=::1,nd_sll=fa:16:3e:00:00:01');
  extractFrame(v6, 0, v6.length, k, lay);
  assert.equal(k[K.IPV6_SRC3], 1);
  for (const f of [buildFrame({ src: A, dst: B, ip: { src: '192.0.2.1', dst: '192.0.2.2' }, udp: { sport: 1, dport: 2 } }), buildFrame({ src: A, dst: B, arp: { sha: A, spa: '192.0.2.1', tpa: '192.0.2.2' } }), new Uint8Array(10)]) {
    extractFrame(v6, 0, v6.length, k, lay);
    extractFrame(f, 0, f.length, k, lay);
    const fresh = newKey();
    extractFrame(f, 0, f.length, fresh, new FrameLayout());
    assert.deepEqual([...k], [...fresh]);
  }
});
