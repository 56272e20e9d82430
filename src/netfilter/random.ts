// A small seedable generator (mulberry32) so NAT port choices are reproducible
// in tests and traces; the kernel uses get_random_u16().

export type NfRandom = () => number;

/** Returns a function yielding uniformly distributed unsigned 32-bit numbers. */
export function seededRandom(seed: number): NfRandom {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}
