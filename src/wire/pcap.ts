// Classic libpcap files (not pcapng): a 24-byte global header, then per frame
// a 16-byte record header and the bytes. Little-endian magic 0xa1b2c3d4
// (microsecond timestamps), version 2.4, snaplen 262144, LINKTYPE_ETHERNET.
// Capture/trace path only: these allocate.

export const PCAP_MAGIC = 0xa1b2c3d4;
export const PCAP_SNAPLEN = 262144;
export const LINKTYPE_ETHERNET = 1;
export const PCAP_HEADER_LEN = 24;
export const PCAP_RECORD_HEADER_LEN = 16;

/** The 24-byte file header. */
export function pcapHeader(snaplen = PCAP_SNAPLEN, linktype = LINKTYPE_ETHERNET): Uint8Array {
  const b = new Uint8Array(PCAP_HEADER_LEN);
  const v = new DataView(b.buffer);
  v.setUint32(0, PCAP_MAGIC, true);
  v.setUint16(4, 2, true);
  v.setUint16(6, 4, true);
  v.setInt32(8, 0, true); // thiszone
  v.setUint32(12, 0, true); // sigfigs
  v.setUint32(16, snaplen, true);
  v.setUint32(20, linktype, true);
  return b;
}

/** Write a record header for a frame of `len` bytes (`caplen` kept) at tsMs into out[off..off+16). */
export function writePcapRecordHeader(out: Uint8Array, off: number, tsMs: number, caplen: number, len: number): void {
  const v = new DataView(out.buffer, out.byteOffset + off, PCAP_RECORD_HEADER_LEN);
  const sec = Math.floor(tsMs / 1000);
  const usec = Math.round((tsMs - sec * 1000) * 1000);
  v.setUint32(0, sec >>> 0, true);
  v.setUint32(4, usec, true);
  v.setUint32(8, caplen, true);
  v.setUint32(12, len, true);
}

/**
 * One record (header + bytes) for `frame` captured at tsMs (emulated or wall
 * milliseconds). Frames longer than snaplen are cut, original length kept.
 */
export function pcapRecord(tsMs: number, frame: Uint8Array, snaplen = PCAP_SNAPLEN): Uint8Array {
  const cap = frame.length < snaplen ? frame.length : snaplen;
  const b = new Uint8Array(PCAP_RECORD_HEADER_LEN + cap);
  writePcapRecordHeader(b, 0, tsMs, cap, frame.length);
  b.set(frame.subarray(0, cap), PCAP_RECORD_HEADER_LEN);
  return b;
}

/** As pcapRecord for a frame that lives in a slab: buf[off .. off+len). */
export function pcapRecordFrom(tsMs: number, buf: Uint8Array, off: number, len: number, snaplen = PCAP_SNAPLEN): Uint8Array {
  return pcapRecord(tsMs, buf.subarray(off, off + len), snaplen);
}

/** A whole file from (tsMs, frame) pairs. */
export function pcapFile(records: readonly { tsMs: number; frame: Uint8Array }[]): Uint8Array {
  const parts = [pcapHeader(), ...records.map((r) => pcapRecord(r.tsMs, r.frame))];
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Parse a classic pcap file (either byte order, us or ns magic) back into frames; null if not one. */
export function readPcap(file: Uint8Array): { linktype: number; records: { tsMs: number; len: number; frame: Uint8Array }[] } | null {
  if (file.length < PCAP_HEADER_LEN) return null;
  const v = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const m = v.getUint32(0, true);
  let le: boolean;
  let nano = false;
  if (m === 0xa1b2c3d4 || m === 0xa1b23c4d) le = true;
  else if (m === 0xd4c3b2a1 || m === 0x4d3cb2a1) le = false;
  else return null;
  if (m === 0xa1b23c4d || m === 0x4d3cb2a1) nano = true;
  const linktype = v.getUint32(20, le);
  const records: { tsMs: number; len: number; frame: Uint8Array }[] = [];
  let o = PCAP_HEADER_LEN;
  while (o + PCAP_RECORD_HEADER_LEN <= file.length) {
    const sec = v.getUint32(o, le);
    const frac = v.getUint32(o + 4, le);
    const cap = v.getUint32(o + 8, le);
    const len = v.getUint32(o + 12, le);
    if (o + PCAP_RECORD_HEADER_LEN + cap > file.length) break;
    records.push({
      tsMs: sec * 1000 + (nano ? frac / 1e6 : frac / 1e3),
      len,
      frame: file.slice(o + PCAP_RECORD_HEADER_LEN, o + PCAP_RECORD_HEADER_LEN + cap),
    });
    o += PCAP_RECORD_HEADER_LEN + cap;
  }
  return { linktype, records };
}
