// VXLAN's UDP source port, as the kernel's udp_flow_src_port picks it: a hash
// of the inner flow scaled into the local port range (32768..60999 by
// default), so every packet of one flow uses one port and flows spread over
// ECMP paths. The kernel hashes skb->hash (jhash of the flow keys); ours is
// FNV-1a over the inner MACs, ethertype, IPv4 addresses, protocol and ports:
// the same inner flow always gets the same port.
export const PORT_MIN = 32768;
export const PORT_MAX = 60999;

export function vxlanSourcePort(buf: Uint8Array, off: number, len: number): number {
  let h = 0x811c9dc5;
  const mix = (i: number) => {
    h ^= buf[i]!;
    h = Math.imul(h, 0x01000193);
  };
  const l2 = Math.min(len, 14);
  for (let i = 0; i < l2; i++) mix(off + i);
  if (len >= 34 && buf[off + 12] === 0x08 && buf[off + 13] === 0x00) {
    const ip = off + 14;
    for (let i = 9; i < 20; i++) if (i !== 10 && i !== 11) mix(ip + i); // proto, src, dst
    const ihl = (buf[ip]! & 0x0f) * 4;
    const l4 = ip + ihl;
    const proto = buf[ip + 9];
    if ((proto === 6 || proto === 17) && l4 + 4 <= off + len) for (let i = 0; i < 4; i++) mix(l4 + i);
    if (proto === 1 && l4 + 8 <= off + len) for (let i = 4; i < 6; i++) mix(l4 + i); // echo id
  }
  h >>>= 0;
  return PORT_MIN + Math.floor((h / 0x1_0000_0000) * (PORT_MAX - PORT_MIN));
}
