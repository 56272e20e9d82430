// The topology file as a YAML document with positions: every node of the
// document can be found by its path, and its line and column reported.
import { LineCounter, parseDocument, isMap, isSeq, isScalar, isPair, visit, type Document, type Node as YNode } from 'yaml';
import type { Loc, TextBlock } from './model.js';
import { ErrorList, pointerOf } from './errors.js';

export type Path = readonly (string | number)[];

export class YamlSource {
  readonly doc: Document.Parsed;
  private readonly lines: LineCounter;
  private readonly text: string;

  constructor(
    readonly file: string,
    text: string,
  ) {
    this.text = text;
    this.lines = new LineCounter();
    this.doc = parseDocument(text, { lineCounter: this.lines, keepSourceTokens: true, prettyErrors: false, uniqueKeys: true });
  }

  /** YAML syntax errors (and warnings), as topology errors. */
  syntaxErrors(errors: ErrorList): void {
    for (const e of [...this.doc.errors, ...this.doc.warnings]) {
      const { line, col } = this.lines.linePos(e.pos[0]);
      let msg = e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
      if (e.code === 'DUPLICATE_KEY') {
        const rest = this.text.slice(e.pos[0]);
        const key = /^(?:"[^"\n]*"|'[^'\n]*'|[^\n]+?)(?=\s*:(?:\s|$))/.exec(rest)?.[0].replace(/^["']|["']$/g, '') ?? '?';
        msg = `duplicate key ${JSON.stringify(key)}`;
      }
      const kind = this.doc.errors.includes(e as never) ? 'YAML syntax error' : 'YAML warning';
      errors.add({ file: this.file, pointer: '', line, col }, `${kind}: ${msg}`);
    }
    // The parser leaves an alias without its anchor to toJS, which throws: report it here, where it is.
    visit(this.doc, {
      Alias: (_k, a) => {
        if (a.resolve(this.doc) === undefined) {
          const { line, col } = this.lines.linePos(a.range?.[0] ?? 0);
          errors.add({ file: this.file, pointer: '', line, col }, `YAML syntax error: alias *${a.source} has no anchor &${a.source} before it`);
        }
      },
    });
  }

  /** Position of the node at `path` (its key with `key`), or of its nearest existing ancestor. */
  loc(path: Path, key = false): Loc {
    const pointer = pointerOf(path);
    let node: unknown = this.doc.contents;
    let offset = rangeStart(node) ?? 0;
    for (let i = 0; i < path.length; i++) {
      const seg = path[i]!;
      const last = i === path.length - 1;
      if (isMap(node)) {
        const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(seg));
        if (!pair) break;
        const ks = rangeStart(pair.key);
        if (last && key && ks !== undefined) {
          offset = ks;
          node = undefined;
          break;
        }
        node = pair.value;
        offset = rangeStart(node) ?? ks ?? offset;
      } else if (isSeq(node) && typeof seg === 'number') {
        const item = node.items[seg];
        if (item === undefined) break;
        node = item;
        offset = rangeStart(node) ?? offset;
      } else break;
    }
    const { line, col } = this.lines.linePos(offset);
    return { file: this.file, pointer, line, col };
  }

  /** Position of the key of the entry at `path` (for "unknown key", "duplicate name"). */
  keyLoc(path: Path): Loc {
    return this.loc(path, true);
  }

  /**
   * A string value as a text block: its lines mapped to file positions.
   * `|` blocks map line N to the header line + N and columns by the block's
   * indentation; plain or quoted one-line scalars map to where they start.
   * Folded (`>`) scalars are refused: their lines do not map back.
   */
  textBlock(path: Path, errors: ErrorList): TextBlock | null {
    const node = this.node(path);
    if (!isScalar(node) || typeof node.value !== 'string') return null;
    const loc = this.loc(path);
    const start = rangeStart(node) ?? 0;
    if (node.type === 'BLOCK_FOLDED') {
      errors.add(loc, 'expected a literal block (`|`), got a folded block (`>`): folding joins lines');
      return null;
    }
    if (node.type === 'BLOCK_LITERAL') {
      const header = this.lines.linePos(start);
      const firstLine = header.line + 1;
      const indent = this.blockIndent(node, firstLine);
      return { text: node.value, loc, firstLine, firstCol: indent + 1 };
    }
    const quoted = node.type === 'QUOTE_DOUBLE' || node.type === 'QUOTE_SINGLE';
    return { text: node.value, loc, firstLine: loc.line, firstCol: loc.col + (quoted ? 1 : 0) };
  }

  /** The YAML node at `path`, if any. */
  node(path: Path): YNode | undefined {
    let node: unknown = this.doc.contents;
    for (const seg of path) {
      if (isMap(node)) {
        const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(seg));
        node = pair?.value;
      } else if (isSeq(node) && typeof seg === 'number') node = node.items[seg];
      else return undefined;
    }
    return (node ?? undefined) as YNode | undefined;
  }

  /** Content indentation of a literal block: explicit indicator or first non-empty line. */
  private blockIndent(node: YNode, firstLine: number): number {
    const tok = (node as { srcToken?: { indent?: number; props?: { type: string; source: string }[] } }).srcToken;
    const header = tok?.props?.find((p) => p.type === 'block-scalar-header')?.source ?? '|';
    const explicit = /[1-9]/.exec(header);
    if (explicit && tok?.indent !== undefined) return tok.indent + Number(explicit[0]);
    const lines = this.text.split('\n');
    for (let i = firstLine - 1; i < lines.length; i++) {
      const l = lines[i]!.replace(/\r$/, '');
      if (l.trim() === '') continue;
      return l.length - l.trimStart().length;
    }
    return 0;
  }

  /** File position of (line, col) inside a block (both 1-based). */
  static blockPos(b: TextBlock, line: number, col: number): { line: number; col: number } {
    if (b.firstLine === b.loc.line) return { line: b.firstLine, col: b.firstCol + col - 1 };
    return { line: b.firstLine + line - 1, col: b.firstCol + col - 1 };
  }
}

function rangeStart(n: unknown): number | undefined {
  if (isPair(n)) return rangeStart(n.key);
  const r = (n as { range?: [number, number, number] } | null | undefined)?.range;
  return r ? r[0] : undefined;
}
