// Reads iptables text into a Ruleset: iptables-save/iptables-restore files
// (*table, :CHAIN POLICY [p:b], -A ..., COMMIT), `iptables -S` output, and
// plain `iptables [-t table] -A/-I/-D/-R/-N/-X/-F/-P/-Z/-E ...` commands.
// Loading is atomic: on any error nothing changes, and the error names the
// line, column and token.

import { HOOK_INPUT, HOOK_OUTPUT, HOOK_POSTROUTING, HOOK_PREROUTING, TABLE_NAMES, type TableName, hookByName } from './constants.js';
import { NfOptionError, NfSyntaxError } from './errors.js';
import { parseIpv4Prefix } from './ipv4-addr.js';
import { type MatchBuilder, createMatchBuilder } from './matches.js';
import { INV_DST, INV_FRAG, INV_IN, INV_OUT, INV_PROTO, INV_SRC, type Rule, protoByName, ruleSaveText, ruleTests } from './rule.js';
import { Chain, noTargetError, RULE_CELLS, type Ruleset, type Table } from './tables.js';
import { NO_CELLS } from '../datapath/counter-cells.js';
import { JumpTarget, T_DROP, T_GOTO, T_JUMP, TARGET_CONTINUE, TARGET_NAMES, type TargetBuilder, createTargetBuilder } from './targets.js';
import type { ArgReader } from './args.js';

export interface LoadOptions {
  /** Table for command lines without -t outside a *table block (default filter). */
  table?: TableName;
  /** Honour [pkts:bytes] counters in restore files (iptables-restore -c). */
  counters?: boolean;
}

interface Tok {
  text: string;
  col: number;
}

/** Splits a line as iptables-restore does (double quotes with backslash escapes), plus shell single quotes. */
export function tokenize(line: string, lineNo: number): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < line.length) {
    const ch = line[i]!;
    if (ch === ' ' || ch === '\t' || ch === '\r' || ch === '\n') {
      i++;
      continue;
    }
    const col = i + 1;
    let text = '';
    while (i < line.length && !/[ \t\r\n]/.test(line[i]!)) {
      const c = line[i]!;
      if (c === '"' || c === "'") {
        const close = c;
        i++;
        let closed = false;
        while (i < line.length) {
          const d = line[i]!;
          if (d === close) {
            closed = true;
            i++;
            break;
          }
          if (d === '\\' && close === '"' && i + 1 < line.length) {
            text += line[i + 1];
            i += 2;
            continue;
          }
          text += d;
          i++;
        }
        if (!closed) throw new NfSyntaxError(lineNo, col, line.slice(col - 1), 'unterminated quoted string');
      } else {
        text += c;
        i++;
      }
    }
    out.push({ text, col });
  }
  return out;
}

/** Applies iptables text to `rs` atomically. */
export function loadIptables(rs: Ruleset, text: string, opts: LoadOptions = {}): void {
  const work = rs.clone();
  try {
    applyLines(work, text, opts);
    work.commit();
  } catch (e) {
    rs.discard(work);
    throw e;
  }
  rs.adopt(work);
}

function applyLines(work: Ruleset, text: string, opts: LoadOptions): void {
  const lines = text.split('\n');
  let block: { table: TableName; line: number } | null = null;
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const raw = lines[i]!;
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const toks = tokenize(raw, lineNo);
    const first = toks[0]!;
    if (first.text.startsWith('*')) {
      if (block) throw new NfSyntaxError(lineNo, first.col, first.text, `COMMIT expected before '${first.text}' (table ${block.table} opened at line ${block.line})`);
      const name = first.text.slice(1);
      if (!isTable(name)) throw new NfSyntaxError(lineNo, first.col + 1, name, `can't initialize iptables table '${name}': Table does not exist`);
      block = { table: name, line: lineNo };
      flushTable(work.load(name));
      continue;
    }
    if (first.text.startsWith(':')) {
      if (!block) throw new NfSyntaxError(lineNo, first.col, first.text, 'chain declaration outside a *table block');
      declareChain(work.table(block.table), toks, lineNo, opts);
      continue;
    }
    if (first.text === 'COMMIT') {
      if (!block) throw new NfSyntaxError(lineNo, first.col, first.text, 'COMMIT without a *table block');
      block = null;
      continue;
    }
    runCommand(work, toks, lineNo, block?.table ?? null, opts);
  }
  if (block) throw new NfSyntaxError(block.line, 1, `*${block.table}`, `COMMIT expected for table ${block.table}`);
}

function isTable(name: string): name is TableName {
  return (TABLE_NAMES as readonly string[]).includes(name);
}

function flushTable(t: Table): void {
  for (const [name, c] of [...t.chains]) {
    if (c.builtin) c.rules = [];
    else t.chains.delete(name);
  }
}

function parseCounters(text: string): [number, number] | null {
  const m = /^\[(\d+):(\d+)\]$/.exec(text);
  return m ? [Number(m[1]), Number(m[2])] : null;
}

function checkChainName(name: string, tok: Tok, lineNo: number): void {
  if (name.length >= 29) throw new NfSyntaxError(lineNo, tok.col, name, `chain name '${name}' too long (must be under 29 chars)`);
  if (name === '' || name.startsWith('-') || name.startsWith('!')) {
    throw new NfSyntaxError(lineNo, tok.col, name, `chain name not allowed to start with '${name[0] ?? ''}'`);
  }
  if (TARGET_NAMES.has(name)) throw new NfSyntaxError(lineNo, tok.col, name, 'chain name may not clash with target name');
}

function declareChain(t: Table, toks: Tok[], lineNo: number, opts: LoadOptions): void {
  const first = toks[0]!;
  const name = first.text.slice(1);
  const pol = toks[1];
  if (!pol) throw new NfSyntaxError(lineNo, first.col, first.text, 'chain declaration without a policy');
  const existing = t.chains.get(name);
  if (existing?.builtin) {
    if (pol.text !== 'ACCEPT' && pol.text !== 'DROP') throw new NfSyntaxError(lineNo, pol.col, pol.text, `bad policy '${pol.text}' for built-in chain ${name}`);
    if (t.name === 'nat' && pol.text === 'DROP') throw new NfSyntaxError(lineNo, pol.col, pol.text, natDropMessage);
    existing.policy = pol.text;
    const ctr = toks[2] ? parseCounters(toks[2].text) : null;
    if (toks[2] && !ctr) throw new NfSyntaxError(lineNo, toks[2].col, toks[2].text, 'bad counters, expected [packets:bytes]');
    if (ctr && opts.counters) t.setCounts(existing, ctr[0], ctr[1]);
    return;
  }
  if (pol.text !== '-') throw new NfSyntaxError(lineNo, pol.col, pol.text, `user chain ${name} cannot have a policy ('${pol.text}'); use '-'`);
  checkChainName(name, { text: name, col: first.col + 1 }, lineNo);
  if (existing) throw new NfSyntaxError(lineNo, first.col + 1, name, `chain '${name}' already exists`);
  t.chains.set(name, new Chain(name, false, null));
}

// xtables_error's words, with their blank lines (the topology file's reader gets them trimmed).
const natDropMessage = '\nThe "nat" table is not intended for filtering, the use of DROP is therefore inhibited.\n\n';

// ---- commands ---------------------------------------------------------------

const CMD: Record<string, string> = {
  '-A': 'A', '--append': 'A', '-I': 'I', '--insert': 'I', '-D': 'D', '--delete': 'D', '-R': 'R', '--replace': 'R',
  '-N': 'N', '--new-chain': 'N', '--new': 'N', '-X': 'X', '--delete-chain': 'X', '-F': 'F', '--flush': 'F',
  '-P': 'P', '--policy': 'P', '-Z': 'Z', '--zero': 'Z', '-E': 'E', '--rename-chain': 'E',
};

const QUERY = new Set(['-L', '--list', '-S', '--list-rules', '-C', '--check']);
const IGNORED_FLAGS = new Set(['-v', '--verbose', '-n', '--numeric', '-x', '--exact', '--line-numbers', '-4', '--ipv4']);

interface RuleSpec {
  srcs: Array<{ addr: number; mask: number }>;
  dsts: Array<{ addr: number; mask: number }>;
  inv: number;
  inIf: string; inWild: boolean; hasIn: boolean; inIndex: number;
  outIf: string; outWild: boolean; hasOut: boolean; outIndex: number;
  proto: number; hasProto: boolean;
  fragment: boolean;
  matches: Array<{ b: MatchBuilder; index: number }>;
  protoLoaded: boolean;
  target: { b: TargetBuilder | null; name: string; index: number; goto: boolean } | null;
  counters: [number, number] | null;
  any: boolean;
}

class Reader implements ArgReader {
  optIndex = 0;
  index = 0;
  constructor(readonly toks: Tok[], public pos: number) {}
  arg(): string {
    if (this.pos >= this.toks.length) throw new NfOptionError(`option "${this.toks[this.optIndex]!.text}" requires an argument`, this.optIndex);
    this.index = this.pos;
    return this.toks[this.pos++]!.text;
  }
  peek(): string | undefined {
    return this.toks[this.pos]?.text;
  }
  /** An optional positional argument (xs_has_arg). */
  optional(): string | undefined {
    const t = this.peek();
    if (t === undefined || t.startsWith('-') || t === '!') return undefined;
    return this.arg();
  }
}

function runCommand(work: Ruleset, toksIn: Tok[], lineNo: number, blockTable: TableName | null, opts: LoadOptions): void {
  const toks = normalize(toksIn);
  const err = (e: unknown): never => {
    if (e instanceof NfOptionError) {
      const t = toks[Math.min(e.tokenIndex, toks.length - 1)]!;
      throw new NfSyntaxError(lineNo, t.col, t.text, e.message, undefined, e.iptc);
    }
    throw e;
  };
  try {
    parseCommand(work, toks, lineNo, blockTable, opts);
  } catch (e) {
    err(e);
  }
}

/** `--opt=value` → two tokens; old-style `--opt ! value` → `! --opt value`. */
function normalize(toks: Tok[]): Tok[] {
  const out: Tok[] = [];
  for (const t of toks) {
    const eq = t.text.startsWith('--') ? t.text.indexOf('=') : -1;
    if (eq > 2) {
      out.push({ text: t.text.slice(0, eq), col: t.col }, { text: t.text.slice(eq + 1), col: t.col + eq + 1 });
    } else out.push(t);
  }
  for (let i = 0; i + 2 < out.length; i++) {
    const a = out[i]!;
    if (a.text.startsWith('-') && a.text.length > 1 && !(a.text in CMD) && out[i + 1]!.text === '!') {
      out[i] = out[i + 1]!;
      out[i + 1] = a;
    }
  }
  return out;
}

function fail(message: string, index: number, iptc?: string): never {
  throw new NfOptionError(message, index, iptc);
}

// What libiptc's refusals read as in iptables-legacy (iptc_strerror, else strerror; EINVAL's with a word on dmesg).
const NO_CHAIN = 'No chain/target/match by that name';
const BAD_RULE = 'Bad rule (does a matching rule exist in that chain?)';
const EINVAL = (what: string): string => `${what}. Run \`dmesg' for more information`;

function parseCommand(work: Ruleset, toks: Tok[], lineNo: number, blockTable: TableName | null, opts: LoadOptions): void {
  const r = new Reader(toks, 0);
  let counters: [number, number] | null = null;
  if (toks[0] && toks[0].text.startsWith('[')) {
    counters = parseCounters(toks[0].text);
    if (!counters) fail('bad counters, expected [packets:bytes]', 0);
    if (!opts.counters) counters = null;
    r.pos = 1;
  }
  if (r.peek() !== undefined && /^(ip6?tables)(-legacy|-nft)?$/.test(r.peek()!)) r.pos++;

  let tableName: TableName | null = null;
  let cmd: { op: string; index: number; chain: string; chainIndex: number; num: number; arg2: string; arg2Index: number } | null = null;
  const spec: RuleSpec = {
    srcs: [], dsts: [], inv: 0, inIf: '', inWild: false, hasIn: false, inIndex: 0, outIf: '', outWild: false, hasOut: false, outIndex: 0,
    proto: 0, hasProto: false, fragment: false, matches: [], protoLoaded: false, target: null, counters, any: false,
  };
  let invert = false;
  let invertIndex = 0;

  while (r.pos < toks.length) {
    const i = r.pos;
    const opt = toks[r.pos++]!.text;
    r.optIndex = i;
    r.index = i;
    if (opt === '!') {
      if (invert) fail('multiple consecutive ! not allowed', i);
      invert = true;
      invertIndex = i;
      continue;
    }
    const inv = invert;
    invert = false;
    const noInv = () => {
      if (inv) fail(`cannot have ! before ${opt}`, invertIndex);
    };

    if (opt in CMD) {
      noInv();
      if (cmd) fail(`cannot use ${opt} with -${cmd.op}`, i);
      const op = CMD[opt]!;
      const c = { op, index: i, chain: '', chainIndex: i, num: 0, arg2: '', arg2Index: i };
      const needsChain = op !== 'X' && op !== 'F' && op !== 'Z';
      const chain = needsChain ? r.arg() : r.optional();
      if (chain !== undefined) {
        c.chain = chain;
        c.chainIndex = r.index;
      }
      if (op === 'I' || op === 'D' || op === 'R') {
        const n = r.peek();
        if (n !== undefined && /^\d+$/.test(n)) {
          r.arg();
          c.num = Number(n);
          if (c.num < 1) fail(`Invalid rule number '${n}'`, r.index);
        } else if (op === 'R') fail(`option "${opt}" requires a rule number`, i);
      }
      if (op === 'P' || op === 'E') {
        c.arg2 = r.arg();
        c.arg2Index = r.index;
      }
      cmd = c;
      continue;
    }
    if (QUERY.has(opt)) fail(`'${opt}' is a query, not a configuration command`, i);
    if (IGNORED_FLAGS.has(opt)) continue;
    if (opt === '-w' || opt === '--wait' || opt === '-W' || opt === '--wait-interval') {
      r.optional();
      continue;
    }
    if (opt === '-t' || opt === '--table') {
      noInv();
      const t = r.arg();
      if (blockTable) fail(`the -t option cannot be used inside a *${blockTable} block`, i);
      if (!isTable(t)) fail(`can't initialize iptables table '${t}': Table does not exist`, r.index);
      tableName = t;
      continue;
    }
    if (opt === '-s' || opt === '--source' || opt === '--src' || opt === '-d' || opt === '--destination' || opt === '--dst') {
      const isSrc = opt === '-s' || opt === '--source' || opt === '--src';
      const list = isSrc ? spec.srcs : spec.dsts;
      if (list.length) fail(`multiple ${isSrc ? '-s' : '-d'} flags not allowed`, i);
      for (const part of r.arg().split(',')) {
        const p = parseIpv4Prefix(part);
        if (!p) fail(`host/network '${part}' not found`, r.index);
        list.push(p);
      }
      if (inv) {
        if (list.length > 1) fail(`! not allowed with multiple ${isSrc ? 'source' : 'destination'} addresses`, invertIndex);
        spec.inv |= isSrc ? INV_SRC : INV_DST;
      }
      spec.any = true;
      continue;
    }
    if (opt === '-i' || opt === '--in-interface' || opt === '-o' || opt === '--out-interface') {
      const isIn = opt === '-i' || opt === '--in-interface';
      if (isIn ? spec.hasIn : spec.hasOut) fail(`multiple ${isIn ? '-i' : '-o'} flags not allowed`, i);
      const name = r.arg();
      if (name.length > 15) fail(`interface name '${name}' must be shorter than IFNAMSIZ (15)`, r.index);
      const wild = name.endsWith('+');
      const base = wild ? name.slice(0, -1) : name;
      if (isIn) {
        spec.inIf = base; spec.inWild = wild; spec.hasIn = true; spec.inIndex = i;
        if (inv) spec.inv |= INV_IN;
      } else {
        spec.outIf = base; spec.outWild = wild; spec.hasOut = true; spec.outIndex = i;
        if (inv) spec.inv |= INV_OUT;
      }
      spec.any = true;
      continue;
    }
    if (opt === '-p' || opt === '--protocol') {
      if (spec.hasProto) fail('multiple -p flags not allowed', i);
      const name = r.arg();
      const p = protoByName(name);
      if (p < 0) fail(`unknown protocol '${name}' specified`, r.index);
      if (p === 0 && inv) fail('rule would never match protocol', invertIndex);
      spec.proto = p;
      spec.hasProto = true;
      if (inv) spec.inv |= INV_PROTO;
      spec.any = true;
      continue;
    }
    if (opt === '-f' || opt === '--fragment') {
      spec.fragment = true;
      if (inv) spec.inv |= INV_FRAG;
      spec.any = true;
      continue;
    }
    if (opt === '-m' || opt === '--match') {
      noInv();
      const name = r.arg();
      const b = createMatchBuilder(name);
      if (!b) fail(`unknown match '${name}'`, r.index);
      spec.matches.push({ b, index: r.index });
      if ((name === 'tcp' && spec.proto === 6) || (name === 'udp' && spec.proto === 17) || (name === 'icmp' && spec.proto === 1)) {
        spec.protoLoaded = true;
      }
      spec.any = true;
      continue;
    }
    if (opt === '-j' || opt === '--jump' || opt === '-g' || opt === '--goto') {
      noInv();
      if (spec.target) fail('multiple -j flags not allowed', i);
      const name = r.arg();
      const isGoto = opt === '-g' || opt === '--goto';
      const b = isGoto ? null : createTargetBuilder(name);
      if (isGoto && TARGET_NAMES.has(name)) fail(`goto '${name}' is not a chain`, r.index);
      spec.target = { b, name, index: r.index, goto: isGoto };
      spec.any = true;
      continue;
    }
    if (opt === '-c' || opt === '--set-counters') {
      const p = r.arg();
      const b = r.arg();
      if (!/^\d+$/.test(p) || !/^\d+$/.test(b)) fail('-c packet counter and byte counter must be numbers', r.index);
      spec.counters = [Number(p), Number(b)];
      continue;
    }
    // An extension option: the target first, then the loaded matches, then the
    // match named after -p, loaded on demand as iptables does.
    if (!opt.startsWith('-')) fail(`bad argument '${opt}'`, i);
    if (spec.target?.b && spec.target.b.option(opt, inv, r)) continue;
    let claimed = false;
    for (let k = spec.matches.length - 1; k >= 0 && !claimed; k--) claimed = spec.matches[k]!.b.option(opt, inv, r);
    if (claimed) continue;
    if (spec.hasProto && !spec.protoLoaded && (spec.proto === 6 || spec.proto === 17 || spec.proto === 1)) {
      const b = createMatchBuilder(spec.proto === 6 ? 'tcp' : spec.proto === 17 ? 'udp' : 'icmp')!;
      spec.protoLoaded = true;
      spec.matches.push({ b, index: i });
      if (b.option(opt, inv, r)) continue;
    }
    fail(`unknown option "${opt}"`, i);
  }
  if (invert) fail('! at the end of the line', invertIndex);
  if (!cmd) {
    fail('no command specified (expected -A, -I, -D, -R, -N, -X, -F, -P, -Z or -E)', 0);
  }
  const table = work.load(tableName ?? blockTable ?? opts.table ?? 'filter');
  execute(table, cmd, spec, toks, lineNo, r);
}

function getChain(t: Table, name: string, index: number, iptc = NO_CHAIN): Chain {
  const c = t.chains.get(name);
  if (!c) fail(`chain '${name}' does not exist`, index, iptc);
  return c;
}

function execute(
  t: Table,
  cmd: { op: string; index: number; chain: string; chainIndex: number; num: number; arg2: string; arg2Index: number },
  spec: RuleSpec, toks: Tok[], lineNo: number, r: Reader,
): void {
  const takesRule = cmd.op === 'A' || cmd.op === 'I' || cmd.op === 'R' || (cmd.op === 'D' && cmd.num === 0);
  if (!takesRule && spec.any) fail(`-${cmd.op} takes no rule specification`, cmd.index);
  switch (cmd.op) {
    case 'N': {
      checkChainNameAt(cmd.chain, cmd.chainIndex);
      if (t.chains.has(cmd.chain)) fail(`chain '${cmd.chain}' already exists`, cmd.chainIndex, 'Chain already exists');
      t.chains.set(cmd.chain, new Chain(cmd.chain, false, null));
      return;
    }
    case 'X': {
      const victims = cmd.chain ? [getChain(t, cmd.chain, cmd.chainIndex)] : [...t.chains.values()].filter((c) => !c.builtin);
      // iptc_delete_chain: built-in (EINVAL), then references (EMLINK), then rules (ENOTEMPTY).
      for (const c of victims) {
        if (c.builtin) fail(`cannot delete built-in chain '${c.name}'`, cmd.chainIndex, EINVAL('Invalid argument'));
        for (const o of t.chains.values()) {
          if (victims.includes(o)) continue;
          if (o.rules.some((x) => x.target.name === c.name && (x.target.kind === T_JUMP || x.target.kind === T_GOTO))) {
            fail(`chain '${c.name}' is still referenced from '${o.name}'`, cmd.chainIndex, 'Too many links');
          }
        }
        if (c.rules.length) fail(`chain '${c.name}' is not empty`, cmd.chainIndex, 'Directory not empty');
      }
      for (const c of victims) t.chains.delete(c.name);
      return;
    }
    case 'F': {
      const list = cmd.chain ? [getChain(t, cmd.chain, cmd.chainIndex)] : [...t.chains.values()];
      for (const c of list) c.rules = [];
      return;
    }
    case 'Z': {
      t.zero(cmd.chain ? getChain(t, cmd.chain, cmd.chainIndex) : undefined);
      return;
    }
    case 'P': {
      const c = getChain(t, cmd.chain, cmd.chainIndex, 'Bad built-in chain name');
      if (!c.builtin) fail(`bad built-in chain name '${cmd.chain}'`, cmd.chainIndex, 'Bad built-in chain name');
      if (cmd.arg2 !== 'ACCEPT' && cmd.arg2 !== 'DROP') fail(`bad policy name '${cmd.arg2}'`, cmd.arg2Index, EINVAL('Bad policy name'));
      if (t.name === 'nat' && cmd.arg2 === 'DROP') fail(natDropMessage, cmd.arg2Index);
      c.policy = cmd.arg2;
      return;
    }
    case 'E': {
      const c = getChain(t, cmd.chain, cmd.chainIndex);
      if (c.builtin) fail(`cannot rename built-in chain '${cmd.chain}'`, cmd.chainIndex, NO_CHAIN);
      checkChainNameAt(cmd.arg2, cmd.arg2Index);
      if (t.chains.has(cmd.arg2)) fail(`chain '${cmd.arg2}' already exists`, cmd.arg2Index, 'File exists');
      t.chains.delete(c.name);
      const renamed = new Chain(cmd.arg2, false, null);
      renamed.rules = c.rules;
      t.chains.set(cmd.arg2, renamed);
      for (const o of t.chains.values()) {
        o.rules = o.rules.map((x) => (x.target.name === c.name && (x.target.kind === T_JUMP || x.target.kind === T_GOTO)
          ? { ...x, target: new JumpTarget(x.target.kind, cmd.arg2) } : x));
      }
      return;
    }
  }
  // The line's own errors come first (a jump to no chain among them); then a chain that is not there (a rule to delete from one: iptc_delete_entry's ENOENT).
  const rules = buildRules(t, cmd.chain, spec, toks, lineNo, r);
  const chain = getChain(t, cmd.chain, cmd.chainIndex, cmd.op === 'D' && cmd.num === 0 ? BAD_RULE : NO_CHAIN);
  if (cmd.op !== 'D') {
    // Rules that go in get counter blocks (given back by discard() if the load fails).
    for (const rule of rules) {
      t.counters.alloc(rule, RULE_CELLS);
      if (spec.counters) t.setCounts(rule, spec.counters[0], spec.counters[1]);
    }
  }
  const list = chain.rules;
  switch (cmd.op) {
    case 'A':
      list.push(...rules);
      return;
    case 'I': {
      const at = (cmd.num || 1) - 1;
      if (at > list.length) fail('index of insertion too big', cmd.index, 'Index of insertion too big');
      list.splice(at, 0, ...rules);
      return;
    }
    case 'R': {
      if (cmd.num > list.length) fail('index of replacement too big', cmd.index, 'Index of replacement too big');
      if (rules.length !== 1) fail('-R requires a rule that expands to exactly one rule', cmd.index);
      list[cmd.num - 1] = rules[0]!;
      return;
    }
    case 'D': {
      if (cmd.num > 0) {
        if (cmd.num > list.length) fail('index of deletion too big', cmd.index, 'Index of deletion too big');
        list.splice(cmd.num - 1, 1);
        return;
      }
      for (const rule of rules) {
        const want = ruleSaveText(chain.name, rule, false);
        const at = list.findIndex((x) => ruleSaveText(chain.name, x, false) === want);
        if (at < 0) fail('bad rule (does a matching rule exist in that chain?)', cmd.index, BAD_RULE);
        list.splice(at, 1);
      }
      return;
    }
  }
}

function checkChainNameAt(name: string, index: number): void {
  if (name.length >= 29) fail(`chain name '${name}' too long (must be under 29 chars)`, index);
  if (name.startsWith('-') || name.startsWith('!')) fail(`chain name not allowed to start with '${name[0]}'`, index);
  if (TARGET_NAMES.has(name)) fail('chain name may not clash with target name', index);
}

/** The rules of a command as iptables builds them from its line, by the chain's name alone (before libiptc looks the chain up). */
function buildRules(t: Table, chainName: string, spec: RuleSpec, toks: Tok[], lineNo: number, r: Reader): Rule[] {
  const hook = hookByName(chainName);
  if (spec.hasIn && (hook === HOOK_OUTPUT || hook === HOOK_POSTROUTING)) fail(`Can't use -i with ${chainName}\n`, spec.inIndex);
  if (spec.hasOut && (hook === HOOK_PREROUTING || hook === HOOK_INPUT)) fail(`Can't use -o with ${chainName}\n`, spec.outIndex);
  const ip = { proto: spec.proto, protoInv: (spec.inv & INV_PROTO) !== 0 };
  const matches = spec.matches.map(({ b, index }) => {
    r.optIndex = index;
    return b.build(ip, r);
  });
  let target = TARGET_CONTINUE;
  let targetColumn = 1;
  if (spec.target) {
    r.optIndex = spec.target.index;
    targetColumn = toks[spec.target.index]!.col;
    if (spec.target.b) target = spec.target.b.build(ip, r);
    else if (!t.chains.has(spec.target.name)) throw noTargetError(lineNo, targetColumn, spec.target.name, spec.target.goto);
    else target = new JumpTarget(spec.target.goto ? T_GOTO : T_JUMP, spec.target.name);
    if (t.name === 'nat' && target.kind === T_DROP) fail(natDropMessage, spec.target.index);
  }
  const live = matches.filter((m) => !m.inert);
  const srcs = spec.srcs.length ? spec.srcs : [{ addr: 0, mask: 0 }];
  const dsts = spec.dsts.length ? spec.dsts : [{ addr: 0, mask: 0 }];
  const out: Rule[] = [];
  for (const s of srcs) {
    for (const d of dsts) {
      const rule: Rule = {
        src: s.addr | 0, smsk: s.mask | 0, dst: d.addr | 0, dmsk: d.mask | 0,
        inIf: spec.inIf, inWild: spec.inWild, outIf: spec.outIf, outWild: spec.outWild,
        proto: spec.proto, fragment: spec.fragment, inv: spec.inv,
        matches, live, target, kind: target.kind, test: 0, jump: null,
        cells: NO_CELLS, at: 0,
        line: lineNo, targetColumn,
      };
      rule.test = ruleTests(rule);
      out.push(rule);
    }
  }
  return out;
}
