// A flow's match: a value and a mask in the FlowKey layout (flow-key.ts).
// A packet's key k matches when (k[i] & mask[i]) === value[i] for every word.
// value is stored pre-masked.
import { K } from './flow-key.js';

export interface Match {
  readonly value: Uint32Array; // length K.WORDS, already masked
  readonly mask: Uint32Array; // length K.WORDS
}

export function emptyMatch(): Match {
  return { value: new Uint32Array(K.WORDS), mask: new Uint32Array(K.WORDS) };
}

export function matches(m: Match, key: Uint32Array): boolean {
  const v = m.value, mk = m.mask;
  for (let i = 0; i < K.WORDS; i++) if (((key[i]! & mk[i]!) >>> 0) !== v[i]) return false;
  return true;
}
