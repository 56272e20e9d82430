// The public surface of src/netns: a namespace's routing state (Netns), the
// per-packet decisions, and the `ip` text both ways.
export * from './addr.js';
export * from './names.js';
export * from './errors.js';
export * from './sysctl.js';
export * from './interfaces.js';
export * from './fib.js';
export * from './rules.js';
export * from './neighbour.js';
export * from './specs.js';
export * from './addr-select.js';
export * from './arp-policy.js';
export * from './netns.js';
export * from './route-input.js';
export * from './route-output.js';
export * from './forward.js';
export * from './arp.js';
export * from './ip-route-syntax.js';
export * from './ip-rule-syntax.js';
export * from './ip-neigh-syntax.js';
export * from './ip-addr-syntax.js';
export * from './ip-text.js';
export * from './neutron-names.js';
