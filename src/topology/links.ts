// Names and links of the whole topology: every port resolves to exactly one
// element, and every port is linked once (veth, patch, internal, tunnel,
// wire) or is an edge. Makes the fabric's sides, the edges and the hosts.
import type { ElementKind } from '../datapath/element.js';
import type { RawEdge, RawFile } from './raw.js';
import type { Edge, Fabric, FabricSide, Gateway, Host, Link, Loc, Node, PortRef } from './model.js';
import { assembleInterface, mac, type Ctx } from './assemble.js';
import { didYouMean } from './suggest.js';
import type { Path } from './yaml-source.js';
import { networkOf, parseIp } from './addr.js';

/** One port of a node or gateway, as a name may denote it. */
interface Entry {
  readonly ref: PortRef;
  readonly what: string; // "OVS internal port on bridge br-int", for messages
  readonly loc: Loc;
  /** May be a veth end, wire end or edge (system ports, bridge ports, plain interfaces). */
  readonly plain: boolean;
  readonly ovsType?: string;
  linked?: { kind: string; loc: Loc };
}

type Registry = Map<string, Entry>; // port name -> entry, per node or gateway

export interface LinkResult {
  readonly links: Link[];
  readonly edges: Edge[];
  readonly fabric: Fabric | null;
  readonly hosts: Host[];
}

export function resolveLinks(ctx: Ctx, raw: RawFile, nodes: readonly Node[], gateways: readonly Gateway[]): LinkResult {
  const links: Link[] = [];
  const edges: Edge[] = [];
  const regs = new Map<string, Registry>();
  const link = (kind: Link['kind'], a: Entry, b: Entry | PortRef, loc: Loc): void => {
    const bRef = 'ref' in b ? b.ref : b;
    links.push({ kind, a: a.ref, b: bRef, loc });
    a.linked = { kind, loc };
    if ('ref' in b) b.linked = { kind, loc };
  };

  for (const g of gateways) {
    if (raw.nodes[g.name]) ctx.errors.add(g.loc, `gateway name ${JSON.stringify(g.name)} is already a node's name`);
    regs.set(g.name, gatewayRegistry(g));
  }
  for (const n of nodes) {
    const reg = nodeRegistry(ctx, n);
    regs.set(n.name, reg);
    patchLinks(ctx, n, reg, link);
    internalAndTunnelLinks(n, reg, link, links);
    vethLinks(ctx, n, reg, link);
  }
  const resolve = (ref: string, path: Path): Entry | undefined => {
    const [node, port] = ref.split(':') as [string, string];
    const reg = regs.get(node);
    if (!reg) {
      ctx.errors.add(ctx.src.loc(path), `no node or gateway ${JSON.stringify(node)}${didYouMean(node, regs.keys())}`);
      return undefined;
    }
    const e = reg.get(port);
    if (!e) ctx.errors.add(ctx.src.loc(path), `no port ${JSON.stringify(port)} on ${node}${hint(port, reg)}`);
    return e;
  };

  // Edges of nodes and gateways.
  const edgeOf = new Map<string, Edge>(); // "node:port" -> edge
  const tapDev = new Map<string, { at: string; loc: Loc }>(); // TAP device name -> the edge that has it
  const addEdges = (owner: string, base: Path, rawEdges: Record<string, RawEdge> | undefined): void => {
    const reg = regs.get(owner)!;
    for (const [port, re] of Object.entries(rawEdges ?? {})) {
      const path = [...base, 'edges', port];
      const e = reg.get(port);
      if (!e) {
        ctx.errors.add(ctx.src.keyLoc(path), `no port ${JSON.stringify(port)} on ${owner}${hint(port, reg)}`);
        continue;
      }
      const isNic = e.ref.kind === 'underlay';
      if (re.kind === 'underlay' && !isNic) {
        ctx.errors.add(ctx.src.loc([...path, 'kind']), `expected kind tap or none: ${port} is not the node's underlay NIC`);
        continue;
      }
      if (re.kind === 'tap' && isNic) {
        ctx.errors.add(ctx.src.loc([...path, 'kind']), `expected kind underlay or none for the underlay NIC ${port}, got tap`);
        continue;
      }
      if (!alreadyLinked(ctx, e, path, 'an edge')) {
        const loc = ctx.src.keyLoc(path);
        if (re.kind === 'tap') {
          // One device per name on the machine: a second TAP of the same name could not be created.
          const dev = re.dev ?? port, first = tapDev.get(dev);
          if (first) ctx.errors.add(ctx.src.loc(re.dev !== undefined ? [...path, 'dev'] : path), `TAP device ${dev} is already edge ${first.at}'s (line ${first.loc.line})`);
          else tapDev.set(dev, { at: `${owner}:${port}`, loc });
        }
        const spec: Edge =
          re.kind === 'tap' ? { kind: 'tap', dev: re.dev ?? port, port: e.ref, loc }
          : re.kind === 'underlay' ? { kind: 'underlay', bind: re.bind, peers: re.peers ?? {}, port: e.ref, loc }
          : { kind: 'none', port: e.ref, loc };
        e.linked = { kind: 'edge', loc };
        edges.push(spec);
        edgeOf.set(`${owner}:${port}`, spec);
      }
    }
  };
  for (const n of nodes) addEdges(n.name, ['nodes', n.name], raw.nodes[n.name]!.edges);
  for (const g of gateways) addEdges(g.name, ['gateways', g.name], raw.gateways![g.name]!.edges);

  // Wires.
  (raw.wires ?? []).forEach(([a, b], i) => {
    const loc = ctx.src.loc(['wires', i]);
    const ends: Entry[] = [];
    [a, b].forEach((r, j) => {
      const e = resolve(r, ['wires', i, j]);
      if (!e) return;
      if (!e.plain) ctx.errors.add(ctx.src.loc(['wires', i, j]), `expected a port that can take a cable, got ${e.what}`);
      else if (ends[0] === e) ctx.errors.add(ctx.src.loc(['wires', i, j]), 'expected two different ports, got the same port twice');
      else if (!alreadyLinked(ctx, e, ['wires', i, j], 'a wire end')) ends.push(e);
    });
    if (ends.length === 2) link('wire', ends[0]!, ends[1]!, loc);
    else for (const e of ends) e.linked = { kind: 'wire', loc }; // reported already: no "has no link" follow-up
  });

  const fabric = makeFabric(ctx, raw, nodes, regs, edgeOf, link);

  // Every port must be linked or an edge.
  for (const [owner, reg] of regs) {
    for (const e of reg.values()) {
      if (e.linked || e.ovsType === 'patch' || e.ovsType === 'vxlan') continue; // those report their own errors
      if (e.ovsType === 'internal') {
        ctx.errors.add(e.loc, `internal port ${e.ref.port} has no namespace interface of that name: add one to a namespace, or make the port an edge`);
      } else if (e.ref.kind === 'underlay') ctx.errors.add(e.loc, `underlay NIC ${e.ref.port} of ${owner} is neither on the fabric nor an edge`);
      else ctx.errors.add(e.loc, `${e.ref.port} (${e.what}) has no link: make it a veth end, a wire end or an edge`);
    }
  }

  const taken = new Set([...regs.keys(), ...(fabric ? [fabric.name] : [])]);
  const hosts = makeHosts(ctx, raw, edgeOf, taken);
  return { links, edges, fabric, hosts };
}

function hint(name: string, reg: Registry): string {
  return didYouMean(name, reg.keys());
}

function alreadyLinked(ctx: Ctx, e: Entry, path: Path, as: string): boolean {
  if (!e.linked) return false;
  const what = e.linked.kind === 'edge' ? 'an edge' : `${e.linked.kind === 'internal' ? 'an' : 'a'} ${e.linked.kind} link`;
  ctx.errors.add(ctx.src.loc(path), `${e.ref.port} is already ${what} (line ${e.linked.loc.line}); it cannot also be ${as}`);
  return true;
}

function nodeRegistry(ctx: Ctx, n: Node): Registry {
  const reg: Registry = new Map();
  const elements = new Map<string, Loc>();
  const element = (name: string, loc: Loc, what: string): void => {
    const other = elements.get(name);
    if (other) ctx.errors.add(loc, `${what} name ${JSON.stringify(name)} is already used on node ${n.name} (line ${other.line})`);
    else elements.set(name, loc);
  };
  const add = (e: Entry): void => {
    const other = reg.get(e.ref.port);
    if (!other) return void reg.set(e.ref.port, e);
    const fail = (o: Entry, why: string): void =>
      ctx.errors.add(e.loc, `${e.ref.port} is already ${o.what} (line ${o.loc.line})${why}`);
    // An OVS internal port and the namespace interface of that name are one device.
    if (e.ref.kind === 'netns' && other.ovsType === 'internal') {
      const prior = reg.get(`\0ns:${e.ref.port}`);
      if (!prior) return void reg.set(`\0ns:${e.ref.port}`, e);
      return fail(prior, ': an interface is in one namespace only');
    }
    fail(
      other,
      e.ref.kind === 'netns' && other.ref.kind === 'netns' ? ': an interface is in one namespace only'
      : e.ref.kind === 'netns' && other.ovsType ? ': only an internal port can also be a namespace interface'
      : '',
    );
  };
  if (n.underlay) {
    const u = n.underlay;
    element(u.nic, u.loc, 'underlay NIC');
    add({ ref: { node: n.name, element: u.nic, kind: 'underlay', port: u.nic }, what: 'the underlay NIC', loc: u.loc, plain: false });
  }
  for (const b of n.ovsBridges) {
    element(b.name, b.loc, 'bridge');
    for (const p of b.ports) {
      if (p.local) continue;
      const plain = p.type === 'system';
      add({ ref: ref(n.name, b.name, 'ovs_bridge', p.name), what: `an OVS ${p.type} port on bridge ${b.name}`, loc: p.loc, plain, ovsType: p.type });
    }
  }
  for (const b of n.linuxBridges) {
    element(b.name, b.loc, 'bridge');
    for (const p of b.ports) add({ ref: ref(n.name, b.name, 'linux_bridge', p.name), what: `a port of Linux bridge ${b.name}`, loc: p.loc, plain: true });
  }
  for (const ns of n.namespaces) {
    element(ns.name, ns.loc, 'namespace');
    for (const i of ns.interfaces) add({ ref: ref(n.name, ns.name, 'netns', i.name), what: `an interface in namespace ${ns.name}`, loc: i.loc, plain: true });
  }
  return reg;
}

function gatewayRegistry(g: Gateway): Registry {
  const reg: Registry = new Map();
  for (const i of g.interfaces) {
    if (i.vlan) continue; // sub-interfaces ride on their parent port
    reg.set(i.name, { ref: ref(g.name, g.name, 'gateway', i.name), what: `an interface of gateway ${g.name}`, loc: i.loc, plain: true });
  }
  return reg;
}

function ref(node: string, element: string, kind: ElementKind, port: string): PortRef {
  return { node, element, kind, port };
}

type LinkFn = (kind: Link['kind'], a: Entry, b: Entry | PortRef, loc: Loc) => void;

function patchLinks(ctx: Ctx, n: Node, reg: Registry, link: LinkFn): void {
  for (const b of n.ovsBridges) {
    for (const p of b.ports) {
      if (p.type !== 'patch' || p.patchPeer === undefined) continue;
      const at = ctx.src.loc(['nodes', n.name, 'ovs', b.name, 'ports', p.name, 'options', 'peer']);
      const self = reg.get(p.name);
      const peer = reg.get(p.patchPeer);
      if (!self || self.ref.element !== b.name) continue; // a name clash, reported already
      if (!peer) {
        ctx.errors.add(at, `no patch port ${JSON.stringify(p.patchPeer)} on node ${n.name}${hint(p.patchPeer, reg)}`);
        continue;
      }
      const peerPort = n.ovsBridges.find((x) => x.name === peer.ref.element)?.ports.find((x) => x.name === p.patchPeer);
      if (!peerPort || peerPort.type !== 'patch') ctx.errors.add(at, `expected a patch port as peer, got ${peer.what}`);
      else if (peer.ref.element === b.name) ctx.errors.add(at, `expected a peer on another bridge, got ${p.patchPeer} on the same bridge ${b.name}`);
      else if (peerPort.patchPeer !== p.name) ctx.errors.add(at, `peer ${p.patchPeer} does not point back: its peer is ${JSON.stringify(peerPort.patchPeer ?? '')}, expected ${JSON.stringify(p.name)}`);
      else if (!self.linked && !peer.linked) link('patch', self, peer, p.loc);
    }
  }
}

function internalAndTunnelLinks(n: Node, reg: Registry, link: LinkFn, links: Link[]): void {
  for (const b of n.ovsBridges) {
    for (const p of b.ports) {
      const self = reg.get(p.name);
      if (!self || self.ref.element !== b.name) continue;
      if (p.type === 'internal' && !p.local) {
        const nsIf = reg.get(`\0ns:${p.name}`);
        if (nsIf) {
          link('internal', self, nsIf, p.loc);
          reg.delete(`\0ns:${p.name}`);
        }
        // else: it must be an edge (checked when unlinked ports are reported)
      }
      if (p.type === 'vxlan' && n.underlay) {
        links.push({ kind: 'tunnel', a: self.ref, b: ref(n.name, n.underlay.nic, 'underlay', p.name), loc: p.loc });
        self.linked = { kind: 'tunnel', loc: p.loc };
      }
    }
  }
  for (const k of [...reg.keys()]) if (k.startsWith('\0ns:')) reg.delete(k);
}

function vethLinks(ctx: Ctx, n: Node, reg: Registry, link: LinkFn): void {
  n.veths.forEach((v, i) => {
    const ends: Entry[] = [];
    for (const [j, name] of [v.a, v.b].entries()) {
      const path = ['nodes', n.name, 'veths', i, j];
      const e = reg.get(name);
      if (!e) {
        ctx.errors.add(ctx.src.loc(path), `no port or interface ${JSON.stringify(name)} on node ${n.name}${hint(name, reg)}`);
        continue;
      }
      if (!e.plain) {
        ctx.errors.add(ctx.src.loc(path), `expected a veth end (an OVS system port, a Linux bridge port or a namespace interface), got ${e.what}`);
        continue;
      }
      if (!alreadyLinked(ctx, e, path, 'a veth end')) ends.push(e);
    }
    if (v.a === v.b) return ctx.errors.add(ctx.src.loc(['nodes', n.name, 'veths', i, 1]), 'expected two different ends, got the same name twice');
    if (ends.length === 2) link('veth', ends[0]!, ends[1]!, v.loc);
    else for (const e of ends) e.linked = { kind: 'veth', loc: v.loc }; // reported already: no "has no link" follow-up
  });
}

function makeFabric(
  ctx: Ctx, raw: RawFile, nodes: readonly Node[], regs: Map<string, Registry>, edgeOf: Map<string, Edge>, link: LinkFn,
): Fabric | null {
  const rf = raw.fabric;
  const name = rf?.name ?? 'fabric';
  const explicit = rf?.nodes;
  const members = explicit ?? nodes.filter((n) => n.underlay && !edgeOf.has(`${n.name}:${n.underlay.nic}`)).map((n) => n.name);
  if (!rf && members.length === 0) return null;
  if (regs.has(name)) ctx.errors.add(ctx.src.loc(rf?.name ? ['fabric', 'name'] : ['fabric']), `fabric name ${JSON.stringify(name)} is already a node's or gateway's name`);
  const sides: FabricSide[] = [];
  members.forEach((m, i) => {
    const at = ctx.src.loc(['fabric', 'nodes', i]);
    const n = nodes.find((x) => x.name === m);
    if (!n) return ctx.errors.add(at, `no node ${JSON.stringify(m)}${didYouMean(m, nodes.map((x) => x.name))}`);
    if (!n.underlay) return ctx.errors.add(at, `node ${m} has no underlay`);
    const e = regs.get(m)!.get(n.underlay.nic)!;
    if (alreadyLinked(ctx, e, ['fabric', 'nodes', i], 'on the fabric')) return;
    const u = n.underlay;
    const side: FabricSide = {
      node: m, nic: u.nic, port: m, ip: u.gateway, mac: u.gatewayMac, subnet: networkOf(parseIp(u.address.ip)!, u.address.prefixLen),
      nicIp: u.address.ip, nicMac: u.mac,
    };
    const clash = sides.find((s) => s.subnet === side.subnet && (s.ip !== side.ip || s.mac !== side.mac));
    if (clash) ctx.errors.add(n.underlay.loc, `node ${m} shares subnet ${side.subnet} with ${clash.node} but names another gateway (${side.ip} ${side.mac} vs ${clash.ip} ${clash.mac})`);
    sides.push(side);
    link('wire', e, ref(name, name, 'fabric', m), n.underlay.loc);
  });
  return { name, loc: rf ? ctx.src.keyLoc(['fabric']) : null, mtu: rf?.mtu ?? 1500, sides };
}

function makeHosts(ctx: Ctx, raw: RawFile, edgeOf: Map<string, Edge>, taken: ReadonlySet<string>): Host[] {
  const hosts: Host[] = [];
  const netns = new Map<string, string>();
  const plugged = new Map<string, string>();
  for (const [name, rh] of Object.entries(raw.hosts ?? {})) {
    const path: Path = ['hosts', name];
    if (taken.has(name)) ctx.errors.add(ctx.src.keyLoc(path), `host name ${JSON.stringify(name)} is already a node's, gateway's or the fabric's name`);
    const edge = edgeOf.get(rh.edge);
    if (!edge) ctx.errors.add(ctx.src.loc([...path, 'edge']), `no edge ${JSON.stringify(rh.edge)} (declare it under the node's or gateway's edges with kind tap)`);
    else if (edge.kind !== 'tap') ctx.errors.add(ctx.src.loc([...path, 'edge']), `expected a tap edge, got kind ${edge.kind}`);
    else if (plugged.has(rh.edge)) ctx.errors.add(ctx.src.loc([...path, 'edge']), `edge ${rh.edge} already has host ${plugged.get(rh.edge)}`);
    if (netns.has(rh.netns)) ctx.errors.add(ctx.src.loc([...path, 'netns']), `namespace ${rh.netns} is already host ${netns.get(rh.netns)}'s`);
    netns.set(rh.netns, name);
    if (!edge || edge.kind !== 'tap' || plugged.has(rh.edge)) continue;
    plugged.set(rh.edge, name);
    (edge as { host?: string }).host = name;
    const ifName = rh.interface.name ?? 'eth0';
    const iface = assembleInterface(ctx, [...path, 'interface'], ifName, { ...rh.interface, ...(rh.interface.mac ? { mac: mac(rh.interface.mac) } : {}) });
    hosts.push({
      name, loc: ctx.src.keyLoc(path), description: rh.description, edge: edge.port, netns: rh.netns, iface,
      sysctls: Object.fromEntries(Object.entries(rh.sysctls ?? {}).map(([k, v]) => [k, String(v)])),
      routes: rh.routes === undefined ? null : ctx.src.textBlock([...path, 'routes'], ctx.errors),
      neighbours: rh.neighbours === undefined ? null : ctx.src.textBlock([...path, 'neighbours'], ctx.errors),
    });
  }
  return hosts;
}
