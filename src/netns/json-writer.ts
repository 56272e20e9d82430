// The JSON text `ip -j [-p]` prints: iproute2's lib/json_writer.c streaming
// writer, layout included. Without -p nothing but the values; with -p each
// member on its own line indented four spaces a level, arrays opened "[ "
// and closed " ]", array elements (strings, or objects) joined by "," with
// no break ("},{"), and the whole array followed by one newline.

/** A number printed as formatted (print_float's "%.2f" keeps `0.00`), not as JavaScript would. */
export class JsonRaw {
  constructor(readonly text: string) {}
}

/** A value as iproute2 prints it: `null` is print_null's (`"router": null` marks a flag). */
export type JsonValue = string | number | boolean | null | JsonRaw | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue | undefined;
}

class Writer {
  out = '';
  private depth = 0;
  /** json_writer's sep: '' right after an opening bracket or a name, ',' after a value. */
  private sep = '';

  constructor(private readonly pretty: boolean) {}

  private eol(): void {
    if (this.pretty) this.out += '\n' + '    '.repeat(this.depth);
  }

  private eor(): void {
    this.out += this.sep;
    this.sep = ',';
  }

  private begin(c: string): void {
    this.eor();
    this.out += c;
    this.depth++;
    this.sep = '';
  }

  private end(c: string): void {
    this.depth--;
    if (this.sep) this.eol();
    this.out += c;
    this.sep = ',';
  }

  startArray(): void {
    this.begin('[');
    if (this.pretty) this.out += ' ';
  }

  endArray(): void {
    if (this.pretty && this.sep) this.out += ' ';
    this.sep = '';
    this.end(']');
  }

  startObject(): void {
    this.begin('{');
  }

  endObject(): void {
    this.end('}');
  }

  name(key: string): void {
    this.eor();
    this.eol();
    this.sep = '';
    this.out += quote(key) + (this.pretty ? ': ' : ':');
  }

  value(v: JsonValue): void {
    if (Array.isArray(v)) {
      this.startArray();
      for (const x of v) this.value(x);
      this.endArray();
    } else if (v instanceof JsonRaw) {
      this.eor();
      this.out += v.text;
    } else if (v !== null && typeof v === 'object') {
      this.startObject();
      for (const [k, x] of Object.entries(v)) {
        if (x === undefined) continue;
        this.name(k);
        this.value(x);
      }
      this.endObject();
    } else {
      this.eor();
      this.out += typeof v === 'string' ? quote(v) : String(v);
    }
  }
}

/** jsonw_puts: C escapes only (names and addresses never need more). */
const quote = (s: string): string =>
  `"${s.replace(/[\t\n\r\f\b\\"']/g, (c) => ({ '\t': '\\t', '\n': '\\n', '\r': '\\r', '\f': '\\f', '\b': '\\b', '\\': '\\\\', '"': '\\"', "'": "\\'" })[c]!)}"`;

/** What `ip -j [-p]` prints for a dump: the objects as one array, then a newline. */
export function jsonDump(objects: readonly JsonObject[], pretty: boolean): string {
  const w = new Writer(pretty);
  w.value(objects as JsonValue[]);
  return w.out + '\n';
}

/** What a dump the kernel refused prints before the error: the array's opening only (new_json_obj ran first). */
export const jsonDumpOpening = (pretty: boolean): string => (pretty ? '[ ' : '[');
