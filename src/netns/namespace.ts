// A Linux network namespace's IPv4 stack as an element: its interfaces are
// the element's ports (IPv6, for its link-locals, is ndisc.ts's). Frames go
// through what the kernel does with them:
//   ARP       arp_rcv/arp_process (replies, neighbour learning, proxy ARP)
//   IPv4 in   ip_rcv checks, PREROUTING (defrag where conntrack is in use,
//             raw, conntrack, mangle, nat), ip_route_input, then local
//             delivery (defrag, INPUT) or ip_forward (TTL, MTU/DF, FORWARD,
//             POSTROUTING), fragmentation and neighbour output
//   local out icmp replies and errors, ping's requests: ip_route_output,
//             OUTPUT, POSTROUTING; to a local address loopback_xmit (lo's
//             counters), then PREROUTING and INPUT on lo and local delivery
// The decisions themselves live in netns.ts/route-*.ts/arp.ts (routing and
// neighbours) and src/netfilter (iptables, conntrack, NAT); the sockets of
// the namespace's own programs (ping, traceroute, arping) are
// inet-sockets.ts's and inet6-sockets.ts's; this file moves the bytes
// between them and the ports.
import { Element, type Port } from '../datapath/element.js';
import { HEADROOM, type Packet } from '../datapath/packet.js';
import type { DropReason } from '../datapath/drop-reasons.js';
import { Decoded, decode, decodeErrorName, ipv4HeaderError } from '../wire/decode.js';
import { readU16, readU32, readMacHi, readMacLo, writeU16, writeU32, writeMacNum, ipToString, macToString, parseMacNum, macHi, macLo } from '../wire/addr.js';
import { writeEth, ETH_HLEN, ETHERTYPE_IPV4, ETHERTYPE_IPV6, ETHERTYPE_ARP, ETHERTYPE_VLAN } from '../wire/ethernet.js';
import { buildArpRequest, buildArpReply } from '../wire/arp.js';
import { moveMacs } from '../wire/vlan.js';
import { ipv4DecTtl, ipv4SetChecksum, IPPROTO_ICMP, IPPROTO_UDP, IPPROTO_TCP, IP_DF, IP_MF, IP_OFFMASK } from '../wire/ipv4.js';
import { checksum, csumUpdate16 } from '../wire/checksum.js';
import {
  buildIcmpError, icmpErrorAllowed, icmpQuoteLen, icmpSetChecksum, ICMP_ECHO, ICMP_ECHOREPLY, ICMP_DEST_UNREACH,
  ICMP_TIME_EXCEEDED, ICMP_EXC_TTL, ICMP_EXC_FRAGTIME, ICMP_FRAG_NEEDED, ICMP_PORT_UNREACH, ICMP_PROT_UNREACH, ICMP_HOST_UNREACH,
  ICMP_PARAMETERPROB,
} from '../wire/icmp.js';
import { Netns, LOOPBACK_IFINDEX } from './netns.js';
import { InetSockets } from './inet-sockets.js';
import { Inet6Sockets } from './inet6-sockets.js';
import type { Interface } from './interfaces.js';
import { IfCounters, linkStats64 } from './if-counters.js';
import { type LinkStats64 } from './ip-link-stats.js';
import type { NeighAction, NeighEntry, Solicit } from './neighbour.js';
import { skbTruesize, NUD, NUD_CONNECTED } from './neighbour.js';
import { AddOp, DEC_TTL, type PathOp } from '../datapath/path-cache.js';
import { arpProcess, type PktType } from './arp.js';
import { Ndisc, type NdiscHost } from './ndisc.js';
import { Ip6Forward } from './ip6-forward.js';
import { routeInput, RouteScratch } from './route-input.js';
import { routeOutput, icmpErrorRoute, type OutputDecision } from './route-output.js';
import { Defrag, fragBudgetOf, FragQueue, DEFRAG_CONNTRACK_IN, DEFRAG_LOCAL_DELIVER, headHoldsL4, fragListFits, ipOptionsFragment } from './ip-frag.js';
import { RouteCache, RouteEntry, RC_FORWARD, RC_LOCAL } from './route-cache.js';
import { FASTPATH_CELLS } from '../datapath/stats.js';
import { LJ, type KeepsLearned, type LearnedJournal, type LearnedRecord, type LearnedSink } from '../datapath/learned-journal.js';
import { loadRoutes, loadRoutes6, loadRules, loadRules6, loadNeighbours } from './ip-text.js';
import { Netfilter, newPacketInfo, fillPacketInfo, fillDatagramInfo, type NfPacketInfo, type NetfilterOptions, type CtStoreBuffers } from '../netfilter/index.js';
import { CT_RELATED, IPS_CONFIRMED, IPS_DYING, VERDICT_ACCEPT, VERDICT_REJECT } from '../netfilter/constants.js';
import { ruleSaveText } from '../netfilter/rule.js';
import { IPTABLES_CACHE_CELLS } from '../netfilter/traversal-cache.js';
import { forwardPmtu, unreachPmtu } from './pmtu.js';
import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN, tcpSetChecksum, writeTcp } from '../wire/tcp.js';
import { addrType, routePrefsrc, selectAddr } from './addr-select.js';
import { IpOptions, optionsCompile, forwardOptions, optionsEcho, optionsBuild } from './ip-options.js';
import { newFibResult, type Flow } from './rules.js';
import { IPTOS_RT_MASK } from './fib.js';
import { RT_SCOPE_LINK, RT_SCOPE_UNIVERSE } from './names.js';
import { aroundChange, setNeighHooks } from './netlink-events.js';
import { type DadHost, dadFailed, dadRun } from './dad6.js';
import { type MldHost, mldQuery, mldRun } from './mld6.js';

export interface InterfaceConfig {
  mac?: number; // 48-bit MAC as a number; random-looking default otherwise
  mtu?: number;
  addresses?: { ip: number; prefixLen: number; broadcast?: number }[];
  /** A VLAN sub-interface of `parent` (e.g. swp1.103): tagged frames of that VID. */
  vlan?: { parent: string; id: number };
  up?: boolean;
  /** What the node's wiring makes it (an OVS internal port shows operstate UNKNOWN); default: a veth end. */
  kind?: 'internal' | 'veth';
  /** Its ifindex as the node numbered it; default: the lowest free. */
  index?: number;
}

/** Where an interface's frames go: its port, and the tag to push if it is a VLAN sub-interface. */
interface IfBinding {
  iface: Interface;
  port: Port;
  vid: number; // -1: not a VLAN sub-interface
  counters: IfCounters;
}

/** Where a packet leaves: a route cache entry, or the slow path's decision in the same shape. */
type Hop = RouteEntry<IfBinding, NeighEntry<Packet>>;

const NO_COUNTERS = new IfCounters();

export class NetNamespace extends Element implements KeepsLearned {
  readonly ns: Netns<Packet>;
  nf: Netfilter;
  private readonly nfOpts: NetfilterOptions;
  /** Binding of each port's untagged traffic, by port index. */
  private readonly byPort: (IfBinding | undefined)[] = [];
  /** VLAN sub-interfaces by parent port index, then VID. */
  private readonly vlans: (Map<number, IfBinding> | undefined)[] = [];
  private readonly byIfindex = new Map<number, IfBinding>();
  /** ARP replies held back by proxy_delay. */
  private readonly delayed: { at: number; pkt: Packet; b: IfBinding }[] = [];
  /** Proxy ARP replies waiting (the table's proxy_queue length, `ip -s ntable`'s proxy_qlen). */
  get proxyQueued(): number {
    return this.delayed.length;
  }
  /** The learned-state journal (its neighbours), as element `jid`; null inline. */
  private journal: LearnedJournal | null = null;
  private jid = 0;
  /** The inet_peer of each address ICMP errors went to: rate_tokens and rate_last, which ip_error and icmp_ratelimit share. */
  private readonly icmpPeers = new Map<number, { tokens: number; last: number }>();
  /** icmp_msgs_per_sec global bucket. */
  private icmpCredit = 0;
  private icmpCreditAt = 0;
  private readonly d = new Decoded();
  /** IPv6 input (ndisc.ts): neighbour discovery and echo for the namespace's link-locals. */
  private readonly ndisc: Ndisc;
  /** IPv6 forwarding (ip6-forward.ts). */
  private readonly fwd6: Ip6Forward;
  private readonly info: NfPacketInfo = newPacketInfo();
  /** Reused by every forwarded packet's routing decision (no allocation per packet). */
  private readonly rs = new RouteScratch();
  /** The forwarding cache (route-cache.ts), made with the first IPv4 packet; used when engine.fastpath is on. */
  private rc: RouteCache<IfBinding, NeighEntry<Packet>> | null = null;
  /** Where netfilter's traversal cache counts (IPTABLES_CACHE_CELLS), allocated with the first hook; -1 before. */
  private nfcBase = -1;
  /** The slow path's forward decision and a local packet's output, as a Hop (reused). */
  private readonly fwdHop: Hop = new RouteEntry();
  private readonly outHop: Hop = new RouteEntry();
  private ipId = 0;
  /** Reassembly queues (ip-frag.ts), made with the first fragment queued. */
  private defrag: Defrag | null = null;
  /**
   * The reassembled datagram being handled, its head being the packet the
   * code below passes around; null for everything else.
   */
  private dg: FragQueue | null = null;
  /** Fragments being sent (reused). */
  private readonly fragOut: Packet[] = [];
  /** The packet `info` describes (an ICMP error about it carries its connection). */
  private infoPkt: Packet | null = null;
  /** The offending packet's connection, for the ICMP error being sent (nf_ct_attach). */
  private relCt = 0;
  private relDir = 0;
  private relStatus = 0;
  private relTable: NfPacketInfo['ctTable'] = null;
  /** The packet going through OUTPUT is such an error. */
  private attached = false;
  /** The packet going through OUTPUT has a local route (RTCF_LOCAL: a REJECT's error comes from its destination). */
  private outLocal = false;
  /** lo's counters (loopback_xmit: what this stack sends itself). */
  private loCounters = new IfCounters();
  /** The sockets of the namespace's own programs (dpemu ping, traceroute, arping). */
  readonly inet: InetSockets;
  readonly inet6: Inet6Sockets;
  /** The options of the received header being handled (ip_options_compile's), and of the echo reply to it. */
  private readonly opts = new IpOptions();
  private readonly echoOpts = new IpOptions();
  private readonly echoOptBytes = new Uint8Array(40);
  /** The packet `opts` were compiled for, and its `moves` then: the same visit (an ICMP error about it echoes them). */
  private optsPkt: Packet | null = null;
  private optsMoves = 0;
  private readonly optFlow: Flow = { dst: 0, src: 0, tos: 0, scope: 0, oif: 0, iif: 0, mark: 0, proto: 0, sport: 0, dport: 0, uid: 0 };
  private readonly optFib = newFibResult();
  /** inet_addr_type(...) != RTN_UNICAST for a prespecified timestamp address: one of ours. */
  private readonly isLocalAddr = (a: number): boolean => addrType(this.ns, a) === 'local';

  constructor(node: string, name: string) {
    super('netns', node, name);
    this.ns = new Netns<Packet>({ name, ipv6: true });
    const host6: NdiscHost = {
      element: this,
      send: (pkt, ifindex) => this.l2Out(pkt, this.byIfindex.get(ifindex)!),
      echoReply: (pkt, l, l3, l4, len) => this.inet6.echoReply(pkt, l, l3, l4, len),
      transport: (pkt, l, l3, nh, l4) => this.inet6.transport(pkt, l, l3, nh, l4),
      icmpError: (pkt, l, l3, l4, len) => this.inet6.icmpError(pkt, l, l3, l4, len),
      link: (ifindex) => this.ns.linkByIndex(ifindex),
      linkNamed: (name) => this.ns.link(name),
      links: () => this.ns.links(),
      fib6: () => this.ns.fib6(),
      rules6: () => this.ns.rules6.rules(),
      forwarding: () => this.ns.all6.forwarding !== 0,
      icmp6Ratelimit: () => this.ns.icmp6Ratelimit,
      forward: (pkt, l) => this.fwd6.forward(pkt, l),
      addressUnreachable: (pkt, l) => this.inet6.addressUnreachable(pkt, l),
      dadFailed: (_l, a) => {
        const now = this.engine.now;
        if (dadFailed(a, now)) this.ns.dadDue = Math.min(this.ns.dadDue, now);
      },
      mldQuery: (l, buf, off, maxDelayMs) => {
        if (this.ns.mld === 'on') this.ns.mldDue = Math.min(this.ns.mldDue, mldQuery(l, buf, off, maxDelayMs, this.engine.now, this.mld));
      },
    };
    this.ndisc = new Ndisc(host6, this.ns.nd6);
    this.fwd6 = new Ip6Forward(host6, this.ndisc);
    this.inet6 = new Inet6Sockets(this, this.ns, this.ndisc, this.fwd6);
    this.inet = new InetSockets({
      element: this,
      ns: this.ns,
      conntrack: () => (this.nf.tracking ? this.nf.conntrack : null),
      datagram: () => this.dg,
      setDatagram: (q) => (this.dg = q),
      localOut: (pkt, src, decided, related, mark) => this.localOut(pkt, src, decided, related, mark),
      writeIpHeader: (buf, l3, totLen, proto, src, dst, tos, optLen) => this.writeIpHeader(buf, l3, totLen, proto, src, dst, tos, optLen),
      device: (ifindex) => this.byIfindex.get(ifindex)?.iface,
      send: (pkt, ifindex) => this.l2Out(pkt, this.byIfindex.get(ifindex)!),
    });
    this.ns.clock = () => this.engine?.now ?? 0;
    this.nfOpts = { host: { masqueradeSource: (outIf, dst) => this.masqueradeSource(outIf, dst) } };
    this.nf = new Netfilter(this.nfOpts);
    // Neutron's per-namespace sysctls (reference §8.1); the topology may override them.
    this.ns.setSysctl('net.ipv4.ip_forward', 1);
    this.ns.setSysctl('net.ipv4.conf.all.arp_ignore', 1);
    this.ns.setSysctl('net.ipv4.conf.all.arp_announce', 2);
    this.ns.setSysctl('net.ipv6.conf.all.forwarding', 1);
    // ICMP rate limiting is off by default in emulation (a traceroute or a
    // test burst must see every error); setting the kernel's sysctls back on
    // (icmp_ratelimit=1000, icmp_msgs_per_sec=1000, net.ipv6.icmp.ratelimit=100) makes it behave as Linux.
    this.ns.setSysctl('net.ipv4.icmp_ratelimit', 0);
    this.ns.setSysctl('net.ipv4.icmp_msgs_per_sec', 0);
    this.ns.setSysctl('net.ipv6.icmp.ratelimit', 0);
  }

  // ---- configuration ----------------------------------------------------

  /** Create interface `name` (a port of this element, unless it is a VLAN sub-interface). */
  addInterface(name: string, cfg: InterfaceConfig = {}): Port {
    const mac = cfg.mac ?? pseudoMac(`${this.node}/${this.name}/${name}`);
    const iface = this.ns.addLink({
      name, kind: cfg.kind ?? 'veth', mac, mtu: cfg.mtu ?? 1500, ...(cfg.index !== undefined ? { index: cfg.index } : {}), ...(cfg.vlan ? { vlanId: cfg.vlan.id } : {}),
    });
    this.ns.setLinkUp(name, cfg.up ?? true);
    for (const a of cfg.addresses ?? []) this.ns.addAddr(name, { local: a.ip, prefixLen: a.prefixLen, ...(a.broadcast !== undefined ? { broadcast: a.broadcast } : {}) });
    if (cfg.vlan) {
      const parent = this.byIfindex.get(this.ns.mustLink(cfg.vlan.parent).index);
      if (!parent || parent.vid >= 0) throw new Error(`${name}: VLAN parent ${cfg.vlan.parent} is not a plain interface of ${this.name}`);
      const b: IfBinding = { iface, port: parent.port, vid: cfg.vlan.id, counters: new IfCounters() };
      let m = this.vlans[parent.port.index];
      if (!m) this.vlans[parent.port.index] = m = new Map();
      m.set(cfg.vlan.id, b);
      this.byIfindex.set(iface.index, b);
      return parent.port;
    }
    const port = this.engine.addPort(this, name);
    const b: IfBinding = { iface, port, vid: -1, counters: new IfCounters() };
    this.byPort[port.index] = b;
    this.byIfindex.set(iface.index, b);
    return port;
  }

  /** The VLAN sub-interfaces whose frames go through port `p` (tagged there). */
  vlanInterfaces(p: Port): Interface[] {
    const m = this.vlans[p.index];
    return m ? [...m.values()].map((b) => b.iface) : [];
  }

  setSysctl(key: string, value: string | number): void {
    const v = Number(value);
    const nf = /^net\.netfilter\.nf_conntrack_(max|tcp_be_liberal|tcp_loose|checksum|acct)$/.exec(key.replaceAll('/', '.'));
    if (!nf) return this.ns.setSysctl(key, v);
    if (nf[1] === 'max') {
      this.nfOpts.max = v;
      this.nf.conntrack.max = v;
      return;
    }
    if (nf[1] === 'tcp_be_liberal') this.nfOpts.tcpBeLiberal = v !== 0;
    else if (nf[1] === 'tcp_loose') this.nfOpts.tcpLoose = v !== 0;
    else if (nf[1] === 'checksum') this.nfOpts.checksum = v !== 0;
    else this.nfOpts.acct = v !== 0;
    // Conntrack reads these at creation: start it afresh (sysctls are set before rules and traffic).
    if (this.nf.conntrack.count > 0 || this.nf.rules.conntrackNeeded) throw new Error(`${key}: set before iptables rules and traffic`);
    this.nf = new Netfilter(this.nfOpts);
  }

  /**
   * Continue with the conntrack table a dead datapath worker left in shared
   * memory (src/workers/supervisor.ts); called once the namespace is built,
   * its conntrack sysctls set.
   */
  adoptConntrackTable(buffers: CtStoreBuffers): void {
    this.nf.adoptConntrackTable(buffers, this.nfOpts);
  }

  /** `ip route` text (several tables may be mixed with `table N`). */
  loadRoutes(text: string): void {
    loadRoutes(this.ns, text);
  }

  /** `ip rule` text: the rule list becomes exactly what it lists. */
  loadRules(text: string): void {
    loadRules(this.ns, text);
  }

  /** `ip -6 route show table all` text: the kernel's own routes recognised, the others added. */
  loadRoutes6(text: string): void {
    loadRoutes6(this.ns, text);
  }

  /** `ip -6 rule` text: the IPv6 rule list becomes exactly what it lists. */
  loadRules6(text: string): void {
    loadRules6(this.ns, text);
  }

  loadNeighbours(text: string): void {
    this.runNeigh(loadNeighbours(this.ns, text, this.engine?.now ?? 0));
  }

  /** iptables-save (or -S) text. */
  loadIptables(text: string): void {
    this.nf.load(text);
  }

  private masqueradeSource(outIf: string, dst: number): number {
    const l = this.ns.link(outIf);
    if (!l) return 0;
    const r = routeOutput(this.ns, { dst, oif: l.index });
    return r.kind === 'error' ? 0 : r.src;
  }

  // ---- receive ------------------------------------------------------------

  receive(pkt: Packet, port: Port): void {
    const e = this.engine;
    if (pkt.len < ETH_HLEN) return e.drop(pkt, this, 'malformed', 'shorter than an Ethernet header');
    let b = this.byPort[port.index];
    if (b && !b.iface.up) return this.rxWhileDown(pkt, b, port);
    const buf = pkt.buf;
    let type = readU16(buf, pkt.off + 12);
    if (type === ETHERTYPE_VLAN) {
      const sub = this.vlans[port.index]?.get(readU16(buf, pkt.off + 14) & 0x0fff);
      if (!sub) {
        // No sub-interface for the tag: the kernel hands the frame on untagged, as for
        // another host (__netif_receive_skb_core), where IP drops it; counted as that.
        if (b && pkt.len >= ETH_HLEN + 4) b.counters.countL3(readU16(buf, pkt.off + 16), true);
        return e.drop(pkt, this, 'unknown_protocol', 'VLAN-tagged frame and no sub-interface for the tag');
      }
      if (pkt.len < ETH_HLEN + 4) return e.drop(pkt, this, 'malformed', 'truncated VLAN tag');
      moveMacs(buf, pkt.off, pkt.off + 4); // pop: move the MACs over the tag
      pkt.pull(4);
      b = sub;
      type = readU16(buf, pkt.off + 12);
      if (sub.iface.up) {
        sub.counters.rxPackets++;
        sub.counters.rxBytes += pkt.len - ETH_HLEN; // vlan_do_receive counts past the Ethernet header
        const rec = e.recording;
        if (rec !== null) {
          rec.op(new AddOp(sub.counters, 'rxPackets', 1));
          rec.op(new AddOp(sub.counters, 'rxBytes', pkt.len - ETH_HLEN));
        }
      }
    }
    if (!b) return e.drop(pkt, this, 'no_carrier');
    if (!b.iface.up) return e.drop(pkt, this, 'port_down', `${b.iface.name} is down`);
    pkt.mark = 0; // a new namespace: skb_scrub_packet
    const pt = pktType(buf, pkt.off, b.iface.mac);
    if (type === ETHERTYPE_ARP) {
      // packet_rcv: an ETH_P_ARP packet socket bound to the device gets its copy before arp_rcv.
      this.inet.arpRcv(b.iface.index, buf, pkt.off, pkt.len);
      return this.rxArp(pkt, b, pt);
    }
    // ip_rcv_core counts another host's frame before any check; IPv4 for this host counts nothing more.
    if (type !== ETHERTYPE_IPV4 || pt === 'otherhost') b.counters.countL3(type, pt === 'otherhost');
    if (type === ETHERTYPE_IPV4) return this.rxIpv4(pkt, b, pt);
    if (type === ETHERTYPE_IPV6) {
      if (pt === 'otherhost') return e.drop(pkt, this, 'not_for_us', 'IPv6 to another MAC');
      return this.ndisc.receive(pkt, b.iface);
    }
    return e.drop(pkt, this, 'unknown_protocol', `ethertype 0x${type.toString(16).padStart(4, '0')}`);
  }

  /**
   * A frame reached the port of a device that is down: a veth does not
   * deliver it (is_skb_forwardable), so it is not received here, and a
   * namespace at the other end counts it as tx_dropped (veth_xmit).
   */
  private rxWhileDown(pkt: Packet, b: IfBinding, port: Port): void {
    b.counters.downPackets++;
    b.counters.downBytes += pkt.len;
    const peer = port.peer;
    if (port.linkKind === 'veth' && peer?.element instanceof NetNamespace) peer.element.refusedByPeer(peer, pkt.len);
    this.engine.drop(pkt, this, 'port_down', `${b.iface.name} is down`);
  }

  private refusedByPeer(port: Port, len: number): void {
    const c = this.byPort[port.index]?.counters;
    if (!c) return;
    c.refusedPackets++;
    c.refusedBytes += len;
  }

  /** The iptables rule counters, and the device counters (corrections to the port cells, cleared with them). */
  override clearCounters(): void {
    this.nf.rules.counters.zeroAll();
    for (const b of this.byIfindex.values()) b.counters = new IfCounters();
    this.loCounters = new IfCounters();
  }

  /** The device counters of `l`, as `ip -s link` prints them (`lo`: what this stack sent itself, it is no port). */
  linkStats(l: Interface): LinkStats64 {
    const b = this.byIfindex.get(l.index);
    const c = b?.counters ?? (l.index === LOOPBACK_IFINDEX ? this.loCounters : NO_COUNTERS);
    return linkStats64(c, this.engine.stats, b && b.vid < 0 ? b.port.statsBase : -1, l.kind, l.carrierChanges);
  }

  private rxArp(pkt: Packet, b: IfBinding, pt: PktType): void {
    const e = this.engine, d = this.d;
    const err = decode(pkt.buf, pkt.off, pkt.len, d);
    if (err !== 0) return e.drop(pkt, this, 'malformed', decodeErrorName(err));
    if (pt === 'otherhost') return e.drop(pkt, this, 'not_for_us', `ARP to ${macToString(d.dstHi, d.dstLo)} on ${b.iface.name}`);
    const now = e.now;
    const out = arpProcess(this.ns, {
      op: d.arpOp, sha: d.arpShaHi * 0x1_0000_0000 + d.arpShaLo, sip: d.arpSpa,
      tha: d.arpThaHi * 0x1_0000_0000 + d.arpThaLo, tip: d.arpTpa,
    }, b.iface.index, pt, now);
    const what = d.arpOp === 1 ? `who-has ${ipToString(d.arpTpa)} tell ${ipToString(d.arpSpa)}` : `${ipToString(d.arpSpa)} is-at ${macToString(d.arpShaHi, d.arpShaLo)}`;
    if (out.reply) {
      const r = out.reply;
      const rb = this.byIfindex.get(r.ifindex)!;
      // The request's slot becomes the reply (arp_send_dst builds a new skb; same bytes).
      pkt.off = pkt.slot * e.pool.slotSize + HEADROOM;
      pkt.len = buildArpReply(pkt.buf, pkt.off, macHi(r.sha), macLo(r.sha), r.sip, macHi(r.tha), macLo(r.tha), r.tip);
      if (e.tracing) e.note(pkt, this, `arp: ${what} on ${b.iface.name}: reply ${ipToString(r.sip)} is-at ${macToString(macHi(r.sha), macLo(r.sha))}${out.note ? ` (${out.note})` : ''}`);
      this.runNeigh(out.neigh);
      if (r.at > now) this.delayed.push({ at: r.at, pkt, b: rb });
      else this.l2Out(pkt, rb);
      return;
    }
    this.runNeigh(out.neigh);
    e.consume(pkt, this, `arp: ${what} on ${b.iface.name}${out.note ? `: ${out.note}` : ': processed'}`);
  }

  private rxIpv4(pkt: Packet, b: IfBinding, pt: PktType): void {
    const e = this.engine, buf = pkt.buf, l3 = pkt.off + ETH_HLEN;
    // ip_rcv_core: lengths, then the header checksum (transport headers are netfilter's and the protocols' to judge).
    const err = ipv4HeaderError(buf, l3, pkt.len - ETH_HLEN);
    if (err !== 0) return e.drop(pkt, this, 'malformed', decodeErrorName(err));
    if (checksum(buf, l3, (buf[l3]! & 15) << 2) !== 0) return e.drop(pkt, this, 'malformed', 'bad IPv4 header checksum');
    if (pt === 'otherhost') return e.drop(pkt, this, 'not_for_us', `destination MAC ${macToString(readMacHi(buf, pkt.off), readMacLo(buf, pkt.off))} is not ${b.iface.name}'s`);
    // ip_rcv: trim Ethernet padding beyond the IP total length.
    const totLen = readU16(buf, l3 + 2);
    if (ETH_HLEN + totLen < pkt.len) pkt.len = ETH_HLEN + totLen;
    // nf_defrag_ipv4 (PREROUTING, priority -400): conntrack, NAT and the rules see whole datagrams.
    if (((buf[l3 + 6]! & 0x3f) | buf[l3 + 7]!) !== 0 && this.nf.tracking) return this.defragIn(pkt, b, DEFRAG_CONNTRACK_IN, false);
    const bad = fillPacketInfo(this.info, buf, l3, totLen);
    if (bad) return e.drop(pkt, this, 'malformed', bad);
    this.infoPkt = pkt;
    this.rcvFinish(pkt, b);
  }

  /** PREROUTING, the input route and what it says, for a packet whose `info` is filled. */
  private rcvFinish(pkt: Packet, b: IfBinding): void {
    const e = this.engine, buf = pkt.buf, l3 = pkt.off + ETH_HLEN, info = this.info;
    info.inIf = b.iface.name;
    info.outIf = null;
    info.mark = 0;
    if (!this.hook(pkt, 'prerouting', e.now)) return;
    const dst = info.dst, src = info.src; // after any DNAT
    let rc = this.rc;
    if (rc === null) this.rc = rc = new RouteCache(this.ns, e.stats, e.stats.alloc(FASTPATH_CELLS, { node: this.node, element: this.name }));
    const cached = e.fastpath && e.tracer === null;
    if (cached) {
      const k = rc.probe;
      k.iif = b.iface.index;
      k.src = src | 0;
      k.dst = dst | 0;
      k.tos = buf[l3 + 1]!;
      k.mark = info.mark | 0;
      k.proto = info.proto;
      k.sport = info.sport;
      k.dport = info.dport;
      const hit = rc.lookup();
      if (hit !== null) {
        if (e.recording !== null) e.recording.ack(); // the rest of this hop: neighOut() adds its op
        return hit.kind === RC_FORWARD ? this.forward(pkt, b, hit) : this.localIn(pkt, b, true);
      }
    }
    e.recording?.fail();
    const rs = this.rs, ip = rs.pkt;
    ip.src = src;
    ip.dst = dst;
    ip.iif = b.iface.index;
    ip.tos = buf[l3 + 1]!;
    ip.mark = info.mark;
    ip.proto = info.proto;
    ip.sport = info.sport;
    ip.dport = info.dport;
    const rt = routeInput(this.ns, ip, rs);
    switch (rt.kind) {
      case 'local':
      case 'broadcast':
        if (e.tracing) e.note(pkt, this, `route: ${ipToString(dst)} is local${rt.fib ? ` (${fibText(rt.fib)})` : ''}`);
        if (cached && rt.kind === 'local') rc.insert(RC_LOCAL, 0, 0, 0, null);
        return this.localIn(pkt, b, rt.kind === 'local');
      case 'forward': {
        if (e.tracing) e.note(pkt, this, `route: ${fibText(rt.fib)} -> ${this.ns.linkByIndex(rt.oif)?.name} via ${ipToString(rt.nexthop)}`);
        const out = this.byIfindex.get(rt.oif) ?? null;
        const x = this.ns.pmtu.size !== 0 ? forwardPmtu(this.ns, rt.route, dst) : undefined;
        let h = this.fwdHop;
        if (cached && x === undefined) h = rc.insert(RC_FORWARD, rt.oif, rt.nexthop, rt.mtu, out);
        else {
          h.oif = rt.oif;
          h.nexthop = rt.nexthop | 0;
          h.mtu = x?.mtu ?? rt.mtu;
          h.out = out;
          h.neigh = null;
        }
        return this.forward(pkt, b, h);
      }
      case 'unreachable': {
        const reason: DropReason = rt.errno === 'ENETUNREACH' ? 'no_route' : 'unreachable_route';
        if (rt.icmpCode === undefined) return this.dropIp(pkt, reason, `route to ${ipToString(dst)}: ${rt.errno}`);
        if (!this.ipErrorAllowed(src, e.now)) return this.dropIp(pkt, reason, `route to ${ipToString(dst)}: ${rt.errno}, ICMP unreachable rate limited (ip_error)`);
        this.icmpError(pkt, b.iface.index, ICMP_DEST_UNREACH, rt.icmpCode, 0, false);
        return this.dropIp(pkt, reason, `route to ${ipToString(dst)}: ${rt.errno}, ICMP unreachable code ${rt.icmpCode} sent`);
      }
      default:
        return this.dropIp(pkt, 'filtered', `${rt.reason} (${ipToString(src)} -> ${ipToString(dst)})`);
    }
  }

  /** ip_forward and ip_output for a received packet. */
  private forward(pkt: Packet, inB: IfBinding, h: Hop): void {
    const e = this.engine, buf = pkt.buf, l3 = pkt.off + ETH_HLEN, mtu = h.mtu;
    // ip_rcv_options (after the route, cached or not): options are written at every hop, the one IHL test otherwise.
    const options = buf[l3] !== 0x45;
    if (options && !this.optionsIn(pkt, inB.iface.index, false)) return;
    const ttl = buf[l3 + 8]!;
    if (ttl <= 1) {
      this.icmpError(pkt, inB.iface.index, ICMP_TIME_EXCEEDED, ICMP_EXC_TTL, 0, false);
      return this.dropIp(pkt, 'ttl_exceeded', `TTL ${ttl}: ICMP time exceeded sent`);
    }
    // ip_exceeds_mtu: too long with DF; a reassembled datagram (ignore_df) only if one of its fragments was.
    const totLen = readU16(buf, l3 + 2);
    if (totLen > mtu && readU16(buf, l3 + 6) & IP_DF && (this.dg === null || this.dg.fragMax > mtu)) {
      this.icmpError(pkt, inB.iface.index, ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED, mtu & 0xffff, false);
      return this.dropIp(pkt, 'mtu_exceeded', `${totLen} > MTU ${mtu} with DF: ICMP fragmentation needed sent`);
    }
    ipv4DecTtl(buf, l3);
    e.recording?.rewrite(DEC_TTL);
    const out = h.out;
    if (out === null) return this.dropIp(pkt, 'no_route', 'output interface has no port');
    this.info.outIf = out.iface.name;
    if (!this.hook(pkt, 'forward', e.now)) return;
    if (options) {
      // ip_forward_finish: ip_forward_options before POSTROUTING (SNAT leaves them alone), the header checksum redone.
      forwardOptions(buf, l3, this.opts, this.routeSource(pkt, inB.iface.index, h));
      ipv4SetChecksum(buf, l3);
    }
    if (!this.hook(pkt, 'postrouting', e.now)) return;
    this.ipOutput(pkt, h, inB.iface.index);
  }

  /**
   * ip_options_compile for a received header with options (`local`: routed
   * to this namespace): false after a bad one, answered with a parameter
   * problem and dropped as ip_rcv_options drops it.
   */
  private optionsIn(pkt: Packet, iif: number, local: boolean): boolean {
    const buf = pkt.buf, l3 = pkt.off + ETH_HLEN;
    const bad = optionsCompile(buf, l3, (buf[l3]! & 15) << 2, this.opts, this.specDst(buf, l3, iif, local), this.isLocalAddr);
    this.optsPkt = pkt;
    this.optsMoves = pkt.moves;
    if (bad < 0) return true;
    this.icmpError(pkt, iif, ICMP_PARAMETERPROB, 0, (bad << 24) >>> 0, local);
    this.dropIp(pkt, 'malformed', `IP option at byte ${bad}: ICMP parameter problem sent`);
    return false;
  }

  /**
   * fib_compute_spec_dst: the address a hop records for a received packet:
   * its destination when it is ours, else the preferred source of the route
   * back to its sender (inet_select_addr on the device when there is none).
   */
  private specDst(buf: Uint8Array, l3: number, iif: number, local: boolean): number {
    const daddr = readU32(buf, l3 + 16), saddr = readU32(buf, l3 + 12);
    if (local) return daddr;
    const dev = this.ns.linkByIndex(iif);
    if (saddr === 0) return selectAddr(this.ns, dev, saddr, RT_SCOPE_LINK);
    const f = this.optFlow;
    f.dst = saddr;
    f.src = f.oif = f.mark = f.proto = f.sport = f.dport = f.uid = 0;
    f.iif = LOOPBACK_IFINDEX;
    f.tos = buf[l3 + 1]! & IPTOS_RT_MASK;
    f.scope = RT_SCOPE_UNIVERSE;
    const res = this.ns.lookup(f, this.optFib);
    if (!res.error && res.route) return routePrefsrc(this.ns, res.route);
    return selectAddr(this.ns, dev, saddr, RT_SCOPE_UNIVERSE);
  }

  /** ip_rt_get_source for a forwarded packet: the preferred source of its route out through `h`. */
  private routeSource(pkt: Packet, iif: number, h: Hop): number {
    const buf = pkt.buf, l3 = pkt.off + ETH_HLEN, f = this.optFlow;
    f.dst = readU32(buf, l3 + 16);
    f.src = readU32(buf, l3 + 12);
    f.tos = buf[l3 + 1]! & 0x1e; // RT_TOS
    f.oif = h.oif;
    f.iif = iif;
    f.mark = pkt.mark;
    f.scope = f.proto = f.sport = f.dport = f.uid = 0;
    const res = this.ns.lookup(f, this.optFib);
    if (!res.error && res.route) return routePrefsrc(this.ns, res.route);
    return selectAddr(this.ns, this.ns.linkByIndex(h.oif), h.nexthop, RT_SCOPE_UNIVERSE);
  }

  /** Delivery to this namespace's own stack (ip_local_deliver): fragments are reassembled first. */
  private localIn(pkt: Packet, b: IfBinding, unicast: boolean): void {
    const buf = pkt.buf, l3 = pkt.off + ETH_HLEN;
    // A later fragment holds only copied options (none modelled): what the first one's compile found stays for the datagram.
    if (buf[l3] !== 0x45 && (readU16(buf, l3 + 6) & IP_OFFMASK) === 0 && !this.optionsIn(pkt, b.iface.index, unicast)) return;
    if (((buf[l3 + 6]! & 0x3f) | buf[l3 + 7]!) !== 0) return this.defragIn(pkt, b, DEFRAG_LOCAL_DELIVER, unicast);
    this.localDeliver(pkt, b.iface.index, unicast);
  }

  /** ip_local_deliver_finish: INPUT, then the protocol's handler (`iif`: the device it came in on). */
  private localDeliver(pkt: Packet, iif: number, unicast: boolean): void {
    const e = this.engine, info = this.info;
    if (!this.hook(pkt, 'input', e.now)) return;
    const proto = info.proto;
    if (proto === IPPROTO_ICMP) {
      if (this.inet.pings.length !== 0) this.inet.pingRcv(pkt);
      if (this.inet.traces.length !== 0) this.inet.traceRcv(pkt);
      if (info.icmpType === ICMP_DEST_UNREACH && info.icmpCode === ICMP_FRAG_NEEDED && unicast) this.unreachPmtu(pkt);
      if (info.icmpType === ICMP_ECHO && unicast) return this.echoReply(pkt);
      return this.consumeIp(pkt, `ICMP type ${info.icmpType} code ${info.icmpCode} delivered to the local stack`);
    }
    if (!unicast) return this.consumeIp(pkt, 'broadcast delivered to the local stack');
    if (proto === IPPROTO_UDP) {
      // A traceroute probe's socket takes its answer; no other socket listens in an emulated namespace:
      // udp_rcv answers port unreachable.
      if (this.inet.traces.length !== 0 && this.inet.traceRcv(pkt)) return this.consumeIp(pkt, `UDP to ${ipToString(info.dst)}:${info.dport}: to a traceroute probe's socket`);
      this.icmpError(pkt, iif, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, 0, true);
      return this.consumeIp(pkt, `UDP to ${ipToString(info.dst)}:${info.dport}: no socket, ICMP port unreachable sent`);
    }
    if (proto === IPPROTO_TCP) {
      // traceroute -T's raw socket reads a copy; no TCP socket listens or is connected here: tcp_v4_send_reset.
      if (this.inet.traces.length !== 0) this.inet.traceRcv(pkt);
      return this.tcpReset(pkt);
    }
    this.icmpError(pkt, iif, ICMP_DEST_UNREACH, ICMP_PROT_UNREACH, 0, true);
    return this.consumeIp(pkt, `IP protocol ${proto}: ICMP protocol unreachable sent`);
  }

  // ---- fragments (ip-frag.ts) ---------------------------------------------

  /**
   * ip_defrag for `user`: queue the fragment; once its datagram is whole,
   * carry on with it from where defragmentation happens (PREROUTING, or
   * local delivery), on the device of its last fragment, as the kernel does.
   */
  private defragIn(pkt: Packet, b: IfBinding, user: number, unicast: boolean): void {
    const e = this.engine;
    // A quarter of the slab at most, and half for all the slab's namespaces together.
    const df = (this.defrag ??= new Defrag(Math.max(16, e.pool.slots >> 2), fragBudgetOf(e.pool)));
    const r = df.add(pkt, user, b.iface.index, e.now);
    if (r === 'queued') {
      if (e.tracing) e.note(pkt, this, `defrag: fragment queued (id ${readU16(pkt.buf, pkt.off + ETH_HLEN + 4)})`);
      return;
    }
    if (r !== 'done') {
      for (const k of df.killed) e.drop(k, this, r, 'its reassembly queue was dropped');
      df.killed.length = 0;
      return e.drop(pkt, this, r);
    }
    const q = df.done!;
    df.done = null;
    const head = q.frags[0]!;
    const bad = headHoldsL4(q) ? fillDatagramInfo(this.info, head.buf, head.off + ETH_HLEN, head.len - ETH_HLEN, q.l4Sum) : 'transport header beyond the first fragment';
    this.dg = q;
    this.infoPkt = head;
    const headMoves = head.moves;
    let threw = true;
    try {
      if (bad) this.dropIp(head, bad === 'transport header beyond the first fragment' ? 'frag_unsupported' : 'malformed', bad);
      else {
        if (e.tracing) e.note(head, this, `defrag: ${q.frags.length} fragments reassembled, ${this.info.len} bytes`);
        if (user === DEFRAG_CONNTRACK_IN) this.rcvFinish(head, b);
        else this.localDeliver(head, b.iface.index, unicast);
      }
      threw = false;
    } finally {
      // Every way out sends, drops or consumes the whole datagram (dg is then null). Else the fragments
      // nobody took go here: the head unless it went on alone, and after a throw not `pkt`, the
      // fragment that completed the datagram, which the engine drops (it may be the head or any other).
      if (this.dg !== null) {
        for (let i = 0; i < q.frags.length; i++) {
          const f = q.frags[i]!;
          if ((i > 0 || f.moves === headMoves) && !(threw && f === pkt)) e.drop(f, this, 'internal_error', 'datagram abandoned');
        }
      }
      this.dg = null;
    }
  }

  /** Drop an IP packet; the head of a reassembled datagram takes its other fragments along. */
  private dropIp(pkt: Packet, reason: DropReason, text?: string): void {
    const e = this.engine, dg = this.dg;
    if (dg !== null && dg.frags[0] === pkt) {
      for (let i = 1; i < dg.frags.length; i++) e.drop(dg.frags[i]!, this, reason, text);
      this.dg = null;
    }
    e.drop(pkt, this, reason, text);
  }

  private consumeIp(pkt: Packet, text: string): void {
    const e = this.engine, dg = this.dg;
    if (dg !== null && dg.frags[0] === pkt) {
      for (let i = 1; i < dg.frags.length; i++) e.consume(dg.frags[i]!, this, text);
      this.dg = null;
    }
    e.consume(pkt, this, text);
  }

  /** ip_finish_output: fragment what is longer than the MTU or was reassembled (frag_max_size), else neighbour output. */
  private ipOutput(pkt: Packet, h: Hop, iif: number): void {
    const dg = this.dg;
    if ((dg === null || dg.frags[0] !== pkt) && readU16(pkt.buf, pkt.off + ETH_HLEN + 2) <= h.mtu) return this.neighOut(pkt, h, iif);
    this.fragment(pkt, h, iif);
  }

  /**
   * ip_fragment and ip_do_fragment. With DF (and not a reassembled datagram
   * whose fragments all fit) ICMP fragmentation needed. A reassembled
   * datagram whose fragments fit min(MTU, frag_max_size), 8-aligned, leaves
   * as it came (the frag_list fast path: headers copied from the head, DF
   * cleared); anything else is cut into (mtu - ihl) & ~7 byte pieces (DF
   * kept only for IPSKB_FRAG_PMTU). Options without the copied bit leave
   * fragments after the first as NOOPs.
   */
  private fragment(pkt: Packet, h: Hop, iif: number): void {
    const e = this.engine, buf = pkt.buf, l3 = pkt.off + ETH_HLEN, mtu = h.mtu;
    const dg = this.dg !== null && this.dg.frags[0] === pkt ? this.dg : null;
    const hlen = (buf[l3]! & 15) << 2;
    if (readU16(buf, l3 + 6) & IP_DF && (dg === null || dg.fragMax > mtu)) {
      this.icmpError(pkt, iif, ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED, mtu & 0xffff, iif === 0);
      return this.dropIp(pkt, 'mtu_exceeded', `${readU16(buf, l3 + 2)} > MTU ${mtu} with DF: ICMP fragmentation needed sent`);
    }
    const room = (dg !== null && dg.fragMax > 0 && dg.fragMax < mtu ? dg.fragMax : mtu) - hlen;
    if (room < 8) return this.dropIp(pkt, 'mtu_exceeded', `MTU ${mtu} leaves no room for a fragment`);
    const inPlace = dg !== null && dg.fragMax > 0 && fragListFits(dg, room) && this.fragHeadroom(dg, hlen);
    if (!inPlace) {
      // A datagram held over several slots (one answered here) meets an MTU beyond a slot: the kernel
      // sends the piece whole, but no slot holds it. Refused as pingSend refuses such a datagram.
      const left = dg === null ? readU16(buf, l3 + 2) - hlen : dg.len;
      const frame = ETH_HLEN + hlen + (left < room ? left : room);
      if (frame > e.pool.maxFrame) return this.dropIp(pkt, 'frame_over_slot', `a ${frame}-byte frame (MTU ${mtu}) does not fit a slot (${e.pool.maxFrame} bytes)`);
    }
    const out = this.fragOut;
    out.length = 0;
    if (inPlace) this.fragsInPlace(dg, hlen);
    else if (!this.fragsCopied(pkt, dg, hlen, room)) {
      for (const f of out) e.drop(f, this, 'no_buffer', 'fragmentation ran out of slots');
      out.length = 0;
      return this.dropIp(pkt, 'no_buffer', 'fragmentation ran out of slots');
    } else {
      // consume_skb: the original's bytes left in the copies.
      if (e.tracing) e.note(pkt, this, `fragmented into ${out.length} fragments of up to ${room} bytes`);
      const n = dg === null ? 1 : dg.frags.length;
      for (let i = 0; i < n; i++) {
        const f = dg === null ? pkt : dg.frags[i]!;
        f.moves++;
        e.pool.free(f);
      }
    }
    this.dg = null;
    let i = 0;
    try {
      for (; i < out.length; i++) this.neighOut(out[i]!, h, iif);
    } finally {
      // A fragment's output threw (a bug; the engine counts it): the ones not yet sent go back to the slab.
      for (i++; i < out.length; i++) e.drop(out[i]!, this, 'internal_error', 'not sent: an earlier fragment failed');
      out.length = 0;
    }
  }

  /** Whether each fragment's slot has room in front of its payload for the head's header and an Ethernet header. */
  private fragHeadroom(dg: FragQueue, hlen: number): boolean {
    const size = this.engine.pool.slotSize;
    for (let i = 1; i < dg.frags.length; i++) if (dg.pOffs[i]! - hlen - ETH_HLEN < dg.frags[i]!.slot * size) return false;
    return true;
  }

  /** ip_fraglist_init/ip_fraglist_prepare: the original fragments, each given the head's header. */
  private fragsInPlace(dg: FragQueue, hlen: number): void {
    const head = dg.frags[0]!, buf = head.buf, l3 = head.off + ETH_HLEN, n = dg.frags.length, out = this.fragOut;
    for (let i = 1; i < n; i++) {
      const f = dg.frags[i]!, fl3 = dg.pOffs[i]! - hlen, len = dg.fragLen(i);
      const from = i === 1 ? l3 : dg.pOffs[1]! - hlen; // the head's header, then the second fragment's (options fragmented)
      buf.copyWithin(fl3, from, from + hlen);
      if (i === 1 && hlen > 20) ipOptionsFragment(buf, fl3, hlen);
      writeU16(buf, fl3 + 2, hlen + len);
      writeU16(buf, fl3 + 6, (dg.offs[i]! >>> 3) | (i < n - 1 ? IP_MF : 0));
      ipv4SetChecksum(buf, fl3);
      f.off = fl3 - ETH_HLEN;
      f.len = ETH_HLEN + hlen + len;
      f.mark = head.mark;
    }
    writeU16(buf, l3 + 2, hlen + dg.fragLen(0));
    writeU16(buf, l3 + 6, IP_MF);
    ipv4SetChecksum(buf, l3);
    for (let i = 0; i < n; i++) out.push(dg.frags[i]!);
  }

  /**
   * ip_frag_init/ip_frag_next: new fragments of `room` payload bytes (8-aligned
   * but the last), copied from the packet's payload or the datagram's
   * fragments. False when the slab ran out (what was made is in fragOut).
   */
  private fragsCopied(pkt: Packet, dg: FragQueue | null, hlen: number, room: number): boolean {
    const e = this.engine, buf = pkt.buf, l3 = pkt.off + ETH_HLEN, out = this.fragOut;
    const fo = readU16(buf, l3 + 6);
    let offset = (fo & IP_OFFMASK) << 3; // fragmenting a fragment: its place and MF carry on
    const notLast = (fo & IP_MF) !== 0;
    const df = dg !== null && dg.pmtu ? IP_DF : 0;
    let left = dg === null ? readU16(buf, l3 + 2) - hlen : dg.len;
    let seg = 0, from = dg === null ? l3 + hlen : dg.pOffs[0]!, segLeft = dg === null ? left : dg.fragLen(0);
    while (left > 0) {
      let len = left > room ? room : left;
      if (len < left) len &= ~7;
      const p = e.alloc(pkt, this, 'fragment');
      if (p === null) return false;
      const pl3 = p.off + ETH_HLEN;
      buf.copyWithin(pl3, l3, l3 + hlen);
      for (let to = pl3 + hlen, need = len; need > 0; ) {
        if (segLeft === 0) {
          seg++;
          from = dg!.pOffs[seg]!;
          segLeft = dg!.fragLen(seg);
        }
        const k = need < segLeft ? need : segLeft;
        buf.copyWithin(to, from, from + k);
        to += k;
        from += k;
        segLeft -= k;
        need -= k;
      }
      left -= len;
      writeU16(buf, pl3 + 2, hlen + len);
      writeU16(buf, pl3 + 6, (offset >>> 3) | df | (left > 0 || notLast ? IP_MF : 0));
      ipv4SetChecksum(buf, pl3);
      p.len = ETH_HLEN + hlen + len;
      p.mark = pkt.mark;
      if (offset === 0 && hlen > 20) ipOptionsFragment(buf, l3, hlen); // once, in the original: later pieces copy it
      offset += len;
      out.push(p);
    }
    return true;
  }

  /** ip_expire: the queue's fragments go; ICMP reassembly time exceeded where the kernel sends it. */
  private readonly fragExpired = (q: FragQueue, firstIn: boolean): void => {
    const e = this.engine;
    const head = q.frags[0]!;
    if (firstIn) {
      // Routed again from the first fragment; conntrack's defrag answers only for a local destination (frag_expire_skip_icmp).
      const buf = head.buf, l3 = head.off + ETH_HLEN, rs = this.rs, ip = rs.pkt;
      ip.src = readU32(buf, l3 + 12);
      ip.dst = readU32(buf, l3 + 16);
      ip.iif = q.iif;
      ip.tos = buf[l3 + 1]!;
      ip.mark = 0;
      ip.proto = buf[l3 + 9]!;
      ip.sport = 0;
      ip.dport = 0;
      const rt = routeInput(this.ns, ip, rs);
      if (rt.kind === 'local' || (q.user === DEFRAG_LOCAL_DELIVER && rt.kind === 'forward')) {
        this.icmpError(head, q.iif, ICMP_TIME_EXCEEDED, ICMP_EXC_FRAGTIME, 0, rt.kind === 'local');
      }
    }
    for (const f of q.frags) e.drop(f, this, 'frag_timeout', 'reassembly timed out');
  };

  /** icmp_echo: the request becomes its reply in place and is sent like any local packet. */
  private echoReply(pkt: Packet): void {
    const e = this.engine, buf = pkt.buf, l3 = pkt.off + ETH_HLEN, dg = this.dg;
    const ihl = (buf[l3]! & 0x0f) * 4;
    const src = this.info.dst, dst = this.info.src;
    const totLen = readU16(buf, l3 + 2);
    if (e.tracing) e.note(pkt, this, `icmp: echo request to ${ipToString(src)}: echo reply`);
    buf[l3 + ihl] = ICMP_ECHOREPLY;
    if (dg === null) icmpSetChecksum(buf, l3 + ihl, totLen - ihl);
    else {
      // Reassembled: the data stays in its slots, the checksum follows the type. The reply is
      // this stack's own datagram, cut to the route's MTU (ip_append_data).
      const c = readU16(buf, l3 + ihl + 2), code = buf[l3 + ihl + 1]!;
      writeU16(buf, l3 + ihl + 2, csumUpdate16(c, (ICMP_ECHO << 8) | code, (ICMP_ECHOREPLY << 8) | code));
      dg.fragMax = 0;
      dg.pmtu = false;
      dg.l4Sum = 0xffff; // a right checksum
    }
    if (ihl > 20) {
      // icmp_reply: the request's RR and TS echoed (ip_options_echo), written for this hop as it leaves (ip_options_build).
      // (Another datagram's options compiled while this one was reassembled: none echoed.)
      const o = this.echoOpts, compiled = this.optsPkt === pkt && this.optsMoves === pkt.moves;
      const olen = compiled ? optionsEcho(buf, l3, this.opts, this.echoOptBytes, o, this.isLocalAddr) : 0;
      if (olen < 0) return this.consumeIp(pkt, 'icmp: echo request whose options cannot be echoed: no reply');
      const cut = ihl - 20 - olen;
      if (cut > 0) {
        buf.copyWithin(l3 + 20 + olen, l3 + ihl, pkt.off + pkt.len);
        if (dg !== null) dg.pOffs[0]! -= cut;
        pkt.len -= cut;
      }
      buf.set(this.echoOptBytes.subarray(0, olen), l3 + 20);
      this.writeIpHeader(buf, l3, totLen - cut, IPPROTO_ICMP, src, dst, buf[l3 + 1]!, olen);
      if (olen > 0) {
        optionsBuild(buf, l3, o, src);
        ipv4SetChecksum(buf, l3);
      }
    } else this.writeIpHeader(buf, l3, totLen, IPPROTO_ICMP, src, dst, buf[l3 + 1]!);
    this.localOut(pkt, src);
  }

  /**
   * tcp_v4_send_reset for a segment no socket takes (not itself a reset):
   * a RST back to its sender from the address it came to, acking it when it
   * acked nothing, through ip_send_unicast_reply's socket (the route to the
   * sender, ip_default_ttl, DF with IP id 0, the segment's TOS without its
   * ECN bits), then OUTPUT and POSTROUTING as any local packet.
   */
  private tcpReset(pkt: Packet): void {
    const e = this.engine, buf = pkt.buf, l3 = pkt.off + ETH_HLEN, info = this.info;
    const ihl = (buf[l3]! & 15) << 2, l4 = l3 + ihl, flags = buf[l4 + 13]!, doff = buf[l4 + 12]! >>> 4;
    const why = `TCP to ${ipToString(info.dst)}:${info.dport}: no socket`;
    if (flags & TCP_RST || doff < 5) return this.consumeIp(pkt, why);
    const src = info.dst, dst = info.src, tos = buf[l3 + 1]! & 0xfc;
    const rt = routeOutput(this.ns, { dst, src, tos, proto: IPPROTO_TCP, sport: info.dport, dport: info.sport });
    const rst = rt.kind === 'error' ? null : e.alloc(pkt, this, `TCP reset to ${ipToString(dst)}`);
    if (rst === null || rt.kind === 'error') return this.consumeIp(pkt, `${why}, no reset sent`);
    const rb = rst.buf, r3 = rst.off + ETH_HLEN;
    const ack = flags & TCP_ACK ? 0 : (readU32(buf, l4 + 4) + (flags & TCP_SYN ? 1 : 0) + (flags & TCP_FIN ? 1 : 0) + info.len - ihl - doff * 4) >>> 0;
    rst.len = ETH_HLEN + 40;
    rb[r3] = 0x45;
    rb[r3 + 1] = tos;
    writeU16(rb, r3 + 2, 40);
    writeU32(rb, r3 + 4, IP_DF); // id 0 (ip_select_ident: DF and no connected socket)
    rb[r3 + 8] = this.ns.sys.ip_default_ttl;
    rb[r3 + 9] = IPPROTO_TCP;
    writeU32(rb, r3 + 12, src);
    writeU32(rb, r3 + 16, dst);
    ipv4SetChecksum(rb, r3);
    writeTcp(rb, r3 + 20, info.dport, info.sport, flags & TCP_ACK ? readU32(buf, l4 + 8) : 0, ack, flags & TCP_ACK ? TCP_RST : TCP_RST | TCP_ACK, 0);
    tcpSetChecksum(rb, r3, r3 + 20, 20);
    if (e.tracing) e.note(rst, this, `tcp: ${why}: reset to ${ipToString(dst)}`);
    this.localOut(rst, src, rt);
    return this.consumeIp(pkt, `${why}, reset sent`);
  }

  /**
   * icmp_send: an error about the packet in `pkt` (received on ifindex
   * `iif`, 0 if generated here), sent from this namespace. `local`: the
   * offending packet was addressed to us. `held`: the connection a packet
   * held on a neighbour carries (Packet.nfct).
   */
  private icmpError(pkt: Packet, iif: number, type: number, code: number, info: number, local: boolean, held = 0): void {
    const e = this.engine, buf = pkt.buf, l3 = pkt.off + ETH_HLEN;
    const dg = this.dg !== null && this.dg.frags[0] === pkt ? this.dg : null;
    const ipLen = dg === null ? pkt.len - ETH_HLEN : readU16(buf, l3 + 2);
    if (!icmpErrorAllowed(buf, l3, ipLen)) return;
    const src = readU32(buf, l3 + 12), dst = readU32(buf, l3 + 16);
    if (src === 0 || (src >>> 28) === 0xe || src === 0xffffffff) return; // never to a non-unicast source
    const rt = icmpErrorRoute(this.ns, { src, dst, tos: buf[l3 + 1]!, iif, local, mark: pkt.mark });
    if (rt.kind === 'error') return;
    if (!this.icmpAllowed(type, src, e.now)) {
      if (e.tracing) e.note(pkt, this, `icmp: ${icmpName(type, code)} to ${ipToString(src)} not sent: rate limited`);
      return;
    }
    // __icmp_send: the options input compiled for this packet are echoed (ip_options_echo), the quote shortened for them.
    let olen = 0;
    if (buf[l3] !== 0x45 && this.optsPkt === pkt && this.optsMoves === pkt.moves) {
      olen = optionsEcho(buf, l3, this.opts, this.echoOptBytes, this.echoOpts, this.isLocalAddr);
      if (olen < 0) return;
    }
    const err = e.alloc(pkt, this, `ICMP ${icmpName(type, code)} to ${ipToString(src)}`);
    if (!err) return;
    const el3 = err.off + ETH_HLEN;
    const quote = Math.max(0, Math.min(icmpQuoteLen(ipLen, rt.mtu), icmpQuoteLen(0xffff, rt.mtu) - olen));
    const len = buildIcmpError(err.buf, el3, type, code, info, rt.src, src, buf, l3, quote, 64, this.nextIpId());
    err.len = ETH_HLEN + len;
    if (dg !== null && quote > pkt.len - ETH_HLEN) this.quoteRest(dg, err, quote);
    if (olen > 0) {
      const eb = err.buf;
      eb.copyWithin(el3 + 20 + olen, el3 + 20, el3 + len);
      eb.set(this.echoOptBytes.subarray(0, olen), el3 + 20);
      eb[el3] = 0x45 + (olen >>> 2);
      writeU16(eb, el3 + 2, len + olen);
      optionsBuild(eb, el3, this.echoOpts, rt.src);
      ipv4SetChecksum(eb, el3);
      err.len += olen;
    }
    if (e.tracing) e.note(err, this, `icmp: ${icmpName(type, code)} from ${ipToString(rt.src)} to ${ipToString(src)}`);
    // icmp_glue_bits: the error carries the offending packet's connection (nf_ct_attach): the one `info` holds
    // while it is about that packet, or the one a held packet kept.
    const inf = this.info;
    let related = false;
    if (this.infoPkt === pkt && inf.ct !== 0) {
      related = true;
      this.relCt = inf.ct;
      this.relDir = inf.ctDir;
      this.relStatus = inf.ctStatus;
      this.relTable = inf.ctTable;
    } else if (held !== 0) related = this.heldConnection(pkt, held);
    this.localOut(err, rt.src, rt, related);
  }

  /**
   * The connection a held packet kept, as the one its error is attached to:
   * true if it is still there and still the packet's (the kernel holds a
   * reference; here a slot freed meanwhile may hold another connection).
   */
  private heldConnection(pkt: Packet, held: number): boolean {
    const ct = this.nf.conntrack, e = held >>> 1, dir = held & 1, l3 = pkt.off + ETH_HLEN;
    if ((ct.status(e) & (IPS_CONFIRMED | IPS_DYING)) !== IPS_CONFIRMED) return false;
    // The packet as it left (after NAT) is the other direction's tuple turned around.
    if ((readU32(pkt.buf, l3 + 12) | 0) !== ct.tupleDst(e, dir ^ 1) || (readU32(pkt.buf, l3 + 16) | 0) !== ct.tupleSrc(e, dir ^ 1)) return false;
    this.relCt = e;
    this.relDir = dir;
    this.relStatus = ct.status(e);
    this.relTable = ct;
    return true;
  }

  /**
   * icmp_glue_bits quotes the reassembled datagram, not its first fragment:
   * the quote's bytes past the head's come from the fragments after it.
   */
  private quoteRest(dg: FragQueue, err: Packet, quote: number): void {
    const buf = err.buf, head = dg.frags[0]!, el4 = err.off + ETH_HLEN + 20;
    let at = el4 + 8 + head.len - ETH_HLEN, need = quote - (head.len - ETH_HLEN);
    for (let i = 1; need > 0 && i < dg.frags.length; i++) {
      const k = need < dg.fragLen(i) ? need : dg.fragLen(i);
      buf.copyWithin(at, dg.pOffs[i]!, dg.pOffs[i]! + k);
      at += k;
      need -= k;
    }
    icmpSetChecksum(buf, el4, 8 + quote);
  }

  /**
   * A locally generated IPv4 packet (IP header at off+14, source set):
   * ip_route_output, OUTPUT, POSTROUTING, neighbour output, or to a local
   * address the loopback. False when OUTPUT or POSTROUTING dropped it
   * (ip_local_out's -EPERM, what the sender's sendmsg returns).
   */
  /** `mark`: the sending socket's SO_MARK, the skb's mark OUTPUT starts with. */
  private localOut(pkt: Packet, src: number, decided?: OutputDecision, related = false, mark = 0): boolean {
    const e = this.engine, buf = pkt.buf, l3 = pkt.off + ETH_HLEN, info = this.info, dg = this.dg;
    const bad = dg !== null && dg.frags[0] === pkt
      ? fillDatagramInfo(info, buf, l3, pkt.len - ETH_HLEN, dg.l4Sum)
      : fillPacketInfo(info, buf, l3, pkt.len - ETH_HLEN);
    if (bad) {
      this.dropIp(pkt, 'malformed', bad);
      return true;
    }
    this.infoPkt = pkt;
    info.inIf = null;
    info.mark = mark;
    if (related) {
      info.ct = this.relCt;
      info.ctDir = this.relDir ^ 1;
      info.ctState = CT_RELATED;
      info.ctStatus = this.relStatus;
      info.ctTable = this.relTable;
    }
    let rt = decided ?? routeOutput(this.ns, { dst: info.dst, src, tos: buf[l3 + 1]!, proto: info.proto, sport: info.sport, dport: info.dport });
    if (rt.kind === 'error') {
      this.dropIp(pkt, rt.errno === 'ENETUNREACH' ? 'no_route' : 'unreachable_route', `output route to ${ipToString(info.dst)}: ${rt.errno}`);
      return true;
    }
    let out = this.byIfindex.get(rt.oif);
    info.outIf = out?.iface.name ?? 'lo';
    this.attached = related;
    this.outLocal = rt.kind === 'local';
    const ok = this.hook(pkt, 'output', e.now);
    this.attached = false;
    if (!ok) return false;
    if (this.nf.result.reroute) {
      rt = routeOutput(this.ns, { dst: info.dst, src: info.src, tos: buf[l3 + 1]!, mark: info.mark, proto: info.proto });
      if (rt.kind === 'error') {
        this.dropIp(pkt, 'no_route', `rerouted to ${ipToString(info.dst)}: ${rt.errno}`);
        return true;
      }
      out = this.byIfindex.get(rt.oif);
      info.outIf = out?.iface.name ?? 'lo';
    }
    if (rt.kind === 'local') {
      if (!this.hook(pkt, 'postrouting', e.now)) return false;
      this.loopback(pkt);
      return true;
    }
    if (!out) {
      this.consumeIp(pkt, `to ${ipToString(info.dst)}: ${this.ns.linkByIndex(rt.oif)?.name} has no port`);
      return true;
    }
    if (e.tracing) e.note(pkt, this, `route (output): ${rt.fib ? fibText(rt.fib) : ''} -> ${out.iface.name} via ${ipToString(rt.nexthop)}`);
    if (!this.hook(pkt, 'postrouting', e.now)) return false;
    const h = this.outHop;
    h.out = out;
    h.nexthop = rt.nexthop | 0;
    h.mtu = rt.mtu;
    h.neigh = null;
    this.ipOutput(pkt, h, 0);
    return true;
  }

  /**
   * loopback_xmit and ip_rcv on lo: counted sent and received there (IP
   * bytes: eth_type_trans has pulled the header), then PREROUTING with the
   * connection the packet carries, and local delivery on the route output
   * chose (the skb keeps its dst: no input route). lo down drops it in
   * __dev_queue_xmit, counted as tx_dropped.
   */
  private loopback(pkt: Packet): void {
    const e = this.engine, info = this.info, c = this.loCounters;
    if (!this.ns.linkByIndex(LOOPBACK_IFINDEX)!.up) {
      c.txDropped++;
      return this.dropIp(pkt, 'port_down', 'lo is down');
    }
    c.txPackets++;
    c.txBytes += info.len;
    c.rxPackets++;
    c.rxBytes += info.len;
    if (e.tracing) e.note(pkt, this, `lo: ${ipToString(info.src)} > ${ipToString(info.dst)} looped back`);
    info.inIf = 'lo';
    info.outIf = null;
    if (!this.hook(pkt, 'looped', e.now)) return;
    // ip_rcv_finish: the route came along, the options are compiled as for any received packet.
    const l3 = pkt.off + ETH_HLEN;
    if (pkt.buf[l3] !== 0x45 && !this.optionsIn(pkt, LOOPBACK_IFINDEX, true)) return;
    this.localDeliver(pkt, LOOPBACK_IFINDEX, true);
  }

  /** Run a netfilter hook ('looped': PREROUTING of a packet back through lo); false when the packet was dropped (it is then accounted for). */
  private hook(pkt: Packet, name: 'prerouting' | 'input' | 'forward' | 'output' | 'postrouting' | 'looped', now: number): boolean {
    const nf = this.nf, e = this.engine, info = this.info;
    if (nf.cache.sw === null) {
      // The first hook of this Netfilter (a sysctl may have replaced the last): it follows the engine's fast-path switch.
      if (this.nfcBase < 0) this.nfcBase = e.stats.alloc(IPTABLES_CACHE_CELLS, { node: this.node, element: this.name });
      nf.cache.sw = e;
      nf.cache.countInto(e.stats.v, this.nfcBase);
    }
    // Each method by name, not nf[name](): a keyed call site megamorphic in V8 (about 2 % of a worker's time).
    const v = name === 'prerouting' ? nf.prerouting(info, now) : name === 'forward' ? nf.forward(info, now)
      : name === 'postrouting' ? nf.postrouting(info, now) : name === 'input' ? nf.input(info, now)
      : name === 'output' ? nf.output(info, now, this.attached) : nf.preroutingLooped(info, now);
    const r = nf.result;
    if (e.tracing) {
      if (r.natRule) e.note(pkt, this, `iptables -t nat: ${ruleSaveText(r.chain ?? name.toUpperCase(), r.natRule, false)} => ${ipToString(this.info.src)} > ${ipToString(this.info.dst)}`);
      if (this.info.ct && name === 'prerouting') e.note(pkt, this, `conntrack: ${ctStateName(this.info.ctState)}${this.info.ctDir ? ' (reply direction)' : ''}`);
    }
    pkt.mark = this.info.mark;
    if (v === VERDICT_ACCEPT) return true;
    const why = `${name}: ${r.reason ?? 'dropped'}${r.table ? ` (-t ${r.table} ${r.chain} rule ${r.ruleNum})` : ''}`;
    if (r.reason === 'conntrack_full') {
      this.dropIp(pkt, 'conntrack_full', why);
      return false;
    }
    if (v === VERDICT_REJECT && r.rejectWith !== null && r.rejectWith.icmpType === ICMP_DEST_UNREACH) {
      // nf_send_unreach: received on a port or looped back through lo, the error goes to the sender (this
      // stack itself for lo); sent here (OUTPUT), to this stack itself, from the destination if that is local.
      if (name === 'output') this.icmpError(pkt, 0, ICMP_DEST_UNREACH, r.rejectWith.icmpCode, 0, this.outLocal);
      else {
        const iif = this.info.inIf ? this.ns.mustLink(this.info.inIf).index : 0;
        if (iif !== 0) this.icmpError(pkt, iif, ICMP_DEST_UNREACH, r.rejectWith.icmpCode, 0, name === 'input');
      }
    }
    this.dropIp(pkt, r.reason === 'conntrack_invalid' ? 'conntrack_invalid' : 'netfilter_drop', why);
    return false;
  }

  /**
   * neigh_output: send with the neighbour's MAC, or hold the packet and ARP
   * for it. The hop's neighbour entry is reused while it is in the table.
   */
  private neighOut(pkt: Packet, h: Hop, iif: number): void {
    const e = this.engine, now = e.now, nt = this.ns.neigh, out = h.out!;
    let ne = h.neigh;
    // get() takes the address as int32 as well (its maps key on `ip | 0`).
    if (ne === null || ne.dead) h.neigh = ne = nt.get(h.nexthop, out.iface.index) ?? null;
    if (ne !== null && nt.sendVia(ne, now)) {
      const rec = e.recording;
      if (rec !== null) {
        if (h !== this.fwdHop) rec.op(new RoutePathOp(h, ne, ne.mac, ne.state));
        else rec.fail();
      }
      return this.sendTo(pkt, out, ne);
    }
    e.recording?.fail();
    const nexthop = h.nexthop >>> 0;
    const src = readU32(pkt.buf, pkt.off + ETH_HLEN + 12);
    const r = nt.resolve(nexthop, out.iface.index, now, { pkt, bytes: skbTruesize(pkt.len), src });
    if (r.kind === 'send') {
      h.neigh = ne = nt.get(nexthop, out.iface.index)!;
      return this.sendTo(pkt, out, ne);
    }
    if (r.kind === 'drop') return e.drop(pkt, this, r.reason === 'neigh_failed' ? 'neigh_failed' : 'neigh_queue_full', `neighbour ${ipToString(nexthop)} on ${out.iface.name}: ${r.reason}`);
    if (e.tracing) e.note(pkt, this, `neigh: ${ipToString(nexthop)} dev ${out.iface.name} unresolved: packet held`);
    pkt.iif = iif;
    pkt.nfct = this.info.ct === 0 ? 0 : this.info.ct * 2 + this.info.ctDir;
    for (const old of r.dropped) e.drop(old, this, 'neigh_queue_full', 'pushed out of the unresolved queue');
    if (r.solicit) this.solicit(r.solicit, pkt);
  }

  /** The Ethernet header to the neighbour's address (MACs read from the objects: a MAC passed as an argument may be boxed). */
  private sendTo(pkt: Packet, out: IfBinding, ne: NeighEntry<Packet>): void {
    const e = this.engine, buf = pkt.buf, o = pkt.off;
    writeMacNum(buf, o, ne.mac);
    writeMacNum(buf, o + 6, out.iface.mac);
    writeU16(buf, o + 12, ETHERTYPE_IPV4);
    if (e.tracing) e.note(pkt, this, `neigh: ${ipToString(ne.ip)} dev ${out.iface.name} lladdr ${macToString(macHi(ne.mac), macLo(ne.mac))}`);
    this.l2Out(pkt, out);
  }

  /** Put a frame on the wire of an interface (pushing the tag of a VLAN sub-interface). */
  private l2Out(pkt: Packet, b: IfBinding): void {
    const e = this.engine;
    if (b.vid >= 0) {
      b.counters.txPackets++;
      b.counters.txBytes += pkt.len; // vlan_dev_hard_start_xmit: the untagged frame
      const rec = e.recording;
      if (rec !== null) {
        rec.op(new AddOp(b.counters, 'txPackets', 1));
        rec.op(new AddOp(b.counters, 'txBytes', pkt.len));
      }
      if (!pkt.push(4, e.pool.slotSize)) return e.drop(pkt, this, 'no_buffer', 'no headroom for the VLAN tag');
      const buf = pkt.buf, o = pkt.off;
      moveMacs(buf, o + 4, o);
      writeU16(buf, o + 12, ETHERTYPE_VLAN);
      writeU16(buf, o + 14, b.vid);
    }
    e.output(pkt, b.port);
  }

  private solicit(s: Solicit, cause: Packet | null): void {
    const e = this.engine;
    const b = this.byIfindex.get(s.ifindex);
    if (!b) return;
    const p = e.alloc(cause, this, `ARP request for ${ipToString(s.target)}`);
    if (!p) return;
    p.len = buildArpRequest(p.buf, p.off, macHi(s.senderMac), macLo(s.senderMac), s.senderIp, s.target);
    if (s.dstMac !== undefined) {
      // A unicast probe (PROBE state) goes to the known address.
      writeEth(p.buf, p.off, macHi(s.dstMac), macLo(s.dstMac), macHi(s.senderMac), macLo(s.senderMac), ETHERTYPE_ARP);
    }
    if (e.tracing) e.note(p, this, `arp: who-has ${ipToString(s.target)} tell ${ipToString(s.senderIp)} on ${b.iface.name}`);
    this.l2Out(p, b);
  }

  /** Carry out what the neighbour table decided: probes, released and failed packets (also after `ip neigh` writes). */
  runNeigh(actions: NeighAction<Packet>[]): void {
    const e = this.engine;
    for (const a of actions) {
      if (a.kind === 'solicit') this.solicit(a, null);
      else if (a.kind === 'flush') {
        const b = this.byIfindex.get(a.ifindex);
        for (const p of a.packets) {
          if (!b) {
            e.drop(p, this, 'no_carrier');
            continue;
          }
          writeEth(p.buf, p.off, macHi(a.mac), macLo(a.mac), macHi(b.iface.mac), macLo(b.iface.mac), ETHERTYPE_IPV4);
          if (e.tracing) e.note(p, this, `neigh: ${ipToString(a.ip)} resolved to ${macToString(macHi(a.mac), macLo(a.mac))}: held packet sent`);
          this.l2Out(p, b);
        }
      } else {
        for (const p of a.packets) {
          // arp_error_report: ICMP host unreachable to the packet's source
          // (its input interface is the one icmp_send considers), then drop.
          this.icmpError(p, p.iif, ICMP_DEST_UNREACH, ICMP_HOST_UNREACH, 0, false, p.nfct);
          e.drop(p, this, 'neigh_failed', `neighbour ${ipToString(a.ip)} FAILED`);
        }
      }
    }
    this.ndisc.adminDone();
  }

  override tick(now: number): void {
    this.runNeigh(this.ns.neigh.tick(now));
    this.ndisc.tick(now);
    this.dadWork();
    for (let i = 0; i < this.delayed.length; ) {
      const x = this.delayed[i]!;
      if (x.at <= now) {
        this.delayed.splice(i, 1);
        this.l2Out(x.pkt, x.b);
      } else i++;
    }
    this.nf.conntrack.gc(now);
    const df = this.defrag;
    if (df !== null && df.size > 0) df.expire(now, this.fragExpired);
  }

  /**
   * The DAD work due now (dad6.ts): from each tick, and right after a
   * configuration command, as the kernel's work runs right after `ip -6
   * addr add` (with accept_dad 0 the address is valid before the next
   * command, told tentative first).
   */
  dadWork(): void {
    const now = this.engine.now;
    if (this.ns.dadDue <= now) this.ns.dadDue = dadRun(this.ns.links(), now, this.dad);
    // The MLD work (mld6.ts) too; from the first tick on, changes send reports (the topology's made none).
    if (this.ns.mld === 'start') this.ns.mld = 'on';
    if (this.ns.mldDue <= now) this.ns.mldDue = mldRun(this.ns.links(), now, this.mld);
  }

  /** The MLD work's view (mld6.ts): its reports leave by ndisc. */
  private readonly mld: MldHost = {
    report: (l, recs) => this.ndisc.mldReport(l, recs),
    randomBelow: (n) => Math.floor(Math.random() * n),
  };

  /** The DAD work's view of this namespace (dad6.ts): its frames leave by ndisc, its outcome is told to ip monitor's listeners. */
  private readonly dad: DadHost = {
    all: () => this.ns.all6,
    retransMs: (l) => this.ns.nd6.params(l.index).retrans_time_ms,
    solicit: (l, a) => this.ndisc.dadSolicit(l, a),
    settle: (l, _a, change) => {
      const notify = aroundChange(this.ns, 'dad');
      // DAD over: with forwarding, the prefix's anycast joins its group (addrconf_join_anycast).
      this.ns.withMld(l, false, change);
      this.ns.dadSettled(l);
      notify?.();
    },
    disable: (l) => {
      const notify = aroundChange(this.ns, 'link');
      this.ns.disable6(l);
      notify?.();
    },
  };

  /** After a reload: keep the connections (and their NAT bindings); neighbours come with the learned records (restoreLearned). */
  adoptState(old: Element): void {
    if (old instanceof NetNamespace) this.nf.adoptConntrack(old.nf);
  }

  // ---- learned neighbours outlive the thread and a reload (src/datapath/learned-journal.ts) ----

  journalTo(j: LearnedJournal, id: number): void {
    this.journal = j;
    this.jid = id;
    setNeighHooks(this.ns, this.logNeigh, this.logNeigh6);
    this.writeLearned(j, id);
  }

  writeLearned(out: LearnedSink, id: number): void {
    out.f[0] = LJ.NEIGH;
    out.put(LJ.RESET, id, 1);
    for (const n of this.ns.neigh.entries()) this.writeNeigh(out, id, n);
    out.f[0] = LJ.NEIGH6;
    out.put(LJ.RESET, id, 1);
    for (const slot of this.ns.nd6.slots()) this.writeNeigh6(out, id, slot, false);
  }

  private readonly logNeigh6 = (slot: number, gone: boolean): void => this.writeNeigh6(this.journal!, this.jid, slot, gone);

  /** An IPv6 neighbour (nd6-cache.ts) as a record: its address's words, device, state, MAC, router flag. */
  private writeNeigh6(out: LearnedSink, id: number, slot: number, gone: boolean): void {
    const c = this.ns.nd6, f = out.f;
    c.words(slot, f, 0);
    f[4] = c.ifindex[slot]!;
    if (gone) return void out.put(LJ.NEIGH6_DEL, id, 5);
    f[5] = c.state[slot]!;
    f[6] = c.mac[slot]!;
    f[7] = c.router[slot]!;
    f[8] = c.confirmed[slot]!;
    f[9] = c.at[slot]!;
    f[10] = c.used[slot]!;
    f[11] = c.probes[slot]!;
    out.put(LJ.NEIGH6, id, 12, this.ns.linkByIndex(c.ifindex[slot]!)?.name ?? '');
  }

  private readonly logNeigh = (n: NeighEntry<unknown>, gone: boolean): void => {
    const j = this.journal!;
    if (!gone) return this.writeNeigh(j, this.jid, n);
    j.f[0] = n.ip;
    j.f[1] = n.ifindex;
    j.put(LJ.NEIGH_DEL, this.jid, 2);
  };

  private writeNeigh(out: LearnedSink, id: number, n: NeighEntry<unknown>): void {
    const f = out.f;
    f[0] = n.ip;
    f[1] = n.ifindex;
    f[2] = n.state;
    f[3] = n.mac;
    f[4] = n.confirmed;
    f[5] = n.updated;
    f[6] = n.used;
    f[7] = n.probes;
    f[8] = n.router ? 1 : 0;
    out.put(LJ.NEIGH, id, 9, this.ns.linkByIndex(n.ifindex)?.name ?? '');
  }

  /**
   * A predecessor's learned neighbours (REACHABLE, STALE, DELAY, PROBE) on
   * devices still there (by name), with their address, state and times as
   * last journaled (NeighbourTable.restoreEntry); the file's PERMANENT ones
   * come from the file, unresolved ones are asked again by the next packet.
   * IPv6 neighbours (REACHABLE, STALE, DELAY, PROBE) come back the same
   * way (Ndisc.restore).
   */
  restoreLearned(recs: readonly LearnedRecord[], now: number): number {
    let n = 0;
    for (const r of recs) {
      if (r.kind === LJ.NEIGH6) {
        const [w0, w1, w2, w3, , state, mac, router, confirmed, updated, used, probes] = r.nums as number[];
        const l = this.ns.link(r.text);
        if (!l || !(state! & (NUD.REACHABLE | NUD.STALE | NUD.DELAY | NUD.PROBE))) continue;
        this.ndisc.restore(l.index, [w0!, w1!, w2!, w3!], mac!, state!, router === 1, confirmed ?? now, updated ?? now, used ?? now, probes ?? 0);
        n++;
        continue;
      }
      if (r.kind !== LJ.NEIGH) continue;
      const [ip, , state, mac, confirmed, updated, used, probes, router] = r.nums as number[];
      if (state! & NUD.PERMANENT || !(state! & (NUD.REACHABLE | NUD.STALE | NUD.DELAY | NUD.PROBE))) continue;
      const l = this.ns.link(r.text);
      if (l && this.ns.neigh.restoreEntry(ip!, l.index, state!, mac!, confirmed!, updated!, used!, probes!, router === 1, now)) n++;
    }
    return n;
  }

  /**
   * ip link set DEV up|down: packets waiting on the device's neighbours are
   * dropped when it goes down. A veth end to another namespace takes its
   * peer's carrier along (veth_open/veth_close: both ends have carrier while
   * both are up), which shows as NO-CARRIER, `linkdown` routes and evicted
   * neighbours there.
   */
  setLinkUp(dev: string, up: boolean): void {
    for (const p of this.ns.setLinkUp(dev, up)) this.engine.drop(p, this, 'port_down', `${dev} went down`);
    const port = this.port(dev), peer = port?.peer;
    if (port?.linkKind !== 'veth' || !(peer?.element instanceof NetNamespace)) return;
    const far = peer.element.ns.link(peer.name);
    if (!far) return;
    const carrier = up && far.up;
    this.setCarrier(dev, carrier);
    peer.element.setCarrier(peer.name, carrier);
  }

  private setCarrier(dev: string, carrier: boolean): void {
    const notify = aroundChange(this.ns, 'carrier');
    for (const p of this.ns.setCarrier(dev, carrier)) this.engine.drop(p, this, 'no_carrier', `${dev} lost carrier`);
    notify?.();
  }

  /** Drop every packet held here (unresolved neighbours, delayed proxy replies): the element is being replaced. */
  release(): void {
    const e = this.engine;
    for (const n of this.ns.neigh.entries()) {
      for (const h of n.queue.splice(0)) e.drop(h.pkt, this, 'neigh_failed', 'namespace replaced by a reload');
      n.queueBytes = 0;
    }
    for (const x of this.delayed.splice(0)) e.drop(x.pkt, this, 'port_down', 'namespace replaced by a reload');
    // As fqdir_pre_exit flushes a namespace's queues: SKB_DROP_REASON_FRAG_REASM_TIMEOUT.
    for (const f of this.defrag?.releaseAll() ?? []) e.drop(f, this, 'frag_timeout', 'namespace replaced by a reload');
  }

  /** A fragmentation needed delivered here, after the raw sockets' copies: icmp_unreach's MTU (as pingRcv), the protocol's handler (pmtu.ts). */
  private unreachPmtu(pkt: Packet): void {
    const buf = pkt.buf, l3 = pkt.off + ETH_HLEN, l4 = l3 + ((buf[l3]! & 15) << 2), nopmtu = this.ns.sys.ip_no_pmtu_disc;
    // 2, and 3 for ICMP (no tag validation): dropped; 1: no MTU handed on.
    if (nopmtu >= 2) return;
    unreachPmtu(this.ns, buf, l4 + 8, pkt.len - ETH_HLEN - (l4 - l3) - 8, nopmtu === 0 ? readU16(buf, l4 + 6) : 0, this.ns.sys.fwmark_reflect ? this.info.mark : 0);
  }


  // ---- helpers ------------------------------------------------------------

  /**
   * icmpv4_xrlim_allow and icmp_global_allow: types in icmp_ratemask are
   * limited per destination to one per icmp_ratelimit ms (bursts of 6) and
   * globally to icmp_msgs_per_sec (bursts of icmp_msgs_burst). 0 turns the
   * global limit off; icmp_ratelimit 0 lets every error through but still
   * spends the destination's tokens (inet_peer_xrlim_allow caps them at
   * 6 * 0), which ip_error reads too.
   */
  private icmpAllowed(type: number, dst: number, now: number): boolean {
    const sys = this.ns.sys;
    if (type > 31 || !((sys.icmp_ratemask >>> type) & 1)) return true;
    if (sys.icmp_msgs_per_sec > 0) {
      const refill = ((now - this.icmpCreditAt) * sys.icmp_msgs_per_sec) / 1000;
      this.icmpCredit = Math.min(sys.icmp_msgs_burst, this.icmpCredit + refill);
      this.icmpCreditAt = now;
      if (this.icmpCredit < 1) return false;
      this.icmpCredit -= 1;
    }
    const timeout = Math.max(0, sys.icmp_ratelimit), peer = this.icmpPeer(dst, now);
    // inet_peer_xrlim_allow: within the same tick nothing refills, nor is capped.
    if (now !== peer.last) {
      peer.tokens = Math.min(6 * timeout, peer.tokens + now - peer.last);
      peer.last = now;
    }
    if (peer.tokens < timeout) return false;
    peer.tokens -= timeout;
    return true;
  }

  /**
   * ip_error's own limit on the unreachables for a forwarded packet with no
   * route, by its source: net.ipv4.route.error_cost (a second) each,
   * bursts of error_burst (5 s): five at once, then one a second. icmp_send's
   * limits (icmpAllowed) follow on the same peer.
   */
  private ipErrorAllowed(src: number, now: number): boolean {
    const { error_cost: cost, error_burst: burst } = this.ns.routeError;
    const peer = this.icmpPeer(src, now);
    peer.tokens = Math.min(burst, peer.tokens + now - peer.last);
    peer.last = now;
    if (peer.tokens < cost) return false;
    peer.tokens -= cost;
    return true;
  }

  /** inet_getpeer_v4: a new peer has no tokens, and a rate_last a minute back (its first use fills it to the cap). */
  private icmpPeer(addr: number, now: number): { tokens: number; last: number } {
    let peer = this.icmpPeers.get(addr);
    if (!peer) this.icmpPeers.set(addr, (peer = { tokens: 0, last: now - 60_000 }));
    return peer;
  }

  private nextIpId(): number {
    this.ipId = (this.ipId + 1) & 0xffff;
    return this.ipId;
  }

  /** A header for a datagram of this stack's ICMP socket (IP_PMTUDISC_DONT: never DF). */
  private writeIpHeader(buf: Uint8Array, l3: number, totLen: number, proto: number, src: number, dst: number, tos: number, optLen = 0): void {
    buf[l3] = 0x45 + (optLen >>> 2);
    buf[l3 + 1] = tos;
    writeU16(buf, l3 + 2, totLen);
    writeU16(buf, l3 + 4, this.nextIpId());
    writeU16(buf, l3 + 6, 0);
    buf[l3 + 8] = 64;
    buf[l3 + 9] = proto;
    writeU32(buf, l3 + 12, src);
    writeU32(buf, l3 + 16, dst);
    ipv4SetChecksum(buf, l3);
  }


  /** Interfaces by name, for inspection. */
  interfaceNames(): string[] {
    return this.ns.links().filter((l) => l.kind !== 'loopback').map((l) => l.name);
  }
}

/** skb->pkt_type from the destination MAC (eth_type_trans). */
function pktType(buf: Uint8Array, off: number, ifMac: number): PktType {
  if (buf[off]! & 1) {
    for (let i = 0; i < 6; i++) if (buf[off + i] !== 0xff) return 'multicast';
    return 'broadcast';
  }
  const hi = (buf[off]! << 8) | buf[off + 1]!;
  const lo = ((buf[off + 2]! << 24) | (buf[off + 3]! << 16) | (buf[off + 4]! << 8) | buf[off + 5]!) >>> 0;
  return hi * 0x1_0000_0000 + lo === ifMac ? 'host' : 'otherhost';
}

/** A stable locally administered MAC for interfaces the file gives none. */
/** A hypervisor root-namespace device's address: the topology's, else one made from its node and name (the root view's, src/control/root-netns.ts, and its Linux bridges' own entries). */
export const rootDeviceMac = (node: string, name: string, given?: string): number => (given ? parseMacNum(given)! : pseudoMac(`${node}/root/${name}`));

export function pseudoMac(seed: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < seed.length; i++) h = Math.imul(h ^ seed.charCodeAt(i), 0x01000193);
  return 0x0200_0000_0000 + ((h >>> 0) * 0x100 + (seed.length & 0xff)) % 0x1_0000_0000_00;
}

function fibText(fib: { table?: number; rule?: { priority?: number } } | undefined): string {
  if (!fib) return '';
  const f = fib as { table?: number; rule?: { priority?: number }; route?: { dst?: number; dstLen?: number } };
  const parts: string[] = [];
  if (f.rule?.priority !== undefined) parts.push(`rule ${f.rule.priority}`);
  if (f.table !== undefined) parts.push(`table ${f.table}`);
  return parts.join(', ');
}

function icmpName(type: number, code: number): string {
  if (type === ICMP_TIME_EXCEEDED) return 'time exceeded in-transit';
  if (type === ICMP_DEST_UNREACH) {
    return ['net unreachable', 'host unreachable', 'protocol unreachable', 'port unreachable', 'fragmentation needed'][code] ?? `unreachable code ${code}`;
  }
  return `type ${type} code ${code}`;
}

function ctStateName(s: number): string {
  const names: string[] = [];
  if (s & 1) names.push('INVALID');
  if (s & 2) names.push('ESTABLISHED');
  if (s & 4) names.push('RELATED');
  if (s & 8) names.push('NEW');
  if (s & 16) names.push('UNTRACKED');
  return names.join(',') || 'none';
}

/**
 * A forward through the namespace as the path cache replays it: its cached
 * route, and its neighbour in the state it had (neigh_output: a connected
 * one is used as is, one in DELAY or PROBE has `used` set).
 */
class RoutePathOp implements PathOp {
  private readonly touch: boolean;

  constructor(private readonly h: Hop, private readonly ne: NeighEntry<Packet>, private readonly mac: number, private readonly state: number) {
    this.touch = (state & NUD_CONNECTED) === 0;
  }

  share(id: (o: object) => number): string {
    return `route ${id(this.h)} ${id(this.ne)} ${this.mac} ${this.state}`;
  }

  /** Routes and neighbours change by the element path, timers or control (a hit sets only `used`). */
  readonly steady = true;

  live(): boolean {
    const ne = this.ne;
    return !this.h.dead && !ne.dead && ne.state === this.state && ne.mac === this.mac && (this.h.neigh === ne || this.h.neigh === null);
  }

  hit(now: number): void {
    if (this.touch) this.ne.used = now;
  }
}
