// Packets for `dpemu trace`, from flags (`--icmp-echo --src 192.168.1.7
// --dst 8.8.8.8 --id 60691`) or a raw `--frame HEX`. Several packets may be
// given, each starting with its own `--in NODE:PORT`.
import { parseArgs } from 'node:util';
import { buildFrame, type FrameSpec } from '../wire/frame.js';

export interface TracePacket {
  node: string;
  port: string;
  frame: Uint8Array;
}

const OPTIONS = {
  in: { type: 'string' },
  frame: { type: 'string' },
  'icmp-echo': { type: 'boolean' },
  'icmp-reply': { type: 'boolean' },
  udp: { type: 'boolean' },
  tcp: { type: 'boolean' },
  arp: { type: 'boolean' },
  src: { type: 'string' },
  dst: { type: 'string' },
  'src-mac': { type: 'string' },
  'dst-mac': { type: 'string' },
  vlan: { type: 'string' },
  id: { type: 'string' },
  seq: { type: 'string' },
  sport: { type: 'string' },
  dport: { type: 'string' },
  flags: { type: 'string' },
  ttl: { type: 'string' },
  'payload-len': { type: 'string' },
} as const;

export class UsageError extends Error {}

/** Split argv at each `--in` and build one packet per group. `defaults` fills MACs the user omitted. */
/** The MACs a packet given by IPs takes when no --src-mac/--dst-mac; `missing` says why one is unknown. */
export interface MacDefaults { srcMac?: string; dstMac?: string; missing?: string }

export function parsePackets(argv: string[], defaults: (node: string, port: string) => MacDefaults): TracePacket[] {
  const groups: string[][] = [];
  for (const a of argv) {
    if (a === '--in' || a.startsWith('--in=')) groups.push([]);
    if (!groups.length) throw new UsageError(`'${a}' comes before the first --in NODE:PORT`);
    groups[groups.length - 1]!.push(a);
  }
  if (!groups.length) throw new UsageError('no packet: give --in NODE:PORT and a packet (--frame HEX or --icmp-echo --src A --dst B ...)');
  return groups.map((g) => onePacket(g, defaults));
}

function num(v: string | undefined, name: string, dflt: number, max: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > max) throw new UsageError(`--${name} ${v}: expected an integer 0..${max}`);
  return n;
}

function onePacket(args: string[], defaults: (node: string, port: string) => MacDefaults): TracePacket {
  let values;
  try {
    ({ values } = parseArgs({ args, options: OPTIONS, strict: true, allowPositionals: false }));
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const at = values.in!;
  const m = /^([^:]+):(.+)$/.exec(at);
  if (!m) throw new UsageError(`--in ${at}: expected NODE:PORT, e.g. w07:tap2ab77d0f-99`);
  const [, node, port] = m as unknown as [string, string, string];
  if (values.frame !== undefined) {
    const h = values.frame.replace(/[\s:]/g, '');
    if (!/^([0-9a-fA-F]{2})+$/.test(h)) throw new UsageError('--frame: expected an even number of hex digits');
    return { node, port, frame: Uint8Array.from(Buffer.from(h, 'hex')) };
  }
  const d = defaults(node, port);
  const srcMac = values['src-mac'] ?? d.srcMac;
  const dstMac = values['dst-mac'] ?? d.dstMac;
  if (!srcMac || !dstMac) throw new UsageError(`--in ${at}: give --src-mac and --dst-mac (${d.missing ?? 'no MAC to take'})`);
  if (!values.src || !values.dst) throw new UsageError('give --src and --dst IPv4 addresses, or --frame HEX');
  const spec: FrameSpec = { src: srcMac, dst: dstMac, ip: { src: values.src, dst: values.dst, ttl: num(values.ttl, 'ttl', 64, 255) } };
  if (values.vlan !== undefined) spec.vlans = [num(values.vlan, 'vlan', 0, 4095)];
  const payload = num(values['payload-len'], 'payload-len', values.udp || values.tcp ? 0 : 100, 1472);
  if (values.udp) spec.udp = { sport: num(values.sport, 'sport', 33434, 65535), dport: num(values.dport, 'dport', 33434, 65535), payload };
  else if (values.tcp) spec.tcp = { sport: num(values.sport, 'sport', 40000, 65535), dport: num(values.dport, 'dport', 80, 65535), flags: values.flags ?? 'S', seq: 1, payload };
  else spec.icmp = { type: values['icmp-reply'] ? 0 : 8, id: num(values.id, 'id', 60691, 65535), seq: num(values.seq, 'seq', 1, 65535), data: payload };
  try {
    return { node, port, frame: buildFrame(spec) };
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}
