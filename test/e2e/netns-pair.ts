// Two kernel namespaces joined by a veth and dpemu's twin of them, for the
// tests that hold a namespace's commands to the kernel's one by one: IPv6
// off on both sides (no ND or MLD frames, no link-locals to differ), the
// first end given the same IPv4 address, and on dpemu's side the kernel
// end's MAC, on a manual clock.
import { Engine } from '../../src/datapath/engine.js';
import { ManualClock } from '../../src/datapath/clock.js';
import { NetNamespace } from '../../src/netns/namespace.js';
import { parseIpv4, parseMacNum } from '../../src/wire/addr.js';
import { type KernelObjects, sh } from './lab-names.js';

export interface NetnsPair {
  engine: Engine;
  /** The first namespace's twin (the one the commands run in). */
  el: NetNamespace;
  peer: NetNamespace;
}

/** Namespaces `k1`/`k2` with devices `d1`/`d2` (the veth made as `tmp`a/b); `addr` (CIDR) on `d1`, with `brd +` when `brd`. */
export function netnsPair(objs: KernelObjects, tmp: string, [k1, k2]: [string, string], [d1, d2]: [string, string], addr: string, brd: boolean): NetnsPair {
  for (const ns of [k1, k2]) {
    objs.addNetns(ns);
    sh('ip', ['netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
  }
  objs.veth(tmp, k1, d1, k2, d2);
  sh('ip', ['-n', k1, 'addr', 'add', addr, ...(brd ? ['brd', '+'] : []), 'dev', d1]);
  const mac = /link\/ether (\S+)/.exec(sh('ip', ['-n', k1, 'link', 'show', d1]))![1]!;
  const engine = new Engine({ clock: new ManualClock(0) });
  const el = engine.add(new NetNamespace('lab', k1));
  const peer = engine.add(new NetNamespace('lab', k2));
  for (const x of [el, peer]) for (const k of ['all', 'default']) x.ns.setSysctl(`net.ipv6.conf.${k}.disable_ipv6`, 1);
  const [ip, len] = addr.split('/');
  engine.link(el.addInterface(d1, { mac: parseMacNum(mac)!, addresses: [{ ip: parseIpv4(ip!)!, prefixLen: Number(len) }] }), peer.addInterface(d2), 'veth');
  return { engine, el, peer };
}
