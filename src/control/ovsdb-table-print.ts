// ovs-vsctl's output of `list` and `find` (lib/table.c table_print): the
// --format (list, table, csv, json, html), --data (string, bare, json) and
// --no-headings styles; --bare is list, bare, no headings.
import type { ColumnType } from './ovsdb-schema.js';
import { datumBare, datumJson, datumString, type Datum, type Json } from './ovsdb-datum.js';
import { ControlError } from './protocol.js';

export interface TableStyle {
  format: 'list' | 'table' | 'csv' | 'json' | 'html';
  data: 'string' | 'bare' | 'json';
  headings: boolean;
  pretty: boolean;
}

/** The style the options ask for (ovs-vsctl's parse_options; --bare first, an explicit -f/-d wins). */
export function tableStyle(opts: ReadonlyMap<string, string>): TableStyle {
  const style: TableStyle = { format: 'list', data: 'string', headings: true, pretty: opts.has('--pretty') };
  if (opts.has('--bare')) Object.assign(style, { format: 'list', data: 'bare', headings: false });
  if (opts.has('--no-headings')) style.headings = false;
  const f = opts.get('--format') ?? opts.get('-f');
  if (f !== undefined) {
    if (!['list', 'table', 'csv', 'json', 'html'].includes(f)) throw new ControlError(`ovs-vsctl: unknown output format "${f}"`);
    style.format = f as TableStyle['format'];
  }
  const d = opts.get('--data') ?? opts.get('-d');
  if (d !== undefined) {
    if (!['string', 'bare', 'json'].includes(d)) throw new ControlError(`ovs-vsctl: unknown data format "${d}"`);
    style.data = d as TableStyle['data'];
  }
  return style;
}

export interface Cell {
  datum: Datum;
  type: ColumnType;
}

/** json_to_string: compact, or JSSF_PRETTY's layout (a line per member and element, two spaces a level, closers kept on the last line). */
export function jsonText(j: Json, pretty: boolean, depth = 0): string {
  if (j === null || typeof j !== 'object') return JSON.stringify(j);
  const nl = (d: number): string => (pretty ? `\n${'  '.repeat(d)}` : '');
  if (Array.isArray(j)) {
    if (!j.length) return '[]';
    return `[${nl(depth + 1)}${j.map((x) => jsonText(x, pretty, depth + 1)).join(`,${nl(depth + 1)}`)}]`;
  }
  const keys = Object.keys(j);
  if (!keys.length) return '{}';
  const sep = pretty ? ': ' : ':';
  return `{${nl(depth + 1)}${keys.map((k) => `${JSON.stringify(k)}${sep}${jsonText(j[k]!, pretty, depth + 1)}`).join(`,${nl(depth + 1)}`)}}`;
}

function cellText(c: Cell, style: TableStyle): string {
  if (style.data === 'json') return jsonText(datumJson(c.datum, c.type), false);
  return style.data === 'bare' ? datumBare(c.datum, c.type) : datumString(c.datum, c.type);
}

const csvCell = (s: string): string => (/[\n",]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s);
const html = (s: string): string => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
/** table_print_html_cell__: a UUID in the text becomes a link named by its first 8 digits. */
const htmlCell = (tag: string, s: string): string =>
  `    <${tag}>${s.split(/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})/i)
    .map((part, i) => (i % 2 ? `<a href="#${part}">${part.slice(0, 8)}</a>` : html(part))).join('')}</${tag}>\n`;

/** The text of one command's table: `headings` over `rows` of cells. */
export function printTable(headings: readonly string[], rows: readonly Cell[][], style: TableStyle): string {
  switch (style.format) {
    case 'list':
      return rows.map((r) => r.map((c, x) => `${style.headings ? `${headings[x]!.padEnd(20)}: ` : ''}${cellText(c, style)}\n`).join('')).join('\n');
    case 'table': {
      const texts = rows.map((r) => r.map((c) => cellText(c, style)));
      const widths = headings.map((h, x) => Math.max(h.length, ...texts.map((t) => t[x]!.length)));
      // Padded to the column's width, less the spaces that would end the line.
      const line = (cells: readonly string[]): string => `${cells.map((t, x) => t.padEnd(widths[x]!)).join(' ').trimEnd()}\n`;
      const head = style.headings ? line(headings) + line(widths.map((w) => '-'.repeat(w))) : '';
      return head + texts.map(line).join('');
    }
    case 'csv': {
      const head = style.headings ? `${headings.map(csvCell).join(',')}\n` : '';
      return head + rows.map((r) => `${r.map((c) => csvCell(cellText(c, style))).join(',')}\n`).join('');
    }
    case 'json':
      return `${jsonText({ data: rows.map((r) => r.map((c) => datumJson(c.datum, c.type))), headings: [...headings] }, style.pretty)}\n`;
    case 'html': {
      let out = '<table border=1>\n';
      if (style.headings) out += `  <tr>\n${headings.map((h) => htmlCell('th', h)).join('')}  </tr>\n`;
      for (const r of rows) {
        out += '  <tr>\n';
        r.forEach((c, x) => {
          const t = cellText(c, style);
          out += headings[x] === '_uuid' ? `    <td><a name="${html(t)}">${html(t.slice(0, 8))}</a></td>\n` : htmlCell('td', t);
        });
        out += '  </tr>\n';
      }
      return `${out}</table>\n`;
    }
  }
}
