// `dpemu trace` output: every branch of a traced run, hop by hop. For each
// element the packet enters: node, element, the port in and the frame there
// (tcpdump -nnee style, VXLAN on two lines as tcpdump decodes it), the
// decisions the element reported, and the port out with the frame if it
// changed. Packets created on the way (flood copies, ARP requests, ICMP
// errors, replies) are printed as their own branches.
import type { TraceEvent } from '../datapath/trace.js';
import { Tcpdump } from '../wire/tcpdump.js';

function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

function same(a: Uint8Array | null, b: Uint8Array): boolean {
  if (!a || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export interface TraceBranch {
  id: number;
  parent: number | null;
  cause: string | null;
  events: TraceEvent[];
}

export function branches(events: readonly TraceEvent[]): TraceBranch[] {
  const byId = new Map<number, TraceBranch>();
  for (const ev of events) {
    let b = byId.get(ev.branch);
    if (!b) byId.set(ev.branch, (b = { id: ev.branch, parent: null, cause: null, events: [] }));
    if (ev.kind === 'branch') {
      b.parent = ev.parent;
      b.cause = `${ev.node}:${ev.element}: ${ev.cause}`;
    } else b.events.push(ev);
  }
  return [...byId.values()].sort((a, b) => a.id - b.id);
}

/** How a branch ended, in one line. */
export function outcome(b: TraceBranch): string {
  const last = b.events[b.events.length - 1];
  if (!last) return 'no events';
  switch (last.kind) {
    case 'edge':
      return `left the emulator at ${last.node}:${last.port}`;
    case 'drop':
      return `dropped at ${last.node}:${last.element}: ${last.reason}${last.text ? ` (${last.text})` : ''}`;
    case 'consume':
      return `consumed at ${last.node}:${last.element}: ${last.text}`;
    default:
      return `stopped at ${last.node}:${last.element}`;
  }
}

export function formatTrace(events: readonly TraceEvent[], title = ''): string {
  const td = new Tcpdump();
  const fmt = (f: Uint8Array) => td.format(f, 0, f.length).split('\n');
  const lines: string[] = [];
  if (title) lines.push(title, '');
  const all = branches(events);
  lines.push(...summary(all), '');
  for (const b of all) {
    const head = b.parent === null ? `=== packet ${b.id}` : `=== packet ${b.id} (from packet ${b.parent}: ${b.cause})`;
    lines.push(head);
    let current = '';
    let lastFrame: Uint8Array | null = null;
    for (const ev of b.events) {
      const where = `${ev.node} ${ev.element}`;
      if (ev.kind === 'in') {
        if (where !== current) {
          lines.push(`  ${where}`);
          current = where;
        }
        const [first, ...rest] = fmt(ev.frame);
        lines.push(`    in  ${ev.port}: ${first}`, ...rest.map((l) => `        ${l}`));
        lastFrame = ev.frame;
      } else if (ev.kind === 'out') {
        if (same(lastFrame, ev.frame)) lines.push(`    out ${ev.port}`);
        else {
          const [first, ...rest] = fmt(ev.frame);
          lines.push(`    out ${ev.port}: ${first}`, ...rest.map((l) => `        ${l}`));
        }
        lastFrame = ev.frame;
      } else if (ev.kind === 'note') {
        if (where !== current) {
          lines.push(`  ${where}`);
          current = where;
        }
        for (const l of ev.text.split('\n')) lines.push(`      ${l}`);
      } else if (ev.kind === 'edge') {
        lines.push(`    => leaves the emulator at ${ev.node}:${ev.port}`);
      } else if (ev.kind === 'drop') {
        lines.push(`    => DROP at ${where}: ${ev.reason}${ev.text ? ` (${ev.text})` : ''}`);
      } else if (ev.kind === 'consume') {
        lines.push(`    => consumed at ${where}: ${ev.text}`);
      }
    }
    lines.push('');
  }
  return lines.join('\n');
}

/**
 * One line per branch saying how it ended, the ones that left the emulator
 * first, each with its lineage (1 > 3 > 4 > 6): the path at a glance.
 */
function summary(all: TraceBranch[]): string[] {
  const byId = new Map(all.map((b) => [b.id, b]));
  const lineage = (b: TraceBranch): string => {
    const ids: number[] = [];
    for (let x: TraceBranch | undefined = b; x; x = x.parent === null ? undefined : byId.get(x.parent)) ids.unshift(x.id);
    return ids.join(' > ');
  };
  const rank = (b: TraceBranch) => (b.events.at(-1)?.kind === 'edge' ? 0 : b.events.at(-1)?.kind === 'consume' ? 1 : 2);
  const sorted = [...all].sort((a, b) => rank(a) - rank(b) || a.id - b.id);
  return [`${all.length} packet${all.length === 1 ? '' : 's'}:`, ...sorted.map((b) => `  packet ${lineage(b)}: ${outcome(b)}`)];
}

/** The same trace as one JSON document, frames in hex so a script can check any byte. */
export function traceJson(events: readonly TraceEvent[]): unknown {
  const td = new Tcpdump();
  return branches(events).map((b) => ({
    packet: b.id,
    parent: b.parent,
    cause: b.cause,
    outcome: outcome(b),
    hops: b.events.map((ev) => {
      if (ev.kind === 'in' || ev.kind === 'out' || ev.kind === 'edge') {
        return { kind: ev.kind, node: ev.node, element: ev.element, port: ev.port, frame: hex(ev.frame), tcpdump: td.format(ev.frame, 0, ev.frame.length) };
      }
      return ev;
    }),
  }));
}

/** One traced packet's events, and where it was injected (NODE:PORT). */
export interface TraceRun {
  at: string;
  events: readonly TraceEvent[];
}

/** What `dpemu trace` prints for its runs: each packet's branches, or with --json one document. */
export function traceOutput(runs: readonly TraceRun[], json: boolean): string {
  if (json) return JSON.stringify(runs.map((r) => ({ in: r.at, branches: traceJson(r.events) })), null, 2) + '\n';
  return runs.map((r, i) => formatTrace(r.events, `##### packet ${i + 1} injected at ${r.at}`) + '\n').join('');
}
