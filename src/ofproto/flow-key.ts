// The OpenFlow match key: every field a flow may match, in fixed 32-bit words,
// so a match is (value, mask) arrays of the same shape and the classifier can
// hash masked words without building strings. 48-bit MACs and 64-bit tunnel
// ids / metadata are split into a high and a low word.

export const enum K {
  IN_PORT = 0,
  DL_SRC_HI = 1, // top 16 bits of the MAC
  DL_SRC_LO = 2, // low 32 bits
  DL_DST_HI = 3,
  DL_DST_LO = 4,
  VLAN_TCI = 5, // 16 bits as in OVS: PCP(3) | CFI(1)=tag present | VID(12); 0 = no tag
  DL_TYPE = 6, // ethertype after any VLAN tag
  NW_SRC = 7, // IPv4 source, or ARP SPA
  NW_DST = 8, // IPv4 destination, or ARP TPA
  NW_PROTO = 9, // IP protocol, or ARP opcode (low 8 bits, as OVS stores it)
  NW_TOS = 10, // the whole TOS byte (DSCP << 2 | ECN)
  NW_TTL = 11,
  NW_FRAG = 12, // 0 no, 1 first fragment, 3 later fragment (OVS: FLOW_NW_FRAG_ANY|LATER)
  TP_SRC = 13, // L4 source port, or ICMP type
  TP_DST = 14, // L4 destination port, or ICMP code
  ARP_SHA_HI = 15,
  ARP_SHA_LO = 16,
  ARP_THA_HI = 17,
  ARP_THA_LO = 18,
  // IPv6 addresses, most significant word first; nd_sll/nd_tll are ARP_SHA/ARP_THA, as in OVS's struct flow.
  // Nonzero only in a key whose DL_TYPE is 0x86dd: extractFrame clears them only after such a key.
  IPV6_SRC0 = 19,
  IPV6_SRC1 = 20,
  IPV6_SRC2 = 21,
  IPV6_SRC3 = 22,
  IPV6_DST0 = 23,
  IPV6_DST1 = 24,
  IPV6_DST2 = 25,
  IPV6_DST3 = 26,
  IPV6_LABEL = 27, // the 20-bit flow label
  ND_TARGET0 = 28,
  ND_TARGET1 = 29,
  ND_TARGET2 = 30,
  ND_TARGET3 = 31, // the last word a frame fills (DL_SRC_HI..ND_TARGET3)
  TUN_ID_HI = 32,
  TUN_ID_LO = 33,
  TUN_SRC = 34,
  TUN_DST = 35,
  METADATA_HI = 36,
  METADATA_LO = 37,
  REG0 = 38, // reg0..reg15 = 38..53
  PKT_MARK = 54,
  WORDS = 55,
}

export const REG_COUNT = 16;

export type FlowKey = Uint32Array; // length K.WORDS

export function newKey(): FlowKey {
  return new Uint32Array(K.WORDS);
}
