// The wire layer in one import: `import * as wire from '../wire/index.js'` or named imports.
export * from './addr.js';
export * from './checksum.js';
export * from './ethernet.js';
export * from './vlan.js';
export * from './arp.js';
export * from './ipv4.js';
export * from './icmp.js';
export * from './udp.js';
export * from './tcp.js';
export * from './vxlan.js';
export * from './decode.js';
export * from './frame.js';
export * from './pcap.js';
export * from './tcpdump.js';
