// The sysctl-driven ARP decisions of net/ipv4/arp.c: whether to answer a
// request for a local address (arp_ignore), whether to answer for someone
// else (proxy_arp, proxy_arp_pvlan, medium_id), which sender address our
// own requests carry (arp_announce), and whether unsolicited ARP may create
// entries (arp_accept). Neutron sets all.arp_ignore=1 and
// all.arp_announce=2 in every namespace (reference §8.1).

import { type Ip4 } from './addr.js';
import { type AddrView, addrType, addrOnlink, confirmAddr, selectAddr } from './addr-select.js';
import { type Interface } from './interfaces.js';
import { RT_SCOPE_HOST, RT_SCOPE_LINK } from './names.js';
import { inDev } from './sysctl.js';

/**
 * arp_ignore(): true means "do not reply" to a request from `sip` for the
 * local address `tip` received on `iface`.
 *   0: reply for any local address, on any interface;
 *   1: only if `tip` is configured on the receiving interface;
 *   2: as 1, and `sip` must be in the subnet of that address;
 *   3: not for addresses of scope host; 8: never; 4-7: reply.
 */
export function arpIgnore(view: AddrView, iface: Interface, sip: Ip4, tip: Ip4): boolean {
  const mode = inDev.arpIgnore(view.confOf(iface));
  switch (mode) {
    case 0:
      return false;
    case 1:
      return !confirmAddr(view, iface, 0, tip, RT_SCOPE_HOST);
    case 2:
      return !confirmAddr(view, iface, sip, tip, RT_SCOPE_HOST);
    case 3:
      return !confirmAddr(view, undefined, 0, tip, RT_SCOPE_LINK);
    case 8:
      return true;
    default:
      return false;
  }
}

/**
 * The sender address of an ARP request for `target` leaving `iface`
 * (arp_solicit). `pktSrc` is the source of the packet waiting for the
 * answer, if any.
 *   0: that packet's source if it is local to this interface's table;
 *   1: only if it also shares a subnet with the target;
 *   2: never; always inet_select_addr(dev, target, RT_SCOPE_LINK).
 */
export function arpAnnounceSource(view: AddrView, iface: Interface, target: Ip4, pktSrc: Ip4 | undefined): Ip4 {
  let saddr = 0;
  switch (inDev.arpAnnounce(view.confOf(iface))) {
    case 0:
      if (pktSrc !== undefined && addrType(view, pktSrc) === 'local') saddr = pktSrc;
      break;
    case 1:
      if (pktSrc !== undefined && addrType(view, pktSrc) === 'local' && addrOnlink(iface, target, pktSrc)) {
        saddr = pktSrc;
      }
      break;
    default:
      break;
  }
  return saddr || selectAddr(view, iface, target, RT_SCOPE_LINK);
}

/**
 * arp_fwd_proxy: answer for a target routed out of another interface when
 * proxy_arp is on (and medium_id does not say both sides share a medium).
 */
export function arpFwdProxy(view: AddrView, inIface: Interface, outIfindex: number): boolean {
  if (outIfindex === inIface.index) return false;
  const c = view.confOf(inIface);
  if (!inDev.proxyArp(c)) return false;
  const imi = inDev.mediumId(c);
  if (imi === 0) return true;
  if (imi === -1) return false;
  const out = view.linkByIndex(outIfindex);
  const omi = out ? inDev.mediumId(view.confOf(out)) : -1;
  return omi !== imi && omi !== -1;
}

/** arp_fwd_pvlan: proxy_arp_pvlan answers for targets out of the same interface (not self probes). */
export function arpFwdPvlan(view: AddrView, inIface: Interface, outIfindex: number, sip: Ip4, tip: Ip4): boolean {
  if (outIfindex !== inIface.index) return false;
  if (!inDev.proxyArpPvlan(view.confOf(inIface))) return false;
  return sip !== tip;
}

/**
 * arp_accept(): may an unsolicited ARP (gratuitous, or a reply we did not
 * ask for) create a new entry? 0 no, 1 yes, 2 only if `sip` is in a subnet
 * of this interface.
 */
export function arpAccept(view: AddrView, iface: Interface, sip: Ip4): boolean {
  switch (inDev.arpAccept(view.confOf(iface))) {
    case 1:
      return true;
    case 2:
      return confirmAddr(view, iface, sip, 0, RT_SCOPE_LINK) !== 0;
    default:
      return false;
  }
}
