// ifconfig DEV [inet|inet6] up|down|mtu N ... (net-tools 2.10): each word
// in turn, as ifconfig's loop sends its ioctl, the errors printed and the
// loop going on (the status: 1 from an MTU that failed, -1, 255, from a
// flag that failed after it or alone). up and down are SIOCGIFFLAGS then
// SIOCSIFFLAGS (dev_change_flags; on an alias DEV:LABEL devinet_ioctl's:
// down deletes the address so labelled, up does nothing), mtu SIOCSIFMTU
// (dev_validate_mtu, the alias's device). The other words (an address,
// netmask, broadcast, hw, arp, promisc, add, del ...) are refused before
// any change.
import type { Packet } from '../datapath/packet.js';
import { RtnlError, strerror } from '../netns/errors.js';
import type { NetNamespace } from '../netns/namespace.js';
import { atolU32 } from './c-numbers.js';
import type { CommandResponse } from './protocol.js';

/** The words dpemu's ifconfig changes a device with; an address family's name before them is skipped. */
const EMULATED = new Set(['up', 'down', 'mtu']);

/**
 * `ifconfig NAME WORDS...` (NAME as typed, cut to IFNAMSIZ - 1); `usage`:
 * ifconfig's usage and lists, to stderr with status 3, for `mtu` without a
 * value (the words before it have taken effect).
 */
export function ifconfigWrite(el: NetNamespace, name: string, words: readonly string[], usage: string): CommandResponse {
  const ws = words[0] === 'inet' || words[0] === 'inet6' ? words.slice(1) : words;
  const odd = ws.find((w, i) => !EMULATED.has(w) && ws[i - 1] !== 'mtu');
  if (odd !== undefined) return { ok: false, stdout: '', stderr: `ifconfig: '${odd}' is not emulated by dpemu's ifconfig (up, down and mtu are); use ip link set, ip addr add|del\n`, exit: 1 };
  const ns = el.ns;
  const colon = name.indexOf(':');
  const devName = colon < 0 ? name : name.slice(0, colon);
  const drop = (why: string) => (p: Packet) => el.engine.drop(p, el, 'neigh_failed', why);
  let err = '';
  let goterr = 0;
  for (let i = 0; i < ws.length; i++) {
    const w = ws[i]!;
    if (w === 'mtu') {
      const v = ws[++i];
      if (v === undefined) return { ok: false, stdout: '', stderr: err + usage, exit: 3 };
      try {
        if (!ns.link(devName)) throw new RtnlError('ENODEV');
        const mtu = atolU32(v) | 0;
        ns.validateMtu(devName, mtu);
        ns.setMtu(devName, mtu).forEach(drop(`${devName} lost IPv6 (an MTU below 1280)`));
      } catch (e) {
        if (!(e instanceof RtnlError)) throw e;
        err += `SIOCSIFMTU: ${strerror(e.errno)}\n`;
        goterr = 1; // set, not or-ed (a flag's -1 before it is lost)
      }
      continue;
    }
    // set_flag/clr_flag: SIOCGIFFLAGS (the device under an alias's name), then SIOCSIFFLAGS.
    const l = ns.link(devName);
    if (!l) {
      err += `${name}: ERROR while getting interface flags: ${strerror('ENODEV')}\n`;
      goterr |= -1;
      continue;
    }
    // An alias's flags go to devinet_ioctl: down always (clr_flag takes an AF_INET socket for one), up unless inet6's socket sends it (dev_ioctl: the device's).
    if (colon >= 0 && (w === 'down' || words[0] !== 'inet6')) {
      const a = l.addrs.find((x) => x.label === name);
      if (!a) {
        err += `SIOCSIFFLAGS: ${strerror('EADDRNOTAVAIL')}\n`;
        goterr |= -1;
      } else if (w === 'down') ns.delAddr(devName, a.local, a.prefixLen).forEach(drop(`${devName} lost its last address`));
      continue;
    }
    el.setLinkUp(devName, w === 'up');
  }
  return { ok: goterr === 0, stdout: '', stderr: err, exit: goterr & 0xff };
}
