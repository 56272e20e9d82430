// What the supervisor hands a datapath worker (workerData) and the words
// both sides read: everything is SharedArrayBuffers, so the supervisor keeps
// reading counters and control words while the worker runs, and after it dies.
import type { WarmUpReport } from '../topology/warm-up.js';
import type { MessagePort } from 'node:worker_threads';
import type { CtStoreBuffers } from '../netfilter/index.js';
import type { HandoffSpec } from '../datapath/handoff.js';
import type { LearnedState } from './learned-mirror.js';
import type { ConfigCommand } from './config-log.js';
import type { ReplayReport } from './worker-control.js';
import type { PingOpenRequest } from '../control/protocol.js';
import type { MonitorTool } from '../control/monitors.js';

/** One hand-off channel (src/datapath/handoff.ts): its rings and the consumer's slab. */
export type ChannelSpec = HandoffSpec;

/**
 * A TAP device at one of the worker's edge ports (`dpemu run --workers N`):
 * its rx thread reads frames straight into slots this worker lends on
 * `channel` (tag: the edge), and this worker writes the frames leaving at the
 * edge to `fd` itself (a descriptor is process-wide).
 */
export interface TapLinkInit {
  /** Index in topology.edges. */
  edge: number;
  fd: number;
  channel: ChannelSpec;
  /** The LINK words shared with the rx thread (src/io/tap-shared.ts). */
  link: SharedArrayBuffer;
  /** The TAP's cells in WorkerInit.stats (src/io/tap-shared.ts TapCells.tap and .e2e). */
  tapCell: number;
  e2eCell: number;
}

export interface WorkerInit {
  index: number;
  file: string;
  /** Nodes and gateways this worker builds and owns. */
  nodes: string[];
  gateways: string[];
  /** Every node and gateway -> owning worker. */
  owner: [string, number][];
  slots: number;
  slotSize: number;
  /** This worker's packet slab (the supervisor writes injected frames into lent slots of it). */
  slab: SharedArrayBuffer;
  ctl: SharedArrayBuffer;
  counters: SharedArrayBuffer;
  /** Frames that left at each edge (Float64 by index in topology.edges; an edge's owner alone writes its cell). */
  edgeFrames: SharedArrayBuffer;
  /** Fabric hand-offs, indexed by the other worker (null for itself). */
  inbound: (ChannelSpec | null)[];
  outbound: (ChannelSpec | null)[];
  /** Supervisor -> worker frames at edge ports (tag: edge index in topology.edges). */
  ingress: ChannelSpec;
  /** Worker -> supervisor frames leaving at edge ports, when collected. */
  egress: ChannelSpec;
  /** Copy frames leaving at edges to the supervisor (else only count them). */
  collect: boolean;
  /** Per slot of `slab`: when a frame in it was read from a TAP (HandoffSpec.stamps of the channels into this worker). */
  stamps: SharedArrayBuffer;
  /** TAPs at this worker's edges, and the daemon's Stats buffer their cells are in. */
  taps: TapLinkInit[];
  stats: SharedArrayBuffer | null;
  /** Int32 per edge (index in topology.edges): nonzero once its TAP is gone (frames for it are dropped, not written). */
  tapDown: SharedArrayBuffer;
  /** Conntrack tables to continue (conntrackKey(node, ns) -> buffers): those this worker's predecessor kept. */
  conntrack: [string, CtStoreBuffers][];
  /** This worker's learned-state journal (src/datapath/learned-journal.ts): kept by the supervisor across its restarts. */
  journal: SharedArrayBuffer;
  /** Learned entries to restore (src/workers/learned-mirror.ts): those its nodes' elements journaled before (a restart). */
  learned: LearnedState;
  /** Configuration writes to replay first (src/workers/config-log.ts): those its predecessor ran (a restart). */
  config: ConfigCommand[];
  /** Built, wait for op 'adopt' before forwarding: a reload starts the next datapath while the running one still owns the tables. */
  adoptFirst: boolean;
  /** Empty rounds before the worker sleeps on its bell (PartitionOptions.idleSpins). */
  idleSpins: number;
  /** SCHED_FIFO priority the thread takes at start (PartitionOptions.rtPriority); 0: none. */
  rtPriority: number;
  /** How long the worker runs its warm-up before it forwards (PartitionOptions.warmUpMs); 0: none. */
  warmUpMs: number;
  /** 'manual': emulated time stands at 0 (tests); else the supervisor's performance.timeOrigin. */
  clock: 'manual' | number;
  port: MessagePort;
}

// Control words, CTL_WORDS per worker at index*CTL_WORDS: 128 bytes apart, so
// a worker that goes to sleep and wakes often (the faster one) does not pull
// away the line its neighbour reads its STOP word from every round.
export const CTL_WORDS = 32;
export const CTL = {
  /** Set to 1 by the supervisor: leave the loop. */
  STOP: 0,
  /** Bumped (and notified) by whoever wants a sleeping worker to look again. */
  BELL: 1,
  /** 1 while the worker is (about to be) asleep on BELL. */
  SLEEPING: 2,
  /** 1 once the worker runs its loop. */
  RUNNING: 3,
  /**
   * Bumped by the supervisor after each request it posts: the worker looks at
   * its port when this moved (one load a round), so a request waits for the
   * end of the round, not for a quiet round, and is never slept on.
   */
  REQUESTS: 4,
} as const;

// Per-worker counters (Float64), WORKER_COUNTER_STRIDE per worker.
export const WORKER_COUNTERS = ['replayed', 'handoff_out', 'handoff_in', 'handoff_full', 'edge_out', 'edge_out_bytes', 'loops', 'idle_waits', 'busy_seconds', 'sleep_seconds'] as const;
export const WC = {
  REPLAYED: 0,
  HANDOFF_OUT: 1,
  HANDOFF_IN: 2,
  HANDOFF_FULL: 3,
  EDGE_OUT: 4,
  EDGE_OUT_BYTES: 5,
  LOOPS: 6,
  IDLE_WAITS: 7,
  /** Wall time of loop rounds that moved frames (its rate is the worker's utilisation). */
  BUSY_SECONDS: 8,
  /** Wall time asleep on the bell (the rest of the idle time is spent polling). */
  SLEEP_SECONDS: 9,
} as const;
/**
 * Cells from one worker's counters to the next: 128 bytes, so that two
 * workers' per-packet counts never share a cache line (nor an adjacent-line
 * prefetch pair) that both cores would pull back and forth.
 */
export const WORKER_COUNTER_STRIDE = 16;

/** Hops travel with a frame across workers in the tag's low bits (MAX_HOPS is 256). */
export const HOP_BITS = 9;
/**
 * A fabric tag is (trace << TRACE_SHIFT) | CSUM_GOOD? | (side << HOP_BITS) | hops: the
 * fabric side in the bits between (below CSUM_GOOD), and in the top bits (below the sign) the
 * trace a traced frame belongs to, 0 for every other frame, so a receiver
 * tells a traced frame by `tag >= TRACED`.
 */
export const TRACE_SHIFT = 20;
export const TRACED = 1 << TRACE_SHIFT;
/** The tag's bit below the trace: the sender found the frame's checksums good (handoff.ts checksumsGood, Packet.csumGood). */
export const CSUM_GOOD = TRACED >>> 1;
/** Trace ids run 1..MAX_TRACE_ID and then start over. */
export const MAX_TRACE_ID = (1 << (31 - TRACE_SHIFT)) - 1;

/** Requests over the worker's MessagePort, and their answers ({ id, result } or { id, error }). */
export type WorkerRequest =
  | { id: number; op: 'conntrack'; node: string; ns: string }
  | { id: number; op: 'drops' }
  | { id: number; op: 'replay'; edge: number; frames: Uint8Array[]; batch: number }
  | { id: number; op: 'replayStop' }
  /** The worker thread's CPU seconds so far (number), or null where the OS does not say. */
  | { id: number; op: 'cpu' }
  /** Worker `peer` was restarted: send to it on `outbound`, take its frames from `inbound` (the old ones are emptied and dropped). */
  | { id: number; op: 'rewire'; peer: number; outbound: ChannelSpec; inbound: ChannelSpec }
  /** `dpemu trace`: inject packet `packet` of the words, traced as trace `trace` (src/workers/worker-trace.ts); answers a TraceAnswer. */
  | { id: number; op: 'trace'; trace: number; argv: string[]; packet: number }
  /** Trace `trace` is over (answered, or given up): forget its tracer. */
  | { id: number; op: 'traceEnd'; trace: number }
  /** Run a control command family on this worker's nodes (src/workers/worker-control.ts); answers a ControlAnswer. */
  | { id: number; op: 'control'; family: string; argv: string[] }
  /** Bridge NODE BRIDGE's configured flows as commands (WorkerControl.flowSnapshot): a ConfigCommand[]. */
  | { id: number; op: 'flowSnapshot'; node: string; bridge: string }
  /** This worker's metrics as getMetricsAsJSON() gives them; sampleEvery turns latency sampling on first. */
  | { id: number; op: 'metrics'; flows: boolean; sampleEvery: number | null }
  /** Start capture `cap` at NODE:[NS:]IFACE or NODE:NS:any (answers a CaptureAnswer: what it listens on); its frames wait for the supervisor's polls. */
  | { id: number; op: 'capture'; cap: number; iface: string; filter: string; count: number; snaplen: number }
  /** Start conntrack -E `cap` with the conntrack command's words (answers an EventsAnswer); its lines wait for the supervisor's polls as a capture's frames. */
  | { id: number; op: 'conntrackEvents'; cap: number; argv: string[] }
  /** Start ip or bridge monitor `cap` with the tool's words (answers a ControlAnswer); its lines wait for the supervisor's polls as conntrack -E's. */
  | { id: number; op: 'monitor'; tool: MonitorTool; cap: number; argv: string[] }
  /** Open ping's socket `cap` (answers a PingAnswer); what it reads waits for the supervisor's polls as a capture's frames. */
  | { id: number; op: 'pingOpen'; cap: number; open: PingOpenRequest }
  /** Ping socket `cap` sends echo request `seq`. */
  | { id: number; op: 'pingSend'; cap: number; seq: number; ttl?: number; size?: number; to?: string }
  /** The frames (or conntrack -E lines, or ping's datagrams) capture `cap` took since the last poll (a CapturePoll). */
  | { id: number; op: 'capturePoll'; cap: number }
  | { id: number; op: 'captureStop'; cap: number }
  /** A reload replaces this datapath: journal the learned tables whole, answer the conntrack tables ([conntrackKey, buffers]) and forward nothing more (wait for STOP). */
  | { id: number; op: 'handover' }
  /** (WorkerInit.adoptFirst) continue these tables of its namespaces, restore these learned entries, then forward. */
  | { id: number; op: 'adopt'; tables: [string, CtStoreBuffers][]; learned: LearnedState };

/** Worker -> supervisor: the answer to request `id` (its result, or the error it threw). */
export interface WorkerAnswer {
  id: number;
  result?: unknown;
  error?: string;
}

/** Worker -> supervisor: the answers to control requests taken in one look at the port, in the order they ran. */
export interface WorkerAnswers {
  answers: WorkerAnswer[];
}

/** Worker -> supervisor, once it built its nodes (not with adoptFirst): what replaying WorkerInit.config did. */
export interface ReplayedMessage {
  replayed: ReplayReport;
}

/** Worker -> supervisor at start: why it could not take its SCHED_FIFO priority (it runs on as it was). */
export interface RealtimeMessage {
  rtError: string;
}

/** Worker -> supervisor at start: what its warm-up ran (src/topology/warm-up.ts). */
export interface WarmedUpMessage {
  warmedUp: WarmUpReport;
}

/** Worker -> supervisor, unasked: conntrack tables to keep for a successor (new ones, or moved by a grow). */
export interface KeptTables {
  tables: [string, CtStoreBuffers][];
}
