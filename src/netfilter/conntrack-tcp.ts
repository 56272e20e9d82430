// TCP connection tracking, after net/netfilter/nf_conntrack_proto_tcp.c
// (Linux 6.18.y): the state table, window tracking (whose verdicts be_liberal
// turns into acceptance, but which still drives the unacknowledged-data and
// retransmission timeouts), reopen from TIME_WAIT, out-of-window FIN/RST
// handling (nf_tcp_handle_invalid), and the timeout choice. Checked segment by
// segment against the kernel by test/e2e/conntrack-tcp-kernel.test.ts.

import {
  P_LAST_DIR, P_LAST_INDEX, P_LAST_WSCALE, P_RETRANS, P_STATE, SEEN_END, SEEN_FLAGS, SEEN_MAXACK, SEEN_MAXEND, SEEN_MAXWIN,
  SEEN_SCALE, SEEN_WORDS, STRIDE, T_LAST_ACK, T_LAST_END, T_LAST_FLAGS, T_LAST_SEQ, T_LAST_WIN, T_PACKED, T_SEEN, T_WORDS,
  W_HAS_TCP, W_STATUS, W_TCP,
} from './conntrack-store.js';
import { IPS_ASSURED, IPS_FIXED_TIMEOUT, IPS_SEEN_REPLY, TCP_ACK, TCP_CWR, TCP_ECE, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN, TCP_URG } from './constants.js';

export const TCP_NONE = 0;
export const TCP_SYN_SENT = 1;
export const TCP_SYN_RECV = 2;
export const TCP_ESTABLISHED = 3;
export const TCP_FIN_WAIT = 4;
export const TCP_CLOSE_WAIT = 5;
export const TCP_LAST_ACK = 6;
export const TCP_TIME_WAIT = 7;
export const TCP_CLOSE = 8;
export const TCP_SYN_SENT2 = 9;
const sIV = 10; // TCP_CONNTRACK_MAX: invalid
const sIG = 11; // TCP_CONNTRACK_IGNORE

export const TCP_STATE_NAMES: readonly string[] = [
  'NONE', 'SYN_SENT', 'SYN_RECV', 'ESTABLISHED', 'FIN_WAIT', 'CLOSE_WAIT', 'LAST_ACK', 'TIME_WAIT', 'CLOSE', 'SYN_SENT2',
];

const SYN_SET = 0, SYNACK_SET = 1, FIN_SET = 2, ACK_SET = 3, RST_SET = 4, NONE_SET = 5;

const sSS = TCP_SYN_SENT, sSR = TCP_SYN_RECV, sES = TCP_ESTABLISHED, sFW = TCP_FIN_WAIT;
const sCW = TCP_CLOSE_WAIT, sLA = TCP_LAST_ACK, sTW = TCP_TIME_WAIT, sCL = TCP_CLOSE, sS2 = TCP_SYN_SENT2;

/** tcp_conntracks[dir][index][state]; columns sNO sSS sSR sES sFW sCW sLA sTW sCL sS2. */
const TABLE: readonly (readonly (readonly number[])[])[] = [
  [ // ORIGINAL
    /* syn */ [sSS, sSS, sIG, sIG, sIG, sIG, sIG, sSS, sSS, sS2],
    /* synack */ [sIV, sIV, sSR, sIV, sIV, sIV, sIV, sIV, sIV, sSR],
    /* fin */ [sIV, sIV, sFW, sFW, sLA, sLA, sLA, sTW, sCL, sIV],
    /* ack */ [sES, sIV, sES, sES, sCW, sCW, sTW, sTW, sCL, sIV],
    /* rst */ [sIV, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL],
    /* none */ [sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV],
  ],
  [ // REPLY
    /* syn */ [sIV, sS2, sIV, sIV, sIV, sIV, sIV, sSS, sIV, sS2],
    /* synack */ [sIV, sSR, sIG, sIG, sIG, sIG, sIG, sIG, sIG, sSR],
    /* fin */ [sIV, sIV, sFW, sFW, sLA, sLA, sLA, sTW, sCL, sIV],
    /* ack */ [sIV, sIG, sSR, sES, sCW, sCW, sTW, sTW, sCL, sIG],
    /* rst */ [sIV, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL],
    /* none */ [sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV],
  ],
];

// ip_ct_tcp_state flags
const F_WINDOW_SCALE = 0x01;
const F_SACK_PERM = 0x02;
const F_CLOSE_INIT = 0x04;
const F_BE_LIBERAL = 0x08;
const F_DATA_UNACKNOWLEDGED = 0x10;
const F_MAXACK_SET = 0x20;
const EXP_CHALLENGE_ACK = 0x40;
const SIMULTANEOUS_OPEN = 0x80;

/**
 * The flags conntrack-tools (1.4.x, libct_proto_tcp.c final_check) sends, as
 * value and mask, for both directions whenever -p tcp is given to -I or -U:
 * window tracking off (be liberal) for entries user space touched.
 */
export const TCP_FLAGS_FROM_TOOL = F_BE_LIBERAL | F_SACK_PERM;

/** Those flags for a request that sets the TCP state `state` too: from TIME_WAIT on, CLOSE_INIT (a new SYN may reopen it). */
export function tcpFlagsFromTool(state: number | undefined): number {
  return TCP_FLAGS_FROM_TOOL | (state !== undefined && state >= TCP_TIME_WAIT ? F_CLOSE_INIT : 0);
}

/** Per-direction window state (struct ip_ct_tcp_state): a view of its words in a record. */
export class TcpSeen {
  /** Index of the first word in `r`. */
  b = 0;
  constructor(private readonly r: Uint32Array) {}
  get tdEnd(): number { return this.r[this.b + SEEN_END]!; }
  set tdEnd(v: number) { this.r[this.b + SEEN_END] = v; }
  get tdMaxend(): number { return this.r[this.b + SEEN_MAXEND]!; }
  set tdMaxend(v: number) { this.r[this.b + SEEN_MAXEND] = v; }
  get tdMaxwin(): number { return this.r[this.b + SEEN_MAXWIN]!; }
  set tdMaxwin(v: number) { this.r[this.b + SEEN_MAXWIN] = v; }
  get tdMaxack(): number { return this.r[this.b + SEEN_MAXACK]!; }
  set tdMaxack(v: number) { this.r[this.b + SEEN_MAXACK] = v; }
  get tdScale(): number { return this.r[this.b + SEEN_SCALE]!; }
  set tdScale(v: number) { this.r[this.b + SEEN_SCALE] = v; }
  get flags(): number { return this.r[this.b + SEEN_FLAGS]!; }
  set flags(v: number) { this.r[this.b + SEEN_FLAGS] = v; }
  reset(): void {
    this.tdEnd = 0; this.tdMaxend = 0; this.tdMaxwin = 0; this.tdMaxack = 0; this.tdScale = 0;
    this.flags &= F_BE_LIBERAL;
  }
}

/**
 * struct ip_ct_tcp plus the entry's status bits: a view of one record of a
 * conntrack store, moved to another entry with at(). One per table, reused.
 */
export class TcpTrack {
  private b = 0;
  private sb = 0;
  readonly seen: [TcpSeen, TcpSeen];
  constructor(private readonly r: Uint32Array) {
    this.seen = [new TcpSeen(r), new TcpSeen(r)];
  }

  at(slot: number): this {
    this.sb = slot * STRIDE;
    this.b = this.sb + W_TCP;
    this.seen[0].b = this.b + T_SEEN;
    this.seen[1].b = this.b + T_SEEN + SEEN_WORDS;
    return this;
  }

  /** Starts the tracker afresh on this entry. */
  init(): void {
    this.r.fill(0, this.b, this.b + T_WORDS);
    this.r[this.sb + W_HAS_TCP] = 1;
  }

  get status(): number { return this.r[this.sb + W_STATUS]!; }
  set status(v: number) { this.r[this.sb + W_STATUS] = v; }
  private get(shift: number, mask: number): number { return (this.r[this.b + T_PACKED]! >>> shift) & mask; }
  private put(shift: number, mask: number, v: number): void {
    const o = this.b + T_PACKED;
    this.r[o] = (this.r[o]! & ~(mask << shift)) | ((v & mask) << shift);
  }
  get state(): number { return this.get(P_STATE, 0xf); }
  set state(v: number) { this.put(P_STATE, 0xf, v); }
  get lastDir(): number { return this.get(P_LAST_DIR, 1); }
  set lastDir(v: number) { this.put(P_LAST_DIR, 1, v); }
  get lastIndex(): number { return this.get(P_LAST_INDEX, 7); }
  set lastIndex(v: number) { this.put(P_LAST_INDEX, 7, v); }
  get lastSeq(): number { return this.r[this.b + T_LAST_SEQ]!; }
  set lastSeq(v: number) { this.r[this.b + T_LAST_SEQ] = v; }
  get lastAck(): number { return this.r[this.b + T_LAST_ACK]!; }
  set lastAck(v: number) { this.r[this.b + T_LAST_ACK] = v; }
  get lastEnd(): number { return this.r[this.b + T_LAST_END]!; }
  set lastEnd(v: number) { this.r[this.b + T_LAST_END] = v; }
  get lastWin(): number { return this.r[this.b + T_LAST_WIN]!; }
  set lastWin(v: number) { this.r[this.b + T_LAST_WIN] = v; }
  get lastWscale(): number { return this.get(P_LAST_WSCALE, 0xf); }
  set lastWscale(v: number) { this.put(P_LAST_WSCALE, 0xf, v); }
  get lastFlags(): number { return this.r[this.b + T_LAST_FLAGS]!; }
  set lastFlags(v: number) { this.r[this.b + T_LAST_FLAGS] = v; }
  get retrans(): number { return this.r[this.b + T_PACKED]! >>> P_RETRANS; }
  set retrans(v: number) { this.put(P_RETRANS, 0xfffff, Math.min(v, 0xfffff)); }
}

/** Options seen on an ignored SYN, parsed aside (tcp_options into a scratch state). */
const probe = new TcpSeen(new Uint32Array(SEEN_WORDS));

/** Timeouts in seconds (net.netfilter.nf_conntrack_tcp_timeout_*). */
export interface TcpTimeouts {
  syn_sent: number; syn_recv: number; established: number; fin_wait: number; close_wait: number;
  last_ack: number; time_wait: number; close: number; syn_sent2: number; max_retrans: number; unacknowledged: number;
}

export const TCP_DEFAULT_TIMEOUTS: Readonly<TcpTimeouts> = {
  syn_sent: 120, syn_recv: 60, established: 432000, fin_wait: 120, close_wait: 60,
  last_ack: 30, time_wait: 120, close: 10, syn_sent2: 120, max_retrans: 300, unacknowledged: 300,
};

export interface TcpSettings {
  beLiberal: boolean;
  loose: boolean;
  maxRetrans: number;
  /** Seconds, indexed by state (0 unused). */
  byState: number[];
  retransTimeout: number;
  unackTimeout: number;
}

export function tcpSettings(t: TcpTimeouts, beLiberal: boolean, loose: boolean, maxRetrans: number): TcpSettings {
  return {
    beLiberal, loose, maxRetrans,
    byState: [0, t.syn_sent, t.syn_recv, t.established, t.fin_wait, t.close_wait, t.last_ack, t.time_wait, t.close, t.syn_sent2],
    retransTimeout: t.max_retrans,
    unackTimeout: t.unacknowledged,
  };
}

/** The packet fields tcp tracking reads, decoded once. */
export interface TcpSegment {
  seq: number;
  ack: number;
  win: number;
  flags: number;
  /** Offset of the TCP header in buf and its length. */
  off: number;
  doff: number;
  /** seq + payload + SYN + FIN (segment_seq_plus_len). */
  end: number;
  buf: Uint8Array;
}

/** Result codes of tcpPacket. */
export const TCP_ACCEPT = 1;
export const TCP_INVALID = -1;
/** The entry must die and the packet be looked up again (reopened connection). */
export const TCP_REPEAT = -2;

function before(a: number, b: number): boolean {
  return ((a - b) | 0) < 0;
}
function after(a: number, b: number): boolean {
  return ((b - a) | 0) < 0;
}
const u32 = (n: number) => n >>> 0;

export function conntrackIndex(flags: number): number {
  if (flags & TCP_RST) return RST_SET;
  if (flags & TCP_SYN) return flags & TCP_ACK ? SYNACK_SET : SYN_SET;
  if (flags & TCP_FIN) return FIN_SET;
  if (flags & TCP_ACK) return ACK_SET;
  return NONE_SET;
}

const VALID_FLAGS = new Set([
  TCP_SYN, TCP_SYN | TCP_URG, TCP_SYN | TCP_ACK, TCP_RST, TCP_RST | TCP_ACK,
  TCP_FIN | TCP_ACK, TCP_FIN | TCP_ACK | TCP_URG, TCP_ACK, TCP_ACK | TCP_URG,
]);

/** tcp_error's structural checks; returns the reason or null. */
export function tcpHeaderError(buf: Uint8Array, off: number, l4len: number): string | null {
  if (l4len < 20) return 'truncated packet';
  const doff = (buf[off + 12]! >> 4) * 4;
  if (doff < 20 || l4len < doff) return 'truncated packet';
  const f = buf[off + 13]! & ~(TCP_ECE | TCP_CWR | TCP_PSH);
  if (!VALID_FLAGS.has(f)) return 'invalid tcp flag combination';
  return null;
}

export function decodeSegment(seg: TcpSegment, buf: Uint8Array, off: number, l4len: number): void {
  seg.buf = buf;
  seg.off = off;
  seg.seq = ((buf[off + 4]! << 24) | (buf[off + 5]! << 16) | (buf[off + 6]! << 8) | buf[off + 7]!) >>> 0;
  seg.ack = ((buf[off + 8]! << 24) | (buf[off + 9]! << 16) | (buf[off + 10]! << 8) | buf[off + 11]!) >>> 0;
  seg.doff = (buf[off + 12]! >> 4) * 4;
  seg.flags = buf[off + 13]!;
  seg.win = (buf[off + 14]! << 8) | buf[off + 15]!;
  seg.end = u32(seg.seq + (l4len - seg.doff) + (seg.flags & TCP_SYN ? 1 : 0) + (seg.flags & TCP_FIN ? 1 : 0));
}

/** tcp_options: window scale and SACK-permitted. */
function tcpOptions(seg: TcpSegment, st: TcpSeen): void {
  let len = seg.doff - 20;
  if (len <= 0) return;
  const b = seg.buf;
  let p = seg.off + 20;
  st.tdScale = 0;
  st.flags &= F_BE_LIBERAL;
  while (len > 0) {
    const op = b[p++]!;
    if (op === 0) return;
    if (op === 1) { len--; continue; }
    if (len < 2) return;
    const size = b[p++]!;
    if (size < 2 || size > len) return;
    if (op === 4 && size === 2) st.flags |= F_SACK_PERM;
    else if (op === 3 && size === 3) {
      st.tdScale = Math.min(b[p]!, 14);
      st.flags |= F_WINDOW_SCALE;
    }
    p += size - 2;
    len -= size;
  }
}

/** tcp_sack: the highest right edge of the SACK blocks, or `sack` unchanged. */
function tcpSack(seg: TcpSegment, sack: number): number {
  let len = seg.doff - 20;
  if (len <= 0) return sack;
  const b = seg.buf;
  let p = seg.off + 20;
  while (len > 0) {
    const op = b[p++]!;
    if (op === 0) return sack;
    if (op === 1) { len--; continue; }
    if (len < 2) return sack;
    const size = b[p++]!;
    if (size < 2 || size > len) return sack;
    if (op === 5 && size >= 10 && (size - 2) % 8 === 0) {
      for (let i = 0; i < size - 2; i += 8) {
        const q = p + i + 4;
        const edge = ((b[q]! << 24) | (b[q + 1]! << 16) | (b[q + 2]! << 8) | b[q + 3]!) >>> 0;
        if (after(edge, sack)) sack = edge;
      }
      return sack;
    }
    p += size - 2;
    len -= size;
  }
  return sack;
}

function initSender(sender: TcpSeen, receiver: TcpSeen, seg: TcpSegment, dir: number): void {
  sender.tdEnd = seg.end;
  sender.tdMaxend = seg.end;
  sender.tdMaxwin = seg.win === 0 ? 1 : seg.win;
  tcpOptions(seg, sender);
  if (dir === 1 && !(sender.flags & F_WINDOW_SCALE && receiver.flags & F_WINDOW_SCALE)) {
    sender.tdScale = 0;
    receiver.tdScale = 0;
  }
}

const W_IGNORE = 0, W_INVALID = 1, W_ACCEPT = 2;

function maxAckWindow(s: TcpSeen): number {
  return s.tdMaxwin > 66000 ? s.tdMaxwin : 66000;
}

function tcpInWindow(tr: TcpTrack, dir: number, index: number, seg: TcpSegment, liberal: boolean): number {
  const sender = tr.seen[dir];
  const receiver = tr.seen[1 - dir]!;
  // be_liberal turns every window verdict into acceptance (nf_tcp_log_invalid).
  const lib = liberal || (sender.flags & F_BE_LIBERAL) !== 0;
  let seq = seg.seq;
  let ack = seg.ack;
  let sack = ack;
  let win = seg.win;
  let end = seg.end;
  const syn = (seg.flags & TCP_SYN) !== 0;
  const hasAck = (seg.flags & TCP_ACK) !== 0;
  if (receiver.flags & F_SACK_PERM) sack = tcpSack(seg, sack);

  if (sender.tdMaxwin === 0) {
    if (syn) {
      initSender(sender, receiver, seg, dir);
      if (!hasAck) return W_ACCEPT; // simultaneous open
    } else {
      sender.tdEnd = end;
      const swin = u32(win << sender.tdScale);
      sender.tdMaxwin = swin === 0 ? 1 : swin;
      sender.tdMaxend = u32(end + sender.tdMaxwin);
      if (receiver.tdMaxwin === 0) {
        receiver.tdEnd = receiver.tdMaxend = sack;
      } else if (sack === u32(receiver.tdEnd + 1)) {
        receiver.tdEnd = u32(receiver.tdEnd + 1);
      }
    }
  } else if (syn && after(end, sender.tdEnd) && (tr.state === TCP_SYN_SENT || tr.state === TCP_SYN_RECV)) {
    initSender(sender, receiver, seg, dir);
    if (dir === 1 && !hasAck) return W_ACCEPT;
  }

  if (!hasAck) {
    ack = sack = receiver.tdEnd;
  } else if ((seg.flags & (TCP_ACK | TCP_RST)) === (TCP_ACK | TCP_RST) && ack === 0) {
    ack = sack = receiver.tdEnd;
  }
  if (seg.flags & TCP_RST && seq === 0 && tr.state === TCP_SYN_SENT) seq = end = sender.tdEnd;

  const seqOk = before(seq, u32(sender.tdMaxend + 1));
  if (!seqOk) {
    const overshot = u32(end - sender.tdMaxend + 1);
    const ackOk = after(sack, u32(receiver.tdEnd - maxAckWindow(sender) - 1));
    const inRecvWin = receiver.tdMaxwin !== 0 && after(end, u32(sender.tdEnd - receiver.tdMaxwin - 1));
    if (inRecvWin && ackOk && overshot <= receiver.tdMaxwin && before(sack, u32(receiver.tdEnd + 1))) {
      sender.tdEnd = end;
      sender.flags |= F_DATA_UNACKNOWLEDGED;
      return lib ? W_ACCEPT : W_IGNORE;
    }
    return lib ? W_ACCEPT : W_INVALID;
  }
  if (!before(sack, u32(receiver.tdEnd + 1))) return lib ? W_ACCEPT : W_INVALID;
  const inRecvWin = receiver.tdMaxwin === 0 || after(end, u32(sender.tdEnd - receiver.tdMaxwin - 1));
  if (!inRecvWin) return lib ? W_ACCEPT : W_IGNORE;
  if (!after(sack, u32(receiver.tdEnd - maxAckWindow(sender) - 1))) return lib ? W_ACCEPT : W_IGNORE;

  if (!syn) win = u32(win << sender.tdScale);
  const swin = u32(win + (sack - ack));
  if (sender.tdMaxwin < swin) sender.tdMaxwin = swin;
  if (after(end, sender.tdEnd)) {
    sender.tdEnd = end;
    sender.flags |= F_DATA_UNACKNOWLEDGED;
  }
  if (hasAck) {
    if (!(sender.flags & F_MAXACK_SET)) {
      sender.tdMaxack = ack;
      sender.flags |= F_MAXACK_SET;
    } else if (after(ack, sender.tdMaxack)) sender.tdMaxack = ack;
  }
  if (receiver.tdMaxwin !== 0 && after(end, sender.tdMaxend)) receiver.tdMaxwin = u32(receiver.tdMaxwin + (end - sender.tdMaxend));
  if (after(u32(sack + win), u32(receiver.tdMaxend - 1))) {
    receiver.tdMaxend = u32(sack + win);
    if (win === 0) receiver.tdMaxend = u32(receiver.tdMaxend + 1);
  }
  if (ack === receiver.tdEnd) receiver.flags &= ~F_DATA_UNACKNOWLEDGED;

  if (index === ACK_SET) {
    if (tr.lastDir === dir && tr.lastSeq === seq && tr.lastAck === ack && tr.lastEnd === end && tr.lastWin === seg.win) {
      tr.retrans++;
    } else {
      tr.lastDir = dir;
      tr.lastSeq = seq;
      tr.lastAck = ack;
      tr.lastEnd = end;
      tr.lastWin = seg.win;
      tr.retrans = 0;
    }
  }
  return W_ACCEPT;
}

/**
 * Whether every window verdict of tcpInWindow for a segment `dir` sends is
 * acceptance (be_liberal: the setting, or the sender's flag, set for a
 * connection picked up mid-stream or by conntrack -U): then an ACK segment
 * (no SYN, FIN or RST) of an ESTABLISHED, replied and assured entry is
 * accepted, stays ESTABLISHED and refreshes it, whatever its numbers.
 */
export function tcpLiberal(tr: TcpTrack, dir: number, s: TcpSettings): boolean {
  return s.beLiberal || (tr.seen[dir]!.flags & F_BE_LIBERAL) !== 0;
}

/** tcp_new: can this packet create an entry? Initialises the tracker when so. */
export function tcpNew(tr: TcpTrack, seg: TcpSegment, s: TcpSettings): boolean {
  const st = TABLE[0]![conntrackIndex(seg.flags)]![TCP_NONE]!;
  if (st >= sIV) return false;
  if (st !== TCP_SYN_SENT && !s.loose) return false;
  tr.init();
  const s0 = tr.seen[0];
  if (st === TCP_SYN_SENT) {
    s0.tdEnd = seg.end;
    s0.tdMaxwin = seg.win === 0 ? 1 : seg.win;
    s0.tdMaxend = s0.tdEnd;
    tcpOptions(seg, s0);
  } else {
    s0.tdEnd = seg.end;
    s0.tdMaxwin = seg.win === 0 ? 1 : seg.win;
    s0.tdMaxend = u32(s0.tdEnd + s0.tdMaxwin);
    s0.flags = tr.seen[1].flags = F_SACK_PERM | F_BE_LIBERAL;
  }
  tr.lastIndex = NONE_SET;
  return true;
}

export function tcpCanEarlyDrop(tr: TcpTrack): boolean {
  const s = tr.state;
  return s === TCP_FIN_WAIT || s === TCP_LAST_ACK || s === TCP_TIME_WAIT || s === TCP_CLOSE || s === TCP_CLOSE_WAIT;
}

/** What tcpPacket decided beyond its return code. */
export interface TcpOutcome {
  /**
   * Seconds to refresh the timeout with; -1 to leave the timeout alone. With
   * TCP_INVALID: seconds to lower a timeout of 120 s or more to (-1: none).
   */
  timeout: number;
  /** Delete the entry after accounting (RST with no reply seen). */
  kill: boolean;
  /** The reason when the packet is INVALID or ignored. */
  reason: string | null;
}

/** nf_conntrack_tcp_packet. `confirmed`/`status` describe the entry before this packet. */
export function tcpPacket(tr: TcpTrack, dir: number, seg: TcpSegment, s: TcpSettings, out: TcpOutcome): number {
  out.timeout = -1;
  out.kill = false;
  out.reason = null;
  const oldState = tr.state;
  const index = conntrackIndex(seg.flags);
  let newState = TABLE[dir]![index]![oldState]!;
  let old = oldState;

  let ignored = newState === sIG;
  if (newState === TCP_SYN_SENT && oldState >= TCP_TIME_WAIT) {
    if ((tr.seen[dir]!.flags | tr.seen[1 - dir]!.flags) & F_CLOSE_INIT || (tr.lastDir === dir && tr.lastIndex === RST_SET)) {
      // Reopening a closed or aborted connection: kill it and look up again.
      return TCP_REPEAT;
    }
    ignored = true;
  }
  if (ignored) {
    if (index === SYNACK_SET && tr.lastIndex === SYN_SET && tr.lastDir !== dir && seg.ack === tr.lastEnd) {
      // A SYN/ACK to a SYN we ignored: get in sync from what we noted then.
      old = TCP_SYN_SENT;
      newState = TCP_SYN_RECV;
      const ld = tr.seen[tr.lastDir]!;
      ld.tdEnd = tr.lastEnd;
      ld.tdMaxend = tr.lastEnd;
      ld.tdMaxwin = tr.lastWin === 0 ? 1 : tr.lastWin;
      ld.tdScale = tr.lastWscale;
      tr.lastFlags &= ~EXP_CHALLENGE_ACK;
      ld.flags = tr.lastFlags;
      tr.seen[dir]!.reset();
    } else {
      tr.lastIndex = index;
      tr.lastDir = dir;
      tr.lastSeq = seg.seq;
      tr.lastEnd = seg.end;
      tr.lastWin = seg.win;
      if (index === SYN_SET && dir === 0) {
        probe.flags = 0;
        tr.lastFlags = 0;
        tr.lastWscale = 0;
        tcpOptions(seg, probe);
        if (probe.flags & F_WINDOW_SCALE) {
          tr.lastFlags |= F_WINDOW_SCALE;
          tr.lastWscale = probe.tdScale;
        }
        if (probe.flags & F_SACK_PERM) tr.lastFlags |= F_SACK_PERM;
        if (oldState === TCP_LAST_ACK) tr.lastFlags |= EXP_CHALLENGE_ACK;
      }
      if (oldState === TCP_SYN_SENT && index === ACK_SET && dir === 1) tr.lastAck = seg.ack;
      out.reason = `packet (index ${index}) in dir ${dir} ignored, state ${TCP_STATE_NAMES[oldState]}`;
      return TCP_ACCEPT;
    }
  } else switch (newState) {
    case sIV:
      out.reason = `packet (index ${index}) in dir ${dir} invalid, state ${TCP_STATE_NAMES[oldState]}`;
      return TCP_INVALID;
    case TCP_TIME_WAIT:
      if (oldState === TCP_LAST_ACK && index === ACK_SET && tr.lastDir !== dir && tr.lastIndex === SYN_SET &&
        tr.lastFlags & EXP_CHALLENGE_ACK) {
        tr.lastFlags &= ~EXP_CHALLENGE_ACK;
        out.reason = 'challenge-ack ignored';
        return TCP_ACCEPT;
      }
      break;
    case TCP_SYN_SENT2:
      tr.lastFlags |= SIMULTANEOUS_OPEN;
      break;
    case TCP_SYN_RECV:
      if (dir === 1 && index === ACK_SET && tr.lastFlags & SIMULTANEOUS_OPEN) newState = TCP_ESTABLISHED;
      break;
    case TCP_CLOSE: {
      if (index !== RST_SET) break;
      if (tcpCanEarlyDrop(tr)) return finish(tr, dir, index, old, newState, seg, s, out);
      const other = tr.seen[1 - dir]!;
      if (other.flags & F_MAXACK_SET && tr.lastIndex !== SYN_SET) {
        const established = tr.state === TCP_ESTABLISHED && (tr.status & IPS_ASSURED) !== 0;
        // Most likely the answer to a SYN we let through.
        if (seg.seq === 0 && !established) break;
        if (before(seg.seq, other.tdMaxack)) {
          out.reason = 'invalid rst';
          return TCP_INVALID;
        }
        if (!established || seg.seq === other.tdMaxack) break;
        // Part of a train: data then RST at its end.
        if (tr.lastIndex === ACK_SET && tr.lastDir === dir && seg.seq === tr.lastEnd) break;
        newState = oldState; // keep the state for a possible challenge ACK
      }
      // The RST answers a SYN noted from the other side (its direction checked since
      // "tcp: do not force CLOSE on invalid-seq RST without direction check", 2026, in 6.18.y).
      if ((((tr.status & IPS_SEEN_REPLY) !== 0 && tr.lastIndex === SYN_SET && tr.lastDir !== dir) ||
        ((tr.status & IPS_ASSURED) === 0 && tr.lastIndex === ACK_SET)) && seg.ack === tr.lastEnd) {
        return finish(tr, dir, index, old, newState, seg, s, out);
      }
      if (oldState === TCP_SYN_SENT && tr.lastIndex === ACK_SET && tr.lastDir === 1 && seg.seq === tr.lastAck) {
        return finish(tr, dir, index, old, newState, seg, s, out);
      }
      break;
    }
    default:
      break;
  }

  const res = tcpInWindow(tr, dir, index, seg, s.beLiberal);
  if (res === W_IGNORE) {
    out.reason = 'out of window, ignored';
    return TCP_ACCEPT;
  }
  if (res === W_INVALID) {
    out.reason = 'out of window';
    handleInvalid(tr, dir, index, s, out);
    return TCP_INVALID;
  }
  return finish(tr, dir, index, old, newState, seg, s, out);
}

/**
 * nf_tcp_handle_invalid (after 6.1): an out-of-window FIN or RST on an
 * assured entry is noted as the last packet; one answering the other side's
 * noted FIN or RST shortens the timeout to the unacknowledged one, so an
 * entry out of sync with its ends does not linger ESTABLISHED.
 */
function handleInvalid(tr: TcpTrack, dir: number, index: number, s: TcpSettings, out: TcpOutcome): void {
  if ((tr.status & (IPS_ASSURED | IPS_FIXED_TIMEOUT)) !== IPS_ASSURED || (index !== RST_SET && index !== FIN_SET)) return;
  const li = tr.lastIndex;
  if (tr.lastDir !== dir && (li === FIN_SET || li === RST_SET)) out.timeout = s.unackTimeout;
  else {
    tr.lastIndex = index;
    tr.lastDir = dir;
  }
}

function finish(tr: TcpTrack, dir: number, index: number, oldState: number, newState: number,
  seg: TcpSegment, s: TcpSettings, out: TcpOutcome): number {
  tr.lastIndex = index;
  tr.lastDir = dir;
  tr.state = newState;
  if (oldState !== newState && newState === TCP_FIN_WAIT) tr.seen[dir]!.flags |= F_CLOSE_INIT;

  const t = s.byState;
  let timeout: number;
  if (tr.retrans >= s.maxRetrans && t[newState]! > s.retransTimeout) timeout = s.retransTimeout;
  else if (index === RST_SET) timeout = t[TCP_CLOSE]!;
  else if ((tr.seen[0].flags | tr.seen[1].flags) & F_DATA_UNACKNOWLEDGED && t[newState]! > s.unackTimeout) timeout = s.unackTimeout;
  else if (tr.lastWin === 0 && t[newState]! > s.retransTimeout) timeout = s.retransTimeout;
  else timeout = t[newState]!;

  if (!(tr.status & IPS_SEEN_REPLY)) {
    if (seg.flags & TCP_RST) {
      out.kill = true;
      out.timeout = timeout;
      return TCP_ACCEPT;
    }
    // Do not renew the timeout on SYN retransmits.
    if (index === SYN_SET && oldState === TCP_SYN_SENT) return TCP_ACCEPT;
    if (newState === TCP_ESTABLISHED && timeout > s.unackTimeout) timeout = s.unackTimeout;
  } else if (!(tr.status & IPS_ASSURED) && (oldState === TCP_SYN_RECV || oldState === TCP_ESTABLISHED) && newState === TCP_ESTABLISHED) {
    tr.status |= IPS_ASSURED;
  }
  out.timeout = timeout;
  return TCP_ACCEPT;
}
