// "did you mean" hints: the candidates nearest to a typo (edit distance <= 2).

/** The nearest candidates (all ties, file order), or none when nothing is within 2 edits. */
export function nearest(word: string, candidates: Iterable<string>): string[] {
  let best: string[] = [];
  let bestD = 3;
  for (const c of candidates) {
    const d = distance(word, c);
    if (d < bestD) {
      best = [c];
      bestD = d;
    } else if (d === bestD && !best.includes(c)) best.push(c);
  }
  return best;
}

/** `; did you mean "a"?`, `; did you mean "a" or "b"?`, or '' (for appending to a message). */
export function didYouMean(word: string, candidates: Iterable<string>): string {
  const n = nearest(word, candidates).filter((c) => !c.startsWith('\0'));
  return n.length ? `; did you mean ${n.map((c) => JSON.stringify(c)).join(' or ')}?` : '';
}

function distance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j]!;
      prev[j] = Math.min(prev[j]! + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length]!;
}
