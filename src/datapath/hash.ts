// The hash tail the datapath's own tables share: murmur3's finaliser (fmix32)
// over an FNV-1a fold of a key's words, cut to 30 bits so the result is a
// small integer and never a heap number.

/** fmix32 of `h`, as a non-negative small integer (a table index before masking). */
export function fmix30(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h & 0x3fffffff;
}
