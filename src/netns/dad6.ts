// Duplicate address detection for the IPv6 addresses `ip -6 addr add` gives
// at runtime (net/ipv6/addrconf.c addrconf_dad_*), run off the namespace's
// tick: no timer of its own, state on the address (If6Addr.dadAt/dadLeft/
// nonce). A new address without nodad is tentative; its DAD work then
// begins: on a NOARP device or lo, with accept_dad below 1 (all's and the
// device's), it is over at once; on a device not ready (down, no carrier)
// it waits until the device is; otherwise the first neighbour solicitation
// goes after a random delay below rtr_solicit_delay (1 s), dad_transmits of
// them retrans_time apart (ndisc.ts sends them), and the address is valid
// retrans_time after the last. An NS from :: or an NA for it meanwhile
// (ndisc.ts) fails it: `dadfailed tentative`, for good; with accept_dad 2
// (all's or the device's) and the device's EUI-64 link-local, IPv6 is
// disabled on the device. The MLD reports of the solicited-node group the
// address joins at `add` are mld6.ts's; a link-local made when a device
// comes up is valid at once (inet6.ts), with no report. A restarted
// datapath worker replays the `ip -6 addr add`: its DAD runs again.

import { writeEui64LinkLocal, ip6Equal } from '../wire/ipv6.js';
import { type DevConf6, IFA_F_DADFAILED, IFA_F_NODAD, IFA_F_TENTATIVE, type If6Addr } from './inet6.js';
import type { Interface } from './interfaces.js';

/** rtr_solicit_delay (net.ipv6.conf.*.router_solicitation_delay, 1 s): the first NS's delay is drawn below it. */
const RTR_SOLICIT_DELAY_MS = 1000;

/** What the DAD work needs of its namespace. */
export interface DadHost {
  /** net.ipv6.conf.all (its accept_dad and enhanced_dad). */
  all(): DevConf6;
  /** The device's retrans_time (ms, net.ipv6.neigh.DEV.retrans_time_ms). */
  retransMs(l: Interface): number;
  /** ndisc_send_ns of DAD: from ::, to the address's solicited-node group, with the nonce. */
  solicit(l: Interface, a: If6Addr): void;
  /** Run `change` (DAD over, or failed) as a change the namespace's listeners are told of. */
  settle(l: Interface, a: If6Addr, change: () => void): void;
  /** IPv6 off on the device (accept_dad 2 and its EUI-64 link-local a duplicate). */
  disable(l: Interface): void;
}

/** Tentative, not failed: the DAD work has something to do for it (now, later, or once the device is ready). */
const inDad = (a: If6Addr): boolean => (a.flags & (IFA_F_TENTATIVE | IFA_F_DADFAILED)) === IFA_F_TENTATIVE && a.dadAt !== undefined;

/**
 * addrconf_dad_work for each address due by `now` (at its own deadline,
 * in turn); returns the next deadline (Infinity: none, -1 never counted).
 */
export function dadRun(links: readonly Interface[], now: number, host: DadHost): number {
  let next = Infinity;
  for (const l of links) {
    for (let i = 0; i < l.addrs6.length; i++) {
      const a = l.addrs6[i]!;
      while (inDad(a) && a.dadAt! >= 0 && a.dadAt! <= now) step(l, a, host, now);
      // A step may have taken the device's addresses (disabled): the list is read again.
      if (l.addrs6[i] !== a) i = -1;
      else if (inDad(a) && a.dadAt! >= 0) next = Math.min(next, a.dadAt!);
    }
  }
  return next;
}

function step(l: Interface, a: If6Addr, host: DadHost, now: number): void {
  const at = a.dadAt!;
  if (a.dadLeft === undefined) return begin(l, a, host, now);
  if (a.dadLeft < 0) return abort(l, a, host);
  if (a.dadLeft === 0) return host.settle(l, a, () => done(a));
  a.dadLeft--;
  a.dadAt = at + Math.max(host.retransMs(l), 10);
  host.solicit(l, a);
}

/** addrconf_dad_begin, then addrconf_dad_kick. */
function begin(l: Interface, a: If6Addr, host: DadHost, now: number): void {
  if (l.noarp || l.kind === 'loopback' || (host.all().accept_dad < 1 && l.conf6.accept_dad < 1) || a.flags & IFA_F_NODAD) return host.settle(l, a, () => done(a));
  // Not IF_READY: it stays tentative until the device is (dadReady).
  if (!l.up || l.v6Ready === 0) return void (a.dadAt = -1);
  a.dadLeft = Math.max(0, Math.min(255, l.conf6.dad_transmits)); // dad_probes is a u8
  a.nonce = host.all().enhanced_dad || l.conf6.enhanced_dad ? 1 + Math.floor(Math.random() * 0xffff_ffff_fffe) : 0;
  a.dadAt = now + Math.floor(Math.random() * RTR_SOLICIT_DELAY_MS);
}

function done(a: If6Addr): void {
  a.flags &= ~(IFA_F_TENTATIVE | IFA_F_DADFAILED);
  clear(a);
}

function clear(a: If6Addr): void {
  delete a.dadAt;
  delete a.dadLeft;
  delete a.nonce;
}

/**
 * addrconf_dad_stop after a failure: `dadfailed tentative` and told; with
 * accept_dad above 1 the device's EUI-64 link-local takes IPv6 off it.
 */
function abort(l: Interface, a: If6Addr, host: DadHost): void {
  host.settle(l, a, () => {
    a.flags |= IFA_F_DADFAILED | IFA_F_TENTATIVE;
    clear(a);
  });
  if (l.kind === 'loopback' || Math.max(host.all().accept_dad, l.conf6.accept_dad) <= 1 || l.conf6.disable_ipv6 !== 0) return;
  const eui = new Uint8Array(16);
  writeEui64LinkLocal(eui, 0, l.mac);
  if (ip6Equal(a.bytes, 0, eui, 0)) host.disable(l);
}

/**
 * addrconf_dad_failure from ndisc: an address in DAD (begun, not over) is
 * to fail at the next tick; true when it was.
 */
export function dadFailed(a: If6Addr, now: number): boolean {
  if (!inDad(a) || a.dadLeft === undefined || a.dadLeft < 0) return false;
  a.dadLeft = -1;
  a.dadAt = now;
  return true;
}

/** The device became ready (addrconf_dad_run): its addresses waiting for it begin; true when one does. */
export function dadReady(l: Interface): boolean {
  let any = false;
  for (const a of l.addrs6) {
    if (inDad(a) && a.dadAt === -1) {
      a.dadAt = 0;
      any = true;
    }
  }
  return any;
}
