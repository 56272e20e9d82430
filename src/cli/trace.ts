// `dpemu trace`: build the topology, inject the given packets one after the
// other into the same emulator, and print every branch of every packet.
import { loadTopologyFile } from '../topology/loader.js';
import { formatError } from '../topology/errors.js';
import { buildEmulator, type Emulator } from '../topology/builder.js';
import { Tracer } from '../datapath/trace.js';
import { traceOutput, type TraceRun } from './trace-format.js';
import type { Port } from '../datapath/element.js';
import { parsePackets, UsageError, type MacDefaults, type TracePacket } from './packet-flags.js';

/** --in naming no port: where packets can enter (the file's edges), as tcpdump lists a node's interfaces. */
function noSuchPort(emu: Emulator, node: string, port: string): UsageError {
  const edges = emu.topology.edges.map((e) => `${e.port.node}:${e.port.port}`);
  return new UsageError(`--in ${node}:${port}: no such port in the topology (edge ports: ${edges.join(', ')}; any port of a node by name)`);
}

/**
 * MACs to use when the user gave IPs only: the host plugged into that edge
 * sends from its own MAC to its default gateway's, as its neighbour table
 * (the file's `neighbours:`) knows it.
 */
export function macDefaults(emu: Emulator) {
  return (node: string, port: string): MacDefaults => {
    if (!emu.findPort(node, port)) throw noSuchPort(emu, node, port);
    const edge = emu.topology.edges.find((e) => e.port.node === node && e.port.port === port);
    const host = edge?.host ? emu.topology.hosts.find((h) => h.name === edge.host) : undefined;
    if (!host) return { missing: 'no lab host plugged into it to take them from' };
    const gw = /^default via (\S+)/m.exec(host.routes?.text ?? '')?.[1];
    const gwMac = gw ? new RegExp(`^${gw.replace(/\./g, '\\.')}\\s.*lladdr (\\S+)`, 'm').exec(host.neighbours?.text ?? '')?.[1] : undefined;
    const missing = gwMac ? undefined : gw ? `lab host ${host.name} lists no neighbour entry for its gateway ${gw}` : `lab host ${host.name} has no default route`;
    return { srcMac: host.iface.mac, dstMac: gwMac, missing };
  };
}

/** Free edge ports let frames out (the trace shows where they leave) instead of dropping them. */
export function openEdges(emu: Emulator): void {
  const sink = { emit: () => {} };
  for (const e of emu.topology.edges) {
    const p = emu.engine.element(e.port.node, e.port.element)?.port(e.port.port);
    if (p && !p.peer && !p.edge) emu.engine.attachEdge(p, sink);
  }
}

/** Each packet's port, every one resolved before any packet is injected. */
export function resolvePorts(emu: Emulator, packets: readonly TracePacket[]): Port[] {
  return packets.map((p) => {
    const port = emu.findPort(p.node, p.port);
    if (!port) throw noSuchPort(emu, p.node, p.port);
    return port;
  });
}

/** Inject `frame` at `port` with `tracer` attached; it runs to completion (in this engine) before this returns. */
export function injectTraced(emu: Emulator, port: Port, frame: Uint8Array, tracer: Tracer): void {
  const pkt = emu.engine.pool.allocFrom(frame);
  if (!pkt) throw new UsageError(`frame of ${frame.length} bytes does not fit a packet slot`);
  emu.engine.tracer = tracer;
  try {
    emu.engine.inject(pkt, port);
  } finally {
    emu.engine.tracer = null;
  }
}

/** Inject packets one at a time into one emulator (so replies see their requests' state). */
export function runTrace(emu: Emulator, packets: readonly TracePacket[]): TraceRun[] {
  const ports = resolvePorts(emu, packets);
  return packets.map((p, i) => {
    const tracer = new Tracer();
    injectTraced(emu, ports[i]!, p.frame, tracer);
    return { at: `${p.node}:${p.port}`, events: tracer.events };
  });
}

export function traceCommand(config: string, argv: string[], opts: { json: boolean; hosts: boolean }): number {
  const loaded = loadTopologyFile(config);
  if (!loaded.ok) {
    for (const e of loaded.errors) console.error(formatError(e));
    return 1;
  }
  const emu = buildEmulator(loaded.topology, { emulateHosts: opts.hosts });
  openEdges(emu);
  try {
    process.stdout.write(traceOutput(runTrace(emu, parsePackets(argv, macDefaults(emu))), opts.json));
    return 0;
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`dpemu trace: ${e.message}`);
      return 2;
    }
    throw e;
  }
}
