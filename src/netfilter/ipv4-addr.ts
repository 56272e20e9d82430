// IPv4 addresses as unsigned 32-bit numbers, and their text forms.

/** Parses a dotted quad strictly (four decimal octets); returns -1 when invalid. */
export function parseIpv4(text: string): number {
  const parts = text.split('.');
  if (parts.length !== 4) return -1;
  let v = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return -1;
    const n = Number(p);
    if (n > 255) return -1;
    v = v * 256 + n;
  }
  return v >>> 0;
}

export function formatIpv4(addr: number): string {
  return `${addr >>> 24}.${(addr >>> 16) & 255}.${(addr >>> 8) & 255}.${addr & 255}`;
}

export function prefixToMask(len: number): number {
  return len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
}

/** Prefix length of a contiguous mask, or -1 when the mask has holes. */
export function maskToPrefix(mask: number): number {
  mask >>>= 0;
  let len = 0;
  while (len < 32 && mask & (0x80000000 >>> len)) len++;
  return prefixToMask(len) === mask ? len : -1;
}

/** Parses `a.b.c.d[/len|/mask]` as iptables does; null when invalid. */
export function parseIpv4Prefix(text: string): { addr: number; mask: number } | null {
  const slash = text.indexOf('/');
  const addr = parseIpv4(slash < 0 ? text : text.slice(0, slash));
  if (addr < 0) return null;
  if (slash < 0) return { addr, mask: 0xffffffff };
  const m = text.slice(slash + 1);
  let mask: number;
  if (/^\d{1,2}$/.test(m)) {
    const len = Number(m);
    if (len > 32) return null;
    mask = prefixToMask(len);
  } else {
    mask = parseIpv4(m);
    if (mask < 0) return null;
  }
  return { addr: (addr & mask) >>> 0, mask };
}

/** `/len` as iptables-save prints it (dotted mask when not contiguous). */
export function formatPrefixSave(addr: number, mask: number): string {
  const len = maskToPrefix(mask);
  return `${formatIpv4(addr)}/${len >= 0 ? len : formatIpv4(mask)}`;
}

/** As `iptables -L -n` prints it: /32 is left out. */
export function formatPrefixList(addr: number, mask: number): string {
  if (mask >>> 0 === 0xffffffff) return formatIpv4(addr);
  return formatPrefixSave(addr, mask);
}
