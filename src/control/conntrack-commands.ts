// conntrack -L / -C / -S / -D / -F inside a namespace (conntrack-tools 1.4.6 wording).
import { conntrackEntryText, conntrackStatsText, conntrackSummary, parseIpv4, type CtEntry } from '../netfilter/index.js';
import { type CommandFamily } from './command.js';
import { ControlError, ok } from './protocol.js';
import { mustNamespace } from './resolve.js';

const TOOL = 'conntrack v1.4.6 (conntrack-tools)';
const PROTOS: Record<string, number> = { icmp: 1, tcp: 6, udp: 17 };
const CMDS = ['-L', '--dump', '-C', '--count', '-S', '--stats', '-D', '--delete', '-F', '--flush'];
const WITH_VALUE = ['-s', '--src', '--orig-src', '-d', '--dst', '--orig-dst', '-r', '--reply-src', '-q', '--reply-dst', '-p', '--proto', '--sport', '--orig-port-src', '--dport', '--orig-port-dst', '-o', '--output'];

interface Parsed {
  node?: string;
  ns?: string;
  cmd?: string;
  filters: Map<string, string>;
}

/** NODE, then -n NS (before the command: conntrack's own -n is --src-nat), the command and its filters. */
function parse(argv: readonly string[]): Parsed {
  const out: Parsed = { filters: new Map() };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!out.cmd && out.ns === undefined && (a === '-n' || a === '--netns') && argv[i + 1] && !argv[i + 1]!.startsWith('-')) out.ns = argv[++i];
    else if (CMDS.includes(a)) {
      if (out.cmd) throw new ControlError(`${TOOL}: Invalid parameter "${a}": only one command at a time`, 2);
      out.cmd = a.length === 2 ? a : `-${a[2]!.toUpperCase()}`;
      if (a === '--dump') out.cmd = '-L';
    } else if (WITH_VALUE.includes(a)) out.filters.set(a, argv[++i] ?? '');
    else if (!a.startsWith('-') && out.node === undefined) out.node = a;
    else throw new ControlError(`${TOOL}: Unknown option "${a}"\nTry \`conntrack -h' for more information.`, 2);
  }
  return out;
}

/** An entry matches every filter given (-s/-d/-r/-q addresses, -p, --sport/--dport on the original tuple). */
function matcher(f: Map<string, string>): (e: CtEntry) => boolean {
  const get = (...k: string[]) => k.map((x) => f.get(x)).find((v) => v !== undefined);
  const addr = (v: string | undefined): number | undefined => {
    if (v === undefined) return undefined;
    const n = parseIpv4(v);
    if (n < 0) throw new ControlError(`${TOOL}: Bad parameter: invalid IP address \`${v}'`, 2);
    return n;
  };
  const port = (v: string | undefined): number | undefined => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0 || n > 65535) throw new ControlError(`${TOOL}: Bad parameter: invalid port \`${v}'`, 2);
    return n;
  };
  const src = addr(get('-s', '--src', '--orig-src'));
  const dst = addr(get('-d', '--dst', '--orig-dst'));
  const rsrc = addr(get('-r', '--reply-src'));
  const rdst = addr(get('-q', '--reply-dst'));
  const pv = get('-p', '--proto');
  const proto = pv === undefined ? undefined : PROTOS[pv] ?? (Number.isInteger(Number(pv)) ? Number(pv) : undefined);
  if (pv !== undefined && proto === undefined) throw new ControlError(`${TOOL}: proto \`${pv}' is not supported`, 2);
  const sport = port(get('--sport', '--orig-port-src'));
  const dport = port(get('--dport', '--orig-port-dst'));
  if ((sport !== undefined || dport !== undefined) && proto === undefined) throw new ControlError(`${TOOL}: Bad parameter: --sport/--dport need -p tcp|udp`, 2);
  return (e) =>
    (src === undefined || e.orig.src === src) && (dst === undefined || e.orig.dst === dst) &&
    (rsrc === undefined || e.reply.src === rsrc) && (rdst === undefined || e.reply.dst === rdst) &&
    (proto === undefined || e.proto === proto) &&
    (sport === undefined || e.orig.sport === sport) && (dport === undefined || e.orig.dport === dport);
}

export const conntrack: CommandFamily = {
  name: 'conntrack',
  access: (argv) => {
    const c = parse(argv).cmd;
    return c === '-D' || c === '-F' ? 'write' : 'read';
  },
  target: (argv) => ({ node: parse(argv).node }),
  run(ctx, argv) {
    const p = parse(argv);
    const el = mustNamespace(ctx, p.node, p.ns);
    const ct = el.nf.conntrack;
    const now = el.engine.now;
    const sel = matcher(p.filters);
    const live = () => ct.list().filter((e) => e.deadline > now && sel(e));
    switch (p.cmd) {
      case '-L': {
        const rows = live().map((e) => conntrackEntryText(ct, e, now, { extended: p.filters.get('-o') === 'extended' || p.filters.get('--output') === 'extended' }) + '\n');
        return ok(rows.join(''), conntrackSummary(rows.length) + '\n');
      }
      case '-C':
        return ok(`${ct.list().filter((e) => e.deadline > now).length}\n`);
      case '-S':
        return ok(conntrackStatsText(ct) + '\n');
      case '-D': {
        const victims = live();
        const text = victims.map((e) => conntrackEntryText(ct, e, now) + '\n').join('');
        for (const e of victims) ct.destroy(e.slot);
        ctx.invalidate(`${el.node}:${el.name} conntrack`);
        return ok(text, `${TOOL}: ${victims.length} flow entries have been deleted.\n`);
      }
      case '-F':
        ct.flush();
        ctx.invalidate(`${el.node}:${el.name} conntrack`);
        return ok('', `${TOOL}: connection tracking table has been emptied.\n`);
      default:
        throw new ControlError(`${TOOL}: no command specified\nTry \`conntrack -h' for more information.`, 2);
    }
  },
};
