// Flows of each OVS bridge: their syntax, and every port they name (by name
// or number) must be a port of that bridge, as ovs-ofctl resolves them.
import type { Node, OvsBridge } from './model.js';
import type { Ctx } from './assemble.js';
import { YamlSource } from './yaml-source.js';
import { checkFlows } from './text-blocks.js';
import { reportBlock } from './checks-ip.js';
import { didYouMean } from './suggest.js';

const RESERVED_NAMES = new Set(['IN_PORT', 'TABLE', 'NORMAL', 'FLOOD', 'ALL', 'CONTROLLER', 'LOCAL', 'NONE', 'ANY']);
const RESERVED_FIRST = 0xfff8; // OFPP_IN_PORT; up to 0xffff (OFPP_NONE)

export function checkBridgeFlows(ctx: Ctx, node: Node, b: OvsBridge): void {
  if (!b.flows) return;
  const block = b.flows;
  const byName = new Map(b.ports.map((p) => [p.name, p.ofport]));
  const numbers = new Set(b.ports.map((p) => p.ofport));
  const r = checkFlows(block.text, byName);
  reportBlock(ctx, block, r.issues);
  for (const f of r.flows) {
    for (const u of f.ports) {
      const at = { ...block.loc, ...YamlSource.blockPos(block, u.line, u.col) };
      if (/^[0-9]+$/.test(u.name)) {
        const n = Number(u.name);
        if (!numbers.has(n) && n < RESERVED_FIRST) ctx.errors.add(at, `expected a port of bridge ${b.name}, got ofport ${n} (ports: ${portList(b)})`);
        continue;
      }
      if (RESERVED_NAMES.has(u.name.toUpperCase()) || byName.has(u.name)) continue;
      const elsewhere = node.ovsBridges.find((x) => x.name !== b.name && x.ports.some((p) => p.name === u.name));
      const why = elsewhere ? ` (${u.name} is on bridge ${elsewhere.name})` : didYouMean(u.name, byName.keys()) || ` (ports: ${portList(b)})`;
      ctx.errors.add(at, `expected a port of bridge ${b.name}, got ${JSON.stringify(u.name)}${why}`);
    }
  }
}

function portList(b: OvsBridge): string {
  return b.ports.filter((p) => !p.local).map((p) => `${p.ofport}(${p.name})`).join(', ');
}
