// NAT's random choices (port selection) come from a seedable generator so
// they are reproducible in tests and traces; the kernel uses get_random_u16().

export type NfRandom = () => number;

/** Uniformly distributed unsigned 32-bit numbers (mulberry32). */
export { mulberry32 as seededRandom } from '../datapath/random.js';
