// The statistics block `ip -s link` (and `ip -s addr`) prints under each
// device: iproute2 6.1 ip/ipaddress.c print_stats64, text branch. Column
// widths start at the header words' and grow to the widest number
// (size_columns), RX and TX rows sharing them; every number is printed
// right-aligned with one space after it (print_num).

/**
 * The rtnl_link_stats64 fields dpemu can count; all others (errors, missed,
 * multicast, carrier errors, collisions, the detailed error counters) are 0
 * for the devices it models. carrierChanges is IFLA_CARRIER_CHANGES.
 */
export interface LinkStats64 {
  rxPackets: number;
  rxBytes: number;
  /** Frames no protocol handler took (__netif_receive_skb_core). */
  rxDropped: number;
  /** IPv4/IPv6 frames for another host (ip_rcv_core, ip6_rcv_core). */
  rxOtherhost: number;
  txPackets: number;
  txBytes: number;
  txDropped: number;
  carrierChanges: number;
}

// strlen of "*X errors:", "packets", "errors", "dropped", "heartbt", "overrun", "compressed", "otherhost".
const COLS = [10, 7, 6, 7, 7, 7, 10, 9];

function size(cols: number[], ...vals: number[]): void {
  vals.forEach((v, i) => {
    const len = String(v).length;
    if (len > cols[i]!) cols[i] = len;
  });
}

const pad = (w: number, s: string) => s.padStart(w);
const num = (w: number, v: number) => `${pad(w, String(v))} `;

/** The block's lines, each ending in '\n'; `level` is how many -s were given (1, or 2 and more for the error lines). */
export function formatLinkStats(s: LinkStats64, level: number): string {
  const cols = [...COLS];
  const full = level > 1;
  // The calls and their argument positions are iproute2's (TX errors' are shifted by one there too).
  size(cols, s.rxBytes, s.rxPackets, 0, s.rxDropped, 0, 0, 0, 0);
  if (full) size(cols, 0, 0, 0, 0, 0, 0, 0, s.rxOtherhost);
  size(cols, s.txBytes, s.txPackets, 0, s.txDropped, 0, 0, 0, 0);
  if (full) size(cols, 0, 0, 0, 0, 0, 0, s.carrierChanges, 0);
  const c = cols;
  const head = (dir: string, w4: string, w5: string) =>
    `    ${dir}: ${pad(c[0]! - 4, 'bytes')} ${pad(c[1]!, 'packets')} ${pad(c[2]!, 'errors')} ${pad(c[3]!, 'dropped')} ${pad(c[4]!, w4)} ${pad(c[5]!, w5)} ${pad(c[6]!, '')}\n`;
  const row = (bytes: number, packets: number, dropped: number) =>
    `    ${num(c[0]!, bytes)}${num(c[1]!, packets)}${num(c[2]!, 0)}${num(c[3]!, dropped)}${num(c[4]!, 0)}${num(c[5]!, 0)}\n`;
  const errIndent = ' '.repeat(c[0]! + 5);
  let out = head('RX', 'missed', 'mcast') + row(s.rxBytes, s.rxPackets, s.rxDropped);
  if (full) {
    const oh = s.rxOtherhost !== 0;
    out += `    RX errors:${pad(c[0]! - 10, '')} ${pad(c[1]!, 'length')} ${pad(c[2]!, 'crc')} ${pad(c[3]!, 'frame')} ${pad(c[4]!, 'fifo')} ${pad(c[5]!, 'overrun')}${oh ? pad(c[7]! + 1, ' otherhost') : ''}\n`;
    out += `${errIndent}${num(c[1]!, 0)}${num(c[2]!, 0)}${num(c[3]!, 0)}${num(c[4]!, 0)}${num(c[5]!, 0)}${oh ? num(c[7]!, s.rxOtherhost) : ''}\n`;
  }
  out += head('TX', 'carrier', 'collsns') + row(s.txBytes, s.txPackets, s.txDropped);
  if (full) {
    out += `    TX errors:${pad(c[0]! - 10, '')} ${pad(c[1]!, 'aborted')} ${pad(c[2]!, 'fifo')} ${pad(c[3]!, 'window')} ${pad(c[4]!, 'heartbt')} ${pad(c[5]!, 'transns')}\n`;
    out += `${errIndent}${num(c[1]!, 0)}${num(c[2]!, 0)}${num(c[3]!, 0)}${num(c[4]!, 0)}${num(c[5]!, s.carrierChanges)}\n`;
  }
  return out;
}
