// conntrack -L / -C / -S / -D / -F inside a namespace, with conntrack-tools'
// filters, messages and exit statuses (checked against conntrack-tools 1.4.7
// on a Linux 6.x kernel by test/e2e/conntrack-kernel.test.ts).
import {
  type Conntrack, conntrackEntryText, conntrackStatsText, conntrackSummary, type CtEntry, parseIpv4,
} from '../netfilter/index.js';
import { IPS_ASSURED, IPS_EXPECTED, IPS_SEEN_REPLY } from '../netfilter/constants.js';
import { type CommandFamily } from './command.js';
import { type CommandResponse, ControlError, ok } from './protocol.js';
import { mustNamespace } from './resolve.js';

const TOOL = 'conntrack v1.4.6 (conntrack-tools)';
const PROTOS: Record<string, number> = { icmp: 1, tcp: 6, udp: 17 };
const COMMANDS: Record<string, string> = {
  '-L': '-L', '--dump': '-L', '-C': '-C', '--count': '-C', '-S': '-S', '--stats': '-S',
  '-D': '-D', '--delete': '-D', '-F': '-F', '--flush': '-F',
};
/** Options taking a value, by the name the filter reads them under. */
const VALUE_OPTS: Record<string, string> = {
  '-s': '-s', '--src': '-s', '--orig-src': '-s', '-d': '-d', '--dst': '-d', '--orig-dst': '-d',
  '-r': '-r', '--reply-src': '-r', '-q': '-q', '--reply-dst': '-q', '-p': '-p', '--proto': '-p', '--protonum': '-p',
  '-f': '-f', '--family': '-f', '-o': '-o', '--output': '-o', '-u': '-u', '--status': '-u', '-m': '-m', '--mark': '-m',
};
/** Options that exist only once -p names a protocol with ports (conntrack-tools' protocol extensions). */
const PORT_OPTS: Record<string, string> = {
  '--sport': 'sport', '--orig-port-src': 'sport', '--dport': 'dport', '--orig-port-dst': 'dport',
  '--reply-port-src': 'rsport', '--reply-port-dst': 'rdport',
};
const NAT_FLAGS: Record<string, string> = { '-n': 'snat', '--src-nat': 'snat', '-g': 'dnat', '--dst-nat': 'dnat', '-j': 'any', '--any-nat': 'any' };
const STATUS_BITS: Record<string, number> = { EXPECTED: IPS_EXPECTED, SEEN_REPLY: IPS_SEEN_REPLY, ASSURED: IPS_ASSURED, UNSET: 0 };

/** conntrack-tools' exit_error(PARAMETER_PROBLEM, ...): the message, its hint, exit 2. */
function paramError(msg: string): ControlError {
  return new ControlError(`${TOOL}: ${msg}\nTry \`conntrack -h' or 'conntrack --help' for more information.`, 2);
}

interface ToolArgs {
  cmd: string | null;
  values: Map<string, string>;
  ports: Map<string, number>;
  nat: Set<string>;
}

function hasPorts(proto: string | undefined): boolean {
  const n = proto === undefined ? undefined : PROTOS[proto] ?? Number(proto);
  return n === 6 || n === 17;
}

function parseTool(argv: readonly string[]): ToolArgs {
  const out: ToolArgs = { cmd: null, values: new Map(), ports: new Map(), nat: new Set() };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const cmd = COMMANDS[a];
    const value = VALUE_OPTS[a];
    const port = hasPorts(out.values.get('-p')) ? PORT_OPTS[a] : undefined;
    if (cmd) {
      if (out.cmd) throw paramError('Invalid commands combination');
      out.cmd = cmd;
      // An optional table name after the command; only the connection table is emulated.
      if (argv[i + 1] !== undefined && !argv[i + 1]!.startsWith('-')) {
        if (argv[i + 1] !== 'conntrack') throw paramError(`unknown type \`${argv[i + 1]}'`);
        i++;
      }
    } else if (value || port) {
      const v = argv[++i];
      if (v === undefined) throw paramError(`option \`${a}' requires an argument`);
      // The port options parse as C's atoi into 16 bits (99999 is 34463), as conntrack-tools does.
      if (port) out.ports.set(port, (parseInt(v, 10) || 0) & 0xffff);
      else out.values.set(value!, v);
    } else if (NAT_FLAGS[a]) out.nat.add(NAT_FLAGS[a]);
    else if (!a.startsWith('-')) throw paramError(`unknown type \`${a}'`);
    else throw paramError(`unknown option \`${a}'`);
  }
  return out;
}

/** conntrack-tools' filters: address and port fields, protocol, family, status bits, mark, NAT. */
function matcher(t: ToolArgs): (e: CtEntry) => boolean {
  const addr = (k: string): number | undefined => {
    const v = t.values.get(k);
    if (v === undefined) return undefined;
    const n = parseIpv4(v);
    if (n < 0) throw paramError(`Invalid IP address \`${v}'`);
    return n;
  };
  const src = addr('-s'), dst = addr('-d'), rsrc = addr('-r'), rdst = addr('-q');
  const pv = t.values.get('-p');
  const proto = pv === undefined ? undefined : PROTOS[pv] ?? (/^\d+$/.test(pv) && Number(pv) < 256 ? Number(pv) : undefined);
  if (pv !== undefined && proto === undefined) throw paramError(`\`${pv}' unsupported protocol`);
  const fam = t.values.get('-f');
  if (fam !== undefined && fam !== 'ipv4' && fam !== 'ipv6') throw paramError(`\`${fam}' unsupported protocol`);
  const out = t.values.get('-o');
  if (out !== undefined && out.split(',').some((o) => o !== 'extended')) throw paramError(`Bad parameter \`${out}'`);
  let status = -1;
  const sv = t.values.get('-u');
  if (sv !== undefined) {
    status = 0;
    for (const n of sv.split(',')) {
      const bit = STATUS_BITS[n];
      if (bit === undefined) throw paramError(`Bad parameter \`${n}'`);
      status |= bit;
    }
    // The kernel refuses a status filter with no bit (ctnetlink: -EINVAL).
    if (status === 0) throw new ControlError(`${TOOL}: Operation failed: invalid parameters`, 1);
  }
  let markVal = -1, markMask = 0xffffffff;
  const mv = t.values.get('-m');
  if (mv !== undefined) {
    const [v, m] = mv.split('/');
    if (!Number.isFinite(Number(v)) || (m !== undefined && !Number.isFinite(Number(m)))) throw paramError(`Bad parameter \`${mv}'`);
    markVal = Number(v) >>> 0;
    if (m !== undefined) markMask = Number(m) >>> 0;
  }
  const p = t.ports;
  const snat = t.nat.has('snat') || t.nat.has('any'), dnat = t.nat.has('dnat') || t.nat.has('any');
  return (e) => {
    const o = e.orig, r = e.reply;
    if (fam === 'ipv6') return false;
    if ((src !== undefined && o.src !== src) || (dst !== undefined && o.dst !== dst)) return false;
    if ((rsrc !== undefined && r.src !== rsrc) || (rdst !== undefined && r.dst !== rdst)) return false;
    if (proto !== undefined && e.proto !== proto) return false;
    if ((p.has('sport') && o.sport !== p.get('sport')) || (p.has('dport') && o.dport !== p.get('dport'))) return false;
    if ((p.has('rsport') && r.sport !== p.get('rsport')) || (p.has('rdport') && r.dport !== p.get('rdport'))) return false;
    if (status > 0 && (e.status & status) !== status) return false;
    if (markVal >= 0 && ((e.mark & markMask) >>> 0) !== markVal) return false;
    if (snat || dnat) {
      // libnetfilter_conntrack's IS_SNAT/IS_SPAT and IS_DNAT/IS_DPAT: the reply tuple differs
      // from the original's inverse (for ICMP the id is set against type/code, as it does).
      const hasS = r.dst !== o.src || o.sport !== r.dport;
      const hasD = o.dst !== r.src || o.dport !== r.sport;
      if (t.nat.has('any')) return hasS || hasD;
      return (!snat || hasS) && (!dnat || hasD);
    }
    return true;
  };
}

/**
 * The conntrack tool's words after the namespace is chosen, on `ct` at `now`.
 * `changed`: entries were deleted (the caller's caches must know).
 */
export function conntrackTool(ct: Conntrack, now: number, argv: readonly string[]): CommandResponse & { changed: boolean } {
  const t = parseTool(argv);
  const sel = matcher(t);
  const live = () => ct.list().filter((e) => e.deadline > now && sel(e));
  const res = (r: CommandResponse, changed = false) => ({ ...r, changed });
  switch (t.cmd) {
    case '-L': {
      const rows = live().map((e) => conntrackEntryText(ct, e, now, { extended: t.values.get('-o') === 'extended' }) + '\n');
      return res(ok(rows.join(''), conntrackSummary(rows.length) + '\n'));
    }
    case '-C':
      return res(ok(`${ct.list().filter((e) => e.deadline > now).length}\n`));
    case '-S':
      return res(ok(conntrackStatsText(ct) + '\n'));
    case '-D': {
      const victims = live();
      const text = victims.map((e) => conntrackEntryText(ct, e, now) + '\n').join('');
      for (const e of victims) ct.destroy(e.slot);
      // Nothing deleted is a failure (exit 1), with the same count line.
      const n = victims.length;
      return { ok: n > 0, stdout: text, stderr: `${TOOL}: ${n} flow entries have been deleted.\n`, exit: n > 0 ? 0 : 1, changed: n > 0 };
    }
    case '-F':
      ct.flush();
      return res(ok('', `${TOOL}: connection tracking table has been emptied.\n`), true);
    default:
      throw paramError('no command specified');
  }
}

/** NODE and -n NS come first (conntrack's own -n, after the command, is --src-nat); the tool's words follow. */
function splitTarget(argv: readonly string[]): { node?: string; ns?: string; rest: string[] } {
  let node: string | undefined;
  let ns: string | undefined;
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (ns === undefined && (a === '-n' || a === '--netns') && argv[i + 1] && !argv[i + 1]!.startsWith('-')) ns = argv[++i];
    else if (node === undefined && !a.startsWith('-')) node = a;
    else break;
  }
  return { node, ns, rest: argv.slice(i) };
}

export const conntrack: CommandFamily = {
  name: 'conntrack',
  access: (argv) => {
    const c = parseTool(splitTarget(argv).rest).cmd;
    return c === '-D' || c === '-F' ? 'write' : 'read';
  },
  target: (argv) => ({ node: splitTarget(argv).node }),
  run(ctx, argv) {
    const { node, ns, rest } = splitTarget(argv);
    const el = mustNamespace(ctx, node, ns);
    const { changed, ...r } = conntrackTool(el.nf.conntrack, el.engine.now, rest);
    if (changed) ctx.invalidate(`${el.node}:${el.name} conntrack`);
    return r;
  },
};
