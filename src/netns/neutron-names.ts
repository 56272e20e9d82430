// Numbers and names the Neutron L3 agent derives (reference §8.2-8.4), so a
// topology can be written the way the agent would have built it.

import { type Ip4, formatIp4, inPrefix } from './addr.js';

/**
 * DvrLocalRouter._get_snat_idx for IPv4: netaddr's IPNetwork(cidr).value,
 * the integer of the address with its host bits kept. The same number is
 * the rule priority and the table id: 192.168.1.1/24 -> 3232235777.
 */
export function snatIndex(addr: Ip4): number {
  return addr >>> 0;
}

/**
 * LinkLocalAddressPair.get_pair: of a /31 from 169.254.64.0/18, the rfp-
 * (router side) end gets the even address and the fpr- (fip side) end
 * the odd one.
 */
export function rfpFprPair(net31: Ip4): { rfp: Ip4; fpr: Ip4 } {
  const even = (net31 & ~1) >>> 0;
  return { rfp: even, fpr: even + 1 };
}

/** DVR_FIP_LL_CIDR: the pool the /31s come from. */
export const DVR_FIP_LL_NET = 0xa9fe4000; // 169.254.64.0
export const DVR_FIP_LL_LEN = 18;

export function inFipLinkLocalPool(addr: Ip4): boolean {
  return inPrefix(addr, DVR_FIP_LL_NET, DVR_FIP_LL_LEN);
}

/** Device names: a prefix and the first 11 (ports) or 10 (router ids) characters of the id. */
export const portDev = (prefix: 'qr-' | 'sg-' | 'qg-' | 'fg-' | 'tap' | 'qvb' | 'qvo' | 'qbr', portId: string) => prefix + portId.slice(0, 11);
export const rfpDev = (routerId: string) => 'rfp-' + routerId.slice(0, 10);
export const fprDev = (routerId: string) => 'fpr-' + routerId.slice(0, 10);

/** The fip namespace's per-router rule, as `ip rule` prints it: from all iif fpr-X lookup N, N = int(fpr ip). */
export function fipRouterRule(routerId: string, fprIp: Ip4): string {
  const idx = snatIndex(fprIp);
  return `${idx}:\tfrom all iif ${fprDev(routerId)} lookup ${idx}`;
}

/** The qrouter's SNAT-redirect rule and table route for one qr- address (§8.2). */
export function snatRedirect(qrIp: Ip4, prefixLen: number, sgIp: Ip4, qrDev: string): { rule: string; route: string; table: number } {
  const idx = snatIndex(qrIp);
  return {
    rule: `${idx}:\tfrom ${formatIp4(qrIp)}/${prefixLen} lookup ${idx}`,
    route: `default via ${formatIp4(sgIp)} dev ${qrDev}`,
    table: idx,
  };
}
