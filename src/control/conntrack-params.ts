// conntrack-tools' comma lists of names (-u status bits, -e events), read as
// 1.4.7's parse_parameter and parse_parameter_mask do: each name may be cut
// short and written in any case (its first letters, strncasecmp), SRC_NAT and
// DST_NAT (or a prefix of them) are ignored with a warning, and a bad one is
// named with the rest of the list after it.
import { CT_EVENT_ALL, CT_EVENT_DESTROY, CT_EVENT_NEW, CT_EVENT_UPDATE } from '../netfilter/conntrack-events.js';
import { IPS_ASSURED, IPS_EXPECTED, IPS_FIXED_TIMEOUT, IPS_HW_OFFLOAD, IPS_OFFLOAD, IPS_SEEN_REPLY } from '../netfilter/constants.js';

type Names = readonly (readonly [string, number])[];

/** -u's names, in the order they are tried. */
export const STATUS_NAMES: Names = [
  ['ASSURED', IPS_ASSURED], ['SEEN_REPLY', IPS_SEEN_REPLY], ['UNSET', 0], ['FIXED_TIMEOUT', IPS_FIXED_TIMEOUT],
  ['EXPECTED', IPS_EXPECTED], ['OFFLOAD', IPS_OFFLOAD], ['HW_OFFLOAD', IPS_HW_OFFLOAD],
];
/** -e's names. */
export const EVENT_NAMES: Names = [['ALL', CT_EVENT_ALL], ['NEW', CT_EVENT_NEW], ['UPDATES', CT_EVENT_UPDATE], ['DESTROY', CT_EVENT_DESTROY]];

/** A list that does not parse: `bad` is what conntrack names (the rest of the list from the bad name on). */
export class BadParameter extends Error {
  constructor(readonly bad: string) {
    super(`Bad parameter \`${bad}'`);
  }
}

/** Bits named, and (-u's `!NAME` and UNREPLIED) bits wanted clear. */
export interface ParsedNames {
  bits: number;
  clear: number;
}

/** One name, cut anywhere: true when known (its bit into `out`) or ignored with a warning. */
function oneName(name: string, names: Names, out: { v: number }, warnings: string[]): boolean {
  const up = name.toUpperCase();
  for (const nat of ['SRC_NAT', 'DST_NAT']) {
    if (nat.startsWith(up)) {
      warnings.push(`WARNING: ignoring ${nat}, use --${nat === 'SRC_NAT' ? 'src' : 'dst'}-nat instead`);
      return true;
    }
  }
  const hit = names.find(([n]) => n.startsWith(up));
  if (hit) out.v |= hit[1];
  return hit !== undefined;
}

/** parse_parameter (`negatable` false: -e) or parse_parameter_mask (true: -u); `warnings` gets conntrack's lines for SRC_NAT and DST_NAT. */
export function parseNames(arg: string, names: Names, negatable: boolean, warnings: string[]): ParsedNames {
  const set = { v: 0 }, clear = { v: 0 };
  let rest = arg;
  for (;;) {
    const comma = rest.indexOf(',');
    const last = comma < 0;
    if (comma === 0) throw new BadParameter(rest);
    const neg = negatable && rest[0] === '!';
    if (neg) rest = rest.slice(1);
    const name = last ? rest : rest.slice(0, comma - (neg ? 1 : 0));
    if (!last && name === '') throw new BadParameter(rest);
    if (negatable && !neg && rest.startsWith('UNREPLIED')) clear.v |= IPS_SEEN_REPLY;
    else if (name === '' || !oneName(name, names, neg ? clear : set, warnings)) throw new BadParameter(rest);
    if (last) return { bits: set.v, clear: clear.v };
    rest = rest.slice(name.length + 1);
  }
}
