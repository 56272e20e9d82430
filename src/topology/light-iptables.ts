// A light reader of iptables-save text: tables, chains, COMMIT, and that
// every -A chain and -j target exists. The real parser (src/netfilter/)
// checks matches and target options.
import type { BlockIssue } from './text-blocks.js';
import { words } from './light-ip.js';

const BUILTIN: Readonly<Record<string, readonly string[]>> = {
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
  mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'],
  raw: ['PREROUTING', 'OUTPUT'],
  security: ['INPUT', 'FORWARD', 'OUTPUT'],
};

const TARGETS = new Set([
  'ACCEPT', 'DROP', 'RETURN', 'QUEUE', 'REJECT', 'LOG', 'NFLOG', 'NFQUEUE', 'SNAT', 'DNAT', 'MASQUERADE', 'REDIRECT',
  'NETMAP', 'MARK', 'CONNMARK', 'CT', 'NOTRACK', 'TCPMSS', 'CHECKSUM', 'TPROXY', 'TRACE', 'AUDIT', 'CLASSIFY', 'DSCP',
  'TOS', 'TTL', 'SET', 'CONNSECMARK', 'SECMARK', 'HMARK', 'IDLETIMER', 'LED', 'RATEEST', 'TEE', 'ECN', 'SYNPROXY',
]);

interface Table {
  name: string;
  line: number;
  chains: Set<string>;
  jumps: { target: string; line: number; col: number }[];
}

export function readIptables(text: string): { issues: BlockIssue[] } {
  const issues: BlockIssue[] = [];
  let cur: Table | null = null;
  const close = (t: Table): void => {
    for (const j of t.jumps) {
      if (!t.chains.has(j.target) && !TARGETS.has(j.target)) {
        issues.push({ line: j.line, col: j.col, message: `unknown target or chain ${JSON.stringify(j.target)} in table ${t.name}` });
      }
    }
  };
  text.split('\n').forEach((raw, i) => {
    const line = i + 1;
    const body = raw.replace(/\r$/, '');
    const trimmed = body.trim();
    if (!trimmed || trimmed.startsWith('#')) return;
    const w = words(body);
    const first = w[0]!;
    const issue = (col: number, message: string): void => void issues.push({ line, col, message });
    if (first.text.startsWith('*')) {
      const name = first.text.slice(1);
      if (cur) {
        issue(first.col, `expected COMMIT before *${name} (table ${cur.name} opened on line ${cur.line})`);
        close(cur);
        cur = null;
      }
      if (!BUILTIN[name]) return issue(first.col + 1, `unknown table ${JSON.stringify(name)} (expected ${Object.keys(BUILTIN).join(', ')})`);
      cur = { name, line, chains: new Set(BUILTIN[name]), jumps: [] };
      return;
    }
    if (first.text === 'COMMIT') {
      if (!cur) return issue(first.col, 'COMMIT without a table (*filter, *nat, ...)');
      close(cur);
      cur = null;
      return;
    }
    if (!cur) return issue(first.col, 'expected a table line (*filter, *nat, *mangle, *raw) first');
    const t: Table = cur;
    if (first.text.startsWith(':')) {
      const chain = first.text.slice(1);
      const policy = w[1]?.text;
      const builtin = BUILTIN[t.name]!.includes(chain);
      if (!chain) return issue(first.col, 'expected a chain name after ":"');
      if (builtin ? policy !== 'ACCEPT' && policy !== 'DROP' : policy !== '-') {
        return issue(w[1]?.col ?? first.col, `expected policy ${builtin ? 'ACCEPT or DROP' : '"-" (a user chain has no policy)'} for chain ${chain}`);
      }
      t.chains.add(chain);
      return;
    }
    if (first.text === '-N' || first.text === '-P') {
      const chain = w[1];
      if (!chain) return issue(first.col, `expected a chain after ${first.text}`);
      if (first.text === '-N') t.chains.add(chain.text);
      else if (!BUILTIN[t.name]!.includes(chain.text)) return issue(chain.col, `${chain.text} is not a built-in chain of table ${t.name}`);
      return;
    }
    if (first.text === '-A' || first.text === '-I') {
      const chain = w[1];
      if (!chain) return issue(first.col, `expected a chain after ${first.text}`);
      if (!t.chains.has(chain.text)) return issue(chain.col, `no chain ${JSON.stringify(chain.text)} in table ${t.name} (declare it with ":${chain.text} - [0:0]")`);
      for (let k = 2; k < w.length; k++) {
        if ((w[k]!.text === '-j' || w[k]!.text === '--jump' || w[k]!.text === '-g' || w[k]!.text === '--goto') && w[k + 1]) {
          t.jumps.push({ target: w[k + 1]!.text, line, col: w[k + 1]!.col });
        }
      }
      return;
    }
    issue(first.col, `unexpected ${JSON.stringify(first.text)} (expected *table, :chain, -A, COMMIT)`);
  });
  if (cur) {
    const t: Table = cur;
    issues.push({ line: t.line, col: 1, message: `table ${t.name} has no COMMIT` });
    close(t);
  }
  return { issues: issues.sort((a, b) => a.line - b.line || a.col - b.col) };
}
