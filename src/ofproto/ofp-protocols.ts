// The OpenFlow versions a flow_mod can go in (lib/ofp-protocol.c's
// ofputil_protocol, one bit a version: OpenFlow 1.0 stands for its plain and
// NXM forms). Parsing a flow narrows them (its flags, out_group, actions
// whose meaning depends on the version); ovs-ofctl refuses a flow none of
// whose versions it may speak.

export const P_OF10 = 1;
export const P_OF11 = 2;
export const P_OXM = 4 | 8 | 16 | 32; // OpenFlow 1.2 to 1.5
export const P_ANY = P_OF10 | P_OF11 | P_OXM;
export const P_OF11_UP = P_OF11 | P_OXM;
export const P_OF13_UP = 8 | 16 | 32;

/** The bit of OpenFlow 1.`minor`. */
export const versionBit = (minor: number): number => 1 << minor;

/** ofputil_protocols_to_string: its abbreviations first, then each version left. */
export function protocolsToString(p: number): string {
  if (p === P_ANY) return 'any';
  const out: string[] = [];
  if (p & P_OF10) out.push('OpenFlow10', 'NXM');
  if ((p & P_OXM) === P_OXM) out.push('OXM');
  if (p & P_OF11) out.push('OpenFlow11');
  if ((p & P_OXM) !== P_OXM) for (let v = 2; v <= 5; v++) if (p & versionBit(v)) out.push(`OXM-OpenFlow1${v}`);
  return out.length ? out.join(',') : 'none';
}
