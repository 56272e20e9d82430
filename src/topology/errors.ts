// Topology errors: every one names the file, the JSON pointer inside the
// document, the line and column, and what was expected:
//   configs/x.yaml:12:14: at /nodes/w07/ovs/br-int/ports/qvo/tag: expected an integer 0..4095, got 5000
import type { Loc } from './model.js';

export interface TopologyError {
  readonly file: string;
  readonly line: number; // 1-based
  readonly col: number; // 1-based
  readonly pointer: string; // JSON pointer, '' for the document
  readonly message: string;
}

export function formatError(e: TopologyError): string {
  return `${e.file}:${e.line}:${e.col}: at ${e.pointer || '/'}: ${e.message}`;
}

/** Thrown by loadTopology*OrThrow: carries every error, formatted one per line. */
export class TopologyLoadError extends Error {
  constructor(readonly errors: readonly TopologyError[]) {
    super(errors.map(formatError).join('\n'));
    this.name = 'TopologyLoadError';
  }
}

/** Collects errors; sorted by position on output. */
export class ErrorList {
  readonly items: TopologyError[] = [];

  add(loc: Loc, message: string): void {
    this.items.push({ file: loc.file, line: loc.line, col: loc.col, pointer: loc.pointer, message });
  }

  get size(): number {
    return this.items.length;
  }

  sorted(): TopologyError[] {
    const seen = new Set<string>();
    return [...this.items]
      .sort((a, b) => a.line - b.line || a.col - b.col)
      .filter((e) => {
        const k = formatError(e);
        if (seen.has(k)) return false;
        seen.add(k);
        return true;
      });
  }
}

/** JSON pointer of a path (RFC 6901 escaping). */
export function pointerOf(path: readonly (string | number)[]): string {
  return path.map((p) => '/' + String(p).replace(/~/g, '~0').replace(/\//g, '~1')).join('');
}

/** A value as messages quote it: strings in double quotes, others as JSON. */
export function show(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return String(v);
}
