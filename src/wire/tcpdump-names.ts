// The names tcpdump 4.99 prints for protocol numbers, types and options
// (its tok tables), for the printers in tcpdump.ts and tcpdump-*.ts.

export const ETHERTYPE_NAMES: Record<number, string> = {
  0x0800: 'IPv4',
  0x8847: 'MPLS unicast',
  0x8848: 'MPLS multicast',
  0x86dd: 'IPv6',
  0x8100: '802.1Q',
  0x9100: '802.1Q-9100',
  0x88a8: '802.1Q-QinQ',
  0x9200: '802.1Q-9200',
  0x88e5: '802.1AE MACsec',
  0x0200: 'PUP',
  0x0806: 'ARP',
  0x8035: 'Reverse ARP',
  0x0600: 'NS',
  0x0500: 'Sprite',
  0x1000: 'Trail',
  0x6001: 'MOP DL',
  0x6002: 'MOP RC',
  0x6003: 'DN',
  0x6004: 'LAT',
  0x6007: 'SCA',
  0x6558: 'TEB',
  0x8038: 'Lanbridge',
  0x803c: 'DEC DNS',
  0x803e: 'DEC DTS',
  0x805b: 'VEXP',
  0x805c: 'VPROD',
  0x809b: 'Appletalk',
  0x80f3: 'Appletalk ARP',
  0x8137: 'IPX',
  0x880b: 'PPP',
  0x8808: 'MPCP',
  0x8809: 'Slow Protocols',
  0x8863: 'PPPoE D',
  0x8864: 'PPPoE S',
  0x888e: 'EAPOL',
  0x8899: 'RRCP',
  0x886f: 'MS NLB heartbeat',
  0x8870: 'Jumbo',
  0x894f: 'NSH',
  0x9000: 'Loopback',
  0xfefe: 'OSI',
  0x00fe: 'GRE-OSI',
  0xabcd: 'CFM (old)',
  0x8902: 'CFM',
  0x893a: 'IEEE1905.1',
  0x88cc: 'LLDP',
  0x88ca: 'TIPC',
  0x0707: 'GeoNet (old)',
  0x8947: 'GeoNet',
  0x1111: 'CALM FAST',
  0x88a2: 'AoE',
  0x88f7: 'PTP',
  0xd28b: 'Arista Vendor Specific Protocol',
};

export const ARPOP_NAMES: Record<number, string> = {
  1: 'Request',
  2: 'Reply',
  3: 'Reverse Request',
  4: 'Reverse Reply',
  8: 'Inverse Request',
  9: 'Inverse Reply',
  10: 'NACK Reply',
};
export const ARPHRD_NAMES: Record<number, string> = {
  1: 'Ethernet',
  6: 'TokenRing',
  7: 'ArcNet',
  15: 'FrameRelay',
  19: 'ATM',
  20: 'SerialLine',
  23: 'Metricom',
  24: 'IEEE1394',
  32: 'InfiniBand',
  0x0320: 'FrameRelay',
  0x0323: 'Netrom',
};

export const ICMP_NAMES: Record<number, string> = {
  0: 'echo reply',
  4: 'source quench',
  8: 'echo request',
  10: 'router solicitation',
  13: 'time stamp request',
  14: 'time stamp reply',
  15: 'information request',
  16: 'information reply',
  17: 'address mask request',
};

export const UNREACH_FMT: Record<number, string> = {
  0: 'net %s unreachable',
  1: 'host %s unreachable',
  5: '%s unreachable - source route failed',
  6: 'net %s unreachable - unknown',
  7: 'host %s unreachable - unknown',
  8: '%s unreachable - source host isolated',
  9: 'net %s unreachable - admin prohibited',
  10: 'host %s unreachable - admin prohibited',
  11: 'net %s unreachable - tos prohibited',
  12: 'host %s unreachable - tos prohibited',
  13: 'host %s unreachable - admin prohibited filter',
  14: 'host %s unreachable - host precedence violation',
  15: 'host %s unreachable - precedence cutoff',
};

export const REDIRECT_FMT: Record<number, string> = {
  0: 'redirect %s to net %s',
  1: 'redirect %s to host %s',
  2: 'redirect-tos %s to net %s',
  3: 'redirect-tos %s to host %s',
};

export const TCP_FLAG_LETTERS: [number, string][] = [
  [0x01, 'F'],
  [0x02, 'S'],
  [0x04, 'R'],
  [0x08, 'P'],
  [0x10, '.'],
  [0x20, 'U'],
  [0x40, 'E'],
  [0x80, 'W'],
];

export const TCP_OPT_NAMES: Record<number, string> = {
  0: 'eol',
  1: 'nop',
  2: 'mss',
  3: 'wscale',
  4: 'sackOK',
  5: 'sack',
  6: 'echo',
  7: 'echoreply',
  8: 'TS',
  11: 'cc',
  12: 'ccnew',
  13: '',
  19: 'md5',
  20: 'scps',
  28: 'uto',
  29: 'tcp-ao',
  30: 'mptcp',
  34: 'tfo',
  254: 'exp',
};

/** A multicast group record's type: IGMPv3's and MLDv2's (igmpv3report2str, mldv2report2str). */
export const GROUP_RECORD_TYPES: Readonly<Record<number, string>> = { 1: 'is_in', 2: 'is_ex', 3: 'to_in', 4: 'to_ex', 5: 'allow', 6: 'block' };

/** The protocol numbers (ipproto.h) the printers decode. */
export const IPPROTO_HOPOPTS = 0, IPPROTO_ICMP = 1, IPPROTO_IGMP = 2, IPPROTO_TCP = 6, IPPROTO_UDP = 17, IPPROTO_DCCP = 33;
export const IPPROTO_ROUTING = 43, IPPROTO_FRAGMENT = 44, IPPROTO_AH = 51, IPPROTO_ICMPV6 = 58, IPPROTO_DSTOPTS = 60;
export const IPPROTO_MOBILITY_OLD = 62, IPPROTO_OSPF = 89, IPPROTO_SCTP = 132, IPPROTO_MOBILITY = 135;

/** ipproto_values (ipproto.c, tcpdump 4.99): the name -v prints after "proto". */
export const IPPROTO_NAMES: Record<number, string> = {
  0: 'Options',
  1: 'ICMP',
  2: 'IGMP',
  4: 'IPIP',
  6: 'TCP',
  8: 'EGP',
  9: 'IGRP',
  17: 'UDP',
  33: 'DCCP',
  41: 'IPv6',
  43: 'Routing',
  44: 'Fragment',
  46: 'RSVP',
  47: 'GRE',
  50: 'ESP',
  51: 'AH',
  55: 'Mobile IP',
  58: 'ICMPv6',
  62: 'Mobile IP (old)',
  88: 'EIGRP',
  89: 'OSPF',
  103: 'PIM',
  108: 'Compressed IP',
  112: 'VRRP',
  113: 'PGM',
  132: 'SCTP',
  135: 'Mobility',
  143: 'Ethernet',
};

export const IP_OPT_NAMES: Record<number, string> = {
  0: 'EOL',
  1: 'NOP',
  68: 'timestamp',
  130: 'security',
  7: 'RR',
  137: 'SSRR',
  131: 'LSRR',
  148: 'RA',
  82: 'traceroute',
};

export const OSPF_TYPES: Record<number, string> = {
  1: 'Hello',
  2: 'Database Description',
  3: 'LS-Request',
  4: 'LS-Update',
  5: 'LS-Ack',
};

export const ND_OPT_NAMES: Record<number, string> = {
  1: 'source link-address',
  2: 'destination link-address',
  3: 'prefix info',
  4: 'redirected header',
  5: 'mtu',
  25: 'rdnss',
  31: 'dnssl',
  7: 'advertisement interval',
  8: 'homeagent information',
  24: 'route info',
};

export const OSPF_OPTIONS: [number, string][] = [
  [0x01, 'MultiTopology'],
  [0x02, 'External'],
  [0x04, 'Multicast'],
  [0x08, 'NSSA'],
  [0x10, 'LLS'],
  [0x20, 'Demand Circuit'],
  [0x40, 'Opaque'],
  [0x80, 'Up/Down'],
];

export const ICMP6_NAMES: Record<number, string> = {
  1: 'destination unreachable',
  2: 'packet too big',
  3: 'time exceeded in-transit',
  4: 'parameter problem',
  128: 'echo request',
  129: 'echo reply',
  130: 'multicast listener query',
  131: 'multicast listener report',
  132: 'multicast listener done',
  133: 'router solicitation',
  134: 'router advertisement',
  135: 'neighbor solicitation',
  136: 'neighbor advertisement',
  137: 'redirect',
  143: 'multicast listener report v2',
};

export const HTTP_METHODS = new Set(
  'OPTIONS GET HEAD POST PUT DELETE TRACE CONNECT PATCH PROPFIND PROPPATCH MKCOL COPY MOVE LOCK UNLOCK POLL BCOPY BMOVE SEARCH BDELETE BPROPFIND BPROPPATCH SUBSCRIBE UNSUBSCRIBE NOTIFY LABEL MERGE REPORT UPDATE CHECKIN CHECKOUT UNCHECKOUT MKACTIVITY MKWORKSPACE VERSION-CONTROL BASELINE-CONTROL CCM_POST RPC_CONNECT'.split(
    ' ',
  ),
);

/** ntp_mode_values, by the mode bits. */
export const NTP_MODES: readonly string[] = ['unspecified', 'symmetric active', 'symmetric passive', 'Client', 'Server', 'Broadcast', 'Control Message', 'Reserved'];

/** llc_values: the service access points tcpdump names. */
export const LLC_SAPS: Readonly<Record<number, string>> = {
  0x00: 'Null', 0xfe: 'OSI', 0xff: 'Global', 0x02: '802.1B I', 0x03: '802.1B G', 0x04: 'SNA', 0x06: 'IP', 0x0e: 'ProWay NM', 0x42: 'STP',
  0x4e: 'RS511', 0x7e: 'ISO8208', 0x8e: 'ProWay', 0xaa: 'SNAP', 0xe0: 'IPX', 0xf0: 'NetBeui',
};
/** llc_cmd_values, by an unnumbered frame's control bits without P/F. */
export const LLC_U_CMDS: Readonly<Record<number, string>> = { 0x03: 'ui', 0xe3: 'test', 0xaf: 'xid', 0x63: 'ua', 0x43: 'disc', 0x0f: 'dm', 0x6f: 'sabme', 0x87: 'frmr' };
/** llc_flag_values, by the SSAP's C/R bit or'ed with the P/F bit of a U (0x10) or I/S (0x100) frame. */
export const LLC_FLAGS: Readonly<Record<number, string>> = { 0x00: 'Command', 0x01: 'Response', 0x10: 'Poll', 0x11: 'Final', 0x100: 'Poll', 0x101: 'Final' };
/** oui_values (oui.c). */
export const OUI_NAMES: Readonly<Record<number, string>> = {
  0x000000: 'Ethernet', 0x00000c: 'Cisco', 0x0000f8: 'Cisco bridged', 0x0080c2: 'Ethernet bridged', 0x00a03e: 'ATM Forum', 0x00e02f: 'DOCSIS Spanning Tree',
  0x080007: 'Appletalk', 0x009069: 'Juniper', 0x001560: 'Hewlett-Packard', 0x00120f: 'IEEE 802.3 Private', 0x0012bb: 'ANSI/TIA', 0x001b21: 'DCBX',
  0x002320: 'Nicira Networks', 0x5c16c7: 'Big Switch Networks', 0x00005e: 'IANA',
};
/** cisco_values: SNAP protocol ids under Cisco's OUI. */
export const CISCO_PIDS: Readonly<Record<number, string>> = { 0x2000: 'CDP', 0x2003: 'VTP', 0x2004: 'DTP', 0x0111: 'UDLD', 0x010b: 'PVST', 0x010c: 'VLAN Bridge' };
/** bridged_values: RFC 2684 bridged protocol ids. */
export const BRIDGED_PIDS: Readonly<Record<number, string>> = {
  0x0001: 'Ethernet + FCS', 0x0007: 'Ethernet w/o FCS', 0x0002: '802.4 + FCS', 0x0008: '802.4 w/o FCS', 0x0003: 'Token Ring + FCS', 0x0009: 'Token Ring w/o FCS',
  0x0004: 'FDDI + FCS', 0x000a: 'FDDI w/o FCS', 0x0005: '802.6 + FCS', 0x000b: '802.6 w/o FCS', 0x000e: 'BPDU',
};
