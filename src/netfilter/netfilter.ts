// One namespace's netfilter: the four tables, conntrack and NAT, run at each
// hook in the kernel's priority order. The namespace stack calls, per packet:
//
//   received:   prerouting() -> [routing] -> forward() -> [output route] -> postrouting()
//                                         \-> input()   (local delivery)
//   generated:  output() -> [reroute if result.reroute] -> postrouting()
//               \-> to a local address: preroutingLooped() -> input()
//
// Inside each hook (Linux IPv4 priorities):
//   PREROUTING   raw(-300), conntrack in(-200), mangle(-150), nat DST(-100)
//   INPUT        mangle(-150), filter(0), nat SRC(100), conntrack confirm(last)
//   FORWARD      mangle(-150), filter(0)
//   OUTPUT       raw(-300), conntrack in(-200), mangle(-150), nat DST(-100), filter(0)
//   POSTROUTING  mangle(-150), nat SRC(100), conntrack confirm(last)
// The nat table is consulted only for a connection's first packet (NEW, or
// RELATED non-ICMP); later packets get the binding chosen then, both ways.

import type { PathRewrite } from '../datapath/path-cache.js';
import { Conntrack, type ConntrackOptions } from './conntrack.js';
import type { CtStoreBuffers } from './conntrack-store.js';
import {
  CT_NEW, CT_RELATED, CT_UNTRACKED, HOOK_FORWARD, HOOK_INPUT, HOOK_OUTPUT, HOOK_POSTROUTING, HOOK_PREROUTING,
  type HookName, IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, IPS_DST_NAT, IPS_NAT_DONE_MASK, IPS_NAT_MASK, IPS_SRC_NAT,
  MANIP_DST, MANIP_SRC, NAT_MAP_IPS, type TableName, VERDICT_ACCEPT, VERDICT_DROP, VERDICT_REJECT, hookByName,
} from './constants.js';
import { EV_ACCEPT, EV_DROP, EV_NAT, EV_REJECT, type NfTraceEvent, type NfTracer, type TraversalResult, traverse } from './evaluate.js';
import { type LoadOptions, loadIptables } from './iptables-parse.js';
import { natInitialized, nullBindingRange } from './nat.js';
import { icmpChecksumOk, icmpRecomputeChecksum, manipIpv4 } from './nat-rewrite.js';
import { type NfPacketInfo, resetConntrackInfo } from './packet-info.js';
import type { Rule } from './rule.js';
import { Ruleset, type Table } from './tables.js';
import { TraversalCache } from './traversal-cache.js';
import { type NatRange, type NatTarget, type RejectTarget, type RejectType, T_MASQUERADE } from './targets.js';

/** What runs inside each hook, in order (for traces and documentation). */
export const HOOK_SEQUENCE: Readonly<Record<HookName, readonly string[]>> = {
  PREROUTING: ['raw', 'conntrack', 'mangle', 'nat'],
  INPUT: ['mangle', 'filter', 'nat', 'confirm'],
  FORWARD: ['mangle', 'filter'],
  OUTPUT: ['raw', 'conntrack', 'mangle', 'nat', 'filter'],
  POSTROUTING: ['mangle', 'nat', 'confirm'],
};

/** A trace event as the kernel's TRACE target logs it: `TRACE: nat:POSTROUTING:rule:2`. */
export function formatTrace(ev: NfTraceEvent): string {
  return `TRACE: ${ev.table}:${ev.chain}:${ev.kind}:${ev.ruleNum}`;
}

/** What netfilter asks of the namespace stack. */
export interface NfHost {
  /**
   * MASQUERADE: the source address the stack would choose for a packet leaving
   * `outIf` toward `dst` (inet_select_addr); 0 when the device has none.
   */
  masqueradeSource(outIf: string, dst: number): number;
}

export interface NetfilterOptions extends ConntrackOptions {
  /** Track connections even when no loaded rule or table needs conntrack. */
  alwaysTrack?: boolean;
  host?: NfHost;
}

/** Details of the last hook call (reused object). */
export interface HookResult {
  verdict: number;
  /** Drop reason when verdict is DROP or REJECT. */
  reason: string | null;
  /** The rule that dropped or rejected (null for a policy or a non-rule drop), or that chose a NAT binding. */
  rule: Rule | null;
  table: TableName | null;
  chain: string | null;
  ruleNum: number;
  rejectWith: RejectType | null;
  /** The NAT rule that chose a binding during this call, if any. */
  natRule: Rule | null;
  /** OUTPUT changed the destination or mark: the stack must route again. */
  reroute: boolean;
}

export class Netfilter {
  readonly rules = new Ruleset();
  /** Replaced only by adoptConntrack (a reload keeps connections, as the kernel keeps them across iptables-restore). */
  conntrack: Conntrack;
  /** Drops by reason (the kernel's SKB_DROP_REASON_* idea). */
  readonly drops = new Map<string, number>();
  readonly result: HookResult = {
    verdict: VERDICT_ACCEPT, reason: null, rule: null, table: null, chain: null, ruleNum: 0,
    rejectWith: null, natRule: null, reroute: false,
  };
  /** Called for every rule that matches and every policy taken (iptables TRACE); the traversal cache is bypassed meanwhile. */
  tracer: NfTracer | null = null;
  /** Outcomes of the raw, mangle and filter tables' traversals (traversal-cache.ts). */
  readonly cache = new TraversalCache(this.rules);
  private readonly alwaysTrack: boolean;
  private readonly host: NfHost | null;
  private readonly tr: TraversalResult = { rule: null, chain: null, ruleNum: 0 };
  /** MASQUERADE's range with the chosen source filled in (reused). */
  private readonly masqRange: NatRange = { flags: 0, minAddr: 0, maxAddr: 0, minPort: 0, maxPort: 0 };

  constructor(opts: NetfilterOptions = {}) {
    this.conntrack = new Conntrack(opts);
    this.alwaysTrack = opts.alwaysTrack ?? false;
    this.host = opts.host ?? null;
  }

  /** Take over another Netfilter's connections and NAT bindings (the same namespace, rebuilt by a reload). */
  adoptConntrack(old: Netfilter): void {
    const max = this.conntrack.max;
    this.conntrack = old.conntrack;
    this.conntrack.max = max;
  }

  /** Take over a table kept in shared memory for a datapath worker that died (src/workers/supervisor.ts), with `opts` as its settings. */
  adoptConntrackTable(buffers: CtStoreBuffers, opts: ConntrackOptions): void {
    this.conntrack = new Conntrack({ ...opts, adopt: buffers });
  }

  /** Applies iptables-save / iptables -S / iptables command text atomically (throws NfSyntaxError). */
  load(text: string, opts?: LoadOptions): void {
    loadIptables(this.rules, text, opts);
  }

  get tracking(): boolean {
    return this.alwaysTrack || this.rules.conntrackNeeded;
  }

  hook(name: HookName, p: NfPacketInfo, now: number): number {
    switch (hookByName(name)) {
      case HOOK_PREROUTING: return this.prerouting(p, now);
      case HOOK_INPUT: return this.input(p, now);
      case HOOK_FORWARD: return this.forward(p, now);
      case HOOK_OUTPUT: return this.output(p, now);
      default: return this.postrouting(p, now);
    }
  }

  /** A packet received on p.inIf (its conntrack view is reset: a new namespace, a new skb->_nfct). */
  prerouting(p: NfPacketInfo, now: number): number {
    this.begin();
    resetConntrackInfo(p);
    if (!this.table(this.rules.tables.raw, HOOK_PREROUTING, p)) return this.result.verdict;
    if (this.tracking && !this.conntrackIn(p, HOOK_PREROUTING, now)) return this.result.verdict;
    if (!this.table(this.rules.tables.mangle, HOOK_PREROUTING, p)) return this.result.verdict;
    if (!this.nat(HOOK_PREROUTING, p, now)) return this.result.verdict;
    return this.result.verdict;
  }

  /**
   * PREROUTING for a packet this stack sent itself, back in through lo
   * (loopback_xmit keeps skb->_nfct): conntrack leaves a packet that carries
   * its connection alone (nf_conntrack_in: "Previously seen (loopback or
   * untracked)? Ignore."), and nat finds its destination binding made in
   * OUTPUT, so the nat table is not consulted again.
   */
  preroutingLooped(p: NfPacketInfo, now: number): number {
    this.begin();
    if (!this.table(this.rules.tables.raw, HOOK_PREROUTING, p)) return this.result.verdict;
    if (this.tracking && p.ct === 0 && !this.conntrackIn(p, HOOK_PREROUTING, now)) return this.result.verdict;
    if (!this.table(this.rules.tables.mangle, HOOK_PREROUTING, p)) return this.result.verdict;
    this.nat(HOOK_PREROUTING, p, now);
    return this.result.verdict;
  }

  input(p: NfPacketInfo, now: number): number {
    this.begin();
    if (!this.table(this.rules.tables.mangle, HOOK_INPUT, p) || !this.table(this.rules.tables.filter, HOOK_INPUT, p)) return this.result.verdict;
    if (!this.nat(HOOK_INPUT, p, now)) return this.result.verdict;
    this.confirm(p, now);
    return this.result.verdict;
  }

  forward(p: NfPacketInfo, _now: number): number {
    this.begin();
    if (this.table(this.rules.tables.mangle, HOOK_FORWARD, p)) this.table(this.rules.tables.filter, HOOK_FORWARD, p);
    return this.result.verdict;
  }

  /**
   * A locally generated packet (p.inIf null, p.outIf from the first route
   * lookup). `attached`: an ICMP error the stack made, carrying the offending
   * packet's connection (icmp_glue_bits: nf_ct_attach, RELATED the other way),
   * which conntrack then leaves alone.
   */
  output(p: NfPacketInfo, now: number, attached = false): number {
    this.begin();
    if (!attached) resetConntrackInfo(p);
    const dst = p.dst;
    const mark = p.mark;
    if (!this.table(this.rules.tables.raw, HOOK_OUTPUT, p)) return this.result.verdict;
    if (this.tracking && !attached && !this.conntrackIn(p, HOOK_OUTPUT, now)) return this.result.verdict;
    if (!this.table(this.rules.tables.mangle, HOOK_OUTPUT, p)) return this.result.verdict;
    if (!this.nat(HOOK_OUTPUT, p, now)) return this.result.verdict;
    this.result.reroute = p.dst !== dst || p.mark !== mark;
    this.table(this.rules.tables.filter, HOOK_OUTPUT, p);
    return this.result.verdict;
  }

  postrouting(p: NfPacketInfo, now: number): number {
    this.begin();
    if (!this.table(this.rules.tables.mangle, HOOK_POSTROUTING, p)) return this.result.verdict;
    if (!this.nat(HOOK_POSTROUTING, p, now)) return this.result.verdict;
    this.confirm(p, now);
    return this.result.verdict;
  }

  // ---- internals ------------------------------------------------------------

  private begin(): void {
    const r = this.result;
    r.verdict = VERDICT_ACCEPT;
    r.reason = null;
    r.rule = null;
    r.table = null;
    r.chain = null;
    r.ruleNum = 0;
    r.rejectWith = null;
    r.natRule = null;
    r.reroute = false;
  }

  private drop(reason: string): false {
    this.result.verdict = VERDICT_DROP;
    this.result.reason = reason;
    this.drops.set(reason, (this.drops.get(reason) ?? 0) + 1);
    return false;
  }

  /** Runs one table's chain at `hook`; false when the packet was dropped or rejected. */
  private table(t: Table, hook: number, p: NfPacketInfo): boolean {
    if (!t.loaded) return true;
    const c = this.cache;
    const ev = this.tracer === null && c.on ? c.traverse(t, hook, p, this.tr) : traverse(t, hook, p, this.tr, this.tracer, null);
    if (ev === EV_ACCEPT) return true;
    const r = this.result;
    r.rule = this.tr.rule;
    r.table = t.name;
    r.chain = this.tr.chain?.name ?? null;
    r.ruleNum = this.tr.ruleNum;
    if (ev === EV_REJECT) {
      r.rejectWith = (this.tr.rule!.target as RejectTarget).type;
      this.drop('iptables_reject');
      r.verdict = VERDICT_REJECT;
      return false;
    }
    if (ev === EV_DROP) return this.drop('iptables_drop');
    return true; // EV_NAT outside the nat table cannot pass commit()
  }

  private conntrackIn(p: NfPacketInfo, hook: number, now: number): boolean {
    if (this.conntrack.in(p, hook, now) === VERDICT_DROP) return this.drop(this.conntrack.lastDropReason ?? 'conntrack_drop');
    const rec = this.cache.sw === null ? null : this.cache.sw.recording ?? null;
    if (rec !== null) {
      const op = this.conntrack.pathOp(p, rec.ops);
      if (op !== null) {
        rec.op(op);
        if (hook === HOOK_PREROUTING && this.conntrack.verifiesChecksums) rec.l4Check = true;
      } else if (p.ctState !== CT_UNTRACKED) rec.fail();
    }
    return true;
  }

  private confirm(p: NfPacketInfo, now: number): void {
    if (p.ct !== 0 && this.conntrack.confirm(p, now) === VERDICT_DROP) {
      this.drop(this.conntrack.lastDropReason ?? 'conntrack_insert_failed');
    }
  }

  /** nf_nat_ipv4_fn + nf_nat_inet_fn. */
  private nat(hook: number, p: NfPacketInfo, now: number): boolean {
    const t = this.rules.tables.nat;
    const ct = p.ct;
    if (!t.loaded || ct === 0) return true;
    const table = this.conntrack;
    const manip = hook === HOOK_PREROUTING || hook === HOOK_OUTPUT ? MANIP_DST : MANIP_SRC;
    if (p.ctState === CT_RELATED && p.proto === IPPROTO_ICMP) return this.icmpReplyTranslation(p, ct, manip);
    if (p.ctState === CT_NEW || p.ctState === CT_RELATED) {
      if (!natInitialized(table.status(ct), manip)) {
        const ev = traverse(t, hook, p, this.tr, this.tracer, null);
        if (ev === EV_DROP) {
          this.result.rule = this.tr.rule;
          this.result.table = 'nat';
          return this.drop('iptables_drop');
        }
        if (ev === EV_NAT && !this.bind(ct, this.tr.rule!, manip, p, now)) return false;
        if (!natInitialized(table.status(ct), manip)) {
          // nf_nat_alloc_null_binding: keep the address, but still make the tuple unique.
          table.setupNat(ct, nullBindingRange(table, ct, manip), manip, now);
        }
        p.ctStatus = table.status(ct);
      } else if (this.oifChanged(hook, ct, p)) {
        return false;
      }
    } else if (this.oifChanged(hook, ct, p)) {
      return false;
    }
    return this.natPacket(p, ct, manip);
  }

  private bind(ct: number, rule: Rule, manip: number, p: NfPacketInfo, now: number): boolean {
    const tg = rule.target as NatTarget;
    const r = this.result;
    r.natRule = rule;
    r.table = 'nat';
    r.chain = this.tr.chain?.name ?? null;
    r.ruleNum = this.tr.ruleNum;
    if (tg.kind === T_MASQUERADE) {
      const src = p.outIf !== null && this.host ? this.host.masqueradeSource(p.outIf, p.dst) >>> 0 : 0;
      if (src === 0) return this.drop('nat_masquerade_no_address');
      const range = tg.range;
      const m = this.masqRange;
      m.flags = range.flags | NAT_MAP_IPS;
      m.minAddr = src;
      m.maxAddr = src;
      m.minPort = range.minPort;
      m.maxPort = range.maxPort;
      this.conntrack.setupNat(ct, m, manip, now);
      this.conntrack.setMasqIf(ct, p.outIf!);
      return true;
    }
    this.conntrack.setupNat(ct, tg.range, manip, now);
    return true;
  }

  /** nf_nat_oif_changed: a MASQUERADE binding made for another device dies. */
  private oifChanged(hook: number, ct: number, p: NfPacketInfo): boolean {
    if (hook !== HOOK_POSTROUTING || p.ctDir !== 0 || !this.conntrack.masqOifChanged(ct, p.outIf)) return false;
    this.conntrack.destroy(ct);
    this.drop('nat_oif_changed');
    return true;
  }

  /** nf_nat_packet: applies the binding for this hook's manip type and direction. */
  private natPacket(p: NfPacketInfo, ct: number, manip: number): boolean {
    const table = this.conntrack;
    let bit = manip === MANIP_SRC ? IPS_SRC_NAT : IPS_DST_NAT;
    if (p.ctDir === 1) bit ^= IPS_NAT_MASK;
    if (!(table.status(ct) & bit)) return true;
    const other = 1 - p.ctDir;
    const icmp = p.proto === IPPROTO_ICMP;
    const addr = manip === MANIP_SRC ? table.tupleDst(ct, other) : table.tupleSrc(ct, other);
    const port = icmp || manip !== MANIP_SRC ? table.tupleSport(ct, other) : table.tupleDport(ct, other);
    const rec = this.cache.sw?.recording ?? null;
    // A port kept as it was (SNAT's usual case) is the packet's own when replayed: one rewrite for every flow.
    if (rec !== null) rec.rewrite(new NatRewrite(p.proto, manip, addr, port === natPort(p.buf!, p.l3Off, p.proto, manip) ? -1 : port));
    if (!manipIpv4(p.buf!, p.l3Off, p.l3Off + (p.l4Sum < 0 ? p.len : p.seg), p.proto, manip, addr, port)) return this.drop('nat_rewrite_truncated');
    const ports = p.proto === IPPROTO_TCP || p.proto === IPPROTO_UDP || icmp;
    if (manip === MANIP_SRC) {
      p.src = addr >>> 0;
      if (ports) p.sport = port;
    } else {
      p.dst = addr >>> 0;
      if (icmp) p.sport = port;
      else if (ports) p.dport = port;
    }
    return true;
  }

  /**
   * nf_nat_icmp_reply_translation: an ICMP error RELATED to a NATed connection
   * gets the quoted datagram translated back (inner header, ports or id, their
   * checksums), the ICMP checksum recomputed, then the outer address.
   */
  private icmpReplyTranslation(p: NfPacketInfo, ct: number, manip: number): boolean {
    const table = this.conntrack;
    const status = table.status(ct);
    const buf = p.buf!;
    const l3 = p.l3Off;
    const end = l3 + p.len;
    const hdrlen = (buf[l3]! & 15) * 4;
    const icmp = l3 + hdrlen;
    if (hdrlen + 8 + 20 > p.len) return this.drop('nat_icmp_translation');
    if (p.l4Sum < 0 ? !icmpChecksumOk(buf, icmp, p.len - hdrlen) : p.l4Sum !== 0xffff) return this.drop('nat_icmp_bad_checksum');
    if (buf[icmp] === 5) {
      // Redirects pass only for connections without NAT.
      if ((status & IPS_NAT_DONE_MASK) !== IPS_NAT_DONE_MASK || status & IPS_NAT_MASK) {
        return this.drop('nat_icmp_translation');
      }
    }
    let bit = manip === MANIP_SRC ? IPS_SRC_NAT : IPS_DST_NAT;
    if (p.ctDir === 1) bit ^= IPS_NAT_MASK;
    if (!(status & bit)) return true;
    // An ICMP error reassembled from fragments is not rewritten (its bytes are in several slots): not emulated.
    if (p.l4Sum >= 0) return this.drop('nat_icmp_translation');
    const other = 1 - p.ctDir;
    const inner = 1 - manip;
    const proto = table.tupleProto(ct);
    const innerAddr = inner === MANIP_SRC ? table.tupleSrc(ct, other) : table.tupleDst(ct, other);
    const innerPort = proto === IPPROTO_ICMP || inner === MANIP_SRC ? table.tupleSport(ct, other) : table.tupleDport(ct, other);
    if (!manipIpv4(buf, icmp + 8, end, proto, inner, innerAddr, innerPort)) return this.drop('nat_icmp_translation');
    icmpRecomputeChecksum(buf, icmp, p.len - hdrlen);
    const outerAddr = manip === MANIP_SRC ? table.tupleDst(ct, other) : table.tupleSrc(ct, other);
    if (!manipIpv4(buf, l3, end, IPPROTO_ICMP, manip, outerAddr, 0)) return this.drop('nat_icmp_translation');
    if (manip === MANIP_SRC) p.src = outerAddr >>> 0;
    else p.dst = outerAddr >>> 0;
    return true;
  }
}

/** The port (ICMP: echo id) manipIpv4 sets for `manip` in the IPv4 packet at `l3`; -1 if none. */
function natPort(buf: Uint8Array, l3: number, proto: number, manip: number): number {
  const l4 = l3 + (buf[l3]! & 15) * 4;
  const o = proto === IPPROTO_ICMP ? l4 + 4 : proto === IPPROTO_TCP || proto === IPPROTO_UDP ? (manip === MANIP_SRC ? l4 : l4 + 2) : -1;
  return o < 0 || o + 2 > buf.length ? -1 : (buf[o]! << 8) | buf[o + 1]!;
}

/**
 * A NAT rewrite as the path cache applies it: manipIpv4 on the output's
 * header, so checksums come out as the slow path's (`port` -1: the packet's own).
 */
class NatRewrite implements PathRewrite {
  constructor(private readonly proto: number, private readonly manip: number, private readonly addr: number, private readonly port: number) {}

  share(): string {
    return `nat ${this.proto} ${this.manip} ${this.addr} ${this.port}`;
  }

  rewrite(buf: Uint8Array, l3: number, end: number): void {
    const port = this.port >= 0 ? this.port : natPort(buf, l3, this.proto, this.manip);
    manipIpv4(buf, l3, end, this.proto, this.manip, this.addr, port);
  }
}
