// mulberry32: a small seedable generator, so what the emulator draws at
// random (NAT ports, neighbour reachable times) and what tests draw is the
// same on every run and every machine. The kernel uses get_random_u32().

/** Uniformly distributed unsigned 32-bit numbers from `seed`. */
export function mulberry32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** The same stream scaled to [0, 1). */
export function mulberry32Unit(seed: number): () => number {
  const next = mulberry32(seed);
  return () => next() / 4294967296;
}
